//! One process per spool directory: an exclusive lock on its `LOCK` file,
//! which also holds the owner's process id for the error a second owner
//! gets. The operating system releases the lock when the process ends,
//! however it ends.

use std::fs::{File, TryLockError};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::Path;

use crate::error::SpoolError;

/// The name of the lock file in a spool directory.
pub const LOCK_FILE: &str = "LOCK";

/// Takes the lock of `dir` (which exists), or says who holds it.
pub(crate) fn lock(dir: &Path) -> Result<File, SpoolError> {
    let io = |action| {
        move |source| SpoolError::Io {
            dir: dir.to_owned(),
            action,
            source,
        }
    };
    let mut file = crate::perms::file_options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(dir.join(LOCK_FILE))
        .map_err(io("cannot open the lock file"))?;
    // One an older version made readable by all is not any more.
    crate::perms::restrict_file(&file)
        .map_err(io("cannot restrict the lock file's permissions"))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut text = String::new();
            let _ = file.read_to_string(&mut text);
            return Err(SpoolError::Locked {
                dir: dir.to_owned(),
                pid: text.trim().parse().ok(),
            });
        }
        Err(TryLockError::Error(error)) => return Err(io("cannot lock the lock file")(error)),
    }
    file.set_len(0)
        .and_then(|()| file.seek(SeekFrom::Start(0)))
        .and_then(|_| writeln!(file, "{}", std::process::id()))
        .map_err(io("cannot write the lock file"))?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_owner_is_told_the_directory_and_the_pid() {
        let dir = tempfile::tempdir().unwrap();
        let held = lock(dir.path()).unwrap();
        // A second open file description conflicts like another process.
        let error = lock(dir.path()).unwrap_err();
        let SpoolError::Locked { dir: named, pid } = &error else {
            panic!("expected Locked, got {error}");
        };
        assert_eq!(named, dir.path());
        assert_eq!(*pid, Some(std::process::id()));
        let text = error.to_string();
        assert!(text.contains(&dir.path().display().to_string()), "{text}");
        assert!(
            text.contains(&format!("process {}", std::process::id())),
            "{text}"
        );
        drop(held);
        lock(dir.path()).unwrap();
    }
}
