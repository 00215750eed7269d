//! Metric values and settings at their limits: a `u64` above `i64::MAX`
//! reaches the collector as `i64::MAX` (saturated) over every protocol,
//! never as 0, and the shutdown report counts each such value sent; a
//! cardinality limit the SDK cannot hold is an error naming it at `init`,
//! never a panic in the application or a silent fallback.

#![cfg(all(feature = "grpc", feature = "http", feature = "http-json"))]

use opentelemetry::metrics::MeterProvider as _;
use otlpkit::InitError;
use otlpkit::core::{ConfigError, MapEnv, MetricReaderConfig, Signal};
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

fn metrics_only(receiver: &Receiver) -> MapEnv {
    MapEnv::from([
        ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.http_endpoint()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf".to_owned()),
        ("OTEL_TRACES_EXPORTER", "none".to_owned()),
        ("OTEL_LOGS_EXPORTER", "none".to_owned()),
    ])
}

// checklist 3.12
#[test]
fn a_cardinality_limit_the_sdk_cannot_hold_is_an_init_error_naming_it() {
    let receiver = Receiver::start().unwrap();
    // usize::MAX / 2 made the SDK panic ("Hash table capacity overflow")
    // in the thread that built the first instrument; usize::MAX was
    // replaced by the SDK's default of 2000 without a word.
    for limit in [
        usize::MAX / 2,
        usize::MAX,
        MetricReaderConfig::MAX_CARDINALITY_LIMIT + 1,
    ] {
        let result = otlpkit::builder()
            .with_self_metrics(false)
            .with_metric_reader_config(MetricReaderConfig::builder().with_cardinality_limit(limit))
            .build_with_env(&metrics_only(&receiver));
        let telemetry = match result {
            Err(InitError::Config(ConfigError::InvalidValue { value, .. })) => {
                assert_eq!(value, limit.to_string());
                continue;
            }
            Err(other) => panic!("{limit}: {other}"),
            Ok(telemetry) => telemetry,
        };
        // Without the bound: what the application's first instrument does.
        let meter = telemetry.meter_provider().unwrap().meter("app");
        let counter = meter.u64_counter("requests").build();
        for user in 0..2001 {
            counter.add(1, &[opentelemetry::KeyValue::new("user", user)]);
        }
        let report = telemetry.shutdown();
        panic!("a cardinality limit of {limit} was accepted:\n{report}");
    }
}

// checklist 3.12
#[test]
fn the_largest_cardinality_limit_is_applied() {
    let receiver = Receiver::start().unwrap();
    let telemetry = otlpkit::builder()
        .with_self_metrics(false)
        .with_metric_reader_config(
            MetricReaderConfig::builder()
                .with_cardinality_limit(MetricReaderConfig::MAX_CARDINALITY_LIMIT),
        )
        .build_with_env(&metrics_only(&receiver))
        .unwrap();
    assert_eq!(telemetry.warnings(), []);
    let meter = telemetry.meter_provider().unwrap().meter("app");
    let counter = meter.u64_counter("requests").build();
    // More series than the default limit (2000) keeps apart.
    for user in 0..3000 {
        counter.add(1, &[opentelemetry::KeyValue::new("user", user)]);
    }
    let report = telemetry.shutdown();
    assert_eq!(report.delivered(Signal::Metrics), 3000, "{report}");
    let requests = receiver.latest_metric("requests").unwrap();
    assert_eq!(requests.number_points().len(), 3000);
    assert!(requests.number_points().iter().all(|point| {
        point
            .attributes
            .iter()
            .all(|kv| kv.key != "otel.metric.overflow")
    }));
}
