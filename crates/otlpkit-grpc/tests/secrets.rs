//! A credential in the headers is sent to the collector and nowhere else:
//! not in `Debug` of the builder or the exporter, not in any error's
//! `Display` or `Debug`, and not in any log line of any crate (captured here
//! at TRACE level from every thread, the worker's and tonic's included).
//!
//! This binary holds a single test because it installs the global subscriber.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use opentelemetry_sdk::trace::SpanExporter as _;
use otlpkit_core::MapEnv;
use otlpkit_fixtures::exec::block_on;
use otlpkit_grpc::SpanExporter;
use otlpkit_testkit::{Code, Fault, Receiver, Signal};
use support::{WAIT, fast_policy, spans, spans_to};

const SECRET: &str = "s3cr3t";

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

fn assert_clean(what: &str, text: &str) {
    assert!(!text.contains(SECRET), "{what} leaks the secret: {text}");
}

#[test]
fn a_bearer_token_never_leaves_the_request() {
    let logs = Captured::default();
    let writer = logs.clone();
    // otlpkit's own diagnostics too, which go to standard error by default.
    otlpkit_core::diag::set_output(otlpkit_core::diag::Output::Tracing);
    otlpkit_core::diag::set_max_level(otlpkit_core::LogLevel::Trace);
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();

    let receiver = Receiver::start().unwrap();
    let builder = spans_to(&receiver).with_header("Authorization", format!("Bearer {SECRET}"));
    assert_clean("builder Debug", &format!("{builder:?}"));
    let exporter = builder.build().unwrap();
    assert_clean("exporter Debug", &format!("{exporter:?}"));
    assert_clean("config Debug", &format!("{:?}", exporter.config()));

    // It is sent, though.
    block_on(exporter.export(spans("authorized", 1))).unwrap();
    let request = &receiver.wait_for_requests(1, WAIT).unwrap()[0];
    assert_eq!(
        request.headers.get("authorization"),
        Some(format!("Bearer {SECRET}").as_str())
    );

    // A server that echoes the token in its status message and in a partial success.
    receiver.push_fault(
        Signal::Traces,
        Fault::grpc_status(
            Code::Unauthenticated,
            format!("token Bearer {SECRET} is not valid"),
        ),
    );
    let error = block_on(exporter.export(spans("echoed", 2))).unwrap_err();
    assert_clean("error Display", &error.to_string());
    assert_clean("error Debug", &format!("{error:?}"));
    receiver.push_fault(
        Signal::Traces,
        Fault::partial_success(1, format!("rejected for {SECRET}")),
    );
    block_on(exporter.export(spans("partial", 2))).unwrap();
    // Only the token of the `Bearer` value, and the statistics' last failure.
    receiver.push_fault(
        Signal::Traces,
        Fault::grpc_status(
            Code::PermissionDenied,
            format!("invalid bearer token '{SECRET}'"),
        ),
    );
    let error = block_on(exporter.export(spans("token-only", 1))).unwrap_err();
    assert_clean("token-only error", &format!("{error} {error:?}"));
    assert!(
        error
            .to_string()
            .contains("invalid bearer token '<redacted>'"),
        "{error}"
    );
    let last = exporter
        .stats()
        .snapshot()
        .signal(otlpkit_core::Signal::Traces)
        .last_error
        .expect("a last failure");
    assert_clean("last failure", &format!("{last} {last:?}"));

    // A connection failure.
    let refused = SpanExporter::builder()
        .with_env(MapEnv::new())
        .with_endpoint("http://127.0.0.1:1")
        .with_header("authorization", format!("Bearer {SECRET}"))
        .with_retry_policy(fast_policy(2))
        .build()
        .unwrap();
    let error = block_on(refused.export(spans("refused", 1))).unwrap_err();
    assert_clean("connect error", &format!("{error} {error:?}"));

    // Build errors name the key, never the value.
    for builder in [
        spans_to(&receiver).with_header("x-api-key", format!("{SECRET}\u{e9}")),
        spans_to(&receiver).with_header("grpc-api-key", SECRET),
        spans_to(&receiver).with_header("bad key", SECRET),
    ] {
        let error = builder.build().unwrap_err();
        assert_clean("build error", &format!("{error} {error:?}"));
    }
    // An environment variable with the token, resolved by the builder.
    let env = MapEnv::new()
        .with(
            "OTEL_EXPORTER_OTLP_HEADERS",
            format!("authorization=Bearer%20{SECRET}"),
        )
        .with(
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            receiver.grpc_endpoint(),
        );
    let from_env = SpanExporter::builder().with_env(env).build().unwrap();
    assert_clean("env exporter Debug", &format!("{from_env:?}"));
    block_on(from_env.export(spans("from-env", 1))).unwrap();

    // A password in the endpoint cannot travel over gRPC: a warning says
    // so, without the password.
    let userinfo = SpanExporter::builder()
        .with_env(MapEnv::new())
        .with_endpoint(
            receiver
                .grpc_endpoint()
                .replace("http://", &format!("http://user:{SECRET}@")),
        )
        .build()
        .unwrap();
    assert_clean("userinfo exporter Debug", &format!("{userinfo:?}"));

    exporter.shutdown().unwrap();
    refused.shutdown().unwrap();
    from_env.shutdown().unwrap();
    userinfo.shutdown().unwrap();

    let captured = logs.text();
    // The capture works: the worker's failure warning and tonic/h2 traces are there.
    assert!(captured.contains("otlpkit"), "{captured}");
    assert!(captured.contains("h2"), "no transport logs captured");
    // checklist 2.11: the partial success is logged, with the echoed token scrubbed.
    assert!(
        captured.contains("rejected 1 of 2 spans as a partial success: rejected for <redacted>"),
        "{captured}"
    );
    assert!(
        captured.contains("the user name and password of the traces endpoint http://127.0.0.1:"),
        "{captured}"
    );
    assert!(captured.contains("are not sent over gRPC"), "{captured}");
    assert_clean("log output", &captured);
}
