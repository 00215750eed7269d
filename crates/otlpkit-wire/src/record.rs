//! [`SpanRecord`]: a finished span in the compact form a `tracing` layer can
//! fill without building the SDK's `SpanData`, and its conversion to
//! `SpanData`.

use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use opentelemetry::trace::{
    Event, Link, SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{Array, InstrumentationScope, Key, KeyValue, StringValue, Value};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};
use smallvec::SmallVec;

/// How many attributes a record holds in its list without a heap
/// allocation: the fields of a `tracing` span (its source attributes and
/// `busy_ns`/`idle_ns` have fields of their own). Ten keeps a
/// [`SpanRecord`] under 1,032 bytes, the largest block glibc's malloc
/// serves from its per-thread cache: one more and every record took the
/// slower path through the arena.
pub const INLINE_ATTRIBUTES: usize = 10;

/// The longest string, in bytes, an [`AttributeValue`] keeps inline.
pub const INLINE_STR_CAPACITY: usize = 22;

// Every `u64` in decimal fits.
const _: () = assert!(INLINE_STR_CAPACITY >= 20);

/// A short string kept inline (at most [`INLINE_STR_CAPACITY`] bytes).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct InlineStr {
    len: u8,
    bytes: [u8; INLINE_STR_CAPACITY],
}

impl InlineStr {
    /// `text` inline, or `None` when it is too long.
    #[inline]
    pub fn new(text: &str) -> Option<InlineStr> {
        if text.len() > INLINE_STR_CAPACITY {
            return None;
        }
        let mut bytes = [0; INLINE_STR_CAPACITY];
        bytes[..text.len()].copy_from_slice(text.as_bytes());
        Some(InlineStr {
            len: text.len() as u8,
            bytes,
        })
    }

    /// `value` in decimal, as its `Debug` writes it: 20 digits at most,
    /// always inline, and ASCII, so without the UTF-8 check of
    /// [`new`](Self::new).
    #[inline]
    pub fn decimal(mut value: u64) -> InlineStr {
        let len = value.checked_ilog10().map_or(1, |log| log as usize + 1);
        let mut bytes = [0; INLINE_STR_CAPACITY];
        for digit in bytes[..len].iter_mut().rev() {
            *digit = b'0' + (value % 10) as u8;
            value /= 10;
        }
        InlineStr {
            len: len as u8,
            bytes,
        }
    }

    /// The string's bytes (no UTF-8 check: what an encoder writes).
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// The string.
    #[inline]
    pub fn as_str(&self) -> &str {
        // Only whole `&str`s are ever copied in, so this never fails; an
        // empty string is the harmless answer if it ever did.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }
}

impl fmt::Debug for InlineStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// An attribute value, with `&'static str` and short strings kept without a
/// heap allocation and numbers unboxed. Converts to and encodes exactly as
/// the [`Value`] of the same content.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub enum AttributeValue {
    /// A boolean.
    Bool(bool),
    /// A signed integer.
    I64(i64),
    /// A double.
    F64(f64),
    /// A string that lives for the whole program (a `tracing` target, a
    /// file name, a literal).
    Static(&'static str),
    /// A short string, copied inline.
    Inline(InlineStr),
    /// Any other string (owned, or shared behind an `Arc`).
    String(StringValue),
    /// An array (boxed: rare, and large).
    Array(Box<Array>),
}

impl AttributeValue {
    /// `text` copied: inline when short, owned otherwise.
    #[inline]
    pub fn copied(text: &str) -> AttributeValue {
        match InlineStr::new(text) {
            Some(inline) => AttributeValue::Inline(inline),
            None => AttributeValue::String(StringValue::from(text.to_owned())),
        }
    }

    /// The string, when this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            AttributeValue::Static(text) => Some(text),
            AttributeValue::Inline(text) => Some(text.as_str()),
            AttributeValue::String(text) => Some(text.as_str()),
            _ => None,
        }
    }

    /// The equivalent OpenTelemetry value.
    pub fn to_value(&self) -> Value {
        self.clone().into_value()
    }

    /// The equivalent OpenTelemetry value (no copy for static, owned and
    /// shared strings).
    pub fn into_value(self) -> Value {
        match self {
            AttributeValue::Bool(value) => Value::Bool(value),
            AttributeValue::I64(value) => Value::I64(value),
            AttributeValue::F64(value) => Value::F64(value),
            AttributeValue::Static(text) => Value::String(StringValue::from(text)),
            AttributeValue::Inline(text) => {
                Value::String(StringValue::from(text.as_str().to_owned()))
            }
            AttributeValue::String(text) => Value::String(text),
            AttributeValue::Array(array) => Value::Array(*array),
        }
    }
}

impl fmt::Debug for AttributeValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttributeValue::Bool(value) => fmt::Debug::fmt(value, f),
            AttributeValue::I64(value) => fmt::Debug::fmt(value, f),
            AttributeValue::F64(value) => fmt::Debug::fmt(value, f),
            AttributeValue::Static(text) => fmt::Debug::fmt(text, f),
            AttributeValue::Inline(text) => fmt::Debug::fmt(text, f),
            AttributeValue::String(text) => fmt::Debug::fmt(text.as_str(), f),
            AttributeValue::Array(array) => fmt::Debug::fmt(array, f),
        }
    }
}

impl From<Value> for AttributeValue {
    fn from(value: Value) -> Self {
        match value {
            Value::Bool(value) => AttributeValue::Bool(value),
            Value::I64(value) => AttributeValue::I64(value),
            Value::F64(value) => AttributeValue::F64(value),
            Value::String(text) => AttributeValue::String(text),
            Value::Array(array) => AttributeValue::Array(Box::new(array)),
            // A kind added after 0.33: kept as it renders.
            other => AttributeValue::String(StringValue::from(other.to_string())),
        }
    }
}

impl From<bool> for AttributeValue {
    fn from(value: bool) -> Self {
        AttributeValue::Bool(value)
    }
}

impl From<i64> for AttributeValue {
    fn from(value: i64) -> Self {
        AttributeValue::I64(value)
    }
}

impl From<f64> for AttributeValue {
    fn from(value: f64) -> Self {
        AttributeValue::F64(value)
    }
}

impl From<&'static str> for AttributeValue {
    fn from(value: &'static str) -> Self {
        AttributeValue::Static(value)
    }
}

impl From<String> for AttributeValue {
    fn from(value: String) -> Self {
        AttributeValue::String(StringValue::from(value))
    }
}

impl From<Arc<str>> for AttributeValue {
    fn from(value: Arc<str>) -> Self {
        AttributeValue::String(StringValue::from(value))
    }
}

/// One attribute of a record.
#[derive(Clone, PartialEq)]
pub struct Attribute {
    /// The key.
    pub key: Key,
    /// The value.
    pub value: AttributeValue,
}

impl Attribute {
    /// An attribute.
    #[inline]
    pub fn new(key: impl Into<Key>, value: impl Into<AttributeValue>) -> Attribute {
        Attribute {
            key: key.into(),
            value: value.into(),
        }
    }

    /// The equivalent `KeyValue`.
    pub fn into_key_value(self) -> KeyValue {
        KeyValue::new(self.key, self.value.into_value())
    }
}

impl fmt::Debug for Attribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={:?}", self.key.as_str(), self.value)
    }
}

impl From<KeyValue> for Attribute {
    fn from(kv: KeyValue) -> Self {
        Attribute {
            key: kv.key,
            value: kv.value.into(),
        }
    }
}

/// The attributes of a record or an event, in the order they were added;
/// up to [`INLINE_ATTRIBUTES`] without a heap allocation.
#[derive(Clone, Default, PartialEq)]
pub struct Attributes(SmallVec<[Attribute; INLINE_ATTRIBUTES]>);

impl Attributes {
    /// No attributes.
    #[inline]
    pub fn new() -> Attributes {
        Attributes(SmallVec::new())
    }

    /// Appends an attribute.
    #[inline]
    pub fn push(&mut self, attribute: Attribute) {
        self.0.push(attribute);
    }

    /// Removes every attribute, in order, keeping the room.
    #[inline]
    pub fn drain(&mut self) -> impl Iterator<Item = Attribute> + '_ {
        self.0.drain(..)
    }

    /// Keeps the first `len` attributes.
    pub fn truncate(&mut self, len: usize) {
        self.0.truncate(len);
    }

    /// How many attributes fit before the list grows.
    pub fn capacity(&self) -> usize {
        self.0.capacity()
    }

    /// The attributes as `KeyValue`s, in order.
    pub fn into_key_values(self) -> Vec<KeyValue> {
        self.0.into_iter().map(Attribute::into_key_value).collect()
    }
}

impl std::ops::Deref for Attributes {
    type Target = [Attribute];

    #[inline]
    fn deref(&self) -> &[Attribute] {
        &self.0
    }
}

impl std::ops::DerefMut for Attributes {
    #[inline]
    fn deref_mut(&mut self) -> &mut [Attribute] {
        &mut self.0
    }
}

impl fmt::Debug for Attributes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.iter()).finish()
    }
}

impl FromIterator<Attribute> for Attributes {
    fn from_iter<T: IntoIterator<Item = Attribute>>(iter: T) -> Self {
        Attributes(iter.into_iter().collect())
    }
}

impl Extend<Attribute> for Attributes {
    fn extend<T: IntoIterator<Item = Attribute>>(&mut self, iter: T) {
        self.0.extend(iter);
    }
}

/// The attributes a `tracing` layer puts before a span's own (where the
/// span comes from), held as the references and numbers they are: a layer
/// fills seven fields instead of pushing up to seven [`Attribute`]s per
/// span, and an encoder writes them with constant keys.
///
/// They are the record's first attributes, in this order, each present
/// when set: `code.file.path`, `code.module.name`, `code.line.number`,
/// `thread.id`, `thread.name`, `level`, `target` (what
/// `tracing-opentelemetry` records, with `level` where it would be). See
/// [`SpanRecord::attributes`] for the whole list.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct SourceAttributes {
    /// `code.file.path`.
    pub file: Option<&'static str>,
    /// `code.module.name`.
    pub module: Option<&'static str>,
    /// `code.line.number`.
    pub line: Option<u32>,
    /// `thread.id`.
    pub thread_id: Option<i64>,
    /// `thread.name`.
    pub thread_name: Option<AttributeValue>,
    /// `level`.
    pub level: Option<&'static str>,
    /// `target`.
    pub target: Option<&'static str>,
}

/// The keys of [`SourceAttributes`], in order.
pub(crate) mod source_keys {
    pub(crate) const FILE: &str = "code.file.path";
    pub(crate) const MODULE: &str = "code.module.name";
    pub(crate) const LINE: &str = "code.line.number";
    pub(crate) const THREAD_ID: &str = "thread.id";
    pub(crate) const THREAD_NAME: &str = "thread.name";
    pub(crate) const LEVEL: &str = "level";
    pub(crate) const TARGET: &str = "target";
    pub(crate) const BUSY: &str = "busy_ns";
    pub(crate) const IDLE: &str = "idle_ns";
}

impl SourceAttributes {
    /// How many are set.
    #[inline]
    pub fn len(&self) -> usize {
        usize::from(self.file.is_some())
            + usize::from(self.module.is_some())
            + usize::from(self.line.is_some())
            + usize::from(self.thread_id.is_some())
            + usize::from(self.thread_name.is_some())
            + usize::from(self.level.is_some())
            + usize::from(self.target.is_some())
    }

    /// Whether none is set.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The attributes, in order.
    pub fn iter(&self) -> impl Iterator<Item = Attribute> + '_ {
        use source_keys::*;
        let text = |key: &'static str, value: Option<&'static str>| {
            value.map(|value| Attribute::new(Key::from_static_str(key), value))
        };
        [
            text(FILE, self.file),
            text(MODULE, self.module),
            self.line
                .map(|line| Attribute::new(Key::from_static_str(LINE), i64::from(line))),
            self.thread_id
                .map(|id| Attribute::new(Key::from_static_str(THREAD_ID), id)),
            self.thread_name
                .clone()
                .map(|name| Attribute::new(Key::from_static_str(THREAD_NAME), name)),
            text(LEVEL, self.level),
            text(TARGET, self.target),
        ]
        .into_iter()
        .flatten()
    }
}

/// How long a span was busy (entered) and idle (open but not entered),
/// in nanoseconds: its last two attributes, `busy_ns` and `idle_ns`, as
/// `tracing-opentelemetry` records them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BusyIdle {
    /// `busy_ns`.
    pub busy_ns: i64,
    /// `idle_ns`.
    pub idle_ns: i64,
}

impl BusyIdle {
    /// Busy and idle nanoseconds.
    pub fn new(busy_ns: i64, idle_ns: i64) -> BusyIdle {
        BusyIdle { busy_ns, idle_ns }
    }

    /// The two attributes, in order.
    pub fn iter(&self) -> impl Iterator<Item = Attribute> {
        [
            Attribute::new(Key::from_static_str(source_keys::BUSY), self.busy_ns),
            Attribute::new(Key::from_static_str(source_keys::IDLE), self.idle_ns),
        ]
        .into_iter()
    }
}

/// An event of a [`SpanRecord`].
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct RecordEvent {
    /// The name.
    pub name: Cow<'static, str>,
    /// When it happened.
    pub time: SystemTime,
    /// Its attributes.
    pub attributes: Attributes,
    /// Attributes dropped by the limit.
    pub dropped_attributes_count: u32,
}

impl RecordEvent {
    /// An event without attributes.
    pub fn new(name: impl Into<Cow<'static, str>>, time: SystemTime) -> RecordEvent {
        RecordEvent {
            name: name.into(),
            time,
            attributes: Attributes::new(),
            dropped_attributes_count: 0,
        }
    }

    fn into_event(self) -> Event {
        Event::new(
            self.name,
            self.time,
            self.attributes.into_key_values(),
            self.dropped_attributes_count,
        )
    }
}

/// A finished span: what an OTLP exporter needs of it, in a form a
/// `tracing` layer fills without the SDK's span machinery.
///
/// It converts to the SDK's `SpanData` ([`into_span_data`](Self::into_span_data))
/// for any SDK exporter, and [`encode_span_records`](crate::encode_span_records)
/// writes the protobuf bytes `encode_spans` writes for that `SpanData`.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use opentelemetry::InstrumentationScope;
/// use opentelemetry::trace::{SpanId, TraceId};
/// use otlpkit_wire::{Attribute, SpanRecord, intern_scope};
///
/// let scope = intern_scope(InstrumentationScope::builder("my-crate").build());
/// let start = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
/// let mut record = SpanRecord::new(TraceId::from(1), SpanId::from(2), "load", scope, start);
/// record.attributes.push(Attribute::new("rows", 3_i64));
/// record.end_time = start + Duration::from_millis(5);
/// let data = record.into_span_data();
/// assert_eq!(data.name, "load");
/// assert_eq!(data.attributes.len(), 1);
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct SpanRecord {
    /// The trace id.
    pub trace_id: TraceId,
    /// The span id.
    pub span_id: SpanId,
    /// The parent's span id; [`SpanId::INVALID`] for a root span.
    pub parent_span_id: SpanId,
    /// The W3C trace flags (`sampled`, `random`).
    pub trace_flags: TraceFlags,
    /// Whether the parent came from another process (the `is_remote` bit of
    /// the span flags).
    pub parent_is_remote: bool,
    /// The W3C trace state.
    pub trace_state: TraceState,
    /// The span name.
    pub name: Cow<'static, str>,
    /// The span kind.
    pub kind: SpanKind,
    /// When the span started.
    pub start_time: SystemTime,
    /// When the span ended.
    pub end_time: SystemTime,
    /// The instrumentation scope (see [`intern_scope`]).
    pub scope: &'static InstrumentationScope,
    /// The first attributes: where the span comes from.
    pub source: SourceAttributes,
    /// The attributes after [`source`](Self::source), in order.
    pub attributes: Attributes,
    /// The last attributes, `busy_ns` and `idle_ns`, when set.
    pub busy_idle: Option<BusyIdle>,
    /// Attributes dropped by the limit.
    pub dropped_attributes_count: u32,
    /// The events, in order.
    pub events: Vec<RecordEvent>,
    /// Events dropped by the limit.
    pub dropped_events_count: u32,
    /// The links, in order.
    pub links: Vec<Link>,
    /// Links dropped by the limit.
    pub dropped_links_count: u32,
    /// The status.
    pub status: Status,
}

impl SpanRecord {
    /// A sampled root span of kind `Internal` with no attributes, ending when
    /// it starts; set the other fields directly.
    pub fn new(
        trace_id: TraceId,
        span_id: SpanId,
        name: impl Into<Cow<'static, str>>,
        scope: &'static InstrumentationScope,
        start_time: SystemTime,
    ) -> SpanRecord {
        SpanRecord {
            trace_id,
            span_id,
            parent_span_id: SpanId::INVALID,
            trace_flags: TraceFlags::SAMPLED,
            parent_is_remote: false,
            trace_state: TraceState::NONE,
            name: name.into(),
            kind: SpanKind::Internal,
            start_time,
            end_time: start_time,
            scope,
            source: SourceAttributes::default(),
            attributes: Attributes::new(),
            busy_idle: None,
            dropped_attributes_count: 0,
            events: Vec::new(),
            dropped_events_count: 0,
            links: Vec::new(),
            dropped_links_count: 0,
            status: Status::Unset,
        }
    }

    /// How many attributes the span has: [`source`](Self::source),
    /// [`attributes`](Self::attributes) and [`busy_idle`](Self::busy_idle).
    #[inline]
    pub fn attribute_count(&self) -> usize {
        self.source.len() + self.attributes.len() + if self.busy_idle.is_some() { 2 } else { 0 }
    }

    /// Every attribute of the span in order: [`source`](Self::source),
    /// [`attributes`](Self::attributes), [`busy_idle`](Self::busy_idle).
    pub fn all_attributes(&self) -> impl Iterator<Item = Attribute> + '_ {
        self.source
            .iter()
            .chain(self.attributes.iter().cloned())
            .chain(self.busy_idle.iter().flat_map(BusyIdle::iter))
    }

    /// The span's own context (never remote).
    pub fn span_context(&self) -> SpanContext {
        SpanContext::new(
            self.trace_id,
            self.span_id,
            self.trace_flags,
            false,
            self.trace_state.clone(),
        )
    }

    /// The SDK's `SpanData` for this span, as the SDK would have exported
    /// the same span: what any SDK `SpanExporter` takes.
    pub fn into_span_data(self) -> SpanData {
        let span_context = self.span_context();
        let mut events = SpanEvents::default();
        events.events = self
            .events
            .into_iter()
            .map(RecordEvent::into_event)
            .collect();
        events.dropped_count = self.dropped_events_count;
        let mut links = SpanLinks::default();
        links.links = self.links;
        links.dropped_count = self.dropped_links_count;
        SpanData {
            span_context,
            parent_span_id: self.parent_span_id,
            parent_span_is_remote: self.parent_is_remote,
            span_kind: self.kind,
            name: self.name,
            start_time: self.start_time,
            end_time: self.end_time,
            attributes: self
                .source
                .iter()
                .chain(self.attributes.0)
                .chain(self.busy_idle.iter().flat_map(BusyIdle::iter))
                .map(Attribute::into_key_value)
                .collect(),
            dropped_attributes_count: self.dropped_attributes_count,
            events,
            links,
            status: self.status,
            instrumentation_scope: self.scope.clone(),
        }
    }
}

impl From<SpanRecord> for SpanData {
    fn from(record: SpanRecord) -> SpanData {
        record.into_span_data()
    }
}

/// A scope that lives for the rest of the program, for [`SpanRecord::scope`]:
/// the first call with a given scope keeps it, later calls with an equal
/// scope return the same reference. Memory grows only with the number of
/// distinct scopes a program uses (one per layer configuration, in
/// practice), never with the number of spans.
pub fn intern_scope(scope: InstrumentationScope) -> &'static InstrumentationScope {
    static SCOPES: Mutex<Vec<&'static InstrumentationScope>> = Mutex::new(Vec::new());
    let mut scopes = SCOPES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(found) = scopes.iter().find(|known| ***known == scope) {
        return found;
    }
    let leaked: &'static InstrumentationScope = Box::leak(Box::new(scope));
    scopes.push(leaked);
    leaked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_what_debug_writes() {
        for value in [
            0,
            7,
            9,
            10,
            42,
            99,
            100,
            999,
            1_000_000,
            u64::MAX / 10,
            u64::MAX,
        ] {
            assert_eq!(InlineStr::decimal(value).as_str(), format!("{value:?}"));
        }
    }

    #[test]
    fn inline_strings_hold_up_to_their_capacity() {
        let full = "x".repeat(INLINE_STR_CAPACITY);
        assert_eq!(InlineStr::new(&full).unwrap().as_str(), full);
        assert!(InlineStr::new(&format!("{full}y")).is_none());
        assert_eq!(InlineStr::new("héllo").unwrap().as_str(), "héllo");
        assert!(matches!(
            AttributeValue::copied(&"y".repeat(40)),
            AttributeValue::String(_)
        ));
        assert_eq!(std::mem::size_of::<AttributeValue>(), 32);
    }

    #[test]
    fn a_record_fits_glibc_malloc_s_per_thread_cache() {
        // 1,032 bytes: the largest request glibc's tcache serves.
        assert!(std::mem::size_of::<SpanRecord>() <= 1032);
    }

    #[test]
    fn scopes_are_interned_by_equality() {
        let a = intern_scope(InstrumentationScope::builder("interned-a").build());
        let again = intern_scope(InstrumentationScope::builder("interned-a").build());
        let b = intern_scope(
            InstrumentationScope::builder("interned-a")
                .with_version("1")
                .build(),
        );
        assert!(std::ptr::eq(a, again));
        assert!(!std::ptr::eq(a, b));
    }
}
