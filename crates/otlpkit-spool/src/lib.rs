//! otlpkit's disk spool: where encoded OTLP requests wait, on disk, for a
//! collector that cannot take them now, and for the next process when this
//! one exits first.
//!
//! This crate provides:
//!
//! - [`Spool`]: one directory, owned by one process at a time (an exclusive
//!   lock on its `LOCK` file; a second owner gets [`SpoolError::Locked`]
//!   naming the directory and the owner's pid), with a byte cap on all its
//!   files and an [`FsyncPolicy`];
//! - [`Lane`]: one signal's append-only log in it, in segment files of
//!   checksummed records (the format is versioned, [`FORMAT_VERSION`], and
//!   described in `docs/SPOOL.md`): append behind everything written,
//!   read the oldest record, remove it once delivered (a cursor file records
//!   how far delivery got, and drained segments are deleted);
//! - [`scan`]: the reader of one segment's bytes, which never panics and
//!   skips (and reports) torn and damaged records.
//!
//! The exporter core (`otlpkit-exporter`) decides what goes to the spool
//! and drains it; applications turn the spool on with `OTLPKIT_SPOOL_DIR`
//! or the builders, never through this crate directly.
//!
//! # Crash safety
//!
//! A record is appended with plain writes, its header last: once
//! [`Lane::append`] returns, the record survives the process being killed
//! at any moment. A write cut short by a kill leaves bytes no valid header
//! claims, and one cut short by an operating-system crash a torn record;
//! the next process skips either (by their checksums) and counts the bytes.
//! An append that fails (or whose fsync fails, with
//! [`FsyncPolicy::Always`]) is taken back whole: the record is not in the
//! spool, for this process or the next, and the caller keeps the batch. A
//! record is removed only after the caller says so (the collector took it);
//! a process killed between the collector's answer and the cursor update
//! sends that record again: at least once, never lost.
//!
//! # Permissions
//!
//! On Unix, only the user the process runs as may read or write a spool:
//! its directories are created with mode `0700` and its files with `0600`.
//! An existing spool directory (and each lane's) must be owned by the
//! process's effective uid and not be writable by its group or others, or
//! the spool is not opened ([`SpoolError::NotOwned`],
//! [`SpoolError::WritableByOthers`]): records another user put there would
//! be sent with this process's credentials. One it owns that others may
//! read (made by an older version) is tightened to `0700`, and its files to
//! `0600`. Other systems keep their defaults.
//!
//! # Supported Rust versions
//!
//! The minimum supported Rust version is 1.95, the workspace's
//! `rust-version`; raising it is not a breaking change.

#![cfg_attr(docsrs, feature(doc_cfg))]

mod cursor;
mod error;
mod format;
mod lane;
mod lock;
mod perms;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use otlpkit_core::{FsyncPolicy, Signal, SpoolConfig};

pub use error::{AppendError, SpoolError};
pub use format::{
    BodyFormat, CorruptRegion, Encoding, FORMAT_VERSION, MAX_BODY_LEN, Scan, ScannedRecord, scan,
};
pub use lane::{Found, Lane, Record, RecordId, Unreadable};
pub use lock::LOCK_FILE;

/// The smallest and largest segment file a spool starts a new segment at.
const MIN_SEGMENT_BYTES: u64 = 64 << 10;
const MAX_SEGMENT_BYTES: u64 = 64 << 20;

/// What the lanes of one directory share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) dir: PathBuf,
    pub(crate) max_bytes: u64,
    pub(crate) fsync: FsyncPolicy,
    /// Target size of a segment file: a sixteenth of the cap, within bounds,
    /// so that space comes back in small steps as the spool drains.
    pub(crate) segment_bytes: u64,
    /// Bytes of each lane's segment files, by [`slot`]: set by the lane
    /// when it is opened (to what it found on disk), then kept up to date
    /// by it alone (the one lane of its signal open at a time). A lane
    /// closed leaves its count, as its files stay on disk; the next lane of
    /// its signal replaces it, never adds to it.
    used: [AtomicU64; 3],
    /// Which signals' lanes are open.
    claimed: Mutex<[bool; 3]>,
    /// Held for the life of the spool: the directory's lock.
    _lock: File,
}

fn slot(signal: Signal) -> usize {
    match signal {
        Signal::Traces => 0,
        Signal::Metrics => 1,
        _ => 2,
    }
}

impl Shared {
    pub(crate) fn release(&self, signal: Signal) {
        self.claimed.lock().unwrap_or_else(PoisonError::into_inner)[slot(signal)] = false;
    }

    /// The byte count of the lane of `signal`.
    pub(crate) fn used_by(&self, signal: Signal) -> &AtomicU64 {
        &self.used[slot(signal)]
    }

    /// Bytes of the segment files of every lane opened in this process.
    pub(crate) fn used(&self) -> u64 {
        self.used
            .iter()
            .map(|used| used.load(Ordering::Relaxed))
            .sum()
    }
}

/// The spools open in this process, by canonical directory: the lock is
/// per process, so a second pipeline on the same directory shares it.
static OPEN: Mutex<Vec<(PathBuf, Weak<Shared>)>> = Mutex::new(Vec::new());

/// A spool directory owned by this process. Cheap to clone; the directory
/// stays locked until the last clone and the last [`Lane`] are dropped.
#[derive(Debug, Clone)]
pub struct Spool {
    shared: Arc<Shared>,
}

impl Spool {
    /// Opens the spool `config` describes, creating its directory if
    /// needed; `None` when the configuration has no directory. Opening a
    /// directory this process already has open returns the same spool (with
    /// the settings it was first opened with).
    ///
    /// # Errors
    ///
    /// [`SpoolError::Locked`] when another process owns the directory,
    /// [`SpoolError::NotOwned`] or [`SpoolError::WritableByOthers`] when
    /// another user owns it or may write to it (Unix),
    /// [`SpoolError::Io`] when it cannot be created or written (read-only,
    /// no permission).
    pub fn open(config: &SpoolConfig) -> Result<Option<Self>, SpoolError> {
        match config.dir() {
            Some(dir) => Self::open_dir(dir, config.max_bytes(), config.fsync()).map(Some),
            None => Ok(None),
        }
    }

    /// Opens (or creates) the spool in `dir`.
    ///
    /// # Errors
    ///
    /// As [`open`](Self::open).
    pub fn open_dir(dir: &Path, max_bytes: u64, fsync: FsyncPolicy) -> Result<Self, SpoolError> {
        let io = |action| {
            move |source| SpoolError::Io {
                dir: dir.to_owned(),
                action,
                source,
            }
        };
        perms::create_dir(dir).map_err(io("cannot create the directory"))?;
        let canonical = dir
            .canonicalize()
            .map_err(io("cannot resolve the directory"))?;
        let mut open = OPEN.lock().unwrap_or_else(PoisonError::into_inner);
        open.retain(|(_, shared)| shared.strong_count() > 0);
        if let Some(shared) = open
            .iter()
            .find(|(path, _)| *path == canonical)
            .and_then(|(_, shared)| shared.upgrade())
        {
            return Ok(Self { shared });
        }
        // Before anything in it is read or written.
        perms::check_dir(&canonical)?;
        let lock = lock::lock(&canonical)?;
        let shared = Arc::new(Shared {
            segment_bytes: (max_bytes / 16).clamp(MIN_SEGMENT_BYTES, MAX_SEGMENT_BYTES),
            dir: canonical.clone(),
            max_bytes,
            fsync,
            used: Default::default(),
            claimed: Mutex::new([false; 3]),
            _lock: lock,
        });
        open.push((canonical, Arc::downgrade(&shared)));
        Ok(Self { shared })
    }

    /// The directory (canonical).
    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }

    /// The byte cap on all the spool's files.
    pub fn max_bytes(&self) -> u64 {
        self.shared.max_bytes
    }

    /// The fsync policy.
    pub fn fsync(&self) -> FsyncPolicy {
        self.shared.fsync
    }

    /// Bytes the spool's segment files take now: those of every lane
    /// opened in this process, open or closed since (its files stay on
    /// disk). A lane opened again is counted once, as it is on disk. This
    /// is what the byte cap is checked against.
    pub fn used_bytes(&self) -> u64 {
        self.shared.used()
    }

    /// Opens the lane of `signal`, with what earlier processes left in it.
    /// One lane per signal is open at a time in a process; dropping it
    /// releases it.
    ///
    /// # Errors
    ///
    /// [`SpoolError::LaneInUse`] when the lane is already open,
    /// [`SpoolError::NotOwned`] or [`SpoolError::WritableByOthers`] when
    /// its directory is another user's or others may write to it (Unix),
    /// [`SpoolError::Io`] when its files cannot be read or created.
    pub fn lane(&self, signal: Signal) -> Result<Lane, SpoolError> {
        {
            let mut claimed = self
                .shared
                .claimed
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if claimed[slot(signal)] {
                return Err(SpoolError::LaneInUse {
                    dir: self.shared.dir.clone(),
                    signal,
                });
            }
            claimed[slot(signal)] = true;
        }
        let io = |source| SpoolError::Io {
            dir: self.shared.dir.clone(),
            action: "cannot open the signal's log",
            source,
        };
        let dir = self.shared.dir.join(signal.as_str());
        perms::create_dir(&dir)
            .map_err(io)
            .and_then(|()| perms::check_dir(&dir))
            .and_then(|()| Lane::open(Arc::clone(&self.shared), signal).map_err(io))
            .inspect_err(|_| self.shared.release(signal))
    }
}
