//! The opaque export error and its retry classification (checklist 2.2,
//! 2.4, 2.6, 2.8, 2.10).

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// gRPC status codes, numbered as in grpc/grpc `doc/statuscodes.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[allow(missing_docs)] // The names are the gRPC specification's own.
pub enum GrpcCode {
    Ok = 0,
    Cancelled = 1,
    Unknown = 2,
    InvalidArgument = 3,
    DeadlineExceeded = 4,
    NotFound = 5,
    AlreadyExists = 6,
    PermissionDenied = 7,
    ResourceExhausted = 8,
    FailedPrecondition = 9,
    Aborted = 10,
    OutOfRange = 11,
    Unimplemented = 12,
    Internal = 13,
    Unavailable = 14,
    DataLoss = 15,
    Unauthenticated = 16,
}

impl GrpcCode {
    /// The code for a numeric gRPC status; unknown numbers map to
    /// [`GrpcCode::Unknown`], as gRPC itself does.
    pub fn from_i32(code: i32) -> Self {
        use GrpcCode::*;
        match code {
            0 => Ok,
            1 => Cancelled,
            3 => InvalidArgument,
            4 => DeadlineExceeded,
            5 => NotFound,
            6 => AlreadyExists,
            7 => PermissionDenied,
            8 => ResourceExhausted,
            9 => FailedPrecondition,
            10 => Aborted,
            11 => OutOfRange,
            12 => Unimplemented,
            13 => Internal,
            14 => Unavailable,
            15 => DataLoss,
            16 => Unauthenticated,
            _ => Unknown,
        }
    }

    /// The numeric value of the code.
    pub fn as_i32(self) -> i32 {
        self as i32
    }
}

/// What went wrong with an export, at the level a caller can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExportErrorKind {
    /// The connection could not be established, or was lost before a
    /// response arrived (checklist 2.8). Retryable.
    Connect,
    /// The attempt did not complete within its timeout. Retryable.
    Timeout,
    /// The server answered with a gRPC status other than OK.
    Grpc {
        /// The status code.
        code: GrpcCode,
    },
    /// The server answered with an HTTP status other than 200.
    Http {
        /// The status code.
        status: u16,
    },
    /// TLS could not be established (bad certificate, wrong CA, plaintext
    /// server). Not retryable: it will not fix itself.
    Tls,
    /// The batch encodes to more than the maximum request size and was not
    /// sent (checklist 1.14). Not retryable.
    RequestTooLarge {
        /// Encoded size before compression, in bytes.
        size: usize,
        /// The configured limit, in bytes.
        limit: usize,
    },
    /// The response exceeded the maximum response size (checklist 1.14, 2.4).
    /// Not retryable.
    ResponseTooLarge {
        /// The configured limit, in bytes.
        limit: usize,
    },
    /// The request could not be encoded or compressed, or the response could
    /// not be decoded. Not retryable.
    Encoding,
    /// The exporter was shut down before or during the export. Not retryable.
    Shutdown,
    /// The exporter's configuration makes the export impossible (for
    /// example an `https` endpoint in a build without TLS). Not retryable.
    Config,
}

impl ExportErrorKind {
    /// A stable snake_case name (`connect`, `timeout`, `grpc_status`,
    /// `http_status`, `tls`, `request_too_large`, `response_too_large`,
    /// `encoding`, `shutdown`, `config`), as recorded in
    /// [`ExportErrorRecord::kind`](otlpkit_core::stats::ExportErrorRecord::kind).
    pub const fn name(self) -> &'static str {
        match self {
            ExportErrorKind::Connect => "connect",
            ExportErrorKind::Timeout => "timeout",
            ExportErrorKind::Grpc { .. } => "grpc_status",
            ExportErrorKind::Http { .. } => "http_status",
            ExportErrorKind::Tls => "tls",
            ExportErrorKind::RequestTooLarge { .. } => "request_too_large",
            ExportErrorKind::ResponseTooLarge { .. } => "response_too_large",
            ExportErrorKind::Encoding => "encoding",
            ExportErrorKind::Shutdown => "shutdown",
            ExportErrorKind::Config => "config",
        }
    }
}

/// An export failure: opaque, classified for retry, carrying its cause.
///
/// Its `Display` never includes header values or credentials: transports
/// build it from status codes, sizes and sanitised messages only.
///
/// ```
/// use std::time::Duration;
/// use otlpkit_exporter::{ExportError, GrpcCode};
///
/// let throttled = ExportError::grpc(GrpcCode::ResourceExhausted, "slow down", Some(Duration::from_secs(2)));
/// assert!(throttled.is_retryable());
/// assert_eq!(throttled.retry_after(), Some(Duration::from_secs(2)));
///
/// let quota = ExportError::grpc(GrpcCode::ResourceExhausted, "quota exceeded", None);
/// assert!(!quota.is_retryable());
/// ```
pub struct ExportError {
    inner: Box<Inner>,
}

struct Inner {
    kind: ExportErrorKind,
    message: String,
    retry_after: Option<Duration>,
    source: Option<BoxError>,
}

impl ExportError {
    fn new(kind: ExportErrorKind, message: impl Into<String>) -> Self {
        Self {
            inner: Box::new(Inner {
                kind,
                message: message.into(),
                retry_after: None,
                source: None,
            }),
        }
    }

    /// A connection failure or a connection lost without a response.
    pub fn connect(message: impl Into<String>) -> Self {
        Self::new(ExportErrorKind::Connect, message)
    }

    /// An attempt that ran out of time.
    pub fn timeout(after: Duration) -> Self {
        Self::new(
            ExportErrorKind::Timeout,
            format!("no response within {after:?}"),
        )
    }

    /// An export whose time budget, `budget` from `source`, ran out: the
    /// message names the budget (never what was left of it for the last
    /// attempt) and where it is set.
    pub(crate) fn budget_ran_out(budget: Duration, source: otlpkit_core::Source) -> Self {
        let from = match source.var() {
            Some(var) => var.to_owned(),
            None if source == otlpkit_core::Source::Code => "with_timeout".to_owned(),
            None => "the default; OTEL_EXPORTER_OTLP_TIMEOUT sets it".to_owned(),
        };
        Self::new(
            ExportErrorKind::Timeout,
            format!("no response within the {budget:?} export timeout ({from})"),
        )
    }

    /// A gRPC status. `retry_info` is the delay of a `google.rpc.RetryInfo`
    /// detail, when the status carried one (checklist 2.3).
    pub fn grpc(code: GrpcCode, message: impl Into<String>, retry_info: Option<Duration>) -> Self {
        let mut error = Self::new(ExportErrorKind::Grpc { code }, message);
        error.inner.retry_after = retry_info;
        error
    }

    /// An HTTP status. `retry_after` is the parsed `Retry-After` header (see
    /// [`parse_retry_after`](crate::parse_retry_after)).
    pub fn http(status: u16, message: impl Into<String>, retry_after: Option<Duration>) -> Self {
        let mut error = Self::new(ExportErrorKind::Http { status }, message);
        error.inner.retry_after = retry_after;
        error
    }

    /// A TLS failure.
    pub fn tls(message: impl Into<String>) -> Self {
        Self::new(ExportErrorKind::Tls, message)
    }

    /// A batch over the maximum request size; it was not sent.
    pub fn request_too_large(size: usize, limit: usize) -> Self {
        Self::new(
            ExportErrorKind::RequestTooLarge { size, limit },
            format!(
                "the encoded request is {size} bytes, over the {limit}-byte limit; it was not sent"
            ),
        )
    }

    /// A response over the maximum response size.
    pub fn response_too_large(limit: usize) -> Self {
        Self::new(
            ExportErrorKind::ResponseTooLarge { limit },
            format!("the response exceeds the {limit}-byte limit"),
        )
    }

    /// An encoding, compression or decoding failure.
    pub fn encoding(message: impl Into<String>) -> Self {
        Self::new(ExportErrorKind::Encoding, message)
    }

    /// An export attempted after shutdown.
    pub fn shutdown() -> Self {
        Self::new(ExportErrorKind::Shutdown, "the exporter has been shut down")
    }

    /// A configuration that makes the export impossible.
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(ExportErrorKind::Config, message)
    }

    /// Attaches the underlying cause. The cause's `Display` must not contain
    /// secrets either; transports pass transport-level errors (I/O, h2,
    /// rustls), never request objects.
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.inner.source = Some(source.into());
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> ExportErrorKind {
        self.inner.kind
    }

    /// The server's throttling hint (gRPC `RetryInfo` or HTTP `Retry-After`).
    pub fn retry_after(&self) -> Option<Duration> {
        self.inner.retry_after
    }

    /// True when the attempt timed out.
    pub fn is_timeout(&self) -> bool {
        matches!(
            self.inner.kind,
            ExportErrorKind::Timeout
                | ExportErrorKind::Grpc {
                    code: GrpcCode::DeadlineExceeded
                }
        )
    }

    /// True when the OTLP specification says the same request may be sent
    /// again: connection failures and timeouts (2.8); gRPC `CANCELLED`,
    /// `DEADLINE_EXCEEDED`, `ABORTED`, `OUT_OF_RANGE`, `UNAVAILABLE`,
    /// `DATA_LOSS`, and `RESOURCE_EXHAUSTED` only with `RetryInfo` (2.2);
    /// HTTP 429, 502, 503 and 504 (2.6).
    pub fn is_retryable(&self) -> bool {
        match self.inner.kind {
            ExportErrorKind::Connect | ExportErrorKind::Timeout => true,
            ExportErrorKind::Grpc { code } => match code {
                GrpcCode::Cancelled
                | GrpcCode::DeadlineExceeded
                | GrpcCode::Aborted
                | GrpcCode::OutOfRange
                | GrpcCode::Unavailable
                | GrpcCode::DataLoss => true,
                GrpcCode::ResourceExhausted => self.inner.retry_after.is_some(),
                _ => false,
            },
            ExportErrorKind::Http { status } => matches!(status, 429 | 502 | 503 | 504),
            ExportErrorKind::Tls
            | ExportErrorKind::RequestTooLarge { .. }
            | ExportErrorKind::ResponseTooLarge { .. }
            | ExportErrorKind::Encoding
            | ExportErrorKind::Shutdown
            | ExportErrorKind::Config => false,
        }
    }
}

impl fmt::Debug for ExportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("ExportError");
        debug
            .field("kind", &self.inner.kind)
            .field("message", &self.inner.message);
        if let Some(delay) = self.inner.retry_after {
            debug.field("retry_after", &delay);
        }
        if let Some(source) = &self.inner.source {
            debug.field("source", source);
        }
        debug.finish()
    }
}

impl fmt::Display for ExportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.inner.kind {
            ExportErrorKind::Connect => f.write_str("connection failed")?,
            ExportErrorKind::Timeout => f.write_str("export timed out")?,
            ExportErrorKind::Grpc { code } => {
                write!(f, "gRPC status {code:?} ({})", code.as_i32())?
            }
            ExportErrorKind::Http { status } => write!(f, "HTTP status {status}")?,
            ExportErrorKind::Tls => f.write_str("TLS failed")?,
            ExportErrorKind::RequestTooLarge { .. } => f.write_str("request too large")?,
            ExportErrorKind::ResponseTooLarge { .. } => f.write_str("response too large")?,
            ExportErrorKind::Encoding => f.write_str("encoding failed")?,
            ExportErrorKind::Shutdown => f.write_str("exporter shut down")?,
            ExportErrorKind::Config => f.write_str("invalid exporter configuration")?,
        }
        if !self.inner.message.is_empty() {
            write!(f, ": {}", self.inner.message)?;
        }
        Ok(())
    }
}

impl StdError for ExportError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|source| source as &(dyn StdError + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // checklist 2.2: every gRPC code, classified exactly as the spec lists them.
    #[test]
    fn grpc_codes_are_classified_as_the_spec_lists_them() {
        let retryable = [1, 4, 10, 11, 14, 15];
        for number in 0..=16 {
            let code = GrpcCode::from_i32(number);
            assert_eq!(code.as_i32(), number);
            let error = ExportError::grpc(code, "", None);
            assert_eq!(
                error.is_retryable(),
                retryable.contains(&number),
                "code {number}"
            );
        }
    }

    // checklist 2.2: RESOURCE_EXHAUSTED is retryable only with RetryInfo.
    #[test]
    fn resource_exhausted_needs_retry_info_to_be_retried() {
        assert!(!ExportError::grpc(GrpcCode::ResourceExhausted, "", None).is_retryable());
        let with_info = ExportError::grpc(
            GrpcCode::ResourceExhausted,
            "",
            Some(Duration::from_millis(5)),
        );
        assert!(with_info.is_retryable());
        assert_eq!(with_info.retry_after(), Some(Duration::from_millis(5)));
    }

    // checklist 2.6: 429/502/503/504 retry; every other 4xx/5xx does not.
    #[test]
    fn http_statuses_are_classified_as_the_spec_lists_them() {
        for status in 400..600u16 {
            let error = ExportError::http(status, "", None);
            assert_eq!(
                error.is_retryable(),
                matches!(status, 429 | 502 | 503 | 504),
                "status {status}"
            );
        }
    }

    // checklist 2.4, 2.8, 1.14
    #[test]
    fn local_failures_are_classified() {
        assert!(ExportError::connect("refused").is_retryable());
        assert!(ExportError::timeout(Duration::from_secs(1)).is_retryable());
        assert!(ExportError::timeout(Duration::from_secs(1)).is_timeout());
        assert!(!ExportError::response_too_large(4 << 20).is_retryable());
        assert!(!ExportError::request_too_large(10, 5).is_retryable());
        assert!(!ExportError::tls("unknown issuer").is_retryable());
        assert!(!ExportError::shutdown().is_retryable());
    }

    #[test]
    fn display_and_source_chain() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let error = ExportError::connect("127.0.0.1:4317").with_source(io);
        assert_eq!(error.to_string(), "connection failed: 127.0.0.1:4317");
        assert_eq!(
            error.source().map(ToString::to_string).as_deref(),
            Some("refused")
        );
        assert_eq!(
            ExportError::grpc(GrpcCode::Unavailable, "down", None).to_string(),
            "gRPC status Unavailable (14): down"
        );
    }
}
