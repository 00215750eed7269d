//! [`LogBridge`]: `tracing` events become OpenTelemetry log records.
//!
//! The mapping is `opentelemetry-appender-tracing`'s, field for field (its
//! tests in this module run both bridges on the same events and compare the
//! records), so switching to this one changes nothing a collector sees. It
//! lives here so that a default build does not need that crate for one
//! `Layer::on_event`.

use std::fmt;

use opentelemetry::Key;
use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry_sdk::logs::{SdkLogger, SdkLoggerProvider};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;

/// A `tracing_subscriber` layer that emits every `tracing` event it sees as
/// a log record on a logger of `provider` (instrumentation scope name `""`).
///
/// The record carries the event's target, name (as the event name), level
/// (as severity number and text), its `message` field as the body and every
/// other field as an attribute; the logger adds the trace and span ids of
/// the OpenTelemetry context current when the event happens, so an event
/// inside a span is correlated with it. Values keep their type where
/// OpenTelemetry has one (`i64`, `f64`, `bool`, bytes, text); integers
/// beyond `i64` and `Debug` values become text, and an error field becomes
/// `exception.message`. Nothing is built when no log processor would take
/// the record (`Logger::event_enabled`), or while telemetry is suppressed.
///
/// [`TracingSetup`](crate::TracingSetup) installs it for the logger
/// provider it is given; build it yourself to compose your own subscriber:
///
/// ```
/// use opentelemetry_sdk::logs::{InMemoryLogExporter, SdkLoggerProvider};
/// use otlpkit_tracing::LogBridge;
/// use tracing_subscriber::layer::SubscriberExt as _;
///
/// let exporter = InMemoryLogExporter::default();
/// let provider = SdkLoggerProvider::builder()
///     .with_simple_exporter(exporter.clone())
///     .build();
/// let subscriber = tracing_subscriber::registry().with(LogBridge::new(&provider));
/// tracing::subscriber::with_default(subscriber, || {
///     tracing::warn!(attempt = 3, "retrying");
/// });
/// let logs = exporter.get_emitted_logs().unwrap();
/// assert_eq!(logs.len(), 1);
/// assert_eq!(logs[0].record.severity_text(), Some("WARN"));
/// ```
pub struct LogBridge {
    logger: SdkLogger,
}

impl fmt::Debug for LogBridge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogBridge").finish_non_exhaustive()
    }
}

impl LogBridge {
    /// A bridge emitting on `provider`'s logger with an empty scope name.
    pub fn new(provider: &SdkLoggerProvider) -> Self {
        Self {
            logger: provider.logger(""),
        }
    }
}

/// The severity OpenTelemetry gives a `tracing` level.
const fn severity(level: &Level) -> Severity {
    match *level {
        Level::TRACE => Severity::Trace,
        Level::DEBUG => Severity::Debug,
        Level::INFO => Severity::Info,
        Level::WARN => Severity::Warn,
        Level::ERROR => Severity::Error,
    }
}

impl<S: Subscriber> Layer<S> for LogBridge {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        let severity = severity(meta.level());
        if !self
            .logger
            .event_enabled(severity, meta.target(), Some(meta.name()))
        {
            return;
        }
        let mut record = self.logger.create_log_record();
        record.set_target(meta.target());
        record.set_event_name(meta.name());
        record.set_severity_number(severity);
        record.set_severity_text(meta.level().as_str());
        event.record(&mut FieldVisitor {
            record: &mut record,
        });
        self.logger.emit(record);
    }
}

/// Writes an event's fields into a log record.
struct FieldVisitor<'a, R> {
    record: &'a mut R,
}

impl<R: opentelemetry::logs::LogRecord> FieldVisitor<'_, R> {
    fn attribute(&mut self, field: &Field, value: impl Into<AnyValue>) {
        self.record
            .add_attribute(Key::from_static_str(field.name()), value);
    }

    /// An integer as `i64` when it fits, as its decimal text otherwise.
    fn integer(&mut self, field: &Field, value: impl TryInto<i64> + fmt::Debug + Copy) {
        match value.try_into() {
            Ok(signed) => self.attribute(field, signed),
            Err(_) => self.attribute(field, format!("{value:?}")),
        }
    }
}

impl<R: opentelemetry::logs::LogRecord> Visit for FieldVisitor<'_, R> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let text = format!("{value:?}");
        if field.name() == "message" {
            self.record.set_body(text.into());
        } else {
            self.attribute(field, text);
        }
    }

    fn record_error(&mut self, _field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.record
            .add_attribute(Key::from_static_str("exception.message"), value.to_string());
    }

    fn record_bytes(&mut self, field: &Field, value: &[u8]) {
        self.attribute(field, value);
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.record.set_body(value.to_owned().into());
        } else {
            self.attribute(field, value.to_owned());
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.attribute(field, value);
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.attribute(field, value);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.attribute(field, value);
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.integer(field, value);
    }

    fn record_i128(&mut self, field: &Field, value: i128) {
        self.integer(field, value);
    }

    fn record_u128(&mut self, field: &Field, value: u128) {
        self.integer(field, value);
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error;

    use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId};
    use opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge;
    use opentelemetry_sdk::logs::{InMemoryLogExporter, SdkLogRecord};
    use tracing_subscriber::layer::SubscriberExt as _;

    use super::*;

    #[derive(Debug)]
    struct Failure;

    impl fmt::Display for Failure {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("disk full")
        }
    }

    impl Error for Failure {}

    /// Every kind of field and level, inside and outside a current
    /// OpenTelemetry context, and once with telemetry suppressed.
    fn events() {
        tracing::trace!("plain");
        tracing::debug!(count = 3_i64, "formatted {}", 42);
        tracing::info!(small = 7_u64, big = u64::MAX, ratio = 0.5, yes = true);
        tracing::warn!(
            wide = i128::MAX,
            narrow = -5_i128,
            huge = u128::MAX,
            tiny = 9_u128,
            "wide integers"
        );
        tracing::error!(text = "some text", debug = ?vec![1, 2], shown = %"display");
        tracing::info!(bytes = &b"\x00\xffraw"[..], "bytes");
        tracing::error!(error = &Failure as &(dyn Error + 'static), "failed");
        tracing::info!(name: "named_event", target: "elsewhere", message = "explicit message");
        tracing::info!(message = 12_i64);
        let span_context = SpanContext::new(
            TraceId::from(0x0af7_6519_16cd_43dd_8448_eb21_1c80_319c),
            SpanId::from(0xb7ad_6b71_6920_3331),
            TraceFlags::SAMPLED,
            true,
            Default::default(),
        );
        let cx = opentelemetry::Context::current().with_remote_span_context(span_context);
        {
            let _attached = cx.attach();
            tracing::warn!(inside = true, "correlated");
        }
        let _suppressed = opentelemetry::Context::enter_telemetry_suppressed_scope();
        tracing::error!("never emitted");
    }

    fn emitted(
        layer: impl FnOnce(
            &SdkLoggerProvider,
        ) -> Box<dyn Layer<tracing_subscriber::Registry> + Send + Sync>,
    ) -> Vec<SdkLogRecord> {
        let exporter = InMemoryLogExporter::default();
        let provider = SdkLoggerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        let subscriber = tracing_subscriber::registry().with(layer(&provider));
        tracing::subscriber::with_default(subscriber, events);
        exporter
            .get_emitted_logs()
            .unwrap()
            .into_iter()
            .map(|log| log.record)
            .collect()
    }

    /// What a collector sees of a record: everything but the time it was
    /// observed at.
    fn seen(record: &SdkLogRecord) -> String {
        let attributes: Vec<String> = record
            .attributes_iter()
            .map(|(key, value)| format!("{key}={value:?}"))
            .collect();
        format!(
            "{:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {attributes:?}",
            record.event_name(),
            record.target(),
            record.severity_number(),
            record.severity_text(),
            record.body(),
            record.timestamp(),
            record
                .trace_context()
                .map(|t| (t.trace_id, t.span_id, t.trace_flags)),
            record.observed_timestamp().is_some(),
        )
    }

    #[test]
    fn records_match_opentelemetry_appender_tracing_field_for_field() {
        let ours = emitted(|provider| LogBridge::new(provider).boxed());
        let reference = emitted(|provider| OpenTelemetryTracingBridge::new(provider).boxed());
        assert_eq!(
            ours.len(),
            10,
            "one record per event, none while suppressed"
        );
        let ours: Vec<String> = ours.iter().map(seen).collect();
        let reference: Vec<String> = reference.iter().map(seen).collect();
        assert_eq!(ours, reference);
        // The comparison above sees what the records hold, not just that
        // both are empty alike.
        assert!(
            ours[3].contains("huge=String(Owned(\\\"340282366920938463463374607431768211455"),
            "{}",
            ours[3]
        );
        assert!(
            ours[9].contains("0af7651916cd43dd8448eb211c80319c"),
            "{}",
            ours[9]
        );
    }
}
