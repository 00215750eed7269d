//! Only the user the process runs as may read or write a spool (Unix): its
//! directories are created `0700` and its files `0600`; one made readable
//! by all by an older version is tightened when opened; a directory another
//! user owns, or that others may write to, is refused before anything in it
//! is read or written, with an error naming it, saying why and what to do.
//!
//! The modes asserted assume a umask that leaves the owner's bits alone
//! (any usual one: `022`, `027`, `077`).

#![cfg(unix)]

use std::fs;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::Path;

use otlpkit_core::{FsyncPolicy, Signal};
use otlpkit_spool::{BodyFormat, LOCK_FILE, Spool, SpoolError};

fn open(dir: &Path) -> Result<Spool, SpoolError> {
    Spool::open_dir(dir, 1 << 20, FsyncPolicy::Never)
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().mode() & 0o7777
}

fn set_mode(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// Every file in `dir` and the subdirectories, with its mode.
fn files(dir: &Path) -> Vec<(String, u32)> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(files(&path));
        } else {
            found.push((path.display().to_string(), mode(&path)));
        }
    }
    found.sort();
    found
}

/// A spool with a lane holding records, a cursor and several segments.
fn fill(dir: &Path) {
    let spool = open(dir).unwrap();
    let lane = spool.lane(Signal::Traces).unwrap();
    for n in 0..40u64 {
        lane.append(BodyFormat::PROTOBUF, 1, &vec![n as u8; 4 << 10])
            .unwrap();
    }
    let first = lane.front().unwrap();
    lane.remove(first.id).unwrap();
}

/// This process's uid, as the owner of a directory it just created.
fn my_uid() -> u32 {
    fs::metadata(tempfile::tempdir().unwrap().path())
        .unwrap()
        .uid()
}

#[test]
fn directories_are_created_0700_and_files_0600() {
    let base = tempfile::tempdir().unwrap();
    let dir = base.path().join("not/there/yet");
    fill(&dir);
    assert_eq!(mode(&base.path().join("not")), 0o700, "missing parents too");
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join("traces")), 0o700);
    let files = files(&dir);
    let names: Vec<_> = files.iter().map(|(name, _)| name.as_str()).collect();
    assert!(names.iter().any(|n| n.ends_with(LOCK_FILE)), "{names:?}");
    assert!(names.iter().any(|n| n.ends_with("cursor")), "{names:?}");
    assert!(
        names.iter().filter(|n| n.ends_with(".seg")).count() > 1,
        "{names:?}"
    );
    for (name, mode) in &files {
        assert_eq!(*mode, 0o600, "{name} is {mode:o}");
    }
}

/// What an older version left (`0755` directories, `0644` files) is ours
/// alone once opened again, and still holds its records.
#[test]
fn a_spool_readable_by_all_that_we_own_is_tightened() {
    let base = tempfile::tempdir().unwrap();
    let dir = base.path().join("spool");
    fill(&dir);
    let lane_dir = dir.join("traces");
    set_mode(&dir, 0o755);
    set_mode(&lane_dir, 0o755);
    for (name, _) in files(&dir) {
        set_mode(Path::new(&name), 0o644);
    }

    let spool = open(&dir).unwrap();
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join(LOCK_FILE)), 0o600);
    let lane = spool.lane(Signal::Traces).unwrap();
    assert_eq!(lane.found().records, 39);
    assert_eq!(mode(&lane_dir), 0o700);
    for (name, mode) in files(&dir) {
        assert_eq!(mode, 0o600, "{name} is {mode:o}");
    }
}

/// A directory its group or others may write to may hold records someone
/// else planted: refused, the spool's own and a lane's, and nothing is
/// written into it.
#[test]
fn a_directory_others_may_write_to_is_refused() {
    for writable in [0o777, 0o775, 0o1777, 0o702] {
        let base = tempfile::tempdir().unwrap();
        let dir = base.path().join("shared");
        fs::create_dir(&dir).unwrap();
        set_mode(&dir, writable);
        let error = open(&dir).unwrap_err();
        let SpoolError::WritableByOthers {
            dir: named,
            mode: bits,
        } = &error
        else {
            panic!("expected WritableByOthers for {writable:o}, got {error}");
        };
        assert_eq!(named, &dir.canonicalize().unwrap());
        assert_eq!(*bits, writable);
        let text = error.to_string();
        assert!(text.contains(&dir.display().to_string()), "{text}");
        assert!(
            text.contains("writable by its group or by others"),
            "{text}"
        );
        assert!(text.contains("OTLPKIT_SPOOL_DIR"), "{text}");
        assert!(text.contains("chmod 700"), "{text}");
        assert_eq!(files(&dir), [], "nothing written into it");
        assert_eq!(mode(&dir), writable, "left as it was");
    }

    // A lane's directory, after the spool's was opened.
    let base = tempfile::tempdir().unwrap();
    let spool = open(base.path()).unwrap();
    let lane_dir = base.path().join("logs");
    fs::create_dir(&lane_dir).unwrap();
    set_mode(&lane_dir, 0o770);
    let error = spool.lane(Signal::Logs).unwrap_err();
    let SpoolError::WritableByOthers { dir: named, .. } = &error else {
        panic!("expected WritableByOthers, got {error}");
    };
    assert_eq!(named, &lane_dir.canonicalize().unwrap());
    assert!(!lane_dir.join("cursor").exists(), "nothing written into it");
    // The lane was released: fixed, it opens.
    set_mode(&lane_dir, 0o700);
    spool.lane(Signal::Logs).unwrap();
}

/// A directory another user owns is refused, whatever its mode. Only root
/// can give a directory away; as another user this test checks nothing
/// (the decision itself is unit-tested in `src/perms.rs`).
#[test]
fn a_directory_another_user_owns_is_refused() {
    const NOBODY: u32 = 65534;
    let uid = my_uid();
    if uid != 0 {
        eprintln!("skipped: only root can create a directory another user owns");
        return;
    }
    let base = tempfile::tempdir().unwrap();
    let dir = base.path().join("theirs");
    fs::create_dir(&dir).unwrap();
    set_mode(&dir, 0o700);
    std::os::unix::fs::chown(&dir, Some(NOBODY), None).unwrap();
    let error = open(&dir).unwrap_err();
    let SpoolError::NotOwned {
        dir: named,
        owner,
        uid: ours,
    } = &error
    else {
        panic!("expected NotOwned, got {error}");
    };
    assert_eq!(named, &dir.canonicalize().unwrap());
    assert_eq!((*owner, *ours), (NOBODY, uid));
    let text = error.to_string();
    assert!(text.contains(&dir.display().to_string()), "{text}");
    assert!(
        text.contains(&format!(
            "is owned by uid {NOBODY}, not this process's uid {uid}"
        )),
        "{text}"
    );
    assert!(text.contains("OTLPKIT_SPOOL_DIR"), "{text}");
    assert_eq!(files(&dir), [], "nothing written into it");

    // A lane's directory.
    let base = tempfile::tempdir().unwrap();
    let spool = open(base.path()).unwrap();
    let lane_dir = base.path().join("metrics");
    fs::create_dir(&lane_dir).unwrap();
    set_mode(&lane_dir, 0o700);
    std::os::unix::fs::chown(&lane_dir, Some(NOBODY), None).unwrap();
    let error = spool.lane(Signal::Metrics).unwrap_err();
    assert!(
        matches!(&error, SpoolError::NotOwned { dir, owner: NOBODY, .. } if *dir == lane_dir.canonicalize().unwrap()),
        "{error}"
    );
    assert!(!lane_dir.join("cursor").exists(), "nothing written into it");
}
