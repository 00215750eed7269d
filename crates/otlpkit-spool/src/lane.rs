//! One signal's log in a spool directory: segment files written in order,
//! read back in order, deleted once every record in them is delivered.

use std::collections::{BTreeMap, VecDeque};
use std::fs::{self, File};
use std::io::{self, Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use otlpkit_core::{FsyncPolicy, Signal};

use crate::Shared;
use crate::cursor::{Cursor, Position};
use crate::error::AppendError;
use crate::format::{
    self, BodyFormat, MAX_BODY_LEN, RECORD_HEADER_LEN, RECORD_TRAILER_LEN, SEGMENT_HEADER_LEN,
};
use crate::perms;

/// Segment files larger than this are not read at all (they cannot be ours):
/// counted as corrupt and deleted.
const MAX_SEGMENT_FILE: u64 = 2 << 30;

/// The file name of segment `id`.
fn segment_name(id: u64) -> String {
    format!("{id:020}.seg")
}

fn segment_id(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(".seg")?;
    (digits.len() == 20 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

/// Where a record is: what [`Lane::append`] returns and [`Record::id`]
/// gives back when the record is read, unique within the lane while it is
/// open (a caller may key what it knows about a record by it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RecordId {
    segment: u64,
    offset: u64,
}

/// One record not delivered yet.
#[derive(Debug, Clone, Copy)]
struct Entry {
    id: RecordId,
    len: u64,
    items: u32,
    format: Option<BodyFormat>,
    signal_ok: bool,
}

/// The segment being written.
#[derive(Debug)]
struct Active {
    id: u64,
    file: File,
    len: u64,
}

/// The file operations of the append path, in one place so that unit
/// tests can make them fail (no faults exist outside tests).
#[derive(Debug, Default)]
struct Disk {
    /// The next record write fails after this many more bytes (written).
    #[cfg(test)]
    fail_write_after: Option<usize>,
    /// The next sync of an append fails.
    #[cfg(test)]
    fail_sync: bool,
    /// Cutting a segment back fails.
    #[cfg(test)]
    fail_cut: bool,
}

#[cfg(test)]
fn injected() -> io::Error {
    io::Error::other("injected failure")
}

impl Disk {
    /// Writes `parts` at `offset`, wherever the file's cursor was left.
    fn write_at(&mut self, file: &mut File, offset: u64, parts: &[&[u8]]) -> io::Result<()> {
        file.seek(SeekFrom::Start(offset))?;
        for part in parts {
            #[cfg(test)]
            if let Some(left) = self.fail_write_after {
                if part.len() > left {
                    self.fail_write_after = None;
                    file.write_all(&part[..left])?;
                    return Err(injected());
                }
                self.fail_write_after = Some(left - part.len());
            }
            file.write_all(part)?;
        }
        Ok(())
    }

    fn sync(&mut self, file: &File) -> io::Result<()> {
        #[cfg(test)]
        if std::mem::take(&mut self.fail_sync) {
            return Err(injected());
        }
        file.sync_data()
    }

    fn cut(&mut self, file: &File, len: u64) -> io::Result<()> {
        #[cfg(test)]
        if self.fail_cut {
            return Err(injected());
        }
        file.set_len(len)
    }
}

#[derive(Debug)]
struct State {
    entries: VecDeque<Entry>,
    /// Segment files on disk and their sizes.
    segments: BTreeMap<u64, u64>,
    active: Option<Active>,
    next_id: u64,
    cursor: Cursor,
    /// Writes not yet forced to disk.
    dirty: bool,
    /// Segments closed with writes not yet forced to disk (`Interval`).
    closed_unsynced: Vec<File>,
    last_sync: Instant,
    items: u64,
    disk: Disk,
}

/// What a lane held when it was opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Found {
    /// Records left by an earlier process, to be sent.
    pub records: u64,
    /// Items in them.
    pub items: u64,
    /// Damaged records skipped (torn writes, failed checksums).
    pub corrupt_records: u64,
    /// Items in the damaged records whose headers were intact (the others'
    /// item counts are unknown).
    pub corrupt_items: u64,
    /// Bytes skipped.
    pub corrupt_bytes: u64,
}

/// The oldest record not delivered yet, read back from disk.
#[derive(Debug)]
#[non_exhaustive]
pub struct Record {
    /// Where it is, for [`Lane::remove`].
    pub id: RecordId,
    /// Items in the request.
    pub items: u64,
    /// The request body as it was written, or why it cannot be sent.
    pub body: Result<(BodyFormat, Vec<u8>), Unreadable>,
}

/// Why a record cannot be sent; it is skipped and its items counted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Unreadable {
    /// The record fails its checksum or is cut short.
    #[error("the record at byte {offset} of {} is damaged", .path.display())]
    Corrupt {
        /// The segment file.
        path: PathBuf,
        /// Where the record starts.
        offset: u64,
    },
    /// The record names a signal or a format this version does not know.
    #[error("the record at byte {offset} of {} has an unknown signal or format", .path.display())]
    UnknownFormat {
        /// The segment file.
        path: PathBuf,
        /// Where the record starts.
        offset: u64,
    },
    /// Reading failed.
    #[error("cannot read {}: {source}", .path.display())]
    Io {
        /// The segment file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
}

/// One signal's log in a spool directory. Appends and reads may come from
/// any thread; one reader (the exporter's drain) takes records in order.
#[derive(Debug)]
pub struct Lane {
    signal: Signal,
    dir: PathBuf,
    shared: Arc<Shared>,
    state: Mutex<State>,
    /// Held for the whole of a sync, `fsync` included (the state lock is
    /// not): a forced sync that finds nothing dirty because another sync
    /// took the data returns only once that sync's `fsync` is over.
    sync_gate: Mutex<()>,
    found: Found,
}

impl Lane {
    /// Opens the lane of `signal` in the spool, indexing what earlier
    /// processes left (damaged records are skipped, counted in [`Found`],
    /// and never returned). Its directory exists and was checked
    /// ([`perms::check_dir`]).
    pub(crate) fn open(shared: Arc<Shared>, signal: Signal) -> io::Result<Self> {
        let dir = shared.dir.join(signal.as_str());
        let (cursor, position) = Cursor::open(&dir)?;
        let start = position.unwrap_or_default();
        let mut ids: Vec<u64> = fs::read_dir(&dir)?
            .filter_map(Result::ok)
            .filter_map(|entry| entry.file_name().to_str().and_then(segment_id))
            .collect();
        ids.sort_unstable();
        let mut found = Found::default();
        let mut entries = VecDeque::new();
        let mut segments = BTreeMap::new();
        for &id in &ids {
            let path = dir.join(segment_name(id));
            if id < start.segment {
                // Delivered; the process stopped before it deleted it.
                let _ = fs::remove_file(&path);
                continue;
            }
            let mut file = File::open(&path)?;
            // One an older version made readable by all is not any more.
            perms::restrict_file(&file)?;
            let len = file.metadata()?.len();
            if len > MAX_SEGMENT_FILE {
                found.corrupt_records += 1;
                found.corrupt_bytes += len;
                let _ = fs::remove_file(&path);
                continue;
            }
            let mut bytes = Vec::new();
            file.read_to_end(&mut bytes)?;
            let scan = format::scan(&bytes);
            let before = entries.len();
            for region in &scan.corrupt {
                if (Position {
                    segment: id,
                    offset: region.offset,
                }) < start
                {
                    continue;
                }
                found.corrupt_records += 1;
                found.corrupt_bytes += region.len;
                found.corrupt_items += region.items.map_or(0, u64::from);
            }
            for record in &scan.records {
                let position = Position {
                    segment: id,
                    offset: record.offset,
                };
                if position < start {
                    continue;
                }
                entries.push_back(Entry {
                    id: RecordId {
                        segment: id,
                        offset: record.offset,
                    },
                    len: record.len,
                    items: record.items,
                    format: record.format,
                    signal_ok: record.signal == Some(signal),
                });
                found.records += 1;
                found.items += u64::from(record.items);
            }
            if entries.len() == before {
                let _ = fs::remove_file(&path);
            } else {
                segments.insert(id, bytes.len() as u64);
            }
        }
        // What the lane's files take now, replacing what a lane of this
        // signal opened earlier in this process counted (the same files,
        // or fewer): never added to it.
        let used: u64 = segments.values().sum();
        shared.used_by(signal).store(used, Ordering::Relaxed);
        let next_id = ids
            .last()
            .copied()
            .unwrap_or(0)
            .max(start.segment)
            .saturating_add(1);
        Ok(Self {
            signal,
            dir,
            shared,
            state: Mutex::new(State {
                items: found.items,
                entries,
                segments,
                active: None,
                next_id,
                cursor,
                dirty: false,
                closed_unsynced: Vec::new(),
                last_sync: Instant::now(),
                disk: Disk::default(),
            }),
            sync_gate: Mutex::new(()),
            found,
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is plain data kept consistent before any call that can
        // fail: a panic elsewhere cannot tear it.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The signal this lane spools.
    pub fn signal(&self) -> Signal {
        self.signal
    }

    /// The lane's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// What the lane held when it was opened.
    pub fn found(&self) -> Found {
        self.found
    }

    /// Whether every record written has been delivered (or dropped).
    pub fn is_empty(&self) -> bool {
        self.lock().entries.is_empty()
    }

    /// Records not delivered yet.
    pub fn records(&self) -> usize {
        self.lock().entries.len()
    }

    /// Items in the records not delivered yet.
    pub fn items(&self) -> u64 {
        self.lock().items
    }

    /// Appends one request of `items` items, encoded as `format`, behind
    /// everything already in the lane, and returns where it is (the id
    /// [`front`](Self::front) gives it when it is the oldest). When this
    /// returns `Ok`, the record survives the process being killed; whether
    /// it survives an operating system crash depends on the fsync policy.
    ///
    /// # Errors
    ///
    /// [`AppendError::Full`] at the spool's byte cap, [`AppendError::Io`]
    /// when writing fails (or, with [`FsyncPolicy::Always`], forcing it to
    /// disk). An error always means the record is not in the spool: neither
    /// this lane nor the next process reads it, so the caller deals with the
    /// batch itself. What was written of it is cut off (the segment goes on
    /// from where the record would have started); if that fails, the segment
    /// is not written to any more, and the bytes left carry no valid record
    /// header (a whole record whose fsync failed has its header voided), so
    /// the next process skips them as damaged bytes without counting their
    /// items. Only if voiding that header fails too, and the segment is still
    /// there when the next process opens the lane, does it send the record.
    pub fn append(
        &self,
        format: BodyFormat,
        items: u64,
        body: &[u8],
    ) -> Result<RecordId, AppendError> {
        if body.len() > MAX_BODY_LEN {
            return Err(AppendError::TooLarge {
                bytes: body.len(),
                max: MAX_BODY_LEN,
            });
        }
        let items = u32::try_from(items).unwrap_or(u32::MAX);
        let record_len = (RECORD_HEADER_LEN + body.len() + RECORD_TRAILER_LEN) as u64;
        let mut state = self.lock();
        let rotate = state.active.as_ref().is_none_or(|active| {
            active.len + record_len > self.shared.segment_bytes
                && active.len > SEGMENT_HEADER_LEN as u64
        });
        let needed = record_len + if rotate { SEGMENT_HEADER_LEN as u64 } else { 0 };
        let used = self.shared.used();
        if used + needed > self.shared.max_bytes {
            return Err(AppendError::Full {
                needed,
                used,
                max: self.shared.max_bytes,
            });
        }
        if rotate {
            self.rotate(&mut state)?;
        }
        let header = format::record_header(
            self.signal,
            format,
            items,
            u32::try_from(body.len()).unwrap_or(u32::MAX),
        );
        let crc = crc32fast::hash(body).to_le_bytes();
        let next_id = state.next_id;
        let State { active, disk, .. } = &mut *state;
        let Some(active) = active.as_mut() else {
            return Err(self.io_error(next_id, io::Error::other("no segment to write")));
        };
        let (id, offset) = (active.id, active.len);
        // The header last: a write that fails (or a process killed) part
        // way leaves bytes no valid header claims, which the scanner skips
        // without counting items in them: the record was never taken.
        let mut header_written = false;
        let written = disk
            .write_at(
                &mut active.file,
                offset + RECORD_HEADER_LEN as u64,
                &[body, &crc],
            )
            .and_then(|()| disk.write_at(&mut active.file, offset, &[&header]))
            .inspect(|()| header_written = true)
            .and_then(|()| {
                // `Ok` means durable with `Always`: an `Err` from here on
                // must mean "not in the spool" too, or the caller sends the
                // batch directly and the drain sends it again.
                if self.shared.fsync == FsyncPolicy::Always {
                    disk.sync(&active.file)
                } else {
                    Ok(())
                }
            });
        if let Err(error) = written {
            // Take back what was written of the record: the segment ends on
            // a record boundary again, and the next append (which writes at
            // the length known here, wherever the file's cursor is) goes
            // where the record would have.
            if disk.cut(&active.file, offset).is_err() {
                if header_written {
                    // A whole record the next process would send again,
                    // though the caller sends it itself: void its header.
                    // Should this fail too, the next process sends the batch
                    // a second time unless this one drains the segment
                    // first (which deletes it).
                    let _ = disk.write_at(&mut active.file, offset, &[&[0; 4]]);
                }
                // Bytes past the end: not written to any more.
                self.abandon(&mut state);
            }
            return Err(self.io_error(id, error));
        }
        active.len += record_len;
        if let Some(size) = state.segments.get_mut(&id) {
            *size += record_len;
        }
        self.used().fetch_add(record_len, Ordering::Relaxed);
        let record = RecordId {
            segment: id,
            offset,
        };
        state.entries.push_back(Entry {
            id: record,
            len: record_len,
            items,
            format: Some(format),
            signal_ok: true,
        });
        state.items += u64::from(items);
        // With `Always`, forced above.
        state.dirty |= self.shared.fsync != FsyncPolicy::Always;
        Ok(record)
    }

    /// Stops writing to the segment being written, after a failed append
    /// left bytes past its last record that could not be taken back: the
    /// next append starts a new segment. Such a segment holding no record
    /// to send is deleted at once; one that does is deleted, with those
    /// bytes, once its records are delivered.
    fn abandon(&self, state: &mut State) {
        let Some(active) = state.active.take() else {
            return;
        };
        let holds_records = state
            .entries
            .back()
            .is_some_and(|entry| entry.id.segment == active.id);
        let path = self.dir.join(segment_name(active.id));
        let gone = !holds_records
            && fs::remove_file(&path)
                .or_else(|error| match error.kind() {
                    io::ErrorKind::NotFound => Ok(()),
                    _ => Err(error),
                })
                .is_ok();
        if gone {
            if let Some(size) = state.segments.remove(&active.id) {
                self.release_bytes(size);
            }
            return;
        }
        // The bytes left past the end count against the cap until the
        // segment goes.
        if let Ok(metadata) = active.file.metadata()
            && let Some(extra) = metadata.len().checked_sub(active.len)
            && let Some(size) = state.segments.get_mut(&active.id)
        {
            *size += extra;
            self.used().fetch_add(extra, Ordering::Relaxed);
        }
        if matches!(self.shared.fsync, FsyncPolicy::Interval(_)) {
            state.closed_unsynced.push(active.file);
        }
    }

    /// This lane's count of the bytes its segment files take.
    fn used(&self) -> &std::sync::atomic::AtomicU64 {
        self.shared.used_by(self.signal)
    }

    fn release_bytes(&self, bytes: u64) {
        let _ = self
            .used()
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                Some(used.saturating_sub(bytes))
            });
    }

    fn io_error(&self, segment: u64, source: io::Error) -> AppendError {
        AppendError::Io {
            path: self.dir.join(segment_name(segment)),
            source,
        }
    }

    /// Starts a new segment file.
    fn rotate(&self, state: &mut State) -> Result<(), AppendError> {
        let id = state.next_id;
        let path = self.dir.join(segment_name(id));
        let created = perms::file_options()
            .write(true)
            .create_new(true)
            .open(&path)
            .and_then(|mut file| {
                file.write_all(&format::segment_header())?;
                Ok(file)
            });
        let file = match created {
            Ok(file) => file,
            Err(error) => {
                let _ = fs::remove_file(&path);
                return Err(self.io_error(id, error));
            }
        };
        if self.shared.fsync == FsyncPolicy::Always {
            // The new name must survive a crash as well as the data.
            let _ = File::open(&self.dir).and_then(|dir| dir.sync_all());
        }
        state.next_id += 1;
        if let Some(old) = state.active.take()
            && matches!(self.shared.fsync, FsyncPolicy::Interval(_))
        {
            // Forced by the next sync, off the append path (with `Always`
            // every record in it already is).
            state.closed_unsynced.push(old.file);
        }
        state.segments.insert(id, SEGMENT_HEADER_LEN as u64);
        self.used()
            .fetch_add(SEGMENT_HEADER_LEN as u64, Ordering::Relaxed);
        state.active = Some(Active {
            id,
            file,
            len: SEGMENT_HEADER_LEN as u64,
        });
        Ok(())
    }

    /// The oldest record not delivered yet, read from disk, or `None` when
    /// the lane is empty. It stays in the lane until [`remove`](Self::remove)
    /// is called with its id.
    pub fn front(&self) -> Option<Record> {
        let entry = *self.lock().entries.front()?;
        let path = self.dir.join(segment_name(entry.id.segment));
        let body = self.read(&path, &entry);
        Some(Record {
            id: entry.id,
            items: u64::from(entry.items),
            body,
        })
    }

    fn read(&self, path: &Path, entry: &Entry) -> Result<(BodyFormat, Vec<u8>), Unreadable> {
        let io = |source| Unreadable::Io {
            path: path.to_owned(),
            source,
        };
        let corrupt = || Unreadable::Corrupt {
            path: path.to_owned(),
            offset: entry.id.offset,
        };
        let len = usize::try_from(entry.len).map_err(|_| corrupt())?;
        let mut file = File::open(path).map_err(io)?;
        file.seek(SeekFrom::Start(entry.id.offset)).map_err(io)?;
        let mut bytes = Vec::with_capacity(len);
        file.take(entry.len).read_to_end(&mut bytes).map_err(io)?;
        let (header, body) = format::parse_record(&bytes).map_err(|_| corrupt())?;
        match (
            header.format,
            entry.signal_ok && header.signal == Some(self.signal),
        ) {
            (Some(format), true) if Some(format) == entry.format => {
                let body_len = body.len();
                bytes.truncate(RECORD_HEADER_LEN + body_len);
                bytes.drain(..RECORD_HEADER_LEN);
                Ok((format, bytes))
            }
            (Some(_), true) => Err(corrupt()),
            _ => Err(Unreadable::UnknownFormat {
                path: path.to_owned(),
                offset: entry.id.offset,
            }),
        }
    }

    /// Removes the oldest record, `id` (delivered, or counted as dropped):
    /// the lane's cursor moves past it, and a segment left with no record
    /// to send is deleted. Does nothing if `id` is not the oldest record.
    ///
    /// # Errors
    ///
    /// When the cursor cannot be written: the record is removed from this
    /// process's view all the same, and a later process may send it again.
    pub fn remove(&self, id: RecordId) -> io::Result<()> {
        let mut state = self.lock();
        if state.entries.front().map(|entry| entry.id) != Some(id) {
            return Ok(());
        }
        let Some(entry) = state.entries.pop_front() else {
            return Ok(());
        };
        state.items = state.items.saturating_sub(u64::from(entry.items));
        let next = state.entries.front().map_or(
            Position {
                segment: id.segment,
                offset: id.offset + entry.len,
            },
            |next| Position {
                segment: next.id.segment,
                offset: next.id.offset,
            },
        );
        let written = state.cursor.write(next);
        if written.is_ok() && self.shared.fsync == FsyncPolicy::Always {
            let _ = state.cursor.sync();
        } else {
            state.dirty = true;
        }
        // Delete every segment before the next record; once the lane is
        // empty, the segment being written too (the next append starts a
        // new one), so that an idle spool takes no space.
        let empty = state.entries.is_empty();
        let done: Vec<u64> = state
            .segments
            .keys()
            .copied()
            .filter(|&segment| segment < next.segment || (empty && segment == next.segment))
            .collect();
        for segment in done {
            if state
                .active
                .as_ref()
                .is_some_and(|active| active.id == segment)
            {
                state.active = None;
            }
            if let Some(size) = state.segments.remove(&segment) {
                self.release_bytes(size);
            }
            let _ = fs::remove_file(self.dir.join(segment_name(segment)));
        }
        written
    }

    /// Forces what was written to disk if the fsync policy says it is due
    /// (`Interval`), or at once with `force` (unless the policy is `Never`).
    ///
    /// The lane is not held while the disk catches up (an `fsync` can take
    /// hundreds of milliseconds on a busy disk): appends and removals go on
    /// meanwhile, and are forced by the next sync. Syncs run one at a time:
    /// a forced sync (shutdown's) waits for one under way, so that when it
    /// returns everything written before it was called is on disk; a sync
    /// that is not forced leaves it to the one under way.
    ///
    /// # Errors
    ///
    /// The operating system's error.
    pub fn sync(&self, force: bool) -> io::Result<()> {
        let _one_at_a_time = if force {
            self.sync_gate
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
        } else {
            match self.sync_gate.try_lock() {
                Ok(gate) => gate,
                Err(std::sync::TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
                Err(std::sync::TryLockError::WouldBlock) => return Ok(()),
            }
        };
        let (closed, open) = {
            let mut state = self.lock();
            if !Self::sync_due_in(&state, self.shared.fsync, force) {
                return Ok(());
            }
            // The data before the cursor that points past it.
            let mut open = Vec::with_capacity(2);
            if let Some(active) = &state.active {
                open.push(active.file.try_clone()?);
            }
            open.push(state.cursor.handle()?);
            state.dirty = false;
            state.last_sync = Instant::now();
            (std::mem::take(&mut state.closed_unsynced), open)
        };
        let synced = closed.iter().chain(&open).try_for_each(File::sync_data);
        if synced.is_err() {
            // Not forced after all: the next sync tries again.
            let mut state = self.lock();
            state.dirty = true;
            state.closed_unsynced.extend(closed);
        }
        synced
    }

    /// Whether [`sync`](Self::sync) without `force` would force anything
    /// to disk now: written data, and an `Interval` policy whose interval
    /// has passed.
    pub fn sync_due(&self) -> bool {
        Self::sync_due_in(&self.lock(), self.shared.fsync, false)
    }

    fn sync_due_in(state: &State, fsync: FsyncPolicy, force: bool) -> bool {
        let due = match fsync {
            FsyncPolicy::Never => false,
            FsyncPolicy::Interval(every) => force || state.last_sync.elapsed() >= every,
            _ => force,
        };
        state.dirty && due
    }
}

impl Drop for Lane {
    fn drop(&mut self) {
        let _ = self.sync(true);
        self.shared.release(self.signal);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// A forced sync (shutdown's) does not return while another sync, which
    /// took the dirty data, is still forcing it to disk.
    #[test]
    fn a_forced_sync_waits_for_the_sync_under_way() {
        let dir = tempfile::tempdir().unwrap();
        let spool = crate::Spool::open_dir(
            dir.path(),
            1 << 20,
            FsyncPolicy::Interval(Duration::from_secs(3600)),
        )
        .unwrap();
        let lane = spool.lane(Signal::Traces).unwrap();
        lane.append(BodyFormat::PROTOBUF, 1, b"span").unwrap();
        // Another sync is under way: it holds the gate and took the data.
        let under_way = lane.sync_gate.lock().unwrap();
        lane.lock().dirty = false;
        let (done, returned) = std::sync::mpsc::channel();
        std::thread::scope(|scope| {
            scope.spawn(|| {
                let result = lane.sync(true);
                done.send(result.is_ok()).unwrap();
            });
            // Not a bound: a forced sync that returned now would be wrong
            // however slow the machine; one still waiting is right.
            assert!(
                returned.recv_timeout(Duration::from_millis(100)).is_err(),
                "the forced sync returned while another was under way"
            );
            // A sync that is not forced leaves it to the one under way.
            assert!(lane.sync(false).is_ok());
            drop(under_way);
            assert!(returned.recv_timeout(Duration::from_secs(30)).unwrap());
        });
    }

    fn body(n: usize) -> Vec<u8> {
        format!("request {n} ").repeat(n % 7 + 3).into_bytes()
    }

    /// Reads, delivers and removes everything in the lane; every record
    /// must be intact.
    fn drain(lane: &Lane) -> Vec<Vec<u8>> {
        let mut bodies = Vec::new();
        while let Some(record) = lane.front() {
            bodies.push(record.body.expect("intact").1);
            lane.remove(record.id).unwrap();
        }
        bodies
    }

    fn open(dir: &Path, fsync: FsyncPolicy) -> (crate::Spool, Lane) {
        let spool = crate::Spool::open_dir(dir, 1 << 20, fsync).unwrap();
        let lane = spool.lane(Signal::Traces).unwrap();
        (spool, lane)
    }

    /// The lane as the next process finds it, and what it found.
    fn reopen(dir: &Path, spool: crate::Spool, lane: Lane) -> (crate::Spool, Lane, Found) {
        let fsync = spool.fsync();
        drop((lane, spool));
        let (spool, lane) = open(dir, fsync);
        let found = lane.found();
        (spool, lane, found)
    }

    fn segment_files(lane: &Lane) -> Vec<(u64, u64)> {
        let mut files: Vec<(u64, u64)> = fs::read_dir(lane.dir())
            .unwrap()
            .filter_map(Result::ok)
            .filter_map(|entry| {
                let id = entry.file_name().to_str().and_then(segment_id)?;
                Some((id, entry.metadata().ok()?.len()))
            })
            .collect();
        files.sort_unstable();
        files
    }

    fn record_len(body: &[u8]) -> u64 {
        (RECORD_HEADER_LEN + body.len() + RECORD_TRAILER_LEN) as u64
    }

    /// A write cut short (no space, a file size limit, an I/O error) is
    /// taken back whole: the next append lands where it would have, and
    /// every record taken reads back intact, in this process and the next,
    /// wherever in the record the write stopped.
    #[test]
    fn an_append_failing_part_way_leaves_no_gap_behind() {
        let failed = body(100);
        let at = [
            0,
            1,
            27,
            28,
            failed.len(),
            failed.len() + 4,
            failed.len() + 10,
        ];
        for fsync in [FsyncPolicy::Never, FsyncPolicy::Always] {
            for after in at {
                let dir = tempfile::tempdir().unwrap();
                let (spool, lane) = open(dir.path(), fsync);
                let mut taken = Vec::new();
                for n in 0..3 {
                    lane.append(BodyFormat::PROTOBUF, 2, &body(n)).unwrap();
                    taken.push(body(n));
                }
                let used = spool.used_bytes();
                lane.lock().disk.fail_write_after = Some(after);
                let error = lane.append(BodyFormat::PROTOBUF, 5, &failed).unwrap_err();
                assert!(matches!(error, AppendError::Io { .. }), "{error}");
                assert_eq!((lane.records(), lane.items()), (3, 6));
                assert_eq!(spool.used_bytes(), used);
                for n in 3..6 {
                    lane.append(BodyFormat::PROTOBUF, 2, &body(n)).unwrap();
                    taken.push(body(n));
                }
                // What the next process would find: the six, nothing else.
                let segment = fs::read(lane.dir().join(segment_name(1))).unwrap();
                let scan = format::scan(&segment);
                assert_eq!(scan.records.len(), 6, "{fsync:?} {after}");
                assert_eq!(scan.corrupt, [], "{fsync:?} {after}");
                let expected = SEGMENT_HEADER_LEN as u64
                    + taken.iter().map(|body| record_len(body)).sum::<u64>();
                assert_eq!(segment.len() as u64, expected, "{fsync:?} {after}");
                // And this one reads each where it wrote it.
                assert_eq!(drain(&lane), taken, "{fsync:?} {after}");
            }
        }
    }

    /// When what was written of a failed record cannot be cut off, the
    /// segment is not written to any more, and the bytes left never count
    /// as items of the spool: the caller sends that batch itself.
    #[test]
    fn an_append_whose_bytes_cannot_be_taken_back_leaves_its_segment() {
        let dir = tempfile::tempdir().unwrap();
        let (spool, lane) = open(dir.path(), FsyncPolicy::Never);
        lane.append(BodyFormat::PROTOBUF, 2, &body(0)).unwrap();
        {
            let mut state = lane.lock();
            state.disk.fail_write_after = Some(40);
            state.disk.fail_cut = true;
        }
        lane.append(BodyFormat::PROTOBUF, 5, &body(1)).unwrap_err();
        lane.lock().disk.fail_cut = false;
        lane.append(BodyFormat::PROTOBUF, 2, &body(2)).unwrap();
        let files = segment_files(&lane);
        let (spool, lane, found) = reopen(dir.path(), spool, lane);
        assert_eq!((found.records, found.items), (2, 4));
        // Damaged bytes, no items: they were never the spool's.
        let left = (RECORD_HEADER_LEN + 40) as u64;
        assert_eq!(
            (
                found.corrupt_records,
                found.corrupt_items,
                found.corrupt_bytes
            ),
            (1, 0, left)
        );
        // A new segment; the old one keeps its record, and the 40 bytes of
        // the body after the room left for the header.
        let first = SEGMENT_HEADER_LEN as u64 + record_len(&body(0));
        assert_eq!(
            files,
            [
                (1, first + left),
                (2, SEGMENT_HEADER_LEN as u64 + record_len(&body(2)))
            ]
        );
        assert_eq!(drain(&lane), [body(0), body(2)]);
        assert!(segment_files(&lane).is_empty());
        assert_eq!(spool.used_bytes(), 0);

        // A segment left with no record in it goes at once.
        lane.append(BodyFormat::PROTOBUF, 2, &body(3)).unwrap();
        drain(&lane);
        lane.append(BodyFormat::PROTOBUF, 2, &body(4)).unwrap();
        lane.remove(lane.front().unwrap().id).unwrap();
        {
            let mut state = lane.lock();
            state.disk.fail_write_after = Some(40);
            state.disk.fail_cut = true;
        }
        lane.append(BodyFormat::PROTOBUF, 5, &body(5)).unwrap_err();
        assert!(segment_files(&lane).is_empty());
        assert_eq!(spool.used_bytes(), 0);
        let (_spool, _lane, found) = reopen(dir.path(), spool, lane);
        assert_eq!(found, Found::default());
    }

    /// With `Always`, an append whose fsync fails is taken back: the caller
    /// sends the batch itself, so neither the drain nor the next process
    /// may send it again.
    #[test]
    fn an_append_whose_forced_sync_fails_is_not_in_the_spool() {
        let dir = tempfile::tempdir().unwrap();
        let (spool, lane) = open(dir.path(), FsyncPolicy::Always);
        lane.append(BodyFormat::PROTOBUF, 2, &body(0)).unwrap();
        let (used, files) = (spool.used_bytes(), segment_files(&lane));
        lane.lock().disk.fail_sync = true;
        let error = lane.append(BodyFormat::PROTOBUF, 5, &body(1)).unwrap_err();
        assert!(error.to_string().contains("injected failure"), "{error}");
        assert_eq!((lane.records(), lane.items()), (1, 2));
        assert_eq!(spool.used_bytes(), used);
        assert_eq!(segment_files(&lane), files);
        let (_spool, lane, found) = reopen(dir.path(), spool, lane);
        assert_eq!(
            (found.records, found.items, found.corrupt_records),
            (1, 2, 0)
        );
        lane.append(BodyFormat::PROTOBUF, 2, &body(2)).unwrap();
        assert_eq!(drain(&lane), [body(0), body(2)]);
    }

    /// If the record cannot be cut off after a failed fsync, its header is
    /// voided and the segment left: the next process does not send it.
    #[test]
    fn a_record_whose_sync_failed_and_cannot_be_cut_off_is_voided() {
        let dir = tempfile::tempdir().unwrap();
        let (spool, lane) = open(dir.path(), FsyncPolicy::Always);
        lane.append(BodyFormat::PROTOBUF, 2, &body(0)).unwrap();
        {
            let mut state = lane.lock();
            state.disk.fail_sync = true;
            state.disk.fail_cut = true;
        }
        lane.append(BodyFormat::PROTOBUF, 5, &body(1)).unwrap_err();
        lane.lock().disk.fail_cut = false;
        assert_eq!((lane.records(), lane.items()), (1, 2));
        lane.append(BodyFormat::PROTOBUF, 2, &body(2)).unwrap();
        assert_eq!(segment_files(&lane).len(), 2);
        let (_spool, lane, found) = reopen(dir.path(), spool, lane);
        assert_eq!((found.records, found.items), (2, 4));
        assert_eq!(
            (
                found.corrupt_records,
                found.corrupt_items,
                found.corrupt_bytes
            ),
            (1, 0, record_len(&body(1)))
        );
        assert_eq!(drain(&lane), [body(0), body(2)]);
        assert!(segment_files(&lane).is_empty());
    }

    #[test]
    fn segment_names_sort_by_id_and_parse_back() {
        assert_eq!(segment_name(42), "00000000000000000042.seg");
        assert_eq!(segment_id(&segment_name(42)), Some(42));
        assert_eq!(segment_id("42.seg"), None);
        assert_eq!(segment_id("0000000000000000004x.seg"), None);
        assert_eq!(segment_id("cursor"), None);
    }
}
