//! A human-readable summary of one request, as printed by `otlpkit-receiver`.

use std::fmt;

use opentelemetry_proto::tonic::metrics::v1::{metric, number_data_point};

use crate::items::{DisplayValue, ReceivedSpan, logs_of, metrics_of, spans_of};
use crate::request::{Payload, RecordedRequest};
use crate::tree::SpanTree;

/// Displays a [`RecordedRequest`]: one line with sequence number, signal, protocol, HTTP
/// version, encoding, body size, item counts and the answer; then, indented, the span tree
/// (traces), one line per metric (metrics) or one line per log record (logs).
///
/// ```text
/// #1 traces grpc HTTP/2.0 gzip 412 B: 3 spans -> ok
///   GET /users (12.3ms, ok)
///     db.query (4.1ms, unset)
///   background (800µs, error: timeout)
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Summary<'a> {
    request: &'a RecordedRequest,
}

impl<'a> Summary<'a> {
    /// A summary of `request`.
    pub fn new(request: &'a RecordedRequest) -> Summary<'a> {
        Summary { request }
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {many}")
    }
}

fn metric_kind(data: Option<&metric::Data>) -> &'static str {
    match data {
        Some(metric::Data::Gauge(_)) => "gauge",
        Some(metric::Data::Sum(_)) => "sum",
        Some(metric::Data::Histogram(_)) => "histogram",
        Some(metric::Data::ExponentialHistogram(_)) => "exponential histogram",
        Some(metric::Data::Summary(_)) => "summary",
        None => "empty",
    }
}

impl fmt::Display for Summary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = self.request;
        write!(
            f,
            "#{} {} {} {:?}",
            r.seq, r.signal, r.protocol, r.http_version
        )?;
        if let Some(encoding) = &r.content_encoding {
            write!(f, " {encoding}")?;
        }
        write!(f, " {} B: ", r.body_size)?;
        match &r.payload {
            None => f.write_str("undecodable body")?,
            Some(Payload::Traces(_)) => f.write_str(&plural(r.item_count, "span", "spans"))?,
            Some(Payload::Logs(_)) => {
                f.write_str(&plural(r.item_count, "log record", "log records"))?
            }
            Some(Payload::Metrics(req)) => {
                let metrics = req
                    .resource_metrics
                    .iter()
                    .flat_map(|rm| &rm.scope_metrics)
                    .map(|sm| sm.metrics.len())
                    .sum();
                write!(
                    f,
                    "{}, {}",
                    plural(metrics, "metric", "metrics"),
                    plural(r.item_count, "data point", "data points")
                )?
            }
        }
        if !r.delay.is_zero() {
            write!(f, " (answered after {:?})", r.delay)?;
        }
        writeln!(f, " -> {}", r.answer)?;

        match &r.payload {
            Some(Payload::Traces(_)) => {
                let mut spans: Vec<ReceivedSpan> = Vec::new();
                spans_of(r, &mut spans);
                for line in SpanTree::from_spans(spans).to_string().lines() {
                    writeln!(f, "  {line}")?;
                }
            }
            Some(Payload::Metrics(_)) => {
                let mut metrics = Vec::new();
                metrics_of(r, &mut metrics);
                for m in &metrics {
                    write!(
                        f,
                        "  {} ({}, {})",
                        m.name(),
                        metric_kind(m.metric.data.as_ref()),
                        plural(m.point_count(), "point", "points")
                    )?;
                    let values: Vec<String> = m
                        .number_points()
                        .iter()
                        .filter_map(|p| match p.value {
                            Some(number_data_point::Value::AsInt(i)) => Some(i.to_string()),
                            Some(number_data_point::Value::AsDouble(d)) => Some(d.to_string()),
                            None => None,
                        })
                        .collect();
                    if !values.is_empty() {
                        write!(f, ": {}", values.join(", "))?;
                    }
                    for p in m.histogram_points() {
                        write!(f, ": count {}", p.count)?;
                        if let Some(sum) = p.sum {
                            write!(f, " sum {sum}")?;
                        }
                    }
                    writeln!(f)?;
                }
            }
            Some(Payload::Logs(_)) => {
                let mut logs = Vec::new();
                logs_of(r, &mut logs);
                for log in &logs {
                    let severity = if log.record.severity_text.is_empty() {
                        log.severity()
                            .as_str_name()
                            .trim_start_matches("SEVERITY_NUMBER_")
                    } else {
                        log.record.severity_text.as_str()
                    };
                    match log.record.body.as_ref().and_then(|b| b.value.as_ref()) {
                        Some(body) => writeln!(f, "  {severity} {}", DisplayValue(body))?,
                        None => writeln!(f, "  {severity} <no body>")?,
                    }
                }
            }
            None => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::{Answer, Headers, Protocol, Signal};
    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
    use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::common::v1::{AnyValue, any_value};
    use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
    use opentelemetry_proto::tonic::metrics::v1::{
        Histogram, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum,
    };
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
    use std::time::{Duration, SystemTime};

    fn request(signal: Signal, payload: Option<Payload>) -> RecordedRequest {
        RecordedRequest {
            seq: 7,
            signal,
            protocol: Protocol::HttpProtobuf,
            http_version: http::Version::HTTP_11,
            headers: Headers::default(),
            content_encoding: Some("gzip".into()),
            body_size: 123,
            decoded_size: 456,
            item_count: payload.as_ref().map_or(0, Payload::item_count),
            answer: Answer::Ok,
            delay: Duration::ZERO,
            payload,
            received_at: SystemTime::UNIX_EPOCH,
            peer: "127.0.0.1:1".parse().unwrap(),
            connection_id: 1,
        }
    }

    #[test]
    fn traces_print_the_span_tree() {
        let span = |id: u8, parent: Option<u8>, name: &str, start: u64, end: u64| Span {
            trace_id: vec![1; 16],
            span_id: vec![id; 8],
            parent_span_id: parent.map(|p| vec![p; 8]).unwrap_or_default(),
            name: name.into(),
            start_time_unix_nano: start,
            end_time_unix_nano: end,
            ..Default::default()
        };
        let payload = Payload::Traces(ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans: vec![
                        span(2, Some(1), "child", 2_000_000, 3_000_000),
                        span(1, None, "root", 1_000_000, 5_000_000),
                    ],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        });
        let r = request(Signal::Traces, Some(payload));
        assert_eq!(
            Summary::new(&r).to_string(),
            "#7 traces http/protobuf HTTP/1.1 gzip 123 B: 2 spans -> ok\n  \
             root (4ms, unset)\n    child (1ms, unset)\n"
        );
    }

    #[test]
    fn metrics_and_logs_print_one_line_per_item() {
        let metrics = Payload::Metrics(ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                scope_metrics: vec![ScopeMetrics {
                    metrics: vec![
                        Metric {
                            name: "requests".into(),
                            data: Some(metric::Data::Sum(Sum {
                                data_points: vec![NumberDataPoint {
                                    value: Some(number_data_point::Value::AsInt(12)),
                                    ..Default::default()
                                }],
                                ..Default::default()
                            })),
                            ..Default::default()
                        },
                        Metric {
                            name: "latency".into(),
                            data: Some(metric::Data::Histogram(Histogram {
                                data_points: vec![HistogramDataPoint {
                                    count: 3,
                                    sum: Some(7.5),
                                    ..Default::default()
                                }],
                                ..Default::default()
                            })),
                            ..Default::default()
                        },
                    ],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        });
        let mut r = request(Signal::Metrics, Some(metrics));
        r.protocol = Protocol::HttpJson;
        r.content_encoding = None;
        r.delay = Duration::from_millis(20);
        r.answer = Answer::PartialSuccess {
            rejected: 1,
            message: "dup".into(),
        };
        assert_eq!(
            Summary::new(&r).to_string(),
            "#7 metrics http/json HTTP/1.1 123 B: 2 metrics, 2 data points (answered after 20ms) \
             -> partial success (1 rejected: \"dup\")\n  requests (sum, 1 point): 12\n  \
             latency (histogram, 1 point): count 3 sum 7.5\n"
        );

        let logs = Payload::Logs(ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                scope_logs: vec![ScopeLogs {
                    log_records: vec![
                        LogRecord {
                            severity_number: 13,
                            body: Some(AnyValue {
                                value: Some(any_value::Value::StringValue("disk full".into())),
                            }),
                            ..Default::default()
                        },
                        LogRecord {
                            severity_text: "info".into(),
                            ..Default::default()
                        },
                    ],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        });
        let r = request(Signal::Logs, Some(logs));
        assert_eq!(
            Summary::new(&r).to_string(),
            "#7 logs http/protobuf HTTP/1.1 gzip 123 B: 2 log records -> ok\n  \
             WARN \"disk full\"\n  info <no body>\n"
        );
    }

    #[test]
    fn undecodable_requests_say_so() {
        let mut r = request(Signal::Logs, None);
        r.answer = Answer::HttpStatus {
            status: 400,
            retry_after: None,
            message: "bad".into(),
        };
        assert_eq!(
            Summary::new(&r).to_string(),
            "#7 logs http/protobuf HTTP/1.1 gzip 123 B: undecodable body -> http 400 \"bad\"\n"
        );
    }
}
