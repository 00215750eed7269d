//! Tail sampling on the native path: what the stage reads from a record,
//! and where it sends records kept and sampled out.

use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use opentelemetry::trace::{SpanId, Status, TraceId};
use otlpkit_batch::BatchProcessor;
use otlpkit_batch::tail::{AttributeRef, SpanSink, TailSpan};
use otlpkit_wire::{AttributeValue, SpanRecord, SpanRecordPool};

/// The stage's sink on the native path: records of kept traces go to the
/// queue, those of traces sampled out back to the layer's pool, so that a
/// stage sampling most traces out does not make every span allocate its
/// record afresh.
pub(crate) struct TailSink {
    pub(crate) processor: Arc<BatchProcessor<Box<SpanRecord>>>,
    /// The layer's pool, set when the layer is built (until then the pool
    /// can still be replaced, and no record exists).
    pub(crate) pool: Arc<OnceLock<Arc<SpanRecordPool>>>,
}

impl SpanSink<TailRecord> for TailSink {
    fn keep(&self, kept: TailRecord) {
        self.processor.push(kept.0);
    }

    fn sample_out(&self, record: TailRecord) {
        if let Some(pool) = self.pool.get() {
            pool.give_back(record.0);
        }
    }
}

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
        let record = &self.0;
        if let Some(attribute) = record
            .attributes
            .iter()
            .find(|attribute| attribute.key.as_str() == key)
        {
            return Some(value_ref(&attribute.value));
        }
        // The attributes the layer keeps in fields of their own, under the
        // keys they are exported with.
        let source = &record.source;
        let busy_idle = record.busy_idle;
        match key {
            "code.file.path" => source.file.map(AttributeRef::Str),
            "code.module.name" => source.module.map(AttributeRef::Str),
            "code.line.number" => source.line.map(|line| AttributeRef::I64(i64::from(line))),
            "thread.id" => source.thread_id.map(AttributeRef::I64),
            "thread.name" => source.thread_name.as_ref().map(value_ref),
            "level" => source.level.map(AttributeRef::Str),
            "target" => source.target.map(AttributeRef::Str),
            "busy_ns" => busy_idle.map(|timings| AttributeRef::I64(timings.busy_ns)),
            "idle_ns" => busy_idle.map(|timings| AttributeRef::I64(timings.idle_ns)),
            _ => None,
        }
    }
}

fn value_ref(value: &AttributeValue) -> AttributeRef<'_> {
    match value {
        AttributeValue::Bool(b) => AttributeRef::Bool(*b),
        AttributeValue::I64(n) => AttributeRef::I64(*n),
        AttributeValue::F64(x) => AttributeRef::F64(*x),
        other => other
            .as_str()
            .map_or(AttributeRef::Other, AttributeRef::Str),
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::InstrumentationScope;
    use opentelemetry::trace::{SpanId, TraceId};
    use otlpkit_batch::tail::{AttributeRef, TailSpan as _};
    use otlpkit_wire::{Attribute, AttributeValue, BusyIdle, SpanRecord};

    use super::TailRecord;

    #[test]
    fn rules_see_the_fields_and_the_attributes_kept_apart() {
        let scope = otlpkit_wire::intern_scope(InstrumentationScope::builder("tail").build());
        let mut record = SpanRecord::new(
            TraceId::from(1_u128),
            SpanId::from(2_u64),
            "query",
            scope,
            std::time::SystemTime::now(),
        );
        record.attributes.push(Attribute::new(
            opentelemetry::Key::from_static_str("tenant"),
            AttributeValue::copied("vip"),
        ));
        record.source.target = Some("app::db");
        record.source.line = Some(42);
        record.source.thread_name = Some(AttributeValue::copied("worker-1"));
        record.busy_idle = Some(BusyIdle::new(7, 9));
        let record = TailRecord(Box::new(record));
        assert_eq!(record.attribute("tenant"), Some(AttributeRef::Str("vip")));
        assert_eq!(
            record.attribute("target"),
            Some(AttributeRef::Str("app::db"))
        );
        assert_eq!(
            record.attribute("code.line.number"),
            Some(AttributeRef::I64(42))
        );
        assert_eq!(
            record.attribute("thread.name"),
            Some(AttributeRef::Str("worker-1"))
        );
        assert_eq!(record.attribute("busy_ns"), Some(AttributeRef::I64(7)));
        assert_eq!(record.attribute("idle_ns"), Some(AttributeRef::I64(9)));
        assert_eq!(record.attribute("code.file.path"), None);
        assert_eq!(record.attribute("missing"), None);
    }
}
