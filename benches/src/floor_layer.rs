//! The least a `tracing` layer can do and still make an OTLP span: the
//! floor under the target "producer cost at most 2× the registry alone".
//!
//! [`FloorLayer`] gives each span a random span id, takes the trace id from
//! its parent (or a random one for a root), reads the system clock at start
//! and at close, copies its fields into a fixed array (strings up to 24
//! bytes inline, longer ones cut: no allocation beyond the registry's own
//! extension box), and on close takes the record out of the extensions and
//! folds it into a per-thread checksum. Nothing else: no sampling, no
//! limits, no `otel.*` fields, no events, no context for OpenTelemetry-API
//! code, no busy/idle times, no source attributes, no hand-over to an
//! export queue. Every complete layer does at least this, through the same
//! registry, so what it costs over the registry alone is the part of the
//! target no design can give back while spans live in the registry and
//! carry wall-clock timestamps.

use std::cell::Cell;
use std::fmt;
use std::time::SystemTime;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Subscriber, span};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

/// Field slots per span: the 10-field workload fits.
const SLOTS: usize = 10;
/// Inline bytes per string value.
const INLINE: usize = 24;

#[derive(Clone, Copy)]
enum FieldValue {
    Empty,
    I64(i64),
    U64(u64),
    F64(f64),
    Bool(bool),
    Str { len: u8, bytes: [u8; INLINE] },
}

struct FloorRecord {
    trace_id: u128,
    span_id: u64,
    parent_span_id: u64,
    start: SystemTime,
    name: &'static str,
    fields: [(&'static str, FieldValue); SLOTS],
    len: usize,
}

impl FieldValue {
    /// A few bits of the value, so that the checksum reads it as an
    /// encoder would.
    fn bits(&self) -> u64 {
        match *self {
            FieldValue::Empty => 0,
            FieldValue::I64(value) => value as u64,
            FieldValue::U64(value) => value,
            FieldValue::F64(value) => value.to_bits(),
            FieldValue::Bool(value) => u64::from(value),
            FieldValue::Str { len, bytes } => u64::from(len) ^ u64::from(bytes[0]),
        }
    }
}

impl FloorRecord {
    fn push(&mut self, field: &Field, value: FieldValue) {
        if self.len < SLOTS {
            self.fields[self.len] = (field.name(), value);
            self.len += 1;
        }
    }
}

impl Visit for FloorRecord {
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.push(field, FieldValue::I64(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.push(field, FieldValue::U64(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.push(field, FieldValue::F64(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.push(field, FieldValue::Bool(value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        let len = value.len().min(INLINE);
        let mut bytes = [0; INLINE];
        bytes[..len].copy_from_slice(&value.as_bytes()[..len]);
        self.push(
            field,
            FieldValue::Str {
                len: len as u8,
                bytes,
            },
        );
    }
    fn record_debug(&mut self, field: &Field, _value: &dyn fmt::Debug) {
        // Formatting is what a complete layer pays on top; the workloads
        // record no `Debug` values.
        self.push(field, FieldValue::Empty);
    }
}

thread_local! {
    static RANDOM: Cell<u64> = Cell::new(seed());
    static CHECKSUM: Cell<u64> = const { Cell::new(0) };
}

fn seed() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(1, |since| since.as_nanos() as u64);
    nanos | 1
}

/// xorshift64*: a fast id generator, as a layer built for speed would use.
fn random() -> u64 {
    RANDOM.with(|state| {
        let mut x = state.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        state.set(x);
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    })
}

/// See the module docs.
#[derive(Debug, Default, Clone, Copy)]
pub struct FloorLayer;

impl<S> Layer<S> for FloorLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else {
            return;
        };
        let parent = span.parent().and_then(|parent| {
            parent
                .extensions()
                .get::<Box<FloorRecord>>()
                .map(|record| (record.trace_id, record.span_id))
        });
        let (trace_id, parent_span_id) =
            parent.unwrap_or_else(|| ((u128::from(random()) << 64) | u128::from(random()), 0));
        let mut record = Box::new(FloorRecord {
            trace_id,
            span_id: random(),
            parent_span_id,
            start: SystemTime::now(),
            name: attrs.metadata().name(),
            fields: [("", FieldValue::Empty); SLOTS],
            len: 0,
        });
        attrs.record(&mut *record);
        span.extensions_mut().insert(record);
    }

    fn on_record(&self, id: &Id, values: &span::Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id)
            && let Some(record) = span.extensions_mut().get_mut::<Box<FloorRecord>>()
        {
            values.record(&mut **record);
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let end = SystemTime::now();
        let Some(span) = ctx.span(&id) else {
            return;
        };
        let Some(record) = span.extensions_mut().remove::<Box<FloorRecord>>() else {
            return;
        };
        let nanos = end
            .duration_since(record.start)
            .map_or(0, |took| took.as_nanos() as u64);
        let fields = record.fields[..record.len]
            .iter()
            .map(|(name, value)| name.len() as u64 ^ value.bits())
            .sum::<u64>();
        let sum = (record.trace_id as u64)
            ^ record.span_id
            ^ record.parent_span_id
            ^ nanos
            ^ fields
            ^ record.name.len() as u64;
        CHECKSUM.with(|checksum| checksum.set(checksum.get().wrapping_add(sum)));
    }
}
