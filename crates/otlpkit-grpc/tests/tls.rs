//! TLS with certificates generated in the test (checklist 1.8, 1.10): a
//! TLS-terminating proxy (rustls) in front of the testkit receiver, a custom
//! CA, mTLS, and the failures a user must get a clear error for.
#![cfg_attr(not(feature = "tls"), allow(unused_imports))]

mod support;

use std::time::Duration;

use opentelemetry_sdk::trace::SpanExporter as _;
use otlpkit_core::stats::DropReason;
use otlpkit_fixtures::exec::block_on;
use otlpkit_grpc::BuildError;
use otlpkit_testkit::Receiver;
use support::{Pki, TlsProxy, WAIT, fast_policy, spans, spans_to, traces};

#[cfg(feature = "tls")]
#[test]
fn server_verified_tls_with_a_custom_ca() {
    let pki = Pki::generate();
    let receiver = Receiver::start().unwrap();
    let proxy = TlsProxy::start(&pki, receiver.grpc_addr(), false);
    let exporter = spans_to(&receiver)
        .with_endpoint(proxy.https_endpoint())
        .with_certificate(&pki.ca_cert)
        .build()
        .unwrap();
    assert!(exporter.config().uses_tls());
    block_on(exporter.export(spans("over-tls", 3))).unwrap();
    assert_eq!(receiver.wait_for_spans(3, WAIT).unwrap().len(), 3);
    assert_eq!(traces(exporter.stats()).exported, 3);
    assert!(proxy.failures().is_empty(), "{:?}", proxy.failures());
}

#[cfg(feature = "tls")]
#[test]
fn mutual_tls_with_a_client_certificate() {
    let pki = Pki::generate();
    let receiver = Receiver::start().unwrap();
    let proxy = TlsProxy::start(&pki, receiver.grpc_addr(), true);
    let exporter = spans_to(&receiver)
        .with_endpoint(proxy.https_endpoint())
        .with_certificate(&pki.ca_cert)
        .with_client_certificate(&pki.client_cert)
        .with_client_key(&pki.client_key)
        .build()
        .unwrap();
    block_on(exporter.export(spans("mtls", 2))).unwrap();
    assert_eq!(receiver.wait_for_spans(2, WAIT).unwrap().len(), 2);

    // Without the client certificate the server refuses the connection. With TLS 1.3
    // the client learns it only after its side of the handshake, when the server
    // closes the connection: the export fails as a lost connection, with a hint.
    let anonymous = spans_to(&receiver)
        .with_endpoint(proxy.https_endpoint())
        .with_certificate(&pki.ca_cert)
        .build()
        .unwrap();
    let error = block_on(anonymous.export(spans("anonymous", 4))).unwrap_err();
    let text = error.to_string();
    assert!(text.contains("client certificate"), "{text}");
    let stats = traces(anonymous.stats());
    assert_eq!(stats.dropped_total(), 4, "{text}");
    assert_eq!(stats.exported, 0);
    assert_eq!(receiver.span_count(), 2);
    let failures = proxy.failures();
    assert!(
        failures.iter().any(|f| f.contains("certificate")),
        "{failures:?}"
    );
}

// A certificate from another CA fails verification: a Tls error, not retried.
#[cfg(feature = "tls")]
#[test]
fn a_server_certificate_from_another_ca_is_a_clear_tls_error() {
    let pki = Pki::generate();
    let other = Pki::generate();
    let receiver = Receiver::start().unwrap();
    let proxy = TlsProxy::start(&pki, receiver.grpc_addr(), false);
    for exporter in [
        // The wrong custom CA.
        spans_to(&receiver)
            .with_endpoint(proxy.https_endpoint())
            .with_certificate(&other.ca_cert)
            .build()
            .unwrap(),
        // No custom CA: the public roots do not know the test CA either.
        spans_to(&receiver)
            .with_endpoint(proxy.https_endpoint())
            .build()
            .unwrap(),
    ] {
        let error = block_on(exporter.export(spans("untrusted", 2))).unwrap_err();
        let text = error.to_string();
        assert!(text.contains("TLS handshake"), "{text}");
        assert!(
            text.contains("invalid peer certificate: UnknownIssuer"),
            "{text}"
        );
        let stats = traces(exporter.stats());
        assert_eq!(stats.dropped(DropReason::NonRetryable), 2, "{text}");
        assert_eq!((stats.failed_attempts, stats.retries), (1, 0));
    }
    assert_eq!(receiver.request_count(), 0);
}

// `https://` to a plaintext server: the handshake fails with a TLS error that says so.
#[cfg(feature = "tls")]
#[test]
fn https_to_a_plaintext_server_is_a_clear_tls_error() {
    let pki = Pki::generate();
    let receiver = Receiver::start().unwrap();
    let exporter = spans_to(&receiver)
        .with_endpoint(format!("https://{}", receiver.grpc_addr()))
        .with_certificate(&pki.ca_cert)
        .build()
        .unwrap();
    let error = block_on(exporter.export(spans("mismatch", 1))).unwrap_err();
    let text = error.to_string();
    assert!(text.contains("TLS handshake"), "{text}");
    assert!(text.contains("http://"), "{text}");
    assert_eq!(
        traces(exporter.stats()).dropped(DropReason::NonRetryable),
        1
    );
}

// `http://` to a TLS server: no response ever comes; the error says what to try.
#[cfg(feature = "tls")]
#[test]
fn http_to_a_tls_server_is_a_clear_error() {
    let pki = Pki::generate();
    let receiver = Receiver::start().unwrap();
    let proxy = TlsProxy::start(&pki, receiver.grpc_addr(), false);
    let exporter = spans_to(&receiver)
        .with_endpoint(format!("http://{}", proxy.addr()))
        .with_retry_policy(fast_policy(2))
        .with_timeout(Some(Duration::from_secs(5)))
        .build()
        .unwrap();
    let error = block_on(exporter.export(spans("plaintext", 2))).unwrap_err();
    let text = error.to_string();
    assert!(text.contains("https://"), "{text}");
    assert_eq!(receiver.request_count(), 0);
    let stats = traces(exporter.stats());
    assert_eq!(stats.dropped_total(), 2);
    assert_eq!(stats.exported, 0);
    assert!(!proxy.failures().is_empty());
}

// checklist 1.10: unreadable or unusable TLS files are build errors naming the path,
// never showing the contents.
#[cfg(feature = "tls")]
#[test]
fn bad_tls_files_are_build_errors_naming_the_path() {
    let pki = Pki::generate();
    let receiver = Receiver::start().unwrap();
    let https = |builder: otlpkit_grpc::SpanExporterBuilder| {
        builder.with_endpoint("https://127.0.0.1:4317")
    };

    let missing = pki.ca_cert.with_file_name("missing-ca.pem");
    let error = https(spans_to(&receiver))
        .with_certificate(&missing)
        .build()
        .unwrap_err();
    assert!(matches!(error, BuildError::ReadFile { .. }), "{error:?}");
    assert!(error.to_string().contains("missing-ca.pem"), "{error}");

    let garbage = pki.write("garbage-ca.pem", "not a certificate at all");
    let error = https(spans_to(&receiver))
        .with_certificate(&garbage)
        .build()
        .unwrap_err();
    assert!(
        matches!(error, BuildError::InvalidTlsFile { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("garbage-ca.pem"), "{error}");

    // A key file that holds no key: the error names the file, not its contents.
    let not_a_key = pki.write("not-a-key.pem", "s3cr3t-key-material");
    let error = https(spans_to(&receiver))
        .with_certificate(&pki.ca_cert)
        .with_client_certificate(&pki.client_cert)
        .with_client_key(&not_a_key)
        .build()
        .unwrap_err();
    let text = format!("{error} {error:?}");
    assert!(text.contains("not-a-key.pem"), "{text}");
    assert!(text.contains("client key"), "{text}");
    assert!(!text.contains("s3cr3t"), "{text}");

    // Half of the mTLS pair is a configuration error from otlpkit-core.
    let error = https(spans_to(&receiver))
        .with_client_key(&pki.client_key)
        .build()
        .unwrap_err();
    assert!(matches!(error, BuildError::Config(_)), "{error:?}");
}

// checklist 1.8: without TLS support, https is refused instead of sent in plaintext.
#[cfg(not(feature = "tls"))]
#[test]
fn https_is_refused_without_the_tls_feature() {
    let receiver = Receiver::start().unwrap();
    let error = spans_to(&receiver)
        .with_endpoint(format!("https://{}", receiver.grpc_addr()))
        .build()
        .unwrap_err();
    assert!(
        matches!(error, BuildError::TlsNotCompiled { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("`tls` feature"), "{error}");
    // The default gRPC endpoint form without a scheme means TLS too (checklist 1.9).
    let error = spans_to(&receiver)
        .with_endpoint(receiver.grpc_addr().to_string())
        .build()
        .unwrap_err();
    assert!(
        matches!(error, BuildError::TlsNotCompiled { .. }),
        "{error:?}"
    );
}
