//! Helpers shared by the integration tests: exporter builders isolated from
//! the process environment, SDK telemetry, a raw HTTP server for byte-level
//! checks and unusual answers, and a TLS front for the testkit receiver.
#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry::trace::{SpanKind, Tracer as _, TracerProvider as _};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter as _};
use otlpkit_core::{Compression, MapEnv, Protocol, RetryPolicy};
use otlpkit_fixtures::spans::CollectSpans;
use otlpkit_http::HttpExporterBuilder;

/// Generous bound for waits: tests share two cores with other builds.
pub const WAIT: Duration = Duration::from_secs(15);

/// The protocols this build supports.
pub fn protocols() -> Vec<Protocol> {
    let mut protocols = vec![Protocol::HttpProtobuf];
    if cfg!(feature = "json") {
        protocols.push(Protocol::HttpJson);
    }
    protocols
}

/// `http/json` when this build has it, else `http/protobuf`.
pub fn json_if_available() -> Protocol {
    if cfg!(feature = "json") {
        Protocol::HttpJson
    } else {
        Protocol::HttpProtobuf
    }
}

/// A retry policy that never waits long.
pub fn fast_retry(attempts: u32) -> RetryPolicy {
    RetryPolicy::builder()
        .with_initial_backoff(Duration::from_millis(10))
        .with_max_backoff(Duration::from_millis(40))
        .with_max_attempts(attempts)
        .build()
        .unwrap()
}

/// A builder isolated from the process environment, pointed at `url`.
pub fn configure<E: otlpkit_http::ExporterKind>(
    builder: HttpExporterBuilder<E>,
    url: &str,
    protocol: Protocol,
    compression: Compression,
) -> HttpExporterBuilder<E> {
    builder
        .with_env(MapEnv::new())
        .with_endpoint(url)
        .with_protocol(protocol)
        .with_compression(compression)
        .with_retry_policy(fast_retry(3))
        .with_timeout(Some(WAIT))
}

/// The testkit's name for a signal.
pub fn testkit_signal(signal: otlpkit_core::Signal) -> otlpkit_testkit::Signal {
    match signal {
        otlpkit_core::Signal::Traces => otlpkit_testkit::Signal::Traces,
        otlpkit_core::Signal::Metrics => otlpkit_testkit::Signal::Metrics,
        _ => otlpkit_testkit::Signal::Logs,
    }
}

pub fn resource() -> Resource {
    Resource::builder_empty()
        .with_service_name("http-test-service")
        .with_attribute(KeyValue::new("deployment.environment.name", "test"))
        .build()
}

pub fn scope() -> InstrumentationScope {
    InstrumentationScope::builder("http-test-scope")
        .with_version("3.1.4")
        .with_schema_url("https://opentelemetry.io/schemas/1.26.0")
        .with_attributes([KeyValue::new("scope.key", "scope.value")])
        .build()
}

/// `n` finished spans recorded by the real SDK (with an in-memory exporter),
/// ready to hand to an exporter's `export` directly.
pub fn sdk_spans(n: usize) -> Vec<SpanData> {
    let collect = CollectSpans::default();
    let provider = SdkTracerProvider::builder()
        .with_resource(resource())
        .with_simple_exporter(collect.clone())
        .build();
    let tracer = provider.tracer_with_scope(scope());
    for i in 0..n {
        tracer
            .span_builder(format!("span-{i}"))
            .with_kind(SpanKind::Internal)
            .with_attributes([KeyValue::new("index", i as i64)])
            .start(&tracer);
    }
    let spans = collect.spans();
    let _ = collect.shutdown();
    spans
}

// --- A raw HTTP/1.1 server ------------------------------------------------------------------

/// A request as the raw server read it.
#[derive(Debug, Clone)]
pub struct RawRequest {
    pub head: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A scripted answer: the complete bytes to write back (status line,
/// headers and body), or `None` to close the connection without answering.
pub type Answer = Option<Vec<u8>>;

/// A plain HTTP/1.1 server on 127.0.0.1, one thread per connection, that
/// records every request and answers from a script (then `200 {}` JSON).
#[derive(Clone)]
pub struct RawServer {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<RawRequest>>>,
    script: Arc<Mutex<Vec<Answer>>>,
}

impl RawServer {
    pub fn start() -> RawServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let server = RawServer {
            addr: listener.local_addr().unwrap(),
            requests: Arc::default(),
            script: Arc::default(),
        };
        let shared = server.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let shared = shared.clone();
                std::thread::spawn(move || shared.serve(stream));
            }
        });
        server
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Queues the next answers.
    pub fn push(&self, answer: Answer) {
        self.script.lock().unwrap().push(answer);
    }

    pub fn requests(&self) -> Vec<RawRequest> {
        self.requests.lock().unwrap().clone()
    }

    fn serve(&self, stream: TcpStream) {
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut writer = stream;
        loop {
            let mut head = String::new();
            if reader.read_line(&mut head).unwrap_or(0) == 0 {
                return;
            }
            let mut headers = Vec::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    return;
                }
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                if let Some((name, value)) = line.split_once(':') {
                    headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
                }
            }
            let length = headers
                .iter()
                .find(|(n, _)| n == "content-length")
                .and_then(|(_, v)| v.parse::<usize>().ok())
                .unwrap_or(0);
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_err() {
                return;
            }
            self.requests.lock().unwrap().push(RawRequest {
                head: head.trim_end().to_owned(),
                headers,
                body,
            });
            let answer = {
                let mut script = self.script.lock().unwrap();
                if script.is_empty() {
                    Some(response(200, "application/json", b"{}", &[]))
                } else {
                    script.remove(0)
                }
            };
            match answer {
                Some(bytes) => {
                    if writer.write_all(&bytes).is_err() {
                        return;
                    }
                }
                None => return,
            }
        }
    }
}

/// The bytes of an HTTP/1.1 response.
pub fn response(status: u16, content_type: &str, body: &[u8], extra: &[(&str, &str)]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (name, value) in extra {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

// --- TLS ------------------------------------------------------------------------------------

/// Certificates made for one test: a CA, a server certificate for
/// `localhost` and `127.0.0.1`, a client certificate, and an unrelated CA.
pub struct Pki {
    pub dir: PathBuf,
    pub ca: PathBuf,
    pub other_ca: PathBuf,
    pub server_chain: Vec<rustls::pki_types::CertificateDer<'static>>,
    pub server_key: rustls::pki_types::PrivateKeyDer<'static>,
    pub ca_der: rustls::pki_types::CertificateDer<'static>,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

impl Pki {
    pub fn generate(name: &str) -> Pki {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
            KeyPair, KeyUsagePurpose,
        };
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("otlpkit-http-tls-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();

        let ca = |cn: &str| {
            let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params.distinguished_name.push(DnType::CommonName, cn);
            params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
            let key = KeyPair::generate().unwrap();
            let cert = params.self_signed(&key).unwrap();
            (cert, Issuer::new(params, key))
        };
        let (ca_cert, issuer) = ca("otlpkit test CA");
        let (other_cert, _) = ca("some other CA");

        let leaf = |names: Vec<String>, usage: ExtendedKeyUsagePurpose| {
            let mut params = CertificateParams::new(names).unwrap();
            params.distinguished_name.push(DnType::CommonName, "leaf");
            params.use_authority_key_identifier_extension = true;
            params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            params.extended_key_usages = vec![usage];
            let key = KeyPair::generate().unwrap();
            let cert = params.signed_by(&key, &issuer).unwrap();
            (cert, key)
        };
        let (server_cert, server_key) = leaf(
            vec!["localhost".into(), "127.0.0.1".into()],
            ExtendedKeyUsagePurpose::ServerAuth,
        );
        let (client_cert, client_key) =
            leaf(vec!["client".into()], ExtendedKeyUsagePurpose::ClientAuth);

        let write = |file: &str, contents: String| {
            let path = dir.join(file);
            std::fs::write(&path, contents).unwrap();
            path
        };
        Pki {
            ca: write("ca.pem", ca_cert.pem()),
            other_ca: write("other-ca.pem", other_cert.pem()),
            client_cert: write("client.pem", client_cert.pem()),
            client_key: write("client-key.pem", client_key.serialize_pem()),
            server_chain: vec![server_cert.der().clone()],
            server_key: rustls::pki_types::PrivateKeyDer::Pkcs8(pkcs8_der(&server_key)),
            ca_der: ca_cert.der().clone(),
            dir,
        }
    }
}

fn pkcs8_der(key: &rcgen::KeyPair) -> rustls::pki_types::PrivatePkcs8KeyDer<'static> {
    rustls::pki_types::PrivatePkcs8KeyDer::from(key.serialize_der())
}

/// How the TLS front authenticates clients and which protocols it offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TlsOptions {
    pub require_client_cert: bool,
    pub offer_h2: bool,
}

/// A TLS-terminating front on 127.0.0.1 that forwards the decrypted bytes to
/// an upstream address (the testkit receiver's HTTP port): the receiver then
/// records what came over TLS.
pub struct TlsFront {
    pub addr: SocketAddr,
    _runtime: tokio::runtime::Runtime,
}

impl TlsFront {
    pub fn start(pki: &Pki, upstream: SocketAddr, options: TlsOptions) -> TlsFront {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap();
        let builder = if options.require_client_cert {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(pki.ca_der.clone()).unwrap();
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .unwrap();
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        let mut config = builder
            .with_single_cert(pki.server_chain.clone(), pki.server_key.clone_key())
            .unwrap();
        config.alpn_protocols = if options.offer_h2 {
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        } else {
            vec![b"http/1.1".to_vec()]
        };
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));

        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        runtime.spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(stream).await else {
                        return;
                    };
                    let Ok(mut upstream) = tokio::net::TcpStream::connect(upstream).await else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut upstream).await;
                });
            }
        });
        TlsFront {
            addr,
            _runtime: runtime,
        }
    }

    pub fn url(&self, host: &str, path: &str) -> String {
        format!("https://{host}:{}{path}", self.addr.port())
    }
}

// --- Logs capture -----------------------------------------------------------------------

/// Captures everything `tracing` logs while it is the default subscriber.
#[derive(Clone, Default)]
pub struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl CapturedLogs {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    /// A subscriber writing into this capture, for `tracing::subscriber::with_default`
    /// or `set_default`.
    pub fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync + 'static {
        let sink = self.clone();
        tracing_subscriber::fmt()
            .with_writer(move || sink.clone())
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .finish()
    }
}

impl std::io::Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
