//! What a client must do to keep one of `--max-connections` slots: send its first bytes
//! within the header timeout ([`first_bytes`]; HTTP/1's own header timeout covers the rest
//! of the head, and an HTTP/2 preface cut short is caught here), and, once its requests are
//! answered, not sit idle longer than `--idle-timeout-ms` ([`Activity`]), however it is
//! idle: an HTTP/1 keep-alive, an HTTP/2 connection that answers pings but asks nothing.
//! Nor may it stop reading: a write that cannot go out for as long fails ([`Rewind`]), so
//! a client that asks for a file and never reads it (a graceful close waits for the answer
//! to be written) does not hold the slot either. Upgraded sockets leave the connection
//! (and its slot) and live by their own rules, within the same write limit.

use bytes::{Buf, Bytes};
use std::{
    future::Future,
    io,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf},
    net::TcpStream,
    sync::Notify,
    time::Instant,
};

/// What an HTTP/2 client sends first.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Waits at most `limit` for the client's first bytes: until they are not the start of the
/// HTTP/2 preface (HTTP/1, whose header timeout then applies), or the whole preface came.
/// The bytes read are given back first by the returned stream, whose writes fail once
/// one has waited `write_limit` for the client to read.
pub async fn first_bytes(
    mut stream: TcpStream,
    limit: Duration,
    write_limit: Duration,
) -> io::Result<Rewind> {
    let mut read = [0u8; 24];
    let mut n = 0;
    let sniff = async {
        loop {
            let got = stream.read(&mut read[n..]).await?;
            if got == 0 {
                return Err(io::Error::from(io::ErrorKind::UnexpectedEof));
            }
            n += got;
            if read[..n] != H2_PREFACE[..n] || n == H2_PREFACE.len() {
                return Ok::<(), io::Error>(());
            }
        }
    };
    tokio::time::timeout(limit, sniff)
        .await
        .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))??;
    Ok(Rewind {
        prefix: Bytes::copy_from_slice(&read[..n]),
        inner: stream,
        write_limit,
        stalled: None,
    })
}

/// A TCP stream that first gives back bytes already read from it, and whose writes fail
/// once one has waited `write_limit` for the client to read.
pub struct Rewind {
    prefix: Bytes,
    inner: TcpStream,
    write_limit: Duration,
    /// Set while a write waits: when it gives up.
    stalled: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Rewind {
    /// `polled`, a write's outcome: progress clears the stall; waiting past the limit is
    /// an error that ends the connection.
    fn progress<T>(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        if polled.is_ready() {
            self.stalled = None;
            return polled;
        }
        let limit = self.write_limit;
        let stalled = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        match stalled.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client read nothing for the write limit",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncRead for Rewind {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if !self.prefix.is_empty() {
            let n = self.prefix.len().min(buf.remaining());
            buf.put_slice(&self.prefix[..n]);
            self.prefix.advance(n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Rewind {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.progress(cx, polled)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.inner).poll_flush(cx);
        self.progress(cx, polled)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.progress(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// One connection's requests in progress and when the last one ended.
pub struct Activity {
    start: Instant,
    in_flight: AtomicUsize,
    /// Milliseconds from `start` to the last request's end.
    last: AtomicU64,
    quiet: Notify,
}

/// A request in progress: counted until it is dropped (answered, or abandoned).
pub struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let activity = &self.0;
        activity.last.store(
            activity.start.elapsed().as_millis() as u64,
            Ordering::Relaxed,
        );
        if activity.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            activity.quiet.notify_waiters();
        }
    }
}

impl Activity {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            start: Instant::now(),
            in_flight: AtomicUsize::new(0),
            last: AtomicU64::new(0),
            quiet: Notify::new(),
        })
    }

    /// A request begins.
    pub fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(self.clone())
    }

    /// Resolves once no request has been in progress for `limit`.
    pub async fn idle_for(&self, limit: Duration) {
        loop {
            let quiet = self.quiet.notified();
            tokio::pin!(quiet);
            quiet.as_mut().enable();
            if self.in_flight.load(Ordering::Acquire) > 0 {
                quiet.await;
                continue;
            }
            let last = self.start + Duration::from_millis(self.last.load(Ordering::Relaxed));
            let until = last + limit;
            if Instant::now() >= until {
                if self.in_flight.load(Ordering::Acquire) == 0 {
                    return;
                }
                continue;
            }
            tokio::time::sleep_until(until).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn idle_counts_from_the_last_request_and_never_during_one() {
        let activity = Activity::new();
        let request = activity.begin();
        let idle = activity.idle_for(Duration::from_secs(5));
        tokio::pin!(idle);
        assert!(
            tokio::time::timeout(Duration::from_secs(60), idle.as_mut())
                .await
                .is_err(),
            "not idle while a request runs"
        );
        drop(request);
        let started = Instant::now();
        idle.await;
        assert_eq!(started.elapsed(), Duration::from_secs(5));
    }
}
