//! Errors of the bridge.

use std::time::Duration;

/// Why running work on the [`WorkerRuntime`](crate::WorkerRuntime) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BridgeError {
    /// The worker thread or its runtime could not be created.
    #[error("could not start the otlpkit worker thread: {0}")]
    Spawn(#[source] std::io::Error),
    /// The work did not finish within the given deadline and was cancelled.
    #[error("the work did not finish within {0:?} and was cancelled")]
    Timeout(Duration),
    /// The worker has been shut down (or its thread died) before the work
    /// could complete.
    #[error("the otlpkit worker runtime has shut down")]
    WorkerGone,
    /// A blocking wait was attempted on the worker thread itself, which would
    /// deadlock; await the future instead.
    #[error("blocking on the otlpkit worker thread itself would deadlock")]
    OnWorkerThread,
}
