//! A deadline on writing to a client that does not read.
//!
//! hyper writes a response until the socket refuses more, then waits for
//! the client to read; a client that never reads would hold the
//! connection, and the rest of its response in memory, forever. Wrapped in
//! [`WriteDeadline`], a connection's writes fail with
//! [`std::io::ErrorKind::TimedOut`] once the client has kept them waiting
//! for the deadline, and hyper closes the connection.
//!
//! The clock starts the first time a write or flush finds the client not
//! keeping up, and stops only when a flush completes (everything written
//! has been handed to the kernel): a client reading a trickle at a time
//! gets the same deadline for the rest of the response as one that reads
//! nothing. The server's response bodies are whole in memory before they
//! are written, so the only thing a pending write ever waits for is the
//! client.

use std::{
    io,
    pin::Pin,
    task::{Context, Poll, ready},
    time::Duration,
};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// An IO whose writes fail with `TimedOut` once they have waited for the
/// peer for `limit` without everything written being flushed.
#[derive(Debug)]
pub(crate) struct WriteDeadline<S> {
    inner: S,
    limit: Duration,
    /// Running from the first pending write until a flush completes.
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
}

// === impl WriteDeadline ===

impl<S> WriteDeadline<S> {
    /// Wraps `inner`; writes may wait for the peer at most `limit`.
    pub(crate) fn new(inner: S, limit: Duration) -> Self {
        Self {
            inner,
            limit,
            timer: None,
        }
    }

    /// The inner IO said Pending: start the clock if it is not running,
    /// and fail once it has run out.
    fn waiting<T>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        let limit = self.limit;
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        ready!(timer.as_mut().poll(cx));
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("the client did not read the response within {limit:?}"),
        )))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for WriteDeadline<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for WriteDeadline<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_write(cx, buf) {
            Poll::Pending => this.waiting(cx),
            written => written,
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_write_vectored(cx, bufs) {
            Poll::Pending => this.waiting(cx),
            written => written,
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_flush(cx) {
            Poll::Pending => this.waiting(cx),
            Poll::Ready(Ok(())) => {
                this.timer = None;
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_shutdown(cx) {
            Poll::Pending => this.waiting(cx),
            done => done,
        }
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    use super::*;

    const LIMIT: Duration = Duration::from_millis(200);

    #[tokio::test]
    async fn a_peer_that_never_reads_fails_the_write_at_the_deadline() {
        let (ours, _theirs) = tokio::io::duplex(16);
        let mut io = WriteDeadline::new(ours, LIMIT);
        let started = std::time::Instant::now();
        let error = io.write_all(&[7; 1024]).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        let took = started.elapsed();
        assert!(took >= LIMIT && took < LIMIT * 5, "{took:?}");
    }

    #[tokio::test]
    async fn a_peer_that_reads_a_trickle_gets_the_same_deadline_for_the_rest() {
        let (ours, mut theirs) = tokio::io::duplex(16);
        let mut io = WriteDeadline::new(ours, LIMIT);
        // One byte every 50 ms: always some progress, never all of it.
        tokio::spawn(async move {
            let mut byte = [0];
            while theirs.read(&mut byte).await.is_ok_and(|n| n > 0) {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        let started = std::time::Instant::now();
        let written = async {
            io.write_all(&[7; 1024]).await?;
            io.flush().await
        };
        let error = written.await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        // 1,024 bytes at one per 50 ms would take 51 s.
        let took = started.elapsed();
        assert!(took >= LIMIT && took < LIMIT * 5, "{took:?}");
    }

    #[tokio::test]
    async fn a_peer_that_reads_gets_every_byte_however_long_the_connection_lives() {
        let (ours, mut theirs) = tokio::io::duplex(16);
        let mut io = WriteDeadline::new(ours, LIMIT);
        let reader = tokio::spawn(async move {
            let mut all = Vec::new();
            theirs.read_to_end(&mut all).await.map(|_| all.len())
        });
        // Three responses spaced further apart than the deadline, each
        // blocking on the small pipe: the clock restarts with each.
        for _ in 0..3 {
            io.write_all(&[7; 1024]).await.unwrap();
            io.flush().await.unwrap();
            tokio::time::sleep(LIMIT * 2).await;
        }
        io.shutdown().await.unwrap();
        drop(io);
        assert_eq!(reader.await.unwrap().unwrap(), 3 * 1024);
    }
}
