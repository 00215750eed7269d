//! The engine shared by the span and the log processor: the queue on the
//! producer side, and the export worker, one async task on the
//! [`WorkerRuntime`] that batches, exports, flushes and shuts down.
//!
//! The worker owns the exporter. Exports run as tasks of the worker runtime
//! (at most `max_concurrent_exports` at a time, 1 by default), inside a
//! context where telemetry is suppressed, each bounded by the export
//! timeout. Flush and shutdown requests travel on a control channel; their
//! deadlines are enforced by the worker (which cancels what it must and
//! accounts for it) and, independently, by the caller's bounded wait.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use opentelemetry::Context;
use opentelemetry::context::FutureExt as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkError;
use otlpkit_bridge::WorkerRuntime;
use otlpkit_core::stats::{
    BatchAccounting, DropReason, ExportErrorRecord, ExportStats, SignalStats,
};
use otlpkit_core::{BatchConfig, Signal};
use tokio::sync::{Notify, mpsc, oneshot};
use tokio::task::{Id, JoinError, JoinSet};

use crate::diag::{self, WarnOnce};
use crate::error::{ProcessorFlushError, ShutdownError};
use crate::exporter::{DynExporter, ExportFuture, classify_failure};
use crate::queue::{Queue, item_name};
use crate::report::{FlushReport, ProcessorShutdownReport};
use crate::stats::{EngineCounters, ProcessorStats, snapshot_of};

/// Everything the engine needs, resolved by a builder.
pub(crate) struct Settings {
    pub(crate) config: BatchConfig,
    pub(crate) max_queue_bytes: Option<usize>,
    pub(crate) max_concurrent_exports: usize,
    pub(crate) stats: ExportStats,
    pub(crate) worker: Option<WorkerRuntime>,
    pub(crate) default_timeout: Duration,
    pub(crate) blocking_exports: bool,
}

/// State shared by the producers, the worker and the stats readers.
pub(crate) struct Shared<I> {
    pub(crate) queue: Queue<I>,
    counters: EngineCounters,
    stats: ExportStats,
    signal: Signal,
    /// Signalled by shutdown so that a running flush gives way at once.
    preempt: Notify,
}

impl<I> Shared<I> {
    fn signal_stats(&self) -> &SignalStats {
        self.stats.signal(self.signal)
    }

    pub(crate) fn snapshot(&self) -> ProcessorStats {
        snapshot_of(
            self.signal,
            self.signal_stats().snapshot(),
            &self.counters,
            (
                self.queue.len(),
                self.queue.capacity(),
                self.queue.bytes(),
                self.queue.max_bytes(),
            ),
        )
    }
}

/// Where the worker sends a reply: a blocking or an async waiter.
enum Reply<T> {
    Blocking(std_mpsc::SyncSender<T>),
    Async(oneshot::Sender<T>),
}

impl<T> Reply<T> {
    fn send(self, value: T) {
        match self {
            Reply::Blocking(tx) => {
                let _ = tx.try_send(value);
            }
            Reply::Async(tx) => {
                let _ = tx.send(value);
            }
        }
    }
}

enum Control {
    Flush {
        deadline: Instant,
        reply: Reply<FlushReport>,
    },
    Shutdown {
        deadline: Instant,
        reply: Reply<FlushReport>,
    },
    SetResource(Resource),
}

/// The largest part of a shutdown's budget kept for the exporter's own
/// shutdown (a tenth of the budget, at most this).
const EXPORTER_SHUTDOWN_RESERVE: Duration = Duration::from_millis(100);

/// A generous estimate of the time it takes to drop one queued item at the
/// shutdown deadline; with a very large queue, the shutdown stops exporting
/// early enough to drop what is left before its deadline (at most a quarter
/// of the budget is kept for that).
const DISCARD_COST_PER_ITEM: Duration = Duration::from_nanos(250);

/// The caller's deadline and the (slightly earlier) one the worker works
/// to, so that its reply arrives before the caller stops waiting.
fn deadlines(timeout: Duration) -> (Instant, Instant) {
    let now = Instant::now();
    let margin = (timeout / 10).min(Duration::from_millis(25));
    (
        later(now, timeout),
        later(now, timeout.saturating_sub(margin)),
    )
}

/// `from + delay`, saturating far in the future instead of overflowing (a
/// caller may pass `Duration::MAX` to mean "no limit").
pub(crate) fn later(from: Instant, delay: Duration) -> Instant {
    const FAR: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
    from.checked_add(delay.min(FAR))
        .or_else(|| from.checked_add(Duration::from_secs(365 * 24 * 3600)))
        .unwrap_or(from)
}

/// The producer side of the engine, owned by a processor.
pub(crate) struct Engine<I: Send + 'static> {
    shared: Arc<Shared<I>>,
    /// Set by the first shutdown call (the queue may also be closed by a
    /// worker that died with its runtime).
    shutdown_called: AtomicBool,
    control: mpsc::UnboundedSender<Control>,
    worker: WorkerRuntime,
    default_timeout: Duration,
}

impl<I: Send + 'static> std::fmt::Debug for Engine<I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("queue", &self.shared.queue)
            .field("worker", &self.worker)
            .field("default_timeout", &self.default_timeout)
            .finish_non_exhaustive()
    }
}

impl<I: Send + 'static> Engine<I> {
    /// Starts the worker (on its own runtime unless one was given).
    pub(crate) fn start(
        exporter: Arc<dyn DynExporter<I>>,
        settings: Settings,
        signal: Signal,
        size_of: fn(&I) -> usize,
    ) -> Result<Self, otlpkit_bridge::BridgeError> {
        let config = &settings.config;
        let (worker, owned) = match settings.worker {
            Some(worker) => (worker, false),
            None => {
                let name = match signal {
                    Signal::Logs => "otlpkit-blrp",
                    _ => "otlpkit-bsp",
                };
                (WorkerRuntime::start(name)?, true)
            }
        };
        // With a zero schedule delay every item is due at once: wake the
        // worker on the first one instead of at a full batch.
        let wake_at = if config.schedule_delay().is_zero() {
            1
        } else {
            config.max_export_batch_size()
        };
        let shared = Arc::new(Shared {
            queue: Queue::new(
                config.max_queue_size(),
                wake_at,
                config.overflow_policy(),
                settings.max_queue_bytes,
                size_of,
                settings.stats.clone(),
                signal,
            ),
            counters: EngineCounters::default(),
            stats: settings.stats,
            signal,
            preempt: Notify::new(),
        });
        let (control_tx, control_rx) = mpsc::unbounded_channel();
        let task = Worker {
            shared: Arc::clone(&shared),
            exporter,
            control: control_rx,
            in_flight: JoinSet::new(),
            in_flight_items: HashMap::new(),
            next_timer: later(Instant::now(), config.schedule_delay()),
            draining: false,
            batch_size: config.max_export_batch_size().max(1),
            schedule_delay: config.schedule_delay(),
            export_timeout: config.export_timeout(),
            max_concurrent: settings.max_concurrent_exports.max(1),
            default_timeout: settings.default_timeout,
            blocking_exports: settings.blocking_exports,
            tally: Tally::default(),
            warned: WarnOnce::default(),
            suppressed: Context::new().with_telemetry_suppressed(),
            owned_runtime: owned.then(|| worker.clone()),
        };
        worker.spawn(task.run());
        Ok(Self {
            shared,
            shutdown_called: AtomicBool::new(false),
            control: control_tx,
            worker,
            default_timeout: settings.default_timeout,
        })
    }

    /// The hot path.
    #[inline]
    pub(crate) fn push(&self, item: I) {
        self.shared.queue.push(item);
    }

    /// Counts an item refused because the processor is shut down.
    pub(crate) fn refuse_after_shutdown(&self) {
        self.shared.queue.refuse_after_shutdown();
    }

    pub(crate) fn snapshot(&self) -> ProcessorStats {
        self.shared.snapshot()
    }

    pub(crate) fn default_timeout(&self) -> Duration {
        self.default_timeout
    }

    /// Whether the processor no longer accepts items: shut down, or its
    /// worker is gone.
    pub(crate) fn is_shut_down(&self) -> bool {
        self.shared.queue.is_closed()
    }

    /// Whether shutdown has been called.
    pub(crate) fn shutdown_called(&self) -> bool {
        self.shutdown_called.load(Ordering::Acquire)
    }

    /// Passes the provider's resource to the exporter (applied by the
    /// worker before it exports anything else).
    pub(crate) fn set_resource(&self, resource: &Resource) {
        let _ = self.control.send(Control::SetResource(resource.clone()));
    }

    /// Items dropped as `shutdown_deadline` so far.
    fn deadline_drops(&self) -> u64 {
        self.shared
            .signal_stats()
            .snapshot()
            .dropped(DropReason::ShutdownDeadline)
    }

    fn pending(&self) -> u64 {
        self.shared.snapshot().pending()
    }

    /// Flushes, blocking the calling thread until done or `timeout`.
    pub(crate) fn flush(&self, timeout: Duration) -> Result<FlushReport, ProcessorFlushError> {
        if self.shutdown_called.load(Ordering::Acquire) {
            return Err(ProcessorFlushError::AlreadyShutdown);
        }
        if self.worker.is_worker_thread() {
            return Err(ProcessorFlushError::OnWorkerThread);
        }
        let (caller_deadline, deadline) = deadlines(timeout);
        let (tx, rx) = std_mpsc::sync_channel(1);
        self.control
            .send(Control::Flush {
                deadline,
                reply: Reply::Blocking(tx),
            })
            .map_err(|_| ProcessorFlushError::WorkerGone)?;
        match rx.recv_timeout(caller_deadline.saturating_duration_since(Instant::now())) {
            Ok(report) => Ok(report),
            Err(std_mpsc::RecvTimeoutError::Timeout) => Err(ProcessorFlushError::Unresponsive {
                timeout,
                pending: self.pending(),
            }),
            Err(std_mpsc::RecvTimeoutError::Disconnected) => Err(ProcessorFlushError::WorkerGone),
        }
    }

    /// Flushes without blocking the caller's thread.
    pub(crate) async fn flush_async(
        &self,
        timeout: Duration,
    ) -> Result<FlushReport, ProcessorFlushError> {
        if self.shutdown_called.load(Ordering::Acquire) {
            return Err(ProcessorFlushError::AlreadyShutdown);
        }
        let (caller_deadline, deadline) = deadlines(timeout);
        let (tx, rx) = oneshot::channel();
        self.control
            .send(Control::Flush {
                deadline,
                reply: Reply::Async(tx),
            })
            .map_err(|_| ProcessorFlushError::WorkerGone)?;
        match within(rx, caller_deadline).await {
            Some(Ok(report)) => Ok(report),
            Some(Err(_)) => Err(ProcessorFlushError::WorkerGone),
            None => Err(ProcessorFlushError::Unresponsive {
                timeout,
                pending: self.pending(),
            }),
        }
    }

    /// Closes the queue and asks the worker to shut down. Returns the
    /// receiver side of the reply, or the error if it cannot even start.
    fn begin_shutdown(
        &self,
        deadline: Instant,
        reply: Reply<FlushReport>,
    ) -> Result<(), ShutdownError> {
        if self.shutdown_called.swap(true, Ordering::AcqRel) {
            return Err(ShutdownError::AlreadyShutdown);
        }
        self.shared.queue.close();
        if self
            .control
            .send(Control::Shutdown { deadline, reply })
            .is_err()
        {
            // The worker task is gone; its drop accounted for what it held.
            // Anything queued since is dropped here.
            self.shared.queue.discard_all(DropReason::ShutdownDeadline);
            return Err(ShutdownError::WorkerGone {
                dropped: self.deadline_drops(),
            });
        }
        self.shared.preempt.notify_one();
        Ok(())
    }

    fn finish_shutdown(
        &self,
        reply: Result<FlushReport, Option<Duration>>,
    ) -> Result<ProcessorShutdownReport, ShutdownError> {
        match reply {
            Ok(flush) => Ok(ProcessorShutdownReport {
                flush,
                totals: self.shared.snapshot(),
            }),
            Err(Some(timeout)) => Err(ShutdownError::Unresponsive {
                timeout,
                pending: self.pending(),
            }),
            Err(None) => {
                // The worker task was dropped with its runtime; its drop
                // accounted for what it held.
                self.shared.queue.discard_all(DropReason::ShutdownDeadline);
                Err(ShutdownError::WorkerGone {
                    dropped: self.deadline_drops(),
                })
            }
        }
    }

    /// Shuts down, blocking the calling thread until done or `timeout`.
    pub(crate) fn shutdown(
        &self,
        timeout: Duration,
    ) -> Result<ProcessorShutdownReport, ShutdownError> {
        let (caller_deadline, deadline) = deadlines(timeout);
        let (tx, rx) = std_mpsc::sync_channel(1);
        self.begin_shutdown(deadline, Reply::Blocking(tx))?;
        if self.worker.is_worker_thread() {
            return Err(ShutdownError::OnWorkerThread);
        }
        let reply = match rx.recv_timeout(caller_deadline.saturating_duration_since(Instant::now()))
        {
            Ok(report) => Ok(report),
            Err(std_mpsc::RecvTimeoutError::Timeout) => Err(Some(timeout)),
            Err(std_mpsc::RecvTimeoutError::Disconnected) => Err(None),
        };
        self.finish_shutdown(reply)
    }

    /// Shuts down without blocking the caller's thread.
    pub(crate) async fn shutdown_async(
        &self,
        timeout: Duration,
    ) -> Result<ProcessorShutdownReport, ShutdownError> {
        let (caller_deadline, deadline) = deadlines(timeout);
        let (tx, rx) = oneshot::channel();
        self.begin_shutdown(deadline, Reply::Async(tx))?;
        let reply = match within(rx, caller_deadline).await {
            Some(Ok(report)) => Ok(report),
            Some(Err(_)) => Err(None),
            None => Err(Some(timeout)),
        };
        self.finish_shutdown(reply)
    }
}

impl<I: Send + 'static> Drop for Engine<I> {
    fn drop(&mut self) {
        if !self.shutdown_called.load(Ordering::Acquire) {
            let _ = self.shutdown(self.default_timeout);
        }
    }
}

/// Awaits `rx` until `deadline`, with a timer on a helper thread so that it
/// needs no particular runtime (and no timer driver) from the caller.
async fn within<T>(
    rx: oneshot::Receiver<T>,
    deadline: Instant,
) -> Option<Result<T, oneshot::error::RecvError>> {
    let (fire_tx, fire_rx) = oneshot::channel::<()>();
    let (cancel_tx, cancel_rx) = std_mpsc::channel::<()>();
    let limit = deadline.saturating_duration_since(Instant::now());
    let timer = std::thread::Builder::new()
        .name("otlpkit-deadline".to_owned())
        .spawn(move || {
            if let Err(std_mpsc::RecvTimeoutError::Timeout) = cancel_rx.recv_timeout(limit) {
                let _ = fire_tx.send(());
            }
        });
    if timer.is_err() {
        // No thread for the timer: rely on the worker's own deadline.
        return Some(rx.await);
    }
    let result = tokio::select! {
        biased;
        reply = rx => Some(reply),
        _ = fire_rx => None,
    };
    drop(cancel_tx);
    result
}

/// Runs an export future on the runtime's blocking pool, polled by a
/// minimal executor that parks the thread, for exporters that block their
/// thread (such as `opentelemetry-otlp`'s HTTP exporter with reqwest's
/// blocking client). If the worker stops waiting (export timeout, shutdown
/// deadline), the call is detached and finishes in the background.
fn on_blocking_thread(call: ExportFuture, suppressed: Context) -> ExportFuture {
    Box::pin(async move {
        let task = tokio::task::spawn_blocking(move || {
            let _suppressed = suppressed.attach();
            park_on(call)
        });
        match task.await {
            Ok(result) => result,
            // Re-raised in the export task, whose join error the worker
            // counts as `internal`, like a panic on the worker itself.
            Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
            Err(error) => Err(OTelSdkError::InternalFailure(format!(
                "the blocking export thread was cancelled: {error}"
            ))),
        }
    })
}

/// Polls `future` to completion on the current thread, parking between
/// polls.
fn park_on<F: std::future::Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = std::task::Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = std::task::Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let std::task::Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        std::thread::park();
    }
}

/// The export outcomes in the shared counters: exported, failed on the way
/// to the collector, dropped at the shutdown deadline. Queue-side drops
/// (queue full, evicted, block timeout, after shutdown) are not outcomes of
/// a flush or a shutdown.
#[derive(Debug, Clone, Copy)]
struct Outcomes {
    exported: u64,
    failed: u64,
    deadline: u64,
}

impl Outcomes {
    fn of(stats: &SignalStats) -> Outcomes {
        let snapshot = stats.snapshot();
        Outcomes {
            exported: snapshot.exported,
            failed: [
                DropReason::NonRetryable,
                DropReason::RetriesExhausted,
                DropReason::RejectedByServer,
                DropReason::Oversized,
                DropReason::Internal,
            ]
            .into_iter()
            .map(|reason| snapshot.dropped(reason))
            .sum(),
            deadline: snapshot.dropped(DropReason::ShutdownDeadline),
        }
    }
}

/// Outcomes counted since the start of the current flush or shutdown.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    exported: u64,
    failed: u64,
    unsent: u64,
}

/// Why an export call did not succeed.
enum Failure {
    Exporter(OTelSdkError),
    Timeout,
}

struct ExportDone {
    result: Result<(), Failure>,
    elapsed: Duration,
}

/// The export worker task.
struct Worker<I: Send + 'static> {
    shared: Arc<Shared<I>>,
    exporter: Arc<dyn DynExporter<I>>,
    control: mpsc::UnboundedReceiver<Control>,
    in_flight: JoinSet<ExportDone>,
    /// Items of each export in flight, and how its counting was handed over.
    in_flight_items: HashMap<Id, (u64, BatchAccounting)>,
    next_timer: Instant,
    /// Whether the last export took a full batch: the next one may then be
    /// partial (see `pump`).
    draining: bool,
    batch_size: usize,
    schedule_delay: Duration,
    export_timeout: Option<Duration>,
    max_concurrent: usize,
    default_timeout: Duration,
    /// Run each export call on a blocking thread (exporters that block).
    blocking_exports: bool,
    tally: Tally,
    warned: WarnOnce,
    suppressed: Context,
    /// The runtime to stop after shutdown, when the engine started it.
    owned_runtime: Option<WorkerRuntime>,
}

impl<I: Send + 'static> Worker<I> {
    async fn run(mut self) {
        loop {
            let can_start = self.in_flight.len() < self.max_concurrent;
            let timer = tokio::time::sleep_until(self.next_timer.into());
            tokio::select! {
                biased;
                message = self.control.recv() => match message {
                    Some(Control::SetResource(resource)) => self.set_resource(resource).await,
                    Some(Control::Flush { deadline, reply }) => {
                        let report = self.flush(deadline).await;
                        reply.send(report);
                    }
                    Some(Control::Shutdown { deadline, reply }) => {
                        let report = self.shutdown(deadline).await;
                        reply.send(report);
                        self.stop_runtime();
                        return;
                    }
                    None => {
                        // Every handle is gone without a shutdown request.
                        let deadline = later(Instant::now(), self.default_timeout);
                        self.shared.queue.close();
                        let _ = self.shutdown(deadline).await;
                        self.stop_runtime();
                        return;
                    }
                },
                Some(joined) = self.in_flight.join_next_with_id(), if !self.in_flight.is_empty() => {
                    self.settle(joined);
                }
                () = self.shared.queue.wake().notified(), if can_start => {}
                () = timer, if can_start => {}
            }
            self.pump();
        }
    }

    fn stop_runtime(&mut self) {
        if let Some(runtime) = self.owned_runtime.take() {
            // On the worker thread this only signals the runtime to stop once
            // this task returns; it never waits.
            let _ = runtime.shutdown(Duration::ZERO);
        }
    }

    /// Starts the exports that are due (checklist 3.4): full batches, and
    /// what is queued once the schedule delay has passed. Like the SDK's
    /// processor, which drains what is queued when it is woken, a partial
    /// batch also goes out right after a full one, so that the tail of a
    /// burst does not wait for the timer; after a partial batch the worker
    /// waits for the next full batch or the timer again.
    fn pump(&mut self) {
        while self.in_flight.len() < self.max_concurrent {
            let queue = &self.shared.queue;
            queue.clear_wake();
            let len = queue.len();
            let now = Instant::now();
            if len == 0 {
                self.draining = false;
                if now >= self.next_timer {
                    // Nothing to do when the timer fires on an empty queue;
                    // producers wake the worker when a batch is full.
                    self.next_timer = later(now, self.schedule_delay.max(Duration::from_secs(1)));
                }
                return;
            }
            if len < self.batch_size && now < self.next_timer && !self.draining {
                return;
            }
            let taken = self.start_export(self.batch_size);
            if taken == 0 {
                return;
            }
            self.draining = taken == self.batch_size as u64;
        }
    }

    /// Takes up to `max` items and starts exporting them. Returns how many.
    fn start_export(&mut self, max: usize) -> u64 {
        let mut batch = Vec::with_capacity(max.min(self.shared.queue.len()).max(1));
        let taken = self.shared.queue.pop_batch(max, &mut batch) as u64;
        if taken == 0 {
            return 0;
        }
        self.shared.counters.export_started(taken);
        let exporter = Arc::clone(&self.exporter);
        let timeout = self.export_timeout;
        // An exporter that counts better than the engine (otlpkit's) finds
        // this in the context of its export call and takes the counting over.
        // Half the queue still waiting after this batch: an exporter with a
        // disk spool writes the batch there rather than hold the queue up.
        let backlog = self.shared.queue.len().saturating_mul(2) >= self.shared.queue.capacity();
        let accounting = BatchAccounting::new(self.shared.stats.clone()).with_backlog(backlog);
        let context = self.suppressed.with_value(accounting.clone());
        let blocking = self.blocking_exports.then(|| context.clone());
        let export = async move {
            let started = Instant::now();
            let call = match blocking {
                None => exporter.export(batch),
                Some(suppressed) => on_blocking_thread(exporter.export(batch), suppressed),
            };
            let result = match timeout {
                Some(limit) => match tokio::time::timeout(limit, call).await {
                    Ok(result) => result.map_err(Failure::Exporter),
                    Err(_) => Err(Failure::Timeout),
                },
                None => call.await.map_err(Failure::Exporter),
            };
            ExportDone {
                result,
                elapsed: started.elapsed(),
            }
        }
        // The export never feeds the pipeline it belongs to.
        .with_context(context);
        let handle = self.in_flight.spawn(export);
        self.in_flight_items
            .insert(handle.id(), (taken, accounting));
        self.next_timer = later(Instant::now(), self.schedule_delay);
        taken
    }

    /// Accounts for a finished (or cancelled) export.
    ///
    /// An exporter that claimed the batch's [`BatchAccounting`] records the
    /// outcome of every item itself, whatever becomes of the call (a panic
    /// or a cancellation included), so the engine then records nothing.
    fn settle(&mut self, joined: Result<(Id, ExportDone), JoinError>) {
        let (id, done) = match joined {
            Ok((id, done)) => (id, Ok(done)),
            Err(error) => (error.id(), Err(error)),
        };
        let (items, accounting) = self
            .in_flight_items
            .remove(&id)
            .unwrap_or_else(|| (0, BatchAccounting::new(ExportStats::new())));
        let engine_counts = !accounting.is_claimed();
        let counters = &self.shared.counters;
        counters.export_settled(items);
        let stats = self.shared.signal_stats();
        let what = item_name(self.shared.signal);
        match done {
            Ok(ExportDone {
                result: Ok(()),
                elapsed,
            }) => {
                counters.export_finished(elapsed, false);
                if engine_counts {
                    stats.record_exported(items);
                }
                self.tally.exported += items;
            }
            Ok(ExportDone {
                result: Err(failure),
                elapsed,
            }) => {
                counters.export_finished(elapsed, true);
                let reason = match &failure {
                    // The engine cancelled the call at the export timeout.
                    Failure::Timeout => DropReason::RetriesExhausted,
                    Failure::Exporter(error) => classify_failure(error),
                };
                if engine_counts {
                    stats.record_dropped(reason, items);
                    let message = match &failure {
                        Failure::Timeout => format!(
                            "the export call did not return within the {:?} export timeout",
                            self.export_timeout.unwrap_or_default()
                        ),
                        Failure::Exporter(error) => error.to_string(),
                    };
                    stats.record_error(ExportErrorRecord::new(
                        "exporter",
                        reason,
                        format!("the {} exporter", self.shared.signal),
                        message,
                        items,
                    ));
                    self.warned.dropped(what, reason);
                    if let Failure::Exporter(error) = &failure {
                        self.warned.export_failed(what, error);
                    }
                }
                self.tally.failed += items;
            }
            Err(error) if error.is_cancelled() => {
                // Only shutdown cancels exports, when its deadline passes.
                if engine_counts {
                    stats.record_dropped(DropReason::ShutdownDeadline, items);
                }
                self.tally.unsent += items;
            }
            Err(error) => {
                // The exporter panicked. One that claimed the batch counted
                // it while unwinding; any other cannot have.
                counters.export_finished(Duration::ZERO, true);
                if engine_counts {
                    stats.record_dropped(DropReason::Internal, items);
                    self.warned.dropped(what, DropReason::Internal);
                }
                diag::warn(format_args!("the {what} exporter panicked: {error}"));
                self.tally.failed += items;
            }
        }
        // The schedule delay restarts after each export (checklist 3.4).
        self.next_timer = later(Instant::now(), self.schedule_delay);
    }

    /// Exports until `target` items have been taken (all that is queued
    /// when `None`) and every export has settled, or `deadline` passes
    /// (`true`), or a shutdown preempts a flush (`true`). Returns whether it
    /// stopped early and how many of the target were never taken.
    async fn drain(
        &mut self,
        target: Option<u64>,
        deadline: Instant,
        preemptible: bool,
    ) -> (bool, u64) {
        let mut left = target.unwrap_or(u64::MAX);
        loop {
            while left > 0 && self.in_flight.len() < self.max_concurrent {
                let want =
                    usize::try_from(left.min(self.batch_size as u64)).unwrap_or(self.batch_size);
                let started = self.start_export(want);
                if started == 0 {
                    left = 0;
                } else {
                    left = left.saturating_sub(started);
                }
            }
            if self.in_flight.is_empty() {
                return (false, 0);
            }
            let sleep = tokio::time::sleep_until(deadline.into());
            tokio::select! {
                biased;
                Some(joined) = self.in_flight.join_next_with_id() => self.settle(joined),
                () = self.shared.preempt.notified(), if preemptible => {
                    return (true, if target.is_some() { left } else { 0 });
                }
                () = sleep => return (true, if target.is_some() { left } else { 0 }),
            }
        }
    }

    /// Runs a synchronous exporter call (flush, shutdown) on the runtime's
    /// blocking pool, so that exporters that block or wait on this worker
    /// cannot stall it. `None` when `deadline` passed first.
    async fn blocking<R: Send + 'static>(
        &self,
        deadline: Instant,
        call: impl FnOnce(&dyn DynExporter<I>) -> R + Send + 'static,
    ) -> Option<R> {
        let exporter = Arc::clone(&self.exporter);
        let task = tokio::task::spawn_blocking(move || call(&*exporter));
        match tokio::time::timeout_at(deadline.into(), task).await {
            Ok(Ok(result)) => Some(result),
            Ok(Err(_)) | Err(_) => None,
        }
    }

    async fn flush(&mut self, deadline: Instant) -> FlushReport {
        let started = Instant::now();
        self.tally = Tally::default();
        let base = Outcomes::of(self.shared.signal_stats());
        let target = self.shared.queue.len() as u64;
        let (stopped_early, left) = self.drain(Some(target), deadline, true).await;
        let (exported, failed, _) = self.outcomes_since(base);
        let mut report = FlushReport {
            exported,
            failed,
            ..FlushReport::default()
        };
        if stopped_early {
            report.timed_out = true;
            report.unsent = left + self.shared.counters.in_flight_items();
        } else {
            // checklist 3.6: then the exporter's own flush.
            match self
                .blocking(deadline, |exporter| exporter.force_flush())
                .await
            {
                Some(Ok(())) => {}
                Some(Err(error)) => report.exporter_error = Some(error.to_string()),
                None => report.timed_out = true,
            }
        }
        report.elapsed = started.elapsed();
        report
    }

    async fn shutdown(&mut self, deadline: Instant) -> FlushReport {
        let started = Instant::now();
        self.tally = Tally::default();
        let base = Outcomes::of(self.shared.signal_stats());
        // The last slice of the budget is kept for what follows the drain:
        // dropping what is still queued (proportional to the queue, for very
        // large queues) and the exporter's own shutdown, which settles
        // whatever it still holds.
        let budget = deadline.saturating_duration_since(started);
        let queued = u32::try_from(self.shared.queue.len()).unwrap_or(u32::MAX);
        let reserve = (budget / 10)
            .min(EXPORTER_SHUTDOWN_RESERVE)
            .max(DISCARD_COST_PER_ITEM.saturating_mul(queued))
            .min(budget / 4);
        let (timed_out, _) = self.drain(None, deadline - reserve, false).await;
        if timed_out {
            // Cancel what is still running; on this single-threaded runtime
            // none of it is being polled now, so a cancelled export has
            // recorded nothing and is counted here, once (by the engine, or
            // by an exporter that claimed it, under the reason given here).
            for (_, accounting) in self.in_flight_items.values() {
                accounting.cancel(DropReason::ShutdownDeadline);
            }
            self.in_flight.abort_all();
            while let Some(joined) = self.in_flight.join_next_with_id().await {
                self.settle(joined);
            }
        }
        self.tally.unsent += self.shared.queue.discard_all(DropReason::ShutdownDeadline);
        // After a timeout the exporter is told to cancel at once what it
        // still holds; otherwise it gets what is left of the budget.
        let grace = if timed_out {
            Duration::ZERO
        } else {
            deadline.saturating_duration_since(Instant::now())
        };
        let exporter_result = self
            .blocking(deadline, move |exporter| exporter.shutdown(grace))
            .await;
        let mut report = FlushReport {
            timed_out,
            ..FlushReport::default()
        };
        match exporter_result {
            Some(result) => {
                if let Err(error) = result {
                    report.exporter_error = Some(error.to_string());
                }
                // Everything is settled, by the engine or by the exporter's
                // shutdown: the counters tell exactly what happened.
                (report.exported, report.failed, report.unsent) = self.outcomes_since(base);
            }
            None => {
                // The exporter is still shutting down: report what the engine
                // knows (a batch it cancelled counts as unsent even if the
                // exporter delivers it in its last moments).
                report.timed_out = true;
                report.exported = self.tally.exported;
                report.failed = self.tally.failed;
                report.unsent = self.tally.unsent;
            }
        }
        report.elapsed = started.elapsed();
        let totals = self.shared.snapshot();
        if totals.dropped_total() > 0 {
            diag::warn(format_args!("batch processor shut down; {totals}"));
        }
        report
    }

    /// `(exported, failed, dropped at the deadline)` recorded since `base`,
    /// by the engine and by an exporter that accounts for itself. Exact as
    /// long as no other pipeline records the same signal into the same
    /// counters at the same time.
    fn outcomes_since(&self, base: Outcomes) -> (u64, u64, u64) {
        let now = Outcomes::of(self.shared.signal_stats());
        (
            now.exported.saturating_sub(base.exported),
            now.failed.saturating_sub(base.failed),
            now.deadline.saturating_sub(base.deadline),
        )
    }

    async fn set_resource(&mut self, resource: Resource) {
        // The exporter can be changed only while no export holds it.
        while let Some(joined) = self.in_flight.join_next_with_id().await {
            self.settle(joined);
        }
        match Arc::get_mut(&mut self.exporter) {
            Some(exporter) => exporter.set_resource(&resource),
            None => diag::warn(format_args!(
                "could not pass the resource to the exporter while it was in use"
            )),
        }
    }
}

impl<I: Send + 'static> Drop for Worker<I> {
    fn drop(&mut self) {
        // Normally empty. If the task was dropped before finishing (its
        // runtime was shut down under it), account for everything it held:
        // exports it started were cancelled with it.
        let stats = self.shared.signal_stats();
        for (_, (items, accounting)) in self.in_flight_items.drain() {
            self.shared.counters.export_settled(items);
            accounting.cancel(DropReason::ShutdownDeadline);
            if !accounting.is_claimed() {
                stats.record_dropped(DropReason::ShutdownDeadline, items);
            }
        }
        self.shared.queue.close();
        self.shared.queue.discard_all(DropReason::ShutdownDeadline);
    }
}
