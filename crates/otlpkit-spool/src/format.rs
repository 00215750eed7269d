//! The on-disk record format (version 1, described in `docs/SPOOL.md`),
//! and the scanner that reads it back from arbitrary bytes without ever
//! panicking.
//!
//! A segment file is a 16-byte header followed by records:
//!
//! ```text
//! segment header   magic "OTLPKSPL" (8) | version u32 LE | CRC-32 of the first 12 bytes
//! record           magic "OKSR" (4) | body length u32 | items u32 | signal u8 |
//!                  encoding u8 | compression u8 | 0 u8 | written at, Unix ns u64 |
//!                  CRC-32 of these 24 bytes | body | CRC-32 of the body
//! ```
//!
//! The header's checksum makes its length and item count trustworthy, so a
//! record whose body is damaged is skipped whole and its items counted; a
//! damaged header is skipped by searching for the next valid one.

use std::time::{SystemTime, UNIX_EPOCH};

use otlpkit_core::{Compression, Signal};

pub use otlpkit_core::{BodyFormat, Encoding};

/// The version of the record format this crate writes and reads.
pub const FORMAT_VERSION: u32 = 1;

pub(crate) const SEGMENT_MAGIC: [u8; 8] = *b"OTLPKSPL";
pub(crate) const SEGMENT_HEADER_LEN: usize = 16;
pub(crate) const RECORD_MAGIC: [u8; 4] = *b"OKSR";
pub(crate) const RECORD_HEADER_LEN: usize = 28;
pub(crate) const RECORD_TRAILER_LEN: usize = 4;

/// The largest body a record may hold: 1 GiB, far above any request size
/// limit in use; a header claiming more is corrupt.
pub const MAX_BODY_LEN: usize = 1 << 30;

/// The codes of `format` in a record header.
fn codes(format: BodyFormat) -> (u8, u8) {
    let encoding = match format.encoding {
        Encoding::Protobuf => 0,
        Encoding::Json => 1,
    };
    let compression = match format.compression {
        Compression::Gzip => 1,
        Compression::Zstd => 2,
        _ => 0,
    };
    (encoding, compression)
}

/// The format a record header's codes stand for; `None` for codes this
/// version does not know.
fn from_codes(encoding: u8, compression: u8) -> Option<BodyFormat> {
    let encoding = match encoding {
        0 => Encoding::Protobuf,
        1 => Encoding::Json,
        _ => return None,
    };
    let compression = match compression {
        0 => Compression::None,
        1 => Compression::Gzip,
        2 => Compression::Zstd,
        _ => return None,
    };
    Some(BodyFormat::new(encoding, compression))
}

pub(crate) fn signal_code(signal: Signal) -> u8 {
    match signal {
        Signal::Traces => 0,
        Signal::Metrics => 1,
        Signal::Logs => 2,
        _ => u8::MAX,
    }
}

fn signal_of(code: u8) -> Option<Signal> {
    match code {
        0 => Some(Signal::Traces),
        1 => Some(Signal::Metrics),
        2 => Some(Signal::Logs),
        _ => None,
    }
}

/// The segment header this version writes.
pub(crate) fn segment_header() -> [u8; SEGMENT_HEADER_LEN] {
    let mut header = [0u8; SEGMENT_HEADER_LEN];
    header[..8].copy_from_slice(&SEGMENT_MAGIC);
    header[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    let crc = crc32fast::hash(&header[..12]);
    header[12..].copy_from_slice(&crc.to_le_bytes());
    header
}

/// What a record header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RecordHeader {
    pub(crate) body_len: usize,
    pub(crate) items: u32,
    pub(crate) signal: Option<Signal>,
    pub(crate) format: Option<BodyFormat>,
}

impl RecordHeader {
    /// Bytes the whole record takes.
    pub(crate) fn record_len(&self) -> usize {
        RECORD_HEADER_LEN + self.body_len + RECORD_TRAILER_LEN
    }
}

/// The header of a record of `body_len` bytes holding `items` items.
pub(crate) fn record_header(
    signal: Signal,
    format: BodyFormat,
    items: u32,
    body_len: u32,
) -> [u8; RECORD_HEADER_LEN] {
    let mut header = [0u8; RECORD_HEADER_LEN];
    let (encoding, compression) = codes(format);
    let written = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_nanos()).unwrap_or(u64::MAX)
        });
    header[..4].copy_from_slice(&RECORD_MAGIC);
    header[4..8].copy_from_slice(&body_len.to_le_bytes());
    header[8..12].copy_from_slice(&items.to_le_bytes());
    header[12] = signal_code(signal);
    header[13] = encoding;
    header[14] = compression;
    header[16..24].copy_from_slice(&written.to_le_bytes());
    let crc = crc32fast::hash(&header[..24]);
    header[24..].copy_from_slice(&crc.to_le_bytes());
    header
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    let slice = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes(slice.try_into().ok()?))
}

/// Parses a record header at the start of `bytes`; `None` unless the magic
/// and the header checksum match and the length is plausible.
pub(crate) fn parse_record_header(bytes: &[u8]) -> Option<RecordHeader> {
    let header = bytes.get(..RECORD_HEADER_LEN)?;
    if header.get(..4)? != RECORD_MAGIC {
        return None;
    }
    if crc32fast::hash(header.get(..24)?) != u32_at(header, 24)? {
        return None;
    }
    let body_len = usize::try_from(u32_at(header, 4)?).ok()?;
    if body_len > MAX_BODY_LEN {
        return None;
    }
    Some(RecordHeader {
        body_len,
        items: u32_at(header, 8)?,
        signal: signal_of(*header.get(12)?),
        format: from_codes(*header.get(13)?, *header.get(14)?),
    })
}

/// Checks a whole record (header, body, trailer) at the start of `bytes`
/// and returns its header and body.
pub(crate) fn parse_record(bytes: &[u8]) -> Result<(RecordHeader, &[u8]), Damage> {
    let header = parse_record_header(bytes).ok_or(Damage::Header)?;
    let body_end = RECORD_HEADER_LEN + header.body_len;
    let (Some(body), Some(trailer)) = (
        bytes.get(RECORD_HEADER_LEN..body_end),
        u32_at(bytes, body_end),
    ) else {
        return Err(Damage::Truncated(header));
    };
    if crc32fast::hash(body) != trailer {
        return Err(Damage::Body(header));
    }
    Ok((header, body))
}

/// What is wrong with a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Damage {
    /// No valid header here.
    Header,
    /// A valid header whose record runs past the end of the data (a write
    /// that did not finish).
    Truncated(RecordHeader),
    /// A valid header, but the body fails its checksum.
    Body(RecordHeader),
}

/// A valid record found by [`scan`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ScannedRecord {
    /// Where the record starts in the segment.
    pub offset: u64,
    /// Bytes of the whole record (header, body, checksum).
    pub len: u64,
    /// Items (spans, data points, log records) in the request.
    pub items: u32,
    /// The signal, if the header names a known one.
    pub signal: Option<Signal>,
    /// The body's format, if the header names a known one.
    pub format: Option<BodyFormat>,
}

/// A damaged stretch of a segment, skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct CorruptRegion {
    /// Where it starts.
    pub offset: u64,
    /// How many bytes it covers.
    pub len: u64,
    /// Items of the damaged record, when its header was intact (its body
    /// was damaged or cut short); `None` when the header itself was damaged.
    pub items: Option<u32>,
}

/// What [`scan`] found in a segment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Scan {
    /// The segment header was valid and of a version this crate reads.
    pub header_ok: bool,
    /// Valid records, in order.
    pub records: Vec<ScannedRecord>,
    /// Damaged stretches, in order.
    pub corrupt: Vec<CorruptRegion>,
}

/// Reads every record of one segment's bytes: the valid ones in order, and
/// the damaged stretches between them. Never panics, whatever `bytes` holds,
/// and never allocates more than a small multiple of the records found.
pub fn scan(bytes: &[u8]) -> Scan {
    let mut found = Scan::default();
    let header_ok = bytes.get(..SEGMENT_HEADER_LEN).is_some_and(|header| {
        header.get(..8) == Some(&SEGMENT_MAGIC[..])
            && u32_at(header, 8) == Some(FORMAT_VERSION)
            && header.get(..12).map(crc32fast::hash) == u32_at(header, 12)
    });
    if !header_ok {
        if !bytes.is_empty() {
            found.corrupt.push(CorruptRegion {
                offset: 0,
                len: bytes.len() as u64,
                items: None,
            });
        }
        return found;
    }
    found.header_ok = true;
    let mut at = SEGMENT_HEADER_LEN;
    while at < bytes.len() {
        let rest = bytes.get(at..).unwrap_or_default();
        match parse_record(rest) {
            Ok((header, _)) => {
                found.records.push(ScannedRecord {
                    offset: at as u64,
                    len: header.record_len() as u64,
                    items: header.items,
                    signal: header.signal,
                    format: header.format,
                });
                at += header.record_len();
            }
            Err(Damage::Body(header)) => {
                found.corrupt.push(CorruptRegion {
                    offset: at as u64,
                    len: header.record_len() as u64,
                    items: Some(header.items),
                });
                at += header.record_len();
            }
            Err(Damage::Truncated(header)) => {
                found.corrupt.push(CorruptRegion {
                    offset: at as u64,
                    len: rest.len() as u64,
                    items: Some(header.items),
                });
                at = bytes.len();
            }
            Err(Damage::Header) => {
                let next = resync(rest).unwrap_or(rest.len());
                found.corrupt.push(CorruptRegion {
                    offset: at as u64,
                    len: next as u64,
                    items: None,
                });
                at += next;
            }
        }
    }
    found
}

/// The offset of the next valid record header in `bytes` after its first
/// byte, if any.
fn resync(bytes: &[u8]) -> Option<usize> {
    (1..bytes.len()).find(|&at| {
        bytes.get(at..at + 4) == Some(&RECORD_MAGIC[..])
            && bytes.get(at..).and_then(parse_record_header).is_some()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(items: u32, body: &[u8]) -> Vec<u8> {
        let mut out = record_header(
            Signal::Traces,
            BodyFormat::PROTOBUF,
            items,
            body.len() as u32,
        )
        .to_vec();
        out.extend_from_slice(body);
        out.extend_from_slice(&crc32fast::hash(body).to_le_bytes());
        out
    }

    fn segment(records: &[Vec<u8>]) -> Vec<u8> {
        let mut out = segment_header().to_vec();
        for record in records {
            out.extend_from_slice(record);
        }
        out
    }

    #[test]
    fn valid_records_are_read_back_in_order() {
        let bytes = segment(&[record(3, b"abc"), record(1, b""), record(7, &[9; 100])]);
        let scan = scan(&bytes);
        assert!(scan.header_ok);
        assert!(scan.corrupt.is_empty(), "{:?}", scan.corrupt);
        let items: Vec<_> = scan.records.iter().map(|r| r.items).collect();
        assert_eq!(items, [3, 1, 7]);
        assert_eq!(scan.records[0].offset, SEGMENT_HEADER_LEN as u64);
        assert_eq!(scan.records[0].signal, Some(Signal::Traces));
        assert_eq!(scan.records[0].format, Some(BodyFormat::PROTOBUF));
        let end = scan.records[2].offset + scan.records[2].len;
        assert_eq!(end, bytes.len() as u64);
    }

    #[test]
    fn a_damaged_body_is_skipped_with_its_items_and_the_rest_is_kept() {
        let mut bytes = segment(&[record(3, b"abc"), record(5, b"defgh"), record(2, b"ij")]);
        let second_body = SEGMENT_HEADER_LEN + record(3, b"abc").len() + RECORD_HEADER_LEN;
        bytes[second_body] ^= 0xff;
        let scan = scan(&bytes);
        let items: Vec<_> = scan.records.iter().map(|r| r.items).collect();
        assert_eq!(items, [3, 2]);
        assert_eq!(scan.corrupt.len(), 1);
        assert_eq!(scan.corrupt[0].items, Some(5));
    }

    #[test]
    fn a_damaged_header_is_skipped_up_to_the_next_valid_record() {
        let mut bytes = segment(&[record(3, b"abc"), record(5, b"defgh"), record(2, b"ij")]);
        let second = SEGMENT_HEADER_LEN + record(3, b"abc").len();
        bytes[second + 9] ^= 0x01; // the item count: the header checksum fails
        let scan = scan(&bytes);
        let items: Vec<_> = scan.records.iter().map(|r| r.items).collect();
        assert_eq!(items, [3, 2]);
        assert_eq!(scan.corrupt.len(), 1);
        assert_eq!(scan.corrupt[0].items, None);
        assert_eq!(scan.corrupt[0].offset, second as u64);
    }

    #[test]
    fn a_torn_tail_is_one_corrupt_region_to_the_end() {
        let whole = segment(&[record(3, b"abc"), record(5, b"defgh")]);
        for cut in SEGMENT_HEADER_LEN + record(3, b"abc").len() + 1..whole.len() {
            let scan = scan(&whole[..cut]);
            assert_eq!(scan.records.len(), 1, "cut at {cut}");
            assert_eq!(scan.corrupt.len(), 1, "cut at {cut}");
            let region = scan.corrupt[0];
            assert_eq!(region.offset + region.len, cut as u64);
        }
    }

    #[test]
    fn a_foreign_or_newer_file_is_corrupt_as_a_whole() {
        assert_eq!(scan(&[]), Scan::default());
        let mut newer = segment(&[record(1, b"x")]);
        newer[8] = 2;
        let scan = scan(&newer);
        assert!(!scan.header_ok);
        assert_eq!(scan.corrupt.len(), 1);
        assert_eq!(scan.corrupt[0].len, newer.len() as u64);
    }

    #[test]
    fn formats_round_trip_through_their_codes() {
        for encoding in [Encoding::Protobuf, Encoding::Json] {
            for compression in Compression::ALL {
                let format = BodyFormat::new(encoding, *compression);
                let (e, c) = codes(format);
                assert_eq!(from_codes(e, c), Some(format));
            }
        }
        assert_eq!(from_codes(2, 0), None);
        assert_eq!(
            BodyFormat::new(Encoding::Json, Compression::Gzip).to_string(),
            "json+gzip"
        );
        assert_eq!(BodyFormat::PROTOBUF.to_string(), "protobuf");
    }
}
