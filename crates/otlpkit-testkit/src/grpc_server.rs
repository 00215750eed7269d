//! OTLP/gRPC: the three unary `Export` methods, served straight from the HTTP/2 request so
//! that every refusal gets the status the OTLP specification asks for (checklist 2.2):
//!
//! - a content type other than `application/grpc` or `application/grpc+proto`: HTTP `415`
//!   (the gRPC over HTTP/2 protocol's advice) with `INVALID_ARGUMENT`;
//! - a `grpc-encoding` other than gzip or zstd: `UNIMPLEMENTED` with `grpc-accept-encoding`;
//! - a message larger than the limit (before or after decompression) or than the whole
//!   in-flight budget: `RESOURCE_EXHAUSTED` without `RetryInfo`, which clients must not
//!   retry; the budget held by other requests: `RESOURCE_EXHAUSTED` with `RetryInfo`,
//!   which they retry;
//! - a frame or message that does not decode: `INVALID_ARGUMENT`;
//! - a body that does not arrive in time: `DEADLINE_EXCEEDED`.
//!
//! (tonic's generated servers answer `OUT_OF_RANGE` for too large, a retryable code, and
//! `INTERNAL` for undecodable, and do not look at the content type.)

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderValue, StatusCode};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceResponse,
};
use prost::Message as _;
use tonic::Code;
use tonic_types::{ErrorDetails, StatusExt as _};

use crate::budget::Reservation;
use crate::decode::{self, Encoding, Refused};
use crate::fault::{Action, code_for_http_status};
use crate::request::{Answer, Headers, Protocol, Signal};
use crate::shared::{ConnCtx, RequestMeta, Shared, drop_connection};

/// The delay a busy receiver asks clients to wait before retrying.
const BUSY_RETRY: Duration = Duration::from_secs(1);

type GrpcResponse = http::Response<tonic::body::Body>;

/// Routes a gRPC request to the `Export` method of its signal.
#[derive(Debug, Clone)]
pub(crate) struct GrpcRouter {
    shared: Arc<Shared>,
}

/// The media type of a `content-type` value, lowercased, without parameters.
fn media_type(value: &str) -> String {
    value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

fn status_response(status: tonic::Status) -> GrpcResponse {
    status.into_http()
}

fn refusal_status(refused: Refused) -> tonic::Status {
    match refused {
        Refused::TooLarge(message) => tonic::Status::new(Code::ResourceExhausted, message),
        Refused::Busy(message) => tonic::Status::with_error_details(
            Code::ResourceExhausted,
            message,
            ErrorDetails::with_retry_info(Some(BUSY_RETRY)),
        ),
        Refused::Slow(message) => tonic::Status::new(Code::DeadlineExceeded, message),
        Refused::Invalid(message) => tonic::Status::new(Code::InvalidArgument, message),
    }
}

fn answer_of(status: &tonic::Status) -> Answer {
    Answer::GrpcStatus {
        code: status.code(),
        message: status.message().to_owned(),
        retry_delay: status.get_details_retry_info().and_then(|r| r.retry_delay),
    }
}

/// A successful response: one length-prefixed message, then `grpc-status: 0`.
fn message_response(message: Vec<u8>) -> GrpcResponse {
    let mut frame = Vec::with_capacity(message.len() + 5);
    frame.push(0);
    frame.extend_from_slice(
        &u32::try_from(message.len())
            .unwrap_or(u32::MAX)
            .to_be_bytes(),
    );
    frame.extend_from_slice(&message);
    let mut trailers = HeaderMap::new();
    trailers.insert("grpc-status", HeaderValue::from_static("0"));
    let body = Full::new(Bytes::from(frame)).with_trailers(async move { Some(Ok(trailers)) });
    let mut response = http::Response::new(tonic::body::Body::new(body));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
    response
}

fn success_message(signal: Signal, partial: Option<(i64, String)>) -> Vec<u8> {
    match signal {
        Signal::Traces => ExportTraceServiceResponse {
            partial_success: partial.map(|(rejected_spans, error_message)| {
                ExportTracePartialSuccess {
                    rejected_spans,
                    error_message,
                }
            }),
        }
        .encode_to_vec(),
        Signal::Metrics => ExportMetricsServiceResponse {
            partial_success: partial.map(|(rejected_data_points, error_message)| {
                ExportMetricsPartialSuccess {
                    rejected_data_points,
                    error_message,
                }
            }),
        }
        .encode_to_vec(),
        Signal::Logs => ExportLogsServiceResponse {
            partial_success: partial.map(|(rejected_log_records, error_message)| {
                ExportLogsPartialSuccess {
                    rejected_log_records,
                    error_message,
                }
            }),
        }
        .encode_to_vec(),
    }
}

/// One unary message: the compressed flag and the message bytes.
struct Frame {
    compressed: bool,
    message: Bytes,
    wire_size: usize,
}

/// Reads the single length-prefixed message of a unary call, refusing a declared length
/// above `limit` before reading it.
async fn read_frame(
    mut body: Incoming,
    limit: usize,
    reservation: &mut Reservation,
) -> Result<Frame, Refused> {
    // Budget is held as the message arrives, not for the length its prefix declares: a
    // client that declares a large message and sends nothing holds nothing.
    let mut buf = decode::BodyBuffer::new(limit.saturating_add(5));
    let mut declared: Option<(bool, usize)> = None;
    while let Some(frame) = body.frame().await {
        let frame = frame
            .map_err(|err| Refused::Invalid(format!("cannot read the request body: {err}")))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        let more_than_one =
            || Refused::Invalid("more than one message in a unary gRPC call".to_owned());
        if let Some((_, len)) = declared
            && buf.len() + data.len() > len + 5
        {
            return Err(more_than_one());
        }
        if buf.len() + data.len() > limit.saturating_add(5) {
            return Err(Refused::TooLarge(format!(
                "gRPC message larger than the limit of {limit} bytes"
            )));
        }
        buf.push(&data, reservation).await?;
        if declared.is_none() && buf.len() >= 5 {
            let buf = buf.as_slice();
            let compressed = match buf[0] {
                0 => false,
                1 => true,
                flag => {
                    return Err(Refused::Invalid(format!(
                        "invalid gRPC compressed flag {flag} (valid flags are 0 and 1)"
                    )));
                }
            };
            let len = u32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]) as usize;
            if len > limit {
                return Err(Refused::TooLarge(format!(
                    "gRPC message of {len} bytes is larger than the limit of {limit} bytes"
                )));
            }
            // More than the whole budget can never fit: refused now, not once it arrived.
            reservation.check_fits(len + 5)?;
            declared = Some((compressed, len));
        }
        if let Some((_, len)) = declared {
            if buf.len() > len + 5 {
                return Err(more_than_one());
            }
            buf.set_bound(len + 5);
        }
    }
    match declared {
        None => Err(Refused::Invalid("missing gRPC request message".to_owned())),
        Some((_, len)) if buf.len() < len + 5 => Err(Refused::Invalid(format!(
            "gRPC message cut short: {} of {len} bytes arrived",
            buf.len() - 5
        ))),
        Some((compressed, _)) => {
            let wire_size = buf.len();
            Ok(Frame {
                compressed,
                message: buf.freeze().slice(5..),
                wire_size,
            })
        }
    }
}

impl GrpcRouter {
    pub(crate) fn new(shared: Arc<Shared>) -> GrpcRouter {
        GrpcRouter { shared }
    }

    pub(crate) async fn call(self, conn: ConnCtx, req: http::Request<Incoming>) -> GrpcResponse {
        let received_at = SystemTime::now();
        let path = req.uri().path();
        let Some(signal) = Signal::ALL.into_iter().find(|s| path == s.grpc_path()) else {
            return status_response(tonic::Status::unimplemented(format!(
                "no service at {path}"
            )));
        };
        let header_map = req.headers();
        let headers = Headers::from_header_map(header_map);
        let content_type = headers.get(CONTENT_TYPE.as_str()).map(media_type);
        let content_encoding = headers
            .get("grpc-encoding")
            .map(|v| v.trim().to_ascii_lowercase())
            .filter(|v| !v.is_empty() && v != "identity");
        let mut meta = RequestMeta {
            signal,
            protocol: Protocol::Grpc,
            http_version: req.version(),
            headers,
            content_encoding: content_encoding.clone(),
            body_size: 0,
            decoded_size: 0,
            received_at,
        };
        let shared = &self.shared;
        let refuse = |meta: RequestMeta, status: tonic::Status| {
            shared.record_refused(meta, &conn, answer_of(&status));
            status_response(status)
        };

        if !matches!(
            content_type.as_deref(),
            Some("application/grpc" | "application/grpc+proto")
        ) {
            let message = match &content_type {
                Some(t) => format!("unsupported content type {t:?}; use application/grpc"),
                None => "missing content type; use application/grpc".to_owned(),
            };
            let mut response = refuse(meta, tonic::Status::invalid_argument(message));
            *response.status_mut() = StatusCode::UNSUPPORTED_MEDIA_TYPE;
            return response;
        }
        let encoding = match content_encoding.as_deref() {
            None => None,
            Some(name) => match Encoding::parse(name) {
                Some(encoding) => Some(encoding),
                None => {
                    let message = format!(
                        "content is compressed with {name:?}, which is not supported; \
                         use gzip or zstd"
                    );
                    let mut response = refuse(meta, tonic::Status::unimplemented(message));
                    response.headers_mut().insert(
                        "grpc-accept-encoding",
                        HeaderValue::from_static("gzip,zstd,identity"),
                    );
                    return response;
                }
            },
        };

        let limits = &shared.limits;
        let mut reservation = Reservation::new(limits.budget.as_ref());
        let read = read_frame(req.into_body(), limits.max_body_size, &mut reservation);
        let frame = match limits.body_timeout {
            None => read.await,
            Some(deadline) => tokio::time::timeout(deadline, read)
                .await
                .unwrap_or_else(|_| {
                    Err(Refused::Slow(format!(
                        "the request message did not arrive within {deadline:?}"
                    )))
                }),
        };
        let frame = match frame {
            Ok(frame) => frame,
            Err(refused) => return refuse(meta, refusal_status(refused)),
        };
        meta.body_size = frame.wire_size;
        let message = match (frame.compressed, encoding) {
            (false, _) => frame.message,
            (true, None) => {
                let status = tonic::Status::invalid_argument(
                    "compressed message without a grpc-encoding header",
                );
                return refuse(meta, status);
            }
            (true, Some(encoding)) => match decode::decompress(
                Some(encoding),
                frame.message,
                limits.max_body_size,
                &mut reservation,
            ) {
                Ok(message) => message,
                Err(refused) => return refuse(meta, refusal_status(refused)),
            },
        };
        meta.decoded_size = message.len();
        let body =
            decode::protobuf_body(signal, &message, limits.count_only, &mut reservation).await;
        let payload = match body {
            Ok(body) => body,
            Err(refused) => return refuse(meta, refusal_status(refused)),
        };
        drop(message);

        let action = shared.process(meta, &conn, payload).await;
        drop(reservation);
        match action {
            Action::Success => message_response(success_message(signal, None)),
            Action::Partial { rejected, message } => {
                message_response(success_message(signal, Some((rejected, message))))
            }
            Action::Grpc {
                code,
                message,
                retry_delay,
            } => status_response(match retry_delay {
                Some(delay) => tonic::Status::with_error_details(
                    code,
                    message,
                    ErrorDetails::with_retry_info(Some(delay)),
                ),
                None => tonic::Status::new(code, message),
            }),
            // Faults are resolved for gRPC, so this only happens if that ever changes.
            Action::Http {
                status, message, ..
            } => status_response(tonic::Status::new(code_for_http_status(status), message)),
            Action::Drop => match drop_connection(&conn).await {},
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_map_to_the_otlp_statuses() {
        let too_large = refusal_status(Refused::TooLarge("big".into()));
        assert_eq!(too_large.code(), Code::ResourceExhausted);
        assert!(too_large.get_details_retry_info().is_none());
        let busy = refusal_status(Refused::Busy("busy".into()));
        assert_eq!(busy.code(), Code::ResourceExhausted);
        assert_eq!(
            busy.get_details_retry_info().and_then(|r| r.retry_delay),
            Some(BUSY_RETRY)
        );
        assert_eq!(
            refusal_status(Refused::Invalid("bad".into())).code(),
            Code::InvalidArgument
        );
        assert_eq!(
            media_type("Application/GRPC+proto; x=y"),
            "application/grpc+proto"
        );
    }
}
