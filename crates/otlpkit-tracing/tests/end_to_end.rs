//! The subscriber from `TracingSetup`, exporting through the official OTLP/HTTP
//! exporter to the testkit receiver: spans, log records and their correlation
//! ids, the self-telemetry exclusions, error recording, and a trace that goes
//! from a reqwest client through an axum server with `HttpServerLayer`, all
//! checked as the receiver saw them on the wire.
//!
//! One pipeline serves the whole binary, installed globally with
//! `try_init()` as an application would. Tests tell their telemetry apart by
//! trace id and by unique names and messages. The pipeline is built before
//! any runtime exists in the test (the exporter's blocking HTTP client must
//! not be created inside one).

use std::io;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use opentelemetry::Context;
use opentelemetry::trace::{
    SpanId, TraceContextExt as _, TraceId, Tracer as _, TracerProvider as _,
};
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::trace::SdkTracerProvider;
use otlpkit_testkit::proto::common::v1::any_value;
use otlpkit_testkit::proto::logs::v1::SeverityNumber;
use otlpkit_testkit::proto::trace::v1::status;
use otlpkit_testkit::{ReceivedLog, ReceivedSpan, Receiver, Signal, attribute_str};
use otlpkit_tracing::{Exception, SetupError, TracingSetup};

const WAIT: Duration = Duration::from_secs(20);

struct Pipeline {
    receiver: Receiver,
    tracer_provider: SdkTracerProvider,
    logger_provider: SdkLoggerProvider,
}

fn pipeline() -> &'static Pipeline {
    static PIPELINE: OnceLock<Pipeline> = OnceLock::new();
    PIPELINE.get_or_init(|| {
        let receiver = Receiver::start().unwrap();
        let spans = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_endpoint(receiver.http_url(Signal::Traces))
            .build()
            .unwrap();
        let logs = opentelemetry_otlp::LogExporter::builder()
            .with_http()
            .with_endpoint(receiver.http_url(Signal::Logs))
            .build()
            .unwrap();
        let tracer_provider = SdkTracerProvider::builder()
            .with_batch_exporter(spans)
            .build();
        let logger_provider = SdkLoggerProvider::builder()
            .with_batch_exporter(logs)
            .build();
        TracingSetup::builder()
            .with_tracer_provider(&tracer_provider)
            .with_logger_provider(&logger_provider)
            .with_directives("info,ignored_target=off")
            .try_init()
            .unwrap();
        Pipeline {
            receiver,
            tracer_provider,
            logger_provider,
        }
    })
}

/// Flushes both providers until `found` returns something, or fails the test.
fn wait_for<T>(what: &str, found: impl Fn(&Receiver) -> Option<T>) -> T {
    let pipe = pipeline();
    let deadline = Instant::now() + WAIT;
    loop {
        pipe.tracer_provider.force_flush().unwrap();
        pipe.logger_provider.force_flush().unwrap();
        if let Some(value) = found(&pipe.receiver) {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn log_with_body(receiver: &Receiver, body: &str) -> Option<ReceivedLog> {
    receiver
        .logs()
        .into_iter()
        .find(|log| log.body_str() == Some(body))
}

fn span_named(receiver: &Receiver, name: &str) -> Option<ReceivedSpan> {
    receiver.span(name)
}

fn current_ids() -> (TraceId, SpanId) {
    Context::map_current(|cx| {
        let span = cx.span();
        (
            span.span_context().trace_id(),
            span.span_context().span_id(),
        )
    })
}

#[test]
fn events_become_log_records_correlated_with_their_span() {
    pipeline();
    let (trace_id, span_id) = tracing::info_span!("order-checkout").in_scope(|| {
        tracing::info!(order = 42_i64, "order placed (correlation)");
        tracing::warn!("stock low (correlation)");
        current_ids()
    });
    tracing::info!("outside any span (correlation)");

    let placed = wait_for("the correlated log", |r| {
        log_with_body(r, "order placed (correlation)")
    });
    assert_eq!(placed.record.trace_id, trace_id.to_bytes());
    assert_eq!(placed.record.span_id, span_id.to_bytes());
    assert_eq!(placed.severity(), SeverityNumber::Info);
    assert_eq!(
        placed.attribute("order"),
        Some(&any_value::Value::IntValue(42))
    );
    let low = wait_for("the warning", |r| {
        log_with_body(r, "stock low (correlation)")
    });
    assert_eq!(low.severity(), SeverityNumber::Warn);
    assert_eq!(low.record.span_id, span_id.to_bytes());
    let outside = wait_for("the uncorrelated log", |r| {
        log_with_body(r, "outside any span (correlation)")
    });
    assert!(outside.record.trace_id.is_empty() && outside.record.span_id.is_empty());

    let span = wait_for("the span", |r| span_named(r, "order-checkout"));
    assert_eq!(span.span.trace_id, trace_id.to_bytes());
    assert_eq!(span.span.span_id, span_id.to_bytes());
}

#[test]
fn the_toolkit_and_filtered_targets_never_reach_opentelemetry() {
    pipeline();
    // The export path's own crates: excluded by default.
    tracing::info!(target: "hyper::proto::h1::conn", "excluded (hyper)");
    tracing::info!(target: "hyper_util::client::legacy", "excluded (hyper_util)");
    tracing::info!(target: "h2::codec", "excluded (h2)");
    tracing::info!(target: "tonic::transport", "excluded (tonic)");
    tracing::info!(target: "reqwest::connect", "excluded (reqwest)");
    tracing::info!(target: "opentelemetry_sdk", "excluded (opentelemetry_sdk)");
    tracing::info!(target: "otlpkit_grpc::exporter", "excluded (otlpkit)");
    tracing::info_span!(target: "h2::proto", "excluded-h2-span").in_scope(|| {});
    // The filter: a target switched off, and a level below the default.
    tracing::info!(target: "ignored_target", "excluded (directive)");
    tracing::debug!("excluded (debug level)");
    // Emitted last from the same thread: once these arrived, so would have
    // everything above.
    tracing::info_span!("sentinel-span").in_scope(|| tracing::info!("sentinel (exclusions)"));

    wait_for("the sentinel log", |r| {
        log_with_body(r, "sentinel (exclusions)")
    });
    wait_for("the sentinel span", |r| span_named(r, "sentinel-span"));
    let pipe = pipeline();
    let leaked: Vec<String> = pipe
        .receiver
        .logs()
        .iter()
        .filter_map(|log| log.body_str())
        .filter(|body| body.starts_with("excluded"))
        .map(str::to_owned)
        .collect();
    assert!(leaked.is_empty(), "leaked into the log bridge: {leaked:?}");
    assert!(pipe.receiver.span("excluded-h2-span").is_none());
}

#[derive(Debug, thiserror::Error)]
#[error("could not save the order")]
struct SaveError(#[source] io::Error);

#[test]
fn errors_are_recorded_with_status_and_an_exception_event() {
    pipeline();
    let failing = tracing::info_span!("save-order");
    otlpkit_tracing::record_error(&failing, &SaveError(io::Error::other("disk full")));
    drop(failing);
    tracing::info_span!("save-with-stacktrace").in_scope(|| {
        Exception::new("OrderRejected", "credit limit")
            .with_stacktrace("at checkout (src/main.rs:10)")
            .record_on_current();
    });
    // The OpenTelemetry API, without tracing.
    let tracer = pipeline().tracer_provider.tracer("errors");
    tracer.in_span("otel-save", |cx| {
        Exception::from_error(&io::Error::other("timeout")).record_on_context(&cx);
    });

    let saved = wait_for("save-order", |r| span_named(r, "save-order"));
    assert_eq!(saved.status_code(), status::StatusCode::Error);
    assert_eq!(
        saved.span.status.as_ref().unwrap().message,
        "could not save the order: disk full"
    );
    let event = saved.event("exception").unwrap();
    assert!(
        attribute_str(&event.attributes, "exception.type")
            .unwrap()
            .ends_with("SaveError")
    );
    assert_eq!(
        attribute_str(&event.attributes, "exception.message"),
        Some("could not save the order: disk full")
    );
    assert!(attribute_str(&event.attributes, "exception.stacktrace").is_none());

    let with_trace = wait_for("save-with-stacktrace", |r| {
        span_named(r, "save-with-stacktrace")
    });
    let event = with_trace.event("exception").unwrap();
    assert_eq!(
        attribute_str(&event.attributes, "exception.type"),
        Some("OrderRejected")
    );
    assert_eq!(
        attribute_str(&event.attributes, "exception.stacktrace"),
        Some("at checkout (src/main.rs:10)")
    );
    assert_eq!(with_trace.status_code(), status::StatusCode::Error);

    let otel = wait_for("otel-save", |r| span_named(r, "otel-save"));
    assert_eq!(otel.status_code(), status::StatusCode::Error);
    assert_eq!(
        attribute_str(
            &otel.event("exception").unwrap().attributes,
            "exception.type"
        ),
        Some("std::io::error::Error")
    );
}

#[test]
fn a_second_install_and_bad_directives_are_typed_errors() {
    pipeline();
    let again = TracingSetup::builder()
        .without_env()
        .try_init()
        .unwrap_err();
    assert!(
        matches!(again, SetupError::AlreadyInstalled(_)),
        "{again:?}"
    );
    let bad = TracingSetup::builder()
        .with_directives("info,my_app=loud")
        .try_init()
        .unwrap_err();
    assert!(
        matches!(&bad, SetupError::InvalidDirectives { directives, .. } if directives == "info,my_app=loud"),
        "{bad:?}"
    );
}

#[cfg(feature = "json")]
mod json_fmt {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A `MakeWriter` that keeps what the fmt layer writes.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
        type Writer = Captured;

        fn make_writer(&'a self) -> Captured {
            self.clone()
        }
    }

    #[test]
    fn the_layer_composes_with_a_caller_subscriber_and_prints_json() {
        use tracing_subscriber::layer::SubscriberExt as _;

        let output = Captured::default();
        let layer = TracingSetup::builder()
            .without_env()
            .with_directives("info")
            .with_fmt(otlpkit_tracing::Fmt::Json)
            .with_fmt_writer(output.clone())
            .layer()
            .unwrap();
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, || {
            tracing::info_span!("json-span").in_scope(|| tracing::info!(answer = 42, "json line"));
            // The fmt layer still shows the toolkit's own targets.
            tracing::warn!(target: "hyper::proto", "hyper line");
            tracing::debug!("hidden line");
        });
        let text = String::from_utf8(output.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert_eq!(lines[0]["fields"]["message"], "json line");
        assert_eq!(lines[0]["fields"]["answer"], 42);
        assert_eq!(lines[0]["span"]["name"], "json-span");
        assert_eq!(lines[1]["target"], "hyper::proto");
        assert!(!text.contains("\u{1b}["), "no colors in a custom writer");
    }
}

#[cfg(all(feature = "axum", feature = "reqwest"))]
mod client_to_server {
    use super::*;
    use opentelemetry::KeyValue;
    use opentelemetry::baggage::BaggageExt as _;
    use otlpkit_testkit::SpanTree;
    use otlpkit_testkit::proto::trace::v1::span;
    use otlpkit_tracing::client::RequestBuilderExt as _;
    use otlpkit_tracing::server::HttpServerLayer;

    async fn user(axum::extract::Path(id): axum::extract::Path<u32>) -> String {
        tracing::info!(user = id, "loading user (server)");
        tracing::info_span!("load-user").in_scope(|| {});
        // The caller's baggage came along.
        Context::map_current(|cx| {
            cx.baggage()
                .get("tenant")
                .map(|v| v.to_string())
                .unwrap_or_default()
        })
    }

    fn tree_of(trace_id: TraceId, spans: usize) -> SpanTree {
        wait_for("the client/server trace", |r| {
            let tree = r.span_tree(trace_id.to_bytes());
            (tree.len() >= spans).then_some(tree)
        })
    }

    #[test]
    fn the_server_span_continues_the_client_trace() {
        pipeline();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let app = axum::Router::new()
            .route("/users/{id}", axum::routing::get(user))
            .route(
                "/fail",
                axum::routing::get(|| async { http::StatusCode::INTERNAL_SERVER_ERROR }),
            )
            .layer(HttpServerLayer::new());
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        runtime.spawn(async move { axum::serve(listener, app).await });
        let client = reqwest::Client::new();

        // A client span, with baggage, calls /users/7.
        let root = tracing::info_span!("client-call");
        let (request, trace_id, client_span) = root.in_scope(|| {
            let cx = Context::current().with_baggage([KeyValue::new("tenant", "acme")]);
            let _baggage = cx.attach();
            let (trace_id, client_span) = current_ids();
            let request = client.get(format!("{base}/users/7")).with_current_context();
            (request, trace_id, client_span)
        });
        let body = runtime
            .block_on(async { request.send().await?.text().await })
            .unwrap();
        assert_eq!(body, "acme");
        drop(root);

        let tree = tree_of(trace_id, 3);
        assert_eq!(
            tree.outline(),
            "client-call\n  GET /users/{id}\n    load-user\n",
            "{tree}"
        );
        let server = &tree.find("GET /users/{id}").unwrap().span;
        assert_eq!(server.kind(), span::SpanKind::Server);
        assert_eq!(server.span.parent_span_id, client_span.to_bytes());
        assert_eq!(server.attribute_str("http.route"), Some("/users/{id}"));
        assert_eq!(server.attribute_str("http.request.method"), Some("GET"));
        assert_eq!(server.attribute_str("url.path"), Some("/users/7"));
        assert_eq!(
            server.attribute_str("network.protocol.version"),
            Some("1.1")
        );
        assert_eq!(
            server.attribute("http.response.status_code"),
            Some(&any_value::Value::IntValue(200))
        );
        assert_eq!(server.status_code(), status::StatusCode::Unset);

        // The handler's log is correlated with the server span.
        let log = wait_for("the handler log", |r| {
            log_with_body(r, "loading user (server)")
        });
        assert_eq!(log.record.trace_id, trace_id.to_bytes());
        assert_eq!(log.record.span_id, server.span.span_id);

        // No context and a broken traceparent: the server span starts a trace.
        let failed = runtime
            .block_on(
                client
                    .get(format!("{base}/fail"))
                    .header("traceparent", "00-not-a-valid-header-01")
                    .send(),
            )
            .unwrap();
        assert_eq!(failed.status(), 500);
        let fail = wait_for("the /fail span", |r| span_named(r, "GET /fail"));
        assert!(fail.span.parent_span_id.is_empty());
        assert_eq!(fail.status_code(), status::StatusCode::Error);
        assert_eq!(fail.attribute_str("error.type"), Some("500"));
        assert_eq!(
            fail.attribute("http.response.status_code"),
            Some(&any_value::Value::IntValue(500))
        );
    }
}
