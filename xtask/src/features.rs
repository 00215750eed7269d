//! The feature combinations a user can pick, built one by one: each
//! transport crate without its default features, the facade with no
//! feature, with each feature alone and with its defaults, and the tests
//! that only mean something in such a build (an `https` endpoint refused
//! without TLS, a protocol whose transport is not compiled in).
//!
//! `--all-features`, which every other step uses, never compiles the code
//! behind `#[cfg(not(feature = ...))]`; this step does. Checks only build
//! the libraries, so the step stays a few minutes on a 2-core machine.

use xshell::{Shell, cmd};

/// `cargo check` of one package with the given features (no defaults).
struct Check {
    package: &'static str,
    features: &'static str,
}

/// Every feature of the facade alone, no feature, and the transports bare.
const CHECKS: &[Check] = &[
    Check {
        package: "otlpkit",
        features: "",
    },
    Check {
        package: "otlpkit",
        features: "grpc",
    },
    Check {
        package: "otlpkit",
        features: "http",
    },
    Check {
        package: "otlpkit",
        features: "http-json",
    },
    Check {
        package: "otlpkit",
        features: "tls",
    },
    Check {
        package: "otlpkit",
        features: "tracing",
    },
    Check {
        package: "otlpkit",
        features: "json-logs",
    },
    Check {
        package: "otlpkit",
        features: "axum",
    },
    Check {
        package: "otlpkit",
        features: "reqwest",
    },
    Check {
        package: "otlpkit",
        features: "tonic",
    },
    Check {
        package: "otlpkit",
        features: "rayon",
    },
    Check {
        package: "otlpkit",
        features: "tracing-opentelemetry",
    },
    Check {
        package: "otlpkit",
        features: "spool",
    },
    Check {
        package: "otlpkit",
        features: "tail-sampling",
    },
    Check {
        package: "otlpkit",
        features: "console-exporters",
    },
    Check {
        package: "otlpkit",
        features: "http,tracing,tail-sampling",
    },
    Check {
        package: "otlpkit",
        features: "http,spool",
    },
    Check {
        package: "otlpkit-grpc",
        features: "",
    },
    Check {
        package: "otlpkit-http",
        features: "",
    },
    Check {
        package: "otlpkit-tracing",
        features: "",
    },
];

/// Tests run in a reduced build: `(package, features, test target)`, where
/// the target is `--lib` or `--test <name>`.
const TESTS: &[(&str, &str, &[&str])] = &[
    // An https endpoint is refused, never sent in plaintext; a compression
    // or a spool that is not compiled in is an error naming its feature.
    ("otlpkit-grpc", "", &["--lib"]),
    ("otlpkit-http", "", &["--lib"]),
    // A protocol whose transport, a spool or the tail-sampling stage is not
    // compiled in is an error naming the facade's feature (both are on in
    // the workspace test step, `--all-features`).
    ("otlpkit", "grpc", &["--test", "features"]),
    ("otlpkit", "http", &["--test", "features"]),
    // Without `console-exporters`, a console exporter is a warning naming
    // the feature. Without `tracing-opentelemetry`, a console trace exporter
    // beside OTLP is a warning naming that feature; `tracing` spans still
    // reach OTLP.
    ("otlpkit", "http,tracing", &["--test", "features"]),
    (
        "otlpkit",
        "http,tracing,console-exporters",
        &["--test", "features"],
    ),
    // With `tracing-opentelemetry` and without `console-exporters`, the
    // skipped console exporter leaves `tracing` spans on the native path.
    (
        "otlpkit",
        "http,tracing,tracing-opentelemetry",
        &["--test", "features"],
    ),
];

pub(crate) fn run(sh: &Shell) -> xshell::Result<()> {
    for check in CHECKS {
        let package = check.package;
        let features = check.features;
        eprintln!("    check -p {package} --no-default-features --features '{features}'");
        cmd!(
            sh,
            "cargo check --locked -q -p {package} --no-default-features --features {features} --lib"
        )
        .run()?;
    }
    // The facade with its default features, as most applications take it.
    cmd!(sh, "cargo check --locked -q -p otlpkit --lib").run()?;
    for &(package, features, target) in TESTS {
        eprintln!("    test -p {package} --no-default-features --features '{features}' {target:?}");
        cmd!(
            sh,
            "cargo test --locked -q -p {package} --no-default-features --features {features} {target...}"
        )
        .run()?;
    }
    Ok(())
}
