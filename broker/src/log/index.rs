//! Sparse offset and time indexes of one segment.
//!
//! Both live in memory as sorted `Vec`s; the files `{base:020}.index` and
//! `{base:020}.timeindex` are only a cache that saves a scan of the segment on a clean restart.
//! New entries are therefore not written on every append but in one `write` when the segment
//! is flushed, rolled or closed ([`IndexFile::persist`]). After a crash the indexes are rebuilt
//! from the log, so a stale or torn index file is never trusted.
//!
//! - Offset index entry (8 bytes): relative offset `u32` (batch base offset minus segment base),
//!   file position `u32` of that batch. One entry for the first batch of the segment, then one
//!   whenever at least `index_interval_bytes` were appended since the last entry.
//! - Time index entry (12 bytes): timestamp `i64` (the largest timestamp in the segment so far),
//!   relative offset `u32` of the batch holding it. Appended next to offset index entries and
//!   when the segment is finalized, only when the timestamp grows, so timestamps are strictly
//!   increasing.

use std::fs::{File, OpenOptions};
use std::io::ErrorKind;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::error::{IoContext, LogError};

/// A fixed-size index entry with a big-endian file encoding.
pub trait IndexEntry: Copy {
    /// Encoded size in bytes.
    const SIZE: usize;
    /// Appends the encoding to `out`.
    fn encode(&self, out: &mut Vec<u8>);
    /// Decodes from exactly `SIZE` bytes.
    fn decode(bytes: &[u8]) -> Self;
}

/// Offset index entry: where the batch starting at `relative_offset` begins in the log file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffsetEntry {
    /// Batch base offset minus the segment's base offset.
    pub relative_offset: u32,
    /// Byte position of the batch in the segment file.
    pub position: u32,
}

impl IndexEntry for OffsetEntry {
    const SIZE: usize = 8;
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.relative_offset.to_be_bytes());
        out.extend_from_slice(&self.position.to_be_bytes());
    }
    fn decode(b: &[u8]) -> Self {
        OffsetEntry {
            relative_offset: u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
            position: u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
        }
    }
}

/// Time index entry: the largest timestamp so far and the batch that holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeEntry {
    /// Largest record timestamp in the segment up to this batch.
    pub timestamp: i64,
    /// Base offset (relative to the segment) of the batch holding `timestamp`.
    pub relative_offset: u32,
}

impl IndexEntry for TimeEntry {
    const SIZE: usize = 12;
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.relative_offset.to_be_bytes());
    }
    fn decode(b: &[u8]) -> Self {
        let mut ts = [0u8; 8];
        ts.copy_from_slice(&b[..8]);
        TimeEntry {
            timestamp: i64::from_be_bytes(ts),
            relative_offset: u32::from_be_bytes([b[8], b[9], b[10], b[11]]),
        }
    }
}

/// Entries kept in memory plus the file they are persisted to.
#[derive(Debug)]
pub struct IndexFile<E: IndexEntry> {
    path: PathBuf,
    entries: Vec<E>,
    /// How many leading entries the file already holds.
    persisted: usize,
    /// The file may hold stale bytes past `persisted` (new or rebuilt index): cut it on persist.
    truncate_file: bool,
    /// Written since the last fsync.
    unsynced: bool,
}

impl<E: IndexEntry> IndexFile<E> {
    /// An empty index for `path`; whatever the file holds is replaced on the next persist.
    pub fn empty(path: PathBuf) -> Self {
        IndexFile {
            path,
            entries: Vec::new(),
            persisted: 0,
            truncate_file: true,
            unsynced: false,
        }
    }

    /// Reads the file's entries; `Ok(None)` if the file does not exist or its length is not a
    /// whole number of entries. Content checks are the caller's.
    ///
    /// # Errors
    /// [`LogError::Io`] if the file exists but cannot be read.
    pub fn read(path: PathBuf) -> Result<Option<Self>, LogError> {
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(LogError::io(&path, e)),
        };
        if bytes.len() % E::SIZE != 0 {
            return Ok(None);
        }
        let entries: Vec<E> = bytes.chunks_exact(E::SIZE).map(E::decode).collect();
        Ok(Some(IndexFile {
            path,
            persisted: entries.len(),
            entries,
            truncate_file: false,
            unsynced: false,
        }))
    }

    /// The entries, oldest first.
    pub fn entries(&self) -> &[E] {
        &self.entries
    }

    /// The newest entry.
    pub fn last(&self) -> Option<&E> {
        self.entries.last()
    }

    /// Adds an entry in memory; it reaches the file on the next [`persist`](Self::persist).
    pub fn push(&mut self, entry: E) {
        self.entries.push(entry);
    }

    /// True if entries or writes have not reached stable storage since the last synced
    /// persist.
    pub fn is_dirty(&self) -> bool {
        self.has_pending_writes() || self.unsynced
    }

    fn has_pending_writes(&self) -> bool {
        self.truncate_file || self.persisted < self.entries.len()
    }

    /// Writes the entries not yet in the file with one `write`, and fsyncs if `sync` (also
    /// when earlier writes are still unsynced).
    ///
    /// # Errors
    /// [`LogError::Io`] if the file cannot be opened, written or synced.
    pub fn persist(&mut self, sync: bool) -> Result<(), LogError> {
        let pending = self.has_pending_writes();
        if !(pending || (sync && self.unsynced)) {
            return Ok(());
        }
        let file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .open(&self.path)
            .at(&self.path)?;
        if self.persisted < self.entries.len() {
            let mut buf = Vec::with_capacity((self.entries.len() - self.persisted) * E::SIZE);
            for e in &self.entries[self.persisted..] {
                e.encode(&mut buf);
            }
            file.write_all_at(&buf, (self.persisted * E::SIZE) as u64)
                .at(&self.path)?;
            self.persisted = self.entries.len();
        }
        if self.truncate_file {
            file.set_len((self.entries.len() * E::SIZE) as u64)
                .at(&self.path)?;
            self.truncate_file = false;
        }
        if pending {
            self.unsynced = true;
        }
        if sync {
            file.sync_data().at(&self.path)?;
            self.unsynced = false;
        }
        Ok(())
    }

    /// Writes pending entries (no fsync) and, if the file has writes not yet fsynced, returns
    /// its path and counts it as synced: the caller fsyncs it (see `SegmentSync`) and calls
    /// [`mark_unsynced`](Self::mark_unsynced) if that fails.
    ///
    /// # Errors
    /// [`LogError::Io`] if the file cannot be written.
    pub fn take_unsynced(&mut self) -> Result<Option<PathBuf>, LogError> {
        self.persist(false)?;
        if !self.unsynced {
            return Ok(None);
        }
        self.unsynced = false;
        Ok(Some(self.path.clone()))
    }

    /// Counts the file as unsynced again.
    pub fn mark_unsynced(&mut self) {
        self.unsynced = true;
    }

    /// Removes the index file.
    ///
    /// # Errors
    /// [`LogError::Io`] unless the file is removed or was already absent.
    pub fn delete_file(&self) -> Result<(), LogError> {
        remove_if_exists(&self.path)
    }
}

/// Removes a file; an absent file is not an error.
pub(crate) fn remove_if_exists(path: &Path) -> Result<(), LogError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != ErrorKind::NotFound => Err(LogError::io(path, e)),
        _ => Ok(()),
    }
}

/// The sparse offset index of a segment.
pub type OffsetIndex = IndexFile<OffsetEntry>;
/// The time index of a segment.
pub type TimeIndex = IndexFile<TimeEntry>;

impl IndexFile<OffsetEntry> {
    /// The entry with the largest relative offset `<= relative_offset`: the batch to start a
    /// forward scan from. `None` if every entry is larger (or there is none).
    pub fn lookup(&self, relative_offset: u32) -> Option<OffsetEntry> {
        let n = self
            .entries
            .partition_point(|e| e.relative_offset <= relative_offset);
        n.checked_sub(1).map(|i| self.entries[i])
    }

    /// True if entries strictly increase in both offset and position and every position lies
    /// inside a segment of `segment_size` bytes.
    pub fn is_consistent(&self, segment_size: u64) -> bool {
        self.entries
            .windows(2)
            .all(|w| w[0].relative_offset < w[1].relative_offset && w[0].position < w[1].position)
            && self
                .entries
                .iter()
                .all(|e| u64::from(e.position) < segment_size)
    }
}

impl IndexFile<TimeEntry> {
    /// Appends `entry` only if its timestamp is larger than the last one's.
    pub fn push_if_newer(&mut self, entry: TimeEntry) {
        let newer = match self.last() {
            Some(last) => entry.timestamp > last.timestamp,
            None => true,
        };
        if newer {
            self.push(entry);
        }
    }

    /// The last entry whose timestamp is `< timestamp`: every record up to its batch is older
    /// than `timestamp`, so a search may start there.
    pub fn lookup_before(&self, timestamp: i64) -> Option<TimeEntry> {
        let n = self.entries.partition_point(|e| e.timestamp < timestamp);
        n.checked_sub(1).map(|i| self.entries[i])
    }

    /// True if timestamps strictly increase, offsets do not decrease and all offsets are below
    /// `relative_end` (the segment's next offset minus its base).
    pub fn is_consistent(&self, relative_end: u64) -> bool {
        self.entries.windows(2).all(|w| {
            w[0].timestamp < w[1].timestamp && w[0].relative_offset <= w[1].relative_offset
        }) && self
            .entries
            .iter()
            .all(|e| u64::from(e.relative_offset) < relative_end)
    }
}

/// Opens a file for reading and writing, creating it if absent.
pub(crate) fn open_rw(path: &Path) -> Result<File, LogError> {
    OpenOptions::new()
        .create(true)
        .read(true)
        .write(true)
        .truncate(false)
        .open(path)
        .at(path)
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)] // Tests may panic on failure.
mod tests {
    use super::*;

    fn oe(r: u32, p: u32) -> OffsetEntry {
        OffsetEntry {
            relative_offset: r,
            position: p,
        }
    }

    #[test]
    fn offset_lookup_finds_floor() {
        let dir = tempfile::tempdir().unwrap();
        let mut idx = OffsetIndex::empty(dir.path().join("a.index"));
        assert_eq!(idx.lookup(5), None);
        idx.push(oe(0, 0));
        idx.push(oe(10, 4096));
        idx.push(oe(20, 9000));
        assert_eq!(idx.lookup(0), Some(oe(0, 0)));
        assert_eq!(idx.lookup(15), Some(oe(10, 4096)));
        assert_eq!(idx.lookup(99), Some(oe(20, 9000)));
        assert!(idx.is_consistent(9001));
        assert!(!idx.is_consistent(9000));
    }

    #[test]
    fn persists_incrementally_and_reloads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.timeindex");
        std::fs::write(&path, vec![9u8; 100]).unwrap();
        let mut idx = TimeIndex::empty(path.clone());
        idx.push_if_newer(TimeEntry {
            timestamp: 5,
            relative_offset: 0,
        });
        idx.persist(false).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 12);
        idx.push_if_newer(TimeEntry {
            timestamp: 5,
            relative_offset: 3,
        });
        idx.push_if_newer(TimeEntry {
            timestamp: 9,
            relative_offset: 4,
        });
        assert!(idx.is_dirty());
        idx.persist(true).unwrap();
        let back = TimeIndex::read(path.clone()).unwrap().unwrap();
        assert_eq!(back.entries(), idx.entries());
        assert_eq!(back.entries().len(), 2);
        assert!(back.is_consistent(5));
        assert!(!back.is_consistent(4));
        assert_eq!(back.lookup_before(9).map(|e| e.timestamp), Some(5));
        assert_eq!(back.lookup_before(5), None);
        std::fs::write(&path, [1u8; 13]).unwrap();
        assert!(TimeIndex::read(path).unwrap().is_none());
        assert!(TimeIndex::read(dir.path().join("missing"))
            .unwrap()
            .is_none());
    }
}
