//! Resolution never panics, whatever the environment holds (checklist 4.10:
//! no panics at runtime), and header values never leak into `Debug` output,
//! warnings or errors.

use otlpkit_core::{EnvPolicy, Headers, MapEnv, OtlpConfig, vars};
use proptest::prelude::*;

/// Values that exercise the parsers: arbitrary text plus near-miss values.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "\\PC{0,40}",
        "[-+]?[0-9]{0,12}",
        "(https?|grpc|ftp|unix)://[a-z\\[\\]:.@%/0-9]{0,30}",
        "[a-zA-Z0-9_.:-]{0,12}(:[0-9]{0,6})?",
        "([a-zA-Z%=, ;]{0,8}=[a-zA-Z0-9%=, ]{0,8},?){0,4}",
        prop::sample::select(vec![
            "",
            " ",
            "true",
            "FALSE",
            "none",
            "grpc",
            "http/json",
            "-1",
            "0",
            "2147483648",
            "NaN",
            "%",
            "%F",
            "%FF",
            "=",
            ",",
            ",,=,",
            "none,otlp",
            "block",
            "0.5",
            // Tail sampling: its switch and its ratio's near misses.
            "on",
            "OFF",
            "0.1",
            "1.0000001",
            "-0.0",
            "inf",
            "1e308",
            // Values that once took the process down or were silently
            // misread: huge bounds, an underflowing ratio, framing headers,
            // a long header list.
            "1000000000",
            "2147483647",
            "1e-400",
            "content-length=5",
            "host=evil.example,transfer-encoding=chunked,te=trailers",
            ":authority=x,connection=close,upgrade=h2c",
            // Spool values: fsync names, byte counts past u32 and u64,
            // paths.
            "always",
            "NEVER",
            "10737418240",
            "18446744073709551616",
            "/tmp/otlpkit-spool",
            "./relative/spool",
        ])
        .prop_map(str::to_owned),
    ]
}

/// A header list of `n` entries.
fn long_header_list(n: usize) -> String {
    (0..n)
        .map(|i| format!("x-h{i}=v{i}"))
        .collect::<Vec<_>>()
        .join(",")
}

#[test]
fn huge_settings_resolve_without_allocating_or_failing() {
    let env = MapEnv::from([
        ("OTEL_BSP_MAX_QUEUE_SIZE", "2147483647".to_owned()),
        ("OTEL_BLRP_MAX_QUEUE_SIZE", "1000000000".to_owned()),
        ("OTEL_EXPORTER_OTLP_HEADERS", long_header_list(20_000)),
        ("OTEL_TRACES_SAMPLER", "traceidratio".to_owned()),
        ("OTEL_TRACES_SAMPLER_ARG", "1e-400".to_owned()),
    ]);
    let resolved = OtlpConfig::from_env(&env).unwrap();
    let config = resolved.value;
    assert_eq!(config.span_batch().max_queue_size(), 2_147_483_647);
    assert_eq!(config.log_batch().max_queue_size(), 1_000_000_000);
    assert_eq!(
        config
            .exporter(otlpkit_core::Signal::Traces)
            .headers()
            .len(),
        20_000
    );
    assert!(
        resolved
            .warnings
            .iter()
            .any(|warning| warning.to_string().contains("no trace will be sampled")),
        "{:?}",
        resolved.warnings
    );
}

#[test]
fn tail_sampling_extremes_resolve_to_bounded_values_or_warnings() {
    let env = MapEnv::from([
        ("OTLPKIT_TAIL_SAMPLING", "on"),
        ("OTLPKIT_TAIL_SAMPLING_LATENCY_MS", "2147483647"),
        ("OTLPKIT_TAIL_SAMPLING_RATIO", "NaN"),
        ("OTLPKIT_TAIL_SAMPLING_DECISION_WAIT_MS", "2147483648"),
        ("OTLPKIT_TAIL_SAMPLING_MAX_TRACES", "2147483647"),
    ]);
    let resolved = OtlpConfig::from_env(&env).unwrap();
    let tail = resolved.value.tail_sampling();
    assert!(tail.enabled());
    assert_eq!(
        tail.latency_threshold(),
        Some(std::time::Duration::from_millis(2_147_483_647))
    );
    assert_eq!(
        tail.ratio(),
        otlpkit_core::TailSamplingConfig::DEFAULT_RATIO
    );
    assert_eq!(
        tail.decision_wait(),
        otlpkit_core::TailSamplingConfig::DEFAULT_DECISION_WAIT
    );
    assert_eq!(tail.max_traces(), 2_147_483_647);
    let vars: Vec<_> = resolved.warnings.iter().map(|w| w.var()).collect();
    assert_eq!(
        vars,
        [
            "OTLPKIT_TAIL_SAMPLING_RATIO",
            "OTLPKIT_TAIL_SAMPLING_DECISION_WAIT_MS"
        ]
    );
}

#[test]
fn spool_settings_resolve_with_typed_warnings_and_never_fail() {
    let env = MapEnv::from([
        ("OTLPKIT_SPOOL_DIR", "/tmp/otlpkit-spool"),
        ("OTLPKIT_SPOOL_MAX_BYTES", "18446744073709551616"),
        ("OTLPKIT_SPOOL_FSYNC", "0"),
    ]);
    let resolved = OtlpConfig::from_env(&env).unwrap();
    let spool = resolved.value.spool();
    assert!(spool.is_enabled());
    assert_eq!(
        spool.max_bytes(),
        otlpkit_core::SpoolConfig::DEFAULT_MAX_BYTES
    );
    assert_eq!(spool.fsync(), otlpkit_core::FsyncPolicy::DEFAULT);
    let vars: Vec<_> = resolved.warnings.iter().map(|w| w.var()).collect();
    assert_eq!(vars, ["OTLPKIT_SPOOL_MAX_BYTES", "OTLPKIT_SPOOL_FSYNC"]);
}

#[test]
fn framing_and_routing_headers_are_refused_with_a_warning() {
    let env = MapEnv::from([(
        "OTEL_EXPORTER_OTLP_HEADERS",
        "content-length=5,Host=evil.example,transfer-encoding=chunked,connection=close,\
         te=trailers,upgrade=h2c,:authority=x,keep-alive=1,x-tenant=acme",
    )]);
    let resolved = OtlpConfig::from_env(&env).unwrap();
    let headers = resolved
        .value
        .exporter(otlpkit_core::Signal::Traces)
        .headers()
        .clone();
    assert_eq!(headers.keys().collect::<Vec<_>>(), ["x-tenant"]);
    let refused = resolved
        .warnings
        .iter()
        .filter(|warning| warning.var() == "OTEL_EXPORTER_OTLP_HEADERS")
        .count();
    assert_eq!(refused, 8, "{:?}", resolved.warnings);
    // From code, the same names are an error naming the key.
    let error = otlpkit_core::ExporterConfig::builder(otlpkit_core::Signal::Traces)
        .with_header("Content-Length", "5")
        .build(&MapEnv::new())
        .unwrap_err();
    assert!(error.to_string().contains("Content-Length"), "{error}");
}

/// A random subset of the known variables, each with a random value.
fn environment() -> impl Strategy<Value = MapEnv> {
    prop::collection::vec((prop::sample::select(vars::ALL.to_vec()), value()), 0..24)
        .prop_map(|pairs| pairs.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn resolution_returns_ok_or_err_for_any_environment(env in environment()) {
        // checklist 4.10 (and 1.18 for every variable)
        for policy in [EnvPolicy::Lenient, EnvPolicy::Strict] {
            match OtlpConfig::builder().with_env_policy(policy).build(&env) {
                Ok(resolved) => {
                    let _ = format!("{:?}", resolved.value);
                    for warning in &resolved.warnings {
                        let _ = warning.to_string();
                    }
                }
                Err(error) => {
                    let _ = error.to_string();
                }
            }
        }
    }

    #[test]
    fn every_variable_alone_with_any_value_never_panics(
        var in prop::sample::select(vars::ALL.to_vec()),
        raw in value(),
    ) {
        // checklist 4.10
        let env = MapEnv::new().with(var, raw);
        let lenient = OtlpConfig::from_env(&env);
        let strict = OtlpConfig::builder().with_env_policy(EnvPolicy::Strict).build(&env);
        // Strict mode succeeds exactly when lenient resolution succeeds without warnings.
        match (&lenient, &strict) {
            (Ok(l), Ok(_)) => prop_assert!(l.warnings.is_empty()),
            (Ok(l), Err(_)) => prop_assert!(!l.warnings.is_empty()),
            (Err(l), Err(s)) => prop_assert_eq!(l, s),
            (Err(_), Ok(_)) => prop_assert!(false, "strict accepted what lenient rejected"),
        }
    }

    #[test]
    fn header_values_never_appear_in_debug_warnings_or_errors(
        keys in prop::collection::vec("[a-z][a-z0-9-]{0,8}", 1..4),
        garbage in "[^=,]{0,10}",
    ) {
        // checklist 1.11: all header values are secret.
        let secret = "S3CR3T-VALUE";
        let mut list: Vec<String> = keys.iter().map(|k| format!("{k}={secret}")).collect();
        list.push(format!("{garbage}{secret}"));
        list.push(format!("bad key={secret}"));
        list.push(format!("k=%FF{secret}"));
        let env = MapEnv::new()
            .with("OTEL_EXPORTER_OTLP_HEADERS", list.join(","))
            .with("OTEL_EXPORTER_OTLP_TRACES_HEADERS", list.join(","));
        let mut shown = vec![format!("{env:?}")];
        let resolved = OtlpConfig::from_env(&env).unwrap();
        shown.push(format!("{:?}", resolved.value));
        shown.push(format!("{:#?}", resolved.value));
        for warning in &resolved.warnings {
            shown.push(warning.to_string());
            shown.push(format!("{warning:?}"));
        }
        let error = OtlpConfig::builder()
            .with_env_policy(EnvPolicy::Strict)
            .build(&env)
            .unwrap_err();
        shown.push(format!("{error} {error:?}"));
        let (headers, issues) = Headers::parse(&list.join(","));
        shown.push(format!("{headers:?} {issues:?}"));
        for text in shown {
            prop_assert!(!text.contains(secret), "leaked: {}", text);
        }
    }
}
