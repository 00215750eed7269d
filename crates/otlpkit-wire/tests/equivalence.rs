//! otlpkit-wire against the reference: `opentelemetry-proto` 0.33.1's
//! `transform` followed by prost's `encode_to_vec`.
//!
//! Requests are compared as bytes: prost writes fields in field-number order
//! and skips proto3 defaults, so equal messages have equal bytes, and a byte
//! comparison also compares NaN doubles exactly (by bits), where a comparison
//! of decoded messages would find `NaN != NaN`. Our bytes are also decoded
//! with prost and re-encoded, to check they are a well-formed request.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry::trace::{
    Event, Link, SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{Array, InstrumentationScope, Key, KeyValue, StringValue, Value};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::logs::tonic::group_logs_by_resource_and_scope;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::logs::{LogBatch, SdkLogRecord, SdkLoggerProvider};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};
use otlpkit_wire::{EncodedResource, encode_logs, encode_spans};
use proptest::prelude::*;
use prost::Message as _;

// ---------------------------------------------------------------------------
// Reference and comparison helpers.

fn reference_spans(spans: &[SpanData], resource: &Resource) -> Vec<u8> {
    let resource = ResourceAttributesWithSchema::from(resource);
    ExportTraceServiceRequest {
        resource_spans: group_spans_by_resource_and_scope(spans.to_vec(), &resource),
    }
    .encode_to_vec()
}

fn ours_spans(spans: &[SpanData], resource: &Resource) -> Vec<u8> {
    let mut out = Vec::new();
    encode_spans(spans, &EncodedResource::new(resource), &mut out);
    // Well-formed: prost decodes it and writes the same bytes back.
    let decoded = ExportTraceServiceRequest::decode(out.as_slice()).expect("decodes");
    assert_eq!(decoded.encode_to_vec(), out, "re-encoding differs");
    out
}

fn reference_logs_request(
    records: &[(&SdkLogRecord, &InstrumentationScope)],
    resource: &Resource,
) -> ExportLogsServiceRequest {
    let resource = ResourceAttributesWithSchema::from(resource);
    let mut request = ExportLogsServiceRequest {
        resource_logs: group_logs_by_resource_and_scope(&LogBatch::new(records), &resource),
    };
    // Where otlpkit-wire departs from the reference (checklist 2.17): an
    // all-zero trace id is no trace context (ids and flags omitted), an
    // all-zero span id is omitted.
    let zero = |id: &[u8]| id.iter().all(|byte| *byte == 0);
    for record in request
        .resource_logs
        .iter_mut()
        .flat_map(|resource| resource.scope_logs.iter_mut())
        .flat_map(|scope| scope.log_records.iter_mut())
    {
        if zero(&record.trace_id) {
            record.trace_id.clear();
            record.span_id.clear();
            record.flags = 0;
        } else if zero(&record.span_id) {
            record.span_id.clear();
        }
    }
    request
}

fn ours_logs(records: &[(&SdkLogRecord, &InstrumentationScope)], resource: &Resource) -> Vec<u8> {
    let mut out = Vec::new();
    encode_logs(
        &LogBatch::new(records),
        &EncodedResource::new(resource),
        &mut out,
    );
    let decoded = ExportLogsServiceRequest::decode(out.as_slice()).expect("decodes");
    assert_eq!(decoded.encode_to_vec(), out, "re-encoding differs");
    out
}

/// The reference orders scopes by a `HashMap`: sort the `ScopeLogs` of both
/// requests by their bytes, then compare the requests as bytes.
fn assert_logs_equivalent(ours: &[u8], reference: ExportLogsServiceRequest) {
    fn normalise(mut request: ExportLogsServiceRequest) -> Vec<u8> {
        for resource in &mut request.resource_logs {
            resource
                .scope_logs
                .sort_by_cached_key(|scope| scope.encode_to_vec());
        }
        request.encode_to_vec()
    }
    let ours = ExportLogsServiceRequest::decode(ours).expect("decodes");
    assert_eq!(normalise(ours), normalise(reference));
}

// ---------------------------------------------------------------------------
// Fixtures.

const EPOCH_PLUS: fn(u64) -> SystemTime = |nanos| UNIX_EPOCH + Duration::from_nanos(nanos);

fn every_value_kind() -> Vec<KeyValue> {
    vec![
        KeyValue::new("bool.true", true),
        KeyValue::new("bool.false", false),
        KeyValue::new("i64.zero", 0_i64),
        KeyValue::new("i64.min", i64::MIN),
        KeyValue::new("i64.max", i64::MAX),
        KeyValue::new("i64.negative", -1_i64),
        KeyValue::new("f64.zero", 0.0),
        KeyValue::new("f64.negative_zero", -0.0),
        KeyValue::new("f64.nan", f64::NAN),
        KeyValue::new("f64.infinity", f64::INFINITY),
        KeyValue::new("f64.neg_infinity", f64::NEG_INFINITY),
        KeyValue::new("f64.pi", std::f64::consts::PI),
        KeyValue::new("string.empty", ""),
        KeyValue::new("string.unicode", "héllo wörld ✓ 日本語 🦀"),
        KeyValue::new("", "empty key"),
        KeyValue::new("string.long", "x".repeat(300)),
        KeyValue::new("array.bool", Value::Array(Array::Bool(vec![true, false]))),
        KeyValue::new(
            "array.i64",
            Value::Array(Array::I64(vec![i64::MIN, 0, i64::MAX])),
        ),
        KeyValue::new(
            "array.f64",
            Value::Array(Array::F64(vec![f64::NAN, -0.0, 1.5])),
        ),
        KeyValue::new(
            "array.string",
            Value::Array(Array::String(vec![
                StringValue::from(""),
                StringValue::from("ünï"),
            ])),
        ),
        KeyValue::new("array.empty", Value::Array(Array::I64(vec![]))),
    ]
}

fn context(trace: u128, span: u64, flags: u8, remote: bool, state: &[(&str, &str)]) -> SpanContext {
    let state = if state.is_empty() {
        TraceState::default()
    } else {
        TraceState::from_key_value(state.iter().copied()).expect("valid trace state")
    };
    SpanContext::new(
        TraceId::from(trace),
        SpanId::from(span),
        TraceFlags::new(flags),
        remote,
        state,
    )
}

fn span(name: &str, scope: &InstrumentationScope) -> SpanData {
    SpanData {
        span_context: context(0x0102_0304, 0x0506, 1, false, &[]),
        parent_span_id: SpanId::INVALID,
        parent_span_is_remote: false,
        span_kind: SpanKind::Internal,
        name: name.to_owned().into(),
        start_time: EPOCH_PLUS(1_700_000_000_000_000_000),
        end_time: EPOCH_PLUS(1_700_000_000_000_000_999),
        attributes: vec![],
        dropped_attributes_count: 0,
        events: SpanEvents::default(),
        links: SpanLinks::default(),
        status: Status::Unset,
        instrumentation_scope: scope.clone(),
    }
}

fn rich_span(scope: &InstrumentationScope) -> SpanData {
    let mut events = SpanEvents::default();
    events.events = vec![
        Event::new("exception", EPOCH_PLUS(5), every_value_kind(), 3),
        Event::new("", UNIX_EPOCH, vec![], 0),
        // Before the epoch: 0, as the reference.
        Event::new(
            "early",
            UNIX_EPOCH - Duration::from_secs(1),
            vec![KeyValue::new("k", "v")],
            0,
        ),
        // 2⁶⁴ ns after the epoch: the truncated nanoseconds wrap to 0, and
        // the reference leaves the field out.
        Event::new(
            "wraps",
            EPOCH_PLUS(u64::MAX) + Duration::from_nanos(1),
            vec![],
            0,
        ),
    ];
    events.dropped_count = 7;
    let mut links = SpanLinks::default();
    links.links = vec![
        Link::new(
            context(9, 8, 1, true, &[("vendor", "abc"), ("other", "x1")]),
            every_value_kind(),
            2,
        ),
        Link::new(context(0, 0, 0, false, &[]), vec![], 0),
    ];
    links.dropped_count = 1;
    SpanData {
        span_context: context(
            u128::MAX - 1,
            u64::MAX,
            0xff,
            true,
            &[("rojo", "00f067aa0ba902b7"), ("congo", "t61rcWkgMzE")],
        ),
        parent_span_id: SpanId::from(42),
        parent_span_is_remote: true,
        span_kind: SpanKind::Consumer,
        name: "ünïcode span ✓".into(),
        start_time: UNIX_EPOCH - Duration::from_secs(10),
        end_time: EPOCH_PLUS(u64::MAX),
        attributes: every_value_kind(),
        dropped_attributes_count: 11,
        events,
        links,
        status: Status::error("it broke: ✗"),
        instrumentation_scope: scope.clone(),
    }
}

fn rich_scope() -> InstrumentationScope {
    InstrumentationScope::builder("my-lib")
        .with_version("1.2.3")
        .with_schema_url("https://opentelemetry.io/schemas/1.26.0")
        .with_attributes([
            KeyValue::new("scope.attr", 1_i64),
            KeyValue::new("b", "two"),
        ])
        .build()
}

fn rich_resource() -> Resource {
    Resource::builder_empty()
        .with_schema_url(
            [
                KeyValue::new("service.name", "svc"),
                KeyValue::new("host.count", 3_i64),
                KeyValue::new("ratio", f64::NAN),
            ],
            "https://opentelemetry.io/schemas/1.25.0",
        )
        .build()
}

fn provider() -> SdkLoggerProvider {
    SdkLoggerProvider::builder().build()
}

fn record(provider: &SdkLoggerProvider) -> SdkLogRecord {
    let mut record = provider.logger("unused").create_log_record();
    record.set_observed_timestamp(EPOCH_PLUS(1_700_000_000_000_000_123));
    record
}

fn every_log_value_kind() -> AnyValue {
    let mut map = HashMap::new();
    map.insert(Key::from("int"), AnyValue::Int(i64::MIN));
    map.insert(Key::from("double"), AnyValue::Double(f64::NAN));
    map.insert(Key::from(""), AnyValue::String("".into()));
    map.insert(
        Key::from("nested"),
        AnyValue::Map(Box::new(HashMap::from([(
            Key::from("deeper"),
            AnyValue::ListAny(Box::new(vec![AnyValue::Boolean(false)])),
        )]))),
    );
    map.insert(Key::from("empty.map"), AnyValue::Map(Box::default()));
    AnyValue::ListAny(Box::new(vec![
        AnyValue::Int(0),
        AnyValue::Int(i64::MAX),
        AnyValue::Double(-0.0),
        AnyValue::Double(f64::INFINITY),
        AnyValue::String("日本語 🦀".into()),
        AnyValue::String("".into()),
        AnyValue::Boolean(true),
        AnyValue::Bytes(Box::default()),
        AnyValue::Bytes(Box::new(vec![0, 255, 7])),
        AnyValue::ListAny(Box::default()),
        AnyValue::Map(Box::new(map)),
    ]))
}

// ---------------------------------------------------------------------------
// Spans.

#[test]
fn spans_are_byte_identical_to_the_reference() {
    let scope = rich_scope();
    let resource = rich_resource();
    let mut minimal = span("", &scope);
    minimal.status = Status::Ok;
    minimal.span_kind = SpanKind::Server;
    minimal.start_time = UNIX_EPOCH;
    minimal.end_time = UNIX_EPOCH;
    let mut client = span("client", &scope);
    client.span_kind = SpanKind::Client;
    client.parent_span_id = SpanId::from(1);
    let mut producer = span("producer", &scope);
    producer.span_kind = SpanKind::Producer;
    producer.span_context = context(1, 2, 0, true, &[("k", "v")]);
    let batch = vec![
        rich_span(&scope),
        minimal,
        client,
        producer,
        span("plain", &scope),
    ];
    assert_eq!(
        ours_spans(&batch, &resource),
        reference_spans(&batch, &resource)
    );
}

#[test]
fn spans_with_bare_scope_and_empty_resource_are_byte_identical() {
    let scope = InstrumentationScope::builder("").build();
    let resource = Resource::builder_empty().build();
    let batch = vec![span("a", &scope), rich_span(&scope)];
    assert_eq!(
        ours_spans(&batch, &resource),
        reference_spans(&batch, &resource)
    );
    assert_eq!(EncodedResource::new(&resource), EncodedResource::default());
}

#[test]
fn span_scopes_keep_first_seen_order_and_input_order() {
    // The reference pushes scopes in first-seen order too, so even a
    // multi-scope batch is byte-identical.
    let a = InstrumentationScope::builder("a").build();
    let b = InstrumentationScope::builder("b").with_version("1").build();
    let b_attributes_reordered = InstrumentationScope::builder("b").with_version("1").build();
    let c = InstrumentationScope::builder("a")
        .with_attributes([KeyValue::new("x", 1), KeyValue::new("y", 2)])
        .build();
    let c_reordered = InstrumentationScope::builder("a")
        .with_attributes([KeyValue::new("y", 2), KeyValue::new("x", 1)])
        .build();
    // `with_version("")` differs from no version in the SDK's equality.
    let a_empty_version = InstrumentationScope::builder("a").with_version("").build();
    let batch = vec![
        span("1", &b),
        span("2", &a),
        span("3", &c),
        span("4", &b_attributes_reordered),
        span("5", &c_reordered),
        span("6", &a_empty_version),
        span("7", &a),
    ];
    let resource = Resource::builder_empty().build();
    let ours = ours_spans(&batch, &resource);
    assert_eq!(ours, reference_spans(&batch, &resource));
    let decoded = ExportTraceServiceRequest::decode(ours.as_slice()).unwrap();
    let names: Vec<Vec<&str>> = decoded.resource_spans[0]
        .scope_spans
        .iter()
        .map(|scope| scope.spans.iter().map(|span| span.name.as_str()).collect())
        .collect();
    assert_eq!(
        names,
        vec![vec!["1", "4"], vec!["2", "7"], vec!["3", "5"], vec!["6"]]
    );
}

#[test]
fn empty_span_batch_is_a_resource_envelope_without_scopes() {
    // Like the reference: one ResourceSpans with the resource, no ScopeSpans.
    for resource in [rich_resource(), Resource::builder_empty().build()] {
        let ours = ours_spans(&[], &resource);
        assert_eq!(ours, reference_spans(&[], &resource));
        let decoded = ExportTraceServiceRequest::decode(ours.as_slice()).unwrap();
        assert_eq!(decoded.resource_spans.len(), 1);
        assert!(decoded.resource_spans[0].scope_spans.is_empty());
    }
    // The empty resource: field 1 { field 1 {} } = 4 bytes.
    let mut out = Vec::new();
    encode_spans(&[], &EncodedResource::default(), &mut out);
    assert_eq!(out, [0x0a, 0x02, 0x0a, 0x00]);
}

#[test]
fn encoding_appends_to_the_buffer() {
    let scope = rich_scope();
    let resource = rich_resource();
    let batch = vec![rich_span(&scope)];
    let mut out = b"prefix".to_vec();
    encode_spans(&batch, &EncodedResource::new(&resource), &mut out);
    assert_eq!(&out[..6], b"prefix");
    assert_eq!(&out[6..], reference_spans(&batch, &resource).as_slice());
}

// ---------------------------------------------------------------------------
// Logs.

#[test]
fn logs_are_byte_identical_to_the_reference() {
    let provider = provider();
    let scope = rich_scope();
    let resource = rich_resource();

    let mut full = record(&provider);
    full.set_timestamp(EPOCH_PLUS(1_700_000_000_000_000_000));
    full.set_severity_number(Severity::Fatal4);
    full.set_severity_text("FATAL ✗");
    full.set_body(every_log_value_kind());
    full.set_event_name("my.event");
    full.set_trace_context(
        TraceId::from(u128::MAX),
        SpanId::from(7),
        Some(TraceFlags::SAMPLED),
    );
    full.add_attribute("int", i64::MAX);
    full.add_attribute("double", f64::NAN);
    full.add_attribute("string", "ünï");
    full.add_attribute("", "");
    full.add_attribute("bytes", AnyValue::Bytes(Box::new(vec![1, 2, 3])));
    full.add_attribute("nested", every_log_value_kind());

    let mut no_flags = record(&provider);
    no_flags.set_trace_context(TraceId::from(1), SpanId::from(2), None);
    no_flags.set_body(AnyValue::String("".into()));
    no_flags.set_severity_number(Severity::Trace);

    let mut before_epoch = record(&provider);
    before_epoch.set_timestamp(UNIX_EPOCH - Duration::from_secs(3));
    before_epoch.set_observed_timestamp(UNIX_EPOCH);
    before_epoch.set_body(AnyValue::Int(0));

    let bare = record(&provider);

    let records = [
        (&full, &scope),
        (&no_flags, &scope),
        (&before_epoch, &scope),
        (&bare, &scope),
    ];
    let ours = ours_logs(&records, &resource);
    assert_eq!(
        ours,
        reference_logs_request(&records, &resource).encode_to_vec()
    );
}

#[test]
fn every_severity_maps_to_its_number() {
    let provider = provider();
    let scope = InstrumentationScope::builder("s").build();
    let resource = Resource::builder_empty().build();
    // All 24 severity numbers, through the same table the proptests use.
    let records: Vec<SdkLogRecord> = (1..=24)
        .map(|number| {
            let mut record = record(&provider);
            record.set_severity_number(severity(number));
            record
        })
        .collect();
    let pairs: Vec<_> = records.iter().map(|record| (record, &scope)).collect();
    assert_eq!(
        ours_logs(&pairs, &resource),
        reference_logs_request(&pairs, &resource).encode_to_vec()
    );
}

#[test]
fn log_scopes_group_by_target_in_first_seen_order() {
    let provider = provider();
    let resource = rich_resource();
    let lib = InstrumentationScope::builder("lib").build();
    // No version and an empty version are the same key for logs.
    let lib_empty_version = InstrumentationScope::builder("lib")
        .with_version("")
        .with_schema_url("")
        .build();
    let other = InstrumentationScope::builder("other")
        .with_version("2")
        .with_schema_url("https://example.com/schema")
        .with_attributes([KeyValue::new("k", "v")])
        .build();

    let mut records = Vec::new();
    for (index, target) in [
        Some("app::db"),
        None,
        Some("app::db"),
        None,
        Some("lib"),
        None,
        Some(""),
    ]
    .into_iter()
    .enumerate()
    {
        let mut record = record(&provider);
        record.add_attribute("seq", index as i64);
        if let Some(target) = target {
            record.set_target(target);
        }
        records.push(record);
    }
    let scopes = [
        &lib,
        &lib_empty_version,
        &lib,
        &other,
        &lib_empty_version,
        &other,
        &other,
    ];
    let pairs: Vec<_> = records.iter().zip(scopes).collect();
    let ours = ours_logs(&pairs, &resource);
    assert_logs_equivalent(&ours, reference_logs_request(&pairs, &resource));

    let decoded = ExportLogsServiceRequest::decode(ours.as_slice()).unwrap();
    let groups: Vec<(String, Vec<i64>)> = decoded.resource_logs[0]
        .scope_logs
        .iter()
        .map(|scope| {
            let seqs = scope
                .log_records
                .iter()
                .map(
                    |record| match record.attributes[0].value.as_ref().unwrap().value {
                        Some(
                            opentelemetry_proto::tonic::common::v1::any_value::Value::IntValue(seq),
                        ) => seq,
                        _ => panic!("no seq"),
                    },
                )
                .collect();
            (scope.scope.as_ref().unwrap().name.clone(), seqs)
        })
        .collect();
    assert_eq!(
        groups,
        vec![
            ("app::db".to_owned(), vec![0, 2]),
            ("lib".to_owned(), vec![1, 4]),
            ("other".to_owned(), vec![3, 5]),
            (String::new(), vec![6]),
        ]
    );
}

#[test]
fn empty_log_batch_is_a_resource_envelope_without_scopes() {
    let resource = rich_resource();
    let ours = ours_logs(&[], &resource);
    assert_eq!(ours, reference_logs_request(&[], &resource).encode_to_vec());
    let decoded = ExportLogsServiceRequest::decode(ours.as_slice()).unwrap();
    assert_eq!(decoded.resource_logs.len(), 1);
    assert!(decoded.resource_logs[0].scope_logs.is_empty());
}

#[test]
fn log_record_without_observed_timestamp_does_not_panic() {
    // The reference panics here; the SDK always sets the field.
    let provider = provider();
    let scope = InstrumentationScope::builder("s").build();
    let record = provider.logger("s").create_log_record();
    let mut out = Vec::new();
    encode_logs(
        &LogBatch::new(&[(&record, &scope)]),
        &EncodedResource::default(),
        &mut out,
    );
    let decoded = ExportLogsServiceRequest::decode(out.as_slice()).unwrap();
    let record = &decoded.resource_logs[0].scope_logs[0].log_records[0];
    assert_eq!(record.observed_time_unix_nano, 0);
}

// ---------------------------------------------------------------------------
// Property tests.

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[a-z.]{1,8}",
        any::<String>().prop_map(|s| s.chars().take(12).collect()),
    ]
}

fn int() -> impl Strategy<Value = i64> {
    prop_oneof![
        Just(i64::MIN),
        Just(i64::MAX),
        Just(0),
        Just(-1),
        any::<i64>()
    ]
}

fn double() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(f64::NAN),
        Just(-f64::NAN),
        Just(f64::INFINITY),
        Just(-0.0),
        any::<f64>(),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<bool>().prop_map(Value::Bool),
        int().prop_map(Value::I64),
        double().prop_map(Value::F64),
        text().prop_map(|s| Value::String(s.into())),
        prop::collection::vec(any::<bool>(), 0..4).prop_map(|v| Value::Array(Array::Bool(v))),
        prop::collection::vec(int(), 0..4).prop_map(|v| Value::Array(Array::I64(v))),
        prop::collection::vec(double(), 0..4).prop_map(|v| Value::Array(Array::F64(v))),
        prop::collection::vec(text(), 0..4).prop_map(|v| Value::Array(Array::String(
            v.into_iter().map(StringValue::from).collect()
        ))),
    ]
}

fn attributes(max: usize) -> impl Strategy<Value = Vec<KeyValue>> {
    prop::collection::vec(
        (text(), value()).prop_map(|(key, value)| KeyValue::new(key, value)),
        0..max,
    )
}

fn count() -> impl Strategy<Value = u32> {
    prop_oneof![Just(0), any::<u32>()]
}

fn time() -> impl Strategy<Value = SystemTime> {
    prop_oneof![
        Just(UNIX_EPOCH),
        any::<u64>().prop_map(EPOCH_PLUS),
        (1..u32::MAX as u64).prop_map(|secs| UNIX_EPOCH - Duration::from_secs(secs)),
        // Around 2⁶⁴ ns after the epoch, where the truncated nanoseconds wrap
        // (to 0 at exactly 2⁶⁴).
        (0..4u64).prop_map(|past| EPOCH_PLUS(u64::MAX) + Duration::from_nanos(past)),
    ]
}

fn trace_state() -> impl Strategy<Value = TraceState> {
    prop::collection::vec(("[a-z][a-z0-9_]{0,6}", "[a-zA-Z0-9]{1,6}"), 0..3)
        .prop_map(|members| TraceState::from_key_value(members).unwrap_or_default())
}

fn span_context() -> impl Strategy<Value = SpanContext> {
    (
        any::<u128>(),
        any::<u64>(),
        any::<u8>(),
        any::<bool>(),
        trace_state(),
    )
        .prop_map(|(trace, span, flags, remote, state)| {
            SpanContext::new(
                TraceId::from(trace),
                SpanId::from(span),
                TraceFlags::new(flags),
                remote,
                state,
            )
        })
}

fn scope() -> impl Strategy<Value = InstrumentationScope> {
    (
        text(),
        prop::option::of(text()),
        prop::option::of(text()),
        attributes(3),
    )
        .prop_map(|(name, version, schema_url, attributes)| {
            let mut builder = InstrumentationScope::builder(name);
            if let Some(version) = version {
                builder = builder.with_version(version);
            }
            if let Some(schema_url) = schema_url {
                builder = builder.with_schema_url(schema_url);
            }
            if !attributes.is_empty() {
                builder = builder.with_attributes(attributes);
            }
            builder.build()
        })
}

fn resource() -> impl Strategy<Value = Resource> {
    (attributes(4), prop::option::of(text())).prop_map(
        |(attributes, schema_url)| match schema_url {
            Some(url) => Resource::builder_empty()
                .with_schema_url(attributes, url)
                .build(),
            None => Resource::builder_empty()
                .with_attributes(attributes)
                .build(),
        },
    )
}

fn status() -> impl Strategy<Value = Status> {
    prop_oneof![
        Just(Status::Unset),
        Just(Status::Ok),
        text().prop_map(Status::error),
    ]
}

fn kind() -> impl Strategy<Value = SpanKind> {
    prop_oneof![
        Just(SpanKind::Internal),
        Just(SpanKind::Server),
        Just(SpanKind::Client),
        Just(SpanKind::Producer),
        Just(SpanKind::Consumer),
    ]
}

/// A span; its scope is picked from the batch's scopes by the caller.
fn span_data() -> impl Strategy<Value = (SpanData, prop::sample::Index)> {
    let events = prop::collection::vec(
        (text(), time(), attributes(3), count()).prop_map(|(name, time, attributes, dropped)| {
            Event::new(name, time, attributes, dropped)
        }),
        0..3,
    );
    let links = prop::collection::vec(
        (span_context(), attributes(3), count())
            .prop_map(|(context, attributes, dropped)| Link::new(context, attributes, dropped)),
        0..3,
    );
    (
        (
            span_context(),
            prop::option::of(any::<u64>()),
            any::<bool>(),
            kind(),
            text(),
        ),
        (time(), time(), attributes(6), count()),
        (events, count(), links, count(), status()),
        any::<prop::sample::Index>(),
    )
        .prop_map(
            |(
                (context, parent, parent_remote, kind, name),
                (start, end, attributes, dropped_attributes),
                (events, dropped_events, links, dropped_links, status),
                scope_index,
            )| {
                let mut span_events = SpanEvents::default();
                span_events.events = events;
                span_events.dropped_count = dropped_events;
                let mut span_links = SpanLinks::default();
                span_links.links = links;
                span_links.dropped_count = dropped_links;
                let span = SpanData {
                    span_context: context,
                    parent_span_id: parent.map_or(SpanId::INVALID, SpanId::from),
                    parent_span_is_remote: parent_remote,
                    span_kind: kind,
                    name: name.into(),
                    start_time: start,
                    end_time: end,
                    attributes,
                    dropped_attributes_count: dropped_attributes,
                    events: span_events,
                    links: span_links,
                    status,
                    instrumentation_scope: InstrumentationScope::default(),
                };
                (span, scope_index)
            },
        )
}

fn log_value() -> impl Strategy<Value = AnyValue> {
    let leaf = prop_oneof![
        int().prop_map(AnyValue::Int),
        double().prop_map(AnyValue::Double),
        text().prop_map(|s| AnyValue::String(s.into())),
        any::<bool>().prop_map(AnyValue::Boolean),
        prop::collection::vec(any::<u8>(), 0..6).prop_map(|b| AnyValue::Bytes(Box::new(b))),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| AnyValue::ListAny(Box::new(v))),
            prop::collection::hash_map(text().prop_map(Key::from), inner, 0..4)
                .prop_map(|m| AnyValue::Map(Box::new(m))),
        ]
    })
}

const SEVERITY_TEXTS: [&str; 4] = ["", "INFO", "wärn ✓", "ERROR"];
const EVENT_NAMES: [&str; 3] = ["", "event.name", "ëvent"];

/// Everything a log record can carry, applied to a fresh SDK record.
#[derive(Debug, Clone)]
struct LogSpec {
    timestamp: Option<SystemTime>,
    observed: SystemTime,
    severity: Option<u8>,
    severity_text: Option<usize>,
    body: Option<AnyValue>,
    attributes: Vec<(String, AnyValue)>,
    trace: Option<(u128, u64, Option<u8>)>,
    event_name: Option<usize>,
    target: Option<String>,
    scope: prop::sample::Index,
}

fn log_spec() -> impl Strategy<Value = LogSpec> {
    (
        (
            prop::option::of(time()),
            time(),
            prop::option::of(1..=24_u8),
        ),
        (
            prop::option::of(0..SEVERITY_TEXTS.len()),
            prop::option::of(log_value()),
            prop::collection::vec((text(), log_value()), 0..4),
        ),
        (
            prop::option::of((any::<u128>(), any::<u64>(), prop::option::of(any::<u8>()))),
            prop::option::of(0..EVENT_NAMES.len()),
            prop::option::of(prop_oneof![Just(String::new()), "[a-z:]{1,8}"]),
            any::<prop::sample::Index>(),
        ),
    )
        .prop_map(
            |(
                (timestamp, observed, severity),
                (severity_text, body, attributes),
                (trace, event_name, target, scope),
            )| LogSpec {
                timestamp,
                observed,
                severity,
                severity_text,
                body,
                attributes,
                trace,
                event_name,
                target,
                scope,
            },
        )
}

fn severity(number: u8) -> Severity {
    [
        Severity::Trace,
        Severity::Trace2,
        Severity::Trace3,
        Severity::Trace4,
        Severity::Debug,
        Severity::Debug2,
        Severity::Debug3,
        Severity::Debug4,
        Severity::Info,
        Severity::Info2,
        Severity::Info3,
        Severity::Info4,
        Severity::Warn,
        Severity::Warn2,
        Severity::Warn3,
        Severity::Warn4,
        Severity::Error,
        Severity::Error2,
        Severity::Error3,
        Severity::Error4,
        Severity::Fatal,
        Severity::Fatal2,
        Severity::Fatal3,
        Severity::Fatal4,
    ][usize::from(number) - 1]
}

fn build_record(provider: &SdkLoggerProvider, spec: &LogSpec) -> SdkLogRecord {
    let mut record = provider.logger("unused").create_log_record();
    if let Some(time) = spec.timestamp {
        record.set_timestamp(time);
    }
    record.set_observed_timestamp(spec.observed);
    if let Some(number) = spec.severity {
        record.set_severity_number(severity(number));
    }
    if let Some(index) = spec.severity_text {
        record.set_severity_text(SEVERITY_TEXTS[index]);
    }
    if let Some(body) = &spec.body {
        record.set_body(body.clone());
    }
    for (key, value) in &spec.attributes {
        record.add_attribute(key.clone(), value.clone());
    }
    if let Some((trace, span, flags)) = spec.trace {
        record.set_trace_context(
            TraceId::from(trace),
            SpanId::from(span),
            flags.map(TraceFlags::new),
        );
    }
    if let Some(index) = spec.event_name {
        record.set_event_name(EVENT_NAMES[index]);
    }
    if let Some(target) = &spec.target {
        record.set_target(target.clone());
    }
    record
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_span_batches_match_the_reference(
        scopes in prop::collection::vec(scope(), 1..4),
        spans in prop::collection::vec(span_data(), 0..8),
        resource in resource(),
    ) {
        let batch: Vec<SpanData> = spans
            .into_iter()
            .map(|(mut span, index)| {
                span.instrumentation_scope = index.get(&scopes).clone();
                span
            })
            .collect();
        // The reference keeps first-seen scope order for spans: bytes match
        // for any number of scopes.
        prop_assert_eq!(ours_spans(&batch, &resource), reference_spans(&batch, &resource));
    }

    #[test]
    fn random_log_batches_match_the_reference(
        scopes in prop::collection::vec(scope(), 1..4),
        specs in prop::collection::vec(log_spec(), 0..8),
        resource in resource(),
    ) {
        let provider = provider();
        let records: Vec<SdkLogRecord> = specs.iter().map(|spec| build_record(&provider, spec)).collect();
        let pairs: Vec<(&SdkLogRecord, &InstrumentationScope)> = records
            .iter()
            .zip(&specs)
            .map(|(record, spec)| (record, spec.scope.get(&scopes)))
            .collect();
        let ours = ours_logs(&pairs, &resource);
        let reference = reference_logs_request(&pairs, &resource);
        if reference.resource_logs[0].scope_logs.len() <= 1 {
            // One scope: nothing to reorder, the bytes are identical.
            prop_assert_eq!(&ours, &reference.encode_to_vec());
        }
        assert_logs_equivalent(&ours, reference);
    }
}

// ---------------------------------------------------------------------------
// Span records: the bytes of the `SpanData` they convert to.

mod records {
    use super::*;
    use otlpkit_wire::{
        Attribute, AttributeValue, BusyIdle, RecordEvent, SourceAttributes, SpanRecord,
        encode_span_records, intern_scope,
    };

    fn ours_records(records: &[SpanRecord], resource: &Resource) -> Vec<u8> {
        let mut out = Vec::new();
        encode_span_records(records, &EncodedResource::new(resource), &mut out);
        let decoded = ExportTraceServiceRequest::decode(out.as_slice()).expect("decodes");
        assert_eq!(decoded.encode_to_vec(), out, "re-encoding differs");
        out
    }

    fn as_span_data(records: &[SpanRecord]) -> Vec<SpanData> {
        records
            .iter()
            .cloned()
            .map(SpanRecord::into_span_data)
            .collect()
    }

    /// Every value kind a record holds, static, inline and owned strings
    /// included.
    fn every_record_value_kind() -> Vec<Attribute> {
        let mut attributes: Vec<Attribute> = every_value_kind()
            .into_iter()
            .map(Attribute::from)
            .collect();
        attributes.push(Attribute::new("static", "a &'static str"));
        attributes.push(Attribute::new("static.empty", ""));
        attributes.push(Attribute::new("inline", AttributeValue::copied("GET")));
        attributes.push(Attribute::new("inline.empty", AttributeValue::copied("")));
        attributes.push(Attribute::new(
            "inline.full",
            AttributeValue::copied(&"ü".repeat(11)),
        ));
        attributes.push(Attribute::new(
            "owned.long",
            AttributeValue::copied(&"long ".repeat(20)),
        ));
        attributes.push(Attribute::new(
            "shared",
            std::sync::Arc::<str>::from("tokio-runtime-worker"),
        ));
        attributes
    }

    fn every_source_attribute() -> SourceAttributes {
        let mut source = SourceAttributes::default();
        source.file = Some("src/ünïcode.rs");
        source.module = Some("");
        source.line = Some(u32::MAX);
        source.thread_id = Some(-3);
        source.thread_name = Some(AttributeValue::copied("tokio-runtime-worker"));
        source.level = Some("INFO");
        source.target = Some("my_crate::module");
        source
    }

    fn rich_record(scope: &'static InstrumentationScope) -> SpanRecord {
        let mut record = SpanRecord::new(
            TraceId::from(u128::MAX - 7),
            SpanId::from(u64::MAX),
            "ünïcode record ✓",
            scope,
            UNIX_EPOCH - Duration::from_secs(10),
        );
        record.parent_span_id = SpanId::from(42);
        record.parent_is_remote = true;
        record.trace_flags = TraceFlags::new(0x03);
        record.trace_state =
            TraceState::from_key_value([("rojo", "00f067aa0ba902b7"), ("congo", "t61")]).unwrap();
        record.kind = SpanKind::Consumer;
        record.end_time = EPOCH_PLUS(u64::MAX);
        record.source = every_source_attribute();
        record.attributes.extend(every_record_value_kind());
        record.busy_idle = Some(BusyIdle::new(i64::MAX, -1));
        record.dropped_attributes_count = 11;
        let mut event = RecordEvent::new("exception", EPOCH_PLUS(5));
        event.attributes.extend(every_record_value_kind());
        event.dropped_attributes_count = 3;
        record.events = vec![
            event,
            RecordEvent::new("", UNIX_EPOCH),
            RecordEvent::new("early", UNIX_EPOCH - Duration::from_secs(1)),
        ];
        record.dropped_events_count = 7;
        record.links = vec![
            Link::new(
                context(9, 8, 1, true, &[("vendor", "abc")]),
                every_value_kind(),
                2,
            ),
            Link::new(context(0, 0, 0, false, &[]), vec![], 0),
        ];
        record.dropped_links_count = 1;
        record.status = Status::error("it broke: ✗");
        record
    }

    #[test]
    fn records_are_byte_identical_to_their_span_data_and_to_the_reference() {
        let scope = intern_scope(rich_scope());
        let resource = rich_resource();
        let mut minimal = SpanRecord::new(TraceId::from(1), SpanId::from(2), "", scope, UNIX_EPOCH);
        minimal.status = Status::Ok;
        minimal.kind = SpanKind::Server;
        minimal.trace_flags = TraceFlags::default();
        let mut owned_name = SpanRecord::new(
            TraceId::from(3),
            SpanId::from(4),
            String::from("GET /users/{id}"),
            scope,
            EPOCH_PLUS(1_700_000_000_000_000_000),
        );
        owned_name.end_time = EPOCH_PLUS(1_700_000_000_000_000_999);
        owned_name.parent_span_id = SpanId::from(9);
        let records = vec![rich_record(scope), minimal, owned_name];
        let data = as_span_data(&records);
        let ours = ours_records(&records, &resource);
        assert_eq!(ours, ours_spans(&data, &resource));
        assert_eq!(ours, reference_spans(&data, &resource));
    }

    #[test]
    fn records_group_by_scope_like_span_data() {
        // Interned and equal-but-distinct scopes: the same groups as the
        // `SpanData` path, in first-seen order.
        let a = intern_scope(InstrumentationScope::builder("records-a").build());
        let b = intern_scope(
            InstrumentationScope::builder("records-b")
                .with_version("1")
                .with_attributes([KeyValue::new("x", 1), KeyValue::new("y", 2)])
                .build(),
        );
        let b_reordered: &'static InstrumentationScope = Box::leak(Box::new(
            InstrumentationScope::builder("records-b")
                .with_version("1")
                .with_attributes([KeyValue::new("y", 2), KeyValue::new("x", 1)])
                .build(),
        ));
        let record = |name: &'static str, scope| {
            SpanRecord::new(
                TraceId::from(1),
                SpanId::from(2),
                name,
                scope,
                EPOCH_PLUS(1),
            )
        };
        let records = vec![
            record("1", b),
            record("2", a),
            record("3", b_reordered),
            record("4", a),
        ];
        let resource = Resource::builder_empty().build();
        let ours = ours_records(&records, &resource);
        assert_eq!(ours, reference_spans(&as_span_data(&records), &resource));
        let decoded = ExportTraceServiceRequest::decode(ours.as_slice()).unwrap();
        assert_eq!(decoded.resource_spans[0].scope_spans.len(), 2);
    }

    #[test]
    fn an_empty_record_batch_is_the_resource_envelope() {
        let resource = rich_resource();
        assert_eq!(
            ours_records(&[], &resource),
            reference_spans(&[], &resource)
        );
    }

    fn record_value() -> impl Strategy<Value = AttributeValue> {
        const STATICS: [&str; 3] = ["", "GET", "tokio-runtime-worker ✓"];
        prop_oneof![
            value().prop_map(AttributeValue::from),
            (0..STATICS.len()).prop_map(|i| AttributeValue::Static(STATICS[i])),
            text().prop_map(|s| AttributeValue::copied(&s)),
            "[a-zé]{20,40}".prop_map(|s| AttributeValue::copied(&s)),
        ]
    }

    fn record_attributes(max: usize) -> impl Strategy<Value = Vec<Attribute>> {
        prop::collection::vec(
            (text(), record_value()).prop_map(|(key, value)| Attribute::new(key, value)),
            0..max,
        )
    }

    prop_compose! {
        fn source_attributes()(
            (file, module, line) in (
                prop::option::of(0..3_usize), prop::option::of(0..3_usize), prop::option::of(any::<u32>()),
            ),
            (thread_id, thread_name, level, target) in (
                prop::option::of(any::<i64>()), prop::option::of(record_value()),
                prop::option::of(0..3_usize), prop::option::of(0..3_usize),
            ),
        ) -> SourceAttributes {
            const STATICS: [&str; 3] = ["", "src/main.rs", "crate::ünïcode::module"];
            let mut source = SourceAttributes::default();
            source.file = file.map(|i| STATICS[i]);
            source.module = module.map(|i| STATICS[i]);
            source.line = line;
            source.thread_id = thread_id;
            source.thread_name = thread_name;
            source.level = level.map(|i| STATICS[i]);
            source.target = target.map(|i| STATICS[i]);
            source
        }
    }

    prop_compose! {
        fn record()(
            (trace, span, parent, flags, remote, state) in (
                any::<u128>(), any::<u64>(), prop::option::of(any::<u64>()),
                any::<u8>(), any::<bool>(), trace_state(),
            ),
            (kind, name, start, end) in (kind(), text(), time(), time()),
            (attributes, dropped_attributes) in (record_attributes(16), count()),
            (source, busy_idle) in (source_attributes(), prop::option::of((any::<i64>(), any::<i64>()))),
            events in prop::collection::vec(
                (text(), time(), record_attributes(4), count()), 0..3),
            (dropped_events, links, dropped_links, status) in (
                count(),
                prop::collection::vec(
                    (span_context(), attributes(3), count())
                        .prop_map(|(cx, attributes, dropped)| Link::new(cx, attributes, dropped)),
                    0..3,
                ),
                count(),
                status(),
            ),
            scope_index in any::<prop::sample::Index>(),
        ) -> (SpanRecord, prop::sample::Index) {
            let placeholder = intern_scope(InstrumentationScope::builder("placeholder").build());
            let mut record = SpanRecord::new(TraceId::from(trace), SpanId::from(span), name, placeholder, start);
            record.parent_span_id = parent.map_or(SpanId::INVALID, SpanId::from);
            record.trace_flags = TraceFlags::new(flags);
            record.parent_is_remote = remote;
            record.trace_state = state;
            record.kind = kind;
            record.end_time = end;
            record.source = source;
            record.attributes.extend(attributes);
            record.busy_idle = busy_idle.map(|(busy, idle)| BusyIdle::new(busy, idle));
            record.dropped_attributes_count = dropped_attributes;
            record.events = events
                .into_iter()
                .map(|(name, time, attributes, dropped)| {
                    let mut event = RecordEvent::new(name, time);
                    event.attributes.extend(attributes);
                    event.dropped_attributes_count = dropped;
                    event
                })
                .collect();
            record.dropped_events_count = dropped_events;
            record.links = links;
            record.dropped_links_count = dropped_links;
            record.status = status;
            (record, scope_index)
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn random_record_batches_match_their_span_data(
            scopes in prop::collection::vec(scope(), 1..4),
            records in prop::collection::vec(record(), 0..8),
            resource in resource(),
        ) {
            let scopes: Vec<&'static InstrumentationScope> =
                scopes.into_iter().map(intern_scope).collect();
            let records: Vec<SpanRecord> = records
                .into_iter()
                .map(|(mut record, index)| {
                    record.scope = *index.get(&scopes);
                    record
                })
                .collect();
            let data = as_span_data(&records);
            let ours = ours_records(&records, &resource);
            prop_assert_eq!(&ours, &ours_spans(&data, &resource));
            prop_assert_eq!(ours, reference_spans(&data, &resource));
        }
    }
}
