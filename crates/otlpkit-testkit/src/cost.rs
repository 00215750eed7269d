//! What a request body will take in memory once decoded, estimated before decoding it.
//!
//! A few bytes on the wire can become hundreds in memory: an empty span is two bytes of
//! protobuf (or three of JSON) and a `Span` struct of a few hundred bytes. The receiver
//! walks the body once with the OTLP schema below, without allocating, and reserves the
//! estimate from its in-flight budget before decoding. The estimate follows how the decoder
//! allocates: a repeated field of n elements holds a `Vec` whose capacity is the next power
//! of two at or above n (at least 4: `Vec` grows by doubling), a string or bytes field its
//! length on the wire; scalars are stored inline and cost nothing more.

use std::fmt;
use std::mem::size_of;

use opentelemetry_proto::tonic::common::v1::{AnyValue, EntityRef, KeyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    Exemplar, ExponentialHistogramDataPoint, HistogramDataPoint, Metric, NumberDataPoint,
    ResourceMetrics, ScopeMetrics, SummaryDataPoint, summary_data_point::ValueAtQuantile,
};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, span};
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};

use crate::request::Signal;

/// How a field is stored once decoded.
#[derive(Clone, Copy)]
enum Kind {
    /// A singular message, stored inline in its parent.
    Msg(&'static Ty),
    /// A repeated message: one struct per element in a `Vec`.
    RepMsg(&'static Ty),
    /// A string or bytes field: its length.
    Str,
    /// A repeated string.
    RepStr,
    /// A repeated 8-byte scalar (packed fixed64/double, or one per occurrence).
    RepFixed,
    /// A repeated varint (packed: up to one element per byte).
    RepVarint,
}

struct Field {
    number: u32,
    json: &'static str,
    kind: Kind,
}

/// A message type: the size of its struct and the fields that allocate.
struct Ty {
    size: usize,
    fields: &'static [Field],
}

impl Ty {
    fn by_number(&self, number: u32) -> Option<&'static Field> {
        self.fields.iter().find(|f| f.number == number)
    }

    /// The field named `key`, and whether `key` is its snake_case spelling.
    fn by_json(&self, key: &str) -> Option<(&'static Field, bool)> {
        self.fields.iter().find_map(|f| {
            if f.json == key {
                Some((f, false))
            } else if is_snake_of(key, f.json) {
                Some((f, true))
            } else {
                None
            }
        })
    }
}

/// Whether `key` is the snake_case spelling of the lowerCamelCase `camel`.
fn is_snake_of(key: &str, camel: &str) -> bool {
    if !key.contains('_') {
        return false;
    }
    let mut expected = String::with_capacity(camel.len() + 4);
    for c in camel.chars() {
        if c.is_ascii_uppercase() {
            expected.push('_');
            expected.push(c.to_ascii_lowercase());
        } else {
            expected.push(c);
        }
    }
    key == expected
}

macro_rules! f {
    ($n:expr, $json:expr, $kind:expr) => {
        Field {
            number: $n,
            json: $json,
            kind: $kind,
        }
    };
}

use Kind::{Msg, RepFixed, RepMsg, RepStr, RepVarint, Str};

static ANY_VALUE: Ty = Ty {
    size: size_of::<AnyValue>(),
    fields: &[
        f!(1, "stringValue", Str),
        f!(5, "arrayValue", Msg(&ARRAY_VALUE)),
        f!(6, "kvlistValue", Msg(&KVLIST_VALUE)),
        f!(7, "bytesValue", Str),
    ],
};
static ARRAY_VALUE: Ty = Ty {
    size: 0,
    fields: &[f!(1, "values", RepMsg(&ANY_VALUE))],
};
static KVLIST_VALUE: Ty = Ty {
    size: 0,
    fields: &[f!(1, "values", RepMsg(&KEY_VALUE))],
};
static KEY_VALUE: Ty = Ty {
    size: size_of::<KeyValue>(),
    fields: &[f!(1, "key", Str), f!(2, "value", Msg(&ANY_VALUE))],
};
static SCOPE: Ty = Ty {
    size: 0,
    fields: &[
        f!(1, "name", Str),
        f!(2, "version", Str),
        f!(3, "attributes", RepMsg(&KEY_VALUE)),
    ],
};
static ENTITY_REF: Ty = Ty {
    size: size_of::<EntityRef>(),
    fields: &[
        f!(1, "schemaUrl", Str),
        f!(2, "type", Str),
        f!(3, "idKeys", RepStr),
        f!(4, "descriptionKeys", RepStr),
    ],
};
static RESOURCE: Ty = Ty {
    size: 0,
    fields: &[
        f!(1, "attributes", RepMsg(&KEY_VALUE)),
        f!(3, "entityRefs", RepMsg(&ENTITY_REF)),
    ],
};

static TRACES_REQUEST: Ty = Ty {
    size: 0,
    fields: &[f!(1, "resourceSpans", RepMsg(&RESOURCE_SPANS))],
};
static RESOURCE_SPANS: Ty = Ty {
    size: size_of::<ResourceSpans>(),
    fields: &[
        f!(1, "resource", Msg(&RESOURCE)),
        f!(2, "scopeSpans", RepMsg(&SCOPE_SPANS)),
        f!(3, "schemaUrl", Str),
    ],
};
static SCOPE_SPANS: Ty = Ty {
    size: size_of::<ScopeSpans>(),
    fields: &[
        f!(1, "scope", Msg(&SCOPE)),
        f!(2, "spans", RepMsg(&SPAN)),
        f!(3, "schemaUrl", Str),
    ],
};
static SPAN: Ty = Ty {
    size: size_of::<Span>(),
    fields: &[
        f!(1, "traceId", Str),
        f!(2, "spanId", Str),
        f!(3, "traceState", Str),
        f!(4, "parentSpanId", Str),
        f!(5, "name", Str),
        f!(9, "attributes", RepMsg(&KEY_VALUE)),
        f!(11, "events", RepMsg(&EVENT)),
        f!(13, "links", RepMsg(&LINK)),
        f!(15, "status", Msg(&STATUS)),
    ],
};
static EVENT: Ty = Ty {
    size: size_of::<span::Event>(),
    fields: &[f!(2, "name", Str), f!(3, "attributes", RepMsg(&KEY_VALUE))],
};
static LINK: Ty = Ty {
    size: size_of::<span::Link>(),
    fields: &[
        f!(1, "traceId", Str),
        f!(2, "spanId", Str),
        f!(3, "traceState", Str),
        f!(4, "attributes", RepMsg(&KEY_VALUE)),
    ],
};
static STATUS: Ty = Ty {
    size: 0,
    fields: &[f!(2, "message", Str)],
};

static LOGS_REQUEST: Ty = Ty {
    size: 0,
    fields: &[f!(1, "resourceLogs", RepMsg(&RESOURCE_LOGS))],
};
static RESOURCE_LOGS: Ty = Ty {
    size: size_of::<ResourceLogs>(),
    fields: &[
        f!(1, "resource", Msg(&RESOURCE)),
        f!(2, "scopeLogs", RepMsg(&SCOPE_LOGS)),
        f!(3, "schemaUrl", Str),
    ],
};
static SCOPE_LOGS: Ty = Ty {
    size: size_of::<ScopeLogs>(),
    fields: &[
        f!(1, "scope", Msg(&SCOPE)),
        f!(2, "logRecords", RepMsg(&LOG_RECORD)),
        f!(3, "schemaUrl", Str),
    ],
};
static LOG_RECORD: Ty = Ty {
    size: size_of::<LogRecord>(),
    fields: &[
        f!(3, "severityText", Str),
        f!(5, "body", Msg(&ANY_VALUE)),
        f!(6, "attributes", RepMsg(&KEY_VALUE)),
        f!(9, "traceId", Str),
        f!(10, "spanId", Str),
        f!(12, "eventName", Str),
    ],
};

static METRICS_REQUEST: Ty = Ty {
    size: 0,
    fields: &[f!(1, "resourceMetrics", RepMsg(&RESOURCE_METRICS))],
};
static RESOURCE_METRICS: Ty = Ty {
    size: size_of::<ResourceMetrics>(),
    fields: &[
        f!(1, "resource", Msg(&RESOURCE)),
        f!(2, "scopeMetrics", RepMsg(&SCOPE_METRICS)),
        f!(3, "schemaUrl", Str),
    ],
};
static SCOPE_METRICS: Ty = Ty {
    size: size_of::<ScopeMetrics>(),
    fields: &[
        f!(1, "scope", Msg(&SCOPE)),
        f!(2, "metrics", RepMsg(&METRIC)),
        f!(3, "schemaUrl", Str),
    ],
};
static METRIC: Ty = Ty {
    size: size_of::<Metric>(),
    fields: &[
        f!(1, "name", Str),
        f!(2, "description", Str),
        f!(3, "unit", Str),
        f!(5, "gauge", Msg(&NUMBER_POINTS)),
        f!(7, "sum", Msg(&NUMBER_POINTS)),
        f!(9, "histogram", Msg(&HISTOGRAM)),
        f!(10, "exponentialHistogram", Msg(&EXPONENTIAL_HISTOGRAM)),
        f!(11, "summary", Msg(&SUMMARY)),
        f!(12, "metadata", RepMsg(&KEY_VALUE)),
    ],
};
static NUMBER_POINTS: Ty = Ty {
    size: 0,
    fields: &[f!(1, "dataPoints", RepMsg(&NUMBER_POINT))],
};
static NUMBER_POINT: Ty = Ty {
    size: size_of::<NumberDataPoint>(),
    fields: &[
        f!(7, "attributes", RepMsg(&KEY_VALUE)),
        f!(5, "exemplars", RepMsg(&EXEMPLAR)),
    ],
};
static HISTOGRAM: Ty = Ty {
    size: 0,
    fields: &[f!(1, "dataPoints", RepMsg(&HISTOGRAM_POINT))],
};
static HISTOGRAM_POINT: Ty = Ty {
    size: size_of::<HistogramDataPoint>(),
    fields: &[
        f!(9, "attributes", RepMsg(&KEY_VALUE)),
        f!(6, "bucketCounts", RepFixed),
        f!(7, "explicitBounds", RepFixed),
        f!(8, "exemplars", RepMsg(&EXEMPLAR)),
    ],
};
static EXPONENTIAL_HISTOGRAM: Ty = Ty {
    size: 0,
    fields: &[f!(1, "dataPoints", RepMsg(&EXPONENTIAL_POINT))],
};
static EXPONENTIAL_POINT: Ty = Ty {
    size: size_of::<ExponentialHistogramDataPoint>(),
    fields: &[
        f!(1, "attributes", RepMsg(&KEY_VALUE)),
        f!(8, "positive", Msg(&BUCKETS)),
        f!(9, "negative", Msg(&BUCKETS)),
        f!(11, "exemplars", RepMsg(&EXEMPLAR)),
    ],
};
static BUCKETS: Ty = Ty {
    size: 0,
    fields: &[f!(2, "bucketCounts", RepVarint)],
};
static SUMMARY: Ty = Ty {
    size: 0,
    fields: &[f!(1, "dataPoints", RepMsg(&SUMMARY_POINT))],
};
static SUMMARY_POINT: Ty = Ty {
    size: size_of::<SummaryDataPoint>(),
    fields: &[
        f!(7, "attributes", RepMsg(&KEY_VALUE)),
        f!(6, "quantileValues", RepMsg(&QUANTILE)),
    ],
};
static QUANTILE: Ty = Ty {
    size: size_of::<ValueAtQuantile>(),
    fields: &[],
};
static EXEMPLAR: Ty = Ty {
    size: size_of::<Exemplar>(),
    fields: &[
        f!(7, "filteredAttributes", RepMsg(&KEY_VALUE)),
        f!(4, "spanId", Str),
        f!(5, "traceId", Str),
    ],
};

fn request_type(signal: Signal) -> &'static Ty {
    match signal {
        Signal::Traces => &TRACES_REQUEST,
        Signal::Metrics => &METRICS_REQUEST,
        Signal::Logs => &LOGS_REQUEST,
    }
}

/// Nesting deeper than prost's own limit is refused by the decoder anyway.
const MAX_DEPTH: u32 = 100;

/// The protobuf body is malformed; the decoder will say how.
#[derive(Debug)]
pub(crate) struct Malformed;

fn varint(buf: &mut &[u8]) -> Result<u64, Malformed> {
    prost::encoding::decode_varint(buf).map_err(|_| Malformed)
}

fn take<'a>(buf: &mut &'a [u8], n: usize) -> Result<&'a [u8], Malformed> {
    if buf.len() < n {
        return Err(Malformed);
    }
    let (head, tail) = buf.split_at(n);
    *buf = tail;
    Ok(head)
}

/// The capacity of a `Vec` after `n` pushes.
fn capacity(n: usize) -> usize {
    match n {
        0 => 0,
        1..=4 => 4,
        _ => n.checked_next_power_of_two().unwrap_or(usize::MAX),
    }
}

/// Elements of the repeated fields of one message: `(field number, count, element size)`.
#[derive(Default)]
struct Repeated {
    fields: [(u32, usize, usize); 8],
    used: usize,
}

impl Repeated {
    fn add(&mut self, number: u32, element: usize) -> usize {
        for entry in &mut self.fields[..self.used] {
            if entry.0 == number {
                entry.1 += 1;
                return 0;
            }
        }
        if self.used < self.fields.len() {
            self.fields[self.used] = (number, 1, element);
            self.used += 1;
            0
        } else {
            // More repeated fields than any OTLP message has: charge the worst case.
            2 * element
        }
    }

    fn cost(&self) -> usize {
        self.fields[..self.used]
            .iter()
            .map(|&(_, n, element)| capacity(n).saturating_mul(element))
            .fold(0, usize::saturating_add)
    }
}

/// One field's value on the wire.
pub(crate) enum WireValue<'a> {
    /// A varint (wire type 0).
    Varint,
    /// 8 bytes (wire type 1).
    Fixed64,
    /// 4 bytes (wire type 5).
    Fixed32,
    /// A length-delimited value (wire type 2): a string, bytes, a message or a packed list.
    Bytes(&'a [u8]),
}

/// Reads the next field of a protobuf message: its number and its value.
pub(crate) fn next_field<'a>(buf: &mut &'a [u8]) -> Result<(u32, WireValue<'a>), Malformed> {
    let key = varint(buf)?;
    let number = u32::try_from(key >> 3).map_err(|_| Malformed)?;
    let value = match key & 7 {
        0 => {
            varint(buf)?;
            WireValue::Varint
        }
        1 => {
            take(buf, 8)?;
            WireValue::Fixed64
        }
        5 => {
            take(buf, 4)?;
            WireValue::Fixed32
        }
        2 => {
            let len = usize::try_from(varint(buf)?).map_err(|_| Malformed)?;
            WireValue::Bytes(take(buf, len)?)
        }
        _ => return Err(Malformed),
    };
    Ok((number, value))
}

/// What a walk over one message found: the estimated cost of the fields it read, and
/// whether it stopped at a fault (then `cost` is that of the fields before the fault).
struct Walk {
    cost: usize,
    malformed: bool,
}

/// Skips a group (wire type 3) of an unknown field, as the decoder does; `buf` starts
/// after the group's start key.
fn skip_group(number: u32, buf: &mut &[u8]) -> Result<(), Malformed> {
    prost::encoding::skip_field(
        prost::encoding::WireType::StartGroup,
        number,
        buf,
        prost::encoding::DecodeContext::default(),
    )
    .map_err(|_| Malformed)
}

fn wire_cost(ty: &'static Ty, mut buf: &[u8], depth: u32) -> Walk {
    if depth > MAX_DEPTH {
        return Walk {
            cost: 0,
            malformed: true,
        };
    }
    let mut cost = 0usize;
    let mut repeated = Repeated::default();
    let mut malformed = false;
    while !buf.is_empty() {
        // A group in a field the schema does not know is skipped by the decoder, which
        // goes on decoding after it: so does the walk.
        let mut peek = buf;
        if let Ok(key) = varint(&mut peek)
            && key & 7 == 3
            && let Ok(number) = u32::try_from(key >> 3)
            && ty.by_number(number).is_none()
        {
            buf = peek;
            if skip_group(number, &mut buf).is_err() {
                malformed = true;
                break;
            }
            continue;
        }
        let Ok((number, value)) = next_field(&mut buf) else {
            malformed = true;
            break;
        };
        let field = ty.by_number(number).map(|f| f.kind);
        let mut inner_cost = |inner: &'static Ty, payload: &[u8]| {
            let walk = wire_cost(inner, payload, depth + 1);
            malformed |= walk.malformed;
            walk.cost
        };
        let more = match value {
            WireValue::Varint | WireValue::Fixed64 => match field {
                Some(RepVarint | RepFixed) => repeated.add(number, 8),
                _ => 0,
            },
            WireValue::Fixed32 => 0,
            WireValue::Bytes(payload) => {
                let len = payload.len();
                match field {
                    None => 0,
                    Some(Str) => len,
                    Some(RepStr) => len.saturating_add(repeated.add(number, size_of::<String>())),
                    // Packed: at most 8 bytes per byte (varint) or per 8 bytes (fixed), in a
                    // Vec of up to twice that.
                    Some(RepFixed) => len.saturating_mul(2),
                    Some(RepVarint) => len.saturating_mul(16),
                    Some(Msg(inner)) => inner_cost(inner, payload),
                    Some(RepMsg(inner)) => {
                        inner_cost(inner, payload).saturating_add(repeated.add(number, inner.size))
                    }
                }
            }
        };
        cost = cost.saturating_add(more);
        if malformed {
            break;
        }
    }
    Walk {
        cost: cost.saturating_add(repeated.cost()),
        malformed,
    }
}

/// The estimated memory of the decoded protobuf request. For a malformed body, the
/// estimate of what comes before the fault: the decoder allocates all of that before it
/// finds the fault and refuses the body, so it is reserved all the same.
pub(crate) fn protobuf(signal: Signal, body: &[u8]) -> usize {
    wire_cost(request_type(signal), body, 0).cost
}

/// What one pass over an OTLP/JSON body found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct JsonCost {
    /// Estimated memory of the decoded request.
    pub(crate) decoded: usize,
    /// Estimated memory of the body as a `serde_json::Value` tree (the tolerant decoder's
    /// first step).
    pub(crate) tree: usize,
    /// Some key was spelled in snake_case: only the tolerant decoder reads it right.
    pub(crate) snake_case: bool,
}

/// One `Value` in an array, and one member of an object (key, value and its share of a
/// B-tree node).
const VALUE_SIZE: usize = size_of::<serde_json::Value>();
const MEMBER_SIZE: usize = 2 * (VALUE_SIZE + size_of::<String>());
/// One node of the B-tree of an object's members (`serde_json::Map` is a `BTreeMap`):
/// room for 11 keys and values and its header. An object with a single member allocates a
/// whole one, so each non-empty object is charged one besides [`MEMBER_SIZE`] a member.
const NODE_SIZE: usize = 16 + 11 * (VALUE_SIZE + size_of::<String>());

struct Pass<'c> {
    cost: &'c mut JsonCost,
    /// The schema type of the value, if known.
    ty: Option<&'static Ty>,
    kind: Option<Kind>,
}

impl<'de> DeserializeSeed<'de> for Pass<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Pass<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_none<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E>(self, value: &str) -> Result<(), E> {
        self.cost.tree = self.cost.tree.saturating_add(value.len());
        if let Some(Str | RepStr) = self.kind {
            self.cost.decoded = self.cost.decoded.saturating_add(value.len());
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let cost = self.cost;
        let (ty, element) = match self.kind {
            Some(RepMsg(inner)) => (Some(inner), inner.size),
            Some(RepStr) => (None, size_of::<String>()),
            Some(RepFixed | RepVarint) => (None, 8),
            _ => (None, 0),
        };
        let mut count = 0usize;
        loop {
            let item = Pass {
                cost: &mut *cost,
                ty,
                kind: match self.kind {
                    Some(RepStr) => Some(Str),
                    _ => None,
                },
            };
            if seq.next_element_seed(item)?.is_none() {
                break;
            }
            count += 1;
        }
        cost.tree = cost
            .tree
            .saturating_add(capacity(count).saturating_mul(VALUE_SIZE));
        cost.decoded = cost
            .decoded
            .saturating_add(capacity(count).saturating_mul(element));
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let cost = self.cost;
        let ty = self.ty.or(match self.kind {
            Some(Msg(inner) | RepMsg(inner)) => Some(inner),
            _ => None,
        });
        let mut members = 0usize;
        while let Some(key) = map.next_key::<Key>()? {
            if members == 0 {
                cost.tree = cost.tree.saturating_add(NODE_SIZE);
            }
            members += 1;
            cost.tree = cost
                .tree
                .saturating_add(MEMBER_SIZE)
                .saturating_add(key.0.len());
            let found = ty.and_then(|t| t.by_json(&key.0));
            if let Some((_, true)) = found {
                cost.snake_case = true;
            }
            let kind = found.map(|(f, _)| f.kind);
            map.next_value_seed(Pass {
                cost: &mut *cost,
                ty: None,
                kind,
            })?;
        }
        Ok(())
    }
}

/// A map key.
struct Key(String);

impl<'de> de::Deserialize<'de> for Key {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Key, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_str<E>(self, value: &str) -> Result<Key, E> {
                // Keys are short; one copy per key costs far less than the tree.
                Ok(Key(value.to_owned()))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// Walks an OTLP/JSON body; the parser's error if it is not JSON (the same error the
/// decoders give, found without building anything).
pub(crate) fn json(signal: Signal, body: &[u8]) -> Result<JsonCost, serde_json::Error> {
    let mut cost = JsonCost::default();
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    Pass {
        cost: &mut cost,
        ty: Some(request_type(signal)),
        kind: None,
    }
    .deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(cost)
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use prost::Message as _;

    fn empty_spans(n: usize) -> Vec<u8> {
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans: vec![Span::default(); n],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
        .encode_to_vec()
    }

    #[test]
    fn empty_messages_cost_their_struct_size() {
        let body = empty_spans(1000);
        // Two bytes on the wire per span, hundreds in memory.
        assert!(body.len() < 2100, "{}", body.len());
        let cost = protobuf(Signal::Traces, &body);
        assert_eq!(
            cost,
            1024 * size_of::<Span>() + 4 * size_of::<ScopeSpans>() + 4 * size_of::<ResourceSpans>()
        );
        // The decoder allocates exactly that for the spans.
        let decoded = ExportTraceServiceRequest::decode(&body[..]).unwrap();
        assert_eq!(
            decoded.resource_spans[0].scope_spans[0].spans.capacity(),
            1024
        );
    }

    #[test]
    fn strings_cost_their_length_and_malformed_bodies_what_precedes_the_fault() {
        let mut request = ExportTraceServiceRequest::decode(&empty_spans(1)[..]).unwrap();
        request.resource_spans[0].scope_spans[0].spans[0].name = "x".repeat(10_000);
        let cost = protobuf(Signal::Traces, &request.encode_to_vec());
        assert!((10_000..12_000).contains(&cost), "{cost}");
        assert_eq!(protobuf(Signal::Traces, &[0x0a, 0x05, 1]), 0);
        assert_eq!(protobuf(Signal::Logs, &[]), 0);
    }

    #[test]
    fn what_precedes_a_fault_or_follows_an_unknown_group_is_charged() {
        let body = empty_spans(1000);
        let whole = protobuf(Signal::Traces, &body);
        // A key of wire type 7 after the spans: the decoder builds them all, then refuses.
        let mut cut = body.clone();
        cut.push(0x0f);
        assert!(ExportTraceServiceRequest::decode(&cut[..]).is_err());
        assert_eq!(protobuf(Signal::Traces, &cut), whole);
        // A group in unknown field 99 (with a varint in it), then the spans again: the
        // decoder skips the group and decodes what follows.
        let mut grouped = body.clone();
        grouped.extend_from_slice(&[0x9b, 0x06, 0x08, 0x01, 0x9c, 0x06]);
        grouped.extend_from_slice(&body);
        let decoded = ExportTraceServiceRequest::decode(&grouped[..]).unwrap();
        assert_eq!(decoded.resource_spans.len(), 2);
        assert!(
            protobuf(Signal::Traces, &grouped) >= 2 * 1024 * size_of::<Span>(),
            "{}",
            protobuf(Signal::Traces, &grouped)
        );
    }

    #[test]
    fn one_member_objects_are_charged_a_whole_node_of_the_tree() {
        let body = format!(r#"{{"x":[{}]}}"#, vec![r#"{"a":1}"#; 1000].join(","));
        let cost = json(Signal::Traces, body.as_bytes()).unwrap();
        assert!(cost.tree >= 1000 * NODE_SIZE, "{cost:?}");
    }

    #[test]
    fn json_counts_objects_strings_and_snake_case_keys() {
        let body = br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{},{},{"name":"abc"}]}]}]}"#;
        let cost = json(Signal::Traces, body).unwrap();
        assert_eq!(
            cost.decoded,
            4 * (size_of::<Span>() + size_of::<ScopeSpans>() + size_of::<ResourceSpans>()) + 3
        );
        assert!(cost.tree > body.len(), "{cost:?}");
        assert!(!cost.snake_case);
        let snake = json(Signal::Traces, br#"{"resource_spans":[]}"#).unwrap();
        assert!(snake.snake_case);
        assert!(json(Signal::Traces, b"{not json").is_err());
        assert!(json(Signal::Traces, b"{} trailing").is_err());
    }
}
