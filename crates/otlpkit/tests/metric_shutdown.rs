//! The metrics part of a shutdown that runs out of time says what its
//! counters say: the data points its `DeadlinePassed` problem calls unsent
//! are those counted as `shutdown_deadline`, even when the send cut short
//! is settled only as the export worker stops (after the SDK's reader gave
//! up on it), which used to leave the problem saying `unsent: 0`.

#![cfg(feature = "http")]

use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::metrics::MeterProvider as _;
use otlpkit::core::stats::DropReason;
use otlpkit::core::{MapEnv, Signal};
use otlpkit::{ShutdownProblem, ShutdownReport};
use otlpkit_testkit::{Fault, Receiver, RefusingPort};

/// Longer than the SDK periodic reader's own fixed wait for its shutdown
/// (5 s): the meter provider's shutdown returns `Timeout` while the
/// reader's last export is still held, and that export is settled only
/// when the guard's deadline passes or the worker stops, after the signal's
/// shutdown took its snapshot. (With the default 5 s the two limits meet,
/// and which comes first is a race.)
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(6);

fn run(endpoint: String) -> ShutdownReport {
    let env = MapEnv::from([
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf".to_owned()),
        ("OTEL_TRACES_EXPORTER", "none".to_owned()),
        ("OTEL_LOGS_EXPORTER", "none".to_owned()),
        ("OTEL_LOG_LEVEL", "off".to_owned()),
    ]);
    let telemetry = otlpkit::builder()
        .with_self_metrics(false)
        .with_shutdown_timeout(SHUTDOWN_TIMEOUT)
        .build_with_env(&env)
        .unwrap();
    let meter = telemetry.meter_provider().unwrap().meter("held");
    let counter = meter.u64_counter("requests").build();
    for route in ["/a", "/b", "/c"] {
        counter.add(1, &[KeyValue::new("route", route)]);
    }
    telemetry.shutdown()
}

fn check(report: &ShutdownReport) {
    let counted = report.dropped_for(Signal::Metrics, DropReason::ShutdownDeadline);
    let deadline: Vec<u64> = report
        .problems
        .iter()
        .filter_map(|problem| match problem {
            ShutdownProblem::DeadlinePassed {
                signal: Signal::Metrics,
                unsent,
                ..
            } => Some(*unsent),
            _ => None,
        })
        .collect();
    assert_eq!(report.delivered(Signal::Metrics), 0, "{report}");
    assert_eq!(report.dropped(Signal::Metrics), 3, "{report}");
    assert_eq!(deadline, [counted], "{report}");
}

#[test]
fn a_held_metric_export_is_unsent_in_the_problem_and_the_counters_alike() {
    let receiver = Receiver::start().unwrap();
    receiver.push_fault(
        otlpkit_testkit::Signal::Metrics,
        Fault::delay(Duration::from_secs(60)),
    );
    check(&run(receiver.http_endpoint()));
}

#[test]
fn a_metric_export_to_a_dead_collector_is_unsent_in_the_problem_and_the_counters_alike() {
    // Held until the shutdown has returned: no other test's receiver can
    // take the port meanwhile.
    let dead = RefusingPort::new().unwrap();
    check(&run(dead.endpoint()));
}
