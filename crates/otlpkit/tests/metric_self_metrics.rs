//! otlpkit's own metrics count the metric data points the OTLP metric
//! exporter delivered and lost, as they count spans and log records: the
//! data points reach the exporter from the SDK's periodic reader, not
//! through a batch processor, and used to appear in no
//! `otlpkit.exporter.*_metric_points` instrument.

#![cfg(feature = "http")]

use opentelemetry::metrics::MeterProvider as _;
use otlpkit::batch::MetricNames;
use otlpkit::core::stats::DropReason;
use otlpkit::core::{MapEnv, Signal};
use otlpkit_testkit::proto::common::v1::any_value;
use otlpkit_testkit::proto::metrics::v1::number_data_point::Value;
use otlpkit_testkit::{Fault, ReceivedMetric, Receiver};

/// The integer value of the last received point of `metric` whose
/// `reason` attribute is `reason` (any point when `None`).
fn value(metric: &ReceivedMetric, reason: Option<&str>) -> Option<i64> {
    metric.number_points().iter().rev().find_map(|point| {
        let matches = reason.is_none_or(|reason| {
            otlpkit_testkit::attribute(&point.attributes, "reason")
                == Some(&any_value::Value::StringValue(reason.to_owned()))
        });
        match point.value {
            Some(Value::AsInt(v)) if matches => Some(v),
            _ => None,
        }
    })
}

#[test]
fn metric_points_rejected_by_the_server_appear_in_the_self_metrics() {
    let receiver = Receiver::start().unwrap();
    // The first metrics request: two of its data points rejected.
    receiver.push_fault(
        otlpkit_testkit::Signal::Metrics,
        Fault::partial_success(2, "two points refused"),
    );
    let env = MapEnv::from([
        ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.http_endpoint()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf".to_owned()),
        ("OTEL_TRACES_EXPORTER", "none".to_owned()),
        ("OTEL_LOGS_EXPORTER", "none".to_owned()),
        ("OTEL_LOG_LEVEL", "off".to_owned()),
    ]);
    let telemetry = otlpkit::builder()
        .with_self_metrics(true)
        .build_with_env(&env)
        .unwrap();
    let provider = telemetry.meter_provider().unwrap().clone();
    let counter = provider.meter("app").u64_counter("requests").build();
    for route in ["/a", "/b", "/c"] {
        counter.add(1, &[opentelemetry::KeyValue::new("route", route)]);
    }
    provider.force_flush().unwrap(); // partly rejected
    let after_first = telemetry.stats().signal(Signal::Metrics);
    assert_eq!(after_first.dropped(DropReason::RejectedByServer), 2);
    assert!(after_first.exported > 0);
    provider.force_flush().unwrap(); // carries the counts of the first

    let names = MetricNames::for_signal(Signal::Metrics);
    let metric = |name: &str| {
        receiver
            .latest_metric(name)
            .unwrap_or_else(|| panic!("{name} was not exported"))
    };
    assert_eq!(
        value(&metric(names.send_failed), Some("rejected_by_server")),
        Some(2)
    );
    assert_eq!(
        value(&metric(names.sent), None),
        Some(i64::try_from(after_first.exported).unwrap())
    );
    assert_eq!(
        value(&metric(names.enqueue_failed), Some("queue_full")),
        Some(0)
    );
    let report = telemetry.shutdown();
    assert_eq!(
        report.dropped_for(Signal::Metrics, DropReason::RejectedByServer),
        2,
        "{report}"
    );
}
