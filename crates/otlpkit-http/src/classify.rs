//! What a failed OTLP/HTTP attempt means for the retry loop: reqwest's
//! errors classified as the specification's connection failures, timeouts,
//! TLS failures and configuration errors (checklist 2.8).

use std::error::Error as StdError;

use otlpkit_exporter::ExportError;

use crate::client::Http;

impl Http {
    /// Maps a client error to the export error the retry loop understands.
    /// The URL is stripped from the error before it is kept as the source;
    /// messages name no endpoint (the exporter's report does, redacted).
    pub(crate) fn classify(&self, error: reqwest::Error) -> ExportError {
        let error = error.without_url();
        #[cfg(feature = "tls")]
        if let Some(tls) = find_in_chain::<rustls::Error>(&error) {
            return ExportError::tls(tls.to_string()).with_source(error);
        }
        if let Some(hyper) = find_in_chain::<hyper::Error>(&error)
            && hyper.is_parse()
        {
            if self.url().scheme() == "http" {
                // No TLS was involved: the endpoint or the protocol is wrong.
                // An OTLP/gRPC port (HTTP/2 only) answers HTTP/1.1 this way.
                return ExportError::config(
                    "the server's answer is not HTTP (is it a TLS endpoint? then use https://; \
                     is it an OTLP/gRPC port, 4317 by default? then use the grpc protocol \
                     (OTEL_EXPORTER_OTLP_PROTOCOL=grpc) or the collector's OTLP/HTTP port, \
                     4318 by default)",
                )
                .with_source(error);
            }
            return ExportError::tls("the server's answer is not HTTP").with_source(error);
        }
        if error.is_builder() || error.is_redirect() {
            return ExportError::config("the request cannot be sent").with_source(error);
        }
        let io = find_in_chain::<std::io::Error>(&error).map(std::io::Error::kind);
        let what = match io {
            Some(std::io::ErrorKind::ConnectionRefused) => "connection refused",
            Some(std::io::ErrorKind::ConnectionReset) => "connection reset",
            Some(std::io::ErrorKind::ConnectionAborted) => "connection aborted",
            Some(std::io::ErrorKind::TimedOut) => "connection timed out",
            Some(std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::UnexpectedEof) => {
                "connection closed"
            }
            _ if error.is_timeout() => "connection timed out",
            _ if error.is_connect() => "cannot connect",
            // Anything else happened on an established connection before a
            // complete answer arrived (checklist 2.8).
            _ => "connection lost before a complete answer",
        };
        ExportError::connect(what).with_source(error)
    }
}

/// The first error of type `E` in the source chain, looking inside
/// `io::Error`s too (whose `source()` skips the error they wrap).
fn find_in_chain<'a, E: StdError + 'static>(error: &'a (dyn StdError + 'static)) -> Option<&'a E> {
    let mut current: Option<&'a (dyn StdError + 'static)> = Some(error);
    while let Some(error) = current {
        if let Some(found) = error.downcast_ref::<E>() {
            return Some(found);
        }
        if let Some(io) = error.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
            && let Some(found) = find_in_chain::<E>(inner)
        {
            return Some(found);
        }
        current = error.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt;

    #[test]
    fn errors_are_found_inside_io_errors() {
        #[derive(Debug)]
        struct Inner;
        impl fmt::Display for Inner {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("inner")
            }
        }
        impl StdError for Inner {}
        let io = std::io::Error::other(Inner);
        assert!(find_in_chain::<Inner>(&io).is_some());
        let plain = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        assert!(find_in_chain::<Inner>(&plain).is_none());
    }
}
