//! A second `init()` while the first guard lives: refused, with where the
//! first was called, and the globals stay the first pipeline's.
//!
//! `init()` installs process-wide state: this file is its own test binary
//! with one test, so nothing else in the process calls it.
#![cfg(feature = "http")]

use std::time::Duration;

use opentelemetry::trace::Tracer as _;
use otlpkit::InitError;
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

// Before the fix the second `init()` succeeded and replaced the global
// providers with its own; once its guard was dropped, spans and metrics
// made through the OpenTelemetry API went to shut-down providers and were
// neither delivered nor counted.
#[test]
fn a_second_init_while_the_first_guard_lives_is_refused_and_the_globals_stay_the_first_pipelines() {
    let receiver = Receiver::start().unwrap();
    let builder = otlpkit::builder().with_self_metrics(false);
    let first_line = line!() + 1;
    let first = builder.init_with_env(&env(&receiver, "first")).unwrap();

    // A helper or a fixture that initializes too.
    let second = otlpkit::builder()
        .with_self_metrics(false)
        .init_with_env(&env(&receiver, "second"));
    let error = second.expect_err("a second init() while the first guard lives");
    match &error {
        InitError::AlreadyInitialized { initialized_at } => {
            assert!(
                initialized_at.file().ends_with("second_init.rs"),
                "{initialized_at}"
            );
            assert_eq!(initialized_at.line(), first_line, "{initialized_at}");
        }
        other => panic!("{other}"),
    }
    let text = error.to_string();
    assert!(
        text.contains(&format!("already called at {}", file!())),
        "{text}"
    );
    assert!(text.contains("Builder::build()"), "{text}");

    // `build()` still makes a further pipeline beside it, installing
    // nothing global.
    let further = otlpkit::builder()
        .with_self_metrics(false)
        .build_with_env(&env(&receiver, "further"))
        .unwrap();
    let report = further.shutdown_within(Duration::from_secs(10));
    assert!(report.is_complete(), "{report}");

    // The application goes on: everything reaches the first pipeline.
    opentelemetry::global::tracer("app").in_span("api-span", |_| {});
    opentelemetry::global::meter("app")
        .u64_counter("orders")
        .build()
        .add(1, &[]);
    #[cfg(feature = "tracing")]
    tracing::info_span!("tracing-span").in_scope(|| {});

    let report = first.shutdown_within(Duration::from_secs(10));
    assert!(report.is_complete(), "{report}");
    let api = receiver.span("api-span").expect("api-span delivered");
    assert_eq!(
        api.origin.resource_attribute_str("service.name"),
        Some("first")
    );
    #[cfg(feature = "tracing")]
    assert!(receiver.span("tracing-span").is_some());
    let spans = if cfg!(feature = "tracing") { 2 } else { 1 };
    assert_eq!(report.delivered(Signal::Traces), spans, "{report}");
    let orders: Vec<_> = receiver
        .metrics()
        .into_iter()
        .filter(|metric| metric.name() == "orders")
        .collect();
    assert!(!orders.is_empty(), "the counter reached the first pipeline");
    assert!(
        orders
            .iter()
            .all(|m| m.origin.resource_attribute_str("service.name") == Some("first"))
    );
}
