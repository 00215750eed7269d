//! Request encoding (protobuf, JSON), item counts, envelope pruning, and the
//! decoding of responses: `Export*ServiceResponse` on success (partial
//! success, checklist 2.11) and `google.rpc.Status` on failure (2.6).

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceResponse;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceResponse;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use otlpkit_core::Signal;
use otlpkit_exporter::{Accepted, ExportError};
use prost::Message;

/// The body encoding of an OTLP/HTTP exporter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    /// `application/x-protobuf`.
    Protobuf,
    /// `application/json` (checklist 2.15).
    #[cfg(feature = "json")]
    Json,
}

impl Encoding {
    /// The `Content-Type` of a request (checklist 1.17).
    pub(crate) fn content_type(self) -> &'static str {
        match self {
            Encoding::Protobuf => "application/x-protobuf",
            #[cfg(feature = "json")]
            Encoding::Json => "application/json",
        }
    }
}

/// The media type of a `Content-Type` value, lowercased, without parameters.
pub(crate) fn media_type(value: &str) -> String {
    value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// Whether a response with this `Content-Type` is JSON; without a type the
/// server answered in the request's encoding (checklist 1.17).
fn is_json(content_type: Option<&str>, encoding: Encoding) -> bool {
    match content_type {
        Some(media) => media == "application/json" || media.ends_with("+json"),
        None => encoding != Encoding::Protobuf,
    }
}

/// What a 2xx response says: full or partial success (checklist 2.5, 2.11).
///
/// An empty body is a full success, and so is a body that cannot be decoded
/// (the status already says the data was accepted; the caller logs it).
/// Unknown JSON fields are ignored (2.15 d); `{"partialSuccess":null}`, which
/// some collectors send, is a full success.
pub(crate) fn decode_success(
    signal: Signal,
    content_type: Option<&str>,
    encoding: Encoding,
    body: &[u8],
) -> Result<Accepted, ExportError> {
    if body.is_empty() {
        return Ok(Accepted::full());
    }
    if is_json(content_type, encoding) {
        return decode_success_json(signal, body);
    }
    let partial = match signal {
        Signal::Traces => ExportTraceServiceResponse::decode(body).map(|r| {
            r.partial_success
                .map(|p| (p.rejected_spans, p.error_message))
        }),
        Signal::Metrics => ExportMetricsServiceResponse::decode(body).map(|r| {
            r.partial_success
                .map(|p| (p.rejected_data_points, p.error_message))
        }),
        _ => ExportLogsServiceResponse::decode(body).map(|r| {
            r.partial_success
                .map(|p| (p.rejected_log_records, p.error_message))
        }),
    }
    .map_err(|error| {
        ExportError::encoding(format!(
            "cannot decode the {signal} export response as protobuf: {error}"
        ))
    })?;
    Ok(match partial {
        Some((rejected, message)) => accepted(rejected, message),
        None => Accepted::full(),
    })
}

fn accepted(rejected: i64, message: String) -> Accepted {
    let rejected = u64::try_from(rejected).unwrap_or(0);
    if rejected == 0 && message.is_empty() {
        Accepted::full()
    } else {
        Accepted::partial(rejected, message)
    }
}

#[cfg(feature = "json")]
fn decode_success_json(signal: Signal, body: &[u8]) -> Result<Accepted, ExportError> {
    use serde_json::Value;

    let value: Value = serde_json::from_slice(body).map_err(|error| {
        ExportError::encoding(format!(
            "cannot decode the {signal} export response as JSON: {error}"
        ))
    })?;
    let field = |object: &Value, camel: &str, snake: &str| -> Option<Value> {
        object.get(camel).or_else(|| object.get(snake)).cloned()
    };
    let Some(partial) = field(&value, "partialSuccess", "partial_success") else {
        return Ok(Accepted::full());
    };
    if partial.is_null() {
        return Ok(Accepted::full());
    }
    let (camel, snake) = match signal {
        Signal::Traces => ("rejectedSpans", "rejected_spans"),
        Signal::Metrics => ("rejectedDataPoints", "rejected_data_points"),
        _ => ("rejectedLogRecords", "rejected_log_records"),
    };
    // proto3 JSON writes int64 as a string; numbers are accepted too.
    let rejected = match field(&partial, camel, snake) {
        Some(Value::Number(number)) => number.as_i64().unwrap_or(0),
        Some(Value::String(text)) => text.trim().parse::<i64>().unwrap_or(0),
        _ => 0,
    };
    let message = match field(&partial, "errorMessage", "error_message") {
        Some(Value::String(text)) => text,
        _ => String::new(),
    };
    Ok(accepted(rejected, message))
}

#[cfg(not(feature = "json"))]
fn decode_success_json(signal: Signal, _body: &[u8]) -> Result<Accepted, ExportError> {
    Err(ExportError::encoding(format!(
        "the {signal} export response is JSON, which this build (without the `json` feature) \
         cannot decode"
    )))
}

/// `google.rpc.Status`, the body of an OTLP/HTTP error response (checklist
/// 2.6). Only the message is used; `code` is ignored as the spec asks, and
/// `details` are skipped as unknown fields.
#[derive(Clone, PartialEq, Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

/// Longest server message kept in an error.
const MAX_MESSAGE_CHARS: usize = 256;

/// The `google.rpc.Status` message of an error response, if the body
/// decodes; a short plain-text body is taken as the message.
pub(crate) fn error_message(
    content_type: Option<&str>,
    encoding: Encoding,
    body: &[u8],
) -> Option<String> {
    if body.is_empty() {
        return None;
    }
    let message = if is_json(content_type, encoding) {
        status_message_json(body)
    } else if content_type.is_some_and(|media| media.starts_with("text/")) {
        std::str::from_utf8(body)
            .ok()
            .map(|text| text.trim().to_owned())
    } else {
        RpcStatus::decode(body).ok().map(|status| status.message)
    }?;
    let message: String = message
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_MESSAGE_CHARS)
        .collect();
    (!message.is_empty()).then_some(message)
}

#[cfg(feature = "json")]
fn status_message_json(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    value.get("message")?.as_str().map(str::to_owned)
}

#[cfg(not(feature = "json"))]
fn status_message_json(body: &[u8]) -> Option<String> {
    std::str::from_utf8(body).ok().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTracePartialSuccess;

    #[test]
    fn empty_and_absent_partial_success_are_full_success() {
        // checklist 2.5, 2.11
        let full = Accepted::full();
        for (content_type, body) in [
            (Some("application/x-protobuf"), &b""[..]),
            (Some("application/json"), &b""[..]),
            (None, &b""[..]),
        ] {
            assert_eq!(
                decode_success(Signal::Traces, content_type, Encoding::Protobuf, body).unwrap(),
                full
            );
        }
        let encoded = ExportTraceServiceResponse {
            partial_success: None,
        }
        .encode_to_vec();
        assert_eq!(
            decode_success(
                Signal::Traces,
                Some("application/x-protobuf"),
                Encoding::Protobuf,
                &encoded
            )
            .unwrap(),
            full
        );
    }

    #[test]
    fn protobuf_partial_success_is_decoded() {
        // checklist 2.11
        let encoded = ExportTraceServiceResponse {
            partial_success: Some(ExportTracePartialSuccess {
                rejected_spans: 3,
                error_message: "bad spans".into(),
            }),
        }
        .encode_to_vec();
        let accepted = decode_success(Signal::Traces, None, Encoding::Protobuf, &encoded).unwrap();
        assert_eq!(accepted, Accepted::partial(3, "bad spans"));
        // A negative count from a broken server is not an item count.
        let encoded = ExportTraceServiceResponse {
            partial_success: Some(ExportTracePartialSuccess {
                rejected_spans: -5,
                error_message: String::new(),
            }),
        }
        .encode_to_vec();
        assert_eq!(
            decode_success(Signal::Traces, None, Encoding::Protobuf, &encoded).unwrap(),
            Accepted::full()
        );
        let error =
            decode_success(Signal::Logs, None, Encoding::Protobuf, &[0xff, 0xff]).unwrap_err();
        assert!(error.to_string().contains("logs"), "{error}");
    }

    #[cfg(feature = "json")]
    #[test]
    fn json_partial_success_is_tolerant() {
        // checklist 2.11, 2.15 d/e
        let json = Some("application/json");
        let cases: [(&str, Signal, Accepted); 7] = [
            (
                r#"{"partialSuccess":null}"#,
                Signal::Traces,
                Accepted::full(),
            ),
            (r#"{}"#, Signal::Logs, Accepted::full()),
            (
                r#"{"partialSuccess":{"rejectedSpans":"2","errorMessage":"x"},"unknown":1}"#,
                Signal::Traces,
                Accepted::partial(2, "x"),
            ),
            (
                r#"{"partialSuccess":{"rejectedDataPoints":7}}"#,
                Signal::Metrics,
                Accepted::partial(7, ""),
            ),
            (
                r#"{"partial_success":{"rejected_log_records":"1","error_message":"y"}}"#,
                Signal::Logs,
                Accepted::partial(1, "y"),
            ),
            (
                r#"{"partialSuccess":{"errorMessage":"deprecated"}}"#,
                Signal::Logs,
                Accepted::partial(0, "deprecated"),
            ),
            (r#"{"partialSuccess":{}}"#, Signal::Traces, Accepted::full()),
        ];
        for (body, signal, expected) in cases {
            assert_eq!(
                decode_success(signal, json, Encoding::Json, body.as_bytes()).unwrap(),
                expected,
                "{body}"
            );
        }
        // The type of a JSON exporter's response is JSON when not given.
        assert_eq!(
            decode_success(
                Signal::Traces,
                None,
                Encoding::Json,
                br#"{"partialSuccess":{"rejectedSpans":1}}"#
            )
            .unwrap()
            .rejected,
            1
        );
        assert!(decode_success(Signal::Traces, json, Encoding::Json, b"not json").is_err());
    }

    #[test]
    fn error_bodies_yield_the_status_message() {
        // checklist 2.6
        let status = RpcStatus {
            code: 3,
            message: "bad data".into(),
        }
        .encode_to_vec();
        assert_eq!(
            error_message(Some("application/x-protobuf"), Encoding::Protobuf, &status).as_deref(),
            Some("bad data")
        );
        assert_eq!(
            error_message(Some("text/plain"), Encoding::Protobuf, b"  go away\n").as_deref(),
            Some("go away")
        );
        assert_eq!(error_message(None, Encoding::Protobuf, b""), None);
        let long = "x".repeat(1000);
        assert_eq!(
            error_message(Some("text/plain"), Encoding::Protobuf, long.as_bytes())
                .unwrap()
                .len(),
            MAX_MESSAGE_CHARS
        );
        #[cfg(feature = "json")]
        assert_eq!(
            error_message(
                Some("application/json"),
                Encoding::Protobuf,
                br#"{"code":8,"message":"slow down","details":[]}"#
            )
            .as_deref(),
            Some("slow down")
        );
    }

    #[cfg(feature = "json")]
    #[test]
    fn json_metrics_follow_the_otlp_json_rules() {
        use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
        use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
        use opentelemetry_proto::tonic::metrics::v1::{
            Exemplar, Histogram, HistogramDataPoint, Sum, exemplar, number_data_point,
        };
        use opentelemetry_proto::tonic::metrics::v1::{
            Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, metric,
        };
        let exemplar = Exemplar {
            filtered_attributes: vec![],
            time_unix_nano: 1_700_000_000_000_000_123,
            span_id: vec![0xAB; 8],
            trace_id: vec![0x0F; 16],
            value: Some(exemplar::Value::AsInt(-9_007_199_254_740_993)),
        };
        let request = ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                scope_metrics: vec![ScopeMetrics {
                    metrics: vec![
                        Metric {
                            name: "sum".into(),
                            data: Some(metric::Data::Sum(Sum {
                                data_points: vec![NumberDataPoint {
                                    attributes: vec![KeyValue {
                                        key: "ratio".into(),
                                        value: Some(AnyValue {
                                            value: Some(any_value::Value::DoubleValue(f64::NAN)),
                                        }),
                                        key_strindex: 0,
                                    }],
                                    time_unix_nano: 1_700_000_000_000_000_001,
                                    exemplars: vec![exemplar],
                                    value: Some(number_data_point::Value::AsInt(i64::MAX)),
                                    ..Default::default()
                                }],
                                aggregation_temporality: 1,
                                is_monotonic: true,
                            })),
                            ..Default::default()
                        },
                        Metric {
                            name: "histogram".into(),
                            data: Some(metric::Data::Histogram(Histogram {
                                data_points: vec![HistogramDataPoint {
                                    count: 2,
                                    sum: Some(f64::INFINITY),
                                    min: Some(f64::NEG_INFINITY),
                                    max: Some(1.5),
                                    bucket_counts: vec![1, 1],
                                    explicit_bounds: vec![0.5],
                                    ..Default::default()
                                }],
                                aggregation_temporality: 2,
                            })),
                            ..Default::default()
                        },
                    ],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        let bytes = crate::json::to_vec(&request).unwrap();
        let text = std::str::from_utf8(&bytes).unwrap();
        // Compact: no pretty-printing.
        assert!(!text.contains('\n') && !text.contains(": "), "{text}");
        let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let metrics = &value["resourceMetrics"][0]["scopeMetrics"][0]["metrics"];
        let sum = &metrics[0]["sum"];
        // b: enums are integers.
        assert_eq!(sum["aggregationTemporality"], 1);
        assert_eq!(sum["isMonotonic"], true);
        let point = &sum["dataPoints"][0];
        // e: 64-bit integers as decimal strings.
        assert_eq!(point["timeUnixNano"], "1700000000000000001");
        assert_eq!(point["asInt"], i64::MAX.to_string());
        // e: non-finite doubles as strings.
        assert_eq!(point["attributes"][0]["value"]["doubleValue"], "NaN");
        // a: exemplar ids are lowercase hex.
        let exemplar = &point["exemplars"][0];
        assert_eq!(exemplar["spanId"], "abababababababab");
        assert_eq!(exemplar["traceId"], "0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f");
        assert_eq!(exemplar["asInt"], "-9007199254740993");
        assert_eq!(exemplar["timeUnixNano"], "1700000000000000123");
        let histogram = &metrics[1]["histogram"]["dataPoints"][0];
        assert_eq!(histogram["count"], "2");
        assert_eq!(histogram["bucketCounts"], serde_json::json!(["1", "1"]));
        assert_eq!(histogram["sum"], "Infinity");
        assert_eq!(histogram["min"], "-Infinity");
        assert_eq!(histogram["max"], 1.5);
        // c: no snake_case key anywhere.
        assert!(
            !text.contains("_count") && !text.contains("time_unix"),
            "{text}"
        );
    }

    #[test]
    fn media_types_ignore_parameters_and_case() {
        assert_eq!(
            media_type("Application/JSON; charset=utf-8"),
            "application/json"
        );
        assert!(is_json(
            Some("application/problem+json"),
            Encoding::Protobuf
        ));
        assert!(!is_json(None, Encoding::Protobuf));
    }
}
