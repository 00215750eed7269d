//! Attribute, span and log record limits (checklist 4.8): [`LimitKind`],
//! the resolved [`Limits`], and the fallback of each model-specific limit
//! to its general one.

use crate::parse::{EnvReader, spec_enum};
use crate::source::Source;
use crate::vars;

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

    pub(super) const fn index(self) -> usize {
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

pub(super) const LIMIT_COUNT: usize = 10;

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

/// Resolves every limit: `code` (indexed by `LimitKind::index`) wins,
/// then the variable; general limits are resolved first so that the
/// model-specific ones can fall back to them.
pub(super) fn resolve_limits(
    code: [Option<Option<u32>>; LIMIT_COUNT],
    reader: &mut EnvReader<'_>,
) -> Limits {
    // checklist 4.8: general limits first, then model-specific ones.
    let mut limits = Limits::default();
    for kind in LimitKind::ALL.iter().filter(|k| k.general().is_none()) {
        let (value, source) = match code[kind.index()] {
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
        let (value, source) = match code[kind.index()] {
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
    limits
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MapEnv;
    use crate::sdk::SdkConfig;
    use crate::sdk::tests::sdk;

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
}
