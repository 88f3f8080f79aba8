//! Compiled code, cached twice: in memory (one `InstancePre`/`CommandPre` per module digest, shared by every
//! replica on the node) and on disk under `<digest>-<engine compatibility hash>.cwasm`, so that a restart of the
//! agent does not compile again and an upgraded wasmtime never loads code compiled for another.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use wasmtime::component::Component;
use wasmtime::{Engine, InstancePre, Linker, Module};
use wasmtime_wasi::p2::bindings::CommandPre;
use wasmtime_wasi_http::p2::bindings::ProxyPre;

use super::Error;
use super::exec::{P1State, P2State};
use super::http::HttpState;

/// What kind of program an image holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgramKind {
    /// A core module run through WASIp1 (`_start`).
    Module,
    /// A component run through `wasi:cli/run`.
    Component,
    /// A component exporting `wasi:http/incoming-handler`, served one instance per request.
    HttpHandler,
}

/// A compiled, linked program, ready to instantiate. Cheap to clone.
#[derive(Clone)]
pub enum Program {
    /// A WASIp1 command module.
    Module(InstancePre<P1State>),
    /// A `wasi:cli/run` component.
    Component(CommandPre<P2State>),
    /// A `wasi:http/incoming-handler` component.
    Http(ProxyPre<HttpState>),
}

impl Program {
    /// Its kind.
    pub fn kind(&self) -> ProgramKind {
        match self {
            Self::Module(_) => ProgramKind::Module,
            Self::Component(_) => ProgramKind::Component,
            Self::Http(_) => ProgramKind::HttpHandler,
        }
    }
}

/// Tells a core module from a component by the binary header: both start with `\0asm`, then a module has version
/// 1 in layer 0 and a component version 0xd in layer 1.
pub fn detect(wasm: &[u8]) -> Result<ProgramKind, Error> {
    match wasm.get(..8) {
        Some([0, b'a', b's', b'm', 1, 0, 0, 0]) => Ok(ProgramKind::Module),
        Some([0, b'a', b's', b'm', _, 0, 1, 0]) => Ok(ProgramKind::Component),
        _ => Err(Error::NotWasm),
    }
}

pub(super) struct Cache {
    dir: PathBuf,
    /// Part of every file name: code compiled by another wasmtime or with other settings is never looked up.
    compat: String,
    p1: Linker<P1State>,
    p2: wasmtime::component::Linker<P2State>,
    http: wasmtime::component::Linker<HttpState>,
    programs: Mutex<HashMap<String, Program>>,
}

impl Cache {
    pub(super) fn new(engine: &Engine, dir: PathBuf) -> Result<Self, Error> {
        std::fs::create_dir_all(&dir).map_err(|source| Error::Cache { path: dir.clone(), source })?;
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let compat = format!("{:016x}", hasher.finish());
        let mut p1 = Linker::new(engine);
        wasmtime_wasi::p1::add_to_linker_async(&mut p1, |s: &mut P1State| &mut s.wasi)
            .map_err(|e| Error::Engine(format!("{e:#}")))?;
        let mut p2 = wasmtime::component::Linker::new(engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut p2)
            .and_then(|()| super::sockets::add_discovery(&mut p2))
            .map_err(|e| Error::Engine(format!("{e:#}")))?;
        // Components built with a language's standard library import `wasi:cli` even as HTTP handlers: link all
        // of WASIp2 besides `wasi:http`, as `wasmtime serve -Scli` does.
        let mut http = wasmtime::component::Linker::new(engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut http)
            .and_then(|()| wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut http))
            .and_then(|()| super::sockets::add_discovery(&mut http))
            .map_err(|e| Error::Engine(format!("{e:#}")))?;
        Ok(Self { dir, compat, p1, p2, http, programs: Mutex::new(HashMap::new()) })
    }

    pub(super) fn memory(&self, digest: &str) -> Option<Program> {
        self.programs.lock().unwrap_or_else(PoisonError::into_inner).get(digest).cloned()
    }

    /// Loads from disk or compiles, links, and remembers the program. Blocking.
    pub(super) fn load(&self, engine: &Engine, digest: &str, wasm: &[u8]) -> Result<Program, Error> {
        if let Some(program) = self.memory(digest) {
            return Ok(program);
        }
        let kind = detect(wasm)?;
        let path = self.dir.join(format!("{digest}-{}.cwasm", self.compat));
        let program = if let Some(program) = self.read_disk(engine, kind, &path) {
            program
        } else {
            let compiled = match kind {
                ProgramKind::Module => engine.precompile_module(wasm),
                ProgramKind::Component | ProgramKind::HttpHandler => engine.precompile_component(wasm),
            }
            .map_err(|e| Error::Compile(format!("{e:#}")))?;
            write_atomically(&path, &compiled)?;
            self.read_disk(engine, kind, &path)
                .ok_or_else(|| Error::Compile("freshly compiled code does not load".into()))?
        };
        self.programs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(digest.to_owned(), program.clone());
        Ok(program)
    }

    fn read_disk(&self, engine: &Engine, kind: ProgramKind, path: &Path) -> Option<Program> {
        if !path.exists() {
            return None;
        }
        let linked = match kind {
            ProgramKind::Module => deserialize_module(engine, path)
                .and_then(|m| self.p1.instantiate_pre(&m))
                .map(Program::Module),
            ProgramKind::Component | ProgramKind::HttpHandler => {
                deserialize_component(engine, path).and_then(|c| self.link_component(engine, &c))
            }
        };
        match linked {
            Ok(program) => Some(program),
            Err(e) => {
                // A damaged or foreign file: compile again and replace it.
                tracing::warn!(path = %path.display(), error = %format!("{e:#}"), "ignoring cached code");
                None
            }
        }
    }

    /// Links a component as what it exports: an HTTP handler or a command.
    fn link_component(&self, engine: &Engine, component: &Component) -> wasmtime::Result<Program> {
        if exports_http_handler(engine, component) {
            let pre = self.http.instantiate_pre(component)?;
            return Ok(Program::Http(ProxyPre::new(pre)?));
        }
        Ok(Program::Component(CommandPre::new(self.p2.instantiate_pre(component)?)?))
    }
}

/// Whether the component exports `wasi:http/incoming-handler` (any 0.2 version).
fn exports_http_handler(engine: &Engine, component: &Component) -> bool {
    component
        .component_type()
        .exports(engine)
        .any(|(name, _)| name.starts_with("wasi:http/incoming-handler@0.2"))
}

// SAFETY (both functions): `deserialize_file` trusts its input to be code produced by `Engine::precompile_*`. The
// files are written only by `Cache::load` above, atomically, into the node's private data directory, and their
// names carry the engine's compatibility hash; wasmtime itself rejects files from other versions or settings.
#[allow(unsafe_code)]
fn deserialize_module(engine: &Engine, path: &Path) -> wasmtime::Result<Module> {
    unsafe { Module::deserialize_file(engine, path) }
}

#[allow(unsafe_code)]
fn deserialize_component(engine: &Engine, path: &Path) -> wasmtime::Result<Component> {
    unsafe { Component::deserialize_file(engine, path) }
}

/// Writes through a temporary file and a rename, so that a crash never leaves a truncated file under the final
/// name.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|source| Error::Cache { path: path.to_path_buf(), source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_modules_components_and_garbage() {
        assert_eq!(detect(b"\0asm\x01\0\0\0rest").unwrap(), ProgramKind::Module);
        assert_eq!(detect(b"\0asm\x0d\0\x01\0rest").unwrap(), ProgramKind::Component);
        assert!(matches!(detect(b"#!/bin/sh\necho hi\n"), Err(Error::NotWasm)));
        assert!(matches!(detect(b"\0as"), Err(Error::NotWasm)));
    }
}
