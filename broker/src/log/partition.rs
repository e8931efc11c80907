//! [`PartitionLog`]: the durable log of one topic partition.
//!
//! The log is a list of segments sorted by base offset; the last one is the active segment
//! that appends go to. An append validates every batch's header and CRC, checks idempotent
//! producers, writes the offsets it assigns into the batch headers and stores the bytes with
//! one `write`. A read finds the segment by offset, the position by the sparse index, and
//! returns whole stored batches. Opening (recovery), retention and deletion live in
//! `recovery.rs` and `retention.rs`, compaction in `compaction/`.

use std::path::{Path, PathBuf};

use bytes::Bytes;

use super::batch::{validate_produced, BatchHeader, BatchIter};
use super::cleaner_checkpoint::CompactionState;
use super::compression::MAX_DECOMPRESSED_BATCH_BYTES;
use super::config::{AppendOutcome, LogConfig};
use super::error::LogError;
use super::fsio::sync_dir;
use super::index::remove_if_exists;
use super::producer_state::{AppendPlan, ProducerStateManager};
use super::record::require_keys;
use super::segment::{Segment, SegmentSync};

/// Present only between a clean [`PartitionLog::close`] and the next open.
pub(super) const CLEAN_SHUTDOWN_FILE: &str = "clean-shutdown";

/// The durable log of one topic partition, stored in its own directory.
///
/// Synchronous and single-threaded: the broker wraps each log in a mutex. All methods that
/// touch files use plain positional reads and writes; only [`flush`](Self::flush) (and the
/// flush policy, see the [module docs](super)) calls fsync.
///
/// ```
/// use fjord_broker::log::{LogConfig, PartitionLog};
///
/// let dir = tempfile::tempdir()?;
/// let log = PartitionLog::open(dir.path(), LogConfig::default(), 0)?;
/// assert_eq!(log.log_end_offset(), 0);
/// assert!(log.read(0, 1024)?.is_empty());
/// log.close()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct PartitionLog {
    pub(super) dir: PathBuf,
    pub(super) config: LogConfig,
    /// Sorted by base offset, never empty; the last one is the active segment.
    pub(super) segments: Vec<Segment>,
    pub(super) log_start_offset: i64,
    pub(super) producers: ProducerStateManager,
    /// Records appended since the last flush.
    pub(super) unflushed_records: u64,
    /// When the oldest unflushed append happened.
    pub(super) first_unflushed_ms: Option<i64>,
    /// The latest clock value any call passed in; used where a call has no clock of its own.
    pub(super) clock_ms: i64,
    /// Segment files were created or removed since the directory was last fsynced.
    pub(super) dir_unsynced: bool,
    /// The clean-shutdown marker exists (written by `shutdown`); removed before any change.
    pub(super) clean_marker: bool,
    /// Compaction checkpoint and the bookkeeping that keeps stale jobs out.
    pub(super) compaction: CompactionState,
}

impl PartitionLog {
    /// Appends the records field of one partition of a ProduceRequest: one or more v2
    /// batches, laid end to end.
    ///
    /// Every batch is validated first (sizes, magic, CRC, record count, size limit, and for
    /// a compacted log a key on every record), so nothing is written if any batch is bad.
    /// Then idempotent producers are checked, offsets are assigned, the active segment is
    /// rolled if needed, and all batches are written with one `pwritev` that puts each
    /// batch's base offset in its header on the way (`records` is not copied or changed).
    /// No per-record work is done and nothing is fsynced: the caller applies the flush policy
    /// with [`flush_due`](Self::flush_due) and [`take_flush`](Self::take_flush), so the fsync
    /// can run after it has released the lock that serialises appends.
    ///
    /// A producer retry of a stored batch writes nothing and returns the original offsets
    /// with `duplicate: true`.
    ///
    /// # Errors
    /// [`LogError::CorruptRecord`], [`LogError::InvalidRecord`], [`LogError::RecordTooLarge`],
    /// [`LogError::OutOfOrderSequence`], [`LogError::InvalidProducerEpoch`], or
    /// [`LogError::Io`] if the write fails (the segment is left as it was).
    pub fn append(&mut self, records: &[u8], now_ms: i64) -> Result<AppendOutcome, LogError> {
        self.observe(now_ms);
        if records.is_empty() {
            return Err(LogError::InvalidRecord(
                "the produce request holds no record batch for this partition".into(),
            ));
        }
        let mut batches: Vec<(usize, BatchHeader)> = Vec::with_capacity(1);
        let mut record_count = 0u64;
        let mut next = self.log_end_offset();
        for batch in BatchIter::new(records) {
            let batch = batch?;
            validate_produced(&batch.header, batch.bytes, self.config.max_message_bytes)?;
            if self.config.cleanup_compact && !batch.header.is_control() {
                require_keys(&batch)?;
            }
            let mut header = batch.header;
            header.base_offset = next;
            next = header.next_offset();
            // Validated: records_count == last_offset_delta + 1 >= 1.
            record_count += header.records_count as u64;
            batches.push((batch.position, header));
        }
        let segment_limit = self.config.effective_segment_bytes();
        if records.len() as u64 > segment_limit {
            return Err(LogError::RecordTooLarge {
                size: records.len(),
                max: usize::try_from(segment_limit).unwrap_or(usize::MAX),
            });
        }
        let updates = match self.producers.plan(batches.iter().map(|(_, h)| h))? {
            AppendPlan::Append(updates) => updates,
            AppendPlan::Duplicate(original) => {
                return Ok(AppendOutcome {
                    base_offset: original.first_offset,
                    last_offset: original.last_offset,
                    log_start_offset: self.log_start_offset,
                    duplicate: true,
                })
            }
        };
        self.mark_dirty()?;
        let first_offset = self.log_end_offset();
        self.maybe_roll(records.len() as u64, next - 1, now_ms)?;
        let interval = self.config.index_interval_bytes;
        self.active_mut()
            .append(records, &batches, interval, now_ms)?;
        self.producers.commit(updates);

        self.unflushed_records += record_count;
        self.first_unflushed_ms.get_or_insert(now_ms);
        Ok(AppendOutcome {
            base_offset: first_offset,
            last_offset: next - 1,
            log_start_offset: self.log_start_offset,
            duplicate: false,
        })
    }

    /// Whole stored batches, starting with the batch that contains `offset`, up to `max_bytes`
    /// in total but always at least one whole batch if any exists at or after `offset`. The
    /// result may stop at the end of a segment; a batch may start before `offset` (the
    /// consumer skips the records it did not ask for, as with Kafka).
    ///
    /// # Errors
    /// [`LogError::OffsetOutOfRange`] if `offset` is below the log start offset or above the
    /// log end offset (at the log end offset the result is empty); [`LogError::Io`] or
    /// [`LogError::CorruptRecord`] if the stored data cannot be read.
    pub fn read(&self, offset: i64, max_bytes: usize) -> Result<Bytes, LogError> {
        let end = self.log_end_offset();
        if offset < self.log_start_offset || offset > end {
            return Err(self.out_of_range(offset));
        }
        if offset == end {
            return Ok(Bytes::new());
        }
        let first = self
            .segments
            .partition_point(|s| s.base_offset() <= offset)
            .saturating_sub(1);
        for segment in &self.segments[first..] {
            if let Some(bytes) = segment.read(offset, max_bytes)? {
                return Ok(bytes);
            }
        }
        Ok(Bytes::new())
    }

    /// The first offset still in the log (moved by retention and `delete_records`).
    pub fn log_start_offset(&self) -> i64 {
        self.log_start_offset
    }

    /// The offset the next record will get; with one replica this is also the high watermark.
    pub fn log_end_offset(&self) -> i64 {
        self.active().next_offset()
    }

    /// The first record (at or after the log start offset) whose timestamp is `>= ts`, as
    /// `(offset, timestamp)`; `None` if there is none. The time index narrows the search to
    /// a batch; that batch's records are then decoded (decompressing at most
    /// [`MAX_DECOMPRESSED_BATCH_BYTES`]) to find the exact record.
    ///
    /// # Errors
    /// [`LogError::Io`], [`LogError::CorruptRecord`] or [`LogError::Decompression`] if a
    /// stored batch cannot be read or decoded.
    pub fn offset_for_timestamp(&self, ts: i64) -> Result<Option<(i64, i64)>, LogError> {
        for segment in &self.segments {
            if segment.next_offset() <= self.log_start_offset {
                continue;
            }
            let found =
                segment.find_timestamp(ts, self.log_start_offset, MAX_DECOMPRESSED_BATCH_BYTES)?;
            if found.is_some() {
                return Ok(found);
            }
        }
        Ok(None)
    }

    /// Offset and timestamp of the record with the largest timestamp (ListOffsets
    /// `MAX_TIMESTAMP`; the earliest such record on ties); `None` if the log is empty.
    ///
    /// # Errors
    /// As for [`offset_for_timestamp`](Self::offset_for_timestamp).
    pub fn max_timestamp(&self) -> Result<Option<(i64, i64)>, LogError> {
        let mut best: Option<(i64, &Segment)> = None;
        for segment in &self.segments {
            if segment.next_offset() <= self.log_start_offset {
                continue;
            }
            if let Some((ts, _)) = segment.max_timestamp() {
                if best.is_none_or(|(b, _)| ts > b) {
                    best = Some((ts, segment));
                }
            }
        }
        match best {
            Some((_, segment)) => segment.max_timestamp_record(MAX_DECOMPRESSED_BATCH_BYTES),
            None => Ok(None),
        }
    }

    /// Fsyncs every segment with unsynced writes (the active one and any rolled since the
    /// last flush), log and index files alike, and the directory if segments came or went.
    /// Blocking for as long as the fsyncs take: a caller holding a lock others need uses
    /// [`take_flush`](Self::take_flush) instead.
    ///
    /// # Errors
    /// [`LogError::Io`] if a write or fsync fails; the data then still counts as unflushed.
    pub fn flush(&mut self) -> Result<(), LogError> {
        let plan = self.take_flush()?;
        if let Err(e) = plan.run() {
            self.flush_failed(plan);
            return Err(e);
        }
        Ok(())
    }

    /// The first half of a flush, cheap enough to run under the partition lock: writes
    /// pending index entries to the page cache and returns the fsyncs still owed, counting
    /// the data as flushed. Run [`FlushPlan::run`] after releasing the lock (appends and reads
    /// go on meanwhile), and hand the plan back to [`flush_failed`](Self::flush_failed) if it
    /// fails. Data appended after this call is not covered by the plan.
    ///
    /// # Errors
    /// [`LogError::Io`] if an index file cannot be written (nothing is counted as flushed).
    pub fn take_flush(&mut self) -> Result<FlushPlan, LogError> {
        let mut plan = FlushPlan {
            segments: Vec::new(),
            dir: None,
            records: self.unflushed_records,
            first_unflushed_ms: self.first_unflushed_ms,
        };
        let mut failed = None;
        for segment in &mut self.segments {
            if segment.needs_sync() {
                match segment.take_sync() {
                    Ok(sync) => plan.segments.push((segment.base_offset(), sync)),
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                }
            }
        }
        if let Some(e) = failed {
            // Nothing was counted as flushed yet but the segments already taken.
            plan.records = 0;
            plan.first_unflushed_ms = None;
            self.flush_failed(plan);
            return Err(e);
        }
        if self.dir_unsynced {
            plan.dir = Some(self.dir.clone());
            self.dir_unsynced = false;
        }
        self.unflushed_records = 0;
        self.first_unflushed_ms = None;
        Ok(plan)
    }

    /// Puts back what a failed (or abandoned) [`FlushPlan`] counted as flushed, so the next
    /// flush tries again.
    pub fn flush_failed(&mut self, plan: FlushPlan) {
        for (base, _) in &plan.segments {
            if let Some(i) = self.segment_index(*base) {
                self.segments[i].mark_unsynced();
            }
        }
        if plan.dir.is_some() {
            self.dir_unsynced = true;
        }
        self.unflushed_records += plan.records;
        if let Some(since) = plan.first_unflushed_ms {
            let first = self.first_unflushed_ms.map_or(since, |f| f.min(since));
            self.first_unflushed_ms = Some(first);
        }
    }

    /// True if the flush policy asks for a flush now: `flush_messages` records are
    /// unflushed, or the oldest unflushed append is `flush_ms` old.
    pub fn flush_due(&self, now_ms: i64) -> bool {
        if self.unflushed_records == 0 {
            return false;
        }
        self.unflushed_records >= self.config.flush_messages
            || self
                .first_unflushed_ms
                .is_some_and(|since| now_ms.saturating_sub(since) >= self.config.flush_ms)
    }

    /// Flushes (with the fsyncs under `&mut self`) if [`flush_due`](Self::flush_due).
    ///
    /// # Errors
    /// [`LogError::Io`] if a write or fsync fails.
    pub fn maybe_flush(&mut self, now_ms: i64) -> Result<(), LogError> {
        self.observe(now_ms);
        if self.flush_due(now_ms) {
            self.flush()
        } else {
            Ok(())
        }
    }

    /// Replaces the configuration; it applies from the next call on.
    pub fn set_config(&mut self, config: LogConfig) {
        self.config = config;
    }

    /// The current configuration.
    pub fn config(&self) -> &LogConfig {
        &self.config
    }

    /// Total size of the segment files in bytes (indexes not counted).
    pub fn size_bytes(&self) -> u64 {
        self.segments.iter().map(Segment::size).sum()
    }

    /// Number of segments, the active one included.
    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }

    /// The directory holding this partition's files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Removes the clean-shutdown marker before the first change after
    /// [`shutdown`](Self::shutdown). Costs one branch when there is no marker.
    pub(super) fn mark_dirty(&mut self) -> Result<(), LogError> {
        if self.clean_marker {
            remove_if_exists(&self.dir.join(CLEAN_SHUTDOWN_FILE))?;
            sync_dir(&self.dir)?;
            self.clean_marker = false;
        }
        Ok(())
    }

    /// Position in `segments` of the segment with this base offset.
    pub(super) fn segment_index(&self, base_offset: i64) -> Option<usize> {
        self.segments
            .binary_search_by_key(&base_offset, Segment::base_offset)
            .ok()
    }

    pub(super) fn active(&self) -> &Segment {
        // Invariant: `segments` is never empty (open creates one, deletion keeps the last).
        &self.segments[self.segments.len() - 1]
    }

    pub(super) fn active_mut(&mut self) -> &mut Segment {
        let last = self.segments.len() - 1;
        &mut self.segments[last]
    }

    pub(super) fn observe(&mut self, now_ms: i64) {
        self.clock_ms = self.clock_ms.max(now_ms);
    }

    pub(super) fn out_of_range(&self, offset: i64) -> LogError {
        LogError::OffsetOutOfRange {
            offset,
            log_start: self.log_start_offset,
            log_end: self.log_end_offset(),
        }
    }

    /// Rolls before an append of `incoming` bytes ending at `last_offset` if the active
    /// segment would pass `segment_bytes`, is older than `segment_ms`, or could not index
    /// `last_offset` with a 32-bit relative offset. An empty segment is never rolled.
    fn maybe_roll(&mut self, incoming: u64, last_offset: i64, now_ms: i64) -> Result<(), LogError> {
        let active = self.active();
        if active.is_empty() {
            return Ok(());
        }
        let full = active.size() + incoming > self.config.effective_segment_bytes();
        let old = now_ms.saturating_sub(active.created_ms()) >= self.config.segment_ms;
        let offsets_overflow = last_offset - active.base_offset() > i64::from(u32::MAX);
        if full || old || offsets_overflow {
            self.roll(now_ms)?;
        }
        Ok(())
    }

    /// Seals the active segment and starts a new one at the log end offset.
    pub(super) fn roll(&mut self, now_ms: i64) -> Result<(), LogError> {
        self.mark_dirty()?;
        let base = self.log_end_offset();
        self.active_mut().seal()?;
        let segment = Segment::create(&self.dir, base, now_ms)?;
        tracing::debug!(dir = %self.dir.display(), base_offset = base, "rolled log segment");
        self.segments.push(segment);
        self.dir_unsynced = true;
        Ok(())
    }
}

/// The fsyncs a flush still owes, taken by [`PartitionLog::take_flush`] under the partition
/// lock and run by [`run`](Self::run) without it.
#[derive(Debug)]
#[must_use = "a flush plan does nothing until it is run"]
pub struct FlushPlan {
    /// Base offset of each segment with files to fsync, and those files.
    segments: Vec<(i64, SegmentSync)>,
    /// The partition directory, if entries were created or removed.
    dir: Option<PathBuf>,
    /// Unflushed records and the time of the oldest, put back if the plan fails.
    records: u64,
    first_unflushed_ms: Option<i64>,
}

impl FlushPlan {
    /// True if the plan has nothing to fsync.
    pub fn is_empty(&self) -> bool {
        self.dir.is_none() && self.segments.iter().all(|(_, s)| s.is_empty())
    }

    /// Fsyncs the files, oldest segment first, then the directory. Blocking; touches no
    /// in-memory state of the log, so no lock is needed.
    ///
    /// # Errors
    /// [`LogError::Io`] naming the first file whose fsync failed.
    pub fn run(&self) -> Result<(), LogError> {
        for (_, sync) in &self.segments {
            sync.run()?;
        }
        if let Some(dir) = &self.dir {
            match sync_dir(dir) {
                // The partition was deleted since the plan was taken: nothing left to sync.
                Err(LogError::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound => {}
                other => other?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)] // Tests may panic on failure.
mod tests {
    use super::*;
    use crate::log::compression::Compression;
    use crate::log::testutil::{append_spec, append_values, batch, consume_all, BatchSpec, NOW};

    fn small_segments() -> LogConfig {
        LogConfig {
            segment_bytes: 1000,
            index_interval_bytes: 150,
            ..LogConfig::default()
        }
    }

    fn value(i: usize) -> Vec<u8> {
        format!("value-{i:05}").into_bytes()
    }

    /// Appends `n` batches of 3 records each; returns all values in order.
    fn fill(log: &mut PartitionLog, n: usize) -> Vec<Vec<u8>> {
        let mut all = Vec::new();
        for b in 0..n {
            let vals: Vec<Vec<u8>> = (0..3).map(|r| value(b * 3 + r)).collect();
            let refs: Vec<&[u8]> = vals.iter().map(|v| v.as_slice()).collect();
            let out = append_values(log, &refs);
            assert_eq!(out.base_offset, (b * 3) as i64);
            assert_eq!(out.last_offset, (b * 3 + 2) as i64);
            all.extend(vals);
        }
        all
    }

    #[test]
    fn round_trip_across_segment_rolls() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = PartitionLog::open(dir.path(), small_segments(), NOW).unwrap();
        let values = fill(&mut log, 40);
        assert!(log.segment_count() >= 4, "{} segments", log.segment_count());
        assert_eq!(log.log_end_offset(), 120);
        for max_bytes in [1, 300, 1 << 20] {
            let got = consume_all(&log, max_bytes);
            assert_eq!(got.len(), 120);
            for (i, (offset, v)) in got.iter().enumerate() {
                assert_eq!(*offset, i as i64);
                assert_eq!(v, &values[i]);
            }
        }
        assert!(log.size_bytes() > 0);
        assert_eq!(log.read(120, 100).unwrap().len(), 0);
        assert!(matches!(
            log.read(121, 100),
            Err(LogError::OffsetOutOfRange {
                offset: 121,
                log_start: 0,
                log_end: 120
            })
        ));
        assert!(matches!(
            log.read(-1, 100),
            Err(LogError::OffsetOutOfRange { .. })
        ));
    }

    #[test]
    fn read_inside_a_batch_returns_that_batch_and_at_least_one() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = PartitionLog::open(dir.path(), LogConfig::default(), NOW).unwrap();
        fill(&mut log, 10);
        let bytes = log.read(13, 1).unwrap();
        let batches: Vec<_> = BatchIter::new(&bytes).collect::<Result<_, _>>().unwrap();
        assert_eq!(
            batches.len(),
            1,
            "one whole batch even though max_bytes is 1"
        );
        assert_eq!(batches[0].header.base_offset, 12);
        assert_eq!(batches[0].header.last_offset(), 14);
        let two = log.read(13, 2 * batches[0].bytes.len()).unwrap();
        assert_eq!(BatchIter::new(&two).count(), 2);
    }

    #[test]
    fn stored_bytes_are_the_produced_bytes_with_the_offset_patched() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = PartitionLog::open(dir.path(), LogConfig::default(), NOW).unwrap();
        append_values(&mut log, &[b"a", b"b"]);
        let produced = batch(&BatchSpec::values(&[b"c"]));
        let original = produced.clone();
        log.append(&produced, NOW).unwrap();
        assert_eq!(
            produced, original,
            "the request's bytes are left as they were"
        );
        let stored = log.read(2, 1 << 20).unwrap();
        assert_eq!(stored.len(), produced.len());
        assert_eq!(&stored[8..], &original[8..]);
        assert_eq!(BatchHeader::parse(&stored).unwrap().base_offset, 2);
    }

    #[test]
    fn every_batch_of_one_append_gets_its_own_base_offset() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = PartitionLog::open(dir.path(), LogConfig::default(), NOW).unwrap();
        append_values(&mut log, &[b"a"]);
        let mut records = Vec::new();
        for values in [&[b"b" as &[u8], b"c"][..], &[b"d"], &[b"e", b"f", b"g"]] {
            records.extend(batch(&BatchSpec::values(values)));
        }
        let out = log.append(&records, NOW).unwrap();
        assert_eq!((out.base_offset, out.last_offset), (1, 6));
        let stored = log.read(1, 1 << 20).unwrap();
        assert_eq!(stored.len(), records.len());
        let got: Vec<_> = BatchIter::new(&stored)
            .map(|b| {
                let b = b.unwrap();
                crate::log::batch::verify_crc(&b.header, b.bytes).unwrap();
                (b.header.base_offset, b.header.records_count)
            })
            .collect();
        assert_eq!(got, vec![(1, 2), (3, 1), (4, 3)]);
        let values: Vec<Vec<u8>> = consume_all(&log, 0).into_iter().map(|(_, v)| v).collect();
        let expected: Vec<Vec<u8>> = ["a", "b", "c", "d", "e", "f", "g"]
            .iter()
            .map(|v| v.as_bytes().to_vec())
            .collect();
        assert_eq!(values, expected);
    }

    #[test]
    fn a_bad_batch_rejects_the_whole_request() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = PartitionLog::open(dir.path(), LogConfig::default(), NOW).unwrap();
        append_values(&mut log, &[b"a"]);
        let mut records = batch(&BatchSpec::values(&[b"ok"]));
        let mut bad = batch(&BatchSpec::values(&[b"bad"]));
        let last = bad.len() - 1;
        bad[last] ^= 0x55;
        records.extend(bad);
        let size = log.size_bytes();
        assert!(matches!(
            log.append(&records, NOW),
            Err(LogError::CorruptRecord(m)) if m.contains("CRC")
        ));
        assert_eq!(log.size_bytes(), size);
        assert_eq!(log.log_end_offset(), 1);
        let mut torn = batch(&BatchSpec::values(&[b"x"]));
        torn.truncate(torn.len() - 1);
        assert!(matches!(
            log.append(&torn, NOW),
            Err(LogError::CorruptRecord(_))
        ));
        assert!(matches!(
            log.append(&[], NOW),
            Err(LogError::InvalidRecord(_))
        ));
        let big = batch(&BatchSpec::sized(1, 2000, NOW, 0));
        log.set_config(LogConfig {
            max_message_bytes: 1000,
            ..LogConfig::default()
        });
        assert!(matches!(
            log.append(&big, NOW),
            Err(LogError::RecordTooLarge { max: 1000, .. })
        ));
        assert_eq!(log.log_end_offset(), 1);
    }

    #[test]
    fn several_batches_in_one_request_get_consecutive_offsets() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = PartitionLog::open(dir.path(), LogConfig::default(), NOW).unwrap();
        let mut records = batch(&BatchSpec::values(&[b"a", b"b"]));
        records.extend(batch(&BatchSpec::values(&[b"c"])));
        let out = log.append(&records, NOW).unwrap();
        assert_eq!(
            (out.base_offset, out.last_offset, out.duplicate),
            (0, 2, false)
        );
        let got: Vec<_> = consume_all(&log, 1 << 20)
            .into_iter()
            .map(|(_, v)| v)
            .collect();
        assert_eq!(got, vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]);
    }

    #[test]
    fn offset_for_timestamp_is_exact_for_every_codec() {
        let codecs = [
            (Compression::None, false),
            (Compression::Gzip, false),
            (Compression::Snappy, false),
            (Compression::Snappy, true),
            (Compression::Lz4, false),
            (Compression::Zstd, false),
        ];
        for (codec, xerial) in codecs {
            let dir = tempfile::tempdir().unwrap();
            let mut log = PartitionLog::open(dir.path(), small_segments(), NOW).unwrap();
            // 12 batches of 5 records; record i has timestamp 10_000 + 10 * i.
            for b in 0..12 {
                let spec = BatchSpec::sized(5, 40, 10_000 + 50 * b, 10).compressed(codec, xerial);
                append_spec(&mut log, &spec, NOW).unwrap();
            }
            assert!(log.segment_count() > 1, "{codec:?}");
            let at = |ts| log.offset_for_timestamp(ts).unwrap();
            assert_eq!(at(0), Some((0, 10_000)), "{codec:?}");
            assert_eq!(at(10_000), Some((0, 10_000)));
            assert_eq!(at(10_001), Some((1, 10_010)));
            assert_eq!(at(10_230), Some((23, 10_230)));
            assert_eq!(at(10_225), Some((23, 10_230)));
            assert_eq!(at(10_590), Some((59, 10_590)));
            assert_eq!(at(10_591), None);
            assert_eq!(
                log.max_timestamp().unwrap(),
                Some((59, 10_590)),
                "{codec:?}"
            );
        }
    }

    #[test]
    fn timestamps_out_of_order_and_max_timestamp() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = PartitionLog::open(dir.path(), LogConfig::default(), NOW).unwrap();
        assert_eq!(log.max_timestamp().unwrap(), None);
        assert_eq!(log.offset_for_timestamp(0).unwrap(), None);
        let mut spec = BatchSpec::sized(4, 10, 5_000, 0);
        for (r, d) in spec.records.iter_mut().zip([0, 300, 100, 300]) {
            r.timestamp_delta = d;
        }
        append_spec(&mut log, &spec, NOW).unwrap();
        append_spec(&mut log, &BatchSpec::sized(2, 10, 4_000, 1), NOW).unwrap();
        assert_eq!(log.max_timestamp().unwrap(), Some((1, 5_300)));
        assert_eq!(log.offset_for_timestamp(5_050).unwrap(), Some((1, 5_300)));
        assert_eq!(log.offset_for_timestamp(5_200).unwrap(), Some((1, 5_300)));
        assert_eq!(log.offset_for_timestamp(4_001).unwrap(), Some((0, 5_000)));
        assert_eq!(log.offset_for_timestamp(5_301).unwrap(), None);
    }

    #[test]
    fn idempotent_retries_are_not_written_twice() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = PartitionLog::open(dir.path(), LogConfig::default(), NOW).unwrap();
        let first = BatchSpec::values(&[b"a", b"b"]).producer(42, 0, 0);
        let second = BatchSpec::values(&[b"c"]).producer(42, 0, 2);
        assert!(!append_spec(&mut log, &first, NOW).unwrap().duplicate);
        assert!(!append_spec(&mut log, &second, NOW).unwrap().duplicate);
        let retry = append_spec(&mut log, &first, NOW).unwrap();
        assert!(retry.duplicate);
        assert_eq!((retry.base_offset, retry.last_offset), (0, 1));
        assert_eq!(log.log_end_offset(), 3);
        let gap = BatchSpec::values(&[b"d"]).producer(42, 0, 5);
        assert!(matches!(
            append_spec(&mut log, &gap, NOW),
            Err(LogError::OutOfOrderSequence {
                producer_id: 42,
                expected: 3,
                got: 5
            })
        ));
        let next = BatchSpec::values(&[b"d"]).producer(42, 0, 3);
        append_spec(&mut log, &next, NOW).unwrap();
        let new_epoch = BatchSpec::values(&[b"e"]).producer(42, 1, 0);
        append_spec(&mut log, &new_epoch, NOW).unwrap();
        let zombie = BatchSpec::values(&[b"f"]).producer(42, 0, 4);
        assert!(matches!(
            append_spec(&mut log, &zombie, NOW),
            Err(LogError::InvalidProducerEpoch {
                current: 1,
                got: 0,
                ..
            })
        ));
        assert_eq!(log.log_end_offset(), 5);
    }

    #[test]
    fn a_failed_flush_plan_is_put_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = PartitionLog::open(dir.path(), small_segments(), NOW).unwrap();
        fill(&mut log, 20);
        assert!(log.segment_count() > 1);
        let plan = log.take_flush().unwrap();
        assert!(log.segments.iter().all(|s| !s.needs_sync()));
        log.flush_failed(plan);
        assert_eq!(log.unflushed_records, 60);
        assert!(log.segments.iter().all(|s| s.needs_sync()));
        assert!(log.dir_unsynced);
        // An appended batch between take and run is left for the next flush.
        let plan = log.take_flush().unwrap();
        append_values(&mut log, &[b"late"]);
        plan.run().unwrap();
        assert_eq!(log.unflushed_records, 1);
        assert!(log.active().needs_sync());
        log.flush().unwrap();
        assert!(log.segments.iter().all(|s| !s.needs_sync()));
    }

    #[test]
    fn flush_policy_by_count_and_time() {
        let dir = tempfile::tempdir().unwrap();
        let config = LogConfig {
            flush_messages: 3,
            flush_ms: 1_000,
            ..LogConfig::default()
        };
        let mut log = PartitionLog::open(dir.path(), config, NOW).unwrap();
        append_values(&mut log, &[b"a", b"b"]);
        assert_eq!(log.unflushed_records, 2);
        assert!(log.active().needs_sync());
        assert!(!log.flush_due(NOW));
        append_values(&mut log, &[b"c"]);
        assert!(log.flush_due(NOW), "3 records reach flush_messages");
        // Appends never fsync themselves: the caller takes the plan and runs it unlocked.
        assert!(log.active().needs_sync());
        let plan = log.take_flush().unwrap();
        assert!(!plan.is_empty());
        assert_eq!(log.unflushed_records, 0);
        assert!(!log.active().needs_sync());
        plan.run().unwrap();
        append_spec(&mut log, &BatchSpec::values(&[b"d"]), NOW + 10).unwrap();
        log.maybe_flush(NOW + 500).unwrap();
        assert_eq!(log.unflushed_records, 1);
        log.maybe_flush(NOW + 1_010).unwrap();
        assert_eq!(log.unflushed_records, 0);
        assert!(log.segments.iter().all(|s| !s.needs_sync()));
    }
}
