//! Runs every example program, as built for `cargo run`, and checks what the
//! receiver got: span names, parent links across each boundary, log records
//! correlated with their spans, metric values. The examples send to the
//! test's receiver through `OTEL_EXPORTER_OTLP_ENDPOINT`, except the one
//! test that runs the quickstart on its embedded receiver and checks what it
//! prints.

use std::process::Command;
use std::time::Duration;

use otlpkit_fixtures::process::{self, ChildOutput as Run};

use otlpkit_testkit::proto::common::v1::any_value::Value;
use otlpkit_testkit::proto::metrics::v1::{HistogramDataPoint, number_data_point};
use otlpkit_testkit::proto::trace::v1::span::SpanKind;
use otlpkit_testkit::proto::trace::v1::status::StatusCode;
use otlpkit_testkit::{Protocol, ReceivedLog, ReceivedSpan, Receiver, hex};

/// Longest time an example may run.
const WAIT: Duration = Duration::from_secs(60);

/// Runs an example with exactly the given `OTEL_*` variables.
fn run(binary: &str, vars: &[(&str, &str)]) -> Run {
    let mut command = Command::new(binary);
    process::scrub_env(&mut command, &["OTEL_"], &["RUST_LOG"]);
    command.envs(vars.iter().copied());
    process::run_to_end(command, binary, WAIT, Duration::from_millis(20))
}

/// The run succeeded and otlpkit printed no configuration warning.
fn assert_clean(run: &Run) {
    assert!(run.success, "{run:?}");
    assert!(!run.stderr.contains("otlpkit: warning"), "{run:?}");
}

fn spans_named(receiver: &Receiver, name: &str) -> Vec<ReceivedSpan> {
    let spans = receiver.spans_named(name);
    assert!(
        !spans.is_empty(),
        "no span `{name}`; got {:?}",
        receiver
            .spans()
            .iter()
            .map(|s| s.name().to_owned())
            .collect::<Vec<_>>()
    );
    spans
}

fn one(receiver: &Receiver, name: &str) -> ReceivedSpan {
    let mut spans = spans_named(receiver, name);
    assert_eq!(spans.len(), 1, "{name}: {spans:?}");
    spans.remove(0)
}

fn children_of<'a>(
    spans: &'a [ReceivedSpan],
    parent: &ReceivedSpan,
    name: &str,
) -> Vec<&'a ReceivedSpan> {
    spans
        .iter()
        .filter(|s| s.name() == name && s.parent_span_id_hex() == Some(parent.span_id_hex()))
        .collect()
}

fn log(receiver: &Receiver, body: &str) -> ReceivedLog {
    receiver
        .logs()
        .into_iter()
        .find(|l| l.body_str() == Some(body))
        .unwrap_or_else(|| panic!("no log `{body}`"))
}

/// Whether the log record carries the ids of `span`.
fn correlated(log: &ReceivedLog, span: &ReceivedSpan) -> bool {
    hex(&log.record.trace_id) == span.trace_id_hex()
        && hex(&log.record.span_id) == span.span_id_hex()
}

fn metric_sum(receiver: &Receiver, name: &str) -> f64 {
    let metric = receiver
        .latest_metric(name)
        .unwrap_or_else(|| panic!("no metric `{name}`"));
    let numbers: f64 = metric
        .number_points()
        .iter()
        .map(|p| match p.value {
            Some(number_data_point::Value::AsInt(v)) => v as f64,
            Some(number_data_point::Value::AsDouble(v)) => v,
            None => 0.0,
        })
        .sum();
    let histogram: u64 = metric.histogram_points().iter().map(|p| p.count).sum();
    numbers + histogram as f64
}

fn service(span: &ReceivedSpan) -> Option<&str> {
    span.origin.resource_attribute_str("service.name")
}

fn int(span: &ReceivedSpan, key: &str) -> Option<i64> {
    match span.attribute(key) {
        Some(Value::IntValue(value)) => Some(*value),
        _ => None,
    }
}

/// The points of the latest export of histogram `name`, which must use the
/// semantic conventions' duration buckets and unit.
fn duration_points(receiver: &Receiver, name: &str) -> Vec<HistogramDataPoint> {
    let metric = receiver
        .latest_metric(name)
        .unwrap_or_else(|| panic!("no metric `{name}`"));
    assert_eq!(metric.metric.unit, "s", "{name}");
    let points = metric.histogram_points().to_vec();
    assert!(!points.is_empty(), "{name}");
    for point in &points {
        assert_eq!(
            point.explicit_bounds,
            [
                0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0
            ],
            "{name}"
        );
    }
    points
}

fn point_str<'a>(point: &'a HistogramDataPoint, key: &str) -> Option<&'a str> {
    otlpkit_testkit::attribute_str(&point.attributes, key)
}

#[test]
fn quickstart_exports_its_trace_logs_and_metrics_to_the_configured_collector() {
    let receiver = Receiver::start().unwrap();
    let run = run(
        env!("CARGO_BIN_EXE_quickstart"),
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.http_endpoint())],
    );
    assert_clean(&run);
    // An external collector: nothing is printed about the embedded one.
    assert!(!run.stdout.contains("== traces received"), "{run:?}");

    let spans = receiver.spans();
    let root = one(&receiver, "place orders");
    assert_eq!(root.parent_span_id_hex(), None);
    assert_eq!(service(&root), Some("quickstart"));
    assert_eq!(root.origin.protocol, Protocol::HttpProtobuf);
    let checkouts = children_of(&spans, &root, "checkout");
    assert_eq!(checkouts.len(), 2);
    for checkout in checkouts {
        // A stream (one span per item), spawn_blocking, a thread, a task.
        let prices = children_of(&spans, checkout, "price items");
        assert_eq!(prices.len(), 1);
        assert_eq!(children_of(&spans, prices[0], "price item").len(), 3);
        assert_eq!(children_of(&spans, checkout, "render receipt").len(), 1);
        let audit = children_of(&spans, checkout, "audit");
        assert_eq!(audit.len(), 1);
        let charges = children_of(&spans, checkout, "charge card");
        assert_eq!(charges.len(), 2);
        let failed: Vec<_> = charges
            .iter()
            .filter(|c| c.status_code() == StatusCode::Error)
            .collect();
        assert_eq!(failed.len(), 1, "one declined attempt per order");
        assert!(failed[0].event("exception").is_some());
        // The log from the thread carries the thread's span.
        assert!(
            receiver
                .logs()
                .iter()
                .any(|l| l.body_str() == Some("receipt archived") && correlated(l, audit[0]))
        );
    }
    assert!(correlated(&log(&receiver, "order complete"), &root));
    assert_eq!(metric_sum(&receiver, "orders.processed"), 2.0);
    assert_eq!(metric_sum(&receiver, "orders.amount"), 2.0);
}

#[test]
fn quickstart_on_its_embedded_receiver_prints_the_tree_and_zero_drops() {
    let run = run(env!("CARGO_BIN_EXE_quickstart"), &[]);
    assert_clean(&run);
    let out = &run.stdout;
    assert!(
        out.contains("exporting traces, metrics and logs to the embedded OTLP receiver"),
        "{out}"
    );
    // The tree: the root, then its children indented one more level.
    assert!(out.contains("\n  place orders  "), "{out}");
    assert!(out.contains("\n    checkout  "), "{out}");
    assert!(out.contains("\n      price items  "), "{out}");
    assert!(out.contains("\n        price item  "), "{out}");
    assert!(out.contains("\n      charge card  "), "{out}");
    assert!(out.contains("ERROR card declined for order 1001"), "{out}");
    assert!(
        out.contains("WARN  charge failed, retrying  (in span `charge card`)"),
        "{out}"
    );
    assert!(out.contains("orders.processed = 2"), "{out}");
    for signal in ["traces", "metrics", "logs"] {
        let line = out
            .lines()
            .find(|l| l.starts_with(signal) && l.contains("produced"))
            .unwrap_or_else(|| panic!("no accounting line for {signal}: {out}"));
        assert!(line.ends_with("dropped     0"), "{line}");
    }
    assert!(
        out.contains("traces   produced    19  delivered    19"),
        "{out}"
    );
}

#[test]
fn axum_server_continues_the_trace_through_server_client_and_server_again() {
    let receiver = Receiver::start().unwrap();
    let run = run(
        env!("CARGO_BIN_EXE_axum_server"),
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.http_endpoint()),
            ("OTEL_SERVICE_NAME", "shop"),
        ],
    );
    assert_clean(&run);
    assert_eq!(run.stdout.matches("-> 200 OK").count(), 3, "{run:?}");

    let spans = receiver.spans();
    let of_kind = |name: &str, kind: SpanKind| -> Vec<&ReceivedSpan> {
        spans
            .iter()
            .filter(|s| s.name() == name && s.kind() == kind)
            .collect()
    };
    let child_of = |parent: &ReceivedSpan, kind: SpanKind| -> Vec<&ReceivedSpan> {
        spans
            .iter()
            .filter(|s| s.kind() == kind && s.parent_span_id_hex() == Some(parent.span_id_hex()))
            .collect()
    };
    // `send_traced` names client spans after the method, as the conventions do.
    let clients: Vec<_> = of_kind("GET", SpanKind::Client)
        .into_iter()
        .filter(|s| s.parent_span_id_hex().is_none())
        .collect();
    assert_eq!(clients.len(), 3);
    for client in clients {
        assert_eq!(service(client), Some("shop"));
        assert!(
            client.attribute_str("url.full").is_some_and(|url| url
                .starts_with("http://127.0.0.1:")
                && url.contains("/checkout/")),
            "{client:?}"
        );
        assert_eq!(client.attribute_str("server.address"), Some("127.0.0.1"));
        assert!(int(client, "server.port").is_some());
        assert_eq!(int(client, "http.response.status_code"), Some(200));
        let servers = child_of(client, SpanKind::Server);
        assert_eq!(
            servers.len(),
            1,
            "the server span continues the caller's trace"
        );
        let server = servers[0];
        assert_eq!(server.name(), "GET /checkout/{order}");
        assert_eq!(
            server.attribute_str("http.route"),
            Some("/checkout/{order}")
        );
        assert_eq!(server.attribute_str("url.scheme"), Some("http"));
        assert_eq!(int(server, "http.response.status_code"), Some(200));
        let downstream = child_of(server, SpanKind::Client);
        assert_eq!(downstream.len(), 1);
        assert_eq!(downstream[0].name(), "GET");
        assert!(
            downstream[0]
                .attribute_str("url.full")
                .is_some_and(|url| url.contains("/prices/"))
        );
        let prices = child_of(downstream[0], SpanKind::Server);
        assert_eq!(prices.len(), 1, "reqwest carried the trace downstream");
        assert_eq!(prices[0].name(), "GET /prices/{order}");
        assert_eq!(prices[0].trace_id_hex(), client.trace_id_hex());
        assert!(
            receiver
                .logs()
                .iter()
                .any(|l| l.body_str() == Some("checkout priced") && correlated(l, server))
        );
        assert!(
            receiver
                .logs()
                .iter()
                .any(|l| l.body_str() == Some("price computed") && correlated(l, prices[0]))
        );
    }
    // Two requests served per checkout (the checkout and its prices call),
    // each also made by a client.
    let served = duration_points(&receiver, "http.server.request.duration");
    assert_eq!(served.iter().map(|p| p.count).sum::<u64>(), 6);
    for route in ["/checkout/{order}", "/prices/{order}"] {
        let point = served
            .iter()
            .find(|p| point_str(p, "http.route") == Some(route))
            .unwrap_or_else(|| panic!("no point for {route}"));
        assert_eq!(point.count, 3);
        assert_eq!(point_str(point, "http.request.method"), Some("GET"));
        assert_eq!(point_str(point, "url.scheme"), Some("http"));
    }
    let made = duration_points(&receiver, "http.client.request.duration");
    assert_eq!(made.iter().map(|p| p.count).sum::<u64>(), 6);
    assert!(
        made.iter()
            .all(|p| point_str(p, "server.address") == Some("127.0.0.1"))
    );
    assert_eq!(metric_sum(&receiver, "shop.checkouts"), 3.0);
}

#[test]
fn tonic_service_carries_the_trace_in_grpc_metadata() {
    let receiver = Receiver::start().unwrap();
    let run = run(
        env!("CARGO_BIN_EXE_tonic_service"),
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.grpc_endpoint()),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ],
    );
    assert_clean(&run);
    let spans = receiver.spans();
    let root = one(&receiver, "place orders");
    assert_eq!(root.origin.protocol, Protocol::Grpc);
    assert_eq!(service(&root), Some("tonic-service"));
    let calls = children_of(&spans, &root, "inventory.v1.Inventory/Reserve");
    assert_eq!(calls.len(), 3);
    let mut refused = 0;
    for call in calls {
        assert_eq!(call.kind(), SpanKind::Client);
        assert_eq!(call.attribute_str("rpc.system"), Some("grpc"));
        assert_eq!(
            call.attribute_str("rpc.service"),
            Some("inventory.v1.Inventory")
        );
        assert_eq!(call.attribute_str("rpc.method"), Some("Reserve"));
        assert_eq!(call.attribute_str("server.address"), Some("127.0.0.1"));
        let servers = children_of(&spans, call, "inventory.v1.Inventory/Reserve");
        assert_eq!(servers.len(), 1, "the server continues the client's trace");
        let server = servers[0];
        assert_eq!(server.kind(), SpanKind::Server);
        assert_eq!(server.attribute_str("rpc.system"), Some("grpc"));
        let checks = children_of(&spans, server, "check stock");
        assert_eq!(checks.len(), 1);
        let code = int(call, "rpc.grpc.status_code");
        assert_eq!(int(server, "rpc.grpc.status_code"), code);
        // A refusal is the client's error; the server did its job.
        assert_eq!(server.status_code(), StatusCode::Unset);
        if code == Some(9) {
            refused += 1;
            assert_eq!(call.status_code(), StatusCode::Error);
            assert_eq!(
                call.attribute_str("error.type"),
                Some("FAILED_PRECONDITION")
            );
            assert!(correlated(&log(&receiver, "insufficient stock"), checks[0]));
        } else {
            assert_eq!(code, Some(0));
            assert_eq!(call.status_code(), StatusCode::Unset);
        }
    }
    assert_eq!(refused, 1);
    assert_eq!(metric_sum(&receiver, "inventory.reservations"), 3.0);
}

/// `OTEL_EXPORTER_OTLP_PROTOCOL` wins over the example's own default (gRPC).
fn sync_cli_exports_with_the_protocol_of_the_environment(protocol: &str, expected: Protocol) {
    let receiver = Receiver::start().unwrap();
    let run = run(
        env!("CARGO_BIN_EXE_sync_cli"),
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.http_endpoint()),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
        ],
    );
    assert_clean(&run);
    let root = one(&receiver, "index directory");
    assert_eq!(root.origin.protocol, expected);
    assert!(receiver.log_count() > 0);
    assert_eq!(metric_sum(&receiver, "files.indexed"), 3.0);
    assert_nothing_dropped(&run);
}

/// Every signal's accounting line says nothing was dropped (the process
/// exits with failure otherwise, which `assert_clean` also checks).
fn assert_nothing_dropped(run: &Run) {
    let lines: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.contains("produced"))
        .collect();
    assert!(!lines.is_empty(), "{run:?}");
    for line in lines {
        assert!(line.ends_with("dropped     0"), "{line}");
    }
}

#[test]
fn sync_cli_honours_otel_exporter_otlp_protocol_http_protobuf() {
    sync_cli_exports_with_the_protocol_of_the_environment("http/protobuf", Protocol::HttpProtobuf);
}

#[cfg(feature = "http-json")]
#[test]
fn sync_cli_honours_otel_exporter_otlp_protocol_http_json() {
    sync_cli_exports_with_the_protocol_of_the_environment("http/json", Protocol::HttpJson);
}

/// Credentials in the endpoint and the headers reach the collector and
/// never the program's output.
#[test]
fn sync_cli_prints_no_credential_of_the_endpoint_or_the_headers() {
    let receiver = Receiver::start().unwrap();
    let endpoint = receiver
        .http_endpoint()
        .replace("http://", "http://user:SECRET789@");
    let run = run(
        env!("CARGO_BIN_EXE_sync_cli"),
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
            (
                "OTEL_EXPORTER_OTLP_HEADERS",
                "authorization=Bearer SECRET123,x-api-key=SECRET456",
            ),
        ],
    );
    assert_clean(&run);
    assert!(
        run.stdout
            .contains("OTEL_EXPORTER_OTLP_ENDPOINT=http://<redacted>@127.0.0.1:"),
        "{run:?}"
    );
    for secret in ["SECRET789", "SECRET123", "SECRET456"] {
        assert!(!run.stdout.contains(secret), "{secret}: {run:?}");
        assert!(!run.stderr.contains(secret), "{secret}: {run:?}");
    }
    assert_nothing_dropped(&run);
    assert!(receiver.span_count() > 0);
}

#[test]
fn sync_cli_on_its_embedded_receiver_follows_the_protocol_variable() {
    let run = run(
        env!("CARGO_BIN_EXE_sync_cli"),
        &[("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")],
    );
    assert_clean(&run);
    assert!(run.stdout.contains("\n  index directory  "), "{run:?}");
    assert_nothing_dropped(&run);
}

#[test]
fn sync_cli_exports_over_grpc_from_plain_threads() {
    let receiver = Receiver::start().unwrap();
    let run = run(
        env!("CARGO_BIN_EXE_sync_cli"),
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.grpc_endpoint())],
    );
    assert_clean(&run);
    assert!(
        run.stdout.contains("indexed 4 entries: 16 words, 1 failed"),
        "{run:?}"
    );
    let spans = receiver.spans();
    let root = one(&receiver, "index directory");
    assert_eq!(root.origin.protocol, Protocol::Grpc);
    assert_eq!(service(&root), Some("sync-cli"));
    assert_eq!(children_of(&spans, &root, "write files").len(), 1);
    let files = children_of(&spans, &root, "index file");
    assert_eq!(
        files.len(),
        4,
        "one span per scoped thread, each a child of the root"
    );
    let failed: Vec<_> = files
        .iter()
        .filter(|f| f.status_code() == StatusCode::Error)
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].attribute_str("file"), Some("delta.txt"));
    assert!(correlated(&log(&receiver, "cannot index"), failed[0]));
    let summarize = children_of(&spans, &root, "summarize");
    assert!(correlated(&log(&receiver, "index complete"), summarize[0]));
    assert_eq!(metric_sum(&receiver, "files.indexed"), 3.0);
    assert_eq!(metric_sum(&receiver, "words.indexed"), 16.0);
}

/// A collector that refuses every span: the shutdown warning with the
/// traces' totals is printed once, although two processors (the native
/// `tracing` path and the OpenTelemetry-API path) count into those totals
/// and both shut down.
#[test]
fn sync_cli_prints_the_traces_shutdown_warning_once() {
    let receiver = Receiver::start().unwrap();
    receiver.push_faults(
        otlpkit_testkit::Signal::Traces,
        otlpkit_testkit::Fault::http_status(axum::http::StatusCode::BAD_REQUEST),
        1_000,
    );
    let run = run(
        env!("CARGO_BIN_EXE_sync_cli"),
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.http_endpoint()),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ],
    );
    // Every span refused and counted; the run says so (and fails).
    assert!(run.stdout.contains("(non_retryable 7)"), "{run:?}");
    let output = format!("{}{}", run.stdout, run.stderr);
    assert_eq!(
        output.matches("batch processor shut down; traces:").count(),
        1,
        "{run:?}"
    );
    assert_eq!(receiver.span_count(), 0, "{run:?}");
}
