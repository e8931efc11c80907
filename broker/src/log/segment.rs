//! One segment of a partition log: `{base_offset:020}.log` plus its two index files.
//!
//! The `.log` file holds v2 batches back to back, byte for byte as the producer sent them
//! except for the base offset the log assigned. A segment is written only at its end (one
//! positional `write` per append) and read with positional reads, so reads need only `&self`.
//!
//! A segment is opened in one of three ways, chosen by the partition's recovery:
//! - [`Segment::create`]: a new, empty segment (a roll).
//! - [`Segment::open_indexed`]: after a clean shutdown, trust the index files and only walk the
//!   headers after the last offset index entry to find the end.
//! - [`Segment::recover`]: walk every batch header (and check every CRC for the last segment),
//!   rebuild the indexes, and truncate the file at the first batch that is torn or corrupt.

use std::fs::File;
use std::io::IoSlice;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use bytes::Bytes;

use super::batch::{BatchHeader, BatchIter, HEADER_SIZE};
use super::error::{IoContext, LogError};
use super::index::{open_rw, remove_if_exists, OffsetEntry, OffsetIndex, TimeEntry, TimeIndex};
use super::record::{decode_records, RecordIter};
use super::scan::{scan, Target};

/// `{base:020}.{ext}`, Kafka's segment file naming.
pub fn file_name(base_offset: i64, ext: &str) -> String {
    format!("{base_offset:020}.{ext}")
}

/// The in-memory index state of a segment, kept apart from the file handle so a scan can
/// read the file while it updates the indexes.
#[derive(Debug)]
struct Indexes {
    base_offset: i64,
    offsets: OffsetIndex,
    times: TimeIndex,
    /// Largest batch max timestamp and the base offset of that batch.
    max_timestamp: Option<(i64, i64)>,
    next_offset: i64,
    bytes_since_entry: usize,
}

impl Indexes {
    /// Empty indexes for the segment at `base_offset` in `dir`; whatever the index files hold
    /// is replaced on the next persist.
    fn new(dir: &Path, base_offset: i64) -> Indexes {
        Indexes {
            base_offset,
            offsets: OffsetIndex::empty(dir.join(file_name(base_offset, "index"))),
            times: TimeIndex::empty(dir.join(file_name(base_offset, "timeindex"))),
            max_timestamp: None,
            next_offset: base_offset,
            bytes_since_entry: 0,
        }
    }

    /// Accounts for a batch stored at `position`. The caller guarantees the relative offset
    /// and position fit in `u32` (the partition rolls before they could not).
    fn add_batch(&mut self, position: u64, header: &BatchHeader, interval: usize) {
        if self
            .max_timestamp
            .is_none_or(|(max, _)| header.max_timestamp > max)
        {
            self.max_timestamp = Some((header.max_timestamp, header.base_offset));
        }
        if self.offsets.entries().is_empty() || self.bytes_since_entry >= interval {
            self.offsets.push(OffsetEntry {
                relative_offset: relative(self.base_offset, header.base_offset),
                position: position as u32,
            });
            self.finalize_time_index();
            self.bytes_since_entry = 0;
        }
        self.bytes_since_entry += header.total_size();
        self.next_offset = header.next_offset();
    }

    /// Records the current max timestamp in the time index (if it grew).
    fn finalize_time_index(&mut self) {
        if let Some((ts, offset)) = self.max_timestamp {
            self.times.push_if_newer(TimeEntry {
                timestamp: ts,
                relative_offset: relative(self.base_offset, offset),
            });
        }
    }
}

/// `offset - base` as stored in the indexes; the partition rolls segments before an offset
/// could be more than `u32::MAX` past its segment's base.
fn relative(base: i64, offset: i64) -> u32 {
    (offset - base) as u32
}

/// The indexes of a segment file written outside the live log (a compacted copy), fed batch
/// by batch as the copy is written, and turned into a [`Segment`] by
/// [`Segment::open_replaced`] once the copy has replaced the original file.
#[derive(Debug)]
pub struct IndexBuilder {
    idx: Indexes,
    interval: usize,
}

impl IndexBuilder {
    /// Empty indexes for a copy of the segment at `base_offset` in `dir`, with an offset
    /// index entry at least every `index_interval` bytes.
    pub fn new(dir: &Path, base_offset: i64, index_interval: usize) -> IndexBuilder {
        IndexBuilder {
            idx: Indexes::new(dir, base_offset),
            interval: index_interval,
        }
    }

    /// Accounts for a batch written at `position` of the copy. The caller adds batches in
    /// offset order at positions that fit `u32`; relative offsets fit because a copy keeps
    /// the offsets of the segment it replaces.
    pub fn add(&mut self, position: u64, header: &BatchHeader) {
        self.idx.add_batch(position, header, self.interval);
    }
}

/// One segment: its log file, indexes and bookkeeping.
#[derive(Debug)]
pub struct Segment {
    path: PathBuf,
    /// Shared so a flush can fsync the file after the partition lock is released (see
    /// [`Segment::take_sync`]); all writes still go through `&mut Segment`.
    file: Arc<File>,
    size: u64,
    idx: Indexes,
    created_ms: i64,
    last_modified_ms: i64,
    /// Log bytes written since the last fsync.
    unsynced: bool,
    /// End of the disk space reserved for the file (see [`Segment::reserve`]); nothing is
    /// reserved past the end while it is at most `size`.
    reserved: u64,
    /// False once the file system refused to preallocate (not every one can).
    preallocate: bool,
}

/// The smallest and largest step by which the active segment's disk space is reserved
/// ahead of its writes.
const RESERVE_MIN: u64 = 64 * 1024;
const RESERVE_MAX: u64 = 16 * 1024 * 1024;
/// Most slices one `pwritev` takes (Linux's `IOV_MAX`).
const MAX_IOVECS: usize = 1024;

impl Segment {
    /// Creates an empty segment starting at `base_offset`, replacing leftover files.
    ///
    /// # Errors
    /// [`LogError::Io`] if the file cannot be created.
    pub fn create(dir: &Path, base_offset: i64, now_ms: i64) -> Result<Segment, LogError> {
        let path = dir.join(file_name(base_offset, "log"));
        let file = open_rw(&path)?;
        file.set_len(0).at(&path)?;
        Ok(Segment::assemble(
            dir,
            path,
            file,
            base_offset,
            now_ms,
            now_ms,
        ))
    }

    fn assemble(
        dir: &Path,
        path: PathBuf,
        file: File,
        base_offset: i64,
        created_ms: i64,
        last_modified_ms: i64,
    ) -> Segment {
        Segment {
            path,
            file: Arc::new(file),
            size: 0,
            idx: Indexes::new(dir, base_offset),
            created_ms,
            last_modified_ms,
            unsynced: false,
            reserved: 0,
            preallocate: true,
        }
    }

    /// Opens an existing segment by scanning it, rebuilding both indexes in memory (their
    /// files are rewritten on the next flush). With `verify_crc` every batch's CRC is checked.
    /// The file is truncated at the first incomplete, impossible or corrupt batch, with a
    /// warning. `visit` sees every kept batch header in order.
    ///
    /// # Errors
    /// [`LogError::Io`] if the file cannot be read or truncated.
    pub fn recover(
        dir: &Path,
        base_offset: i64,
        verify_crc: bool,
        index_interval: usize,
        now_ms: i64,
        visit: &mut dyn FnMut(&BatchHeader),
    ) -> Result<Segment, LogError> {
        let path = dir.join(file_name(base_offset, "log"));
        let file = open_rw(&path)?;
        let facts = file_facts(&file, &path, now_ms)?;
        let len = facts.len;
        let mut seg =
            Segment::assemble(dir, path, file, base_offset, facts.created, facts.modified);
        let idx = &mut seg.idx;
        let (end, stop) = scan(
            Target::new(&seg.file, &seg.path, base_offset),
            0,
            len,
            base_offset,
            verify_crc,
            |pos, h| {
                idx.add_batch(pos, h, index_interval);
                visit(h);
            },
        )?;
        seg.size = end;
        seg.reserved = end;
        if stop.is_none() && facts.reserved_past_end {
            // Space a crashed process reserved past the end: give it back.
            seg.file.set_len(end).at(&seg.path)?;
        }
        if let Some(reason) = stop {
            tracing::warn!(
                segment = %seg.path.display(),
                position = end,
                truncated_bytes = len - end,
                next_offset = seg.idx.next_offset,
                "truncating torn or corrupt tail of log segment: {reason}"
            );
            seg.file.set_len(end).at(&seg.path)?;
            seg.file.sync_all().at(&seg.path)?;
        }
        Ok(seg)
    }

    /// Opens the log file of a sealed segment that a compacted copy has just replaced (by a
    /// rename), with the indexes built while the copy was written, and writes the index files
    /// (without fsync: the log file was synced before the rename, and after a crash recovery
    /// rebuilds indexes anyway). `created_ms` and `last_modified_ms` carry over from the
    /// segment it replaces.
    ///
    /// # Errors
    /// [`LogError::Io`] if the file cannot be opened or an index file cannot be written.
    pub fn open_replaced(
        dir: &Path,
        indexes: IndexBuilder,
        created_ms: i64,
        last_modified_ms: i64,
    ) -> Result<Segment, LogError> {
        let base_offset = indexes.idx.base_offset;
        let path = dir.join(file_name(base_offset, "log"));
        let file = open_rw(&path)?;
        let size = file.metadata().at(&path)?.len();
        let mut seg = Segment::assemble(dir, path, file, base_offset, created_ms, last_modified_ms);
        seg.idx = indexes.idx;
        seg.size = size;
        seg.seal()?;
        Ok(seg)
    }

    /// Opens a segment after a clean shutdown from its index files, scanning only the headers
    /// after the last offset index entry. `Ok(None)` if an index file is missing or does not
    /// match the log; the caller then uses [`Segment::recover`].
    ///
    /// # Errors
    /// [`LogError::Io`] if a file exists but cannot be read.
    pub fn open_indexed(
        dir: &Path,
        base_offset: i64,
        index_interval: usize,
        now_ms: i64,
    ) -> Result<Option<Segment>, LogError> {
        let Some(offsets) = OffsetIndex::read(dir.join(file_name(base_offset, "index")))? else {
            return Ok(None);
        };
        let Some(times) = TimeIndex::read(dir.join(file_name(base_offset, "timeindex")))? else {
            return Ok(None);
        };
        let path = dir.join(file_name(base_offset, "log"));
        let file = open_rw(&path)?;
        let FileFacts {
            len,
            created,
            modified,
            ..
        } = file_facts(&file, &path, now_ms)?;
        if !offsets.is_consistent(len) || (len > 0) == offsets.entries().is_empty() {
            return Ok(None);
        }
        let last_entry = offsets.last().copied().unwrap_or(OffsetEntry {
            relative_offset: 0,
            position: 0,
        });
        let mut seg = Segment::assemble(dir, path, file, base_offset, created, modified);
        seg.idx.max_timestamp = times
            .last()
            .map(|e| (e.timestamp, base_offset + i64::from(e.relative_offset)));
        seg.idx.offsets = offsets;
        seg.idx.times = times;
        seg.idx.next_offset = base_offset + i64::from(last_entry.relative_offset);
        let start = u64::from(last_entry.position);
        let idx = &mut seg.idx;
        let mut first = true;
        let mut misplaced = false;
        let (end, stop) = scan(
            Target::new(&seg.file, &seg.path, base_offset),
            start,
            len,
            idx.next_offset,
            false,
            |pos, h| {
                if first && h.base_offset != idx.next_offset {
                    misplaced = true;
                }
                first = false;
                idx.add_batch(pos, h, index_interval);
            },
        )?;
        let relative_end = (seg.idx.next_offset - base_offset) as u64;
        if stop.is_some() || end != len || misplaced || !seg.idx.times.is_consistent(relative_end) {
            return Ok(None);
        }
        seg.size = len;
        Ok(Some(seg))
    }

    /// Calls `visit` with every batch header, in order, without changing the segment.
    ///
    /// # Errors
    /// [`LogError::Io`] on a read error; [`LogError::CorruptRecord`] if a header is bad.
    pub fn for_each_header(&self, visit: &mut dyn FnMut(&BatchHeader)) -> Result<(), LogError> {
        let (_, stop) = scan(
            Target::new(&self.file, &self.path, self.idx.base_offset),
            0,
            self.size,
            self.idx.base_offset,
            false,
            |_, h| visit(h),
        )?;
        match stop {
            Some(reason) => Err(LogError::CorruptRecord(format!(
                "{}: {reason}",
                self.path.display()
            ))),
            None => Ok(()),
        }
    }

    /// The in-memory index entries, for tests that compare loaded and rebuilt indexes.
    #[cfg(test)]
    pub fn index_entries(&self) -> (Vec<OffsetEntry>, Vec<TimeEntry>) {
        (
            self.idx.offsets.entries().to_vec(),
            self.idx.times.entries().to_vec(),
        )
    }

    /// First offset of the segment.
    pub fn base_offset(&self) -> i64 {
        self.idx.base_offset
    }

    /// Offset after the last batch (the base offset if empty).
    pub fn next_offset(&self) -> i64 {
        self.idx.next_offset
    }

    /// Size of the log file in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// True if the segment holds no batch.
    pub fn is_empty(&self) -> bool {
        self.size == 0
    }

    /// When the segment was last appended to (ms since the epoch).
    pub fn last_modified_ms(&self) -> i64 {
        self.last_modified_ms
    }

    /// When the segment was created (ms since the epoch), for `segment.ms`.
    pub fn created_ms(&self) -> i64 {
        self.created_ms
    }

    /// Largest batch max timestamp in the segment and the base offset of that batch.
    pub fn max_timestamp(&self) -> Option<(i64, i64)> {
        self.idx.max_timestamp
    }

    /// The time that retention compares with: the largest record timestamp, or the last
    /// modification time when the records carry no timestamps (as Kafka does).
    pub fn retention_timestamp(&self) -> i64 {
        match self.idx.max_timestamp {
            Some((ts, _)) if ts >= 0 => ts,
            _ => self.last_modified_ms,
        }
    }

    /// Appends already validated batches with one positional write, giving each batch the
    /// base offset in its header: `batches` lists each batch's byte position within `data`
    /// and its header, whose `base_offset` is written over the first 8 bytes of the batch
    /// (outside the CRC) on the way to the file, so `data` itself is never copied.
    ///
    /// # Errors
    /// [`LogError::Io`] if the write fails; the file is cut back to its previous size.
    pub fn append(
        &mut self,
        data: &[u8],
        batches: &[(usize, BatchHeader)],
        index_interval: usize,
        now_ms: i64,
    ) -> Result<(), LogError> {
        let start = self.size;
        self.reserve(start + data.len() as u64);
        let offsets: Vec<[u8; 8]> = batches
            .iter()
            .map(|(_, h)| h.base_offset.to_be_bytes())
            .collect();
        let mut slices = Vec::with_capacity(2 * batches.len() + 1);
        let mut done = 0;
        for ((pos, _), offset) in batches.iter().zip(&offsets) {
            slices.push(IoSlice::new(&data[done..*pos]));
            slices.push(IoSlice::new(offset));
            done = pos + offset.len();
        }
        slices.push(IoSlice::new(&data[done..]));
        slices.retain(|s| !s.is_empty());
        if let Err(e) = write_all_vectored_at(&self.file, &mut slices, start) {
            // Best effort: leave no partial batch behind; recovery would cut it anyway.
            let _ = self.file.set_len(start);
            return Err(LogError::io(&self.path, e));
        }
        for (pos, header) in batches {
            self.idx
                .add_batch(start + *pos as u64, header, index_interval);
        }
        self.size += data.len() as u64;
        self.reserved = self.reserved.max(self.size);
        self.last_modified_ms = now_ms;
        self.unsynced = true;
        Ok(())
    }

    /// Reserves disk space up to at least `end` ahead of a write, in steps that grow with the
    /// segment (64 KiB up to 16 MiB), without changing the file size
    /// (`fallocate(FALLOC_FL_KEEP_SIZE)`). Writing into reserved space spares the file system
    /// its block allocation on every write (on ext4 this halves the kernel's cost of an
    /// append); [`seal`](Self::seal) gives back what was not used. Best effort: where the file
    /// system cannot preallocate, or the disk is full, the write goes ahead without.
    fn reserve(&mut self, end: u64) {
        if end <= self.reserved || !self.preallocate {
            return;
        }
        let from = self.reserved.max(self.size);
        let until = end + self.size.clamp(RESERVE_MIN, RESERVE_MAX);
        match rustix::fs::fallocate(
            &self.file,
            rustix::fs::FallocateFlags::KEEP_SIZE,
            from,
            until - from,
        ) {
            Ok(()) => self.reserved = until,
            Err(e) => {
                if e != rustix::io::Errno::NOSPC {
                    tracing::debug!(segment = %self.path.display(), error = %e, "cannot preallocate; writing without");
                    self.preallocate = false;
                }
            }
        }
    }

    /// Reads the header of the batch stored at `position`.
    fn header_at(&self, position: u64) -> Result<BatchHeader, LogError> {
        let mut buf = [0u8; HEADER_SIZE];
        self.file.read_exact_at(&mut buf, position).at(&self.path)?;
        let header = BatchHeader::parse(&buf)?;
        if position + header.total_size() as u64 > self.size {
            return Err(LogError::CorruptRecord(format!(
                "{}: batch at position {position} runs past the end of the segment",
                self.path.display()
            )));
        }
        Ok(header)
    }

    /// Reads `len` bytes at `position` into a new buffer, without zero-filling it first
    /// (that pass cost as much as the read itself when serving fetches).
    fn read_bytes(&self, position: u64, len: usize) -> Result<Vec<u8>, LogError> {
        let mut buf = Vec::with_capacity(len);
        while buf.len() < len {
            let at = position + buf.len() as u64;
            match rustix::io::pread(&self.file, rustix::buffer::spare_capacity(&mut buf), at) {
                Ok(0) => {
                    return Err(LogError::io(
                        &self.path,
                        std::io::ErrorKind::UnexpectedEof.into(),
                    ))
                }
                Ok(_) | Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(LogError::io(&self.path, e.into())),
            }
        }
        buf.truncate(len);
        Ok(buf)
    }

    /// Position and header of the first batch whose last offset is `>= offset`, starting the
    /// walk at position `from` or later if the offset index allows.
    fn find_batch(&self, offset: i64, from: u64) -> Result<Option<(u64, BatchHeader)>, LogError> {
        let rel = offset - self.idx.base_offset;
        let mut pos = from;
        if rel > 0 {
            let rel = u32::try_from(rel).unwrap_or(u32::MAX);
            if let Some(entry) = self.idx.offsets.lookup(rel) {
                pos = pos.max(u64::from(entry.position));
            }
        }
        while pos < self.size {
            let header = self.header_at(pos)?;
            if header.last_offset() >= offset {
                return Ok(Some((pos, header)));
            }
            pos += header.total_size() as u64;
        }
        Ok(None)
    }

    /// Whole batches starting with the one holding `offset`, up to `max_bytes` but at least
    /// one batch. `None` if no batch in this segment ends at or after `offset`.
    ///
    /// # Errors
    /// [`LogError::Io`] on a read error, [`LogError::CorruptRecord`] on a bad stored header.
    pub fn read(&self, offset: i64, max_bytes: usize) -> Result<Option<Bytes>, LogError> {
        if offset >= self.idx.next_offset {
            return Ok(None);
        }
        let Some((pos, first)) = self.find_batch(offset, 0)? else {
            return Ok(None);
        };
        let available = usize::try_from(self.size - pos).unwrap_or(usize::MAX);
        let want = max_bytes.max(first.total_size()).min(available);
        let mut buf = self.read_bytes(pos, want)?;
        let mut end = 0;
        for batch in BatchIter::new(&buf) {
            match batch {
                Ok(b) => end = b.position + b.bytes.len(),
                Err(_) => break,
            }
        }
        buf.truncate(end);
        Ok(Some(Bytes::from(buf)))
    }

    /// The first record with timestamp `>= target` and offset `>= min_offset`, as
    /// `(offset, timestamp)`. Starts from the time index, then decodes candidate batches
    /// (decompressing at most `max_decompressed` bytes each).
    ///
    /// # Errors
    /// I/O, corrupt stored data, or decompression failures.
    pub fn find_timestamp(
        &self,
        target: i64,
        min_offset: i64,
        max_decompressed: usize,
    ) -> Result<Option<(i64, i64)>, LogError> {
        match self.idx.max_timestamp {
            Some((max, _)) if max >= target => {}
            _ => return Ok(None),
        }
        let mut pos = 0;
        if let Some(entry) = self.idx.times.lookup_before(target) {
            if let Some(o) = self.idx.offsets.lookup(entry.relative_offset) {
                pos = u64::from(o.position);
            }
        }
        let Some((mut pos, _)) = self.find_batch(min_offset, pos)? else {
            return Ok(None);
        };
        while pos < self.size {
            let header = self.header_at(pos)?;
            if header.max_timestamp >= target && header.last_offset() >= min_offset {
                let found = self.scan_records(pos, &header, max_decompressed, |offset, ts| {
                    ts >= target && offset >= min_offset
                })?;
                if found.is_some() {
                    return Ok(found);
                }
            }
            pos += header.total_size() as u64;
        }
        Ok(None)
    }

    /// The record with this segment's largest timestamp, as `(offset, timestamp)`.
    ///
    /// # Errors
    /// I/O, corrupt stored data, or decompression failures.
    pub fn max_timestamp_record(
        &self,
        max_decompressed: usize,
    ) -> Result<Option<(i64, i64)>, LogError> {
        let Some((max, batch_offset)) = self.idx.max_timestamp else {
            return Ok(None);
        };
        let Some((pos, header)) = self.find_batch(batch_offset, 0)? else {
            return Ok(None);
        };
        let found = self.scan_records(pos, &header, max_decompressed, |_, ts| ts == max)?;
        // A batch whose header disagrees with its records still answers with its last offset.
        Ok(Some(found.unwrap_or((header.last_offset(), max))))
    }

    /// Decodes the batch at `pos` and returns the first record accepted by `wanted`.
    fn scan_records(
        &self,
        pos: u64,
        header: &BatchHeader,
        max_decompressed: usize,
        mut wanted: impl FnMut(i64, i64) -> bool,
    ) -> Result<Option<(i64, i64)>, LogError> {
        let bytes = self.read_bytes(pos, header.total_size())?;
        let batch = match BatchIter::new(&bytes).next() {
            Some(b) => b?,
            None => return Ok(None),
        };
        let records = decode_records(&batch, max_decompressed)?;
        for record in RecordIter::new(&records, header.records_count) {
            let record = record?;
            let (offset, ts) = (record.offset(header), record.timestamp(header));
            if wanted(offset, ts) {
                return Ok(Some((offset, ts)));
            }
        }
        Ok(None)
    }

    /// Called when the segment stops being the active one: records the final max timestamp
    /// in the time index, writes the pending index entries (no fsync), and gives back disk
    /// space reserved past the end of the file.
    ///
    /// # Errors
    /// [`LogError::Io`] if an index file cannot be written.
    pub fn seal(&mut self) -> Result<(), LogError> {
        if self.reserved > self.size {
            // Gives back the space reserved past the end (ftruncate to the same size does).
            self.file.set_len(self.size).at(&self.path)?;
            self.reserved = self.size;
        }
        self.idx.finalize_time_index();
        self.idx.offsets.persist(false)?;
        self.idx.times.persist(false)
    }

    /// Prepares a sync for a caller that holds a lock: writes the
    /// pending index entries (page cache only, no fsync) and returns what is left to fsync,
    /// counting it as synced. The caller runs [`SegmentSync::run`] after releasing its lock
    /// and calls [`mark_unsynced`](Self::mark_unsynced) if that fails.
    ///
    /// # Errors
    /// [`LogError::Io`] if an index file cannot be written.
    pub fn take_sync(&mut self) -> Result<SegmentSync, LogError> {
        let log = self
            .unsynced
            .then(|| (self.path.clone(), self.file.clone()));
        self.unsynced = false;
        let mut indexes = Vec::with_capacity(2);
        indexes.extend(self.idx.offsets.take_unsynced()?);
        indexes.extend(self.idx.times.take_unsynced()?);
        Ok(SegmentSync { log, indexes })
    }

    /// Counts the segment's log and index files as unsynced again (a taken sync failed).
    pub fn mark_unsynced(&mut self) {
        self.unsynced = true;
        self.idx.offsets.mark_unsynced();
        self.idx.times.mark_unsynced();
    }

    /// True if the segment has writes not yet fsynced.
    pub fn needs_sync(&self) -> bool {
        self.unsynced || self.idx.offsets.is_dirty() || self.idx.times.is_dirty()
    }

    /// Deletes the segment's files: indexes first, so a crash in between leaves a log file
    /// whose indexes are rebuilt, never an index without its log.
    ///
    /// # Errors
    /// [`LogError::Io`] if a file cannot be removed.
    pub fn delete(self) -> Result<(), LogError> {
        self.idx.offsets.delete_file()?;
        self.idx.times.delete_file()?;
        remove_if_exists(&self.path)
    }
}

/// The fsyncs a segment still owes, taken by [`Segment::take_sync`] under the partition lock
/// and run without it. The log file is fsynced through a shared handle, so a segment deleted
/// meanwhile (retention, compaction) is harmless; index files are reopened by path, and one
/// that is gone needs no sync.
#[derive(Debug, Default)]
pub struct SegmentSync {
    log: Option<(PathBuf, Arc<File>)>,
    indexes: Vec<PathBuf>,
}

impl SegmentSync {
    /// True if there is nothing to fsync.
    pub fn is_empty(&self) -> bool {
        self.log.is_none() && self.indexes.is_empty()
    }

    /// Fsyncs the files. Blocking: one `fdatasync` per file.
    ///
    /// # Errors
    /// [`LogError::Io`] naming the file whose sync failed.
    pub fn run(&self) -> Result<(), LogError> {
        if let Some((path, file)) = &self.log {
            file.sync_data().at(path)?;
        }
        for path in &self.indexes {
            match File::open(path) {
                Ok(f) => f.sync_data().at(path)?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(LogError::io(path, e)),
            }
        }
        Ok(())
    }
}

/// What one `fstat` of an open segment file tells.
struct FileFacts {
    len: u64,
    /// Creation time (ms), falling back to the modification time, then to `now_ms`, and
    /// never later than `now_ms`.
    created: i64,
    /// Modification time (ms), or `now_ms`.
    modified: i64,
    /// True if the file holds disk blocks past the 4 KiB block that holds its last byte
    /// (space reserved ahead of writes that were never made).
    reserved_past_end: bool,
}

fn file_facts(file: &File, path: &Path, now_ms: i64) -> Result<FileFacts, LogError> {
    use std::os::unix::fs::MetadataExt;
    let meta = file.metadata().at(path)?;
    let ms = |t: std::io::Result<std::time::SystemTime>| {
        t.ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .and_then(|d| i64::try_from(d.as_millis()).ok())
    };
    let modified = ms(meta.modified()).unwrap_or(now_ms);
    Ok(FileFacts {
        len: meta.len(),
        created: ms(meta.created()).unwrap_or(modified).min(now_ms),
        modified,
        reserved_past_end: meta.blocks() * 512 > meta.len().div_ceil(4096) * 4096,
    })
}

/// Writes all of `slices` at `offset` with as few `pwritev` calls as it takes.
fn write_all_vectored_at(
    file: &File,
    mut slices: &mut [IoSlice<'_>],
    mut offset: u64,
) -> std::io::Result<()> {
    while !slices.is_empty() {
        let n = slices.len().min(MAX_IOVECS);
        match rustix::io::pwritev(file, &slices[..n], offset) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(written) => {
                offset += written as u64;
                IoSlice::advance_slices(&mut slices, written);
            }
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}
