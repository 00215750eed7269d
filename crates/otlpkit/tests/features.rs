//! What a build without some of otlpkit's features does when the
//! configuration asks for them: an error that names the facade's feature,
//! never a silent fallback. These tests only compile in such builds;
//! `cargo xtask ci` runs them (its `features` step).

#[cfg(not(all(feature = "grpc", feature = "http", feature = "http-json")))]
use otlpkit::core::{MapEnv, Signal};

#[cfg(not(all(feature = "grpc", feature = "http", feature = "http-json")))]
fn init_with(protocol: &str) -> Result<otlpkit::OtlpGuard, otlpkit::InitError> {
    let env = MapEnv::from([
        ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317"),
    ]);
    otlpkit::builder().build_with_env(&env)
}

#[cfg(not(all(feature = "grpc", feature = "http", feature = "http-json")))]
fn assert_not_compiled(protocol: &str, feature: &str) {
    let error = init_with(protocol).expect_err("a protocol that is not compiled in");
    match &error {
        otlpkit::InitError::ProtocolNotCompiled {
            protocol: p,
            feature: f,
            signal,
            setting,
        } => {
            assert_eq!(p.to_string(), protocol);
            assert_eq!(*f, feature);
            assert_eq!(*signal, Signal::Traces);
            assert_eq!(*setting, "OTEL_EXPORTER_OTLP_PROTOCOL");
        }
        other => panic!("{other}"),
    }
    let text = error.to_string();
    assert!(text.contains(&format!("`{feature}` feature")), "{text}");
    assert!(text.contains("OTEL_EXPORTER_OTLP_PROTOCOL"), "{text}");
}

#[cfg(not(feature = "grpc"))]
#[test]
fn grpc_without_the_grpc_feature_is_an_error_naming_it() {
    assert_not_compiled("grpc", "grpc");
}

#[cfg(not(feature = "http"))]
#[test]
fn http_without_the_http_feature_is_an_error_naming_it() {
    assert_not_compiled("http/protobuf", "http");
}

#[cfg(all(feature = "http", not(feature = "http-json")))]
#[test]
fn json_without_the_http_json_feature_is_an_error_naming_it() {
    assert_not_compiled("http/json", "http-json");
}

/// The error names the setting that chose the protocol: a signal's own
/// variable, or the builder.
#[cfg(all(feature = "http", not(feature = "http-json")))]
#[test]
fn the_error_names_the_setting_that_chose_the_protocol() {
    let env = MapEnv::from([
        ("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "http/json"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318"),
    ]);
    let error = otlpkit::builder()
        .build_with_env(&env)
        .expect_err("http/json is not compiled in");
    let text = error.to_string();
    assert!(
        matches!(
            error,
            otlpkit::InitError::ProtocolNotCompiled {
                signal: Signal::Logs,
                setting: "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL",
                ..
            }
        ),
        "{text}"
    );
    assert!(
        text.contains("(OTEL_EXPORTER_OTLP_LOGS_PROTOCOL)"),
        "{text}"
    );
    assert!(text.contains("`otlpkit/http-json`"), "{text}");

    let env = MapEnv::from([("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")]);
    let error = otlpkit::builder()
        .with_protocol(otlpkit::core::Protocol::HttpJson)
        .build_with_env(&env)
        .expect_err("http/json is not compiled in");
    assert!(
        error
            .to_string()
            .contains("(Builder::with_protocol or Builder::with_signal_protocol)"),
        "{error}"
    );
}

/// The spool asked for, from the environment or the builder, in a build
/// without it: an error naming the facade's feature and the setting, before
/// anything touches the disk.
#[cfg(not(feature = "spool"))]
#[test]
fn a_spool_without_the_spool_feature_is_an_error_naming_it() {
    let dir = std::env::temp_dir().join(format!("otlpkit-no-spool-{}", std::process::id()));
    let path = dir.to_str().unwrap();
    let from_env = otlpkit::core::MapEnv::from([
        ("OTLPKIT_SPOOL_DIR", path),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318"),
    ]);
    let from_code =
        otlpkit::core::MapEnv::from([("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")]);
    for (builder, env, asked_by) in [
        (otlpkit::builder(), &from_env, "OTLPKIT_SPOOL_DIR"),
        (
            otlpkit::builder().with_spool_dir(&dir),
            &from_code,
            "Builder::with_spool_dir",
        ),
    ] {
        let error = builder
            .build_with_env(env)
            .expect_err("a spool that is not compiled in");
        match &error {
            otlpkit::InitError::SpoolNotCompiled { setting, feature } => {
                assert_eq!(*setting, asked_by);
                assert_eq!(*feature, "spool");
            }
            other => panic!("{other}"),
        }
        let text = error.to_string();
        assert!(text.contains("`otlpkit/spool`"), "{text}");
        assert!(text.contains(asked_by), "{text}");
        assert!(!dir.exists(), "nothing is written without the feature");
    }
}

/// Tail sampling turned on, from the environment or the builder, in a
/// build without the stage: an error naming the facade's feature and the
/// setting, never a run that keeps every trace.
#[cfg(all(
    not(feature = "tail-sampling"),
    any(feature = "grpc", feature = "http")
))]
#[test]
fn tail_sampling_without_its_feature_is_an_error_naming_it() {
    // A protocol this build has, so that only the stage is missing.
    let protocol = if cfg!(feature = "http") {
        "http/protobuf"
    } else {
        "grpc"
    };
    let protocol = ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol);
    let endpoint = ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9");
    let from_env =
        otlpkit::core::MapEnv::from([("OTLPKIT_TAIL_SAMPLING", "on"), protocol, endpoint]);
    let from_code = otlpkit::core::MapEnv::from([protocol, endpoint]);
    for (builder, env, asked_by) in [
        (otlpkit::builder(), &from_env, "OTLPKIT_TAIL_SAMPLING"),
        (
            otlpkit::builder().with_tail_sampling(true),
            &from_code,
            "Builder::with_tail_sampling",
        ),
    ] {
        let error = builder
            .build_with_env(env)
            .expect_err("a tail-sampling stage that is not compiled in");
        match &error {
            otlpkit::InitError::TailSamplingNotCompiled { setting, feature } => {
                assert_eq!(*setting, asked_by);
                assert_eq!(*feature, "tail-sampling");
            }
            other => panic!("{other}"),
        }
        let text = error.to_string();
        assert!(text.contains("`otlpkit/tail-sampling`"), "{text}");
        assert!(text.contains(asked_by), "{text}");
    }
    // Off, the tuning variables alone are no error.
    let tuned =
        otlpkit::core::MapEnv::from([("OTLPKIT_TAIL_SAMPLING_RATIO", "0.5"), protocol, endpoint]);
    let guard = otlpkit::builder()
        .build_with_env(&tuned)
        .expect("tail sampling off");
    let report = guard.shutdown_within(std::time::Duration::from_secs(1));
    assert_eq!(
        report.produced(otlpkit::core::Signal::Traces),
        0,
        "{report}"
    );
}

#[cfg(any(feature = "grpc", feature = "http"))]
#[test]
fn a_compiled_protocol_builds() {
    let protocol = if cfg!(feature = "grpc") {
        "grpc"
    } else {
        "http/protobuf"
    };
    let env = otlpkit::core::MapEnv::from([
        ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317"),
    ]);
    let guard = otlpkit::builder().build_with_env(&env).unwrap();
    assert_eq!(
        guard
            .config()
            .exporter(otlpkit::core::Signal::Traces)
            .protocol()
            .to_string(),
        protocol
    );
    drop(guard.shutdown_within(std::time::Duration::from_millis(200)));
}

/// Without `tracing-opentelemetry`, `tracing` spans have one path, the
/// native layer, which feeds the OTLP exporter alone: asking for a console
/// trace exporter beside it is said, and the spans still reach OTLP.
#[cfg(all(
    feature = "http",
    feature = "tracing",
    feature = "console-exporters",
    not(feature = "tracing-opentelemetry")
))]
#[test]
fn a_console_trace_exporter_without_tracing_opentelemetry_is_a_warning() {
    let receiver = otlpkit_testkit::Receiver::start().unwrap();
    let endpoint = receiver.http_endpoint();
    let env = otlpkit::core::MapEnv::from([
        ("OTEL_TRACES_EXPORTER", "otlp,console"),
        ("OTEL_METRICS_EXPORTER", "none"),
        ("OTEL_LOGS_EXPORTER", "none"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
    ]);
    let guard = otlpkit::builder().init_with_env(&env).unwrap();
    let warned = guard.warnings().iter().any(|warning| {
        matches!(
            warning,
            otlpkit::InitWarning::Unsupported {
                setting: "OTEL_TRACES_EXPORTER",
                ..
            }
        ) && warning
            .to_string()
            .contains("`tracing-opentelemetry` feature")
    });
    assert!(warned, "{:?}", guard.warnings());

    tracing::info_span!("native").in_scope(|| {});
    let report = guard.shutdown_within(std::time::Duration::from_secs(10));
    assert_eq!(
        report.delivered(otlpkit::core::Signal::Traces),
        1,
        "{report}"
    );
    assert_eq!(receiver.span_count(), 1);
    assert!(receiver.span("native").is_some());
}

/// Without `console-exporters`, `console` in any `OTEL_*_EXPORTER` is
/// skipped with a warning naming the feature, and the OTLP exporter beside
/// it still gets everything.
#[cfg(all(feature = "http", not(feature = "console-exporters")))]
#[test]
fn a_console_exporter_without_its_feature_is_a_warning_naming_it() {
    use opentelemetry::trace::{Tracer as _, TracerProvider as _};

    let receiver = otlpkit_testkit::Receiver::start().unwrap();
    let endpoint = receiver.http_endpoint();
    let env = otlpkit::core::MapEnv::from([
        ("OTEL_TRACES_EXPORTER", "otlp,console"),
        ("OTEL_METRICS_EXPORTER", "console"),
        ("OTEL_LOGS_EXPORTER", "console"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
    ]);
    let guard = otlpkit::builder().build_with_env(&env).unwrap();
    let mut warned: Vec<&str> = guard
        .warnings()
        .iter()
        .filter_map(|warning| match warning {
            otlpkit::InitWarning::Unsupported { setting, value, .. }
                if value == "console"
                    && warning.to_string().contains("`otlpkit/console-exporters`") =>
            {
                Some(*setting)
            }
            _ => None,
        })
        .collect();
    warned.sort_unstable();
    assert_eq!(
        warned,
        [
            "OTEL_LOGS_EXPORTER",
            "OTEL_METRICS_EXPORTER",
            "OTEL_TRACES_EXPORTER"
        ],
        "{:?}",
        guard.warnings()
    );

    guard
        .tracer_provider()
        .unwrap()
        .tracer("t")
        .in_span("kept", |_| {});
    let report = guard.shutdown_within(std::time::Duration::from_secs(10));
    assert_eq!(
        report.delivered(otlpkit::core::Signal::Traces),
        1,
        "{report}"
    );
    assert!(receiver.span("kept").is_some());
}

/// With `tracing-opentelemetry` but without `console-exporters`, a
/// `console` trace exporter is skipped, so it must not pull `tracing` spans
/// onto the `tracing-opentelemetry` path (which exists for SDK span
/// consumers such as that exporter): they stay on the native path, which a
/// span processor of the application does not see.
#[cfg(all(
    feature = "http",
    feature = "tracing",
    feature = "tracing-opentelemetry",
    not(feature = "console-exporters")
))]
#[test]
fn a_skipped_console_exporter_leaves_tracing_spans_on_the_native_path() {
    use opentelemetry_sdk::trace::{InMemorySpanExporter, SimpleSpanProcessor};

    let receiver = otlpkit_testkit::Receiver::start().unwrap();
    let endpoint = receiver.http_endpoint();
    let env = otlpkit::core::MapEnv::from([
        ("OTEL_TRACES_EXPORTER", "otlp,console"),
        ("OTEL_METRICS_EXPORTER", "none"),
        ("OTEL_LOGS_EXPORTER", "none"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
    ]);
    let sdk_spans = InMemorySpanExporter::default();
    let guard = otlpkit::builder()
        .with_span_processor(SimpleSpanProcessor::new(sdk_spans.clone()))
        .init_with_env(&env)
        .unwrap();
    assert!(
        guard
            .warnings()
            .iter()
            .any(|warning| warning.to_string().contains("`otlpkit/console-exporters`")),
        "{:?}",
        guard.warnings()
    );

    tracing::info_span!("native").in_scope(|| {});
    // On the `tracing-opentelemetry` path the SDK would have built it (and
    // the simple processor exported it as it ended). Read before the
    // shutdown, which empties the in-memory exporter.
    assert_eq!(sdk_spans.get_finished_spans().unwrap().len(), 0);
    let report = guard.shutdown_within(std::time::Duration::from_secs(10));
    assert_eq!(
        report.delivered(otlpkit::core::Signal::Traces),
        1,
        "{report}"
    );
    assert!(receiver.span("native").is_some());
}

/// Without `env-filter`, a `RUST_LOG`-style directive that filters on spans
/// is refused at `init()`, naming the directive and the feature, instead of
/// being read as a target that matches nothing.
#[cfg(all(feature = "tracing", not(feature = "env-filter")))]
#[test]
fn a_span_directive_without_env_filter_is_an_error_naming_it() {
    let env = otlpkit::core::MapEnv::from([
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317"),
        ("OTEL_METRICS_EXPORTER", "none"),
    ]);
    let setup =
        otlpkit::tracing::TracingSetup::builder().with_directives("warn,my_app[request]=debug");
    let error = otlpkit::builder()
        .with_tracing_setup(setup)
        .init_with_env(&env)
        .expect_err("a span directive needs env-filter");
    match &error {
        otlpkit::InitError::Tracing(otlpkit::tracing::SetupError::InvalidDirectives {
            source: otlpkit::tracing::DirectiveError::EnvFilterNotCompiled { directive },
            ..
        }) => assert_eq!(directive, "my_app[request]=debug"),
        other => panic!("{other}"),
    }
    let text = error.to_string();
    assert!(text.contains("`env-filter` feature"), "{text}");
}
