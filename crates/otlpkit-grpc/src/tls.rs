//! TLS for `https://` endpoints (checklist 1.8, 1.10): webpki roots (and
//! the system's with `tls-native-roots`), or only the configured CA
//! certificate; client certificate and key for mTLS.

use otlpkit_core::ExporterConfig;
use otlpkit_exporter::BuildError;

/// Refuses an `https` endpoint in a build that cannot do TLS, rather than
/// letting the transport send in plaintext. `compiled` is
/// `cfg!(feature = "tls")`, passed in so both branches are testable.
pub(crate) fn require_tls_support(
    config: &ExporterConfig,
    compiled: bool,
) -> Result<(), BuildError> {
    if config.uses_tls() && !compiled {
        let assumed = config.endpoint_scheme_assumed();
        return Err(BuildError::TlsNotCompiled {
            endpoint: crate::client::origin(config.endpoint()),
            transport: "otlpkit-grpc",
            assumed: if assumed {
                " (it has no scheme, and a gRPC endpoint without one is taken as https)"
            } else {
                ""
            },
            plaintext: if assumed {
                ", or write it as http://host:port (or set OTEL_EXPORTER_OTLP_INSECURE=true) \
                 for plaintext"
            } else {
                ""
            },
        });
    }
    Ok(())
}

#[cfg(feature = "tls")]
pub(crate) use enabled::client_tls;

#[cfg(feature = "tls")]
mod enabled {
    use std::path::Path;
    use std::time::Duration;

    use otlpkit_core::ExporterConfig;
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use tonic::transport::{Certificate, ClientTlsConfig, Identity};

    use otlpkit_exporter::BuildError;

    const CA: &str = "CA certificate";
    const CLIENT_CERTIFICATE: &str = "client certificate";
    const CLIENT_KEY: &str = "client key";

    /// The TLS settings of `config`. A configured CA certificate replaces
    /// the built-in roots: the server must present a chain to that CA.
    pub(crate) fn client_tls(
        config: &ExporterConfig,
        handshake_timeout: Duration,
    ) -> Result<ClientTlsConfig, BuildError> {
        let tls = config.tls();
        let mut client = ClientTlsConfig::new().timeout(handshake_timeout);
        client = match tls.certificate() {
            Some(path) => {
                let pem = read(CA, path)?;
                check_certificates(CA, path, &pem)?;
                client.ca_certificate(Certificate::from_pem(pem))
            }
            None => client.with_enabled_roots(),
        };
        if let (Some(cert_path), Some(key_path)) = (tls.client_certificate(), tls.client_key()) {
            let cert = read(CLIENT_CERTIFICATE, cert_path)?;
            check_certificates(CLIENT_CERTIFICATE, cert_path, &cert)?;
            let key = read(CLIENT_KEY, key_path)?;
            if PrivateKeyDer::from_pem_slice(&key).is_err() {
                return Err(BuildError::InvalidTlsFile {
                    what: CLIENT_KEY,
                    path: key_path.to_owned(),
                    reason: "it holds no PEM private key (PKCS#8, PKCS#1 or SEC1)".to_owned(),
                });
            }
            client = client.identity(Identity::from_pem(cert, key));
        }
        Ok(client)
    }

    fn read(what: &'static str, path: &Path) -> Result<Vec<u8>, BuildError> {
        std::fs::read(path).map_err(|error| BuildError::ReadFile {
            what,
            path: path.to_owned(),
            error,
        })
    }

    /// At least one certificate, and every PEM section well-formed.
    fn check_certificates(what: &'static str, path: &Path, pem: &[u8]) -> Result<(), BuildError> {
        let invalid = |reason: &str| BuildError::InvalidTlsFile {
            what,
            path: path.to_owned(),
            reason: reason.to_owned(),
        };
        let mut found = 0usize;
        for certificate in CertificateDer::pem_slice_iter(pem) {
            certificate.map_err(|_| invalid("it is not well-formed PEM"))?;
            found += 1;
        }
        if found == 0 {
            return Err(invalid(
                "it holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(endpoint: &str) -> ExporterConfig {
        ExporterConfig::builder(otlpkit_core::Signal::Traces)
            .with_protocol(otlpkit_core::Protocol::Grpc)
            .with_endpoint(endpoint)
            .build(&otlpkit_core::MapEnv::new())
            .unwrap()
            .into_value()
    }

    #[test]
    fn https_without_tls_support_is_refused_never_downgraded() {
        // checklist 1.8: https means TLS; a build without TLS must not send plaintext.
        let https = config("https://collector.example:4317");
        let error = require_tls_support(&https, false).unwrap_err();
        assert!(matches!(error, BuildError::TlsNotCompiled { .. }));
        let text = error.to_string();
        assert!(text.contains("https://collector.example:4317"), "{text}");
        assert!(text.contains("`tls` feature of `otlpkit`"), "{text}");
        assert!(!text.contains("no scheme"), "{text}");
        require_tls_support(&https, true).unwrap();
        require_tls_support(&config("http://collector.example:4317"), false).unwrap();
    }

    // checklist 1.9: a scheme-less gRPC endpoint is https; the refusal says so
    // and how to ask for plaintext.
    #[test]
    fn a_scheme_less_endpoint_says_what_was_assumed() {
        let error = require_tls_support(&config("collector.example:4317"), false).unwrap_err();
        let text = error.to_string();
        assert!(text.contains("has no scheme"), "{text}");
        assert!(text.contains("http://host:port"), "{text}");
        assert!(text.contains("OTEL_EXPORTER_OTLP_INSECURE=true"), "{text}");
    }
}
