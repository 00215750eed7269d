//! Counting the items of a protobuf export request without decoding it, for a receiver that
//! only counts ([`ReceiverBuilder::count_only`](crate::ReceiverBuilder::count_only)).
//!
//! Decoding a span into the `opentelemetry-proto` structs allocates a string per attribute
//! key and value and costs several times what producing and encoding the span did; in a
//! throughput bench whose receiver shares the machine with the pipeline under test, the
//! decoding would bound the figures. Counting walks the length-delimited fields that lead
//! to the items and skips everything else, allocating nothing.

use crate::cost::{Malformed, WireValue, next_field};
use crate::request::Signal;

/// At each level from the request down to the items, the numbers of the message fields that
/// lead on (`opentelemetry/proto/collector/*/v1/*_service.proto` and the data protos).
fn path(signal: Signal) -> &'static [&'static [u32]] {
    match signal {
        // resource_spans = 1, scope_spans = 2, spans = 2
        Signal::Traces => &[&[1], &[2], &[2]],
        // resource_logs = 1, scope_logs = 2, log_records = 2
        Signal::Logs => &[&[1], &[2], &[2]],
        // resource_metrics = 1, scope_metrics = 2, metrics = 2; gauge = 5, sum = 7,
        // histogram = 9, exponential_histogram = 10, summary = 11; data_points = 1 in each.
        Signal::Metrics => &[&[1], &[2], &[2], &[5, 7, 9, 10, 11], &[1]],
    }
}

/// The number of items (spans, log records, metric data points) in a protobuf request of
/// `signal`; `Err` when the body is malformed (the decoder then says how).
pub(crate) fn items(signal: Signal, body: &[u8]) -> Result<usize, Malformed> {
    count(body, path(signal))
}

fn count(mut buf: &[u8], path: &[&[u32]]) -> Result<usize, Malformed> {
    let Some((leading, rest)) = path.split_first() else {
        return Ok(0);
    };
    let mut items = 0usize;
    while !buf.is_empty() {
        if let (number, WireValue::Bytes(field)) = next_field(&mut buf)?
            && leading.contains(&number)
        {
            let inside = if rest.is_empty() {
                1
            } else {
                count(field, rest)?
            };
            items = items.saturating_add(inside);
        }
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
    use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
    use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
    use opentelemetry_proto::tonic::metrics::v1::{
        ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram, HistogramDataPoint,
        Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary, SummaryDataPoint,
        metric,
    };
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, span};
    use prost::Message as _;

    use super::*;
    use crate::request::Payload;

    fn attribute(key: &str) -> KeyValue {
        KeyValue {
            key: key.to_owned(),
            value: Some(AnyValue {
                value: Some(any_value::Value::StringValue("v".repeat(40))),
            }),
            ..Default::default()
        }
    }

    fn span(events: usize) -> Span {
        Span {
            name: "GET /".to_owned(),
            trace_id: vec![1; 16],
            span_id: vec![2; 8],
            attributes: vec![attribute("http.method"), attribute("code.file.path")],
            // Events and links are messages at the spans' depth: never counted as spans.
            events: (0..events)
                .map(|_| span::Event {
                    name: "retry".to_owned(),
                    attributes: vec![attribute("attempt")],
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    fn traces(shape: &[&[usize]]) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest {
            resource_spans: shape
                .iter()
                .map(|scopes| ResourceSpans {
                    scope_spans: scopes
                        .iter()
                        .map(|&spans| ScopeSpans {
                            spans: (0..spans).map(span).collect(),
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                })
                .collect(),
        }
    }

    /// The count agrees with the decoded request's, for every signal and shape.
    fn agrees(payload: Payload, body: &[u8]) {
        assert_eq!(
            items(payload.signal(), body).unwrap(),
            payload.item_count(),
            "{payload:?}"
        );
    }

    #[test]
    fn spans_are_counted_across_resources_and_scopes() {
        for shape in [&[][..], &[&[][..]], &[&[0]], &[&[1]], &[&[3, 0, 2], &[5]]] {
            let request = traces(shape);
            agrees(Payload::Traces(request.clone()), &request.encode_to_vec());
        }
    }

    #[test]
    fn log_records_and_every_kind_of_data_point_are_counted() {
        let logs = ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                scope_logs: vec![
                    ScopeLogs {
                        log_records: vec![LogRecord::default(); 4],
                        ..Default::default()
                    },
                    ScopeLogs {
                        log_records: vec![LogRecord {
                            attributes: vec![attribute("a")],
                            ..Default::default()
                        }],
                        ..Default::default()
                    },
                ],
                ..Default::default()
            }],
        };
        agrees(Payload::Logs(logs.clone()), &logs.encode_to_vec());

        let number = |n| vec![NumberDataPoint::default(); n];
        let metrics = [
            metric::Data::Gauge(Gauge {
                data_points: number(2),
            }),
            metric::Data::Sum(Sum {
                data_points: number(3),
                aggregation_temporality: 2,
                is_monotonic: true,
            }),
            metric::Data::Histogram(Histogram {
                data_points: vec![HistogramDataPoint::default(); 4],
                aggregation_temporality: 1,
            }),
            metric::Data::ExponentialHistogram(ExponentialHistogram {
                data_points: vec![ExponentialHistogramDataPoint::default(); 5],
                aggregation_temporality: 1,
            }),
            metric::Data::Summary(Summary {
                data_points: vec![SummaryDataPoint::default(); 6],
            }),
        ]
        .into_iter()
        .map(|data| Metric {
            name: "m".to_owned(),
            data: Some(data),
            ..Default::default()
        })
        .collect();
        let metrics = ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                scope_metrics: vec![ScopeMetrics {
                    metrics,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        agrees(Payload::Metrics(metrics.clone()), &metrics.encode_to_vec());
    }

    #[test]
    fn a_truncated_body_is_malformed() {
        let body = traces(&[&[2]]).encode_to_vec();
        assert!(items(Signal::Traces, &body[..body.len() - 3]).is_err());
    }
}
