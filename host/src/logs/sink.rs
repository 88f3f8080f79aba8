//! The sink a guest's stdout and stderr write to: splits lines, stamps them, appends them to the run's file and
//! rotates it past a size limit, so a guest that floods its output uses bounded disk and never blocks.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use bytes::Bytes;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// A line longer than this is written in parts tagged `P` (as the CRI does), so a guest that never writes a
/// newline cannot grow the agent's memory.
const MAX_LINE: usize = 16 * 1024;

/// Size bounds of one container run's log.
#[derive(Debug, Clone, Copy)]
pub struct LogLimits {
    /// Bytes in the current file before it is rotated.
    pub max_file_bytes: u64,
}

impl Default for LogLimits {
    fn default() -> Self {
        Self { max_file_bytes: 1 << 20 }
    }
}

struct LogFile {
    path: PathBuf,
    file: Option<File>,
    size: u64,
    limits: LogLimits,
}

impl LogFile {
    fn append(&mut self, stream: &str, tag: char, line: &[u8]) {
        let stamp = jiff::Timestamp::now();
        let mut record = Vec::with_capacity(line.len() + 48);
        let _ = write!(record, "{stamp:.9} {stream} {tag} ");
        record.extend_from_slice(line);
        record.push(b'\n');
        if self.size + record.len() as u64 > self.limits.max_file_bytes && self.size > 0 {
            self.rotate();
        }
        if self.file.is_none() {
            self.file = File::options().create(true).append(true).open(&self.path).ok();
        }
        // Logging must never fail the guest: a full or broken disk loses lines, not the pod.
        if let Some(file) = &mut self.file
            && file.write_all(&record).is_ok()
        {
            self.size += record.len() as u64;
        }
    }

    fn rotate(&mut self) {
        self.file = None;
        let mut old = self.path.clone().into_os_string();
        old.push(".1");
        let _ = std::fs::rename(&self.path, old);
        self.size = 0;
    }
}

/// One stream (stdout or stderr) of one container run. Cheap to clone; clones share the file.
#[derive(Clone)]
pub struct LogSink {
    stream: &'static str,
    file: Arc<Mutex<LogFile>>,
    partial: Arc<Mutex<Vec<u8>>>,
}

impl LogSink {
    /// The stdout and stderr sinks of one run, writing to `path` (created with its directory).
    pub fn pair(path: &Path, limits: LogLimits) -> std::io::Result<(Self, Self)> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = File::options().create(true).append(true).open(path)?;
        let size = file.metadata().map_or(0, |m| m.len());
        let shared =
            Arc::new(Mutex::new(LogFile { path: path.to_path_buf(), file: Some(file), size, limits }));
        let make = |stream| Self { stream, file: shared.clone(), partial: Arc::default() };
        Ok((make("stdout"), make("stderr")))
    }

    /// Appends bytes written by the guest, writing every complete line.
    pub fn push(&self, mut bytes: &[u8]) {
        let mut partial = self.partial.lock().unwrap_or_else(PoisonError::into_inner);
        while !bytes.is_empty() {
            let newline = bytes.iter().position(|&b| b == b'\n');
            let take = newline.map_or(bytes.len(), |i| i + 1);
            let (chunk, rest) = bytes.split_at(take);
            bytes = rest;
            let chunk = chunk.strip_suffix(b"\n").unwrap_or(chunk);
            partial.extend_from_slice(chunk);
            if newline.is_some() {
                self.write_line('F', &partial);
                partial.clear();
            } else if partial.len() >= MAX_LINE {
                self.write_line('P', &partial);
                partial.clear();
            }
        }
    }

    /// Writes what is left of an unterminated last line.
    pub fn finish(&self) {
        let mut partial = self.partial.lock().unwrap_or_else(PoisonError::into_inner);
        if !partial.is_empty() {
            self.write_line('F', &partial);
            partial.clear();
        }
    }

    /// Records that the run is over (after [`LogSink::finish`] of both streams), so that `logs -f` ends as
    /// the kubelet's does when a container exits.
    pub fn mark_ended(&self) {
        let path = self.file.lock().unwrap_or_else(PoisonError::into_inner).path.clone();
        let _ = std::fs::write(super::ended_marker(&path), b"");
    }

    fn write_line(&self, tag: char, line: &[u8]) {
        self.file.lock().unwrap_or_else(PoisonError::into_inner).append(self.stream, tag, line);
    }
}

impl IsTerminal for LogSink {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for LogSink {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl OutputStream for LogSink {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.push(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(64 * 1024)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for LogSink {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for LogSink {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        self.push(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_lines_and_rotates() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c/0.log");
        let (out, err) = LogSink::pair(&path, LogLimits { max_file_bytes: 4096 }).unwrap();
        out.push(b"hello ");
        out.push(b"world\nsecond\n");
        err.push(b"oops\n");
        out.push(b"tail");
        out.finish();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert!(lines[0].ends_with(" stdout F hello world"), "{}", lines[0]);
        assert!(lines[2].ends_with(" stderr F oops"));
        assert!(lines[3].ends_with(" stdout F tail"));
        for _ in 0..1000 {
            out.push(&[b'x'; 100]);
            out.push(b"\n");
        }
        let total: u64 = std::fs::read_dir(dir.path().join("c"))
            .unwrap()
            .map(|e| e.unwrap().metadata().unwrap().len())
            .sum();
        assert!(total <= 2 * 4096, "rotation bounds the disk use, got {total}");
    }
}
