//! The three OTLP signals.

use crate::parse::spec_enum;

spec_enum! {
    /// A telemetry signal exported over OTLP.
    ///
    /// ```
    /// use otlpkit_core::Signal;
    ///
    /// assert_eq!(Signal::Traces.env_infix(), "TRACES");
    /// assert_eq!(Signal::Metrics.http_path(), "v1/metrics");
    /// assert_eq!("LOGS".parse::<Signal>().unwrap(), Signal::Logs);
    /// ```
    pub enum Signal ("signal", expected = "traces | metrics | logs") {
        /// Spans.
        Traces = "traces",
        /// Metric data points.
        Metrics = "metrics",
        /// Log records.
        Logs = "logs",
    }
}

impl Signal {
    /// The infix of this signal's variables: `OTEL_EXPORTER_OTLP_<INFIX>_ENDPOINT`.
    pub const fn env_infix(self) -> &'static str {
        match self {
            Signal::Traces => "TRACES",
            Signal::Metrics => "METRICS",
            Signal::Logs => "LOGS",
        }
    }

    /// The relative OTLP/HTTP path appended to a general endpoint (checklist 1.5).
    pub const fn http_path(self) -> &'static str {
        match self {
            Signal::Traces => "v1/traces",
            Signal::Metrics => "v1/metrics",
            Signal::Logs => "v1/logs",
        }
    }

    /// The full gRPC method path (checklist §6).
    pub const fn grpc_path(self) -> &'static str {
        match self {
            Signal::Traces => "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
            Signal::Metrics => "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
            Signal::Logs => "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
        }
    }

    /// Position of the signal in [`Signal::ALL`] (for per-signal arrays).
    pub(crate) const fn index(self) -> usize {
        match self {
            Signal::Traces => 0,
            Signal::Metrics => 1,
            Signal::Logs => 2,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_helpers_match_the_spec_spellings() {
        for (signal, infix, path) in [
            (Signal::Traces, "TRACES", "v1/traces"),
            (Signal::Metrics, "METRICS", "v1/metrics"),
            (Signal::Logs, "LOGS", "v1/logs"),
        ] {
            assert_eq!(signal.env_infix(), infix);
            assert_eq!(signal.http_path(), path);
            assert_eq!(signal.to_string(), infix.to_ascii_lowercase());
            assert_eq!(infix.parse::<Signal>().unwrap(), signal);
            assert_eq!(Signal::ALL[signal.index()], signal);
            assert!(signal.grpc_path().ends_with("/Export"));
        }
        let error = "spans".parse::<Signal>().unwrap_err();
        assert_eq!(error.value(), "spans");
        assert_eq!(error.what(), "signal");
    }
}
