//! Fault injection: what the receiver does instead of a plain success, request by request.

use std::collections::VecDeque;
use std::time::{Duration, SystemTime};

use http::StatusCode;
use tonic::Code;

use crate::request::{Protocol, Signal};

/// When the client may retry, as a throttling hint.
///
/// On OTLP/HTTP it becomes a `Retry-After` header (checklist 2.7); on OTLP/gRPC a
/// `google.rpc.RetryInfo` in `grpc-status-details-bin` (checklist 2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RetryAfter {
    /// A delay. HTTP: `Retry-After: <delay-seconds>`, rounded up to whole seconds.
    /// gRPC: `RetryInfo.retry_delay` with the exact value.
    Delay(Duration),
    /// A point in time. HTTP: `Retry-After: <HTTP-date>` (IMF-fixdate, whole seconds).
    /// gRPC: `RetryInfo.retry_delay` = the time left until then (zero if past).
    Date(SystemTime),
}

impl RetryAfter {
    /// The `Retry-After` header value.
    pub fn header_value(&self) -> String {
        match self {
            RetryAfter::Delay(delay) => {
                let secs = delay.as_secs() + u64::from(delay.subsec_nanos() > 0);
                secs.to_string()
            }
            RetryAfter::Date(when) => httpdate::fmt_http_date(*when),
        }
    }

    /// The delay for a gRPC `RetryInfo`.
    pub fn as_delay(&self) -> Duration {
        match self {
            RetryAfter::Delay(delay) => *delay,
            RetryAfter::Date(when) => when
                .duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO),
        }
    }
}

/// What a fault does.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FaultKind {
    /// Answer with success (useful to script sequences, or with a delay).
    Success,
    /// Answer with a gRPC status.
    ///
    /// On OTLP/HTTP the code is mapped to an HTTP status: `UNAVAILABLE` → 503,
    /// `RESOURCE_EXHAUSTED` → 429, `DEADLINE_EXCEEDED` → 504, `INVALID_ARGUMENT` → 400,
    /// `UNAUTHENTICATED` → 401, `PERMISSION_DENIED` → 403, `NOT_FOUND`/`UNIMPLEMENTED` → 404,
    /// anything else → 500; the retry hint becomes `Retry-After`.
    GrpcStatus {
        /// The status code.
        code: Code,
        /// The status message.
        message: String,
    },
    /// Answer with an HTTP status and a `google.rpc.Status` body.
    ///
    /// On OTLP/gRPC the status is mapped as gRPC clients map HTTP statuses
    /// (grpc `http-grpc-status-mapping.md`): 400 → `INTERNAL`, 401 → `UNAUTHENTICATED`,
    /// 403 → `PERMISSION_DENIED`, 404 → `UNIMPLEMENTED`, 429/502/503/504 → `UNAVAILABLE`,
    /// anything else → `UNKNOWN`; the retry hint becomes `RetryInfo`.
    HttpStatus {
        /// The status.
        status: StatusCode,
        /// The `google.rpc.Status.message` of the body.
        message: String,
    },
    /// Answer with success and `partial_success` set (checklist 2.11). The receiver keeps
    /// every item of the request: the items count as received although `rejected` says
    /// otherwise (it cannot know which ones the test means).
    PartialSuccess {
        /// `rejected_spans` / `rejected_data_points` / `rejected_log_records`.
        rejected: i64,
        /// `error_message`.
        message: String,
    },
    /// Close the TCP connection without any response. On HTTP/2 (gRPC, h2c) this drops the
    /// whole connection, including other requests in flight on it.
    DropConnection,
}

/// One scripted fault: an optional delay, then an action.
///
/// ```
/// use std::time::Duration;
/// use otlpkit_testkit::{Code, Fault, RetryAfter, StatusCode};
///
/// let throttled = Fault::grpc_status(Code::ResourceExhausted, "slow down")
///     .with_retry_after(RetryAfter::Delay(Duration::from_millis(1500)));
/// let busy = Fault::http_status(StatusCode::SERVICE_UNAVAILABLE).with_retry_after_secs(3);
/// let hang_then_drop = Fault::drop_connection().after(Duration::from_millis(200));
/// # let _ = (throttled, busy, hang_then_drop);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    kind: FaultKind,
    delay: Duration,
    retry_after: Option<RetryAfter>,
}

impl Fault {
    /// A fault of the given kind, no delay, no retry hint.
    pub fn new(kind: FaultKind) -> Fault {
        Fault {
            kind,
            delay: Duration::ZERO,
            retry_after: None,
        }
    }

    /// An explicit success.
    pub fn success() -> Fault {
        Fault::new(FaultKind::Success)
    }

    /// Success after waiting `delay`.
    pub fn delay(delay: Duration) -> Fault {
        Fault::success().after(delay)
    }

    /// A gRPC status (mapped to HTTP on OTLP/HTTP, see [`FaultKind::GrpcStatus`]).
    pub fn grpc_status(code: Code, message: impl Into<String>) -> Fault {
        Fault::new(FaultKind::GrpcStatus {
            code,
            message: message.into(),
        })
    }

    /// An HTTP status with a `google.rpc.Status` body whose message is the reason phrase
    /// (mapped to gRPC on OTLP/gRPC, see [`FaultKind::HttpStatus`]).
    pub fn http_status(status: StatusCode) -> Fault {
        let message = status.canonical_reason().unwrap_or("injected fault");
        Fault::new(FaultKind::HttpStatus {
            status,
            message: message.to_owned(),
        })
    }

    /// Partial success with `rejected` items and `message`.
    pub fn partial_success(rejected: i64, message: impl Into<String>) -> Fault {
        Fault::new(FaultKind::PartialSuccess {
            rejected,
            message: message.into(),
        })
    }

    /// Close the connection without answering.
    pub fn drop_connection() -> Fault {
        Fault::new(FaultKind::DropConnection)
    }

    /// Wait `delay` before acting.
    #[must_use]
    pub fn after(mut self, delay: Duration) -> Fault {
        self.delay = delay;
        self
    }

    /// Replace the message of a status fault (no effect on other kinds).
    #[must_use]
    pub fn with_message(mut self, new: impl Into<String>) -> Fault {
        match &mut self.kind {
            FaultKind::GrpcStatus { message, .. }
            | FaultKind::HttpStatus { message, .. }
            | FaultKind::PartialSuccess { message, .. } => *message = new.into(),
            FaultKind::Success | FaultKind::DropConnection => {}
        }
        self
    }

    /// Attach a throttling hint to a status fault (ignored by success, partial success and
    /// dropped connections).
    #[must_use]
    pub fn with_retry_after(mut self, retry_after: RetryAfter) -> Fault {
        self.retry_after = Some(retry_after);
        self
    }

    /// Shorthand for `with_retry_after(RetryAfter::Delay(Duration::from_secs(secs)))`.
    #[must_use]
    pub fn with_retry_after_secs(self, secs: u64) -> Fault {
        self.with_retry_after(RetryAfter::Delay(Duration::from_secs(secs)))
    }

    /// Shorthand for a gRPC `RetryInfo` of `delay`.
    #[must_use]
    pub fn with_retry_info(self, delay: Duration) -> Fault {
        self.with_retry_after(RetryAfter::Delay(delay))
    }

    /// What the fault does.
    pub fn kind(&self) -> &FaultKind {
        &self.kind
    }

    /// The delay before acting.
    pub fn delay_before(&self) -> Duration {
        self.delay
    }

    /// The throttling hint, if any.
    pub fn retry_after(&self) -> Option<RetryAfter> {
        self.retry_after
    }

    /// The concrete action for a request that arrived with `protocol`.
    pub(crate) fn resolve(&self, protocol: Protocol) -> Action {
        match &self.kind {
            FaultKind::Success => Action::Success,
            FaultKind::PartialSuccess { rejected, message } => Action::Partial {
                rejected: *rejected,
                message: message.clone(),
            },
            FaultKind::DropConnection => Action::Drop,
            FaultKind::GrpcStatus { code, message } if protocol == Protocol::Grpc => Action::Grpc {
                code: *code,
                message: message.clone(),
                retry_delay: self.retry_after.map(|r| r.as_delay()),
            },
            FaultKind::GrpcStatus { code, message } => Action::Http {
                status: http_status_for_code(*code),
                message: message.clone(),
                retry_after: self.retry_after.map(|r| r.header_value()),
            },
            FaultKind::HttpStatus { status, message } if protocol == Protocol::Grpc => {
                Action::Grpc {
                    code: code_for_http_status(*status),
                    message: message.clone(),
                    retry_delay: self.retry_after.map(|r| r.as_delay()),
                }
            }
            FaultKind::HttpStatus { status, message } => Action::Http {
                status: *status,
                message: message.clone(),
                retry_after: self.retry_after.map(|r| r.header_value()),
            },
        }
    }
}

/// A fault resolved for one protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    Success,
    Partial {
        rejected: i64,
        message: String,
    },
    Grpc {
        code: Code,
        message: String,
        retry_delay: Option<Duration>,
    },
    Http {
        status: StatusCode,
        message: String,
        retry_after: Option<String>,
    },
    Drop,
}

/// The HTTP status used when a gRPC-status fault hits an OTLP/HTTP request.
pub(crate) fn http_status_for_code(code: Code) -> StatusCode {
    match code {
        Code::Ok => StatusCode::OK,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => {
            StatusCode::BAD_REQUEST
        }
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::NotFound | Code::Unimplemented => StatusCode::NOT_FOUND,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The gRPC code used when an HTTP-status fault hits an OTLP/gRPC request.
pub(crate) fn code_for_http_status(status: StatusCode) -> Code {
    match status.as_u16() {
        400 => Code::Internal,
        401 => Code::Unauthenticated,
        403 => Code::PermissionDenied,
        404 => Code::Unimplemented,
        429 | 502 | 503 | 504 => Code::Unavailable,
        _ => Code::Unknown,
    }
}

/// The FIFO scripts: one per signal plus one for any signal.
#[derive(Debug, Default)]
pub(crate) struct FaultScripts {
    per_signal: [VecDeque<Fault>; 3],
    any: VecDeque<Fault>,
}

impl FaultScripts {
    pub(crate) fn push(&mut self, signal: Option<Signal>, fault: Fault) {
        match signal {
            Some(signal) => self.per_signal[signal.index()].push_back(fault),
            None => self.any.push_back(fault),
        }
    }

    /// The next fault for a request of `signal`: its own script first, then the shared one.
    pub(crate) fn pop(&mut self, signal: Signal) -> Option<Fault> {
        self.per_signal[signal.index()]
            .pop_front()
            .or_else(|| self.any.pop_front())
    }

    pub(crate) fn len(&self) -> usize {
        self.per_signal.iter().map(VecDeque::len).sum::<usize>() + self.any.len()
    }

    pub(crate) fn clear(&mut self) {
        for script in &mut self.per_signal {
            script.clear();
        }
        self.any.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_header_values() {
        // checklist 2.7: delay-seconds or HTTP-date.
        assert_eq!(
            RetryAfter::Delay(Duration::from_secs(3)).header_value(),
            "3"
        );
        assert_eq!(
            RetryAfter::Delay(Duration::from_millis(1500)).header_value(),
            "2"
        );
        let when = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777);
        assert_eq!(
            RetryAfter::Date(when).header_value(),
            "Sun, 06 Nov 1994 08:49:37 GMT"
        );
        assert_eq!(RetryAfter::Date(when).as_delay(), Duration::ZERO);
    }

    #[test]
    fn faults_resolve_per_protocol() {
        let grpc = Fault::grpc_status(Code::ResourceExhausted, "slow")
            .with_retry_info(Duration::from_millis(250));
        assert_eq!(
            grpc.resolve(Protocol::Grpc),
            Action::Grpc {
                code: Code::ResourceExhausted,
                message: "slow".into(),
                retry_delay: Some(Duration::from_millis(250)),
            }
        );
        assert_eq!(
            grpc.resolve(Protocol::HttpJson),
            Action::Http {
                status: StatusCode::TOO_MANY_REQUESTS,
                message: "slow".into(),
                retry_after: Some("1".into()),
            }
        );
        let http = Fault::http_status(StatusCode::BAD_GATEWAY).with_retry_after_secs(7);
        assert_eq!(
            http.resolve(Protocol::Grpc),
            Action::Grpc {
                code: Code::Unavailable,
                message: "Bad Gateway".into(),
                retry_delay: Some(Duration::from_secs(7)),
            }
        );
        assert_eq!(
            http.resolve(Protocol::HttpProtobuf),
            Action::Http {
                status: StatusCode::BAD_GATEWAY,
                message: "Bad Gateway".into(),
                retry_after: Some("7".into()),
            }
        );
        assert_eq!(
            Fault::partial_success(2, "x").resolve(Protocol::Grpc),
            Action::Partial {
                rejected: 2,
                message: "x".into()
            }
        );
        assert_eq!(
            Fault::drop_connection().resolve(Protocol::HttpJson),
            Action::Drop
        );
        assert_eq!(
            Fault::delay(Duration::from_millis(5)).resolve(Protocol::Grpc),
            Action::Success
        );
    }

    #[test]
    fn scripts_are_fifo_signal_first_then_any() {
        let mut scripts = FaultScripts::default();
        scripts.push(None, Fault::http_status(StatusCode::BAD_GATEWAY));
        scripts.push(Some(Signal::Logs), Fault::drop_connection());
        scripts.push(Some(Signal::Logs), Fault::success());
        assert_eq!(scripts.len(), 3);
        assert_eq!(scripts.pop(Signal::Logs), Some(Fault::drop_connection()));
        assert_eq!(
            scripts.pop(Signal::Traces).map(|f| f.kind().clone()),
            Some(FaultKind::HttpStatus {
                status: StatusCode::BAD_GATEWAY,
                message: "Bad Gateway".into()
            })
        );
        assert_eq!(scripts.pop(Signal::Traces), None);
        assert_eq!(scripts.pop(Signal::Logs), Some(Fault::success()));
        assert_eq!(scripts.pop(Signal::Logs), None);
        scripts.push(None, Fault::success());
        scripts.clear();
        assert_eq!(scripts.len(), 0);
    }

    #[test]
    fn status_mappings_follow_the_grpc_table() {
        for status in [429u16, 502, 503, 504] {
            assert_eq!(
                code_for_http_status(StatusCode::from_u16(status).unwrap()),
                Code::Unavailable
            );
        }
        assert_eq!(
            code_for_http_status(StatusCode::BAD_REQUEST),
            Code::Internal
        );
        assert_eq!(code_for_http_status(StatusCode::IM_A_TEAPOT), Code::Unknown);
        assert_eq!(
            http_status_for_code(Code::Unavailable),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(
            http_status_for_code(Code::DataLoss),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
}
