//! A tower layer that gives HTTP servers (axum, hyper, tonic) a server span
//! continuing the caller's trace.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll, ready};

use http::{Extensions, Method, Request, Response, Version};
use opentelemetry::trace::Status;
use pin_project_lite::pin_project;
use tower::{Layer, Service};
use tracing::Span;
use tracing::field::Empty;
use tracing::instrument::{Instrument as _, Instrumented};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

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
///    `http.request.method`, `url.path`, `http.route` when known and
///    `network.protocol.version`;
/// 3. makes it current while the inner service runs: the `tracing` span is
///    entered on every poll and, through `tracing-opentelemetry`'s context
///    activation, its OpenTelemetry context with it (and the caller's
///    baggage);
/// 4. records `http.response.status_code` and, for a 5xx answer or an error
///    of the service, status `Error` and `error.type`.
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
}

impl fmt::Debug for HttpServerLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpServerLayer")
            .field("route", &self.route.is_some())
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
        Self { route }
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
}

impl<S: fmt::Debug> fmt::Debug for HttpServer<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpServer")
            .field("inner", &self.inner)
            .field("route", &self.route.is_some())
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
        let span = server_span(&request, self.route.as_deref());
        let future = span.in_scope(|| self.inner.call(request));
        ResponseFuture {
            inner: future.instrument(span),
        }
    }
}

/// The semantic-convention name of a method, `None` for others.
fn known_method(method: &Method) -> Option<&'static str> {
    Some(match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::CONNECT => "CONNECT",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::PATCH => "PATCH",
        _ => return None,
    })
}

fn protocol_version(version: Version) -> Option<&'static str> {
    Some(match version {
        Version::HTTP_09 => "0.9",
        Version::HTTP_10 => "1.0",
        Version::HTTP_11 => "1.1",
        Version::HTTP_2 => "2",
        Version::HTTP_3 => "3",
        _ => return None,
    })
}

fn server_span<B>(request: &Request<B>, route: Option<&Route>) -> Span {
    let method = known_method(request.method());
    let route = route.and_then(|route| route(request.extensions()));
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
        http.route = Empty,
        network.protocol.version = Empty,
        http.response.status_code = Empty,
        "error.type" = Empty,
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
    let parent = crate::propagation::extract(request.headers());
    // Fails only when no OpenTelemetry layer sees the span: then there is no
    // OpenTelemetry span to attach the caller's trace to.
    let _ = span.set_parent(parent);
    span
}

pin_project! {
    /// The response future of [`HttpServer`]: the inner future, polled inside
    /// the server span, which records the outcome when it completes.
    pub struct ResponseFuture<F> {
        #[pin]
        inner: Instrumented<F>,
    }
}

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
        let span = this.inner.span();
        match &result {
            Ok(response) => {
                let status = response.status();
                span.record("http.response.status_code", i64::from(status.as_u16()));
                if status.is_server_error() {
                    // The status code says why: no description.
                    span.record("error.type", status.as_str());
                    span.set_status(Status::error(""));
                }
            }
            Err(error) => {
                span.record("error.type", std::any::type_name::<E>());
                span.set_status(Status::error(error.to_string()));
            }
        }
        Poll::Ready(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_and_versions_follow_the_semantic_conventions() {
        assert_eq!(known_method(&Method::GET), Some("GET"));
        assert_eq!(known_method(&Method::from_bytes(b"PURGE").unwrap()), None);
        assert_eq!(protocol_version(Version::HTTP_11), Some("1.1"));
        assert_eq!(protocol_version(Version::HTTP_2), Some("2"));
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
