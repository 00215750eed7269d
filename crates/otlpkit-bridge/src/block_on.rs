//! `block_on` for user code: run a future to completion from synchronous code,
//! wherever that code happens to run.

use std::future::Future;
use std::sync::OnceLock;
use std::thread;

use tokio::runtime::{Handle, RuntimeFlavor};

use crate::captured::Captured;
use crate::error::BlockOnError;
use crate::worker::WorkerRuntime;

/// Name of the shared thread whose runtime drives timers, I/O and spawned
/// tasks for futures run by [`block_on`] outside any runtime.
pub const BLOCK_ON_THREAD_NAME: &str = "otlpkit-block-on";

/// Name of the short-lived helper threads [`block_on`] uses on a
/// `current_thread` runtime.
const HELPER_THREAD_NAME: &str = "otlpkit-block-on-helper";

static SHARED: OnceLock<WorkerRuntime> = OnceLock::new();

/// The shared runtime, started on first use. It lives until the process
/// exits.
fn shared() -> Result<&'static WorkerRuntime, BlockOnError> {
    if let Some(worker) = SHARED.get() {
        return Ok(worker);
    }
    let started = WorkerRuntime::start(BLOCK_ON_THREAD_NAME).map_err(BlockOnError::Runtime)?;
    // If another thread won the race, `started` is dropped here, which stops
    // its thread within a bounded time.
    Ok(SHARED.get_or_init(|| started))
}

/// Where the calling thread stands with respect to tokio.
enum Caller {
    /// No runtime context at all: a plain thread.
    NoRuntime,
    /// Inside a multi-thread runtime (a worker, its `block_on` thread or its
    /// blocking pool).
    MultiThread(Handle),
    /// Inside a `current_thread` runtime, or a flavor we do not know.
    CurrentThread,
}

fn caller() -> Caller {
    match Handle::try_current() {
        Err(_) => Caller::NoRuntime,
        Ok(handle) => match handle.runtime_flavor() {
            RuntimeFlavor::MultiThread => Caller::MultiThread(handle),
            _ => Caller::CurrentThread,
        },
    }
}

/// Runs `future` to completion and returns its output, blocking the calling
/// thread: the way for synchronous code to call async code.
///
/// It works wherever it is called, without panicking:
///
/// - **on a plain thread** (no runtime, e.g. `fn main()`), the future is
///   polled on the calling thread while a shared background thread
///   ([`BLOCK_ON_THREAD_NAME`], started on first use) drives its timers, I/O
///   and any task it spawns;
/// - **inside a multi-thread tokio runtime** (a worker thread, the thread in
///   `Runtime::block_on`, `spawn_blocking`), it uses
///   [`tokio::task::block_in_place`] and [`Handle::block_on`]: the other
///   workers keep running, the future runs on the calling thread with that
///   runtime's timers and I/O;
/// - **inside a `current_thread` runtime**, whose only thread must not block
///   while one of its own tasks waits on it, the future moves to a helper
///   thread and runs on the shared runtime while the caller waits. The
///   current span and OpenTelemetry context go with it. The caller's runtime
///   is stopped meanwhile, so a future that needs *that* runtime to make
///   progress (a socket created on it, a task spawned on it, a channel fed by
///   one of its tasks) cannot finish: await such futures instead.
///
/// In the first two cases the span and context current on the calling thread
/// stay current for the future. A panic in the future resumes on the calling
/// thread.
///
/// One combination is left: a multi-thread runtime's handle entered with
/// [`Handle::enter`] from inside a `current_thread` runtime's `block_on`.
/// There tokio's `block_in_place` panics; do not nest runtimes that way.
///
/// # Errors
///
/// [`BlockOnError::Spawn`] or [`BlockOnError::Runtime`] when the helper
/// thread or the shared runtime could not be started.
///
/// # Example
///
/// ```
/// use std::time::Duration;
///
/// // From synchronous code, no runtime anywhere:
/// let answer = otlpkit_bridge::block_on(async {
///     tokio::time::sleep(Duration::from_millis(1)).await;
///     42
/// })?;
/// assert_eq!(answer, 42);
/// # Ok::<(), otlpkit_bridge::BlockOnError>(())
/// ```
pub fn block_on<F>(future: F) -> Result<F::Output, BlockOnError>
where
    F: Future + Send,
    F::Output: Send,
{
    match caller() {
        Caller::NoRuntime => run_on_calling_thread(future),
        Caller::MultiThread(handle) => Ok(tokio::task::block_in_place(|| handle.block_on(future))),
        Caller::CurrentThread => run_on_helper_thread(future),
    }
}

/// [`block_on`] for futures that are not `Send`.
///
/// Works on a plain thread and inside a multi-thread runtime exactly like
/// [`block_on`] (the future never leaves the calling thread).
///
/// # Errors
///
/// [`BlockOnError::CurrentThreadRuntime`] inside a `current_thread` runtime,
/// where the future could neither move to another thread nor run here without
/// blocking the runtime it may depend on; [`BlockOnError::Runtime`] when the
/// shared runtime could not be started.
pub fn block_on_local<F: Future>(future: F) -> Result<F::Output, BlockOnError> {
    match caller() {
        Caller::NoRuntime => run_on_calling_thread(future),
        Caller::MultiThread(handle) => Ok(tokio::task::block_in_place(|| handle.block_on(future))),
        Caller::CurrentThread => Err(BlockOnError::CurrentThreadRuntime),
    }
}

fn run_on_calling_thread<F: Future>(future: F) -> Result<F::Output, BlockOnError> {
    // `Handle::block_on` on a current_thread runtime works from another
    // thread as long as that runtime's own thread sits in `Runtime::block_on`,
    // which the worker thread always does.
    Ok(shared()?.handle().block_on(future))
}

fn run_on_helper_thread<F>(future: F) -> Result<F::Output, BlockOnError>
where
    F: Future + Send,
    F::Output: Send,
{
    let captured = Captured::current();
    // On the shared worker thread itself its runtime is the one we would
    // block: give the future a runtime of its own instead.
    let on_shared_worker = SHARED.get().is_some_and(WorkerRuntime::is_worker_thread);
    thread::scope(|scope| {
        let helper = thread::Builder::new()
            .name(HELPER_THREAD_NAME.to_owned())
            .spawn_scoped(scope, move || {
                let future = captured.future(future);
                if on_shared_worker {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(|io| BlockOnError::Runtime(crate::BridgeError::Spawn(io)))?;
                    Ok(runtime.block_on(future))
                } else {
                    Ok(shared()?.handle().block_on(future))
                }
            })
            .map_err(BlockOnError::Spawn)?;
        match helper.join() {
            Ok(result) => result,
            // The future panicked: let the caller see the same panic.
            Err(payload) => std::panic::resume_unwind(payload),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    async fn sleepy(value: u32) -> u32 {
        tokio::time::sleep(Duration::from_millis(2)).await;
        value
    }

    #[test]
    fn plain_thread() {
        assert_eq!(block_on(sleepy(1)).unwrap(), 1);
        // Not Send: an Rc held across an await.
        let local = block_on_local(async {
            let rc = std::rc::Rc::new(5);
            sleepy(0).await;
            *rc
        });
        assert_eq!(local.unwrap(), 5);
    }

    #[test]
    fn inside_a_current_thread_runtime() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let (sent, local) = runtime.block_on(async {
            let sent = block_on(sleepy(2)).unwrap();
            let local = block_on_local(async { 3 });
            (sent, local)
        });
        assert_eq!(sent, 2);
        assert!(matches!(local, Err(BlockOnError::CurrentThreadRuntime)));
    }

    #[test]
    fn inside_a_multi_thread_runtime_worker_and_its_block_on_thread() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let on_main = runtime.block_on(async { block_on(sleepy(4)).unwrap() });
        let on_worker = runtime
            .block_on(runtime.spawn(async { block_on_local(sleepy(5)).unwrap() }))
            .unwrap();
        let on_blocking_pool = runtime
            .block_on(runtime.spawn_blocking(|| block_on(sleepy(6)).unwrap()))
            .unwrap();
        assert_eq!((on_main, on_worker, on_blocking_pool), (4, 5, 6));
    }

    #[test]
    fn nested_on_the_shared_worker_thread_does_not_deadlock() {
        let nested = block_on(async {
            // This task runs on the shared worker thread itself.
            tokio::spawn(async {
                let name = thread::current().name().map(str::to_owned);
                (name, block_on(sleepy(7)).unwrap())
            })
            .await
            .unwrap()
        })
        .unwrap();
        assert_eq!(nested, (Some(BLOCK_ON_THREAD_NAME.to_owned()), 7));
    }

    #[test]
    fn a_panic_in_the_future_reaches_the_caller() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let caught = runtime.block_on(async {
            std::panic::catch_unwind(|| {
                block_on(async {
                    if sleepy(1).await == 1 {
                        panic!("boom in the future");
                    }
                })
            })
        });
        let payload = caught.unwrap_err();
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom in the future"));
    }
}
