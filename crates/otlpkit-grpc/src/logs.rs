//! The log exporter (`opentelemetry_sdk::logs::LogExporter`).

use std::fmt;
use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::LogBatch;
use otlpkit_core::ExporterConfig;
use otlpkit_core::Signal;
use otlpkit_core::export::ExportStats;
use otlpkit_wire::{EncodedResource, encode_logs};

use crate::BuildError;
use crate::exporter::{ExporterBuilder, ExporterCore, builder_methods};

/// Exports log records over OTLP/gRPC to
/// `/opentelemetry.proto.collector.logs.v1.LogsService/Export`.
///
/// Plug it into `SdkLoggerProvider::builder().with_batch_exporter(..)` (or a
/// simple processor). The network I/O runs on the exporter's worker runtime;
/// the exporter is safe to call concurrently.
pub struct LogExporter {
    core: ExporterCore,
    /// Encoded once, in `set_resource`.
    resource: EncodedResource,
}

impl fmt::Debug for LogExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogExporter")
            .field("core", &self.core)
            .finish_non_exhaustive()
    }
}

impl LogExporter {
    /// A builder: configuration from its `with_*` methods, then the
    /// `OTEL_EXPORTER_OTLP_[LOGS_]*` variables, then the defaults.
    pub fn builder() -> LogExporterBuilder {
        LogExporterBuilder {
            inner: ExporterBuilder::new(Signal::Logs),
        }
    }

    /// The counters of this exporter.
    pub fn stats(&self) -> &ExportStats {
        self.core.stats()
    }

    /// The resolved configuration.
    pub fn config(&self) -> &ExporterConfig {
        self.core.config()
    }
}

impl opentelemetry_sdk::logs::LogExporter for LogExporter {
    fn export(&self, batch: LogBatch<'_>) -> impl Future<Output = OTelSdkResult> + Send {
        let items = batch.iter().count() as u64;
        let body = if self.core.is_shut_down() || items == 0 {
            Bytes::new()
        } else {
            // Protobuf straight from the records, without intermediate messages.
            let mut body = Vec::new();
            encode_logs(&batch, &self.resource, &mut body);
            Bytes::from(body)
        };
        // The records are borrowed from the caller: nothing of ours to free.
        self.core.export(items, body, ())
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.core.shutdown(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.resource = EncodedResource::new(resource);
    }
}

/// Builds a [`LogExporter`]; see [`LogExporter::builder`].
#[derive(Debug)]
#[must_use]
pub struct LogExporterBuilder {
    inner: ExporterBuilder,
}

builder_methods!(LogExporterBuilder);

impl LogExporterBuilder {
    /// Resolves the configuration, checks it, and creates the (lazily
    /// connecting) channel on the worker runtime.
    pub fn build(self) -> Result<LogExporter, BuildError> {
        Ok(LogExporter {
            core: self.inner.build()?,
            resource: EncodedResource::default(),
        })
    }
}
