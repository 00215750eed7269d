//! The OTLP transport protocol (checklist 1.1, 1.2, 1.4).

use crate::parse::spec_enum;

spec_enum! {
    /// The OTLP transport protocol, spelled as in `OTEL_EXPORTER_OTLP_PROTOCOL`.
    ///
    /// The default is [`Protocol::HttpProtobuf`] (checklist 1.2).
    #[derive(Default)]
    pub enum Protocol ("protocol", expected = "grpc | http/protobuf | http/json") {
        /// Protobuf over gRPC (HTTP/2).
        Grpc = "grpc",
        /// Binary protobuf over HTTP POST.
        #[default]
        HttpProtobuf = "http/protobuf",
        /// JSON-encoded protobuf over HTTP POST.
        HttpJson = "http/json",
    }
}

impl Protocol {
    /// Whether the protocol is one of the OTLP/HTTP variants.
    pub const fn is_http(self) -> bool {
        matches!(self, Protocol::HttpProtobuf | Protocol::HttpJson)
    }

    /// The default endpoint (checklist 1.4): `http://localhost:4317` for gRPC,
    /// `http://localhost:4318` for HTTP (to which `v1/<signal>` is appended).
    pub const fn default_endpoint(self) -> &'static str {
        match self {
            Protocol::Grpc => "http://localhost:4317",
            Protocol::HttpProtobuf | Protocol::HttpJson => "http://localhost:4318",
        }
    }

    /// The `Content-Type` of an OTLP/HTTP request (checklist 1.17);
    /// `application/grpc` for gRPC.
    pub const fn content_type(self) -> &'static str {
        match self {
            Protocol::Grpc => "application/grpc",
            Protocol::HttpProtobuf => "application/x-protobuf",
            Protocol::HttpJson => "application/json",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_values_are_exactly_the_spec_spellings_and_default_is_http_protobuf() {
        // checklist 1.2
        assert_eq!(Protocol::default(), Protocol::HttpProtobuf);
        for (text, protocol) in [
            ("grpc", Protocol::Grpc),
            ("http/protobuf", Protocol::HttpProtobuf),
            ("http/json", Protocol::HttpJson),
            ("HTTP/JSON", Protocol::HttpJson),
            (" Grpc ", Protocol::Grpc),
        ] {
            assert_eq!(text.parse::<Protocol>().unwrap(), protocol);
        }
        assert_eq!(Protocol::HttpProtobuf.to_string(), "http/protobuf");
        for bad in ["http", "protobuf", "json", "grpc/protobuf", "http/proto"] {
            assert!(bad.parse::<Protocol>().is_err(), "{bad}");
        }
    }

    #[test]
    fn default_endpoints_use_http_scheme_and_standard_ports() {
        // checklist 1.4
        assert_eq!(Protocol::Grpc.default_endpoint(), "http://localhost:4317");
        assert_eq!(
            Protocol::HttpProtobuf.default_endpoint(),
            "http://localhost:4318"
        );
        assert_eq!(
            Protocol::HttpJson.default_endpoint(),
            "http://localhost:4318"
        );
        assert!(!Protocol::Grpc.is_http());
        assert_eq!(Protocol::HttpJson.content_type(), "application/json");
        assert_eq!(
            Protocol::HttpProtobuf.content_type(),
            "application/x-protobuf"
        );
    }
}
