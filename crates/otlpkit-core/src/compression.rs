//! Payload compression (checklist 1.13).

use crate::parse::spec_enum;

spec_enum! {
    /// Payload compression, spelled as in `OTEL_EXPORTER_OTLP_COMPRESSION`.
    ///
    /// The specification defines `gzip` and `none`; `zstd` is an otlpkit
    /// extension (the receiver must support it). The default is
    /// [`Compression::None`].
    #[derive(Default)]
    pub enum Compression ("compression", expected = "none | gzip | zstd") {
        /// No compression.
        #[default]
        None = "none",
        /// gzip (`Content-Encoding: gzip`, `grpc-encoding: gzip`).
        Gzip = "gzip",
        /// zstd (otlpkit extension: `Content-Encoding: zstd`, `grpc-encoding: zstd`).
        Zstd = "zstd",
    }
}

impl Compression {
    /// The `Content-Encoding` / `grpc-encoding` token, or `None` for no compression.
    pub const fn encoding(self) -> Option<&'static str> {
        match self {
            Compression::None => None,
            Compression::Gzip => Some("gzip"),
            Compression::Zstd => Some("zstd"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compression_accepts_gzip_none_and_the_zstd_extension() {
        // checklist 1.13
        assert_eq!(Compression::default(), Compression::None);
        assert_eq!("gzip".parse::<Compression>().unwrap(), Compression::Gzip);
        assert_eq!("GZIP".parse::<Compression>().unwrap(), Compression::Gzip);
        assert_eq!("none".parse::<Compression>().unwrap(), Compression::None);
        assert_eq!("zstd".parse::<Compression>().unwrap(), Compression::Zstd);
        assert!("deflate".parse::<Compression>().is_err());
        assert_eq!(Compression::Gzip.encoding(), Some("gzip"));
        assert_eq!(Compression::None.encoding(), None);
        assert_eq!(Compression::Zstd.to_string(), "zstd");
    }
}
