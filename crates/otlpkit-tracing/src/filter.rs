//! The filter that keeps the toolkit's own telemetry out of the OpenTelemetry
//! layers, so exporting never produces more telemetry to export.

use std::sync::Arc;

use tracing::Metadata;
use tracing::subscriber::Interest;
use tracing_subscriber::layer::{Context, Filter};

/// Rejects spans and events whose target starts with one of the prefixes.
#[derive(Clone, Debug)]
pub(crate) struct SelfFilter {
    prefixes: Arc<[String]>,
}

impl SelfFilter {
    pub(crate) fn new(prefixes: Arc<[String]>) -> Self {
        Self { prefixes }
    }

    pub(crate) fn allows(&self, target: &str) -> bool {
        !self.prefixes.iter().any(|p| matches_prefix(target, p))
    }
}

/// `prefix` itself, or a module below it (`prefix::…`). A crate that only
/// shares a name prefix (`tonic_service`, `hyperion`) is not matched: it may
/// be the application's own.
pub(crate) fn matches_prefix(target: &str, prefix: &str) -> bool {
    match target.strip_prefix(prefix) {
        Some(rest) => rest.is_empty() || rest.starts_with("::"),
        None => false,
    }
}

impl<S> Filter<S> for SelfFilter {
    fn enabled(&self, meta: &Metadata<'_>, _cx: &Context<'_, S>) -> bool {
        self.allows(meta.target())
    }

    fn callsite_enabled(&self, meta: &'static Metadata<'static>) -> Interest {
        // The answer depends on the target only, so it can be cached per
        // callsite.
        if self.allows(meta.target()) {
            Interest::always()
        } else {
            Interest::never()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::setup::DEFAULT_EXCLUDED_TARGETS;

    #[test]
    fn prefixes_match_on_crate_boundaries_only() {
        let filter = SelfFilter::new(
            DEFAULT_EXCLUDED_TARGETS
                .iter()
                .map(|t| (*t).to_owned())
                .collect(),
        );
        for excluded in [
            "otlpkit",
            "otlpkit_grpc::exporter",
            "otlpkit_batch::engine",
            "opentelemetry_sdk",
            "opentelemetry-otlp",
            "opentelemetry_otlp::exporter",
            "opentelemetry",
            "h2::codec::framed_read",
            "hyper::proto::h1",
            "hyper_util::client::legacy",
            "tonic::transport",
            "reqwest::connect",
            "tower::buffer::worker",
        ] {
            assert!(!filter.allows(excluded), "{excluded} should be excluded");
        }
        for allowed in [
            "my_app",
            "h2o",
            "hyperion::db",
            "tonics",
            "http.server",
            "otlpkitten",
            "tonic_service",
            "tower_app::routes",
            "otlpkit_example",
            "hyper_server",
        ] {
            assert!(filter.allows(allowed), "{allowed} should pass");
        }
    }
}
