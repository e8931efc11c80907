//! Step 3 of compaction: [`PartitionLog::install_compaction`], under the lock.
//!
//! The output is installed only if the log is the one the job was prepared from, no other
//! compaction was installed since, and every segment the job cleaned is still a sealed
//! segment of the same size (sealed segments change only by deletion or compaction).
//! Otherwise it is discarded, which is always safe: the next job starts over.

use super::run::CompactionOutput;
use super::CompactionStats;
use crate::log::error::LogError;
use crate::log::fsio::sync_dir;
use crate::log::partition::PartitionLog;
use crate::log::segment::{file_name, Segment};

/// The result of [`PartitionLog::install_compaction`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstallOutcome {
    /// The cleaned segments replaced the originals.
    Installed(CompactionStats),
    /// The log changed under the job (a segment it cleaned was deleted, or another
    /// compaction was installed first); nothing was changed and the job's files were deleted.
    /// The next [`compaction_job`](PartitionLog::compaction_job) starts over.
    Discarded {
        /// Why, for the logs.
        reason: &'static str,
    },
}

impl PartitionLog {
    /// Step 3 of compaction: swaps the cleaned copies of `output` in for their originals.
    /// Cheap (a rename, an open and an index write per rewritten segment, a few directory
    /// fsyncs and the checkpoint write): call it under the partition lock.
    ///
    /// Renames go oldest segment first; before renaming a copy that drops tombstones, the
    /// directory is fsynced so older copies are durable first. Offsets, the log start and end
    /// offsets and producer state do not change (compaction keeps every batch's offset range
    /// and each producer's last batch).
    ///
    /// # Errors
    /// [`LogError::Io`] if a rename, the new file's open, an index write, a directory fsync
    /// or the checkpoint write fails. Segments renamed before the failure are in use (each
    /// segment is always wholly old or wholly new, so the log stays consistent); the others
    /// keep their old files.
    pub fn install_compaction(
        &mut self,
        mut output: CompactionOutput,
    ) -> Result<InstallOutcome, LogError> {
        if let Some(reason) = self.stale_reason(&output) {
            tracing::info!(dir = %self.dir.display(), reason, "discarding compaction output");
            return Ok(InstallOutcome::Discarded { reason });
        }
        self.mark_dirty()?;
        // From here on every job prepared earlier is stale, even if this install fails.
        self.compaction.generation += 1;
        self.compaction.retry_after_ms = i64::MIN;
        let mut renamed_unsynced = false;
        for cleaned in &mut output.segments {
            let Some(replacement) = cleaned.replacement.take() else {
                continue;
            };
            if cleaned.drops_tombstones && renamed_unsynced {
                sync_dir(&self.dir)?;
            }
            let target = self.dir.join(file_name(cleaned.base_offset, "log"));
            if let Err(e) = std::fs::rename(&replacement.path, &target) {
                cleaned.replacement = Some(replacement);
                return Err(LogError::io(&target, e));
            }
            renamed_unsynced = true;
            self.dir_unsynced = true;
            let index = self.segment_index(cleaned.base_offset).ok_or_else(|| {
                LogError::io(
                    &target,
                    std::io::Error::other("segment vanished during compaction install"),
                )
            })?;
            let old = &self.segments[index];
            let segment = Segment::open_replaced(
                &self.dir,
                replacement.indexes,
                old.created_ms(),
                old.last_modified_ms(),
            )?;
            // The old segment's file handle closes here; its inode goes with it.
            self.segments[index] = segment;
        }
        if renamed_unsynced {
            sync_dir(&self.dir)?;
            self.dir_unsynced = false;
        }
        let checkpoint = &mut self.compaction.checkpoint;
        checkpoint.first_dirty_offset =
            checkpoint.first_dirty_offset.max(output.first_dirty_offset);
        for cleaned in &output.segments {
            checkpoint
                .segments
                .insert(cleaned.base_offset, cleaned.cleaning);
        }
        let live = &self.segments;
        checkpoint.segments.retain(|base, _| {
            live.binary_search_by_key(base, Segment::base_offset)
                .is_ok()
        });
        checkpoint.write(&self.dir)?;
        let stats = output.stats();
        tracing::info!(
            dir = %self.dir.display(),
            job = output.job_id,
            at = output.now_ms,
            segments = stats.segments_cleaned,
            rewritten = stats.segments_rewritten,
            bytes_before = stats.bytes_before,
            bytes_after = stats.bytes_after,
            records_removed = stats.records_removed,
            tombstones_removed = stats.tombstones_removed,
            "installed log compaction"
        );
        Ok(InstallOutcome::Installed(stats))
    }

    /// Why `output` cannot be installed, if it cannot.
    fn stale_reason(&self, output: &CompactionOutput) -> Option<&'static str> {
        if output.log_instance != self.compaction.instance || output.dir != self.dir {
            return Some("the output belongs to another log");
        }
        if output.generation != self.compaction.generation {
            return Some("another compaction was installed since the job was prepared");
        }
        let active = self.segments.len() - 1;
        for cleaned in &output.segments {
            match self.segment_index(cleaned.base_offset) {
                Some(i) if i < active && self.segments[i].size() == cleaned.original_size => {}
                _ => return Some("a segment the job cleaned was deleted or changed meanwhile"),
            }
        }
        None
    }
}
