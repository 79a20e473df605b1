//! The accept loop. `axum::serve` gives hyper no timer, so a client that sends half a header, or
//! holds an idle keep-alive connection, keeps its socket forever, and nothing caps how many
//! sockets there are. This loop serves HTTP/1.1 through hyper with:
//! - a header-read timeout (hyper's own, which needs the timer),
//! - an idle timeout: no byte read or written for that long and the connection is closed,
//! - a cap on open connections, kept below the process's file limit; past it the loop stops
//!   accepting and new clients wait in the kernel's backlog instead of taking descriptors.
//!
//! The request timeout is a tower layer on the router (`web::router`).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tower::ServiceExt;

/// How long a connection may take and hold.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    pub header_read: Duration,
    pub idle: Duration,
    pub max_connections: usize,
    /// How long connections asked to close (idle, or at shutdown) may finish their answers.
    pub close_grace: Duration,
}

/// Descriptors kept free for the database, the index, photos and logs when sizing the cap.
const RESERVED_FILES: u64 = 256;

impl ConnectionLimits {
    /// The configured cap, lowered to fit the file limit (raised to its hard maximum first).
    pub fn fitted_to_file_limit(mut self) -> Self {
        if let Ok(soft) = rlimit::increase_nofile_limit(u64::MAX) {
            // Each connection is one descriptor; the rest of the process needs a few hundred.
            let room = soft.saturating_sub(RESERVED_FILES).max(16);
            self.max_connections = self.max_connections.min(room as usize);
        }
        self
    }
}

pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let (closing_tx, closing_rx) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // EMFILE and friends: wait instead of spinning; the cap should prevent it.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let closing = closing_rx.clone();
        tokio::spawn(async move {
            serve_connection(stream, peer, router, limits, closing).await;
            drop(permit);
        });
    }
    let _ = closing_tx.send(true);
    // Let the connections finish their answers, then go.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    if tokio::time::timeout(limits.close_grace, slots.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!(
            grace_secs = limits.close_grace.as_secs(),
            "requests still running at the end of the shutdown grace were cut off"
        );
    }
    Ok(())
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    limits: ConnectionLimits,
    mut closing: watch::Receiver<bool>,
) {
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Watched {
        inner: stream,
        activity: activity.clone(),
    });
    let in_handler = activity.clone();
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        let answer = router.clone().oneshot(req.map(axum::body::Body::new));
        let activity = in_handler.clone();
        async move {
            // A handler at work is not idle; the request timeout bounds it instead.
            activity.handlers.fetch_add(1, Ordering::Relaxed);
            let res = answer.await;
            activity.handlers.fetch_sub(1, Ordering::Relaxed);
            activity.touch();
            res
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read)
        .keep_alive(true)
        .serve_connection(io, service);
    tokio::pin!(conn);
    let check_every = (limits.idle / 4).max(Duration::from_millis(50));
    let mut asked_to_close: Option<Instant> = None;
    loop {
        tokio::select! {
            _ = conn.as_mut() => return,
            _ = tokio::time::sleep(check_every) => {
                if let Some(at) = asked_to_close {
                    if at.elapsed() > limits.close_grace {
                        return; // dropping the connection closes the socket
                    }
                } else if activity.idle_for() >= limits.idle {
                    conn.as_mut().graceful_shutdown();
                    asked_to_close = Some(Instant::now());
                }
            }
            changed = closing.changed(), if asked_to_close.is_none() => {
                if changed.is_err() || *closing.borrow() {
                    conn.as_mut().graceful_shutdown();
                    asked_to_close = Some(Instant::now());
                }
            }
        }
    }
}

/// When the connection last moved a byte, as milliseconds since it opened.
struct Activity {
    opened: Instant,
    last_ms: AtomicU64,
    handlers: AtomicUsize,
}

impl Activity {
    fn new() -> Self {
        Activity {
            opened: Instant::now(),
            last_ms: AtomicU64::new(0),
            handlers: AtomicUsize::new(0),
        }
    }

    fn touch(&self) {
        let now = self.opened.elapsed().as_millis() as u64;
        self.last_ms.store(now, Ordering::Relaxed);
    }

    fn idle_for(&self) -> Duration {
        if self.handlers.load(Ordering::Relaxed) > 0 {
            return Duration::ZERO;
        }
        let now = self.opened.elapsed().as_millis() as u64;
        Duration::from_millis(now.saturating_sub(self.last_ms.load(Ordering::Relaxed)))
    }
}

/// A stream that records each read and write in its `Activity`.
struct Watched {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let res = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(res, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.touch();
        }
        res
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let res = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(res, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        res
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let res = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(res, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        res
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
