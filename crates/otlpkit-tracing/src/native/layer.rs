//! [`NativeLayer`]: the `tracing_subscriber::Layer` that records spans into
//! [`SpanRecord`]s and hands the finished ones to the batch engine.

use std::cell::RefCell;
use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use opentelemetry::trace::{SpanId, TraceContextExt as _};
use opentelemetry::{Context as OtelContext, ContextGuard, Key};
use otlpkit_batch::BatchProcessor;
#[cfg(feature = "tail-sampling")]
use otlpkit_batch::tail::TailSampler;
use otlpkit_wire::{Attribute, AttributeValue, RecordEvent, SpanRecord, SpanRecordPool};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::{LookupSpan, SpanRef};

use super::fields::{Changed, EventVisitor, SpanUpdates, SpanVisitor, thread_name_value};
use super::live::{ChildParent, LiveSpan, Settings, Timings};
use super::sampling::ParentCx;
#[cfg(feature = "tail-sampling")]
use super::tail::TailRecord;

/// The thread's id and name as `tracing-opentelemetry` records them, read
/// once per thread.
struct ThreadInfo {
    id: i64,
    name: Option<AttributeValue>,
}

/// `ThreadId` as an integer: its `Debug` form is `ThreadId(N)` (the stable
/// way to get `N`, as `tracing-opentelemetry` does).
fn thread_id_integer(id: std::thread::ThreadId) -> i64 {
    let text = format!("{id:?}");
    text.trim_start_matches("ThreadId(")
        .trim_end_matches(')')
        .parse::<i64>()
        .unwrap_or(0)
}

thread_local! {
    static THREAD: ThreadInfo = {
        let current = std::thread::current();
        ThreadInfo {
            id: thread_id_integer(current.id()),
            name: current.name().map(thread_name_value),
        }
    };
    /// The contexts attached for the spans entered on this thread, with
    /// the [`NativeLayer::key`] of the layer that attached each: two
    /// subscribers hand out equal span ids.
    static GUARDS: RefCell<Vec<(usize, Id, ContextGuard)>> = const { RefCell::new(Vec::new()) };
}

/// A `tracing` layer that turns spans into [`SpanRecord`]s without
/// `tracing-opentelemetry` or the SDK's span machinery, and pushes each
/// finished, sampled span into a [`BatchProcessor`].
///
/// Built by [`NativeSpans::layer`](super::NativeSpans::layer), or installed
/// by [`TracingSetup::with_native_spans`](crate::TracingSetup::with_native_spans).
/// It needs a subscriber built on `tracing_subscriber::Registry` (as
/// `tracing_subscriber::registry()` is) for [`SpanExt`](crate::SpanExt) to
/// reach its spans.
pub struct NativeLayer {
    /// Off when `OTEL_SDK_DISABLED` says so: nothing is recorded.
    pub(crate) enabled: bool,
    pub(crate) settings: Settings,
    pub(crate) processor: Arc<BatchProcessor<Box<SpanRecord>>>,
    /// The tail-sampling stage the records go through, when there is one.
    #[cfg(feature = "tail-sampling")]
    pub(crate) tail: Option<TailSampler<TailRecord>>,
    /// Where records come from, and where those of spans sampled out go.
    pub(crate) pool: Arc<SpanRecordPool>,
    /// Tells this layer's entries in `GUARDS` from another layer's.
    pub(crate) key: usize,
}

impl NativeLayer {
    /// A key no other layer of this process has.
    pub(crate) fn unique_key() -> usize {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }
}

impl fmt::Debug for NativeLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        #[cfg(feature = "tail-sampling")]
        let tail_sampling = self.tail.is_some();
        #[cfg(not(feature = "tail-sampling"))]
        let tail_sampling = false;
        f.debug_struct("NativeLayer")
            .field("enabled", &self.enabled)
            .field("settings", &self.settings)
            .field("processor", &self.processor)
            .field("tail_sampling", &tail_sampling)
            .finish()
    }
}

/// Where a new span takes its parent from.
enum Parent {
    /// The current OpenTelemetry context (with context activation, the
    /// innermost entered span, `tracing` or OpenTelemetry API).
    Current,
    /// A given native span: an explicit parent, or the current `tracing`
    /// span without context activation.
    Given(ChildParent),
    /// None: a new trace.
    Root,
}

impl NativeLayer {
    /// The extra attributes `tracing-opentelemetry` puts first on a span:
    /// filled in as references into the record's source attributes, or,
    /// under a value length limit or an attribute count limit that could
    /// cut them, pushed one by one through the limits.
    #[inline]
    fn source_attributes(
        &self,
        record: &mut SpanRecord,
        meta: &'static tracing::Metadata<'static>,
    ) {
        let settings = &self.settings;
        if !settings.compact_source {
            self.pushed_source_attributes(record, meta);
            return;
        }
        let source = &mut record.source;
        if settings.location {
            source.file = meta.file();
            source.module = meta.module_path();
            source.line = meta.line();
        }
        if settings.threads {
            THREAD.with(|thread| {
                source.thread_id = Some(thread.id);
                source.thread_name.clone_from(&thread.name);
            });
        }
        if settings.level {
            source.level = Some(meta.level().as_str());
        }
        if settings.target {
            source.target = Some(meta.target());
        }
    }

    /// [`source_attributes`](Self::source_attributes) through the limits.
    fn pushed_source_attributes(
        &self,
        record: &mut SpanRecord,
        meta: &'static tracing::Metadata<'static>,
    ) {
        let settings = &self.settings;
        if settings.location {
            if let Some(file) = meta.file() {
                settings.push_attribute(
                    record,
                    Attribute::new(Key::from_static_str("code.file.path"), file),
                );
            }
            if let Some(module) = meta.module_path() {
                settings.push_attribute(
                    record,
                    Attribute::new(Key::from_static_str("code.module.name"), module),
                );
            }
            if let Some(line) = meta.line() {
                settings.push_attribute(
                    record,
                    Attribute::new(
                        Key::from_static_str("code.line.number"),
                        AttributeValue::I64(i64::from(line)),
                    ),
                );
            }
        }
        if settings.threads {
            THREAD.with(|thread| {
                settings.push_attribute(
                    record,
                    Attribute::new(
                        Key::from_static_str("thread.id"),
                        AttributeValue::I64(thread.id),
                    ),
                );
                if let Some(name) = &thread.name {
                    settings.push_attribute(
                        record,
                        Attribute::new(Key::from_static_str("thread.name"), name.clone()),
                    );
                }
            });
        }
        if settings.level {
            settings.push_attribute(
                record,
                Attribute::new(Key::from_static_str("level"), meta.level().as_str()),
            );
        }
        if settings.target {
            settings.push_attribute(
                record,
                Attribute::new(Key::from_static_str("target"), meta.target()),
            );
        }
    }

    fn parent<S>(
        &self,
        attrs: &Attributes<'_>,
        span: &SpanRef<'_, S>,
        ctx: &Context<'_, S>,
    ) -> Parent
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        if let Some(parent) = attrs.parent() {
            // An explicit parent this layer does not see (filtered out)
            // leaves a root span, as tracing-opentelemetry does.
            return ctx
                .span(parent)
                .and_then(|span| self.parent_context(&span))
                .map_or(Parent::Root, Parent::Given);
        }
        if !attrs.is_contextual() {
            return Parent::Root;
        }
        if self.settings.activation {
            return Parent::Current;
        }
        // The registry recorded the current span as this span's parent: one
        // lookup of it, where `ctx.lookup_current()` would look the current
        // span up twice more.
        span.parent()
            .and_then(|parent| self.parent_context(&parent))
            .map_or(Parent::Current, Parent::Given)
    }

    /// What a child of `span` starts under; the span's ids are fixed from
    /// then on.
    fn parent_context<S>(&self, span: &SpanRef<'_, S>) -> Option<ChildParent>
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        let mut extensions = span.extensions_mut();
        let live = extensions.get_mut::<LiveSpan>()?;
        live.started = true;
        Some(live.child_parent())
    }

    /// Fills in the ids, the sampling decision and the context of a new
    /// span under `parent_cx`; `None` when telemetry is suppressed there.
    #[inline]
    fn start(
        &self,
        parent_cx: ParentCx<'_>,
        mut record: Box<SpanRecord>,
        now: SystemTime,
    ) -> Option<LiveSpan> {
        if parent_cx.is_telemetry_suppressed() {
            return None;
        }
        let settings = &self.settings;
        self.sample_under(parent_cx, &mut record);
        let cx = settings.activation.then(|| match parent_cx {
            ParentCx::Context(cx) => cx.with_remote_span_context(record.span_context()),
            // The parent's context holds nothing but its span context,
            // which this span's replaces.
            ParentCx::Span(_) => OtelContext::new().with_remote_span_context(record.span_context()),
        });
        Some(LiveSpan {
            record,
            cx,
            started: false,
            timings: settings.inactivity.then(|| Timings::new(now)),
            last_exit: None,
        })
    }

    /// Decides the sampling of `record` under `parent_cx`, and tells the
    /// tail-sampling stage, if any, whether the trace's parent was sampled
    /// upstream (the record does not carry the parent's sampled flag): at
    /// span start, and again when `SpanExt::set_parent` gives the span
    /// another parent.
    pub(crate) fn sample(&self, parent_cx: &OtelContext, record: &mut SpanRecord) {
        self.sample_under(ParentCx::Context(parent_cx), record);
    }

    /// [`sample`](Self::sample) under a context or a native parent's span
    /// context.
    #[inline]
    fn sample_under(&self, parent_cx: ParentCx<'_>, record: &mut SpanRecord) {
        self.settings.sample(parent_cx, record);
        #[cfg(feature = "tail-sampling")]
        if let Some(tail) = &self.tail {
            parent_cx.with_span_context(|parent| {
                tail.on_start(parent, record.trace_id, record.trace_flags.is_sampled());
            });
        }
    }

    /// Applies `f` to the span's live state, if this layer records it.
    #[inline]
    fn with_live<S, R>(
        id: &Id,
        ctx: &Context<'_, S>,
        f: impl FnOnce(&mut LiveSpan) -> R,
    ) -> Option<R>
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        let span = ctx.span(id)?;
        let mut extensions = span.extensions_mut();
        extensions.get_mut::<LiveSpan>().map(f)
    }
}

impl<S> Layer<S> for NativeLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if !self.enabled {
            return;
        }
        let Some(span) = ctx.span(id) else {
            return;
        };
        let meta = attrs.metadata();
        let now = opentelemetry::time::now();
        let mut record = self.pool.record(
            opentelemetry::trace::TraceId::INVALID,
            SpanId::INVALID,
            meta.name(),
            self.settings.scope,
            now,
        );
        // Before the current context is borrowed below: a custom id
        // generator is code of the application's own.
        record.span_id = self.settings.id_generator.new_span_id();
        self.source_attributes(&mut record, meta);
        attrs.record(&mut SpanVisitor {
            record: &mut record,
            settings: &self.settings,
            started: false,
            changed: Changed::default(),
        });
        let live = match self.parent(attrs, &span, &ctx) {
            Parent::Current => {
                let started = OtelContext::map_current(|cx| {
                    if self.settings.may_call_the_application(cx) {
                        Err((cx.clone(), record))
                    } else {
                        Ok(self.start(ParentCx::Context(cx), record, now))
                    }
                });
                match started {
                    Ok(live) => live,
                    Err((cx, record)) => self.start(ParentCx::Context(&cx), record, now),
                }
            }
            Parent::Given(parent) => self.start(parent.as_parent(), record, now),
            Parent::Root => self.start(ParentCx::Context(&OtelContext::new()), record, now),
        };
        if let Some(live) = live {
            span.extensions_mut().insert(live);
        }
    }

    /// The values are visited into a record apart, and copied onto the
    /// span's own afterwards: visiting runs the application's `Debug`,
    /// `Display` and `Error::source`, which may log an event in this span
    /// or reach it through `SpanExt`, and the span's extensions must not be
    /// locked then (the thread would wait on its own lock for ever).
    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(started) = Self::with_live(id, &ctx, |live| live.started) else {
            return;
        };
        let mut visited = self.pool.record(
            opentelemetry::trace::TraceId::INVALID,
            SpanId::INVALID,
            "",
            self.settings.scope,
            std::time::UNIX_EPOCH,
        );
        let mut visitor = SpanVisitor {
            record: &mut visited,
            settings: &self.settings,
            started,
            changed: Changed::default(),
        };
        values.record(&mut visitor);
        let changed = visitor.changed;
        Self::with_live(id, &ctx, |live| {
            changed.apply(&mut visited, live, &self.settings);
        });
        self.pool.give_back(visited);
    }

    fn on_follows_from(&self, id: &Id, follows: &Id, ctx: Context<'_, S>) {
        let Some(follows) = ctx.span(follows) else {
            return;
        };
        let context = {
            let mut extensions = follows.extensions_mut();
            let Some(live) = extensions.get_mut::<LiveSpan>() else {
                return;
            };
            live.started = true;
            live.span_context()
        };
        Self::with_live(id, &ctx, |live| {
            self.settings
                .push_link(&mut live.record, context, Vec::new());
        });
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let span = match event.parent() {
            Some(parent) => ctx.span(parent),
            None if event.is_contextual() => ctx.lookup_current(),
            None => None,
        };
        let Some(span) = span else {
            return;
        };
        let meta = event.metadata();
        let settings = &self.settings;
        let mut span_event = RecordEvent::new("", opentelemetry::time::now());
        settings.push_event_attribute(
            &mut span_event,
            Attribute::new(Key::from_static_str("level"), meta.level().as_str()),
        );
        settings.push_event_attribute(
            &mut span_event,
            Attribute::new(Key::from_static_str("target"), meta.target()),
        );
        let mut updates = SpanUpdates::default();
        event.record(&mut EventVisitor {
            event: &mut span_event,
            updates: &mut updates,
            settings,
        });
        if span_event.name.is_empty() {
            span_event.name = std::borrow::Cow::Borrowed(meta.name());
        }
        if settings.location {
            if let Some(file) = meta.file() {
                settings.push_event_attribute(
                    &mut span_event,
                    Attribute::new(Key::from_static_str("code.file.path"), file),
                );
            }
            if let Some(module) = meta.module_path() {
                settings.push_event_attribute(
                    &mut span_event,
                    Attribute::new(Key::from_static_str("code.module.name"), module),
                );
            }
            if let Some(line) = meta.line() {
                settings.push_event_attribute(
                    &mut span_event,
                    Attribute::new(
                        Key::from_static_str("code.line.number"),
                        AttributeValue::I64(i64::from(line)),
                    ),
                );
            }
        }
        let mut extensions = span.extensions_mut();
        let Some(live) = extensions.get_mut::<LiveSpan>() else {
            return;
        };
        if *meta.level() == Level::ERROR {
            if live.started {
                live.set_status(opentelemetry::trace::Status::error(""));
            } else if live.record.status == opentelemetry::trace::Status::Unset {
                live.record.status = opentelemetry::trace::Status::error("");
            }
        }
        if let Some(status) = updates.status {
            if live.started {
                live.set_status(status);
            } else {
                live.record.status = status;
            }
        }
        for attribute in updates.attributes {
            settings.push_attribute(&mut live.record, attribute);
        }
        settings.push_event(&mut live.record, span_event);
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        let settings = &self.settings;
        if !settings.activation && !settings.inactivity {
            return;
        }
        let cx = Self::with_live(id, &ctx, |live| {
            live.started = true;
            if let Some(timings) = &mut live.timings {
                timings.enter(opentelemetry::time::now());
            }
            live.cx.clone()
        });
        if let Some(Some(cx)) = cx {
            let guard = cx.attach();
            GUARDS.with(|guards| guards.borrow_mut().push((self.key, id.clone(), guard)));
        }
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        let now = opentelemetry::time::now();
        let attached = Self::with_live(id, &ctx, |live| {
            live.last_exit = Some(now);
            if let Some(timings) = &mut live.timings {
                timings.exit(now);
            }
            live.cx.is_some()
        });
        if attached == Some(true) {
            let guard = GUARDS.with(|guards| {
                let mut guards = guards.borrow_mut();
                let at = guards
                    .iter()
                    .rposition(|(layer, entered, _)| *layer == self.key && entered == id)?;
                Some(guards.remove(at).2)
            });
            // Detach after the borrow of the stack ends.
            drop(guard);
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else {
            return;
        };
        let Some(live) = span.extensions_mut().remove::<LiveSpan>() else {
            return;
        };
        let LiveSpan {
            mut record,
            timings,
            last_exit,
            cx,
            ..
        } = live;
        if !record.trace_flags.is_sampled() {
            self.pool.give_back(record);
            return;
        }
        record.end_time = last_exit.unwrap_or_else(opentelemetry::time::now);
        if let Some(timings) = timings {
            self.settings.set_busy_idle(&mut record, timings);
        }
        drop(cx);
        #[cfg(feature = "tail-sampling")]
        if let Some(tail) = &self.tail {
            tail.on_end(TailRecord(record));
            return;
        }
        self.processor.push(record);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use opentelemetry::Value;
    use opentelemetry::trace::{
        SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState,
    };
    use opentelemetry_sdk::trace::{InMemorySpanExporter, SpanData, SpanLimits};
    use otlpkit_batch::BatchProcessor;
    use otlpkit_core::MapEnv;
    use tracing_subscriber::layer::SubscriberExt as _;

    use crate::SpanExt as _;
    use crate::native::{NativeSpans, SpanDataExporter};

    fn record(configure: impl FnOnce(NativeSpans) -> NativeSpans) -> SpanData {
        let mut spans = recorded(configure, || {
            tracing::info_span!("limited", number = 1_i64, text = "some text").in_scope(|| {});
        });
        assert_eq!(spans.len(), 1);
        spans.remove(0)
    }

    /// The spans `workload` makes under a native layer `configure` sets up.
    fn recorded(
        configure: impl FnOnce(NativeSpans) -> NativeSpans,
        workload: impl FnOnce(),
    ) -> Vec<SpanData> {
        let exporter = InMemorySpanExporter::default();
        let processor = BatchProcessor::builder(SpanDataExporter::new(exporter.clone()))
            .build_with_env(&MapEnv::new())
            .unwrap();
        let handle = processor.handle();
        let layer = configure(NativeSpans::new(processor)).layer();
        let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(layer));
        tracing::dispatcher::with_default(&dispatch, workload);
        assert!(
            handle
                .flush_within(Duration::from_secs(10))
                .unwrap()
                .is_complete()
        );
        exporter.get_finished_spans().unwrap()
    }

    /// With and without context activation (where a child is sampled under
    /// its native parent's span context alone, no context built for it),
    /// children of contextual and explicit parents have their parent's
    /// trace and span ids, and follow its sampling decision: a trace whose
    /// root has an unsampled remote parent is dropped whole.
    #[test]
    fn children_follow_their_native_parents_with_and_without_context_activation() {
        const TREES: u64 = 8;
        for activation in [true, false] {
            let spans = recorded(
                |native| native.with_context_activation(activation),
                || {
                    for tree in 0..TREES * 2 {
                        let sampled = tree % 2 == 0;
                        let root = tracing::info_span!("root", sampled);
                        if !sampled {
                            let remote = SpanContext::new(
                                TraceId::from(u128::from(tree) + 1),
                                SpanId::from(7),
                                TraceFlags::default(),
                                true,
                                TraceState::default(),
                            );
                            root.set_parent(
                                opentelemetry::Context::new().with_remote_span_context(remote),
                            )
                            .unwrap();
                        }
                        root.in_scope(|| {
                            tracing::info_span!("child").in_scope(|| {
                                tracing::info_span!("grandchild").in_scope(|| {});
                            });
                        });
                        tracing::info_span!(parent: &root, "explicit").in_scope(|| {});
                    }
                },
            );
            assert_eq!(spans.len() as u64, TREES * 4, "activation {activation}");
            let parent_of = |name: &str| match name {
                "child" | "explicit" => Some("root"),
                "grandchild" => Some("child"),
                _ => None,
            };
            for span in &spans {
                let Some(parent_name) = parent_of(&span.name) else {
                    assert_eq!(span.parent_span_id, SpanId::INVALID);
                    continue;
                };
                let parent = spans
                    .iter()
                    .find(|parent| parent.span_context.span_id() == span.parent_span_id)
                    .unwrap_or_else(|| panic!("activation {activation}: no parent for {span:?}"));
                assert_eq!(parent.name, parent_name, "activation {activation}");
                assert_eq!(
                    parent.span_context.trace_id(),
                    span.span_context.trace_id(),
                    "activation {activation}"
                );
                assert!(!span.parent_span_is_remote, "activation {activation}");
            }
        }
    }

    /// A sampler or id generator of the application's own may attach a
    /// context (here through a suppressed scope; entering a `tracing` span
    /// under a global subscriber does the same): the span starts under a
    /// clone of the current context, not under the borrowed one, where the
    /// attach panicked ("already borrowed").
    #[test]
    fn application_code_that_attaches_a_context_at_span_start_does_not_panic() {
        use opentelemetry_sdk::trace::{
            IdGenerator, RandomIdGenerator, Sampler, SamplingResult, ShouldSample,
        };

        #[derive(Debug, Clone)]
        struct Attaching;
        impl ShouldSample for Attaching {
            fn should_sample(
                &self,
                _: Option<&opentelemetry::Context>,
                _: TraceId,
                _: &str,
                _: &opentelemetry::trace::SpanKind,
                _: &[opentelemetry::KeyValue],
                _: &[opentelemetry::trace::Link],
            ) -> SamplingResult {
                let _suppressed = opentelemetry::Context::enter_telemetry_suppressed_scope();
                SamplingResult {
                    decision: opentelemetry_sdk::trace::SamplingDecision::RecordAndSample,
                    attributes: Vec::new(),
                    trace_state: TraceState::default(),
                }
            }
        }
        #[derive(Debug)]
        struct AttachingIds;
        impl IdGenerator for AttachingIds {
            fn new_trace_id(&self) -> TraceId {
                let _suppressed = opentelemetry::Context::enter_telemetry_suppressed_scope();
                RandomIdGenerator::default().new_trace_id()
            }
            fn new_span_id(&self) -> SpanId {
                let _suppressed = opentelemetry::Context::enter_telemetry_suppressed_scope();
                RandomIdGenerator::default().new_span_id()
            }
        }
        let workload = || {
            tracing::info_span!("root").in_scope(|| {
                tracing::info_span!("child").in_scope(|| {});
            });
        };
        type Configure = fn(NativeSpans) -> NativeSpans;
        let setups: [(&str, Configure); 3] = [
            ("custom sampler", |native| {
                native.with_custom_sampler(Attaching)
            }),
            ("parent-based, custom root", |native| {
                native.with_sampler(Sampler::ParentBased(Box::new(Attaching)))
            }),
            ("custom ids", |native| {
                native.with_id_generator(AttachingIds)
            }),
        ];
        for (setup, configure) in setups {
            let spans = recorded(configure, workload);
            assert_eq!(spans.len(), 2, "{setup}");
            let root = spans.iter().find(|s| s.name == "root").unwrap();
            let child = spans.iter().find(|s| s.name == "child").unwrap();
            assert_eq!(child.parent_span_id, root.span_context.span_id(), "{setup}");
        }
    }

    /// A recorded value whose `Debug` logs an event in the span itself: the
    /// value is visited before the span's extensions are locked (with the
    /// lock held, the event waited on it for ever), and both the value and
    /// the event arrive. Fields recorded later keep the limits and the
    /// special fields' meaning.
    #[test]
    fn a_recorded_value_whose_debug_logs_in_the_span_does_not_hang() {
        struct Logs;
        impl std::fmt::Debug for Logs {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                tracing::info!("formatting a value");
                f.write_str("logged")
            }
        }
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let spans = recorded(
                |native| {
                    native.with_span_limits(SpanLimits {
                        max_attributes_per_span: 6,
                        ..SpanLimits::default()
                    })
                },
                || {
                    let span = tracing::info_span!(
                        "recorded",
                        value = tracing::field::Empty,
                        extra = tracing::field::Empty,
                        otel.name = tracing::field::Empty,
                        otel.status_code = tracing::field::Empty,
                    );
                    span.in_scope(|| {
                        span.record("value", tracing::field::debug(Logs));
                        span.record("otel.name", "renamed");
                        span.record("otel.status_code", "error");
                        span.record("otel.status_code", "unset");
                        span.record("extra", 1_i64);
                    });
                },
            );
            let _ = done.send(spans);
        });
        // A bound for a hang only, never reached by a working build.
        let mut spans = finished
            .recv_timeout(Duration::from_secs(60))
            .expect("recording the value hung");
        assert_eq!(spans.len(), 1);
        let span = spans.remove(0);
        assert_eq!(span.name, "renamed");
        // Once started, a status only rises (Ok > Error > Unset).
        assert_eq!(span.status, opentelemetry::trace::Status::error(""));
        let value = |key: &str| {
            span.attributes
                .iter()
                .find(|kv| kv.key.as_str() == key)
                .map(|kv| kv.value.clone())
        };
        assert_eq!(value("value"), Some(Value::from("logged")));
        // Five source attributes (an unnamed thread has no `thread.name`)
        // and `value` fill the six: `extra`, recorded later, and
        // `busy_ns`/`idle_ns` are dropped and counted.
        assert_eq!(value("extra"), None, "{:?}", span.attributes);
        assert_eq!(span.attributes.len(), 6, "{:?}", span.attributes);
        assert_eq!(span.dropped_attributes_count, 3);
        assert_eq!(span.events.len(), 1);
        assert_eq!(span.events.events[0].name, "formatting a value");
    }

    /// `SpanExt::set_parent` with a custom sampler that reaches the same
    /// span (here by setting an attribute on it): the sampler runs with the
    /// span's extensions unlocked (with them locked, it waited for ever),
    /// and both its decision and its attribute land on the span.
    #[test]
    fn set_parent_samples_with_the_span_unlocked() {
        use std::sync::{Arc, Mutex};

        use opentelemetry_sdk::trace::{SamplingResult, ShouldSample};

        #[derive(Debug, Clone, Default)]
        struct Reaching(Arc<Mutex<Option<tracing::Span>>>);
        impl ShouldSample for Reaching {
            fn should_sample(
                &self,
                parent: Option<&opentelemetry::Context>,
                _: TraceId,
                _: &str,
                _: &opentelemetry::trace::SpanKind,
                _: &[opentelemetry::KeyValue],
                _: &[opentelemetry::trace::Link],
            ) -> SamplingResult {
                if let Some(span) = self.0.lock().unwrap().take() {
                    span.set_attribute("from_sampler", 1_i64);
                }
                SamplingResult {
                    decision: opentelemetry_sdk::trace::SamplingDecision::RecordAndSample,
                    attributes: vec![opentelemetry::KeyValue::new("sampler", "reaching")],
                    trace_state: parent
                        .map(|cx| cx.span().span_context().trace_state().clone())
                        .unwrap_or_default(),
                }
            }
        }
        let slot = Reaching::default();
        let sampler = slot.clone();
        let remote = SpanContext::new(
            TraceId::from(0xabc_u128),
            SpanId::from(7),
            TraceFlags::SAMPLED,
            true,
            TraceState::default(),
        );
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let spans = recorded(
                |native| native.with_custom_sampler(sampler),
                || {
                    let span = tracing::info_span!("reparented");
                    *slot.0.lock().unwrap() = Some(span.clone());
                    span.set_parent(opentelemetry::Context::new().with_remote_span_context(remote))
                        .unwrap();
                    span.in_scope(|| {});
                },
            );
            let _ = done.send(spans);
        });
        // A bound for a hang only, never reached by a working build.
        let spans = finished
            .recv_timeout(Duration::from_secs(60))
            .expect("set_parent hung");
        assert_eq!(spans.len(), 1);
        let span = &spans[0];
        assert_eq!(span.span_context.trace_id(), TraceId::from(0xabc_u128));
        assert_eq!(span.parent_span_id, SpanId::from(7));
        assert!(span.parent_span_is_remote);
        let keys: Vec<&str> = span.attributes.iter().map(|kv| kv.key.as_str()).collect();
        assert!(keys.contains(&"from_sampler"), "{keys:?}");
        // The sampler's own attribute, from the start and from set_parent.
        assert_eq!(
            keys.iter().filter(|key| **key == "sampler").count(),
            2,
            "{keys:?}"
        );
    }

    /// A span whose parent this layer's filter leaves out is the child of
    /// the nearest ancestor it records, with and without context activation.
    #[test]
    fn a_filtered_out_parent_is_skipped_for_the_nearest_recorded_ancestor() {
        use tracing_subscriber::Layer as _;
        for activation in [true, false] {
            let exporter = InMemorySpanExporter::default();
            let processor = BatchProcessor::builder(SpanDataExporter::new(exporter.clone()))
                .build_with_env(&MapEnv::new())
                .unwrap();
            let handle = processor.handle();
            let layer = NativeSpans::new(processor)
                .with_context_activation(activation)
                .layer()
                .with_filter(tracing_subscriber::filter::filter_fn(|meta| {
                    meta.target() != "noisy"
                }));
            let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(layer));
            tracing::dispatcher::with_default(&dispatch, || {
                tracing::info_span!("root").in_scope(|| {
                    tracing::info_span!(target: "noisy", "left out").in_scope(|| {
                        tracing::info_span!("child").in_scope(|| {});
                    });
                });
            });
            assert!(
                handle
                    .flush_within(Duration::from_secs(10))
                    .unwrap()
                    .is_complete()
            );
            let spans = exporter.get_finished_spans().unwrap();
            assert_eq!(spans.len(), 2, "activation {activation}");
            let root = spans.iter().find(|s| s.name == "root").unwrap();
            let child = spans.iter().find(|s| s.name == "child").unwrap();
            assert_eq!(
                child.parent_span_id,
                root.span_context.span_id(),
                "activation {activation}"
            );
            assert_eq!(child.span_context.trace_id(), root.span_context.trace_id());
        }
    }

    /// The source attributes first and `busy_ns`/`idle_ns` last, whether the
    /// record holds them in its own fields (no value length limit, room for
    /// them all) or pushes them through the limits.
    #[test]
    fn source_and_timing_attributes_keep_their_place_under_every_limit() {
        let all = [
            "code.file.path",
            "code.module.name",
            "code.line.number",
            "thread.id",
            "thread.name",
            "target",
            "number",
            "text",
            "busy_ns",
            "idle_ns",
        ];
        for max_chars in [None, Some(4_u32)] {
            for limit in 0..=all.len() + 1 {
                let span = record(|native| {
                    native
                        .with_span_limits(SpanLimits {
                            max_attributes_per_span: limit as u32,
                            ..SpanLimits::default()
                        })
                        .with_attribute_value_length_limit(max_chars)
                });
                let keys: Vec<&str> = span.attributes.iter().map(|kv| kv.key.as_str()).collect();
                let kept = limit.min(all.len());
                assert_eq!(keys, all[..kept], "limit {limit}, {max_chars:?}");
                assert_eq!(
                    span.dropped_attributes_count as usize,
                    all.len() - kept,
                    "limit {limit}, {max_chars:?}"
                );
                for kv in &span.attributes {
                    if let (Value::String(text), Some(max)) = (&kv.value, max_chars) {
                        assert!(text.as_str().chars().count() <= max as usize, "{kv:?}");
                    }
                }
                if kept == all.len() && max_chars.is_none() {
                    let file = span.attributes[0].value.to_string();
                    assert_eq!(file, file!());
                    assert_eq!(span.attributes[7].value, Value::from("some text"));
                }
            }
        }
    }
    /// Two native layers under two dispatchers hand out equal span ids; a
    /// span of one exited out of order must detach its own context, not the
    /// other layer's span's that happens to have the same id.
    #[test]
    fn equal_span_ids_of_two_layers_detach_their_own_contexts() {
        let dispatch = || {
            let exporter = InMemorySpanExporter::default();
            let processor = BatchProcessor::builder(SpanDataExporter::new(exporter))
                .build_with_env(&MapEnv::new())
                .unwrap();
            tracing::Dispatch::new(
                tracing_subscriber::registry().with(NativeSpans::new(processor).layer()),
            )
        };
        let (first, second) = (dispatch(), dispatch());
        let a = tracing::dispatcher::with_default(&first, || tracing::info_span!("a"));
        let b = tracing::dispatcher::with_default(&second, || tracing::info_span!("b"));
        assert_eq!(a.id(), b.id(), "the two registries start their ids alike");
        let current_span_id =
            || opentelemetry::Context::map_current(|cx| cx.span().span_context().span_id());
        let a_id = a.context().span().span_context().span_id();
        let b_id = b.context().span().span_context().span_id();
        assert_ne!(a_id, b_id);

        let entered_a = a.clone().entered();
        let entered_b = b.clone().entered();
        assert_eq!(current_span_id(), b_id);
        drop(entered_a);
        assert_eq!(current_span_id(), b_id, "b is still entered");
        drop(entered_b);
        assert_eq!(current_span_id(), SpanId::INVALID);
    }
}
