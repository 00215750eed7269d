//! `OTEL_CONFIG_FILE` (checklist 4.9): when set, every other variable is
//! ignored; otlpkit does not read configuration files yet, so the result
//! comes from code and defaults, with a warning.

use std::time::Duration;

use otlpkit_core::{
    BatchConfig, ConfigError, ConfigWarning, EnvPolicy, ExporterConfig, MapEnv, OtlpConfig,
    Protocol, Signal, Source,
};

fn env_with_file(var: &str) -> MapEnv {
    MapEnv::from([
        (var, "/etc/otel/sdk.yaml"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317"),
        ("OTEL_SERVICE_NAME", "from-env"),
        ("OTEL_BSP_SCHEDULE_DELAY", "1"),
        ("OTEL_SDK_DISABLED", "true"),
        ("OTEL_LOG_LEVEL", "not-a-level"),
    ])
}

#[test]
fn config_file_makes_every_other_variable_ignored() {
    // checklist 4.9
    let resolved = OtlpConfig::from_env(&env_with_file("OTEL_CONFIG_FILE")).unwrap();
    let config = &resolved.value;
    let traces = config.exporter(Signal::Traces);
    assert_eq!(traces.protocol(), Protocol::HttpProtobuf);
    assert_eq!(
        traces.endpoint().as_str(),
        "http://localhost:4318/v1/traces"
    );
    assert_eq!(traces.sources().endpoint, Source::Default);
    assert_ne!(config.resource().service_name(), "from-env");
    assert_eq!(
        config.span_batch().schedule_delay(),
        Duration::from_millis(5000)
    );
    assert!(!config.sdk().disabled());
    // Exactly one warning, about the file; the invalid log level was never read.
    assert_eq!(
        resolved.warnings,
        vec![ConfigWarning::ConfigFileUnsupported {
            var: "OTEL_CONFIG_FILE",
            path: "/etc/otel/sdk.yaml".into(),
        }]
    );
}

#[test]
fn experimental_config_file_name_is_honoured_too() {
    // checklist 4.9
    let resolved = OtlpConfig::from_env(&env_with_file("OTEL_EXPERIMENTAL_CONFIG_FILE")).unwrap();
    assert_eq!(
        resolved.value.exporter(Signal::Logs).protocol(),
        Protocol::HttpProtobuf
    );
    assert_eq!(resolved.warnings[0].var(), "OTEL_EXPERIMENTAL_CONFIG_FILE");
}

#[test]
fn code_settings_still_apply_with_a_config_file() {
    // checklist 4.9, 1.19
    let config = OtlpConfig::builder()
        .with_exporter(ExporterConfig::builder(Signal::Traces).with_protocol(Protocol::Grpc))
        .with_batch(BatchConfig::spans().with_schedule_delay(Duration::from_millis(7)))
        .build(&env_with_file("OTEL_CONFIG_FILE"))
        .unwrap()
        .value;
    assert_eq!(config.exporter(Signal::Traces).protocol(), Protocol::Grpc);
    assert_eq!(
        config.exporter(Signal::Traces).endpoint().as_str(),
        "http://localhost:4317/"
    );
    assert_eq!(
        config.span_batch().schedule_delay(),
        Duration::from_millis(7)
    );
}

#[test]
fn config_file_in_strict_mode_is_an_error() {
    // checklist 4.9 with the otlpkit strict mode
    let error = OtlpConfig::builder()
        .with_env_policy(EnvPolicy::Strict)
        .build(&env_with_file("OTEL_CONFIG_FILE"))
        .unwrap_err();
    assert!(matches!(
        &error,
        ConfigError::Strict { warnings } if warnings.len() == 1
    ));
    assert!(error.to_string().contains("OTEL_CONFIG_FILE"));
}

#[test]
fn empty_config_file_variable_is_unset() {
    // checklist 1.18, 4.9
    let env = MapEnv::from([
        ("OTEL_CONFIG_FILE", ""),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
    ]);
    let resolved = OtlpConfig::from_env(&env).unwrap();
    assert!(resolved.warnings.is_empty());
    assert_eq!(
        resolved.value.exporter(Signal::Metrics).protocol(),
        Protocol::Grpc
    );
}
