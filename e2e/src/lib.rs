//! Support code for the end-to-end tests against the [rotel] collector.
//!
//! The tests in `e2e/tests/rotel.rs` (the official exporter) and
//! `e2e/tests/transports.rs` (otlpkit's own exporters) send telemetry to a
//! real rotel process and check what rotel says it received;
//! `e2e/tests/rotel_support.rs` tests this crate's own code. `cargo xtask e2e`
//! installs the pinned rotel ([`ROTEL_VERSION`]), starts it on free
//! `127.0.0.1` ports with a detailed debug log of everything it receives, and
//! runs this crate's tests with three environment variables:
//!
//! - [`GRPC_ENDPOINT_VAR`]: rotel's OTLP/gRPC endpoint, `http://127.0.0.1:<port>`;
//! - [`HTTP_ENDPOINT_VAR`]: rotel's OTLP/HTTP base endpoint, `http://127.0.0.1:<port>`;
//! - [`REPORT_VAR`]: the absolute path of the file holding rotel's stdout,
//!   where its debug log (its report of what it received) goes.
//!
//! This crate provides:
//!
//! - [`Rotel::from_env`], which reads those variables. When they are missing
//!   it returns an error that says how to start rotel, and the tests fail with
//!   it: the suite never passes without a collector, in CI or not;
//! - [`Report`], rotel's debug log parsed into what a test asserts on: per
//!   signal, the trace ids, span ids, parents and names of the spans, the
//!   names and data points of the metrics and the bodies, severities and ids
//!   of the log records;
//! - [`Rotel::wait_for_spans`] and [`Rotel::wait_for`], which poll the report
//!   until the expected data arrived or a deadline passed.
//!
//! # Example
//!
//! Parsing a report as rotel prints it with `--debug-log-verbosity detailed`:
//!
//! ```
//! use otlpkit_e2e::Report;
//!
//! let text = [
//!     "ResourceSpans #0",
//!     "Resource SchemaURL: ",
//!     "Resource attributes:",
//!     "     -> service.name: Str(checkout)",
//!     "ScopeSpans #0",
//!     "ScopeSpans SchemaURL: ",
//!     "InstrumentationScope shop ",
//!     "Span #0",
//!     "    Trace ID       : 5b8efff798038103d269b633813fc60c",
//!     "    Parent ID      : eee19b7ec3c1b173",
//!     "    ID             : eee19b7ec3c1b174",
//!     "    Name           : pay",
//!     "    Kind           : SPAN_KIND_SERVER",
//! ]
//! .join("\n");
//! let report = Report::parse(&text);
//! let span = &report.spans()[0];
//! assert_eq!(span.trace_id, "5b8efff798038103d269b633813fc60c");
//! assert_eq!(span.parent_span_id.as_deref(), Some("eee19b7ec3c1b173"));
//! assert_eq!(span.name, "pay");
//! assert_eq!(span.service_name(), Some("checkout"));
//! ```
//!
//! In a test, with rotel running (`cargo xtask e2e`):
//!
//! ```no_run
//! use std::time::Duration;
//! use otlpkit_e2e::Rotel;
//!
//! let rotel = Rotel::from_env().unwrap_or_else(|error| panic!("{error}"));
//! // ... export a trace with two spans to rotel.grpc_endpoint() ...
//! # let trace_id = "5b8efff798038103d269b633813fc60c";
//! let spans = rotel
//!     .wait_for_spans(trace_id, 2, Duration::from_secs(30))
//!     .unwrap_or_else(|error| panic!("{error}"));
//! assert_eq!(spans.len(), 2);
//! ```
//!
//! [rotel]: https://github.com/streamfold/rotel

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

/// The rotel release the suite runs against; `cargo xtask e2e` installs it.
pub const ROTEL_VERSION: &str = "0.0.1a15";

/// Environment variable with rotel's OTLP/gRPC endpoint, `http://127.0.0.1:<port>`.
pub const GRPC_ENDPOINT_VAR: &str = "OTLPKIT_E2E_ROTEL_GRPC_ENDPOINT";
/// Environment variable with rotel's OTLP/HTTP base endpoint, `http://127.0.0.1:<port>`.
pub const HTTP_ENDPOINT_VAR: &str = "OTLPKIT_E2E_ROTEL_HTTP_ENDPOINT";
/// Environment variable with the absolute path of rotel's report (its stdout).
pub const REPORT_VAR: &str = "OTLPKIT_E2E_ROTEL_LOG";

/// How often [`Rotel::wait_for`] rereads the report.
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Why [`Rotel::from_env`] found no usable rotel.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A variable is unset or empty: nobody started rotel for this run.
    #[error(
        "rotel is not running (`{var}` is not set): run `cargo xtask e2e`, or install it with \
         `python3 -m pip install rotel=={version}` and start the `rotel-agent` binary found in \
         the installed `rotel` package directory: `rotel-agent start --exporter blackhole \
         --debug-log traces --debug-log metrics --debug-log logs --debug-log-verbosity detailed \
         --otlp-grpc-endpoint 127.0.0.1:4317 --otlp-http-endpoint 127.0.0.1:4318 \
         > /tmp/rotel-report.log`, then set `{grpc}=http://127.0.0.1:4317 \
         {http}=http://127.0.0.1:4318 {report}=/tmp/rotel-report.log`",
        version = ROTEL_VERSION,
        grpc = GRPC_ENDPOINT_VAR,
        http = HTTP_ENDPOINT_VAR,
        report = REPORT_VAR
    )]
    NotRunning {
        /// The missing variable.
        var: &'static str,
    },
    /// A variable is set to something the suite cannot use.
    #[error("`{var}={value}` is not usable: {reason}")]
    Invalid {
        /// The offending variable.
        var: &'static str,
        /// Its value.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// Why reading or waiting for rotel's report failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// The report file cannot be read.
    #[error("cannot read rotel's report {}: {source}", path.display())]
    Read {
        /// The report file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The expected data did not show up in time.
    #[error(
        "rotel's report {} does not show {expected} within {}ms; it shows {seen}",
        path.display(),
        timeout.as_millis()
    )]
    Timeout {
        /// The report file.
        path: PathBuf,
        /// What the caller waited for.
        expected: String,
        /// What the report showed at the deadline.
        seen: String,
        /// How long the caller waited.
        timeout: Duration,
    },
}

/// A running rotel, as described by the environment `cargo xtask e2e` sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotel {
    grpc_endpoint: String,
    http_endpoint: String,
    report: PathBuf,
}

impl Rotel {
    /// Reads [`GRPC_ENDPOINT_VAR`], [`HTTP_ENDPOINT_VAR`] and [`REPORT_VAR`].
    ///
    /// Endpoints must be `http://127.0.0.1:<port>` (the suite talks to the
    /// loopback interface only) and the report an existing file given by an
    /// absolute path. An unset or empty variable gives
    /// [`ConfigError::NotRunning`], whose message says how to start rotel.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`Rotel::from_env`], with the variables read through `var`
    /// instead of the process environment.
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &'static str| match var(name) {
            Some(value) if !value.is_empty() => Ok(value),
            _ => Err(ConfigError::NotRunning { var: name }),
        };
        let grpc_endpoint = loopback_endpoint(GRPC_ENDPOINT_VAR, get(GRPC_ENDPOINT_VAR)?)?;
        let http_endpoint = loopback_endpoint(HTTP_ENDPOINT_VAR, get(HTTP_ENDPOINT_VAR)?)?;
        let report = get(REPORT_VAR)?;
        let path = Path::new(&report);
        if !path.is_absolute() {
            return Err(invalid(REPORT_VAR, report, "the path is not absolute"));
        }
        if !path.is_file() {
            return Err(invalid(REPORT_VAR, report, "no such file"));
        }
        Ok(Self {
            grpc_endpoint,
            http_endpoint,
            report: PathBuf::from(report),
        })
    }

    /// rotel's OTLP/gRPC endpoint, `http://127.0.0.1:<port>`.
    pub fn grpc_endpoint(&self) -> &str {
        &self.grpc_endpoint
    }

    /// rotel's OTLP/HTTP base endpoint, `http://127.0.0.1:<port>` (no path).
    pub fn http_endpoint(&self) -> &str {
        &self.http_endpoint
    }

    /// The full OTLP/HTTP URL of one signal, e.g. `http://127.0.0.1:4318/v1/traces`.
    pub fn http_signal_url(&self, signal: Signal) -> String {
        format!("{}{}", self.http_endpoint, signal.http_path())
    }

    /// The file holding rotel's report.
    pub fn report_path(&self) -> &Path {
        &self.report
    }

    /// Reads and parses rotel's report as it is now.
    pub fn read_report(&self) -> Result<Report, ReportError> {
        let bytes = fs::read(&self.report).map_err(|source| ReportError::Read {
            path: self.report.clone(),
            source,
        })?;
        Ok(Report::parse(&String::from_utf8_lossy(&bytes)))
    }

    /// Rereads the report until `done` accepts it, at most for `timeout`.
    ///
    /// `expected` describes what `done` checks; it goes into the
    /// [`ReportError::Timeout`] error together with `describe` applied to the
    /// last report read.
    pub fn wait_for(
        &self,
        timeout: Duration,
        expected: &str,
        done: impl Fn(&Report) -> bool,
        describe: impl Fn(&Report) -> String,
    ) -> Result<Report, ReportError> {
        let deadline = Instant::now() + timeout;
        loop {
            let report = self.read_report()?;
            if done(&report) {
                return Ok(report);
            }
            if Instant::now() >= deadline {
                return Err(ReportError::Timeout {
                    path: self.report.clone(),
                    expected: expected.to_owned(),
                    seen: describe(&report),
                    timeout,
                });
            }
            thread::sleep(POLL_INTERVAL);
        }
    }

    /// Waits until the report shows at least `count` spans of `trace_id`
    /// (32 hex digits, any case), then returns all spans of that trace.
    pub fn wait_for_spans(
        &self,
        trace_id: &str,
        count: usize,
        timeout: Duration,
    ) -> Result<Vec<ReceivedSpan>, ReportError> {
        let report = self.wait_for(
            timeout,
            &format!("{count} spans of trace {trace_id}"),
            |report| report.spans_of_trace(trace_id).count() >= count,
            |report| {
                let spans: Vec<String> = report
                    .spans_of_trace(trace_id)
                    .map(|span| format!("{} ({})", span.span_id, span.name))
                    .collect();
                format!(
                    "{} spans of that trace [{}] among {} spans in total",
                    spans.len(),
                    spans.join(", "),
                    report.spans().len()
                )
            },
        )?;
        Ok(report.spans_of_trace(trace_id).cloned().collect())
    }
}

fn invalid(var: &'static str, value: String, reason: &'static str) -> ConfigError {
    ConfigError::Invalid { var, value, reason }
}

/// Checks that `value` is `http://127.0.0.1:<port>` (a trailing `/` is
/// dropped) and returns it without the slash.
fn loopback_endpoint(var: &'static str, value: String) -> Result<String, ConfigError> {
    let trimmed = value.strip_suffix('/').unwrap_or(&value);
    let Some(port) = trimmed.strip_prefix("http://127.0.0.1:") else {
        return Err(invalid(
            var,
            value,
            "expected http://127.0.0.1:<port>: the suite talks to the loopback interface only",
        ));
    };
    match port.parse::<u16>() {
        Ok(port) if port != 0 => Ok(trimmed.to_owned()),
        _ => Err(invalid(
            var,
            value,
            "the port is not a number from 1 to 65535",
        )),
    }
}

/// An OTLP signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Signal {
    /// Spans.
    Traces,
    /// Metrics.
    Metrics,
    /// Log records.
    Logs,
}

impl Signal {
    /// The OTLP/HTTP path of the signal (checklist 6), e.g. `/v1/traces`.
    pub fn http_path(self) -> &'static str {
        match self {
            Signal::Traces => "/v1/traces",
            Signal::Metrics => "/v1/metrics",
            Signal::Logs => "/v1/logs",
        }
    }
}

/// A span as rotel reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReceivedSpan {
    /// Trace id, 32 lowercase hex digits.
    pub trace_id: String,
    /// Span id, 16 lowercase hex digits.
    pub span_id: String,
    /// Parent span id, `None` for a root span.
    pub parent_span_id: Option<String>,
    /// Span name.
    pub name: String,
    /// Span kind as rotel prints it, e.g. `SPAN_KIND_SERVER`.
    pub kind: String,
    /// Status code as rotel prints it, e.g. `STATUS_CODE_UNSET`.
    pub status_code: String,
    /// Status message, empty when unset.
    pub status_message: String,
    /// Name of the instrumentation scope (the tracer's name).
    pub scope: String,
    /// Span attributes as `(key, value)`, values as rotel prints them, e.g.
    /// `Str(grpc)`, `Int(3)`, `Slice(Int(1))`.
    pub attributes: Vec<(String, String)>,
    /// Attributes of the resource the span came with, in the same form.
    pub resource: Vec<(String, String)>,
    /// Start time in nanoseconds since the Unix epoch, as rotel prints it;
    /// empty when the report shows none.
    pub start_time: String,
    /// End time in nanoseconds since the Unix epoch, as rotel prints it;
    /// empty when the report shows none.
    pub end_time: String,
}

impl ReceivedSpan {
    /// The value of a span attribute as rotel prints it, e.g. `Str(grpc)`.
    pub fn attribute(&self, key: &str) -> Option<&str> {
        find(&self.attributes, key)
    }

    /// The resource's `service.name`, if it is a string.
    pub fn service_name(&self) -> Option<&str> {
        service_name(&self.resource)
    }
}

/// A metric as rotel reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReceivedMetric {
    /// Metric name.
    pub name: String,
    /// Data type as rotel prints it, e.g. `Sum`, `Gauge`, `Histogram`.
    pub data_type: String,
    /// Name of the instrumentation scope (the meter's name).
    pub scope: String,
    /// Attributes of the resource the metric came with.
    pub resource: Vec<(String, String)>,
    /// The metric's data points, in the order rotel reported them.
    pub data_points: Vec<ReceivedDataPoint>,
}

impl ReceivedMetric {
    /// The resource's `service.name`, if it is a string.
    pub fn service_name(&self) -> Option<&str> {
        service_name(&self.resource)
    }
}

/// One data point of a metric as rotel reported it. Values are kept as rotel
/// prints them (`7`, `2.5`), fields rotel did not print stay `None` or empty.
///
/// rotel prints a number data point's `Value` and a histogram data point's
/// `Count`, `Sum`, `Min`, `Max`, `ExplicitBounds` and bucket counts; of
/// exponential histogram and summary points only the kind, attributes and
/// timestamps are collected.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReceivedDataPoint {
    /// The kind as rotel names it: `NumberDataPoints`, `HistogramDataPoints`,
    /// `ExponentialHistogramDataPoints` or `SummaryDataPoints`.
    pub kind: String,
    /// Data point attributes as `(key, value)`, values as rotel prints them.
    pub attributes: Vec<(String, String)>,
    /// Start time in nanoseconds since the Unix epoch, as printed.
    pub start_timestamp: String,
    /// Time in nanoseconds since the Unix epoch, as printed.
    pub timestamp: String,
    /// The value of a number data point.
    pub value: Option<String>,
    /// The count of a histogram data point.
    pub count: Option<String>,
    /// The sum of a histogram data point.
    pub sum: Option<String>,
    /// The minimum of a histogram data point.
    pub min: Option<String>,
    /// The maximum of a histogram data point.
    pub max: Option<String>,
    /// The explicit bucket boundaries of a histogram data point, in order.
    pub explicit_bounds: Vec<String>,
    /// The bucket counts of a histogram data point, in order.
    pub bucket_counts: Vec<String>,
}

impl ReceivedDataPoint {
    /// The value of a data point attribute as rotel prints it, e.g. `Str(v)`.
    pub fn attribute(&self, key: &str) -> Option<&str> {
        find(&self.attributes, key)
    }
}

/// A log record as rotel reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReceivedLog {
    /// Body as rotel prints it, e.g. `Str(hello)`; lines of a multi-line body
    /// are joined with `\n`.
    pub body: String,
    /// Severity text, empty when unset.
    pub severity_text: String,
    /// Severity number as rotel prints it, e.g. `SEVERITY_NUMBER_WARN(13)`;
    /// empty when the report shows none.
    pub severity_number: String,
    /// Event name, empty when unset.
    pub event_name: String,
    /// Time of the event in nanoseconds since the Unix epoch, as printed
    /// (`0` when unset).
    pub timestamp: String,
    /// Time the record was observed, in nanoseconds since the Unix epoch, as
    /// printed (`0` when unset).
    pub observed_timestamp: String,
    /// Trace flags as printed, e.g. `1` for a record of a sampled span.
    pub flags: String,
    /// Trace id of the record's span context, `None` when absent.
    pub trace_id: Option<String>,
    /// Span id of the record's span context, `None` when absent.
    pub span_id: Option<String>,
    /// Name of the instrumentation scope (the logger's name).
    pub scope: String,
    /// Log record attributes as `(key, value)`, values as rotel prints them.
    pub attributes: Vec<(String, String)>,
    /// Attributes of the resource the record came with.
    pub resource: Vec<(String, String)>,
}

impl ReceivedLog {
    /// The value of an attribute as rotel prints it, e.g. `Str(v)`.
    pub fn attribute(&self, key: &str) -> Option<&str> {
        find(&self.attributes, key)
    }

    /// The resource's `service.name`, if it is a string.
    pub fn service_name(&self) -> Option<&str> {
        service_name(&self.resource)
    }
}

fn find<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(candidate, _)| candidate == key)
        .map(|(_, value)| value.as_str())
}

fn service_name(resource: &[(String, String)]) -> Option<&str> {
    find(resource, "service.name")?
        .strip_prefix("Str(")?
        .strip_suffix(')')
}

/// rotel's debug log, parsed.
///
/// rotel started with `--debug-log traces --debug-log metrics --debug-log logs
/// --debug-log-verbosity detailed` prints every batch it receives to stdout
/// in the layout of the OpenTelemetry Collector's debug exporter
/// (`ResourceSpans #0`, `Span #0`, `    Trace ID       : ...`, ...). Lines
/// that are not part of that layout (rotel's own log lines) are ignored, and so
/// are span events and links. The lines of a multi-line attribute value or log
/// body are joined with `\n`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    spans: Vec<ReceivedSpan>,
    metrics: Vec<ReceivedMetric>,
    logs: Vec<ReceivedLog>,
}

impl Report {
    /// Parses the text of rotel's debug log. Never fails: what it does not
    /// recognise is skipped.
    pub fn parse(text: &str) -> Self {
        let mut parser = Parser::default();
        for line in text.lines() {
            parser.line(line.strip_suffix('\r').unwrap_or(line));
        }
        parser.finish_item();
        parser.report
    }

    /// Every span, in the order rotel reported them.
    pub fn spans(&self) -> &[ReceivedSpan] {
        &self.spans
    }

    /// The spans of one trace (32 hex digits, any case).
    pub fn spans_of_trace<'a>(
        &'a self,
        trace_id: &'a str,
    ) -> impl Iterator<Item = &'a ReceivedSpan> + 'a {
        self.spans
            .iter()
            .filter(move |span| span.trace_id.eq_ignore_ascii_case(trace_id))
    }

    /// Every metric, in the order rotel reported them.
    pub fn metrics(&self) -> &[ReceivedMetric] {
        &self.metrics
    }

    /// Every log record, in the order rotel reported them.
    pub fn logs(&self) -> &[ReceivedLog] {
        &self.logs
    }

    /// The metrics whose resource has the attribute `key` printed as `value`
    /// (e.g. `Str(checkout)`), in the order rotel reported them.
    pub fn metrics_with_resource<'a>(
        &'a self,
        key: &'a str,
        value: &'a str,
    ) -> impl Iterator<Item = &'a ReceivedMetric> + 'a {
        self.metrics
            .iter()
            .filter(move |metric| find(&metric.resource, key) == Some(value))
    }

    /// The log records whose resource has the attribute `key` printed as
    /// `value` (e.g. `Str(checkout)`), in the order rotel reported them.
    pub fn logs_with_resource<'a>(
        &'a self,
        key: &'a str,
        value: &'a str,
    ) -> impl Iterator<Item = &'a ReceivedLog> + 'a {
        self.logs
            .iter()
            .filter(move |log| find(&log.resource, key) == Some(value))
    }
}

/// What the lines being read belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Section {
    #[default]
    Other,
    ResourceAttributes,
    ItemAttributes,
    MetricDescriptor,
    DataPointAttributes,
    LogBody,
}

#[derive(Debug)]
enum Item {
    Span(ReceivedSpan),
    Metric(ReceivedMetric),
    Log(ReceivedLog),
}

#[derive(Debug, Default)]
struct Parser {
    report: Report,
    resource: Vec<(String, String)>,
    scope: String,
    item: Option<Item>,
    section: Section,
}

/// The id as printed, lowercased; `None` when rotel printed nothing.
fn id(value: &str) -> Option<String> {
    (!value.is_empty()).then(|| value.to_ascii_lowercase())
}

impl Parser {
    fn line(&mut self, line: &str) {
        if [
            "ResourceSpans #",
            "ResourceMetrics #",
            "ResourceLog #",
            "ResourceLogs #",
        ]
        .iter()
        .any(|header| line.starts_with(header))
        {
            self.finish_item();
            self.resource.clear();
            self.scope.clear();
            self.section = Section::Other;
        } else if line == "Resource attributes:" {
            self.section = Section::ResourceAttributes;
        } else if ["ScopeSpans #", "ScopeMetrics #", "ScopeLogs #"]
            .iter()
            .any(|header| line.starts_with(header))
        {
            self.finish_item();
            self.scope.clear();
            self.section = Section::Other;
        } else if let Some(rest) = line.strip_prefix("InstrumentationScope ") {
            rest.split(' ')
                .next()
                .unwrap_or_default()
                .clone_into(&mut self.scope);
        } else if line.starts_with("Span #") {
            self.start(Item::Span(ReceivedSpan {
                trace_id: String::new(),
                span_id: String::new(),
                parent_span_id: None,
                name: String::new(),
                kind: String::new(),
                status_code: String::new(),
                status_message: String::new(),
                scope: self.scope.clone(),
                attributes: Vec::new(),
                resource: self.resource.clone(),
                start_time: String::new(),
                end_time: String::new(),
            }));
        } else if line.starts_with("Metric #") {
            self.start(Item::Metric(ReceivedMetric {
                name: String::new(),
                data_type: String::new(),
                scope: self.scope.clone(),
                resource: self.resource.clone(),
                data_points: Vec::new(),
            }));
        } else if line.starts_with("LogRecord #") {
            self.start(Item::Log(ReceivedLog {
                body: String::new(),
                severity_text: String::new(),
                severity_number: String::new(),
                event_name: String::new(),
                timestamp: String::new(),
                observed_timestamp: String::new(),
                flags: String::new(),
                trace_id: None,
                span_id: None,
                scope: self.scope.clone(),
                attributes: Vec::new(),
                resource: self.resource.clone(),
            }));
        } else if line == "Attributes:" {
            self.section = Section::ItemAttributes;
        } else if line == "Descriptor:" {
            self.section = Section::MetricDescriptor;
        } else if let Some(rest) = line.strip_prefix("     -> ") {
            self.arrow(rest);
        } else if let Some(rest) = line
            .strip_prefix("    ")
            .filter(|rest| !rest.starts_with(' '))
        {
            self.section = Section::Other;
            if let Some((key, value)) = rest.split_once(':') {
                self.field(key.trim_end(), value.trim());
            }
        } else if let (Some(body), Some(Item::Log(log))) =
            (line.strip_prefix("Body: "), self.item.as_mut())
        {
            body.clone_into(&mut log.body);
            self.section = Section::LogBody;
        } else if let (Some(text), Some(Item::Log(log))) =
            (line.strip_prefix("SeverityText: "), self.item.as_mut())
        {
            text.clone_into(&mut log.severity_text);
            self.section = Section::Other;
        } else if self.detail(line) {
            // A data point, a log record field or a span's time.
        } else if !self.continue_value(line) {
            // `Events:`, `Links:`, rotel's own log lines: none of it is
            // collected.
            self.section = Section::Other;
        }
    }

    /// An unindented `Key: value` line of the current item: a data point
    /// header or field, a log record field (other than the body and the
    /// severity text), or a span's start or end time. Returns whether it was
    /// one.
    fn detail(&mut self, line: &str) -> bool {
        match self.item.as_mut() {
            Some(Item::Metric(metric)) => {
                if let Some((kind, _)) = line.split_once(" #").filter(|(kind, _)| {
                    [
                        "NumberDataPoints",
                        "HistogramDataPoints",
                        "ExponentialHistogramDataPoints",
                        "SummaryDataPoints",
                    ]
                    .contains(kind)
                }) {
                    metric.data_points.push(ReceivedDataPoint {
                        kind: kind.to_owned(),
                        ..ReceivedDataPoint::default()
                    });
                    self.section = Section::Other;
                    return true;
                }
                let Some(point) = metric.data_points.last_mut() else {
                    return false;
                };
                if line == "Data point attributes:" {
                    self.section = Section::DataPointAttributes;
                    return true;
                }
                let recognised = data_point_field(point, line);
                if recognised {
                    self.section = Section::Other;
                }
                recognised
            }
            Some(Item::Log(log)) => {
                let Some((key, value)) = line.split_once(": ") else {
                    return false;
                };
                let field = match key {
                    "SeverityNumber" => &mut log.severity_number,
                    "EventName" => &mut log.event_name,
                    "Timestamp" => &mut log.timestamp,
                    "ObservedTimestamp" => &mut log.observed_timestamp,
                    "Flags" => &mut log.flags,
                    _ => return false,
                };
                value.clone_into(field);
                self.section = Section::Other;
                true
            }
            Some(Item::Span(span)) => {
                let Some((key, value)) = line.split_once(": ") else {
                    return false;
                };
                let field = match key {
                    "Start time" => &mut span.start_time,
                    "End time" => &mut span.end_time,
                    _ => return false,
                };
                value.clone_into(field);
                self.section = Section::Other;
                true
            }
            None => false,
        }
    }

    /// Appends `line` to a multi-line value (an attribute or a log body) when
    /// one is being read; returns whether it did.
    fn continue_value(&mut self, line: &str) -> bool {
        if ["Events:", "Links:"].contains(&line) || is_log_field(line) {
            return false;
        }
        let value = match (self.section, self.item.as_mut()) {
            (Section::LogBody, Some(Item::Log(log))) => Some(&mut log.body),
            (Section::ResourceAttributes, _) => self.resource.last_mut().map(|(_, value)| value),
            (Section::ItemAttributes, Some(Item::Span(span))) => {
                span.attributes.last_mut().map(|(_, value)| value)
            }
            (Section::ItemAttributes, Some(Item::Log(log))) => {
                log.attributes.last_mut().map(|(_, value)| value)
            }
            (Section::DataPointAttributes, Some(Item::Metric(metric))) => metric
                .data_points
                .last_mut()
                .and_then(|point| point.attributes.last_mut())
                .map(|(_, value)| value),
            _ => None,
        };
        let Some(value) = value else {
            return false;
        };
        value.push('\n');
        value.push_str(line);
        true
    }

    /// A `     -> key: value` line.
    fn arrow(&mut self, rest: &str) {
        let Some((key, value)) = rest.split_once(": ").or_else(|| {
            // `     -> Description: ` has nothing after the colon.
            rest.strip_suffix(':').map(|key| (key, ""))
        }) else {
            return;
        };
        let pair = (key.to_owned(), value.to_owned());
        match (self.section, self.item.as_mut()) {
            (Section::ResourceAttributes, _) => self.resource.push(pair),
            (Section::ItemAttributes, Some(Item::Span(span))) => span.attributes.push(pair),
            (Section::ItemAttributes, Some(Item::Log(log))) => log.attributes.push(pair),
            (Section::DataPointAttributes, Some(Item::Metric(metric))) => {
                if let Some(point) = metric.data_points.last_mut() {
                    point.attributes.push(pair);
                }
            }
            (Section::MetricDescriptor, Some(Item::Metric(metric))) => match key {
                "Name" => metric.name = pair.1,
                "DataType" => metric.data_type = pair.1,
                _ => {}
            },
            _ => {}
        }
    }

    /// A `    Key            : value` line of a span or log record.
    fn field(&mut self, key: &str, value: &str) {
        match self.item.as_mut() {
            Some(Item::Span(span)) => match key {
                "Trace ID" => span.trace_id = value.to_ascii_lowercase(),
                "Parent ID" => span.parent_span_id = id(value),
                "ID" => span.span_id = value.to_ascii_lowercase(),
                "Name" => value.clone_into(&mut span.name),
                "Kind" => value.clone_into(&mut span.kind),
                "Status code" => value.clone_into(&mut span.status_code),
                "Status message" => value.clone_into(&mut span.status_message),
                _ => {}
            },
            Some(Item::Log(log)) => match key {
                "Trace ID" => log.trace_id = id(value),
                "Span ID" => log.span_id = id(value),
                _ => {}
            },
            _ => {}
        }
    }

    fn start(&mut self, item: Item) {
        self.finish_item();
        self.item = Some(item);
        self.section = Section::Other;
    }

    fn finish_item(&mut self) {
        match self.item.take() {
            Some(Item::Span(span)) => self.report.spans.push(span),
            Some(Item::Metric(metric)) => self.report.metrics.push(metric),
            Some(Item::Log(log)) => self.report.logs.push(log),
            None => {}
        }
    }
}

/// Whether a line after a log body starts the next field of the record.
fn is_log_field(line: &str) -> bool {
    [
        "Flags: ",
        "ObservedTimestamp: ",
        "Timestamp: ",
        "SeverityNumber: ",
        "EventName: ",
    ]
    .iter()
    .any(|prefix| line.starts_with(prefix))
}

/// Reads one `Key: value` line of a data point into `point`; returns whether
/// it was one. Timestamps, `Value`, the histogram fields, `ExplicitBounds #i:
/// bound` and `Buckets #i, Count: count`.
fn data_point_field(point: &mut ReceivedDataPoint, line: &str) -> bool {
    if let Some(rest) = line.strip_prefix("ExplicitBounds #")
        && let Some((_, bound)) = rest.split_once(": ")
    {
        point.explicit_bounds.push(bound.to_owned());
        return true;
    }
    if let Some(rest) = line.strip_prefix("Buckets #")
        && let Some((_, count)) = rest.split_once(", Count: ")
    {
        point.bucket_counts.push(count.to_owned());
        return true;
    }
    let Some((key, value)) = line.split_once(": ") else {
        return false;
    };
    let value = value.to_owned();
    match key {
        "StartTimestamp" => point.start_timestamp = value,
        "Timestamp" => point.timestamp = value,
        "Value" => point.value = Some(value),
        "Count" => point.count = Some(value),
        "Sum" => point.sum = Some(value),
        "Min" => point.min = Some(value),
        "Max" => point.max = Some(value),
        _ => return false,
    }
    true
}
