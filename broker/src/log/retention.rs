//! Removing old data: time and size retention (for `cleanup.policy` `delete`), time-based
//! segment rolls, and DeleteRecords.
//!
//! Data is only ever removed as whole segments, oldest first. Moving the log start offset
//! inside a segment (DeleteRecords) hides the records below it from reads and look-ups; the
//! segment's file goes once every offset in it is below the log start offset.

use super::error::LogError;
use super::partition::PartitionLog;
use super::recovery::write_checkpoint;

impl PartitionLog {
    /// DeleteRecords: moves the log start offset up to `offset` (-1 means the log end offset),
    /// deletes the segments that lie wholly below it, and persists the new log start offset so
    /// it survives a restart. A lower offset than the current log start changes nothing.
    ///
    /// When the whole log is deleted, the active segment is rolled so its file can go too;
    /// the log end offset does not change.
    ///
    /// Returns the new log start offset.
    ///
    /// # Errors
    /// [`LogError::OffsetOutOfRange`] if `offset` is past the log end offset or negative
    /// (other than -1); [`LogError::Io`] if the checkpoint cannot be written or a segment
    /// cannot be deleted.
    pub fn delete_records(&mut self, offset: i64) -> Result<i64, LogError> {
        let end = self.log_end_offset();
        let target = if offset == -1 { end } else { offset };
        if !(0..=end).contains(&target) {
            return Err(self.out_of_range(offset));
        }
        if target <= self.log_start_offset {
            return Ok(self.log_start_offset);
        }
        self.mark_dirty()?;
        write_checkpoint(&self.dir, target)?;
        self.log_start_offset = target;
        if target == end && !self.active().is_empty() {
            self.roll(self.clock_ms)?;
        }
        self.delete_segments_below_start()?;
        Ok(self.log_start_offset)
    }

    /// Applies retention at time `now_ms`:
    ///
    /// 1. rolls the active segment if it is non-empty and older than `segment_ms` (whatever
    ///    the cleanup policy: compaction only cleans sealed segments);
    ///
    /// then, only if `cleanup_delete` is set (`cleanup.policy` includes `delete`):
    ///
    /// 2. by time (`retention_ms >= 0`): the oldest segments whose largest timestamp is older
    ///    than `now_ms - retention_ms` are deletable;
    /// 3. by size (`retention_bytes >= 0`): the oldest segments are deletable while the log
    ///    without them would still hold at least `retention_bytes` (Kafka's rule, so the log
    ///    never drops below the limit).
    ///
    /// If the deletable segments include the non-empty active segment, a new empty active
    /// segment is rolled first (the log end offset is kept and becomes the log start offset).
    /// Returns the number of segments deleted.
    ///
    /// # Errors
    /// [`LogError::Io`] if a roll or deletion fails.
    pub fn enforce_retention(&mut self, now_ms: i64) -> Result<usize, LogError> {
        self.observe(now_ms);
        let active = self.active();
        if !active.is_empty()
            && now_ms.saturating_sub(active.created_ms()) >= self.config.segment_ms
        {
            self.roll(now_ms)?;
        }
        if !self.config.cleanup_delete {
            return Ok(0);
        }

        // An empty segment is only ever deletable if it is not the active one (empty
        // earlier segments are left by recovery truncating a corrupt segment).
        let last = self.segments.len() - 1;
        let mut deletable = 0;
        if self.config.retention_ms >= 0 {
            let cutoff = now_ms.saturating_sub(self.config.retention_ms);
            deletable = self
                .segments
                .iter()
                .enumerate()
                .take_while(|(i, s)| {
                    if s.is_empty() {
                        *i < last
                    } else {
                        s.retention_timestamp() < cutoff
                    }
                })
                .count();
        }
        if self.config.retention_bytes >= 0 {
            let mut excess =
                i128::from(self.size_bytes()) - i128::from(self.config.retention_bytes);
            let mut by_size = 0;
            for (i, segment) in self.segments.iter().enumerate() {
                let size = i128::from(segment.size());
                if (segment.is_empty() && i == last) || excess - size < 0 {
                    break;
                }
                excess -= size;
                by_size += 1;
            }
            deletable = deletable.max(by_size);
        }
        if deletable == 0 {
            return Ok(0);
        }
        if deletable > last {
            // Every segment, the non-empty active one included: roll so it can go.
            self.roll(now_ms)?;
        }
        let deleted = self.delete_oldest(deletable)?;
        tracing::info!(
            dir = %self.dir.display(),
            deleted,
            log_start_offset = self.log_start_offset,
            "deleted log segments by retention"
        );
        Ok(deleted)
    }

    /// Deletes the segments whose every offset is below the log start offset.
    pub(super) fn delete_segments_below_start(&mut self) -> Result<usize, LogError> {
        let start = self.log_start_offset;
        let below = self
            .segments
            .windows(2)
            .take_while(|w| w[1].base_offset() <= start)
            .count();
        self.delete_oldest(below)
    }

    /// Deletes the `count` oldest segments (never the active one) and moves the log start
    /// offset to the first remaining segment if it was below it.
    fn delete_oldest(&mut self, count: usize) -> Result<usize, LogError> {
        let count = count.min(self.segments.len() - 1);
        if count == 0 {
            return Ok(0);
        }
        self.mark_dirty()?;
        let doomed: Vec<_> = self.segments.drain(..count).collect();
        self.log_start_offset = self.log_start_offset.max(self.segments[0].base_offset());
        self.dir_unsynced = true;
        for segment in doomed {
            segment.delete()?;
        }
        Ok(count)
    }
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)] // Tests may panic on failure.
mod tests {
    use crate::log::testutil::{append_spec, append_values, consume_all, BatchSpec, NOW};
    use crate::log::{LogConfig, LogError, PartitionLog};

    const HOUR: i64 = 60 * 60 * 1000;

    fn config() -> LogConfig {
        LogConfig {
            segment_bytes: 600,
            index_interval_bytes: 100,
            retention_ms: 10 * HOUR,
            ..LogConfig::default()
        }
    }

    /// Appends `n` batches of 2 records stamped `ts`; returns the segment count after.
    fn append_at(log: &mut PartitionLog, n: usize, ts: i64) -> usize {
        for _ in 0..n {
            append_spec(log, &BatchSpec::sized(2, 40, ts, 0), NOW).unwrap();
        }
        log.segment_count()
    }

    #[test]
    fn time_retention_deletes_whole_old_segments() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = PartitionLog::open(dir.path(), config(), NOW).unwrap();
        append_at(&mut log, 12, NOW - 20 * HOUR);
        let old_segments = append_at(&mut log, 1, NOW - 20 * HOUR);
        log.roll(NOW).unwrap();
        let boundary = log.log_end_offset();
        append_at(&mut log, 6, NOW - HOUR);
        assert_eq!(log.enforce_retention(NOW - 15 * HOUR).unwrap(), 0);
        let deleted = log.enforce_retention(NOW).unwrap();
        assert_eq!(deleted, old_segments);
        assert_eq!(log.log_start_offset(), boundary);
        assert_eq!(log.segments[0].base_offset(), boundary);
        assert!(matches!(
            log.read(boundary - 1, 100),
            Err(LogError::OffsetOutOfRange { .. })
        ));
        assert_eq!(consume_all(&log, 1 << 20).len(), 12);
        assert_eq!(log.offset_for_timestamp(0).unwrap().unwrap().0, boundary);
        let logs = std::fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "log")
            })
            .count();
        assert_eq!(logs, log.segment_count());
        drop(log);
        let log = PartitionLog::open(dir.path(), config(), NOW).unwrap();
        assert_eq!(log.log_start_offset(), boundary);
    }

    #[test]
    fn an_expired_active_segment_is_rolled_and_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = PartitionLog::open(dir.path(), config(), NOW).unwrap();
        append_at(&mut log, 2, NOW - 20 * HOUR);
        assert_eq!(log.segment_count(), 1);
        assert_eq!(log.enforce_retention(NOW).unwrap(), 1);
        assert_eq!(log.segment_count(), 1);
        assert_eq!(log.log_end_offset(), 4);
        assert_eq!(log.log_start_offset(), 4);
        assert_eq!(log.size_bytes(), 0);
        assert_eq!(log.read(4, 100).unwrap().len(), 0);
        assert_eq!(log.max_timestamp().unwrap(), None);
        assert_eq!(append_values(&mut log, &[b"new"]).base_offset, 4);
        log.close().unwrap();
        let log = PartitionLog::open(dir.path(), config(), NOW).unwrap();
        assert_eq!((log.log_start_offset(), log.log_end_offset()), (4, 5));
    }

    #[test]
    fn size_retention_keeps_at_least_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = PartitionLog::open(dir.path(), config(), NOW).unwrap();
        append_at(&mut log, 30, NOW);
        let count = log.segment_count();
        let sizes: Vec<u64> = log.segments.iter().map(|s| s.size()).collect();
        let total: u64 = sizes.iter().sum();
        let limit = total - sizes[0] - sizes[1] - 1;
        let mut config = config();
        config.retention_bytes = limit as i64;
        log.set_config(config);
        // Deleting a third segment would leave less than the limit.
        assert_eq!(log.enforce_retention(NOW).unwrap(), 2);
        assert_eq!(log.segment_count(), count - 2);
        assert!(log.size_bytes() >= limit);
        assert_eq!(log.log_start_offset(), log.segments[0].base_offset());
        assert_eq!(log.enforce_retention(NOW).unwrap(), 0);
        let mut config = log.config().clone();
        config.retention_bytes = -1;
        config.retention_ms = -1;
        log.set_config(config);
        assert_eq!(log.enforce_retention(NOW + 1000 * HOUR).unwrap(), 0);
    }

    #[test]
    fn segment_ms_rolls_the_active_segment() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = config();
        config.segment_ms = HOUR;
        config.retention_ms = -1;
        let mut log = PartitionLog::open(dir.path(), config, NOW).unwrap();
        append_values(&mut log, &[b"a"]);
        assert_eq!(log.enforce_retention(NOW + HOUR / 2).unwrap(), 0);
        assert_eq!(log.segment_count(), 1);
        assert_eq!(log.enforce_retention(NOW + HOUR).unwrap(), 0);
        assert_eq!(log.segment_count(), 2);
        // An empty active segment is never rolled; an old one is rolled by the next append.
        assert_eq!(log.enforce_retention(NOW + 5 * HOUR).unwrap(), 0);
        assert_eq!(log.segment_count(), 2);
        append_spec(&mut log, &BatchSpec::values(&[b"b"]), NOW + HOUR).unwrap();
        append_spec(&mut log, &BatchSpec::values(&[b"c"]), NOW + 3 * HOUR).unwrap();
        assert_eq!(log.segment_count(), 3);
        assert_eq!(consume_all(&log, 1 << 20).len(), 3);
    }

    #[test]
    fn delete_records_moves_the_start_and_persists() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = PartitionLog::open(dir.path(), config(), NOW).unwrap();
        append_at(&mut log, 20, NOW);
        let segments = log.segment_count();
        let second_base = log.segments[1].base_offset();
        let mid = second_base + 1;
        assert_eq!(log.delete_records(mid).unwrap(), mid);
        assert_eq!(log.segment_count(), segments - 1);
        assert!(matches!(
            log.read(mid - 1, 10),
            Err(LogError::OffsetOutOfRange { .. })
        ));
        // The batch holding `mid` starts before it; consumers skip the deleted record.
        let got = consume_all(&log, 1 << 20);
        assert_eq!(got[0].0, mid);
        assert_eq!(log.offset_for_timestamp(0).unwrap(), Some((mid, NOW)));
        assert_eq!(
            log.delete_records(2).unwrap(),
            mid,
            "lower offsets change nothing"
        );
        assert!(matches!(
            log.delete_records(41),
            Err(LogError::OffsetOutOfRange {
                offset: 41,
                log_end: 40,
                ..
            })
        ));
        assert!(matches!(
            log.delete_records(-5),
            Err(LogError::OffsetOutOfRange { .. })
        ));
        drop(log); // crash
        let mut log = PartitionLog::open(dir.path(), config(), NOW).unwrap();
        assert_eq!(log.log_start_offset(), mid);
        assert_eq!(log.delete_records(-1).unwrap(), 40);
        assert_eq!(log.segment_count(), 1);
        assert_eq!(log.size_bytes(), 0);
        log.close().unwrap();
        let mut log = PartitionLog::open(dir.path(), config(), NOW).unwrap();
        assert_eq!((log.log_start_offset(), log.log_end_offset()), (40, 40));
        assert_eq!(append_values(&mut log, &[b"z"]).base_offset, 40);
    }
}
