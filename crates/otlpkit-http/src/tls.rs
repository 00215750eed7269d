//! The rustls client configuration (checklist 1.10): the ring provider,
//! webpki roots (plus the system store with `tls-system-roots`) or a custom
//! CA file, and an optional client certificate for mTLS.

use std::path::Path;
use std::sync::Arc;

use otlpkit_core::TlsConfig;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore};

use otlpkit_exporter::BuildError;

const CA_FILE: &str = "CA certificate";
const CLIENT_CERT_FILE: &str = "client certificate";
const CLIENT_KEY_FILE: &str = "client key";

/// Builds the TLS configuration for an `https://` endpoint.
///
/// With a CA file, only the certificates in that file are trusted (as
/// `OTEL_EXPORTER_OTLP_CERTIFICATE` intends); otherwise the webpki roots, and
/// with the `tls-system-roots` feature also the operating system's store.
/// ALPN offers `h2` and `http/1.1`, so HTTP/2 is used when the server offers
/// it and HTTP/1.1 otherwise (checklist 1.16).
pub(crate) fn client_config(tls: &TlsConfig) -> Result<ClientConfig, BuildError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(tls_error)?;

    let mut roots = RootCertStore::empty();
    match tls.certificate() {
        Some(path) => {
            let certificates = read_certificates(CA_FILE, path)?;
            let (added, _ignored) = roots.add_parsable_certificates(certificates);
            if added == 0 {
                return Err(invalid(
                    CA_FILE,
                    path,
                    "no certificate in it could be parsed",
                ));
            }
        }
        None => {
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            #[cfg(feature = "tls-system-roots")]
            {
                let native = rustls_native_certs::load_native_certs();
                for error in &native.errors {
                    otlpkit_core::diag::emit(
                        otlpkit_core::LogLevel::Debug,
                        format_args!("skipping part of the system certificate store: {error}"),
                    );
                }
                roots.add_parsable_certificates(native.certs);
            }
        }
    }
    let builder = builder.with_root_certificates(roots);

    let mut config = match (tls.client_certificate(), tls.client_key()) {
        (Some(certificate), Some(key)) => {
            let chain = read_certificates(CLIENT_CERT_FILE, certificate)?;
            let key = read_private_key(key)?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(tls_error)?
        }
        // otlpkit-core refuses one half of the pair, so this is the no-mTLS case.
        _ => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// The TLS configuration of a client for an `http://` endpoint, which never
/// does TLS. reqwest builds a TLS stack for every client and, without one
/// given, would look for a process-wide rustls provider (and panic without
/// one); this one trusts nothing, so no TLS connection can come of it.
pub(crate) fn plaintext_only_config() -> Result<ClientConfig, BuildError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(tls_error)?
        .with_root_certificates(RootCertStore::empty())
        .with_no_client_auth())
}

fn tls_error(error: rustls::Error) -> BuildError {
    BuildError::Tls {
        message: error.to_string(),
    }
}

fn invalid(what: &'static str, path: &Path, reason: impl Into<String>) -> BuildError {
    BuildError::InvalidTlsFile {
        what,
        path: path.to_owned(),
        reason: reason.into(),
    }
}

fn read_file(what: &'static str, path: &Path) -> Result<Vec<u8>, BuildError> {
    std::fs::read(path).map_err(|error| BuildError::ReadFile {
        what,
        path: path.to_owned(),
        error,
    })
}

/// Every `CERTIFICATE` PEM item of a file; at least one.
fn read_certificates(
    what: &'static str,
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, BuildError> {
    let contents = read_file(what, path)?;
    let certificates = CertificateDer::pem_slice_iter(&contents)
        .collect::<Result<Vec<_>, pem::Error>>()
        .map_err(|error| invalid(what, path, format!("malformed PEM: {error}")))?;
    if certificates.is_empty() {
        return Err(invalid(what, path, "it contains no PEM CERTIFICATE item"));
    }
    Ok(certificates)
}

/// The first private key (PKCS#8, PKCS#1 or SEC1 PEM) of a file. Errors name
/// the file and never show its contents.
fn read_private_key(path: &Path) -> Result<PrivateKeyDer<'static>, BuildError> {
    let contents = read_file(CLIENT_KEY_FILE, path)?;
    PrivateKeyDer::from_pem_slice(&contents).map_err(|error| {
        let reason = match error {
            pem::Error::NoItemsFound => "it contains no PEM private key".to_owned(),
            _ => "it does not hold a readable PEM private key".to_owned(),
        };
        invalid(CLIENT_KEY_FILE, path, reason)
    })
}
