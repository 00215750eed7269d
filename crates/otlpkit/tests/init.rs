//! `otlpkit::init()` and the builder, checked by what the testkit receiver
//! got on the wire.
//!
//! `init()` installs process-wide state (global providers, the propagator,
//! the `tracing` subscriber) and reads the real process environment, so each
//! of those tests runs as its own process, exactly as an application's
//! `main` would: this binary (`harness = false`) starts itself again with
//! `--child <scenario>` and the `OTEL_*` variables of the scenario, then
//! checks the receiver and the child's output. Tests that need no global
//! state use `build_with_env` in this process.
//!
//! Accepts the arguments of the standard harness that matter here: a name
//! filter, `--exact`, `--skip`, `--list` and `--ignored` (there are no ignored tests).

use std::process::ExitCode;
use std::time::{Duration, Instant};

use opentelemetry::KeyValue;
use opentelemetry::logs::{LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::trace::{TraceContextExt as _, Tracer as _, TracerProvider as _};
use otlpkit::core::stats::DropReason;
use otlpkit::core::{ConfigWarning, MapEnv, Signal};
use otlpkit::{InitError, InitWarning};
use otlpkit_fixtures::harness::{self, Test};
use otlpkit_fixtures::process::{self, ChildOutput};
use otlpkit_testkit::proto::metrics::v1::number_data_point;
use otlpkit_testkit::proto::metrics::v1::{AggregationTemporality, NumberDataPoint};
use otlpkit_testkit::{Protocol, ReceivedSpan, Receiver, RefusingPort, hex};

/// Longest wait for a child process or for data to arrive.
const WAIT: Duration = Duration::from_secs(60);

const TESTS: &[Test] = &[
    (
        "tracing_spans_are_tail_sampled_on_the_native_path",
        tracing_spans_are_tail_sampled_on_the_native_path,
    ),
    (
        "sync_main_exports_all_three_signals",
        sync_main_exports_all_three_signals,
    ),
    (
        "both_span_paths_reach_the_collector_on_one_connection",
        both_span_paths_reach_the_collector_on_one_connection,
    ),
    (
        "both_span_paths_are_counted_exactly_when_a_slow_collector_outlasts_the_shutdown",
        both_span_paths_are_counted_exactly_when_a_slow_collector_outlasts_the_shutdown,
    ),
    #[cfg(feature = "spool")]
    (
        "sends_in_flight_at_shutdown_wait_in_the_spool_for_the_next_run",
        sends_in_flight_at_shutdown_wait_in_the_spool_for_the_next_run,
    ),
    #[cfg(feature = "spool")]
    (
        "a_spool_serves_both_span_paths",
        a_spool_serves_both_span_paths,
    ),
    (
        "multi_thread_runtime_with_shutdown_async",
        multi_thread_runtime_with_shutdown_async,
    ),
    (
        "current_thread_runtime_dropping_the_guard",
        current_thread_runtime_dropping_the_guard,
    ),
    (
        "grpc_protocol_from_the_environment",
        grpc_protocol_from_the_environment,
    ),
    (
        "http_json_protocol_from_the_environment",
        http_json_protocol_from_the_environment,
    ),
    (
        "sdk_disabled_is_a_no_op_that_keeps_the_propagator",
        sdk_disabled_is_a_no_op_that_keeps_the_propagator,
    ),
    (
        "console_exporters_print_and_send_nothing",
        console_exporters_print_and_send_nothing,
    ),
    (
        "dead_collector_shutdown_is_bounded_and_reports_the_drops",
        dead_collector_shutdown_is_bounded_and_reports_the_drops,
    ),
    (
        "invalid_rust_log_is_an_error_naming_the_variable",
        invalid_rust_log_is_an_error_naming_the_variable,
    ),
    (
        "an_existing_subscriber_is_kept_with_a_warning",
        an_existing_subscriber_is_kept_with_a_warning,
    ),
    (
        "a_tracing_layer_of_the_application_joins_the_subscriber",
        a_tracing_layer_of_the_application_joins_the_subscriber,
    ),
    (
        "span_details_from_the_builder_reach_the_wire",
        span_details_from_the_builder_reach_the_wire,
    ),
    (
        "resource_sampler_and_limits_are_applied",
        resource_sampler_and_limits_are_applied,
    ),
    (
        "always_off_sampler_exports_no_span",
        always_off_sampler_exports_no_span,
    ),
    (
        "delta_temporality_and_the_metric_reader",
        delta_temporality_and_the_metric_reader,
    ),
    (
        "exporter_none_leaves_the_signal_out",
        exporter_none_leaves_the_signal_out,
    ),
    (
        "config_warnings_are_returned_on_the_guard",
        config_warnings_are_returned_on_the_guard,
    ),
    (
        "invalid_configuration_is_an_error_naming_the_variable",
        invalid_configuration_is_an_error_naming_the_variable,
    ),
    (
        "flush_delivers_without_shutting_down",
        flush_delivers_without_shutting_down,
    ),
    (
        "flush_to_a_dead_collector_reports_the_signals_that_failed",
        flush_to_a_dead_collector_reports_the_signals_that_failed,
    ),
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(position) = args.iter().position(|a| a == "--child") {
        let scenario = args.get(position + 1).map(String::as_str).unwrap_or("");
        return child::run(scenario);
    }
    harness::run(TESTS, &args)
}

/// Runs `scenario` in a child process with exactly the given `OTEL_*`
/// variables (and `RUST_LOG`): those of this process are removed.
fn run_child(scenario: &str, vars: &[(&str, &str)]) -> ChildOutput {
    let mut command = process::child_of_this_test(scenario);
    process::scrub_env(&mut command, &["OTEL_"], &["RUST_LOG"]);
    command.envs(vars.iter().copied());
    process::run_to_end(
        command,
        &format!("child `{scenario}`"),
        WAIT,
        Duration::from_millis(20),
    )
}

/// A count the child printed as `<key>N` on a line of its own.
fn printed_count(child: &ChildOutput, key: &str) -> u64 {
    child
        .stdout
        .lines()
        .find_map(|line| line.strip_prefix(key))
        .and_then(|n| n.trim().parse::<u64>().ok())
        .unwrap_or_else(|| panic!("no `{key}` in {child:?}"))
}

/// The shutdown report's problem lines the child printed.
fn printed_problems(child: &ChildOutput) -> Vec<&str> {
    child
        .stdout
        .lines()
        .filter(|line| line.starts_with("problem: "))
        .collect()
}

/// A receiver that holds each traces request (up to 64) for `hold`.
fn receiver_holding_traces(hold: Duration) -> Receiver {
    let receiver = Receiver::start().unwrap();
    receiver.push_faults(
        otlpkit_testkit::Signal::Traces,
        otlpkit_testkit::Fault::delay(hold),
        64,
    );
    receiver
}

/// `base_env` over gRPC with traces only: no metrics, logs or otlpkit's
/// own metrics.
fn traces_only_env(endpoint: &str) -> Vec<(&str, &str)> {
    let mut vars = base_env(endpoint, "grpc");
    vars.extend([
        ("OTEL_METRICS_EXPORTER", "none"),
        ("OTEL_LOGS_EXPORTER", "none"),
        ("OTLPKIT_SELF_METRICS", "false"),
    ]);
    vars
}

fn span(receiver: &Receiver, name: &str) -> ReceivedSpan {
    receiver
        .span(name)
        .unwrap_or_else(|| panic!("no span `{name}`; got {:?}", names(receiver)))
}

fn names(receiver: &Receiver) -> Vec<String> {
    receiver
        .spans()
        .iter()
        .map(|s| s.name().to_owned())
        .collect()
}

fn number(point: &NumberDataPoint) -> f64 {
    match point.value {
        Some(number_data_point::Value::AsInt(v)) => v as f64,
        Some(number_data_point::Value::AsDouble(v)) => v,
        None => f64::NAN,
    }
}

fn metric_total(receiver: &Receiver, name: &str) -> f64 {
    let metric = receiver
        .latest_metric(name)
        .unwrap_or_else(|| panic!("no metric `{name}`"));
    metric.number_points().iter().map(number).sum()
}

/// The boundaries the synchronous scenario crosses.
const SYNC_HOPS: &[&str] = &["thread", "future", "stream"];
/// The boundaries the asynchronous scenarios cross.
const ASYNC_HOPS: &[&str] = &["thread", "blocking", "task"];

/// The checks shared by the three runtime setups: every boundary kept its
/// parent link, the log record carries the span's ids, the metric arrived,
/// the resource is the configured one, and the accounting is exact.
fn check_boundaries(
    receiver: &Receiver,
    prefix: &str,
    hops: &[&str],
    child: &ChildOutput,
    protocol: Protocol,
) {
    assert!(child.success, "{child:?}");
    let root = span(receiver, &format!("{prefix}.root"));
    assert_eq!(root.parent_span_id_hex(), None);
    assert_eq!(root.origin.protocol, protocol);
    assert_eq!(
        root.origin.resource_attribute_str("service.name"),
        Some("facade-test")
    );
    assert_eq!(
        root.origin.resource_attribute_str("telemetry.distro.name"),
        Some("otlpkit")
    );
    for hop in hops {
        let name = format!("{prefix}.{hop}");
        let child_span = span(receiver, &name);
        assert_eq!(child_span.trace_id_hex(), root.trace_id_hex(), "{name}");
        assert_eq!(
            child_span.parent_span_id_hex(),
            Some(root.span_id_hex()),
            "{name} is not a child of the root"
        );
    }
    let body = format!("{prefix}.event");
    let log = receiver
        .logs()
        .into_iter()
        .find(|log| log.body_str() == Some(body.as_str()))
        .unwrap_or_else(|| panic!("no log `{body}`; {child:?}"));
    assert_eq!(hex(&log.record.trace_id), root.trace_id_hex());
    assert_eq!(hex(&log.record.span_id), root.span_id_hex());
    assert_eq!(metric_total(receiver, &format!("{prefix}.items")), 3.0);
    // With OTLPKIT_SELF_METRICS=true the batch processors report on
    // themselves, collected last at shutdown: the final count of sent spans
    // is every span the report says was delivered.
    let delivered = child
        .stdout
        .lines()
        .find(|line| line.starts_with("traces "))
        .and_then(|line| line.split("delivered").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse::<f64>().ok())
        .unwrap_or_else(|| panic!("no traces line: {child:?}"));
    assert_eq!(
        metric_total(receiver, "otlpkit.exporter.sent_spans"),
        delivered,
        "{child:?}"
    );
    assert!(child.stdout.contains("of them otlpkit's own"), "{child:?}");
    assert!(
        child.stdout.contains("complete: true"),
        "the shutdown report is not complete: {child:?}"
    );
}

fn base_env<'a>(receiver_endpoint: &'a str, protocol: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver_endpoint),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
        ("OTEL_SERVICE_NAME", "facade-test"),
        ("OTLPKIT_SELF_METRICS", "true"),
    ]
}

fn sync_main_exports_all_three_signals() {
    let receiver = Receiver::start().unwrap();
    let endpoint = receiver.http_endpoint();
    let child = run_child("sync", &base_env(&endpoint, "http/protobuf"));
    check_boundaries(&receiver, "sync", SYNC_HOPS, &child, Protocol::HttpProtobuf);
    // The console is kept by default: the event is exported and printed.
    assert!(child.stderr.contains("INFO"), "{child:?}");
    assert!(child.stderr.contains("sync.event"), "{child:?}");
}

/// `tracing` spans (the native layer) and OpenTelemetry-API spans (the SDK
/// provider) have a batch processor each, on one exporter: one connection
/// to the collector, not one per path.
fn both_span_paths_reach_the_collector_on_one_connection() {
    let receiver = Receiver::start().unwrap();
    let endpoint = receiver.grpc_endpoint();
    let child = run_child("both_paths", &base_env(&endpoint, "grpc"));
    assert!(child.success, "{child:?}");
    let native = span(&receiver, "both.native");
    let api = span(&receiver, "both.api");
    assert_eq!(api.parent_span_id_hex(), Some(native.span_id_hex()));
    let requests = receiver.requests_for(otlpkit_testkit::Signal::Traces);
    // One request per path at least: each processor sends its own batches.
    assert!(requests.len() >= 2, "{requests:?}");
    // The report's span processor statistics are both processors': every
    // export call of either path is counted.
    assert!(
        child
            .stdout
            .contains(&format!("span export calls: {}\n", requests.len())),
        "{child:?}"
    );
    assert!(
        requests
            .iter()
            .all(|r| r.connection_id == requests[0].connection_id),
        "{requests:?}"
    );
}

/// Both span paths export through one exporter core; a collector that
/// answers none of their requests before the (short) shutdown budget runs
/// out leaves sends of both paths in flight. Every span is still counted
/// once, under one reason: `produced = delivered + dropped`, exactly.
fn both_span_paths_are_counted_exactly_when_a_slow_collector_outlasts_the_shutdown() {
    // Every traces request is held far longer than the child lives.
    let receiver = receiver_holding_traces(Duration::from_secs(300));
    let endpoint = receiver.grpc_endpoint();
    let child = run_child("both_paths_slow", &traces_only_env(&endpoint));
    // Incomplete (spans were dropped), but the child got to its report.
    assert!(child.stdout.contains("complete: false"), "{child:?}");
    let value = |key: &str| printed_count(&child, key);
    // 4 `tracing` spans and 4 OpenTelemetry-API spans, all held by the
    // collector past the deadline: each counted once, as a shutdown drop.
    assert_eq!(value("produced traces: "), 8, "{child:?}");
    assert_eq!(value("delivered traces: "), 0, "{child:?}");
    assert_eq!(value("dropped traces: "), 8, "{child:?}");
    assert_eq!(value("shutdown_deadline traces: "), 8, "{child:?}");
    // One problem for the deadline, whichever part ran out of time (the
    // native processor, the provider's, or the shared exporter), naming
    // every span it cost.
    assert_eq!(
        printed_problems(&child),
        [
            "problem: traces: the 400ms shutdown deadline passed with 8 items unsent: \
          dropped as shutdown_deadline"
        ],
        "{child:?}"
    );
    assert!(receiver.requests_for(otlpkit_testkit::Signal::Traces).len() >= 2);
}

/// With a spool, what a slow collector still holds when the shutdown
/// budget runs out is saved, not dropped: the shared span exporter is
/// stopped after both processors (`SpanExporter::shutdown_all`), which
/// saves the sends in flight, and the next run delivers every one of them.
#[cfg(feature = "spool")]
fn sends_in_flight_at_shutdown_wait_in_the_spool_for_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let spool_dir = dir.path().to_str().unwrap();
    let traces_only = |endpoint| {
        let mut vars = traces_only_env(endpoint);
        vars.push(("OTLPKIT_SPOOL_DIR", spool_dir));
        vars
    };
    let slow = receiver_holding_traces(Duration::from_secs(300));
    let slow_endpoint = slow.grpc_endpoint();
    let first = run_child("both_paths_slow", &traces_only(&slow_endpoint));
    // Nothing delivered, nothing dropped: all 8 spans wait in the spool,
    // and the one problem says so.
    assert_eq!(printed_count(&first, "produced traces: "), 8, "{first:?}");
    assert_eq!(printed_count(&first, "dropped traces: "), 0, "{first:?}");
    assert_eq!(
        printed_count(&first, "left in spool traces: "),
        8,
        "{first:?}"
    );
    assert_eq!(
        printed_problems(&first),
        [
            "problem: traces: the 400ms shutdown deadline passed; nothing was dropped: \
             8 items wait in the disk spool for the next run"
        ],
        "{first:?}"
    );

    // Slow enough that the spool's drain is still sending when the next
    // run shuts down: its shutdown must wait for it.
    let healthy = receiver_holding_traces(Duration::from_millis(300));
    let healthy_endpoint = healthy.grpc_endpoint();
    let next = run_child("drain_spool", &traces_only(&healthy_endpoint));
    assert!(next.success, "{next:?}");
    assert_eq!(
        printed_count(&next, "found in spool traces: "),
        8,
        "{next:?}"
    );
    assert_eq!(
        printed_count(&next, "delivered from spool traces: "),
        8,
        "{next:?}"
    );
    assert_eq!(
        printed_count(&next, "left in spool traces: "),
        0,
        "{next:?}"
    );
    let mut got = names(&healthy);
    got.sort();
    assert_eq!(got, [["slow.api"; 4], ["slow.native"; 4]].concat());
}

/// A spool opens one lane per signal; the two span paths share it through
/// their one exporter (two exporters could not both open the traces lane).
#[cfg(feature = "spool")]
fn a_spool_serves_both_span_paths() {
    let receiver = Receiver::start().unwrap();
    let endpoint = receiver.grpc_endpoint();
    let dir = tempfile::tempdir().unwrap();
    let mut vars = base_env(&endpoint, "grpc");
    vars.push(("OTLPKIT_SPOOL_DIR", dir.path().to_str().unwrap()));
    let child = run_child("both_paths", &vars);
    assert!(child.success, "{child:?}");
    let native = span(&receiver, "both.native");
    let api = span(&receiver, "both.api");
    assert_eq!(api.parent_span_id_hex(), Some(native.span_id_hex()));
}

fn multi_thread_runtime_with_shutdown_async() {
    let receiver = Receiver::start().unwrap();
    let endpoint = receiver.http_endpoint();
    let mut vars = base_env(&endpoint, "http/protobuf");
    vars.push(("OTLPKIT_LOG_FORMAT", "off"));
    let child = run_child("multi_thread", &vars);
    // No console layer: the event is exported, not printed.
    assert!(!child.stderr.contains("multi.event"), "{child:?}");
    check_boundaries(
        &receiver,
        "multi",
        ASYNC_HOPS,
        &child,
        Protocol::HttpProtobuf,
    );
}

fn current_thread_runtime_dropping_the_guard() {
    let receiver = Receiver::start().unwrap();
    let endpoint = receiver.http_endpoint();
    let child = run_child("current_thread", &base_env(&endpoint, "http/protobuf"));
    // Dropping the guard inside the runtime prints no report; the counts
    // are checked on the receiver instead.
    assert!(child.success, "{child:?}");
    let root = span(&receiver, "current.root");
    for hop in ASYNC_HOPS {
        let hop = span(&receiver, &format!("current.{hop}"));
        assert_eq!(hop.parent_span_id_hex(), Some(root.span_id_hex()));
    }
    assert_eq!(metric_total(&receiver, "current.items"), 3.0);
    assert!(
        receiver
            .logs()
            .iter()
            .any(|l| l.body_str() == Some("current.event"))
    );
}

fn grpc_protocol_from_the_environment() {
    let receiver = Receiver::start().unwrap();
    let endpoint = receiver.grpc_endpoint();
    let child = run_child("sync", &base_env(&endpoint, "grpc"));
    check_boundaries(&receiver, "sync", SYNC_HOPS, &child, Protocol::Grpc);
}

fn http_json_protocol_from_the_environment() {
    let receiver = Receiver::start().unwrap();
    let endpoint = receiver.http_endpoint();
    let child = run_child("sync", &base_env(&endpoint, "http/json"));
    check_boundaries(&receiver, "sync", SYNC_HOPS, &child, Protocol::HttpJson);
}

// checklist 4.4
fn sdk_disabled_is_a_no_op_that_keeps_the_propagator() {
    let receiver = Receiver::start().unwrap();
    let endpoint = receiver.http_endpoint();
    let mut vars = base_env(&endpoint, "http/protobuf");
    vars.push(("OTEL_SDK_DISABLED", "true"));
    let child = run_child("disabled", &vars);
    assert!(child.success, "{child:?}");
    // Nothing is exported, but the console still prints the user's events.
    assert!(
        child
            .stderr
            .lines()
            .any(|line| line.contains("INFO") && line.contains("disabled.event")),
        "{child:?}"
    );
    assert!(
        child
            .stdout
            .contains("traceparent=00-0000000000000000000000000000abcd-00000000000000ef-01"),
        "{child:?}"
    );
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(receiver.request_count(), 0);
}

// checklist 4.7
fn console_exporters_print_and_send_nothing() {
    let receiver = Receiver::start().unwrap();
    let endpoint = receiver.http_endpoint();
    let mut vars = base_env(&endpoint, "http/protobuf");
    vars.extend([
        ("OTEL_TRACES_EXPORTER", "console"),
        ("OTEL_LOGS_EXPORTER", "console"),
        ("OTEL_METRICS_EXPORTER", "console"),
    ]);
    let child = run_child("sync", &vars);
    assert!(child.success, "{child:?}");
    assert!(
        child.stdout.contains("span sync.thread trace="),
        "{child:?}"
    );
    assert!(
        child.stdout.contains("log INFO sync.event trace="),
        "{child:?}"
    );
    assert!(child.stdout.contains("metric sync.items {} 3"), "{child:?}");
    assert_eq!(receiver.request_count(), 0);
}

fn dead_collector_shutdown_is_bounded_and_reports_the_drops() {
    // Held until the child has exited.
    let dead = RefusingPort::new().unwrap();
    let endpoint = dead.endpoint();
    let mut vars = base_env(&endpoint, "http/protobuf");
    vars.push(("OTEL_EXPORTER_OTLP_TIMEOUT", "300"));
    // `run_child` fails the test if the child does not exit in time.
    let child = run_child("sync", &vars);
    // The child exits non-zero when its report is incomplete, as here.
    assert!(!child.success, "{child:?}");
    assert!(child.stdout.contains("complete: false"), "{child:?}");
    assert!(printed_count(&child, "dropped traces: ") >= 4, "{child:?}");
    assert!(child.stdout.contains("retries_exhausted"), "{child:?}");
    // Why, where the user looks, with no subscriber printing anything: the
    // first failure of each exporter on standard error, and the report's
    // last failure with the endpoint and the cause.
    let first_failure = format!("traces export to {endpoint}/v1/traces failed");
    assert!(child.stderr.contains(&first_failure), "{child:?}");
    assert!(child.stderr.contains("connection refused"), "{child:?}");
    assert!(child.stdout.contains("last failure:"), "{child:?}");
    assert!(child.stdout.contains("connection failed"), "{child:?}");
}

fn invalid_rust_log_is_an_error_naming_the_variable() {
    let receiver = Receiver::start().unwrap();
    let endpoint = receiver.http_endpoint();
    let mut vars = base_env(&endpoint, "http/protobuf");
    vars.push(("RUST_LOG", "my_app=loudest"));
    let child = run_child("invalid_rust_log", &vars);
    assert!(child.success, "{child:?}");
    assert!(child.stdout.contains("RUST_LOG"), "{child:?}");
    assert!(child.stdout.contains("my_app=loudest"), "{child:?}");
    // It fails before anything is built: no export worker was started (one
    // that was would have had to be torn down, holding the error back).
    assert!(
        child.stdout.contains("export worker threads seen: 0"),
        "{child:?}"
    );
}

/// Traces of the native tail-sampling scenario, each a root and two
/// children through `tracing` macros: `tail-3` and `tail-7` have a failing
/// child, `tail-5` a `tenant = "vip"` field; one more trace, made through
/// the OpenTelemetry API, fails too, and one more `tracing` trace (a root
/// and a child) continues a remote parent sampled upstream, given with
/// `SpanExt::set_parent` as a server does with incoming headers.
const TAIL_TRACES: usize = 10;

// `OTLPKIT_TAIL_SAMPLING=on` under `init()`: the `tracing` spans take the
// native path and its stage, the OpenTelemetry-API spans the SDK path and
// its own; one report and one set of counters for both.
fn tracing_spans_are_tail_sampled_on_the_native_path() {
    let receiver = Receiver::start().unwrap();
    let endpoint = receiver.http_endpoint();
    let mut vars = base_env(&endpoint, "http/protobuf");
    vars.extend([
        ("OTLPKIT_TAIL_SAMPLING", "on"),
        ("OTLPKIT_TAIL_SAMPLING_RATIO", "0"),
        // An hour: nothing here is slow, nothing is decided by the clock.
        ("OTLPKIT_TAIL_SAMPLING_LATENCY_MS", "3600000"),
        ("OTLPKIT_TAIL_SAMPLING_DECISION_WAIT_MS", "3600000"),
    ]);
    let child = run_child("tail_sampling_native", &vars);
    assert!(child.success, "{child:?}");
    let kept: std::collections::BTreeSet<String> = child
        .stdout
        .lines()
        .filter_map(|line| line.strip_prefix("kept="))
        .map(str::to_owned)
        .collect();
    assert_eq!(kept.len(), 5, "{child:?}");
    // 3 tracing traces of 3 spans, the API trace of 2, the remote
    // parent's of 2.
    let spans = receiver.wait_for_spans(13, WAIT).unwrap();
    let received: std::collections::BTreeSet<String> =
        spans.iter().map(|s| s.trace_id_hex()).collect();
    assert_eq!(received, kept, "{child:?}");
    assert_eq!(spans.len(), 13, "{spans:#?}");
    // The child checked its report: every span accounted for.
    assert!(child.stdout.contains("accounted"), "{child:?}");
}

fn a_tracing_layer_of_the_application_joins_the_subscriber() {
    let receiver = Receiver::start().unwrap();
    let endpoint = receiver.http_endpoint();
    let child = run_child("extra_layer", &base_env(&endpoint, "http/protobuf"));
    assert!(child.success, "{child:?}");
    // The application's layer printed the event on stdout...
    assert!(child.stdout.contains("layered.event"), "{child:?}");
    // ...and otlpkit exported it, as a log record of the span it was in.
    receiver.wait_for_spans(1, Duration::from_secs(10)).unwrap();
    assert!(
        receiver
            .logs()
            .iter()
            .any(|log| log.body_str() == Some("layered.event")),
        "{child:?}"
    );
}

/// `Builder::with_span_details` decides what a `tracing` span carries
/// beyond its fields: with `lean()` and the location back on, exactly the
/// span's field and the three `code.*` attributes arrive, where the
/// default also sends `thread.*`, `target` and `busy_ns`/`idle_ns`.
fn span_details_from_the_builder_reach_the_wire() {
    let receiver = Receiver::start().unwrap();
    let endpoint = receiver.http_endpoint();
    let child = run_child("span_details", &base_env(&endpoint, "http/protobuf"));
    assert!(child.success, "{child:?}");
    let mut keys: Vec<String> = span(&receiver, "detailed.span")
        .span
        .attributes
        .iter()
        .map(|kv| kv.key.clone())
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "code.file.path",
            "code.line.number",
            "code.module.name",
            "request.id"
        ],
        "{child:?}"
    );
}

fn an_existing_subscriber_is_kept_with_a_warning() {
    let receiver = Receiver::start().unwrap();
    let endpoint = receiver.http_endpoint();
    let child = run_child("subscriber_exists", &base_env(&endpoint, "http/protobuf"));
    assert!(child.success, "{child:?}");
    assert!(
        child
            .stderr
            .contains("otlpkit: warning: a global tracing subscriber was already installed"),
        "{child:?}"
    );
}

// ----- in this process: `build_with_env`, nothing global ------------------------------------

fn env_for(receiver: &Receiver, extra: &[(&str, &str)]) -> MapEnv {
    let mut env = MapEnv::from([
        ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.http_endpoint()),
        ("OTEL_SERVICE_NAME", "in-process".to_owned()),
    ]);
    for (key, value) in extra {
        env.set(*key, *value);
    }
    env
}

// checklist 4.1, 4.2, 4.5, 4.8
fn resource_sampler_and_limits_are_applied() {
    let receiver = Receiver::start().unwrap();
    let env = env_for(
        &receiver,
        &[
            (
                "OTEL_RESOURCE_ATTRIBUTES",
                "team=payments,service.name=ignored",
            ),
            ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "1.0"),
            ("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "2"),
            ("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "4"),
        ],
    );
    let telemetry = otlpkit::builder()
        .with_resource_attribute("region", "eu")
        .build_with_env(&env)
        .unwrap();
    assert!(
        telemetry.warnings().is_empty(),
        "{:?}",
        telemetry.warnings()
    );
    let tracer = telemetry.tracer_provider().unwrap().tracer("limits");
    tracer.in_span("limited", |cx| {
        let span = cx.span();
        span.set_attribute(KeyValue::new("first", "abcdefgh"));
        span.set_attribute(KeyValue::new("second", 2_i64));
        span.set_attribute(KeyValue::new("third", "dropped"));
    });
    let report = telemetry.shutdown();
    assert!(report.is_complete(), "{report}");
    let limited = span(&receiver, "limited");
    assert_eq!(limited.span.attributes.len(), 2);
    assert_eq!(limited.attribute_str("first"), Some("abcd"));
    assert_eq!(limited.span.dropped_attributes_count, 1);
    let resource = &limited.origin;
    assert_eq!(
        resource.resource_attribute_str("service.name"),
        Some("in-process")
    );
    assert_eq!(resource.resource_attribute_str("team"), Some("payments"));
    assert_eq!(resource.resource_attribute_str("region"), Some("eu"));
    assert_eq!(
        resource.resource_attribute_str("telemetry.sdk.name"),
        Some("opentelemetry")
    );
}

// checklist 4.5
fn always_off_sampler_exports_no_span() {
    let receiver = Receiver::start().unwrap();
    let env = env_for(&receiver, &[("OTEL_TRACES_SAMPLER", "always_off")]);
    let telemetry = otlpkit::builder().build_with_env(&env).unwrap();
    let tracer = telemetry.tracer_provider().unwrap().tracer("sampler");
    let sampled = tracer.in_span("never", |cx| cx.span().span_context().is_sampled());
    assert!(!sampled);
    let report = telemetry.shutdown();
    assert!(report.is_complete(), "{report}");
    assert_eq!(report.produced(Signal::Traces), 0);
    assert_eq!(receiver.span_count(), 0);
}

// checklist 3.10, 3.11
fn delta_temporality_and_the_metric_reader() {
    let receiver = Receiver::start().unwrap();
    let env = env_for(
        &receiver,
        &[
            ("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "delta"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "100"),
        ],
    );
    let telemetry = otlpkit::builder()
        .with_self_metrics(false)
        .build_with_env(&env)
        .unwrap();
    let counter = telemetry
        .meter_provider()
        .unwrap()
        .meter("reader")
        .u64_counter("ticks")
        .build();
    counter.add(2, &[]);
    // The 100 ms interval exports without any flush.
    let deadline = Instant::now() + WAIT;
    while receiver.latest_metric("ticks").is_none() {
        assert!(Instant::now() < deadline, "no periodic export");
        std::thread::sleep(Duration::from_millis(20));
    }
    let ticks = receiver.latest_metric("ticks").unwrap();
    let Some(otlpkit_testkit::proto::metrics::v1::metric::Data::Sum(sum)) = &ticks.metric.data
    else {
        panic!("not a sum: {ticks:?}");
    };
    assert_eq!(
        sum.aggregation_temporality,
        AggregationTemporality::Delta as i32
    );
    assert!(
        receiver
            .latest_metric("otlpkit.exporter.sent_spans")
            .is_none()
    );
    let report = telemetry.shutdown();
    assert!(report.is_complete(), "{report}");
    assert!(report.delivered(Signal::Metrics) >= 1);
}

// checklist 4.7
fn exporter_none_leaves_the_signal_out() {
    let receiver = Receiver::start().unwrap();
    let env = env_for(
        &receiver,
        &[
            ("OTEL_TRACES_EXPORTER", "none"),
            ("OTEL_METRICS_EXPORTER", "none"),
        ],
    );
    let telemetry = otlpkit::builder().build_with_env(&env).unwrap();
    assert!(telemetry.tracer_provider().is_none());
    assert!(telemetry.meter_provider().is_none());
    let logger = telemetry.logger_provider().unwrap().logger("only-logs");
    let mut record = logger.create_log_record();
    record.set_severity_number(Severity::Info);
    record.set_body("only logs".into());
    logger.emit(record);
    let report = telemetry.shutdown();
    assert!(report.is_complete(), "{report}");
    assert_eq!(report.delivered(Signal::Logs), 1);
    assert_eq!(receiver.span_count(), 0);
    assert_eq!(receiver.logs()[0].body_str(), Some("only logs"));
}

fn config_warnings_are_returned_on_the_guard() {
    let receiver = Receiver::start().unwrap();
    let env = env_for(
        &receiver,
        &[
            ("OTEL_BSP_SCHEDULE_DELAY", "soon"),
            ("OTEL_PROPAGATORS", "tracecontext,xray"),
            ("OTEL_TRACES_SAMPLER", "jaeger_remote"),
            ("OTEL_LOG_LEVEL", "off"),
        ],
    );
    let telemetry = otlpkit::builder().build_with_env(&env).unwrap();
    let warnings = telemetry.warnings();
    assert!(
        warnings.iter().any(|w| matches!(
            w,
            InitWarning::Config(ConfigWarning::InvalidValue {
                var: "OTEL_BSP_SCHEDULE_DELAY",
                ..
            })
        )),
        "{warnings:?}"
    );
    for (setting, value) in [
        ("OTEL_PROPAGATORS", "xray"),
        ("OTEL_TRACES_SAMPLER", "jaeger_remote"),
    ] {
        assert!(
            warnings.iter().any(|w| matches!(
                w,
                InitWarning::Unsupported { setting: s, value: v, .. } if *s == setting && v == value
            )),
            "{setting}: {warnings:?}"
        );
    }
    drop(telemetry);
}

fn invalid_configuration_is_an_error_naming_the_variable() {
    let env = MapEnv::from([("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://[::1")]);
    let error = otlpkit::builder().build_with_env(&env).unwrap_err();
    assert!(matches!(error, InitError::Config(_)), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
        "{message}"
    );
    assert!(message.contains("http://[::1"), "{message}");
}

fn flush_delivers_without_shutting_down() {
    let receiver = Receiver::start().unwrap();
    let env = env_for(&receiver, &[("OTEL_BSP_SCHEDULE_DELAY", "60000")]);
    let telemetry = otlpkit::builder().build_with_env(&env).unwrap();
    let tracer = telemetry.tracer_provider().unwrap().tracer("flush");
    tracer.in_span("flushed", |_| {});
    telemetry.flush().unwrap();
    assert_eq!(receiver.span_count(), 1);
    let stats = telemetry.stats().signal(Signal::Traces);
    assert_eq!((stats.exported, stats.dropped_total()), (1, 0));
    tracer.in_span("after flush", |_| {});
    let report = telemetry.shutdown();
    assert!(report.is_complete(), "{report}");
    assert_eq!(report.delivered(Signal::Traces), 2);
    assert_eq!(report.dropped_for(Signal::Traces, DropReason::QueueFull), 0);
    // After shutdown, the providers are gone from the guard's view and new
    // spans count as dropped after shutdown, never silently.
    tracer.in_span("too late", |_| {});
    assert_eq!(receiver.span_count(), 2);
}

fn flush_to_a_dead_collector_reports_the_signals_that_failed() {
    let dead = RefusingPort::new().unwrap();
    let endpoint = dead.endpoint();
    let env = MapEnv::from([
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "200"),
        ("OTEL_METRICS_EXPORTER", "none"),
    ]);
    let telemetry = otlpkit::builder().build_with_env(&env).unwrap();
    let tracer = telemetry.tracer_provider().unwrap().tracer("flush");
    tracer.in_span("lost", |_| {});
    let error = telemetry.flush().unwrap_err();
    assert_eq!(error.failures().len(), 1, "{error}");
    assert_eq!(error.failures()[0].0, Signal::Traces, "{error}");
    assert!(error.to_string().contains("traces"), "{error}");
    let report = telemetry.shutdown();
    assert!(!report.is_complete());
    assert_eq!(
        report.dropped_for(Signal::Traces, DropReason::RetriesExhausted),
        1
    );
    assert_eq!(report.produced(Signal::Traces), 1);
}

/// The child side: one `fn main`-like scenario per name.
mod child {
    use std::io::Write as _;
    use std::process::ExitCode;

    use futures_util::StreamExt as _;
    use opentelemetry::global;
    use otlpkit::bridge::FutureContextExt as _;
    use otlpkit::core::Signal;
    use tracing::Instrument as _;

    pub(super) fn run(scenario: &str) -> ExitCode {
        match scenario {
            "sync" => sync(),
            "both_paths" => both_paths(),
            "both_paths_slow" => both_paths_slow(),
            "drain_spool" => drain_spool(),
            "multi_thread" => {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(async_main("multi", true))
            }
            "current_thread" => {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(async_main("current", false))
            }
            "disabled" => disabled(),
            "invalid_rust_log" => invalid_rust_log(),
            "subscriber_exists" => subscriber_exists(),
            "extra_layer" => extra_layer(),
            "span_details" => {
                let telemetry = otlpkit::builder()
                    .with_span_details(otlpkit::tracing::SpanDetails::lean().with_location(true))
                    .init()
                    .unwrap();
                tracing::info_span!("detailed.span", request.id = 7_i64).in_scope(|| {});
                report(&telemetry.shutdown())
            }
            "tail_sampling_native" => tail_sampling_native(),
            other => {
                eprintln!("unknown scenario {other}");
                ExitCode::FAILURE
            }
        }
    }

    fn report(report: &otlpkit::ShutdownReport) -> ExitCode {
        let mut out = std::io::stdout();
        let _ = writeln!(out, "{report}");
        let _ = writeln!(out, "dropped traces: {}", report.dropped(Signal::Traces));
        let _ = writeln!(out, "complete: {}", report.is_complete());
        if report.is_complete() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    }

    /// A plain `fn main`: no runtime anywhere in user code.
    fn sync() -> ExitCode {
        let telemetry = otlpkit::init().unwrap();
        let items = global::meter("facade-test")
            .u64_counter("sync.items")
            .build();
        tracing::info_span!("sync.root").in_scope(|| {
            tracing::info!("sync.event");
            otlpkit::bridge::thread::spawn(|| tracing::info_span!("sync.thread").in_scope(|| {}))
                .join()
                .unwrap();
            // Sync code calling async code.
            otlpkit::bridge::block_on(
                async { tracing::info_span!("sync.future").in_scope(|| {}) }.in_current_context(),
            )
            .unwrap();
            otlpkit::bridge::block_on(
                futures_util::stream::iter(0..3)
                    .for_each(|_| {
                        items.add(1, &[]);
                        std::future::ready(())
                    })
                    .instrument(tracing::info_span!("sync.stream")),
            )
            .unwrap();
        });
        report(&telemetry.shutdown())
    }

    /// A `tracing` span with an OpenTelemetry-API span inside.
    fn both_paths() -> ExitCode {
        use opentelemetry::trace::Tracer as _;
        let telemetry = otlpkit::init().unwrap();
        tracing::info_span!("both.native")
            .in_scope(|| global::tracer("facade-test").in_span("both.api", |_| {}));
        // Both spans are queued, taken for export or exported by now: the
        // statistics of both processors count them.
        let received = telemetry
            .processor_stats(Signal::Traces)
            .map(|stats| stats.received());
        let shutdown = telemetry.shutdown();
        let calls = shutdown.traces.as_ref().map(|t| t.export_durations.count);
        let _ = writeln!(
            std::io::stdout(),
            "span export calls: {}",
            calls.unwrap_or(0)
        );
        if received != Some(2) {
            let _ = writeln!(std::io::stderr(), "spans received: {received:?}, not 2");
            return ExitCode::FAILURE;
        }
        report(&shutdown)
    }

    /// Both span paths against a collector that answers nothing in time: a
    /// flush sends what each processor holds (the sends stay in flight),
    /// then a short shutdown.
    fn both_paths_slow() -> ExitCode {
        use opentelemetry::trace::Tracer as _;
        use otlpkit::core::stats::DropReason;
        let telemetry = otlpkit::init().unwrap();
        for _ in 0..4 {
            tracing::info_span!("slow.native").in_scope(|| {});
            global::tracer("facade-test").in_span("slow.api", |_| {});
        }
        // Not complete: the collector holds the requests.
        let _ = telemetry.flush_within(std::time::Duration::from_millis(300));
        let report = telemetry.shutdown_within(std::time::Duration::from_millis(400));
        let mut out = std::io::stdout();
        let _ = writeln!(out, "produced traces: {}", report.produced(Signal::Traces));
        let _ = writeln!(
            out,
            "delivered traces: {}",
            report.delivered(Signal::Traces)
        );
        let _ = writeln!(
            out,
            "shutdown_deadline traces: {}",
            report.dropped_for(Signal::Traces, DropReason::ShutdownDeadline)
        );
        let _ = writeln!(
            out,
            "left in spool traces: {}",
            report.left_in_spool(Signal::Traces)
        );
        self::report(&report)
    }

    /// Starts, sends what an earlier run left in the spool, shuts down.
    fn drain_spool() -> ExitCode {
        let telemetry = otlpkit::init().unwrap();
        let report = telemetry.shutdown_within(std::time::Duration::from_secs(10));
        let mut out = std::io::stdout();
        let signal = Signal::Traces;
        let _ = writeln!(
            out,
            "found in spool traces: {}",
            report.found_in_spool(signal)
        );
        let _ = writeln!(
            out,
            "delivered from spool traces: {}",
            report.delivered_from_spool(signal)
        );
        let _ = writeln!(
            out,
            "left in spool traces: {}",
            report.left_in_spool(signal)
        );
        self::report(&report)
    }

    /// `#[tokio::main]`, either flavour.
    async fn async_main(prefix: &'static str, shutdown_async: bool) -> ExitCode {
        let telemetry = otlpkit::init().unwrap();
        let items = global::meter("facade-test")
            .u64_counter(format!("{prefix}.items"))
            .build();
        let root = tracing::info_span!("root", otel.name = format!("{prefix}.root"));
        async {
            tracing::info!("{prefix}.event");
            otlpkit::bridge::thread::spawn(move || {
                tracing::info_span!("thread", otel.name = format!("{prefix}.thread"))
                    .in_scope(|| {})
            })
            .join()
            .unwrap();
            otlpkit::bridge::spawn_blocking(move || {
                tracing::info_span!("blocking", otel.name = format!("{prefix}.blocking"))
                    .in_scope(|| {})
            })
            .await
            .unwrap();
            let items = items.clone();
            tokio::spawn(
                futures_util::stream::iter(0..3)
                    .for_each(move |_| {
                        items.add(1, &[]);
                        std::future::ready(())
                    })
                    .instrument(tracing::info_span!(
                        "task",
                        otel.name = format!("{prefix}.task")
                    ))
                    .in_current_context(),
            )
            .await
            .unwrap();
        }
        .instrument(root)
        .await;
        if shutdown_async {
            report(&telemetry.shutdown_async().await)
        } else {
            // The guard's `Drop` on the runtime's only thread: bounded, and
            // no deadlock, since the exports run on otlpkit's worker.
            drop(telemetry);
            ExitCode::SUCCESS
        }
    }

    fn disabled() -> ExitCode {
        use opentelemetry::trace::{
            SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState,
        };
        let telemetry = otlpkit::init().unwrap();
        assert!(telemetry.is_disabled());
        assert!(telemetry.tracer_provider().is_none());
        tracing::info_span!("disabled.span").in_scope(|| tracing::info!("disabled.event"));
        let cx = opentelemetry::Context::new().with_remote_span_context(SpanContext::new(
            TraceId::from(0xabcd_u128),
            SpanId::from(0xef_u64),
            TraceFlags::SAMPLED,
            true,
            TraceState::default(),
        ));
        let mut carrier = std::collections::HashMap::new();
        global::get_text_map_propagator(|p| p.inject_context(&cx, &mut carrier));
        let _ = writeln!(
            std::io::stdout(),
            "traceparent={}",
            carrier.get("traceparent").map_or("", String::as_str)
        );
        let report = telemetry.shutdown();
        assert_eq!(report.produced(Signal::Traces), 0);
        ExitCode::SUCCESS
    }

    fn invalid_rust_log() -> ExitCode {
        // Watches this process's threads for otlpkit's export worker while
        // `init` runs.
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let watcher = {
            let stop = std::sync::Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut seen = std::collections::HashSet::new();
                while !stop.load(std::sync::atomic::Ordering::Acquire) {
                    for task in std::fs::read_dir("/proc/self/task").into_iter().flatten() {
                        let Ok(task) = task else { continue };
                        let comm =
                            std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
                        if comm.trim() == otlpkit::WORKER_THREAD_NAME {
                            seen.insert(task.file_name());
                        }
                    }
                    std::thread::yield_now();
                }
                seen.len()
            })
        };
        let result = otlpkit::init();
        stop.store(true, std::sync::atomic::Ordering::Release);
        let workers = watcher.join().unwrap();
        match result {
            Ok(_) => ExitCode::FAILURE,
            Err(error) => {
                assert!(matches!(error, otlpkit::InitError::Tracing(_)), "{error:?}");
                let _ = writeln!(std::io::stdout(), "{error}");
                let _ = writeln!(std::io::stdout(), "export worker threads seen: {workers}");
                ExitCode::SUCCESS
            }
        }
    }

    fn extra_layer() -> ExitCode {
        let layer = tracing_subscriber::fmt::layer()
            .with_writer(std::io::stdout)
            .without_time()
            .with_ansi(false);
        let telemetry = otlpkit::builder().with_tracing_layer(layer).init().unwrap();
        tracing::info_span!("layered.root").in_scope(|| tracing::info!("layered.event"));
        report(&telemetry.shutdown())
    }

    fn tail_sampling_native() -> ExitCode {
        use opentelemetry::trace::{Status, TraceContextExt as _, Tracer as _};
        use otlpkit::core::stats::SamplingPolicy;
        let telemetry = otlpkit::builder()
            .with_tail_sampling_rule(otlpkit::batch::tail::AttributeRule::one_of(
                "tenant",
                ["vip"],
            ))
            .init()
            .unwrap();
        let current_trace = || {
            opentelemetry::Context::map_current(|cx| {
                cx.span().span_context().trace_id().to_string()
            })
        };
        let mut out = std::io::stdout();
        for i in 0..super::TAIL_TRACES {
            let tenant = if i == 5 { "vip" } else { "standard" };
            tracing::info_span!("tail.request", index = i, tenant).in_scope(|| {
                let verdict = if [3, 5, 7].contains(&i) {
                    "kept"
                } else {
                    "out"
                };
                let _ = writeln!(out, "{verdict}={}", current_trace());
                tracing::info_span!("tail.db").in_scope(|| {});
                if i == 3 || i == 7 {
                    tracing::info_span!("tail.query", otel.status_code = "ERROR").in_scope(|| {});
                } else {
                    tracing::info_span!("tail.query").in_scope(|| {});
                }
            });
        }
        let upstream = opentelemetry::trace::SpanContext::new(
            opentelemetry::trace::TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
            opentelemetry::trace::SpanId::from_hex("00f067aa0ba902b7").unwrap(),
            opentelemetry::trace::TraceFlags::SAMPLED,
            true,
            opentelemetry::trace::TraceState::default(),
        );
        let request = tracing::info_span!("tail.remote");
        otlpkit::tracing::SpanExt::set_parent(
            &request,
            opentelemetry::Context::new().with_remote_span_context(upstream),
        )
        .unwrap();
        request.in_scope(|| {
            let _ = writeln!(out, "kept={}", current_trace());
            tracing::info_span!("tail.remote.db").in_scope(|| {});
        });
        drop(request);
        let tracer = global::tracer("api");
        tracer.in_span("api.request", |cx| {
            let _ = writeln!(out, "kept={}", cx.span().span_context().trace_id());
            tracer.in_span("api.call", |cx| {
                cx.span().set_status(Status::error("refused"));
            });
        });
        let held = telemetry
            .tail_sampling_stats()
            .map(|stats| stats.held_traces as u64);
        let report = telemetry.shutdown();
        let _ = writeln!(out, "{report}");
        let traces = report.stats.signal(Signal::Traces);
        let sampling = &traces.sampling;
        let checks: [(&str, Option<u64>, Option<u64>); 8] = [
            ("held traces", held, Some(0)),
            (
                "kept for an error",
                Some(sampling.kept(SamplingPolicy::Error)),
                Some(3),
            ),
            (
                "kept for an attribute",
                Some(sampling.kept(SamplingPolicy::Attribute)),
                Some(1),
            ),
            (
                "kept for a parent sampled upstream",
                Some(sampling.kept(SamplingPolicy::ParentSampled)),
                Some(1),
            ),
            (
                "traces sampled out",
                Some(sampling.traces_sampled_out),
                Some(7),
            ),
            (
                "spans sampled out",
                Some(report.sampled_out(Signal::Traces)),
                Some(21),
            ),
            (
                "delivered",
                Some(report.delivered(Signal::Traces)),
                Some(13),
            ),
            ("produced", Some(report.produced(Signal::Traces)), Some(34)),
        ];
        let mut ok = report.is_complete();
        for (what, got, want) in checks {
            if got != want {
                let _ = writeln!(out, "{what}: {got:?}, expected {want:?}");
                ok = false;
            }
        }
        if ok {
            let _ = writeln!(out, "every span accounted for");
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    }

    fn subscriber_exists() -> ExitCode {
        tracing::subscriber::set_global_default(tracing_subscriber::registry()).unwrap();
        let telemetry = otlpkit::init().unwrap();
        assert!(
            telemetry
                .warnings()
                .contains(&otlpkit::InitWarning::SubscriberAlreadyInstalled)
        );
        // The providers still work through the OpenTelemetry API.
        use opentelemetry::trace::Tracer as _;
        global::tracer("api").in_span("api.span", |_| {});
        let report = telemetry.shutdown();
        if report.delivered(Signal::Traces) == 1 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    }
}
