//! TLS for `https://` endpoints (checklist 1.8, 1.10): webpki roots (and
//! the system's with `tls-native-roots`), or only the configured CA
//! certificate; client certificate and key for mTLS.

use otlpkit_core::Url;

use crate::BuildError;

/// Refuses an `https` endpoint in a build that cannot do TLS, rather than
/// letting the transport send in plaintext. `compiled` is
/// `cfg!(feature = "tls")`, passed in so both branches are testable.
pub(crate) fn require_tls_support(endpoint: &Url, compiled: bool) -> Result<(), BuildError> {
    if endpoint.scheme() == "https" && !compiled {
        return Err(BuildError::TlsNotCompiled {
            endpoint: crate::client::origin(endpoint),
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

    use crate::BuildError;

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
                return Err(BuildError::InvalidPem {
                    what: CLIENT_KEY,
                    path: key_path.to_owned(),
                    reason: "holds no PEM private key (PKCS#8, PKCS#1 or SEC1)",
                });
            }
            client = client.identity(Identity::from_pem(cert, key));
        }
        Ok(client)
    }

    fn read(what: &'static str, path: &Path) -> Result<Vec<u8>, BuildError> {
        std::fs::read(path).map_err(|source| BuildError::ReadFile {
            what,
            path: path.to_owned(),
            source,
        })
    }

    /// At least one certificate, and every PEM section well-formed.
    fn check_certificates(what: &'static str, path: &Path, pem: &[u8]) -> Result<(), BuildError> {
        let invalid = |reason| BuildError::InvalidPem {
            what,
            path: path.to_owned(),
            reason,
        };
        let mut found = 0usize;
        for certificate in CertificateDer::pem_slice_iter(pem) {
            certificate.map_err(|_| invalid("is not well-formed PEM"))?;
            found += 1;
        }
        if found == 0 {
            return Err(invalid(
                "holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_without_tls_support_is_refused_never_downgraded() {
        // checklist 1.8: https means TLS; a build without TLS must not send plaintext.
        let https = Url::parse("https://collector.example:4317").unwrap();
        let error = require_tls_support(&https, false).unwrap_err();
        assert!(matches!(error, BuildError::TlsNotCompiled { .. }));
        let text = error.to_string();
        assert!(text.contains("https://collector.example:4317"), "{text}");
        assert!(text.contains("`tls` feature"), "{text}");
        require_tls_support(&https, true).unwrap();
        let http = Url::parse("http://collector.example:4317").unwrap();
        require_tls_support(&http, false).unwrap();
    }
}
