//! Removing old data: time and size retention, time-based segment rolls, and DeleteRecords.
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
    /// 1. rolls the active segment if it is non-empty and older than `segment_ms`;
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

        let mut deletable = 0;
        if self.config.retention_ms >= 0 {
            let cutoff = now_ms.saturating_sub(self.config.retention_ms);
            deletable = self
                .segments
                .iter()
                .take_while(|s| !s.is_empty() && s.retention_timestamp() < cutoff)
                .count();
        }
        if self.config.retention_bytes >= 0 {
            let mut excess =
                i128::from(self.size_bytes()) - i128::from(self.config.retention_bytes);
            let mut by_size = 0;
            for segment in &self.segments {
                let size = i128::from(segment.size());
                if segment.is_empty() || excess - size < 0 {
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
        if deletable == self.segments.len() {
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
        let doomed: Vec<_> = self.segments.drain(..count).collect();
        self.log_start_offset = self.log_start_offset.max(self.segments[0].base_offset());
        self.dir_unsynced = true;
        for segment in doomed {
            segment.delete()?;
        }
        Ok(count)
    }
}
