//! Periodic metric reader and OTLP metric exporter settings (checklist 3.10–3.12).

use std::time::Duration;

use crate::env::{EnvPolicy, EnvSource};
use crate::error::{ConfigError, Origin};
use crate::parse::{EnvReader, check_code_timeout, spec_enum};
use crate::source::{Resolved, Source};
use crate::vars;

spec_enum! {
    /// `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE` (checklist 3.11).
    ///
    /// Use [`temporality`](TemporalityPreference::temporality) to get the
    /// temporality of an instrument kind.
    #[derive(Default)]
    pub enum TemporalityPreference ("temporality preference", expected = "cumulative | delta | lowmemory") {
        /// Cumulative for every instrument (the default).
        #[default]
        Cumulative = "cumulative",
        /// Delta for counters and histograms, cumulative for up-down counters.
        Delta = "delta",
        /// Delta for synchronous counters and histograms only.
        LowMemory = "lowmemory",
    }
}

spec_enum! {
    /// Aggregation temporality of a metric stream.
    pub enum Temporality ("temporality", expected = "cumulative | delta") {
        /// Data points repeat the start time.
        Cumulative = "cumulative",
        /// Data points advance the start time.
        Delta = "delta",
    }
}

spec_enum! {
    /// Metric instrument kinds.
    pub enum InstrumentKind ("instrument kind", expected = "counter | observable_counter | histogram | up_down_counter | observable_up_down_counter | gauge | observable_gauge") {
        /// Synchronous monotonic counter.
        Counter = "counter",
        /// Asynchronous (observable) monotonic counter.
        ObservableCounter = "observable_counter",
        /// Synchronous histogram.
        Histogram = "histogram",
        /// Synchronous up-down counter.
        UpDownCounter = "up_down_counter",
        /// Asynchronous (observable) up-down counter.
        ObservableUpDownCounter = "observable_up_down_counter",
        /// Synchronous gauge.
        Gauge = "gauge",
        /// Asynchronous (observable) gauge.
        ObservableGauge = "observable_gauge",
    }
}

impl TemporalityPreference {
    /// The temporality for `kind` under this preference (checklist 3.11):
    ///
    /// | preference | Counter | Async Counter | Histogram | UpDownCounter | Async UpDownCounter |
    /// |---|---|---|---|---|---|
    /// | cumulative | C | C | C | C | C |
    /// | delta | D | D | D | C | C |
    /// | lowmemory | D | C | D | C | C |
    ///
    /// Gauges are not in the specification's table (OTLP gauges carry no
    /// temporality); otlpkit treats a synchronous gauge like a histogram and
    /// an asynchronous gauge like an asynchronous counter.
    pub const fn temporality(self, kind: InstrumentKind) -> Temporality {
        use InstrumentKind as K;
        use Temporality::{Cumulative as C, Delta as D};
        match (self, kind) {
            (TemporalityPreference::Cumulative, _) => C,
            (_, K::UpDownCounter | K::ObservableUpDownCounter) => C,
            (TemporalityPreference::Delta, _) => D,
            (TemporalityPreference::LowMemory, K::Counter | K::Histogram | K::Gauge) => D,
            (TemporalityPreference::LowMemory, K::ObservableCounter | K::ObservableGauge) => C,
        }
    }
}

spec_enum! {
    /// `OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION` (checklist 3.11b).
    #[derive(Default)]
    pub enum HistogramAggregation ("histogram aggregation", expected = "explicit_bucket_histogram | base2_exponential_bucket_histogram") {
        /// Explicit bucket boundaries (the default).
        #[default]
        ExplicitBucketHistogram = "explicit_bucket_histogram",
        /// Base-2 exponential buckets.
        Base2ExponentialBucketHistogram = "base2_exponential_bucket_histogram",
    }
}

spec_enum! {
    /// `OTEL_METRICS_EXEMPLAR_FILTER`.
    #[derive(Default)]
    pub enum ExemplarFilter ("exemplar filter", expected = "trace_based | always_on | always_off") {
        /// Measurements recorded in a sampled span context (the default).
        #[default]
        TraceBased = "trace_based",
        /// Every measurement.
        AlwaysOn = "always_on",
        /// No measurement.
        AlwaysOff = "always_off",
    }
}

/// Where each [`MetricReaderConfig`] option came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct MetricReaderSources {
    /// Of [`MetricReaderConfig::interval`].
    pub interval: Source,
    /// Of [`MetricReaderConfig::timeout`].
    pub timeout: Source,
    /// Of [`MetricReaderConfig::temporality_preference`].
    pub temporality_preference: Source,
    /// Of [`MetricReaderConfig::histogram_aggregation`].
    pub histogram_aggregation: Source,
    /// Of [`MetricReaderConfig::cardinality_limit`] (code or default; no variable exists).
    pub cardinality_limit: Source,
    /// Of [`MetricReaderConfig::exemplar_filter`].
    pub exemplar_filter: Source,
}

/// The resolved configuration of the periodic metric reader and the OTLP
/// metric exporter's aggregation choices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricReaderConfig {
    interval: Duration,
    timeout: Option<Duration>,
    temporality_preference: TemporalityPreference,
    histogram_aggregation: HistogramAggregation,
    cardinality_limit: usize,
    exemplar_filter: ExemplarFilter,
    sources: MetricReaderSources,
}

impl MetricReaderConfig {
    /// Default interval between the starts of two exports: 60 s.
    pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);
    /// Default export timeout: 30 s.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
    /// Default cardinality limit per metric stream: 2000 (checklist 3.12).
    pub const DEFAULT_CARDINALITY_LIMIT: usize = 2000;
    /// The largest cardinality limit accepted: 1,000,000 series per metric
    /// stream. `opentelemetry_sdk` reserves a table for `limit + 1` series
    /// when each instrument's stream is created (a limit near `usize::MAX`
    /// overflows it and panics in the application's thread), so a limit is
    /// also memory reserved up front: a hash table of about 69 MB of address
    /// space per stream at this bound (most of it untouched until series
    /// arrive), against about 135 KB at the default.
    pub const MAX_CARDINALITY_LIMIT: usize = 1_000_000;

    /// A builder.
    pub fn builder() -> MetricReaderConfigBuilder {
        MetricReaderConfigBuilder::default()
    }

    /// Time between the starts of two export attempts.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Time allowed for one export; `None` means no limit.
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// Temporality preference.
    pub fn temporality_preference(&self) -> TemporalityPreference {
        self.temporality_preference
    }

    /// Temporality for `kind` under the preference.
    pub fn temporality(&self, kind: InstrumentKind) -> Temporality {
        self.temporality_preference.temporality(kind)
    }

    /// Default histogram aggregation.
    pub fn histogram_aggregation(&self) -> HistogramAggregation {
        self.histogram_aggregation
    }

    /// Largest number of distinct attribute sets per metric stream.
    pub fn cardinality_limit(&self) -> usize {
        self.cardinality_limit
    }

    /// Exemplar filter.
    pub fn exemplar_filter(&self) -> ExemplarFilter {
        self.exemplar_filter
    }

    /// Where each option came from.
    pub fn sources(&self) -> &MetricReaderSources {
        &self.sources
    }
}

/// Builds a [`MetricReaderConfig`]: code > variable > default.
#[derive(Debug, Clone, Default)]
pub struct MetricReaderConfigBuilder {
    interval: Option<Duration>,
    timeout: Option<Option<Duration>>,
    temporality_preference: Option<TemporalityPreference>,
    histogram_aggregation: Option<HistogramAggregation>,
    cardinality_limit: Option<usize>,
    exemplar_filter: Option<ExemplarFilter>,
    policy: EnvPolicy,
}

impl MetricReaderConfigBuilder {
    /// Time between the starts of two export attempts (positive).
    #[must_use]
    pub fn with_interval(mut self, interval: Duration) -> Self {
        self.interval = Some(interval);
        self
    }

    /// Time allowed for one export; `None` means no limit (zero is rejected).
    #[must_use]
    pub fn with_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Temporality preference.
    #[must_use]
    pub fn with_temporality_preference(mut self, preference: TemporalityPreference) -> Self {
        self.temporality_preference = Some(preference);
        self
    }

    /// Default histogram aggregation.
    #[must_use]
    pub fn with_histogram_aggregation(mut self, aggregation: HistogramAggregation) -> Self {
        self.histogram_aggregation = Some(aggregation);
        self
    }

    /// Cardinality limit per metric stream, from 1 to
    /// [`MetricReaderConfig::MAX_CARDINALITY_LIMIT`] (1,000,000); another
    /// value makes [`build`](Self::build) fail with
    /// [`ConfigError::InvalidValue`] naming this method and the value.
    /// No variable sets it.
    #[must_use]
    pub fn with_cardinality_limit(mut self, limit: usize) -> Self {
        self.cardinality_limit = Some(limit);
        self
    }

    /// Exemplar filter.
    #[must_use]
    pub fn with_exemplar_filter(mut self, filter: ExemplarFilter) -> Self {
        self.exemplar_filter = Some(filter);
        self
    }

    /// How warnings are treated.
    #[must_use]
    pub fn with_env_policy(mut self, policy: EnvPolicy) -> Self {
        self.policy = policy;
        self
    }

    pub(crate) fn env_policy(&self) -> EnvPolicy {
        self.policy
    }

    /// Resolves the configuration.
    pub fn build<E: EnvSource + ?Sized>(
        self,
        env: &E,
    ) -> Result<Resolved<MetricReaderConfig>, ConfigError> {
        let env: &dyn EnvSource = &env;
        let policy = self.policy;
        let mut reader = EnvReader::new(env);
        let config = self.resolve(&mut reader)?;
        reader.finish(config, policy)
    }

    pub(crate) fn resolve(
        self,
        reader: &mut EnvReader<'_>,
    ) -> Result<MetricReaderConfig, ConfigError> {
        check_code_timeout(self.timeout, "MetricReaderConfigBuilder::with_timeout")?;
        if self.interval.is_some_and(|d| d.is_zero()) {
            return Err(ConfigError::InvalidValue {
                origin: Origin::Builder("MetricReaderConfigBuilder::with_interval"),
                value: "0s".to_owned(),
                reason: "the export interval must be positive",
            });
        }
        if let Some(limit) = self
            .cardinality_limit
            .filter(|limit| !(1..=MetricReaderConfig::MAX_CARDINALITY_LIMIT).contains(limit))
        {
            return Err(ConfigError::InvalidValue {
                origin: Origin::Builder("MetricReaderConfigBuilder::with_cardinality_limit"),
                value: limit.to_string(),
                reason: if limit == 0 {
                    "the cardinality limit must be positive"
                } else {
                    "the cardinality limit must be at most 1000000 \
                     (MetricReaderConfig::MAX_CARDINALITY_LIMIT): the SDK reserves room for \
                     that many series per metric stream up front"
                },
            });
        }

        let (interval, interval_source) = reader.single(
            self.interval,
            vars::OTEL_METRIC_EXPORT_INTERVAL,
            || MetricReaderConfig::DEFAULT_INTERVAL,
            // A zero interval would spin; it is outside the valid range.
            |r, v| r.duration(v, 1),
        );
        let (timeout, timeout_source) = reader.single(
            self.timeout,
            vars::OTEL_METRIC_EXPORT_TIMEOUT,
            || Some(MetricReaderConfig::DEFAULT_TIMEOUT),
            |r, v| r.timeout(v),
        );
        let (temporality_preference, temporality_preference_source) = reader.single(
            self.temporality_preference,
            vars::OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE,
            TemporalityPreference::default,
            |r, v| r.parse_enum(v),
        );
        let (histogram_aggregation, histogram_aggregation_source) = reader.single(
            self.histogram_aggregation,
            vars::OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION,
            HistogramAggregation::default,
            |r, v| r.parse_enum(v),
        );
        let (exemplar_filter, exemplar_filter_source) = reader.single(
            self.exemplar_filter,
            vars::OTEL_METRICS_EXEMPLAR_FILTER,
            ExemplarFilter::default,
            |r, v| r.parse_enum(v),
        );
        let cardinality_limit_source = if self.cardinality_limit.is_some() {
            Source::Code
        } else {
            Source::Default
        };

        Ok(MetricReaderConfig {
            interval,
            timeout,
            temporality_preference,
            histogram_aggregation,
            cardinality_limit: self
                .cardinality_limit
                .unwrap_or(MetricReaderConfig::DEFAULT_CARDINALITY_LIMIT),
            exemplar_filter,
            sources: MetricReaderSources {
                interval: interval_source,
                timeout: timeout_source,
                temporality_preference: temporality_preference_source,
                histogram_aggregation: histogram_aggregation_source,
                cardinality_limit: cardinality_limit_source,
                exemplar_filter: exemplar_filter_source,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ConfigWarning, MapEnv};

    #[test]
    fn periodic_reader_defaults_are_60s_interval_and_30s_timeout() {
        // checklist 3.10
        let config = MetricReaderConfig::builder()
            .build(&MapEnv::new())
            .unwrap()
            .value;
        assert_eq!(config.interval(), Duration::from_millis(60_000));
        assert_eq!(config.timeout(), Some(Duration::from_millis(30_000)));
        assert_eq!(config.exemplar_filter(), ExemplarFilter::TraceBased);
    }

    #[test]
    fn periodic_reader_variables_are_read_and_zero_interval_ignored() {
        // checklist 3.10
        let env = MapEnv::from([
            ("OTEL_METRIC_EXPORT_INTERVAL", "1500"),
            ("OTEL_METRIC_EXPORT_TIMEOUT", "0"),
        ]);
        let config = MetricReaderConfig::builder().build(&env).unwrap().value;
        assert_eq!(config.interval(), Duration::from_millis(1500));
        assert_eq!(config.timeout(), None);
        assert_eq!(
            config.sources().interval,
            Source::Env("OTEL_METRIC_EXPORT_INTERVAL")
        );

        let env = MapEnv::from([("OTEL_METRIC_EXPORT_INTERVAL", "0")]);
        let resolved = MetricReaderConfig::builder().build(&env).unwrap();
        assert_eq!(
            resolved.value.interval(),
            MetricReaderConfig::DEFAULT_INTERVAL
        );
        assert!(matches!(
            resolved.warnings[0],
            ConfigWarning::OutOfRange {
                var: "OTEL_METRIC_EXPORT_INTERVAL",
                ..
            }
        ));
    }

    #[test]
    fn temporality_table_matches_the_spec() {
        // checklist 3.11
        use InstrumentKind::*;
        use Temporality::{Cumulative as C, Delta as D};
        let kinds = [
            Counter,
            ObservableCounter,
            Histogram,
            UpDownCounter,
            ObservableUpDownCounter,
        ];
        let table = [
            (TemporalityPreference::Cumulative, [C, C, C, C, C]),
            (TemporalityPreference::Delta, [D, D, D, C, C]),
            (TemporalityPreference::LowMemory, [D, C, D, C, C]),
        ];
        for (preference, row) in table {
            for (kind, expected) in kinds.iter().zip(row) {
                assert_eq!(
                    preference.temporality(*kind),
                    expected,
                    "{preference} {kind}"
                );
            }
        }
    }

    #[test]
    fn temporality_preference_is_case_insensitive_and_defaults_to_cumulative() {
        // checklist 3.11
        let config = MetricReaderConfig::builder()
            .build(&MapEnv::new())
            .unwrap()
            .value;
        assert_eq!(
            config.temporality_preference(),
            TemporalityPreference::Cumulative
        );
        for (text, expected) in [
            ("DELTA", TemporalityPreference::Delta),
            ("LowMemory", TemporalityPreference::LowMemory),
            ("Cumulative", TemporalityPreference::Cumulative),
        ] {
            let env = MapEnv::from([("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", text)]);
            let config = MetricReaderConfig::builder().build(&env).unwrap().value;
            assert_eq!(config.temporality_preference(), expected);
            assert_eq!(
                config.temporality(InstrumentKind::UpDownCounter),
                Temporality::Cumulative
            );
        }
        let env = MapEnv::from([(
            "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
            "stateless",
        )]);
        let resolved = MetricReaderConfig::builder().build(&env).unwrap();
        assert_eq!(
            resolved.value.temporality_preference(),
            TemporalityPreference::Cumulative
        );
        assert_eq!(resolved.warnings.len(), 1);
    }

    #[test]
    fn default_histogram_aggregation_is_explicit_buckets_and_exponential_is_selectable() {
        // checklist 3.11b
        let config = MetricReaderConfig::builder()
            .build(&MapEnv::new())
            .unwrap()
            .value;
        assert_eq!(
            config.histogram_aggregation(),
            HistogramAggregation::ExplicitBucketHistogram
        );
        let env = MapEnv::from([(
            "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION",
            "BASE2_EXPONENTIAL_BUCKET_HISTOGRAM",
        )]);
        let config = MetricReaderConfig::builder().build(&env).unwrap().value;
        assert_eq!(
            config.histogram_aggregation(),
            HistogramAggregation::Base2ExponentialBucketHistogram
        );
    }

    #[test]
    fn default_cardinality_limit_is_2000() {
        // checklist 3.12
        let config = MetricReaderConfig::builder()
            .build(&MapEnv::new())
            .unwrap()
            .value;
        assert_eq!(config.cardinality_limit(), 2000);
        let config = MetricReaderConfig::builder()
            .with_cardinality_limit(50)
            .build(&MapEnv::new())
            .unwrap()
            .value;
        assert_eq!(config.cardinality_limit(), 50);
        assert!(
            MetricReaderConfig::builder()
                .with_cardinality_limit(0)
                .build(&MapEnv::new())
                .is_err()
        );
    }

    #[test]
    fn a_cardinality_limit_above_the_bound_is_an_error_naming_the_value() {
        // checklist 3.12: a limit the SDK would overflow (usize::MAX), or
        // panic on when it reserves its table (usize::MAX / 2), is refused
        // with the value, never handed on or replaced.
        let max = MetricReaderConfig::MAX_CARDINALITY_LIMIT;
        for limit in [max + 1, usize::MAX / 2, usize::MAX, 0] {
            let error = MetricReaderConfig::builder()
                .with_cardinality_limit(limit)
                .build(&MapEnv::new())
                .unwrap_err();
            match &error {
                ConfigError::InvalidValue { origin, value, .. } => {
                    assert_eq!(
                        *origin,
                        Origin::Builder("MetricReaderConfigBuilder::with_cardinality_limit")
                    );
                    assert_eq!(*value, limit.to_string());
                }
                other => panic!("{other:?}"),
            }
            assert!(error.to_string().contains(&limit.to_string()), "{error}");
        }
        let config = MetricReaderConfig::builder()
            .with_cardinality_limit(max)
            .build(&MapEnv::new())
            .unwrap()
            .value;
        assert_eq!(config.cardinality_limit(), max);
        assert_eq!(config.sources().cardinality_limit, Source::Code);
    }

    #[test]
    fn cumulative_repeats_start_time_delta_advances_it() {
        // checklist 3.12: the preference maps to the temporality that the SDK
        // aggregates with; cumulative streams keep their start time, delta
        // streams advance it. Here: a delta preference really yields Delta for
        // the kinds that advance and Cumulative for those that repeat.
        let config = MetricReaderConfig::builder()
            .with_temporality_preference(TemporalityPreference::Delta)
            .build(&MapEnv::new())
            .unwrap()
            .value;
        assert_eq!(
            config.temporality(InstrumentKind::Counter),
            Temporality::Delta
        );
        assert_eq!(
            config.temporality(InstrumentKind::ObservableUpDownCounter),
            Temporality::Cumulative
        );
        assert_eq!(config.sources().temporality_preference, Source::Code);
    }

    #[test]
    fn exemplar_filter_variable_is_read_case_insensitively() {
        for (text, expected) in [
            ("ALWAYS_ON", ExemplarFilter::AlwaysOn),
            ("always_off", ExemplarFilter::AlwaysOff),
            ("Trace_Based", ExemplarFilter::TraceBased),
        ] {
            let env = MapEnv::from([("OTEL_METRICS_EXEMPLAR_FILTER", text)]);
            let config = MetricReaderConfig::builder().build(&env).unwrap().value;
            assert_eq!(config.exemplar_filter(), expected);
            assert_eq!(
                config.sources().exemplar_filter,
                Source::Env("OTEL_METRICS_EXEMPLAR_FILTER")
            );
        }
    }

    #[test]
    fn code_values_are_validated() {
        assert!(
            MetricReaderConfig::builder()
                .with_interval(Duration::ZERO)
                .build(&MapEnv::new())
                .is_err()
        );
        assert!(
            MetricReaderConfig::builder()
                .with_timeout(Some(Duration::ZERO))
                .build(&MapEnv::new())
                .is_err()
        );
    }
}
