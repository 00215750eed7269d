//! What code adds to the one-call setup: span processors, metric views and
//! readers of the application's own, and otlpkit's own metrics (off unless
//! asked for).

use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::trace::{Tracer as _, TracerProvider as _};
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, Instrument, PeriodicReader, Stream};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SimpleSpanProcessor};
use otlpkit::core::{MapEnv, Signal};
use otlpkit_testkit::Receiver;

const WAIT: Duration = Duration::from_secs(10);

fn env(receiver: &Receiver) -> MapEnv {
    MapEnv::from([
        ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.http_endpoint()),
        ("OTEL_SERVICE_NAME", "extensions".to_owned()),
    ])
}

#[test]
fn an_application_span_processor_sees_the_spans_otlpkit_exports() {
    let receiver = Receiver::start().unwrap();
    let copies = InMemorySpanExporter::default();
    let telemetry = otlpkit::builder()
        .with_span_processor(SimpleSpanProcessor::new(copies.clone()))
        .build_with_env(&env(&receiver))
        .unwrap();
    telemetry
        .tracer_provider()
        .unwrap()
        .tracer("ext")
        .in_span("seen.twice", |_| {});
    // The simple processor exported the copy as the span ended (the
    // in-memory exporter forgets its spans when it is shut down).
    let copied = copies.get_finished_spans().unwrap();
    let report = telemetry.shutdown();
    assert!(report.is_complete(), "{report}");
    assert_eq!(receiver.spans_named("seen.twice").len(), 1);
    assert_eq!(copied.len(), 1);
    assert_eq!(copied[0].name, "seen.twice");
}

#[test]
fn views_and_readers_of_the_application_apply_and_self_metrics_stay_off() {
    let receiver = Receiver::start().unwrap();
    let copies = InMemoryMetricExporter::default();
    let telemetry = otlpkit::builder()
        .with_metric_view(|instrument: &Instrument| {
            (instrument.name() == "orders")
                .then(|| Stream::builder().with_name("orders.placed").build().ok())?
        })
        .with_metric_reader(PeriodicReader::builder(copies.clone()).build())
        .build_with_env(&env(&receiver))
        .unwrap();
    let meter = telemetry.meter_provider().unwrap().meter("ext");
    meter
        .u64_counter("orders")
        .build()
        .add(3, &[KeyValue::new("shop", "eu")]);
    meter.u64_counter("untouched").build().add(1, &[]);
    telemetry
        .tracer_provider()
        .unwrap()
        .tracer("ext")
        .in_span("with.metrics", |_| {});
    let report = telemetry.shutdown();
    assert!(report.is_complete(), "{report}");

    // The view renamed the instrument, once: no duplicate stream.
    receiver.wait_for_data_points(2, WAIT).unwrap();
    let names: Vec<String> = receiver
        .metrics()
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    assert!(names.iter().any(|n| n == "orders.placed"), "{names:?}");
    assert!(!names.iter().any(|n| n == "orders"), "{names:?}");
    assert!(names.iter().any(|n| n == "untouched"), "{names:?}");
    // No otlpkit.* metric unless asked for, and none counted as its own.
    assert!(
        !names.iter().any(|n| n.starts_with("otlpkit.")),
        "{names:?}"
    );
    assert_eq!(report.own_metric_points, 0);
    assert_eq!(report.delivered(Signal::Metrics), 2);
    // The application's own reader got the same metrics.
    let copied = copies.get_finished_metrics().unwrap();
    let copied_names: Vec<String> = copied
        .iter()
        .flat_map(|rm| rm.scope_metrics())
        .flat_map(|sm| sm.metrics())
        .map(|m| m.name().to_owned())
        .collect();
    assert!(
        copied_names.iter().any(|n| n == "orders.placed"),
        "{copied_names:?}"
    );
}

#[test]
fn self_metrics_are_counted_apart_from_the_applications() {
    let receiver = Receiver::start().unwrap();
    let telemetry = otlpkit::builder()
        .with_self_metrics(true)
        .build_with_env(&env(&receiver))
        .unwrap();
    telemetry
        .meter_provider()
        .unwrap()
        .meter("ext")
        .u64_counter("mine")
        .build()
        .add(1, &[]);
    telemetry
        .tracer_provider()
        .unwrap()
        .tracer("ext")
        .in_span("counted", |_| {});
    let report = telemetry.shutdown();
    assert!(report.is_complete(), "{report}");
    assert!(report.own_metric_points > 0, "{report}");
    assert!(
        report.produced(Signal::Metrics) > report.own_metric_points,
        "{report}"
    );
    assert!(
        report.to_string().contains("of them otlpkit's own"),
        "{report}"
    );
}
