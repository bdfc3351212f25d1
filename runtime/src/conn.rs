//! Connection hygiene: a per-process connection limit and an I/O wrapper that closes
//! connections that stay silent.
//!
//! hyper's HTTP/1 header-read timeout starts with the first byte of a request, and HTTP/2
//! has no idle limit at all, so a client that connects and sends nothing (or half an
//! HTTP/2 preface, or goes quiet between requests) would hold a file descriptor for ever.
//! [`Guarded`] sits under hyper (and under TLS) and ends a connection when no byte has moved
//! in either direction for too long: [`Timeouts::first_byte`] until the client has sent the
//! first few bytes, [`Timeouts::idle`] afterwards. The timer is armed lazily and re-armed
//! only when it fires, so a busy connection costs one clock read per I/O call and no timer
//! operations.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// How many bytes count as "the client has started talking": the HTTP/2 client preface is
/// 24 bytes, and an HTTP/1 request line is at least that long in practice.
const STARTED: u64 = 24;

/// The connection timeouts.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// From accept until the client's first bytes (and a TLS handshake).
    pub first_byte: Duration,
    /// Longest silence in both directions once the client has started (keep-alive idle).
    pub idle: Duration,
}

/// The most connections a process serves at once; excess ones are closed on accept.
#[derive(Debug)]
pub struct Limit {
    active: AtomicUsize,
    max: usize,
    refused: AtomicU64,
}

impl Limit {
    /// A limit of `max` connections.
    pub fn new(max: usize) -> Arc<Limit> {
        Arc::new(Limit {
            active: AtomicUsize::new(0),
            max: max.max(1),
            refused: AtomicU64::new(0),
        })
    }

    /// A place for one more connection, or `None` when all are taken.
    pub fn try_acquire(self: &Arc<Self>) -> Option<Permit> {
        let mut n = self.active.load(Ordering::Relaxed);
        loop {
            if n >= self.max {
                self.refused.fetch_add(1, Ordering::Relaxed);
                return None;
            }
            match self
                .active
                .compare_exchange_weak(n, n + 1, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => return Some(Permit(self.clone())),
                Err(now) => n = now,
            }
        }
    }

    /// Connections open now.
    pub fn active(&self) -> usize {
        self.active.load(Ordering::Relaxed)
    }

    /// Connections refused so far because the limit was reached.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    /// The limit.
    pub fn max(&self) -> usize {
        self.max
    }
}

/// One connection's place under a [`Limit`], given back when dropped.
#[derive(Debug)]
pub struct Permit(Arc<Limit>);

impl Drop for Permit {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The default connection limit: three quarters of the file-descriptor limit (raised to its
/// hard maximum first), leaving the rest for backend connections, local functions and files.
pub fn default_max_connections() -> usize {
    let fds = raise_fd_limit();
    usize::try_from(fds / 4 * 3).unwrap_or(usize::MAX).max(64)
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit; returns the limit in force.
#[cfg(unix)]
pub fn raise_fd_limit() -> u64 {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok((soft, hard)) => {
            if soft < hard && setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_ok() {
                hard
            } else {
                soft
            }
        }
        Err(_) => 1024,
    }
}

/// Without `RLIMIT_NOFILE`: a conservative guess.
#[cfg(not(unix))]
pub fn raise_fd_limit() -> u64 {
    1024
}

/// Polls `deadline` on a timer that outlives it (a connection's, kept from one wait to the
/// next): made at `deadline` when there is none, moved earlier when it would fire late, and
/// moved later, once, when it fires for an earlier deadline. `Ready` once `deadline` has
/// passed. A timer per wait cost a registration and a removal in the timer wheel each time.
pub fn poll_deadline(
    timer: &mut Option<Pin<Box<Sleep>>>,
    deadline: Instant,
    cx: &mut Context<'_>,
) -> Poll<()> {
    use std::future::Future as _;
    let t = timer.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
    if t.deadline() > deadline {
        t.as_mut().reset(deadline);
    }
    loop {
        match t.as_mut().poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(()) if t.deadline() >= deadline => return Poll::Ready(()),
            // Armed for an earlier deadline.
            Poll::Ready(()) => t.as_mut().reset(deadline),
        }
    }
}

/// An I/O object that fails with `TimedOut` once the connection has been silent too long.
pub struct Guarded<T> {
    io: T,
    timeouts: Timeouts,
    /// Bytes read so far (saturating at [`STARTED`]).
    read: u64,
    accepted: Instant,
    /// When the connection was last found waiting after some bytes went through.
    last: Instant,
    /// Bytes went through since `last`: the clock is read when the connection next waits,
    /// not on every read and write.
    moved: bool,
    timer: Pin<Box<Sleep>>,
    _permit: Option<Permit>,
}

impl<T> Guarded<T> {
    /// Guards `io`, accepted now; `permit` is held as long as the connection lives.
    pub fn new(io: T, timeouts: Timeouts, permit: Option<Permit>) -> Guarded<T> {
        let now = Instant::now();
        Guarded {
            io,
            timeouts,
            read: 0,
            accepted: now,
            last: now,
            moved: false,
            timer: Box::pin(tokio::time::sleep_until(now + timeouts.first_byte)),
            _permit: permit,
        }
    }

    fn deadline(&self) -> Instant {
        if self.read < STARTED {
            self.accepted + self.timeouts.first_byte
        } else {
            self.last + self.timeouts.idle
        }
    }

    /// Called when the I/O object would block: has the connection been silent too long?
    /// Registers the timer so that the task is woken when it might have.
    ///
    /// Silence is counted from the moment the connection is found waiting after its last
    /// bytes, which for a keep-alive connection is when the gateway has answered and waits
    /// for the next request. The timer is moved only when it would fire late or has fired:
    /// one that fires early (the connection was busy meanwhile) wakes the task once, which
    /// finds the deadline not reached and sets the timer again. So a busy connection costs
    /// one clock read per wait and no timer-wheel update per request.
    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        let now = Instant::now();
        if std::mem::take(&mut self.moved) {
            self.last = now;
        }
        let deadline = self.deadline();
        if now >= deadline {
            return true;
        }
        if self.timer.deadline() > deadline || self.timer.is_elapsed() {
            self.timer.as_mut().reset(deadline);
        }
        // Pending registers the waker; Ready cannot happen as the deadline is in the future,
        // but if the clock moved on meanwhile the next poll sees it.
        let _ = self.timer.as_mut().poll(cx);
        false
    }
}

impl<T> Guarded<T> {
    /// After a write: bytes written are activity; a write that would block on a client that
    /// stopped reading counts against the same deadline as silence.
    fn wrote(
        &mut self,
        cx: &mut Context<'_>,
        written: Poll<io::Result<usize>>,
    ) -> Poll<io::Result<usize>> {
        match written {
            Poll::Ready(Ok(n)) => {
                self.moved |= n > 0;
                Poll::Ready(Ok(n))
            }
            Poll::Pending if self.expired(cx) => Poll::Ready(Err(timed_out())),
            other => other,
        }
    }
}

fn timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "connection idle for too long")
}

use std::future::Future as _;

impl<T: AsyncRead + Unpin> AsyncRead for Guarded<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let before = buf.filled().len();
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let n = (buf.filled().len() - before) as u64;
                if n > 0 {
                    this.read = (this.read + n).min(STARTED);
                    this.moved = true;
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => {
                if this.expired(cx) {
                    Poll::Ready(Err(timed_out()))
                } else {
                    Poll::Pending
                }
            }
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Guarded<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.io).poll_write(cx, buf);
        self.wrote(cx, written)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        self.wrote(cx, written)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_counts_and_gives_back() {
        let l = Limit::new(2);
        let a = l.try_acquire().unwrap();
        let _b = l.try_acquire().unwrap();
        assert!(l.try_acquire().is_none());
        assert_eq!(l.refused(), 1);
        drop(a);
        assert!(l.try_acquire().is_some());
        assert_eq!(l.active(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn silent_connections_time_out() {
        use tokio::io::AsyncReadExt;
        let (client, server) = tokio::io::duplex(64);
        let t = Timeouts {
            first_byte: Duration::from_secs(10),
            idle: Duration::from_secs(60),
        };
        let mut g = Guarded::new(server, t, None);
        let start = Instant::now();
        let mut buf = [0u8; 8];
        let e = g.read(&mut buf).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        assert_eq!(start.elapsed().as_secs(), 10);
        drop(client);
    }

    #[tokio::test(start_paused = true)]
    async fn talking_connections_get_the_idle_timeout() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut client, server) = tokio::io::duplex(64);
        let t = Timeouts {
            first_byte: Duration::from_secs(10),
            idle: Duration::from_secs(60),
        };
        let mut g = Guarded::new(server, t, None);
        client.write_all(&[b'x'; 30]).await.unwrap();
        let mut buf = [0u8; 64];
        assert_eq!(g.read(&mut buf).await.unwrap(), 30);
        let start = Instant::now();
        let e = g.read(&mut buf).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        assert_eq!(start.elapsed().as_secs(), 60);
    }

    #[tokio::test(start_paused = true)]
    async fn the_idle_timeout_counts_from_the_last_wait() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut client, server) = tokio::io::duplex(64);
        let t = Timeouts {
            first_byte: Duration::from_secs(10),
            idle: Duration::from_secs(60),
        };
        let mut g = Guarded::new(server, t, None);
        let mut buf = [0u8; 64];
        client.write_all(&[b'x'; 30]).await.unwrap();
        assert_eq!(g.read(&mut buf).await.unwrap(), 30);
        // Bytes 50 s into the first wait: the timer set for 60 s fires early and is moved.
        let writer = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(50)).await;
            client.write_all(b"more").await.unwrap();
            client
        });
        assert_eq!(g.read(&mut buf).await.unwrap(), 4);
        let _client = writer.await.unwrap();
        let start = Instant::now();
        let e = g.read(&mut buf).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        assert_eq!(start.elapsed().as_secs(), 60);
    }
}
