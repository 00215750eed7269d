//! A `*_HEADERS` variable set to a secret alone (no `name=`) is never sent
//! as a header name nor echoed by a warning, an error or a `Debug`.

use otlpkit_core::{ConfigWarning, EnvPolicy, ExporterConfig, MapEnv, OtlpConfig, Signal};
use proptest::prelude::*;

const VAR: &str = "OTEL_EXPORTER_OTLP_HEADERS";

/// Whether `text` contains `secret` or any 8-character part of it.
fn shows_part_of(text: &str, secret: &str) -> bool {
    let chars: Vec<char> = secret.chars().collect();
    chars
        .windows(8.min(chars.len()))
        .any(|part| text.contains(&part.iter().collect::<String>()))
}

#[test]
fn a_bare_api_key_is_not_a_header_and_its_warning_does_not_show_it() {
    for token in ["sk_live_Zm9vYmFyYmF6cXV4==", "Zm9v+YmFy/YmF6cXV4cXV1eA=="] {
        let list = format!("x-tenant=acme,{token}");
        let resolved = OtlpConfig::from_env(&[(VAR, list.as_str())]).unwrap();
        let exporter = resolved.value.exporter(Signal::Traces);
        assert_eq!(
            exporter.headers().iter().collect::<Vec<_>>(),
            vec![("x-tenant", "acme")],
            "{token}"
        );
        assert_eq!(resolved.warnings.len(), 1, "{token}");
        let warning = &resolved.warnings[0];
        assert!(
            matches!(
                warning,
                ConfigWarning::MalformedHeader {
                    var: VAR,
                    index: 1,
                    key: None,
                    ..
                }
            ),
            "{warning:?}"
        );
        let text = format!("{warning} {warning:?} {exporter:?}");
        assert!(text.contains("entry #1"), "{text}");
        assert!(text.contains("bare token"), "{text}");
        assert!(!shows_part_of(&text, token), "{token}: {text}");
    }
}

#[test]
fn an_invalid_key_that_may_be_a_secret_is_named_by_its_length() {
    let token = "Zm9v+YmFy/YmF6cXV4";
    let list = format!("{token}=cXV1eA");
    let resolved = OtlpConfig::from_env(&[(VAR, list.as_str())]).unwrap();
    assert!(resolved.value.exporter(Signal::Traces).headers().is_empty());
    assert_eq!(
        resolved.warnings,
        vec![ConfigWarning::MalformedHeader {
            var: VAR,
            index: 0,
            key: Some("<redacted: 18 characters>".into()),
            reason: "key contains a character not allowed in a header name",
        }]
    );
    let text = format!("{} {:?}", resolved.warnings[0], resolved.warnings[0]);
    assert!(!shows_part_of(&text, token), "{text}");
}

#[test]
fn a_bare_api_key_stays_secret_in_strict_mode_and_beside_code_headers() {
    let token = "sk_live_Zm9vYmFyYmF6cXV4==";
    let env = MapEnv::from([(VAR, token)]);
    let error = OtlpConfig::builder()
        .with_env_policy(EnvPolicy::Strict)
        .build(&env)
        .unwrap_err();
    let text = format!("{error} {error:?}");
    assert!(!shows_part_of(&text, token), "{text}");

    // Headers set in code replace the variable's: the keys it loses are
    // named, and a bare token is not a key.
    let resolved = OtlpConfig::builder()
        .with_exporter(ExporterConfig::builder(Signal::Traces).with_header("x-tenant", "acme"))
        .build(&env)
        .unwrap();
    let text = format!("{:?}", resolved.warnings);
    assert!(!shows_part_of(&text, token), "{text}");
}

proptest! {
    #[test]
    fn no_part_of_a_bare_token_is_ever_shown(
        token in "[A-Za-z0-9+/_]{8,40}",
        padding in "={1,2} ?",
        position in 0usize..3,
    ) {
        let mut list = vec!["x-tenant=acme".to_owned(), "b=2".to_owned()];
        list.insert(position.min(list.len()), format!("{token}{padding}"));
        let list = list.join(",");
        let resolved = OtlpConfig::from_env(&[(VAR, list.as_str())]).unwrap();
        let exporter = resolved.value.exporter(Signal::Traces);
        prop_assert_eq!(exporter.headers().len(), 2);
        prop_assert_eq!(resolved.warnings.len(), 1);
        let warning = &resolved.warnings[0];
        let text = format!("{warning} {warning:?} {exporter:?}");
        prop_assert!(!shows_part_of(&text, &token), "leaked: {}", text);
    }
}
