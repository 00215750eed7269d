//! What can go wrong with a spool: opening it, and writing to it.

use std::io;
use std::path::PathBuf;

use otlpkit_core::Signal;

/// A spool directory that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpoolError {
    /// Another process owns the directory (its lock file is locked).
    #[error(
        "spool directory {} is in use by {}; one directory serves one process at a time",
        .dir.display(),
        owner(*.pid)
    )]
    Locked {
        /// The directory.
        dir: PathBuf,
        /// The owner's process id, as it wrote it in the lock file.
        pid: Option<u32>,
    },
    /// The directory or one of its files could not be created, read or
    /// written (a read-only directory, missing permissions, no space).
    #[error("cannot use spool directory {}: {action}: {source}", .dir.display())]
    Io {
        /// The directory.
        dir: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// Another user owns the directory (the spool's or one of its lanes';
    /// Unix only): records someone else put there would be sent with this
    /// process's credentials, so it is not used.
    #[error(
        "spool directory {} is owned by uid {owner}, not this process's uid {uid}; \
         choose another spool directory (OTLPKIT_SPOOL_DIR) or make uid {uid} its owner",
        .dir.display()
    )]
    NotOwned {
        /// The directory.
        dir: PathBuf,
        /// Its owner.
        owner: u32,
        /// This process's effective uid.
        uid: u32,
    },
    /// The group or others may write to the directory (the spool's or one
    /// of its lanes'; Unix only): another user could have put records there,
    /// to be sent with this process's credentials, so it is not used.
    #[error(
        "spool directory {} is writable by its group or by others (mode {mode:04o}), \
         so another user could put records in it; choose another spool directory \
         (OTLPKIT_SPOOL_DIR), or check what it holds and run `chmod 700` on it",
        .dir.display()
    )]
    WritableByOthers {
        /// The directory.
        dir: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// An exporter of this process already spools this signal into the
    /// directory.
    #[error(
        "the {signal} spool in {} is already used by another exporter of this process",
        .dir.display()
    )]
    LaneInUse {
        /// The directory.
        dir: PathBuf,
        /// The signal.
        signal: Signal,
    },
}

fn owner(pid: Option<u32>) -> String {
    match pid {
        Some(pid) => format!("process {pid}"),
        None => "another process".to_owned(),
    }
}

/// Why a batch could not be written to the spool; the caller then deals
/// with the batch as if there were no spool.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppendError {
    /// The spool is at its byte cap.
    #[error("the spool is full: {used} of {max} bytes used, {needed} more needed")]
    Full {
        /// Bytes the record needs.
        needed: u64,
        /// Bytes the spool's files take now.
        used: u64,
        /// The cap.
        max: u64,
    },
    /// The request is larger than a record may be.
    #[error("a {bytes}-byte request is larger than a spool record may be ({max} bytes)")]
    TooLarge {
        /// The request's size.
        bytes: usize,
        /// The largest record body.
        max: usize,
    },
    /// Writing failed (no space left on the device, a directory that
    /// became read-only, an I/O error).
    #[error("cannot write to the spool file {}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
}
