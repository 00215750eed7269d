//! The export worker runtime: one named thread that owns a small tokio runtime.
//!
//! All of otlpkit's network I/O runs here, never on the caller's runtime. This
//! is what lets a synchronous `fn main()` use gRPC, and what keeps a
//! `current_thread` caller from deadlocking on flush: the future the caller
//! waits for is driven by a different thread than the one that waits.

use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle, ThreadId};
use std::time::{Duration, Instant};

use tokio::runtime::Handle;
use tokio::sync::oneshot;

use crate::error::BridgeError;
use crate::handoff::{Giver, HandoffError, handoff};

/// The name of the worker thread that otlpkit's exporters (and the
/// `otlpkit` facade's pipeline) start when they are given none.
pub const EXPORT_WORKER_NAME: &str = "otlpkit-export";

/// How long [`Drop`] of the last [`WorkerRuntime`] handle waits for the
/// worker thread to finish before detaching it.
const DROP_JOIN_TIMEOUT: Duration = Duration::from_secs(2);

/// A dedicated thread running a single-threaded tokio runtime.
///
/// Cloning is cheap and every clone drives the same thread. The thread stops
/// when [`WorkerRuntime::shutdown`] is called or the last clone is dropped;
/// both are bounded in time.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use otlpkit_bridge::WorkerRuntime;
///
/// // No runtime in sight: a plain synchronous caller.
/// let worker = WorkerRuntime::start("otlpkit-example").unwrap();
/// let answer = worker
///     .block_on(async { 40 + 2 }, Some(Duration::from_secs(5)))
///     .unwrap();
/// assert_eq!(answer, 42);
/// worker.shutdown(Duration::from_secs(1)).unwrap();
/// ```
#[derive(Clone)]
pub struct WorkerRuntime {
    shared: Arc<Shared>,
}

struct Shared {
    name: String,
    handle: Handle,
    thread_id: ThreadId,
    /// Dropping or sending on this ends the worker's `block_on`.
    stop: Mutex<Option<oneshot::Sender<Duration>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl fmt::Debug for WorkerRuntime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkerRuntime")
            .field("name", &self.shared.name)
            .field("running", &self.is_running())
            .finish()
    }
}

impl WorkerRuntime {
    /// Starts the worker thread, named `name`, and its runtime (timers and
    /// I/O enabled).
    pub fn start(name: impl Into<String>) -> Result<Self, BridgeError> {
        let name = name.into();
        let (ready_tx, ready_rx) = handoff::<Result<Handle, std::io::Error>>();
        let (stop_tx, stop_rx) = oneshot::channel::<Duration>();
        let thread = thread::Builder::new()
            .name(name.clone())
            .spawn(move || run_worker(ready_tx, stop_rx))
            .map_err(BridgeError::Spawn)?;
        let thread_id = thread.thread().id();
        let handle = match ready_rx.wait() {
            Ok(Ok(handle)) => handle,
            Ok(Err(io)) => {
                let _ = thread.join();
                return Err(BridgeError::Spawn(io));
            }
            Err(_) => {
                let _ = thread.join();
                return Err(BridgeError::WorkerGone);
            }
        };
        Ok(Self {
            shared: Arc::new(Shared {
                name,
                handle,
                thread_id,
                stop: Mutex::new(Some(stop_tx)),
                thread: Mutex::new(Some(thread)),
            }),
        })
    }

    /// The name of the worker thread.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// True until [`shutdown`](Self::shutdown) has been called.
    pub fn is_running(&self) -> bool {
        lock(&self.shared.stop).is_some()
    }

    /// True when the calling thread is the worker thread itself.
    pub fn is_worker_thread(&self) -> bool {
        thread::current().id() == self.shared.thread_id
    }

    /// The tokio handle of the worker runtime, for components that spawn
    /// their own tasks or build clients (tonic, reqwest) bound to it.
    pub fn handle(&self) -> &Handle {
        &self.shared.handle
    }

    /// Spawns `future` on the worker. Safe from any thread and any runtime.
    pub fn spawn<F>(&self, future: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.shared.handle.spawn(future)
    }

    /// Runs `future` on the worker and blocks the calling thread until it
    /// completes or `deadline` passes (`None` waits without limit).
    ///
    /// Works from a plain thread, from inside a multi-thread or
    /// `current_thread` tokio runtime, and from `spawn_blocking`: the caller
    /// only waits on a channel, the worker thread drives the future. Calling
    /// it on the worker thread itself is refused with
    /// [`BridgeError::OnWorkerThread`] instead of deadlocking. On a deadline
    /// the future is cancelled; a panic in it is [`BridgeError::Panicked`]
    /// with its message, and the worker goes on.
    pub fn block_on<F>(
        &self,
        future: F,
        deadline: Option<Duration>,
    ) -> Result<F::Output, BridgeError>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        if self.is_worker_thread() {
            return Err(BridgeError::OnWorkerThread);
        }
        if !self.is_running() {
            return Err(BridgeError::WorkerGone);
        }
        let (done_tx, done_rx) = handoff();
        let task = self.shared.handle.spawn(async move {
            done_tx.give(CatchUnwind { future }.await);
        });
        let received = match deadline {
            Some(limit) => done_rx.wait_timeout(limit),
            None => done_rx.wait(),
        }
        .map_err(|error| match error {
            HandoffError::Timeout(limit) => BridgeError::Timeout(limit),
            _ => BridgeError::WorkerGone,
        });
        if received.is_err() {
            task.abort();
        }
        received?.map_err(BridgeError::Panicked)
    }

    /// Runs `future` on the worker and awaits its output from any runtime.
    ///
    /// The awaiting task only polls a channel, so the caller's runtime never
    /// drives the worker's I/O. The future starts when this call is first
    /// polled; [`submit`](Self::submit) starts it at once.
    pub async fn run<F>(&self, future: F) -> Result<F::Output, BridgeError>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.submit(future).await
    }

    /// Starts `future` on the worker now and returns what to await for its
    /// output, from any runtime.
    ///
    /// Between the two the caller is free to do other work while the worker
    /// runs the future: an exporter frees the batch it has just encoded while
    /// the worker sends the bytes. If the worker has stopped, `future` is
    /// dropped and the output is [`BridgeError::WorkerGone`].
    ///
    /// ```
    /// use otlpkit_bridge::WorkerRuntime;
    ///
    /// let worker = WorkerRuntime::start("otlpkit-example").unwrap();
    /// let pending = worker.submit(async { 6 * 7 });
    /// // ... the worker is already running the future ...
    /// assert_eq!(otlpkit_bridge::block_on(pending).unwrap().unwrap(), 42);
    ///
    /// worker.shutdown(std::time::Duration::from_secs(1)).unwrap();
    /// let refused = worker.submit(async { 0 });
    /// assert!(otlpkit_bridge::block_on(refused).unwrap().is_err());
    /// ```
    pub fn submit<F>(
        &self,
        future: F,
    ) -> impl Future<Output = Result<F::Output, BridgeError>> + Send + 'static
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let task = self.is_running().then(|| self.spawn(future));
        async move {
            let task = task.ok_or(BridgeError::WorkerGone)?;
            task.await.map_err(|error| {
                if error.is_panic() {
                    BridgeError::Panicked(panic_message(error.into_panic()))
                } else {
                    BridgeError::WorkerGone
                }
            })
        }
    }

    /// Stops the worker: async tasks still running are cancelled at once
    /// (dropped at their next `.await`; work that must finish, such as an
    /// export in flight, is to be awaited before this is called, as the
    /// exporters do), calls still running on the blocking pool get up to
    /// `timeout`, and the thread is joined. Returns
    /// [`BridgeError::Timeout`] if the thread did not exit in time (it is then
    /// detached, never leaked into a hang). A second call returns `Ok`.
    pub fn shutdown(&self, timeout: Duration) -> Result<(), BridgeError> {
        let Some(stop) = lock(&self.shared.stop).take() else {
            return Ok(());
        };
        let started = Instant::now();
        let _ = stop.send(timeout);
        if self.is_worker_thread() {
            // The thread cannot join itself; it exits once this task returns.
            return Ok(());
        }
        let Some(thread) = lock(&self.shared.thread).take() else {
            return Ok(());
        };
        // The runtime gives tasks `timeout`; allow a little scheduling slack
        // on top before declaring the thread stuck.
        let join_limit = timeout.saturating_add(Duration::from_millis(500));
        join_with_timeout(thread, join_limit.saturating_sub(started.elapsed()))
            .map_err(|()| BridgeError::Timeout(timeout))
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        if let Some(stop) = self
            .stop
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            let _ = stop.send(DROP_JOIN_TIMEOUT);
        }
        let thread = self
            .thread
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(thread) = thread
            && thread.thread().id() != thread::current().id()
        {
            let _ = join_with_timeout(thread, DROP_JOIN_TIMEOUT + Duration::from_millis(500));
        }
    }
}

fn run_worker(ready: Giver<Result<Handle, std::io::Error>>, stop: oneshot::Receiver<Duration>) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(io) => {
            ready.give(Err(io));
            return;
        }
    };
    ready.give(Ok(runtime.handle().clone()));
    // A dropped sender (every handle gone without shutdown) counts as a stop
    // with the default grace period.
    let grace = runtime.block_on(stop).unwrap_or(DROP_JOIN_TIMEOUT);
    runtime.shutdown_timeout(grace);
}

pin_project_lite::pin_project! {
    /// `future`'s output, or the message of its panic: a panic while it is
    /// polled on the worker is said as a panic, not as the worker gone.
    struct CatchUnwind<F> {
        #[pin]
        future: F,
    }
}

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, String>;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        let future = self.project().future;
        // Polled no more after a panic: this returns `Ready` then.
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| future.poll(cx))) {
            Ok(std::task::Poll::Ready(output)) => std::task::Poll::Ready(Ok(output)),
            Ok(std::task::Poll::Pending) => std::task::Poll::Pending,
            Err(payload) => std::task::Poll::Ready(Err(panic_message(payload))),
        }
    }
}

/// The text of a panic payload, when it is a string.
fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(message) => *message,
        Err(payload) => payload.downcast_ref::<&str>().map_or_else(
            || "non-string panic payload".to_owned(),
            |message| (*message).to_owned(),
        ),
    }
}

/// Joins `thread` if it exits within `limit`; otherwise leaves it detached.
fn join_with_timeout(thread: JoinHandle<()>, limit: Duration) -> Result<(), ()> {
    // `None`: a limit too long for an `Instant` (`Duration::MAX`) waits as
    // long as it takes, without the overflow panic of `+`.
    let deadline = Instant::now().checked_add(limit);
    while !thread.is_finished() {
        if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
            return Err(());
        }
        thread::sleep(Duration::from_millis(2));
    }
    let _ = thread.join();
    Ok(())
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding these locks cannot leave their Option in a torn
    // state, so a poisoned lock is still safe to use.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    const WAIT: Option<Duration> = Some(Duration::from_secs(10));

    #[test]
    fn block_on_from_a_plain_thread_without_any_runtime() {
        let worker = WorkerRuntime::start("t-plain").unwrap();
        let value = worker
            .block_on(
                async {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    7
                },
                WAIT,
            )
            .unwrap();
        assert_eq!(value, 7);
    }

    #[test]
    fn block_on_inside_a_current_thread_runtime_does_not_deadlock_or_panic() {
        let worker = WorkerRuntime::start("t-current").unwrap();
        let caller = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let value = caller.block_on(async {
            // The caller's only thread blocks; the worker still makes progress.
            worker
                .block_on(
                    async {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                        "done"
                    },
                    WAIT,
                )
                .unwrap()
        });
        assert_eq!(value, "done");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn block_on_inside_multi_thread_runtime_and_spawn_blocking() {
        let worker = WorkerRuntime::start("t-multi").unwrap();
        let direct = worker.block_on(async { 1 }, WAIT).unwrap();
        let moved = worker.clone();
        let from_blocking =
            tokio::task::spawn_blocking(move || moved.block_on(async { 2 }, WAIT).unwrap())
                .await
                .unwrap();
        assert_eq!(direct + from_blocking, 3);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn run_awaits_from_a_current_thread_runtime() {
        let worker = WorkerRuntime::start("t-run").unwrap();
        let on_worker = worker
            .run(async { thread::current().name().map(str::to_owned) })
            .await
            .unwrap();
        assert_eq!(on_worker.as_deref(), Some("t-run"));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_panicking_task_is_reported_and_the_worker_survives() {
        let worker = WorkerRuntime::start("t-panic").unwrap();
        let result = worker.run(async { panic!("boom") }).await;
        assert!(
            matches!(&result, Err(BridgeError::Panicked(message)) if message == "boom"),
            "{result:?}"
        );
        assert_eq!(worker.run(async { 5 }).await.unwrap(), 5);
    }

    #[test]
    fn block_on_the_worker_thread_itself_is_refused() {
        let worker = WorkerRuntime::start("t-self").unwrap();
        let inner = worker.clone();
        let nested = worker
            .block_on(
                async move {
                    inner
                        .block_on(async { 1 }, WAIT)
                        .map_err(|error| error.to_string())
                },
                WAIT,
            )
            .unwrap();
        assert_eq!(nested, Err(BridgeError::OnWorkerThread.to_string()));
    }

    #[test]
    fn block_on_deadline_returns_timeout_and_cancels_the_future() {
        let worker = WorkerRuntime::start("t-deadline").unwrap();
        let completed = Arc::new(AtomicUsize::new(0));
        let flag = completed.clone();
        let limit = Duration::from_millis(50);
        let result = worker.block_on(
            async move {
                tokio::time::sleep(Duration::from_secs(60)).await;
                flag.fetch_add(1, Ordering::SeqCst);
            },
            Some(limit),
        );
        assert!(
            matches!(result, Err(BridgeError::Timeout(d)) if d == limit),
            "{result:?}"
        );
        worker.shutdown(Duration::from_secs(1)).unwrap();
        assert_eq!(completed.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn shutdown_is_bounded_with_a_task_that_never_finishes() {
        let worker = WorkerRuntime::start("t-stuck").unwrap();
        worker.spawn(std::future::pending::<()>());
        worker.shutdown(Duration::from_millis(100)).unwrap();
        assert!(!worker.is_running());
        assert!(matches!(
            worker.block_on(async {}, WAIT),
            Err(BridgeError::WorkerGone)
        ));
        // A second shutdown is a no-op.
        worker.shutdown(Duration::from_millis(100)).unwrap();
    }

    #[test]
    fn a_panic_in_block_on_is_a_panic_and_the_worker_goes_on() {
        let worker = WorkerRuntime::start("t-panic").unwrap();
        let outcome = worker.block_on(async { panic!("scripted panic in block_on") }, WAIT);
        assert!(
            matches!(&outcome, Err(BridgeError::Panicked(message)) if message.contains("scripted panic in block_on")),
            "{outcome:?}"
        );
        assert_eq!(worker.block_on(async { 7 }, WAIT).unwrap(), 7);
        worker.shutdown(Duration::from_secs(5)).unwrap();
    }

    /// `Duration::MAX` means "as long as it takes" (as an exporter's
    /// `shutdown_with_timeout(Duration::MAX)` passes it on); adding the
    /// scheduling slack to it overflowed.
    #[test]
    fn shutdown_with_duration_max_waits_without_overflowing() {
        let worker = WorkerRuntime::start("max-timeout").unwrap();
        assert_eq!(worker.block_on(async { 7 }, WAIT).unwrap(), 7);
        worker.shutdown(Duration::MAX).unwrap();
    }

    #[test]
    fn dropping_the_last_handle_stops_the_thread() {
        let worker = WorkerRuntime::start("t-drop").unwrap();
        let (tx, rx) = handoff::<()>();
        // The task holds a giver; it is dropped when the runtime shuts down.
        worker.spawn(async move {
            let _keep = tx;
            std::future::pending::<()>().await;
        });
        drop(worker);
        assert_eq!(
            rx.wait_timeout(Duration::from_secs(10)),
            Err(HandoffError::Dropped)
        );
    }
}
