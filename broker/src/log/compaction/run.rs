//! Step 2 of compaction: [`CompactionJob::run`], which does the file work without the lock.
//!
//! First the dirty segments are read into an [`OffsetMap`]. Then every cleanable segment,
//! oldest first, is streamed batch by batch (each CRC checked, so corrupt data is never
//! given a fresh CRC) through [`filter_batch`]. Nothing is written for a segment until its
//! first batch changes; then a copy is started, the unchanged batches before it are copied
//! over, and the rest follows. A finished copy is fsynced and gets the original's
//! modification time, so time retention of `compact,delete` logs still sees the old age.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::job::{CompactionJob, SegmentSnapshot};
use super::offset_map::{DigestSet, OffsetMap};
use super::rewrite::{filter_batch, Filtered};
use crate::log::batch::{verify_crc, Batch, BatchHeader, HEADER_SIZE};
use crate::log::cleaner_checkpoint::SegmentCleaning;
use crate::log::compression::MAX_DECOMPRESSED_BATCH_BYTES;
use crate::log::error::{IoContext, LogError};
use crate::log::index::remove_if_exists;
use crate::log::record::{decode_records, RecordIter};
use crate::log::segment::{file_name, IndexBuilder};

/// Suffix of the segment copies a job writes (`{base:020}.log.{job}.cleaned`); recovery
/// deletes any it finds.
pub const CLEANED_SUFFIX: &str = ".cleaned";

/// Buffer size for streaming segment files.
const IO_BUFFER: usize = 1024 * 1024;

/// What a finished job produced: cleaned copies of some segments, waiting in the partition
/// directory for [`PartitionLog::install_compaction`](crate::log::PartitionLog::install_compaction).
///
/// Dropping an output that was not installed deletes its files.
#[derive(Debug)]
pub struct CompactionOutput {
    pub(super) job_id: u64,
    pub(super) log_instance: u64,
    pub(super) generation: u64,
    pub(super) dir: PathBuf,
    pub(super) now_ms: i64,
    /// Every segment the job cleaned, oldest first, rewritten or not.
    pub(super) segments: Vec<CleanedSegment>,
    /// The checkpoint's first dirty offset once installed.
    pub(super) first_dirty_offset: i64,
    pub(super) stats: CompactionStats,
}

/// One segment a job cleaned.
#[derive(Debug)]
pub(super) struct CleanedSegment {
    pub base_offset: i64,
    /// Size of the original when the job read it.
    pub original_size: u64,
    /// The copy to install; `None` if nothing in the segment changed.
    pub replacement: Option<Replacement>,
    /// Its checkpoint entry once installed.
    pub cleaning: SegmentCleaning,
    /// The copy drops tombstones: older segments must be durable first.
    pub drops_tombstones: bool,
}

/// A cleaned copy of a segment.
#[derive(Debug)]
pub(super) struct Replacement {
    pub path: PathBuf,
    pub indexes: IndexBuilder,
}

/// Counters of one compaction, for logs and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CompactionStats {
    /// Segments the job cleaned.
    pub segments_cleaned: usize,
    /// Of those, segments where something was removed (replaced by a copy).
    pub segments_rewritten: usize,
    /// Size of the cleaned segments before.
    pub bytes_before: u64,
    /// Size of the cleaned segments after.
    pub bytes_after: u64,
    /// Records removed because a later record has their key.
    pub records_removed: u64,
    /// Tombstones removed because their delete retention passed.
    pub tombstones_removed: u64,
}

impl CompactionOutput {
    /// What the job did.
    pub fn stats(&self) -> CompactionStats {
        self.stats
    }
}

impl Drop for CompactionOutput {
    fn drop(&mut self) {
        for segment in &self.segments {
            if let Some(r) = &segment.replacement {
                // Best effort: recovery deletes leftovers anyway.
                let _ = remove_if_exists(&r.path);
            }
        }
    }
}

impl CompactionJob {
    /// Step 2 of compaction: builds the offset map and writes the cleaned copies, reading
    /// and writing only files of the partition directory. Takes no lock and may run for a
    /// long time (it reads the dirty segments twice and the clean ones once); run it on a
    /// thread that may block.
    ///
    /// # Errors
    /// [`LogError::Io`] if a file cannot be read or written (a segment deleted by retention
    /// meanwhile, say), [`LogError::CorruptRecord`] or [`LogError::Decompression`] if a
    /// stored batch is damaged. Files written so far are deleted. Tell the log with
    /// [`PartitionLog::compaction_failed`](crate::log::PartitionLog::compaction_failed).
    pub fn run(self) -> Result<CompactionOutput, LogError> {
        match self.run_inner(&|| false) {
            Ok(output) => Ok(output),
            Err(Stop::Failed(e)) => Err(e),
            // Unreachable: the stop check above never says stop.
            Err(Stop::Cancelled) => Err(LogError::io(
                &self.dir,
                std::io::Error::other("compaction cancelled"),
            )),
        }
    }

    /// [`run`](Self::run), checking `cancelled` between batches: once it returns true the
    /// job stops, deletes what it wrote, and returns `Ok(None)`. Pass the broker's shutdown
    /// check (`|| token.is_cancelled()`) so a shutdown does not wait for a long compaction.
    ///
    /// # Errors
    /// As for [`run`](Self::run).
    pub fn run_cancellable(
        self,
        cancelled: &dyn Fn() -> bool,
    ) -> Result<Option<CompactionOutput>, LogError> {
        match self.run_inner(cancelled) {
            Ok(output) => Ok(Some(output)),
            Err(Stop::Cancelled) => Ok(None),
            Err(Stop::Failed(e)) => Err(e),
        }
    }

    /// The job; on failure or cancellation every file it created is deleted.
    fn run_inner(&self, cancelled: &dyn Fn() -> bool) -> Result<CompactionOutput, Stop> {
        let mut created = Vec::new();
        let result = self.compact(cancelled, &mut created);
        if result.is_err() {
            for path in &created {
                let _ = remove_if_exists(path);
            }
        }
        result
    }

    fn compact(
        &self,
        cancelled: &dyn Fn() -> bool,
        created: &mut Vec<PathBuf>,
    ) -> Result<CompactionOutput, Stop> {
        let mut map = OffsetMap::new();
        let mut end = self.first_dirty;
        for segment in &self.segments[self.first_dirty..] {
            if end > self.first_dirty && map.len() >= self.max_map_keys {
                break;
            }
            self.map_segment(segment, &mut map, cancelled)?;
            end += 1;
        }
        let mut output = CompactionOutput {
            job_id: self.id,
            log_instance: self.log_instance,
            generation: self.generation,
            dir: self.dir.clone(),
            now_ms: self.now_ms,
            segments: Vec::with_capacity(end),
            first_dirty_offset: self.segments[..end]
                .last()
                .map_or(i64::MIN, |s| s.following_base),
            stats: CompactionStats::default(),
        };
        let mut pinned = DigestSet::default();
        for segment in &self.segments[..end] {
            let cleaned = self.clean_segment(
                segment,
                &map,
                &mut pinned,
                (created, cancelled),
                &mut output.stats,
            )?;
            output.segments.push(cleaned);
        }
        Ok(output)
    }

    fn source_path(&self, segment: &SegmentSnapshot) -> PathBuf {
        self.dir.join(file_name(segment.base_offset, "log"))
    }

    /// Adds every keyed record of a dirty segment to the map (transactional and control
    /// batches excepted: they never supersede anything).
    fn map_segment(
        &self,
        segment: &SegmentSnapshot,
        map: &mut OffsetMap,
        cancelled: &dyn Fn() -> bool,
    ) -> Result<(), Stop> {
        let mut reader = BatchReader::open(&self.source_path(segment), segment.size)?;
        while let Some((_, batch)) = reader.next_batch()? {
            if cancelled() {
                return Err(Stop::Cancelled);
            }
            if batch.header.is_control() || batch.header.is_transactional() {
                continue;
            }
            let records = decode_records(&batch, MAX_DECOMPRESSED_BATCH_BYTES)?;
            for record in RecordIter::new(&records, batch.header.records_count) {
                let record = record?;
                if let Some(key) = record.key {
                    map.insert(key, record.offset(&batch.header));
                }
            }
        }
        Ok(())
    }

    /// Filters one segment; writes a copy only if something goes.
    fn clean_segment(
        &self,
        segment: &SegmentSnapshot,
        map: &OffsetMap,
        pinned: &mut DigestSet,
        (created, cancelled): (&mut Vec<PathBuf>, &dyn Fn() -> bool),
        stats: &mut CompactionStats,
    ) -> Result<CleanedSegment, Stop> {
        let source = self.source_path(segment);
        let drop_tombstones = self.tombstones_expired(segment);
        let mut reader = BatchReader::open(&source, segment.size)?;
        let modified = reader.modified;
        let mut copy: Option<SegmentWriter> = None;
        let mut kept_tombstones = 0u64;
        let mut dropped_tombstones = 0u64;
        while let Some((position, batch)) = reader.next_batch()? {
            if cancelled() {
                return Err(Stop::Cancelled);
            }
            let header = batch.header;
            let fate = if header.is_control() {
                Filtered::Unchanged
            } else if header.is_transactional() {
                pin_keys(&batch, map, pinned)?;
                Filtered::Unchanged
            } else {
                let last_in_segment = position + batch.bytes.len() as u64 == segment.size;
                let producer_last = header.has_producer_id()
                    && self.producer_last_batches.contains(&header.base_offset);
                filter_batch(
                    &batch,
                    last_in_segment || producer_last,
                    &source,
                    |r, offset| {
                        // Records without a key cannot be superseded: they stay.
                        let Some(key) = r.key else { return true };
                        let digest = map.digest(key);
                        if map.latest(digest).is_some_and(|latest| latest > offset) {
                            stats.records_removed += 1;
                            return false;
                        }
                        if r.value.is_none() {
                            if drop_tombstones && !pinned.contains(&digest) {
                                dropped_tombstones += 1;
                                return false;
                            }
                            kept_tombstones += 1;
                        }
                        true
                    },
                )?
            };
            match (fate, copy.as_mut()) {
                (Filtered::Unchanged, None) => {}
                (Filtered::Unchanged, Some(w)) => w.append(batch.bytes, &header)?,
                (fate, _) => {
                    if copy.is_none() {
                        copy = Some(self.start_copy(segment, position, created)?);
                    }
                    if let (Filtered::Rewritten(bytes), Some(w)) = (fate, copy.as_mut()) {
                        w.append(&bytes, &BatchHeader::parse(&bytes)?)?;
                    }
                }
            }
        }
        stats.tombstones_removed += dropped_tombstones;
        stats.segments_cleaned += 1;
        stats.bytes_before += segment.size;
        let replacement = match copy {
            Some(w) => {
                stats.segments_rewritten += 1;
                stats.bytes_after += w.position;
                Some(w.finish(modified)?)
            }
            None => {
                stats.bytes_after += segment.size;
                None
            }
        };
        Ok(CleanedSegment {
            base_offset: segment.base_offset,
            original_size: segment.size,
            replacement,
            cleaning: SegmentCleaning {
                cleaned_at_ms: segment.cleaned.map_or(self.now_ms, |c| c.cleaned_at_ms),
                pending_tombstones: if drop_tombstones { 0 } else { kept_tombstones },
            },
            drops_tombstones: dropped_tombstones > 0,
        })
    }

    /// Starts the copy of `segment` with its batches before `upto` unchanged.
    fn start_copy(
        &self,
        segment: &SegmentSnapshot,
        upto: u64,
        created: &mut Vec<PathBuf>,
    ) -> Result<SegmentWriter, LogError> {
        let path = self.dir.join(format!(
            "{}.{}{CLEANED_SUFFIX}",
            file_name(segment.base_offset, "log"),
            self.id
        ));
        created.push(path.clone());
        let indexes = IndexBuilder::new(&self.dir, segment.base_offset, self.index_interval_bytes);
        let mut writer = SegmentWriter::create(path, indexes)?;
        let mut prefix = BatchReader::open(&self.source_path(segment), upto)?;
        while let Some((_, batch)) = prefix.next_batch()? {
            writer.append(batch.bytes, &batch.header)?;
        }
        Ok(writer)
    }
}

/// Why a job stopped early.
enum Stop {
    Cancelled,
    Failed(LogError),
}

impl From<LogError> for Stop {
    fn from(e: LogError) -> Self {
        Stop::Failed(e)
    }
}

/// Adds the keys of a transactional batch to the pinned set: a later tombstone of such a
/// key is never dropped, since the transactional record stays.
fn pin_keys(batch: &Batch<'_>, map: &OffsetMap, pinned: &mut DigestSet) -> Result<(), LogError> {
    let records = decode_records(batch, MAX_DECOMPRESSED_BATCH_BYTES)?;
    for record in RecordIter::new(&records, batch.header.records_count) {
        if let Some(key) = record?.key {
            pinned.insert(map.digest(key));
        }
    }
    Ok(())
}

/// Reads the batches of a segment file in order, checking each CRC.
struct BatchReader {
    reader: BufReader<File>,
    path: PathBuf,
    pos: u64,
    len: u64,
    modified: Option<SystemTime>,
    buf: Vec<u8>,
}

impl BatchReader {
    /// Reads the first `len` bytes of the file at `path`.
    fn open(path: &Path, len: u64) -> Result<BatchReader, LogError> {
        let file = File::open(path).at(path)?;
        let modified = file.metadata().and_then(|m| m.modified()).ok();
        Ok(BatchReader {
            reader: BufReader::with_capacity(IO_BUFFER, file),
            path: path.to_path_buf(),
            pos: 0,
            len,
            modified,
            buf: Vec::new(),
        })
    }

    /// The next batch and its position, or `None` at the end.
    fn next_batch(&mut self) -> Result<Option<(u64, Batch<'_>)>, LogError> {
        if self.pos >= self.len {
            return Ok(None);
        }
        let remaining = self.len - self.pos;
        if remaining < HEADER_SIZE as u64 {
            return Err(self.corrupt(&format!("{remaining} bytes left, too few for a batch")));
        }
        self.buf.resize(HEADER_SIZE, 0);
        self.reader.read_exact(&mut self.buf).at(&self.path)?;
        let header = BatchHeader::parse(&self.buf).map_err(|e| self.corrupt(&e.to_string()))?;
        let size = header.total_size();
        if size as u64 > remaining {
            return Err(self.corrupt(&format!(
                "batch of {size} bytes runs past the end ({remaining} bytes left)"
            )));
        }
        self.buf.resize(size, 0);
        self.reader
            .read_exact(&mut self.buf[HEADER_SIZE..])
            .at(&self.path)?;
        verify_crc(&header, &self.buf).map_err(|e| self.corrupt(&e.to_string()))?;
        let position = self.pos;
        self.pos += size as u64;
        Ok(Some((
            position,
            Batch {
                position: 0,
                header,
                bytes: &self.buf,
            },
        )))
    }

    fn corrupt(&self, why: &str) -> LogError {
        LogError::CorruptRecord(format!(
            "{} at position {}: {why}; compaction skips this log until it is repaired",
            self.path.display(),
            self.pos
        ))
    }
}

/// Writes a segment copy and builds its indexes.
struct SegmentWriter {
    out: BufWriter<File>,
    path: PathBuf,
    position: u64,
    indexes: IndexBuilder,
}

impl SegmentWriter {
    fn create(path: PathBuf, indexes: IndexBuilder) -> Result<SegmentWriter, LogError> {
        let file = File::create(&path).at(&path)?;
        Ok(SegmentWriter {
            out: BufWriter::with_capacity(IO_BUFFER, file),
            path,
            position: 0,
            indexes,
        })
    }

    fn append(&mut self, bytes: &[u8], header: &BatchHeader) -> Result<(), LogError> {
        if self.position > u64::from(u32::MAX) {
            // Re-compression can make a batch larger than it was; index positions are u32.
            return Err(LogError::InvalidRecord(format!(
                "{}: the compacted copy would pass 4 GiB; lower segment.bytes",
                self.path.display()
            )));
        }
        self.out.write_all(bytes).at(&self.path)?;
        self.indexes.add(self.position, header);
        self.position += bytes.len() as u64;
        Ok(())
    }

    /// Flushes and fsyncs the copy and gives it the original's modification time.
    fn finish(self, modified: Option<SystemTime>) -> Result<Replacement, LogError> {
        let path = self.path;
        let file = self
            .out
            .into_inner()
            .map_err(|e| LogError::io(&path, e.into_error()))?;
        if let Some(t) = modified {
            file.set_modified(t).at(&path)?;
        }
        file.sync_all().at(&path)?;
        Ok(Replacement {
            path,
            indexes: self.indexes,
        })
    }
}
