//! Metric values OTLP cannot carry as they are: a `u64` above `i64::MAX`
//! reaches the collector as `i64::MAX` (saturated) over every protocol,
//! never as 0, and the shutdown report counts each such value sent.

#![cfg(all(feature = "grpc", feature = "http", feature = "http-json"))]

use opentelemetry::metrics::MeterProvider as _;
use otlpkit::core::{MapEnv, Signal};
use otlpkit_testkit::Receiver;
use otlpkit_testkit::proto::metrics::v1::number_data_point::Value;

fn huge_u64_values_are_saturated_over(protocol: &str) {
    let receiver = Receiver::start().unwrap();
    let endpoint = if protocol == "grpc" {
        receiver.grpc_endpoint()
    } else {
        receiver.http_endpoint()
    };
    let env = MapEnv::from([
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol.to_owned()),
        ("OTEL_TRACES_EXPORTER", "none".to_owned()),
        ("OTEL_LOGS_EXPORTER", "none".to_owned()),
    ]);
    let telemetry = otlpkit::builder()
        .with_self_metrics(false)
        .build_with_env(&env)
        .unwrap();
    let meter = telemetry.meter_provider().unwrap().meter("limits");
    // RLIM_INFINITY, a byte counter past 2^63, and values that fit.
    meter
        .u64_gauge("open_files_limit")
        .build()
        .record(u64::MAX, &[]);
    meter.u64_counter("bytes").build().add(1 << 63, &[]);
    meter.u64_counter("fits").build().add(i64::MAX as u64, &[]);
    meter.u64_gauge("small").build().record(7, &[]);
    let report = telemetry.shutdown();
    assert_eq!(report.delivered(Signal::Metrics), 4, "{protocol}: {report}");
    // One export (the shutdown's collection), two values above i64::MAX.
    assert_eq!(report.saturated_metric_values, 2, "{protocol}: {report}");
    assert!(
        report
            .to_string()
            .contains("u64 values above i64::MAX sent as i64::MAX 2"),
        "{report}"
    );
    for (name, expected) in [
        ("open_files_limit", i64::MAX),
        ("bytes", i64::MAX),
        ("fits", i64::MAX),
        ("small", 7),
    ] {
        let metric = receiver
            .latest_metric(name)
            .unwrap_or_else(|| panic!("{protocol}: {name} not received"));
        assert_eq!(
            metric.number_points()[0].value,
            Some(Value::AsInt(expected)),
            "{protocol}: {name}"
        );
    }
}

#[test]
fn huge_u64_values_are_saturated_over_grpc() {
    huge_u64_values_are_saturated_over("grpc");
}

#[test]
fn huge_u64_values_are_saturated_over_http_protobuf() {
    huge_u64_values_are_saturated_over("http/protobuf");
}

#[test]
fn huge_u64_values_are_saturated_over_http_json() {
    huge_u64_values_are_saturated_over("http/json");
}
