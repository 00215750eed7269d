//! The accept loop shared by the gRPC and HTTP listeners: every accepted connection is
//! served by its own task, which can be told to drop the connection on the floor.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use parking_lot::Mutex;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::error::{Listener, StartError};
use crate::grpc_server::GrpcRouter;
use crate::shared::{ConnCtx, Shared};

/// The connection went away while a request on it was being handled.
#[derive(Debug, thiserror::Error)]
#[error("connection {0} closed")]
pub(crate) struct ConnectionClosed(u64);

/// One run of the servers, from start (or restart) to stop.
#[derive(Debug)]
pub(crate) struct Generation {
    pub(crate) token: CancellationToken,
    pub(crate) tracker: TaskTracker,
}

/// Spawns hyper's per-stream HTTP/2 tasks on the generation's tracker, so `stop()` can wait
/// for them.
#[derive(Debug, Clone)]
struct TrackedExecutor(TaskTracker);

impl<F> hyper::rt::Executor<F> for TrackedExecutor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, fut: F) {
        self.0.spawn(fut);
    }
}

/// Binds `addr` with `SO_REUSEADDR`, so a restart can take the same port again. Must run
/// inside the receiver's runtime context.
pub(crate) fn bind(addr: SocketAddr, listener: Listener) -> Result<TcpListener, StartError> {
    let err = |source: io::Error| StartError::Bind {
        listener,
        addr,
        source,
    };
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .map_err(err)?;
    socket.set_reuseaddr(true).map_err(err)?;
    socket.bind(addr).map_err(err)?;
    socket.listen(1024).map_err(err)
}

/// Accepts connections until the generation is cancelled.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    kind: Listener,
    shared: Arc<Shared>,
    token: CancellationToken,
    tracker: TaskTracker,
) {
    let slots = shared
        .limits
        .max_connections
        .map(|n| Arc::new(Semaphore::new(n.min(Semaphore::MAX_PERMITS))));
    loop {
        let accepted = tokio::select! {
            biased;
            () = token.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(_) => {
                // Out of file descriptors or an aborted handshake: try again shortly.
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        // Over the cap: close at once, so the client sees it instead of waiting.
        let slot = match &slots {
            None => None,
            Some(slots) => match Arc::clone(slots).try_acquire_owned() {
                Ok(slot) => Some(slot),
                Err(_) => {
                    // Counted before the close, so a client that sees the close
                    // also sees the count.
                    shared
                        .connections
                        .refused_over_cap
                        .fetch_add(1, Ordering::Relaxed);
                    drop(stream);
                    continue;
                }
            },
        };
        // Small writes (responses) should leave at once; failure only costs latency.
        let _ = stream.set_nodelay(true);
        let conn = ConnCtx {
            id: shared.next_connection_id(),
            peer,
            cancel: token.child_token(),
            closed: CancellationToken::new(),
        };
        tracker.spawn(serve_connection(
            stream,
            kind,
            Arc::clone(&shared),
            conn,
            tracker.clone(),
            slot,
        ));
    }
}

/// Runs `fut` unless the connection closes first.
async fn guarded<F: Future>(
    closed: CancellationToken,
    id: u64,
    fut: F,
) -> Result<F::Output, ConnectionClosed> {
    tokio::select! {
        biased;
        () = closed.cancelled() => Err(ConnectionClosed(id)),
        out = fut => Ok(out),
    }
}

/// Whether a connection has a request in progress, and since when it has none.
#[derive(Debug)]
struct Activity {
    requests: AtomicUsize,
    idle_since: Mutex<Instant>,
}

/// Marks a request in progress until dropped.
struct Busy(Arc<Activity>);

impl Activity {
    fn begin(self: &Arc<Self>) -> Busy {
        self.requests.fetch_add(1, Ordering::SeqCst);
        Busy(Arc::clone(self))
    }

    /// Resolves once the connection has had no request in progress for `timeout`.
    async fn idle_for(&self, timeout: Duration) {
        loop {
            let wait = if self.requests.load(Ordering::SeqCst) > 0 {
                timeout
            } else {
                let idle = self.idle_since.lock().elapsed();
                match timeout.checked_sub(idle) {
                    Some(left) if !left.is_zero() => left,
                    _ => return,
                }
            };
            tokio::time::sleep(wait).await;
        }
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        *self.0.idle_since.lock() = Instant::now();
        self.0.requests.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Whether a connection ended with hyper's header read timeout (headers sent too slowly,
/// or none at all after the last request).
pub(crate) fn is_header_timeout(error: &(dyn std::error::Error + 'static)) -> bool {
    error
        .downcast_ref::<hyper::Error>()
        .is_some_and(hyper::Error::is_timeout)
}

/// Never resolves when there is no idle timeout.
async fn idle(activity: Arc<Activity>, timeout: Option<Duration>) {
    match timeout {
        Some(timeout) => activity.idle_for(timeout).await,
        None => std::future::pending().await,
    }
}

async fn serve_connection(
    stream: TcpStream,
    kind: Listener,
    shared: Arc<Shared>,
    conn: ConnCtx,
    tracker: TaskTracker,
    _slot: Option<OwnedSemaphorePermit>,
) {
    let activity = Arc::new(Activity {
        requests: AtomicUsize::new(0),
        idle_since: Mutex::new(Instant::now()),
    });
    let idle_timeout = shared.limits.idle_timeout;
    let connections = Arc::clone(&shared.connections);
    let io = TokioIo::new(stream);
    let mut builder = auto::Builder::new(TrackedExecutor(tracker));
    // A client may close its sending side once its request is out
    // (`shutdown(SHUT_WR)`) and still wait for the answer: without
    // half-close, that end of input could abort the request unanswered.
    builder.http1().timer(TokioTimer::new()).half_close(true);
    // Headers must arrive within the idle timeout too (hyper's own default is 30 s).
    if let Some(timeout) = idle_timeout {
        builder.http1().header_read_timeout(timeout);
    }
    builder.http2().timer(TokioTimer::new());
    let cancel = conn.cancel.clone();
    let closed = conn.closed.clone();
    match kind {
        Listener::Http => {
            let svc = service_fn({
                let conn = conn.clone();
                let activity = Arc::clone(&activity);
                move |req: http::Request<Incoming>| {
                    let busy = activity.begin();
                    let fut = crate::http_server::handle(Arc::clone(&shared), conn.clone(), req);
                    let guarded = guarded(conn.closed.clone(), conn.id, fut);
                    async move {
                        let out = guarded.await;
                        drop(busy);
                        out
                    }
                }
            });
            // Pinned here rather than moved into `select!`, so that the socket is
            // dropped below, after the count.
            let mut connection = pin!(builder.serve_connection(io, svc));
            let timed_out = tokio::select! {
                biased;
                () = cancel.cancelled() => false,
                () = idle(Arc::clone(&activity), idle_timeout) => true,
                ended = connection.as_mut() => ended.is_err_and(|e| is_header_timeout(&*e)),
            };
            if timed_out {
                // Counted before the close, so a client that sees the close also
                // sees the count.
                connections.closed_idle.fetch_add(1, Ordering::Relaxed);
            }
        }
        // The web page has its own server (`ui.rs`).
        Listener::Ui => {}
        Listener::Grpc => {
            let builder = builder.http2_only();
            let router = GrpcRouter::new(Arc::clone(&shared));
            let svc = service_fn({
                let conn = conn.clone();
                let activity = Arc::clone(&activity);
                move |req: http::Request<Incoming>| {
                    let busy = activity.begin();
                    let router = router.clone();
                    let conn = conn.clone();
                    let closed = conn.closed.clone();
                    let id = conn.id;
                    guarded(closed, id, async move {
                        let out = router.call(conn, req).await;
                        drop(busy);
                        out
                    })
                }
            });
            // Pinned here rather than moved into `select!`, so that the socket is
            // dropped below, after the count.
            let mut connection = pin!(builder.serve_connection(io, svc));
            let timed_out = tokio::select! {
                biased;
                () = cancel.cancelled() => false,
                () = idle(Arc::clone(&activity), idle_timeout) => true,
                ended = connection.as_mut() => ended.is_err_and(|e| is_header_timeout(&*e)),
            };
            if timed_out {
                // Counted before the close, so a client that sees the close also
                // sees the count.
                connections.closed_idle.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    // The connection (and the socket) is dropped by now.
    closed.cancel();
}
