//! The official `opentelemetry-otlp` exporter sends a known trace to a real
//! rotel collector over each OTLP transport, and rotel's report must show
//! exactly the spans the SDK created: same count, same trace id, same span
//! ids, same parent/child links, names, kinds, attributes and resource.
//!
//! Needs a running rotel: run `cargo xtask e2e` (see `otlpkit_e2e`). Without
//! it every test fails with instructions; none passes silently.

use std::time::Duration;

use opentelemetry::trace::{
    Span as _, SpanKind, TraceContextExt as _, Tracer as _, TracerProvider as _,
};
use opentelemetry::{Context, KeyValue};
use opentelemetry_otlp::{Protocol, SpanExporter, WithExportConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use otlpkit_e2e::{Rotel, Signal};

/// How long rotel may take to report what it received.
const REPORT_TIMEOUT: Duration = Duration::from_secs(30);
/// Bound on each export; the SDK default would be 10 s as well.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);
/// The tracer (instrumentation scope) name the spans carry.
const SCOPE: &str = "otlpkit-e2e";

fn rotel() -> Rotel {
    Rotel::from_env().unwrap_or_else(|error| panic!("{error}"))
}

/// A span as the SDK created it, in the terms rotel reports it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Expected {
    span_id: String,
    parent_span_id: Option<String>,
    name: String,
    kind: String,
}

/// The trace the tests send, and what rotel must report for it.
#[derive(Debug)]
struct SentTrace {
    trace_id: String,
    spans: Vec<Expected>,
}

fn rotel_kind(kind: &SpanKind) -> &'static str {
    match kind {
        SpanKind::Client => "SPAN_KIND_CLIENT",
        SpanKind::Server => "SPAN_KIND_SERVER",
        SpanKind::Producer => "SPAN_KIND_PRODUCER",
        SpanKind::Consumer => "SPAN_KIND_CONSUMER",
        SpanKind::Internal => "SPAN_KIND_INTERNAL",
    }
}

/// Creates and ends four spans of one new trace, named after `transport`:
///
/// ```text
/// <transport>.request (server)
/// ├── <transport>.load (client)
/// │   └── <transport>.decode (internal)
/// └── <transport>.respond (producer)
/// ```
fn send_trace(tracer: &SdkTracer, transport: &str) -> SentTrace {
    let mut spans = Vec::new();
    let mut start = |name: &str, kind: SpanKind, parent: &Context| -> Context {
        let span = tracer
            .span_builder(format!("{transport}.{name}"))
            .with_kind(kind.clone())
            .with_attributes([KeyValue::new("e2e.transport", transport.to_owned())])
            .start_with_context(tracer, parent);
        let parent_span = parent.span();
        let parent_context = parent_span.span_context();
        spans.push(Expected {
            span_id: span.span_context().span_id().to_string(),
            parent_span_id: parent_context
                .is_valid()
                .then(|| parent_context.span_id().to_string()),
            name: format!("{transport}.{name}"),
            kind: rotel_kind(&kind).to_owned(),
        });
        parent.with_span(span)
    };

    let request = start("request", SpanKind::Server, &Context::new());
    let load = start("load", SpanKind::Client, &request);
    let decode = start("decode", SpanKind::Internal, &load);
    let respond = start("respond", SpanKind::Producer, &request);
    let trace_id = request.span().span_context().trace_id().to_string();
    for cx in [decode, load, respond, request] {
        cx.span().end();
    }
    SentTrace { trace_id, spans }
}

fn provider(exporter: SpanExporter, service: &str) -> SdkTracerProvider {
    SdkTracerProvider::builder()
        .with_resource(
            Resource::builder()
                .with_service_name(service.to_owned())
                .build(),
        )
        .with_batch_exporter(exporter)
        .build()
}

/// Sends the trace, flushes and shuts the provider down (both must succeed),
/// then checks rotel's report.
fn send_and_check(rotel: &Rotel, provider: SdkTracerProvider, transport: &str, service: &str) {
    let sent = send_trace(&provider.tracer(SCOPE), transport);
    assert_eq!(sent.spans.len(), 4);
    provider
        .force_flush()
        .expect("the exporter delivers the trace");
    provider
        .shutdown()
        .expect("the provider shuts down cleanly");

    let received = rotel
        .wait_for_spans(&sent.trace_id, sent.spans.len(), REPORT_TIMEOUT)
        .unwrap_or_else(|error| panic!("{error}"));

    let mut expected = sent.spans.clone();
    expected.sort();
    let mut reported: Vec<Expected> = received
        .iter()
        .map(|span| Expected {
            span_id: span.span_id.clone(),
            parent_span_id: span.parent_span_id.clone(),
            name: span.name.clone(),
            kind: span.kind.clone(),
        })
        .collect();
    reported.sort();
    assert_eq!(
        reported, expected,
        "rotel's report of trace {}",
        sent.trace_id
    );

    let attribute = format!("Str({transport})");
    for span in &received {
        assert_eq!(span.scope, SCOPE, "{span:?}");
        assert_eq!(span.service_name(), Some(service), "{span:?}");
        assert_eq!(
            span.attribute("e2e.transport"),
            Some(attribute.as_str()),
            "{span:?}"
        );
    }
}

// checklist 1.1, 2.1, 6 (unary TraceService/Export)
#[test]
fn grpc_delivers_exactly_the_spans_sent() {
    let rotel = rotel();
    // tonic needs a tokio runtime to build its channel and drive its I/O; the
    // SDK's batch processor exports from its own thread.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let exporter = {
        let _entered = runtime.enter();
        SpanExporter::builder()
            .with_tonic()
            .with_endpoint(rotel.grpc_endpoint())
            .with_timeout(EXPORT_TIMEOUT)
            .build()
            .unwrap()
    };
    let service = "otlpkit-e2e-grpc";
    send_and_check(&rotel, provider(exporter, service), "grpc", service);
}

// checklist 1.1, 1.17 (application/x-protobuf), 6 (POST /v1/traces)
#[test]
fn http_protobuf_delivers_exactly_the_spans_sent() {
    let rotel = rotel();
    let exporter = SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(rotel.http_signal_url(Signal::Traces))
        .with_timeout(EXPORT_TIMEOUT)
        .build()
        .unwrap();
    let service = "otlpkit-e2e-http-protobuf";
    send_and_check(
        &rotel,
        provider(exporter, service),
        "http-protobuf",
        service,
    );
}

// checklist 2.15a: ids travel as hex strings in OTLP/JSON; rotel decoding them
// to the very ids the SDK made shows the encoding is right.
#[test]
fn http_json_delivers_exactly_the_spans_sent() {
    let rotel = rotel();
    let exporter = SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpJson)
        .with_endpoint(rotel.http_signal_url(Signal::Traces))
        .with_timeout(EXPORT_TIMEOUT)
        .build()
        .unwrap();
    let service = "otlpkit-e2e-http-json";
    send_and_check(&rotel, provider(exporter, service), "http-json", service);
}
