//! Drop-in replacements for tokio's `spawn` and `spawn_blocking` that carry
//! the current span and context into the new task.

use std::future::Future;

use tokio::runtime::Handle;
use tokio::task::JoinHandle;

use crate::captured::{Captured, FutureContextExt as _};

/// [`tokio::spawn`] that carries the current span and OpenTelemetry context
/// into the task.
///
/// # Panics
///
/// Like [`tokio::spawn`], when called outside a tokio runtime; use
/// [`spawn_on`] with an explicit [`Handle`] where that can happen.
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    tokio::spawn(future.in_current_context())
}

/// Spawns `future` on the runtime behind `handle`, carrying the current span
/// and OpenTelemetry context into the task. Never panics.
pub fn spawn_on<F>(handle: &Handle, future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    handle.spawn(future.in_current_context())
}

/// [`tokio::task::spawn_blocking`] that carries the current span and
/// OpenTelemetry context into the blocking closure.
///
/// # Panics
///
/// Like [`tokio::task::spawn_blocking`], when called outside a tokio
/// runtime; use [`spawn_blocking_on`] where that can happen.
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    tokio::task::spawn_blocking(Captured::current().wrap(f))
}

/// Runs `f` on the blocking pool of the runtime behind `handle`, carrying the
/// current span and OpenTelemetry context. Never panics.
pub fn spawn_blocking_on<F, R>(handle: &Handle, f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    handle.spawn_blocking(Captured::current().wrap(f))
}

/// Drop-in replacements for `std::thread` that carry the current span and
/// OpenTelemetry context into the new threads.
pub mod thread {
    use std::fmt;
    use std::io;
    use std::thread::{Builder, JoinHandle, ScopedJoinHandle};

    use crate::captured::Captured;

    /// [`std::thread::spawn`] that carries the current span and context into
    /// the thread.
    ///
    /// # Panics
    ///
    /// Like [`std::thread::spawn`], if the operating system cannot create a
    /// thread; [`spawn_with`] returns that error instead.
    pub fn spawn<F, T>(f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        std::thread::spawn(Captured::current().wrap(f))
    }

    /// [`Builder::spawn`] (name, stack size) that carries the current span
    /// and context into the thread.
    pub fn spawn_with<F, T>(builder: Builder, f: F) -> io::Result<JoinHandle<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        builder.spawn(Captured::current().wrap(f))
    }

    /// [`std::thread::scope`] whose [`Scope::spawn`] carries the span and
    /// context that were current when `scope` was called into every scoped
    /// thread.
    ///
    /// ```
    /// let total = otlpkit_bridge::thread::scope(|s| {
    ///     let a = s.spawn(|| 1);
    ///     let b = s.spawn(|| 2);
    ///     a.join().unwrap() + b.join().unwrap()
    /// });
    /// assert_eq!(total, 3);
    /// ```
    pub fn scope<'env, F, T>(f: F) -> T
    where
        F: for<'scope> FnOnce(&Scope<'scope, 'env>) -> T,
    {
        let captured = Captured::current();
        std::thread::scope(|inner| f(&Scope { inner, captured }))
    }

    /// The scope handed out by [`scope`]. Clone it to spawn from inside a
    /// scoped thread.
    #[derive(Clone)]
    pub struct Scope<'scope, 'env> {
        inner: &'scope std::thread::Scope<'scope, 'env>,
        captured: Captured,
    }

    impl fmt::Debug for Scope<'_, '_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("Scope")
                .field("captured", &self.captured)
                .finish_non_exhaustive()
        }
    }

    impl<'scope, 'env> Scope<'scope, 'env> {
        /// [`std::thread::Scope::spawn`], carrying the span and context.
        ///
        /// # Panics
        ///
        /// Like the standard library, if the operating system cannot create
        /// a thread; [`spawn_with`](Self::spawn_with) returns the error.
        pub fn spawn<F, T>(&self, f: F) -> ScopedJoinHandle<'scope, T>
        where
            F: FnOnce() -> T + Send + 'scope,
            T: Send + 'scope,
        {
            self.inner.spawn(self.captured.clone().wrap(f))
        }

        /// [`Builder::spawn_scoped`], carrying the span and context.
        pub fn spawn_with<F, T>(
            &self,
            builder: Builder,
            f: F,
        ) -> io::Result<ScopedJoinHandle<'scope, T>>
        where
            F: FnOnce() -> T + Send + 'scope,
            T: Send + 'scope,
        {
            builder.spawn_scoped(self.inner, self.captured.clone().wrap(f))
        }

        /// The span and context this scope carries.
        pub fn captured(&self) -> &Captured {
            &self.captured
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::Context;
    use opentelemetry::trace::{
        SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState,
    };

    fn remote(span_id: u64) -> Context {
        Context::new().with_remote_span_context(SpanContext::new(
            TraceId::from(9_u128),
            SpanId::from(span_id),
            TraceFlags::SAMPLED,
            true,
            TraceState::NONE,
        ))
    }

    fn current_span_id() -> SpanId {
        Context::map_current(|cx| cx.span().span_context().span_id())
    }

    #[test]
    fn the_handle_variants_carry_the_context_without_a_current_runtime() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap();
        let _outer = remote(11).attach();
        let task = spawn_on(runtime.handle(), async { current_span_id() });
        let blocking = spawn_blocking_on(runtime.handle(), current_span_id);
        assert_eq!(runtime.block_on(task).unwrap(), SpanId::from(11_u64));
        assert_eq!(runtime.block_on(blocking).unwrap(), SpanId::from(11_u64));
    }

    #[test]
    fn the_builder_variants_carry_the_context() {
        let _outer = remote(12).attach();
        let named = thread::spawn_with(std::thread::Builder::new().name("named".into()), || {
            (
                std::thread::current().name().map(str::to_owned),
                current_span_id(),
            )
        })
        .unwrap()
        .join()
        .unwrap();
        assert_eq!(named, (Some("named".to_owned()), SpanId::from(12_u64)));
        let scoped = thread::scope(|s| {
            assert_eq!(
                s.captured().context().span().span_context().span_id(),
                SpanId::from(12_u64)
            );
            s.spawn_with(std::thread::Builder::new(), current_span_id)
                .unwrap()
                .join()
                .unwrap()
        });
        assert_eq!(scoped, SpanId::from(12_u64));
    }
}
