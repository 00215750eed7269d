//! Turns what otlpkit-core resolved into `opentelemetry_sdk` values: the
//! resource, the sampler, the span limits and the propagators.

use std::time::Duration;

use opentelemetry::InstrumentationScope;
use opentelemetry::logs::Severity;
use opentelemetry::propagation::{TextMapCompositePropagator, TextMapPropagator};
use opentelemetry::{Context, KeyValue, StringValue, Value};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::logs::{LogProcessor, SdkLogRecord};
use opentelemetry_sdk::resource::TelemetryResourceDetector;
use opentelemetry_sdk::trace::{Sampler, Span, SpanData, SpanLimits, SpanProcessor};
use otlpkit_core::{
    AttributeValue, LimitKind, Limits, Propagator, ResourceConfig, SamplerConfig, vars,
};

use crate::error::InitWarning;

/// The resource: otlpkit-core's attributes (service name, code attributes,
/// `OTEL_RESOURCE_ATTRIBUTES`, the `telemetry.distro.*` pair) plus the SDK's
/// `telemetry.sdk.*` attributes.
///
/// The SDK's environment detectors are left out on purpose: otlpkit-core has
/// already read `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES` from the
/// environment the pipeline was built from (which need not be the process
/// environment), with code values winning.
pub(crate) fn resource(config: &ResourceConfig) -> Resource {
    Resource::builder_empty()
        .with_detector(Box::new(TelemetryResourceDetector))
        .with_attributes(config.typed_attributes().map(|(key, value)| {
            let key = key.to_owned();
            match value {
                AttributeValue::Int(value) => KeyValue::new(key, value),
                AttributeValue::String(value) => KeyValue::new(key, value.to_owned()),
                // `AttributeValue` is non-exhaustive: new kinds as text.
                other => KeyValue::new(key, format!("{other:?}")),
            }
        }))
        .build()
}

/// The SDK sampler for `config` (checklist 4.5). The Jaeger remote and X-Ray
/// samplers need a sampling service otlpkit does not talk to: they are
/// replaced by the default, `parentbased_always_on`, with a warning.
pub(crate) fn sampler(config: &SamplerConfig, warnings: &mut Vec<InitWarning>) -> Sampler {
    use otlpkit_core::Sampler as S;
    let ratio = config.ratio_value().unwrap_or(1.0);
    match config.sampler() {
        S::AlwaysOn => Sampler::AlwaysOn,
        S::AlwaysOff => Sampler::AlwaysOff,
        S::TraceIdRatio => Sampler::TraceIdRatioBased(ratio),
        S::ParentBasedAlwaysOn => Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
        S::ParentBasedAlwaysOff => Sampler::ParentBased(Box::new(Sampler::AlwaysOff)),
        S::ParentBasedTraceIdRatio => {
            Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(ratio)))
        }
        other => {
            warnings.push(InitWarning::Unsupported {
                setting: vars::OTEL_TRACES_SAMPLER,
                value: other.to_string(),
                instead: "it uses parentbased_always_on (the default) instead",
            });
            Sampler::ParentBased(Box::new(Sampler::AlwaysOn))
        }
    }
}

/// The span limits the SDK enforces itself (checklist 4.8): attribute, event
/// and link counts. No limit is `u32::MAX`.
pub(crate) fn span_limits(limits: &Limits) -> SpanLimits {
    let or_max = |limit: Option<u32>| limit.unwrap_or(u32::MAX);
    SpanLimits {
        max_attributes_per_span: or_max(limits.span_attribute_count()),
        max_events_per_span: or_max(limits.span_event_count()),
        max_links_per_span: or_max(limits.span_link_count()),
        max_attributes_per_event: or_max(limits.event_attribute_count()),
        max_attributes_per_link: or_max(limits.link_attribute_count()),
    }
}

/// Warnings for the limits `opentelemetry_sdk` 0.33 has no hook for: log
/// records cannot be changed by a processor once emitted, so the log record
/// limits are only honoured when left at their defaults.
pub(crate) fn unsupported_limits(limits: &Limits, warnings: &mut Vec<InitWarning>) {
    for kind in [
        LimitKind::LogRecordAttributeCount,
        LimitKind::LogRecordAttributeValueLength,
    ] {
        let value = limits.get(kind);
        if value != kind.default_value() {
            let source = limits.source(kind);
            warnings.push(InitWarning::Unsupported {
                setting: source.var().unwrap_or(kind.var()),
                value: value.map_or_else(|| "no limit".to_owned(), |v| v.to_string()),
                instead: "opentelemetry_sdk cannot limit log record attributes, so log records are exported as emitted",
            });
        }
    }
}

/// The text map propagator for `propagators`, in order (checklist 4.6); an
/// empty list propagates nothing. `tracecontext` and `baggage` are W3C;
/// `b3`, `b3multi`, `jaeger`, `xray` and `ottrace` are not implemented and
/// are skipped with a warning.
pub(crate) fn propagator(
    propagators: &[Propagator],
    warnings: &mut Vec<InitWarning>,
) -> TextMapCompositePropagator {
    let mut chosen: Vec<Box<dyn TextMapPropagator + Send + Sync>> = Vec::new();
    for propagator in propagators {
        match propagator {
            Propagator::TraceContext => chosen.push(w3c::trace_context()),
            Propagator::Baggage => chosen.push(w3c::baggage()),
            other => warnings.push(InitWarning::Unsupported {
                setting: vars::OTEL_PROPAGATORS,
                value: other.to_string(),
                instead: "that propagator is skipped (otlpkit implements tracecontext and baggage)",
            }),
        }
    }
    TextMapCompositePropagator::new(chosen)
}

/// W3C Trace Context and Baggage: otlpkit-tracing's validated propagator,
/// restricted to the headers of one of the two, when the `tracing` feature
/// is on; the SDK's propagators otherwise.
#[cfg(feature = "tracing")]
mod w3c {
    use opentelemetry::Context;
    use opentelemetry::propagation::text_map_propagator::FieldIter;
    use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
    use otlpkit_tracing::propagation::{BAGGAGE, TRACEPARENT, TRACESTATE, W3cPropagator};

    pub(super) fn trace_context() -> Box<dyn TextMapPropagator + Send + Sync> {
        Box::new(Restricted::new(&[TRACEPARENT, TRACESTATE]))
    }

    pub(super) fn baggage() -> Box<dyn TextMapPropagator + Send + Sync> {
        Box::new(Restricted::new(&[BAGGAGE]))
    }

    /// [`W3cPropagator`] seeing and writing only `fields`.
    #[derive(Debug)]
    struct Restricted {
        inner: W3cPropagator,
        fields: &'static [&'static str],
        names: Vec<String>,
    }

    impl Restricted {
        fn new(fields: &'static [&'static str]) -> Self {
            Self {
                inner: W3cPropagator::new(),
                fields,
                names: fields.iter().map(|f| (*f).to_owned()).collect(),
            }
        }

        fn allows(&self, key: &str) -> bool {
            self.fields.iter().any(|f| f.eq_ignore_ascii_case(key))
        }
    }

    impl TextMapPropagator for Restricted {
        fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
            let mut only = OnlyInjector {
                restricted: self,
                inner: injector,
            };
            self.inner.inject_context(cx, &mut only);
        }

        fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
            let only = OnlyExtractor {
                restricted: self,
                inner: extractor,
            };
            self.inner.extract_with_context(cx, &only)
        }

        fn fields(&self) -> FieldIter<'_> {
            FieldIter::new(&self.names)
        }
    }

    struct OnlyInjector<'a> {
        restricted: &'a Restricted,
        inner: &'a mut dyn Injector,
    }

    impl Injector for OnlyInjector<'_> {
        fn set(&mut self, key: &str, value: String) {
            if self.restricted.allows(key) {
                self.inner.set(key, value);
            }
        }
    }

    struct OnlyExtractor<'a> {
        restricted: &'a Restricted,
        inner: &'a dyn Extractor,
    }

    impl Extractor for OnlyExtractor<'_> {
        fn get(&self, key: &str) -> Option<&str> {
            if self.restricted.allows(key) {
                self.inner.get(key)
            } else {
                None
            }
        }

        fn keys(&self) -> Vec<&str> {
            self.inner
                .keys()
                .into_iter()
                .filter(|key| self.restricted.allows(key))
                .collect()
        }

        fn get_all(&self, key: &str) -> Option<Vec<&str>> {
            if self.restricted.allows(key) {
                self.inner.get_all(key)
            } else {
                None
            }
        }
    }
}

#[cfg(not(feature = "tracing"))]
mod w3c {
    use opentelemetry::propagation::TextMapPropagator;
    use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};

    pub(super) fn trace_context() -> Box<dyn TextMapPropagator + Send + Sync> {
        Box::new(TraceContextPropagator::new())
    }

    pub(super) fn baggage() -> Box<dyn TextMapPropagator + Send + Sync> {
        Box::new(BaggagePropagator::new())
    }
}

/// How the pipeline wraps each span processor: it truncates string
/// attribute values (of the span, its events and its links) to a number of
/// characters, `OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT` (checklist 4.8),
/// which the SDK does not enforce itself; and it reports a shutdown the
/// guard already performed through the processor's handle as a success, so
/// the provider's own shutdown only reports real failures.
#[derive(Debug)]
pub(crate) struct GuardedSpanProcessor<P> {
    inner: P,
    max_chars: Option<usize>,
}

impl<P> GuardedSpanProcessor<P> {
    pub(crate) fn new(inner: P, max_chars: Option<u32>) -> Self {
        Self {
            inner,
            max_chars: max_chars.map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
        }
    }
}

impl<P: SpanProcessor> SpanProcessor for GuardedSpanProcessor<P> {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        self.inner.on_start(span, cx);
    }

    fn on_end(&self, mut span: SpanData) {
        if let Some(max_chars) = self.max_chars {
            truncate_all(&mut span.attributes, max_chars);
            for event in &mut span.events.events {
                truncate_all(&mut event.attributes, max_chars);
            }
            for link in &mut span.links.links {
                truncate_all(&mut link.attributes, max_chars);
            }
        }
        self.inner.on_end(span);
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        already_done_is_fine(self.inner.shutdown_with_timeout(timeout))
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// The log counterpart of [`GuardedSpanProcessor`] (no limits: see
/// [`unsupported_limits`]).
#[derive(Debug)]
pub(crate) struct GuardedLogProcessor<P> {
    inner: P,
}

impl<P> GuardedLogProcessor<P> {
    pub(crate) fn new(inner: P) -> Self {
        Self { inner }
    }
}

impl<P: LogProcessor> LogProcessor for GuardedLogProcessor<P> {
    fn emit(&self, record: &mut SdkLogRecord, scope: &InstrumentationScope) {
        self.inner.emit(record, scope);
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        already_done_is_fine(self.inner.shutdown_with_timeout(timeout))
    }

    fn event_enabled(&self, level: Severity, target: &str, name: Option<&str>) -> bool {
        self.inner.event_enabled(level, target, name)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

fn already_done_is_fine(result: OTelSdkResult) -> OTelSdkResult {
    match result {
        Err(OTelSdkError::AlreadyShutdown) => Ok(()),
        other => other,
    }
}

fn truncate_all(attributes: &mut [KeyValue], max_chars: usize) {
    for attribute in attributes {
        match &mut attribute.value {
            Value::String(text) => truncate(text, max_chars),
            Value::Array(opentelemetry::Array::String(texts)) => {
                for text in texts {
                    truncate(text, max_chars);
                }
            }
            _ => {}
        }
    }
}

/// Keeps the first `max_chars` characters (never splitting one).
fn truncate(text: &mut StringValue, max_chars: usize) {
    if let Some((cut, _)) = text.as_str().char_indices().nth(max_chars) {
        *text = StringValue::from(text.as_str()[..cut].to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{TraceContextExt as _, Tracer as _, TracerProvider as _};
    use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SimpleSpanProcessor};
    use otlpkit_core::{MapEnv, Sampler as CoreSampler, SdkConfig};
    use std::collections::HashMap;

    fn sdk(pairs: &[(&str, &str)]) -> SdkConfig {
        let env: MapEnv = pairs.iter().copied().collect();
        SdkConfig::builder().build(&env).unwrap().into_value()
    }

    // checklist 4.5
    #[test]
    fn every_supported_sampler_maps_to_its_sdk_sampler_with_its_ratio() {
        let mut warnings = Vec::new();
        let cases = [
            ("always_on", "AlwaysOn"),
            ("always_off", "AlwaysOff"),
            ("traceidratio", "TraceIdRatioBased(0.25)"),
            ("parentbased_always_on", "ParentBased(AlwaysOn)"),
            ("parentbased_always_off", "ParentBased(AlwaysOff)"),
            (
                "parentbased_traceidratio",
                "ParentBased(TraceIdRatioBased(0.25))",
            ),
        ];
        for (name, expected) in cases {
            let config = sdk(&[
                ("OTEL_TRACES_SAMPLER", name),
                ("OTEL_TRACES_SAMPLER_ARG", "0.25"),
            ]);
            let sampler = sampler(config.sampler(), &mut warnings);
            assert_eq!(format!("{sampler:?}"), expected, "{name}");
        }
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[test]
    fn remote_samplers_fall_back_to_the_default_with_a_warning() {
        for remote in [
            CoreSampler::JaegerRemote,
            CoreSampler::ParentBasedJaegerRemote,
            CoreSampler::XRay,
        ] {
            let mut warnings = Vec::new();
            let sampler = sampler(&SamplerConfig::new(remote), &mut warnings);
            assert_eq!(format!("{sampler:?}"), "ParentBased(AlwaysOn)");
            assert!(
                matches!(&warnings[..], [InitWarning::Unsupported { setting: "OTEL_TRACES_SAMPLER", value, .. }] if *value == remote.to_string()),
                "{warnings:?}"
            );
        }
    }

    // checklist 4.8
    #[test]
    fn span_limits_follow_the_model_specific_and_general_variables() {
        let config = sdk(&[
            ("OTEL_ATTRIBUTE_COUNT_LIMIT", "7"),
            ("OTEL_SPAN_EVENT_COUNT_LIMIT", "3"),
            ("OTEL_LINK_ATTRIBUTE_COUNT_LIMIT", "2"),
        ]);
        let limits = span_limits(config.limits());
        assert_eq!(limits.max_attributes_per_span, 7);
        assert_eq!(limits.max_events_per_span, 3);
        assert_eq!(limits.max_links_per_span, 128);
        assert_eq!(limits.max_attributes_per_event, 7);
        assert_eq!(limits.max_attributes_per_link, 2);

        let mut warnings = Vec::new();
        unsupported_limits(config.limits(), &mut warnings);
        // OTEL_ATTRIBUTE_COUNT_LIMIT also sets the log record count limit.
        assert!(
            matches!(&warnings[..], [InitWarning::Unsupported { setting: "OTEL_ATTRIBUTE_COUNT_LIMIT", value, .. }] if value == "7"),
            "{warnings:?}"
        );
        let mut none = Vec::new();
        unsupported_limits(sdk(&[]).limits(), &mut none);
        assert!(none.is_empty(), "{none:?}");
    }

    #[test]
    fn the_resource_carries_core_attributes_and_the_sdk_identity() {
        let env = MapEnv::from([
            ("OTEL_SERVICE_NAME", "checkout"),
            ("OTEL_RESOURCE_ATTRIBUTES", "team=payments"),
        ]);
        let config = ResourceConfig::builder().build(&env).unwrap().into_value();
        let resource = resource(&config);
        let get = |key: &'static str| resource.get(&key.into()).map(|v| v.to_string());
        assert_eq!(get("service.name").as_deref(), Some("checkout"));
        assert_eq!(get("team").as_deref(), Some("payments"));
        assert_eq!(get("telemetry.distro.name").as_deref(), Some("otlpkit"));
        assert_eq!(get("telemetry.sdk.name").as_deref(), Some("opentelemetry"));
        assert_eq!(get("telemetry.sdk.language").as_deref(), Some("rust"));
    }

    fn injected(propagator: &TextMapCompositePropagator, cx: &Context) -> HashMap<String, String> {
        let mut carrier = HashMap::new();
        propagator.inject_context(cx, &mut carrier);
        carrier
    }

    // checklist 4.6
    #[test]
    fn propagators_inject_only_their_own_headers_and_unsupported_ones_warn() {
        use opentelemetry::baggage::BaggageExt as _;
        use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
        let cx = Context::new()
            .with_remote_span_context(SpanContext::new(
                TraceId::from(0xabc_u128),
                SpanId::from(0xdef_u64),
                TraceFlags::SAMPLED,
                true,
                TraceState::default(),
            ))
            .with_baggage([KeyValue::new("tenant", "a")]);

        let mut warnings = Vec::new();
        let both = propagator(
            &[Propagator::TraceContext, Propagator::Baggage],
            &mut warnings,
        );
        let carrier = injected(&both, &cx);
        assert_eq!(
            carrier.get("traceparent").map(String::as_str),
            Some("00-00000000000000000000000000000abc-0000000000000def-01")
        );
        assert_eq!(carrier.get("baggage").map(String::as_str), Some("tenant=a"));
        let back = both.extract(&carrier);
        assert_eq!(
            back.span().span_context().span_id(),
            SpanId::from(0xdef_u64)
        );
        assert_eq!(
            back.baggage().get("tenant").map(|v| v.as_str().to_owned()),
            Some("a".to_owned())
        );

        let trace_only = propagator(&[Propagator::TraceContext], &mut warnings);
        let carrier = injected(&trace_only, &cx);
        assert!(carrier.contains_key("traceparent"));
        assert!(!carrier.contains_key("baggage"), "{carrier:?}");
        assert_eq!(trace_only.fields().count(), 2);

        let baggage_only = propagator(&[Propagator::Baggage], &mut warnings);
        let carrier = injected(&baggage_only, &cx);
        assert_eq!(carrier.keys().collect::<Vec<_>>(), ["baggage"]);
        let back = baggage_only.extract(&injected(&both, &cx));
        assert!(!back.span().span_context().is_valid());
        assert_eq!(back.baggage().len(), 1);
        assert!(warnings.is_empty(), "{warnings:?}");

        let none = propagator(&[], &mut warnings);
        assert!(injected(&none, &cx).is_empty());

        let b3 = propagator(&[Propagator::B3, Propagator::TraceContext], &mut warnings);
        assert!(injected(&b3, &cx).contains_key("traceparent"));
        assert!(
            matches!(&warnings[..], [InitWarning::Unsupported { setting: "OTEL_PROPAGATORS", value, .. }] if value == "b3"),
            "{warnings:?}"
        );
    }

    // checklist 4.8
    #[test]
    fn string_attribute_values_are_truncated_by_characters_on_spans_events_and_links() {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_span_processor(GuardedSpanProcessor::new(
                SimpleSpanProcessor::new(exporter.clone()),
                Some(3),
            ))
            .build();
        let tracer = provider.tracer("limits");
        tracer.in_span("limited", |cx| {
            let span = cx.span();
            span.set_attribute(KeyValue::new("word", "héllo"));
            span.set_attribute(KeyValue::new("short", "ab"));
            span.set_attribute(KeyValue::new("number", 123_456_i64));
            span.set_attribute(KeyValue::new(
                "list",
                Value::Array(vec![StringValue::from("abcdef"), StringValue::from("x")].into()),
            ));
            span.add_event("event", vec![KeyValue::new("detail", "éèêë")]);
        });
        let spans = exporter.get_finished_spans().unwrap();
        let span = &spans[0];
        let value = |key: &str| {
            span.attributes
                .iter()
                .find(|kv| kv.key.as_str() == key)
                .map(|kv| kv.value.to_string())
        };
        assert_eq!(value("word").as_deref(), Some("hél"));
        assert_eq!(value("short").as_deref(), Some("ab"));
        assert_eq!(value("number").as_deref(), Some("123456"));
        assert_eq!(value("list").as_deref(), Some("[\"abc\",\"x\"]"));
        assert_eq!(span.events.events[0].attributes[0].value.to_string(), "éèê");
        provider.shutdown().unwrap();
    }
}
