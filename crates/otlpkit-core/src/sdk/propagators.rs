//! Context propagators (checklist 4.6): [`Propagator`] and how
//! `OTEL_PROPAGATORS` resolves into a list of them.

use super::list::read_list;
use crate::parse::{EnvReader, spec_enum};
use crate::source::Source;
use crate::vars;

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

/// The propagators from `OTEL_PROPAGATORS`, or the default
/// (`tracecontext,baggage`) when it is unset or names no usable propagator.
pub(super) fn resolve_propagators(reader: &mut EnvReader<'_>) -> (Vec<Propagator>, Source) {
    match read_list(reader, vars::OTEL_PROPAGATORS, |t| {
        t.parse::<Propagator>().map_err(|_| None)
    }) {
        Some(list) => (list, Source::Env(vars::OTEL_PROPAGATORS)),
        None => (
            vec![Propagator::TraceContext, Propagator::Baggage],
            Source::Default,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MapEnv;
    use crate::sdk::tests::sdk;

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
}
