//! A lane on a real directory: what is appended comes back in order, in
//! the next process too; delivered records and drained segments go away;
//! the byte cap, torn writes and a vanished directory are handled without
//! a panic.

use std::fs;
use std::path::Path;

use otlpkit_core::{Compression, FsyncPolicy, Signal};
use otlpkit_spool::{AppendError, BodyFormat, Encoding, Spool, SpoolError, Unreadable};

fn open(dir: &Path, max_bytes: u64) -> Spool {
    Spool::open_dir(dir, max_bytes, FsyncPolicy::Never).unwrap()
}

/// Reads, delivers and removes everything in the lane; returns the bodies.
fn drain(lane: &otlpkit_spool::Lane) -> Vec<Vec<u8>> {
    let mut bodies = Vec::new();
    while let Some(record) = lane.front() {
        let (_, body) = record.body.expect("intact");
        bodies.push(body);
        lane.remove(record.id).unwrap();
    }
    bodies
}

fn body(n: usize) -> Vec<u8> {
    format!("request {n} ").repeat(n % 50 + 1).into_bytes()
}

fn segments(dir: &Path, signal: Signal) -> usize {
    fs::read_dir(dir.join(signal.as_str()))
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().ends_with(".seg"))
                .count()
        })
        .unwrap_or(0)
}

#[test]
fn records_come_back_in_order_in_the_next_process_and_only_once() {
    let dir = tempfile::tempdir().unwrap();
    let format = BodyFormat::new(Encoding::Json, Compression::Gzip);
    {
        let spool = open(dir.path(), 1 << 20);
        let lane = spool.lane(Signal::Logs).unwrap();
        for n in 0..300 {
            lane.append(format, n as u64 + 1, &body(n)).unwrap();
        }
        assert_eq!(lane.records(), 300);
        assert_eq!(lane.items(), (1..=300).sum::<u64>());
        // Segments are a sixteenth of the cap (at least 64 KiB): several.
        assert!(segments(dir.path(), Signal::Logs) > 1);
        // Deliver the first 100 only.
        for _ in 0..100 {
            let record = lane.front().unwrap();
            lane.remove(record.id).unwrap();
        }
    }
    let spool = open(dir.path(), 1 << 20);
    let lane = spool.lane(Signal::Logs).unwrap();
    let found = lane.found();
    assert_eq!((found.records, found.corrupt_records), (200, 0));
    assert_eq!(found.items, (101..=300).sum::<u64>());
    let record = lane.front().unwrap();
    assert_eq!(record.items, 101);
    assert_eq!(record.body.as_ref().unwrap().0, format);
    let bodies = drain(&lane);
    assert_eq!(bodies, (100..300).map(body).collect::<Vec<_>>());
    // Drained: no segment left, no bytes used.
    assert_eq!(segments(dir.path(), Signal::Logs), 0);
    assert_eq!(spool.used_bytes(), 0);
    drop(lane);
    let lane = spool.lane(Signal::Logs).unwrap();
    assert_eq!(lane.found().records, 0);
    assert!(lane.front().is_none());
}

#[test]
fn the_cap_refuses_appends_until_records_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    let spool = open(dir.path(), 200 << 10);
    let traces = spool.lane(Signal::Traces).unwrap();
    let metrics = spool.lane(Signal::Metrics).unwrap();
    let chunk = vec![7u8; 10 << 10];
    let mut written = 0;
    let error = loop {
        let lane = if written % 2 == 0 { &traces } else { &metrics };
        match lane.append(BodyFormat::PROTOBUF, 1, &chunk) {
            Ok(_) => written += 1,
            Err(error) => break error,
        }
        assert!(written < 100, "the cap never applied");
    };
    assert!(spool.used_bytes() <= 200 << 10);
    let AppendError::Full { needed, used, max } = error else {
        panic!("expected Full, got {error}");
    };
    assert_eq!(max, 200 << 10);
    assert!(used + needed > max);
    assert!(error.to_string().contains("the spool is full"), "{error}");
    // Both lanes count against the one cap.
    assert!(traces.records() > 5 && metrics.records() > 5);
    drain(&traces);
    traces.append(BodyFormat::PROTOBUF, 1, &chunk).unwrap();
}

#[test]
fn a_torn_last_record_is_skipped_and_counted_and_the_rest_delivered() {
    let dir = tempfile::tempdir().unwrap();
    {
        let spool = open(dir.path(), 1 << 20);
        let lane = spool.lane(Signal::Traces).unwrap();
        for n in 0..3 {
            lane.append(BodyFormat::PROTOBUF, 10, &body(n)).unwrap();
        }
    }
    let segment = fs::read_dir(dir.path().join("traces"))
        .unwrap()
        .filter_map(Result::ok)
        .find(|e| e.file_name().to_string_lossy().ends_with(".seg"))
        .unwrap()
        .path();
    let len = fs::metadata(&segment).unwrap().len();
    let file = fs::OpenOptions::new().write(true).open(&segment).unwrap();
    file.set_len(len - 3).unwrap();
    drop(file);
    let spool = open(dir.path(), 1 << 20);
    let lane = spool.lane(Signal::Traces).unwrap();
    let found = lane.found();
    assert_eq!((found.records, found.items), (2, 20));
    assert_eq!((found.corrupt_records, found.corrupt_items), (1, 10));
    assert_eq!(drain(&lane), vec![body(0), body(1)]);
}

#[test]
fn a_record_damaged_after_it_was_indexed_is_unreadable_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let spool = open(dir.path(), 1 << 20);
    let lane = spool.lane(Signal::Metrics).unwrap();
    lane.append(BodyFormat::PROTOBUF, 4, b"first").unwrap();
    lane.append(BodyFormat::PROTOBUF, 5, b"second").unwrap();
    let segment = fs::read_dir(lane.dir())
        .unwrap()
        .filter_map(Result::ok)
        .find(|e| e.file_name().to_string_lossy().ends_with(".seg"))
        .unwrap()
        .path();
    let mut bytes = fs::read(&segment).unwrap();
    let at = bytes.windows(5).position(|w| w == b"first").unwrap();
    bytes[at] = b'F';
    fs::write(&segment, &bytes).unwrap();
    let record = lane.front().unwrap();
    assert_eq!(record.items, 4);
    assert!(matches!(record.body, Err(Unreadable::Corrupt { .. })));
    lane.remove(record.id).unwrap();
    let record = lane.front().unwrap();
    assert_eq!(record.body.unwrap().1, b"second");
}

#[test]
fn one_lane_per_signal_and_one_spool_per_directory_in_a_process() {
    let dir = tempfile::tempdir().unwrap();
    let spool = open(dir.path(), 1 << 20);
    let lane = spool.lane(Signal::Traces).unwrap();
    let again = open(dir.path(), 1 << 20);
    assert_eq!(again.dir(), spool.dir());
    let error = again.lane(Signal::Traces).unwrap_err();
    assert!(matches!(error, SpoolError::LaneInUse { .. }), "{error}");
    assert!(error.to_string().contains("traces"), "{error}");
    drop(lane);
    again.lane(Signal::Traces).unwrap();
}

#[test]
fn a_directory_removed_under_the_spool_fails_appends_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let spool = open(dir.path(), 1 << 20);
    let lane = spool.lane(Signal::Logs).unwrap();
    lane.append(BodyFormat::PROTOBUF, 1, b"kept in memory index")
        .unwrap();
    let record = lane.front().unwrap();
    lane.remove(record.id).unwrap();
    fs::remove_dir_all(dir.path()).unwrap();
    let error = lane
        .append(BodyFormat::PROTOBUF, 1, b"nowhere to go")
        .unwrap_err();
    let AppendError::Io { path, .. } = &error else {
        panic!("expected Io, got {error}");
    };
    assert!(path.starts_with(lane.dir()), "{error}");
    assert!(lane.is_empty());
}

#[test]
fn every_fsync_policy_writes_records_the_next_process_reads() {
    use std::time::Duration;
    for fsync in [
        FsyncPolicy::Always,
        FsyncPolicy::Interval(Duration::from_millis(1)),
        FsyncPolicy::Never,
    ] {
        let dir = tempfile::tempdir().unwrap();
        {
            let spool = Spool::open_dir(dir.path(), 1 << 20, fsync).unwrap();
            assert_eq!(spool.fsync(), fsync);
            let lane = spool.lane(Signal::Traces).unwrap();
            // More than one 64 KiB segment: a closed one is forced too.
            for n in 0..300 {
                lane.append(BodyFormat::PROTOBUF, 2, &body(n)).unwrap();
            }
            assert!(segments(dir.path(), Signal::Traces) > 1);
            std::thread::sleep(Duration::from_millis(2));
            let interval = matches!(fsync, FsyncPolicy::Interval(_));
            assert_eq!(lane.sync_due(), interval, "{fsync:?}");
            lane.sync(false).unwrap();
            assert!(!lane.sync_due(), "{fsync:?}");
            let first = lane.front().unwrap();
            lane.remove(first.id).unwrap();
            lane.sync(true).unwrap();
        }
        let spool = Spool::open_dir(dir.path(), 1 << 20, fsync).unwrap();
        let lane = spool.lane(Signal::Traces).unwrap();
        assert_eq!(lane.found().records, 299, "{fsync:?}");
        assert_eq!(
            drain(&lane),
            (1..300).map(body).collect::<Vec<_>>(),
            "{fsync:?}"
        );
    }
}

/// Bytes of the segment files of every lane in `dir`, as the disk has them.
fn segment_bytes(dir: &Path) -> u64 {
    Signal::ALL
        .iter()
        .filter_map(|signal| fs::read_dir(dir.join(signal.as_str())).ok())
        .flatten()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".seg"))
        .map(|e| e.metadata().unwrap().len())
        .sum()
}

/// A lane dropped and opened again in the same process, while a clone of
/// its spool keeps the directory open, counts its files against the cap
/// once: the spool's used bytes stay those on disk, and the room the cap
/// leaves is still there to append into.
#[test]
fn a_lane_opened_again_in_the_same_process_counts_its_files_once() {
    let dir = tempfile::tempdir().unwrap();
    let spool = open(dir.path(), 200 << 10);
    let chunk = vec![7u8; 10 << 10];
    let lane = spool.lane(Signal::Traces).unwrap();
    // About 120 KiB of the 200 KiB cap.
    for _ in 0..12 {
        lane.append(BodyFormat::PROTOBUF, 1, &chunk).unwrap();
    }
    let used = spool.used_bytes();
    assert_eq!(used, segment_bytes(dir.path()));
    drop(lane);
    // Closed, its files are still on disk and still count.
    assert_eq!(spool.used_bytes(), used);
    let lane = spool.lane(Signal::Traces).unwrap();
    assert_eq!(lane.found().records, 12);
    assert_eq!(spool.used_bytes(), used);
    // Another 60 KiB fit under the cap (not if the 120 counted twice).
    for n in 0..6 {
        if let Err(error) = lane.append(BodyFormat::PROTOBUF, 1, &chunk) {
            panic!("append {n} after reopening: {error}");
        }
    }
    assert_eq!(spool.used_bytes(), segment_bytes(dir.path()));
    // Several times over: the count never grows with the openings.
    drop(lane);
    for _ in 0..3 {
        let lane = spool.lane(Signal::Traces).unwrap();
        assert_eq!(spool.used_bytes(), segment_bytes(dir.path()));
        drop(lane);
    }
    // Drained, nothing is left to count.
    let lane = spool.lane(Signal::Traces).unwrap();
    assert_eq!(drain(&lane).len(), 18);
    assert_eq!((spool.used_bytes(), segment_bytes(dir.path())), (0, 0));
}
