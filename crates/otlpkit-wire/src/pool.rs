//! [`SpanRecordPool`]: span records used again instead of allocated per span.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::SystemTime;

use crossbeam_queue::ArrayQueue;
use opentelemetry::InstrumentationScope;
use opentelemetry::trace::{SpanId, TraceId};

use crate::record::{Attributes, SpanRecord};

/// The most attributes, events and links a pooled record keeps room for:
/// a record that grew past them is freed rather than kept, so that the
/// pool holds at most about a kilobyte per record.
const KEPT_ATTRIBUTES: usize = 32;
const KEPT_EVENTS: usize = 8;
const KEPT_LINKS: usize = 4;

/// A bounded free list of boxed [`SpanRecord`]s.
///
/// A record is about a kilobyte. Allocated on the thread that starts a span
/// and freed on the export worker, each one cost the allocator a lock on the
/// producer's arena, taken from two threads at once. With a pool the worker
/// clears the records of each batch once it has encoded them
/// ([`PooledRecords`]) and producers take them back, so a steady stream of
/// spans allocates nothing.
///
/// The pool holds at most `capacity` records; records beyond it, and records
/// whose attribute, event or link lists grew unusually long, are freed.
///
/// ```
/// use std::time::SystemTime;
/// use opentelemetry::InstrumentationScope;
/// use opentelemetry::trace::{SpanId, TraceId};
/// use otlpkit_wire::{Attribute, SpanRecordPool, intern_scope};
///
/// let pool = SpanRecordPool::new(64);
/// let scope = intern_scope(InstrumentationScope::builder("my-crate").build());
/// let mut record = pool.record(TraceId::from(1), SpanId::from(2), "load", scope, SystemTime::now());
/// record.attributes.push(Attribute::new("rows", 3_i64));
/// pool.give_back(record);
/// assert_eq!(pool.len(), 1);
/// // The next record reuses that one, cleared.
/// let record = pool.record(TraceId::from(3), SpanId::from(4), "store", scope, SystemTime::now());
/// assert!(record.attributes.is_empty());
/// assert_eq!(pool.len(), 0);
/// ```
pub struct SpanRecordPool {
    free: ArrayQueue<Box<SpanRecord>>,
}

impl std::fmt::Debug for SpanRecordPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpanRecordPool")
            .field("free", &self.free.len())
            .field("capacity", &self.free.capacity())
            .finish()
    }
}

impl SpanRecordPool {
    /// A pool keeping up to `capacity` records (at least one).
    pub fn new(capacity: usize) -> SpanRecordPool {
        SpanRecordPool {
            free: ArrayQueue::new(capacity.max(1)),
        }
    }

    /// A record as [`SpanRecord::new`] makes it, taken from the pool when it
    /// has one.
    #[inline]
    pub fn record(
        &self,
        trace_id: TraceId,
        span_id: SpanId,
        name: impl Into<Cow<'static, str>>,
        scope: &'static InstrumentationScope,
        start_time: SystemTime,
    ) -> Box<SpanRecord> {
        match self.free.pop() {
            Some(mut record) => {
                // Cleared when it came back: only the fields `new` takes.
                record.trace_id = trace_id;
                record.span_id = span_id;
                record.name = name.into();
                record.scope = scope;
                record.start_time = start_time;
                record.end_time = start_time;
                record
            }
            None => Box::new(SpanRecord::new(trace_id, span_id, name, scope, start_time)),
        }
    }

    /// Clears `record` and keeps it for a later [`record`](Self::record), or
    /// frees it when the pool is full or the record grew unusually large.
    #[inline]
    pub fn give_back(&self, mut record: Box<SpanRecord>) {
        if self.free.is_full() {
            return;
        }
        clear(&mut record);
        let _ = self.free.push(record);
    }

    /// [`give_back`](Self::give_back) for each record of `records`.
    pub fn give_back_all(&self, records: impl IntoIterator<Item = Box<SpanRecord>>) {
        for record in records {
            if self.free.is_full() {
                // The rest are freed as the iterator is dropped.
                return;
            }
            self.give_back(record);
        }
    }

    /// Records waiting to be used again.
    pub fn len(&self) -> usize {
        self.free.len()
    }

    /// Whether no record is waiting.
    pub fn is_empty(&self) -> bool {
        self.free.is_empty()
    }

    /// The most records the pool keeps.
    pub fn capacity(&self) -> usize {
        self.free.capacity()
    }
}

/// Resets `record` to what [`SpanRecord::new`] gives (the fields `new`
/// takes are set again on reuse), freeing whatever it owns but the room of
/// its lists, within bounds.
fn clear(record: &mut SpanRecord) {
    // Every field by name, with no `..`: a field added to `SpanRecord`
    // fails to compile here until it is reset, rather than carrying one
    // span's data into the next.
    let SpanRecord {
        trace_id: _,
        span_id: _,
        parent_span_id,
        trace_flags,
        parent_is_remote,
        trace_state,
        name,
        kind,
        start_time: _,
        end_time: _,
        scope: _,
        source,
        attributes,
        busy_idle,
        dropped_attributes_count,
        events,
        dropped_events_count,
        links,
        dropped_links_count,
        status,
    } = record;
    *parent_span_id = SpanId::INVALID;
    *trace_flags = opentelemetry::trace::TraceFlags::SAMPLED;
    *parent_is_remote = false;
    *trace_state = opentelemetry::trace::TraceState::NONE;
    *name = Cow::Borrowed("");
    *kind = opentelemetry::trace::SpanKind::Internal;
    *source = Default::default();
    if attributes.capacity() > KEPT_ATTRIBUTES {
        *attributes = Attributes::new();
    } else {
        attributes.truncate(0);
    }
    *busy_idle = None;
    *dropped_attributes_count = 0;
    if events.capacity() > KEPT_EVENTS {
        *events = Vec::new();
    } else {
        events.clear();
    }
    *dropped_events_count = 0;
    if links.capacity() > KEPT_LINKS {
        *links = Vec::new();
    } else {
        links.clear();
    }
    *dropped_links_count = 0;
    *status = opentelemetry::trace::Status::Unset;
}

/// A batch of records that go back to their pool when dropped: what an
/// exporter is given so that the worker returns the records once it has
/// encoded them, instead of freeing them.
pub struct PooledRecords {
    // Boxed: the engine queues boxes (a record is about a kilobyte), and the
    // pool keeps them.
    #[allow(clippy::vec_box)]
    records: Vec<Box<SpanRecord>>,
    pool: Arc<SpanRecordPool>,
}

impl PooledRecords {
    /// `records`, to go back to `pool`.
    pub fn new(records: Vec<Box<SpanRecord>>, pool: Arc<SpanRecordPool>) -> PooledRecords {
        PooledRecords { records, pool }
    }
}

impl std::fmt::Debug for PooledRecords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PooledRecords")
            .field("records", &self.records.len())
            .finish_non_exhaustive()
    }
}

impl AsRef<[Box<SpanRecord>]> for PooledRecords {
    fn as_ref(&self) -> &[Box<SpanRecord>] {
        &self.records
    }
}

impl Drop for PooledRecords {
    fn drop(&mut self) {
        self.pool.give_back_all(self.records.drain(..));
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use opentelemetry::trace::{Link, SpanContext, Status, TraceFlags, TraceState};

    use super::*;
    use crate::record::{Attribute, BusyIdle, RecordEvent, intern_scope};

    fn scope() -> &'static InstrumentationScope {
        intern_scope(InstrumentationScope::builder("pool-tests").build())
    }

    /// A record with every field away from its `new` value.
    fn full_record(pool: &SpanRecordPool) -> Box<SpanRecord> {
        let start = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut record = pool.record(TraceId::from(7), SpanId::from(8), "full", scope(), start);
        record.parent_span_id = SpanId::from(9);
        record.trace_flags = TraceFlags::default();
        record.parent_is_remote = true;
        record.trace_state = TraceState::from_key_value([("k", "v")]).unwrap();
        record.kind = opentelemetry::trace::SpanKind::Server;
        record.end_time = start + Duration::from_secs(1);
        record.source.file = Some("file.rs");
        record.source.thread_name = Some("a thread name longer than inline".into());
        for n in 0..5_i64 {
            record.attributes.push(Attribute::new("n", n));
        }
        record.busy_idle = Some(BusyIdle::new(1, 2));
        record.dropped_attributes_count = 1;
        record.events.push(RecordEvent::new("event", start));
        record.dropped_events_count = 2;
        record
            .links
            .push(Link::with_context(SpanContext::empty_context()));
        record.dropped_links_count = 3;
        record.status = Status::error("failed");
        record
    }

    #[test]
    fn a_reused_record_equals_a_new_one() {
        let pool = SpanRecordPool::new(4);
        pool.give_back(full_record(&pool));
        assert_eq!(pool.len(), 1);
        let start = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let reused = pool.record(TraceId::from(1), SpanId::from(2), "next", scope(), start);
        assert!(pool.is_empty());
        let fresh = SpanRecord::new(TraceId::from(1), SpanId::from(2), "next", scope(), start);
        assert_eq!(*reused, fresh);
    }

    #[test]
    fn the_pool_keeps_at_most_its_capacity_and_no_oversized_record() {
        let pool = Arc::new(SpanRecordPool::new(3));
        let records: Vec<_> = (0..5).map(|_| full_record(&pool)).collect();
        drop(PooledRecords::new(records, Arc::clone(&pool)));
        assert_eq!(pool.len(), 3);
        assert_eq!(pool.capacity(), 3);

        let pool = SpanRecordPool::new(3);
        let mut large = full_record(&pool);
        for n in 0..=KEPT_ATTRIBUTES as i64 {
            large.attributes.push(Attribute::new("n", n));
        }
        for _ in 0..=KEPT_EVENTS {
            large.events.push(RecordEvent::new("event", UNIX_EPOCH));
        }
        pool.give_back(large);
        let reused = pool.record(TraceId::from(1), SpanId::from(2), "n", scope(), UNIX_EPOCH);
        assert!(reused.attributes.capacity() <= KEPT_ATTRIBUTES);
        assert!(reused.events.capacity() <= KEPT_EVENTS);
    }
}
