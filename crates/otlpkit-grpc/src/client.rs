//! The gRPC transport: one channel per exporter, one unary `Export` call per
//! attempt, and the classification of its outcome (checklist 2.1–2.4, 2.8,
//! 2.11).

use std::error::Error as StdError;
use std::time::Duration;

use bytes::Bytes;
use otlpkit_core::diag::RateLimit;
use otlpkit_core::{Compression, ExporterConfig, Protocol, Signal, Url};
use otlpkit_exporter::{
    Accepted, Attempt, BoxFuture, BuildError, Connect, ExportError, GrpcCode, Sent, Transport,
};
use tonic::client::Grpc as TonicGrpc;
#[cfg(any(feature = "gzip", feature = "zstd"))]
use tonic::codec::CompressionEncoding;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::metadata::MetadataMap;
use tonic::transport::Endpoint;
use tonic::{Extensions, Status};
use tonic_types::StatusExt as _;

use crate::codec::{CountingChannel, Decoded, PreEncodedCodec, WireBytes};

/// Longest wait for a TCP connection (and, separately, a TLS handshake).
/// Capped by the export timeout.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// TCP keep-alive probes on idle connections.
const TCP_KEEPALIVE: Duration = Duration::from_secs(60);
/// HTTP/2 PING interval while requests are in flight, and how long to wait
/// for the answer before the connection counts as dead.
const HTTP2_KEEPALIVE_INTERVAL: Duration = Duration::from_secs(30);
const HTTP2_KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(10);
/// How often, at most, an exporter says that responses do not decode.
const UNDECODABLE_LOG_INTERVAL: Duration = Duration::from_secs(60);

/// `scheme://host:port` of an endpoint: no user info, no path.
pub(crate) fn origin(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port_or_known_default() {
        Some(port) => format!("{}://{host}:{port}", url.scheme()),
        None => format!("{}://{host}", url.scheme()),
    }
}

/// Whether tonic gave up on a request because its `grpc-timeout` deadline
/// passed.
fn is_timeout_expired(status: &Status) -> bool {
    let mut current = StdError::source(status);
    while let Some(error) = current {
        if error.downcast_ref::<tonic::TimeoutExpired>().is_some() {
            return true;
        }
        current = error.source();
    }
    false
}

/// The OTLP/gRPC transport: a lazily connecting tonic channel to one
/// collector, with the request metadata already set. Built by the exporter
/// builders ([`Connect`]); it sends encoded requests and classifies the
/// outcomes, and the exporter core does the rest.
pub struct Grpc {
    grpc: TonicGrpc<CountingChannel>,
    path: PathAndQuery,
    metadata: MetadataMap,
    max_response_size: usize,
    origin: String,
    uses_tls: bool,
    /// Limits the warning about undecodable responses.
    undecodable_log: RateLimit,
}

impl std::fmt::Debug for Grpc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Grpc")
            .field("origin", &self.origin)
            .field("path", &self.path)
            .field("metadata_keys", &self.metadata.keys().count())
            .field("max_response_size", &self.max_response_size)
            .finish_non_exhaustive()
    }
}

impl Connect for Grpc {
    const NAME: &'static str = "otlpkit-grpc";
    const FIXED_PROTOCOL: Option<Protocol> = Some(Protocol::Grpc);

    fn check_protocol(signal: Signal, protocol: Protocol) -> Result<(), BuildError> {
        if protocol == Protocol::Grpc {
            Ok(())
        } else {
            Err(BuildError::WrongProtocol {
                signal,
                protocol,
                transport: Self::NAME,
                hint: "use otlpkit-http for http/protobuf and http/json",
            })
        }
    }

    /// Builds the lazily connecting channel. It runs inside the worker
    /// runtime's context: tonic spawns the channel's background task there.
    fn connect(config: &ExporterConfig) -> Result<Self, BuildError> {
        crate::tls::require_tls_support(config, cfg!(feature = "tls"))?;
        let (compiled, feature) = match config.compression() {
            Compression::Gzip => (cfg!(feature = "gzip"), "gzip"),
            Compression::Zstd => (cfg!(feature = "zstd"), "zstd"),
            _ => (true, ""),
        };
        if !compiled {
            return Err(BuildError::NotCompiled {
                capability: if feature == "gzip" {
                    "gzip compression"
                } else {
                    "zstd compression"
                },
                feature,
                transport: Self::NAME,
            });
        }
        let metadata = crate::metadata::to_metadata(config.headers())?;
        Self::new(config, metadata)
    }
}

impl Transport for Grpc {
    fn endpoint(&self) -> &str {
        &self.origin
    }

    fn send(&self, body: Bytes, attempt: Attempt) -> BoxFuture<'_, Sent> {
        Box::pin(self.send_once(body, attempt))
    }
}

impl Grpc {
    fn new(config: &ExporterConfig, metadata: MetadataMap) -> Result<Self, BuildError> {
        let origin = origin(config.endpoint());
        let url = config.endpoint();
        if !url.username().is_empty() || url.password().is_some() {
            // OTLP/HTTP turns them into Basic authentication; gRPC cannot
            // carry them, and a silently missing credential only shows up as
            // the collector's `Unauthenticated`.
            otlpkit_core::diag::emit(
                otlpkit_core::LogLevel::Warn,
                format_args!(
                    "the user name and password of the {} endpoint {origin} are not sent over \
                     gRPC; send them as a header instead (OTEL_EXPORTER_OTLP_HEADERS=\
                     \"authorization=Basic%20<base64 of user:password>\")",
                    config.signal()
                ),
            );
        }
        let invalid = |reason: String| BuildError::Endpoint {
            endpoint: origin.clone(),
            reason,
        };
        let connect_timeout = config
            .timeout()
            .map_or(CONNECT_TIMEOUT, |timeout| timeout.min(CONNECT_TIMEOUT));
        #[allow(unused_mut)] // Reassigned only with the `tls` feature.
        let mut endpoint = Endpoint::from_shared(origin.clone())
            .map_err(|error| invalid(error_chain(&error)))?
            .user_agent(config.user_agent())
            .map_err(|error| invalid(error_chain(&error)))?
            .connect_timeout(connect_timeout)
            .tcp_nodelay(true)
            .tcp_keepalive(Some(TCP_KEEPALIVE))
            .http2_keep_alive_interval(HTTP2_KEEPALIVE_INTERVAL)
            .keep_alive_timeout(HTTP2_KEEPALIVE_TIMEOUT)
            .keep_alive_while_idle(false);
        #[cfg(feature = "tls")]
        if config.uses_tls() {
            let tls = crate::tls::client_tls(config, connect_timeout)?;
            endpoint = endpoint
                .tls_config(tls)
                .map_err(|error| invalid(error_chain(&error)))?;
        }
        let channel = endpoint.connect_lazy();

        #[cfg_attr(not(any(feature = "gzip", feature = "zstd")), allow(unused_mut))]
        let mut grpc = TonicGrpc::new(CountingChannel::new(channel))
            .max_decoding_message_size(config.max_response_size());
        #[cfg(feature = "gzip")]
        {
            grpc = grpc.accept_compressed(CompressionEncoding::Gzip);
        }
        #[cfg(feature = "zstd")]
        {
            grpc = grpc.accept_compressed(CompressionEncoding::Zstd);
        }
        match config.compression() {
            // `connect` refused a compression that is not compiled in.
            #[cfg(feature = "gzip")]
            Compression::Gzip => grpc = grpc.send_compressed(CompressionEncoding::Gzip),
            #[cfg(feature = "zstd")]
            Compression::Zstd => grpc = grpc.send_compressed(CompressionEncoding::Zstd),
            // `Compression` is non-exhaustive: anything else is sent as is.
            _ => {}
        }
        Ok(Self {
            grpc,
            path: PathAndQuery::from_static(config.signal().grpc_path()),
            metadata,
            max_response_size: config.max_response_size(),
            origin,
            uses_tls: config.uses_tls(),
            undecodable_log: RateLimit::new(UNDECODABLE_LOG_INTERVAL),
        })
    }

    /// Sends `body` once, within `attempt.timeout`, and classifies the result.
    async fn send_once(&self, body: Bytes, attempt: Attempt) -> Sent {
        let wire = WireBytes::default();
        let len = body.len();
        let mut extensions = Extensions::new();
        extensions.insert(wire.clone());
        let mut request = tonic::Request::from_parts(self.metadata.clone(), extensions, body);
        if let Some(timeout) = attempt.timeout {
            // `grpc-timeout`: the server may give up when the client does.
            request.set_timeout(timeout);
        }
        let mut grpc = self.grpc.clone();
        let path = self.path.clone();
        let call = async move {
            grpc.ready().await.map_err(|error| {
                ExportError::connect(format!(
                    "the channel to {} is closed: {}",
                    self.origin,
                    error_chain(&error)
                ))
            })?;
            grpc.unary(request, path, PreEncodedCodec::new(len))
                .await
                .map_err(|status| match attempt.timeout {
                    // The request's own deadline (`set_timeout` above) is the
                    // attempt's time limit: a timeout, not a connection failure.
                    Some(limit) if is_timeout_expired(&status) => ExportError::timeout(limit),
                    _ => self.classify(&status),
                })
        };
        let result = match attempt.timeout {
            Some(timeout) => match tokio::time::timeout(timeout, call).await {
                Ok(result) => result,
                Err(_elapsed) => Err(ExportError::timeout(timeout)),
            },
            None => call.await,
        };
        let result = result.map(|response| match response.into_inner() {
            Decoded::Response(response) => match response.partial_success {
                Some(partial) if partial.rejected > 0 || !partial.error_message.is_empty() => {
                    // A negative count (int64 on the wire) rejects nothing.
                    Accepted::partial(
                        u64::try_from(partial.rejected).unwrap_or(0),
                        partial.error_message,
                    )
                }
                _ => Accepted::full(),
            },
            Decoded::Undecodable(error) => {
                // Status OK says the data was accepted; a response message
                // that does not decode does not make it a failure (as over
                // OTLP/HTTP).
                if self.undecodable_log.ready() {
                    otlpkit_core::diag::emit(
                        otlpkit_core::LogLevel::Warn,
                        format_args!(
                            "{} accepted the export (gRPC status OK) but its response message \
                             does not decode, counted as delivered: {error} (said at most once \
                             a minute)",
                            self.origin
                        ),
                    );
                }
                Accepted::full()
            }
        });
        Sent::new(result, wire.get())
    }

    /// Maps a failed call to an [`ExportError`].
    pub(crate) fn classify(&self, status: &Status) -> ExportError {
        if is_local_size_limit(status, self.max_response_size) {
            // checklist 2.4, 1.14: tonic refused a response over the limit.
            return ExportError::response_too_large(self.max_response_size);
        }
        match StdError::source(status) {
            Some(source) => self.classify_local(source),
            None => {
                // A status the server (or a proxy) sent: checklist 2.2, 2.3.
                if let Some(http_status) = plain_http_status(status) {
                    return plain_http_error(http_status);
                }
                if status.code() == tonic::Code::Unknown
                    && status.details().is_empty()
                    && status
                        .message()
                        .starts_with("protocol error: missing grpc-status trailer")
                {
                    // The response stream ended without its final status: a
                    // proxy cut it short, or the connection went away. No
                    // answer arrived (checklist 2.8): retried, as a lost
                    // connection is. tonic makes it UNKNOWN, which is not.
                    return ExportError::connect(format!(
                        "the response from {} ended without a gRPC status (cut short by a \
                         proxy or a lost connection?)",
                        self.origin
                    ));
                }
                let code = GrpcCode::from_i32(status.code() as i32);
                let retry_info = status
                    .get_details_retry_info()
                    .map(|info| info.retry_delay.unwrap_or(Duration::ZERO));
                ExportError::grpc(code, status.message(), retry_info)
            }
        }
    }

    /// A status tonic made up from a local failure: connecting, TLS, a lost
    /// connection or a timeout.
    fn classify_local(&self, source: &(dyn StdError + 'static)) -> ExportError {
        let mut during_connect = false;
        let mut network_io = false;
        let mut current = Some(source);
        while let Some(error) = current {
            if error.downcast_ref::<tonic::TimeoutExpired>().is_some() {
                return ExportError::connect(format!("{}: request timed out", self.origin));
            }
            if error.downcast_ref::<tonic::ConnectError>().is_some() {
                during_connect = true;
            }
            if let Some(io) = error.downcast_ref::<std::io::Error>() {
                #[cfg(feature = "tls")]
                if let Some(tls) = io
                    .get_ref()
                    .and_then(|inner| inner.downcast_ref::<rustls::Error>())
                {
                    return self.tls_error(tls);
                }
                network_io |= is_network_error(io.kind());
            }
            #[cfg(feature = "tls")]
            if let Some(tls) = error.downcast_ref::<rustls::Error>() {
                return self.tls_error(tls);
            }
            current = error.source();
        }
        let detail = error_chain(source);
        if during_connect && self.uses_tls && !network_io && !detail.contains("timeout") {
            // tonic's own TLS checks (ALPN `h2` not negotiated, ...).
            return ExportError::tls(format!(
                "TLS connection to {} failed: {detail}",
                self.origin
            ));
        }
        if during_connect {
            // checklist 2.8: connection failures are retried.
            return ExportError::connect(format!("cannot connect to {}: {detail}", self.origin));
        }
        let hint = if self.uses_tls {
            " (over TLS this is also how a server refuses a missing or untrusted client \
             certificate: check OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE and _CLIENT_KEY)"
        } else {
            " (if the collector expects TLS, use an https:// endpoint)"
        };
        ExportError::connect(format!(
            "connection to {} lost before a response: {detail}{hint}",
            self.origin
        ))
    }

    #[cfg(feature = "tls")]
    fn tls_error(&self, error: &rustls::Error) -> ExportError {
        let hint = match error {
            rustls::Error::InvalidMessage(_) => {
                " (the server did not answer with TLS: is it a plaintext endpoint that needs http://?)"
            }
            rustls::Error::InvalidCertificate(_) => {
                " (check the CA certificate, OTEL_EXPORTER_OTLP_CERTIFICATE)"
            }
            _ => "",
        };
        ExportError::tls(format!(
            "TLS handshake with {} failed: {error}{hint}",
            self.origin
        ))
    }
}

/// Whether tonic itself refused the response for exceeding
/// `max_decoding_message_size` (tonic 0.14 reports it as `OUT_OF_RANGE`,
/// or `RESOURCE_EXHAUSTED` when decompression overflows the limit). The
/// message names our own limit; a server refusing our request over its own
/// limit names that one. (Were both limits equal, the request would be
/// dropped as not retryable either way.)
fn is_local_size_limit(status: &Status, limit: usize) -> bool {
    let message = status.message();
    message.contains(&format!(" {limit} bytes"))
        && ((status.code() == tonic::Code::OutOfRange
            && message.starts_with("Error, decoded message length too large"))
            || (status.code() == tonic::Code::ResourceExhausted
                && message.starts_with("Error decompressing: size limit")))
}

/// The HTTP status of an answer in plain HTTP, not gRPC, from a status
/// tonic made up for it: a body that is no gRPC message (`INTERNAL`,
/// "protocol error: received message with invalid compression flag: …
/// while receiving response with status: 503 Service Unavailable", or
/// "Error decompressing: …, while receiving response with status: …"), or
/// no body and no `grpc-status` ("grpc-status header missing, mapped from
/// HTTP status code 503", with the code tonic maps that status to). A
/// status a server sent is never re-coded, even when its message quotes
/// those words: only tonic's own wording, at the start, with tonic's code
/// and no details, is read.
fn plain_http_status(status: &Status) -> Option<u16> {
    if !status.details().is_empty() {
        return None;
    }
    let message = status.message();
    let leading_digits = |text: &str| -> Option<u16> {
        let digits = text.get(..3)?;
        let rest = &text[3..];
        (digits.bytes().all(|b| b.is_ascii_digit()) && (rest.is_empty() || rest.starts_with(' ')))
            .then(|| digits.parse().ok())
            .flatten()
    };
    if let Some(number) =
        message.strip_prefix("grpc-status header missing, mapped from HTTP status code ")
    {
        let http_status: u16 = number.parse().ok()?;
        let tonic_code = GrpcCode::from_i32(status.code() as i32);
        return (tonic_code == grpc_code_for_http(http_status)).then_some(http_status);
    }
    let undecodable = message
        .starts_with("protocol error: received message with invalid compression flag: ")
        || message.starts_with("Error decompressing: ");
    if status.code() == tonic::Code::Internal && undecodable {
        let (_, answered) = message.rsplit_once(" while receiving response with status: ")?;
        return leading_digits(answered);
    }
    None
}

/// The gRPC code of an answer in plain HTTP (grpc/grpc
/// `doc/http-grpc-status-mapping.md`), as tonic maps it.
fn grpc_code_for_http(http_status: u16) -> GrpcCode {
    match http_status {
        400 => GrpcCode::Internal,
        401 => GrpcCode::Unauthenticated,
        403 => GrpcCode::PermissionDenied,
        404 => GrpcCode::Unimplemented,
        429 | 502 | 503 | 504 => GrpcCode::Unavailable,
        _ => GrpcCode::Unknown,
    }
}

/// The error for an answer in plain HTTP, coded by the gRPC specification's
/// HTTP-to-status mapping (grpc/grpc `doc/http-grpc-status-mapping.md`):
/// 429, 502, 503 and 504 are `UNAVAILABLE`, retried (checklist 2.2, 2.6) —
/// a load balancer whose collector is away answers so. Only the answers of
/// a server that does not speak gRPC at all, 404 and 415 as an OTLP/HTTP
/// port gives them, point at the protocol and the port.
fn plain_http_error(http_status: u16) -> ExportError {
    let code = grpc_code_for_http(http_status);
    let reason = tonic::codegen::http::StatusCode::from_u16(http_status)
        .ok()
        .and_then(|status| status.canonical_reason())
        .map(|reason| format!(" {reason}"))
        .unwrap_or_default();
    let hint = match http_status {
        404 | 415 => {
            " (is it an OTLP/HTTP port, 4318 by default? then use the http/protobuf protocol \
             (OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf) or the collector's OTLP/gRPC port, \
             4317 by default)"
        }
        429 | 502 | 503 | 504 => {
            " (from a proxy or load balancer in front of the collector, or the collector is \
             overloaded)"
        }
        _ => "",
    };
    ExportError::grpc(
        code,
        format!("the server answered with a plain HTTP {http_status}{reason}, not gRPC{hint}"),
        None,
    )
}

fn is_network_error(kind: std::io::ErrorKind) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        kind,
        ConnectionRefused
            | ConnectionReset
            | ConnectionAborted
            | NotConnected
            | AddrInUse
            | AddrNotAvailable
            | BrokenPipe
            | TimedOut
            | UnexpectedEof
            | HostUnreachable
            | NetworkUnreachable
            | NetworkDown
    )
}

/// `error: source: source…`, without repeating a message its source repeats.
fn error_chain(error: &(dyn StdError + 'static)) -> String {
    let mut text = error.to_string();
    let mut current = error.source();
    while let Some(source) = current {
        let next = source.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        current = source.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use otlpkit_core::MapEnv;
    use otlpkit_exporter::ExportErrorKind;
    use tonic_types::ErrorDetails;

    fn client() -> Grpc {
        let config = ExporterConfig::builder(Signal::Traces)
            .with_protocol(Protocol::Grpc)
            .with_endpoint("http://127.0.0.1:4317")
            .with_header("authorization", "Bearer s3cr3t-token")
            .with_max_response_size(1024)
            .build(&MapEnv::new())
            .unwrap()
            .into_value();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let _context = runtime.enter();
        Grpc::new(&config, MetadataMap::new()).unwrap()
    }

    // checklist 2.2, 2.3: server statuses keep their code and RetryInfo.
    #[test]
    fn server_statuses_map_by_number_with_retry_info() {
        let client = client();
        for number in 1..=16 {
            let status = Status::new(tonic::Code::from_i32(number), "from the server");
            let error = client.classify(&status);
            assert_eq!(
                error.kind(),
                ExportErrorKind::Grpc {
                    code: GrpcCode::from_i32(number)
                }
            );
            assert_eq!(error.retry_after(), None);
        }
        let throttled = Status::with_error_details(
            tonic::Code::ResourceExhausted,
            "slow down",
            ErrorDetails::with_retry_info(Some(Duration::from_millis(1500))),
        );
        let error = client.classify(&throttled);
        assert!(error.is_retryable());
        assert_eq!(error.retry_after(), Some(Duration::from_millis(1500)));
        let quota = Status::resource_exhausted("quota exceeded");
        assert!(!client.classify(&quota).is_retryable());
    }

    // checklist 2.4: tonic's local size-limit statuses are non-retryable.
    #[test]
    fn local_response_size_limit_is_response_too_large() {
        let client = client();
        for status in [
            Status::out_of_range(
                "Error, decoded message length too large: found 5000 bytes, the limit is: 1024 bytes",
            ),
            Status::resource_exhausted(
                "Error decompressing: size limit, of 1024 bytes, exceeded while decompressing message",
            ),
        ] {
            let error = client.classify(&status);
            assert_eq!(
                error.kind(),
                ExportErrorKind::ResponseTooLarge { limit: 1024 }
            );
            assert!(!error.is_retryable());
        }
        // The same code sent by a server is an ordinary status, also with tonic's
        // message when a server refuses our request over its own limit.
        let remote = client.classify(&Status::out_of_range("offset past the end"));
        assert!(matches!(remote.kind(), ExportErrorKind::Grpc { .. }));
        let server_limit = Status::out_of_range(
            "Error, decoded message length too large: found 5000 bytes, the limit is: 2048 bytes",
        );
        assert_eq!(
            client.classify(&server_limit).kind(),
            ExportErrorKind::Grpc {
                code: GrpcCode::OutOfRange
            }
        );
    }

    // checklist 2.2, 2.6, 2.8: an answer in plain HTTP is coded by the gRPC
    // HTTP-to-status mapping, whether tonic saw a body or none; a stream
    // without its final status is a lost response.
    #[test]
    fn plain_http_answers_are_coded_by_their_http_status() {
        let client = client();
        let retryable = [429, 502, 503, 504];
        for http_status in [400, 401, 403, 404, 415, 429, 500, 502, 503, 504] {
            let mapped = Status::new(
                tonic::Code::from_i32(super::grpc_code_for_http(http_status) as i32),
                format!("grpc-status header missing, mapped from HTTP status code {http_status}"),
            );
            for status in [
                Status::internal(format!(
                    "protocol error: received message with invalid compression flag: 60 (valid \
                     flags are 0 and 1) while receiving response with status: {http_status} Some Reason"
                )),
                Status::internal(format!(
                    "Error decompressing: corrupt deflate stream, while receiving response with \
                     status: {http_status} Some Reason"
                )),
                mapped,
            ] {
                let message = status.message().to_owned();
                let error = client.classify(&status);
                assert_eq!(
                    error.is_retryable(),
                    retryable.contains(&http_status),
                    "{message}"
                );
                let text = error.to_string();
                assert!(text.contains(&format!("HTTP {http_status}")), "{text}");
                assert_eq!(
                    text.contains("4318"),
                    [404, 415].contains(&http_status),
                    "{text}"
                );
            }
        }
        let truncated = Status::unknown(
            "protocol error: missing grpc-status trailer, stream was terminated without a \
             final status (possible truncation by a proxy or load balancer)",
        );
        let error = client.classify(&truncated);
        assert_eq!(error.kind(), ExportErrorKind::Connect);
        assert!(error.is_retryable());
    }

    /// A status the server sent keeps its code when its message quotes
    /// tonic's words for a plain-HTTP answer (a gateway passing on an
    /// upstream's error text): only statuses tonic made up are re-coded.
    #[test]
    fn a_servers_status_quoting_tonics_words_keeps_its_code() {
        let client = client();
        let cases = [
            (
                Status::unavailable(
                    "forwarding failed: upstream said: grpc-status header missing, mapped from \
                     HTTP status code 400",
                ),
                true,
            ),
            (
                Status::unavailable("grpc-status header missing, mapped from HTTP status code 400"),
                true,
            ),
            (
                Status::invalid_argument(
                    "grpc-status header missing, mapped from HTTP status code 503",
                ),
                false,
            ),
            (
                Status::permission_denied(
                    "bad: protocol error: received message with invalid compression flag: 1 \
                     while receiving response with status: 503 Service Unavailable",
                ),
                false,
            ),
            (
                Status::unknown("upstream: protocol error: missing grpc-status trailer"),
                false,
            ),
        ];
        for (status, retryable) in cases {
            let error = client.classify(&status);
            assert_eq!(error.is_retryable(), retryable, "{status:?}: {error}");
            assert!(!error.to_string().contains("plain HTTP"), "{error}");
        }
    }

    #[test]
    fn origin_drops_user_info_and_path() {
        let url = Url::parse("https://user:pw@collector:4317/ignored").unwrap();
        assert_eq!(origin(&url), "https://collector:4317");
        let url = Url::parse("http://[::1]/").unwrap();
        assert_eq!(origin(&url), "http://[::1]:80");
    }

    // checklist 1.8: in a build without TLS an https endpoint (or one
    // without a scheme, taken as https) is refused, never sent in plaintext.
    #[cfg(not(feature = "tls"))]
    #[test]
    fn a_build_without_tls_refuses_https_endpoints() {
        for endpoint in ["https://127.0.0.1:4317", "127.0.0.1:4317"] {
            let error = crate::SpanExporter::builder()
                .with_env(MapEnv::new())
                .with_endpoint(endpoint)
                .build()
                .unwrap_err();
            assert!(
                matches!(error, BuildError::TlsNotCompiled { .. }),
                "{error}"
            );
            let text = error.to_string();
            assert!(text.contains("`tls` feature of `otlpkit`"), "{text}");
        }
        crate::SpanExporter::builder()
            .with_env(MapEnv::new())
            .with_endpoint("http://127.0.0.1:4317")
            .build()
            .unwrap();
    }

    #[cfg(not(feature = "zstd"))]
    #[test]
    fn a_build_without_zstd_refuses_zstd() {
        let error = crate::SpanExporter::builder()
            .with_env(MapEnv::new())
            .with_endpoint("http://127.0.0.1:4317")
            .with_compression(Compression::Zstd)
            .build()
            .unwrap_err();
        assert!(
            error.to_string().contains("`zstd` feature of `otlpkit`"),
            "{error}"
        );
    }
}
