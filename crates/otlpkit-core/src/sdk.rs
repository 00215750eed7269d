//! General SDK settings: disabling, sampler, propagators, exporter selection,
//! limits and log level (checklist 4.4–4.9).

use std::fmt;

use crate::env::{EnvPolicy, EnvSource};
use crate::error::{ConfigError, ConfigWarning, Origin};
use crate::parse::{EnvReader, spec_enum};
use crate::source::{Resolved, Source};
use crate::{Signal, vars};

spec_enum! {
    /// `OTEL_TRACES_SAMPLER` values (checklist 4.5).
    #[derive(Default)]
    pub enum Sampler ("sampler", expected = "always_on | always_off | traceidratio | parentbased_always_on | parentbased_always_off | parentbased_traceidratio | parentbased_jaeger_remote | jaeger_remote | xray") {
        /// Sample everything.
        AlwaysOn = "always_on",
        /// Sample nothing.
        AlwaysOff = "always_off",
        /// Sample a ratio of trace ids.
        TraceIdRatio = "traceidratio",
        /// Follow the parent; sample every root (the default).
        #[default]
        ParentBasedAlwaysOn = "parentbased_always_on",
        /// Follow the parent; sample no root.
        ParentBasedAlwaysOff = "parentbased_always_off",
        /// Follow the parent; sample a ratio of roots.
        ParentBasedTraceIdRatio = "parentbased_traceidratio",
        /// Follow the parent; Jaeger remote sampling for roots.
        ParentBasedJaegerRemote = "parentbased_jaeger_remote",
        /// Jaeger remote sampling.
        JaegerRemote = "jaeger_remote",
        /// AWS X-Ray centralized sampling.
        XRay = "xray",
    }
}

impl Sampler {
    /// Whether the sampler takes a ratio argument.
    pub const fn takes_ratio(self) -> bool {
        matches!(
            self,
            Sampler::TraceIdRatio | Sampler::ParentBasedTraceIdRatio
        )
    }

    /// Whether the sampler takes a Jaeger remote argument.
    pub const fn takes_jaeger_remote_arg(self) -> bool {
        matches!(
            self,
            Sampler::JaegerRemote | Sampler::ParentBasedJaegerRemote
        )
    }
}

/// The argument of a sampler (`OTEL_TRACES_SAMPLER_ARG`).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum SamplerArg {
    /// No argument.
    None,
    /// Sampling probability in `[0, 1]` for the ratio samplers.
    Ratio(f64),
    /// The Jaeger remote argument, kept as given
    /// (`endpoint=…,pollingIntervalMs=…,initialSamplingRate=…`).
    JaegerRemote(String),
}

/// A sampler with its argument.
///
/// ```
/// use otlpkit_core::{Sampler, SamplerConfig};
///
/// let sampler = SamplerConfig::new(Sampler::TraceIdRatio);
/// assert_eq!(sampler.ratio_value(), Some(1.0));
/// let sampler = SamplerConfig::ratio(Sampler::ParentBasedTraceIdRatio, 0.25);
/// assert_eq!(sampler.ratio_value(), Some(0.25));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SamplerConfig {
    sampler: Sampler,
    arg: SamplerArg,
}

impl Default for SamplerConfig {
    fn default() -> Self {
        Self::new(Sampler::default())
    }
}

impl SamplerConfig {
    /// `sampler` with its default argument (ratio 1.0 for the ratio samplers).
    pub fn new(sampler: Sampler) -> Self {
        let arg = if sampler.takes_ratio() {
            SamplerArg::Ratio(1.0)
        } else {
            SamplerArg::None
        };
        Self { sampler, arg }
    }

    /// A ratio sampler with `ratio` (validated by the SDK builder: `[0, 1]`).
    pub fn ratio(sampler: Sampler, ratio: f64) -> Self {
        Self {
            sampler,
            arg: SamplerArg::Ratio(ratio),
        }
    }

    /// Replaces the argument (validated by the SDK builder).
    #[must_use]
    pub fn with_arg(mut self, arg: SamplerArg) -> Self {
        self.arg = arg;
        self
    }

    /// The sampler.
    pub fn sampler(&self) -> Sampler {
        self.sampler
    }

    /// The argument.
    pub fn arg(&self) -> &SamplerArg {
        &self.arg
    }

    /// The ratio, for the ratio samplers.
    pub fn ratio_value(&self) -> Option<f64> {
        match self.arg {
            SamplerArg::Ratio(ratio) => Some(ratio),
            _ => None,
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |value: String, reason| ConfigError::InvalidValue {
            origin: Origin::Builder("SdkConfigBuilder::with_sampler"),
            value,
            reason,
        };
        match (
            &self.arg,
            self.sampler.takes_ratio(),
            self.sampler.takes_jaeger_remote_arg(),
        ) {
            (SamplerArg::Ratio(r), true, _) if !(0.0..=1.0).contains(r) => Err(invalid(
                r.to_string(),
                "the sampling ratio must be in [0, 1]",
            )),
            (SamplerArg::Ratio(_), true, _)
            | (SamplerArg::JaegerRemote(_), _, true)
            | (SamplerArg::None, false, _) => Ok(()),
            (arg, _, _) => Err(invalid(
                format!("{} with {arg:?}", self.sampler),
                "this argument does not fit this sampler",
            )),
        }
    }
}

spec_enum! {
    /// `OTEL_PROPAGATORS` values (checklist 4.6); `none` is represented by an
    /// empty list.
    pub enum Propagator ("propagator", expected = "tracecontext | baggage | b3 | b3multi | jaeger | xray | ottrace | none") {
        /// W3C Trace Context.
        TraceContext = "tracecontext",
        /// W3C Baggage.
        Baggage = "baggage",
        /// B3 single header.
        B3 = "b3",
        /// B3 multiple headers.
        B3Multi = "b3multi",
        /// Jaeger (deprecated by the specification).
        Jaeger = "jaeger",
        /// AWS X-Ray.
        XRay = "xray",
        /// OT Trace (deprecated by the specification).
        OtTrace = "ottrace",
    }
}

spec_enum! {
    /// `OTEL_{TRACES,METRICS,LOGS}_EXPORTER` values otlpkit supports
    /// (checklist 4.7); `none` is represented by an empty list. `zipkin`,
    /// `prometheus`, `logging` and `otlp/stdout` are recognised but not
    /// supported: they produce a [`ConfigWarning::Unsupported`].
    pub enum ExporterKind ("exporter", expected = "otlp | console | none") {
        /// The OTLP exporter.
        Otlp = "otlp",
        /// Human-readable output on standard output.
        Console = "console",
    }
}

spec_enum! {
    /// `OTEL_LOG_LEVEL`: the level of the SDK's own diagnostics (default `info`).
    #[derive(Default, PartialOrd, Ord)]
    pub enum LogLevel ("log level", expected = "off | error | warn | info | debug | trace") {
        /// Nothing (`none` is accepted too).
        Off = "off" | "none",
        /// Errors.
        Error = "error",
        /// Warnings (`warning` is accepted too).
        Warn = "warn" | "warning",
        /// Informational messages (the default).
        #[default]
        Info = "info",
        /// Debugging detail.
        Debug = "debug",
        /// Everything.
        Trace = "trace",
    }
}

spec_enum! {
    /// The attribute, span and log record limits (checklist 4.8).
    pub enum LimitKind ("limit", expected = "a limit name") {
        /// `OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT` (general; default no limit).
        AttributeValueLength = "attribute_value_length",
        /// `OTEL_ATTRIBUTE_COUNT_LIMIT` (general; default 128).
        AttributeCount = "attribute_count",
        /// `OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT` (default no limit).
        SpanAttributeValueLength = "span_attribute_value_length",
        /// `OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT` (default 128).
        SpanAttributeCount = "span_attribute_count",
        /// `OTEL_SPAN_EVENT_COUNT_LIMIT` (default 128).
        SpanEventCount = "span_event_count",
        /// `OTEL_SPAN_LINK_COUNT_LIMIT` (default 128).
        SpanLinkCount = "span_link_count",
        /// `OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT` (default 128).
        EventAttributeCount = "event_attribute_count",
        /// `OTEL_LINK_ATTRIBUTE_COUNT_LIMIT` (default 128).
        LinkAttributeCount = "link_attribute_count",
        /// `OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT` (default 128).
        LogRecordAttributeCount = "logrecord_attribute_count",
        /// `OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT` (default no limit).
        LogRecordAttributeValueLength = "logrecord_attribute_value_length",
    }
}

impl LimitKind {
    /// The variable for this limit.
    pub const fn var(self) -> &'static str {
        use vars::*;
        match self {
            LimitKind::AttributeValueLength => OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT,
            LimitKind::AttributeCount => OTEL_ATTRIBUTE_COUNT_LIMIT,
            LimitKind::SpanAttributeValueLength => OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT,
            LimitKind::SpanAttributeCount => OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT,
            LimitKind::SpanEventCount => OTEL_SPAN_EVENT_COUNT_LIMIT,
            LimitKind::SpanLinkCount => OTEL_SPAN_LINK_COUNT_LIMIT,
            LimitKind::EventAttributeCount => OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT,
            LimitKind::LinkAttributeCount => OTEL_LINK_ATTRIBUTE_COUNT_LIMIT,
            LimitKind::LogRecordAttributeCount => OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT,
            LimitKind::LogRecordAttributeValueLength => OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT,
        }
    }

    /// The general limit a model-specific one falls back to, if any.
    pub const fn general(self) -> Option<LimitKind> {
        match self {
            LimitKind::SpanAttributeValueLength | LimitKind::LogRecordAttributeValueLength => {
                Some(LimitKind::AttributeValueLength)
            }
            LimitKind::SpanAttributeCount
            | LimitKind::EventAttributeCount
            | LimitKind::LinkAttributeCount
            | LimitKind::LogRecordAttributeCount => Some(LimitKind::AttributeCount),
            LimitKind::AttributeValueLength
            | LimitKind::AttributeCount
            | LimitKind::SpanEventCount
            | LimitKind::SpanLinkCount => None,
        }
    }

    /// The specification default: 128 for counts, `None` (no limit) for
    /// value lengths.
    pub const fn default_value(self) -> Option<u32> {
        match self {
            LimitKind::AttributeValueLength
            | LimitKind::SpanAttributeValueLength
            | LimitKind::LogRecordAttributeValueLength => None,
            _ => Some(128),
        }
    }

    const fn index(self) -> usize {
        match self {
            LimitKind::AttributeValueLength => 0,
            LimitKind::AttributeCount => 1,
            LimitKind::SpanAttributeValueLength => 2,
            LimitKind::SpanAttributeCount => 3,
            LimitKind::SpanEventCount => 4,
            LimitKind::SpanLinkCount => 5,
            LimitKind::EventAttributeCount => 6,
            LimitKind::LinkAttributeCount => 7,
            LimitKind::LogRecordAttributeCount => 8,
            LimitKind::LogRecordAttributeValueLength => 9,
        }
    }
}

const LIMIT_COUNT: usize = 10;

/// The resolved limits; `None` means no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    values: [Option<u32>; LIMIT_COUNT],
    sources: [Source; LIMIT_COUNT],
}

impl Default for Limits {
    fn default() -> Self {
        let mut values = [None; LIMIT_COUNT];
        for kind in LimitKind::ALL {
            values[kind.index()] = kind.default_value();
        }
        Self {
            values,
            sources: [Source::Default; LIMIT_COUNT],
        }
    }
}

impl Limits {
    /// The limit, `None` meaning no limit.
    pub fn get(&self, kind: LimitKind) -> Option<u32> {
        self.values[kind.index()]
    }

    /// Where the limit came from: `Code` (this limit, or the general one it
    /// falls back to, was set in code), `SignalEnv` (the model-specific
    /// variable), `GeneralEnv` (the general variable), or `Default`.
    pub fn source(&self, kind: LimitKind) -> Source {
        self.sources[kind.index()]
    }

    /// Span attribute count.
    pub fn span_attribute_count(&self) -> Option<u32> {
        self.get(LimitKind::SpanAttributeCount)
    }

    /// Span attribute value length.
    pub fn span_attribute_value_length(&self) -> Option<u32> {
        self.get(LimitKind::SpanAttributeValueLength)
    }

    /// Span event count.
    pub fn span_event_count(&self) -> Option<u32> {
        self.get(LimitKind::SpanEventCount)
    }

    /// Span link count.
    pub fn span_link_count(&self) -> Option<u32> {
        self.get(LimitKind::SpanLinkCount)
    }

    /// Attributes per span event.
    pub fn event_attribute_count(&self) -> Option<u32> {
        self.get(LimitKind::EventAttributeCount)
    }

    /// Attributes per span link.
    pub fn link_attribute_count(&self) -> Option<u32> {
        self.get(LimitKind::LinkAttributeCount)
    }

    /// Log record attribute count.
    pub fn logrecord_attribute_count(&self) -> Option<u32> {
        self.get(LimitKind::LogRecordAttributeCount)
    }

    /// Log record attribute value length.
    pub fn logrecord_attribute_value_length(&self) -> Option<u32> {
        self.get(LimitKind::LogRecordAttributeValueLength)
    }
}

/// Where each [`SdkConfig`] option came from (limits: [`Limits::source`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SdkSources {
    /// Of [`SdkConfig::disabled`].
    pub disabled: Source,
    /// Of [`SdkConfig::sampler`] (its argument included).
    pub sampler: Source,
    /// Of [`SdkConfig::propagators`].
    pub propagators: Source,
    /// Of [`SdkConfig::exporters`], per signal in [`Signal::ALL`] order.
    pub exporters: [Source; 3],
    /// Of [`SdkConfig::log_level`].
    pub log_level: Source,
}

/// The resolved general SDK settings.
#[derive(Clone, PartialEq)]
pub struct SdkConfig {
    disabled: bool,
    sampler: SamplerConfig,
    propagators: Vec<Propagator>,
    exporters: [Vec<ExporterKind>; 3],
    limits: Limits,
    log_level: LogLevel,
    sources: SdkSources,
}

impl fmt::Debug for SdkConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SdkConfig")
            .field("disabled", &self.disabled)
            .field("sampler", &self.sampler)
            .field("propagators", &self.propagators)
            .field("exporters", &self.exporters)
            .field("limits", &self.limits)
            .field("log_level", &self.log_level)
            .field("sources", &self.sources)
            .finish()
    }
}

impl SdkConfig {
    /// A builder.
    pub fn builder() -> SdkConfigBuilder {
        SdkConfigBuilder::default()
    }

    /// Whether the SDK is disabled for all signals (propagators still apply).
    pub fn disabled(&self) -> bool {
        self.disabled
    }

    /// The trace sampler.
    pub fn sampler(&self) -> &SamplerConfig {
        &self.sampler
    }

    /// Propagators, deduplicated in order; empty means `none`.
    pub fn propagators(&self) -> &[Propagator] {
        &self.propagators
    }

    /// Exporters selected for `signal`, deduplicated in order; empty means `none`.
    pub fn exporters(&self, signal: Signal) -> &[ExporterKind] {
        &self.exporters[signal.index()]
    }

    /// Attribute, span and log record limits.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Level of the SDK's own diagnostics.
    pub fn log_level(&self) -> LogLevel {
        self.log_level
    }

    /// Where each option came from.
    pub fn sources(&self) -> &SdkSources {
        &self.sources
    }
}

/// Builds an [`SdkConfig`]: code > variable > default.
///
/// ```
/// use otlpkit_core::{MapEnv, Propagator, Sampler, SdkConfig, Signal};
///
/// let env = MapEnv::from([
///     ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
///     ("OTEL_TRACES_SAMPLER_ARG", "0.1"),
///     ("OTEL_PROPAGATORS", "b3,tracecontext,b3"),
///     ("OTEL_METRICS_EXPORTER", "none"),
/// ]);
/// let sdk = SdkConfig::builder().build(&env)?.into_value();
/// assert_eq!(sdk.sampler().sampler(), Sampler::ParentBasedTraceIdRatio);
/// assert_eq!(sdk.sampler().ratio_value(), Some(0.1));
/// assert_eq!(sdk.propagators(), [Propagator::B3, Propagator::TraceContext]);
/// assert!(sdk.exporters(Signal::Metrics).is_empty());
/// # Ok::<(), otlpkit_core::ConfigError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct SdkConfigBuilder {
    disabled: Option<bool>,
    sampler: Option<SamplerConfig>,
    propagators: Option<Vec<Propagator>>,
    exporters: [Option<Vec<ExporterKind>>; 3],
    limits: [Option<Option<u32>>; LIMIT_COUNT],
    log_level: Option<LogLevel>,
    policy: EnvPolicy,
}

impl SdkConfigBuilder {
    /// Disables (or enables) the SDK.
    #[must_use]
    pub fn with_disabled(mut self, disabled: bool) -> Self {
        self.disabled = Some(disabled);
        self
    }

    /// The trace sampler; replaces `OTEL_TRACES_SAMPLER` and its argument.
    #[must_use]
    pub fn with_sampler(mut self, sampler: SamplerConfig) -> Self {
        self.sampler = Some(sampler);
        self
    }

    /// The propagators (deduplicated in order); an empty list means none.
    #[must_use]
    pub fn with_propagators(mut self, propagators: impl IntoIterator<Item = Propagator>) -> Self {
        self.propagators = Some(dedup(propagators));
        self
    }

    /// The exporters for `signal` (deduplicated in order); an empty list means none.
    #[must_use]
    pub fn with_exporters(
        mut self,
        signal: Signal,
        exporters: impl IntoIterator<Item = ExporterKind>,
    ) -> Self {
        self.exporters[signal.index()] = Some(dedup(exporters));
        self
    }

    /// One limit; `None` means no limit. A code value of a general limit
    /// (e.g. [`LimitKind::AttributeCount`]) is used by the model-specific
    /// limits that are not set more specifically.
    #[must_use]
    pub fn with_limit(mut self, kind: LimitKind, limit: Option<u32>) -> Self {
        self.limits[kind.index()] = Some(limit);
        self
    }

    /// Level of the SDK's own diagnostics.
    #[must_use]
    pub fn with_log_level(mut self, level: LogLevel) -> Self {
        self.log_level = Some(level);
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
    pub fn build<E: EnvSource + ?Sized>(self, env: &E) -> Result<Resolved<SdkConfig>, ConfigError> {
        let env: &dyn EnvSource = &env;
        let policy = self.policy;
        let mut reader = EnvReader::new(env);
        let config = self.resolve(&mut reader)?;
        reader.finish(config, policy)
    }

    pub(crate) fn resolve(self, reader: &mut EnvReader<'_>) -> Result<SdkConfig, ConfigError> {
        if let Some(sampler) = &self.sampler {
            sampler.validate()?;
        }

        // checklist 4.4
        let (disabled, disabled_source) = reader.single(
            self.disabled,
            vars::OTEL_SDK_DISABLED,
            || false,
            |r, v| r.bool(v),
        );

        // checklist 4.5
        let (sampler, sampler_source) = match self.sampler {
            Some(sampler) => (sampler, Source::Code),
            None => resolve_sampler(reader),
        };

        // checklist 4.6
        let (propagators, propagators_source) = match self.propagators {
            Some(list) => (list, Source::Code),
            None => match read_list(reader, vars::OTEL_PROPAGATORS, |t| {
                t.parse::<Propagator>().map_err(|_| None)
            }) {
                Some(list) => (list, Source::Env(vars::OTEL_PROPAGATORS)),
                None => (
                    vec![Propagator::TraceContext, Propagator::Baggage],
                    Source::Default,
                ),
            },
        };

        // checklist 4.7
        let mut exporters: [Vec<ExporterKind>; 3] = Default::default();
        let mut exporters_source = [Source::Default; 3];
        for (signal, code) in Signal::ALL.iter().zip(self.exporters) {
            let var = exporter_var(*signal);
            let (list, source) = match code {
                Some(list) => (list, Source::Code),
                None => match read_list(reader, var, |t| parse_exporter(*signal, t)) {
                    Some(list) => (list, Source::Env(var)),
                    None => (vec![ExporterKind::Otlp], Source::Default),
                },
            };
            exporters[signal.index()] = list;
            exporters_source[signal.index()] = source;
        }

        // checklist 4.8: general limits first, then model-specific ones.
        let mut limits = Limits::default();
        for kind in LimitKind::ALL.iter().filter(|k| k.general().is_none()) {
            let (value, source) = match self.limits[kind.index()] {
                Some(value) => (value, Source::Code),
                None => match reader.int(kind.var(), 0) {
                    Some(value) => (Some(value), Source::GeneralEnv(kind.var())),
                    None => (kind.default_value(), Source::Default),
                },
            };
            limits.values[kind.index()] = value;
            limits.sources[kind.index()] = source;
        }
        for kind in LimitKind::ALL.iter().filter(|k| k.general().is_some()) {
            let general = kind.general().unwrap_or(*kind);
            let (value, source) = match self.limits[kind.index()] {
                Some(value) => (value, Source::Code),
                None => match reader.int(kind.var(), 0) {
                    Some(value) => (Some(value), Source::SignalEnv(kind.var())),
                    None => match limits.sources[general.index()] {
                        Source::Default => (kind.default_value(), Source::Default),
                        general_source => (limits.values[general.index()], general_source),
                    },
                },
            };
            limits.values[kind.index()] = value;
            limits.sources[kind.index()] = source;
        }

        // checklist 4.9
        let (log_level, log_level_source) = reader.single(
            self.log_level,
            vars::OTEL_LOG_LEVEL,
            LogLevel::default,
            |r, v| r.parse_enum(v),
        );

        Ok(SdkConfig {
            disabled,
            sampler,
            propagators,
            exporters,
            limits,
            log_level,
            sources: SdkSources {
                disabled: disabled_source,
                sampler: sampler_source,
                propagators: propagators_source,
                exporters: exporters_source,
                log_level: log_level_source,
            },
        })
    }
}

fn exporter_var(signal: Signal) -> &'static str {
    match signal {
        Signal::Traces => vars::OTEL_TRACES_EXPORTER,
        Signal::Metrics => vars::OTEL_METRICS_EXPORTER,
        Signal::Logs => vars::OTEL_LOGS_EXPORTER,
    }
}

/// Parses one exporter name; `Err(Some(reason))` for a recognised but
/// unsupported one, `Err(None)` for an unknown one.
fn parse_exporter(signal: Signal, text: &str) -> Result<ExporterKind, Option<&'static str>> {
    if let Ok(kind) = text.parse::<ExporterKind>() {
        return Ok(kind);
    }
    let lower = text.to_ascii_lowercase();
    match (lower.as_str(), signal) {
        ("zipkin", Signal::Traces) => Err(Some("no Zipkin exporter; use otlp")),
        ("prometheus", Signal::Metrics) => Err(Some("no Prometheus exporter; use otlp")),
        ("logging", _) => Err(Some("deprecated alias of console; use console")),
        ("otlp/stdout", _) => Err(Some("in development in the specification; use console")),
        _ => Err(None),
    }
}

/// Reads a comma-separated enum list: trims entries, skips empty ones,
/// warns about and skips unknown or unsupported ones, deduplicates in order.
/// `none` makes the list empty (with a warning if other entries are present).
/// Returns `None` (variable ignored) when it is unset or has no usable entry.
fn read_list<T: PartialEq + Copy>(
    reader: &mut EnvReader<'_>,
    var: &'static str,
    parse: impl Fn(&str) -> Result<T, Option<&'static str>>,
) -> Option<Vec<T>> {
    let raw = reader.raw(var)?;
    let mut items = Vec::new();
    let mut saw_none = false;
    let mut others = false;
    for entry in raw.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        if entry.eq_ignore_ascii_case("none") {
            saw_none = true;
            continue;
        }
        others = true;
        match parse(entry) {
            Ok(item) => {
                if !items.contains(&item) {
                    items.push(item);
                }
            }
            Err(Some(reason)) => reader.warn(ConfigWarning::Unsupported {
                var,
                value: entry.to_owned(),
                reason,
            }),
            Err(None) => reader.warn(ConfigWarning::InvalidValue {
                var,
                value: entry.to_owned(),
                expected: list_expected(var),
                instead: Some("the other entries".to_owned()),
            }),
        }
    }
    if saw_none {
        if others {
            reader.warn(ConfigWarning::Ignored {
                var,
                reason: "`none` is combined with other values; `none` wins and nothing is configured",
            });
        }
        return Some(Vec::new());
    }
    (!items.is_empty()).then_some(items)
}

fn list_expected(var: &str) -> &'static str {
    if var == vars::OTEL_PROPAGATORS {
        "tracecontext | baggage | b3 | b3multi | jaeger | xray | ottrace | none"
    } else {
        "otlp | console | none"
    }
}

fn resolve_sampler(reader: &mut EnvReader<'_>) -> (SamplerConfig, Source) {
    let Some(sampler) = reader.parse_enum::<Sampler>(vars::OTEL_TRACES_SAMPLER) else {
        if reader.raw(vars::OTEL_TRACES_SAMPLER_ARG).is_some() {
            reader.warn(ConfigWarning::Ignored {
                var: vars::OTEL_TRACES_SAMPLER_ARG,
                reason: "only used when OTEL_TRACES_SAMPLER is set to a valid sampler",
            });
        }
        return (SamplerConfig::default(), Source::Default);
    };
    let source = Source::Env(vars::OTEL_TRACES_SAMPLER);
    let mut config = SamplerConfig::new(sampler);
    let Some(arg) = reader.trimmed(vars::OTEL_TRACES_SAMPLER_ARG) else {
        return (config, source);
    };
    if sampler.takes_ratio() {
        match arg.parse::<f64>() {
            Ok(ratio) if (0.0..=1.0).contains(&ratio) => {
                if ratio == 0.0 && names_a_non_zero_number(&arg) {
                    reader.warn(ConfigWarning::Rounded {
                        var: vars::OTEL_TRACES_SAMPLER_ARG,
                        value: arg.clone(),
                        used: "0".to_owned(),
                        consequence: "no trace will be sampled",
                    });
                }
                config.arg = SamplerArg::Ratio(ratio);
            }
            _ => reader.warn(ConfigWarning::InvalidValue {
                var: vars::OTEL_TRACES_SAMPLER_ARG,
                value: arg,
                expected: "a sampling probability in [0, 1]",
                instead: Some("1.0 (the default)".to_owned()),
            }),
        }
    } else if sampler.takes_jaeger_remote_arg() {
        config.arg = SamplerArg::JaegerRemote(arg);
    } else {
        reader.warn(ConfigWarning::Ignored {
            var: vars::OTEL_TRACES_SAMPLER_ARG,
            reason: "the selected sampler takes no argument",
        });
    }
    (config, source)
}

fn dedup<T: PartialEq>(items: impl IntoIterator<Item = T>) -> Vec<T> {
    let mut out = Vec::new();
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

/// Whether a decimal number's digits (before any exponent) are not all
/// zero: `1e-400` names a non-zero number that parses to 0.
fn names_a_non_zero_number(text: &str) -> bool {
    text.trim()
        .chars()
        .take_while(|c| !matches!(c, 'e' | 'E'))
        .any(|c| matches!(c, '1'..='9'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MapEnv;

    fn sdk(env: &MapEnv) -> Resolved<SdkConfig> {
        SdkConfig::builder().build(env).unwrap()
    }

    #[test]
    fn sdk_disabled_is_true_only_for_true() {
        // checklist 4.4
        assert!(!sdk(&MapEnv::new()).value.disabled());
        assert!(
            sdk(&MapEnv::from([("OTEL_SDK_DISABLED", "TRUE")]))
                .value
                .disabled()
        );
        let resolved = sdk(&MapEnv::from([("OTEL_SDK_DISABLED", "1")]));
        assert!(!resolved.value.disabled());
        assert_eq!(resolved.warnings.len(), 1);
    }

    #[test]
    fn sdk_disabled_leaves_propagators_configured() {
        // checklist 4.4: propagators are unaffected.
        let env = MapEnv::from([("OTEL_SDK_DISABLED", "true"), ("OTEL_PROPAGATORS", "b3")]);
        let config = sdk(&env).value;
        assert!(config.disabled());
        assert_eq!(config.propagators(), [Propagator::B3]);
    }

    #[test]
    fn default_sampler_is_parentbased_always_on() {
        // checklist 4.5
        let config = sdk(&MapEnv::new()).value;
        assert_eq!(config.sampler().sampler(), Sampler::ParentBasedAlwaysOn);
        assert_eq!(config.sampler().arg(), &SamplerArg::None);
        assert_eq!(config.sources().sampler, Source::Default);
    }

    #[test]
    fn every_spec_sampler_value_is_accepted_case_insensitively() {
        // checklist 4.5
        for sampler in Sampler::ALL {
            let upper = sampler.as_str().to_ascii_uppercase();
            let config = sdk(&MapEnv::from([("OTEL_TRACES_SAMPLER", upper.as_str())])).value;
            assert_eq!(config.sampler().sampler(), *sampler);
        }
        assert_eq!(Sampler::ALL.len(), 9);
    }

    #[test]
    fn sampler_ratio_argument_is_read_and_invalid_ratio_falls_back_to_one() {
        // checklist 4.5
        let env = MapEnv::from([
            ("OTEL_TRACES_SAMPLER", "traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "0.25"),
        ]);
        assert_eq!(sdk(&env).value.sampler().ratio_value(), Some(0.25));
        for bad in ["1.5", "-0.1", "half", "NaN"] {
            let env = MapEnv::from([
                ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
                ("OTEL_TRACES_SAMPLER_ARG", bad),
            ]);
            let resolved = sdk(&env);
            assert_eq!(resolved.value.sampler().ratio_value(), Some(1.0), "{bad}");
            assert!(matches!(
                &resolved.warnings[0],
                ConfigWarning::InvalidValue { var: "OTEL_TRACES_SAMPLER_ARG", value, .. } if value == bad
            ));
        }
    }

    // A ratio too small for a double is not silently zero.
    #[test]
    fn an_underflowing_ratio_warns_that_it_samples_nothing() {
        for (arg, warns) in [
            ("1e-400", true),
            ("0.0", false),
            ("0e5", false),
            ("1e-300", false),
        ] {
            let env = MapEnv::from([
                ("OTEL_TRACES_SAMPLER", "traceidratio"),
                ("OTEL_TRACES_SAMPLER_ARG", arg),
            ]);
            let resolved = sdk(&env);
            let rounded = resolved
                .warnings
                .iter()
                .any(|warning| matches!(warning, ConfigWarning::Rounded { .. }));
            assert_eq!(rounded, warns, "{arg}: {:?}", resolved.warnings);
            if warns {
                let text = resolved.warnings[0].to_string();
                assert!(text.contains("no trace will be sampled"), "{text}");
                assert_eq!(resolved.value.sampler().ratio_value(), Some(0.0));
            }
        }
    }

    #[test]
    fn sampler_arg_is_ignored_when_the_sampler_is_not_set() {
        // checklist 4.5
        let resolved = sdk(&MapEnv::from([("OTEL_TRACES_SAMPLER_ARG", "0.5")]));
        assert_eq!(
            resolved.value.sampler().sampler(),
            Sampler::ParentBasedAlwaysOn
        );
        assert_eq!(resolved.value.sampler().ratio_value(), None);
        assert_eq!(resolved.warnings[0].var(), "OTEL_TRACES_SAMPLER_ARG");
    }

    #[test]
    fn unknown_sampler_is_ignored_with_a_warning() {
        // checklist 4.5, 1.18
        let resolved = sdk(&MapEnv::from([
            ("OTEL_TRACES_SAMPLER", "sometimes"),
            ("OTEL_TRACES_SAMPLER_ARG", "0.5"),
        ]));
        assert_eq!(
            resolved.value.sampler().sampler(),
            Sampler::ParentBasedAlwaysOn
        );
        assert_eq!(resolved.warnings.len(), 2);
    }

    #[test]
    fn jaeger_remote_argument_is_kept_as_given() {
        // checklist 4.5
        let arg = "endpoint=http://localhost:14250,pollingIntervalMs=5000,initialSamplingRate=0.25";
        let env = MapEnv::from([
            ("OTEL_TRACES_SAMPLER", "parentbased_jaeger_remote"),
            ("OTEL_TRACES_SAMPLER_ARG", arg),
        ]);
        assert_eq!(
            sdk(&env).value.sampler().arg(),
            &SamplerArg::JaegerRemote(arg.to_owned())
        );
        let env = MapEnv::from([
            ("OTEL_TRACES_SAMPLER", "always_on"),
            ("OTEL_TRACES_SAMPLER_ARG", "0.3"),
        ]);
        let resolved = sdk(&env);
        assert_eq!(resolved.value.sampler().arg(), &SamplerArg::None);
        assert_eq!(resolved.warnings.len(), 1);
    }

    #[test]
    fn code_sampler_is_validated() {
        // checklist 4.5, 1.19
        for bad in [
            SamplerConfig::ratio(Sampler::TraceIdRatio, 2.0),
            SamplerConfig::ratio(Sampler::AlwaysOn, 0.5),
            SamplerConfig::new(Sampler::TraceIdRatio).with_arg(SamplerArg::None),
        ] {
            assert!(
                SdkConfig::builder()
                    .with_sampler(bad)
                    .build(&MapEnv::new())
                    .is_err()
            );
        }
        let config = SdkConfig::builder()
            .with_sampler(SamplerConfig::ratio(Sampler::TraceIdRatio, 0.5))
            .build(&MapEnv::from([("OTEL_TRACES_SAMPLER", "always_off")]))
            .unwrap()
            .value;
        assert_eq!(config.sampler().sampler(), Sampler::TraceIdRatio);
        assert_eq!(config.sampler().ratio_value(), Some(0.5));
    }

    #[test]
    fn propagators_default_to_tracecontext_and_baggage() {
        // checklist 4.6
        assert_eq!(
            sdk(&MapEnv::new()).value.propagators(),
            [Propagator::TraceContext, Propagator::Baggage]
        );
    }

    #[test]
    fn propagators_are_deduplicated_preserving_order() {
        // checklist 4.6
        let env = MapEnv::from([(
            "OTEL_PROPAGATORS",
            "baggage, B3MULTI ,tracecontext,baggage,,xray,jaeger,ottrace,b3",
        )]);
        assert_eq!(
            sdk(&env).value.propagators(),
            [
                Propagator::Baggage,
                Propagator::B3Multi,
                Propagator::TraceContext,
                Propagator::XRay,
                Propagator::Jaeger,
                Propagator::OtTrace,
                Propagator::B3,
            ]
        );
    }

    #[test]
    fn propagators_none_means_no_propagator() {
        // checklist 4.6
        let resolved = sdk(&MapEnv::from([("OTEL_PROPAGATORS", "none")]));
        assert!(resolved.value.propagators().is_empty());
        assert!(resolved.warnings.is_empty());
        let resolved = sdk(&MapEnv::from([("OTEL_PROPAGATORS", "tracecontext,none")]));
        assert!(resolved.value.propagators().is_empty());
        assert_eq!(resolved.warnings.len(), 1);
    }

    #[test]
    fn unknown_propagators_are_skipped_and_an_all_unknown_list_is_ignored() {
        // checklist 4.6, 1.18
        let resolved = sdk(&MapEnv::from([("OTEL_PROPAGATORS", "b3,w3c")]));
        assert_eq!(resolved.value.propagators(), [Propagator::B3]);
        assert_eq!(resolved.warnings.len(), 1);
        let resolved = sdk(&MapEnv::from([("OTEL_PROPAGATORS", "w3c")]));
        assert_eq!(
            resolved.value.propagators(),
            [Propagator::TraceContext, Propagator::Baggage]
        );
        assert_eq!(resolved.value.sources().propagators, Source::Default);
    }

    #[test]
    fn exporters_default_to_otlp_for_every_signal() {
        // checklist 4.7
        let config = sdk(&MapEnv::new()).value;
        for signal in Signal::ALL {
            assert_eq!(config.exporters(*signal), [ExporterKind::Otlp]);
        }
    }

    #[test]
    fn exporter_selection_accepts_lists_none_and_warns_about_unsupported_values() {
        // checklist 4.7
        let env = MapEnv::from([
            ("OTEL_TRACES_EXPORTER", "zipkin,otlp,console,otlp"),
            ("OTEL_METRICS_EXPORTER", "NONE"),
            ("OTEL_LOGS_EXPORTER", "logging"),
        ]);
        let resolved = sdk(&env);
        let config = &resolved.value;
        assert_eq!(
            config.exporters(Signal::Traces),
            [ExporterKind::Otlp, ExporterKind::Console]
        );
        assert!(config.exporters(Signal::Metrics).is_empty());
        assert_eq!(config.exporters(Signal::Logs), [ExporterKind::Otlp]);
        assert_eq!(config.sources().exporters[2], Source::Default);
        assert!(matches!(
            &resolved.warnings[0],
            ConfigWarning::Unsupported { var: "OTEL_TRACES_EXPORTER", value, .. } if value == "zipkin"
        ));
        assert!(matches!(
            &resolved.warnings[1],
            ConfigWarning::Unsupported { var: "OTEL_LOGS_EXPORTER", value, .. } if value == "logging"
        ));
        let resolved = sdk(&MapEnv::from([
            ("OTEL_METRICS_EXPORTER", "prometheus"),
            ("OTEL_LOGS_EXPORTER", "zipkin"),
        ]));
        assert!(matches!(
            &resolved.warnings[0],
            ConfigWarning::Unsupported { .. }
        ));
        assert!(matches!(
            &resolved.warnings[1],
            ConfigWarning::InvalidValue {
                var: "OTEL_LOGS_EXPORTER",
                ..
            }
        ));
    }

    #[test]
    fn limits_default_to_128_and_no_limit_for_lengths() {
        // checklist 4.8
        let limits = *sdk(&MapEnv::new()).value.limits();
        for kind in LimitKind::ALL {
            assert_eq!(limits.get(*kind), kind.default_value());
            assert_eq!(limits.source(*kind), Source::Default);
        }
        assert_eq!(limits.span_attribute_count(), Some(128));
        assert_eq!(limits.span_attribute_value_length(), None);
        assert_eq!(limits.logrecord_attribute_value_length(), None);
        assert_eq!(LimitKind::ALL.len(), 10);
    }

    #[test]
    fn model_specific_limits_beat_general_ones() {
        // checklist 4.8
        let env = MapEnv::from([
            ("OTEL_ATTRIBUTE_COUNT_LIMIT", "10"),
            ("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "100"),
            ("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "20"),
            ("OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT", "50"),
            ("OTEL_SPAN_EVENT_COUNT_LIMIT", "0"),
            ("OTEL_SPAN_LINK_COUNT_LIMIT", "7"),
        ]);
        let limits = *sdk(&env).value.limits();
        assert_eq!(limits.span_attribute_count(), Some(20));
        assert_eq!(
            limits.source(LimitKind::SpanAttributeCount),
            Source::SignalEnv("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT")
        );
        assert_eq!(limits.event_attribute_count(), Some(10));
        assert_eq!(limits.link_attribute_count(), Some(10));
        assert_eq!(limits.logrecord_attribute_count(), Some(10));
        assert_eq!(
            limits.source(LimitKind::LogRecordAttributeCount),
            Source::GeneralEnv("OTEL_ATTRIBUTE_COUNT_LIMIT")
        );
        assert_eq!(limits.span_attribute_value_length(), Some(100));
        assert_eq!(limits.logrecord_attribute_value_length(), Some(50));
        assert_eq!(limits.span_event_count(), Some(0));
        assert_eq!(limits.span_link_count(), Some(7));
    }

    #[test]
    fn code_limits_beat_env_and_general_code_limit_applies_to_models() {
        // checklist 4.8, 1.19
        let env = MapEnv::from([("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "20")]);
        let config = SdkConfig::builder()
            .with_limit(LimitKind::AttributeCount, Some(5))
            .with_limit(LimitKind::SpanAttributeValueLength, None)
            .with_limit(LimitKind::LinkAttributeCount, Some(3))
            .build(&env)
            .unwrap()
            .value;
        let limits = config.limits();
        assert_eq!(limits.span_attribute_count(), Some(20));
        assert_eq!(limits.event_attribute_count(), Some(5));
        assert_eq!(limits.link_attribute_count(), Some(3));
        assert_eq!(limits.source(LimitKind::LinkAttributeCount), Source::Code);
        assert_eq!(limits.span_attribute_value_length(), None);
    }

    #[test]
    fn every_limit_variable_is_read() {
        // checklist 4.8: each of the ten variables on its own.
        for kind in LimitKind::ALL {
            let config = sdk(&MapEnv::from([(kind.var(), "7")])).value;
            assert_eq!(config.limits().get(*kind), Some(7), "{}", kind.var());
            let expected = match kind.general() {
                Some(_) => Source::SignalEnv(kind.var()),
                None => Source::GeneralEnv(kind.var()),
            };
            assert_eq!(config.limits().source(*kind), expected);
            // A general limit reaches every model-specific limit built on it.
            for model in LimitKind::ALL.iter().filter(|m| m.general() == Some(*kind)) {
                assert_eq!(config.limits().get(*model), Some(7), "{}", model.var());
            }
        }
    }

    #[test]
    fn invalid_limits_are_ignored_with_warnings() {
        // checklist 4.8, 1.18
        let env = MapEnv::from([
            ("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "-3"),
            ("OTEL_ATTRIBUTE_COUNT_LIMIT", "lots"),
        ]);
        let resolved = sdk(&env);
        assert_eq!(resolved.value.limits().span_attribute_count(), Some(128));
        assert_eq!(resolved.warnings.len(), 2);
    }

    #[test]
    fn log_level_defaults_to_info_and_is_case_insensitive() {
        // checklist 4.9
        assert_eq!(sdk(&MapEnv::new()).value.log_level(), LogLevel::Info);
        for (text, level) in [
            ("DEBUG", LogLevel::Debug),
            ("warning", LogLevel::Warn),
            ("none", LogLevel::Off),
            ("Error", LogLevel::Error),
            ("trace", LogLevel::Trace),
        ] {
            let config = sdk(&MapEnv::from([("OTEL_LOG_LEVEL", text)])).value;
            assert_eq!(config.log_level(), level);
        }
        let resolved = sdk(&MapEnv::from([("OTEL_LOG_LEVEL", "loud")]));
        assert_eq!(resolved.value.log_level(), LogLevel::Info);
        assert_eq!(resolved.warnings.len(), 1);
        assert!(LogLevel::Error < LogLevel::Debug);
    }

    #[test]
    fn code_settings_win_for_every_sdk_option() {
        // checklist 1.19: every variable has a code equivalent that wins.
        let env = MapEnv::from([
            ("OTEL_SDK_DISABLED", "true"),
            ("OTEL_PROPAGATORS", "b3"),
            ("OTEL_TRACES_EXPORTER", "console"),
            ("OTEL_LOG_LEVEL", "debug"),
        ]);
        let config = SdkConfig::builder()
            .with_disabled(false)
            .with_propagators([Propagator::Baggage, Propagator::Baggage])
            .with_exporters(Signal::Traces, [])
            .with_log_level(LogLevel::Error)
            .build(&env)
            .unwrap()
            .value;
        assert!(!config.disabled());
        assert_eq!(config.propagators(), [Propagator::Baggage]);
        assert!(config.exporters(Signal::Traces).is_empty());
        assert_eq!(config.log_level(), LogLevel::Error);
        assert_eq!(config.sources().disabled, Source::Code);
        assert_eq!(config.sources().exporters[0], Source::Code);
    }
}
