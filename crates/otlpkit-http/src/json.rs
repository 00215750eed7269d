//! OTLP/JSON serialization (checklist 2.15).
//!
//! `opentelemetry-proto`'s `with-serde` derives already write what OTLP/JSON
//! asks for: lowercase hex trace and span ids everywhere (spans, links, log
//! records, exemplars), enums as integers, lowerCamelCase keys, 64-bit
//! integers as decimal strings and `bytesValue` in base64. One departure
//! remains: a non-finite `double` (an attribute's `doubleValue`, a data
//! point's `asDouble`, a histogram's `sum`/`min`/`max`, ...) comes out of
//! `serde_json` as `null`, where proto3 JSON writes `"NaN"`, `"Infinity"` or
//! `"-Infinity"`. [`SpecialFloats`] wraps the serializer and fixes exactly
//! that, at no cost for finite values: every other call is forwarded.

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::{Metric, metric};
use otlpkit_exporter::{ExportError, Payload};
use serde::ser::{
    Serialize, SerializeMap, SerializeSeq, SerializeStruct, SerializeStructVariant, SerializeTuple,
    SerializeTupleStruct, SerializeTupleVariant, Serializer,
};

/// The OTLP/JSON body of a payload, through `opentelemetry-proto`'s
/// messages (the protobuf bodies are written straight from SDK data).
pub(crate) fn encode_payload(payload: Payload<'_>) -> Result<Vec<u8>, ExportError> {
    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
    use opentelemetry_proto::transform::logs::tonic::group_logs_by_resource_and_scope;
    use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;

    match payload {
        Payload::Spans { spans, resource } => to_vec(&ExportTraceServiceRequest {
            resource_spans: group_spans_by_resource_and_scope(
                spans.to_vec(),
                &ResourceAttributesWithSchema::from(resource),
            ),
        }),
        Payload::Logs { logs, resource } => {
            let mut request = ExportLogsServiceRequest {
                resource_logs: group_logs_by_resource_and_scope(
                    logs,
                    &ResourceAttributesWithSchema::from(resource),
                ),
            };
            omit_invalid_log_ids(&mut request);
            to_vec(&request)
        }
        Payload::Metrics(metrics) => {
            let mut request = ExportMetricsServiceRequest::from(metrics);
            saturate_u64_values(metrics, &mut request);
            prune_metrics(&mut request);
            to_vec(&request)
        }
        Payload::SpanRecords { records, resource } => to_vec(&ExportTraceServiceRequest {
            resource_spans: group_spans_by_resource_and_scope(
                records
                    .iter()
                    .map(|record| (**record).clone().into_span_data())
                    .collect(),
                &ResourceAttributesWithSchema::from(resource),
            ),
        }),
        // `Payload` is non-exhaustive: a new kind is encoded when supported.
        _ => Err(ExportError::encoding(
            "this payload has no OTLP/JSON encoding in otlpkit-http",
        )),
    }
}

/// Leaves out a log record's invalid ids (checklist 2.17), as the protobuf
/// encoding (`otlpkit_wire::encode_logs`) does, where
/// `opentelemetry-proto`'s conversion writes zeros: a record without a
/// valid (non-zero) trace id has no trace context (no ids, no flags), and
/// an all-zero span id is omitted.
fn omit_invalid_log_ids(
    request: &mut opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest,
) {
    let zero = |id: &[u8]| id.iter().all(|byte| *byte == 0);
    for record in request
        .resource_logs
        .iter_mut()
        .flat_map(|resource| resource.scope_logs.iter_mut())
        .flat_map(|scope| scope.log_records.iter_mut())
    {
        if zero(&record.trace_id) {
            record.trace_id.clear();
            record.span_id.clear();
            record.flags = 0;
        } else if zero(&record.span_id) {
            record.span_id.clear();
        }
    }
}

/// Writes each `u64` data point value above `i64::MAX` as `i64::MAX`,
/// saturated, as the protobuf encoding (`otlpkit_wire::encode_metrics`)
/// does: OTLP's `NumberDataPoint` holds only an `int64` or a `double`, and
/// `opentelemetry-proto`'s conversion writes such a value as 0. The request
/// is the conversion of `metrics`, not yet pruned: scope for scope, metric
/// for metric and point for point in the SDK's order. (Exemplars, which the
/// 0.33 SDK never records, are left as converted.)
fn saturate_u64_values(
    metrics: &opentelemetry_sdk::metrics::data::ResourceMetrics,
    request: &mut ExportMetricsServiceRequest,
) {
    use opentelemetry_proto::tonic::metrics::v1::NumberDataPoint;
    use opentelemetry_proto::tonic::metrics::v1::number_data_point::Value;
    use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
    let scopes = request
        .resource_metrics
        .iter_mut()
        .flat_map(|resource| resource.scope_metrics.iter_mut());
    for (sdk, converted) in metrics.scope_metrics().zip(scopes) {
        for (sdk, converted) in sdk.metrics().zip(converted.metrics.iter_mut()) {
            let (AggregatedMetrics::U64(data), Some(converted)) = (sdk.data(), &mut converted.data)
            else {
                continue;
            };
            let saturate = |(value, point): (u64, &mut NumberDataPoint)| {
                if i64::try_from(value).is_err() {
                    point.value = Some(Value::AsInt(i64::MAX));
                }
            };
            match (data, converted) {
                (MetricData::Gauge(gauge), metric::Data::Gauge(converted)) => gauge
                    .data_points()
                    .map(|point| point.value())
                    .zip(converted.data_points.iter_mut())
                    .for_each(saturate),
                (MetricData::Sum(sum), metric::Data::Sum(converted)) => sum
                    .data_points()
                    .map(|point| point.value())
                    .zip(converted.data_points.iter_mut())
                    .for_each(saturate),
                _ => {}
            }
        }
    }
}

/// Data points in one metric, whatever its kind.
fn data_point_count(metric: &Metric) -> usize {
    match &metric.data {
        Some(metric::Data::Gauge(gauge)) => gauge.data_points.len(),
        Some(metric::Data::Sum(sum)) => sum.data_points.len(),
        Some(metric::Data::Histogram(histogram)) => histogram.data_points.len(),
        Some(metric::Data::ExponentialHistogram(histogram)) => histogram.data_points.len(),
        Some(metric::Data::Summary(summary)) => summary.data_points.len(),
        None => 0,
    }
}

/// Removes metrics without data points and the scope and resource envelopes
/// left empty (checklist 2.12), as the protobuf encoding
/// (`otlpkit_wire::encode_metrics`) leaves them out, and returns the number
/// of data points left.
fn prune_metrics(request: &mut ExportMetricsServiceRequest) -> u64 {
    let mut points = 0u64;
    request.resource_metrics.retain_mut(|resource| {
        resource.scope_metrics.retain_mut(|scope| {
            scope.metrics.retain(|metric| {
                let count = data_point_count(metric);
                points += count as u64;
                count > 0
            });
            !scope.metrics.is_empty()
        });
        !resource.scope_metrics.is_empty()
    });
    points
}

/// Encodes an OTLP request as OTLP/JSON (checklist 2.15), once; the
/// result is compressed once and reused by every attempt.
pub(crate) fn to_vec<T: prost::Message + Serialize>(request: &T) -> Result<Vec<u8>, ExportError> {
    // JSON is roughly twice the protobuf size for typical telemetry; one
    // traversal to size the buffer saves several reallocations.
    let mut out = Vec::with_capacity(request.encoded_len().saturating_mul(2));
    write(request, &mut out).map_err(|error| {
        ExportError::encoding(format!("cannot encode the request as OTLP/JSON: {error}"))
    })?;
    Ok(out)
}

/// Writes `value` as compact OTLP/JSON into `out`.
pub(crate) fn write<T: Serialize + ?Sized>(
    value: &T,
    out: &mut Vec<u8>,
) -> Result<(), serde_json::Error> {
    let mut serializer = serde_json::Serializer::new(out);
    value.serialize(SpecialFloats(&mut serializer))
}

/// The proto3 JSON spelling of a non-finite double, `None` for a finite one.
fn special(value: f64) -> Option<&'static str> {
    if value.is_nan() {
        Some("NaN")
    } else if value.is_infinite() {
        Some(if value > 0.0 { "Infinity" } else { "-Infinity" })
    } else {
        None
    }
}

/// A serializer that writes non-finite floats as proto3 JSON strings and
/// forwards everything else to the inner serializer.
pub(crate) struct SpecialFloats<S>(pub(crate) S);

/// A value whose serialization goes through [`SpecialFloats`].
struct Wrapped<'a, T: ?Sized>(&'a T);

impl<T: Serialize + ?Sized> Serialize for Wrapped<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(SpecialFloats(serializer))
    }
}

impl<S: Serializer> Serializer for SpecialFloats<S> {
    type Ok = S::Ok;
    type Error = S::Error;
    type SerializeSeq = SpecialFloats<S::SerializeSeq>;
    type SerializeTuple = SpecialFloats<S::SerializeTuple>;
    type SerializeTupleStruct = SpecialFloats<S::SerializeTupleStruct>;
    type SerializeTupleVariant = SpecialFloats<S::SerializeTupleVariant>;
    type SerializeMap = SpecialFloats<S::SerializeMap>;
    type SerializeStruct = SpecialFloats<S::SerializeStruct>;
    type SerializeStructVariant = SpecialFloats<S::SerializeStructVariant>;

    fn serialize_f64(self, v: f64) -> Result<S::Ok, S::Error> {
        match special(v) {
            Some(text) => self.0.serialize_str(text),
            None => self.0.serialize_f64(v),
        }
    }

    fn serialize_f32(self, v: f32) -> Result<S::Ok, S::Error> {
        match special(f64::from(v)) {
            Some(text) => self.0.serialize_str(text),
            None => self.0.serialize_f32(v),
        }
    }

    fn serialize_bool(self, v: bool) -> Result<S::Ok, S::Error> {
        self.0.serialize_bool(v)
    }
    fn serialize_i8(self, v: i8) -> Result<S::Ok, S::Error> {
        self.0.serialize_i8(v)
    }
    fn serialize_i16(self, v: i16) -> Result<S::Ok, S::Error> {
        self.0.serialize_i16(v)
    }
    fn serialize_i32(self, v: i32) -> Result<S::Ok, S::Error> {
        self.0.serialize_i32(v)
    }
    fn serialize_i64(self, v: i64) -> Result<S::Ok, S::Error> {
        self.0.serialize_i64(v)
    }
    fn serialize_i128(self, v: i128) -> Result<S::Ok, S::Error> {
        self.0.serialize_i128(v)
    }
    fn serialize_u8(self, v: u8) -> Result<S::Ok, S::Error> {
        self.0.serialize_u8(v)
    }
    fn serialize_u16(self, v: u16) -> Result<S::Ok, S::Error> {
        self.0.serialize_u16(v)
    }
    fn serialize_u32(self, v: u32) -> Result<S::Ok, S::Error> {
        self.0.serialize_u32(v)
    }
    fn serialize_u64(self, v: u64) -> Result<S::Ok, S::Error> {
        self.0.serialize_u64(v)
    }
    fn serialize_u128(self, v: u128) -> Result<S::Ok, S::Error> {
        self.0.serialize_u128(v)
    }
    fn serialize_char(self, v: char) -> Result<S::Ok, S::Error> {
        self.0.serialize_char(v)
    }
    fn serialize_str(self, v: &str) -> Result<S::Ok, S::Error> {
        self.0.serialize_str(v)
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<S::Ok, S::Error> {
        self.0.serialize_bytes(v)
    }
    fn serialize_none(self) -> Result<S::Ok, S::Error> {
        self.0.serialize_none()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<S::Ok, S::Error> {
        self.0.serialize_some(&Wrapped(value))
    }
    fn serialize_unit(self) -> Result<S::Ok, S::Error> {
        self.0.serialize_unit()
    }
    fn serialize_unit_struct(self, name: &'static str) -> Result<S::Ok, S::Error> {
        self.0.serialize_unit_struct(name)
    }
    fn serialize_unit_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
    ) -> Result<S::Ok, S::Error> {
        self.0.serialize_unit_variant(name, index, variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        self.0.serialize_newtype_struct(name, &Wrapped(value))
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        self.0
            .serialize_newtype_variant(name, index, variant, &Wrapped(value))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Self::SerializeSeq, S::Error> {
        self.0.serialize_seq(len).map(SpecialFloats)
    }
    fn serialize_tuple(self, len: usize) -> Result<Self::SerializeTuple, S::Error> {
        self.0.serialize_tuple(len).map(SpecialFloats)
    }
    fn serialize_tuple_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleStruct, S::Error> {
        self.0.serialize_tuple_struct(name, len).map(SpecialFloats)
    }
    fn serialize_tuple_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleVariant, S::Error> {
        self.0
            .serialize_tuple_variant(name, index, variant, len)
            .map(SpecialFloats)
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Self::SerializeMap, S::Error> {
        self.0.serialize_map(len).map(SpecialFloats)
    }
    fn serialize_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStruct, S::Error> {
        self.0.serialize_struct(name, len).map(SpecialFloats)
    }
    fn serialize_struct_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStructVariant, S::Error> {
        self.0
            .serialize_struct_variant(name, index, variant, len)
            .map(SpecialFloats)
    }
    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}

impl<S: SerializeSeq> SerializeSeq for SpecialFloats<S> {
    type Ok = S::Ok;
    type Error = S::Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), S::Error> {
        self.0.serialize_element(&Wrapped(value))
    }
    fn end(self) -> Result<S::Ok, S::Error> {
        self.0.end()
    }
}

impl<S: SerializeTuple> SerializeTuple for SpecialFloats<S> {
    type Ok = S::Ok;
    type Error = S::Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), S::Error> {
        self.0.serialize_element(&Wrapped(value))
    }
    fn end(self) -> Result<S::Ok, S::Error> {
        self.0.end()
    }
}

impl<S: SerializeTupleStruct> SerializeTupleStruct for SpecialFloats<S> {
    type Ok = S::Ok;
    type Error = S::Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), S::Error> {
        self.0.serialize_field(&Wrapped(value))
    }
    fn end(self) -> Result<S::Ok, S::Error> {
        self.0.end()
    }
}

impl<S: SerializeTupleVariant> SerializeTupleVariant for SpecialFloats<S> {
    type Ok = S::Ok;
    type Error = S::Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), S::Error> {
        self.0.serialize_field(&Wrapped(value))
    }
    fn end(self) -> Result<S::Ok, S::Error> {
        self.0.end()
    }
}

impl<S: SerializeMap> SerializeMap for SpecialFloats<S> {
    type Ok = S::Ok;
    type Error = S::Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), S::Error> {
        self.0.serialize_key(key)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), S::Error> {
        self.0.serialize_value(&Wrapped(value))
    }
    fn serialize_entry<K: Serialize + ?Sized, V: Serialize + ?Sized>(
        &mut self,
        key: &K,
        value: &V,
    ) -> Result<(), S::Error> {
        self.0.serialize_entry(key, &Wrapped(value))
    }
    fn end(self) -> Result<S::Ok, S::Error> {
        self.0.end()
    }
}

impl<S: SerializeStruct> SerializeStruct for SpecialFloats<S> {
    type Ok = S::Ok;
    type Error = S::Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), S::Error> {
        self.0.serialize_field(key, &Wrapped(value))
    }
    fn skip_field(&mut self, key: &'static str) -> Result<(), S::Error> {
        self.0.skip_field(key)
    }
    fn end(self) -> Result<S::Ok, S::Error> {
        self.0.end()
    }
}

impl<S: SerializeStructVariant> SerializeStructVariant for SpecialFloats<S> {
    type Ok = S::Ok;
    type Error = S::Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), S::Error> {
        self.0.serialize_field(key, &Wrapped(value))
    }
    fn skip_field(&mut self, key: &'static str) -> Result<(), S::Error> {
        self.0.skip_field(key)
    }
    fn end(self) -> Result<S::Ok, S::Error> {
        self.0.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    // checklist 2.12: no empty envelopes; only data points count.
    #[test]
    fn empty_metrics_and_envelopes_are_pruned() {
        use opentelemetry_proto::tonic::metrics::v1::{
            Gauge, NumberDataPoint, ResourceMetrics, ScopeMetrics,
        };
        let gauge = |points: usize| Metric {
            name: "g".into(),
            data: Some(metric::Data::Gauge(Gauge {
                data_points: vec![NumberDataPoint::default(); points],
            })),
            ..Metric::default()
        };
        let mut request = ExportMetricsServiceRequest {
            resource_metrics: vec![
                ResourceMetrics {
                    scope_metrics: vec![
                        ScopeMetrics {
                            metrics: vec![gauge(2), gauge(0)],
                            ..ScopeMetrics::default()
                        },
                        ScopeMetrics {
                            metrics: vec![gauge(0)],
                            ..ScopeMetrics::default()
                        },
                    ],
                    ..ResourceMetrics::default()
                },
                ResourceMetrics::default(),
            ],
        };
        assert_eq!(prune_metrics(&mut request), 2);
        assert_eq!(request.resource_metrics.len(), 1);
        assert_eq!(request.resource_metrics[0].scope_metrics.len(), 1);
        assert_eq!(
            request.resource_metrics[0].scope_metrics[0].metrics.len(),
            1
        );
    }

    fn json<T: Serialize>(value: &T) -> String {
        let mut out = Vec::new();
        write(value, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn non_finite_doubles_become_proto3_strings_everywhere() {
        // checklist 2.15 e
        assert_eq!(json(&f64::NAN), r#""NaN""#);
        assert_eq!(json(&f64::INFINITY), r#""Infinity""#);
        assert_eq!(json(&f64::NEG_INFINITY), r#""-Infinity""#);
        assert_eq!(json(&1.5f64), "1.5");
        assert_eq!(json(&f32::NAN), r#""NaN""#);
        assert_eq!(
            json(&vec![Some(f64::NAN), None, Some(2.0)]),
            r#"["NaN",null,2.0]"#
        );
        let map = BTreeMap::from([("a", f64::NEG_INFINITY)]);
        assert_eq!(json(&map), r#"{"a":"-Infinity"}"#);
        assert_eq!(json(&(1u8, f64::INFINITY)), r#"[1,"Infinity"]"#);
    }

    #[test]
    fn everything_else_is_plain_compact_serde_json() {
        let value = (
            "text",
            true,
            -3i64,
            u64::MAX,
            Option::<u8>::None,
            vec![1u32, 2],
        );
        assert_eq!(json(&value), serde_json::to_string(&value).unwrap());
    }
}
