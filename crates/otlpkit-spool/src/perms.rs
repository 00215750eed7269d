//! Who may read and write a spool: on Unix, only the user the process runs
//! as. The spool holds telemetry (which may carry personal data), and what
//! is in it is sent with the process's own credentials, so its directories
//! are created `0700` and its files `0600`, and an existing directory is
//! used only when this user owns it and nobody else can write to it (else
//! another user could have planted records in it, say under `/tmp`). One
//! the user owns that others may only read (made by an older version) is
//! tightened to `0700`, and files others may read to `0600`, when opened.
//!
//! Elsewhere the operating system's defaults apply, as before.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::Path;

use crate::error::SpoolError;

/// Creates `dir` and any missing parent (on Unix with mode `0700`, less
/// the umask); an existing directory is left as it is, for
/// [`check_dir`].
pub(crate) fn create_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Options that create a file with mode `0600` on Unix.
pub(crate) fn file_options() -> OpenOptions {
    #[cfg_attr(not(unix), allow(unused_mut))]
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

/// Takes away the group's and others' permissions on an existing spool
/// file (`0644`, from an older version, becomes `0600`).
pub(crate) fn restrict_file(file: &File) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = file.metadata()?.permissions().mode();
        if mode & 0o077 != 0 {
            file.set_permissions(fs::Permissions::from_mode(mode & 0o700))?;
        }
    }
    #[cfg(not(unix))]
    let _ = file;
    Ok(())
}

/// What to do with an existing spool directory.
#[cfg(unix)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Ours, and only we can use it.
    Private,
    /// Ours, and others may read it: set this mode (ours alone).
    Tighten(u32),
    /// Another user owns it.
    NotOwned,
    /// Its group or others may write to it.
    Writable,
}

/// The decision about a directory owned by `owner` with permission bits
/// `mode`, for a process whose effective uid is `uid`.
#[cfg(unix)]
pub(crate) fn verdict(owner: u32, mode: u32, uid: u32) -> Verdict {
    if owner != uid {
        Verdict::NotOwned
    } else if mode & 0o022 != 0 {
        Verdict::Writable
    } else if mode & 0o077 != 0 {
        Verdict::Tighten(mode & 0o700)
    } else {
        Verdict::Private
    }
}

/// The uid the process creates files as: its effective uid (strictly, on
/// Linux, its filesystem uid, which follows it).
///
/// The crate depends on neither `libc` nor `rustix`, and `geteuid` would
/// need `unsafe` (forbidden in this workspace). The kernel gives a new pipe
/// the owner it gives a new file (Linux `current_fsuid()`, the BSDs' and
/// macOS's effective uid), so `fstat` on one answers without touching the
/// disk, on every Unix (`/proc/self/status` is Linux only; a probe file in
/// the spool directory needs write access to it and can be left behind by
/// a crash).
#[cfg(unix)]
fn process_uid() -> io::Result<u32> {
    use std::os::unix::fs::MetadataExt as _;
    let (reader, _writer) = io::pipe()?;
    let pipe = File::from(std::os::fd::OwnedFd::from(reader));
    Ok(pipe.metadata()?.uid())
}

/// Checks an existing spool directory, `dir` (the spool's, or one of its
/// lanes'), before anything in it is read or written: refuses one another
/// user owns or others may write to, and tightens one we own that others
/// may read. Nothing on other systems.
///
/// # Errors
///
/// [`SpoolError::NotOwned`], [`SpoolError::WritableByOthers`], or
/// [`SpoolError::Io`] when the directory cannot be examined or tightened.
pub(crate) fn check_dir(dir: &Path) -> Result<(), SpoolError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
        let io = |action| {
            move |source| SpoolError::Io {
                dir: dir.to_owned(),
                action,
                source,
            }
        };
        let meta = fs::metadata(dir).map_err(io("cannot read the directory's owner"))?;
        let uid = process_uid().map_err(io("cannot find this process's uid"))?;
        let mode = meta.mode() & 0o7777;
        match verdict(meta.uid(), mode, uid) {
            Verdict::Private => {}
            Verdict::Tighten(mode) => fs::set_permissions(dir, fs::Permissions::from_mode(mode))
                .map_err(io("cannot take the group's and others' access away"))?,
            Verdict::NotOwned => {
                return Err(SpoolError::NotOwned {
                    dir: dir.to_owned(),
                    owner: meta.uid(),
                    uid,
                });
            }
            Verdict::Writable => {
                return Err(SpoolError::WritableByOthers {
                    dir: dir.to_owned(),
                    mode,
                });
            }
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn only_a_directory_we_own_and_nobody_else_writes_is_used() {
        let me = 1000;
        assert_eq!(verdict(me, 0o700, me), Verdict::Private);
        assert_eq!(verdict(me, 0o500, me), Verdict::Private);
        // Made by an older version: readable by all, ours.
        assert_eq!(verdict(me, 0o755, me), Verdict::Tighten(0o700));
        assert_eq!(verdict(me, 0o750, me), Verdict::Tighten(0o700));
        assert_eq!(verdict(me, 0o711, me), Verdict::Tighten(0o700));
        // Writable by the group or others: records may have been planted.
        assert_eq!(verdict(me, 0o770, me), Verdict::Writable);
        assert_eq!(verdict(me, 0o702, me), Verdict::Writable);
        assert_eq!(verdict(me, 0o1777, me), Verdict::Writable);
        // Another user's, whatever its mode; root's too, for a user, and a
        // user's for root.
        assert_eq!(verdict(1001, 0o700, me), Verdict::NotOwned);
        assert_eq!(verdict(1001, 0o777, me), Verdict::NotOwned);
        assert_eq!(verdict(0, 0o755, me), Verdict::NotOwned);
        assert_eq!(verdict(me, 0o700, 0), Verdict::NotOwned);
    }

    #[test]
    fn the_process_uid_is_the_owner_of_what_it_creates() {
        use std::os::unix::fs::MetadataExt as _;
        let dir = tempfile::tempdir().unwrap();
        let created = fs::metadata(dir.path()).unwrap().uid();
        assert_eq!(process_uid().unwrap(), created);
    }
}
