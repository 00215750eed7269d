//! The exporters behind the engine, type-erased: one adapter for span
//! exporters and one for log exporters, so the processors are not generic
//! over the exporter type. The calls that do not name the item type
//! ([`ExporterControl`]) are apart from the export, so that the worker,
//! which is not generic over the item type either, can make them.

use std::future::Future;
use std::mem::size_of;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry::logs::AnyValue;
use opentelemetry::{InstrumentationScope, KeyValue, Value};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::logs::{LogBatch, LogExporter, SdkLogRecord};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use otlpkit_core::stats::DropReason;

/// A log record as the log processor queues it: the record and its scope.
pub(crate) type LogItem = (SdkLogRecord, InstrumentationScope);

/// The future of one export, boxed so the worker can spawn it.
pub(crate) type ExportFuture = Pin<Box<dyn Future<Output = OTelSdkResult> + Send>>;

/// What the worker needs from an exporter of items `I`: the export, and the
/// calls that do not name the item type ([`ExporterControl`], which the
/// worker uses without knowing `I`).
pub(crate) trait DynExporter<I>: ExporterControl {
    /// Exports one batch; the future owns everything it needs.
    fn export(self: Arc<Self>, batch: Vec<I>) -> ExportFuture;
}

/// The exporter calls that do not depend on the item type.
pub(crate) trait ExporterControl: Send + Sync + 'static {
    /// The exporter's own flush (spans only; log exporters have none).
    fn force_flush(&self) -> OTelSdkResult;
    /// The exporter's shutdown.
    fn shutdown(&self, timeout: Duration) -> OTelSdkResult;
    /// Passes the provider's resource on (before any export).
    fn set_resource(&mut self, resource: &Resource);
}

/// Adapts a [`SpanExporter`].
pub(crate) struct Spans<E>(pub(crate) E);

impl<E: SpanExporter + 'static> DynExporter<SpanData> for Spans<E> {
    fn export(self: Arc<Self>, batch: Vec<SpanData>) -> ExportFuture {
        Box::pin(async move { self.0.export(batch).await })
    }
}

impl<E: SpanExporter + 'static> ExporterControl for Spans<E> {
    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }

    fn shutdown(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.0.set_resource(resource);
    }
}

/// Adapts a [`LogExporter`].
pub(crate) struct Logs<E>(pub(crate) E);

impl<E: LogExporter + 'static> DynExporter<LogItem> for Logs<E> {
    fn export(self: Arc<Self>, batch: Vec<LogItem>) -> ExportFuture {
        Box::pin(async move {
            let refs: Vec<(&SdkLogRecord, &InstrumentationScope)> = batch
                .iter()
                .map(|(record, scope)| (record, scope))
                .collect();
            self.0.export(LogBatch::new(&refs)).await
        })
    }
}

impl<E: LogExporter + 'static> ExporterControl for Logs<E> {
    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.0.set_resource(resource);
    }
}

/// The drop reason for a batch whose export failed, when the exporter does
/// not record its own outcomes: the SDK's error type does not say whether
/// retries were made, so the message is inspected for the usual transient
/// failures (unavailable, timeouts, throttling, connection errors); anything
/// else is taken as non-retryable.
pub(crate) fn classify_failure(error: &OTelSdkError) -> DropReason {
    match error {
        OTelSdkError::Timeout(_) => DropReason::RetriesExhausted,
        OTelSdkError::AlreadyShutdown => DropReason::NonRetryable,
        OTelSdkError::InternalFailure(message) => {
            let message = message.to_ascii_lowercase();
            const TRANSIENT: [&str; 14] = [
                "unavailable",
                "deadline",
                "timeout",
                "timed out",
                "resource exhausted",
                "resourceexhausted",
                "too many requests",
                "429",
                "502",
                "503",
                "504",
                "connect",
                "transport error",
                "retr",
            ];
            if TRANSIENT.iter().any(|word| message.contains(word)) {
                DropReason::RetriesExhausted
            } else {
                DropReason::NonRetryable
            }
        }
    }
}

fn value_size(value: &Value) -> usize {
    match value {
        Value::String(s) => s.as_str().len(),
        Value::Array(array) => match array {
            opentelemetry::Array::String(v) => v.iter().map(|s| s.as_str().len() + 24).sum(),
            opentelemetry::Array::Bool(v) => v.len(),
            opentelemetry::Array::I64(v) => v.len() * 8,
            opentelemetry::Array::F64(v) => v.len() * 8,
            _ => 64,
        },
        _ => 0,
    }
}

fn attributes_size(attributes: &[KeyValue]) -> usize {
    attributes
        .iter()
        .map(|kv| size_of::<KeyValue>() + kv.key.as_str().len() + value_size(&kv.value))
        .sum()
}

/// Estimated heap and inline size of a span: the struct, its name and every
/// attribute, event and link. Cheap (no allocation), computed only when a
/// byte bound is configured.
pub(crate) fn span_size(span: &SpanData) -> usize {
    let events: usize = span
        .events
        .iter()
        .map(|event| {
            size_of::<opentelemetry::trace::Event>()
                + event.name.len()
                + attributes_size(&event.attributes)
        })
        .sum();
    let links: usize = span
        .links
        .iter()
        .map(|link| size_of::<opentelemetry::trace::Link>() + attributes_size(&link.attributes))
        .sum();
    size_of::<SpanData>() + span.name.len() + attributes_size(&span.attributes) + events + links
}

fn any_value_size(value: &AnyValue) -> usize {
    match value {
        AnyValue::String(s) => s.as_str().len(),
        AnyValue::Bytes(bytes) => bytes.len(),
        AnyValue::ListAny(list) => list
            .iter()
            .map(|v| size_of::<AnyValue>() + any_value_size(v))
            .sum(),
        AnyValue::Map(map) => map
            .iter()
            .map(|(k, v)| size_of::<AnyValue>() + k.as_str().len() + any_value_size(v))
            .sum(),
        _ => 0,
    }
}

/// Estimated size of a queued log record: the record and scope structs, the
/// body and every attribute.
pub(crate) fn log_size((record, _scope): &LogItem) -> usize {
    let attributes: usize = record
        .attributes_iter()
        .map(|(key, value)| key.as_str().len() + any_value_size(value))
        .sum();
    size_of::<LogItem>() + record.body().map_or(0, any_value_size) + attributes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_classified_as_best_the_message_allows() {
        assert_eq!(
            classify_failure(&OTelSdkError::Timeout(Duration::from_secs(1))),
            DropReason::RetriesExhausted
        );
        assert_eq!(
            classify_failure(&OTelSdkError::AlreadyShutdown),
            DropReason::NonRetryable
        );
        assert_eq!(
            classify_failure(&OTelSdkError::InternalFailure(
                "export error: status: Unavailable, message: \"restarting\"".into()
            )),
            DropReason::RetriesExhausted
        );
        assert_eq!(
            classify_failure(&OTelSdkError::InternalFailure(
                "HTTP 400 Bad Request: invalid span".into()
            )),
            DropReason::NonRetryable
        );
    }

    #[test]
    fn sizes_grow_with_content() {
        let small = AnyValue::from("a");
        let large = AnyValue::from("a".repeat(1000));
        assert!(any_value_size(&large) >= any_value_size(&small) + 999);
        let attrs = [KeyValue::new("key", "x".repeat(100))];
        assert!(attributes_size(&attrs) >= 103);
    }
}
