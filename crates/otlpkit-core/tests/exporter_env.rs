//! OTLP exporter settings resolved end-to-end through `OtlpConfig` from an
//! injected environment (checklist §1).

use std::path::Path;
use std::time::Duration;

use otlpkit_core::{
    Compression, ConfigError, ConfigWarning, ExporterConfig, Headers, MapEnv, Origin, OtlpConfig,
    Protocol, RetryPolicy, Signal, Source,
};

fn resolve(pairs: &[(&str, &str)]) -> otlpkit_core::Resolved<OtlpConfig> {
    OtlpConfig::from_env(pairs).unwrap()
}

#[test]
fn protocol_from_env_is_case_insensitive_and_per_signal() {
    // checklist 1.2, 1.3
    let config = resolve(&[
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "GRPC"),
        ("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "http/json"),
    ])
    .value;
    assert_eq!(config.exporter(Signal::Traces).protocol(), Protocol::Grpc);
    assert_eq!(config.exporter(Signal::Metrics).protocol(), Protocol::Grpc);
    assert_eq!(config.exporter(Signal::Logs).protocol(), Protocol::HttpJson);
    assert_eq!(
        config.exporter(Signal::Logs).sources().protocol,
        Source::SignalEnv("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL")
    );
}

#[test]
fn unknown_protocol_is_ignored_with_a_warning_and_falls_through() {
    // checklist 1.2, 1.18
    let resolved = resolve(&[
        ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/xml"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
    ]);
    assert_eq!(
        resolved.value.exporter(Signal::Traces).protocol(),
        Protocol::Grpc
    );
    assert_eq!(
        resolved.warnings,
        vec![ConfigWarning::InvalidValue {
            var: "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
            value: "http/xml".into(),
            expected: "grpc | http/protobuf | http/json",
            instead: Some("grpc (OTEL_EXPORTER_OTLP_PROTOCOL)".into()),
        }]
    );
}

// A typo falls back to the default, and the warning says so.
#[test]
fn a_protocol_typo_says_what_it_fell_back_to() {
    let resolved = resolve(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "grcp")]);
    assert_eq!(
        resolved.value.exporter(Signal::Traces).protocol(),
        Protocol::HttpProtobuf
    );
    let text = resolved.warnings[0].to_string();
    assert_eq!(
        text,
        "OTEL_EXPORTER_OTLP_PROTOCOL=\"grcp\" is not valid (expected grpc | http/protobuf | \
         http/json); ignored, using http/protobuf (the default)"
    );
}

#[test]
fn signal_specific_value_replaces_general_value_for_every_option() {
    // checklist 1.3
    let config = resolve(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://general:4318"),
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://traces:4318/t"),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "1000"),
        ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "2000"),
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"),
        ("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "none"),
        ("OTEL_EXPORTER_OTLP_CERTIFICATE", "/general/ca.pem"),
        ("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", "/traces/ca.pem"),
    ])
    .value;
    let traces = config.exporter(Signal::Traces);
    assert_eq!(traces.endpoint().as_str(), "http://traces:4318/t");
    assert_eq!(traces.timeout(), Some(Duration::from_millis(2000)));
    assert_eq!(traces.compression(), Compression::None);
    assert_eq!(
        traces.tls().certificate(),
        Some(Path::new("/traces/ca.pem"))
    );
    let metrics = config.exporter(Signal::Metrics);
    assert_eq!(
        metrics.endpoint().as_str(),
        "http://general:4318/v1/metrics"
    );
    assert_eq!(metrics.timeout(), Some(Duration::from_millis(1000)));
    assert_eq!(metrics.compression(), Compression::Gzip);
    assert_eq!(
        metrics.tls().certificate(),
        Some(Path::new("/general/ca.pem"))
    );
    assert_eq!(
        metrics.sources().compression,
        Source::GeneralEnv("OTEL_EXPORTER_OTLP_COMPRESSION")
    );
}

#[test]
fn signal_headers_replace_general_headers_instead_of_merging() {
    // checklist 1.3, 1.11
    let config = resolve(&[
        (
            "OTEL_EXPORTER_OTLP_HEADERS",
            "authorization=general,x-shared=1",
        ),
        ("OTEL_EXPORTER_OTLP_METRICS_HEADERS", "x-metrics=2"),
    ])
    .value;
    let metrics = config.exporter(Signal::Metrics).headers();
    assert_eq!(metrics.iter().collect::<Vec<_>>(), vec![("x-metrics", "2")]);
    let traces = config.exporter(Signal::Traces).headers();
    assert_eq!(traces.get("authorization"), Some("general"));
    assert_eq!(traces.get("x-shared"), Some("1"));
    assert_eq!(traces.get("x-metrics"), None);
}

#[test]
fn headers_set_in_code_and_in_the_environment_warn_once_per_key_without_values() {
    // Code wins and replaces the variable's whole list (checklist 1.3, 1.19):
    // each key the variable loses is named once, for all signals, with
    // which side is sent; no value ever appears.
    let env = MapEnv::from([
        (
            "OTEL_EXPORTER_OTLP_HEADERS",
            "authorization=Basic%20ZW52LXNla3JpdA==,x-env-only=env-sekrit",
        ),
        (
            "OTEL_EXPORTER_OTLP_LOGS_HEADERS",
            "authorization=logs-sekrit",
        ),
    ]);
    let mut builder = OtlpConfig::builder();
    for signal in Signal::ALL {
        builder = builder.with_exporter(
            ExporterConfig::builder(*signal).with_header("Authorization", "Bearer code-token"),
        );
    }
    let resolved = builder.build(&env).unwrap();
    for signal in Signal::ALL {
        let headers = resolved.value.exporter(*signal).headers();
        assert_eq!(headers.get("authorization"), Some("Bearer code-token"));
        assert_eq!(headers.len(), 1);
    }
    assert_eq!(
        resolved.warnings,
        vec![
            ConfigWarning::HeaderReplacedByCode {
                var: "OTEL_EXPORTER_OTLP_HEADERS",
                key: "authorization".into(),
                also_in_code: true,
            },
            ConfigWarning::HeaderReplacedByCode {
                var: "OTEL_EXPORTER_OTLP_HEADERS",
                key: "x-env-only".into(),
                also_in_code: false,
            },
            ConfigWarning::HeaderReplacedByCode {
                var: "OTEL_EXPORTER_OTLP_LOGS_HEADERS",
                key: "authorization".into(),
                also_in_code: true,
            },
        ]
    );
    let text = resolved
        .warnings
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        text.contains(
            "OTEL_EXPORTER_OTLP_HEADERS sets header `authorization`, which is also set in \
             code: the value set in code is sent; headers set in code replace the variable's \
             headers"
        ),
        "{text}"
    );
    for secret in ["sekrit", "ZW52", "code-token"] {
        assert!(!text.contains(secret), "{text}");
        assert!(!format!("{:?}", resolved.warnings).contains(secret));
    }
    // Without code headers, nothing is said.
    assert!(
        resolve(&[("OTEL_EXPORTER_OTLP_HEADERS", "a=1")])
            .warnings
            .is_empty()
    );
}

#[test]
fn default_endpoints_per_protocol() {
    // checklist 1.4
    let config = resolve(&[]).value;
    for signal in Signal::ALL {
        let expected = format!("http://localhost:4318/{}", signal.http_path());
        assert_eq!(config.exporter(*signal).endpoint().as_str(), expected);
        assert_eq!(config.exporter(*signal).sources().endpoint, Source::Default);
    }
    let config = resolve(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")]).value;
    for signal in Signal::ALL {
        assert_eq!(
            config.exporter(*signal).endpoint().as_str(),
            "http://localhost:4317/"
        );
    }
}

#[test]
fn general_http_endpoint_gets_signal_path_appended() {
    // checklist 1.5: the spec's examples, through the environment.
    let config = resolve(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")]).value;
    assert_eq!(
        config.exporter(Signal::Traces).endpoint().as_str(),
        "http://collector:4318/v1/traces"
    );
    assert_eq!(
        config.exporter(Signal::Metrics).endpoint().as_str(),
        "http://collector:4318/v1/metrics"
    );
    let config = resolve(&[(
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "http://collector:4318/mycollector/",
    )])
    .value;
    assert_eq!(
        config.exporter(Signal::Logs).endpoint().as_str(),
        "http://collector:4318/mycollector/v1/logs"
    );
}

#[test]
fn signal_http_endpoint_is_used_as_is() {
    // checklist 1.6: the spec's examples, through the environment.
    let config = resolve(&[
        (
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "http://collector:4318",
        ),
        (
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
            "https://h/v1/metrics/",
        ),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://ignored:1"),
    ])
    .value;
    assert_eq!(
        config.exporter(Signal::Traces).endpoint().as_str(),
        "http://collector:4318/"
    );
    let metrics = config.exporter(Signal::Metrics);
    assert_eq!(metrics.endpoint().as_str(), "https://h/v1/metrics/");
    assert_eq!(metrics.endpoint().port_or_known_default(), Some(443));
    assert!(metrics.uses_tls());
    assert_eq!(
        metrics.sources().endpoint,
        Source::SignalEnv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")
    );
}

#[test]
fn endpoint_without_port_uses_scheme_default_port() {
    // checklist 1.7
    let config = resolve(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector"),
        (
            "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
            "https://logs.example/path",
        ),
    ])
    .value;
    let traces = config.exporter(Signal::Traces).endpoint();
    assert_eq!(traces.port_or_known_default(), Some(80));
    assert_eq!(traces.as_str(), "http://collector/v1/traces");
    let logs = config.exporter(Signal::Logs).endpoint();
    assert_eq!(logs.port_or_known_default(), Some(443));
    assert_eq!(logs.path(), "/path");
}

#[test]
fn grpc_endpoint_scheme_decides_tls_and_no_path_is_appended() {
    // checklist 1.8
    let config = resolve(&[
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector:4317"),
        ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://metrics:4317"),
        ("OTEL_EXPORTER_OTLP_INSECURE", "true"),
        ("OTEL_EXPORTER_OTLP_METRICS_INSECURE", "false"),
    ])
    .value;
    let traces = config.exporter(Signal::Traces);
    assert_eq!(traces.endpoint().as_str(), "https://collector:4317/");
    assert!(traces.uses_tls(), "https beats insecure=true");
    assert!(traces.insecure());
    let metrics = config.exporter(Signal::Metrics);
    assert_eq!(metrics.endpoint().as_str(), "http://metrics:4317/");
    assert!(!metrics.uses_tls(), "http beats insecure=false");
}

#[test]
fn scheme_less_grpc_endpoint_is_tls_unless_insecure() {
    // checklist 1.9
    let config = resolve(&[
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4317"),
        ("OTEL_EXPORTER_OTLP_LOGS_INSECURE", "TRUE"),
    ])
    .value;
    assert_eq!(
        config.exporter(Signal::Traces).endpoint().as_str(),
        "https://collector:4317/"
    );
    let logs = config.exporter(Signal::Logs);
    assert_eq!(logs.endpoint().as_str(), "http://collector:4317/");
    assert_eq!(
        logs.sources().insecure,
        Source::SignalEnv("OTEL_EXPORTER_OTLP_LOGS_INSECURE")
    );
    assert!(!config.exporter(Signal::Traces).insecure());
}

#[test]
fn insecure_non_boolean_is_false_with_a_warning() {
    // checklist 1.9, 1.18
    let resolved = resolve(&[
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4317"),
        ("OTEL_EXPORTER_OTLP_INSECURE", "yes"),
    ]);
    assert_eq!(
        resolved.value.exporter(Signal::Traces).endpoint().scheme(),
        "https"
    );
    assert_eq!(
        resolved.warnings,
        vec![ConfigWarning::NotBoolean {
            var: "OTEL_EXPORTER_OTLP_INSECURE",
            value: "yes".into()
        }]
    );
}

#[test]
fn tls_file_variables_are_stored_as_paths_per_signal() {
    // checklist 1.10
    let config = resolve(&[
        ("OTEL_EXPORTER_OTLP_CERTIFICATE", " /etc/otel/ca.pem "),
        ("OTEL_EXPORTER_OTLP_LOGS_CLIENT_KEY", "/etc/otel/logs.key"),
        (
            "OTEL_EXPORTER_OTLP_LOGS_CLIENT_CERTIFICATE",
            "/etc/otel/logs.crt",
        ),
    ])
    .value;
    let logs = config.exporter(Signal::Logs).tls();
    assert_eq!(logs.certificate(), Some(Path::new("/etc/otel/ca.pem")));
    assert_eq!(logs.client_key(), Some(Path::new("/etc/otel/logs.key")));
    assert_eq!(
        logs.client_certificate(),
        Some(Path::new("/etc/otel/logs.crt"))
    );
    let traces = config.exporter(Signal::Traces).tls();
    assert_eq!(traces.client_key(), None);
    assert!(!traces.has_client_auth());
}

#[test]
fn header_values_are_percent_decoded_and_malformed_pairs_warn_without_values() {
    // checklist 1.11
    let resolved = resolve(&[(
        "OTEL_EXPORTER_OTLP_HEADERS",
        "api-key=a%3Db%2Cc , Authorization=Basic AAA,broken-entry-sekrit, x=%C3%28",
    )]);
    let headers = resolved.value.exporter(Signal::Traces).headers();
    assert_eq!(headers.get("api-key"), Some("a=b,c"));
    assert_eq!(headers.get("authorization"), Some("Basic AAA"));
    assert_eq!(headers.len(), 2);
    assert_eq!(
        resolved.warnings,
        vec![
            ConfigWarning::MalformedHeader {
                var: "OTEL_EXPORTER_OTLP_HEADERS",
                index: 2,
                key: None,
                reason: "no `=` between key and value",
            },
            ConfigWarning::MalformedHeader {
                var: "OTEL_EXPORTER_OTLP_HEADERS",
                index: 3,
                key: Some("x".into()),
                reason: "value is not valid UTF-8 after percent-decoding",
            },
        ]
    );
    let text = resolved
        .warnings
        .iter()
        .map(ToString::to_string)
        .collect::<String>();
    assert!(!text.contains("sekrit") && !text.contains("AAA"), "{text}");
}

#[test]
fn timeout_is_integer_milliseconds_with_zero_meaning_no_limit() {
    // checklist 1.12
    let config = resolve(&[
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "2500"),
        ("OTEL_EXPORTER_OTLP_LOGS_TIMEOUT", "0"),
    ])
    .value;
    assert_eq!(
        config.exporter(Signal::Traces).timeout(),
        Some(Duration::from_millis(2500))
    );
    assert_eq!(config.exporter(Signal::Logs).timeout(), None);
    assert_eq!(
        resolve(&[]).value.exporter(Signal::Metrics).timeout(),
        Some(Duration::from_millis(10_000))
    );
}

#[test]
fn negative_timeout_warns_and_uses_the_default() {
    // checklist 1.12
    let resolved = resolve(&[("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "-5")]);
    let traces = resolved.value.exporter(Signal::Traces);
    assert_eq!(traces.timeout(), Some(ExporterConfig::DEFAULT_TIMEOUT));
    assert_eq!(traces.sources().timeout, Source::Default);
    assert!(matches!(
        &resolved.warnings[0],
        ConfigWarning::OutOfRange { var: "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", value, .. } if value == "-5"
    ));
}

#[test]
fn unparseable_timeout_warns_and_falls_through_to_the_next_source() {
    // checklist 1.12: "ignore" = as if unset, so the general variable applies.
    let resolved = resolve(&[
        ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "5s"),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "3000"),
    ]);
    let traces = resolved.value.exporter(Signal::Traces);
    assert_eq!(traces.timeout(), Some(Duration::from_millis(3000)));
    assert_eq!(
        traces.sources().timeout,
        Source::GeneralEnv("OTEL_EXPORTER_OTLP_TIMEOUT")
    );
    assert_eq!(resolved.warnings.len(), 1);
}

#[test]
fn compression_from_env_gzip_none_and_zstd_extension() {
    // checklist 1.13
    let resolved = resolve(&[
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "GZIP"),
        ("OTEL_EXPORTER_OTLP_METRICS_COMPRESSION", "zstd"),
        ("OTEL_EXPORTER_OTLP_LOGS_COMPRESSION", "brotli"),
    ]);
    let config = &resolved.value;
    assert_eq!(
        config.exporter(Signal::Traces).compression(),
        Compression::Gzip
    );
    assert_eq!(
        config.exporter(Signal::Metrics).compression(),
        Compression::Zstd
    );
    // Unknown value ignored: the general variable applies.
    assert_eq!(
        config.exporter(Signal::Logs).compression(),
        Compression::Gzip
    );
    assert_eq!(resolved.warnings.len(), 1);
    assert_eq!(
        resolve(&[]).value.exporter(Signal::Logs).compression(),
        Compression::None
    );
}

#[test]
fn max_request_and_response_sizes_default_to_64_and_4_mib() {
    // checklist 1.14: no variables exist; code only.
    let resolved = resolve(&[
        ("OTEL_EXPORTER_OTLP_MAX_REQUEST_SIZE", "1"),
        ("OTEL_EXPORTER_OTLP_MAX_RESPONSE_SIZE", "1"),
    ]);
    assert!(resolved.warnings.is_empty());
    for signal in Signal::ALL {
        let exporter = resolved.value.exporter(*signal);
        assert_eq!(exporter.max_request_size(), 64 * 1024 * 1024);
        assert_eq!(exporter.max_response_size(), 4 * 1024 * 1024);
    }
}

#[test]
fn empty_variables_are_treated_as_unset() {
    // checklist 1.18
    let resolved = resolve(&[
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", ""),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://general:4318"),
        ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", ""),
        ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", ""),
        ("OTEL_EXPORTER_OTLP_HEADERS", "k=v"),
        ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", " "),
    ]);
    assert!(resolved.warnings.is_empty());
    let traces = resolved.value.exporter(Signal::Traces);
    assert_eq!(traces.endpoint().as_str(), "http://general:4318/v1/traces");
    assert_eq!(traces.protocol(), Protocol::HttpProtobuf);
    assert_eq!(traces.headers().get("k"), Some("v"));
    assert_eq!(traces.sources().timeout, Source::Default);
}

#[test]
fn invalid_endpoint_is_an_error_naming_variable_and_value() {
    let error =
        OtlpConfig::from_env(&[("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "http://[bad")]).unwrap_err();
    assert!(matches!(
        &error,
        ConfigError::InvalidEndpoint { origin: Origin::Env("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"), value, .. }
            if value == "http://[bad"
    ));
    let error =
        OtlpConfig::from_env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "ftp://collector")]).unwrap_err();
    assert!(matches!(
        &error,
        ConfigError::UnsupportedScheme { origin: Origin::Env("OTEL_EXPORTER_OTLP_ENDPOINT"), scheme, .. }
            if scheme == "ftp"
    ));
}

#[test]
fn every_exporter_variable_has_a_code_equivalent_that_wins() {
    // checklist 1.19
    let env = [
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://env:1/"),
        ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json"),
        ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "env=1"),
        ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "1"),
        ("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "gzip"),
        ("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", "/env/ca"),
        ("OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", "/env/key"),
        ("OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE", "/env/cert"),
        ("OTEL_EXPORTER_OTLP_TRACES_INSECURE", "false"),
    ];
    let retry = RetryPolicy::builder().with_max_attempts(2).build().unwrap();
    let builder = ExporterConfig::builder(Signal::Traces)
        .with_endpoint("code:4317")
        .with_protocol(Protocol::Grpc)
        .with_headers(Headers::new().with("code", "2"))
        .with_timeout(Some(Duration::from_secs(3)))
        .with_compression(Compression::Zstd)
        .with_certificate("/code/ca")
        .with_client_key("/code/key")
        .with_client_certificate("/code/cert")
        .with_insecure(true)
        .with_max_request_size(10)
        .with_max_response_size(20)
        .with_retry_policy(retry);
    let config = OtlpConfig::builder()
        .with_exporter(builder)
        .build(&env)
        .unwrap()
        .value;
    let traces = config.exporter(Signal::Traces);
    assert_eq!(traces.endpoint().as_str(), "http://code:4317/");
    assert_eq!(traces.protocol(), Protocol::Grpc);
    assert_eq!(
        traces.headers().iter().collect::<Vec<_>>(),
        vec![("code", "2")]
    );
    assert_eq!(traces.timeout(), Some(Duration::from_secs(3)));
    assert_eq!(traces.compression(), Compression::Zstd);
    assert_eq!(traces.tls().certificate(), Some(Path::new("/code/ca")));
    assert_eq!(traces.tls().client_key(), Some(Path::new("/code/key")));
    assert_eq!(
        traces.tls().client_certificate(),
        Some(Path::new("/code/cert"))
    );
    assert!(traces.insecure());
    assert_eq!(traces.max_request_size(), 10);
    assert_eq!(traces.max_response_size(), 20);
    assert_eq!(traces.retry_policy().max_attempts(), 2);
    let s = traces.sources();
    for source in [
        s.endpoint,
        s.protocol,
        s.headers,
        s.timeout,
        s.compression,
        s.certificate,
        s.client_key,
        s.client_certificate,
        s.insecure,
        s.max_request_size,
        s.max_response_size,
        s.retry_policy,
    ] {
        assert_eq!(source, Source::Code);
    }
}

#[test]
fn every_signal_variable_is_read_for_its_own_signal_only() {
    // checklist 1.3, 1.10: all 27 per-signal variables, one signal at a time.
    use otlpkit_core::ExporterVar;
    for signal in Signal::ALL {
        for option in ExporterVar::ALL {
            let var = option.for_signal(*signal);
            let mut env: Vec<(&str, &str)> = Vec::new();
            match option {
                ExporterVar::Endpoint => env.push((var, "http://x:1/p")),
                ExporterVar::Protocol => env.push((var, "http/json")),
                ExporterVar::Headers => env.push((var, "k=v")),
                ExporterVar::Timeout => env.push((var, "1234")),
                ExporterVar::Compression => env.push((var, "gzip")),
                ExporterVar::Certificate => env.push((var, "/ca.pem")),
                ExporterVar::Insecure => env.push((var, "true")),
                // mTLS needs both halves: set the pair for this signal.
                ExporterVar::ClientKey | ExporterVar::ClientCertificate => {
                    env.push((ExporterVar::ClientKey.for_signal(*signal), "/k.pem"));
                    env.push((ExporterVar::ClientCertificate.for_signal(*signal), "/c.pem"));
                }
                _ => unreachable!("a new ExporterVar needs a value here"),
            }
            let resolved = OtlpConfig::from_env(&env).unwrap();
            assert!(
                resolved.warnings.is_empty(),
                "{var}: {:?}",
                resolved.warnings
            );
            for other in Signal::ALL {
                let config = resolved.value.exporter(*other);
                let s = config.sources();
                let source = match option {
                    ExporterVar::Endpoint => s.endpoint,
                    ExporterVar::Protocol => s.protocol,
                    ExporterVar::Headers => s.headers,
                    ExporterVar::Timeout => s.timeout,
                    ExporterVar::Compression => s.compression,
                    ExporterVar::Certificate => s.certificate,
                    ExporterVar::ClientKey => s.client_key,
                    ExporterVar::ClientCertificate => s.client_certificate,
                    ExporterVar::Insecure => s.insecure,
                    _ => unreachable!(),
                };
                if other == signal {
                    assert_eq!(source, Source::SignalEnv(var), "{var}");
                } else {
                    assert_eq!(source, Source::Default, "{var} leaked into {other}");
                }
            }
        }
    }
}

/// A general endpoint that already ends in `/v1/traces` gets `/v1/<signal>`
/// appended as the specification says, and a warning per OTLP/HTTP signal
/// says where its requests go and which variable takes a full URL.
#[test]
fn a_signal_path_in_the_general_endpoint_warns_where_requests_go() {
    let resolved = resolve(&[
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "http://user:pw@collector:4318/v1/traces",
        ),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
    ]);
    assert_eq!(
        resolved.value.exporter(Signal::Traces).endpoint().as_str(),
        "http://user:pw@collector:4318/v1/traces/v1/traces"
    );
    let traces = resolved
        .warnings
        .iter()
        .find(|w| {
            matches!(
                w,
                ConfigWarning::SignalPathInBaseEndpoint {
                    signal: Signal::Traces,
                    ..
                }
            )
        })
        .expect("a warning for traces");
    assert_eq!(traces.var(), "OTEL_EXPORTER_OTLP_ENDPOINT");
    let text = traces.to_string();
    assert!(
        text.contains("traces go to http://<redacted>@collector:4318/v1/traces/v1/traces"),
        "{text}"
    );
    assert!(
        text.contains("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
        "{text}"
    );
    assert!(!text.contains("pw"), "{text}");
    let signal_path_warnings = resolved
        .warnings
        .iter()
        .filter(|w| matches!(w, ConfigWarning::SignalPathInBaseEndpoint { .. }))
        .count();
    assert_eq!(signal_path_warnings, 3, "{:?}", resolved.warnings);

    // A base path that is not a signal's, and the signal's own variable: no warning.
    for pairs in [
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/otlp")][..],
        &[(
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "http://collector:4318/v1/traces",
        )][..],
    ] {
        let mut pairs = pairs.to_vec();
        pairs.push(("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"));
        let resolved = resolve(&pairs);
        assert!(
            !resolved
                .warnings
                .iter()
                .any(|w| matches!(w, ConfigWarning::SignalPathInBaseEndpoint { .. })),
            "{pairs:?}: {:?}",
            resolved.warnings
        );
    }
}
