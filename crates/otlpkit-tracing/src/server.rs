//! Tower layers that give servers a server span continuing the caller's
//! trace: [`HttpServerLayer`] for HTTP (axum, hyper) with the
//! `http.server.request.duration` histogram, and, with the `tonic` feature,
//! [`GrpcServerLayer`] for tonic servers with the `rpc.*` attributes.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll, ready};
use std::time::Instant;

use crate::SpanExt as _;
use http::{Extensions, Request, Response};
use opentelemetry::KeyValue;
use opentelemetry::metrics::Meter;
use pin_project_lite::pin_project;
use tower::{Layer, Service};
use tracing::Span;
use tracing::field::Empty;
use tracing::instrument::{Instrument as _, Instrumented};

use crate::metrics::{Instrument, Recorder};
use crate::semconv::{STATUS_ERROR, known_method, method_attribute, protocol_version};

#[cfg(feature = "tonic")]
pub use crate::grpc::{GrpcBody, GrpcFuture, GrpcServer, GrpcServerLayer, SERVER_RPC_TARGET};

/// The `tracing` target of server spans (not one of the toolkit's excluded
/// targets, so the spans reach OpenTelemetry; name it in `RUST_LOG`
/// directives, e.g. `http.server=info`).
pub const SERVER_SPAN_TARGET: &str = "http.server";

/// Reads `http.route` from the request extensions.
type Route = dyn Fn(&Extensions) -> Option<String> + Send + Sync;
type RouteFn = Arc<Route>;

/// Wraps a service so that every request runs inside a server span.
///
/// For each request the layer
///
/// 1. extracts the caller's context from the W3C headers
///    ([`propagation::extract`](crate::propagation::extract), validated);
/// 2. starts a `tracing` span of kind `server`, child of that context, named
///    `{method} {route}` (or `{method}` without a route), with
///    `http.request.method`, `url.path`, `url.scheme`, `http.route` when
///    known, `network.protocol.version`, `server.address` and `server.port`
///    (from the `Host` header) and `user_agent.original`;
/// 3. makes it current while the inner service runs: the `tracing` span is
///    entered on every poll and, through `tracing-opentelemetry`'s context
///    activation, its OpenTelemetry context with it (and the caller's
///    baggage). When the span is filtered out (`RUST_LOG=info,http.server=off`)
///    or no OpenTelemetry layer sees it, the caller's context itself is made
///    current instead, so the handler's spans still continue the caller's
///    trace and its baggage still arrives;
/// 4. records `http.response.status_code` and, for a 5xx answer or an error
///    of the service, status `Error` and `error.type` (the status code, or
///    the error's type name); a request whose response future is dropped
///    before it completes (the client closed the connection or reset the
///    stream) gets status `Error` and `error.type` `cancelled`;
/// 5. records the request's duration in the `http.server.request.duration`
///    histogram ([`metrics`](crate::metrics)), with the method, scheme,
///    route, status code, `error.type` and protocol version.
///
/// Requests reach a server without a scheme in their URI: `url.scheme` is
/// `http` unless the URI says `https` or [`with_scheme`](Self::with_scheme)
/// sets it (a server behind TLS says `https`). A scheme other than `http` or
/// `https` in the URI is not taken: a client chooses it, and each value
/// would be one more series of the duration histogram.
///
/// The route comes from axum's `MatchedPath` when the `axum` feature is on
/// and the layer is added with `Router::layer` (which runs after routing);
/// [`with_route`](Self::with_route) supplies it for other frameworks.
///
/// The OpenTelemetry span exists only with a `tracing-opentelemetry` layer
/// installed ([`TracingSetup`](crate::TracingSetup) does that).
///
/// ```no_run
/// # #[cfg(feature = "axum")]
/// # fn app() -> axum::Router {
/// use otlpkit_tracing::server::HttpServerLayer;
///
/// axum::Router::new()
///     .route("/users/{id}", axum::routing::get(|| async { "alice" }))
///     .layer(HttpServerLayer::new())
/// # }
/// ```
#[derive(Clone)]
pub struct HttpServerLayer {
    route: Option<RouteFn>,
    scheme: &'static str,
    duration: Recorder,
}

impl fmt::Debug for HttpServerLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpServerLayer")
            .field("route", &self.route.is_some())
            .field("scheme", &self.scheme)
            .field("duration", &self.duration)
            .finish()
    }
}

impl Default for HttpServerLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpServerLayer {
    /// The layer, taking the route from axum's `MatchedPath` when the `axum`
    /// feature is enabled.
    pub fn new() -> Self {
        #[cfg(feature = "axum")]
        let route: Option<RouteFn> = Some(Arc::new(axum_route));
        #[cfg(not(feature = "axum"))]
        let route: Option<RouteFn> = None;
        Self {
            route,
            scheme: "http",
            duration: Recorder::Global(Instrument::Server),
        }
    }

    /// `url.scheme` of requests whose URI has none (the default is `http`).
    pub fn with_scheme(mut self, scheme: &'static str) -> Self {
        self.scheme = scheme;
        self
    }

    /// Records `http.server.request.duration` on `meter` instead of the
    /// global meter provider's.
    pub fn with_meter(mut self, meter: &Meter) -> Self {
        self.duration = Recorder::on_meter(Instrument::Server, meter);
        self
    }

    /// Reads `http.route` (the matched route template, e.g. `/users/{id}`,
    /// never the concrete path) from the request extensions.
    pub fn with_route<F>(mut self, route: F) -> Self
    where
        F: Fn(&Extensions) -> Option<String> + Send + Sync + 'static,
    {
        self.route = Some(Arc::new(route));
        self
    }

    /// Records no `http.route`.
    pub fn without_route(mut self) -> Self {
        self.route = None;
        self
    }
}

impl<S> Layer<S> for HttpServerLayer {
    type Service = HttpServer<S>;

    fn layer(&self, inner: S) -> HttpServer<S> {
        HttpServer {
            inner,
            route: self.route.clone(),
            scheme: self.scheme,
            duration: self.duration.clone(),
        }
    }
}

/// `http.route` from axum's `MatchedPath`.
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub fn axum_route(extensions: &Extensions) -> Option<String> {
    extensions
        .get::<axum::extract::MatchedPath>()
        .map(|path| path.as_str().to_owned())
}

/// The service made by [`HttpServerLayer`].
#[derive(Clone)]
pub struct HttpServer<S> {
    inner: S,
    route: Option<RouteFn>,
    scheme: &'static str,
    duration: Recorder,
}

impl<S: fmt::Debug> fmt::Debug for HttpServer<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpServer")
            .field("inner", &self.inner)
            .field("route", &self.route.is_some())
            .field("scheme", &self.scheme)
            .finish()
    }
}

impl<S, B, ResBody> Service<Request<B>> for HttpServer<S>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
    S::Error: fmt::Display,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let started = Instant::now();
        let route = self
            .route
            .as_deref()
            .and_then(|route| route(request.extensions()));
        let scheme = url_scheme(request.uri(), self.scheme);
        let mut attributes = vec![
            KeyValue::new("http.request.method", method_attribute(request.method())),
            KeyValue::new("url.scheme", scheme.to_owned()),
        ];
        if let Some(route) = &route {
            attributes.push(KeyValue::new("http.route", route.clone()));
        }
        if let Some(version) = protocol_version(request.version()) {
            attributes.push(KeyValue::new("network.protocol.version", version));
        }
        let span = server_span(&request, route, scheme);
        let parent = continue_trace(&span, request.headers());
        let future = parent.call_in(&span, || self.inner.call(request));
        ResponseFuture {
            inner: future.instrument(span),
            started,
            attributes,
            duration: self.duration.clone(),
            done: false,
        }
    }
}

/// `server.address` and `server.port` from the `Host` header (or the URI's
/// authority, in HTTP/2).
fn host_and_port<B>(request: &Request<B>) -> Option<(String, Option<u16>)> {
    let authority: http::uri::Authority = match request.uri().authority() {
        Some(authority) => authority.clone(),
        None => request
            .headers()
            .get(http::header::HOST)?
            .to_str()
            .ok()?
            .parse()
            .ok()?,
    };
    Some((authority.host().to_owned(), authority.port_u16()))
}

fn server_span<B>(request: &Request<B>, route: Option<String>, scheme: &str) -> Span {
    let method = known_method(request.method());
    let name = match (method, &route) {
        (Some(method), Some(route)) => format!("{method} {route}"),
        (Some(method), None) => method.to_owned(),
        (None, Some(route)) => format!("HTTP {route}"),
        (None, None) => "HTTP".to_owned(),
    };
    let span = tracing::info_span!(
        target: SERVER_SPAN_TARGET,
        "HTTP request",
        otel.name = %name,
        otel.kind = "server",
        http.request.method = method.unwrap_or("_OTHER"),
        http.request.method_original = Empty,
        url.path = request.uri().path(),
        url.scheme = scheme,
        http.route = Empty,
        network.protocol.version = Empty,
        server.address = Empty,
        server.port = Empty,
        user_agent.original = Empty,
        http.response.status_code = Empty,
        "error.type" = Empty,
        otel.status_code = Empty,
        otel.status_description = Empty,
    );
    if method.is_none() {
        span.record("http.request.method_original", request.method().as_str());
    }
    if let Some(route) = &route {
        span.record("http.route", route.as_str());
    }
    if let Some(version) = protocol_version(request.version()) {
        span.record("network.protocol.version", version);
    }
    if let Some((host, port)) = host_and_port(request) {
        span.record("server.address", host);
        if let Some(port) = port {
            span.record("server.port", i64::from(port));
        }
    }
    if let Some(agent) = request
        .headers()
        .get(http::header::USER_AGENT)
        .and_then(|value| value.to_str().ok())
    {
        span.record("user_agent.original", agent);
    }
    span
}

/// Makes the caller's context (extracted from `headers`) the parent of a
/// server span. When the span cannot take it (it is disabled, e.g. by
/// `RUST_LOG=info,http.server=off`, or no OpenTelemetry layer sees it), the
/// caller's context is returned to be made current around the inner
/// service instead, so that the handler's spans still continue the
/// caller's trace and its baggage still arrives.
pub(crate) fn continue_trace(span: &Span, headers: &http::HeaderMap) -> WithParent {
    let parent = crate::propagation::extract(headers);
    WithParent(span.set_parent(parent.clone()).err().map(|_| parent))
}

/// The caller's context, when the server span could not take it as its
/// parent (see [`continue_trace`]).
#[derive(Debug)]
pub(crate) struct WithParent(Option<opentelemetry::Context>);

impl WithParent {
    /// Calls the inner service inside `span` or, when the span could not
    /// take the caller's context, under that context; the future polls
    /// under it too.
    pub(crate) fn call_in<F>(self, span: &Span, call: impl FnOnce() -> F) -> ParentFuture<F> {
        let future = match &self.0 {
            Some(parent) => {
                let _attached = parent.clone().attach();
                call()
            }
            None => span.in_scope(call),
        };
        ParentFuture {
            inner: future,
            parent: self.0,
        }
    }
}

pin_project! {
    /// A future polled under the caller's context when the server span
    /// could not take it (see [`continue_trace`]); else the future alone.
    #[derive(Debug)]
    pub(crate) struct ParentFuture<F> {
        #[pin]
        inner: F,
        parent: Option<opentelemetry::Context>,
    }
}

impl<F> ParentFuture<F> {
    /// `future`, polled as it is.
    #[cfg(feature = "tonic")]
    pub(crate) fn none(future: F) -> Self {
        Self {
            inner: future,
            parent: None,
        }
    }
}

impl<F: Future> Future for ParentFuture<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let _attached = this.parent.as_ref().map(|parent| parent.clone().attach());
        this.inner.poll(cx)
    }
}

pin_project! {
    /// The response future of [`HttpServer`]: the inner future, polled inside
    /// the server span, which records the outcome and the duration when it
    /// completes.
    pub struct ResponseFuture<F> {
        #[pin]
        inner: Instrumented<ParentFuture<F>>,
        started: Instant,
        attributes: Vec<KeyValue>,
        duration: Recorder,
        // Whether the response (or the error) has arrived.
        done: bool,
    }

    impl<F> PinnedDrop for ResponseFuture<F> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if !*this.done {
                // Dropped before the answer: the client went away (hyper
                // drops the future of a closed connection or reset stream).
                let span = this.inner.span();
                span.record("error.type", CANCELLED);
                span.record("otel.status_code", STATUS_ERROR);
                span.record("otel.status_description", "cancelled before the response");
                this.attributes.push(KeyValue::new("error.type", CANCELLED));
                this.duration
                    .record(this.started.elapsed().as_secs_f64(), this.attributes);
            }
        }
    }
}

/// `error.type` of a request whose response future was dropped before it
/// completed (the client went away). The HTTP conventions ask for an error
/// status and an `error.type` when a request is cancelled and leave the
/// value to the instrumentation; `_OTHER` is only the fallback.
const CANCELLED: &str = "cancelled";

impl<F> fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("span", self.inner.span())
            .finish_non_exhaustive()
    }
}

impl<F, ResBody, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
    E: fmt::Display,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let result = ready!(this.inner.as_mut().poll(cx));
        *this.done = true;
        let span = this.inner.span();
        let attributes = this.attributes;
        match &result {
            Ok(response) => {
                let status = response.status();
                let code = i64::from(status.as_u16());
                span.record("http.response.status_code", code);
                attributes.push(KeyValue::new("http.response.status_code", code));
                if status.is_server_error() {
                    // The status code says why: no description.
                    span.record("error.type", status.as_str());
                    span.record("otel.status_code", STATUS_ERROR);
                    attributes.push(KeyValue::new("error.type", status.as_str().to_owned()));
                }
            }
            Err(error) => {
                let kind = std::any::type_name::<E>();
                span.record("error.type", kind);
                span.record("otel.status_code", STATUS_ERROR);
                span.record("otel.status_description", error.to_string());
                attributes.push(KeyValue::new("error.type", kind));
            }
        }
        this.duration
            .record(this.started.elapsed().as_secs_f64(), attributes);
        Poll::Ready(result)
    }
}

/// `url.scheme` of a request: `http` or `https` when its URI names one of
/// them, else `default`. Any other scheme a client writes in an absolute
/// request line (`GET zz9://victim/x HTTP/1.1`, which hyper accepts) would
/// otherwise become an attribute value of the duration histogram, one
/// series per value, until the SDK's cardinality limit pushes the real
/// series into its overflow.
fn url_scheme(uri: &http::Uri, default: &'static str) -> &'static str {
    match uri.scheme_str() {
        Some(scheme) if scheme.eq_ignore_ascii_case("https") => "https",
        Some(scheme) if scheme.eq_ignore_ascii_case("http") => "http",
        _ => default,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_and_https_are_taken_from_the_uri() {
        let scheme = |uri: &str| url_scheme(&uri.parse().unwrap(), "http");
        assert_eq!(scheme("https://shop.example/x"), "https");
        assert_eq!(scheme("HTTP://shop.example/x"), "http");
        assert_eq!(scheme("/x"), "http");
        assert_eq!(scheme("zz9-attacker://victim/x"), "http");
        assert_eq!(url_scheme(&"/x".parse().unwrap(), "https"), "https");
        assert_eq!(url_scheme(&"ftp://a/x".parse().unwrap(), "https"), "https");
    }

    #[test]
    fn host_and_port_come_from_the_uri_or_the_host_header() {
        let request = Request::get("/x")
            .header("host", "shop.example:8443")
            .body(())
            .unwrap();
        assert_eq!(
            host_and_port(&request),
            Some(("shop.example".to_owned(), Some(8443)))
        );
        let request = Request::get("http://[::1]:80/x").body(()).unwrap();
        assert_eq!(
            host_and_port(&request),
            Some(("[::1]".to_owned(), Some(80)))
        );
        let request = Request::get("/x").header("host", "a b").body(()).unwrap();
        assert_eq!(host_and_port(&request), None);
    }

    #[test]
    fn with_route_replaces_the_route_source() {
        let layer = HttpServerLayer::new().with_route(|_| Some("/x".to_owned()));
        let route = layer.route.as_deref().unwrap();
        assert_eq!(route(&Extensions::new()).as_deref(), Some("/x"));
        assert!(HttpServerLayer::new().without_route().route.is_none());
        assert!(format!("{layer:?}").contains("route: true"));
    }
}
