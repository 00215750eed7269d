//! Helpers shared by the integration tests: exporter builders pointed at the
//! testkit receiver, span factories, and a small TLS-terminating proxy in
//! front of the receiver's gRPC port (the testkit does not serve TLS itself).
#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry::trace::{
    SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};
use otlpkit_core::stats::{ExportStats, SignalStatsSnapshot};
use otlpkit_core::{MapEnv, RetryPolicy, Signal};
use otlpkit_fixtures::at;
use otlpkit_grpc::{LogExporterBuilder, MetricExporterBuilder, SpanExporter, SpanExporterBuilder};
use otlpkit_testkit::Receiver;

/// Generous bound for waits: tests share two cores with other builds.
pub const WAIT: Duration = Duration::from_secs(15);

pub const TRACE_ID: [u8; 16] = [
    0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36,
];

/// A retry policy that never waits long.
pub fn fast_policy(attempts: u32) -> RetryPolicy {
    RetryPolicy::builder()
        .with_initial_backoff(Duration::from_millis(10))
        .with_max_backoff(Duration::from_millis(40))
        .with_max_attempts(attempts)
        .build()
        .unwrap()
}

/// A span exporter builder pointed at `receiver`, isolated from the process
/// environment, with a fast retry policy.
pub fn spans_to(receiver: &Receiver) -> SpanExporterBuilder {
    SpanExporter::builder()
        .with_env(MapEnv::new())
        .with_endpoint(receiver.grpc_endpoint())
        .with_timeout(Some(WAIT))
        .with_retry_policy(fast_policy(3))
}

pub fn logs_to(receiver: &Receiver) -> LogExporterBuilder {
    otlpkit_grpc::LogExporter::builder()
        .with_env(MapEnv::new())
        .with_endpoint(receiver.grpc_endpoint())
        .with_timeout(Some(WAIT))
        .with_retry_policy(fast_policy(3))
}

pub fn metrics_to(receiver: &Receiver) -> MetricExporterBuilder {
    otlpkit_grpc::MetricExporter::builder()
        .with_env(MapEnv::new())
        .with_endpoint(receiver.grpc_endpoint())
        .with_timeout(Some(WAIT))
        .with_retry_policy(fast_policy(3))
}

pub fn traces(stats: &ExportStats) -> SignalStatsSnapshot {
    stats.snapshot().signal(Signal::Traces)
}

/// A root span named `name` with span id `[id; 8]` in `TRACE_ID`.
pub fn span(name: &str, id: u8) -> SpanData {
    SpanData {
        span_context: SpanContext::new(
            TraceId::from_bytes(TRACE_ID),
            SpanId::from_bytes([id.max(1); 8]),
            TraceFlags::SAMPLED,
            false,
            TraceState::default(),
        ),
        parent_span_id: SpanId::INVALID,
        parent_span_is_remote: false,
        span_kind: SpanKind::Internal,
        name: name.to_owned().into(),
        start_time: at(1_700_000_000_000_000_000),
        end_time: at(1_700_000_000_001_000_000),
        attributes: vec![KeyValue::new("span.id.byte", i64::from(id))],
        dropped_attributes_count: 0,
        events: SpanEvents::default(),
        links: SpanLinks::default(),
        status: Status::Unset,
        instrumentation_scope: InstrumentationScope::builder("otlpkit-grpc-tests").build(),
    }
}

/// `n` spans named `<prefix>-<i>`.
pub fn spans(prefix: &str, n: usize) -> Vec<SpanData> {
    (0..n)
        .map(|i| span(&format!("{prefix}-{i}"), (i % 250 + 1) as u8))
        .collect()
}

// --- TLS -------------------------------------------------------------------------------

/// A test PKI written to a temporary directory: a CA, a server certificate
/// for `localhost` and `127.0.0.1`, and a client certificate, all signed by
/// the CA.
pub struct Pki {
    _dir: tempfile::TempDir,
    pub ca_cert: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    ca_der: rustls::pki_types::CertificateDer<'static>,
    server_cert: rustls::pki_types::CertificateDer<'static>,
    server_key: Vec<u8>,
}

impl Pki {
    pub fn generate() -> Pki {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
            KeyPair, KeyUsagePurpose,
        };
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        static SERIAL: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let serial = SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, format!("otlpkit test CA {serial}"));
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_key = KeyPair::generate().unwrap();
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);

        let leaf = |purpose: ExtendedKeyUsagePurpose, name: &str| {
            let mut params =
                CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
                    .unwrap();
            params.distinguished_name.push(DnType::CommonName, name);
            params.extended_key_usages = vec![purpose];
            params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            let key = KeyPair::generate().unwrap();
            let cert = params.signed_by(&key, &issuer).unwrap();
            (cert, key)
        };
        let (server_cert, server_key) = leaf(ExtendedKeyUsagePurpose::ServerAuth, "server");
        let (client_cert, client_key) = leaf(ExtendedKeyUsagePurpose::ClientAuth, "client");

        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, contents: String| {
            let path = dir.path().join(name);
            std::fs::write(&path, contents).unwrap();
            path
        };
        Pki {
            ca_cert: write("ca.pem", ca_cert.pem()),
            client_cert: write("client.pem", client_cert.pem()),
            client_key: write("client-key.pem", client_key.serialize_pem()),
            ca_der: ca_cert.der().clone(),
            server_cert: server_cert.der().clone(),
            server_key: server_key.serialize_der(),
            _dir: dir,
        }
    }

    /// Writes a file next to the others and returns its path.
    pub fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self._dir.path().join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }
}

/// Terminates TLS on a loopback port and forwards the plaintext HTTP/2 to a
/// backend (the testkit receiver's gRPC port).
pub struct TlsProxy {
    addr: SocketAddr,
    /// Handshake failures seen by the proxy, as rustls describes them.
    failures: Arc<Mutex<Vec<String>>>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl TlsProxy {
    /// `require_client_cert`: mTLS, the client must present a certificate
    /// signed by the PKI's CA.
    pub fn start(pki: &Pki, backend: SocketAddr, require_client_cert: bool) -> TlsProxy {
        use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
        use rustls::server::WebPkiClientVerifier;

        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap();
        let builder = if require_client_cert {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(pki.ca_der.clone()).unwrap();
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .unwrap();
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pki.server_key.clone()));
        let mut config = builder
            .with_single_cert(vec![pki.server_cert.clone()], key)
            .unwrap();
        config.alpn_protocols = vec![b"h2".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));

        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("tls-proxy")
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let failures = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&failures);
        runtime.spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                let seen = Arc::clone(&seen);
                tokio::spawn(async move {
                    let mut tls = match acceptor.accept(stream).await {
                        Ok(tls) => tls,
                        Err(error) => {
                            seen.lock().unwrap().push(error.to_string());
                            return;
                        }
                    };
                    if let Ok(mut upstream) = tokio::net::TcpStream::connect(backend).await {
                        let _ = tokio::io::copy_bidirectional(&mut tls, &mut upstream).await;
                    }
                });
            }
        });
        TlsProxy {
            addr,
            failures,
            runtime: Some(runtime),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `https://127.0.0.1:<port>`.
    pub fn https_endpoint(&self) -> String {
        format!("https://{}", self.addr)
    }

    pub fn failures(&self) -> Vec<String> {
        self.failures.lock().unwrap().clone()
    }
}

impl Drop for TlsProxy {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
