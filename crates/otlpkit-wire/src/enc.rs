//! Field-level helpers over `prost::encoding`.
//!
//! Every `*_len` function returns the bytes the matching `put_*` function
//! writes, so a message's length can be computed before it is written. The
//! scalar helpers follow proto3 (and prost): a field holding its default value
//! (0, empty string, empty bytes) is not written at all. Oneof members and
//! message fields that are present are always written, even when empty.

use prost::encoding::{WireType, encoded_len_varint, key_len};

/// Writes `value` as a varint, the bytes `prost::encoding::encode_varint`
/// writes. Most varints of a span (keys, lengths of short strings and
/// attributes) are one byte: one `push` here, where prost's function, not
/// inlined, goes through `BufMut::put_u8` for every byte.
#[inline]
pub(crate) fn put_varint(mut value: u64, out: &mut Vec<u8>) {
    if value < 0x80 {
        out.push(value as u8);
        return;
    }
    out.reserve(10);
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Writes a field key, as `prost::encoding::encode_key` does.
#[inline]
fn put_key(tag: u32, wire_type: WireType, out: &mut Vec<u8>) {
    put_varint(u64::from((tag << 3) | wire_type as u32), out);
}

/// Bytes of a length-delimited field (key, length, payload) whose payload is
/// `len` bytes long.
#[inline]
pub(crate) fn delimited_len(tag: u32, len: usize) -> usize {
    key_len(tag) + encoded_len_varint(len as u64) + len
}

/// Writes the key and the length of a length-delimited field; the caller
/// writes the `len` payload bytes next.
#[inline]
pub(crate) fn put_delimited_header(tag: u32, len: usize, out: &mut Vec<u8>) {
    put_key(tag, WireType::LengthDelimited, out);
    put_varint(len as u64, out);
}

/// A length-delimited field with this payload, always written.
#[inline]
pub(crate) fn put_delimited(tag: u32, payload: &[u8], out: &mut Vec<u8>) {
    put_delimited_header(tag, payload.len(), out);
    out.extend_from_slice(payload);
}

/// A proto3 `string`/`bytes` field: absent when empty.
#[inline]
pub(crate) fn opt_bytes_len(tag: u32, payload: &[u8]) -> usize {
    if payload.is_empty() {
        0
    } else {
        delimited_len(tag, payload.len())
    }
}

/// Writes a proto3 `string`/`bytes` field unless it is empty.
#[inline]
pub(crate) fn put_opt_bytes(tag: u32, payload: &[u8], out: &mut Vec<u8>) {
    if !payload.is_empty() {
        put_delimited(tag, payload, out);
    }
}

/// A proto3 `uint32` field: absent when 0.
#[inline]
pub(crate) fn uint32_len(tag: u32, value: u32) -> usize {
    if value == 0 {
        0
    } else {
        prost::encoding::uint32::encoded_len(tag, &value)
    }
}

/// Writes a proto3 `uint32` field unless it is 0.
#[inline]
pub(crate) fn put_uint32(tag: u32, value: u32, out: &mut Vec<u8>) {
    if value != 0 {
        put_key(tag, WireType::Varint, out);
        put_varint(u64::from(value), out);
    }
}

/// A proto3 `int32`/enum field: absent when 0.
#[inline]
pub(crate) fn int32_len(tag: u32, value: i32) -> usize {
    if value == 0 {
        0
    } else {
        prost::encoding::int32::encoded_len(tag, &value)
    }
}

/// Writes a proto3 `int32`/enum field unless it is 0.
#[inline]
pub(crate) fn put_int32(tag: u32, value: i32, out: &mut Vec<u8>) {
    if value != 0 {
        put_key(tag, WireType::Varint, out);
        // Sign-extended, as prost writes a negative `int32`.
        put_varint(value as u64, out);
    }
}

/// A proto3 `fixed64` field: absent when 0.
#[inline]
pub(crate) fn fixed64_len(tag: u32, value: u64) -> usize {
    if value == 0 {
        0
    } else {
        prost::encoding::fixed64::encoded_len(tag, &value)
    }
}

/// Writes a proto3 `fixed64` field unless it is 0.
#[inline]
pub(crate) fn put_fixed64(tag: u32, value: u64, out: &mut Vec<u8>) {
    if value != 0 {
        put_key(tag, WireType::SixtyFourBit, out);
        out.extend_from_slice(&value.to_le_bytes());
    }
}

/// A proto3 `fixed32` field: absent when 0.
#[inline]
pub(crate) fn fixed32_len(tag: u32, value: u32) -> usize {
    if value == 0 {
        0
    } else {
        prost::encoding::fixed32::encoded_len(tag, &value)
    }
}

/// Writes a proto3 `fixed32` field unless it is 0.
#[inline]
pub(crate) fn put_fixed32(tag: u32, value: u32, out: &mut Vec<u8>) {
    if value != 0 {
        put_key(tag, WireType::ThirtyTwoBit, out);
        out.extend_from_slice(&value.to_le_bytes());
    }
}

/// A oneof `bool` member (always written).
#[inline]
pub(crate) fn bool_len(tag: u32, value: bool) -> usize {
    prost::encoding::bool::encoded_len(tag, &value)
}

/// Writes a oneof `bool` member.
#[inline]
pub(crate) fn put_bool(tag: u32, value: bool, out: &mut Vec<u8>) {
    put_key(tag, WireType::Varint, out);
    out.push(u8::from(value));
}

/// A oneof `int64` member (always written).
#[inline]
pub(crate) fn int64_len(tag: u32, value: i64) -> usize {
    prost::encoding::int64::encoded_len(tag, &value)
}

/// Writes a oneof `int64` member.
#[inline]
pub(crate) fn put_int64(tag: u32, value: i64, out: &mut Vec<u8>) {
    put_key(tag, WireType::Varint, out);
    put_varint(value as u64, out);
}

/// A oneof `double` member (always written).
#[inline]
pub(crate) fn double_len(tag: u32, value: f64) -> usize {
    prost::encoding::double::encoded_len(tag, &value)
}

/// Writes a oneof `double` member (the bits as they are, NaN payloads too).
#[inline]
pub(crate) fn put_double(tag: u32, value: f64, out: &mut Vec<u8>) {
    put_key(tag, WireType::SixtyFourBit, out);
    out.extend_from_slice(&value.to_bits().to_le_bytes());
}

/// The length of a timestamp field, `fixed64_len(tag, to_nanos(time))`,
/// without computing the nanoseconds in the sizing pass: up to 2⁶⁴ - 1 ns
/// after the epoch (the year 2554) the field is present exactly when `time`
/// is after the epoch, which two comparisons tell; later times, which wrap
/// when truncated to 64 bits, take the long way.
#[inline]
pub(crate) fn time_len(tag: u32, time: std::time::SystemTime) -> usize {
    static LAST_UNWRAPPED: std::sync::LazyLock<Option<std::time::SystemTime>> =
        std::sync::LazyLock::new(|| {
            std::time::UNIX_EPOCH.checked_add(std::time::Duration::from_nanos(u64::MAX))
        });
    if time <= std::time::UNIX_EPOCH {
        0
    } else if LAST_UNWRAPPED.is_some_and(|last| time <= last) {
        prost::encoding::fixed64::encoded_len(tag, &1)
    } else {
        fixed64_len(tag, to_nanos(time))
    }
}

/// Nanoseconds since the Unix epoch, exactly as `opentelemetry-proto`
/// computes them: 0 before the epoch, truncated to 64 bits.
#[inline]
pub(crate) fn to_nanos(time: std::time::SystemTime) -> u64 {
    time.duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_nanos() as u64)
        .unwrap_or(0)
}

/// A proto3 `bool` field: absent when false.
#[inline]
pub(crate) fn opt_bool_len(tag: u32, value: bool) -> usize {
    if value { bool_len(tag, value) } else { 0 }
}

/// Writes a proto3 `bool` field unless it is false.
#[inline]
pub(crate) fn put_opt_bool(tag: u32, value: bool, out: &mut Vec<u8>) {
    if value {
        put_bool(tag, value, out);
    }
}

/// A proto3 `sint32` field: absent when 0.
#[inline]
pub(crate) fn sint32_len(tag: u32, value: i32) -> usize {
    if value == 0 {
        0
    } else {
        prost::encoding::sint32::encoded_len(tag, &value)
    }
}

/// Writes a proto3 `sint32` field (zigzag) unless it is 0.
#[inline]
pub(crate) fn put_sint32(tag: u32, value: i32, out: &mut Vec<u8>) {
    if value != 0 {
        put_key(tag, WireType::Varint, out);
        put_varint(u64::from(((value << 1) ^ (value >> 31)) as u32), out);
    }
}

/// A oneof `sfixed64` member (always written).
#[inline]
pub(crate) fn sfixed64_len(tag: u32, value: i64) -> usize {
    prost::encoding::sfixed64::encoded_len(tag, &value)
}

/// Writes a oneof `sfixed64` member.
#[inline]
pub(crate) fn put_sfixed64(tag: u32, value: i64, out: &mut Vec<u8>) {
    put_key(tag, WireType::SixtyFourBit, out);
    out.extend_from_slice(&value.to_le_bytes());
}

/// A proto3 `double` field: absent when it equals 0.0 (`-0.0` included,
/// as prost compares; a NaN is written).
#[inline]
pub(crate) fn opt_double_len(tag: u32, value: f64) -> usize {
    if value == 0.0 {
        0
    } else {
        double_len(tag, value)
    }
}

/// Writes a proto3 `double` field unless it equals 0.0.
#[inline]
pub(crate) fn put_opt_double(tag: u32, value: f64, out: &mut Vec<u8>) {
    if value != 0.0 {
        put_double(tag, value, out);
    }
}

/// A packed repeated 64-bit field (`fixed64`, `double`) of `count` values:
/// absent when empty.
#[inline]
pub(crate) fn packed_fixed64_len(tag: u32, count: usize) -> usize {
    if count == 0 {
        0
    } else {
        delimited_len(tag, count * 8)
    }
}

/// Writes a packed repeated 64-bit field from the values' bits, as prost
/// writes `fixed64` and `double` lists; `count` is their number.
#[inline]
pub(crate) fn put_packed_fixed64(
    tag: u32,
    count: usize,
    values: impl Iterator<Item = u64>,
    out: &mut Vec<u8>,
) {
    if count != 0 {
        put_delimited_header(tag, count * 8, out);
        for value in values {
            out.extend_from_slice(&value.to_le_bytes());
        }
    }
}

/// The payload length of a packed repeated `uint64` field.
#[inline]
pub(crate) fn packed_varint_body_len(values: impl Iterator<Item = u64>) -> usize {
    values.map(encoded_len_varint).sum()
}

/// A packed repeated `uint64` field: absent when empty.
#[inline]
pub(crate) fn packed_varint_len(tag: u32, values: impl Iterator<Item = u64>) -> usize {
    match packed_varint_body_len(values) {
        0 => 0,
        len => delimited_len(tag, len),
    }
}

/// Writes a packed repeated `uint64` field unless it is empty.
#[inline]
pub(crate) fn put_packed_varint<I: Iterator<Item = u64>>(
    tag: u32,
    values: impl Fn() -> I,
    out: &mut Vec<u8>,
) {
    let len = packed_varint_body_len(values());
    if len != 0 {
        put_delimited_header(tag, len, out);
        for value in values() {
            put_varint(value, out);
        }
    }
}
