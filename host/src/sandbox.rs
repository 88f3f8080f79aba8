//! The WASI context of one container run: argv, environment, working directory, preopened volumes, stdio sinks
//! and the network policy. Nothing else is granted: no inherited environment, no host directories, no sockets
//! unless the pod asks for them with the [`NETWORK_ANNOTATION`].

use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

use crate::logs::LogSink;
use crate::volumes::Mount;

/// Pod annotation that grants TCP and UDP sockets (`"true"`); without it every socket is refused.
pub const NETWORK_ANNOTATION: &str = "wharf.dev/allow-network";

/// Why a sandbox could not be built.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A volume directory could not be preopened.
    #[error("cannot open volume directory {path} for {guest}: {detail}")]
    Preopen {
        /// Host directory.
        path: String,
        /// Guest path.
        guest: String,
        /// The cause.
        detail: String,
    },
}

/// Everything a container run is granted.
pub struct Sandbox {
    /// argv, program name first.
    pub argv: Vec<String>,
    /// Environment, in order.
    pub env: Vec<(String, String)>,
    /// Working directory (`workingDir`).
    pub working_dir: Option<String>,
    /// Preopened directories.
    pub mounts: Vec<Mount>,
    /// Whether sockets are allowed.
    pub network: bool,
    /// Where stdout goes.
    pub stdout: LogSink,
    /// Where stderr goes.
    pub stderr: LogSink,
}

impl Sandbox {
    /// The WASI context builder for this sandbox.
    pub fn builder(&self) -> Result<WasiCtxBuilder, Error> {
        let mut b = WasiCtxBuilder::new();
        b.args(&self.argv).envs(&self.env).stdout(self.stdout.clone()).stderr(self.stderr.clone());
        for mount in &self.mounts {
            let perms = if mount.read_only { FsPerms::ReadOnly } else { FsPerms::ReadWrite };
            b.preopened_dir(&mount.host, &mount.guest, perms).map_err(|e| Error::Preopen {
                path: mount.host.display().to_string(),
                guest: mount.guest.clone(),
                detail: format!("{e:#}"),
            })?;
        }
        if let Some(dir) = &self.working_dir {
            b.initial_cwd(dir);
        }
        if self.network {
            b.inherit_network().allow_tcp(true).allow_udp(true).allow_ip_name_lookup(true);
        } else {
            b.allow_tcp(false).allow_udp(false).allow_ip_name_lookup(false);
        }
        Ok(b)
    }
}

/// argv of a container: `command` then `args` when a command is given; otherwise the image's file name as the
/// program name, then `args` (a wasm module has no entrypoint of its own beyond `_start`).
pub fn argv(image: &str, command: &[String], args: &[String]) -> Vec<String> {
    let mut out: Vec<String> = if command.is_empty() {
        vec![crate::image::program_name(image).to_owned()]
    } else {
        command.to_vec()
    };
    out.extend(args.iter().cloned());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argv_uses_command_or_image_name() {
        let args = vec!["a".to_owned()];
        assert_eq!(argv("/x/hello.wasm@sha256:00", &[], &args), ["hello", "a"]);
        assert_eq!(argv("/x/hello.wasm", &["prog".to_owned()], &args), ["prog", "a"]);
    }
}
