//! The telemetry the round-trip tests send through the SDK providers, and
//! the checks, field by field, of what the testkit receiver recorded of it.
//!
//! The same trace and the same log records go through otlpkit's gRPC and
//! HTTP exporters and through the official `opentelemetry-otlp` exporter;
//! each test checks here what they all must deliver, and keeps beside the
//! call what only its transport shows (its resource and scope, its counters,
//! its request headers).

use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, Severity};
use opentelemetry::trace::{
    Link, Span as _, SpanContext, SpanId, SpanKind, Status, TraceContextExt as _, TraceFlags,
    TraceId, TraceState, Tracer as _,
};
use opentelemetry::{Array, Context, KeyValue, Value};
use opentelemetry_sdk::logs::SdkLogger;
use opentelemetry_sdk::trace::SdkTracer;
use otlpkit_testkit::proto::common::v1::any_value;
use otlpkit_testkit::proto::logs::v1::SeverityNumber;
use otlpkit_testkit::proto::trace::v1::{span, status};
use otlpkit_testkit::{ReceivedLog, ReceivedSpan, Receiver};

use crate::at;

/// The trace id of the span the child links to.
pub const LINKED_TRACE_ID: [u8; 16] = [0xab; 16];
/// The span id of the span the child links to.
pub const LINKED_SPAN_ID: [u8; 8] = [0xcd; 8];
/// The trace id of the span the first log record was emitted in.
pub const LOG_TRACE_ID: [u8; 16] = [0x11; 16];
/// The span id of the span the first log record was emitted in.
pub const LOG_SPAN_ID: [u8; 8] = [0x22; 8];

/// The span contexts of the trace [`emit_parent_and_child`] ended.
#[derive(Debug, Clone)]
pub struct ParentAndChild {
    /// The root: `parent`, a server span.
    pub parent: SpanContext,
    /// `child`, a client span under `parent`.
    pub child: SpanContext,
}

/// Ends a trace of two spans with every kind of attribute value, an event
/// with and one without attributes, a link with a trace state and an
/// attribute, statuses, and explicit timestamps:
///
/// - `parent` (server, ok), from `…000_000_001` to `…300_000_000` ns, with
///   `http.request.method` = `GET`, `count` = 42, `big` = `i64::MAX`,
///   `ratio` = 0.25, `cached` = true, `tags` = `["a", "b"]`;
/// - `child` (client, error `backend down`), from `…100_000_000` to
///   `…200_000_000` ns, events `cache miss` (`key` = `user:1`, at
///   `…150_000_000`) and `retry` (at `…160_000_000`), linked to
///   [`LINKED_TRACE_ID`]/[`LINKED_SPAN_ID`] (remote, `vendor=value`) with
///   `link.kind` = `follows`.
pub fn emit_parent_and_child(tracer: &SdkTracer) -> ParentAndChild {
    let linked = SpanContext::new(
        TraceId::from_bytes(LINKED_TRACE_ID),
        SpanId::from_bytes(LINKED_SPAN_ID),
        TraceFlags::SAMPLED,
        true,
        TraceState::from_key_value([("vendor", "value")]).expect("a valid trace state"),
    );
    let parent = tracer
        .span_builder("parent")
        .with_kind(SpanKind::Server)
        .with_start_time(at(1_700_000_000_000_000_001))
        .with_attributes([
            KeyValue::new("http.request.method", "GET"),
            KeyValue::new("count", 42_i64),
            KeyValue::new("big", i64::MAX),
            KeyValue::new("ratio", 0.25),
            KeyValue::new("cached", true),
            KeyValue::new(
                "tags",
                Value::Array(Array::String(vec!["a".into(), "b".into()])),
            ),
        ])
        .start(tracer);
    let parent_cx = Context::current_with_span(parent);
    let mut child = tracer
        .span_builder("child")
        .with_kind(SpanKind::Client)
        .with_start_time(at(1_700_000_000_100_000_000))
        .with_links(vec![Link::new(
            linked,
            vec![KeyValue::new("link.kind", "follows")],
            0,
        )])
        .start_with_context(tracer, &parent_cx);
    child.add_event_with_timestamp(
        "cache miss",
        at(1_700_000_000_150_000_000),
        vec![KeyValue::new("key", "user:1")],
    );
    child.add_event_with_timestamp("retry", at(1_700_000_000_160_000_000), vec![]);
    child.set_status(Status::error("backend down"));
    let child_sc = child.span_context().clone();
    child.end_with_timestamp(at(1_700_000_000_200_000_000));
    let parent_sc = parent_cx.span().span_context().clone();
    parent_cx.span().set_status(Status::Ok);
    parent_cx
        .span()
        .end_with_timestamp(at(1_700_000_000_300_000_000));
    ParentAndChild {
        parent: parent_sc,
        child: child_sc,
    }
}

/// Checks what every transport must deliver of the trace
/// [`emit_parent_and_child`] sent: ids and the parent relation, timestamps
/// to the nanosecond, kinds, the child's status, the parent's attributes of
/// every type, the W3C sampled flag, the event's time, the link's ids and
/// trace state. Returns the received parent and child for the caller's own
/// checks. `case` names the case in every failure.
pub fn assert_parent_and_child(
    receiver: &Receiver,
    sent: &ParentAndChild,
    case: &str,
) -> (ReceivedSpan, ReceivedSpan) {
    let p = receiver
        .span("parent")
        .unwrap_or_else(|| panic!("{case}: no span `parent`"));
    let c = receiver
        .span("child")
        .unwrap_or_else(|| panic!("{case}: no span `child`"));
    // Ids and the parent relation.
    assert_eq!(p.span.trace_id, sent.parent.trace_id().to_bytes(), "{case}");
    assert_eq!(p.span.span_id, sent.parent.span_id().to_bytes(), "{case}");
    assert!(p.span.parent_span_id.is_empty(), "{case}");
    assert_eq!(c.span.trace_id, sent.child.trace_id().to_bytes(), "{case}");
    assert_eq!(c.span.span_id, sent.child.span_id().to_bytes(), "{case}");
    assert_eq!(
        c.span.parent_span_id,
        sent.parent.span_id().to_bytes(),
        "{case}"
    );
    assert_eq!(
        receiver
            .span_tree(sent.parent.trace_id().to_bytes())
            .outline(),
        "parent\n  child\n",
        "{case}"
    );
    // Timestamps, to the nanosecond: the parent's start and end, the child's.
    assert_eq!(
        [
            p.span.start_time_unix_nano,
            p.span.end_time_unix_nano,
            c.span.start_time_unix_nano,
            c.span.end_time_unix_nano,
        ],
        [
            1_700_000_000_000_000_001,
            1_700_000_000_300_000_000,
            1_700_000_000_100_000_000,
            1_700_000_000_200_000_000,
        ],
        "{case}"
    );
    // Kind, status, attributes of every type.
    assert_eq!(p.kind(), span::SpanKind::Server, "{case}");
    assert_eq!(c.kind(), span::SpanKind::Client, "{case}");
    assert_eq!(c.status_code(), status::StatusCode::Error, "{case}");
    assert_eq!(
        c.span.status.as_ref().map(|s| s.message.as_str()),
        Some("backend down"),
        "{case}"
    );
    assert_eq!(
        p.attribute_str("http.request.method"),
        Some("GET"),
        "{case}"
    );
    for (key, value) in [
        ("count", any_value::Value::IntValue(42)),
        ("ratio", any_value::Value::DoubleValue(0.25)),
        ("cached", any_value::Value::BoolValue(true)),
    ] {
        assert_eq!(p.attribute(key), Some(&value), "{case}: {key}");
    }
    let Some(any_value::Value::ArrayValue(tags)) = p.attribute("tags") else {
        panic!("{case}: tags is not an array: {:?}", p.attribute("tags"));
    };
    assert_eq!(tags.values.len(), 2, "{case}");
    // checklist 2.16: the W3C sampled bit in the low byte of the flags.
    assert_eq!(p.span.flags & 0xff, 1, "{case}");
    // Events and links.
    let event = c
        .event("cache miss")
        .unwrap_or_else(|| panic!("{case}: no event `cache miss`"));
    assert_eq!(event.time_unix_nano, 1_700_000_000_150_000_000, "{case}");
    let link = c
        .span
        .links
        .first()
        .unwrap_or_else(|| panic!("{case}: the child has no link"));
    assert_eq!(link.trace_id, LINKED_TRACE_ID, "{case}");
    assert_eq!(link.span_id, LINKED_SPAN_ID, "{case}");
    assert_eq!(link.trace_state, "vendor=value", "{case}");
    (p, c)
}

/// Emits two log records:
///
/// - `disk almost full` (WARN, event `disk.alert`), timestamp
///   `…000_000_007` ns, observed `…000_000_009` ns, attributes `disk` =
///   `/dev/sda` and `free.bytes` = 1024, in the sampled span
///   [`LOG_TRACE_ID`]/[`LOG_SPAN_ID`];
/// - an integer body, -5, at severity ERROR2.
pub fn emit_disk_alert_logs(logger: &SdkLogger) {
    let mut record = logger.create_log_record();
    record.set_timestamp(at(1_700_000_000_000_000_007));
    record.set_observed_timestamp(at(1_700_000_000_000_000_009));
    record.set_severity_number(Severity::Warn);
    record.set_severity_text("WARN");
    record.set_body(AnyValue::from("disk almost full"));
    record.set_event_name("disk.alert");
    record.add_attribute("disk", "/dev/sda");
    record.add_attribute("free.bytes", 1024_i64);
    record.set_trace_context(
        TraceId::from_bytes(LOG_TRACE_ID),
        SpanId::from_bytes(LOG_SPAN_ID),
        Some(TraceFlags::SAMPLED),
    );
    logger.emit(record);
    let mut second = logger.create_log_record();
    second.set_severity_number(Severity::Error2);
    second.set_body(AnyValue::Int(-5));
    logger.emit(second);
}

/// Checks what every transport must deliver of the records
/// [`emit_disk_alert_logs`] sent, every field of the first and the body of
/// the second; returns the first for the caller's own checks. `case` names
/// the case in every failure.
pub fn assert_disk_alert_logs<'a>(logs: &'a [ReceivedLog], case: &str) -> &'a ReceivedLog {
    let first = logs
        .iter()
        .find(|l| l.body_str() == Some("disk almost full"))
        .unwrap_or_else(|| panic!("{case}: no record `disk almost full`"));
    assert_eq!(
        first.record.time_unix_nano, 1_700_000_000_000_000_007,
        "{case}"
    );
    assert_eq!(
        first.record.observed_time_unix_nano, 1_700_000_000_000_000_009,
        "{case}"
    );
    assert_eq!(first.severity(), SeverityNumber::Warn, "{case}");
    assert_eq!(first.record.severity_text, "WARN", "{case}");
    assert_eq!(first.record.event_name, "disk.alert", "{case}");
    assert_eq!(first.record.trace_id, LOG_TRACE_ID, "{case}");
    assert_eq!(first.record.span_id, LOG_SPAN_ID, "{case}");
    assert_eq!(first.record.flags & 0xff, 1, "{case}");
    assert_eq!(
        first.attribute("disk"),
        Some(&any_value::Value::StringValue("/dev/sda".into())),
        "{case}"
    );
    assert_eq!(
        first.attribute("free.bytes"),
        Some(&any_value::Value::IntValue(1024)),
        "{case}"
    );
    let second = logs
        .iter()
        .find(|l| l.severity() == SeverityNumber::Error2)
        .unwrap_or_else(|| panic!("{case}: no record at severity ERROR2"));
    assert_eq!(
        second.record.body.as_ref().and_then(|b| b.value.clone()),
        Some(any_value::Value::IntValue(-5)),
        "{case}"
    );
    first
}
