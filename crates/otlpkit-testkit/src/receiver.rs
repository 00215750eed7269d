//! The receiver: its own thread and runtime, its listeners, and the query API.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::runtime::Handle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::budget::Budget;
use crate::error::{ItemKind, Listener, StartError, WaitError};
use crate::fault::Fault;
use crate::items::{ReceivedLog, ReceivedMetric, ReceivedSpan, logs_of, metrics_of, spans_of};
use crate::request::{RecordedRequest, Signal};
use crate::retention::RetentionLimits;
use crate::server::{Generation, accept_loop, bind};
use crate::shared::{Limits, Shared};
use crate::store::OnRequest;
use crate::tree::SpanTree;
use crate::ui::Ui;

/// How long `stop()` and `Drop` wait for connections and the runtime thread to finish.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(2);

/// OTLP's largest request (64 MiB, checklist 1.14): the default body limit.
pub const DEFAULT_MAX_BODY_SIZE: usize = 64 * 1024 * 1024;

/// Configures a [`Receiver`].
///
/// ```
/// use otlpkit_testkit::Receiver;
///
/// let receiver = Receiver::builder()
///     .grpc_addr("127.0.0.1:0".parse().unwrap())
///     .max_body_size(1024 * 1024)
///     .start()
///     .unwrap();
/// assert_ne!(receiver.grpc_addr().port(), 0);
/// ```
#[must_use]
pub struct ReceiverBuilder {
    grpc_addr: SocketAddr,
    http_addr: SocketAddr,
    max_body_size: usize,
    worker_threads: usize,
    on_request: Option<OnRequest>,
    keep_requests: bool,
    count_only: bool,
    in_flight_budget: Option<usize>,
    body_timeout: Option<Duration>,
    idle_timeout: Option<Duration>,
    max_connections: Option<usize>,
}

impl fmt::Debug for ReceiverBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReceiverBuilder")
            .field("grpc_addr", &self.grpc_addr)
            .field("http_addr", &self.http_addr)
            .field("max_body_size", &self.max_body_size)
            .field("worker_threads", &self.worker_threads)
            .field("on_request", &self.on_request.is_some())
            .field("keep_requests", &self.keep_requests)
            .field("count_only", &self.count_only)
            .field("in_flight_budget", &self.in_flight_budget)
            .field("body_timeout", &self.body_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("max_connections", &self.max_connections)
            .finish()
    }
}

impl Default for ReceiverBuilder {
    fn default() -> Self {
        let any_port = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        ReceiverBuilder {
            grpc_addr: any_port,
            http_addr: any_port,
            max_body_size: DEFAULT_MAX_BODY_SIZE,
            worker_threads: 1,
            on_request: None,
            keep_requests: true,
            count_only: false,
            in_flight_budget: None,
            body_timeout: None,
            idle_timeout: None,
            max_connections: None,
        }
    }
}

impl ReceiverBuilder {
    /// The gRPC listener's address (default `127.0.0.1:0`, an ephemeral port).
    pub fn grpc_addr(mut self, addr: SocketAddr) -> Self {
        self.grpc_addr = addr;
        self
    }

    /// The HTTP listener's address (default `127.0.0.1:0`, an ephemeral port).
    pub fn http_addr(mut self, addr: SocketAddr) -> Self {
        self.http_addr = addr;
        self
    }

    /// The largest request body accepted, before and after decompression, for both
    /// protocols (default [`DEFAULT_MAX_BODY_SIZE`]). Larger HTTP bodies get `413`, larger
    /// gRPC messages `RESOURCE_EXHAUSTED` (both recorded as refused).
    pub fn max_body_size(mut self, bytes: usize) -> Self {
        self.max_body_size = bytes;
        self
    }

    /// Runtime threads (default 1: a current-thread runtime on the receiver's thread; more
    /// gives a multi-thread runtime, useful for throughput measurements).
    pub fn worker_threads(mut self, threads: usize) -> Self {
        self.worker_threads = threads.max(1);
        self
    }

    /// Calls `callback` with every recorded request, on the receiver's thread, right after
    /// it is recorded. It must not block for long (it delays that connection's answer).
    pub fn on_request(
        mut self,
        callback: impl Fn(&RecordedRequest) + Send + Sync + 'static,
    ) -> Self {
        self.on_request = Some(Arc::new(callback));
        self
    }

    /// Whether recorded requests are kept for the queries ([`Receiver::requests`],
    /// [`Receiver::spans`], ...; default `true`). With `false`, every request is still
    /// counted and handed to the [`on_request`](Self::on_request) callback, then dropped:
    /// memory stays flat however long the receiver runs (the `otlpkit-receiver` program
    /// works so).
    pub fn keep_requests(mut self, keep: bool) -> Self {
        self.keep_requests = keep;
        self
    }

    /// Counts the items of protobuf bodies (gRPC and `http/protobuf`) without decoding
    /// them (default `false`): requests are recorded and counted as usual, with
    /// [`RecordedRequest::payload`] `None`, so the queries that read payloads
    /// ([`Receiver::spans`], ...) see nothing. For throughput benches: decoding a span
    /// into the proto types costs several times what producing it did, and would bound
    /// the figures of a pipeline sharing the machine with the receiver. A malformed body
    /// is still decoded, and refused as without this setting; JSON bodies are decoded.
    ///
    /// ```
    /// let receiver = otlpkit_testkit::Receiver::builder().count_only(true).start()?;
    /// # Ok::<(), otlpkit_testkit::StartError>(())
    /// ```
    pub fn count_only(mut self, count_only: bool) -> Self {
        self.count_only = count_only;
        self
    }

    /// Bounds the memory that all requests being read and decoded may hold together
    /// (default: unbounded). Each request holds its body as received, decompressed and an
    /// estimate of its decoded size (an upper bound computed from the body without
    /// decoding it) from this budget before it holds the bytes themselves. A request that
    /// alone needs more is refused as too large (`413`, `RESOURCE_EXHAUSTED`); one that
    /// finds the budget held by others for two seconds is refused as busy (`503` with
    /// `Retry-After`, `RESOURCE_EXHAUSTED` with `RetryInfo`: clients retry).
    pub fn in_flight_budget(mut self, bytes: usize) -> Self {
        self.in_flight_budget = Some(bytes);
        self
    }

    /// The longest time from a request's headers to the last byte of its body (default:
    /// none). A slower body gets `408` (HTTP, and the connection is closed) or
    /// `DEADLINE_EXCEEDED` (gRPC).
    pub fn body_timeout(mut self, timeout: Duration) -> Self {
        self.body_timeout = Some(timeout);
        self
    }

    /// Closes a connection that has had no request in progress for `timeout` (default:
    /// never), whether it is idle between requests or sending its first request's
    /// headers too slowly (so that such clients cannot hold the connection cap). The web
    /// page's listener takes it as its header read timeout (default 30 s), and as the
    /// longest a large answer (a trace, the log records, the metrics) may go without
    /// progress before its connection is closed. Connections closed for it are counted:
    /// [`Receiver::connections_closed_idle`].
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = Some(timeout);
        self
    }

    /// At most `connections` open connections per listener (default: no cap). A
    /// connection over the cap is accepted and closed at once.
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.max_connections = Some(connections);
        self
    }

    /// Spawns the receiver thread and binds both listeners.
    pub fn start(self) -> Result<Receiver, StartError> {
        let runtime = RuntimeThread::spawn(self.worker_threads)?;
        let limits = Limits {
            max_body_size: self.max_body_size,
            budget: self.in_flight_budget.map(Budget::new),
            body_timeout: self.body_timeout,
            idle_timeout: self.idle_timeout,
            max_connections: self.max_connections,
            count_only: self.count_only,
        };
        let shared = Arc::new(Shared::new(limits, self.on_request, self.keep_requests));
        let (generation, grpc_addr, http_addr) =
            start_servers(&runtime, &shared, self.grpc_addr, self.http_addr)?;
        Ok(Receiver {
            shared,
            grpc_addr,
            http_addr,
            servers: Mutex::new(Some(generation)),
            runtime,
        })
    }
}

/// The thread that owns the receiver's tokio runtime.
struct RuntimeThread {
    handle: Handle,
    shutdown: CancellationToken,
    thread: Option<JoinHandle<()>>,
    done: Mutex<mpsc::Receiver<()>>,
}

impl RuntimeThread {
    fn spawn(worker_threads: usize) -> Result<RuntimeThread, StartError> {
        let (handle_tx, handle_rx) = mpsc::channel();
        let (done_tx, done_rx) = mpsc::channel();
        let shutdown = CancellationToken::new();
        let until = shutdown.clone();
        let thread = std::thread::Builder::new()
            .name("otlpkit-receiver".to_owned())
            .spawn(move || {
                let runtime = if worker_threads <= 1 {
                    tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                } else {
                    tokio::runtime::Builder::new_multi_thread()
                        .worker_threads(worker_threads)
                        .thread_name("otlpkit-receiver-worker")
                        .enable_all()
                        .build()
                };
                match runtime {
                    Err(err) => {
                        let _ = handle_tx.send(Err(err));
                    }
                    Ok(runtime) => {
                        let _ = handle_tx.send(Ok(runtime.handle().clone()));
                        runtime.block_on(until.cancelled());
                        runtime.shutdown_timeout(SHUTDOWN_TIMEOUT / 2);
                    }
                }
                let _ = done_tx.send(());
            })
            .map_err(StartError::Thread)?;
        match handle_rx.recv() {
            Ok(Ok(handle)) => Ok(RuntimeThread {
                handle,
                shutdown,
                thread: Some(thread),
                done: Mutex::new(done_rx),
            }),
            Ok(Err(err)) => {
                let _ = thread.join();
                Err(StartError::Runtime(err))
            }
            Err(_) => {
                let _ = thread.join();
                Err(StartError::ThreadExited)
            }
        }
    }
}

impl Drop for RuntimeThread {
    fn drop(&mut self) {
        self.shutdown.cancel();
        // Join only if the thread said it is done, so dropping never hangs (for instance
        // when dropped from the receiver's own thread).
        if self.done.get_mut().recv_timeout(SHUTDOWN_TIMEOUT).is_ok()
            && let Some(thread) = self.thread.take()
        {
            let _ = thread.join();
        }
    }
}

/// Binds both listeners and spawns their accept loops.
fn start_servers(
    runtime: &RuntimeThread,
    shared: &Arc<Shared>,
    grpc_addr: SocketAddr,
    http_addr: SocketAddr,
) -> Result<(Generation, SocketAddr, SocketAddr), StartError> {
    let _context = runtime.handle.enter();
    let grpc = bind(grpc_addr, Listener::Grpc)?;
    let http = bind(http_addr, Listener::Http)?;
    let local = |listener: &tokio::net::TcpListener, addr, kind| {
        listener.local_addr().map_err(|source| StartError::Bind {
            listener: kind,
            addr,
            source,
        })
    };
    let grpc_local = local(&grpc, grpc_addr, Listener::Grpc)?;
    let http_local = local(&http, http_addr, Listener::Http)?;
    let generation = Generation {
        token: runtime.shutdown.child_token(),
        tracker: TaskTracker::new(),
    };
    for (listener, kind) in [(grpc, Listener::Grpc), (http, Listener::Http)] {
        generation.tracker.spawn(accept_loop(
            listener,
            kind,
            Arc::clone(shared),
            generation.token.clone(),
            generation.tracker.clone(),
        ));
    }
    Ok((generation, grpc_local, http_local))
}

/// Aborts a task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// An OTLP receiver (gRPC and HTTP) running on its own thread with its own tokio runtime.
///
/// Works the same from sync tests and from async tests on any runtime flavour: `start()`
/// and the queries are synchronous and never need the caller's runtime; each `wait_for_*`
/// has an `_async` twin that needs no particular executor (its timer runs on the receiver's
/// runtime). Use the `_async` variants in async tests: the blocking ones block the calling
/// thread, which on a current-thread runtime also stops the client you are waiting for.
///
/// Dropping the receiver closes its listeners and connections and joins its thread (within
/// about two seconds at most).
///
/// Items (spans, metric data points, log records) count as received only when the request
/// was answered with success or partial success; every request, whatever the answer, is
/// in [`Receiver::requests`].
pub struct Receiver {
    shared: Arc<Shared>,
    grpc_addr: SocketAddr,
    http_addr: SocketAddr,
    servers: Mutex<Option<Generation>>,
    // Last: dropped after the fields above, it shuts the runtime down.
    runtime: RuntimeThread,
}

impl fmt::Debug for Receiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("grpc_addr", &self.grpc_addr)
            .field("http_addr", &self.http_addr)
            .field("running", &self.is_running())
            .field("store", &self.shared.store)
            .field("pending_faults", &self.pending_faults())
            .finish()
    }
}

impl Receiver {
    /// Starts a receiver on ephemeral `127.0.0.1` ports for gRPC and HTTP.
    pub fn start() -> Result<Receiver, StartError> {
        Receiver::builder().start()
    }

    /// A builder for other addresses and settings.
    pub fn builder() -> ReceiverBuilder {
        ReceiverBuilder::default()
    }

    // --- Endpoints ------------------------------------------------------------------------

    /// The gRPC listener's address.
    pub fn grpc_addr(&self) -> SocketAddr {
        self.grpc_addr
    }

    /// The HTTP listener's address.
    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    /// The gRPC endpoint, e.g. `http://127.0.0.1:43171`.
    pub fn grpc_endpoint(&self) -> String {
        format!("http://{}", self.grpc_addr)
    }

    /// The HTTP base endpoint, e.g. `http://127.0.0.1:43172`.
    pub fn http_endpoint(&self) -> String {
        format!("http://{}", self.http_addr)
    }

    /// The full OTLP/HTTP URL of a signal, e.g. `http://127.0.0.1:43172/v1/traces`.
    pub fn http_url(&self, signal: Signal) -> String {
        format!("http://{}{}", self.http_addr, signal.http_path())
    }

    // --- Lifecycle ------------------------------------------------------------------------

    /// Whether the listeners are running (false between [`stop`](Self::stop) and
    /// [`restart`](Self::restart)).
    pub fn is_running(&self) -> bool {
        self.servers.lock().is_some()
    }

    /// Closes both listeners and every open connection (requests in flight are recorded as
    /// [`Answer::Abandoned`](crate::Answer::Abandoned)). Recorded data and scripted faults
    /// are kept. Returns once the sockets are closed (bounded by a two-second timeout).
    pub fn stop(&self) {
        let Some(generation) = self.servers.lock().take() else {
            return;
        };
        generation.token.cancel();
        generation.tracker.close();
        let (tx, rx) = mpsc::channel();
        let tracker = generation.tracker.clone();
        self.runtime.handle.spawn(async move {
            tracker.wait().await;
            let _ = tx.send(());
        });
        let _ = rx.recv_timeout(SHUTDOWN_TIMEOUT);
    }

    /// Starts the listeners again on the same addresses (the ports chosen at start, also for
    /// ephemeral ones), stopping them first if they are running.
    pub fn restart(&self) -> Result<(), StartError> {
        self.stop();
        let mut servers = self.servers.lock();
        let (generation, _, _) =
            start_servers(&self.runtime, &self.shared, self.grpc_addr, self.http_addr)?;
        *servers = Some(generation);
        Ok(())
    }

    // --- Web page ---------------------------------------------------------------------------

    /// Serves a live web page of what this receiver gets on `addr` (e.g.
    /// `127.0.0.1:4320`; port 0 picks a free one): the recent traces as waterfalls, the log
    /// records of a span, and the metrics with their recent points. The page keeps its own
    /// copy of the telemetry within `limits` (the requests recorded so far, then every new
    /// one), and runs on the receiver's thread until the returned [`Ui`] is dropped. Its JSON
    /// endpoints are described in the project's `docs/RECEIVER.md`.
    pub fn serve_ui(&self, addr: SocketAddr, limits: RetentionLimits) -> Result<Ui, StartError> {
        crate::ui::start(
            &self.runtime.handle,
            &self.shared,
            addr,
            limits,
            self.runtime.shutdown.child_token(),
        )
    }

    // --- Fault injection ------------------------------------------------------------------

    /// Appends `fault` to the script of `signal`. Each request of that signal takes the
    /// next fault from its own script, then from the any-signal script; with both empty it
    /// succeeds.
    pub fn push_fault(&self, signal: Signal, fault: Fault) {
        self.shared.faults.lock().push(Some(signal), fault);
    }

    /// Appends `fault` to the script shared by all signals.
    pub fn push_fault_any(&self, fault: Fault) {
        self.shared.faults.lock().push(None, fault);
    }

    /// Appends `count` copies of `fault` to the script of `signal`.
    pub fn push_faults(&self, signal: Signal, fault: Fault, count: usize) {
        let mut scripts = self.shared.faults.lock();
        for _ in 0..count {
            scripts.push(Some(signal), fault.clone());
        }
    }

    /// Number of scripted faults not used yet.
    pub fn pending_faults(&self) -> usize {
        self.shared.faults.lock().len()
    }

    /// Forgets all scripted faults.
    pub fn clear_faults(&self) {
        self.shared.faults.lock().clear();
    }

    // --- Queries --------------------------------------------------------------------------

    /// Every recorded request, in arrival order.
    pub fn requests(&self) -> Vec<Arc<RecordedRequest>> {
        self.shared.store.requests()
    }

    /// The recorded requests of one signal.
    pub fn requests_for(&self, signal: Signal) -> Vec<Arc<RecordedRequest>> {
        let mut requests = self.requests();
        requests.retain(|r| r.signal == signal);
        requests
    }

    /// Connections closed because no request was in progress on them for the idle timeout
    /// (idle between requests, or headers sent too slowly or never), on every listener,
    /// the web page's included, where a client that stops reading a large answer for
    /// that long is closed and counted too. Each is counted before its socket is closed: a client
    /// that has seen the close sees it counted.
    pub fn connections_closed_idle(&self) -> u64 {
        self.shared
            .connections
            .closed_idle
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Connections accepted over the [`ReceiverBuilder::max_connections`] cap (or the web
    /// page's) and closed at once.
    pub fn connections_refused(&self) -> u64 {
        self.shared
            .connections
            .refused_over_cap
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Number of recorded requests.
    pub fn request_count(&self) -> usize {
        self.shared.store.counts().requests
    }

    /// Number of decoded requests waiting for their answer right now (held by a delay
    /// fault, for instance). Lets a test act while a request is in flight.
    pub fn in_flight(&self) -> usize {
        self.shared.store.in_flight()
    }

    /// Bytes of the [`ReceiverBuilder::in_flight_budget`] that requests hold right now
    /// (0 without a budget), rounded up to whole KiB per request. Lets a test act once a
    /// request holds the budget.
    pub fn in_flight_budget_held(&self) -> usize {
        self.shared.limits.budget.as_ref().map_or(0, Budget::held)
    }

    /// Number of received spans.
    pub fn span_count(&self) -> usize {
        self.shared.store.counts().spans
    }

    /// Number of received metric data points (of every kind).
    pub fn data_point_count(&self) -> usize {
        self.shared.store.counts().data_points
    }

    /// Number of received log records.
    pub fn log_count(&self) -> usize {
        self.shared.store.counts().log_records
    }

    fn accepted(&self) -> impl Iterator<Item = Arc<RecordedRequest>> {
        self.requests().into_iter().filter(|r| r.accepted())
    }

    /// Every received span, in arrival order.
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        let mut out = Vec::new();
        for request in self.accepted() {
            spans_of(&request, &mut out);
        }
        out
    }

    /// The received spans named `name`.
    pub fn spans_named(&self, name: &str) -> Vec<ReceivedSpan> {
        let mut spans = self.spans();
        spans.retain(|s| s.span.name == name);
        spans
    }

    /// The first received span named `name`.
    pub fn span(&self, name: &str) -> Option<ReceivedSpan> {
        self.spans().into_iter().find(|s| s.span.name == name)
    }

    /// The tree of the spans received for one trace (pass the 16-byte id, e.g.
    /// `span_context.trace_id().to_bytes()`).
    pub fn span_tree(&self, trace_id: impl AsRef<[u8]>) -> SpanTree {
        let trace_id = trace_id.as_ref();
        let mut spans = self.spans();
        spans.retain(|s| s.span.trace_id == trace_id);
        SpanTree::from_spans(spans)
    }

    /// The forest of all received spans, grouped by trace.
    pub fn span_forest(&self) -> SpanTree {
        SpanTree::from_spans(self.spans())
    }

    /// Every received log record, in arrival order.
    pub fn logs(&self) -> Vec<ReceivedLog> {
        let mut out = Vec::new();
        for request in self.accepted() {
            logs_of(&request, &mut out);
        }
        out
    }

    /// Every received metric, in arrival order (a metric exported periodically appears
    /// once per export).
    pub fn metrics(&self) -> Vec<ReceivedMetric> {
        let mut out = Vec::new();
        for request in self.accepted() {
            metrics_of(&request, &mut out);
        }
        out
    }

    /// The received metrics named `name`, in arrival order.
    pub fn metrics_named(&self, name: &str) -> Vec<ReceivedMetric> {
        let mut metrics = self.metrics();
        metrics.retain(|m| m.metric.name == name);
        metrics
    }

    /// The most recently received metric named `name`.
    pub fn latest_metric(&self, name: &str) -> Option<ReceivedMetric> {
        self.metrics_named(name).pop()
    }

    /// Forgets all recorded requests and items (sequence numbers keep counting; faults are
    /// kept).
    pub fn clear(&self) {
        self.shared.store.clear();
    }

    // --- Waiting --------------------------------------------------------------------------

    /// Blocks until at least `count` spans were received, then returns all spans.
    pub fn wait_for_spans(
        &self,
        count: usize,
        timeout: Duration,
    ) -> Result<Vec<ReceivedSpan>, WaitError> {
        self.shared
            .store
            .wait_blocking(ItemKind::Spans, count, timeout)?;
        Ok(self.spans())
    }

    /// Blocks until at least `count` metric data points were received, then returns all
    /// metrics.
    pub fn wait_for_data_points(
        &self,
        count: usize,
        timeout: Duration,
    ) -> Result<Vec<ReceivedMetric>, WaitError> {
        self.shared
            .store
            .wait_blocking(ItemKind::DataPoints, count, timeout)?;
        Ok(self.metrics())
    }

    /// Blocks until at least `count` log records were received, then returns all of them.
    pub fn wait_for_logs(
        &self,
        count: usize,
        timeout: Duration,
    ) -> Result<Vec<ReceivedLog>, WaitError> {
        self.shared
            .store
            .wait_blocking(ItemKind::LogRecords, count, timeout)?;
        Ok(self.logs())
    }

    /// Blocks until at least `count` requests were recorded (whatever the answer), then
    /// returns all of them.
    pub fn wait_for_requests(
        &self,
        count: usize,
        timeout: Duration,
    ) -> Result<Vec<Arc<RecordedRequest>>, WaitError> {
        self.shared
            .store
            .wait_blocking(ItemKind::Requests, count, timeout)?;
        Ok(self.requests())
    }

    async fn wait_async(
        &self,
        kind: ItemKind,
        count: usize,
        timeout: Duration,
    ) -> Result<(), WaitError> {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let timer = AbortOnDrop(self.runtime.handle.spawn(async move {
            tokio::time::sleep(timeout).await;
            let _ = tx.send(());
        }));
        let deadline = async move {
            // Err: the timer task is gone (runtime shutting down); give up as well.
            let _ = rx.await;
        };
        let result = self
            .shared
            .store
            .wait_async(kind, count, timeout, deadline)
            .await;
        drop(timer);
        result
    }

    /// Async twin of [`wait_for_spans`](Self::wait_for_spans).
    pub async fn wait_for_spans_async(
        &self,
        count: usize,
        timeout: Duration,
    ) -> Result<Vec<ReceivedSpan>, WaitError> {
        self.wait_async(ItemKind::Spans, count, timeout).await?;
        Ok(self.spans())
    }

    /// Async twin of [`wait_for_data_points`](Self::wait_for_data_points).
    pub async fn wait_for_data_points_async(
        &self,
        count: usize,
        timeout: Duration,
    ) -> Result<Vec<ReceivedMetric>, WaitError> {
        self.wait_async(ItemKind::DataPoints, count, timeout)
            .await?;
        Ok(self.metrics())
    }

    /// Async twin of [`wait_for_logs`](Self::wait_for_logs).
    pub async fn wait_for_logs_async(
        &self,
        count: usize,
        timeout: Duration,
    ) -> Result<Vec<ReceivedLog>, WaitError> {
        self.wait_async(ItemKind::LogRecords, count, timeout)
            .await?;
        Ok(self.logs())
    }

    /// Async twin of [`wait_for_requests`](Self::wait_for_requests).
    pub async fn wait_for_requests_async(
        &self,
        count: usize,
        timeout: Duration,
    ) -> Result<Vec<Arc<RecordedRequest>>, WaitError> {
        self.wait_async(ItemKind::Requests, count, timeout).await?;
        Ok(self.requests())
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        // Cancel the servers first so connections close even if the runtime is slow to stop.
        if let Some(generation) = self.servers.get_mut().take() {
            generation.token.cancel();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>(_: &T) {}
    fn assert_send<T: Send>(_: &T) {}

    #[test]
    fn receiver_and_its_wait_futures_can_move_between_threads() {
        let receiver = Receiver::start().unwrap();
        assert_send_sync(&receiver);
        let wait = receiver.wait_for_spans_async(1, Duration::from_millis(1));
        assert_send(&wait);
        let requests = receiver.wait_for_requests_async(1, Duration::from_millis(1));
        assert_send(&requests);
    }

    #[test]
    fn a_taken_port_is_a_typed_bind_error_naming_the_address() {
        let first = Receiver::start().unwrap();
        let taken = first.http_addr();
        let err = Receiver::builder().http_addr(taken).start().unwrap_err();
        match &err {
            StartError::Bind { listener, addr, .. } => {
                assert_eq!((*listener, *addr), (Listener::Http, taken));
            }
            other => panic!("unexpected error {other:?}"),
        }
        assert!(err.to_string().contains(&taken.to_string()), "{err}");
    }
}
