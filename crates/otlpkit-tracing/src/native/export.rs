//! [`SpanDataExporter`]: records exported through any SDK `SpanExporter`.

use std::time::Duration;

use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use otlpkit_batch::BatchExporter;
use otlpkit_wire::SpanRecord;

/// Exports span records through an SDK [`SpanExporter`] (otlpkit's gRPC
/// and HTTP exporters, `opentelemetry-otlp`'s, an in-memory one) by
/// converting each batch to `SpanData`, exactly the spans the SDK would
/// have exported.
///
/// The conversion copies each record's attributes into the SDK's vectors:
/// correct with any exporter, not the fastest path. An exporter that
/// encodes records directly (`otlpkit_wire::encode_span_records`) skips it.
#[derive(Debug)]
pub struct SpanDataExporter<E> {
    inner: E,
}

impl<E: SpanExporter> SpanDataExporter<E> {
    /// Wraps `exporter`.
    pub fn new(exporter: E) -> Self {
        Self { inner: exporter }
    }

    /// The wrapped exporter.
    pub fn inner(&self) -> &E {
        &self.inner
    }
}

impl<E: SpanExporter + 'static> BatchExporter<Box<SpanRecord>> for SpanDataExporter<E> {
    fn export(
        &self,
        batch: Vec<Box<SpanRecord>>,
    ) -> impl std::future::Future<Output = OTelSdkResult> + Send {
        let spans: Vec<SpanData> = batch
            .into_iter()
            .map(|record| record.into_span_data())
            .collect();
        self.inner.export(spans)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}
