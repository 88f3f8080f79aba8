//! The termination notice: a guest's stdin stays open, with nothing to read, for as long as the guest may run,
//! and reaches end-of-file when the node asks it to stop. A WASI program cannot receive SIGTERM; reading stdin to
//! its end is the notice it can wait for, with any WASI toolchain and for WASIp1 and WASIp2 alike.
//!
//! Whether the guest ever read or polled its stdin is recorded: that is how it "installs a handler". A guest that
//! never did gets SIGTERM's default action, the end at once (see [`Control::notify`](super::Control::notify)).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::{AsyncRead, ReadBuf};
use tokio_util::sync::CancellationToken;
use wasmtime_wasi::cli::{IsTerminal, StdinStream};
use wasmtime_wasi::p2::{InputStream, Pollable, StreamError, StreamResult};

/// Stdin that ends when `notice` is cancelled.
#[derive(Clone)]
pub struct NoticeStdin {
    notice: CancellationToken,
    /// Set once the guest reads or polls its stdin.
    watched: Arc<AtomicBool>,
}

impl NoticeStdin {
    /// Stdin that reaches end-of-file once `notice` is cancelled, setting `watched` when the guest first reads
    /// or polls it.
    pub fn new(notice: CancellationToken, watched: Arc<AtomicBool>) -> Self {
        Self { notice, watched }
    }

    fn watch(&self) {
        self.watched.store(true, Ordering::Relaxed);
    }
}

impl IsTerminal for NoticeStdin {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdinStream for NoticeStdin {
    fn async_stream(&self) -> Box<dyn AsyncRead + Send + Sync> {
        let notice = self.notice.clone();
        let watched = self.watched.clone();
        Box::new(NoticeReader {
            wait: Mutex::new(Box::pin(async move { notice.cancelled().await })),
            watched,
        })
    }

    // Served directly rather than through wasmtime's adapter, which would spawn a reader task for every guest.
    fn p2_stream(&self) -> Box<dyn InputStream> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl InputStream for NoticeStdin {
    fn read(&mut self, _size: usize) -> StreamResult<Bytes> {
        self.watch();
        if self.notice.is_cancelled() { Err(StreamError::Closed) } else { Ok(Bytes::new()) }
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for NoticeStdin {
    async fn ready(&mut self) {
        self.watch();
        self.notice.cancelled().await;
    }
}

/// The `AsyncRead` form: pending until the notice, then end-of-file.
struct NoticeReader {
    /// Behind a mutex only to be `Sync`, as the trait requires; it is never contended.
    wait: Mutex<Pin<Box<dyn Future<Output = ()> + Send>>>,
    watched: Arc<AtomicBool>,
}

impl AsyncRead for NoticeReader {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        _buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        this.watched.store(true, Ordering::Relaxed);
        let wait = this.wait.get_mut().unwrap_or_else(PoisonError::into_inner);
        wait.as_mut().poll(cx).map(Ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    #[tokio::test]
    async fn stdin_ends_at_the_notice() {
        let notice = CancellationToken::new();
        let watched = Arc::new(AtomicBool::new(false));
        let stdin = NoticeStdin::new(notice.clone(), watched.clone());
        let mut p2 = stdin.p2_stream();
        assert!(!watched.load(Ordering::Relaxed), "handing out the stream is not reading it");
        assert!(p2.read(10).unwrap().is_empty(), "open but empty before the notice");
        assert!(watched.load(Ordering::Relaxed), "a read counts as watching for the notice");
        let mut reader = Box::into_pin(stdin.async_stream());
        let mut buf = Vec::new();
        let early =
            tokio::time::timeout(std::time::Duration::from_millis(20), reader.read_to_end(&mut buf)).await;
        assert!(early.is_err(), "reading blocks before the notice");
        notice.cancel();
        p2.ready().await;
        assert!(matches!(p2.read(10), Err(StreamError::Closed)));
        assert_eq!(reader.read_to_end(&mut buf).await.unwrap(), 0);
    }

    #[tokio::test]
    async fn polling_or_reading_asynchronously_counts_as_watching() {
        let watched = Arc::new(AtomicBool::new(false));
        let stdin = NoticeStdin::new(CancellationToken::new(), watched.clone());
        let mut p2 = stdin.p2_stream();
        let _ = tokio::time::timeout(std::time::Duration::from_millis(1), p2.ready()).await;
        assert!(watched.load(Ordering::Relaxed), "subscribing to stdin watches it");

        let watched = Arc::new(AtomicBool::new(false));
        let stdin = NoticeStdin::new(CancellationToken::new(), watched.clone());
        let mut reader = Box::into_pin(stdin.async_stream());
        assert!(!watched.load(Ordering::Relaxed));
        let mut byte = [0u8; 1];
        let _ = tokio::time::timeout(std::time::Duration::from_millis(1), reader.read(&mut byte)).await;
        assert!(watched.load(Ordering::Relaxed), "an asynchronous read watches it");
    }
}
