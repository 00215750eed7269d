//! The span, log and metric exporters: the SDK's exporter traits over the
//! exporter core, for any transport.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::time::Duration;

use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::LogBatch;
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::trace::SpanData;
use otlpkit_core::stats::ExportStats;
use otlpkit_core::{ExporterConfig, TemporalityPreference};
use otlpkit_wire::{
    EncodedResource, SpanRecord, encode_logs, encode_metrics, encode_span_records, encode_spans,
    metric_data_points,
};

use crate::builder::ExporterBuilder;
use crate::core::Core;
use crate::transport::{Connect, Payload};

/// The resource of the provider an exporter belongs to, kept both ways:
/// encoded once for protobuf, as is for a transport's own encoding.
#[derive(Debug, Clone)]
struct ProviderResource {
    encoded: EncodedResource,
    resource: Resource,
}

impl Default for ProviderResource {
    fn default() -> Self {
        Self {
            encoded: EncodedResource::default(),
            resource: Resource::builder_empty().build(),
        }
    }
}

impl ProviderResource {
    fn set(&mut self, resource: &Resource) {
        self.encoded = EncodedResource::new(resource);
        self.resource = resource.clone();
    }
}

macro_rules! exporter_accessors {
    ($exporter:ident) => {
        impl<T: Connect> $exporter<T> {
            /// A builder: configuration from its `with_*` methods, then the
            /// `OTEL_EXPORTER_OTLP_*` variables, then the defaults.
            pub fn builder() -> ExporterBuilder<Self> {
                ExporterBuilder::new()
            }

            /// The counters this exporter updates (shared with the pipeline
            /// when given with [`ExporterBuilder::with_stats`]). A batch
            /// processor that takes over the counting counts its batches in
            /// its own stats instead, their time in the disk spool included
            /// (spooled, then delivered from the spool or dropped). What an
            /// earlier process left in the spool is counted here.
            pub fn stats(&self) -> &ExportStats {
                self.core.stats()
            }

            /// The resolved configuration.
            pub fn config(&self) -> &ExporterConfig {
                self.core.config()
            }

            /// Where requests go, without credentials or query.
            pub fn endpoint(&self) -> &str {
                self.core.endpoint()
            }
        }
    };
}

/// Exports spans over OTLP; `T` is the transport (`otlpkit_grpc::Grpc`,
/// `otlpkit_http::Http`).
///
/// Plug it into `SdkTracerProvider::builder().with_batch_exporter(..)`, a
/// simple processor, or otlpkit's batch engine. The network I/O runs on the
/// exporter's worker runtime, so `export` can be driven by any executor, or
/// none. It is safe to call concurrently; each call is one request.
pub struct SpanExporter<T> {
    core: Core,
    resource: ProviderResource,
    _transport: PhantomData<fn() -> T>,
}

/// Exports log records over OTLP; `T` is the transport.
///
/// Plug it into a log processor of `SdkLoggerProvider` or otlpkit's batch
/// engine. Safe to call concurrently.
pub struct LogExporter<T> {
    core: Core,
    resource: ProviderResource,
    _transport: PhantomData<fn() -> T>,
}

/// Exports metrics over OTLP; `T` is the transport.
///
/// Plug it into `PeriodicReader::builder(exporter)`. Its
/// [`temporality`](opentelemetry_sdk::metrics::exporter::PushMetricExporter::temporality)
/// follows the configured preference (checklist 3.11). Safe to call
/// concurrently.
pub struct MetricExporter<T> {
    core: Core,
    preference: TemporalityPreference,
    _transport: PhantomData<fn() -> T>,
}

impl<T: Connect> fmt::Debug for SpanExporter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpanExporter")
            .field("transport", &T::NAME)
            .field("core", &self.core)
            .finish_non_exhaustive()
    }
}

impl<T: Connect> fmt::Debug for LogExporter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogExporter")
            .field("transport", &T::NAME)
            .field("core", &self.core)
            .finish_non_exhaustive()
    }
}

impl<T: Connect> fmt::Debug for MetricExporter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetricExporter")
            .field("transport", &T::NAME)
            .field("core", &self.core)
            .field("temporality_preference", &self.preference)
            .finish()
    }
}

exporter_accessors!(SpanExporter);
exporter_accessors!(LogExporter);
exporter_accessors!(MetricExporter);

impl<T> SpanExporter<T> {
    pub(crate) fn new(core: Core) -> Self {
        Self {
            core,
            resource: ProviderResource::default(),
            _transport: PhantomData,
        }
    }

    /// Another exporter on this one's connection, retry loop, counters,
    /// health and spool: for two span processors (two span paths) that
    /// should reach the collector as one exporter, with one connection and
    /// one backoff, rather than as two.
    ///
    /// Each handle shuts down on its own. A handle's
    /// [`shutdown`](opentelemetry_sdk::trace::SpanExporter::shutdown_with_timeout)
    /// closes it: its later exports fail (counted as `after_shutdown`),
    /// while the others keep sending. Only the shutdown of the last handle
    /// still open stops the core, within its timeout: it waits for the
    /// exports in flight through every handle, saves those still unfinished
    /// in the spool (when there is one) or counts them as
    /// `shutdown_deadline`, and stops the connection and the worker. The
    /// shutdown of a handle that is not the last returns `Ok` at once,
    /// whatever its timeout (a batch processor's `Duration::ZERO` after its
    /// own deadline included), and leaves the exports it still has in
    /// flight to the core, which settles them.
    /// [`shutdown_all`](Self::shutdown_all) stops the core there and then,
    /// whatever handles are still open: what the owner of the handles calls
    /// after their users, so that the core stops once, with the time left.
    ///
    /// A handle dropped without a shutdown stops counting as open. A handle
    /// shared from one already shut down is born shut down (its exports
    /// fail as `after_shutdown`; it does not hold the core open). The
    /// resource is copied; each handle's provider sets its own.
    ///
    /// ```
    /// use opentelemetry_sdk::trace::SdkTracerProvider;
    /// use otlpkit_exporter::{Connect, SpanExporter};
    ///
    /// /// Two providers, one connection to the collector.
    /// fn two_providers<T: Connect>(
    ///     exporter: SpanExporter<T>,
    /// ) -> (SdkTracerProvider, SdkTracerProvider) {
    ///     let second = exporter.share();
    ///     (
    ///         SdkTracerProvider::builder().with_batch_exporter(exporter).build(),
    ///         SdkTracerProvider::builder().with_batch_exporter(second).build(),
    ///     )
    /// }
    /// ```
    pub fn share(&self) -> Self {
        Self {
            core: self.core.share(),
            resource: self.resource.clone(),
            _transport: PhantomData,
        }
    }

    /// Shuts this handle down and stops the core [shared](Self::share) by
    /// every handle now, within `timeout`, whatever handles are still open:
    /// new exports through any handle fail (counted as `after_shutdown`),
    /// those in flight may finish within `timeout`, then what is still in
    /// flight is saved in the spool (when there is one) or counted as
    /// `shutdown_deadline`, and the connection and the worker stop. The
    /// other handles' later shutdowns return `Ok` at once. The core stops
    /// once: after it has stopped (by this call or by the last handle's
    /// shutdown), this returns `Ok` at once.
    ///
    /// For the owner of shared handles (`otlpkit::init()` keeps one for
    /// its two span processors): called after their users have shut down,
    /// or have run out of time trying, it stops the core with what is left
    /// of the budget.
    ///
    /// # Errors
    ///
    /// `OTelSdkError::Timeout` when exports were still in flight when
    /// `timeout` passed (they are counted as above).
    pub fn shutdown_all(&self, timeout: Duration) -> OTelSdkResult {
        self.core.shutdown_all(timeout)
    }
}

impl<T> LogExporter<T> {
    pub(crate) fn new(core: Core) -> Self {
        Self {
            core,
            resource: ProviderResource::default(),
            _transport: PhantomData,
        }
    }
}

impl<T> MetricExporter<T> {
    pub(crate) fn new(core: Core, preference: TemporalityPreference) -> Self {
        Self {
            core,
            preference,
            _transport: PhantomData,
        }
    }

    /// The temporality preference in force.
    pub fn temporality_preference(&self) -> TemporalityPreference {
        self.preference
    }
}

impl<T: Connect> SpanExporter<T> {
    /// Exports spans recorded by otlpkit's native `tracing` layer
    /// (`otlpkit_tracing::native`): encoded straight to OTLP protobuf
    /// (otlpkit-wire), byte for byte what the same spans as `SpanData` give,
    /// without building them; OTLP/JSON converts them first. Everything
    /// else — retries, accounting, shutdown — is as for
    /// [`export`](opentelemetry_sdk::trace::SpanExporter::export).
    ///
    /// `batch` is a `Vec<Box<SpanRecord>>`, or a
    /// [`PooledRecords`](otlpkit_wire::PooledRecords) whose records go back to
    /// their pool once encoded.
    pub fn export_records<B>(
        &self,
        batch: B,
    ) -> impl Future<Output = OTelSdkResult> + Send + 'static
    where
        B: AsRef<[Box<SpanRecord>]> + Send + 'static,
    {
        let resource = &self.resource;
        let prepared =
            self.core
                .prepare(batch.as_ref().len() as u64, &batch, |records, transport| {
                    let records = records.as_ref();
                    let payload = Payload::SpanRecords {
                        records,
                        resource: &resource.resource,
                    };
                    transport.encode(payload).unwrap_or_else(|| {
                        let mut body = Vec::new();
                        encode_span_records(records, &resource.encoded, &mut body);
                        Ok(body)
                    })
                });
        // The records are released (freed, or given back to their pool by
        // `PooledRecords`) while the worker sends.
        self.core.send(prepared, batch)
    }
}

impl<T: Connect> opentelemetry_sdk::trace::SpanExporter for SpanExporter<T> {
    fn export(&self, batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
        let resource = &self.resource;
        let prepared = self
            .core
            .prepare(batch.len() as u64, &batch, |batch, transport| {
                let payload = Payload::Spans {
                    spans: batch,
                    resource: &resource.resource,
                };
                transport.encode(payload).unwrap_or_else(|| {
                    // Protobuf straight from the spans (otlpkit-wire).
                    let mut body = Vec::new();
                    encode_spans(batch, &resource.encoded, &mut body);
                    Ok(body)
                })
            });
        // The spans are freed while the worker sends.
        self.core.send(prepared, batch)
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.core.shutdown(timeout)
    }

    /// A no-op: the exporter holds no buffer.
    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.resource.set(resource);
    }
}

impl<T: Connect> opentelemetry_sdk::logs::LogExporter for LogExporter<T> {
    fn export(&self, batch: LogBatch<'_>) -> impl Future<Output = OTelSdkResult> + Send {
        let resource = &self.resource;
        let items = batch.iter().count() as u64;
        let prepared = self.core.prepare(items, &batch, |batch, transport| {
            let payload = Payload::Logs {
                logs: batch,
                resource: &resource.resource,
            };
            transport.encode(payload).unwrap_or_else(|| {
                let mut body = Vec::new();
                encode_logs(batch, &resource.encoded, &mut body);
                Ok(body)
            })
        });
        // The records are borrowed from the caller: nothing of ours to free.
        self.core.send(prepared, ())
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.core.shutdown(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.resource.set(resource);
    }
}

impl<T: Connect> opentelemetry_sdk::metrics::exporter::PushMetricExporter for MetricExporter<T> {
    fn export(&self, metrics: &ResourceMetrics) -> impl Future<Output = OTelSdkResult> + Send {
        // Only data points count; metrics without any, and the scope and
        // resource envelopes left empty, are not sent (checklist 2.12), and
        // a collection without data points is no request at all.
        let items = metric_data_points(metrics);
        let prepared = self.core.prepare(items, metrics, |metrics, transport| {
            transport
                .encode(Payload::Metrics(metrics))
                .unwrap_or_else(|| {
                    // Protobuf straight from the SDK's metrics (otlpkit-wire),
                    // without the empty metrics and envelopes.
                    let mut body = Vec::new();
                    encode_metrics(metrics, &mut body);
                    Ok(body)
                })
        });
        // The metrics are borrowed from the reader: nothing of ours to free.
        self.core.send(prepared, ())
    }

    /// A no-op: the exporter holds no buffer.
    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.core.shutdown(timeout)
    }

    fn temporality(&self) -> Temporality {
        match self.preference {
            TemporalityPreference::Delta => Temporality::Delta,
            TemporalityPreference::LowMemory => Temporality::LowMemory,
            // Cumulative, and any preference added later: the spec default.
            _ => Temporality::Cumulative,
        }
    }
}
