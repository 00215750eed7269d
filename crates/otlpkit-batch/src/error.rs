//! Errors of building, flushing and shutting down a processor.

use std::time::Duration;

use otlpkit_bridge::BridgeError;
use otlpkit_core::{BatchKind, ConfigError};

/// Why a processor could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The batch configuration (builder values or `OTEL_BSP_*` /
    /// `OTEL_BLRP_*` variables) is invalid.
    #[error("invalid batch processor configuration: {0}")]
    Config(#[from] ConfigError),
    /// A span configuration was given to the log processor, or the reverse.
    #[error("a {given:?} batch configuration was given to the {expected:?} processor")]
    WrongConfigKind {
        /// The kind the processor needs.
        expected: BatchKind,
        /// The kind that was given.
        given: BatchKind,
    },
    /// `with_max_concurrent_exports(0)`.
    #[error("max_concurrent_exports must be at least 1, got {0}")]
    ZeroConcurrency(usize),
    /// `with_max_queue_bytes(0)`.
    #[error("max_queue_bytes must be positive, got {0}")]
    ZeroQueueBytes(usize),
    /// `with_default_timeout(Duration::ZERO)`.
    #[error("the default flush/shutdown timeout must be positive, got {0:?}")]
    ZeroTimeout(Duration),
    /// The export worker thread could not be started.
    #[error("could not start the export worker: {0}")]
    Worker(#[from] BridgeError),
}

/// Why a flush could not run. A flush that runs out of time is not an
/// error: its [`FlushReport`](crate::FlushReport) says what was left.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProcessorFlushError {
    /// The processor has been shut down (checklist 3.7: later flushes are
    /// ignored), also when its shutdown began while the flush was on its
    /// way to the worker, which then shut down without running it.
    #[error("the processor has been shut down")]
    AlreadyShutdown,
    /// Called on the export worker thread itself (from inside an export),
    /// where waiting would deadlock.
    #[error("flush called on the export worker thread itself, where waiting would deadlock")]
    OnWorkerThread,
    /// The export worker has stopped (its runtime was shut down by someone
    /// else), and the processor was not shut down.
    #[error("the export worker has stopped")]
    WorkerGone,
    /// The worker did not answer in time: its thread is blocked, for
    /// instance by an exporter that blocks the thread instead of awaiting,
    /// or was not scheduled in the margin (at most 25 ms) between the
    /// worker's own deadline and the caller's, as on a loaded machine.
    /// Nothing is dropped: the flush goes on until the worker's deadline.
    #[error(
        "the export worker did not answer within {timeout:?} \
         ({pending} items still queued or in flight)"
    )]
    Unresponsive {
        /// The caller's timeout.
        timeout: Duration,
        /// Items queued or in flight when the caller gave up.
        pending: u64,
    },
}

/// Why a shutdown could not run to completion. A shutdown that runs out of
/// time is not an error: its [`ProcessorShutdownReport`](crate::ProcessorShutdownReport) says
/// what could not be sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ShutdownError {
    /// Shutdown was already called (checklist 3.7: once).
    #[error("the processor has already been shut down")]
    AlreadyShutdown,
    /// The blocking shutdown was called on the export worker thread itself
    /// (from inside an export, or another task on the processor's worker
    /// runtime), where waiting for the worker would deadlock. Nothing was
    /// done: the processor still accepts and exports items. Shut it down
    /// from another thread, or await
    /// [`shutdown_async`](crate::ProcessorHandle::shutdown_async) in a task
    /// of its own, which may run on the worker thread.
    #[error(
        "shutdown called on the export worker thread itself, where waiting would deadlock; \
         nothing was done"
    )]
    OnWorkerThread,
    /// The export worker had already stopped (its runtime was shut down by
    /// someone else); what it held and what was queued were dropped as
    /// `shutdown_deadline`.
    #[error("the export worker had stopped; {dropped} items were dropped as shutdown_deadline")]
    WorkerGone {
        /// Items dropped as `shutdown_deadline` in the processor's lifetime.
        dropped: u64,
    },
    /// The worker did not answer in time: its thread is blocked, for
    /// instance by an exporter that blocks the thread instead of awaiting,
    /// or was not scheduled in the margin (at most 25 ms) between the
    /// worker's own deadline and the caller's, as on a loaded machine.
    /// The worker accounts for these items when it gets control back
    /// (`pending` can be 0: it had, but its report came too late); the
    /// processor's statistics then say what happened to each.
    #[error(
        "the export worker did not answer within {timeout:?} \
         ({pending} items still queued or in flight)"
    )]
    Unresponsive {
        /// The caller's timeout.
        timeout: Duration,
        /// Items queued or in flight when the caller gave up.
        pending: u64,
    },
}
