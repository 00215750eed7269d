//! A log record emitted inside an invalid span context (a no-op tracer's,
//! as `global::tracer(..)` gives while no tracer provider is installed)
//! reaches the collector without trace and span ids over every protocol,
//! never with all-zero ones (checklist 2.17); a valid context reaches it
//! whole.

#![cfg(all(feature = "grpc", feature = "http", feature = "http-json"))]

use opentelemetry::logs::{LogRecord as _, Logger as _, LoggerProvider as _};
use opentelemetry::trace::noop::NoopTracer;
use opentelemetry::trace::{SpanId, TraceFlags, TraceId, Tracer as _};
use otlpkit::core::{MapEnv, Signal};
use otlpkit_testkit::Receiver;

fn invalid_ids_are_omitted_over(protocol: &str) {
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
        ("OTEL_METRICS_EXPORTER", "none".to_owned()),
    ]);
    let telemetry = otlpkit::builder()
        .with_self_metrics(false)
        .build_with_env(&env)
        .unwrap();
    let logger = telemetry.logger_provider().unwrap().logger("app");
    NoopTracer::new().in_span("work", |_| {
        let mut record = logger.create_log_record();
        record.set_body("inside a no-op span".into());
        logger.emit(record);
    });
    let mut record = logger.create_log_record();
    record.set_body("inside a real span".into());
    record.set_trace_context(TraceId::from(5), SpanId::from(7), Some(TraceFlags::SAMPLED));
    logger.emit(record);
    let report = telemetry.shutdown();
    assert_eq!(report.delivered(Signal::Logs), 2, "{protocol}: {report}");
    let logs = receiver.logs();
    let body = |log: &otlpkit_testkit::ReceivedLog| format!("{:?}", log.record.body);
    let noop = logs.iter().find(|log| body(log).contains("no-op")).unwrap();
    assert_eq!(noop.record.trace_id, Vec::<u8>::new(), "{protocol}");
    assert_eq!(noop.record.span_id, Vec::<u8>::new(), "{protocol}");
    assert_eq!(noop.record.flags, 0, "{protocol}");
    let real = logs.iter().find(|log| body(log).contains("real")).unwrap();
    assert_eq!(
        real.record.trace_id,
        TraceId::from(5).to_bytes(),
        "{protocol}"
    );
    assert_eq!(
        real.record.span_id,
        SpanId::from(7).to_bytes(),
        "{protocol}"
    );
    assert_eq!(real.record.flags, 1, "{protocol}");
}

// checklist 2.17
#[test]
fn invalid_log_ids_are_omitted_over_grpc() {
    invalid_ids_are_omitted_over("grpc");
}

// checklist 2.17
#[test]
fn invalid_log_ids_are_omitted_over_http_protobuf() {
    invalid_ids_are_omitted_over("http/protobuf");
}

// checklist 2.17
#[test]
fn invalid_log_ids_are_omitted_over_http_json() {
    invalid_ids_are_omitted_over("http/json");
}
