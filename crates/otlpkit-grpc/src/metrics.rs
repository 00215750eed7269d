//! The metric exporter (`opentelemetry_sdk::metrics::exporter::PushMetricExporter`).

use std::fmt;
use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use otlpkit_core::export::ExportStats;
use otlpkit_core::{ExporterConfig, MetricReaderConfig, Signal, TemporalityPreference, vars};
use prost::Message as _;

use crate::BuildError;
use crate::exporter::{ExporterBuilder, ExporterCore, builder_methods};

/// Exports metrics over OTLP/gRPC to
/// `/opentelemetry.proto.collector.metrics.v1.MetricsService/Export`.
///
/// Plug it into `PeriodicReader::builder(exporter)`. Its
/// [`temporality`](opentelemetry_sdk::metrics::exporter::PushMetricExporter::temporality)
/// follows the configured preference (checklist 3.11). The network I/O runs
/// on the exporter's worker runtime; the exporter is safe to call
/// concurrently.
pub struct MetricExporter {
    core: ExporterCore,
    preference: TemporalityPreference,
}

impl fmt::Debug for MetricExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetricExporter")
            .field("core", &self.core)
            .field("temporality_preference", &self.preference)
            .finish()
    }
}

impl MetricExporter {
    /// A builder: configuration from its `with_*` methods, then the
    /// `OTEL_EXPORTER_OTLP_[METRICS_]*` variables, then the defaults.
    pub fn builder() -> MetricExporterBuilder {
        MetricExporterBuilder {
            inner: ExporterBuilder::new(Signal::Metrics),
            preference: None,
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

    /// The temporality preference in force.
    pub fn temporality_preference(&self) -> TemporalityPreference {
        self.preference
    }
}

impl opentelemetry_sdk::metrics::exporter::PushMetricExporter for MetricExporter {
    fn export(&self, metrics: &ResourceMetrics) -> impl Future<Output = OTelSdkResult> + Send {
        let request = ExportMetricsServiceRequest::from(metrics);
        let items = data_point_count(&request);
        let body = if self.core.is_shut_down() || items == 0 {
            Bytes::new()
        } else {
            Bytes::from(request.encode_to_vec())
        };
        self.core.export(items, body, request)
    }

    /// A no-op: the exporter holds no buffer.
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

/// The SDK temporality for a preference (checklist 3.11).
fn sdk_temporality(preference: TemporalityPreference) -> Temporality {
    match preference {
        TemporalityPreference::Delta => Temporality::Delta,
        TemporalityPreference::LowMemory => Temporality::LowMemory,
        // Cumulative, and any preference added later: the spec default.
        _ => Temporality::Cumulative,
    }
}

/// Data points of every kind in the request.
fn data_point_count(request: &ExportMetricsServiceRequest) -> u64 {
    request
        .resource_metrics
        .iter()
        .flat_map(|resource| &resource.scope_metrics)
        .flat_map(|scope| &scope.metrics)
        .map(|metric| match &metric.data {
            Some(Data::Gauge(gauge)) => gauge.data_points.len(),
            Some(Data::Sum(sum)) => sum.data_points.len(),
            Some(Data::Histogram(histogram)) => histogram.data_points.len(),
            Some(Data::ExponentialHistogram(histogram)) => histogram.data_points.len(),
            Some(Data::Summary(summary)) => summary.data_points.len(),
            None => 0,
        } as u64)
        .sum()
}

/// Builds a [`MetricExporter`]; see [`MetricExporter::builder`].
#[derive(Debug)]
#[must_use]
pub struct MetricExporterBuilder {
    inner: ExporterBuilder,
    preference: Option<TemporalityPreference>,
}

builder_methods!(MetricExporterBuilder);

impl MetricExporterBuilder {
    /// The aggregation temporality preference (checklist 3.11). Default:
    /// `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`, else cumulative.
    pub fn with_temporality_preference(mut self, preference: TemporalityPreference) -> Self {
        self.preference = Some(preference);
        self
    }

    /// Resolves the configuration, checks it, and creates the (lazily
    /// connecting) channel on the worker runtime.
    pub fn build(self) -> Result<MetricExporter, BuildError> {
        let preference = match self.preference {
            Some(preference) => preference,
            None => {
                let env = self.inner.env();
                let resolved = MetricReaderConfig::builder().build(&*env)?;
                for warning in &resolved.warnings {
                    if warning.var() == vars::OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE {
                        crate::exporter::log_warning(format_args!(
                            "otlpkit: metrics exporter: {warning}"
                        ));
                    }
                }
                resolved.value.temporality_preference()
            }
        };
        Ok(MetricExporter {
            core: self.inner.build()?,
            preference,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporality_follows_the_preference() {
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

    // checklist 3.11: the preference comes from code, else the environment.
    #[test]
    fn the_preference_comes_from_code_then_the_environment() {
        use opentelemetry_sdk::metrics::exporter::PushMetricExporter as _;
        let env = || {
            otlpkit_core::MapEnv::new()
                .with(
                    "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
                    "LowMemory",
                )
                .with(
                    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
                    "http://127.0.0.1:4317",
                )
        };
        let from_env = MetricExporter::builder().with_env(env()).build().unwrap();
        assert_eq!(
            from_env.temporality_preference(),
            TemporalityPreference::LowMemory
        );
        assert_eq!(from_env.temporality(), Temporality::LowMemory);
        let from_code = MetricExporter::builder()
            .with_env(env())
            .with_temporality_preference(TemporalityPreference::Delta)
            .build()
            .unwrap();
        assert_eq!(from_code.temporality(), Temporality::Delta);
        let default = MetricExporter::builder()
            .with_env(otlpkit_core::MapEnv::new())
            .build()
            .unwrap();
        assert_eq!(default.temporality(), Temporality::Cumulative);
    }
}
