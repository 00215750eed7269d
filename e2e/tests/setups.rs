//! The two setups users write — a plain `fn main()` with no runtime, and a
//! `#[tokio::main]` program (both runtime flavours) — through
//! `otlpkit::init()` against a real rotel collector. Each produces one trace
//! that crosses every boundary (a thread, `spawn_blocking`, `tokio::spawn`,
//! a future, a stream with one span per item) and rotel's report must show
//! every span with the right parent, and the log record with the root
//! span's ids.
//!
//! `init()` installs process-wide state and reads the real environment, so
//! each setup runs in its own process, as a real `main` would: this binary
//! (`harness = false`) starts itself again with `--child <setup>` and the
//! `OTEL_*` variables pointing at rotel, then reads rotel's report.
//!
//! Needs a running rotel: run `cargo xtask e2e` (see `otlpkit_e2e`). Without
//! it every test fails with instructions; none passes silently.

use std::process::ExitCode;
use std::time::Duration;

use otlpkit_e2e::{ReceivedSpan, Rotel};
use otlpkit_fixtures::harness::{self, Test};
use otlpkit_fixtures::process::{self, ChildOutput};

/// How long rotel may take to report, and a child to finish.
const WAIT: Duration = Duration::from_secs(60);

/// The spans each setup creates under its root, `(name, parent)` with the
/// setup's prefix left out.
const HOPS: &[(&str, &str)] = &[
    ("thread", "root"),
    ("spawn_blocking", "root"),
    ("task", "root"),
    ("future", "root"),
    ("stream", "root"),
    ("stream.item", "stream"),
];
/// Items the stream yields, each in its own span.
const STREAM_ITEMS: usize = 3;

const TESTS: &[Test] = &[
    ("sync_main_over_grpc", sync_main_over_grpc),
    (
        "tokio_multi_thread_over_http_protobuf",
        tokio_multi_thread_over_http_protobuf,
    ),
    (
        "tokio_current_thread_over_http_json",
        tokio_current_thread_over_http_json,
    ),
    (
        "tail_sampling_from_the_environment_keeps_exactly_the_failing_and_slow_traces",
        tail_sampling_from_the_environment_keeps_exactly_the_failing_and_slow_traces,
    ),
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(position) = args.iter().position(|a| a == "--child") {
        return child::run(args.get(position + 1).map_or("", String::as_str));
    }
    harness::run(TESTS, &args)
}

fn rotel() -> Rotel {
    Rotel::from_env().unwrap_or_else(|error| panic!("{error}"))
}

/// Runs one setup in a child process against rotel and returns the trace id
/// it printed.
fn run_setup(setup: &str, endpoint: &str, protocol: &str, service: &str) -> String {
    let stdout = run_child(setup, endpoint, protocol, service, &[]);
    stdout
        .lines()
        .find_map(|line| line.strip_prefix("trace_id="))
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("setup `{setup}` printed no trace id:\n{stdout}"))
}

/// Runs one setup in a child process against rotel, with `extra` variables
/// beside the endpoint, protocol and service name; returns what it printed.
fn run_child(
    setup: &str,
    endpoint: &str,
    protocol: &str,
    service: &str,
    extra: &[(&str, &str)],
) -> String {
    let mut command = process::child_of_this_test(setup);
    process::scrub_env(&mut command, &["OTEL_", "OTLPKIT_TAIL_"], &["RUST_LOG"]);
    command.envs([
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
        ("OTEL_SERVICE_NAME", service),
    ]);
    command.envs(extra.iter().copied());
    let ChildOutput {
        success,
        stdout,
        stderr,
    } = process::run_to_end(
        command,
        &format!("setup `{setup}`"),
        WAIT,
        Duration::from_millis(50),
    );
    assert!(
        success,
        "setup `{setup}` failed\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}"
    );
    stdout
}

/// Waits for the whole trace in rotel's report and checks every parent link.
fn check_trace(rotel: &Rotel, prefix: &str, trace_id: &str, service: &str) {
    let expected = 1 + HOPS.len() - 1 + STREAM_ITEMS;
    let spans = rotel
        .wait_for_spans(trace_id, expected, WAIT)
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(spans.len(), expected, "{spans:#?}");
    let named = |name: &str| -> Vec<&ReceivedSpan> {
        let full = format!("{prefix}.{name}");
        spans.iter().filter(|s| s.name == full).collect()
    };
    let root = named("root");
    assert_eq!(root.len(), 1, "{spans:#?}");
    let root = root[0];
    assert_eq!(root.parent_span_id, None, "the root has no parent");
    for span in &spans {
        assert_eq!(span.service_name(), Some(service), "{span:?}");
    }
    for (name, parent_name) in HOPS {
        let parent = named(parent_name);
        assert_eq!(parent.len(), 1, "{prefix}.{parent_name}: {spans:#?}");
        let children = named(name);
        let count = if *name == "stream.item" {
            STREAM_ITEMS
        } else {
            1
        };
        assert_eq!(children.len(), count, "{prefix}.{name}: {spans:#?}");
        for child in children {
            assert_eq!(
                child.parent_span_id.as_deref(),
                Some(parent[0].span_id.as_str()),
                "{prefix}.{name} must be a child of its parent: {spans:#?}"
            );
        }
    }

    // The event logged inside the root became a log record with its ids.
    let body = format!("Str({prefix}.event)");
    let report = rotel
        .wait_for(
            WAIT,
            &format!("the log record `{prefix}.event`"),
            |report| {
                report
                    .logs()
                    .iter()
                    .any(|log| log.body == body && log.trace_id.as_deref() == Some(trace_id))
            },
            |report| format!("{} log records", report.logs().len()),
        )
        .unwrap_or_else(|error| panic!("{error}"));
    let log = report
        .logs()
        .iter()
        // Match on the trace too: a report shared by earlier runs holds
        // records with the same body from other traces.
        .find(|log| log.body == body && log.trace_id.as_deref() == Some(trace_id))
        .unwrap_or_else(|| panic!("no log record {body}"));
    assert_eq!(log.trace_id.as_deref(), Some(trace_id));
    assert_eq!(log.span_id.as_deref(), Some(root.span_id.as_str()));
    assert_eq!(log.service_name(), Some(service));
}

// checklist 1.1 (gRPC), 2.1
fn sync_main_over_grpc() {
    let rotel = rotel();
    let service = "otlpkit-e2e-setup-sync";
    let trace_id = run_setup("sync", rotel.grpc_endpoint(), "grpc", service);
    check_trace(&rotel, "sync", &trace_id, service);
}

// checklist 1.1 (http/protobuf), 1.5 (`v1/traces` appended to the general endpoint)
fn tokio_multi_thread_over_http_protobuf() {
    let rotel = rotel();
    let service = "otlpkit-e2e-setup-multi";
    let trace_id = run_setup(
        "multi_thread",
        rotel.http_endpoint(),
        "http/protobuf",
        service,
    );
    check_trace(&rotel, "multi", &trace_id, service);
}

// checklist 2.15a (hex ids in OTLP/JSON)
fn tokio_current_thread_over_http_json() {
    let rotel = rotel();
    let service = "otlpkit-e2e-setup-current";
    let trace_id = run_setup(
        "current_thread",
        rotel.http_endpoint(),
        "http/json",
        service,
    );
    check_trace(&rotel, "current", &trace_id, service);
}

/// Traces the tail-sampling setup produces, and which of them fail.
const TAIL_TRACES: usize = 40;
/// Spans per trace of the tail-sampling setup: request, db, query.
const TAIL_SPANS: usize = 3;

// `OTLPKIT_TAIL_SAMPLING=on` with ratio 0 under `otlpkit::init()`: the child
// produces 40 traces through `tracing` (4 with an error in the deepest span)
// and one through the OpenTelemetry API with a slow child; rotel must report
// every span of those 5 traces and none of the others, and the child's
// shutdown report must account for every span.
fn tail_sampling_from_the_environment_keeps_exactly_the_failing_and_slow_traces() {
    let rotel = rotel();
    let service = "otlpkit-e2e-tail-sampling";
    let stdout = run_child(
        "tail_sampling",
        rotel.grpc_endpoint(),
        "grpc",
        service,
        &[
            ("OTLPKIT_TAIL_SAMPLING", "on"),
            ("OTLPKIT_TAIL_SAMPLING_RATIO", "0"),
            // An hour: the slow span lasts two, by its timestamps.
            ("OTLPKIT_TAIL_SAMPLING_LATENCY_MS", "3600000"),
            ("OTLPKIT_TAIL_SAMPLING_DECISION_WAIT_MS", "60000"),
            ("OTLPKIT_TAIL_SAMPLING_MAX_TRACES", "1000"),
        ],
    );
    let ids = |prefix: &str| -> Vec<String> {
        stdout
            .lines()
            .filter_map(|line| line.strip_prefix(prefix))
            .map(str::to_owned)
            .collect()
    };
    let kept = ids("kept=");
    let sampled_out = ids("sampled_out=");
    assert_eq!(kept.len(), 5, "{stdout}");
    assert_eq!(sampled_out.len(), TAIL_TRACES + 1 - 5, "{stdout}");
    for trace_id in &kept {
        let spans = rotel
            .wait_for_spans(trace_id, TAIL_SPANS, WAIT)
            .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(spans.len(), TAIL_SPANS, "{spans:#?}");
        assert!(spans.iter().all(|s| s.service_name() == Some(service)));
    }
    // Every kept span was logged by rotel; the sampled-out traces, ended
    // before them and exported with them if at all, are not there.
    let report = rotel
        .read_report()
        .unwrap_or_else(|error| panic!("{error}"));
    for trace_id in &sampled_out {
        assert!(
            report.spans_of_trace(trace_id).next().is_none(),
            "trace {trace_id} was sampled out but reached rotel"
        );
    }
}

/// The setups, as an application's `main` would write them.
mod child {
    use std::io::Write as _;
    use std::process::ExitCode;

    use futures_util::StreamExt as _;
    use otlpkit::bridge::{FutureContextExt as _, StreamContextExt as _};
    use otlpkit::opentelemetry::trace::TraceContextExt as _;
    use tracing::Instrument as _;

    pub(super) fn run(setup: &str) -> ExitCode {
        match setup {
            "sync" => sync_main(),
            "multi_thread" => tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .map_or(ExitCode::FAILURE, |rt| rt.block_on(async_main("multi"))),
            "tail_sampling" => tail_sampling_main(),
            "current_thread" => tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_or(ExitCode::FAILURE, |rt| rt.block_on(async_main("current"))),
            other => {
                eprintln!("unknown setup `{other}`");
                ExitCode::FAILURE
            }
        }
    }

    /// The trace id of the current span (the root, where it is called).
    fn print_trace_id() {
        let trace_id = otlpkit::opentelemetry::Context::map_current(|cx| {
            cx.span().span_context().trace_id().to_string()
        });
        let _ = writeln!(std::io::stdout(), "trace_id={trace_id}");
    }

    fn finish(report: &otlpkit::ShutdownReport) -> ExitCode {
        let _ = writeln!(std::io::stdout(), "{report}");
        if report.is_complete() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    }

    fn span(prefix: &str, hop: &str) -> tracing::Span {
        tracing::info_span!("hop", otel.name = format!("{prefix}.{hop}"))
    }

    /// The five-line synchronous setup, then every boundary from sync code:
    /// the async ones through `otlpkit::bridge::block_on`.
    fn sync_main() -> ExitCode {
        let telemetry = match otlpkit::init() {
            Ok(telemetry) => telemetry,
            Err(error) => {
                eprintln!("{error}");
                return ExitCode::FAILURE;
            }
        };
        let prefix = "sync";
        span(prefix, "root").in_scope(|| {
            print_trace_id();
            tracing::info!("sync.event");
            let _ =
                otlpkit::bridge::thread::spawn(|| span("sync", "thread").in_scope(|| {})).join();
            let _ = otlpkit::bridge::block_on(
                async {
                    let _ = otlpkit::bridge::spawn_blocking(|| {
                        span("sync", "spawn_blocking").in_scope(|| {});
                    })
                    .await;
                    let _ = tokio::spawn(
                        async { span("sync", "task").in_scope(|| {}) }.in_current_context(),
                    )
                    .await;
                    async {}.instrument(span("sync", "future")).await;
                    stream(prefix).await;
                }
                .in_current_context(),
            );
        });
        finish(&telemetry.shutdown())
    }

    /// Tail sampling from the environment: `tracing` spans, a failing query
    /// in every tenth trace, and a slow trace through the OpenTelemetry API.
    fn tail_sampling_main() -> ExitCode {
        use otlpkit::opentelemetry::trace::{Span as _, Tracer as _, TracerProvider as _};
        let telemetry = match otlpkit::init() {
            Ok(telemetry) => telemetry,
            Err(error) => {
                eprintln!("{error}");
                return ExitCode::FAILURE;
            }
        };
        let mut out = std::io::stdout();
        let mut kept = 0;
        for i in 0..super::TAIL_TRACES {
            let failing = i % 10 == 3;
            tracing::info_span!("hop", otel.name = format!("tail.request.{i}")).in_scope(|| {
                let trace_id = otlpkit::opentelemetry::Context::map_current(|cx| {
                    cx.span().span_context().trace_id().to_string()
                });
                let verdict = if failing { "kept" } else { "sampled_out" };
                let _ = writeln!(out, "{verdict}={trace_id}");
                tracing::info_span!("hop", otel.name = "tail.db").in_scope(|| {
                    let query = if failing {
                        tracing::info_span!(
                            "hop",
                            otel.name = "tail.query",
                            otel.status_code = "ERROR"
                        )
                    } else {
                        tracing::info_span!("hop", otel.name = "tail.query")
                    };
                    query.in_scope(|| {});
                });
            });
            kept += usize::from(failing);
        }
        // A trace with a slow child, by its timestamps.
        let Some(provider) = telemetry.tracer_provider() else {
            return ExitCode::FAILURE;
        };
        let tracer = provider.tracer("e2e");
        let start = std::time::SystemTime::now();
        let root = tracer.start("tail.slow");
        let trace_id = root.span_context().trace_id().to_string();
        let cx = otlpkit::opentelemetry::Context::new().with_span(root);
        tracer
            .span_builder("tail.slow.db")
            .with_start_time(start)
            .start_with_context(&tracer, &cx)
            .end();
        tracer
            .span_builder("tail.slow.call")
            .with_start_time(start)
            .start_with_context(&tracer, &cx)
            .end_with_timestamp(start + std::time::Duration::from_secs(7200));
        cx.span().end();
        let _ = writeln!(out, "kept={trace_id}");
        kept += 1;

        let report = telemetry.shutdown();
        let _ = writeln!(out, "{report}");
        let spans = (super::TAIL_TRACES + 1) * super::TAIL_SPANS;
        let kept_spans = kept * super::TAIL_SPANS;
        let traces = report.stats.signal(otlpkit::core::Signal::Traces);
        let accounted = report.is_complete()
            && report.produced(otlpkit::core::Signal::Traces) == spans as u64
            && report.delivered(otlpkit::core::Signal::Traces) == kept_spans as u64
            && report.sampled_out(otlpkit::core::Signal::Traces) == (spans - kept_spans) as u64
            && traces.sampling.traces_kept() == kept as u64;
        if accounted {
            ExitCode::SUCCESS
        } else {
            eprintln!("the shutdown report does not account for every span: {report:?}");
            ExitCode::FAILURE
        }
    }

    /// The five-line asynchronous setup, then every boundary from async code.
    async fn async_main(prefix: &'static str) -> ExitCode {
        let telemetry = match otlpkit::init() {
            Ok(telemetry) => telemetry,
            Err(error) => {
                eprintln!("{error}");
                return ExitCode::FAILURE;
            }
        };
        async move {
            print_trace_id();
            tracing::info!("{prefix}.event");
            let _ = otlpkit::bridge::thread::spawn(move || span(prefix, "thread").in_scope(|| {}))
                .join();
            let _ = otlpkit::bridge::spawn_blocking(move || {
                span(prefix, "spawn_blocking").in_scope(|| {});
            })
            .await;
            let _ = tokio::spawn(
                async move { span(prefix, "task").in_scope(|| {}) }.in_current_context(),
            )
            .await;
            async {}.instrument(span(prefix, "future")).await;
            stream(prefix).await;
        }
        .instrument(span(prefix, "root"))
        .await;
        finish(&telemetry.shutdown_async().await)
    }

    /// A stream consumed inside its own span, one child span per item.
    async fn stream(prefix: &'static str) {
        async move {
            let items = futures_util::stream::iter(0..super::STREAM_ITEMS)
                .with_item_spans(move |_| span(prefix, "stream.item"))
                .count()
                .await;
            tracing::debug!(items, "stream consumed");
        }
        .instrument(span(prefix, "stream"))
        .await;
    }
}
