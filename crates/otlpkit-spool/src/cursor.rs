//! Where a lane's oldest record that the collector has not taken yet
//! starts: `(segment, offset)`. Everything before it has been delivered
//! (or counted as dropped). Two checksummed slots, written in turn, so that
//! a write torn by a crash leaves the previous position readable.

use std::fs::File;
use std::io::{self, Read as _, Seek as _, SeekFrom, Write as _};
use std::path::Path;

/// The name of the cursor file in a lane's directory.
pub(crate) const CURSOR_FILE: &str = "cursor";

const MAGIC: [u8; 4] = *b"OKCU";
const SLOT_LEN: usize = 32;

/// A position in a lane: records at or after it are not delivered yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub(crate) struct Position {
    pub(crate) segment: u64,
    pub(crate) offset: u64,
}

#[derive(Debug)]
pub(crate) struct Cursor {
    file: File,
    seq: u64,
}

impl Cursor {
    /// Opens (or creates) the cursor of the lane in `dir`, with the last
    /// position written, if any slot is readable.
    pub(crate) fn open(dir: &Path) -> io::Result<(Self, Option<Position>)> {
        let mut file = crate::perms::file_options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(dir.join(CURSOR_FILE))?;
        // One an older version made readable by all is not any more.
        crate::perms::restrict_file(&file)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        let best = [0, SLOT_LEN]
            .into_iter()
            .filter_map(|at| bytes.get(at..at + SLOT_LEN).and_then(parse))
            .max_by_key(|(seq, _)| *seq);
        let seq = best.map_or(0, |(seq, _)| seq);
        Ok((Self { file, seq }, best.map(|(_, position)| position)))
    }

    /// Writes `position` into the older slot.
    pub(crate) fn write(&mut self, position: Position) -> io::Result<()> {
        self.seq = self.seq.wrapping_add(1);
        let mut slot = [0u8; SLOT_LEN];
        slot[..4].copy_from_slice(&MAGIC);
        slot[4..12].copy_from_slice(&self.seq.to_le_bytes());
        slot[12..20].copy_from_slice(&position.segment.to_le_bytes());
        slot[20..28].copy_from_slice(&position.offset.to_le_bytes());
        let crc = crc32fast::hash(&slot[..28]);
        slot[28..].copy_from_slice(&crc.to_le_bytes());
        let at = (self.seq % 2) * SLOT_LEN as u64;
        self.file.seek(SeekFrom::Start(at))?;
        self.file.write_all(&slot)
    }

    pub(crate) fn sync(&self) -> io::Result<()> {
        self.file.sync_data()
    }

    /// A second handle on the cursor file, to force it to disk without
    /// holding the lane.
    pub(crate) fn handle(&self) -> io::Result<File> {
        self.file.try_clone()
    }
}

fn parse(slot: &[u8]) -> Option<(u64, Position)> {
    let u64_at = |at: usize| -> Option<u64> {
        Some(u64::from_le_bytes(slot.get(at..at + 8)?.try_into().ok()?))
    };
    if slot.get(..4)? != MAGIC {
        return None;
    }
    let crc = u32::from_le_bytes(slot.get(28..32)?.try_into().ok()?);
    if crc32fast::hash(slot.get(..28)?) != crc {
        return None;
    }
    Some((
        u64_at(4)?,
        Position {
            segment: u64_at(12)?,
            offset: u64_at(20)?,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_intact_slot_wins() {
        let dir = tempfile::tempdir().unwrap();
        let (mut cursor, none) = Cursor::open(dir.path()).unwrap();
        assert_eq!(none, None);
        let first = Position {
            segment: 1,
            offset: 16,
        };
        let second = Position {
            segment: 2,
            offset: 99,
        };
        cursor.write(first).unwrap();
        cursor.write(second).unwrap();
        drop(cursor);
        let (_, read) = Cursor::open(dir.path()).unwrap();
        assert_eq!(read, Some(second));
        // Tear the newer slot: the older one is read.
        let path = dir.path().join(CURSOR_FILE);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[0] ^= 0xff; // seq 2 is in slot 0
        std::fs::write(&path, &bytes).unwrap();
        let (mut cursor, read) = Cursor::open(dir.path()).unwrap();
        assert_eq!(read, Some(first));
        // And the next write goes on from there.
        cursor.write(second).unwrap();
        assert_eq!(Cursor::open(dir.path()).unwrap().1, Some(second));
    }
}
