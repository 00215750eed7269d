//! `opentelemetry.proto.trace.v1.Span` from `SpanData`, field for field as
//! `From<SpanData> for Span` in `opentelemetry-proto` 0.33.1, and from a
//! [`SpanRecord`], field for field as the `SpanData` it converts to.

use opentelemetry::trace::{SpanContext, SpanId, SpanKind, Status, TraceState};
use opentelemetry_sdk::trace::SpanData;

use crate::common::{
    attributes_len, busy_idle_len, put_attributes, put_busy_idle, put_record_attributes,
    record_attributes_len, same_str, scope_attributes_equal,
};
use crate::enc::{
    delimited_len, fixed32_len, int32_len, opt_bytes_len, put_delimited, put_delimited_header,
    put_fixed32, put_fixed64, put_int32, put_opt_bytes, put_uint32, time_len, to_nanos, uint32_len,
};
use crate::envelope::{Item, ScopeRef};
use crate::record::{RecordEvent, SpanRecord};
use crate::source_block::{cached_source_attributes_len, put_cached_source_attributes};

// Span.
const SPAN_TRACE_ID: u32 = 1;
const SPAN_SPAN_ID: u32 = 2;
const SPAN_TRACE_STATE: u32 = 3;
const SPAN_PARENT_SPAN_ID: u32 = 4;
const SPAN_NAME: u32 = 5;
const SPAN_KIND: u32 = 6;
const SPAN_START: u32 = 7;
const SPAN_END: u32 = 8;
const SPAN_ATTRIBUTES: u32 = 9;
const SPAN_DROPPED_ATTRIBUTES: u32 = 10;
const SPAN_EVENTS: u32 = 11;
const SPAN_DROPPED_EVENTS: u32 = 12;
const SPAN_LINKS: u32 = 13;
const SPAN_DROPPED_LINKS: u32 = 14;
const SPAN_STATUS: u32 = 15;
const SPAN_FLAGS: u32 = 16;
// Span.Event.
const EVENT_TIME: u32 = 1;
const EVENT_NAME: u32 = 2;
const EVENT_ATTRIBUTES: u32 = 3;
const EVENT_DROPPED_ATTRIBUTES: u32 = 4;
// Span.Link.
const LINK_TRACE_ID: u32 = 1;
const LINK_SPAN_ID: u32 = 2;
const LINK_TRACE_STATE: u32 = 3;
const LINK_ATTRIBUTES: u32 = 4;
const LINK_DROPPED_ATTRIBUTES: u32 = 5;
const LINK_FLAGS: u32 = 6;
// Status.
const STATUS_MESSAGE: u32 = 2;
const STATUS_CODE: u32 = 3;

/// `SpanFlags.SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK`.
const HAS_IS_REMOTE: u32 = 0x100;
/// `SpanFlags.SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK`.
const IS_REMOTE: u32 = 0x200;

/// `build_span_flags`: the W3C trace flags, and whether the parent (or the
/// linked context) is remote.
#[inline]
fn span_flags(is_remote: bool, context: &SpanContext) -> u32 {
    flags_of(is_remote, context.trace_flags().to_u8())
}

#[inline]
fn flags_of(is_remote: bool, trace_flags: u8) -> u32 {
    let mut flags = u32::from(trace_flags) | HAS_IS_REMOTE;
    if is_remote {
        flags |= IS_REMOTE;
    }
    flags
}

/// `span::SpanKind` numbers.
#[inline]
fn kind_number(kind: &SpanKind) -> i32 {
    match kind {
        SpanKind::Internal => 1,
        SpanKind::Server => 2,
        SpanKind::Client => 3,
        SpanKind::Producer => 4,
        SpanKind::Consumer => 5,
    }
}

/// `status::StatusCode` and the message (only an error has one).
#[inline]
fn status_parts(status: &Status) -> (i32, &str) {
    match status {
        Status::Unset => (0, ""),
        Status::Ok => (1, ""),
        Status::Error { description } => (2, description),
    }
}

/// The length of `TraceState::header()` (`k=v` joined by `,`), computed
/// without building the string.
#[inline]
fn trace_state_len(state: &TraceState) -> usize {
    let mut len = 0;
    let mut members: usize = 0;
    for (key, value) in state {
        len += key.len() + 1 + value.len();
        members += 1;
    }
    len + members.saturating_sub(1)
}

/// The trace state header as a proto3 string field (absent when empty).
#[inline]
fn trace_state_field_len(tag: u32, state: &TraceState) -> usize {
    match trace_state_len(state) {
        0 => 0,
        len => delimited_len(tag, len),
    }
}

fn put_trace_state_field(tag: u32, state: &TraceState, out: &mut Vec<u8>) {
    let len = trace_state_len(state);
    if len == 0 {
        return;
    }
    put_delimited_header(tag, len, out);
    for (index, (key, value)) in state.into_iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        out.extend_from_slice(key.as_bytes());
        out.push(b'=');
        out.extend_from_slice(value.as_bytes());
    }
}

fn event_len(event: &opentelemetry::trace::Event) -> usize {
    time_len(EVENT_TIME, event.timestamp)
        + opt_bytes_len(EVENT_NAME, event.name.as_bytes())
        + attributes_len(EVENT_ATTRIBUTES, event.attributes.iter())
        + uint32_len(EVENT_DROPPED_ATTRIBUTES, event.dropped_attributes_count)
}

fn put_event(event: &opentelemetry::trace::Event, out: &mut Vec<u8>) {
    put_fixed64(EVENT_TIME, to_nanos(event.timestamp), out);
    put_opt_bytes(EVENT_NAME, event.name.as_bytes(), out);
    put_attributes(EVENT_ATTRIBUTES, event.attributes.iter(), out);
    put_uint32(
        EVENT_DROPPED_ATTRIBUTES,
        event.dropped_attributes_count,
        out,
    );
}

fn link_len(link: &opentelemetry::trace::Link) -> usize {
    let context = &link.span_context;
    delimited_len(LINK_TRACE_ID, 16)
        + delimited_len(LINK_SPAN_ID, 8)
        + trace_state_field_len(LINK_TRACE_STATE, context.trace_state())
        + attributes_len(LINK_ATTRIBUTES, link.attributes.iter())
        + uint32_len(LINK_DROPPED_ATTRIBUTES, link.dropped_attributes_count)
        + fixed32_len(LINK_FLAGS, span_flags(context.is_remote(), context))
}

fn put_link(link: &opentelemetry::trace::Link, out: &mut Vec<u8>) {
    let context = &link.span_context;
    put_delimited(LINK_TRACE_ID, &context.trace_id().to_bytes(), out);
    put_delimited(LINK_SPAN_ID, &context.span_id().to_bytes(), out);
    put_trace_state_field(LINK_TRACE_STATE, context.trace_state(), out);
    put_attributes(LINK_ATTRIBUTES, link.attributes.iter(), out);
    put_uint32(LINK_DROPPED_ATTRIBUTES, link.dropped_attributes_count, out);
    put_fixed32(LINK_FLAGS, span_flags(context.is_remote(), context), out);
}

fn status_len(status: &Status) -> usize {
    let (code, message) = status_parts(status);
    opt_bytes_len(STATUS_MESSAGE, message.as_bytes()) + int32_len(STATUS_CODE, code)
}

/// The parent span id field: empty (absent) for a root span.
#[inline]
fn parent_id(parent: SpanId) -> Option<[u8; 8]> {
    (parent != SpanId::INVALID).then(|| parent.to_bytes())
}

impl<'a> Item<'a> for &'a SpanData {
    fn scope(self) -> ScopeRef<'a> {
        ScopeRef {
            scope: &self.instrumentation_scope,
            name: self.instrumentation_scope.name(),
        }
    }

    /// `InstrumentationScope`'s `PartialEq`, the reference's grouping key.
    fn same_scope(a: ScopeRef<'a>, b: ScopeRef<'a>) -> bool {
        same_scope(a, b)
    }

    fn encoded_len(self) -> usize {
        let span = self;
        let context = &span.span_context;
        delimited_len(SPAN_TRACE_ID, 16)
            + delimited_len(SPAN_SPAN_ID, 8)
            + trace_state_field_len(SPAN_TRACE_STATE, context.trace_state())
            + parent_id(span.parent_span_id).map_or(0, |_| delimited_len(SPAN_PARENT_SPAN_ID, 8))
            + opt_bytes_len(SPAN_NAME, span.name.as_bytes())
            + int32_len(SPAN_KIND, kind_number(&span.span_kind))
            + time_len(SPAN_START, span.start_time)
            + time_len(SPAN_END, span.end_time)
            + attributes_len(SPAN_ATTRIBUTES, span.attributes.iter())
            + uint32_len(SPAN_DROPPED_ATTRIBUTES, span.dropped_attributes_count)
            + span
                .events
                .iter()
                .map(|event| delimited_len(SPAN_EVENTS, event_len(event)))
                .sum::<usize>()
            + uint32_len(SPAN_DROPPED_EVENTS, span.events.dropped_count)
            + links_len(span.links.iter())
            + uint32_len(SPAN_DROPPED_LINKS, span.links.dropped_count)
            // The status is always present, even when it is Unset.
            + delimited_len(SPAN_STATUS, status_len(&span.status))
            + fixed32_len(SPAN_FLAGS, span_flags(span.parent_span_is_remote, context))
    }

    fn encode(self, out: &mut Vec<u8>) {
        let span = self;
        let context = &span.span_context;
        put_delimited(SPAN_TRACE_ID, &context.trace_id().to_bytes(), out);
        put_delimited(SPAN_SPAN_ID, &context.span_id().to_bytes(), out);
        put_trace_state_field(SPAN_TRACE_STATE, context.trace_state(), out);
        if let Some(parent) = parent_id(span.parent_span_id) {
            put_delimited(SPAN_PARENT_SPAN_ID, &parent, out);
        }
        put_opt_bytes(SPAN_NAME, span.name.as_bytes(), out);
        put_int32(SPAN_KIND, kind_number(&span.span_kind), out);
        put_fixed64(SPAN_START, to_nanos(span.start_time), out);
        put_fixed64(SPAN_END, to_nanos(span.end_time), out);
        put_attributes(SPAN_ATTRIBUTES, span.attributes.iter(), out);
        put_uint32(SPAN_DROPPED_ATTRIBUTES, span.dropped_attributes_count, out);
        for event in span.events.iter() {
            put_delimited_header(SPAN_EVENTS, event_len(event), out);
            put_event(event, out);
        }
        put_uint32(SPAN_DROPPED_EVENTS, span.events.dropped_count, out);
        put_links(span.links.iter(), out);
        put_uint32(SPAN_DROPPED_LINKS, span.links.dropped_count, out);
        put_status(&span.status, out);
        put_fixed32(
            SPAN_FLAGS,
            span_flags(span.parent_span_is_remote, context),
            out,
        );
    }
}

/// `InstrumentationScope`'s `PartialEq`, the reference's grouping key; the
/// same scope in memory (a record's interned scope) is equal at once, unless
/// a NaN attribute makes it unequal to itself, as it is for the reference.
#[inline]
fn same_scope(a: ScopeRef<'_>, b: ScopeRef<'_>) -> bool {
    if std::ptr::eq(a.scope, b.scope) {
        return a.scope.attributes().all(|kv| equal_to_itself(&kv.value));
    }
    same_str(a.scope.name(), b.scope.name())
        && a.scope.version().is_some() == b.scope.version().is_some()
        && same_str(
            a.scope.version().unwrap_or_default(),
            b.scope.version().unwrap_or_default(),
        )
        && a.scope.schema_url().is_some() == b.scope.schema_url().is_some()
        && same_str(
            a.scope.schema_url().unwrap_or_default(),
            b.scope.schema_url().unwrap_or_default(),
        )
        && scope_attributes_equal(a.scope, b.scope)
}

/// Whether `value == value`: false only for a NaN double, alone or in an
/// array.
fn equal_to_itself(value: &opentelemetry::Value) -> bool {
    match value {
        opentelemetry::Value::F64(value) => !value.is_nan(),
        opentelemetry::Value::Array(opentelemetry::Array::F64(values)) => {
            values.iter().all(|value| !value.is_nan())
        }
        _ => true,
    }
}

fn links_len<'a>(links: impl Iterator<Item = &'a opentelemetry::trace::Link>) -> usize {
    links
        .map(|link| delimited_len(SPAN_LINKS, link_len(link)))
        .sum()
}

fn put_links<'a>(links: impl Iterator<Item = &'a opentelemetry::trace::Link>, out: &mut Vec<u8>) {
    for link in links {
        put_delimited_header(SPAN_LINKS, link_len(link), out);
        put_link(link, out);
    }
}

fn put_status(status: &Status, out: &mut Vec<u8>) {
    let (code, message) = status_parts(status);
    put_delimited_header(SPAN_STATUS, status_len(status), out);
    put_opt_bytes(STATUS_MESSAGE, message.as_bytes(), out);
    put_int32(STATUS_CODE, code, out);
}

fn record_event_len(event: &RecordEvent) -> usize {
    time_len(EVENT_TIME, event.time)
        + opt_bytes_len(EVENT_NAME, event.name.as_bytes())
        + record_attributes_len(EVENT_ATTRIBUTES, &event.attributes)
        + uint32_len(EVENT_DROPPED_ATTRIBUTES, event.dropped_attributes_count)
}

fn put_record_event(event: &RecordEvent, out: &mut Vec<u8>) {
    put_fixed64(EVENT_TIME, to_nanos(event.time), out);
    put_opt_bytes(EVENT_NAME, event.name.as_bytes(), out);
    put_record_attributes(EVENT_ATTRIBUTES, &event.attributes, out);
    put_uint32(
        EVENT_DROPPED_ATTRIBUTES,
        event.dropped_attributes_count,
        out,
    );
}

/// A record, field for field as the `SpanData` it converts to.
impl<'a> Item<'a> for &'a SpanRecord {
    fn scope(self) -> ScopeRef<'a> {
        ScopeRef {
            scope: self.scope,
            name: self.scope.name(),
        }
    }

    fn same_scope(a: ScopeRef<'a>, b: ScopeRef<'a>) -> bool {
        same_scope(a, b)
    }

    fn encoded_len(self) -> usize {
        let span = self;
        delimited_len(SPAN_TRACE_ID, 16)
            + delimited_len(SPAN_SPAN_ID, 8)
            + trace_state_field_len(SPAN_TRACE_STATE, &span.trace_state)
            + parent_id(span.parent_span_id).map_or(0, |_| delimited_len(SPAN_PARENT_SPAN_ID, 8))
            + opt_bytes_len(SPAN_NAME, span.name.as_bytes())
            + int32_len(SPAN_KIND, kind_number(&span.kind))
            + time_len(SPAN_START, span.start_time)
            + time_len(SPAN_END, span.end_time)
            + cached_source_attributes_len(SPAN_ATTRIBUTES, &span.source)
            + record_attributes_len(SPAN_ATTRIBUTES, &span.attributes)
            + busy_idle_len(SPAN_ATTRIBUTES, span.busy_idle.as_ref())
            + uint32_len(SPAN_DROPPED_ATTRIBUTES, span.dropped_attributes_count)
            + span
                .events
                .iter()
                .map(|event| delimited_len(SPAN_EVENTS, record_event_len(event)))
                .sum::<usize>()
            + uint32_len(SPAN_DROPPED_EVENTS, span.dropped_events_count)
            + links_len(span.links.iter())
            + uint32_len(SPAN_DROPPED_LINKS, span.dropped_links_count)
            + delimited_len(SPAN_STATUS, status_len(&span.status))
            + fixed32_len(
                SPAN_FLAGS,
                flags_of(span.parent_is_remote, span.trace_flags.to_u8()),
            )
    }

    fn encode(self, out: &mut Vec<u8>) {
        let span = self;
        put_delimited(SPAN_TRACE_ID, &span.trace_id.to_bytes(), out);
        put_delimited(SPAN_SPAN_ID, &span.span_id.to_bytes(), out);
        put_trace_state_field(SPAN_TRACE_STATE, &span.trace_state, out);
        if let Some(parent) = parent_id(span.parent_span_id) {
            put_delimited(SPAN_PARENT_SPAN_ID, &parent, out);
        }
        put_opt_bytes(SPAN_NAME, span.name.as_bytes(), out);
        put_int32(SPAN_KIND, kind_number(&span.kind), out);
        put_fixed64(SPAN_START, to_nanos(span.start_time), out);
        put_fixed64(SPAN_END, to_nanos(span.end_time), out);
        put_cached_source_attributes(SPAN_ATTRIBUTES, &span.source, out);
        put_record_attributes(SPAN_ATTRIBUTES, &span.attributes, out);
        put_busy_idle(SPAN_ATTRIBUTES, span.busy_idle.as_ref(), out);
        put_uint32(SPAN_DROPPED_ATTRIBUTES, span.dropped_attributes_count, out);
        for event in &span.events {
            put_delimited_header(SPAN_EVENTS, record_event_len(event), out);
            put_record_event(event, out);
        }
        put_uint32(SPAN_DROPPED_EVENTS, span.dropped_events_count, out);
        put_links(span.links.iter(), out);
        put_uint32(SPAN_DROPPED_LINKS, span.dropped_links_count, out);
        put_status(&span.status, out);
        put_fixed32(
            SPAN_FLAGS,
            flags_of(span.parent_is_remote, span.trace_flags.to_u8()),
            out,
        );
    }
}
