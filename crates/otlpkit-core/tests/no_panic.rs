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
        ])
        .prop_map(str::to_owned),
    ]
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
