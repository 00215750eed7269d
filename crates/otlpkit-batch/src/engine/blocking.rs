//! Export calls of exporters that block their thread: each runs on the
//! worker runtime's blocking pool, polled by a minimal executor, so that it
//! never stalls the worker task.

use std::sync::Arc;

use opentelemetry::Context;
use opentelemetry_sdk::error::OTelSdkError;

use crate::exporter::ExportFuture;

/// Runs an export future on the runtime's blocking pool, polled by a
/// minimal executor that parks the thread, for exporters that block their
/// thread (such as `opentelemetry-otlp`'s HTTP exporter with reqwest's
/// blocking client). If the worker stops waiting (export timeout, shutdown
/// deadline), the call is detached and finishes in the background.
pub(super) fn on_blocking_thread(call: ExportFuture, suppressed: Context) -> ExportFuture {
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
