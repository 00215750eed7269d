//! How otlpkit identifies itself (checklist 1.15, 4.3).

/// The `opentelemetry-otlp` version otlpkit builds on, as a literal so that
/// it can be used in `concat!`.
// Bump together with the opentelemetry family in the root Cargo.toml
// `[workspace.dependencies]`.
macro_rules! otel_otlp_version {
    () => {
        "0.33.1"
    };
}

/// The `opentelemetry-otlp` version otlpkit builds on (bump with the workspace).
pub const OTEL_OTLP_VERSION: &str = otel_otlp_version!();

/// The `User-Agent` of every export request:
/// `otlpkit/<version> OTel-OTLP-Exporter-Rust/<opentelemetry-otlp version>`
/// (checklist 1.15: the spec's product token with a distro prefix).
pub const USER_AGENT: &str = concat!(
    "otlpkit/",
    env!("CARGO_PKG_VERSION"),
    " OTel-OTLP-Exporter-Rust/",
    otel_otlp_version!()
);

/// The `User-Agent` of every export request (same as [`USER_AGENT`]).
pub const fn user_agent() -> &'static str {
    USER_AGENT
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agent_has_distro_prefix_and_spec_product_token() {
        // checklist 1.15
        assert_eq!(
            USER_AGENT,
            format!(
                "otlpkit/{} OTel-OTLP-Exporter-Rust/0.33.1",
                env!("CARGO_PKG_VERSION")
            )
        );
        assert_eq!(user_agent(), USER_AGENT);
        assert_eq!(OTEL_OTLP_VERSION, "0.33.1");
        // RFC 7231 product tokens: no spaces inside a product, one space between.
        assert_eq!(USER_AGENT.split(' ').count(), 2);
    }
}
