//! The state of a span while it is open: its record in the making, kept in
//! the span's registry extensions, and the settings every span shares
//! (sampler, id generator, limits).

use std::time::SystemTime;

use opentelemetry::trace::{Link, SpanContext, Status, TraceContextExt as _, TraceFlags};
use opentelemetry::{Array, Context, InstrumentationScope, StringValue};
use opentelemetry_sdk::trace::{IdGenerator, SamplingDecision, SpanLimits};
use otlpkit_wire::{Attribute, AttributeValue, BusyIdle, InlineStr, RecordEvent, SpanRecord};

use super::sampling::{Candidate, ParentCx, SpanSampler};

/// What every span of one layer shares.
pub(crate) struct Settings {
    pub(crate) sampler: SpanSampler,
    pub(crate) id_generator: Box<dyn IdGenerator>,
    /// Whether the id generator is the application's own (code that may
    /// attach a context, like a custom sampler).
    pub(crate) custom_ids: bool,
    pub(crate) limits: SpanLimits,
    pub(crate) max_value_chars: Option<usize>,
    pub(crate) scope: &'static InstrumentationScope,
    pub(crate) location: bool,
    pub(crate) threads: bool,
    pub(crate) target: bool,
    pub(crate) level: bool,
    pub(crate) inactivity: bool,
    pub(crate) activation: bool,
    /// The source attributes go into the record's own fields: no value
    /// length limit to apply to them, and room for all of them under the
    /// attribute count limit.
    pub(crate) compact_source: bool,
}

/// How many source attributes a record can hold in its own fields.
pub(crate) const SOURCE_ATTRIBUTES: usize = 7;

/// The most attributes a record holds outside its attribute list: the
/// source attributes and `busy_ns`/`idle_ns`.
const OUTSIDE_THE_LIST: usize = SOURCE_ATTRIBUTES + 2;

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("sampler", &self.sampler)
            .field("limits", &self.limits)
            .field("max_value_chars", &self.max_value_chars)
            .field("scope", &self.scope)
            .field("location", &self.location)
            .field("threads", &self.threads)
            .field("target", &self.target)
            .field("level", &self.level)
            .field("inactivity", &self.inactivity)
            .field("activation", &self.activation)
            .finish_non_exhaustive()
    }
}

/// Keeps the first `max` characters of `text` (never splitting one).
fn cut(text: &str, max: usize) -> Option<usize> {
    text.char_indices().nth(max).map(|(at, _)| at)
}

impl Settings {
    /// Whether starting a span under `cx` may run code of the application's
    /// own (a custom sampler, a parent-based sampler's root sampler, a
    /// custom id generator's trace id for a new trace): the span must then
    /// start under a clone of the current context, not under the borrowed
    /// one, or that code's `Context::attach` (entering a `tracing` span,
    /// `enter_telemetry_suppressed_scope`) panics on the borrow.
    #[inline]
    pub(crate) fn may_call_the_application(&self, cx: &Context) -> bool {
        let has_active_span = cx.has_active_span();
        self.sampler.may_call_the_application(has_active_span)
            || (self.custom_ids && !cx.span().span_context().is_valid())
    }

    /// A string value shortened to the value length limit.
    #[inline]
    pub(crate) fn clip(&self, value: AttributeValue) -> AttributeValue {
        let Some(max) = self.max_value_chars else {
            return value;
        };
        match value {
            AttributeValue::Static(text) => match cut(text, max) {
                Some(at) => AttributeValue::Static(&text[..at]),
                None => value,
            },
            AttributeValue::Inline(text) => match cut(text.as_str(), max) {
                Some(at) => {
                    InlineStr::new(&text.as_str()[..at]).map_or(value, AttributeValue::Inline)
                }
                None => value,
            },
            AttributeValue::String(text) => match cut(text.as_str(), max) {
                Some(at) => AttributeValue::copied(&text.as_str()[..at]),
                None => AttributeValue::String(text),
            },
            AttributeValue::Array(mut array) => {
                if let Array::String(texts) = &mut *array {
                    for text in texts {
                        if let Some(at) = cut(text.as_str(), max) {
                            *text = StringValue::from(text.as_str()[..at].to_owned());
                        }
                    }
                }
                AttributeValue::Array(array)
            }
            other => other,
        }
    }

    /// Whether the span has room for one more attribute under the count
    /// limit.
    #[inline]
    fn has_room(&self, record: &SpanRecord) -> bool {
        let limit = self.limits.max_attributes_per_span as usize;
        record.attributes.len() + OUTSIDE_THE_LIST < limit || record.attribute_count() < limit
    }

    /// Whether an attribute goes onto the span's list as it is: no value
    /// length limit, and room under the count limit whatever the record
    /// holds outside the list (what [`push_attribute`](Self::push_attribute)
    /// then does).
    #[inline]
    pub(crate) fn takes_as_is(&self, record: &SpanRecord) -> bool {
        self.max_value_chars.is_none()
            && record.attributes.len() + OUTSIDE_THE_LIST
                < self.limits.max_attributes_per_span as usize
    }

    /// Appends an attribute to a span within the attribute count limit
    /// (counting what the limit drops), its value within the length limit.
    #[inline]
    pub(crate) fn push_attribute(&self, record: &mut SpanRecord, attribute: Attribute) {
        if self.has_room(record) {
            if self.max_value_chars.is_none() {
                record.attributes.push(attribute);
                return;
            }
            let Attribute { key, value } = attribute;
            record.attributes.push(Attribute {
                key,
                value: self.clip(value),
            });
        } else {
            record.dropped_attributes_count = record.dropped_attributes_count.saturating_add(1);
        }
    }

    /// `busy_ns` and `idle_ns`, the span's last attributes, within the
    /// attribute count limit.
    pub(crate) fn set_busy_idle(&self, record: &mut SpanRecord, timings: Timings) {
        let limit = self.limits.max_attributes_per_span as usize;
        if record.attribute_count() + 2 <= limit {
            record.busy_idle = Some(BusyIdle::new(timings.busy, timings.idle));
        } else {
            for (key, value) in [("busy_ns", timings.busy), ("idle_ns", timings.idle)] {
                self.push_attribute(
                    record,
                    Attribute::new(opentelemetry::Key::from_static_str(key), value),
                );
            }
        }
    }

    /// Appends an attribute to an event within the per-event limit.
    #[inline]
    pub(crate) fn push_event_attribute(&self, event: &mut RecordEvent, attribute: Attribute) {
        if event.attributes.len() < self.limits.max_attributes_per_event as usize {
            if self.max_value_chars.is_none() {
                event.attributes.push(attribute);
                return;
            }
            let Attribute { key, value } = attribute;
            event.attributes.push(Attribute {
                key,
                value: self.clip(value),
            });
        } else {
            event.dropped_attributes_count = event.dropped_attributes_count.saturating_add(1);
        }
    }

    /// Adds an event within the event limit (its attributes were limited as
    /// they were added).
    pub(crate) fn push_event(&self, record: &mut SpanRecord, event: RecordEvent) {
        if record.events.len() < self.limits.max_events_per_span as usize {
            record.events.push(event);
        } else {
            record.dropped_events_count = record.dropped_events_count.saturating_add(1);
        }
    }

    /// Adds a link within the link limit and the per-link attribute limit.
    pub(crate) fn push_link(
        &self,
        record: &mut SpanRecord,
        context: SpanContext,
        attributes: Vec<opentelemetry::KeyValue>,
    ) {
        if record.links.len() < self.limits.max_links_per_span as usize {
            let max = self.limits.max_attributes_per_link as usize;
            let dropped = attributes.len().saturating_sub(max);
            let attributes = attributes
                .into_iter()
                .take(max)
                .map(|kv| {
                    let clipped = self.clip(AttributeValue::from(kv.value));
                    opentelemetry::KeyValue::new(kv.key, clipped.into_value())
                })
                .collect();
            record
                .links
                .push(Link::new(context, attributes, dropped as u32));
        } else {
            record.dropped_links_count = record.dropped_links_count.saturating_add(1);
        }
    }

    /// Decides the span's trace, sampling and trace state under
    /// `parent_cx`, as the SDK's tracer does when it starts a span, and
    /// fills them into `record` (whose span id is already set).
    pub(crate) fn sample(&self, parent_cx: ParentCx<'_>, record: &mut SpanRecord) {
        let span;
        let parent = match parent_cx {
            ParentCx::Context(cx) => {
                span = cx.span();
                span.span_context()
            }
            ParentCx::Span(parent) => parent,
        };
        let parent_flags = if parent.is_valid() {
            record.trace_id = parent.trace_id();
            record.parent_span_id = parent.span_id();
            record.parent_is_remote = parent.is_remote();
            parent.trace_flags()
        } else {
            if record.trace_id == opentelemetry::trace::TraceId::INVALID {
                record.trace_id = self.id_generator.new_trace_id();
            }
            record.parent_span_id = opentelemetry::trace::SpanId::INVALID;
            record.parent_is_remote = false;
            TraceFlags::default()
        };
        let result = self.sampler.decide(
            parent_cx,
            parent,
            Candidate {
                trace_id: record.trace_id,
                name: &record.name,
                kind: &record.kind,
            },
            || {
                record
                    .all_attributes()
                    .map(Attribute::into_key_value)
                    .collect()
            },
        );
        record.trace_flags = match result.decision {
            SamplingDecision::RecordAndSample => parent_flags.with_sampled(true),
            SamplingDecision::RecordOnly => parent_flags.with_sampled(false),
            SamplingDecision::Drop => TraceFlags::default(),
        };
        record.trace_state = result.trace_state;
        for attribute in result.attributes {
            self.push_attribute(record, Attribute::from(attribute));
        }
    }
}

/// Busy and idle time of a span, as `tracing-opentelemetry` measures them
/// (`busy_ns`, `idle_ns`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timings {
    pub(crate) entered: u32,
    pub(crate) last: SystemTime,
    pub(crate) busy: i64,
    pub(crate) idle: i64,
}

fn nanos_between(from: SystemTime, to: SystemTime) -> i64 {
    to.duration_since(from).map_or(0, |elapsed| {
        i64::try_from(elapsed.as_nanos()).unwrap_or(i64::MAX)
    })
}

impl Timings {
    pub(crate) fn new(now: SystemTime) -> Self {
        Self {
            entered: 0,
            last: now,
            busy: 0,
            idle: 0,
        }
    }

    pub(crate) fn enter(&mut self, now: SystemTime) {
        if self.entered == 0 {
            self.idle = self.idle.saturating_add(nanos_between(self.last, now));
            self.last = now;
        }
        self.entered += 1;
    }

    pub(crate) fn exit(&mut self, now: SystemTime) {
        self.entered = self.entered.saturating_sub(1);
        if self.entered == 0 {
            self.busy = self.busy.saturating_add(nanos_between(self.last, now));
            self.last = now;
        }
    }
}

/// The parent a native span gives its child, owned (see
/// [`LiveSpan::child_parent`]).
pub(crate) enum ChildParent {
    Context(Context),
    Span(SpanContext),
}

impl ChildParent {
    pub(crate) fn as_parent(&self) -> ParentCx<'_> {
        match self {
            ChildParent::Context(cx) => ParentCx::Context(cx),
            ChildParent::Span(span) => ParentCx::Span(span),
        }
    }
}

/// An open span, in its registry extensions.
pub(crate) struct LiveSpan {
    /// Boxed: the record is about a kilobyte, and on its way from here to
    /// the queue it would otherwise be copied at every move.
    pub(crate) record: Box<SpanRecord>,
    /// The span's OpenTelemetry context (the parent's context with this
    /// span), attached while the span is entered; `None` without context
    /// activation.
    pub(crate) cx: Option<Context>,
    /// Set once something depends on the span's ids (it was entered, made a
    /// parent, linked to, or its context was read): from then on its parent
    /// can no longer change.
    pub(crate) started: bool,
    pub(crate) timings: Option<Timings>,
    /// The last exit, the span's end unless it is entered again.
    pub(crate) last_exit: Option<SystemTime>,
}

impl LiveSpan {
    /// The span's own context.
    pub(crate) fn span_context(&self) -> SpanContext {
        self.record.span_context()
    }

    /// The context children and OpenTelemetry-API code see inside the span.
    pub(crate) fn context(&self) -> Context {
        match &self.cx {
            Some(cx) => cx.clone(),
            None => Context::new().with_remote_span_context(self.span_context()),
        }
    }

    /// What a child of this span starts under: its attached context, or,
    /// without one, only its span context (what [`context`](Self::context)
    /// would wrap, without building that context).
    pub(crate) fn child_parent(&self) -> ChildParent {
        match &self.cx {
            Some(cx) => ChildParent::Context(cx.clone()),
            None => ChildParent::Span(self.span_context()),
        }
    }

    /// Rebuilds the attached context after the ids changed.
    pub(crate) fn rebuild_context(&mut self, base: &Context, activation: bool) {
        self.cx = activation.then(|| base.with_remote_span_context(self.span_context()));
    }

    /// The SDK's `set_status`: a status replaces a lower one (Ok > Error >
    /// Unset).
    pub(crate) fn set_status(&mut self, status: Status) {
        if status > self.record.status {
            self.record.status = status;
        }
    }
}
