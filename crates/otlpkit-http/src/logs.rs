//! The log record exporter.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::logs::tonic::group_logs_by_resource_and_scope;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogBatch, LogExporter};
use otlpkit_core::Signal;
use otlpkit_core::export::ExportStats;
use otlpkit_wire::{EncodedResource, encode_logs};

use crate::error::BuildError;
use crate::exporter::{ExporterCore, HttpExporterBuilder};

/// Exports log records over OTLP/HTTP (protobuf or JSON).
///
/// Plug it into the SDK's `SdkLoggerProvider` with a batch or simple log
/// processor. The exporter is safe to call concurrently; its network I/O
/// runs on its worker runtime, so it works from any thread, with or without
/// a tokio runtime. `Debug` never shows header values.
///
/// ```no_run
/// use opentelemetry_sdk::logs::SdkLoggerProvider;
/// use otlpkit_http::HttpLogExporter;
///
/// let exporter = HttpLogExporter::builder()
///     .with_endpoint("http://127.0.0.1:4318/v1/logs")
///     .build()?;
/// let provider = SdkLoggerProvider::builder()
///     .with_batch_exporter(exporter)
///     .build();
/// # Ok::<(), otlpkit_http::BuildError>(())
/// ```
pub struct HttpLogExporter {
    core: ExporterCore,
    /// The resource for `http/protobuf`, encoded once (otlpkit-wire).
    encoded_resource: EncodedResource,
    /// The resource for `http/json`, which goes through `opentelemetry-proto`.
    resource: ResourceAttributesWithSchema,
}

impl fmt::Debug for HttpLogExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.core, f)
    }
}

impl HttpLogExporter {
    /// A builder, configured from the process environment unless told
    /// otherwise.
    pub fn builder() -> HttpExporterBuilder<HttpLogExporter> {
        HttpExporterBuilder::new(Signal::Logs)
    }

    /// The counters this exporter updates.
    pub fn stats(&self) -> &ExportStats {
        self.core.stats()
    }

    /// The endpoint log records are sent to, without credentials or query.
    pub fn endpoint(&self) -> &str {
        self.core.endpoint()
    }
}

impl HttpExporterBuilder<HttpLogExporter> {
    /// Resolves the configuration and builds the exporter.
    pub fn build(self) -> Result<HttpLogExporter, BuildError> {
        Ok(HttpLogExporter {
            core: self.build_core()?,
            encoded_resource: EncodedResource::default(),
            resource: ResourceAttributesWithSchema::default(),
        })
    }
}

impl LogExporter for HttpLogExporter {
    fn export(&self, batch: LogBatch<'_>) -> impl Future<Output = OTelSdkResult> + Send {
        let items = batch.iter().count() as u64;
        let prepared = if self.core.is_protobuf() {
            // Protobuf straight from the records, without intermediate messages.
            self.core.prepare_protobuf(items, (), |()| {
                let mut body = Vec::new();
                encode_logs(&batch, &self.encoded_resource, &mut body);
                body
            })
        } else {
            self.core.prepare(items, || ExportLogsServiceRequest {
                resource_logs: group_logs_by_resource_and_scope(&batch, &self.resource),
            })
        };
        prepared.run()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.core.shutdown(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        if self.core.is_protobuf() {
            self.encoded_resource = EncodedResource::new(resource);
        } else {
            self.resource = resource.into();
        }
    }
}
