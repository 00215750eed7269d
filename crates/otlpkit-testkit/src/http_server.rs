//! OTLP/HTTP: `POST /v1/{traces,metrics,logs}` with protobuf or JSON bodies, optionally
//! gzip- or zstd-compressed.

use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use http::header::{
    ALLOW, CONNECTION, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER,
};
use http::{HeaderValue, Method, Response, StatusCode};
use http_body_util::Full;
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

use crate::budget::Reservation;
use crate::decode::{self, Encoding, Refused};
use crate::fault::{Action, code_for_http_status, http_status_for_code};
use crate::request::{Answer, Body, Headers, Protocol, Signal};
use crate::shared::{ConnCtx, RequestMeta, Shared, drop_connection};

const PROTOBUF: &str = "application/x-protobuf";
const JSON: &str = "application/json";

/// The media type of a `Content-Type` value, lowercased, without parameters.
fn media_type(value: &str) -> String {
    value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// The protocol for a media type, if supported.
fn protocol_for(media_type: &str) -> Option<Protocol> {
    match media_type {
        PROTOBUF | "application/protobuf" => Some(Protocol::HttpProtobuf),
        JSON => Some(Protocol::HttpJson),
        _ => None,
    }
}

/// The `Export<Signal>ServiceResponse` body in the request's encoding (checklist 2.5, 1.17).
fn success_body(signal: Signal, protocol: Protocol, partial: Option<(i64, &str)>) -> Vec<u8> {
    if protocol == Protocol::HttpJson {
        return crate::json::encode_response(signal, partial);
    }
    let message = partial.map(|(rejected, message)| (rejected, message.to_owned()));
    match signal {
        Signal::Traces => ExportTraceServiceResponse {
            partial_success: message.map(|(rejected_spans, error_message)| {
                ExportTracePartialSuccess {
                    rejected_spans,
                    error_message,
                }
            }),
        }
        .encode_to_vec(),
        Signal::Metrics => ExportMetricsServiceResponse {
            partial_success: message.map(|(rejected_data_points, error_message)| {
                ExportMetricsPartialSuccess {
                    rejected_data_points,
                    error_message,
                }
            }),
        }
        .encode_to_vec(),
        Signal::Logs => ExportLogsServiceResponse {
            partial_success: message.map(|(rejected_log_records, error_message)| {
                ExportLogsPartialSuccess {
                    rejected_log_records,
                    error_message,
                }
            }),
        }
        .encode_to_vec(),
    }
}

fn response(
    status: StatusCode,
    content_type: &'static str,
    body: Vec<u8>,
) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// An error response with a `google.rpc.Status` body in the request's encoding (2.6).
fn status_response(status: StatusCode, protocol: Protocol, message: &str) -> Response<Full<Bytes>> {
    let code = match status {
        StatusCode::BAD_REQUEST | StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            tonic::Code::InvalidArgument
        }
        StatusCode::PAYLOAD_TOO_LARGE => tonic::Code::ResourceExhausted,
        other => code_for_http_status(other),
    } as i32;
    if protocol == Protocol::HttpJson {
        response(status, JSON, crate::json::encode_status(code, message))
    } else {
        let body = tonic_types::Status {
            code,
            message: message.to_owned(),
            details: Vec::new(),
        }
        .encode_to_vec();
        response(status, PROTOBUF, body)
    }
}

fn plain(status: StatusCode, text: &str) -> Response<Full<Bytes>> {
    response(
        status,
        "text/plain; charset=utf-8",
        text.as_bytes().to_vec(),
    )
}

/// Handles one HTTP request.
pub(crate) async fn handle(
    shared: Arc<Shared>,
    conn: ConnCtx,
    req: http::Request<Incoming>,
) -> Response<Full<Bytes>> {
    let received_at = SystemTime::now();
    let Some(signal) = Signal::from_http_path(req.uri().path()) else {
        return plain(StatusCode::NOT_FOUND, "404 page not found\n");
    };
    if req.method() != Method::POST {
        let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, "405 method not allowed\n");
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    let headers = Headers::from_header_map(req.headers());
    let content_type = headers.get(CONTENT_TYPE.as_str()).map(media_type);
    let content_encoding = headers
        .get(CONTENT_ENCODING.as_str())
        .map(|v| v.trim().to_ascii_lowercase())
        .filter(|v| !v.is_empty() && v != "identity");
    let mut meta = RequestMeta {
        signal,
        // Until the content type is known, errors are answered in protobuf.
        protocol: Protocol::HttpProtobuf,
        http_version: req.version(),
        headers,
        content_encoding: content_encoding.clone(),
        body_size: 0,
        decoded_size: 0,
        received_at,
    };
    let refuse = |meta: RequestMeta, status: StatusCode, message: String| {
        let response = status_response(status, meta.protocol, &message);
        shared.record_refused(
            meta,
            &conn,
            Answer::HttpStatus {
                status: status.as_u16(),
                retry_after: None,
                message,
            },
        );
        response
    };

    let Some(protocol) = content_type.as_deref().and_then(protocol_for) else {
        let message = match content_type {
            Some(t) => format!("unsupported content type {t:?}; use {PROTOBUF} or {JSON}"),
            None => format!("missing content type; use {PROTOBUF} or {JSON}"),
        };
        return refuse(meta, StatusCode::UNSUPPORTED_MEDIA_TYPE, message);
    };
    meta.protocol = protocol;
    let encoding = match content_encoding.as_deref() {
        None => None,
        Some(name) => match Encoding::parse(name) {
            Some(encoding) => Some(encoding),
            None => {
                let message = format!("unsupported content encoding {name:?}; use gzip or zstd");
                return refuse(meta, StatusCode::UNSUPPORTED_MEDIA_TYPE, message);
            }
        },
    };

    let limits = &shared.limits;
    let limit = limits.max_body_size;
    let announced = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<usize>().ok());
    let mut reservation = Reservation::new(limits.budget.as_ref());
    let refused = |meta: RequestMeta, refused: Refused| {
        let (status, message) = match refused {
            Refused::TooLarge(message) => (StatusCode::PAYLOAD_TOO_LARGE, message),
            Refused::Busy(message) => (StatusCode::SERVICE_UNAVAILABLE, message),
            Refused::Slow(message) => (StatusCode::REQUEST_TIMEOUT, message),
            Refused::Invalid(message) => (StatusCode::BAD_REQUEST, message),
        };
        let mut response = refuse(meta, status, message);
        match status {
            StatusCode::SERVICE_UNAVAILABLE => {
                response
                    .headers_mut()
                    .insert(RETRY_AFTER, HeaderValue::from_static("1"));
            }
            // The rest of a body that was not read is not worth waiting for.
            StatusCode::REQUEST_TIMEOUT | StatusCode::PAYLOAD_TOO_LARGE => {
                response
                    .headers_mut()
                    .insert(CONNECTION, HeaderValue::from_static("close"));
            }
            _ => {}
        }
        response
    };
    let raw = match decode::read_body(
        req.into_body(),
        limit,
        announced,
        limits.body_timeout,
        &mut reservation,
    )
    .await
    {
        Ok(raw) => raw,
        Err(err) => return refused(meta, err),
    };
    meta.body_size = raw.len();
    let body = match decode::decompress(encoding, raw, limit, &mut reservation) {
        Ok(body) => body,
        Err(err) => return refused(meta, err),
    };
    meta.decoded_size = body.len();
    let decoded = match protocol {
        Protocol::HttpJson => decode::json(signal, &body, &mut reservation)
            .await
            .map(Body::Decoded),
        _ => decode::protobuf_body(signal, &body, limits.count_only, &mut reservation).await,
    };
    drop(body);
    let payload = match decoded {
        Ok(payload) => payload,
        Err(err) => return refused(meta, err),
    };

    let content_type = if protocol == Protocol::HttpJson {
        JSON
    } else {
        PROTOBUF
    };
    let action = shared.process(meta, &conn, payload).await;
    drop(reservation);
    match action {
        Action::Success => response(
            StatusCode::OK,
            content_type,
            success_body(signal, protocol, None),
        ),
        Action::Partial { rejected, message } => response(
            StatusCode::OK,
            content_type,
            success_body(signal, protocol, Some((rejected, &message))),
        ),
        Action::Http {
            status,
            message,
            retry_after,
        } => {
            let mut response = status_response(status, protocol, &message);
            if let Some(value) = retry_after.and_then(|v| HeaderValue::from_str(&v).ok()) {
                response.headers_mut().insert(RETRY_AFTER, value);
            }
            response
        }
        // Faults are resolved for HTTP, so this only happens if that ever changes.
        Action::Grpc { code, message, .. } => {
            status_response(http_status_for_code(code), protocol, &message)
        }
        Action::Drop => match drop_connection(&conn).await {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types_ignore_parameters_and_case() {
        assert_eq!(
            media_type("Application/JSON; charset=utf-8"),
            "application/json"
        );
        assert_eq!(
            protocol_for(&media_type("application/x-protobuf")),
            Some(Protocol::HttpProtobuf)
        );
        assert_eq!(protocol_for("text/plain"), None);
    }
}
