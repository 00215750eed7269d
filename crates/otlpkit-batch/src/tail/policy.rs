//! The policies: which evidence keeps a trace, and the ratio decided on the
//! trace id.

use std::fmt;
use std::ops::RangeInclusive;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use opentelemetry::trace::TraceId;
use otlpkit_core::TailSamplingConfig;
use otlpkit_core::stats::SamplingPolicy;

use super::span::{AttributeRef, TailSpan};

type Predicate = Arc<dyn Fn(AttributeRef<'_>) -> bool + Send + Sync>;

#[derive(Clone)]
enum Matcher {
    Exists,
    OneOf(Vec<String>),
    Bool(bool),
    IntRange(RangeInclusive<i64>),
    Predicate(Predicate),
}

/// Keep a trace when one of its spans carries a matching attribute.
///
/// ```
/// use otlpkit_batch::tail::{AttributeRef, AttributeRule};
///
/// let server_errors = AttributeRule::int_range("http.response.status_code", 500..=599);
/// let checkout = AttributeRule::one_of("http.route", ["/checkout", "/pay"]);
/// let debug = AttributeRule::matching("debug.level", |v| matches!(v, AttributeRef::I64(n) if n > 2));
/// # let _ = (server_errors, checkout, debug);
/// ```
#[derive(Clone)]
pub struct AttributeRule {
    key: String,
    matcher: Matcher,
}

impl fmt::Debug for AttributeRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("AttributeRule");
        debug.field("key", &self.key);
        match &self.matcher {
            Matcher::Exists => debug.field("exists", &true),
            Matcher::OneOf(values) => debug.field("one_of", values),
            Matcher::Bool(b) => debug.field("equals", b),
            Matcher::IntRange(range) => debug.field("int_range", range),
            Matcher::Predicate(_) => debug.field("matching", &"<fn>"),
        };
        debug.finish()
    }
}

impl AttributeRule {
    /// Matches when the span has attribute `key`, whatever its value.
    pub fn exists(key: impl Into<String>) -> Self {
        Self::new(key, Matcher::Exists)
    }

    /// Matches a string value equal to one of `values`.
    pub fn one_of<V: Into<String>>(
        key: impl Into<String>,
        values: impl IntoIterator<Item = V>,
    ) -> Self {
        Self::new(
            key,
            Matcher::OneOf(values.into_iter().map(Into::into).collect()),
        )
    }

    /// Matches the Boolean `value`.
    pub fn bool(key: impl Into<String>, value: bool) -> Self {
        Self::new(key, Matcher::Bool(value))
    }

    /// Matches an integer value in `range`.
    pub fn int_range(key: impl Into<String>, range: RangeInclusive<i64>) -> Self {
        Self::new(key, Matcher::IntRange(range))
    }

    /// Matches when `predicate` accepts the value.
    pub fn matching(
        key: impl Into<String>,
        predicate: impl Fn(AttributeRef<'_>) -> bool + Send + Sync + 'static,
    ) -> Self {
        Self::new(key, Matcher::Predicate(Arc::new(predicate)))
    }

    fn new(key: impl Into<String>, matcher: Matcher) -> Self {
        Self {
            key: key.into(),
            matcher,
        }
    }

    /// The attribute key the rule looks at.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Whether `span` matches.
    pub fn matches<S: TailSpan + ?Sized>(&self, span: &S) -> bool {
        let Some(value) = span.attribute(&self.key) else {
            return false;
        };
        match (&self.matcher, value) {
            (Matcher::Exists, _) => true,
            (Matcher::OneOf(values), AttributeRef::Str(text)) => values.iter().any(|v| v == text),
            (Matcher::Bool(expected), AttributeRef::Bool(b)) => *expected == b,
            (Matcher::IntRange(range), AttributeRef::I64(n)) => range.contains(&n),
            (Matcher::Predicate(predicate), value) => predicate(value),
            _ => false,
        }
    }
}

/// Whether a trace id falls in `ratio`, with the algorithm of the SDK's
/// `TraceIdRatioBased` sampler (`opentelemetry_sdk` 0.33): the low 64 bits
/// of the id, big-endian, shifted right by one, below `ratio × 2⁶³`. Every
/// service using the same ratio, through this stage or the SDK's sampler,
/// makes the same decision for a trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ratio {
    All,
    Below(u64),
}

impl Ratio {
    pub(crate) fn new(ratio: f64) -> Self {
        if ratio >= 1.0 {
            Ratio::All
        } else {
            Ratio::Below((ratio.max(0.0) * (1_u64 << 63) as f64) as u64)
        }
    }

    pub(crate) fn keeps(self, trace_id: TraceId) -> bool {
        match self {
            Ratio::All => true,
            Ratio::Below(bound) => {
                let bytes = trace_id.to_bytes();
                let mut low = [0_u8; 8];
                low.copy_from_slice(&bytes[8..]);
                (u64::from_be_bytes(low) >> 1) < bound
            }
        }
    }
}

/// Every policy of one stage.
#[derive(Debug, Clone)]
pub(crate) struct Policies {
    pub(crate) latency: Option<Duration>,
    pub(crate) ratio: Ratio,
    pub(crate) keep_parent_sampled: bool,
    pub(crate) rules: Vec<AttributeRule>,
}

impl Policies {
    pub(crate) fn new(config: &TailSamplingConfig, rules: Vec<AttributeRule>) -> Self {
        Self {
            latency: config.latency_threshold(),
            ratio: Ratio::new(config.ratio()),
            keep_parent_sampled: config.keep_parent_sampled(),
            rules,
        }
    }

    /// The first policy this one span satisfies, in the order of
    /// [`SamplingPolicy::ALL`] (the ratio excepted: it is decided once per
    /// trace).
    pub(crate) fn matched_by<S: TailSpan>(&self, span: &S) -> Option<SamplingPolicy> {
        if span.is_error() {
            Some(SamplingPolicy::Error)
        } else if self.latency.is_some_and(|l| span.duration() > l) {
            Some(SamplingPolicy::Latency)
        } else if self.rules.iter().any(|rule| rule.matches(span)) {
            Some(SamplingPolicy::Attribute)
        } else if self.keep_parent_sampled && span.remote_parent_sampled() == Some(true) {
            Some(SamplingPolicy::ParentSampled)
        } else {
            None
        }
    }

    /// Whether a trace whose earliest held span started at `earliest_start`
    /// has been open longer than the latency threshold: its local root,
    /// still running, is slow.
    pub(crate) fn open_too_long(&self, earliest_start: SystemTime, now: SystemTime) -> bool {
        self.latency.is_some_and(|l| {
            now.duration_since(earliest_start)
                .is_ok_and(|open| open > l)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{SpanId, SpanKind};
    use opentelemetry_sdk::trace::{Sampler, SamplingDecision, ShouldSample as _};
    use proptest::prelude::*;

    /// A span with one attribute and the given evidence.
    struct Probe {
        attribute: Option<(&'static str, AttributeRef<'static>)>,
        error: bool,
        duration: Duration,
        remote_parent_sampled: Option<bool>,
    }

    impl TailSpan for Probe {
        fn trace_id(&self) -> TraceId {
            TraceId::from(1_u128)
        }
        fn span_id(&self) -> SpanId {
            SpanId::from(1_u64)
        }
        fn parent_span_id(&self) -> SpanId {
            SpanId::INVALID
        }
        fn parent_is_remote(&self) -> bool {
            false
        }
        fn remote_parent_sampled(&self) -> Option<bool> {
            self.remote_parent_sampled
        }
        fn is_error(&self) -> bool {
            self.error
        }
        fn start_time(&self) -> SystemTime {
            SystemTime::UNIX_EPOCH
        }
        fn end_time(&self) -> SystemTime {
            SystemTime::UNIX_EPOCH + self.duration
        }
        fn attribute(&self, key: &str) -> Option<AttributeRef<'_>> {
            self.attribute.filter(|(k, _)| *k == key).map(|(_, v)| v)
        }
    }

    fn probe(attribute: Option<(&'static str, AttributeRef<'static>)>) -> Probe {
        Probe {
            attribute,
            error: false,
            duration: Duration::from_millis(1),
            remote_parent_sampled: None,
        }
    }

    #[test]
    fn attribute_rules_match_their_kind_of_value_only() {
        let status = AttributeRule::int_range("status", 500..=599);
        assert!(status.matches(&probe(Some(("status", AttributeRef::I64(503))))));
        assert!(!status.matches(&probe(Some(("status", AttributeRef::I64(404))))));
        assert!(!status.matches(&probe(Some(("status", AttributeRef::Str("503"))))));
        assert!(!status.matches(&probe(None)));
        let route = AttributeRule::one_of("route", ["/pay", "/checkout"]);
        assert!(route.matches(&probe(Some(("route", AttributeRef::Str("/pay"))))));
        assert!(!route.matches(&probe(Some(("route", AttributeRef::Str("/home"))))));
        let flag = AttributeRule::bool("debug", true);
        assert!(flag.matches(&probe(Some(("debug", AttributeRef::Bool(true))))));
        assert!(!flag.matches(&probe(Some(("debug", AttributeRef::Bool(false))))));
        let exists = AttributeRule::exists("tenant");
        assert!(exists.matches(&probe(Some(("tenant", AttributeRef::Other)))));
        let custom =
            AttributeRule::matching("score", |v| matches!(v, AttributeRef::F64(x) if x > 0.5));
        assert!(custom.matches(&probe(Some(("score", AttributeRef::F64(0.9))))));
        assert!(!custom.matches(&probe(Some(("score", AttributeRef::F64(0.1))))));
        assert_eq!(custom.key(), "score");
        assert!(format!("{custom:?}").contains("<fn>"));
    }

    #[test]
    fn a_span_is_counted_under_the_first_policy_it_satisfies() {
        let config = TailSamplingConfig::builder()
            .with_latency_threshold(Some(Duration::from_secs(1)))
            .build(&otlpkit_core::MapEnv::new())
            .unwrap()
            .into_value();
        let policies = Policies::new(&config, vec![AttributeRule::exists("keep")]);
        let mut span = probe(Some(("keep", AttributeRef::Bool(true))));
        span.remote_parent_sampled = Some(true);
        assert_eq!(policies.matched_by(&span), Some(SamplingPolicy::Attribute));
        span.duration = Duration::from_secs(2);
        assert_eq!(policies.matched_by(&span), Some(SamplingPolicy::Latency));
        span.error = true;
        assert_eq!(policies.matched_by(&span), Some(SamplingPolicy::Error));
        let mut plain = probe(None);
        assert_eq!(policies.matched_by(&plain), None);
        plain.remote_parent_sampled = Some(true);
        assert_eq!(
            policies.matched_by(&plain),
            Some(SamplingPolicy::ParentSampled)
        );
        // Exactly the threshold is not slower than it.
        plain.remote_parent_sampled = None;
        plain.duration = Duration::from_secs(1);
        assert_eq!(policies.matched_by(&plain), None);
    }

    fn sdk_samples(ratio: f64, trace_id: TraceId) -> bool {
        Sampler::TraceIdRatioBased(ratio)
            .should_sample(None, trace_id, "s", &SpanKind::Internal, &[], &[])
            .decision
            == SamplingDecision::RecordAndSample
    }

    proptest! {
        #[test]
        fn the_ratio_decides_as_the_sdk_ratio_sampler(
            id in any::<u128>(),
            ratio in prop_oneof![
                0.0..=1.0_f64,
                prop::sample::select(vec![0.0, 1.0, -1.0, 2.0, 0.5, f64::MIN_POSITIVE]),
            ],
        ) {
            let trace_id = TraceId::from(id);
            prop_assert_eq!(Ratio::new(ratio).keeps(trace_id), sdk_samples(ratio, trace_id));
        }
    }
}
