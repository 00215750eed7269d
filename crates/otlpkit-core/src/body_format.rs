//! The format of an encoded OTLP request body, as a transport sends it
//! and the disk spool stores it.

use std::fmt;

use crate::Compression;

/// How an OTLP request body is encoded: the two encodings OTLP defines.
/// Exhaustive, so that the spool's record format has a code for each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// OTLP protobuf (gRPC, OTLP/HTTP `application/x-protobuf`).
    Protobuf,
    /// OTLP/JSON (`application/json`).
    Json,
}

/// What a transport sends: the body's encoding and the compression already
/// applied to it. The disk spool (`otlpkit-spool`) records it with each
/// body, so that only an exporter sending bodies of the same format replays
/// it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct BodyFormat {
    /// The encoding.
    pub encoding: Encoding,
    /// The compression applied to the body before it was sent or stored.
    pub compression: Compression,
}

impl BodyFormat {
    /// Uncompressed protobuf: what the gRPC transport stores (it compresses
    /// each attempt itself).
    pub const PROTOBUF: BodyFormat = BodyFormat::new(Encoding::Protobuf, Compression::None);

    /// A format.
    pub const fn new(encoding: Encoding, compression: Compression) -> Self {
        Self {
            encoding,
            compression,
        }
    }
}

impl fmt::Display for BodyFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let encoding = match self.encoding {
            Encoding::Protobuf => "protobuf",
            Encoding::Json => "json",
        };
        match self.compression.encoding() {
            Some(compression) => write!(f, "{encoding}+{compression}"),
            None => f.write_str(encoding),
        }
    }
}
