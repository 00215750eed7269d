//! The OTLP/HTTP transport: the reqwest client, the `POST`, and the
//! classification of its outcome (checklist 1.13–1.17, 2.5–2.8).

use std::fmt;
use std::time::{Duration, SystemTime};

use bytes::{Bytes, BytesMut};
use http::header::{
    AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, LOCATION,
    RETRY_AFTER, USER_AGENT,
};
use otlpkit_core::diag::{self, RateLimit};
use otlpkit_core::{Compression, ExporterConfig, LogLevel, Protocol, Signal, Url};
use otlpkit_exporter::{
    Accepted, Attempt, BodyFormat, BoxFuture, BuildError, Connect, ExportError, Payload, Sent,
    Transport, display_endpoint, parse_retry_after,
};

use crate::compress::{self, Codec};
use crate::encode::{self, Encoding};

/// Redirects followed at most (307/308 only; see [`redirect_policy`]).
const MAX_REDIRECTS: usize = 5;

/// The OTLP/HTTP transport: a reqwest client bound to one endpoint, with
/// every header of the request already set, and the body encoding
/// (`http/protobuf` or `http/json`) and compression of the configuration.
/// Built by the exporter builders ([`Connect`]); it sends encoded requests
/// and classifies the outcomes, and the exporter core does the rest.
pub struct Http {
    signal: Signal,
    client: reqwest::Client,
    url: Url,
    endpoint: String,
    encoding: Encoding,
    codec: Codec,
    max_response_size: usize,
    undecodable_log: RateLimit,
}

impl fmt::Debug for Http {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Http")
            .field("endpoint", &self.endpoint)
            .field("encoding", &self.encoding)
            .field("codec", &self.codec)
            .field("max_response_size", &self.max_response_size)
            .finish_non_exhaustive()
    }
}

impl Connect for Http {
    const NAME: &'static str = "otlpkit-http";
    const FIXED_PROTOCOL: Option<Protocol> = None;

    fn check_protocol(signal: Signal, protocol: Protocol) -> Result<(), BuildError> {
        match protocol {
            Protocol::HttpProtobuf => Ok(()),
            Protocol::HttpJson if cfg!(feature = "json") => Ok(()),
            Protocol::HttpJson => Err(BuildError::NotCompiled {
                capability: "OTLP/JSON (http/json)",
                feature: "http-json",
                transport: Self::NAME,
            }),
            protocol => Err(BuildError::WrongProtocol {
                signal,
                protocol,
                transport: Self::NAME,
                hint: "use otlpkit-grpc for grpc, or select http/protobuf or http/json",
            }),
        }
    }

    /// Builds the client. It runs inside the worker runtime's context: the
    /// client's connection pool belongs to the runtime it was created on.
    fn connect(config: &ExporterConfig) -> Result<Self, BuildError> {
        let encoding = match config.protocol() {
            #[cfg(feature = "json")]
            Protocol::HttpJson => Encoding::Json,
            _ => Encoding::Protobuf,
        };
        let codec = Codec::for_compression(config.compression()).ok_or_else(|| {
            let (capability, feature) = compression_name(config.compression());
            BuildError::NotCompiled {
                capability,
                feature,
                transport: Self::NAME,
            }
        })?;
        Self::new(config, encoding, codec)
    }
}

/// How a compression is named in messages, and the feature that brings it.
fn compression_name(compression: Compression) -> (&'static str, &'static str) {
    match compression {
        Compression::Gzip => ("gzip compression", "gzip"),
        Compression::Zstd => ("zstd compression", "zstd"),
        _ => ("this compression", "a newer otlpkit"),
    }
}

impl Transport for Http {
    fn endpoint(&self) -> &str {
        &self.endpoint
    }

    fn encode(&self, payload: Payload<'_>) -> Option<Result<Vec<u8>, ExportError>> {
        match self.encoding {
            Encoding::Protobuf => {
                // The exporter core writes protobuf straight from SDK data.
                let _ = payload;
                None
            }
            #[cfg(feature = "json")]
            Encoding::Json => Some(crate::json::encode_payload(payload)),
        }
    }

    fn prepare(&self, body: Vec<u8>) -> Result<Bytes, ExportError> {
        compress::compress(self.codec, body)
    }

    /// The body's encoding, compressed as configured.
    fn body_format(&self) -> BodyFormat {
        let encoding = match self.encoding {
            Encoding::Protobuf => otlpkit_exporter::Encoding::Protobuf,
            #[cfg(feature = "json")]
            Encoding::Json => otlpkit_exporter::Encoding::Json,
        };
        BodyFormat::new(encoding, self.codec.compression())
    }

    fn send(&self, body: Bytes, _attempt: Attempt) -> BoxFuture<'_, Sent> {
        // The exporter core bounds the attempt by its timeout.
        let wire = body.len() as u64;
        Box::pin(async move { Sent::new(self.send_once(body).await, wire) })
    }
}

impl Http {
    fn new(config: &ExporterConfig, encoding: Encoding, codec: Codec) -> Result<Self, BuildError> {
        let mut url = config.endpoint().clone();
        let endpoint = display_endpoint(&url);

        let mut headers = HeaderMap::new();
        for (key, value) in config.headers().iter() {
            let name =
                HeaderName::from_bytes(key.as_bytes()).map_err(|_| BuildError::InvalidHeader {
                    key: key.to_owned(),
                    reason: "it is not a valid HTTP header name",
                })?;
            let mut header_value =
                HeaderValue::from_str(value).map_err(|_| BuildError::InvalidHeader {
                    key: key.to_owned(),
                    reason: "its value is not a valid HTTP header value",
                })?;
            // Never indexed by HTTP/2 HPACK, shown as "Sensitive" by Debug.
            header_value.set_sensitive(true);
            headers.insert(name, header_value);
        }
        // Credentials in the URL become Basic authentication; a configured
        // `authorization` header wins over them.
        if headers.contains_key(AUTHORIZATION) {
            let _ = url.set_username("");
            let _ = url.set_password(None);
        }
        // The protocol's own headers win over configured ones.
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static(encoding.content_type()),
        );
        headers.remove(CONTENT_ENCODING);
        if let Some(token) = codec.content_encoding() {
            headers.insert(CONTENT_ENCODING, HeaderValue::from_static(token));
        }
        if !headers.contains_key(USER_AGENT) {
            headers.insert(USER_AGENT, HeaderValue::from_static(config.user_agent()));
        }

        let https = url.scheme() == "https";
        let builder = reqwest::Client::builder()
            .default_headers(headers)
            .redirect(redirect_policy())
            // A `Referer` would carry the endpoint's query string (where
            // some collectors take an API key) to wherever a redirect goes.
            .referer(false)
            .https_only(https)
            .pool_idle_timeout(Duration::from_secs(90))
            .tcp_nodelay(true);
        let builder = with_tls(builder, config, https)?;
        let client = builder.build().map_err(|error| BuildError::Client {
            transport: Self::NAME,
            message: error.without_url().to_string(),
        })?;
        Ok(Http {
            signal: config.signal(),
            client,
            url,
            endpoint,
            encoding,
            codec,
            max_response_size: config.max_response_size(),
            undecodable_log: RateLimit::new(Duration::from_secs(60)),
        })
    }

    /// The URL requests are posted to.
    pub(crate) fn url(&self) -> &Url {
        &self.url
    }

    /// Sends one attempt and classifies its outcome.
    async fn send_once(&self, body: Bytes) -> Result<Accepted, ExportError> {
        let response = self
            .client
            .post(self.url.clone())
            .body(body)
            .send()
            .await
            .map_err(|error| self.classify(error))?;
        let status = response.status();
        let headers = response.headers();
        let content_type = headers
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .map(encode::media_type);
        let retry_after = headers
            .get(RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| parse_retry_after(value, SystemTime::now()));
        let redirect = status
            .is_redirection()
            .then(|| redirect_message(status.as_u16(), &self.url, headers.get(LOCATION)));
        let body = self.read_body(response).await?;

        if status.is_success() {
            return match encode::decode_success(
                self.signal,
                content_type.as_deref(),
                self.encoding,
                &body,
            ) {
                Ok(accepted) => Ok(accepted),
                Err(error) => {
                    // The status says the data was accepted; an unreadable
                    // body does not make it a failure.
                    if self.undecodable_log.ready() {
                        diag::emit(
                            LogLevel::Warn,
                            format_args!(
                                "{} accepted the {} export but its response body is unreadable: {error}",
                                self.endpoint, self.signal
                            ),
                        );
                    }
                    Ok(Accepted::full())
                }
            };
        }

        // checklist 2.6: the google.rpc.Status message goes into the error,
        // which the exporter core redacts, records and reports.
        let message = redirect.unwrap_or_else(|| {
            encode::error_message(content_type.as_deref(), self.encoding, &body).unwrap_or_default()
        });
        Err(ExportError::http(status.as_u16(), message, retry_after))
    }

    /// Reads the response body, at most `max_response_size` bytes (checklist
    /// 1.14: over the limit is a non-retryable error).
    async fn read_body(&self, mut response: reqwest::Response) -> Result<Bytes, ExportError> {
        let limit = self.max_response_size;
        if response
            .content_length()
            .is_some_and(|length| length > limit as u64)
        {
            return Err(ExportError::response_too_large(limit));
        }
        let mut body = BytesMut::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|error| self.classify(error))?
        {
            if body.len() + chunk.len() > limit {
                return Err(ExportError::response_too_large(limit));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    }
}

#[cfg(feature = "tls")]
fn with_tls(
    builder: reqwest::ClientBuilder,
    config: &ExporterConfig,
    https: bool,
) -> Result<reqwest::ClientBuilder, BuildError> {
    let tls = if https {
        crate::tls::client_config(config.tls())?
    } else {
        crate::tls::plaintext_only_config()?
    };
    Ok(builder.tls_backend_preconfigured(tls))
}

/// Without TLS an `https` endpoint is refused: never plaintext instead.
#[cfg(not(feature = "tls"))]
fn with_tls(
    builder: reqwest::ClientBuilder,
    config: &ExporterConfig,
    https: bool,
) -> Result<reqwest::ClientBuilder, BuildError> {
    if https {
        return Err(BuildError::TlsNotCompiled {
            endpoint: display_endpoint(config.endpoint()),
            transport: Http::NAME,
            assumed: "",
            plaintext: "",
        });
    }
    Ok(builder)
}

/// Follows only `307`/`308` (which keep the method and the body), and only
/// to the endpoint's own origin (scheme, host and port), at most
/// [`MAX_REDIRECTS`] times. reqwest drops only `Authorization`, `Cookie`
/// and `Proxy-Authorization` on a redirect to another host: every other
/// configured header (API keys such as `x-honeycomb-team`) would follow
/// the body there. Any other `3xx`, and a redirect elsewhere, is returned
/// as is and fails the export as a non-retryable status
/// ([`redirect_message`] says why).
fn redirect_policy() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let same_origin = attempt
            .previous()
            .first()
            .is_none_or(|endpoint| endpoint.origin() == attempt.url().origin());
        let keeps_body = matches!(attempt.status().as_u16(), 307 | 308);
        if !same_origin || !keeps_body || attempt.previous().len() > MAX_REDIRECTS {
            attempt.stop()
        } else {
            attempt.follow()
        }
    })
}

/// Why a `3xx` answer failed the export: the redirect was not followed.
/// Names the target's origin only (no path, query or userinfo, where a
/// token could be).
fn redirect_message(status: u16, endpoint: &Url, location: Option<&HeaderValue>) -> String {
    let target = location
        .and_then(|value| value.to_str().ok())
        .and_then(|value| endpoint.join(value).ok());
    match target {
        Some(target) if target.origin() != endpoint.origin() => format!(
            "redirect to another origin ({}) not followed: redirects are followed only to the \
             endpoint's own scheme, host and port, so that its headers go nowhere else",
            target.origin().ascii_serialization()
        ),
        Some(_) if !matches!(status, 307 | 308) => {
            "redirect not followed: only 307 and 308 keep the request's method and body".to_owned()
        }
        Some(_) => format!("more than {MAX_REDIRECTS} redirects"),
        None => "redirect without a usable Location header".to_owned(),
    }
}

// Only builds without TLS, JSON, a compression or the spool have something
// to test here.
#[cfg(all(
    test,
    not(all(
        feature = "tls",
        feature = "json",
        feature = "gzip",
        feature = "zstd",
        feature = "spool"
    ))
))]
mod tests {
    use super::*;

    // In a build without TLS an https endpoint is refused, never sent in
    // plaintext; without JSON, http/json names the facade's feature.
    #[cfg(not(feature = "tls"))]
    #[test]
    fn a_build_without_tls_refuses_https_endpoints() {
        let error = crate::HttpSpanExporter::builder()
            .with_env(otlpkit_core::MapEnv::new())
            .with_endpoint("https://127.0.0.1:4318/v1/traces")
            .build()
            .unwrap_err();
        assert!(
            matches!(error, BuildError::TlsNotCompiled { .. }),
            "{error}"
        );
        assert!(
            error.to_string().contains("`tls` feature of `otlpkit`"),
            "{error}"
        );
    }

    #[cfg(not(feature = "json"))]
    #[test]
    fn a_build_without_json_refuses_http_json() {
        let error = crate::HttpSpanExporter::builder()
            .with_env(otlpkit_core::MapEnv::new())
            .with_endpoint("http://127.0.0.1:4318/v1/traces")
            .with_protocol(otlpkit_core::Protocol::HttpJson)
            .build()
            .unwrap_err();
        assert!(matches!(error, BuildError::NotCompiled { .. }), "{error}");
        assert!(
            error
                .to_string()
                .contains("`http-json` feature of `otlpkit`"),
            "{error}"
        );
    }

    #[cfg(not(feature = "spool"))]
    #[test]
    fn a_build_without_the_spool_refuses_a_spool_dir() {
        let dir = std::env::temp_dir().join(format!("otlpkit-no-spool-{}", std::process::id()));
        let error = crate::HttpSpanExporter::builder()
            .with_env(otlpkit_core::MapEnv::from([(
                "OTLPKIT_SPOOL_DIR",
                dir.to_str().unwrap(),
            )]))
            .with_endpoint("http://127.0.0.1:4318/v1/traces")
            .build()
            .unwrap_err();
        assert!(matches!(error, BuildError::NotCompiled { .. }), "{error}");
        let text = error.to_string();
        assert!(text.contains("`spool` feature of `otlpkit`"), "{text}");
        assert!(text.contains("OTLPKIT_SPOOL_DIR"), "{text}");
        // Refused before anything touched the disk.
        assert!(!dir.exists());
    }

    #[cfg(not(feature = "zstd"))]
    #[test]
    fn a_build_without_zstd_refuses_zstd() {
        let error = crate::HttpSpanExporter::builder()
            .with_env(otlpkit_core::MapEnv::new())
            .with_endpoint("http://127.0.0.1:4318/v1/traces")
            .with_compression(otlpkit_core::Compression::Zstd)
            .build()
            .unwrap_err();
        assert!(matches!(error, BuildError::NotCompiled { .. }), "{error}");
        assert!(
            error.to_string().contains("`zstd` feature of `otlpkit`"),
            "{error}"
        );
    }
}
