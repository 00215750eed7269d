//! Resource detection end to end: the resource a pipeline built by the
//! facade sends carries the detected host, OS, process and runtime
//! attributes, the crate's `service.version` from `service_info!`, and the
//! user's values where they overlap; `OTLPKIT_RESOURCE_DETECTION=off` leaves
//! the detected ones out. Checked as the testkit receiver got them.
//!
//! Nothing global is installed (`build_with_env`), so the tests share one
//! process.

use opentelemetry::trace::{Tracer as _, TracerProvider as _};
use otlpkit::core::{MapEnv, ResourceConfig};
use otlpkit_testkit::proto::common::v1::any_value::Value;
use otlpkit_testkit::{Origin, Receiver};

/// Sends one span through a pipeline built with `resource` and the
/// environment `extra` (beside the receiver's endpoint), and returns the
/// resource it arrived with.
fn send(resource: otlpkit::core::ResourceConfigBuilder, extra: &[(&str, &str)]) -> Origin {
    let receiver = Receiver::start().unwrap();
    let mut env = MapEnv::from([
        ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.http_endpoint()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf".to_owned()),
    ]);
    for (key, value) in extra {
        env.set(*key, *value);
    }
    let telemetry = otlpkit::builder()
        .with_resource_config(resource)
        .build_with_env(&env)
        .unwrap();
    assert!(
        telemetry.warnings().is_empty(),
        "{:?}",
        telemetry.warnings()
    );
    let tracer = telemetry.tracer_provider().unwrap().tracer("detection");
    tracer.in_span("detected", |_| {});
    let report = telemetry.shutdown();
    assert!(report.is_complete(), "{report}");
    receiver.span("detected").unwrap().origin
}

const DETECTED: [&str; 9] = [
    "service.instance.id",
    "host.arch",
    "os.type",
    "process.pid",
    "process.executable.name",
    "process.runtime.name",
    "process.runtime.version",
    "process.runtime.description",
    "host.name",
];

#[test]
fn the_resource_arrives_with_the_detected_attributes_and_the_crate_version() {
    let origin = send(
        ResourceConfig::builder().with_service_info(otlpkit::core::service_info!()),
        &[],
    );
    let get = |key: &str| origin.resource_attribute_str(key);
    // service_info!() read this test crate's manifest.
    assert_eq!(get("service.name"), Some(env!("CARGO_PKG_NAME")));
    assert_eq!(get("service.version"), Some(env!("CARGO_PKG_VERSION")));
    let instance = get("service.instance.id").unwrap();
    assert_eq!(instance.len(), 36, "{instance}");
    assert_eq!(instance.as_bytes()[14], b'4', "a UUID v4: {instance}");
    assert!(get("host.arch").is_some_and(|arch| !arch.is_empty()));
    assert_eq!(
        get("os.type"),
        Some(if cfg!(target_os = "linux") {
            "linux"
        } else {
            std::env::consts::OS
        })
    );
    let exe = std::env::current_exe().unwrap();
    assert_eq!(
        get("process.executable.name"),
        exe.file_name().and_then(|name| name.to_str())
    );
    assert_eq!(get("process.runtime.name"), Some("rustc"));
    assert!(
        get("process.runtime.description").is_some_and(|d| d.starts_with("rustc 1.")),
        "{:?}",
        get("process.runtime.description")
    );
    let pid = i64::from(std::process::id());
    // An integer, as the semantic conventions type it.
    match origin.resource_attribute("process.pid") {
        Some(Value::IntValue(value)) => assert_eq!(*value, pid),
        other => panic!("process.pid: {other:?}"),
    }
    if cfg!(target_os = "linux") {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
        assert_eq!(get("host.name"), Some(host.trim()));
        assert!(get("os.description").is_some_and(|d| d.contains("Linux")));
    }
    // The official SDK's identity and otlpkit's are still there.
    assert_eq!(get("telemetry.sdk.name"), Some("opentelemetry"));
    assert_eq!(get("telemetry.distro.name"), Some("otlpkit"));
}

#[test]
fn the_environment_and_code_win_and_detection_can_be_switched_off() {
    let origin = send(
        ResourceConfig::builder()
            .with_service_info(otlpkit::core::service_info!())
            .with_attribute("host.arch", "from-code"),
        &[(
            "OTEL_RESOURCE_ATTRIBUTES",
            "host.name=from-env,service.version=9.9.9",
        )],
    );
    assert_eq!(origin.resource_attribute_str("host.name"), Some("from-env"));
    assert_eq!(
        origin.resource_attribute_str("host.arch"),
        Some("from-code")
    );
    assert_eq!(
        origin.resource_attribute_str("service.version"),
        Some("9.9.9")
    );

    let origin = send(
        ResourceConfig::builder(),
        &[
            ("OTLPKIT_RESOURCE_DETECTION", "off"),
            ("OTEL_SERVICE_NAME", "plain"),
        ],
    );
    assert_eq!(origin.resource_attribute_str("service.name"), Some("plain"));
    for key in DETECTED {
        assert!(origin.resource_attribute(key).is_none(), "{key}");
    }
    assert_eq!(
        origin.resource_attribute_str("telemetry.distro.name"),
        Some("otlpkit")
    );
}
