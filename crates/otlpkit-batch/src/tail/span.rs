//! What the stage reads from a span, whatever its representation.

use std::time::{Duration, SystemTime};

use opentelemetry::trace::{SpanId, Status, TraceId};
use opentelemetry::{Key, Value};
use opentelemetry_sdk::trace::SpanData;

/// An ended span as the tail-sampling stage sees it.
///
/// The stage only reads these properties, so any span representation that
/// provides them can be tail-sampled: [`SpanData`] (the SDK path) implements
/// it here; a compact native record implements it the same way.
pub trait TailSpan: Send + 'static {
    /// The trace the span belongs to: the key spans are held and decided by.
    fn trace_id(&self) -> TraceId;

    /// The span's own id.
    fn span_id(&self) -> SpanId;

    /// The parent's id, [`SpanId::INVALID`] for a root span.
    fn parent_span_id(&self) -> SpanId;

    /// Whether the parent was created in another process (its context was
    /// extracted from a request).
    fn parent_is_remote(&self) -> bool;

    /// Whether this span is the trace's root in this process (no parent, or
    /// a remote one): the trace is decided when it ends.
    fn is_local_root(&self) -> bool {
        self.parent_span_id() == SpanId::INVALID || self.parent_is_remote()
    }

    /// The sampled flag of the remote parent, when the span has one and its
    /// representation carries the flag; `None` otherwise. [`SpanData`] does
    /// not carry it: [`TailSamplingProcessor`](super::TailSamplingProcessor)
    /// learns it when the span starts instead.
    fn remote_parent_sampled(&self) -> Option<bool> {
        None
    }

    /// Whether the span's status is `Error`.
    fn is_error(&self) -> bool;

    /// When the span started.
    fn start_time(&self) -> SystemTime;

    /// When the span ended.
    fn end_time(&self) -> SystemTime;

    /// How long the span lasted (zero if the clock went backwards).
    fn duration(&self) -> Duration {
        self.end_time()
            .duration_since(self.start_time())
            .unwrap_or_default()
    }

    /// The value of the span's attribute `key`, if it has one.
    fn attribute(&self, key: &str) -> Option<AttributeRef<'_>>;
}

/// A borrowed attribute value, as the attribute policy matches it.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum AttributeRef<'a> {
    /// A string.
    Str(&'a str),
    /// A Boolean.
    Bool(bool),
    /// A signed integer.
    I64(i64),
    /// A floating-point number.
    F64(f64),
    /// Anything else (arrays, maps, bytes): only [`AttributeRule::exists`]
    /// matches it.
    ///
    /// [`AttributeRule::exists`]: super::AttributeRule::exists
    Other,
}

impl<'a> From<&'a Value> for AttributeRef<'a> {
    fn from(value: &'a Value) -> Self {
        match value {
            Value::String(text) => AttributeRef::Str(text.as_str()),
            Value::Bool(b) => AttributeRef::Bool(*b),
            Value::I64(n) => AttributeRef::I64(*n),
            Value::F64(x) => AttributeRef::F64(*x),
            _ => AttributeRef::Other,
        }
    }
}

impl TailSpan for SpanData {
    fn trace_id(&self) -> TraceId {
        self.span_context.trace_id()
    }

    fn span_id(&self) -> SpanId {
        self.span_context.span_id()
    }

    fn parent_span_id(&self) -> SpanId {
        self.parent_span_id
    }

    fn parent_is_remote(&self) -> bool {
        self.parent_span_is_remote
    }

    fn is_error(&self) -> bool {
        matches!(self.status, Status::Error { .. })
    }

    fn start_time(&self) -> SystemTime {
        self.start_time
    }

    fn end_time(&self) -> SystemTime {
        self.end_time
    }

    fn attribute(&self, key: &str) -> Option<AttributeRef<'_>> {
        self.attributes
            .iter()
            .find(|kv| Key::as_str(&kv.key) == key)
            .map(|kv| AttributeRef::from(&kv.value))
    }
}
