//! The semantic-convention instrumentation, checked as the testkit receiver
//! saw it on the wire: reqwest client spans (async and blocking), the axum
//! server layer, tonic client and server layers, and the HTTP duration
//! histograms.
//!
//! One pipeline serves the whole binary (spans through the official
//! OTLP/HTTP exporter, metrics through the official periodic reader, both to
//! the receiver), installed globally as an application would. Each test has
//! servers of its own on fresh ports and tells its telemetry apart by trace
//! id and `server.port`.
#![cfg(all(feature = "reqwest", feature = "tonic", feature = "axum"))]

use std::convert::Infallible;
use std::sync::OnceLock;
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, Instant};

use opentelemetry::Context;
use opentelemetry::trace::TraceContextExt as _;
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::SdkTracerProvider;
use otlpkit_testkit::proto::common::v1::any_value::Value;
use otlpkit_testkit::proto::metrics::v1::HistogramDataPoint;
use otlpkit_testkit::proto::trace::v1::span::SpanKind;
use otlpkit_testkit::proto::trace::v1::status::StatusCode;
use otlpkit_testkit::{
    ReceivedSpan, Receiver, RefusingPort, Signal, attribute, attribute_str, hex,
};
use otlpkit_tracing::TracingSetup;
use otlpkit_tracing::client::{
    BlockingRequestBuilderExt as _, GrpcClientLayer, RequestBuilderExt as _,
};
use otlpkit_tracing::metrics::{
    DURATION_BOUNDARIES, HTTP_CLIENT_REQUEST_DURATION, HTTP_SERVER_REQUEST_DURATION,
};
use otlpkit_tracing::server::{GrpcServerLayer, HttpServerLayer};
use tower::Layer as _;

const WAIT: Duration = Duration::from_secs(20);

struct Pipeline {
    receiver: Receiver,
    tracer_provider: SdkTracerProvider,
    meter_provider: SdkMeterProvider,
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
        let metrics = opentelemetry_otlp::MetricExporter::builder()
            .with_http()
            .with_endpoint(receiver.http_url(Signal::Metrics))
            .build()
            .unwrap();
        let tracer_provider = SdkTracerProvider::builder()
            .with_batch_exporter(spans)
            .build();
        let meter_provider = SdkMeterProvider::builder()
            .with_reader(PeriodicReader::builder(metrics).build())
            .build();
        opentelemetry::global::set_meter_provider(meter_provider.clone());
        TracingSetup::builder()
            .with_tracer_provider(&tracer_provider)
            .with_directives("info")
            .try_init()
            .unwrap();
        Pipeline {
            receiver,
            tracer_provider,
            meter_provider,
        }
    })
}

/// Flushes the providers until `found` returns something, or fails the test.
fn wait_for<T>(what: &str, found: impl Fn(&Receiver) -> Option<T>) -> T {
    let pipe = pipeline();
    let deadline = Instant::now() + WAIT;
    loop {
        pipe.tracer_provider.force_flush().unwrap();
        pipe.meter_provider.force_flush().unwrap();
        if let Some(value) = found(&pipe.receiver) {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn trace_id_of(span: &tracing::Span) -> String {
    span.in_scope(|| Context::map_current(|cx| cx.span().span_context().trace_id().to_string()))
}

/// The spans of one trace, once there are at least `count`.
fn trace(trace_id: &str, count: usize) -> Vec<ReceivedSpan> {
    wait_for(&format!("{count} spans of trace {trace_id}"), |r| {
        let spans: Vec<ReceivedSpan> = r
            .spans()
            .into_iter()
            .filter(|s| s.trace_id_hex() == trace_id)
            .collect();
        (spans.len() >= count).then_some(spans)
    })
}

fn find<'a>(spans: &'a [ReceivedSpan], name: &str, kind: SpanKind) -> &'a ReceivedSpan {
    spans
        .iter()
        .find(|s| s.name() == name && s.kind() == kind)
        .unwrap_or_else(|| {
            panic!(
                "no {kind:?} span `{name}` in {:?}",
                spans
                    .iter()
                    .map(|s| (s.name(), s.kind()))
                    .collect::<Vec<_>>()
            )
        })
}

fn int(span: &ReceivedSpan, key: &str) -> Option<i64> {
    match span.attribute(key) {
        Some(Value::IntValue(value)) => Some(*value),
        _ => None,
    }
}

fn is_child(child: &ReceivedSpan, parent: &ReceivedSpan) -> bool {
    child.parent_span_id_hex() == Some(parent.span_id_hex())
}

/// The points of histogram `name` whose attributes include every `(key, value)`.
fn histogram_points(name: &str, with: &[(&str, Value)]) -> Vec<HistogramDataPoint> {
    wait_for(&format!("{name} points with {with:?}"), |r| {
        let metric = r.latest_metric(name)?;
        let points: Vec<HistogramDataPoint> = metric
            .histogram_points()
            .iter()
            .filter(|p| {
                with.iter()
                    .all(|(key, value)| attribute(&p.attributes, key) == Some(value))
            })
            .cloned()
            .collect();
        (!points.is_empty()).then_some(points)
    })
}

fn string(text: &str) -> Value {
    Value::StringValue(text.to_owned())
}

/// An axum app on a free port of 127.0.0.1, with the server layer.
fn http_server(runtime: &tokio::runtime::Runtime) -> (String, u16) {
    let app = axum::Router::new()
        .route(
            "/items/{id}",
            axum::routing::get(|| async {
                tracing::info_span!("load-item").in_scope(|| {});
                "ok"
            }),
        )
        .route(
            "/broken",
            axum::routing::get(|| async { http::StatusCode::INTERNAL_SERVER_ERROR }),
        )
        .route("/hang", axum::routing::get(std::future::pending::<()>))
        .layer(HttpServerLayer::new());
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    runtime.spawn(async move { axum::serve(listener, app).await });
    (format!("http://127.0.0.1:{port}"), port)
}

#[test]
fn reqwest_client_spans_continue_into_the_server_and_both_durations_are_recorded() {
    pipeline();
    let runtime = runtime();
    let (base, port) = http_server(&runtime);
    let client = reqwest::Client::new();
    // Held to the end of the test: no other test's server can take the port.
    let refusing = RefusingPort::new().unwrap();
    let dead = refusing.port();

    let root = tracing::info_span!("async-client-root");
    let trace_id = trace_id_of(&root);
    // The client spans start where `send_traced` is called: under the root.
    let (ok, broken, refused) = root.in_scope(|| {
        (
            client
                .get(format!("{base}/items/7?token=s3cret&page=2"))
                .send_traced(),
            client.get(format!("{base}/broken")).send_traced(),
            client
                .get(format!("http://127.0.0.1:{dead}/nowhere"))
                .send_traced(),
        )
    });
    let ok = runtime.block_on(ok).unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(runtime.block_on(broken).unwrap().status(), 500);
    let error = runtime.block_on(refused).unwrap_err();
    assert!(error.is_connect(), "{error:?}");
    drop(root);

    // root, 3 clients, 2 servers, the handler's span.
    let spans = trace(&trace_id, 7);
    let root = find(&spans, "async-client-root", SpanKind::Internal);
    let clients: Vec<&ReceivedSpan> = spans
        .iter()
        .filter(|s| s.kind() == SpanKind::Client)
        .collect();
    assert_eq!(clients.len(), 3);
    assert!(
        clients
            .iter()
            .all(|c| c.name() == "GET" && is_child(c, root))
    );

    let item = clients
        .iter()
        .find(|c| int(c, "http.response.status_code") == Some(200))
        .unwrap();
    assert_eq!(item.attribute_str("http.request.method"), Some("GET"));
    assert_eq!(
        item.attribute_str("url.full"),
        Some(format!("{base}/items/7?token=REDACTED&page=REDACTED").as_str())
    );
    assert_eq!(item.attribute_str("server.address"), Some("127.0.0.1"));
    assert_eq!(int(item, "server.port"), Some(i64::from(port)));
    assert_eq!(item.attribute_str("network.protocol.version"), Some("1.1"));
    assert_eq!(item.status_code(), StatusCode::Unset);
    assert!(item.attribute("error.type").is_none());

    let server = find(&spans, "GET /items/{id}", SpanKind::Server);
    assert!(
        is_child(server, item),
        "the server continues the client span"
    );
    assert_eq!(server.attribute_str("url.scheme"), Some("http"));
    assert_eq!(server.attribute_str("server.address"), Some("127.0.0.1"));
    assert_eq!(int(server, "server.port"), Some(i64::from(port)));
    assert!(is_child(
        find(&spans, "load-item", SpanKind::Internal),
        server
    ));

    let failed = clients
        .iter()
        .find(|c| int(c, "http.response.status_code") == Some(500))
        .unwrap();
    assert_eq!(failed.status_code(), StatusCode::Error);
    assert_eq!(failed.attribute_str("error.type"), Some("500"));
    let broken_server = find(&spans, "GET /broken", SpanKind::Server);
    assert!(is_child(broken_server, failed));
    assert_eq!(broken_server.status_code(), StatusCode::Error);

    let unreachable = clients
        .iter()
        .find(|c| int(c, "server.port") == Some(i64::from(dead)))
        .unwrap();
    assert_eq!(unreachable.status_code(), StatusCode::Error);
    assert_eq!(unreachable.attribute_str("error.type"), Some("connect"));
    assert!(unreachable.attribute("http.response.status_code").is_none());

    // http.client.request.duration, by outcome, with the conventions' buckets.
    let port_value = Value::IntValue(i64::from(port));
    let ok_points = histogram_points(
        HTTP_CLIENT_REQUEST_DURATION,
        &[
            ("server.port", port_value.clone()),
            ("http.response.status_code", Value::IntValue(200)),
        ],
    );
    assert_eq!(ok_points.len(), 1);
    let point = &ok_points[0];
    assert_eq!(point.count, 1);
    assert_eq!(point.explicit_bounds, DURATION_BOUNDARIES);
    assert_eq!(point.bucket_counts.len(), DURATION_BOUNDARIES.len() + 1);
    assert!(point.sum.unwrap() > 0.0);
    for (key, value) in [
        ("http.request.method", "GET"),
        ("server.address", "127.0.0.1"),
        ("network.protocol.version", "1.1"),
    ] {
        assert_eq!(attribute_str(&point.attributes, key), Some(value), "{key}");
    }
    assert!(attribute(&point.attributes, "url.full").is_none());
    let error_points = histogram_points(
        HTTP_CLIENT_REQUEST_DURATION,
        &[("server.port", port_value), ("error.type", string("500"))],
    );
    assert_eq!(error_points[0].count, 1);
    let connect = histogram_points(
        HTTP_CLIENT_REQUEST_DURATION,
        &[
            ("server.port", Value::IntValue(i64::from(dead))),
            ("error.type", string("connect")),
        ],
    );
    assert_eq!(connect[0].count, 1);

    // http.server.request.duration, by route and status.
    // (The other test POSTs to the same route on a server of its own.)
    let served = histogram_points(
        HTTP_SERVER_REQUEST_DURATION,
        &[
            ("http.route", string("/items/{id}")),
            ("http.request.method", string("GET")),
        ],
    );
    assert_eq!(served.len(), 1);
    assert_eq!(served[0].count, 1);
    assert_eq!(served[0].explicit_bounds, DURATION_BOUNDARIES);
    for (key, value) in [
        ("http.request.method", "GET"),
        ("url.scheme", "http"),
        ("network.protocol.version", "1.1"),
    ] {
        assert_eq!(
            attribute_str(&served[0].attributes, key),
            Some(value),
            "{key}"
        );
    }
    assert_eq!(
        attribute(&served[0].attributes, "http.response.status_code"),
        Some(&Value::IntValue(200))
    );
    let broken_points = histogram_points(
        HTTP_SERVER_REQUEST_DURATION,
        &[
            ("http.route", string("/broken")),
            ("error.type", string("500")),
        ],
    );
    assert_eq!(broken_points[0].count, 1);
    let metric = pipeline()
        .receiver
        .latest_metric(HTTP_SERVER_REQUEST_DURATION)
        .unwrap();
    assert_eq!(metric.metric.unit, "s");
    assert_eq!(metric.origin.scope.name, "otlpkit-tracing");
}

#[test]
fn the_blocking_client_makes_a_client_span_under_the_current_span() {
    pipeline();
    let runtime = runtime();
    let (base, port) = http_server(&runtime);
    // A plain thread, no runtime entered: as a synchronous program runs.
    let (trace_id, status) = std::thread::spawn(move || {
        let client = reqwest::blocking::Client::new();
        let root = tracing::info_span!("blocking-root");
        let trace_id = trace_id_of(&root);
        let status = root.in_scope(|| {
            client
                .post(format!("{base}/items/9"))
                .send_traced()
                .map(|response| response.status())
        });
        (trace_id, status)
    })
    .join()
    .unwrap();
    // POST on a GET route: 405 from axum, a client error.
    assert_eq!(status.unwrap(), 405);

    let spans = trace(&trace_id, 3);
    let root = find(&spans, "blocking-root", SpanKind::Internal);
    let client = find(&spans, "POST", SpanKind::Client);
    assert!(is_child(client, root));
    assert_eq!(client.attribute_str("http.request.method"), Some("POST"));
    assert_eq!(int(client, "http.response.status_code"), Some(405));
    assert_eq!(client.attribute_str("error.type"), Some("405"));
    assert_eq!(client.status_code(), StatusCode::Error);
    let server = spans.iter().find(|s| s.kind() == SpanKind::Server).unwrap();
    assert!(is_child(server, client));
    // 4xx is the client's error, not the server's.
    assert_eq!(server.status_code(), StatusCode::Unset);

    let points = histogram_points(
        HTTP_CLIENT_REQUEST_DURATION,
        &[
            ("server.port", Value::IntValue(i64::from(port))),
            ("http.request.method", string("POST")),
        ],
    );
    assert_eq!(points[0].count, 1);
    assert_eq!(
        attribute_str(&points[0].attributes, "error.type"),
        Some("405")
    );
}

/// A failed request's status message is reqwest's error text, which names
/// the URL: its query values are redacted there as in `url.full`.
#[test]
fn a_failed_requests_status_message_names_the_url_without_its_secrets() {
    pipeline();
    let dead = otlpkit_testkit::RefusingPort::new().unwrap();
    let url = dead.url("/login?access_token=SECRET123");
    let trace_id = std::thread::spawn(move || {
        let client = reqwest::blocking::Client::new();
        let root = tracing::info_span!("refused-root");
        let trace_id = trace_id_of(&root);
        let sent = root.in_scope(|| client.get(url).send_traced());
        assert!(sent.is_err());
        trace_id
    })
    .join()
    .unwrap();
    let spans = trace(&trace_id, 2);
    let client = find(&spans, "GET", SpanKind::Client);
    assert_eq!(client.status_code(), StatusCode::Error);
    let shown = format!("{client:?}");
    assert!(!shown.contains("SECRET123"), "{shown}");
    assert!(shown.contains("access_token=REDACTED"), "{shown}");
}

#[test]
fn a_request_dropped_before_its_response_ends_both_spans_as_cancelled() {
    pipeline();
    let runtime = runtime();
    let (base, port) = http_server(&runtime);
    let client = reqwest::Client::new();
    let root = tracing::info_span!("cancel-root");
    let trace_id = trace_id_of(&root);
    let sent = root.in_scope(|| client.get(format!("{base}/hang")).send_traced());
    // The timeout only causes the cancellation: the server never answers.
    let outcome =
        runtime.block_on(async { tokio::time::timeout(Duration::from_millis(200), sent).await });
    assert!(outcome.is_err(), "the server never answers");
    drop(root);

    // root, client, server (ended when the server sees the connection close).
    let spans = trace(&trace_id, 3);
    let client = find(&spans, "GET", SpanKind::Client);
    let server = find(&spans, "GET /hang", SpanKind::Server);
    for span in [client, server] {
        assert_eq!(
            span.attribute_str("error.type"),
            Some("cancelled"),
            "{:?}",
            span.kind()
        );
        assert_eq!(span.status_code(), StatusCode::Error);
        assert!(int(span, "http.response.status_code").is_none());
    }
    let with = [
        ("error.type", string("cancelled")),
        ("server.port", Value::IntValue(i64::from(port))),
    ];
    assert_eq!(
        histogram_points(HTTP_CLIENT_REQUEST_DURATION, &with)[0].count,
        1
    );
    let with = [
        ("error.type", string("cancelled")),
        ("http.route", string("/hang")),
    ];
    assert_eq!(
        histogram_points(HTTP_SERVER_REQUEST_DURATION, &with)[0].count,
        1
    );
}

mod grpc {
    use super::*;
    use tonic::codegen::http::uri::PathAndQuery;
    use tonic::codegen::{Body, BoxFuture, Service, StdError};
    use tonic::server::{NamedService, UnaryService};
    use tonic::transport::Endpoint;
    use tonic::{Code, Request, Response, Status};
    use tonic_prost::ProstCodec;

    const SAY: &str = "/test.v1.Echo/Say";
    /// Answers one message and ends the stream without `grpc-status`.
    const TRUNCATED: &str = "/test.v1.Echo/Truncated";
    /// Never answers.
    const HANG: &str = "/test.v1.Echo/Hang";
    /// Sends the response headers, then nothing more.
    const STALL: &str = "/test.v1.Echo/Stall";

    /// A body that never yields a frame.
    struct Stalled;

    impl Body for Stalled {
        type Data = tonic::codegen::Bytes;
        type Error = Infallible;

        fn poll_frame(
            self: std::pin::Pin<&mut Self>,
            _cx: &mut TaskContext<'_>,
        ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
            Poll::Pending
        }
    }

    /// One empty message, then the end of the stream without trailers
    /// (what a proxy's `RST_STREAM(NO_ERROR)` looks like to a client).
    struct WithoutTrailers(bool);

    impl Body for WithoutTrailers {
        type Data = tonic::codegen::Bytes;
        type Error = Infallible;

        fn poll_frame(
            mut self: std::pin::Pin<&mut Self>,
            _cx: &mut TaskContext<'_>,
        ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
            if self.0 {
                return Poll::Ready(None);
            }
            self.0 = true;
            let message = tonic::codegen::Bytes::from_static(b"\0\0\0\0\0");
            Poll::Ready(Some(Ok(http_body::Frame::data(message))))
        }
    }

    #[derive(Clone, PartialEq, prost::Message)]
    struct Message {
        #[prost(string, tag = "1")]
        text: String,
    }

    /// `test.v1.Echo`: answers with the text, refuses `refuse`
    /// (`FAILED_PRECONDITION`), fails on `crash` (`INTERNAL`).
    #[derive(Clone)]
    struct Echo;

    impl NamedService for Echo {
        const NAME: &'static str = "test.v1.Echo";
    }

    struct Say;

    impl UnaryService<Message> for Say {
        type Response = Message;
        type Future = BoxFuture<Response<Message>, Status>;

        fn call(&mut self, request: Request<Message>) -> Self::Future {
            Box::pin(async move {
                let text = request.into_inner().text;
                tracing::info_span!("echo-handler").in_scope(|| match text.as_str() {
                    "refuse" => Err(Status::new(Code::FailedPrecondition, "refused: no stock")),
                    "crash" => Err(Status::internal("database gone")),
                    _ => Ok(Response::new(Message { text })),
                })
            })
        }
    }

    impl<B> Service<http::Request<B>> for Echo
    where
        B: Body + Send + 'static,
        B::Error: Into<StdError> + Send + 'static,
    {
        type Response = http::Response<tonic::body::Body>;
        type Error = Infallible;
        type Future = BoxFuture<Self::Response, Self::Error>;

        fn poll_ready(&mut self, _cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, request: http::Request<B>) -> Self::Future {
            if request.uri().path() == SAY {
                Box::pin(async move {
                    let mut grpc = tonic::server::Grpc::new(ProstCodec::default());
                    Ok(grpc.unary(Say, request).await)
                })
            } else if request.uri().path() == HANG {
                Box::pin(std::future::pending())
            } else if request.uri().path() == STALL {
                let response = http::Response::builder()
                    .header("content-type", "application/grpc")
                    .body(tonic::body::Body::new(Stalled))
                    .unwrap();
                Box::pin(async { Ok(response) })
            } else if request.uri().path() == TRUNCATED {
                let response = http::Response::builder()
                    .header("content-type", "application/grpc")
                    .body(tonic::body::Body::new(WithoutTrailers(false)))
                    .unwrap();
                Box::pin(async { Ok(response) })
            } else {
                Box::pin(async { Ok(Status::unimplemented("no such method").into_http()) })
            }
        }
    }

    #[test]
    fn tonic_client_and_server_layers_make_rpc_spans() {
        pipeline();
        let runtime = runtime();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        runtime.spawn(
            tonic::transport::Server::builder()
                .layer(GrpcServerLayer::new())
                .add_service(Echo)
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
        );
        let uri: http::Uri = format!("http://127.0.0.1:{port}").parse().unwrap();
        let channel = runtime
            .block_on(Endpoint::from(uri.clone()).connect())
            .unwrap();
        let mut grpc =
            tonic::client::Grpc::new(GrpcClientLayer::new().with_server(&uri).layer(channel));

        let root = tracing::info_span!("grpc-root");
        let trace_id = trace_id_of(&root);
        let mut call = |path: &'static str, text: &str| {
            let request = tonic::Request::new(Message {
                text: text.to_owned(),
            });
            let grpc = &mut grpc;
            let future = async move {
                grpc.ready().await.unwrap();
                grpc.unary::<_, Message, _>(
                    request,
                    PathAndQuery::from_static(path),
                    ProstCodec::default(),
                )
                .await
            };
            runtime.block_on(tracing::Instrument::instrument(future, root.clone()))
        };
        assert_eq!(call(SAY, "hello").unwrap().into_inner().text, "hello");
        assert_eq!(
            call(SAY, "refuse").unwrap_err().code(),
            Code::FailedPrecondition
        );
        assert_eq!(call(SAY, "crash").unwrap_err().code(), Code::Internal);
        assert_eq!(
            call("/test.v1.Echo/Nope", "x").unwrap_err().code(),
            Code::Unimplemented
        );
        drop(root);

        // root, 4 clients, 4 servers, 3 handler spans.
        let spans = trace(&trace_id, 12);
        let root = find(&spans, "grpc-root", SpanKind::Internal);
        let of = |kind: SpanKind, code: i64| -> &ReceivedSpan {
            spans
                .iter()
                .find(|s| s.kind() == kind && int(s, "rpc.grpc.status_code") == Some(code))
                .unwrap_or_else(|| panic!("no {kind:?} span with status {code}"))
        };

        let client = of(SpanKind::Client, 0);
        assert_eq!(client.name(), "test.v1.Echo/Say");
        assert!(is_child(client, root));
        assert_eq!(client.attribute_str("rpc.system"), Some("grpc"));
        assert_eq!(client.attribute_str("rpc.service"), Some("test.v1.Echo"));
        assert_eq!(client.attribute_str("rpc.method"), Some("Say"));
        assert_eq!(client.attribute_str("server.address"), Some("127.0.0.1"));
        assert_eq!(int(client, "server.port"), Some(i64::from(port)));
        assert_eq!(client.status_code(), StatusCode::Unset);
        let server = of(SpanKind::Server, 0);
        assert_eq!(server.name(), "test.v1.Echo/Say");
        assert!(
            is_child(server, client),
            "the server continues the client's trace"
        );
        assert_eq!(server.attribute_str("rpc.system"), Some("grpc"));
        assert_eq!(server.attribute_str("rpc.method"), Some("Say"));
        let handlers: Vec<_> = spans
            .iter()
            .filter(|s| s.name() == "echo-handler")
            .collect();
        assert_eq!(handlers.len(), 3);
        assert!(handlers.iter().any(|h| is_child(h, server)));

        // FAILED_PRECONDITION: the client's error, not the server's.
        let refused = of(SpanKind::Client, 9);
        assert_eq!(refused.status_code(), StatusCode::Error);
        assert_eq!(
            refused.attribute_str("error.type"),
            Some("FAILED_PRECONDITION")
        );
        assert_eq!(
            refused.span.status.as_ref().unwrap().message,
            "refused: no stock"
        );
        let refused_server = of(SpanKind::Server, 9);
        assert!(is_child(refused_server, refused));
        assert_eq!(refused_server.status_code(), StatusCode::Unset);
        assert!(refused_server.attribute("error.type").is_none());

        // INTERNAL and UNIMPLEMENTED: errors on both sides.
        for (code, name) in [(13, "INTERNAL"), (12, "UNIMPLEMENTED")] {
            let client = of(SpanKind::Client, code);
            let server = of(SpanKind::Server, code);
            assert!(is_child(server, client));
            for span in [client, server] {
                assert_eq!(span.status_code(), StatusCode::Error, "{name}");
                assert_eq!(span.attribute_str("error.type"), Some(name));
            }
        }
        assert_eq!(
            of(SpanKind::Server, 12).attribute_str("rpc.method"),
            Some("Nope")
        );
        assert_eq!(hex(&root.span.parent_span_id), "");
    }

    /// A tonic server on a free port of 127.0.0.1 with the server layer, and
    /// a client through the client layer.
    fn echo_client(
        runtime: &tokio::runtime::Runtime,
    ) -> (
        tonic::client::Grpc<otlpkit_tracing::client::GrpcClient<tonic::transport::Channel>>,
        u16,
    ) {
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        runtime.spawn(
            tonic::transport::Server::builder()
                .layer(GrpcServerLayer::new())
                .add_service(Echo)
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
        );
        let uri: http::Uri = format!("http://127.0.0.1:{port}").parse().unwrap();
        let channel = runtime
            .block_on(Endpoint::from(uri.clone()).connect())
            .unwrap();
        (
            tonic::client::Grpc::new(GrpcClientLayer::new().with_server(&uri).layer(channel)),
            port,
        )
    }

    #[test]
    fn a_response_ending_without_grpc_status_is_unknown_on_both_sides() {
        pipeline();
        let runtime = runtime();
        let (mut grpc, _port) = echo_client(&runtime);
        let root = tracing::info_span!("truncated-root");
        let trace_id = trace_id_of(&root);
        let future = async move {
            grpc.ready().await.unwrap();
            grpc.unary::<_, Message, _>(
                tonic::Request::new(Message::default()),
                PathAndQuery::from_static(TRUNCATED),
                ProstCodec::default(),
            )
            .await
        };
        let status = runtime
            .block_on(tracing::Instrument::instrument(future, root.clone()))
            .unwrap_err();
        // What tonic tells the caller.
        assert_eq!(status.code(), Code::Unknown);
        drop(root);

        // root, client, server.
        let spans = trace(&trace_id, 3);
        let client = find(&spans, "test.v1.Echo/Truncated", SpanKind::Client);
        let server = find(&spans, "test.v1.Echo/Truncated", SpanKind::Server);
        for span in [client, server] {
            assert_eq!(
                int(span, "rpc.grpc.status_code"),
                Some(2),
                "{:?}",
                span.kind()
            );
            assert_eq!(span.attribute_str("error.type"), Some("UNKNOWN"));
            assert_eq!(span.status_code(), StatusCode::Error);
            assert_eq!(
                span.span.status.as_ref().unwrap().message,
                "the response ended without grpc-status"
            );
        }
    }

    #[test]
    fn calls_dropped_before_their_status_are_cancelled_on_both_sides() {
        pipeline();
        let runtime = runtime();
        let (grpc, _port) = echo_client(&runtime);
        let root = tracing::info_span!("grpc-cancel-root");
        let trace_id = trace_id_of(&root);
        // HANG: the response future is dropped; STALL: the response body.
        for path in [HANG, STALL] {
            let mut grpc = grpc.clone();
            let future = async move {
                grpc.ready().await.unwrap();
                grpc.unary::<_, Message, _>(
                    tonic::Request::new(Message::default()),
                    PathAndQuery::from_static(path),
                    ProstCodec::default(),
                )
                .await
            };
            let future = tracing::Instrument::instrument(future, root.clone());
            // The timeout only causes the cancellation: the server never answers.
            let outcome = runtime
                .block_on(async { tokio::time::timeout(Duration::from_millis(200), future).await });
            assert!(outcome.is_err(), "{path} never answers");
        }
        drop(root);

        // root, 2 clients, 2 servers (ended when the server sees the reset).
        let spans = trace(&trace_id, 5);
        for name in ["test.v1.Echo/Hang", "test.v1.Echo/Stall"] {
            let client = find(&spans, name, SpanKind::Client);
            assert_eq!(int(client, "rpc.grpc.status_code"), Some(1), "{name}");
            assert_eq!(client.attribute_str("error.type"), Some("CANCELLED"));
            assert_eq!(client.status_code(), StatusCode::Error);
            // CANCELLED is the client's doing: no error on the server.
            let server = find(&spans, name, SpanKind::Server);
            assert_eq!(int(server, "rpc.grpc.status_code"), Some(1), "{name}");
            assert_eq!(server.status_code(), StatusCode::Unset);
        }
    }
}
