//! The `console` exporters (`OTEL_{TRACES,METRICS,LOGS}_EXPORTER=console`):
//! one human-readable line per span, log record and metric data point, on
//! standard output by default.
//!
//! They are meant for development. The pipeline runs them through the SDK's
//! simple processors (traces, logs) and a periodic reader (metrics); what
//! they print is not counted in the pipeline's
//! [`ExportStats`](otlpkit_core::stats::ExportStats), which account for the
//! OTLP exporters only.
//!
//! ```
//! use opentelemetry::trace::{Tracer as _, TracerProvider as _};
//! use opentelemetry_sdk::trace::SdkTracerProvider;
//! use otlpkit::console::{ConsoleSpanExporter, SharedBuffer};
//!
//! let buffer = SharedBuffer::default();
//! let provider = SdkTracerProvider::builder()
//!     .with_simple_exporter(ConsoleSpanExporter::to_writer(buffer.clone()))
//!     .build();
//! provider.tracer("demo").in_span("work", |_| {});
//! assert!(buffer.contents().contains("span work"));
//! ```

use std::fmt::{self, Write as _};
use std::future::{Future, ready};
use std::io::{self, Write};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use opentelemetry::logs::AnyValue;
use opentelemetry::trace::Status;
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::logs::LogBatch;
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
use opentelemetry_sdk::trace::SpanData;

type Sink = Arc<Mutex<Box<dyn Write + Send>>>;

/// Where the console exporters write.
#[derive(Clone)]
struct Output {
    sink: Sink,
}

impl fmt::Debug for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Output")
    }
}

impl Output {
    fn stdout() -> Self {
        Self::writer(io::stdout())
    }

    fn writer(writer: impl Write + Send + 'static) -> Self {
        Self {
            sink: Arc::new(Mutex::new(Box::new(writer))),
        }
    }

    /// Writes `text` at once, so lines of concurrent exports never mix.
    fn write(&self, text: &str) -> OTelSdkResult {
        if text.is_empty() {
            return Ok(());
        }
        // A panic while writing leaves nothing half-updated worth refusing.
        let mut sink = self.sink.lock().unwrap_or_else(PoisonError::into_inner);
        sink.write_all(text.as_bytes())
            .and_then(|()| sink.flush())
            .map_err(|error| OTelSdkError::InternalFailure(format!("console exporter: {error}")))
    }
}

/// A cloneable in-memory writer, for tests and for capturing what the
/// console exporters print.
#[derive(Debug, Clone, Default)]
pub struct SharedBuffer {
    bytes: Arc<Mutex<Vec<u8>>>,
}

impl SharedBuffer {
    /// Everything written so far, as text (invalid UTF-8 replaced).
    pub fn contents(&self) -> String {
        let bytes = self.bytes.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl Write for SharedBuffer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.bytes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Prints each span as `span <name> trace=<id> span=<id> parent=<id|-> <duration> <status> {attributes}`.
#[derive(Debug, Clone)]
pub struct ConsoleSpanExporter {
    output: Output,
}

impl Default for ConsoleSpanExporter {
    fn default() -> Self {
        Self::new()
    }
}

impl ConsoleSpanExporter {
    /// Writes to standard output.
    pub fn new() -> Self {
        Self {
            output: Output::stdout(),
        }
    }

    /// Writes to `writer`.
    pub fn to_writer(writer: impl Write + Send + 'static) -> Self {
        Self {
            output: Output::writer(writer),
        }
    }
}

impl opentelemetry_sdk::trace::SpanExporter for ConsoleSpanExporter {
    fn export(&self, batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
        let mut text = String::new();
        for span in &batch {
            let parent = if span.parent_span_id == opentelemetry::trace::SpanId::INVALID {
                "-".to_owned()
            } else {
                span.parent_span_id.to_string()
            };
            let duration = span
                .end_time
                .duration_since(span.start_time)
                .unwrap_or(Duration::ZERO);
            let status = match &span.status {
                Status::Unset => "unset".to_owned(),
                Status::Ok => "ok".to_owned(),
                Status::Error { description } if description.is_empty() => "error".to_owned(),
                Status::Error { description } => format!("error: {description}"),
            };
            let _ = writeln!(
                text,
                "span {} trace={} span={} parent={parent} {duration:?} {status} {}",
                span.name,
                span.span_context.trace_id(),
                span.span_context.span_id(),
                Attributes(&span.attributes),
            );
        }
        ready(self.output.write(&text))
    }
}

/// Prints each log record as `log <SEVERITY> <body> trace=<id|-> span=<id|-> {attributes}`.
#[derive(Debug, Clone)]
pub struct ConsoleLogExporter {
    output: Output,
}

impl Default for ConsoleLogExporter {
    fn default() -> Self {
        Self::new()
    }
}

impl ConsoleLogExporter {
    /// Writes to standard output.
    pub fn new() -> Self {
        Self {
            output: Output::stdout(),
        }
    }

    /// Writes to `writer`.
    pub fn to_writer(writer: impl Write + Send + 'static) -> Self {
        Self {
            output: Output::writer(writer),
        }
    }
}

impl opentelemetry_sdk::logs::LogExporter for ConsoleLogExporter {
    fn export(&self, batch: LogBatch<'_>) -> impl Future<Output = OTelSdkResult> + Send {
        let mut text = String::new();
        for (record, _scope) in batch.iter() {
            let severity = record
                .severity_text()
                .or_else(|| record.severity_number().map(|s| s.name()))
                .unwrap_or("-");
            let (trace, span) = record.trace_context().map_or_else(
                || ("-".to_owned(), "-".to_owned()),
                |cx| (cx.trace_id.to_string(), cx.span_id.to_string()),
            );
            let body = record
                .body()
                .map_or_else(String::new, |body| AnyDisplay(body).to_string());
            let attributes: Vec<String> = record
                .attributes_iter()
                .map(|(key, value)| format!("{key}={}", AnyDisplay(value)))
                .collect();
            let _ = writeln!(
                text,
                "log {severity} {body} trace={trace} span={span} {{{}}}",
                attributes.join(", ")
            );
        }
        ready(self.output.write(&text))
    }
}

/// Prints each metric data point as `metric <name> [unit] {attributes} <value>`;
/// histograms print count, sum, min and max.
#[derive(Debug, Clone)]
pub struct ConsoleMetricExporter {
    output: Output,
    temporality: Temporality,
}

impl Default for ConsoleMetricExporter {
    fn default() -> Self {
        Self::new()
    }
}

impl ConsoleMetricExporter {
    /// Writes to standard output, with cumulative temporality.
    pub fn new() -> Self {
        Self {
            output: Output::stdout(),
            temporality: Temporality::Cumulative,
        }
    }

    /// Writes to `writer`, with cumulative temporality.
    pub fn to_writer(writer: impl Write + Send + 'static) -> Self {
        Self {
            output: Output::writer(writer),
            temporality: Temporality::Cumulative,
        }
    }

    /// The temporality the exporter asks the SDK for.
    #[must_use]
    pub fn with_temporality(mut self, temporality: Temporality) -> Self {
        self.temporality = temporality;
        self
    }
}

impl opentelemetry_sdk::metrics::exporter::PushMetricExporter for ConsoleMetricExporter {
    fn export(&self, metrics: &ResourceMetrics) -> impl Future<Output = OTelSdkResult> + Send {
        let mut text = String::new();
        for scope in metrics.scope_metrics() {
            for metric in scope.metrics() {
                let unit = if metric.unit().is_empty() {
                    String::new()
                } else {
                    format!(" [{}]", metric.unit())
                };
                let head = format!("metric {}{unit}", metric.name());
                match metric.data() {
                    AggregatedMetrics::F64(data) => points(&mut text, &head, data),
                    AggregatedMetrics::U64(data) => points(&mut text, &head, data),
                    AggregatedMetrics::I64(data) => points(&mut text, &head, data),
                }
            }
        }
        ready(self.output.write(&text))
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }

    fn temporality(&self) -> Temporality {
        self.temporality
    }
}

fn points<T: fmt::Display + Copy>(text: &mut String, head: &str, data: &MetricData<T>) {
    let mut line = |attributes: Vec<KeyValue>, value: String| {
        let _ = writeln!(text, "{head} {} {value}", Attributes(&attributes));
    };
    match data {
        MetricData::Gauge(gauge) => {
            for point in gauge.data_points() {
                line(
                    point.attributes().cloned().collect(),
                    point.value().to_string(),
                );
            }
        }
        MetricData::Sum(sum) => {
            for point in sum.data_points() {
                line(
                    point.attributes().cloned().collect(),
                    point.value().to_string(),
                );
            }
        }
        MetricData::Histogram(histogram) => {
            for point in histogram.data_points() {
                let range = match (point.min(), point.max()) {
                    (Some(min), Some(max)) => format!(" min={min} max={max}"),
                    _ => String::new(),
                };
                line(
                    point.attributes().cloned().collect(),
                    format!("count={} sum={}{range}", point.count(), point.sum()),
                );
            }
        }
        MetricData::ExponentialHistogram(histogram) => {
            for point in histogram.data_points() {
                line(
                    point.attributes().cloned().collect(),
                    format!("count={} sum={}", point.count(), point.sum()),
                );
            }
        }
    }
}

/// `{key=value, ...}`.
struct Attributes<'a>(&'a [KeyValue]);

impl fmt::Display for Attributes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_char('{')?;
        for (i, kv) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            match &kv.value {
                Value::String(text) => write!(f, "{}={:?}", kv.key, text.as_str())?,
                other => write!(f, "{}={other}", kv.key)?,
            }
        }
        f.write_char('}')
    }
}

/// A log body or attribute value.
struct AnyDisplay<'a>(&'a AnyValue);

impl fmt::Display for AnyDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            AnyValue::Int(value) => write!(f, "{value}"),
            AnyValue::Double(value) => write!(f, "{value}"),
            AnyValue::String(value) => f.write_str(value.as_str()),
            AnyValue::Boolean(value) => write!(f, "{value}"),
            AnyValue::Bytes(bytes) => write!(f, "<{} bytes>", bytes.len()),
            AnyValue::ListAny(values) => {
                f.write_char('[')?;
                for (i, value) in values.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{}", AnyDisplay(value))?;
                }
                f.write_char(']')
            }
            AnyValue::Map(map) => {
                let mut entries: Vec<String> = map
                    .iter()
                    .map(|(key, value)| format!("{key}={}", AnyDisplay(value)))
                    .collect();
                entries.sort();
                write!(f, "{{{}}}", entries.join(", "))
            }
            // `AnyValue` is non-exhaustive.
            other => write!(f, "{other:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::logs::{LogRecord as _, Logger as _, LoggerProvider as _, Severity};
    use opentelemetry::metrics::MeterProvider as _;
    use opentelemetry::trace::{Status, TraceContextExt as _, Tracer as _, TracerProvider as _};
    use opentelemetry_sdk::logs::SdkLoggerProvider;
    use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
    use opentelemetry_sdk::trace::SdkTracerProvider;

    #[test]
    fn spans_print_one_line_each_with_ids_parent_status_and_attributes() {
        let buffer = SharedBuffer::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(ConsoleSpanExporter::to_writer(buffer.clone()))
            .build();
        let tracer = provider.tracer("console");
        let (trace_id, parent_id) = tracer.in_span("outer", |cx| {
            tracer.in_span("inner", |cx| {
                cx.span().set_attribute(KeyValue::new("rows", 3_i64));
                cx.span().set_attribute(KeyValue::new("table", "users"));
                cx.span().set_status(Status::error("disk full"));
            });
            let span = cx.span();
            (
                span.span_context().trace_id(),
                span.span_context().span_id(),
            )
        });
        provider.shutdown().unwrap();
        let text = buffer.contents();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(lines[0].starts_with("span inner "), "{text}");
        assert!(lines[0].contains(&format!("trace={trace_id}")), "{text}");
        assert!(lines[0].contains(&format!("parent={parent_id}")), "{text}");
        assert!(lines[0].contains("error: disk full"), "{text}");
        assert!(lines[0].ends_with(r#"{rows=3, table="users"}"#), "{text}");
        assert!(lines[1].starts_with("span outer "), "{text}");
        assert!(lines[1].contains("parent=- "), "{text}");
    }

    #[test]
    fn log_records_print_severity_body_correlation_and_attributes() {
        let buffer = SharedBuffer::default();
        let provider = SdkLoggerProvider::builder()
            .with_simple_exporter(ConsoleLogExporter::to_writer(buffer.clone()))
            .build();
        let logger = provider.logger("console");
        let mut record = logger.create_log_record();
        record.set_severity_number(Severity::Warn);
        record.set_body("disk almost full".into());
        record.add_attribute("free", 3_i64);
        logger.emit(record);
        provider.shutdown().unwrap();
        assert_eq!(
            buffer.contents(),
            "log WARN disk almost full trace=- span=- {free=3}\n"
        );
    }

    #[test]
    fn metric_points_print_name_unit_attributes_and_value() {
        let buffer = SharedBuffer::default();
        let provider = SdkMeterProvider::builder()
            .with_reader(
                PeriodicReader::builder(ConsoleMetricExporter::to_writer(buffer.clone())).build(),
            )
            .build();
        let meter = provider.meter("console");
        let counter = meter.u64_counter("requests").with_unit("{request}").build();
        counter.add(2, &[KeyValue::new("route", "/")]);
        let histogram = meter.f64_histogram("latency").with_unit("s").build();
        histogram.record(0.5, &[]);
        histogram.record(1.5, &[]);
        provider.shutdown().unwrap();
        let text = buffer.contents();
        assert!(
            text.contains("metric requests [{request}] {route=\"/\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("metric latency [s] {} count=2 sum=2 min=0.5 max=1.5\n"),
            "{text}"
        );
    }
}
