//! The span exporter.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use otlpkit_core::Signal;
use otlpkit_core::export::ExportStats;
use otlpkit_wire::{EncodedResource, encode_spans};

use crate::error::BuildError;
use crate::exporter::{ExporterCore, HttpExporterBuilder};

/// Exports spans over OTLP/HTTP (protobuf or JSON).
///
/// Plug it into the SDK's `SdkTracerProvider` with a batch or simple span
/// processor, or into any processor that takes a
/// [`SpanExporter`]. The exporter is safe to call concurrently (the SDK's
/// processors never do); its network I/O runs on its worker runtime, so it
/// works from any thread, with or without a tokio runtime. `Debug` never
/// shows header values.
///
/// ```no_run
/// use opentelemetry_sdk::trace::SdkTracerProvider;
/// use otlpkit_http::HttpSpanExporter;
///
/// let exporter = HttpSpanExporter::builder()
///     .with_endpoint("http://127.0.0.1:4318/v1/traces")
///     .build()?;
/// let provider = SdkTracerProvider::builder()
///     .with_batch_exporter(exporter)
///     .build();
/// # Ok::<(), otlpkit_http::BuildError>(())
/// ```
pub struct HttpSpanExporter {
    core: ExporterCore,
    /// The resource for `http/protobuf`, encoded once (otlpkit-wire).
    encoded_resource: EncodedResource,
    /// The resource for `http/json`, which goes through `opentelemetry-proto`.
    resource: ResourceAttributesWithSchema,
}

impl fmt::Debug for HttpSpanExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.core, f)
    }
}

impl HttpSpanExporter {
    /// A builder, configured from the process environment unless told
    /// otherwise.
    pub fn builder() -> HttpExporterBuilder<HttpSpanExporter> {
        HttpExporterBuilder::new(Signal::Traces)
    }

    /// The counters this exporter updates (shared with the pipeline when
    /// given with [`HttpExporterBuilder::with_stats`]).
    pub fn stats(&self) -> &ExportStats {
        self.core.stats()
    }

    /// The endpoint spans are sent to, without credentials or query.
    pub fn endpoint(&self) -> &str {
        self.core.endpoint()
    }
}

impl HttpExporterBuilder<HttpSpanExporter> {
    /// Resolves the configuration and builds the exporter.
    pub fn build(self) -> Result<HttpSpanExporter, BuildError> {
        Ok(HttpSpanExporter {
            core: self.build_core()?,
            encoded_resource: EncodedResource::default(),
            resource: ResourceAttributesWithSchema::default(),
        })
    }
}

impl SpanExporter for HttpSpanExporter {
    fn export(&self, batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
        let items = batch.len() as u64;
        let prepared = if self.core.is_protobuf() {
            // Protobuf straight from the spans, without intermediate messages;
            // the batch is freed while the worker sends.
            self.core.prepare_protobuf(items, batch, |batch| {
                let mut body = Vec::new();
                encode_spans(batch, &self.encoded_resource, &mut body);
                body
            })
        } else {
            self.core.prepare(items, || ExportTraceServiceRequest {
                resource_spans: group_spans_by_resource_and_scope(batch, &self.resource),
            })
        };
        prepared.run()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.core.shutdown(timeout)
    }

    /// The exporter holds no buffer: nothing to flush.
    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn set_resource(&mut self, resource: &Resource) {
        if self.core.is_protobuf() {
            self.encoded_resource = EncodedResource::new(resource);
        } else {
            self.resource = resource.into();
        }
    }
}
