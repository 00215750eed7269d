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
    /// The work panicked on the worker (a bug, possibly in a library the
    /// work called); the worker itself keeps running.
    #[error("the work panicked on the otlpkit worker: {0}")]
    Panicked(String),
}

/// Why [`block_on`](crate::block_on) or [`block_on_local`](crate::block_on_local)
/// could not run a future.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BlockOnError {
    /// `block_on_local` was called on a thread that drives a `current_thread`
    /// tokio runtime (or a `LocalSet`): the future is not `Send`, so it
    /// cannot move to another thread, and blocking this thread would stop the
    /// runtime it may need. Await it instead, or make it `Send` and use
    /// `block_on`.
    #[error(
        "block_on_local cannot block a current_thread tokio runtime with a future that is not Send; await it, or use block_on with a Send future"
    )]
    CurrentThreadRuntime,
    /// The helper thread that runs the future could not be created.
    #[error("could not start the otlpkit block_on helper thread: {0}")]
    Spawn(#[source] std::io::Error),
    /// The shared runtime that drives `block_on` futures could not be started.
    #[error("could not start the otlpkit block_on runtime: {0}")]
    Runtime(#[source] BridgeError),
}
