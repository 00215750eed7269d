//! `opentelemetry.proto.common.v1` and `resource.v1`: `AnyValue`, `KeyValue`,
//! `InstrumentationScope`, `Resource`.

use opentelemetry::logs::AnyValue as LogValue;
use opentelemetry::{Array, InstrumentationScope, KeyValue, Value};

use crate::record::{Attribute, AttributeValue, BusyIdle, SourceAttributes, source_keys};

use crate::enc::{
    bool_len, delimited_len, double_len, int64_len, opt_bytes_len, put_bool, put_delimited,
    put_delimited_header, put_double, put_int64, put_opt_bytes,
};

// `AnyValue` oneof members.
const ANY_STRING: u32 = 1;
const ANY_BOOL: u32 = 2;
const ANY_INT: u32 = 3;
const ANY_DOUBLE: u32 = 4;
const ANY_ARRAY: u32 = 5;
const ANY_KVLIST: u32 = 6;
const ANY_BYTES: u32 = 7;
// `ArrayValue.values`, `KeyValueList.values`.
const LIST_VALUES: u32 = 1;
// `KeyValue`.
const KV_KEY: u32 = 1;
const KV_VALUE: u32 = 2;
// `InstrumentationScope`.
const SCOPE_NAME: u32 = 1;
const SCOPE_VERSION: u32 = 2;
const SCOPE_ATTRIBUTES: u32 = 3;
// `Resource`.
const RESOURCE_ATTRIBUTES: u32 = 1;

/// A value that encodes as an `AnyValue` message.
pub(crate) trait AnyValueSource {
    /// The length of the `AnyValue` message body.
    fn any_len(&self) -> usize;
    /// Writes the `AnyValue` message body.
    fn put_any(&self, out: &mut Vec<u8>);
}

/// An `AnyValue` used as a length-delimited field (always written: the
/// reference conversion always sets `Some(AnyValue)`).
#[inline]
fn any_field_len(tag: u32, value: &impl AnyValueSource) -> usize {
    delimited_len(tag, value.any_len())
}

#[inline]
fn put_any_field(tag: u32, value: &impl AnyValueSource, out: &mut Vec<u8>) {
    put_delimited_header(tag, value.any_len(), out);
    value.put_any(out);
}

/// The array elements of an attribute `Array`, as `AnyValue`s.
struct Element<T>(T);

impl AnyValueSource for Element<bool> {
    fn any_len(&self) -> usize {
        bool_len(ANY_BOOL, self.0)
    }
    fn put_any(&self, out: &mut Vec<u8>) {
        put_bool(ANY_BOOL, self.0, out);
    }
}

impl AnyValueSource for Element<i64> {
    fn any_len(&self) -> usize {
        int64_len(ANY_INT, self.0)
    }
    fn put_any(&self, out: &mut Vec<u8>) {
        put_int64(ANY_INT, self.0, out);
    }
}

impl AnyValueSource for Element<f64> {
    fn any_len(&self) -> usize {
        double_len(ANY_DOUBLE, self.0)
    }
    fn put_any(&self, out: &mut Vec<u8>) {
        put_double(ANY_DOUBLE, self.0, out);
    }
}

impl AnyValueSource for Element<&str> {
    fn any_len(&self) -> usize {
        // A oneof member: written even when empty.
        delimited_len(ANY_STRING, self.0.len())
    }
    fn put_any(&self, out: &mut Vec<u8>) {
        put_delimited(ANY_STRING, self.0.as_bytes(), out);
    }
}

/// The body length of an `ArrayValue` holding these elements.
#[inline]
fn list_len<T: AnyValueSource>(values: impl Iterator<Item = T>) -> usize {
    values.map(|value| any_field_len(LIST_VALUES, &value)).sum()
}

#[inline]
fn put_list<T: AnyValueSource>(values: impl Iterator<Item = T>, out: &mut Vec<u8>) {
    for value in values {
        put_any_field(LIST_VALUES, &value, out);
    }
}

fn array_len(array: &Array) -> usize {
    match array {
        Array::Bool(values) => list_len(values.iter().copied().map(Element)),
        Array::I64(values) => list_len(values.iter().copied().map(Element)),
        Array::F64(values) => list_len(values.iter().copied().map(Element)),
        Array::String(values) => list_len(values.iter().map(|v| Element(v.as_str()))),
        // A kind added after 0.33 (the reference conversion panics on it):
        // encoded as an empty array.
        _ => 0,
    }
}

fn put_array(array: &Array, out: &mut Vec<u8>) {
    match array {
        Array::Bool(values) => put_list(values.iter().copied().map(Element), out),
        Array::I64(values) => put_list(values.iter().copied().map(Element), out),
        Array::F64(values) => put_list(values.iter().copied().map(Element), out),
        Array::String(values) => put_list(values.iter().map(|v| Element(v.as_str())), out),
        _ => {}
    }
}

/// `From<Value> for AnyValue`.
impl AnyValueSource for Value {
    fn any_len(&self) -> usize {
        match self {
            Value::Bool(value) => bool_len(ANY_BOOL, *value),
            Value::I64(value) => int64_len(ANY_INT, *value),
            Value::F64(value) => double_len(ANY_DOUBLE, *value),
            Value::String(value) => delimited_len(ANY_STRING, value.as_str().len()),
            Value::Array(array) => delimited_len(ANY_ARRAY, array_len(array)),
            // A kind added after 0.33 (the reference conversion panics on
            // it): an `AnyValue` without a value.
            _ => 0,
        }
    }

    fn put_any(&self, out: &mut Vec<u8>) {
        match self {
            Value::Bool(value) => put_bool(ANY_BOOL, *value, out),
            Value::I64(value) => put_int64(ANY_INT, *value, out),
            Value::F64(value) => put_double(ANY_DOUBLE, *value, out),
            Value::String(value) => put_delimited(ANY_STRING, value.as_str().as_bytes(), out),
            Value::Array(array) => {
                put_delimited_header(ANY_ARRAY, array_len(array), out);
                put_array(array, out);
            }
            _ => {}
        }
    }
}

/// `From<opentelemetry::logs::AnyValue> for AnyValue`, nested lists and maps
/// included.
impl AnyValueSource for LogValue {
    fn any_len(&self) -> usize {
        match self {
            LogValue::Int(value) => int64_len(ANY_INT, *value),
            LogValue::Double(value) => double_len(ANY_DOUBLE, *value),
            LogValue::String(value) => delimited_len(ANY_STRING, value.as_str().len()),
            LogValue::Boolean(value) => bool_len(ANY_BOOL, *value),
            LogValue::Bytes(value) => delimited_len(ANY_BYTES, value.len()),
            LogValue::ListAny(values) => delimited_len(ANY_ARRAY, list_len(values.iter())),
            LogValue::Map(map) => delimited_len(
                ANY_KVLIST,
                map.iter()
                    .map(|(key, value)| {
                        delimited_len(LIST_VALUES, key_value_len(key.as_str(), value))
                    })
                    .sum(),
            ),
            // A kind added after 0.33 (the reference conversion panics on
            // it): an `AnyValue` without a value.
            _ => 0,
        }
    }

    fn put_any(&self, out: &mut Vec<u8>) {
        match self {
            LogValue::Int(value) => put_int64(ANY_INT, *value, out),
            LogValue::Double(value) => put_double(ANY_DOUBLE, *value, out),
            LogValue::String(value) => put_delimited(ANY_STRING, value.as_str().as_bytes(), out),
            LogValue::Boolean(value) => put_bool(ANY_BOOL, *value, out),
            LogValue::Bytes(value) => put_delimited(ANY_BYTES, value, out),
            LogValue::ListAny(values) => {
                put_delimited_header(ANY_ARRAY, list_len(values.iter()), out);
                put_list(values.iter(), out);
            }
            LogValue::Map(map) => {
                // The map is iterated in its own order, as the reference
                // conversion does (a clone of a map iterates in the same order).
                let len = map
                    .iter()
                    .map(|(key, value)| {
                        delimited_len(LIST_VALUES, key_value_len(key.as_str(), value))
                    })
                    .sum();
                put_delimited_header(ANY_KVLIST, len, out);
                for (key, value) in map.iter() {
                    put_key_value(LIST_VALUES, key.as_str(), value, out);
                }
            }
            _ => {}
        }
    }
}

impl<T: AnyValueSource + ?Sized> AnyValueSource for &T {
    fn any_len(&self) -> usize {
        (**self).any_len()
    }
    fn put_any(&self, out: &mut Vec<u8>) {
        (**self).put_any(out);
    }
}

/// The body length of a `KeyValue { key, value: Some(value) }`
/// (`key_strindex` stays 0 and is not written).
#[inline]
pub(crate) fn key_value_len(key: &str, value: &impl AnyValueSource) -> usize {
    opt_bytes_len(KV_KEY, key.as_bytes()) + any_field_len(KV_VALUE, value)
}

/// Writes a `KeyValue` as field `tag` of the enclosing message.
#[inline]
pub(crate) fn put_key_value(tag: u32, key: &str, value: &impl AnyValueSource, out: &mut Vec<u8>) {
    put_delimited_header(tag, key_value_len(key, value), out);
    put_opt_bytes(KV_KEY, key.as_bytes(), out);
    put_any_field(KV_VALUE, value, out);
}

/// `From<Value> for AnyValue` of the value an [`AttributeValue`] converts to.
impl AnyValueSource for AttributeValue {
    #[inline]
    fn any_len(&self) -> usize {
        match self {
            AttributeValue::Bool(value) => bool_len(ANY_BOOL, *value),
            AttributeValue::I64(value) => int64_len(ANY_INT, *value),
            AttributeValue::F64(value) => double_len(ANY_DOUBLE, *value),
            AttributeValue::Static(text) => delimited_len(ANY_STRING, text.len()),
            AttributeValue::Inline(text) => delimited_len(ANY_STRING, text.as_bytes().len()),
            AttributeValue::String(text) => delimited_len(ANY_STRING, text.as_str().len()),
            AttributeValue::Array(array) => delimited_len(ANY_ARRAY, array_len(array)),
        }
    }

    #[inline]
    fn put_any(&self, out: &mut Vec<u8>) {
        match self {
            AttributeValue::Bool(value) => put_bool(ANY_BOOL, *value, out),
            AttributeValue::I64(value) => put_int64(ANY_INT, *value, out),
            AttributeValue::F64(value) => put_double(ANY_DOUBLE, *value, out),
            AttributeValue::Static(text) => put_delimited(ANY_STRING, text.as_bytes(), out),
            AttributeValue::Inline(text) => put_delimited(ANY_STRING, text.as_bytes(), out),
            AttributeValue::String(text) => {
                put_delimited(ANY_STRING, text.as_str().as_bytes(), out);
            }
            AttributeValue::Array(array) => {
                put_delimited_header(ANY_ARRAY, array_len(array), out);
                put_array(array, out);
            }
        }
    }
}

/// The bytes of a repeated `KeyValue` field `tag` holding a record's
/// attributes.
#[inline]
pub(crate) fn record_attributes_len(tag: u32, attributes: &[Attribute]) -> usize {
    attributes
        .iter()
        .map(|kv| delimited_len(tag, key_value_len(kv.key.as_str(), &kv.value)))
        .sum()
}

/// Writes a repeated `KeyValue` field `tag` from a record's attributes.
#[inline]
pub(crate) fn put_record_attributes(tag: u32, attributes: &[Attribute], out: &mut Vec<u8>) {
    for kv in attributes {
        put_key_value(tag, kv.key.as_str(), &kv.value, out);
    }
}

/// The bytes of a repeated `KeyValue` field `tag` holding a record's
/// source attributes, in their order.
#[inline]
pub(crate) fn source_attributes_len(tag: u32, source: &SourceAttributes) -> usize {
    use source_keys::*;
    let text = |key: &str, value: Option<&str>| {
        value.map_or(0, |value| {
            delimited_len(tag, key_value_len(key, &Element(value)))
        })
    };
    text(FILE, source.file)
        + text(MODULE, source.module)
        + source.line.map_or(0, |line| {
            delimited_len(tag, key_value_len(LINE, &Element(i64::from(line))))
        })
        + source.thread_id.map_or(0, |id| {
            delimited_len(tag, key_value_len(THREAD_ID, &Element(id)))
        })
        + source.thread_name.as_ref().map_or(0, |name| {
            delimited_len(tag, key_value_len(THREAD_NAME, name))
        })
        + text(LEVEL, source.level)
        + text(TARGET, source.target)
}

/// Writes a record's source attributes as a repeated `KeyValue` field `tag`.
#[inline]
pub(crate) fn put_source_attributes(tag: u32, source: &SourceAttributes, out: &mut Vec<u8>) {
    use source_keys::*;
    let text = |key: &str, value: Option<&str>, out: &mut Vec<u8>| {
        if let Some(value) = value {
            put_key_value(tag, key, &Element(value), out);
        }
    };
    text(FILE, source.file, out);
    text(MODULE, source.module, out);
    if let Some(line) = source.line {
        put_key_value(tag, LINE, &Element(i64::from(line)), out);
    }
    if let Some(id) = source.thread_id {
        put_key_value(tag, THREAD_ID, &Element(id), out);
    }
    if let Some(name) = &source.thread_name {
        put_key_value(tag, THREAD_NAME, name, out);
    }
    text(LEVEL, source.level, out);
    text(TARGET, source.target, out);
}

/// The bytes of `busy_ns` and `idle_ns` in a repeated `KeyValue` field `tag`.
#[inline]
pub(crate) fn busy_idle_len(tag: u32, busy_idle: Option<&BusyIdle>) -> usize {
    busy_idle.map_or(0, |times| {
        delimited_len(
            tag,
            key_value_len(source_keys::BUSY, &Element(times.busy_ns)),
        ) + delimited_len(
            tag,
            key_value_len(source_keys::IDLE, &Element(times.idle_ns)),
        )
    })
}

/// Writes `busy_ns` and `idle_ns` in a repeated `KeyValue` field `tag`.
#[inline]
pub(crate) fn put_busy_idle(tag: u32, busy_idle: Option<&BusyIdle>, out: &mut Vec<u8>) {
    if let Some(times) = busy_idle {
        put_key_value(tag, source_keys::BUSY, &Element(times.busy_ns), out);
        put_key_value(tag, source_keys::IDLE, &Element(times.idle_ns), out);
    }
}

/// The bytes of a repeated `KeyValue` field `tag` holding these attributes.
#[inline]
pub(crate) fn attributes_len<'a>(
    tag: u32,
    attributes: impl Iterator<Item = &'a KeyValue>,
) -> usize {
    attributes
        .map(|kv| delimited_len(tag, key_value_len(kv.key.as_str(), &kv.value)))
        .sum()
}

/// Writes a repeated `KeyValue` field `tag`.
#[inline]
pub(crate) fn put_attributes<'a>(
    tag: u32,
    attributes: impl Iterator<Item = &'a KeyValue>,
    out: &mut Vec<u8>,
) {
    for kv in attributes {
        put_key_value(tag, kv.key.as_str(), &kv.value, out);
    }
}

/// The body length of the `InstrumentationScope` message for `scope`, its
/// name replaced by `name` (a log record's target): name, version and
/// attributes; `dropped_attributes_count` is always 0.
pub(crate) fn scope_len(scope: &InstrumentationScope, name: &str) -> usize {
    opt_bytes_len(SCOPE_NAME, name.as_bytes())
        + opt_bytes_len(
            SCOPE_VERSION,
            scope.version().unwrap_or_default().as_bytes(),
        )
        + attributes_len(SCOPE_ATTRIBUTES, scope.attributes())
}

/// Writes the `InstrumentationScope` message body; see [`scope_len`].
pub(crate) fn put_scope(scope: &InstrumentationScope, name: &str, out: &mut Vec<u8>) {
    put_opt_bytes(SCOPE_NAME, name.as_bytes(), out);
    put_opt_bytes(
        SCOPE_VERSION,
        scope.version().unwrap_or_default().as_bytes(),
        out,
    );
    put_attributes(SCOPE_ATTRIBUTES, scope.attributes(), out);
}

/// String equality that skips the byte comparison when both sides are the
/// same string in memory: scope names and versions are usually `&'static`
/// or shared, and every item of a batch is compared with its group's scope.
#[inline]
pub(crate) fn same_str(a: &str, b: &str) -> bool {
    (a.as_ptr() == b.as_ptr() && a.len() == b.len()) || a == b
}

/// Whether two scopes' attributes are equal the way
/// `InstrumentationScope`'s `PartialEq` decides it: as lists sorted by key.
pub(crate) fn scope_attributes_equal(a: &InstrumentationScope, b: &InstrumentationScope) -> bool {
    if a.attributes().count() != b.attributes().count() {
        return false;
    }
    // The common case, and no allocation: the same attributes in the same
    // order (both lists then sort to the same order too).
    if a.attributes().eq(b.attributes()) {
        return true;
    }
    // Rare: equal counts, different order or values. The reference groups
    // with exactly this comparison.
    let mut left: Vec<&KeyValue> = a.attributes().collect();
    let mut right: Vec<&KeyValue> = b.attributes().collect();
    left.sort_unstable_by(|x, y| x.key.cmp(&y.key));
    right.sort_unstable_by(|x, y| x.key.cmp(&y.key));
    left == right
}

/// The `Resource` message body length: its attributes
/// (`dropped_attributes_count` 0, no entity references).
pub(crate) fn resource_len(resource: &opentelemetry_sdk::Resource) -> usize {
    resource
        .iter()
        .map(|(key, value)| delimited_len(RESOURCE_ATTRIBUTES, key_value_len(key.as_str(), value)))
        .sum()
}

/// Writes the `Resource` message body; see [`resource_len`].
pub(crate) fn put_resource(resource: &opentelemetry_sdk::Resource, out: &mut Vec<u8>) {
    for (key, value) in resource.iter() {
        put_key_value(RESOURCE_ATTRIBUTES, key.as_str(), value, out);
    }
}

/// The `Resource` message body: its attributes (`dropped_attributes_count`
/// 0, no entity references), in the resource's iteration order.
pub(crate) fn encode_resource(resource: &opentelemetry_sdk::Resource) -> Vec<u8> {
    let mut out = Vec::with_capacity(resource_len(resource));
    put_resource(resource, &mut out);
    out
}
