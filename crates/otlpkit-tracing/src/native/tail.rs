//! Tail sampling on the native path: what the stage reads from a record.

use std::time::SystemTime;

use opentelemetry::trace::{SpanId, Status, TraceId};
use otlpkit_batch::tail::{AttributeRef, TailSpan};
use otlpkit_wire::{AttributeValue, SpanRecord};

/// A finished native record on its way through the tail-sampling stage.
///
/// A newtype because both the trait (otlpkit-batch) and the record
/// (otlpkit-wire) are foreign here; it moves the same pointer the queue
/// takes.
pub(crate) struct TailRecord(pub(crate) Box<SpanRecord>);

impl TailSpan for TailRecord {
    fn trace_id(&self) -> TraceId {
        self.0.trace_id
    }

    fn span_id(&self) -> SpanId {
        self.0.span_id
    }

    fn parent_span_id(&self) -> SpanId {
        self.0.parent_span_id
    }

    fn parent_is_remote(&self) -> bool {
        self.0.parent_is_remote
    }

    fn is_error(&self) -> bool {
        matches!(self.0.status, Status::Error { .. })
    }

    fn start_time(&self) -> SystemTime {
        self.0.start_time
    }

    fn end_time(&self) -> SystemTime {
        self.0.end_time
    }

    fn attribute(&self, key: &str) -> Option<AttributeRef<'_>> {
        self.0
            .attributes
            .iter()
            .find(|attribute| attribute.key.as_str() == key)
            .map(|attribute| match &attribute.value {
                AttributeValue::Bool(b) => AttributeRef::Bool(*b),
                AttributeValue::I64(n) => AttributeRef::I64(*n),
                AttributeValue::F64(x) => AttributeRef::F64(*x),
                other => other
                    .as_str()
                    .map_or(AttributeRef::Other, AttributeRef::Str),
            })
    }
}
