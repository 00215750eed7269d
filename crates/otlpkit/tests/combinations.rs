//! `otlpkit::init()` across combinations of the settings that change which
//! parts of the pipeline get built, each combination a real process.
//!
//! Settings combine: each combination a user may set must either work or
//! fail with a typed error naming the setting, never panic and never lose
//! data silently. The native `tracing` span path exists only under the
//! subscriber `init()` installs in a real process, so every row of
//! [`ROWS`] runs as a child of this binary (`harness = false`, started again
//! with `--child <scenario>` and the row's environment, as `init.rs` does),
//! against a testkit receiver of its own. The child calls `init()`, makes a
//! `tracing` span with an event and an OpenTelemetry-API span inside it
//! (the global tracer), adds to a counter, shuts down and prints its report.
//! The parent then checks what the row promises: the exit and standard
//! error (no panic), a report with nothing dropped that adds up, and
//! exactly the spans, log records and metric points the row's exporters say
//! on the receiver (none for `none`, console-only or a disabled SDK), over
//! the row's protocol.
//!
//! The rows are a chosen table, not the full product: the values of each
//! setting that change which parts `init()` builds (every console format
//! and exporter choice, the samplers, but not every sampler argument), and
//! the pairs most likely to interact (the spool with tail sampling, with
//! otlpkit's own metrics, with each protocol; the console beside OTLP; the
//! two span paths).
//!
//! Accepts the arguments of the standard harness that matter here (a name
//! filter, `--exact`, `--skip`, `--list`, `--ignored`); each row is a test
//! of its own, and rows run two at a time.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use otlpkit_fixtures::harness::{self, Options};
use otlpkit_fixtures::process::{self, ChildOutput};
use otlpkit_testkit::proto::metrics::v1::number_data_point;
use otlpkit_testkit::{Protocol, ReceivedMetric, Receiver, Signal, hex};

/// Longest wait for a child process (a hang guard, not a measurement).
const WAIT: Duration = Duration::from_secs(60);

/// Rows run side by side (each is a child process and a receiver).
const PARALLEL: usize = 2;

/// The span path of `tracing` spans, chosen in code (no variable selects it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SpanPath {
    /// The default: the native layer when OTLP is the only trace exporter.
    Default,
    /// `Builder::with_tracing_path(TracingPath::TracingOpenTelemetry)`.
    TracingOpenTelemetry,
}

/// What a row expects of `init()`.
#[derive(Debug, Clone, Copy)]
enum Outcome {
    /// It works: the checks below apply.
    Works,
    /// It fails with an `InitError` whose `Display` contains each of these.
    Fails(&'static [&'static str]),
}

/// One combination: the protocol, the settings beyond it, and what the row
/// expects.
#[derive(Debug, Clone, Copy)]
struct Row {
    name: &'static str,
    protocol: Protocol,
    path: SpanPath,
    /// `OTLPKIT_SPOOL_DIR`, a fresh directory.
    spool: bool,
    /// `OTLPKIT_TAIL_SAMPLING=on`, keeping every trace (ratio 1, nothing
    /// decided by the clock).
    tail: bool,
    /// `OTLPKIT_SELF_METRICS=true`.
    self_metrics: bool,
    /// `OTEL_TRACES_SAMPLER=parentbased_traceidratio`, argument 1.
    sampler: bool,
    /// `OTEL_SDK_DISABLED=true`.
    disabled: bool,
    /// `OTEL_TRACES_EXPORTER`, unset when `None` (`otlp`).
    traces: Option<&'static str>,
    /// `OTEL_LOGS_EXPORTER`, unset when `None` (`otlp`).
    logs: Option<&'static str>,
    /// `OTEL_METRICS_EXPORTER`, unset when `None` (`otlp`).
    metrics: Option<&'static str>,
    /// `OTLPKIT_LOG_FORMAT`, unset when `None` (`full`).
    log_format: Option<&'static str>,
    /// Log records over OTLP/HTTP with JSON bodies and metrics over
    /// OTLP/HTTP with protobuf bodies, whatever `protocol` says for traces.
    mixed_protocols: bool,
    /// `OTLPKIT_SPOOL_DIR` names a regular file, not a directory.
    spool_is_a_file: bool,
    /// More variables.
    extra: &'static [(&'static str, &'static str)],
    /// The warnings `init()` gives, each matched by the text it contains.
    warnings: &'static [&'static str],
    outcome: Outcome,
}

const BASE: Row = Row {
    name: "",
    protocol: Protocol::Grpc,
    path: SpanPath::Default,
    spool: false,
    tail: false,
    self_metrics: false,
    sampler: false,
    disabled: false,
    traces: None,
    logs: None,
    metrics: None,
    log_format: None,
    mixed_protocols: false,
    spool_is_a_file: false,
    extra: &[],
    warnings: &[],
    outcome: Outcome::Works,
};

const GRPC: Protocol = Protocol::Grpc;
const PROTOBUF: Protocol = Protocol::HttpProtobuf;
const JSON: Protocol = Protocol::HttpJson;

const ROWS: &[Row] = &[
    // Each protocol alone.
    Row {
        name: "grpc",
        protocol: GRPC,
        ..BASE
    },
    Row {
        name: "http_protobuf",
        protocol: PROTOBUF,
        ..BASE
    },
    Row {
        name: "http_json",
        protocol: JSON,
        ..BASE
    },
    // The spool with each protocol, with tail sampling, with self-metrics.
    Row {
        name: "http_json_zstd_spool",
        protocol: JSON,
        spool: true,
        extra: &[("OTEL_EXPORTER_OTLP_COMPRESSION", "zstd")],
        ..BASE
    },
    Row {
        name: "http_protobuf_spool_tail",
        protocol: PROTOBUF,
        spool: true,
        tail: true,
        ..BASE
    },
    Row {
        name: "grpc_spool_self_metrics",
        protocol: GRPC,
        spool: true,
        self_metrics: true,
        ..BASE
    },
    Row {
        name: "http_json_tail_self_metrics",
        protocol: JSON,
        tail: true,
        self_metrics: true,
        ..BASE
    },
    Row {
        name: "grpc_spool_tail_self_metrics_sampler",
        protocol: GRPC,
        spool: true,
        tail: true,
        self_metrics: true,
        sampler: true,
        ..BASE
    },
    // The console trace exporter beside OTLP, and alone.
    Row {
        name: "http_protobuf_otlp_and_console",
        protocol: PROTOBUF,
        traces: Some("otlp,console"),
        ..BASE
    },
    Row {
        name: "grpc_otlp_and_console_spool_tail",
        protocol: GRPC,
        traces: Some("otlp,console"),
        spool: true,
        tail: true,
        ..BASE
    },
    Row {
        name: "http_json_console_only_tail",
        protocol: JSON,
        traces: Some("console"),
        tail: true,
        ..BASE
    },
    Row {
        name: "otel_path_http_protobuf_gzip_otlp_and_console_spool",
        protocol: PROTOBUF,
        path: SpanPath::TracingOpenTelemetry,
        traces: Some("otlp,console"),
        spool: true,
        extra: &[("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")],
        ..BASE
    },
    // Log records and metrics on the console.
    Row {
        name: "http_protobuf_logs_and_metrics_console_self_metrics",
        protocol: PROTOBUF,
        logs: Some("console"),
        metrics: Some("console"),
        self_metrics: true,
        ..BASE
    },
    // Signals left out.
    Row {
        name: "grpc_traces_none_spool",
        protocol: GRPC,
        traces: Some("none"),
        spool: true,
        ..BASE
    },
    Row {
        name: "http_protobuf_logs_none_spool_tail",
        protocol: PROTOBUF,
        logs: Some("none"),
        spool: true,
        tail: true,
        ..BASE
    },
    Row {
        name: "http_json_traces_and_logs_none_self_metrics",
        protocol: JSON,
        traces: Some("none"),
        logs: Some("none"),
        self_metrics: true,
        ..BASE
    },
    // The console layer's formats.
    Row {
        name: "grpc_log_format_json_tail",
        protocol: GRPC,
        log_format: Some("json"),
        tail: true,
        ..BASE
    },
    Row {
        name: "http_protobuf_log_format_compact_sampler",
        protocol: PROTOBUF,
        log_format: Some("compact"),
        sampler: true,
        ..BASE
    },
    Row {
        name: "http_json_log_format_off_spool_self_metrics",
        protocol: JSON,
        log_format: Some("off"),
        spool: true,
        self_metrics: true,
        ..BASE
    },
    // The last console format, the samplers not covered above, and
    // metrics left out while otlpkit's own metrics are asked for.
    Row {
        name: "grpc_log_format_pretty_always_on",
        protocol: GRPC,
        log_format: Some("pretty"),
        extra: &[("OTEL_TRACES_SAMPLER", "always_on")],
        ..BASE
    },
    Row {
        name: "http_protobuf_metrics_none_traceidratio_self_metrics",
        protocol: PROTOBUF,
        metrics: Some("none"),
        self_metrics: true,
        extra: &[
            ("OTEL_TRACES_SAMPLER", "traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "1"),
        ],
        warnings: &["OTLPKIT_SELF_METRICS is ignored: no metric exporter"],
        ..BASE
    },
    // The SDK disabled: nothing built, whatever else is set.
    Row {
        name: "grpc_sdk_disabled_spool_tail",
        protocol: GRPC,
        disabled: true,
        spool: true,
        tail: true,
        ..BASE
    },
    Row {
        name: "http_protobuf_sdk_disabled_console_self_metrics",
        protocol: PROTOBUF,
        disabled: true,
        traces: Some("otlp,console"),
        self_metrics: true,
        ..BASE
    },
    // The tracing-opentelemetry span path, chosen in code.
    Row {
        name: "otel_path_grpc_spool_tail",
        protocol: GRPC,
        path: SpanPath::TracingOpenTelemetry,
        spool: true,
        tail: true,
        ..BASE
    },
    Row {
        name: "otel_path_http_json_self_metrics_sampler",
        protocol: JSON,
        path: SpanPath::TracingOpenTelemetry,
        self_metrics: true,
        sampler: true,
        ..BASE
    },
    // The queues' other settings, under a spool.
    Row {
        name: "grpc_spool_block_concurrent_byte_bound_self_metrics",
        protocol: GRPC,
        spool: true,
        self_metrics: true,
        extra: &[
            ("OTLPKIT_BSP_OVERFLOW", "block"),
            ("OTLPKIT_BSP_BLOCK_TIMEOUT", "1000"),
            ("OTLPKIT_BSP_MAX_CONCURRENT_EXPORTS", "4"),
            ("OTLPKIT_BSP_MAX_QUEUE_BYTES", "1048576"),
            ("OTLPKIT_BLRP_OVERFLOW", "drop_oldest"),
            ("OTLPKIT_BLRP_MAX_CONCURRENT_EXPORTS", "2"),
            ("OTLPKIT_BLRP_MAX_QUEUE_BYTES", "1048576"),
        ],
        ..BASE
    },
    // One protocol per signal, sharing one spool.
    Row {
        name: "mixed_protocols_spool_tail",
        protocol: GRPC,
        mixed_protocols: true,
        spool: true,
        tail: true,
        ..BASE
    },
    // A protocol that does not exist: a warning naming it, and the
    // specification's default (docs/CONFIGURATION.md, "Typos").
    Row {
        name: "protocol_typo_spool",
        protocol: PROTOBUF,
        spool: true,
        extra: &[("OTEL_EXPORTER_OTLP_PROTOCOL", "http/xml")],
        warnings: &["OTEL_EXPORTER_OTLP_PROTOCOL=\"http/xml\" is not valid"],
        ..BASE
    },
    // Head sampling that keeps nothing: no span, the event still a record.
    Row {
        name: "http_protobuf_always_off_tail_spool",
        protocol: PROTOBUF,
        tail: true,
        spool: true,
        extra: &[("OTEL_TRACES_SAMPLER", "always_off")],
        warnings: &["tail sampling is on behind the head sampler always_off"],
        ..BASE
    },
    // Everything printed, otlpkit's own diagnostics included: the toolkit
    // and the network stack it exports through never feed themselves.
    Row {
        name: "grpc_rust_log_trace_debug_spool_tail",
        protocol: GRPC,
        spool: true,
        tail: true,
        extra: &[("RUST_LOG", "trace"), ("OTEL_LOG_LEVEL", "debug")],
        ..BASE
    },
    Row {
        name: "otel_path_http_json_rust_log_trace_self_metrics",
        protocol: JSON,
        path: SpanPath::TracingOpenTelemetry,
        self_metrics: true,
        extra: &[("RUST_LOG", "trace"), ("OTEL_LOG_LEVEL", "debug")],
        ..BASE
    },
    // A spool that cannot be opened: a typed error naming it.
    Row {
        name: "spool_dir_is_a_file",
        protocol: PROTOBUF,
        spool_is_a_file: true,
        outcome: Outcome::Fails(&["cannot open the otlpkit spool", "not-a-directory"]),
        ..BASE
    },
];

impl Row {
    fn has(setting: Option<&str>, kind: &str) -> bool {
        setting
            .unwrap_or("otlp")
            .split(',')
            .any(|k| k.trim() == kind)
    }

    /// Spans the receiver gets: the `tracing` span and the API span.
    fn spans(&self) -> usize {
        let always_off = self.extra.contains(&("OTEL_TRACES_SAMPLER", "always_off"));
        if self.disabled || always_off || !Self::has(self.traces, "otlp") {
            0
        } else {
            2
        }
    }

    /// Log records the receiver gets: the event.
    fn logs(&self) -> usize {
        if self.disabled || !Self::has(self.logs, "otlp") {
            0
        } else {
            1
        }
    }

    /// Whether the metrics go over OTLP.
    fn metrics(&self) -> bool {
        !self.disabled && Self::has(self.metrics, "otlp")
    }

    /// Whether otlpkit's own metrics are exported: the batch processors'
    /// and the OTLP metric exporter's statistics
    /// (`Builder::with_self_metrics`), so whenever metrics go over OTLP.
    fn own_metrics(&self) -> bool {
        self.self_metrics && self.metrics()
    }

    /// Whether the console exporter `setting` selects prints.
    fn console(&self, setting: Option<&str>) -> bool {
        !self.disabled && Self::has(setting, "console")
    }

    /// Whether the console layer prints `tracing` events on standard
    /// error: unless it is off, whatever is exported (nothing, with the SDK
    /// disabled).
    fn console_layer(&self) -> bool {
        self.log_format != Some("off")
    }

    fn protocol_of(&self, signal: Signal) -> Protocol {
        match signal {
            Signal::Logs if self.mixed_protocols => JSON,
            Signal::Metrics if self.mixed_protocols => PROTOBUF,
            _ => self.protocol,
        }
    }
}

fn protocol_name(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::Grpc => "grpc",
        Protocol::HttpJson => "http/json",
        _ => "http/protobuf",
    }
}

fn endpoint(receiver: &Receiver, protocol: Protocol) -> String {
    match protocol {
        Protocol::Grpc => receiver.grpc_endpoint(),
        _ => receiver.http_endpoint(),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(position) = args.iter().position(|a| a == "--child") {
        let scenario = args.get(position + 1).map(String::as_str).unwrap_or("");
        return child::run(scenario);
    }
    run_rows(&args)
}

/// Lists or runs the rows `args` select, [`PARALLEL`] at a time, and
/// reports them the way libtest does; fails if any row failed.
fn run_rows(args: &[String]) -> ExitCode {
    let options = Options::parse(args);
    let selected: Vec<&Row> = ROWS.iter().filter(|r| options.selects(r.name)).collect();
    if options.lists() {
        for row in &selected {
            let _ = writeln!(std::io::stdout(), "{}: test", row.name);
        }
        return ExitCode::SUCCESS;
    }
    let _ = writeln!(std::io::stdout(), "\nrunning {} tests", selected.len());
    let next = AtomicUsize::new(0);
    let failed = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..PARALLEL {
            scope.spawn(|| {
                while let Some(row) = selected.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let outcome = std::panic::catch_unwind(|| check_row(row));
                    let verdict = if outcome.is_ok() { "ok" } else { "FAILED" };
                    let _ = writeln!(std::io::stdout(), "test {} ... {verdict}", row.name);
                    if outcome.is_err() {
                        failed.lock().unwrap().push(row.name);
                    }
                }
            });
        }
    });
    let failed = failed.into_inner().unwrap();
    harness::conclude(selected.len(), &failed)
}

/// The accounting line of one signal, as the child prints it.
#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    produced: u64,
    delivered: u64,
    dropped: u64,
    sampled_out: u64,
    left_in_spool: u64,
}

/// What the child printed on its standard output, parsed.
#[derive(Debug, Default)]
struct ChildReport {
    counts: BTreeMap<String, Counts>,
    own_metric_points: u64,
    complete: bool,
    warnings: Vec<String>,
}

fn parse_report(stdout: &str) -> ChildReport {
    let mut report = ChildReport::default();
    for line in stdout.lines() {
        if let Some(rest) = line.strip_prefix("counts ") {
            let mut words = rest.split_whitespace();
            let signal = words.next().unwrap_or_default().to_owned();
            let mut counts = Counts::default();
            for word in words {
                let (key, value) = word.split_once('=').unwrap();
                let value: u64 = value.parse().unwrap();
                match key {
                    "produced" => counts.produced = value,
                    "delivered" => counts.delivered = value,
                    "dropped" => counts.dropped = value,
                    "sampled_out" => counts.sampled_out = value,
                    "left_in_spool" => counts.left_in_spool = value,
                    other => panic!("unknown count {other}"),
                }
            }
            report.counts.insert(signal, counts);
        } else if let Some(n) = line.strip_prefix("own_metric_points=") {
            report.own_metric_points = n.parse().unwrap();
        } else if let Some(flag) = line.strip_prefix("complete=") {
            report.complete = flag == "true";
        } else if let Some(warning) = line.strip_prefix("warning: ") {
            report.warnings.push(warning.to_owned());
        }
    }
    report
}

fn run_child(row: &Row, receiver: &Receiver, dir: &std::path::Path) -> ChildOutput {
    let scenario = match row.path {
        SpanPath::Default => "combo",
        SpanPath::TracingOpenTelemetry => "combo_otel_path",
    };
    let mut command = process::child_of_this_test(scenario);
    process::scrub_env(&mut command, &["OTEL_", "OTLPKIT_"], &["RUST_LOG"]);
    let traces_endpoint = endpoint(receiver, row.protocol);
    command.envs([
        ("OTEL_EXPORTER_OTLP_ENDPOINT", traces_endpoint.as_str()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol_name(row.protocol)),
        ("OTEL_SERVICE_NAME", "combinations"),
        // Only the shutdown collects the metrics, once.
        ("OTEL_METRIC_EXPORT_INTERVAL", "3600000"),
    ]);
    if row.mixed_protocols {
        command.envs([
            ("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "http/json"),
            (
                "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
                &receiver.http_url(Signal::Logs),
            ),
            ("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "http/protobuf"),
            (
                "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
                &receiver.http_url(Signal::Metrics),
            ),
        ]);
    }
    if row.spool {
        command.env("OTLPKIT_SPOOL_DIR", dir.join("spool"));
    }
    if row.spool_is_a_file {
        let file = dir.join("not-a-directory");
        std::fs::write(&file, b"a file").unwrap();
        command.env("OTLPKIT_SPOOL_DIR", file);
    }
    if row.tail {
        command.envs([
            ("OTLPKIT_TAIL_SAMPLING", "on"),
            ("OTLPKIT_TAIL_SAMPLING_RATIO", "1"),
            // An hour: nothing here is slow, nothing is decided by the clock.
            ("OTLPKIT_TAIL_SAMPLING_LATENCY_MS", "3600000"),
            ("OTLPKIT_TAIL_SAMPLING_DECISION_WAIT_MS", "3600000"),
        ]);
    }
    if row.self_metrics {
        command.env("OTLPKIT_SELF_METRICS", "true");
    }
    if row.sampler {
        command.envs([
            ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "1"),
        ]);
    }
    if row.disabled {
        command.env("OTEL_SDK_DISABLED", "true");
    }
    if let Some(traces) = row.traces {
        command.env("OTEL_TRACES_EXPORTER", traces);
    }
    if let Some(logs) = row.logs {
        command.env("OTEL_LOGS_EXPORTER", logs);
    }
    if let Some(metrics) = row.metrics {
        command.env("OTEL_METRICS_EXPORTER", metrics);
    }
    command.envs(row.extra.iter().copied());
    if let Some(format) = row.log_format {
        command.env("OTLPKIT_LOG_FORMAT", format);
    }
    process::run_to_end(
        command,
        &format!("row `{}`", row.name),
        WAIT,
        Duration::from_millis(20),
    )
}

fn check_row(row: &Row) {
    let receiver = Receiver::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let child = run_child(row, &receiver, dir.path());
    let context = format!("row {}: {child:?}", row.name);
    assert!(!child.stderr.contains("panicked"), "a panic: {context}");
    match row.outcome {
        Outcome::Fails(parts) => {
            assert!(!child.success, "init() did not fail: {context}");
            let error = child
                .stdout
                .lines()
                .find_map(|line| line.strip_prefix("init error: "))
                .unwrap_or_else(|| panic!("no init error printed: {context}"));
            for part in parts {
                assert!(error.contains(part), "`{part}` not in the error: {context}");
            }
            assert_eq!(receiver.request_count(), 0, "{context}");
        }
        Outcome::Works => check_works(row, &receiver, &child, dir.path(), &context),
    }
}

/// The sum of a metric's number points.
fn total(metric: &ReceivedMetric) -> f64 {
    metric
        .number_points()
        .iter()
        .map(|p| match p.value {
            Some(number_data_point::Value::AsInt(v)) => v as f64,
            Some(number_data_point::Value::AsDouble(v)) => v,
            None => f64::NAN,
        })
        .sum()
}

fn check_works(
    row: &Row,
    receiver: &Receiver,
    child: &ChildOutput,
    dir: &std::path::Path,
    context: &str,
) {
    assert!(child.success, "{context}");
    let report = parse_report(&child.stdout);
    for warning in &report.warnings {
        assert!(
            row.warnings.iter().any(|w| warning.contains(w)),
            "unexpected warning `{warning}`: {context}"
        );
    }
    for expected in row.warnings {
        assert!(
            report.warnings.iter().any(|w| w.contains(expected)),
            "no warning `{expected}`: {context}"
        );
    }
    assert!(report.complete, "the report is not complete: {context}");

    // The report adds up, with nothing dropped or left behind.
    for signal in ["traces", "metrics", "logs"] {
        let counts = report
            .counts
            .get(signal)
            .unwrap_or_else(|| panic!("no counts for {signal}: {context}"));
        assert_eq!(counts.dropped, 0, "{signal} dropped: {context}");
        assert_eq!(counts.left_in_spool, 0, "{signal} left: {context}");
        assert_eq!(counts.sampled_out, 0, "{signal} sampled out: {context}");
        assert_eq!(
            counts.produced,
            counts.delivered + counts.dropped + counts.sampled_out,
            "{signal} does not add up: {context}"
        );
    }
    let traces = report.counts["traces"];
    let logs = report.counts["logs"];
    let metrics = report.counts["metrics"];

    // Exactly what the row's exporters say, on the receiver and in the
    // report, over the row's protocol.
    assert_eq!(receiver.span_count(), row.spans(), "spans: {context}");
    assert_eq!(traces.delivered, row.spans() as u64, "{context}");
    assert_eq!(receiver.log_count(), row.logs(), "log records: {context}");
    assert_eq!(logs.delivered, row.logs() as u64, "{context}");
    assert_eq!(
        receiver.data_point_count() as u64,
        metrics.delivered,
        "metric points: {context}"
    );
    for request in receiver.requests() {
        assert_eq!(
            request.protocol,
            row.protocol_of(request.signal),
            "{:?} request: {context}",
            request.signal
        );
        assert!(request.accepted(), "{context}");
    }
    if row.spans() + row.logs() == 0 && !row.metrics() {
        assert_eq!(receiver.request_count(), 0, "{context}");
    }
    if row.disabled {
        assert_eq!(traces.produced + logs.produced + metrics.produced, 0);
    }
    if !row.metrics() {
        assert_eq!(metrics.delivered, 0, "{context}");
    } else {
        let items = receiver
            .latest_metric("combo.items")
            .unwrap_or_else(|| panic!("no metric combo.items: {context}"));
        assert_eq!(total(&items), 3.0, "{context}");
        let theirs = receiver
            .metrics()
            .iter()
            .filter(|m| !m.name().starts_with("otlpkit."))
            .map(|m| m.point_count() as u64)
            .sum::<u64>();
        assert_eq!(theirs, 1, "the application's points: {context}");
        if row.own_metrics() {
            assert!(report.own_metric_points > 0, "{context}");
            assert_eq!(metrics.delivered, 1 + report.own_metric_points, "{context}");
            // Collected last at shutdown: they count every item delivered
            // and every export call (one request each here).
            for (name, delivered) in [
                ("otlpkit.exporter.sent_spans", traces.delivered),
                ("otlpkit.exporter.sent_log_records", logs.delivered),
            ] {
                let sent = receiver.latest_metric(name).map_or(0.0, |m| total(&m));
                assert_eq!(sent, delivered as f64, "{name}: {context}");
            }
            let exports = receiver.latest_metric("otlpkit.exporter.exports");
            for (signal, name) in [(Signal::Traces, "traces"), (Signal::Logs, "logs")] {
                let calls: f64 = exports
                    .iter()
                    .flat_map(|m| m.number_points())
                    .filter(|p| {
                        let attribute = |key| {
                            otlpkit_testkit::attribute_str(&p.attributes, key).map(str::to_owned)
                        };
                        attribute("signal").as_deref() == Some(name)
                            && attribute("outcome").as_deref() == Some("success")
                    })
                    .map(|p| match p.value {
                        Some(number_data_point::Value::AsInt(v)) => v as f64,
                        Some(number_data_point::Value::AsDouble(v)) => v,
                        None => f64::NAN,
                    })
                    .sum();
                let requests = receiver.requests_for(signal).len();
                assert_eq!(calls, requests as f64, "{name} export calls: {context}");
            }
        } else {
            assert_eq!(report.own_metric_points, 0, "{context}");
            assert_eq!(metrics.delivered, 1, "{context}");
        }
    }

    // Both span paths export through one exporter: over gRPC, one
    // connection for every trace request.
    let trace_requests = receiver.requests_for(Signal::Traces);
    if row.protocol == GRPC && !trace_requests.is_empty() {
        let first = trace_requests[0].connection_id;
        assert!(
            trace_requests.iter().all(|r| r.connection_id == first),
            "trace requests on several connections: {context}"
        );
    }

    // The trace: the API span inside the `tracing` span, the event a log
    // record of the `tracing` span.
    if row.spans() > 0 {
        let native = receiver.span("combo.native").unwrap();
        let api = receiver.span("combo.api").unwrap();
        assert_eq!(api.trace_id_hex(), native.trace_id_hex(), "{context}");
        assert_eq!(
            api.parent_span_id_hex(),
            Some(native.span_id_hex()),
            "{context}"
        );
        if row.logs() > 0 {
            let log = &receiver.logs()[0];
            assert_eq!(hex(&log.record.trace_id), native.trace_id_hex());
            assert_eq!(hex(&log.record.span_id), native.span_id_hex());
        }
    }
    if row.logs() > 0 {
        assert_eq!(
            receiver.logs()[0].body_str(),
            Some("combo.event"),
            "{context}"
        );
    }

    // The console exporters print on standard output: both spans, the
    // event's log record, the counter.
    let span_lines = ["span combo.native trace=", "span combo.api trace="];
    let log_lines = ["log INFO combo.event trace="];
    let metric_lines = ["metric combo.items {} 3"];
    for (console, lines) in [
        (row.console(row.traces), &span_lines[..]),
        (row.console(row.logs), &log_lines[..]),
        (row.console(row.metrics), &metric_lines[..]),
    ] {
        for line in lines {
            assert_eq!(
                child.stdout.contains(line),
                console,
                "`{line}` printed or not: {context}"
            );
        }
    }
    let printed = child
        .stderr
        .lines()
        .find(|line| line.contains("combo.event"));
    match (row.console_layer(), printed) {
        (false, None) => {}
        (false, Some(_)) => panic!("the event printed: {context}"),
        (true, None) => panic!("the event not printed: {context}"),
        (true, Some(line)) => {
            let json = line.trim_start().starts_with('{');
            assert_eq!(json, row.log_format == Some("json"), "{context}");
        }
    }
    // The spool was opened (its lock file is there), unless nothing was
    // built.
    let lock = dir.join("spool").join("LOCK");
    assert_eq!(lock.exists(), row.spool && !row.disabled, "{context}");
}

/// The child side.
mod child {
    use std::io::Write as _;
    use std::process::ExitCode;

    use opentelemetry::global;
    use opentelemetry::trace::Tracer as _;
    use otlpkit::core::Signal;

    pub(super) fn run(scenario: &str) -> ExitCode {
        let builder = match scenario {
            "combo" => otlpkit::builder(),
            "combo_otel_path" => {
                otlpkit::builder().with_tracing_path(otlpkit::TracingPath::TracingOpenTelemetry)
            }
            other => {
                let _ = writeln!(std::io::stderr(), "unknown scenario {other}");
                return ExitCode::FAILURE;
            }
        };
        let mut out = std::io::stdout();
        let telemetry = match builder.init() {
            Ok(telemetry) => telemetry,
            Err(error) => {
                let _ = writeln!(out, "init error: {error}");
                return ExitCode::from(2);
            }
        };
        for warning in telemetry.warnings() {
            let _ = writeln!(out, "warning: {warning}");
        }
        let items = global::meter("combinations")
            .u64_counter("combo.items")
            .build();
        tracing::info_span!("combo.native").in_scope(|| {
            tracing::info!("combo.event");
            global::tracer("combinations").in_span("combo.api", |_| {});
        });
        items.add(3, &[]);
        let report = telemetry.shutdown();
        let _ = writeln!(out, "{report}");
        for signal in Signal::ALL {
            let _ = writeln!(
                out,
                "counts {signal} produced={} delivered={} dropped={} sampled_out={} left_in_spool={}",
                report.produced(*signal),
                report.delivered(*signal),
                report.dropped(*signal),
                report.sampled_out(*signal),
                report.left_in_spool(*signal),
            );
        }
        let _ = writeln!(out, "own_metric_points={}", report.own_metric_points);
        let _ = writeln!(out, "complete={}", report.is_complete());
        ExitCode::SUCCESS
    }
}
