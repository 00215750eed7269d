//! What the receiver records for every export request it sees.

use std::fmt;
use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::metric;

/// One of the three OTLP signals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Signal {
    /// Spans (`/v1/traces`, `TraceService/Export`).
    Traces,
    /// Metric data points (`/v1/metrics`, `MetricsService/Export`).
    Metrics,
    /// Log records (`/v1/logs`, `LogsService/Export`).
    Logs,
}

impl Signal {
    /// All signals, in a fixed order.
    pub const ALL: [Signal; 3] = [Signal::Traces, Signal::Metrics, Signal::Logs];

    /// The OTLP/HTTP path of this signal, e.g. `/v1/traces` (checklist table 6).
    pub fn http_path(self) -> &'static str {
        match self {
            Signal::Traces => "/v1/traces",
            Signal::Metrics => "/v1/metrics",
            Signal::Logs => "/v1/logs",
        }
    }

    /// The gRPC `:path` of this signal's unary `Export` method (checklist table 6).
    pub fn grpc_path(self) -> &'static str {
        match self {
            Signal::Traces => "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
            Signal::Metrics => "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
            Signal::Logs => "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
        }
    }

    /// The fully qualified gRPC service name, e.g.
    /// `opentelemetry.proto.collector.trace.v1.TraceService`.
    pub fn grpc_service(self) -> &'static str {
        match self {
            Signal::Traces => "opentelemetry.proto.collector.trace.v1.TraceService",
            Signal::Metrics => "opentelemetry.proto.collector.metrics.v1.MetricsService",
            Signal::Logs => "opentelemetry.proto.collector.logs.v1.LogsService",
        }
    }

    /// The signal whose OTLP/HTTP path is `path`, if any.
    pub fn from_http_path(path: &str) -> Option<Signal> {
        Signal::ALL.into_iter().find(|s| s.http_path() == path)
    }

    /// The word used for this signal's items: `spans`, `data points` or `log records`.
    pub fn item_name(self) -> &'static str {
        match self {
            Signal::Traces => "spans",
            Signal::Metrics => "data points",
            Signal::Logs => "log records",
        }
    }

    pub(crate) fn index(self) -> usize {
        match self {
            Signal::Traces => 0,
            Signal::Metrics => 1,
            Signal::Logs => 2,
        }
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Signal::Traces => "traces",
            Signal::Metrics => "metrics",
            Signal::Logs => "logs",
        })
    }
}

/// The wire protocol a request arrived with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Protocol {
    /// OTLP/gRPC.
    Grpc,
    /// OTLP/HTTP with `Content-Type: application/x-protobuf`.
    HttpProtobuf,
    /// OTLP/HTTP with `Content-Type: application/json`.
    HttpJson,
}

impl Protocol {
    /// Whether this is one of the two OTLP/HTTP encodings.
    pub fn is_http(self) -> bool {
        matches!(self, Protocol::HttpProtobuf | Protocol::HttpJson)
    }
}

impl fmt::Display for Protocol {
    /// The spelling of `OTEL_EXPORTER_OTLP_PROTOCOL` (checklist 1.2).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Grpc => "grpc",
            Protocol::HttpProtobuf => "http/protobuf",
            Protocol::HttpJson => "http/json",
        })
    }
}

/// Request headers (HTTP) or request metadata (gRPC), names lowercased, in arrival order.
///
/// `Debug` shows every name but only the values of a few headers known to be
/// harmless (content type and encoding, lengths, `user-agent`, `accept*`, `te`,
/// `host`, `grpc-encoding`, `grpc-accept-encoding`, `grpc-timeout`, ...); every
/// other value is printed as `<redacted>`, since vendors send API keys under
/// names of their own (`x-honeycomb-team`, `x-sf-session`, ...). The accessors
/// return the real values so tests can check them.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Headers(Vec<(String, String)>);

impl Headers {
    pub(crate) fn from_header_map(map: &http::HeaderMap) -> Headers {
        Headers(
            map.iter()
                .map(|(name, value)| {
                    (
                        name.as_str().to_ascii_lowercase(),
                        String::from_utf8_lossy(value.as_bytes()).into_owned(),
                    )
                })
                .collect(),
        )
    }

    /// The first value of header `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// All values of header `name` (case-insensitive), in arrival order.
    pub fn get_all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Whether header `name` is present (case-insensitive).
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// All `(name, value)` pairs; names are lowercase.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// Number of header lines.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no headers.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Headers whose values `Debug` shows: protocol and encoding details that
/// never carry credentials. Every other value is redacted.
const HARMLESS_HEADERS: [&str; 14] = [
    "accept",
    "accept-encoding",
    "connection",
    "content-encoding",
    "content-length",
    "content-type",
    "grpc-accept-encoding",
    "grpc-encoding",
    "grpc-timeout",
    "host",
    "te",
    "transfer-encoding",
    "user-agent",
    ":authority",
];

/// Whether a header's value may appear in `Debug` output: only the values of
/// [`HARMLESS_HEADERS`] do (an allowlist, since any other name may carry a
/// vendor's API key).
pub(crate) fn is_harmless_header(name: &str) -> bool {
    HARMLESS_HEADERS
        .iter()
        .any(|harmless| name.eq_ignore_ascii_case(harmless))
}

/// Prints `<redacted>` in place of a header value, as `otlpkit-core`'s
/// `Headers` does.
struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (name, value) in &self.0 {
            if is_harmless_header(name) {
                map.entry(name, value);
            } else {
                map.entry(name, &Redacted);
            }
        }
        map.finish()
    }
}

/// What the receiver made of an accepted body.
#[derive(Debug)]
pub(crate) enum Body {
    /// Decoded into the proto types.
    Decoded(Payload),
    /// Only its items counted ([`ReceiverBuilder::count_only`](crate::ReceiverBuilder::count_only)).
    Counted(usize),
}

impl Body {
    /// The decoded request, if any, and the number of items.
    pub(crate) fn into_parts(self) -> (Option<Payload>, usize) {
        match self {
            Body::Decoded(payload) => {
                let items = payload.item_count();
                (Some(payload), items)
            }
            Body::Counted(items) => (None, items),
        }
    }
}

/// A decoded export request.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Payload {
    /// `ExportTraceServiceRequest`.
    Traces(ExportTraceServiceRequest),
    /// `ExportMetricsServiceRequest`.
    Metrics(ExportMetricsServiceRequest),
    /// `ExportLogsServiceRequest`.
    Logs(ExportLogsServiceRequest),
}

impl Payload {
    /// The signal of this payload.
    pub fn signal(&self) -> Signal {
        match self {
            Payload::Traces(_) => Signal::Traces,
            Payload::Metrics(_) => Signal::Metrics,
            Payload::Logs(_) => Signal::Logs,
        }
    }

    /// Number of items: spans, metric data points (of every kind) or log records.
    pub fn item_count(&self) -> usize {
        match self {
            Payload::Traces(req) => req
                .resource_spans
                .iter()
                .flat_map(|rs| &rs.scope_spans)
                .map(|ss| ss.spans.len())
                .sum(),
            Payload::Metrics(req) => req
                .resource_metrics
                .iter()
                .flat_map(|rm| &rm.scope_metrics)
                .flat_map(|sm| &sm.metrics)
                .map(|m| data_point_count(m.data.as_ref()))
                .sum(),
            Payload::Logs(req) => req
                .resource_logs
                .iter()
                .flat_map(|rl| &rl.scope_logs)
                .map(|sl| sl.log_records.len())
                .sum(),
        }
    }

    /// The number of resource envelopes (`ResourceSpans`, `ResourceMetrics`, `ResourceLogs`).
    pub fn resource_count(&self) -> usize {
        match self {
            Payload::Traces(req) => req.resource_spans.len(),
            Payload::Metrics(req) => req.resource_metrics.len(),
            Payload::Logs(req) => req.resource_logs.len(),
        }
    }

    /// The number of scope envelopes across all resources.
    pub fn scope_count(&self) -> usize {
        match self {
            Payload::Traces(req) => req.resource_spans.iter().map(|r| r.scope_spans.len()).sum(),
            Payload::Metrics(req) => req
                .resource_metrics
                .iter()
                .map(|r| r.scope_metrics.len())
                .sum(),
            Payload::Logs(req) => req.resource_logs.iter().map(|r| r.scope_logs.len()).sum(),
        }
    }
}

/// Number of data points in one metric, whatever its kind.
pub(crate) fn data_point_count(data: Option<&metric::Data>) -> usize {
    match data {
        Some(metric::Data::Gauge(g)) => g.data_points.len(),
        Some(metric::Data::Sum(s)) => s.data_points.len(),
        Some(metric::Data::Histogram(h)) => h.data_points.len(),
        Some(metric::Data::ExponentialHistogram(h)) => h.data_points.len(),
        Some(metric::Data::Summary(s)) => s.data_points.len(),
        None => 0,
    }
}

/// What the receiver answered (or did instead of answering).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Answer {
    /// Full success: gRPC `OK` or HTTP `200` with an empty `Export*ServiceResponse`.
    Ok,
    /// Success with `partial_success` set (checklist 2.11).
    PartialSuccess {
        /// `rejected_spans` / `rejected_data_points` / `rejected_log_records`.
        rejected: i64,
        /// `error_message`.
        message: String,
    },
    /// A gRPC error status.
    GrpcStatus {
        /// The status code.
        code: tonic::Code,
        /// The status message.
        message: String,
        /// The `google.rpc.RetryInfo` delay sent in `grpc-status-details-bin`, if any.
        retry_delay: Option<Duration>,
    },
    /// An HTTP error status (from a fault, or because the request was malformed).
    HttpStatus {
        /// The status code, e.g. 503.
        status: u16,
        /// The `Retry-After` header value as sent, if any.
        retry_after: Option<String>,
        /// The `google.rpc.Status.message` of the body.
        message: String,
    },
    /// The receiver closed the connection without answering (fault).
    ConnectionDropped,
    /// The client went away (or the server was stopped) before the answer was sent,
    /// e.g. while a delay fault was running.
    Abandoned,
}

impl Answer {
    /// Whether the data of the request counts as received: full or partial success.
    pub fn is_success(&self) -> bool {
        matches!(self, Answer::Ok | Answer::PartialSuccess { .. })
    }
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Answer::Ok => f.write_str("ok"),
            Answer::PartialSuccess { rejected, message } => {
                write!(f, "partial success ({rejected} rejected: {message:?})")
            }
            Answer::GrpcStatus {
                code,
                message,
                retry_delay,
            } => {
                write!(f, "grpc status {} ({code:?}) {message:?}", *code as i32)?;
                if let Some(delay) = retry_delay {
                    write!(f, " retry after {delay:?}")?;
                }
                Ok(())
            }
            Answer::HttpStatus {
                status,
                retry_after,
                message,
            } => {
                write!(f, "http {status} {message:?}")?;
                if let Some(value) = retry_after {
                    write!(f, " Retry-After: {value}")?;
                }
                Ok(())
            }
            Answer::ConnectionDropped => f.write_str("connection dropped"),
            Answer::Abandoned => f.write_str("abandoned (client gone before the answer)"),
        }
    }
}

/// Everything the receiver recorded about one export request.
///
/// Requests are recorded whatever the outcome: successful ones, ones answered with an
/// injected fault, refused ones (malformed, too large, too slow; `payload` is `None`),
/// dropped connections and abandoned ones. Only the payloads of successful requests
/// ([`Answer::is_success`]) count as received items in the item queries.
///
/// Refused requests are recorded too, with `payload` `None`: HTTP `400`/`408`/`413`/`415`/
/// `503`, gRPC `INVALID_ARGUMENT`, `RESOURCE_EXHAUSTED`, `DEADLINE_EXCEEDED`, `UNIMPLEMENTED`
/// (unknown `grpc-encoding`) and a wrong content type.
///
/// Not recorded: HTTP requests to unknown paths (404) or with another method than `POST`
/// (405), and gRPC calls to unknown services or methods (`UNIMPLEMENTED`).
#[derive(Clone)]
#[non_exhaustive]
pub struct RecordedRequest {
    /// Sequence number, starting at 1 for the first request the receiver recorded
    /// (not reset by `clear()`).
    pub seq: u64,
    /// The signal (from the HTTP path or the gRPC service).
    pub signal: Signal,
    /// The protocol and encoding.
    pub protocol: Protocol,
    /// The HTTP version of the connection (`HTTP/2` for gRPC and h2c).
    pub http_version: http::Version,
    /// Request headers or gRPC metadata, names lowercased.
    pub headers: Headers,
    /// `Content-Encoding` (HTTP) or `grpc-encoding` (gRPC); `None` when uncompressed.
    pub content_encoding: Option<String>,
    /// Size of the request body as received on the wire, compressed if the client compressed
    /// (for gRPC: the length-prefixed message frame, 5 bytes more than the message).
    pub body_size: usize,
    /// Size of the body after decompression (for gRPC: the protobuf message size).
    pub decoded_size: usize,
    /// Number of items in the payload (spans, metric data points, log records); 0 if undecodable.
    pub item_count: usize,
    /// What the receiver answered.
    pub answer: Answer,
    /// The delay the receiver waited before answering (delay fault).
    pub delay: Duration,
    /// The decoded request, `None` when the body could not be decoded or was only counted
    /// ([`ReceiverBuilder::count_only`](crate::ReceiverBuilder::count_only)).
    pub payload: Option<Payload>,
    /// When the request arrived.
    pub received_at: SystemTime,
    /// The client's address.
    pub peer: SocketAddr,
    /// Identifier of the TCP connection the request came on (1, 2, ... in accept order),
    /// so tests can see reconnections.
    pub connection_id: u64,
}

impl RecordedRequest {
    /// Whether this request's items count as received: the receiver answered success,
    /// which it does only for a body it decoded (or counted, with
    /// [`ReceiverBuilder::count_only`](crate::ReceiverBuilder::count_only)); a body it
    /// could not read is refused.
    pub fn accepted(&self) -> bool {
        self.answer.is_success()
    }
}

impl fmt::Debug for RecordedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordedRequest")
            .field("seq", &self.seq)
            .field("signal", &self.signal)
            .field("protocol", &self.protocol)
            .field("http_version", &self.http_version)
            .field("headers", &self.headers)
            .field("content_encoding", &self.content_encoding)
            .field("body_size", &self.body_size)
            .field("decoded_size", &self.decoded_size)
            .field("item_count", &self.item_count)
            .field("answer", &self.answer)
            .field("delay", &self.delay)
            .field(
                "payload",
                &self
                    .payload
                    .as_ref()
                    .map(|p| format!("<{} {}>", p.item_count(), p.signal().item_name())),
            )
            .field("received_at", &self.received_at)
            .field("peer", &self.peer)
            .field("connection_id", &self.connection_id)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recorded(headers: Headers) -> RecordedRequest {
        RecordedRequest {
            seq: 1,
            signal: Signal::Traces,
            protocol: Protocol::HttpProtobuf,
            http_version: http::Version::HTTP_11,
            headers,
            content_encoding: None,
            body_size: 0,
            decoded_size: 0,
            item_count: 0,
            answer: Answer::Ok,
            delay: Duration::ZERO,
            payload: None,
            received_at: SystemTime::UNIX_EPOCH,
            peer: SocketAddr::from(([127, 0, 0, 1], 4318)),
            connection_id: 1,
        }
    }

    #[test]
    fn request_debug_redacts_vendor_api_key_headers_and_shows_harmless_ones() {
        let mut map = http::HeaderMap::new();
        map.insert("content-type", "application/x-protobuf".parse().unwrap());
        map.insert("x-honeycomb-team", "HCSECRET123".parse().unwrap());
        map.insert("x-sf-session", "SFSESSION456".parse().unwrap());
        map.insert("grpc-timeout", "10S".parse().unwrap());
        let request = recorded(Headers::from_header_map(&map));
        for debug in [format!("{request:?}"), format!("{request:#?}")] {
            assert!(debug.contains("x-honeycomb-team"), "{debug}");
            assert!(debug.contains("x-sf-session"), "{debug}");
            assert!(!debug.contains("HCSECRET123"), "{debug}");
            assert!(!debug.contains("SFSESSION456"), "{debug}");
            assert!(debug.contains("application/x-protobuf"), "{debug}");
            assert!(debug.contains("10S"), "{debug}");
        }
        assert_eq!(
            format!("{:?}", request.headers),
            r#"{"content-type": "application/x-protobuf", "x-honeycomb-team": <redacted>, "x-sf-session": <redacted>, "grpc-timeout": "10S"}"#
        );
        // The accessors still give the real values, for assertions.
        assert_eq!(request.headers.get("X-Honeycomb-Team"), Some("HCSECRET123"));
    }

    #[test]
    fn headers_debug_redacts_credentials_but_accessors_do_not() {
        let mut map = http::HeaderMap::new();
        map.insert("Authorization", "Bearer s3cr3t".parse().unwrap());
        map.insert("x-api-key", "k3y".parse().unwrap());
        map.insert("user-agent", "test/1.0".parse().unwrap());
        let headers = Headers::from_header_map(&map);
        let debug = format!("{headers:?}");
        assert!(!debug.contains("s3cr3t"), "{debug}");
        assert!(!debug.contains("k3y"), "{debug}");
        assert!(debug.contains("test/1.0"), "{debug}");
        assert_eq!(headers.get("AUTHORIZATION"), Some("Bearer s3cr3t"));
        assert_eq!(headers.get("x-api-key"), Some("k3y"));
        assert!(headers.contains("user-agent"));
        assert!(!headers.contains("cookie"));
    }

    #[test]
    fn signal_paths_round_trip() {
        for signal in Signal::ALL {
            assert_eq!(Signal::from_http_path(signal.http_path()), Some(signal));
            assert_eq!(
                signal.grpc_path(),
                format!("/{}/Export", signal.grpc_service())
            );
        }
        assert_eq!(Signal::from_http_path("/v1/profiles"), None);
        assert_eq!(Protocol::HttpProtobuf.to_string(), "http/protobuf");
    }
}
