//! Exporter selection per signal (checklist 4.7): [`ExporterKind`] and how
//! `OTEL_TRACES_EXPORTER`, `OTEL_METRICS_EXPORTER` and `OTEL_LOGS_EXPORTER`
//! resolve into a list of them.

use super::list::read_list;
use crate::parse::{EnvReader, spec_enum};
use crate::source::Source;
use crate::{Signal, vars};

spec_enum! {
    /// `OTEL_{TRACES,METRICS,LOGS}_EXPORTER` values otlpkit supports
    /// (checklist 4.7); `none` is represented by an empty list. `zipkin`,
    /// `prometheus`, `logging` and `otlp/stdout` are recognised but not
    /// supported: they produce a [`ConfigWarning::Unsupported`](crate::ConfigWarning::Unsupported).
    pub enum ExporterKind ("exporter", expected = "otlp | console | none") {
        /// The OTLP exporter.
        Otlp = "otlp",
        /// Human-readable output on standard output.
        Console = "console",
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

/// The exporters for `signal` from its `OTEL_*_EXPORTER` variable, or the
/// default (`otlp`) when it is unset or names no usable exporter.
pub(super) fn resolve_exporters(
    reader: &mut EnvReader<'_>,
    signal: Signal,
) -> (Vec<ExporterKind>, Source) {
    let var = exporter_var(signal);
    match read_list(reader, var, |t| parse_exporter(signal, t)) {
        Some(list) => (list, Source::Env(var)),
        None => (vec![ExporterKind::Otlp], Source::Default),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MapEnv;
    use crate::error::ConfigWarning;
    use crate::sdk::tests::sdk;

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
}
