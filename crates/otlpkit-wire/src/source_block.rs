//! The encoded source attributes of recent callsites, kept per encoding
//! thread.
//!
//! A `tracing` span's source attributes (`code.file.path`,
//! `code.module.name`, `code.line.number`, `thread.id`, `thread.name`,
//! `level`, `target`) are the same for every span one callsite makes on one
//! thread, and they are most of a default span's attributes: encoding them
//! field by field was about a fifth of the export worker's instructions per
//! span. The encoder keeps the bytes of the last block it wrote for each of
//! [`SLOTS`] slots, chosen by a hash of the block's file, line and thread id,
//! and writes a block it finds there (the same values, compared in full) with
//! one copy.
//!
//! Bounds: at most [`SLOTS`] blocks per thread that encodes spans (a block is
//! a few hundred bytes), replaced when another block hashes to the same slot.
//! A miss costs what encoding without the cache does, plus keeping a copy.
//! The bytes are the same either way: a block is reused only for values equal
//! to those it was written from.

use std::cell::RefCell;

use crate::common::{put_source_attributes, source_attributes_len};
use crate::record::{AttributeValue, SourceAttributes};

/// Blocks kept per encoding thread.
pub(crate) const SLOTS: usize = 256;

/// One encoded block: the values and field tag it was written from, and its
/// bytes. A slot starts with the default block (tag 0, no values), which no
/// lookup can match: field tags start at 1, and empty values are never
/// looked up.
#[derive(Default)]
struct Block {
    tag: u32,
    source: SourceAttributes,
    bytes: Vec<u8>,
}

thread_local! {
    static BLOCKS: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// The bytes of a record's source attributes as a repeated `KeyValue` field
/// `tag`: what [`source_attributes_len`] returns, from the cache.
#[inline]
pub(crate) fn cached_source_attributes_len(tag: u32, source: &SourceAttributes) -> usize {
    with_block(tag, source, <[u8]>::len).unwrap_or_else(|| source_attributes_len(tag, source))
}

/// Writes a record's source attributes as a repeated `KeyValue` field `tag`:
/// the bytes [`put_source_attributes`] writes, from the cache.
#[inline]
pub(crate) fn put_cached_source_attributes(tag: u32, source: &SourceAttributes, out: &mut Vec<u8>) {
    if with_block(tag, source, |bytes| out.extend_from_slice(bytes)).is_none() {
        put_source_attributes(tag, source, out);
    }
}

/// Runs `use_bytes` on the encoded block for these values, encoding it into
/// its slot first unless it is there; `None` when the block is not cached
/// (nothing to encode, a thread name that is not a string, or the thread's
/// cache already destroyed at thread exit).
#[inline]
fn with_block<R>(
    tag: u32,
    source: &SourceAttributes,
    use_bytes: impl FnOnce(&[u8]) -> R,
) -> Option<R> {
    if source.is_empty() || !cacheable_thread_name(source.thread_name.as_ref()) {
        return None;
    }
    BLOCKS
        .try_with(|blocks| {
            let mut blocks = blocks.borrow_mut();
            if blocks.is_empty() {
                blocks.resize_with(SLOTS, Block::default);
            }
            let block = &mut blocks[slot_of(source)];
            if block.tag == tag && same_source(&block.source, source) {
                #[cfg(test)]
                counts::hit();
            } else {
                #[cfg(test)]
                counts::encoded();
                block.bytes.clear();
                put_source_attributes(tag, source, &mut block.bytes);
                block.tag = tag;
                block.source.clone_from(source);
            }
            use_bytes(&block.bytes)
        })
        .ok()
}

/// A thread name is compared as text; any other kind of value (which the
/// `tracing` layer never makes) is encoded without the cache, so that no
/// comparison of numbers (`0.0 == -0.0`) can hand out another value's bytes.
#[inline]
fn cacheable_thread_name(name: Option<&AttributeValue>) -> bool {
    name.is_none_or(|name| text_bytes(name).is_some())
}

/// A string value's bytes, without the UTF-8 check of
/// [`AttributeValue::as_str`] (which would cost more than the comparison).
#[inline]
fn text_bytes(value: &AttributeValue) -> Option<&[u8]> {
    match value {
        AttributeValue::Static(text) => Some(text.as_bytes()),
        AttributeValue::Inline(text) => Some(text.as_bytes()),
        AttributeValue::String(text) => Some(text.as_str().as_bytes()),
        _ => None,
    }
}

/// The slot of a block: a hash of its file (by address: one callsite's file
/// is one `&'static str`), line and thread id. Equal values in different
/// memory land in different slots at worst, which costs a miss, never a
/// wrong block.
#[inline]
fn slot_of(source: &SourceAttributes) -> usize {
    const MIX: u64 = 0x9E37_79B9_7F4A_7C15;
    let file = source.file.map_or(0, |file| file.as_ptr() as u64);
    let line = u64::from(source.line.unwrap_or(0));
    let thread = source.thread_id.unwrap_or(0) as u64;
    let hash = (file ^ line.rotate_left(32) ^ thread.wrapping_mul(MIX)).wrapping_mul(MIX);
    // The top bits of a multiplicative hash are its best mixed.
    (hash >> (u64::BITS - SLOTS.trailing_zeros())) as usize
}

/// Whether two sets of source attributes encode to the same bytes: equal
/// values, the strings compared by address first, then by content.
///
/// Every field is named (no `..`): a field added to [`SourceAttributes`]
/// fails to compile here until it is compared, instead of letting a block
/// written for one value be reused for another.
#[inline]
fn same_source(a: &SourceAttributes, b: &SourceAttributes) -> bool {
    let SourceAttributes {
        file,
        module,
        line,
        thread_id,
        thread_name,
        level,
        target,
    } = a;
    *line == b.line
        && *thread_id == b.thread_id
        && same_text(*file, b.file)
        && same_text(*module, b.module)
        && same_text(*target, b.target)
        && same_text(*level, b.level)
        && match (thread_name, &b.thread_name) {
            (None, None) => true,
            (Some(a), Some(b)) => text_bytes(a).is_some_and(|a| Some(a) == text_bytes(b)),
            _ => false,
        }
}

#[inline]
fn same_text(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => std::ptr::eq(a, b) || a == b,
        (None, None) => true,
        _ => false,
    }
}

/// What this thread's cache did, for the tests: blocks encoded into a slot
/// and blocks served from one (the bytes alone cannot tell a cache that
/// works from one that never hits).
#[cfg(test)]
mod counts {
    use std::cell::Cell;

    thread_local! {
        static COUNTS: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
    }

    pub(super) fn encoded() {
        COUNTS.with(|counts| counts.set((counts.get().0 + 1, counts.get().1)));
    }

    pub(super) fn hit() {
        COUNTS.with(|counts| counts.set((counts.get().0, counts.get().1 + 1)));
    }

    /// (encoded, hits) so far on this thread.
    pub(super) fn get() -> (u64, u64) {
        COUNTS.with(Cell::get)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `work` made this thread's cache do: (encoded, hits).
    fn counted(work: impl FnOnce()) -> (u64, u64) {
        let (encoded, hits) = counts::get();
        work();
        let (encoded_after, hits_after) = counts::get();
        (encoded_after - encoded, hits_after - hits)
    }

    const TAG: u32 = 9;

    fn uncached(source: &SourceAttributes) -> Vec<u8> {
        let mut out = Vec::new();
        put_source_attributes(TAG, source, &mut out);
        assert_eq!(out.len(), source_attributes_len(TAG, source));
        out
    }

    fn cached(source: &SourceAttributes) -> Vec<u8> {
        let mut out = Vec::new();
        put_cached_source_attributes(TAG, source, &mut out);
        assert_eq!(out.len(), cached_source_attributes_len(TAG, source));
        out
    }

    fn source(line: u32, thread: i64, name: &str) -> SourceAttributes {
        SourceAttributes {
            file: Some("src/main.rs"),
            module: Some("app"),
            line: Some(line),
            thread_id: Some(thread),
            thread_name: Some(AttributeValue::copied(name)),
            level: None,
            target: Some("app"),
        }
    }

    /// Blocks whose slots collide in a cache of 256: the same file and
    /// thread, lines chosen until two share a slot.
    fn colliding_pair() -> (SourceAttributes, SourceAttributes) {
        let first = source(1, 1, "main");
        let slot = slot_of(&first);
        let second = (2..100_000)
            .map(|line| source(line, 1, "main"))
            .find(|other| slot_of(other) == slot)
            .expect("a line in the same slot");
        (first, second)
    }

    #[test]
    fn a_cached_block_is_the_uncached_bytes() {
        let spans = [
            source(10, 1, "main"),
            source(11, 1, "main"),
            source(10, 2, "worker"),
        ];
        for _ in 0..3 {
            for span in &spans {
                assert_eq!(cached(span), uncached(span));
            }
        }
    }

    #[test]
    fn blocks_in_the_same_slot_replace_each_other_and_stay_right() {
        let (first, second) = colliding_pair();
        for _ in 0..3 {
            assert_eq!(cached(&first), uncached(&first));
            assert_eq!(cached(&second), uncached(&second));
        }
    }

    #[test]
    fn a_block_is_reused_only_for_equal_values() {
        // Same file, line and thread (so the same slot), different
        // module, target, level or thread name: each must get its own bytes.
        let base = source(7, 3, "main");
        let variants = [
            SourceAttributes {
                module: Some("other"),
                ..base.clone()
            },
            SourceAttributes {
                target: Some("other"),
                ..base.clone()
            },
            SourceAttributes {
                level: Some("INFO"),
                ..base.clone()
            },
            SourceAttributes {
                thread_name: Some(AttributeValue::copied("renamed")),
                ..base.clone()
            },
            SourceAttributes {
                thread_name: None,
                ..base.clone()
            },
        ];
        for variant in &variants {
            assert_eq!(slot_of(variant), slot_of(&base));
            assert_eq!(cached(&base), uncached(&base));
            assert_eq!(cached(variant), uncached(variant));
        }
        // The same file text at another address: another slot, same bytes.
        let copy = SourceAttributes {
            file: Some(String::leak("src/main.rs".to_owned())),
            ..base.clone()
        };
        assert_eq!(cached(&copy), uncached(&base));
        // The field tag is part of the key.
        let mut other_tag = Vec::new();
        put_cached_source_attributes(TAG + 1, &base, &mut other_tag);
        let mut expected = Vec::new();
        put_source_attributes(TAG + 1, &base, &mut expected);
        assert_eq!(other_tag, expected);
    }

    #[test]
    fn numbers_as_thread_names_are_not_cached() {
        for name in [AttributeValue::F64(0.0), AttributeValue::F64(-0.0)] {
            let source = SourceAttributes {
                thread_name: Some(name),
                ..source(5, 5, "main")
            };
            assert_eq!(
                cached_source_attributes_len(TAG, &source),
                uncached(&source).len()
            );
            assert_eq!(cached(&source), uncached(&source));
        }
    }

    #[test]
    fn nothing_to_encode_is_nothing_cached() {
        let empty = SourceAttributes::default();
        assert!(cached(&empty).is_empty());
    }

    #[test]
    fn a_repeated_block_is_encoded_once_and_then_served() {
        // Each `cached` call sizes and writes: two lookups.
        let with_name = source(20, 9, "main");
        let without_name = SourceAttributes {
            thread_name: None,
            ..source(21, 9, "main")
        };
        let static_name = SourceAttributes {
            thread_name: Some(AttributeValue::Static("main")),
            ..source(22, 9, "main")
        };
        let long_name = SourceAttributes {
            thread_name: Some(AttributeValue::copied(
                "a thread name longer than an inline string",
            )),
            ..source(23, 9, "main")
        };
        for span in [&with_name, &without_name, &static_name, &long_name] {
            assert_eq!(
                counted(|| {
                    for _ in 0..3 {
                        assert_eq!(cached(span), uncached(span));
                    }
                }),
                (1, 5)
            );
        }
        // Equal text at another address is the same block (the module is
        // not part of the slot's hash, so this is the same slot).
        let module_copy = SourceAttributes {
            module: Some(String::leak("app".to_owned())),
            ..with_name.clone()
        };
        assert_eq!(slot_of(&module_copy), slot_of(&with_name));
        assert_eq!(
            counted(|| assert_eq!(cached(&module_copy), uncached(&with_name))),
            (0, 2)
        );
        // Another field tag is another block.
        assert_eq!(
            counted(|| {
                let mut out = Vec::new();
                put_cached_source_attributes(TAG + 1, &with_name, &mut out);
            }),
            (1, 0)
        );
    }

    #[test]
    fn callsites_of_one_file_spread_over_the_slots() {
        // 200 lines of one file on one thread, then a second pass: a hash
        // that put them in few slots would encode most of them again.
        let spans: Vec<_> = (1..=200).map(|line| source(line, 4, "main")).collect();
        let mut per_slot = std::collections::HashMap::new();
        for span in &spans {
            *per_slot.entry(slot_of(span)).or_insert(0_u64) += 1;
        }
        assert!(
            per_slot.len() >= 100,
            "{} slots for 200 callsites",
            per_slot.len()
        );
        let first = counted(|| spans.iter().for_each(|span| drop(cached(span))));
        let second = counted(|| spans.iter().for_each(|span| drop(cached(span))));
        assert_eq!(first.0, 200);
        // Second pass: a callsite alone in its slot is served; those that
        // share a slot replace each other again.
        let sharing: u64 = per_slot.values().filter(|&&n| n > 1).sum();
        assert_eq!(second.0, sharing);
    }

    #[test]
    fn uncacheable_values_never_enter_the_cache() {
        let number = SourceAttributes {
            thread_name: Some(AttributeValue::I64(7)),
            ..source(30, 30, "main")
        };
        let empty = SourceAttributes::default();
        assert_eq!(
            counted(|| {
                assert_eq!(cached(&number), uncached(&number));
                assert!(cached(&empty).is_empty());
            }),
            (0, 0)
        );
    }
}
