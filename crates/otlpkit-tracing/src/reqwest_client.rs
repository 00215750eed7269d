//! reqwest: context injection, and client spans with the client duration
//! histogram, for the async client and `reqwest::blocking`.

use std::future::Future;
use std::time::Instant;

use http::{HeaderMap, Method, StatusCode, Version};
use opentelemetry::{Context, KeyValue};
use tracing::Span;
use tracing::field::Empty;
use tracing::instrument::Instrument as _;

use crate::metrics::Instrument;
use crate::propagation::inject;
use crate::semconv::{STATUS_ERROR, known_method, method_attribute, protocol_version};

/// The `tracing` target of HTTP client spans (`RUST_LOG` directive:
/// `http.client=info`).
pub const CLIENT_SPAN_TARGET: &str = "http.client";

/// What `url.full` shows in place of credentials and query values.
const REDACTED: &str = "REDACTED";

mod sealed {
    pub trait Sealed {}
    impl Sealed for reqwest::RequestBuilder {}
    impl Sealed for reqwest::blocking::RequestBuilder {}
}

/// `url.full` without secrets: user name and password become `REDACTED`
/// (as the conventions ask), so does every query value (keys stay, so the
/// shape of the request is visible), and the fragment, never sent, is
/// left out.
pub(crate) fn redacted_url(url: &reqwest::Url) -> String {
    let mut url = url.clone();
    if !url.username().is_empty() || url.password().is_some() {
        // Fails only for URLs that cannot have credentials, which then have none.
        let _ = url.set_username(REDACTED);
        let _ = url.set_password(Some(REDACTED));
    }
    if let Some(query) = url.query().filter(|q| !q.is_empty()) {
        let redacted: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) => format!("{key}={REDACTED}"),
                None => pair.to_owned(),
            })
            .collect();
        url.set_query(Some(&redacted.join("&")));
    }
    url.set_fragment(None);
    url.into()
}

/// `error.type` of a reqwest error: a short, low-cardinality kind.
fn error_type(error: &reqwest::Error) -> &'static str {
    if error.is_timeout() {
        "timeout"
    } else if error.is_connect() {
        "connect"
    } else if error.is_redirect() {
        "redirect"
    } else if error.is_body() {
        "body"
    } else if error.is_decode() {
        "decode"
    } else if error.is_builder() {
        "builder"
    } else if error.is_request() {
        "request"
    } else {
        "_OTHER"
    }
}

/// `error.type` of a request dropped before its response arrived (the
/// future dropped, e.g. by a timeout around it). The HTTP conventions ask
/// for an error status and an `error.type` when a request is cancelled and
/// leave the value to the instrumentation ("a component-specific low
/// cardinality error identifier"); `_OTHER` is only the fallback when an
/// instrumentation defines none.
const CANCELLED: &str = "cancelled";

/// One traced request: its span, start and metric attributes. Dropped
/// without [`finish`](Self::finish), it records the request as cancelled.
struct ClientCall {
    span: Span,
    started: Instant,
    attributes: Vec<KeyValue>,
    finished: bool,
}

impl Drop for ClientCall {
    fn drop(&mut self) {
        if !self.finished {
            self.span.record("error.type", CANCELLED);
            self.span.record("otel.status_code", STATUS_ERROR);
            self.span.record(
                "otel.status_description",
                "cancelled before the response arrived",
            );
            self.attributes.push(KeyValue::new("error.type", CANCELLED));
            self.record_duration();
        }
    }
}

impl ClientCall {
    fn start(method: &Method, url: &reqwest::Url) -> Self {
        let known = known_method(method);
        let host = url.host_str().unwrap_or_default();
        let port = url.port_or_known_default();
        let span = tracing::info_span!(
            target: CLIENT_SPAN_TARGET,
            "HTTP client request",
            otel.name = known.unwrap_or("HTTP"),
            otel.kind = "client",
            http.request.method = method_attribute(method),
            http.request.method_original = Empty,
            url.full = redacted_url(url),
            server.address = host,
            server.port = Empty,
            network.protocol.version = Empty,
            http.response.status_code = Empty,
            "error.type" = Empty,
            otel.status_code = Empty,
            otel.status_description = Empty,
        );
        if known.is_none() {
            span.record("http.request.method_original", method.as_str());
        }
        let mut attributes = vec![
            KeyValue::new("http.request.method", method_attribute(method)),
            KeyValue::new("server.address", host.to_owned()),
        ];
        if let Some(port) = port {
            span.record("server.port", i64::from(port));
            attributes.push(KeyValue::new("server.port", i64::from(port)));
        }
        Self {
            span,
            started: Instant::now(),
            attributes,
            finished: false,
        }
    }

    /// Writes the span's context into the request headers.
    fn inject(&self, headers: &mut HeaderMap) {
        self.span
            .in_scope(|| Context::map_current(|cx| inject(cx, headers)));
    }

    fn finish(mut self, outcome: Result<(StatusCode, Version), &reqwest::Error>) {
        self.finished = true;
        match outcome {
            Ok((status, version)) => {
                let code = i64::from(status.as_u16());
                self.span.record("http.response.status_code", code);
                self.attributes
                    .push(KeyValue::new("http.response.status_code", code));
                if let Some(version) = protocol_version(version) {
                    self.span.record("network.protocol.version", version);
                    self.attributes
                        .push(KeyValue::new("network.protocol.version", version));
                }
                if status.is_client_error() || status.is_server_error() {
                    self.span.record("error.type", status.as_str());
                    self.span.record("otel.status_code", STATUS_ERROR);
                    self.attributes
                        .push(KeyValue::new("error.type", status.as_str().to_owned()));
                }
            }
            Err(error) => {
                let kind = error_type(error);
                self.span.record("error.type", kind);
                self.span.record("otel.status_code", STATUS_ERROR);
                // reqwest's text names the URL, query values included.
                let mut description = error.to_string();
                if let Some(url) = error.url() {
                    description = description.replace(url.as_str(), &redacted_url(url));
                }
                self.span.record("otel.status_description", description);
                self.attributes.push(KeyValue::new("error.type", kind));
            }
        }
        self.record_duration();
    }

    fn record_duration(&self) {
        Instrument::Client
            .global()
            .record(self.started.elapsed().as_secs_f64(), &self.attributes);
    }
}

/// Context injection and traced sending for a reqwest request.
///
/// [`send_traced`](Self::send_traced) sends the request inside a client
/// span, child of the current span, named after the method (`GET`), with
/// `http.request.method`, `url.full` (credentials and query values
/// `REDACTED`), `server.address`, `server.port`,
/// `network.protocol.version`, `http.response.status_code` and, for a 4xx
/// or 5xx answer or a failed request, status `Error` and `error.type`. The
/// span's context goes out in the W3C headers, and the request's duration
/// (until the response headers arrived) is recorded in
/// `http.client.request.duration` ([`metrics`](crate::metrics)).
///
/// `error.type` is the status code for a 4xx or 5xx answer, else one of
/// `timeout`, `connect`, `redirect`, `body`, `decode`, `builder`,
/// `request`, `_OTHER` (reqwest's error kinds), or `cancelled` when the
/// future is dropped before the response headers arrived (a timeout
/// around it, a `select!` that took another branch): the span then ends
/// with status `Error`, and the duration until the drop is recorded.
///
/// ```no_run
/// use otlpkit_tracing::client::RequestBuilderExt as _;
///
/// # async fn call(client: reqwest::Client) -> Result<(), reqwest::Error> {
/// let response = client
///     .get("http://127.0.0.1:8080/prices")
///     .send_traced()
///     .await?;
/// # drop(response);
/// # Ok(())
/// # }
/// ```
///
/// [`with_current_context`](Self::with_current_context) only adds the
/// headers of the current span, for requests sent some other way.
pub trait RequestBuilderExt: sealed::Sealed + Sized {
    /// Injects the W3C headers of `cx` (replacing any already set).
    fn with_context(self, cx: &Context) -> Self;

    /// Injects the W3C headers of the current context.
    fn with_current_context(self) -> Self {
        Context::map_current(|cx| self.with_context(cx))
    }

    /// Sends the request in a client span and records its duration. The
    /// span starts here, as a child of the current span; the future may be
    /// awaited anywhere.
    fn send_traced(
        self,
    ) -> impl Future<Output = Result<reqwest::Response, reqwest::Error>> + Send + 'static;
}

fn headers_of(cx: &Context) -> Option<HeaderMap> {
    let mut headers = HeaderMap::new();
    inject(cx, &mut headers);
    (!headers.is_empty()).then_some(headers)
}

impl RequestBuilderExt for reqwest::RequestBuilder {
    fn with_context(self, cx: &Context) -> Self {
        match headers_of(cx) {
            Some(headers) => self.headers(headers),
            None => self,
        }
    }

    fn send_traced(
        self,
    ) -> impl Future<Output = Result<reqwest::Response, reqwest::Error>> + Send + 'static {
        let (client, request) = self.build_split();
        let prepared = request.map(|mut request| {
            let call = ClientCall::start(request.method(), request.url());
            call.inject(request.headers_mut());
            (request, call)
        });
        async move {
            let (request, call) = prepared?;
            let result = client.execute(request).instrument(call.span.clone()).await;
            call.finish(
                result
                    .as_ref()
                    .map(|response| (response.status(), response.version())),
            );
            result
        }
    }
}

/// [`RequestBuilderExt`] for `reqwest::blocking`: the same client span,
/// headers and duration, for programs without an async runtime.
///
/// ```no_run
/// use otlpkit_tracing::client::BlockingRequestBuilderExt as _;
///
/// # fn call() -> Result<(), reqwest::Error> {
/// let client = reqwest::blocking::Client::new();
/// let _span = tracing::info_span!("sync prices").entered();
/// let prices = client
///     .get("http://127.0.0.1:8080/prices")
///     .send_traced()?
///     .text()?;
/// # drop(prices);
/// # Ok(())
/// # }
/// ```
pub trait BlockingRequestBuilderExt: sealed::Sealed + Sized {
    /// Injects the W3C headers of `cx` (replacing any already set).
    fn with_context(self, cx: &Context) -> Self;

    /// Injects the W3C headers of the current context.
    fn with_current_context(self) -> Self {
        Context::map_current(|cx| self.with_context(cx))
    }

    /// Sends the request in a client span (a child of the current span)
    /// and records its duration; blocks until the response headers arrive.
    ///
    /// # Errors
    ///
    /// The request's error, also recorded on the span.
    fn send_traced(self) -> Result<reqwest::blocking::Response, reqwest::Error>;
}

impl BlockingRequestBuilderExt for reqwest::blocking::RequestBuilder {
    fn with_context(self, cx: &Context) -> Self {
        match headers_of(cx) {
            Some(headers) => self.headers(headers),
            None => self,
        }
    }

    fn send_traced(self) -> Result<reqwest::blocking::Response, reqwest::Error> {
        let (client, request) = self.build_split();
        let mut request = request?;
        let call = ClientCall::start(request.method(), request.url());
        call.inject(request.headers_mut());
        let result = call.span.in_scope(|| client.execute(request));
        call.finish(
            result
                .as_ref()
                .map(|response| (response.status(), response.version())),
        );
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redacted(url: &str) -> String {
        redacted_url(&url.parse().unwrap())
    }

    #[test]
    fn url_full_hides_credentials_and_query_values() {
        assert_eq!(
            redacted("https://alice:s3cret@shop.example/a/b?token=xyz&page=2&flag#frag"),
            "https://REDACTED:REDACTED@shop.example/a/b?token=REDACTED&page=REDACTED&flag"
        );
        assert_eq!(
            redacted("http://bob@127.0.0.1:8080/x"),
            "http://REDACTED:REDACTED@127.0.0.1:8080/x"
        );
        assert_eq!(redacted("http://127.0.0.1/x?"), "http://127.0.0.1/x?");
        assert_eq!(
            redacted("http://127.0.0.1/users/7"),
            "http://127.0.0.1/users/7"
        );
    }
}
