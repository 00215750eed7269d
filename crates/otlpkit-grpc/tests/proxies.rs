//! What a proxy, a load balancer or a server that is not an OTLP/gRPC
//! collector sends back, and the testkit cannot: plain HTTP statuses with a
//! text body, a stream without `grpc-status`, an OK status with a response
//! message that does not decode. A raw h2c server (hyper) on 127.0.0.1
//! answers from a script.

mod support;

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::BodyExt as _;
use hyper::body::{Body, Frame, Incoming};
use opentelemetry_sdk::trace::SpanExporter as _;
use otlpkit_core::MapEnv;
use otlpkit_core::stats::DropReason;
use otlpkit_fixtures::exec::block_on;
use otlpkit_grpc::SpanExporter;
use support::{WAIT, fast_policy, spans, traces};

/// One scripted answer.
#[derive(Clone)]
struct Reply {
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
    /// `grpc-status` sent as a trailer; none: the stream just ends.
    grpc_status: Option<&'static str>,
}

impl Reply {
    /// What a load balancer (Envoy, nginx) answers while the collector
    /// behind it is away: a plain HTTP status with a text body.
    fn http(status: u16, text: &str) -> Self {
        Self {
            status,
            content_type: "text/plain",
            body: text.as_bytes().to_vec(),
            grpc_status: None,
        }
    }

    /// gRPC status OK with `message` as the one response message.
    fn grpc_ok(message: &[u8]) -> Self {
        let mut body = vec![0u8];
        body.extend_from_slice(&u32::try_from(message.len()).unwrap().to_be_bytes());
        body.extend_from_slice(message);
        Self {
            status: 200,
            content_type: "application/grpc",
            body,
            grpc_status: Some("0"),
        }
    }

    /// A full success: an empty `ExportTraceServiceResponse`.
    fn ok() -> Self {
        Self::grpc_ok(b"")
    }
}

/// A body that yields its frames, then ends.
struct Frames(VecDeque<Frame<Bytes>>);

impl Body for Frames {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.0.pop_front().map(Ok))
    }
}

/// A raw h2c server answering request `i` with `script[i]`, and with the
/// last reply once the script has run out.
struct RawServer {
    endpoint: String,
    requests: Arc<AtomicUsize>,
}

impl RawServer {
    fn start(script: Vec<Reply>) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        listener.set_nonblocking(true).unwrap();
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&requests);
        let script = Arc::new(Mutex::new(VecDeque::from(script)));
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        continue;
                    };
                    let script = Arc::clone(&script);
                    let counter = Arc::clone(&counter);
                    tokio::spawn(async move {
                        let service =
                            hyper::service::service_fn(move |request: http::Request<Incoming>| {
                                let script = Arc::clone(&script);
                                let counter = Arc::clone(&counter);
                                async move {
                                    let _ = request.into_body().collect().await;
                                    let reply = {
                                        let mut script = script.lock().unwrap();
                                        if script.len() > 1 {
                                            script.pop_front().unwrap()
                                        } else {
                                            script.front().unwrap().clone()
                                        }
                                    };
                                    counter.fetch_add(1, Ordering::SeqCst);
                                    let mut frames = VecDeque::new();
                                    if !reply.body.is_empty() {
                                        frames.push_back(Frame::data(Bytes::from(reply.body)));
                                    }
                                    if let Some(code) = reply.grpc_status {
                                        let mut trailers = http::HeaderMap::new();
                                        trailers.insert("grpc-status", code.parse().unwrap());
                                        frames.push_back(Frame::trailers(trailers));
                                    }
                                    Ok::<_, Infallible>(
                                        http::Response::builder()
                                            .status(reply.status)
                                            .header("content-type", reply.content_type)
                                            .body(Frames(frames))
                                            .unwrap(),
                                    )
                                }
                            });
                        let io = hyper_util::rt::TokioIo::new(stream);
                        let _ = hyper::server::conn::http2::Builder::new(
                            hyper_util::rt::TokioExecutor::new(),
                        )
                        .serve_connection(io, service)
                        .await;
                    });
                }
            });
        });
        Self { endpoint, requests }
    }

    fn exporter(&self, attempts: u32) -> SpanExporter {
        SpanExporter::builder()
            .with_env(MapEnv::new())
            .with_endpoint(&self.endpoint)
            .with_timeout(Some(WAIT))
            .with_retry_policy(fast_policy(attempts))
            .build()
            .unwrap()
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

// checklist 2.2, 2.6, 2.8: a load balancer's 429, 502, 503 or 504 with a text
// body, instead of a gRPC status, is UNAVAILABLE as the gRPC HTTP-to-status
// mapping says: retried, and delivered once the collector is back.
#[test]
fn a_load_balancers_retryable_http_status_is_retried() {
    for status in [429, 502, 503, 504] {
        let server = RawServer::start(vec![
            Reply::http(
                status,
                "upstream connect error or disconnect/reset before headers",
            ),
            Reply::ok(),
        ]);
        let exporter = server.exporter(3);
        block_on(exporter.export(spans("lb", 4)))
            .unwrap_or_else(|error| panic!("HTTP {status}: {error}"));
        assert_eq!(server.requests(), 2, "HTTP {status}");
        let stats = traces(exporter.stats());
        assert_eq!(
            (stats.exported, stats.dropped_total()),
            (4, 0),
            "HTTP {status}"
        );
        assert_eq!(
            (stats.retries, stats.failed_attempts),
            (1, 1),
            "HTTP {status}"
        );
    }
}

// The failure says what happened (an HTTP status instead of gRPC) and does
// not send the user to the OTLP/HTTP port for a collector that is away.
#[test]
fn a_load_balancers_503_names_the_status_not_a_wrong_port() {
    let server = RawServer::start(vec![Reply::http(503, "no healthy upstream")]);
    let exporter = server.exporter(2);
    let error = block_on(exporter.export(spans("lb", 3)))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("UNAVAILABLE") || error.contains("Unavailable"),
        "{error}"
    );
    assert!(error.contains("HTTP 503"), "{error}");
    assert!(!error.contains("4318"), "{error}");
    assert!(!error.contains("OTLP/HTTP port"), "{error}");
    assert_eq!(server.requests(), 2);
    let stats = traces(exporter.stats());
    assert_eq!(stats.dropped(DropReason::RetriesExhausted), 3);
    assert_eq!((stats.exported, stats.retries), (0, 1));
}

// A 404 in plain HTTP is what an OTLP/HTTP port answers a gRPC request: not
// retried, and the failure points at the protocol and the port.
#[test]
fn a_plain_http_404_is_dropped_with_the_wrong_port_hint() {
    let server = RawServer::start(vec![Reply::http(404, "404 page not found")]);
    let exporter = server.exporter(3);
    let error = block_on(exporter.export(spans("lost", 2)))
        .unwrap_err()
        .to_string();
    assert!(error.contains("HTTP 404"), "{error}");
    assert!(
        error.contains("OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf"),
        "{error}"
    );
    assert_eq!(server.requests(), 1);
    let stats = traces(exporter.stats());
    assert_eq!(stats.dropped(DropReason::NonRetryable), 2);
    assert_eq!((stats.exported, stats.retries), (0, 0));
}

// checklist 2.8, 2.13: a stream that ends without `grpc-status` (a proxy cut
// it short) is a response that never arrived: retried like a lost
// connection, and the retry delivers.
#[test]
fn a_stream_without_grpc_status_is_retried() {
    let truncated = Reply {
        grpc_status: None,
        ..Reply::ok()
    };
    let server = RawServer::start(vec![truncated, Reply::ok()]);
    let exporter = server.exporter(3);
    block_on(exporter.export(spans("cut", 5))).unwrap();
    assert_eq!(server.requests(), 2);
    let stats = traces(exporter.stats());
    assert_eq!((stats.exported, stats.dropped_total()), (5, 0));
    assert_eq!((stats.retries, stats.failed_attempts), (1, 1));
}

// checklist 2.1: status OK means the batch was delivered, even when the
// response message does not decode — counted as exported, as OTLP/HTTP does
// with an unreadable success body
// (`success_bodies_empty_null_or_unreadable_count_as_exported`).
#[test]
fn status_ok_with_an_undecodable_response_counts_as_delivered() {
    let server = RawServer::start(vec![Reply::grpc_ok(b"\xff\xff\xff")]);
    let exporter = server.exporter(3);
    block_on(exporter.export(spans("garbled", 2))).unwrap();
    assert_eq!(server.requests(), 1);
    let stats = traces(exporter.stats());
    assert_eq!((stats.exported, stats.dropped_total()), (2, 0));
    assert_eq!((stats.retries, stats.failed_attempts), (0, 0));
}

// The final status decides, not the message before it: an undecodable
// message followed by INVALID_ARGUMENT is a failure, dropped and counted.
#[test]
fn an_undecodable_response_with_an_error_status_is_that_error() {
    let server = RawServer::start(vec![Reply {
        grpc_status: Some("3"),
        ..Reply::grpc_ok(b"\xff\xff\xff")
    }]);
    let exporter = server.exporter(3);
    let error = block_on(exporter.export(spans("garbled", 2)))
        .unwrap_err()
        .to_string();
    assert!(error.contains("InvalidArgument"), "{error}");
    assert_eq!(server.requests(), 1);
    let stats = traces(exporter.stats());
    assert_eq!(stats.dropped(DropReason::NonRetryable), 2);
    assert_eq!(stats.exported, 0);
}
