//! Request encoding (protobuf, JSON), item counts, envelope pruning, and the
//! decoding of responses: `Export*ServiceResponse` on success (partial
//! success, checklist 2.11) and `google.rpc.Status` on failure (2.6).

use otlpkit_core::Signal;
use otlpkit_exporter::{Accepted, ExportError};
use prost::DecodeError;
use prost::bytes::Buf as _;
use prost::encoding::{
    DecodeContext, WireType, check_wire_type, decode_key, int32, int64, merge_loop, skip_field,
    string,
};

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
    let partial = decode_partial_success(body).map_err(|error| {
        ExportError::encoding(format!(
            "cannot decode the {signal} export response as protobuf: {error}"
        ))
    })?;
    Ok(match partial {
        Some(partial) => accepted(partial.rejected, partial.error_message),
        None => Accepted::full(),
    })
}

/// `Export{Trace,Metrics,Logs}PartialSuccess`: the three messages have the
/// same fields (`rejected_spans`, `rejected_data_points`,
/// `rejected_log_records` are all field 1).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct PartialSuccess {
    /// Field 1, `int64`.
    rejected: i64,
    /// Field 2, `string`.
    error_message: String,
}

/// Calls `field` with each field of the message in `buf` (to its end),
/// skipping nothing itself: `field` merges the fields it knows and skips
/// the others with [`skip_field`].
fn for_each_field<B: prost::bytes::Buf>(
    buf: &mut B,
    ctx: &DecodeContext,
    mut field: impl FnMut(u32, WireType, &mut B, DecodeContext) -> Result<(), DecodeError>,
) -> Result<(), DecodeError> {
    while buf.has_remaining() {
        let (tag, wire_type) = decode_key(buf)?;
        field(tag, wire_type, buf, ctx.clone())?;
    }
    Ok(())
}

/// The `partial_success` (field 1) of an `Export*ServiceResponse`, decoded
/// as prost decodes the generated messages (`opentelemetry-proto`), without
/// them: unknown fields skipped, a field of the wrong wire type, a
/// truncated or overlong field, a bad key or invalid UTF-8 an error; a
/// message field given twice is merged, as protobuf asks.
fn decode_partial_success(mut body: &[u8]) -> Result<Option<PartialSuccess>, DecodeError> {
    let mut partial: Option<PartialSuccess> = None;
    for_each_field(
        &mut body,
        &DecodeContext::default(),
        |tag, wire_type, buf, ctx| match tag {
            1 => {
                check_wire_type(WireType::LengthDelimited, wire_type)?;
                let partial = partial.get_or_insert_with(PartialSuccess::default);
                merge_loop(partial, buf, ctx, |partial, buf, ctx| {
                    let (tag, wire_type) = decode_key(buf)?;
                    match tag {
                        1 => int64::merge(wire_type, &mut partial.rejected, buf, ctx),
                        2 => string::merge(wire_type, &mut partial.error_message, buf, ctx),
                        _ => skip_field(wire_type, tag, buf, ctx),
                    }
                })
            }
            _ => skip_field(wire_type, tag, buf, ctx),
        },
    )?;
    Ok(partial)
}

/// The `message` (field 2) of a `google.rpc.Status`, decoded as prost
/// decodes the generated message (tonic-types'): `code` (field 1) is
/// checked and ignored as the specification asks, each of the `details`
/// (3, `google.protobuf.Any`: a `type_url` string and a `value`) checked
/// and dropped, unknown fields skipped.
fn decode_status_message(mut body: &[u8]) -> Result<String, DecodeError> {
    let mut code = 0i32;
    let mut message = String::new();
    // A detail's type URL, checked for UTF-8; bounded by the body.
    let mut type_url = String::new();
    for_each_field(
        &mut body,
        &DecodeContext::default(),
        |tag, wire_type, buf, ctx| match tag {
            1 => int32::merge(wire_type, &mut code, buf, ctx),
            2 => string::merge(wire_type, &mut message, buf, ctx),
            3 => {
                check_wire_type(WireType::LengthDelimited, wire_type)?;
                merge_loop(&mut type_url, buf, ctx, |type_url, buf, ctx| {
                    let (tag, wire_type) = decode_key(buf)?;
                    match tag {
                        1 => string::merge(wire_type, type_url, buf, ctx),
                        2 => {
                            check_wire_type(WireType::LengthDelimited, wire_type)?;
                            skip_field(wire_type, tag, buf, ctx)
                        }
                        _ => skip_field(wire_type, tag, buf, ctx),
                    }
                })
            }
            _ => skip_field(wire_type, tag, buf, ctx),
        },
    )?;
    Ok(message)
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
    // proto3 JSON writes int64 as a string; numbers are accepted too, and
    // as proto3 JSON parsers do, an integral value in float form (`2.0`,
    // `"2e0"`, from a collector that goes through doubles).
    let rejected = match field(&partial, camel, snake) {
        Some(Value::Number(number)) => number
            .as_i64()
            .or_else(|| number.as_f64().and_then(integral))
            .unwrap_or(0),
        Some(Value::String(text)) => {
            let text = text.trim();
            text.parse::<i64>()
                .ok()
                .or_else(|| text.parse::<f64>().ok().and_then(integral))
                .unwrap_or(0)
        }
        _ => 0,
    };
    let message = match field(&partial, "errorMessage", "error_message") {
        Some(Value::String(text)) => text,
        _ => String::new(),
    };
    Ok(accepted(rejected, message))
}

/// `value` as an `i64` when it is a whole number in range (`2.0`), else
/// `None` (`2.5`, `NaN`, `1e300`).
#[cfg(feature = "json")]
fn integral(value: f64) -> Option<i64> {
    // i64::MAX is not exact as f64: stay strictly below 2^63.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    (value.fract() == 0.0 && (-LIMIT..LIMIT).contains(&value)).then_some(value as i64)
}

#[cfg(not(feature = "json"))]
fn decode_success_json(signal: Signal, _body: &[u8]) -> Result<Accepted, ExportError> {
    Err(ExportError::encoding(format!(
        "the {signal} export response is JSON, which this build (without the `json` feature) \
         cannot decode"
    )))
}

/// The `google.rpc.Status` message of an error response, if the body
/// decodes; a plain-text body is taken as the message.
///
/// Not shortened here: the exporter core removes the configured secrets
/// from it first and then cuts it ([`ExportError`]'s message goes through
/// its redactor), because a secret cut in half here would no longer be
/// recognised there. The body itself is bounded by the maximum response
/// size.
///
/// [`ExportError`]: otlpkit_exporter::ExportError
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
        // `google.rpc.Status`, the body of an OTLP/HTTP error response.
        decode_status_message(body).ok()
    }?;
    // Control and bidi characters are made harmless by the exporter core's
    // redactor, as in every other server text.
    let message = message.trim().to_owned();
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

    /// What the generated message decodes `body` to, as our decoder gives
    /// it.
    fn generated(body: &[u8]) -> Result<Option<PartialSuccess>, ()> {
        ExportTraceServiceResponse::decode(body)
            .map(|response| {
                response.partial_success.map(|partial| PartialSuccess {
                    rejected: partial.rejected_spans,
                    error_message: partial.error_message,
                })
            })
            .map_err(drop)
    }

    /// Bodies encoded by the generated types, for every signal, and with
    /// unknown fields of every wire type around and inside the partial
    /// success, and a partial success given twice (merged).
    fn response_bodies() -> Vec<Vec<u8>> {
        let mut bodies = vec![
            ExportTraceServiceResponse {
                partial_success: Some(ExportTracePartialSuccess {
                    rejected_spans: 3,
                    error_message: "bad spans".into(),
                }),
            }
            .encode_to_vec(),
            ExportMetricsServiceResponse {
                partial_success: Some(ExportMetricsPartialSuccess {
                    rejected_data_points: i64::MAX,
                    error_message: "ünïcode ✓".into(),
                }),
            }
            .encode_to_vec(),
            ExportLogsServiceResponse {
                partial_success: Some(ExportLogsPartialSuccess {
                    rejected_log_records: -1,
                    error_message: String::new(),
                }),
            }
            .encode_to_vec(),
            ExportLogsServiceResponse {
                partial_success: Some(ExportLogsPartialSuccess::default()),
            }
            .encode_to_vec(),
            ExportTraceServiceResponse::default().encode_to_vec(),
        ];
        // Unknown fields: varint 5, fixed64 6, length-delimited 7, fixed32 8,
        // an empty group 9.
        let unknown: &[u8] = &[
            0x28, 0x96, 0x01, 0x31, 1, 2, 3, 4, 5, 6, 7, 8, 0x3a, 2, b'h', b'i', 0x45, 1, 2, 3, 4,
            0x4b, 0x4c,
        ];
        let mut inner = vec![0x08, 0x07]; // rejected = 7
        inner.extend_from_slice(unknown);
        inner.extend_from_slice(&[0x12, 1, b'x']); // error_message = "x"
        let mut wrapped = unknown.to_vec();
        wrapped.push(0x0a);
        wrapped.push(inner.len() as u8);
        wrapped.extend_from_slice(&inner);
        wrapped.extend_from_slice(unknown);
        bodies.push(wrapped.clone());
        // Twice: the second occurrence merges into the first.
        let mut twice = bodies[0].clone();
        twice.extend_from_slice(&[0x0a, 2, 0x08, 0x09]);
        bodies.push(twice);
        bodies
    }

    #[test]
    fn partial_success_decodes_as_the_generated_messages_do() {
        // checklist 2.11, against opentelemetry-proto's generated types.
        for body in response_bodies() {
            let ours = decode_partial_success(&body).map_err(drop);
            assert_eq!(ours, generated(&body), "{body:02x?}");
            assert!(ours.is_ok(), "{body:02x?}");
        }
        let merged = decode_partial_success(response_bodies().last().unwrap()).unwrap();
        assert_eq!(
            merged,
            Some(PartialSuccess {
                rejected: 9,
                error_message: "bad spans".into()
            })
        );
        let unknown = &response_bodies()[5];
        assert_eq!(
            decode_partial_success(unknown).unwrap(),
            Some(PartialSuccess {
                rejected: 7,
                error_message: "x".into()
            })
        );
    }

    #[test]
    fn malformed_responses_are_errors_as_for_the_generated_messages() {
        // Every truncation and many one-byte changes of valid bodies: the
        // same outcome as prost's generated decoding, never a panic.
        let mut checked = 0;
        let mut errors = 0;
        for body in response_bodies() {
            for end in 0..body.len() {
                let cut = &body[..end];
                let ours = decode_partial_success(cut).map_err(drop);
                assert_eq!(ours, generated(cut), "{cut:02x?}");
                errors += usize::from(ours.is_err());
                checked += 1;
            }
            for at in 0..body.len() {
                for byte in [
                    0x00, 0x01, 0x07, 0x0a, 0x0b, 0x0c, 0x12, 0x7f, 0x80, 0xc3, 0xff,
                ] {
                    let mut changed = body.clone();
                    changed[at] = byte;
                    let ours = decode_partial_success(&changed).map_err(drop);
                    assert_eq!(ours, generated(&changed), "{changed:02x?}");
                    errors += usize::from(ours.is_err());
                    checked += 1;
                }
            }
        }
        assert!(
            checked > 1000 && errors > 100,
            "{checked} checked, {errors} errors"
        );
        // Invalid UTF-8 in the message, a wrong wire type, tag 0.
        for body in [
            &[0x0a, 0x03, 0x12, 0x01, 0xff][..],
            &[0x0a, 0x02, 0x0a, 0x00][..],
            &[0x08, 0x01][..],
            &[0x00, 0x01][..],
        ] {
            assert!(decode_partial_success(body).is_err(), "{body:02x?}");
            assert!(generated(body).is_err(), "{body:02x?}");
        }
        let error =
            decode_success(Signal::Metrics, None, Encoding::Protobuf, &[0x0a, 0x05]).unwrap_err();
        assert!(error.to_string().contains("metrics"), "{error}");
    }

    #[test]
    fn status_bodies_decode_as_the_generated_message_does() {
        // checklist 2.6, against tonic-types' generated `google.rpc.Status`.
        let status = |code: i32, message: &str, details: usize| {
            let mut body = tonic_types::Status {
                code,
                message: message.into(),
                details: vec![],
            }
            .encode_to_vec();
            // `details`: `google.protobuf.Any { type_url: "t/x", value: [1, 2] }`.
            for _ in 0..details {
                body.extend_from_slice(&[0x1a, 9, 0x0a, 3, b't', b'/', b'x', 0x12, 2, 1, 2]);
            }
            body
        };
        let bodies = [
            status(3, "bad data", 0),
            status(-1, "", 0),
            status(8, "slow down ✓", 2),
            status(0, "only", 1),
        ];
        for body in &bodies {
            let reference = tonic_types::Status::decode(body.as_slice()).map(|s| s.message);
            assert_eq!(decode_status_message(body).ok(), reference.ok());
            for end in 0..body.len() {
                let reference =
                    tonic_types::Status::decode(&body[..end]).map(|status| status.message);
                assert_eq!(
                    decode_status_message(&body[..end]).ok(),
                    reference.ok(),
                    "{:02x?}",
                    &body[..end]
                );
            }
            for at in 0..body.len() {
                for byte in [0x00, 0x08, 0x0a, 0x12, 0x1a, 0x80, 0xff] {
                    let mut changed = body.clone();
                    changed[at] = byte;
                    let reference =
                        tonic_types::Status::decode(changed.as_slice()).map(|s| s.message);
                    assert_eq!(
                        decode_status_message(&changed).ok(),
                        reference.ok(),
                        "{changed:02x?}"
                    );
                }
            }
        }
        assert_eq!(
            error_message(None, Encoding::Protobuf, &bodies[2]).as_deref(),
            Some("slow down ✓")
        );
        // A code of the wrong wire type makes the body undecodable.
        assert_eq!(
            error_message(None, Encoding::Protobuf, &[0x0d, 1, 2, 3, 4]),
            None
        );
    }

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
        let cases: [(&str, Signal, Accepted); 11] = [
            // An integral int64 in float form, number or string.
            (
                r#"{"partialSuccess":{"rejectedSpans":2.0,"errorMessage":"x"}}"#,
                Signal::Traces,
                Accepted::partial(2, "x"),
            ),
            (
                r#"{"partialSuccess":{"rejectedDataPoints":"3e0"}}"#,
                Signal::Metrics,
                Accepted::partial(3, ""),
            ),
            // Not a whole number, or out of range: nothing counted rejected.
            (
                r#"{"partialSuccess":{"rejectedSpans":2.5,"errorMessage":"x"}}"#,
                Signal::Traces,
                Accepted::partial(0, "x"),
            ),
            (
                r#"{"partialSuccess":{"rejectedSpans":1e300,"errorMessage":"x"}}"#,
                Signal::Traces,
                Accepted::partial(0, "x"),
            ),
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
        let status = tonic_types::Status {
            code: 3,
            message: "bad data".into(),
            details: vec![],
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
        // Cut by the exporter core once its secrets are out, not here.
        let long = "x".repeat(5000);
        assert_eq!(
            error_message(Some("text/plain"), Encoding::Protobuf, long.as_bytes()).as_deref(),
            Some(long.as_str())
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
