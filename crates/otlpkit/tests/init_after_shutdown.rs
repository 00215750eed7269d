//! What an `init()` guard's shutdown leaves in the OpenTelemetry globals,
//! and an `init()` after it.
//!
//! `init()` installs process-wide state: this file is its own test binary
//! with one test, so nothing else in the process calls it.
#![cfg(feature = "http")]

use std::time::Duration;

use opentelemetry::trace::{
    Span as _, SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState,
    Tracer as _,
};
use otlpkit::core::{MapEnv, Signal};
use otlpkit_testkit::Receiver;

fn env(receiver: &Receiver, service: &str) -> MapEnv {
    MapEnv::from([
        ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.http_endpoint()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf".to_owned()),
        ("OTEL_SERVICE_NAME", service.to_owned()),
        ("OTEL_LOGS_EXPORTER", "none".to_owned()),
        ("OTLPKIT_LOG_FORMAT", "off".to_owned()),
    ])
}

// Before the fix the global tracer provider stayed the shut-down SDK
// provider, whose spans carry an empty context: a span made through the
// API after the guard's shutdown lost its parent's trace, and an `init()`
// after it warned that "a" subscriber was installed, as if it were the
// application's.
#[test]
fn a_shut_down_guard_leaves_no_op_providers_and_a_later_init_says_where_tracing_goes() {
    let receiver = Receiver::start().unwrap();
    let builder = otlpkit::builder().with_self_metrics(false);
    #[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
    let first_line = line!() + 1;
    let first = builder.init_with_env(&env(&receiver, "first")).unwrap();
    let report = first.shutdown_within(Duration::from_secs(10));
    assert!(report.is_complete(), "{report}");

    // The API's no-op provider: records nothing, but a span still carries
    // its parent's context (the shut-down SDK provider gives an empty one).
    let trace_id = TraceId::from(0xabcd_u128);
    let parent = opentelemetry::Context::new().with_remote_span_context(SpanContext::new(
        trace_id,
        SpanId::from(0xef_u64),
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    ));
    let mut span = opentelemetry::global::tracer("app").start_with_context("after", &parent);
    assert!(!span.is_recording());
    assert_eq!(span.span_context().trace_id(), trace_id);
    span.end();

    // `init()` may be called again; the `tracing` subscriber is still the
    // first one's, and the warning says so.
    let second = otlpkit::builder()
        .with_self_metrics(false)
        .init_with_env(&env(&receiver, "second"))
        .unwrap();
    #[cfg(feature = "tracing")]
    {
        let warned = second.warnings().iter().any(|warning| {
            matches!(
                warning,
                otlpkit::InitWarning::SubscriberOfEarlierInit { installed_at }
                    if installed_at.line() == first_line
                        && installed_at.file().ends_with("init_after_shutdown.rs")
            )
        });
        assert!(warned, "{:?}", second.warnings());
        assert!(
            !second
                .warnings()
                .contains(&otlpkit::InitWarning::SubscriberAlreadyInstalled),
            "{:?}",
            second.warnings()
        );
    }
    opentelemetry::global::tracer("app").in_span("second-api", |_| {});

    // A provider the application installs afterwards stays when the guard
    // shuts down.
    let spans = opentelemetry_sdk::trace::InMemorySpanExporter::default();
    let app = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_simple_exporter(spans.clone())
        .build();
    opentelemetry::global::set_tracer_provider(app.clone());
    let report = second.shutdown_within(Duration::from_secs(10));
    assert!(report.is_complete(), "{report}");
    assert_eq!(report.delivered(Signal::Traces), 1, "{report}");
    let delivered = receiver.span("second-api").expect("second-api delivered");
    assert_eq!(
        delivered.origin.resource_attribute_str("service.name"),
        Some("second")
    );
    opentelemetry::global::tracer("app").in_span("app-span", |_| {});
    let names: Vec<String> = spans
        .get_finished_spans()
        .unwrap()
        .into_iter()
        .map(|span| span.name.into_owned())
        .collect();
    assert_eq!(names, ["app-span"]);
    let _ = app.shutdown();
}
