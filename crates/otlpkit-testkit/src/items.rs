//! Flattened views of received items: each span, log record or metric with its resource
//! and instrumentation scope.

use std::fmt;
use std::time::Duration;

use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::metrics::v1::{
    ExponentialHistogramDataPoint, HistogramDataPoint, Metric, NumberDataPoint, SummaryDataPoint,
    metric,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{Span, span, status};

use crate::request::{Payload, Protocol, RecordedRequest, data_point_count};

/// The value of attribute `key` in `attributes`, if present and set.
pub fn attribute<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a any_value::Value> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v| v.value.as_ref())
}

/// The string value of attribute `key`, if it is a string.
pub fn attribute_str<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a str> {
    match attribute(attributes, key) {
        Some(any_value::Value::StringValue(s)) => Some(s),
        _ => None,
    }
}

/// Lowercase hex of an id (empty for an empty id).
pub fn hex(bytes: &[u8]) -> String {
    use fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        // Writing to a String cannot fail.
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Text as it is, but with control characters and bidirectional-text controls escaped as
/// `\u{..}`: names and keys a sender chose cannot drive the terminal the summary is printed
/// on (colours, titles, cursor moves) nor reorder what is shown around them.
#[derive(Clone, Copy)]
pub(crate) struct Escaped<'a>(pub(crate) &'a str);

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.0;
        let mut start = 0;
        for (i, c) in text.char_indices() {
            if needs_escape(c) {
                f.write_str(&text[start..i])?;
                write!(f, "{}", c.escape_unicode())?;
                start = i + c.len_utf8();
            }
        }
        f.write_str(&text[start..])
    }
}

/// Displays an `AnyValue` compactly: strings quoted, arrays in `[..]`, maps in `{..}`,
/// bytes as hex.
#[derive(Clone, Copy)]
pub struct DisplayValue<'a>(pub &'a any_value::Value);

impl fmt::Debug for DisplayValue<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

fn fmt_any(value: Option<&AnyValue>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match value.and_then(|v| v.value.as_ref()) {
        Some(v) => fmt::Display::fmt(&DisplayValue(v), f),
        None => f.write_str("<empty>"),
    }
}

impl fmt::Display for DisplayValue<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            any_value::Value::StringValue(s) => write!(f, "{s:?}"),
            any_value::Value::BoolValue(b) => write!(f, "{b}"),
            any_value::Value::IntValue(i) => write!(f, "{i}"),
            any_value::Value::DoubleValue(d) => write!(f, "{d}"),
            any_value::Value::BytesValue(b) => write!(f, "0x{}", hex(b)),
            any_value::Value::StringValueStrindex(i) => write!(f, "strindex({i})"),
            any_value::Value::ArrayValue(a) => {
                f.write_str("[")?;
                for (i, v) in a.values.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    fmt_any(Some(v), f)?;
                }
                f.write_str("]")
            }
            any_value::Value::KvlistValue(kv) => {
                f.write_str("{")?;
                for (i, entry) in kv.values.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{}: ", Escaped(&entry.key))?;
                    fmt_any(entry.value.as_ref(), f)?;
                }
                f.write_str("}")
            }
        }
    }
}

/// Where an item came from: its resource, scope and request.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Origin {
    /// The resource (default when the envelope had none).
    pub resource: Resource,
    /// `schema_url` of the resource envelope.
    pub resource_schema_url: String,
    /// The instrumentation scope (default when the envelope had none).
    pub scope: InstrumentationScope,
    /// `schema_url` of the scope envelope.
    pub scope_schema_url: String,
    /// [`RecordedRequest::seq`] of the request that carried the item.
    pub request_seq: u64,
    /// The protocol of that request.
    pub protocol: Protocol,
}

impl Origin {
    /// A resource attribute.
    pub fn resource_attribute(&self, key: &str) -> Option<&any_value::Value> {
        attribute(&self.resource.attributes, key)
    }

    /// A resource attribute that is a string, e.g. `service.name`.
    pub fn resource_attribute_str(&self, key: &str) -> Option<&str> {
        attribute_str(&self.resource.attributes, key)
    }

    /// A scope attribute.
    pub fn scope_attribute(&self, key: &str) -> Option<&any_value::Value> {
        attribute(&self.scope.attributes, key)
    }
}

/// A received span with its resource and scope.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ReceivedSpan {
    /// Resource, scope and request.
    pub origin: Origin,
    /// The span as decoded.
    pub span: Span,
}

impl ReceivedSpan {
    /// The span name.
    pub fn name(&self) -> &str {
        &self.span.name
    }

    /// A span attribute.
    pub fn attribute(&self, key: &str) -> Option<&any_value::Value> {
        attribute(&self.span.attributes, key)
    }

    /// A span attribute that is a string.
    pub fn attribute_str(&self, key: &str) -> Option<&str> {
        attribute_str(&self.span.attributes, key)
    }

    /// Lowercase hex trace id.
    pub fn trace_id_hex(&self) -> String {
        hex(&self.span.trace_id)
    }

    /// Lowercase hex span id.
    pub fn span_id_hex(&self) -> String {
        hex(&self.span.span_id)
    }

    /// Lowercase hex parent span id, `None` for a root span.
    pub fn parent_span_id_hex(&self) -> Option<String> {
        (!self.span.parent_span_id.is_empty()).then(|| hex(&self.span.parent_span_id))
    }

    /// End minus start time (zero if the end is before the start).
    pub fn duration(&self) -> Duration {
        Duration::from_nanos(
            self.span
                .end_time_unix_nano
                .saturating_sub(self.span.start_time_unix_nano),
        )
    }

    /// The span kind (`Unspecified` for unknown values).
    pub fn kind(&self) -> span::SpanKind {
        span::SpanKind::try_from(self.span.kind).unwrap_or(span::SpanKind::Unspecified)
    }

    /// The status code (`Unset` when absent or unknown).
    pub fn status_code(&self) -> status::StatusCode {
        self.span
            .status
            .as_ref()
            .and_then(|s| status::StatusCode::try_from(s.code).ok())
            .unwrap_or(status::StatusCode::Unset)
    }

    /// The first event named `name`.
    pub fn event(&self, name: &str) -> Option<&span::Event> {
        self.span.events.iter().find(|e| e.name == name)
    }
}

/// A received log record with its resource and scope.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ReceivedLog {
    /// Resource, scope and request.
    pub origin: Origin,
    /// The log record as decoded.
    pub record: LogRecord,
}

impl ReceivedLog {
    /// The body if it is a string.
    pub fn body_str(&self) -> Option<&str> {
        match self.record.body.as_ref().and_then(|b| b.value.as_ref()) {
            Some(any_value::Value::StringValue(s)) => Some(s),
            _ => None,
        }
    }

    /// A log attribute.
    pub fn attribute(&self, key: &str) -> Option<&any_value::Value> {
        attribute(&self.record.attributes, key)
    }

    /// `severity_number` as the proto enum (`Unspecified` for unknown values).
    pub fn severity(&self) -> opentelemetry_proto::tonic::logs::v1::SeverityNumber {
        opentelemetry_proto::tonic::logs::v1::SeverityNumber::try_from(self.record.severity_number)
            .unwrap_or(opentelemetry_proto::tonic::logs::v1::SeverityNumber::Unspecified)
    }
}

/// The data points of a metric, whatever its kind.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum DataPoints<'a> {
    /// Gauge points.
    Gauge(&'a [NumberDataPoint]),
    /// Sum points (counters, up-down counters).
    Sum(&'a [NumberDataPoint]),
    /// Explicit-bucket histogram points.
    Histogram(&'a [HistogramDataPoint]),
    /// Exponential histogram points.
    ExponentialHistogram(&'a [ExponentialHistogramDataPoint]),
    /// Summary points.
    Summary(&'a [SummaryDataPoint]),
    /// The metric had no data.
    Empty,
}

/// A received metric with its resource and scope.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ReceivedMetric {
    /// Resource, scope and request.
    pub origin: Origin,
    /// The metric as decoded.
    pub metric: Metric,
}

impl ReceivedMetric {
    /// The metric name.
    pub fn name(&self) -> &str {
        &self.metric.name
    }

    /// Its data points.
    pub fn data_points(&self) -> DataPoints<'_> {
        match &self.metric.data {
            Some(metric::Data::Gauge(g)) => DataPoints::Gauge(&g.data_points),
            Some(metric::Data::Sum(s)) => DataPoints::Sum(&s.data_points),
            Some(metric::Data::Histogram(h)) => DataPoints::Histogram(&h.data_points),
            Some(metric::Data::ExponentialHistogram(h)) => {
                DataPoints::ExponentialHistogram(&h.data_points)
            }
            Some(metric::Data::Summary(s)) => DataPoints::Summary(&s.data_points),
            None => DataPoints::Empty,
        }
    }

    /// The gauge or sum points (empty for other kinds).
    pub fn number_points(&self) -> &[NumberDataPoint] {
        match self.data_points() {
            DataPoints::Gauge(points) | DataPoints::Sum(points) => points,
            _ => &[],
        }
    }

    /// The histogram points (empty for other kinds).
    pub fn histogram_points(&self) -> &[HistogramDataPoint] {
        match self.data_points() {
            DataPoints::Histogram(points) => points,
            _ => &[],
        }
    }

    /// Number of data points.
    pub fn point_count(&self) -> usize {
        data_point_count(self.metric.data.as_ref())
    }
}

fn origin(
    request: &RecordedRequest,
    resource: Option<&Resource>,
    resource_schema_url: &str,
    scope: Option<&InstrumentationScope>,
    scope_schema_url: &str,
) -> Origin {
    Origin {
        resource: resource.cloned().unwrap_or_default(),
        resource_schema_url: resource_schema_url.to_owned(),
        scope: scope.cloned().unwrap_or_default(),
        scope_schema_url: scope_schema_url.to_owned(),
        request_seq: request.seq,
        protocol: request.protocol,
    }
}

/// The spans of one request, flattened.
pub(crate) fn spans_of(request: &RecordedRequest, out: &mut Vec<ReceivedSpan>) {
    let Some(Payload::Traces(req)) = &request.payload else {
        return;
    };
    for rs in &req.resource_spans {
        for ss in &rs.scope_spans {
            let origin = origin(
                request,
                rs.resource.as_ref(),
                &rs.schema_url,
                ss.scope.as_ref(),
                &ss.schema_url,
            );
            out.extend(ss.spans.iter().map(|span| ReceivedSpan {
                origin: origin.clone(),
                span: span.clone(),
            }));
        }
    }
}

/// The log records of one request, flattened.
pub(crate) fn logs_of(request: &RecordedRequest, out: &mut Vec<ReceivedLog>) {
    let Some(Payload::Logs(req)) = &request.payload else {
        return;
    };
    for rl in &req.resource_logs {
        for sl in &rl.scope_logs {
            let origin = origin(
                request,
                rl.resource.as_ref(),
                &rl.schema_url,
                sl.scope.as_ref(),
                &sl.schema_url,
            );
            out.extend(sl.log_records.iter().map(|record| ReceivedLog {
                origin: origin.clone(),
                record: record.clone(),
            }));
        }
    }
}

/// The metrics of one request, flattened.
pub(crate) fn metrics_of(request: &RecordedRequest, out: &mut Vec<ReceivedMetric>) {
    let Some(Payload::Metrics(req)) = &request.payload else {
        return;
    };
    for rm in &req.resource_metrics {
        for sm in &rm.scope_metrics {
            let origin = origin(
                request,
                rm.resource.as_ref(),
                &rm.schema_url,
                sm.scope.as_ref(),
                &sm.schema_url,
            );
            out.extend(sm.metrics.iter().map(|metric| ReceivedMetric {
                origin: origin.clone(),
                metric: metric.clone(),
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::{ArrayValue, KeyValueList};

    fn kv(key: &str, value: any_value::Value) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Some(AnyValue { value: Some(value) }),
            key_strindex: 0,
        }
    }

    #[test]
    fn attribute_lookup_and_display() {
        let attrs = vec![
            kv("s", any_value::Value::StringValue("x".into())),
            kv(
                "a",
                any_value::Value::ArrayValue(ArrayValue {
                    values: vec![
                        AnyValue {
                            value: Some(any_value::Value::IntValue(1)),
                        },
                        AnyValue { value: None },
                    ],
                }),
            ),
            kv(
                "m",
                any_value::Value::KvlistValue(KeyValueList {
                    values: vec![kv("b", any_value::Value::BytesValue(vec![0xab, 1]))],
                }),
            ),
        ];
        assert_eq!(attribute_str(&attrs, "s"), Some("x"));
        assert_eq!(attribute_str(&attrs, "a"), None);
        assert_eq!(attribute(&attrs, "missing"), None);
        let shown: Vec<String> = attrs
            .iter()
            .map(|a| DisplayValue(a.value.as_ref().unwrap().value.as_ref().unwrap()).to_string())
            .collect();
        assert_eq!(shown, ["\"x\"", "[1, <empty>]", "{b: 0xab01}"]);
    }

    #[test]
    fn span_helpers() {
        let span = ReceivedSpan {
            origin: Origin {
                resource: Resource::default(),
                resource_schema_url: String::new(),
                scope: InstrumentationScope::default(),
                scope_schema_url: String::new(),
                request_seq: 1,
                protocol: Protocol::Grpc,
            },
            span: Span {
                trace_id: vec![0xab; 16],
                span_id: vec![1, 2, 3, 4, 5, 6, 7, 8],
                start_time_unix_nano: 10,
                end_time_unix_nano: 1_500_010,
                kind: 99,
                ..Default::default()
            },
        };
        assert_eq!(span.trace_id_hex(), "ab".repeat(16));
        assert_eq!(span.span_id_hex(), "0102030405060708");
        assert_eq!(span.parent_span_id_hex(), None);
        assert_eq!(span.duration(), Duration::from_micros(1500));
        assert_eq!(span.kind(), span::SpanKind::Unspecified);
        assert_eq!(span.status_code(), status::StatusCode::Unset);
    }
}
