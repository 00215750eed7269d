//! A human-readable summary of one request, as printed by `otlpkit-receiver`.

use std::fmt::{self, Write as _};

use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{metric, number_data_point};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{Span, span, status};

use crate::items::{DisplayValue, Escaped, hex};
use crate::request::{Answer, Payload, RecordedRequest, Signal};
use crate::tree::{Layout, indent};

/// How many items a summary prints per request unless told otherwise.
pub(crate) const DEFAULT_LIMIT: usize = 1000;

/// The longest attribute value or log body printed, in characters.
const MAX_VALUE_CHARS: usize = 120;

/// The most attributes printed per item.
const MAX_ATTRIBUTES: usize = 16;

/// Displays a [`RecordedRequest`]: one line with sequence number, signal, protocol, HTTP
/// version, encoding, body size, item counts and the answer; then, indented, each resource
/// with its attributes, and the items: the span tree of each trace (traces), one line per
/// metric (metrics) or one line per log record (logs).
///
/// ```text
/// #1 traces grpc HTTP/2.0 gzip 412 B: 3 spans -> ok
///   resource service.name="shop" telemetry.sdk.language="rust"
///   trace 5b8efff798038103d269b633813fc60c
///     GET /users (server, 12.3ms, ok) span 00f067aa0ba902b7 http.route="/users"
///       db.query (client, 4.1ms, unset) span 00f067aa0ba902b8 db.system="postgresql"
///     background (800µs, error: timeout) span 00f067aa0ba902b9 [1 event]
/// ```
///
/// Printing is linear in the size of the request and bounded: at most 1000
/// items (see [`Summary::limit`]), 16 attributes per item, 120 characters per value, and
/// an indentation capped at 40 levels.
#[derive(Debug, Clone, Copy)]
pub struct Summary<'a> {
    request: &'a RecordedRequest,
    brief: bool,
    limit: usize,
    hidden_prefix: Option<&'a str>,
}

impl<'a> Summary<'a> {
    /// A summary of `request`.
    pub fn new(request: &'a RecordedRequest) -> Summary<'a> {
        Summary {
            request,
            brief: false,
            limit: DEFAULT_LIMIT,
            hidden_prefix: None,
        }
    }

    /// Only the first line: the request and its answer, without looking at the items.
    #[must_use]
    pub fn brief(mut self) -> Summary<'a> {
        self.brief = true;
        self
    }

    /// Prints at most `items` spans, metrics or log records, then how many were left out.
    #[must_use]
    pub fn limit(mut self, items: usize) -> Summary<'a> {
        self.limit = items;
        self
    }

    /// Leaves out the metrics whose name starts with `prefix` (e.g. `otlpkit.`, the
    /// toolkit's own metrics).
    #[must_use]
    pub fn hide_metrics(mut self, prefix: &'a str) -> Summary<'a> {
        self.hidden_prefix = Some(prefix);
        self
    }

    fn hidden(&self, name: &str) -> bool {
        self.hidden_prefix.is_some_and(|p| name.starts_with(p))
    }

    /// Whether there is anything to show: false for a metrics request all of whose metrics
    /// are hidden by [`hide_metrics`](Self::hide_metrics).
    pub fn shows_anything(&self) -> bool {
        match &self.request.payload {
            Some(Payload::Metrics(req)) if self.hidden_prefix.is_some() => req
                .resource_metrics
                .iter()
                .flat_map(|rm| &rm.scope_metrics)
                .flat_map(|sm| &sm.metrics)
                .any(|m| !self.hidden(&m.name)),
            _ => true,
        }
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

/// Passes at most `left` characters on, then drops the rest and remembers it did.
struct Truncate<'w, W: fmt::Write> {
    out: &'w mut W,
    left: usize,
    cut: bool,
}

impl<W: fmt::Write> fmt::Write for Truncate<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if self.cut {
            return Ok(());
        }
        let count = s.chars().count();
        if count <= self.left {
            self.left -= count;
            return self.out.write_str(s);
        }
        let end = s.char_indices().nth(self.left).map_or(s.len(), |(i, _)| i);
        self.left = 0;
        self.cut = true;
        self.out.write_str(&s[..end])
    }
}

/// Writes `value`, cut at [`MAX_VALUE_CHARS`] characters (then `…`).
fn write_value(f: &mut impl fmt::Write, value: Option<&any_value::Value>) -> fmt::Result {
    let Some(value) = value else {
        return f.write_str("<empty>");
    };
    let mut cut = Truncate {
        out: &mut *f,
        left: MAX_VALUE_CHARS,
        cut: false,
    };
    write!(cut, "{}", DisplayValue(value))?;
    if cut.cut {
        f.write_str("…")?;
    }
    Ok(())
}

/// Writes ` key=value` for the first [`MAX_ATTRIBUTES`] attributes, then ` (+N more)`.
fn write_attributes(f: &mut impl fmt::Write, attributes: &[KeyValue]) -> fmt::Result {
    for kv in attributes.iter().take(MAX_ATTRIBUTES) {
        write!(f, " {}=", Escaped(&kv.key))?;
        write_value(f, kv.value.as_ref().and_then(|v| v.value.as_ref()))?;
    }
    if attributes.len() > MAX_ATTRIBUTES {
        write!(f, " (+{} more)", attributes.len() - MAX_ATTRIBUTES)?;
    }
    Ok(())
}

fn write_resource(f: &mut fmt::Formatter<'_>, resource: Option<&Resource>) -> fmt::Result {
    f.write_str("  resource")?;
    match resource {
        Some(r) if !r.attributes.is_empty() => write_attributes(f, &r.attributes)?,
        _ => f.write_str(" (no attributes)")?,
    }
    writeln!(f)
}

fn service_of(resource: Option<&Resource>) -> Option<&str> {
    resource.and_then(|r| crate::items::attribute_str(&r.attributes, "service.name"))
}

fn kind_name(kind: i32) -> Option<&'static str> {
    match span::SpanKind::try_from(kind).ok()? {
        span::SpanKind::Unspecified => None,
        span::SpanKind::Internal => Some("internal"),
        span::SpanKind::Server => Some("server"),
        span::SpanKind::Client => Some("client"),
        span::SpanKind::Producer => Some("producer"),
        span::SpanKind::Consumer => Some("consumer"),
    }
}

/// One span: `name (kind, duration, status) span <id> attributes [events, links]`.
fn write_span(
    f: &mut fmt::Formatter<'_>,
    span: &Span,
    parent_missing: bool,
    service: Option<&str>,
) -> fmt::Result {
    let duration = std::time::Duration::from_nanos(
        span.end_time_unix_nano
            .saturating_sub(span.start_time_unix_nano),
    );
    let code = span
        .status
        .as_ref()
        .and_then(|s| status::StatusCode::try_from(s.code).ok())
        .unwrap_or(status::StatusCode::Unset);
    let mut name = Truncate {
        out: &mut *f,
        left: MAX_VALUE_CHARS,
        cut: false,
    };
    write!(name, "{}", Escaped(&span.name))?;
    if name.cut {
        f.write_str("…")?;
    }
    f.write_str(" (")?;
    if let Some(kind) = kind_name(span.kind) {
        write!(f, "{kind}, ")?;
    }
    write!(f, "{duration:?}, ")?;
    match code {
        status::StatusCode::Unset => f.write_str("unset")?,
        status::StatusCode::Ok => f.write_str("ok")?,
        status::StatusCode::Error => {
            f.write_str("error")?;
            if let Some(message) = span.status.as_ref().map(|s| s.message.as_str())
                && !message.is_empty()
            {
                f.write_str(": ")?;
                let mut cut = Truncate {
                    out: &mut *f,
                    left: MAX_VALUE_CHARS,
                    cut: false,
                };
                write!(cut, "{}", Escaped(message))?;
            }
        }
    }
    match crate::retention::invalid_span_id(&span.span_id) {
        None => write!(f, ") span {}", hex(&span.span_id))?,
        Some("empty") => f.write_str(") span [invalid id: empty]")?,
        Some(why) => write!(f, ") span {} [invalid id: {why}]", hex(&span.span_id))?,
    }
    if parent_missing {
        write!(f, " [parent {} not received]", hex(&span.parent_span_id))?;
    }
    if let Some(service) = service {
        write!(f, " service={service:?}")?;
    }
    write_attributes(f, &span.attributes)?;
    let mut extras = Vec::new();
    if !span.events.is_empty() {
        extras.push(plural(span.events.len(), "event", "events"));
    }
    if !span.links.is_empty() {
        extras.push(plural(span.links.len(), "link", "links"));
    }
    if !extras.is_empty() {
        write!(f, " [{}]", extras.join(", "))?;
    }
    writeln!(f)
}

/// What the header says of a request without a payload: only a body refused as malformed
/// (`400` / `INVALID_ARGUMENT`) is undecodable; the others were refused before they were
/// decoded (too large, busy, too slow, an unsupported type or encoding), and the answer
/// printed after it says why.
fn not_decoded(r: &RecordedRequest) -> &'static str {
    match &r.answer {
        Answer::HttpStatus { status: 400, .. }
        | Answer::GrpcStatus {
            code: tonic::Code::InvalidArgument,
            ..
        } => "undecodable body",
        _ => "refused",
    }
}

fn write_more(f: &mut fmt::Formatter<'_>, left: usize, what: &str) -> fmt::Result {
    if left > 0 {
        writeln!(f, "  … {left} more {what} not shown")?;
    }
    Ok(())
}

impl Summary<'_> {
    fn header(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
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
            // Counted, not decoded (`ReceiverBuilder::count_only`).
            None if r.answer.is_success() => {
                let (one, many) = match r.signal {
                    Signal::Traces => ("span", "spans"),
                    Signal::Metrics => ("data point", "data points"),
                    Signal::Logs => ("log record", "log records"),
                };
                f.write_str(&plural(r.item_count, one, many))?
            }
            None => f.write_str(not_decoded(r))?,
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
        writeln!(f, " -> {}", r.answer)
    }

    fn traces(
        &self,
        f: &mut fmt::Formatter<'_>,
        req: &opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest,
    ) -> fmt::Result {
        let several = req.resource_spans.len() > 1;
        let mut spans: Vec<(&Span, usize)> = Vec::new();
        for (i, rs) in req.resource_spans.iter().enumerate() {
            write_resource(f, rs.resource.as_ref())?;
            for ss in &rs.scope_spans {
                spans.extend(ss.spans.iter().map(|s| (s, i)));
            }
        }
        let layout = Layout::of(&spans, |(s, _)| s);
        let mut trace: Option<&[u8]> = None;
        for &(i, depth) in layout.order.iter().take(self.limit) {
            let (span, resource) = spans[i];
            if depth == 0 && trace != Some(span.trace_id.as_slice()) {
                writeln!(f, "  trace {}", hex(&span.trace_id))?;
                trace = Some(span.trace_id.as_slice());
            }
            indent(f, depth + 2)?;
            let service = several
                .then(|| service_of(req.resource_spans[resource].resource.as_ref()))
                .flatten();
            write_span(f, span, layout.parent_missing[i], service)?;
        }
        write_more(f, spans.len().saturating_sub(self.limit), "spans")
    }

    fn metrics(
        &self,
        f: &mut fmt::Formatter<'_>,
        req: &opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest,
    ) -> fmt::Result {
        let mut shown = 0usize;
        let mut left = 0usize;
        let mut hidden = 0usize;
        for rm in &req.resource_metrics {
            write_resource(f, rm.resource.as_ref())?;
            for m in rm.scope_metrics.iter().flat_map(|sm| &sm.metrics) {
                if self.hidden(&m.name) {
                    hidden += 1;
                    continue;
                }
                if shown >= self.limit {
                    left += 1;
                    continue;
                }
                shown += 1;
                let points = crate::request::data_point_count(m.data.as_ref());
                write!(
                    f,
                    "  {} ({}, {}",
                    Escaped(&m.name),
                    metric_kind(m.data.as_ref()),
                    plural(points, "point", "points")
                )?;
                if !m.unit.is_empty() {
                    write!(f, ", unit {}", Escaped(&m.unit))?;
                }
                f.write_str(")")?;
                let mut first = true;
                let mut sep = |f: &mut fmt::Formatter<'_>| {
                    let s = if first { ": " } else { ", " };
                    first = false;
                    f.write_str(s)
                };
                let number_points = match &m.data {
                    Some(metric::Data::Gauge(g)) => g.data_points.as_slice(),
                    Some(metric::Data::Sum(s)) => s.data_points.as_slice(),
                    _ => &[],
                };
                for p in number_points.iter().take(MAX_ATTRIBUTES) {
                    sep(f)?;
                    match p.value {
                        Some(number_data_point::Value::AsInt(i)) => write!(f, "{i}")?,
                        Some(number_data_point::Value::AsDouble(d)) => write!(f, "{d}")?,
                        None => f.write_str("<no value>")?,
                    }
                    if !p.attributes.is_empty() {
                        f.write_str(" {")?;
                        write_attributes(f, &p.attributes)?;
                        f.write_str(" }")?;
                    }
                }
                if let Some(metric::Data::Histogram(h)) = &m.data {
                    for p in h.data_points.iter().take(MAX_ATTRIBUTES) {
                        sep(f)?;
                        write!(f, "count {}", p.count)?;
                        if let Some(sum) = p.sum {
                            write!(f, " sum {sum}")?;
                        }
                        if !p.attributes.is_empty() {
                            f.write_str(" {")?;
                            write_attributes(f, &p.attributes)?;
                            f.write_str(" }")?;
                        }
                    }
                }
                if points > MAX_ATTRIBUTES {
                    write!(f, " (+{} more points)", points - MAX_ATTRIBUTES)?;
                }
                writeln!(f)?;
            }
        }
        write_more(f, left, "metrics")?;
        if hidden > 0 {
            writeln!(f, "  ({} hidden)", plural(hidden, "metric", "metrics"))?;
        }
        Ok(())
    }

    fn logs(
        &self,
        f: &mut fmt::Formatter<'_>,
        req: &opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest,
    ) -> fmt::Result {
        let mut shown = 0usize;
        let mut total = 0usize;
        for rl in &req.resource_logs {
            write_resource(f, rl.resource.as_ref())?;
            for record in rl.scope_logs.iter().flat_map(|sl| &sl.log_records) {
                total += 1;
                if shown >= self.limit {
                    continue;
                }
                shown += 1;
                let severity = if record.severity_text.is_empty() {
                    opentelemetry_proto::tonic::logs::v1::SeverityNumber::try_from(
                        record.severity_number,
                    )
                    .unwrap_or_default()
                    .as_str_name()
                    .trim_start_matches("SEVERITY_NUMBER_")
                } else {
                    record.severity_text.as_str()
                };
                write!(f, "  {} ", Escaped(severity))?;
                match record.body.as_ref().and_then(|b| b.value.as_ref()) {
                    Some(body) => write_value(f, Some(body))?,
                    None => f.write_str("<no body>")?,
                }
                if !record.trace_id.is_empty() {
                    write!(f, " trace {}", hex(&record.trace_id))?;
                }
                if !record.span_id.is_empty() {
                    write!(f, " span {}", hex(&record.span_id))?;
                }
                write_attributes(f, &record.attributes)?;
                writeln!(f)?;
            }
        }
        write_more(f, total - shown, "log records")
    }
}

impl fmt::Display for Summary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.header(f)?;
        if self.brief {
            return Ok(());
        }
        match &self.request.payload {
            Some(Payload::Traces(req)) => self.traces(f, req),
            Some(Payload::Metrics(req)) => self.metrics(f, req),
            Some(Payload::Logs(req)) => self.logs(f, req),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::{Headers, Protocol};
    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
    use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::common::v1::KeyValue;
    use opentelemetry_proto::tonic::common::v1::{AnyValue, any_value};
    use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
    use opentelemetry_proto::tonic::metrics::v1::{
        Histogram, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum,
    };
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
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
    fn a_span_without_a_valid_id_says_so_and_parents_nothing() {
        let span = |id: Vec<u8>, name: &str, start: u64| Span {
            trace_id: vec![1; 16],
            span_id: id,
            name: name.into(),
            start_time_unix_nano: start,
            end_time_unix_nano: start + 1_000_000,
            ..Default::default()
        };
        let payload = Payload::Traces(ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans: vec![
                        span(Vec::new(), "no id", 1_000_000),
                        span(vec![2; 8], "root", 2_000_000),
                        span(vec![0; 8], "zero id", 3_000_000),
                    ],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        });
        let r = request(Signal::Traces, Some(payload));
        assert_eq!(
            Summary::new(&r).to_string(),
            "#7 traces http/protobuf HTTP/1.1 gzip 123 B: 3 spans -> ok\n  \
             resource (no attributes)\n  trace 01010101010101010101010101010101\n    \
             no id (1ms, unset) span [invalid id: empty]\n    \
             root (1ms, unset) span 0202020202020202\n    \
             zero id (1ms, unset) span 0000000000000000 [invalid id: all zero]\n"
        );
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
             resource (no attributes)\n  trace 01010101010101010101010101010101\n    \
             root (4ms, unset) span 0101010101010101\n      \
             child (1ms, unset) span 0202020202020202\n"
        );
        assert_eq!(
            Summary::new(&r).brief().to_string(),
            "#7 traces http/protobuf HTTP/1.1 gzip 123 B: 2 spans -> ok\n"
        );
        assert!(
            Summary::new(&r)
                .limit(1)
                .to_string()
                .ends_with("span 0101010101010101\n  … 1 more spans not shown\n")
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
             -> partial success (1 rejected: \"dup\")\n  resource (no attributes)\n  \
             requests (sum, 1 point): 12\n  \
             latency (histogram, 1 point): count 3 sum 7.5\n"
        );
        let hidden = Summary::new(&r).hide_metrics("lat");
        assert!(hidden.shows_anything());
        assert!(hidden.to_string().ends_with("): 12\n  (1 metric hidden)\n"));
        assert!(!Summary::new(&r).hide_metrics("").shows_anything());

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
             resource (no attributes)\n  WARN \"disk full\"\n  info <no body>\n"
        );
    }

    #[test]
    fn resources_kinds_attributes_and_ids_are_shown_and_cut_short() {
        let kv = |key: &str, value: &str| KeyValue {
            key: key.into(),
            value: Some(AnyValue {
                value: Some(any_value::Value::StringValue(value.into())),
            }),
            key_strindex: 0,
        };
        let traces = Payload::Traces(ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![kv("service.name", "shop")],
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    spans: vec![Span {
                        trace_id: vec![0xab; 16],
                        span_id: vec![0xcd; 8],
                        name: "GET /".into(),
                        kind: 2,
                        start_time_unix_nano: 1,
                        end_time_unix_nano: 1_000_001,
                        attributes: vec![kv("long", &"x".repeat(500))],
                        events: vec![Default::default()],
                        status: Some(Status {
                            code: 2,
                            message: "boom".into(),
                        }),
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        });
        let r = request(Signal::Traces, Some(traces));
        let text = Summary::new(&r).to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[1], "  resource service.name=\"shop\"");
        assert_eq!(lines[2], format!("  trace {}", "ab".repeat(16)));
        assert_eq!(
            lines[3],
            format!(
                "    GET / (server, 1ms, error: boom) span {} long=\"{}… [1 event]",
                "cd".repeat(8),
                "x".repeat(119)
            )
        );

        let logs = Payload::Logs(ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                scope_logs: vec![ScopeLogs {
                    log_records: vec![LogRecord {
                        severity_text: "ERROR".into(),
                        trace_id: vec![0xab; 16],
                        span_id: vec![0xcd; 8],
                        attributes: vec![kv("k", "v")],
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        });
        let r = request(Signal::Logs, Some(logs));
        assert!(Summary::new(&r).to_string().ends_with(&format!(
            "  ERROR <no body> trace {} span {} k=\"v\"\n",
            "ab".repeat(16),
            "cd".repeat(8)
        )));
    }

    #[test]
    fn text_a_sender_chose_cannot_drive_the_terminal() {
        let evil = "a\u{1b}]0;title\u{7}\u{1b}[2J\r\u{202e}b";
        let kv = |key: &str, value: AnyValue| KeyValue {
            key: key.into(),
            value: Some(value),
            ..Default::default()
        };
        let text = |s: &str| AnyValue {
            value: Some(any_value::Value::StringValue(s.into())),
        };
        let escaped = "a\\u{1b}]0;title\\u{7}\\u{1b}[2J\\u{d}\\u{202e}b";
        let map = AnyValue {
            value: Some(any_value::Value::KvlistValue(
                opentelemetry_proto::tonic::common::v1::KeyValueList {
                    values: vec![kv(evil, text("v"))],
                },
            )),
        };
        let traces = Payload::Traces(ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans: vec![Span {
                        trace_id: vec![1; 16],
                        span_id: vec![2; 8],
                        name: evil.into(),
                        status: Some(Status {
                            code: 2,
                            message: evil.into(),
                        }),
                        attributes: vec![kv(evil, text("v")), kv("m", map)],
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        });
        let metrics = Payload::Metrics(ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                scope_metrics: vec![ScopeMetrics {
                    metrics: vec![Metric {
                        name: evil.into(),
                        unit: evil.into(),
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        });
        let logs = Payload::Logs(ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                scope_logs: vec![ScopeLogs {
                    log_records: vec![LogRecord {
                        severity_text: evil.into(),
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        });
        for (signal, payload, times) in [
            (Signal::Traces, traces, 4),
            (Signal::Metrics, metrics, 2),
            (Signal::Logs, logs, 1),
        ] {
            let text = Summary::new(&request(signal, Some(payload))).to_string();
            assert!(
                !text
                    .chars()
                    .any(|c| (c.is_control() && c != '\n') || c == '\u{202e}'),
                "{text:?}"
            );
            assert_eq!(text.matches(escaped).count(), times, "{text}");
        }
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
