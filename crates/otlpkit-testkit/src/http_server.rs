//! OTLP/HTTP: `POST /v1/{traces,metrics,logs}` with protobuf or JSON bodies, optionally
//! gzip- or zstd-compressed.

use std::io::Read;
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use http::header::{ALLOW, CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderValue, Method, Response, StatusCode};
use http_body_util::{BodyExt as _, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message as _;

use crate::error::BodyError;
use crate::fault::{Action, code_for_http_status, http_status_for_code};
use crate::request::{Answer, Headers, Payload, Protocol, Signal};
use crate::shared::{ConnCtx, RequestMeta, Shared, drop_connection};

const PROTOBUF: &str = "application/x-protobuf";
const JSON: &str = "application/json";

/// A supported `Content-Encoding`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Gzip,
    Zstd,
}

impl Encoding {
    fn name(self) -> &'static str {
        match self {
            Encoding::Gzip => "gzip",
            Encoding::Zstd => "zstd",
        }
    }
}

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

/// Reads at most `limit` decompressed bytes.
fn read_limited(reader: impl Read, limit: usize, encoding: Encoding) -> Result<Vec<u8>, BodyError> {
    let mut out = Vec::new();
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    reader
        .take(cap)
        .read_to_end(&mut out)
        .map_err(|source| BodyError::Decompress {
            encoding: encoding.name().to_owned(),
            source,
        })?;
    if out.len() > limit {
        return Err(BodyError::TooLarge { limit });
    }
    Ok(out)
}

/// Decompresses a body (at most `limit` bytes out).
fn decompress(encoding: Option<Encoding>, raw: Bytes, limit: usize) -> Result<Bytes, BodyError> {
    match encoding {
        None => Ok(raw),
        Some(Encoding::Gzip) => read_limited(
            flate2::read::MultiGzDecoder::new(&raw[..]),
            limit,
            Encoding::Gzip,
        )
        .map(Bytes::from),
        Some(Encoding::Zstd) => {
            let decoder = zstd::stream::read::Decoder::with_buffer(&raw[..]).map_err(|source| {
                BodyError::Decompress {
                    encoding: "zstd".to_owned(),
                    source,
                }
            })?;
            read_limited(decoder, limit, Encoding::Zstd).map(Bytes::from)
        }
    }
}

/// Decodes a protobuf export request of `signal`.
fn decode_protobuf(signal: Signal, body: &[u8]) -> Result<Payload, BodyError> {
    Ok(match signal {
        Signal::Traces => Payload::Traces(ExportTraceServiceRequest::decode(body)?),
        Signal::Metrics => Payload::Metrics(ExportMetricsServiceRequest::decode(body)?),
        Signal::Logs => Payload::Logs(ExportLogsServiceRequest::decode(body)?),
    })
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
        Some("gzip" | "x-gzip") => Some(Encoding::Gzip),
        Some("zstd") => Some(Encoding::Zstd),
        Some(other) => {
            let message = format!("unsupported content encoding {other:?}; use gzip or zstd");
            return refuse(meta, StatusCode::UNSUPPORTED_MEDIA_TYPE, message);
        }
    };

    let limit = shared.max_body_size;
    let raw = match Limited::new(req.into_body(), limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(err) if err.is::<LengthLimitError>() => {
            let message = BodyError::TooLarge { limit }.to_string();
            return refuse(meta, StatusCode::PAYLOAD_TOO_LARGE, message);
        }
        Err(err) => {
            let message = format!("cannot read the request body: {err}");
            return refuse(meta, StatusCode::BAD_REQUEST, message);
        }
    };
    meta.body_size = raw.len();
    let body = match decompress(encoding, raw, limit) {
        Ok(body) => body,
        Err(err @ BodyError::TooLarge { .. }) => {
            return refuse(meta, StatusCode::PAYLOAD_TOO_LARGE, err.to_string());
        }
        Err(err) => return refuse(meta, StatusCode::BAD_REQUEST, err.to_string()),
    };
    meta.decoded_size = body.len();
    let decoded = match protocol {
        Protocol::HttpJson => crate::json::decode(signal, &body),
        _ => decode_protobuf(signal, &body),
    };
    let payload = match decoded {
        Ok(payload) => payload,
        Err(err) => return refuse(meta, StatusCode::BAD_REQUEST, err.to_string()),
    };

    let content_type = if protocol == Protocol::HttpJson {
        JSON
    } else {
        PROTOBUF
    };
    match shared.process(meta, &conn, payload).await {
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
    use std::io::Write as _;

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

    #[test]
    fn decompression_round_trips_and_enforces_the_limit() {
        let data = vec![b'x'; 10_000];
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&data).unwrap();
        let gz = Bytes::from(gz.finish().unwrap());
        let zs = Bytes::from(zstd::encode_all(&data[..], 3).unwrap());
        assert_eq!(
            decompress(Some(Encoding::Gzip), gz.clone(), 10_000).unwrap(),
            data
        );
        assert_eq!(
            decompress(Some(Encoding::Zstd), zs.clone(), 10_000).unwrap(),
            data
        );
        assert!(matches!(
            decompress(Some(Encoding::Gzip), gz, 9_999),
            Err(BodyError::TooLarge { limit: 9_999 })
        ));
        assert!(matches!(
            decompress(Some(Encoding::Zstd), zs, 100),
            Err(BodyError::TooLarge { limit: 100 })
        ));
        let err =
            decompress(Some(Encoding::Gzip), Bytes::from_static(b"not gzip"), 100).unwrap_err();
        assert!(err.to_string().contains("gzip"), "{err}");
    }
}
