//! `EnvPolicy::Strict` (otlpkit extension): every warning becomes an error.

use otlpkit_core::{
    BatchConfig, ConfigError, ConfigWarning, EnvPolicy, ExporterConfig, MapEnv, MetricReaderConfig,
    OtlpConfig, ResourceConfig, SdkConfig, Signal,
};

#[test]
fn strict_mode_turns_each_kind_of_warning_into_an_error() {
    // checklist 1.18 (warn-and-ignore cases) under the strict extension
    let cases = [
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpcx"),
        ("OTEL_EXPORTER_OTLP_INSECURE", "1"),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "-1"),
        ("OTEL_EXPORTER_OTLP_HEADERS", "novalue"),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "2147483648"),
        ("OTEL_RESOURCE_ATTRIBUTES", "a=%zz"),
        ("OTEL_TRACES_EXPORTER", "zipkin"),
        ("OTEL_TRACES_SAMPLER_ARG", "0.5"),
        ("OTEL_CONFIG_FILE", "x.yaml"),
    ];
    for (var, value) in cases {
        let env = MapEnv::from([(var, value)]);
        let lenient = OtlpConfig::from_env(&env).unwrap();
        assert_eq!(lenient.warnings.len(), 1, "{var}={value}");
        let error = OtlpConfig::builder()
            .with_env_policy(EnvPolicy::Strict)
            .build(&env)
            .unwrap_err();
        match error {
            ConfigError::Strict { warnings } => {
                assert_eq!(warnings, lenient.warnings, "{var}={value}");
                assert_eq!(warnings[0].var(), var);
            }
            other => panic!("{var}={value}: expected Strict, got {other:?}"),
        }
    }
}

#[test]
fn strict_mode_on_each_part_builder() {
    let env = MapEnv::from([
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "lz4"),
        ("OTEL_BLRP_SCHEDULE_DELAY", "later"),
        ("OTEL_METRIC_EXPORT_TIMEOUT", "-2"),
        ("OTEL_RESOURCE_ATTRIBUTES", "novalue"),
        ("OTEL_LOG_LEVEL", "chatty"),
    ]);
    let strict = EnvPolicy::Strict;
    assert!(
        ExporterConfig::builder(Signal::Logs)
            .with_env_policy(strict)
            .build(&env)
            .is_err()
    );
    assert!(
        BatchConfig::logs()
            .with_env_policy(strict)
            .build(&env)
            .is_err()
    );
    assert!(
        MetricReaderConfig::builder()
            .with_env_policy(strict)
            .build(&env)
            .is_err()
    );
    assert!(
        ResourceConfig::builder()
            .with_env_policy(strict)
            .build(&env)
            .is_err()
    );
    assert!(
        SdkConfig::builder()
            .with_env_policy(strict)
            .build(&env)
            .is_err()
    );
    // Lenient (the default) resolves the same environment.
    assert!(OtlpConfig::from_env(&env).is_ok());
}

#[test]
fn strict_mode_with_a_clean_environment_succeeds() {
    let env = MapEnv::from([
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_SERVICE_NAME", "svc"),
    ]);
    let resolved = OtlpConfig::builder()
        .with_env_policy(EnvPolicy::Strict)
        .build(&env)
        .unwrap();
    assert!(resolved.warnings.is_empty());
}

#[test]
fn strict_error_message_keeps_header_values_secret() {
    let env = MapEnv::from([(
        "OTEL_EXPORTER_OTLP_HEADERS",
        "authorization=Bearer%zzsekrit,Authorization Bearer sekrit2",
    )]);
    let error = OtlpConfig::builder()
        .with_env_policy(EnvPolicy::Strict)
        .build(&env)
        .unwrap_err();
    let text = format!("{error} {error:?}");
    assert!(!text.contains("sekrit"), "{text}");
    assert!(matches!(
        error,
        ConfigError::Strict { ref warnings } if matches!(warnings[0], ConfigWarning::MalformedHeader { .. })
    ));
}
