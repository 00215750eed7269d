//! Body compression (checklist 1.13): gzip with miniz_oxide's deflate in a
//! gzip frame, zstd with zstd.

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
        Codec::Gzip => Ok(Bytes::from(gzip(&body))),
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

/// The deflate level, as zlib's and flate2's default: most of the size gain
/// of the higher levels for a fraction of their time.
#[cfg(feature = "gzip")]
const GZIP_LEVEL: u8 = 6;

/// A gzip member (RFC 1952) holding `body`: the fixed 10-byte header (no
/// name, no time, no flags), the raw deflate stream, then the CRC-32 of
/// `body` and its length modulo 2³², both little-endian. Writing the frame
/// ourselves keeps flate2 and its SIMD checksum crate out of the build;
/// the compression itself is miniz_oxide's, which flate2 would call too.
#[cfg(feature = "gzip")]
fn gzip(body: &[u8]) -> Vec<u8> {
    const HEADER: [u8; 10] = [
        0x1f, 0x8b, // magic
        8,    // compression method: deflate
        0,    // flags: none
        0, 0, 0, 0,   // modification time: none
        0,   // extra flags
        255, // operating system: unknown
    ];
    let deflated = miniz_oxide::deflate::compress_to_vec(body, GZIP_LEVEL);
    let mut member = Vec::with_capacity(HEADER.len() + deflated.len() + 8);
    member.extend_from_slice(&HEADER);
    member.extend_from_slice(&deflated);
    member.extend_from_slice(&crc32fast::hash(body).to_le_bytes());
    // ISIZE is the input's length modulo 2^32 (the truncation is the format's).
    member.extend_from_slice(&(body.len() as u32).to_le_bytes());
    member
}

#[cfg(feature = "zstd")]
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

#[cfg(all(test, feature = "gzip"))]
mod gzip_tests {
    use super::*;
    use std::io::Read as _;

    /// flate2's decoder checks the header, the deflate stream, the CRC-32
    /// and the length in the trailer: an independent reading of our frames.
    fn gunzip(member: &[u8]) -> std::io::Result<Vec<u8>> {
        let mut decoded = Vec::new();
        flate2::read::GzDecoder::new(member).read_to_end(&mut decoded)?;
        Ok(decoded)
    }

    #[test]
    fn gzip_frames_decode_to_their_input_with_checksum_and_length() {
        // checklist 1.13
        let mut noise = Vec::with_capacity(300_000);
        let mut state = 0x9e37_79b9_u32;
        for _ in 0..300_000 {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            noise.push(state as u8);
        }
        let repetitive: Vec<u8> = (0..100_000u32)
            .flat_map(|i| (i % 7).to_le_bytes())
            .collect();
        for body in [Vec::new(), b"x".to_vec(), repetitive, noise] {
            let member = compress(Codec::Gzip, body.clone()).unwrap();
            assert_eq!(&member[..4], &[0x1f, 0x8b, 8, 0], "header");
            assert_eq!(gunzip(&member).unwrap(), body, "{} bytes", body.len());
            let trailer = &member[member.len() - 8..];
            assert_eq!(trailer[..4], crc32fast::hash(&body).to_le_bytes());
            assert_eq!(trailer[4..], (body.len() as u32).to_le_bytes());
        }
    }

    #[test]
    fn a_frame_with_a_wrong_trailer_is_refused_by_the_reference_decoder() {
        // The check above is only as good as the decoder's: it must refuse
        // a frame whose checksum or length is off.
        let body = b"the same bytes, again and again; the same bytes".repeat(50);
        let member = compress(Codec::Gzip, body.clone()).unwrap();
        let last = member.len() - 1;
        for at in [last - 7, last] {
            let mut corrupted = member.to_vec();
            corrupted[at] ^= 1;
            assert!(gunzip(&corrupted).is_err(), "byte {at} changed");
        }
        assert!(compress(Codec::Gzip, body).unwrap().len() < 200);
    }
}
