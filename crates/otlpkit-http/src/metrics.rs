//! The metric exporter.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use otlpkit_core::export::ExportStats;
use otlpkit_core::{MetricReaderConfig, Signal, TemporalityPreference};

use crate::encode;
use crate::error::BuildError;
use crate::exporter::{ExporterCore, HttpExporterBuilder};

/// Exports metrics over OTLP/HTTP (protobuf or JSON).
///
/// Plug it into the SDK's `PeriodicReader`. The temporality follows the
/// configured preference (checklist 3.11,
/// `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`, default cumulative).
/// Metrics without data points and the envelopes they leave empty are not
/// sent (checklist 2.12). The exporter is safe to call concurrently; its
/// network I/O runs on its worker runtime. `Debug` never shows header values.
///
/// ```no_run
/// use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
/// use otlpkit_http::HttpMetricExporter;
///
/// let exporter = HttpMetricExporter::builder()
///     .with_endpoint("http://127.0.0.1:4318/v1/metrics")
///     .build()?;
/// let provider = SdkMeterProvider::builder()
///     .with_reader(PeriodicReader::builder(exporter).build())
///     .build();
/// # Ok::<(), otlpkit_http::BuildError>(())
/// ```
pub struct HttpMetricExporter {
    core: ExporterCore,
    preference: TemporalityPreference,
}

impl fmt::Debug for HttpMetricExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpMetricExporter")
            .field("core", &self.core)
            .field("temporality_preference", &self.preference)
            .finish()
    }
}

impl HttpMetricExporter {
    /// A builder, configured from the process environment unless told
    /// otherwise.
    pub fn builder() -> HttpExporterBuilder<HttpMetricExporter> {
        HttpExporterBuilder::new(Signal::Metrics)
    }

    /// The counters this exporter updates (items are metric data points).
    pub fn stats(&self) -> &ExportStats {
        self.core.stats()
    }

    /// The endpoint metrics are sent to, without credentials or query.
    pub fn endpoint(&self) -> &str {
        self.core.endpoint()
    }

    /// The temporality preference the exporter reports to the SDK.
    pub fn temporality_preference(&self) -> TemporalityPreference {
        self.preference
    }
}

impl HttpExporterBuilder<HttpMetricExporter> {
    /// The temporality preference (checklist 3.11); without it,
    /// `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE` or cumulative.
    pub fn with_temporality_preference(mut self, preference: TemporalityPreference) -> Self {
        self.temporality = Some(preference);
        self
    }

    /// Resolves the configuration and builds the exporter.
    pub fn build(self) -> Result<HttpMetricExporter, BuildError> {
        let preference = match self.temporality {
            Some(preference) => preference,
            None => {
                let resolved = MetricReaderConfig::builder().build(&*self.env())?;
                resolved.value.temporality_preference()
            }
        };
        Ok(HttpMetricExporter {
            core: self.build_core()?,
            preference,
        })
    }
}

/// The SDK temporality implementing a preference: the SDK's `LowMemory`
/// follows the specification's lowmemory column.
fn sdk_temporality(preference: TemporalityPreference) -> Temporality {
    match preference {
        TemporalityPreference::Delta => Temporality::Delta,
        TemporalityPreference::LowMemory => Temporality::LowMemory,
        _ => Temporality::Cumulative,
    }
}

impl PushMetricExporter for HttpMetricExporter {
    fn export(&self, metrics: &ResourceMetrics) -> impl Future<Output = OTelSdkResult> + Send {
        let mut request = ExportMetricsServiceRequest::from(metrics);
        let items = encode::prune_metrics(&mut request);
        self.core.prepare(items, move || request).run()
    }

    /// The exporter holds no buffer: nothing to flush.
    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.core.shutdown(timeout)
    }

    fn temporality(&self) -> Temporality {
        sdk_temporality(self.preference)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preferences_map_to_sdk_temporalities() {
        // checklist 3.11
        assert_eq!(
            sdk_temporality(TemporalityPreference::Cumulative),
            Temporality::Cumulative
        );
        assert_eq!(
            sdk_temporality(TemporalityPreference::Delta),
            Temporality::Delta
        );
        assert_eq!(
            sdk_temporality(TemporalityPreference::LowMemory),
            Temporality::LowMemory
        );
    }
}
