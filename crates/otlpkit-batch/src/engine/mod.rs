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
//!
//! The engine is split by side. This file holds what both sides share (the
//! settings, the state, the control messages, the deadlines) and `Engine`,
//! the handle that producers and the processors call: push, flush, shutdown
//! and their async twins, with the bounded waits for the worker's reply.
//! `worker.rs` is the worker task: the loop that takes batches, runs the
//! exports and settles them, and carries out flush and shutdown.
//! `blocking.rs` runs the export calls of exporters that block their thread.
//!
//! Only the producer's push is generic over the item type. Everything else
//! (the worker, flush, shutdown, the statistics) is compiled once, in this
//! crate, over the item-typed parts behind trait objects: the queue as a
//! [`QueueView`], and a [`Lane`] that takes a batch out of the queue and
//! hands it to the exporter. A generic engine would be compiled again for
//! every item type in every crate that starts one (the SDK spans, the log
//! records and the native span records, in the `otlpkit` facade).

mod blocking;
mod worker;

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Poll;
use std::time::{Duration, Instant};

use opentelemetry_sdk::Resource;
use otlpkit_bridge::{Giver, HandoffError, WorkerRuntime, handoff};
use otlpkit_core::stats::{DropReason, ExportStats, SignalStats};
use otlpkit_core::{BatchConfig, Signal};
use tokio::sync::{Notify, mpsc, oneshot};

use crate::error::{ProcessorFlushError, ShutdownError};
use crate::exporter::{DynExporter, ExportFuture, ExporterControl};
use crate::queue::{Queue, QueueView};
use crate::report::{FlushReport, ProcessorShutdownReport};
use crate::stats::{EngineCounters, ProcessorStats, snapshot_of};

use self::worker::Worker;

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
pub(crate) struct Shared {
    pub(crate) queue: Arc<dyn QueueView>,
    counters: EngineCounters,
    stats: ExportStats,
    signal: Signal,
    /// Signalled by shutdown so that a running flush gives way at once.
    preempt: Notify,
}

impl Shared {
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
    Blocking(Giver<T>),
    Async(oneshot::Sender<T>),
}

impl<T> Reply<T> {
    fn send(self, value: T) {
        match self {
            Reply::Blocking(tx) => tx.give(value),
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
pub(crate) use otlpkit_core::saturating_deadline as later;

/// The item-typed side of the worker: takes a batch out of the queue and
/// hands it to the exporter, so that the worker itself is not generic.
pub(crate) trait Lane: Send + Sync + 'static {
    /// Takes up to `max` items and returns how many, with the (not yet
    /// polled) export call over them; `None` when the queue is empty.
    fn take_batch(&self, max: usize) -> Option<(u64, ExportFuture)>;
    /// The exporter, for the calls that do not name the item type.
    fn exporter(&self) -> Arc<dyn ExporterControl>;
    /// Passes the resource to the exporter; false if the exporter is shared
    /// at the moment (an export still holds it).
    fn set_resource(&mut self, resource: &Resource) -> bool;
}

struct Typed<I: Send + 'static> {
    queue: Arc<Queue<I>>,
    exporter: Arc<dyn DynExporter<I>>,
}

impl<I: Send + 'static> Lane for Typed<I> {
    fn take_batch(&self, max: usize) -> Option<(u64, ExportFuture)> {
        let mut batch = Vec::with_capacity(max.min(self.queue.len()).max(1));
        let taken = self.queue.pop_batch(max, &mut batch) as u64;
        // The adapters' futures are lazy: the exporter's `export` runs when
        // the worker first polls this, inside the export's context.
        (taken > 0).then(|| (taken, Arc::clone(&self.exporter).export(batch)))
    }

    fn exporter(&self) -> Arc<dyn ExporterControl> {
        Arc::clone(&self.exporter) as Arc<dyn ExporterControl>
    }

    fn set_resource(&mut self, resource: &Resource) -> bool {
        match Arc::get_mut(&mut self.exporter) {
            Some(exporter) => {
                exporter.set_resource(resource);
                true
            }
            None => false,
        }
    }
}

/// The producer side of the engine, owned by a processor: the typed queue
/// for the hot path, and the [`Core`] for everything else.
pub(crate) struct Engine<I: Send + 'static> {
    queue: Arc<Queue<I>>,
    /// Shared with the processor's handles; its drop shuts the engine down
    /// if nothing did.
    pub(crate) core: Arc<Core>,
}

impl<I: Send + 'static> std::fmt::Debug for Engine<I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.core.fmt(f)
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
        // With a zero schedule delay every item is due at once: wake the
        // worker on the first one instead of at a full batch.
        let wake_at = if config.schedule_delay().is_zero() {
            1
        } else {
            config.max_export_batch_size()
        };
        let queue = Arc::new(Queue::new(
            config.max_queue_size(),
            wake_at,
            config.overflow_policy(),
            settings.max_queue_bytes,
            size_of,
            settings.stats.clone(),
            signal,
        ));
        let lane = Box::new(Typed {
            queue: Arc::clone(&queue),
            exporter,
        });
        let core = Core::start(queue.clone(), lane, settings, signal)?;
        Ok(Self {
            queue,
            core: Arc::new(core),
        })
    }

    /// The hot path.
    #[inline]
    pub(crate) fn push(&self, item: I) {
        self.queue.push(item);
    }
}

impl<I: Send + 'static> std::ops::Deref for Engine<I> {
    type Target = Core;

    fn deref(&self) -> &Core {
        &self.core
    }
}

/// The engine's non-generic part: the worker's control channel, flush,
/// shutdown and statistics.
pub(crate) struct Core {
    shared: Arc<Shared>,
    /// Set by the first shutdown call (the queue may also be closed by a
    /// worker that died with its runtime).
    shutdown_called: AtomicBool,
    control: mpsc::UnboundedSender<Control>,
    worker: WorkerRuntime,
    default_timeout: Duration,
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("queue", &QueueDebug(&*self.shared.queue))
            .field("worker", &self.worker)
            .field("default_timeout", &self.default_timeout)
            .finish_non_exhaustive()
    }
}

/// The queue's `Debug` through its item-free view.
struct QueueDebug<'a>(&'a dyn QueueView);

impl std::fmt::Debug for QueueDebug<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let queue = self.0;
        f.debug_struct("Queue")
            .field("len", &queue.len())
            .field("capacity", &queue.capacity())
            .field("bytes", &queue.bytes())
            .field("max_bytes", &queue.max_bytes())
            .field("closed", &queue.is_closed())
            .finish_non_exhaustive()
    }
}

impl Core {
    /// Starts the worker (on its own runtime unless one was given).
    fn start(
        queue: Arc<dyn QueueView>,
        lane: Box<dyn Lane>,
        mut settings: Settings,
        signal: Signal,
    ) -> Result<Self, otlpkit_bridge::BridgeError> {
        let (worker, owned) = match settings.worker.take() {
            Some(worker) => (worker, false),
            None => {
                let name = match signal {
                    Signal::Logs => "otlpkit-blrp",
                    _ => "otlpkit-bsp",
                };
                (WorkerRuntime::start(name)?, true)
            }
        };
        let shared = Arc::new(Shared {
            queue,
            counters: EngineCounters::default(),
            stats: settings.stats.clone(),
            signal,
            preempt: Notify::new(),
        });
        let (control_tx, control_rx) = mpsc::unbounded_channel();
        let task = Worker::new(
            Arc::clone(&shared),
            lane,
            control_rx,
            &settings,
            owned.then(|| worker.clone()),
        );
        worker.spawn(task.run());
        Ok(Self {
            shared,
            shutdown_called: AtomicBool::new(false),
            control: control_tx,
            worker,
            default_timeout: settings.default_timeout,
        })
    }

    /// Counts an item refused because the processor is shut down.
    pub(crate) fn refuse_after_shutdown(&self) {
        self.shared.queue.refuse_after_shutdown();
    }

    pub(crate) fn snapshot(&self) -> ProcessorStats {
        self.shared.snapshot()
    }

    /// The counters the processor counts into.
    pub(crate) fn export_stats(&self) -> ExportStats {
        self.shared.stats.clone()
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

    /// Why a flush got no answer from a worker that is gone: the
    /// processor's shutdown ended it (a flush that checked for a shutdown
    /// just before it began reaches the worker behind it, and is dropped
    /// with its control channel), or its runtime was stopped under it.
    fn flush_unanswered(&self) -> ProcessorFlushError {
        if self.shutdown_called() {
            ProcessorFlushError::AlreadyShutdown
        } else {
            ProcessorFlushError::WorkerGone
        }
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
        let (tx, rx) = handoff();
        self.control
            .send(Control::Flush {
                deadline,
                reply: Reply::Blocking(tx),
            })
            .map_err(|_| self.flush_unanswered())?;
        match rx.wait_timeout(caller_deadline.saturating_duration_since(Instant::now())) {
            Ok(report) => Ok(report),
            Err(HandoffError::Timeout(_)) => Err(ProcessorFlushError::Unresponsive {
                timeout,
                pending: self.pending(),
            }),
            Err(_) => Err(self.flush_unanswered()),
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
            .map_err(|_| self.flush_unanswered())?;
        match within(rx, caller_deadline).await {
            Some(Ok(report)) => Ok(report),
            Some(Err(_)) => Err(self.flush_unanswered()),
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
    ///
    /// On the worker thread, where the wait would deadlock, nothing is
    /// started (see [`ShutdownError::OnWorkerThread`]).
    pub(crate) fn shutdown(
        &self,
        timeout: Duration,
    ) -> Result<ProcessorShutdownReport, ShutdownError> {
        if self.worker.is_worker_thread() {
            return Err(if self.shutdown_called() {
                ShutdownError::AlreadyShutdown
            } else {
                ShutdownError::OnWorkerThread
            });
        }
        let (caller_deadline, deadline) = deadlines(timeout);
        let (tx, rx) = handoff();
        self.begin_shutdown(deadline, Reply::Blocking(tx))?;
        let reply = match rx.wait_timeout(caller_deadline.saturating_duration_since(Instant::now()))
        {
            Ok(report) => Ok(report),
            Err(HandoffError::Timeout(_)) => Err(Some(timeout)),
            Err(_) => Err(None),
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

impl Drop for Core {
    fn drop(&mut self) {
        // On the worker thread this starts nothing; the worker then shuts
        // itself down, with the default timeout, when it finds the control
        // channel closed.
        if !self.shutdown_called.load(Ordering::Acquire) {
            let _ = self.shutdown(self.default_timeout);
        }
    }
}

/// Awaits `rx` until `deadline`, with a timer on a helper thread so that it
/// needs no particular runtime (and no timer driver) from the caller.
async fn within<T>(
    mut rx: oneshot::Receiver<T>,
    deadline: Instant,
) -> Option<Result<T, oneshot::error::RecvError>> {
    let (fire_tx, mut fire_rx) = oneshot::channel::<()>();
    let (cancel_tx, cancel_rx) = handoff::<()>();
    let limit = deadline.saturating_duration_since(Instant::now());
    let timer = std::thread::Builder::new()
        .name("otlpkit-deadline".to_owned())
        .spawn(move || {
            if let Err(HandoffError::Timeout(_)) = cancel_rx.wait_timeout(limit) {
                let _ = fire_tx.send(());
            }
        });
    if timer.is_err() {
        // No thread for the timer: rely on the worker's own deadline.
        return Some(rx.await);
    }
    // The reply first: one that came in just as the timer fired is kept.
    let result = poll_fn(|cx| {
        if let Poll::Ready(reply) = Pin::new(&mut rx).poll(cx) {
            return Poll::Ready(Some(reply));
        }
        // Fired, or the timer thread is gone: the wait is over either way.
        if Pin::new(&mut fire_rx).poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        Poll::Pending
    })
    .await;
    drop(cancel_tx);
    result
}
