//! A program that exports to a collector that is not there, then shuts
//! down: every span, log record and metric data point it produced is
//! counted as dropped under a reason, on both tokio runtime flavours, every
//! time, and the report says why.
//!
//! The metric path used to lose its data points uncounted in some runs: the
//! timeout wrapper of the periodic reader gave up on an export, and the
//! worker stopped before the abandoned send had counted its items. The test
//! repeats the shutdown enough times to catch such a race.

use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::logs::{LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::trace::{Tracer as _, TracerProvider as _};
use otlpkit::core::stats::DropReason;
use otlpkit::core::{MapEnv, Signal};
use otlpkit_testkit::RefusingPort;

/// Runs per runtime flavour.
const RUNS: usize = 8;

/// Metric data points each run records: three counters with two attribute
/// sets each.
const DATA_POINTS: u64 = 6;

async fn one_run(protocol: &str) -> otlpkit::ShutdownReport {
    // Held until the shutdown has returned: no other test's receiver can
    // take the port meanwhile.
    let dead = RefusingPort::new().unwrap();
    let env = MapEnv::from([
        ("OTEL_EXPORTER_OTLP_ENDPOINT", dead.endpoint()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol.to_owned()),
        ("OTEL_SERVICE_NAME", "dead-collector".to_owned()),
        ("OTEL_LOG_LEVEL", "error".to_owned()),
    ]);
    let telemetry = otlpkit::builder()
        .with_self_metrics(false)
        .with_shutdown_timeout(Duration::from_millis(400))
        .build_with_env(&env)
        .unwrap();
    let meter = telemetry.meter_provider().unwrap().meter("dead");
    for name in ["requests", "errors", "bytes"] {
        let counter = meter.u64_counter(name).build();
        counter.add(1, &[KeyValue::new("route", "/a")]);
        counter.add(2, &[KeyValue::new("route", "/b")]);
    }
    let tracer = telemetry.tracer_provider().unwrap().tracer("dead");
    for _ in 0..5 {
        tracer.in_span("lost", |_| {});
    }
    let logger = telemetry.logger_provider().unwrap().logger("dead");
    for _ in 0..3 {
        let mut record = logger.create_log_record();
        record.set_severity_number(Severity::Warn);
        record.set_body("lost".into());
        logger.emit(record);
    }
    telemetry.shutdown_async().await
}

fn check(report: &otlpkit::ShutdownReport, protocol: &str, run: usize) {
    let context = format!("{protocol} run {run}:\n{report}");
    for signal in Signal::ALL {
        assert_eq!(report.delivered(*signal), 0, "{context}");
        assert_eq!(
            report.produced(*signal),
            report.delivered(*signal) + report.dropped(*signal),
            "{context}"
        );
        assert!(report.dropped(*signal) > 0, "{signal}: {context}");
        // Why: the last failure is in the report, with the endpoint.
        let error = report.last_error(*signal).expect("a last failure");
        assert!(error.endpoint.starts_with("http://127.0.0.1:"), "{context}");
    }
    assert_eq!(report.produced(Signal::Traces), 5, "{context}");
    assert_eq!(report.produced(Signal::Logs), 3, "{context}");
    // The final collection's points at least (a periodic export may have
    // come first and failed too).
    assert!(report.dropped(Signal::Metrics) >= DATA_POINTS, "{context}");
    assert_eq!(
        report.dropped_for(Signal::Metrics, DropReason::QueueFull),
        0
    );
    let text = report.to_string();
    assert!(text.contains("last failure"), "{text}");
    // Time-out messages name the budget that ran out, never what was left of it.
    assert!(!text.contains(" 0ns"), "{text}");
}

#[test]
fn every_item_sent_to_a_dead_collector_is_counted_on_a_multi_thread_runtime() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    for protocol in ["grpc", "http/protobuf"] {
        for run in 0..RUNS {
            let report = runtime.block_on(one_run(protocol));
            check(&report, protocol, run);
        }
    }
}

#[test]
fn every_item_sent_to_a_dead_collector_is_counted_on_a_current_thread_runtime() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for protocol in ["grpc", "http/protobuf"] {
        for run in 0..RUNS {
            let report = runtime.block_on(one_run(protocol));
            check(&report, protocol, run);
        }
    }
}

/// A batch still retrying when the shutdown deadline passes is dropped
/// under `shutdown_deadline`, and the report also says why it was still
/// retrying: the connection was refused (not only that time ran out).
#[test]
fn a_batch_cut_short_by_the_deadline_names_the_refused_connection() {
    for protocol in ["grpc", "http/protobuf"] {
        let dead = RefusingPort::new().unwrap();
        let env = MapEnv::from([
            ("OTEL_EXPORTER_OTLP_ENDPOINT", dead.endpoint()),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol.to_owned()),
            ("OTEL_SERVICE_NAME", "dead-collector".to_owned()),
            ("OTEL_LOG_LEVEL", "off".to_owned()),
            // Retried far beyond the shutdown: the deadline cuts it short.
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "600000".to_owned()),
            ("OTEL_BSP_SCHEDULE_DELAY", "1".to_owned()),
        ]);
        let telemetry = otlpkit::builder()
            .with_self_metrics(false)
            .with_shutdown_timeout(Duration::from_millis(400))
            .build_with_env(&env)
            .unwrap();
        let tracer = telemetry.tracer_provider().unwrap().tracer("dead");
        tracer.in_span("lost", |_| {});
        // The first attempt has failed: the export is retrying.
        while telemetry.stats().signal(Signal::Traces).failed_attempts == 0 {
            std::thread::sleep(Duration::from_millis(5));
        }
        let report = telemetry.shutdown();
        let context = format!("{protocol}:\n{report}");
        assert_eq!(
            report.dropped_for(Signal::Traces, DropReason::ShutdownDeadline),
            1,
            "{context}"
        );
        let error = report.last_error(Signal::Traces).expect("a last failure");
        assert_eq!(error.reason, DropReason::ShutdownDeadline, "{context}");
        assert!(
            error
                .message
                .to_ascii_lowercase()
                .contains("the last attempt failed: connection failed"),
            "{context}"
        );
        assert!(
            error
                .message
                .to_ascii_lowercase()
                .contains("connection refused"),
            "{context}"
        );
    }
}

/// A collector that holds the final metric export past the shutdown
/// deadline: the SDK's periodic reader reports that as `Failed to
/// shutdown`, which names no cause; the report says what it was, the
/// deadline, as one problem for the signal.
#[test]
fn a_metric_export_cut_short_by_the_deadline_is_reported_as_the_deadline() {
    let receiver = otlpkit_testkit::Receiver::start().unwrap();
    receiver.push_faults(
        otlpkit_testkit::Signal::Metrics,
        otlpkit_testkit::Fault::delay(Duration::from_secs(60)),
        8,
    );
    let env = MapEnv::from([
        ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.http_endpoint()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf".to_owned()),
        ("OTEL_TRACES_EXPORTER", "none".to_owned()),
        ("OTEL_LOGS_EXPORTER", "none".to_owned()),
        ("OTEL_LOG_LEVEL", "off".to_owned()),
    ]);
    let telemetry = otlpkit::builder()
        .with_self_metrics(false)
        .with_shutdown_timeout(Duration::from_millis(400))
        .build_with_env(&env)
        .unwrap();
    let meter = telemetry.meter_provider().unwrap().meter("held");
    meter.u64_counter("requests").build().add(1, &[]);
    let report = telemetry.shutdown();
    let metrics: Vec<&otlpkit::ShutdownProblem> = report
        .problems
        .iter()
        .filter(|problem| problem.to_string().starts_with("metrics:"))
        .collect();
    assert_eq!(metrics.len(), 1, "{report}");
    assert!(
        matches!(
            metrics[0],
            otlpkit::ShutdownProblem::DeadlinePassed {
                signal: Signal::Metrics,
                timeout,
                ..
            } if *timeout == Duration::from_millis(400)
        ),
        "{report}"
    );
    assert_eq!(report.delivered(Signal::Metrics), 0, "{report}");
    assert!(report.dropped(Signal::Metrics) >= 1, "{report}");
}

/// `Duration::MAX` as a flush or shutdown timeout means "as long as it
/// takes": both return with everything delivered (adding it to the clock
/// panicked, and from the guard's `Drop` a panic while unwinding aborts).
#[test]
fn a_timeout_of_duration_max_waits_as_long_as_it_takes() {
    let receiver = otlpkit_testkit::Receiver::start().unwrap();
    let env = MapEnv::from([
        ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.http_endpoint()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf".to_owned()),
        ("OTEL_METRICS_EXPORTER", "none".to_owned()),
        ("OTEL_LOGS_EXPORTER", "none".to_owned()),
        ("OTEL_LOG_LEVEL", "off".to_owned()),
    ]);
    let telemetry = otlpkit::builder()
        .with_self_metrics(false)
        .without_tracing_subscriber()
        .with_shutdown_timeout(Duration::MAX)
        .build_with_env(&env)
        .unwrap();
    let tracer = telemetry.tracer_provider().unwrap().tracer("no-limit");
    tracer.in_span("flushed", |_| {});
    telemetry.flush_within(Duration::MAX).unwrap();
    assert_eq!(receiver.span_count(), 1);
    tracer.in_span("shut down", |_| {});
    let report = telemetry.shutdown();
    assert!(report.is_complete(), "{report}");
    assert_eq!(report.delivered(Signal::Traces), 2, "{report}");
    assert_eq!(receiver.span_count(), 2);
}

/// A batch whose one direct send (with a spool, before retries) is still
/// running when the processor's shutdown deadline passes: the exporter's
/// shutdown saves it in the spool, and the send is abandoned. It went on:
/// ending a moment later with a failure worth retrying, it put the batch in
/// the spool a second time, and the next run sent it twice. Whenever the
/// failure comes, before the shutdown or after, the batch is in the spool
/// once.
#[cfg(all(feature = "grpc", feature = "spool"))]
#[test]
fn a_send_saved_in_the_spool_at_the_deadline_is_saved_once() {
    use opentelemetry_sdk::trace::SdkTracerProvider;
    use otlpkit_testkit::{Code, Fault};

    let receiver = otlpkit_testkit::Receiver::start().unwrap();
    // Fails after the 300 ms shutdown, within the exporter's cancel grace.
    receiver.push_fault(
        otlpkit_testkit::Signal::Traces,
        Fault::grpc_status(Code::Unavailable, "down").after(Duration::from_millis(400)),
    );
    let dir = std::env::temp_dir().join(format!(
        "otlpkit-dead-collector-saved-once-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let exporter = otlpkit::grpc::SpanExporter::builder()
        .with_endpoint(receiver.grpc_endpoint())
        .with_spool_dir(&dir)
        .build()
        .unwrap();
    let stats = exporter.stats().clone();
    let processor = otlpkit::batch::BatchSpanProcessor::builder(exporter)
        .with_schedule_delay(Duration::from_millis(1))
        .with_stats(stats.clone())
        .build()
        .unwrap();
    let handle = processor.handle();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(processor)
        .build();
    provider.tracer("saved-once").in_span("held", |_| {});
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while receiver.in_flight() == 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(receiver.in_flight(), 1);
    let _ = handle.shutdown_within(Duration::from_millis(300));
    drop(provider);
    // Past the collector's answer and the exporter's cancel grace.
    std::thread::sleep(Duration::from_millis(600));
    let counted = stats.snapshot().signal(Signal::Traces);
    assert_eq!(counted.spooled, 1, "{counted:?}");
    assert_eq!(counted.exported, 0, "{counted:?}");

    // The next run finds the span once.
    let next = otlpkit::grpc::SpanExporter::builder()
        .with_endpoint(otlpkit_testkit::RefusingPort::new().unwrap().endpoint())
        .with_spool_dir(&dir)
        .build()
        .unwrap();
    let found = next.stats().snapshot().signal(Signal::Traces).spool_found;
    drop(next);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(found, 1);
}
