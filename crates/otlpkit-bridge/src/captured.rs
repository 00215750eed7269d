//! [`Captured`]: the OpenTelemetry context and the `tracing` span of one moment,
//! carried to another thread, task, future or stream and re-attached there.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use futures_core::Stream;
use opentelemetry::Context;
use opentelemetry::context::{ContextGuard, FutureExt as _, WithContext};
use pin_project_lite::pin_project;
use tracing::Span;
use tracing::instrument::{Instrument as _, Instrumented};
use tracing::span::EnteredSpan;

/// The OpenTelemetry [`Context`] and the current [`tracing::Span`], captured
/// together so they can be made current again somewhere else.
///
/// The two are captured separately because they can differ: a span started
/// with the OpenTelemetry API and made current with
/// [`mark_span_as_active`](opentelemetry::trace::mark_span_as_active) inside a
/// `tracing` span is more specific than that `tracing` span. When the two are
/// re-attached, the `tracing` span is entered first and the OpenTelemetry
/// context is attached on top of it, so the most specific of the two is the
/// parent of whatever starts next, exactly as it was at the capture point.
///
/// The `tracing` span carries its own subscriber. New spans started on the
/// other side use that thread's default subscriber, so install the subscriber
/// globally (as `otlpkit-tracing` does) rather than with a thread-local
/// `with_default`.
///
/// # Example
///
/// ```
/// use otlpkit_bridge::Captured;
///
/// let span = tracing::info_span!("request");
/// let _entered = span.enter();
/// let captured = Captured::current();
/// let worker = std::thread::spawn(captured.wrap(|| {
///     // The "request" span and its OpenTelemetry context are current here.
///     tracing::info!("inside the thread");
/// }));
/// worker.join().unwrap();
/// ```
#[derive(Clone)]
pub struct Captured {
    context: Context,
    span: Span,
}

impl fmt::Debug for Captured {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Captured")
            .field("context", &self.context)
            .field("span", &self.span)
            .finish()
    }
}

impl Default for Captured {
    /// The same as [`Captured::current`].
    fn default() -> Self {
        Self::current()
    }
}

impl Captured {
    /// Captures the current OpenTelemetry context and the current `tracing`
    /// span of the calling thread.
    pub fn current() -> Self {
        Self {
            context: Context::current(),
            span: Span::current(),
        }
    }

    /// Combines a context and a span captured elsewhere.
    pub fn new(context: Context, span: Span) -> Self {
        Self { context, span }
    }

    /// An OpenTelemetry context only, with no `tracing` span (for code that
    /// uses the OpenTelemetry API directly).
    pub fn from_context(context: Context) -> Self {
        Self {
            context,
            span: Span::none(),
        }
    }

    /// The captured OpenTelemetry context.
    pub fn context(&self) -> &Context {
        &self.context
    }

    /// The captured `tracing` span (disabled if none was current).
    pub fn span(&self) -> &Span {
        &self.span
    }

    /// Splits into the OpenTelemetry context and the `tracing` span.
    pub fn into_parts(self) -> (Context, Span) {
        (self.context, self.span)
    }

    /// Makes the captured span and context current on this thread until the
    /// guard is dropped.
    ///
    /// Guards must be dropped in the reverse order of their creation on the
    /// thread that created them (the guard is `!Send` for that reason).
    #[must_use = "the captured context is current only while the guard lives"]
    pub fn attach(&self) -> CapturedGuard {
        // Enter the span first: with tracing-opentelemetry's context
        // activation, entering attaches the span's own context; the captured
        // context then goes on top of it.
        let span = self.span.clone().entered();
        let context = self.context.clone().attach();
        CapturedGuard {
            _context: context,
            _span: span,
        }
    }

    /// Runs `f` with the captured span and context current.
    pub fn in_scope<R>(&self, f: impl FnOnce() -> R) -> R {
        let _guard = self.attach();
        f()
    }

    /// Wraps a closure so that it runs with the captured span and context
    /// current, wherever it is called (another thread, a blocking pool, a
    /// scoped thread).
    pub fn wrap<F, R>(self, f: F) -> impl FnOnce() -> R + Send
    where
        F: FnOnce() -> R + Send,
    {
        move || self.in_scope(f)
    }

    /// Wraps a function that may run many times, on many threads at once (a
    /// rayon parallel iterator's `map`, a callback), so that every call runs
    /// with the captured span and context current.
    pub fn wrap_fn<F, A, R>(self, f: F) -> impl Fn(A) -> R + Send + Sync
    where
        F: Fn(A) -> R + Send + Sync,
    {
        move |arg| self.in_scope(|| f(arg))
    }

    /// Wraps a future so that every poll runs with the captured span and
    /// context current. Its drop (a cancelled future's cleanup) runs inside
    /// the span, which `tracing::Instrument` enters then, but not with the
    /// captured OpenTelemetry context, which `WithContext` attaches only
    /// while polling: where the span's layer activates its context on
    /// enter (otlpkit's native layer, `tracing-opentelemetry`), the span's
    /// own context is current there, and a context captured with more in it
    /// (baggage, [`from_context`](Self::from_context)) is not.
    ///
    /// This composes [`tracing::Instrument`] and
    /// [`opentelemetry::context::FutureExt::with_context`].
    pub fn future<F: Future>(self, future: F) -> InContext<F> {
        future.with_context(self.context).instrument(self.span)
    }

    /// Wraps a stream so that every poll runs with the captured span and
    /// context current.
    pub fn stream<S: Stream>(self, stream: S) -> InContextStream<S> {
        InContextStream {
            inner: stream.with_context(self.context),
            span: self.span,
        }
    }
}

/// Returned by [`Captured::attach`]: while it lives, the captured span is
/// entered and the captured context is current.
#[must_use = "the captured context is current only while the guard lives"]
pub struct CapturedGuard {
    // Declaration order is drop order: detach the context, then exit the span.
    _context: ContextGuard,
    _span: EnteredSpan,
}

impl fmt::Debug for CapturedGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CapturedGuard").finish_non_exhaustive()
    }
}

/// A future that runs with a captured span and context current: the
/// composition of [`tracing::Instrument`] and
/// [`opentelemetry::context::FutureExt::with_context`].
pub type InContext<F> = Instrumented<WithContext<F>>;

pin_project! {
    /// A stream that runs every poll with a captured span and context current.
    ///
    /// Built by [`StreamContextExt::in_current_context`] or
    /// [`Captured::stream`].
    #[must_use = "streams do nothing unless polled"]
    pub struct InContextStream<S> {
        #[pin]
        inner: WithContext<S>,
        span: Span,
    }
}

impl<S: fmt::Debug> fmt::Debug for InContextStream<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InContextStream")
            .field("inner", &self.inner)
            .field("span", &self.span)
            .finish()
    }
}

impl<S: Stream> Stream for InContextStream<S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<S::Item>> {
        let this = self.project();
        let _entered = this.span.enter();
        // `WithContext` attaches the OpenTelemetry context inside the span.
        this.inner.poll_next(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

pin_project! {
    /// A stream that runs with a captured span and context current and
    /// produces each item inside a child span of its own.
    ///
    /// The item span is created (by the function given to
    /// [`StreamContextExt::with_item_spans`], which receives the item's
    /// zero-based index) at the first poll that works on the item, is entered
    /// during every poll until the item is returned, and is closed when it is.
    /// It therefore measures the time the stream spent producing the item,
    /// and everything the producer logs or starts meanwhile is its child.
    /// No span is made for the poll that finds the end of the stream when the
    /// stream's [`size_hint`](Stream::size_hint) already announced it; a stream
    /// that cannot know (a channel) gets one more span, with the next index,
    /// that measures the wait for its end.
    #[must_use = "streams do nothing unless polled"]
    pub struct ItemSpans<S, F> {
        #[pin]
        inner: S,
        captured: Captured,
        make_span: F,
        current: Option<Span>,
        index: u64,
    }
}

impl<S: fmt::Debug, F> fmt::Debug for ItemSpans<S, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ItemSpans")
            .field("inner", &self.inner)
            .field("captured", &self.captured)
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

impl<S, F> Stream for ItemSpans<S, F>
where
    S: Stream,
    F: FnMut(u64) -> Span,
{
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<S::Item>> {
        let this = self.project();
        let _outer = this.captured.attach();
        if this.current.is_none() && this.inner.size_hint().1 == Some(0) {
            // The stream announced its end: no item is coming, so no span.
            return this.inner.poll_next(cx);
        }
        let index = *this.index;
        let make_span = this.make_span;
        // Created while the captured context is current, so it is its child.
        let span = this.current.get_or_insert_with(|| make_span(index));
        let poll = {
            let _item = span.enter();
            this.inner.poll_next(cx)
        };
        if poll.is_ready() {
            // Closing the item span (dropping the last handle) ends it.
            *this.current = None;
            *this.index = index.saturating_add(1);
        }
        poll
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

/// Carries the current span and context into a future.
///
/// Implemented for every [`Future`]. The returned future can be handed to
/// any executor (`tokio::spawn`, `futures::executor`, another runtime): the
/// context goes with it.
///
/// ```
/// use otlpkit_bridge::FutureContextExt as _;
///
/// # let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// # runtime.block_on(async {
/// let span = tracing::info_span!("parent");
/// let _entered = span.enter();
/// let task = tokio::spawn(async {
///     tracing::info!("runs inside `parent`");
/// }.in_current_context());
/// # drop(_entered);
/// task.await.unwrap();
/// # });
/// ```
pub trait FutureContextExt: Future + Sized {
    /// Captures the current span and context and makes them current during
    /// every poll of this future.
    fn in_current_context(self) -> InContext<Self> {
        Captured::current().future(self)
    }

    /// Makes the given captured span and context current during every poll of
    /// this future.
    fn with_captured(self, captured: Captured) -> InContext<Self> {
        captured.future(self)
    }
}

impl<F: Future> FutureContextExt for F {}

/// Carries the current span and context into a stream, optionally with one
/// child span per item.
///
/// Implemented for every [`Stream`].
///
/// ```
/// use futures_util::StreamExt as _;
/// use otlpkit_bridge::StreamContextExt as _;
///
/// # let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// # runtime.block_on(async {
/// let items = futures_util::stream::iter(1..=3)
///     .with_item_spans(|index| tracing::info_span!("item", index))
///     .collect::<Vec<_>>()
///     .await;
/// assert_eq!(items, [1, 2, 3]);
/// # });
/// ```
pub trait StreamContextExt: Stream + Sized {
    /// Captures the current span and context and makes them current during
    /// every poll of this stream.
    fn in_current_context(self) -> InContextStream<Self> {
        Captured::current().stream(self)
    }

    /// Makes the given captured span and context current during every poll
    /// of this stream.
    fn with_captured(self, captured: Captured) -> InContextStream<Self> {
        captured.stream(self)
    }

    /// Captures the current span and context, and produces each item inside
    /// a child span made by `make_span(index)` (see [`ItemSpans`]).
    fn with_item_spans<F>(self, make_span: F) -> ItemSpans<Self, F>
    where
        F: FnMut(u64) -> Span,
    {
        ItemSpans {
            inner: self,
            captured: Captured::current(),
            make_span,
            current: None,
            index: 0,
        }
    }
}

impl<S: Stream> StreamContextExt for S {}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{
        SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState,
    };

    fn remote(span_id: u64) -> Context {
        Context::new().with_remote_span_context(SpanContext::new(
            TraceId::from(7_u128),
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
    fn attach_restores_the_previous_context_on_drop() {
        let outer = remote(1).attach();
        let captured = Captured::from_context(remote(2));
        {
            let _guard = captured.attach();
            assert_eq!(current_span_id(), SpanId::from(2_u64));
        }
        assert_eq!(current_span_id(), SpanId::from(1_u64));
        drop(outer);
        assert_eq!(current_span_id(), SpanId::INVALID);
    }

    #[test]
    fn wrap_carries_the_context_to_another_thread() {
        let _outer = remote(3).attach();
        let seen = std::thread::spawn(Captured::current().wrap(current_span_id))
            .join()
            .unwrap();
        assert_eq!(seen, SpanId::from(3_u64));
        // Without the wrapper the new thread starts empty.
        let bare = std::thread::spawn(current_span_id).join().unwrap();
        assert_eq!(bare, SpanId::INVALID);
    }

    #[test]
    fn wrap_fn_applies_on_every_call() {
        let f = Captured::from_context(remote(4))
            .wrap_fn(|add: u64| u64::from_be_bytes(current_span_id().to_bytes()) + add);
        assert_eq!(f(1), 5);
        assert_eq!(f(2), 6);
        assert_eq!(current_span_id(), SpanId::INVALID);
    }
}
