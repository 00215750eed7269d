//! The comma-separated list variables (`OTEL_PROPAGATORS`,
//! `OTEL_*_EXPORTER`): reading them and deduplicating in order, for
//! the environment and the builder alike.

use crate::error::ConfigWarning;
use crate::parse::EnvReader;
use crate::vars;

/// Reads a comma-separated enum list: trims entries, skips empty ones,
/// warns about and skips unknown or unsupported ones, deduplicates in order.
/// `none` makes the list empty (with a warning if other entries are present).
/// Returns `None` (variable ignored) when it is unset or has no usable entry.
pub(super) fn read_list<T: PartialEq + Copy>(
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

/// `items` without repeats, in first-seen order.
pub(super) fn dedup<T: PartialEq>(items: impl IntoIterator<Item = T>) -> Vec<T> {
    let mut out = Vec::new();
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}
