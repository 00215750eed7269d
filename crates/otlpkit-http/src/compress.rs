//! Body compression (checklist 1.13): gzip with flate2, zstd with zstd.

use bytes::Bytes;
use otlpkit_core::Compression;
use otlpkit_exporter::ExportError;

/// The compressions this transport implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Codec {
    /// Sent as is.
    None,
    /// `Content-Encoding: gzip`.
    Gzip,
    /// `Content-Encoding: zstd`.
    Zstd,
}

impl Codec {
    /// The codec for a configured compression; `None` for one this transport
    /// does not implement.
    pub(crate) fn for_compression(compression: Compression) -> Option<Codec> {
        match compression {
            Compression::None => Some(Codec::None),
            Compression::Gzip if cfg!(feature = "gzip") => Some(Codec::Gzip),
            Compression::Zstd if cfg!(feature = "zstd") => Some(Codec::Zstd),
            _ => None,
        }
    }

    /// The compression the codec applies.
    pub(crate) fn compression(self) -> Compression {
        match self {
            Codec::None => Compression::None,
            Codec::Gzip => Compression::Gzip,
            Codec::Zstd => Compression::Zstd,
        }
    }

    /// The `Content-Encoding` token.
    pub(crate) fn content_encoding(self) -> Option<&'static str> {
        match self {
            Codec::None => None,
            Codec::Gzip => Some("gzip"),
            Codec::Zstd => Some("zstd"),
        }
    }
}

/// Compresses an encoded request once; the result is shared by every attempt.
pub(crate) fn compress(codec: Codec, body: Vec<u8>) -> Result<Bytes, ExportError> {
    match codec {
        #[cfg(feature = "gzip")]
        Codec::Gzip => {
            use std::io::Write as _;
            let mut encoder = flate2::write::GzEncoder::new(
                Vec::with_capacity(body.len() / 4 + 64),
                flate2::Compression::default(),
            );
            encoder
                .write_all(&body)
                .and_then(|()| encoder.finish())
                .map(Bytes::from)
                .map_err(|error| failed("gzip", error))
        }
        #[cfg(feature = "zstd")]
        Codec::Zstd => zstd::bulk::compress(&body, zstd::DEFAULT_COMPRESSION_LEVEL)
            .map(Bytes::from)
            .map_err(|error| failed("zstd", error)),
        Codec::None => Ok(Bytes::from(body)),
        // `Codec::for_compression` gives no codec whose feature is off.
        #[allow(unreachable_patterns)]
        _ => Err(ExportError::config("this compression is not compiled in")),
    }
}

#[cfg(any(feature = "gzip", feature = "zstd"))]
fn failed(what: &str, error: std::io::Error) -> ExportError {
    ExportError::encoding(format!("{what} compression failed: {error}")).with_source(error)
}

#[cfg(all(test, feature = "gzip", feature = "zstd"))]
mod tests {
    use super::*;
    use std::io::Read as _;

    #[test]
    fn gzip_and_zstd_round_trip_and_none_is_untouched() {
        // checklist 1.13
        let data: Vec<u8> = (0..10_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        let gzip = compress(Codec::Gzip, data.clone()).unwrap();
        let mut decoded = Vec::new();
        flate2::read::GzDecoder::new(&gzip[..])
            .read_to_end(&mut decoded)
            .unwrap();
        assert_eq!(decoded, data);
        assert!(gzip.len() < data.len());

        let zstd = compress(Codec::Zstd, data.clone()).unwrap();
        assert_eq!(zstd::decode_all(&zstd[..]).unwrap(), data);

        assert_eq!(compress(Codec::None, data.clone()).unwrap(), data);
        for compression in Compression::ALL {
            let codec = Codec::for_compression(*compression).unwrap();
            assert_eq!(codec.content_encoding(), compression.encoding());
        }
    }
}
