//! `ProcessEnv` against a real process environment. The test re-runs its own
//! test binary as a child process with a prepared environment, so the parent's
//! environment is never mutated.

#![cfg(unix)]

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::process::Command;

use otlpkit_core::{ConfigWarning, OtlpConfig, ProcessEnv, Protocol, Signal};

const CHILD_MARKER: &str = "OTLPKIT_CORE_TEST_CHILD";
const TEST_NAME: &str = "process_env_is_read_and_non_unicode_values_are_warnings";

#[test]
fn process_env_is_read_and_non_unicode_values_are_warnings() {
    // checklist 1.18, 4.10: a value that is not Unicode is reported, never a panic.
    if std::env::var_os(CHILD_MARKER).is_some() {
        let resolved = OtlpConfig::from_env(&ProcessEnv).unwrap();
        assert_eq!(
            resolved.warnings,
            vec![ConfigWarning::NotUnicode {
                var: "OTEL_SERVICE_NAME"
            }]
        );
        assert_eq!(
            resolved.value.exporter(Signal::Traces).protocol(),
            Protocol::Grpc
        );
        assert!(
            resolved
                .value
                .resource()
                .service_name()
                .starts_with("unknown_service")
        );
        return;
    }

    let output = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", TEST_NAME, "--test-threads=1"])
        .env_clear()
        .env(CHILD_MARKER, "1")
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
        .env("OTEL_SERVICE_NAME", OsStr::from_bytes(b"svc\xff\xfe"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("1 passed"),
        "the child ran no test: {stdout}"
    );
}
