//! The sampling decision at span start: the SDK's built-in samplers decided
//! here exactly as the SDK decides them (no virtual call, no
//! `SamplingResult` per span), any other sampler called as it is.

use opentelemetry::trace::{SpanContext, SpanKind, TraceContextExt as _, TraceId, TraceState};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::{Sampler, SamplingDecision, ShouldSample};

/// The sampler of a native layer.
pub(crate) enum SpanSampler {
    /// `Sampler::AlwaysOn`.
    AlwaysOn,
    /// `Sampler::AlwaysOff`.
    AlwaysOff,
    /// `Sampler::TraceIdRatioBased` with this ratio.
    Ratio(f64),
    /// `Sampler::ParentBased`: the parent's decision under an active parent
    /// span, the delegate's otherwise.
    ParentBased(Box<dyn ShouldSample>),
    /// Any other sampler, called with the span's attributes when it reads
    /// them (a custom sampler).
    Other {
        sampler: Box<dyn ShouldSample>,
        reads_attributes: bool,
    },
}

impl std::fmt::Debug for SpanSampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SpanSampler::AlwaysOn => f.write_str("AlwaysOn"),
            SpanSampler::AlwaysOff => f.write_str("AlwaysOff"),
            SpanSampler::Ratio(ratio) => f.debug_tuple("TraceIdRatioBased").field(ratio).finish(),
            SpanSampler::ParentBased(root) => f.debug_tuple("ParentBased").field(root).finish(),
            SpanSampler::Other { sampler, .. } => sampler.fmt(f),
        }
    }
}

/// What a new span is sampled under.
#[derive(Clone, Copy)]
pub(crate) enum ParentCx<'a> {
    /// An OpenTelemetry context: the current one, an explicit parent's
    /// attached context, or an empty one for a root.
    Context(&'a Context),
    /// Only a native parent's span context: the context of a native span
    /// without context activation is an empty context with this span
    /// context in it (`LiveSpan::context`), which is not built unless a
    /// sampler of the application's own asks for it.
    Span(&'a SpanContext),
}

impl<'a> ParentCx<'a> {
    /// Whether the context has an active span (the SDK's `ParentBased`
    /// question): always, for a native parent.
    pub(crate) fn has_active_span(self) -> bool {
        match self {
            ParentCx::Context(cx) => cx.has_active_span(),
            ParentCx::Span(_) => true,
        }
    }

    /// Whether telemetry is suppressed: never under a native parent's own
    /// context.
    pub(crate) fn is_telemetry_suppressed(self) -> bool {
        match self {
            ParentCx::Context(cx) => cx.is_telemetry_suppressed(),
            ParentCx::Span(_) => false,
        }
    }

    /// Applies `f` to the parent's span context (invalid for none).
    #[cfg(feature = "tail-sampling")]
    #[inline]
    pub(crate) fn with_span_context<R>(self, f: impl FnOnce(&SpanContext) -> R) -> R {
        match self {
            ParentCx::Context(cx) => f(cx.span().span_context()),
            ParentCx::Span(span) => f(span),
        }
    }

    /// The context itself, built for a native parent.
    pub(crate) fn to_context(self) -> std::borrow::Cow<'a, Context> {
        match self {
            ParentCx::Context(cx) => std::borrow::Cow::Borrowed(cx),
            ParentCx::Span(span) => {
                std::borrow::Cow::Owned(Context::new().with_remote_span_context(span.clone()))
            }
        }
    }
}

/// What a sampler decided for a new span.
pub(crate) struct Sampled {
    pub(crate) decision: SamplingDecision,
    pub(crate) trace_state: TraceState,
    pub(crate) attributes: Vec<KeyValue>,
}

/// The span being sampled: what a sampler is given.
pub(crate) struct Candidate<'a> {
    pub(crate) trace_id: TraceId,
    pub(crate) name: &'a str,
    pub(crate) kind: &'a SpanKind,
}

impl SpanSampler {
    /// Whether deciding under a context (with or without an active span)
    /// may call a sampler of the application's own: a custom sampler
    /// always, a parent-based one's root sampler for a span with no active
    /// parent. Such code may attach a context or enter a `tracing` span,
    /// which must not happen while the current context is borrowed.
    pub(crate) fn may_call_the_application(&self, has_active_span: bool) -> bool {
        match self {
            SpanSampler::AlwaysOn | SpanSampler::AlwaysOff | SpanSampler::Ratio(_) => false,
            SpanSampler::ParentBased(_) => !has_active_span,
            SpanSampler::Other { .. } => true,
        }
    }

    /// One of the SDK's samplers.
    pub(crate) fn sdk(sampler: Sampler) -> SpanSampler {
        match sampler {
            Sampler::AlwaysOn => SpanSampler::AlwaysOn,
            Sampler::AlwaysOff => SpanSampler::AlwaysOff,
            Sampler::TraceIdRatioBased(ratio) => SpanSampler::Ratio(ratio),
            Sampler::ParentBased(root) => SpanSampler::ParentBased(root),
            // `Sampler` is non-exhaustive (a remote sampler, one day more).
            other => SpanSampler::Other {
                sampler: Box::new(other),
                reads_attributes: false,
            },
        }
    }

    /// A sampler of the application's own, given the span's attributes.
    pub(crate) fn custom(sampler: impl ShouldSample + 'static) -> SpanSampler {
        SpanSampler::Other {
            sampler: Box::new(sampler),
            reads_attributes: true,
        }
    }

    /// The decision for `span` under `parent_cx` (whose span context is
    /// `parent`), as `ShouldSample::should_sample` of the same sampler
    /// gives it; `attributes` are read only by a custom sampler.
    #[inline]
    pub(crate) fn decide(
        &self,
        parent_cx: ParentCx<'_>,
        parent: &SpanContext,
        span: Candidate<'_>,
        attributes: impl FnOnce() -> Vec<KeyValue>,
    ) -> Sampled {
        let built_in = |decision| Sampled {
            decision,
            // The SDK's samplers keep the parent's trace state and add no
            // attributes.
            trace_state: parent.trace_state().clone(),
            attributes: Vec::new(),
        };
        match self {
            SpanSampler::AlwaysOn => built_in(SamplingDecision::RecordAndSample),
            SpanSampler::AlwaysOff => built_in(SamplingDecision::Drop),
            SpanSampler::Ratio(ratio) => built_in(by_ratio(*ratio, span.trace_id)),
            // The SDK asks whether the context has an active span, not
            // whether its context is valid.
            SpanSampler::ParentBased(_) if parent_cx.has_active_span() => {
                built_in(if parent.is_sampled() {
                    SamplingDecision::RecordAndSample
                } else {
                    SamplingDecision::Drop
                })
            }
            SpanSampler::ParentBased(root) => built_in(
                root.should_sample(
                    Some(&parent_cx.to_context()),
                    span.trace_id,
                    span.name,
                    span.kind,
                    &[],
                    &[],
                )
                .decision,
            ),
            SpanSampler::Other {
                sampler,
                reads_attributes,
            } => {
                let attributes = if *reads_attributes {
                    attributes()
                } else {
                    Vec::new()
                };
                let result = sampler.should_sample(
                    Some(&parent_cx.to_context()),
                    span.trace_id,
                    span.name,
                    span.kind,
                    &attributes,
                    &[],
                );
                Sampled {
                    decision: result.decision,
                    trace_state: result.trace_state,
                    attributes: result.attributes,
                }
            }
        }
    }
}

/// The SDK's `TraceIdRatioBased` decision: the trace id's low 63 bits
/// against the ratio.
fn by_ratio(ratio: f64, trace_id: TraceId) -> SamplingDecision {
    if ratio >= 1.0 {
        return SamplingDecision::RecordAndSample;
    }
    let upper_bound = (ratio.max(0.0) * (1_u64 << 63) as f64) as u64;
    let bytes = trace_id.to_bytes();
    let mut low = [0_u8; 8];
    low.copy_from_slice(&bytes[8..]);
    if u64::from_be_bytes(low) >> 1 < upper_bound {
        SamplingDecision::RecordAndSample
    } else {
        SamplingDecision::Drop
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::{SpanId, TraceFlags};

    use super::*;

    fn contexts() -> Vec<Context> {
        let state = TraceState::from_key_value([("vendor", "x")]).unwrap();
        let mut contexts = vec![Context::new()];
        for remote in [false, true] {
            for flags in [TraceFlags::default(), TraceFlags::SAMPLED] {
                for (trace, span) in [(0xabcd_u128, 7_u64), (0, 0)] {
                    let cx = SpanContext::new(
                        TraceId::from(trace),
                        SpanId::from(span),
                        flags,
                        remote,
                        state.clone(),
                    );
                    contexts.push(Context::new().with_remote_span_context(cx));
                }
            }
        }
        contexts
    }

    /// Trace ids spread over the 64 low bits the ratio reads.
    fn trace_ids() -> impl Iterator<Item = TraceId> {
        (0..2_000_u128).map(|i| {
            let low = (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            TraceId::from((i << 64) | u128::from(low))
        })
    }

    #[test]
    fn built_in_samplers_decide_as_the_sdk_does() {
        let samplers = || {
            vec![
                Sampler::AlwaysOn,
                Sampler::AlwaysOff,
                Sampler::TraceIdRatioBased(0.0),
                Sampler::TraceIdRatioBased(0.3),
                Sampler::TraceIdRatioBased(-1.0),
                Sampler::TraceIdRatioBased(1.5),
                Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
                Sampler::ParentBased(Box::new(Sampler::AlwaysOff)),
                Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(0.5))),
            ]
        };
        for (sdk, ours) in samplers()
            .into_iter()
            .zip(samplers().into_iter().map(SpanSampler::sdk))
        {
            for cx in contexts() {
                let span = cx.span();
                let parent = span.span_context();
                for trace_id in trace_ids() {
                    let expected =
                        sdk.should_sample(Some(&cx), trace_id, "n", &SpanKind::Internal, &[], &[]);
                    let candidate = Candidate {
                        trace_id,
                        name: "n",
                        kind: &SpanKind::Internal,
                    };
                    let got = ours.decide(ParentCx::Context(&cx), parent, candidate, Vec::new);
                    assert_eq!(got.decision, expected.decision, "{sdk:?} under {cx:?}");
                    assert_eq!(got.trace_state, expected.trace_state);
                    assert_eq!(got.attributes, expected.attributes);
                    if cx.has_active_span() {
                        // A native parent's span context alone: `cx` is an
                        // empty context with it, as that parent's would be.
                        let candidate = Candidate {
                            trace_id,
                            name: "n",
                            kind: &SpanKind::Internal,
                        };
                        let got = ours.decide(ParentCx::Span(parent), parent, candidate, Vec::new);
                        assert_eq!(got.decision, expected.decision, "{sdk:?} under {parent:?}");
                        assert_eq!(got.trace_state, expected.trace_state);
                        assert_eq!(got.attributes, expected.attributes);
                    }
                }
            }
        }
    }

    /// SplitMix64: a seeded stream of well-spread numbers, so that a failing
    /// case is the same on every run.
    struct Numbers(u64);

    impl Numbers {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }
    }

    /// For generated ratios (any double in [-0.5, 1.5], the special values,
    /// NaN) and trace ids (random, and the ids either side of each ratio's
    /// threshold), the ratio sampler and the parent-based one over it decide
    /// as the SDK's, under every kind of parent.
    #[test]
    fn generated_ratios_and_trace_ids_decide_as_the_sdk_does() {
        let mut numbers = Numbers(0x5eed);
        let mut ratios = vec![
            0.0,
            -0.0,
            1.0,
            f64::MIN_POSITIVE,
            1.0 - f64::EPSILON,
            f64::NAN,
        ];
        ratios.extend(
            (0..200).map(|_| (numbers.next() >> 11) as f64 / (1_u64 << 53) as f64 * 2.0 - 0.5),
        );
        let contexts = contexts();
        for ratio in ratios {
            let threshold = (ratio.max(0.0) * (1_u64 << 63) as f64) as u64;
            let mut lows: Vec<u64> = (0..50).map(|_| numbers.next()).collect();
            for near in [
                threshold.wrapping_sub(1),
                threshold,
                threshold.wrapping_add(1),
            ] {
                // The ratio reads the low 64 bits shifted right by one.
                lows.extend([near << 1, (near << 1) | 1]);
            }
            for sdk in [
                Sampler::TraceIdRatioBased(ratio),
                Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(ratio))),
            ] {
                let ours = SpanSampler::sdk(sdk.clone());
                for cx in &contexts {
                    let span = cx.span();
                    let parent = span.span_context();
                    for &low in &lows {
                        let trace_id =
                            TraceId::from((u128::from(numbers.next()) << 64) | u128::from(low));
                        let expected =
                            sdk.should_sample(Some(cx), trace_id, "n", &SpanKind::Server, &[], &[]);
                        let candidate = Candidate {
                            trace_id,
                            name: "n",
                            kind: &SpanKind::Server,
                        };
                        let got = ours.decide(ParentCx::Context(cx), parent, candidate, Vec::new);
                        assert_eq!(
                            got.decision, expected.decision,
                            "{sdk:?}, trace id {trace_id}, under {cx:?}"
                        );
                        assert_eq!(got.trace_state, expected.trace_state);
                        assert!(got.attributes.is_empty());
                    }
                }
            }
        }
    }

    #[test]
    fn a_custom_sampler_is_given_the_attributes_and_its_result_is_kept() {
        #[derive(Debug, Clone)]
        struct ByAttribute;
        impl ShouldSample for ByAttribute {
            fn should_sample(
                &self,
                _: Option<&Context>,
                _: TraceId,
                _: &str,
                _: &SpanKind,
                attributes: &[KeyValue],
                _: &[opentelemetry::trace::Link],
            ) -> opentelemetry_sdk::trace::SamplingResult {
                opentelemetry_sdk::trace::SamplingResult {
                    decision: if attributes.is_empty() {
                        SamplingDecision::Drop
                    } else {
                        SamplingDecision::RecordOnly
                    },
                    attributes: vec![KeyValue::new("sampler", "mine")],
                    trace_state: TraceState::from_key_value([("mine", "1")]).unwrap(),
                }
            }
        }
        let sampler = SpanSampler::custom(ByAttribute);
        let cx = Context::new();
        let span = cx.span();
        let candidate = || Candidate {
            trace_id: TraceId::from(1),
            name: "n",
            kind: &SpanKind::Internal,
        };
        let got = sampler.decide(
            ParentCx::Context(&cx),
            span.span_context(),
            candidate(),
            || vec![KeyValue::new("a", 1)],
        );
        assert_eq!(got.decision, SamplingDecision::RecordOnly);
        assert_eq!(got.attributes, vec![KeyValue::new("sampler", "mine")]);
        assert_eq!(got.trace_state.get("mine"), Some("1"));
        let got = sampler.decide(
            ParentCx::Context(&cx),
            span.span_context(),
            candidate(),
            Vec::new,
        );
        assert_eq!(got.decision, SamplingDecision::Drop);
    }
}
