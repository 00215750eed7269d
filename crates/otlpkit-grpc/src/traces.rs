//! The span exporter (`opentelemetry_sdk::trace::SpanExporter`).

use std::fmt;
use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::SpanData;
use otlpkit_core::ExporterConfig;
use otlpkit_core::Signal;
use otlpkit_core::export::ExportStats;
use otlpkit_wire::{EncodedResource, encode_spans};

use crate::BuildError;
use crate::exporter::{ExporterBuilder, ExporterCore, builder_methods};

/// Exports spans over OTLP/gRPC to
/// `/opentelemetry.proto.collector.trace.v1.TraceService/Export`.
///
/// Plug it into `SdkTracerProvider::builder().with_batch_exporter(..)` (or a
/// simple processor, or otlpkit's batch engine). The network I/O runs on the
/// exporter's worker runtime, so `export` can be driven by any executor, or
/// none. The exporter is safe to call concurrently; each call is one request.
pub struct SpanExporter {
    core: ExporterCore,
    /// Encoded once, in `set_resource`.
    resource: EncodedResource,
}

impl fmt::Debug for SpanExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpanExporter")
            .field("core", &self.core)
            .finish_non_exhaustive()
    }
}

impl SpanExporter {
    /// A builder: configuration from its `with_*` methods, then the
    /// `OTEL_EXPORTER_OTLP_[TRACES_]*` variables, then the defaults.
    pub fn builder() -> SpanExporterBuilder {
        SpanExporterBuilder {
            inner: ExporterBuilder::new(Signal::Traces),
        }
    }

    /// The counters of this exporter (shared with the `ExportStats` given
    /// to the builder, if any).
    pub fn stats(&self) -> &ExportStats {
        self.core.stats()
    }

    /// The resolved configuration.
    pub fn config(&self) -> &ExporterConfig {
        self.core.config()
    }
}

impl opentelemetry_sdk::trace::SpanExporter for SpanExporter {
    fn export(&self, batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
        let items = batch.len() as u64;
        let body = if self.core.is_shut_down() || batch.is_empty() {
            Bytes::new()
        } else {
            // Protobuf straight from the spans, without intermediate messages.
            let mut body = Vec::new();
            encode_spans(&batch, &self.resource, &mut body);
            Bytes::from(body)
        };
        self.core.export(items, body, batch)
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.core.shutdown(timeout)
    }

    /// A no-op: the exporter holds no buffer.
    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.resource = EncodedResource::new(resource);
    }
}

/// Builds a [`SpanExporter`]; see [`SpanExporter::builder`].
#[derive(Debug)]
#[must_use]
pub struct SpanExporterBuilder {
    inner: ExporterBuilder,
}

builder_methods!(SpanExporterBuilder);

impl SpanExporterBuilder {
    /// Resolves the configuration, checks it, and creates the (lazily
    /// connecting) channel on the worker runtime. No connection is made yet.
    pub fn build(self) -> Result<SpanExporter, BuildError> {
        Ok(SpanExporter {
            core: self.inner.build()?,
            resource: EncodedResource::default(),
        })
    }
}
