//! The reader against arbitrary and damaged segment bytes: it never
//! panics, never returns a damaged record as valid, and accounts for every
//! byte as a record or a damaged stretch. A lane opened over damaged files
//! behaves the same way.

use std::fs;

use otlpkit_core::{FsyncPolicy, Signal};
use otlpkit_spool::{BodyFormat, Scan, Spool, scan};
use proptest::prelude::*;

/// Checks what any scan must satisfy over `bytes`.
fn consistent(bytes: &[u8], found: &Scan) -> Result<(), TestCaseError> {
    let mut stretches: Vec<(u64, u64)> = found
        .records
        .iter()
        .map(|r| (r.offset, r.len))
        .chain(found.corrupt.iter().map(|c| (c.offset, c.len)))
        .collect();
    stretches.sort_unstable();
    let mut at = if found.header_ok { 16 } else { 0 };
    for (offset, len) in stretches {
        prop_assert_eq!(offset, at, "gap or overlap at {}", at);
        prop_assert!(len > 0);
        at = offset + len;
    }
    prop_assert_eq!(at, bytes.len() as u64, "not every byte is accounted for");
    Ok(())
}

/// A valid segment holding `bodies`, written through a real lane.
fn valid_segment(bodies: &[Vec<u8>]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let spool = Spool::open_dir(dir.path(), 1 << 30, FsyncPolicy::Never).unwrap();
    let lane = spool.lane(Signal::Traces).unwrap();
    for (n, body) in bodies.iter().enumerate() {
        lane.append(BodyFormat::PROTOBUF, n as u64 + 1, body)
            .unwrap();
    }
    let path = fs::read_dir(lane.dir())
        .unwrap()
        .filter_map(Result::ok)
        .find(|e| e.file_name().to_string_lossy().ends_with(".seg"))
        .unwrap()
        .path();
    fs::read(path).unwrap()
}

fn bodies() -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop::collection::vec(prop::collection::vec(any::<u8>(), 0..200), 1..12)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..4096)) {
        let found = scan(&bytes);
        consistent(&bytes, &found)?;
    }

    #[test]
    fn arbitrary_bytes_after_a_valid_header_never_panic(
        tail in prop::collection::vec(any::<u8>(), 0..4096),
    ) {
        let mut bytes = valid_segment(&[Vec::new()])[..16].to_vec();
        bytes.extend_from_slice(&tail);
        let found = scan(&bytes);
        prop_assert!(found.header_ok);
        consistent(&bytes, &found)?;
    }

    #[test]
    fn damaged_segments_yield_only_intact_records(
        bodies in bodies(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 0..6),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let mut bytes = valid_segment(&bodies);
        let written = bytes.clone();
        let clean = scan(&bytes);
        prop_assert_eq!(clean.records.len(), bodies.len());
        for (index, mask) in &flips {
            let at = index.index(bytes.len());
            bytes[at] ^= mask;
        }
        if truncate {
            let keep = cut.index(bytes.len() + 1);
            bytes.truncate(keep);
        }
        let found = scan(&bytes);
        consistent(&bytes, &found)?;
        // Every record reported valid is one that was written, intact.
        for record in &found.records {
            let original = clean.records.iter().find(|r| r.offset == record.offset);
            prop_assert!(original.is_some(), "a record that was never written: {:?}", record);
            prop_assert_eq!(original.unwrap().items, record.items);
            let start = record.offset as usize;
            let end = start + record.len as usize;
            prop_assert_eq!(&bytes[start..end], &written[start..end]);
        }
        if flips.is_empty() && !truncate {
            prop_assert!(found.corrupt.is_empty());
        }
    }

    #[test]
    fn a_lane_over_damaged_files_opens_and_drains_without_panicking(
        bodies in bodies(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..6),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let written: u64 = (1..=bodies.len() as u64).sum();
        {
            let spool = Spool::open_dir(dir.path(), 1 << 30, FsyncPolicy::Never).unwrap();
            let lane = spool.lane(Signal::Logs).unwrap();
            for (n, body) in bodies.iter().enumerate() {
                lane.append(BodyFormat::PROTOBUF, n as u64 + 1, body).unwrap();
            }
        }
        let lane_dir = dir.path().join("logs");
        for entry in fs::read_dir(&lane_dir).unwrap().filter_map(Result::ok) {
            let path = entry.path();
            let mut bytes = fs::read(&path).unwrap();
            for (index, mask) in &flips {
                if !bytes.is_empty() {
                    let at = index.index(bytes.len());
                    bytes[at] ^= mask;
                }
            }
            fs::write(&path, bytes).unwrap();
        }
        let spool = Spool::open_dir(dir.path(), 1 << 30, FsyncPolicy::Never).unwrap();
        let lane = spool.lane(Signal::Logs).unwrap();
        let found = lane.found();
        // Intact items plus damaged ones with a readable header never exceed
        // what was written.
        prop_assert!(found.items + found.corrupt_items <= written);
        let mut delivered = 0;
        while let Some(record) = lane.front() {
            if let Ok((_, body)) = &record.body {
                prop_assert!(bodies.contains(body));
                delivered += record.items;
            }
            lane.remove(record.id).unwrap();
        }
        prop_assert!(delivered <= found.items);
        prop_assert!(lane.is_empty());
    }
}
