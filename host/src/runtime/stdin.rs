//! The termination notice: a guest's stdin stays open, with nothing to read, for as long as the guest may run,
//! and reaches end-of-file when the node asks it to stop. A WASI program cannot receive SIGTERM; reading stdin to
//! its end is the notice it can wait for, with any WASI toolchain and for WASIp1 and WASIp2 alike.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, PoisonError};
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
}

impl NoticeStdin {
    /// Stdin that reaches end-of-file once `notice` is cancelled.
    pub fn new(notice: CancellationToken) -> Self {
        Self { notice }
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
        Box::new(NoticeReader { wait: Mutex::new(Box::pin(async move { notice.cancelled().await })) })
    }

    // Served directly rather than through wasmtime's adapter, which would spawn a reader task for every guest.
    fn p2_stream(&self) -> Box<dyn InputStream> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl InputStream for NoticeStdin {
    fn read(&mut self, _size: usize) -> StreamResult<Bytes> {
        if self.notice.is_cancelled() { Err(StreamError::Closed) } else { Ok(Bytes::new()) }
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for NoticeStdin {
    async fn ready(&mut self) {
        self.notice.cancelled().await;
    }
}

/// The `AsyncRead` form: pending until the notice, then end-of-file.
struct NoticeReader {
    /// Behind a mutex only to be `Sync`, as the trait requires; it is never contended.
    wait: Mutex<Pin<Box<dyn Future<Output = ()> + Send>>>,
}

impl AsyncRead for NoticeReader {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        _buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let wait = self.get_mut().wait.get_mut().unwrap_or_else(PoisonError::into_inner);
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
        let stdin = NoticeStdin::new(notice.clone());
        let mut p2 = stdin.p2_stream();
        assert!(p2.read(10).unwrap().is_empty(), "open but empty before the notice");
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
}
