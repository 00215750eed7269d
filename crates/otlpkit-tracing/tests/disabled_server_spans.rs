//! With the server spans filtered out (`RUST_LOG=info,http.server=off,
//! rpc.server=off`), the server layers still hand the caller's context to
//! the service: the handler's spans continue the caller's trace, and the
//! caller's baggage arrives. Checked as the testkit receiver saw the spans.
//!
//! One pipeline serves the whole binary, installed globally with those
//! directives, as an application would.
#![cfg(all(feature = "tonic", feature = "axum", feature = "tracing-opentelemetry"))]

use std::convert::Infallible;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use opentelemetry::Context;
use opentelemetry::baggage::BaggageExt as _;
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use otlpkit_testkit::{ReceivedSpan, Receiver, Signal};
use otlpkit_tracing::TracingSetup;
use otlpkit_tracing::server::{GrpcServerLayer, HttpServerLayer};
use tower::{Layer as _, Service as _, ServiceExt as _};

const WAIT: Duration = Duration::from_secs(20);

struct Pipeline {
    receiver: Receiver,
    tracer_provider: SdkTracerProvider,
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
        let tracer_provider = SdkTracerProvider::builder()
            .with_batch_exporter(spans)
            .build();
        TracingSetup::builder()
            .with_tracer_provider(&tracer_provider)
            .with_directives("info,http.server=off,rpc.server=off")
            .try_init()
            .unwrap();
        Pipeline {
            receiver,
            tracer_provider,
        }
    })
}

/// The span named `name` of trace `trace_id`, once the receiver has it.
fn span_of(trace_id: &str, name: &str) -> ReceivedSpan {
    let pipe = pipeline();
    let deadline = Instant::now() + WAIT;
    loop {
        pipe.tracer_provider.force_flush().unwrap();
        if let Some(span) = pipe
            .receiver
            .spans()
            .into_iter()
            .find(|s| s.trace_id_hex() == trace_id && s.name() == name)
        {
            return span;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for `{name}` in trace {trace_id}; received {:?}",
            pipe.receiver
                .spans()
                .iter()
                .map(|s| (s.name().to_owned(), s.trace_id_hex()))
                .collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The caller's `tenant` baggage, as the handler sees it.
fn tenant() -> String {
    Context::map_current(|cx| cx.baggage().get("tenant").map(|v| v.to_string())).unwrap_or_default()
}

const CALLER_SPAN: &str = "b7ad6b7169203331";

fn traceparent(trace_id: &str) -> String {
    format!("00-{trace_id}-{CALLER_SPAN}-01")
}

#[test]
fn with_the_http_server_span_off_the_handler_still_continues_the_callers_trace() {
    pipeline();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let app = axum::Router::new()
        .route(
            "/tenant",
            axum::routing::get(|| async { tracing::info_span!("http-handler").in_scope(tenant) }),
        )
        .layer(HttpServerLayer::new());
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    runtime.spawn(async move { axum::serve(listener, app).await });

    let trace_id = "0af7651916cd43dd8448eb211c80319c";
    let answer = runtime.block_on(async {
        reqwest::Client::new()
            .get(format!("http://127.0.0.1:{port}/tenant"))
            .header("traceparent", traceparent(trace_id))
            .header("baggage", "tenant=acme")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    });
    assert_eq!(answer, "acme", "the caller's baggage reached the handler");
    let handler = span_of(trace_id, "http-handler");
    assert_eq!(handler.parent_span_id_hex(), Some(CALLER_SPAN.to_owned()));
}

#[test]
fn with_the_grpc_server_span_off_the_handler_still_continues_the_callers_trace() {
    pipeline();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // The service as tonic's server calls it: an HTTP/2 request in, the
    // answer (the tenant in a header) out.
    let service = tower::service_fn(|_request: http::Request<()>| async {
        let tenant = tracing::info_span!("grpc-handler").in_scope(tenant);
        Ok::<_, Infallible>(
            http::Response::builder()
                .header("content-type", "application/grpc")
                .header("grpc-status", "0")
                .header("x-tenant", tenant)
                .body(())
                .unwrap(),
        )
    });
    let mut service = GrpcServerLayer::new().layer(service);
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let request = http::Request::post("/test.v1.Echo/Say")
        .header("content-type", "application/grpc")
        .header("traceparent", traceparent(trace_id))
        .header("baggage", "tenant=acme")
        .body(())
        .unwrap();
    let response = runtime
        .block_on(async { service.ready().await?.call(request).await })
        .unwrap();
    assert_eq!(response.headers()["x-tenant"], "acme");
    let handler = span_of(trace_id, "grpc-handler");
    assert_eq!(handler.parent_span_id_hex(), Some(CALLER_SPAN.to_owned()));
}
