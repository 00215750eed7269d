//! gRPC spans for tonic clients and servers, as the RPC semantic conventions
//! describe them: kind `client` or `server`, named `{rpc.service}/{rpc.method}`,
//! with `rpc.system = grpc`, `rpc.service`, `rpc.method` and
//! `rpc.grpc.status_code`.
//!
//! The status of a call arrives in the response headers (a trailers-only
//! answer, as for most errors) or in the trailers after the last message,
//! so both layers wrap the response body and close the span when the
//! status has been read. A response that ends without a status is
//! recorded as `UNKNOWN` (code 2), as tonic reports it to the caller; a
//! call whose future or body is dropped before its status (a timeout, a
//! client that stops reading a stream, a client gone on the server side)
//! as `CANCELLED` (code 1).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll, ready};

use http::{HeaderMap, Request, Response, Uri};
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use tower::{Layer, Service};
use tracing::Span;
use tracing::field::Empty;
use tracing::instrument::{Instrument as _, Instrumented};

use crate::semconv::STATUS_ERROR;
use crate::server::ParentFuture;

/// The `tracing` target of gRPC client spans (`RUST_LOG` directive:
/// `rpc.client=info`).
pub const CLIENT_RPC_TARGET: &str = "rpc.client";
/// The `tracing` target of gRPC server spans (`RUST_LOG` directive:
/// `rpc.server=info`).
pub const SERVER_RPC_TARGET: &str = "rpc.server";

/// Which side of a call a span describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Client,
    Server,
}

/// `rpc.service` and `rpc.method` of a gRPC path, `/package.Service/Method`.
fn service_and_method(path: &str) -> Option<(&str, &str)> {
    let (service, method) = path.strip_prefix('/')?.split_once('/')?;
    (!service.is_empty() && !method.is_empty() && !method.contains('/'))
        .then_some((service, method))
}

/// The name of a gRPC status code, as the gRPC specification spells it.
fn code_name(code: i32) -> &'static str {
    match code {
        0 => "OK",
        1 => "CANCELLED",
        2 => "UNKNOWN",
        3 => "INVALID_ARGUMENT",
        4 => "DEADLINE_EXCEEDED",
        5 => "NOT_FOUND",
        6 => "ALREADY_EXISTS",
        7 => "PERMISSION_DENIED",
        8 => "RESOURCE_EXHAUSTED",
        9 => "FAILED_PRECONDITION",
        10 => "ABORTED",
        11 => "OUT_OF_RANGE",
        12 => "UNIMPLEMENTED",
        13 => "INTERNAL",
        14 => "UNAVAILABLE",
        15 => "DATA_LOSS",
        16 => "UNAUTHENTICATED",
        _ => "_OTHER",
    }
}

/// Whether a status makes the span an error: every status but `OK` for a
/// client; for a server only those that say the server failed (the
/// conventions' list: `UNKNOWN`, `DEADLINE_EXCEEDED`, `UNIMPLEMENTED`,
/// `INTERNAL`, `UNAVAILABLE`, `DATA_LOSS`).
fn is_error(side: Side, code: i32) -> bool {
    match side {
        Side::Client => code != 0,
        Side::Server => matches!(code, 2 | 4 | 12 | 13 | 14 | 15),
    }
}

/// `grpc-status` and the percent-decoded `grpc-message` of a header map.
fn grpc_status(headers: &HeaderMap) -> Option<(i32, Option<String>)> {
    let code = headers
        .get("grpc-status")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let message = headers
        .get("grpc-message")
        .and_then(|value| value.to_str().ok())
        .map(|text| {
            percent_encoding::percent_decode_str(text)
                .decode_utf8_lossy()
                .into_owned()
        })
        .filter(|text| !text.is_empty());
    Some((code, message))
}

/// `UNKNOWN`: what a call whose response ends without `grpc-status` is.
const UNKNOWN: i32 = 2;
/// The description of a call whose response ended without `grpc-status`.
const MISSING_STATUS: &str = "the response ended without grpc-status";
/// `CANCELLED`: what a call dropped before its status is (as tonic tells
/// the caller, and the server sees from the stream's reset).
const CANCELLED: i32 = 1;
/// The description of a call dropped before its status.
const CANCELLED_BEFORE_STATUS: &str = "the call was dropped before its status";

fn record_status(span: &Span, side: Side, code: i32, message: Option<&str>) {
    span.record("rpc.grpc.status_code", i64::from(code));
    if is_error(side, code) {
        span.record("error.type", code_name(code));
        span.record("otel.status_code", STATUS_ERROR);
        if let Some(message) = message {
            span.record("otel.status_description", message);
        }
    }
}

/// The stream ended without a status: a protocol error (a proxy's reset
/// looks like this), which tonic and grpc-go report as `UNKNOWN`.
fn record_missing_status(span: &Span, side: Side) {
    record_status(span, side, UNKNOWN, Some(MISSING_STATUS));
}

fn record_failure(span: &Span, kind: &str, description: Option<String>) {
    span.record("error.type", kind);
    span.record("otel.status_code", STATUS_ERROR);
    if let Some(description) = description {
        span.record("otel.status_description", description);
    }
}

fn rpc_span(side: Side, path: &str) -> Span {
    let (service, method) = match service_and_method(path) {
        Some((service, method)) => (Some(service), Some(method)),
        None => (None, None),
    };
    let name = match service_and_method(path) {
        Some((service, method)) => format!("{service}/{method}"),
        None => path.trim_start_matches('/').to_owned(),
    };
    macro_rules! span {
        ($target:expr, $kind:literal) => {
            tracing::info_span!(
                target: $target,
                "gRPC call",
                otel.name = %name,
                otel.kind = $kind,
                rpc.system = "grpc",
                rpc.service = service,
                rpc.method = method,
                rpc.grpc.status_code = Empty,
                server.address = Empty,
                server.port = Empty,
                "error.type" = Empty,
                otel.status_code = Empty,
                otel.status_description = Empty,
            )
        };
    }
    match side {
        Side::Client => span!(CLIENT_RPC_TARGET, "client"),
        Side::Server => span!(SERVER_RPC_TARGET, "server"),
    }
}

/// Records the status of a response that carries it in its headers
/// (trailers-only) or a failed HTTP status; `true` when the outcome is known.
fn record_response_head<B>(span: &Span, side: Side, response: &Response<B>) -> bool {
    if let Some((code, message)) = grpc_status(response.headers()) {
        record_status(span, side, code, message.as_deref());
        true
    } else if response.status() != http::StatusCode::OK {
        record_failure(span, response.status().as_str(), None);
        true
    } else {
        false
    }
}

pin_project! {
    /// A response body that reads the call's status from the trailers,
    /// records it on the call's span, and lets the span close then; dropped
    /// before the status, it records the call as `CANCELLED`.
    pub struct GrpcBody<B> {
        #[pin]
        inner: B,
        // Present until the outcome is recorded.
        span: Option<Span>,
        side: Side,
    }

    impl<B> PinnedDrop for GrpcBody<B> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let Some(span) = this.span.take() {
                record_status(&span, *this.side, CANCELLED, Some(CANCELLED_BEFORE_STATUS));
            }
        }
    }
}

impl<B> fmt::Debug for GrpcBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GrpcBody")
            .field("span", &self.span)
            .finish_non_exhaustive()
    }
}

impl<B: Body> Body for GrpcBody<B>
where
    B::Error: fmt::Display,
{
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let mut this = self.project();
        let frame = ready!(this.inner.as_mut().poll_frame(cx));
        if let Some(span) = this.span.take() {
            // The status is still awaited after this frame.
            let pending = match &frame {
                Some(Ok(frame)) => match frame.trailers_ref().and_then(grpc_status) {
                    Some((code, message)) => {
                        record_status(&span, *this.side, code, message.as_deref());
                        false
                    }
                    // A body may say it has ended without being polled to
                    // `None` (the server then drops it unpolled).
                    None if this.inner.is_end_stream() => {
                        record_missing_status(&span, *this.side);
                        false
                    }
                    None => true,
                },
                Some(Err(error)) => {
                    record_failure(&span, "body", Some(error.to_string()));
                    false
                }
                None => {
                    record_missing_status(&span, *this.side);
                    false
                }
            };
            if pending {
                *this.span = Some(span);
            }
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

fn wrap<B>(span: &Span, side: Side, response: Response<B>) -> Response<GrpcBody<B>> {
    let known = record_response_head(span, side, &response);
    response.map(|inner| GrpcBody {
        inner,
        span: (!known).then(|| span.clone()),
        side,
    })
}

pin_project! {
    /// The response future of [`GrpcClient`] and [`GrpcServer`].
    pub struct GrpcFuture<F> {
        #[pin]
        inner: Instrumented<ParentFuture<F>>,
        side: Side,
        // Whether the response (or the error) has arrived.
        done: bool,
    }

    impl<F> PinnedDrop for GrpcFuture<F> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if !*this.done {
                let span = this.inner.span();
                record_status(span, *this.side, CANCELLED, Some(CANCELLED_BEFORE_STATUS));
            }
        }
    }
}

impl<F> fmt::Debug for GrpcFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GrpcFuture")
            .field("span", self.inner.span())
            .finish_non_exhaustive()
    }
}

impl<F, B, E> Future for GrpcFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    E: fmt::Display,
{
    type Output = Result<Response<GrpcBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let result = ready!(this.inner.as_mut().poll(cx));
        *this.done = true;
        let span = this.inner.span();
        Poll::Ready(match result {
            Ok(response) => Ok(wrap(span, *this.side, response)),
            Err(error) => {
                record_failure(span, std::any::type_name::<E>(), Some(error.to_string()));
                Err(error)
            }
        })
    }
}

/// A tower layer for tonic clients: each call runs in a client span, and
/// the span's context goes out in the request metadata (W3C
/// `traceparent`, `tracestate`, `baggage`).
///
/// The span is named `{rpc.service}/{rpc.method}` and has `rpc.system`,
/// `rpc.service`, `rpc.method`, `rpc.grpc.status_code`, `server.address`
/// and `server.port`; any status but `OK` makes it an error, with the
/// status name (e.g. `UNAVAILABLE`) in `error.type` and the status message
/// as its description; a response that ends without a status is `UNKNOWN`
/// (code 2), as tonic reports it, and a call dropped before its status
/// (a timeout around it, a stream no longer read) is `CANCELLED` (code 1).
/// It is a child of the span current where the call is made.
///
/// ```no_run
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// use otlpkit_tracing::client::GrpcClientLayer;
/// use tower::ServiceBuilder;
///
/// let uri: http::Uri = "http://127.0.0.1:50051".parse()?;
/// let channel = tonic::transport::Endpoint::from(uri.clone()).connect().await?;
/// let service = ServiceBuilder::new()
///     .layer(GrpcClientLayer::new().with_server(&uri))
///     .service(channel);
/// // A generated client takes it as it takes a channel:
/// // `GreeterClient::new(service)`; without codegen, `tonic::client::Grpc::new(service)`.
/// let grpc = tonic::client::Grpc::new(service);
/// # drop(grpc);
/// # Ok(())
/// # }
/// ```
///
/// Requests reach the layer without the server's address unless the
/// client was made with an origin; [`with_server`](Self::with_server) names
/// it for `server.address` and `server.port`.
#[derive(Debug, Clone, Default)]
pub struct GrpcClientLayer {
    server: Option<(String, Option<u16>)>,
}

impl GrpcClientLayer {
    /// The layer.
    pub fn new() -> Self {
        Self::default()
    }

    /// The server the client talks to (its host and port become
    /// `server.address` and `server.port`).
    pub fn with_server(mut self, uri: &Uri) -> Self {
        self.server = uri.host().map(|host| {
            (
                host.to_owned(),
                uri.port_u16().or_else(|| default_port(uri)),
            )
        });
        self
    }
}

fn default_port(uri: &Uri) -> Option<u16> {
    match uri.scheme_str() {
        Some("https") => Some(443),
        Some("http") => Some(80),
        _ => None,
    }
}

impl<S> Layer<S> for GrpcClientLayer {
    type Service = GrpcClient<S>;

    fn layer(&self, inner: S) -> GrpcClient<S> {
        GrpcClient {
            inner,
            server: self.server.clone(),
        }
    }
}

/// The service made by [`GrpcClientLayer`].
#[derive(Debug, Clone)]
pub struct GrpcClient<S> {
    inner: S,
    server: Option<(String, Option<u16>)>,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for GrpcClient<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Error: fmt::Display,
{
    type Response = Response<GrpcBody<ResBody>>;
    type Error = S::Error;
    type Future = GrpcFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let span = rpc_span(Side::Client, request.uri().path());
        let server = match request.uri().host() {
            Some(host) => Some((
                host.to_owned(),
                request
                    .uri()
                    .port_u16()
                    .or_else(|| default_port(request.uri())),
            )),
            None => self.server.clone(),
        };
        if let Some((host, port)) = server {
            span.record("server.address", host);
            if let Some(port) = port {
                span.record("server.port", i64::from(port));
            }
        }
        span.in_scope(|| {
            opentelemetry::Context::map_current(|cx| {
                crate::propagation::inject(cx, request.headers_mut());
            });
        });
        let future = ParentFuture::none(span.in_scope(|| self.inner.call(request)));
        GrpcFuture {
            inner: future.instrument(span),
            side: Side::Client,
            done: false,
        }
    }
}

/// A tower layer for tonic servers: each call runs in a server span that
/// continues the caller's trace (W3C `traceparent` in the metadata). When
/// the span is filtered out (`RUST_LOG=info,rpc.server=off`) or no
/// OpenTelemetry layer sees it, the caller's context itself is made current
/// around the service, so the handler's spans still continue the caller's
/// trace and its baggage still arrives.
///
/// The span is named `{rpc.service}/{rpc.method}` and has `rpc.system`,
/// `rpc.service`, `rpc.method` and `rpc.grpc.status_code`. As the
/// conventions say, only the statuses that mean the server failed
/// (`UNKNOWN`, `DEADLINE_EXCEEDED`, `UNIMPLEMENTED`, `INTERNAL`,
/// `UNAVAILABLE`, `DATA_LOSS`) make it an error; a refusal such as
/// `NOT_FOUND` or `FAILED_PRECONDITION` is the client's error only. A call
/// the client abandons (its response future or body dropped by the server
/// before the status) gets `rpc.grpc.status_code` 1 (`CANCELLED`), not an
/// error on this side either.
///
/// ```no_run
/// # async fn example<S>(service: S) -> Result<(), Box<dyn std::error::Error>>
/// # where
/// #     S: tower::Service<http::Request<tonic::body::Body>, Response = http::Response<tonic::body::Body>, Error = std::convert::Infallible>
/// #         + tonic::server::NamedService + Clone + Send + Sync + 'static,
/// #     S::Future: Send + 'static,
/// # {
/// use otlpkit_tracing::server::GrpcServerLayer;
///
/// tonic::transport::Server::builder()
///     .layer(GrpcServerLayer::new())
///     .add_service(service) // e.g. `GreeterServer::new(MyGreeter)`
///     .serve("127.0.0.1:50051".parse()?)
///     .await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct GrpcServerLayer {
    _private: (),
}

impl GrpcServerLayer {
    /// The layer.
    pub fn new() -> Self {
        Self::default()
    }
}

impl<S> Layer<S> for GrpcServerLayer {
    type Service = GrpcServer<S>;

    fn layer(&self, inner: S) -> GrpcServer<S> {
        GrpcServer { inner }
    }
}

/// The service made by [`GrpcServerLayer`].
#[derive(Debug, Clone)]
pub struct GrpcServer<S> {
    inner: S,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for GrpcServer<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Error: fmt::Display,
{
    type Response = Response<GrpcBody<ResBody>>;
    type Error = S::Error;
    type Future = GrpcFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let span = rpc_span(Side::Server, request.uri().path());
        let parent = crate::server::continue_trace(&span, request.headers());
        let future = parent.call_in(&span, || self.inner.call(request));
        GrpcFuture {
            inner: future.instrument(span),
            side: Side::Server,
            done: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_give_the_service_and_the_method() {
        assert_eq!(
            service_and_method("/inventory.v1.Inventory/Reserve"),
            Some(("inventory.v1.Inventory", "Reserve"))
        );
        for bad in ["", "/", "//", "/svc", "/svc/", "svc/m", "/a/b/c"] {
            assert_eq!(service_and_method(bad), None, "{bad}");
        }
    }

    #[test]
    fn statuses_are_errors_as_the_conventions_say() {
        assert!(!is_error(Side::Client, 0));
        assert!(is_error(Side::Client, 9));
        assert!(!is_error(Side::Server, 9));
        assert!(!is_error(Side::Server, 5));
        for code in [2, 4, 12, 13, 14, 15] {
            assert!(is_error(Side::Server, code), "{code}");
        }
        assert_eq!(code_name(9), "FAILED_PRECONDITION");
        assert_eq!(code_name(16), "UNAUTHENTICATED");
        assert_eq!(code_name(99), "_OTHER");
    }

    #[test]
    fn status_and_message_are_read_from_headers() {
        let mut headers = HeaderMap::new();
        assert_eq!(grpc_status(&headers), None);
        headers.insert("grpc-status", "9".parse().unwrap());
        headers.insert("grpc-message", "only%201%20left".parse().unwrap());
        assert_eq!(
            grpc_status(&headers),
            Some((9, Some("only 1 left".to_owned())))
        );
        headers.insert("grpc-status", "nine".parse().unwrap());
        assert_eq!(grpc_status(&headers), None);
    }

    #[test]
    fn with_server_reads_host_and_port() {
        let uri: Uri = "http://10.0.0.7:50051".parse().unwrap();
        let layer = GrpcClientLayer::new().with_server(&uri);
        assert_eq!(layer.server, Some(("10.0.0.7".to_owned(), Some(50051))));
        let uri: Uri = "https://api.example".parse().unwrap();
        let layer = GrpcClientLayer::new().with_server(&uri);
        assert_eq!(layer.server, Some(("api.example".to_owned(), Some(443))));
    }
}
