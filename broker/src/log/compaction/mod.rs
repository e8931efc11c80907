//! Log compaction (`cleanup.policy=compact`): keep only the latest record of every key.
//!
//! Compaction runs in three steps so the heavy work never holds the partition's mutex:
//!
//! 1. [`PartitionLog::compaction_job`] (under the lock, cheap) decides whether the log is due
//!    and snapshots what the work needs into a [`CompactionJob`]: the sealed segments that may
//!    be cleaned (the active segment never is, nor any segment holding a record younger than
//!    `min_compaction_lag_ms`), which of them were never cleaned (the *dirty* part), the
//!    cleaner checkpoint and the last batch of every idempotent producer.
//! 2. [`CompactionJob::run`] (no lock) reads the dirty segments into an offset map (key →
//!    latest offset), then streams every cleanable segment through a filter into
//!    `{base:020}.log.{job}.cleaned` files beside the originals; a segment where nothing goes
//!    is not copied. The result is a [`CompactionOutput`].
//! 3. [`PartitionLog::install_compaction`] (under the lock, cheap) checks that the segments
//!    the job read are still there unchanged (retention or DeleteRecords may have deleted
//!    some: the output is then discarded), renames each cleaned file over its original,
//!    oldest first, swaps in the indexes built during the run, and writes the checkpoint.
//!
//! # What a cleaned segment holds
//!
//! - A record survives if no later record in the cleaned range has its key. The offset map
//!   covers only the dirty part: the part cleaned before is already compacted, so a record
//!   there goes only when the dirty part has its key again.
//! - Records with a null key stay (appends to a compacted log reject them; older ones may come
//!   from before the policy changed).
//! - A tombstone (null value) that survives stays until `delete_retention_ms` after its
//!   segment was first cleaned (the "cleaned at" time the checkpoint keeps per segment), so a
//!   consumer reading from the start within that time sees the delete. Then it goes too.
//! - Batches keep their base offset, `lastOffsetDelta`, producer id, epoch, base sequence,
//!   partition leader epoch and attributes, so offsets and sequences mean what they meant
//!   (records simply go missing in between, as in Kafka). A changed batch is re-encoded from
//!   the surviving records' bytes, re-compressed with its codec (snappy keeps its framing),
//!   with its record count, max timestamp and CRC recomputed.
//! - A batch left without records is dropped, except that an empty header-only batch is kept
//!   when it is the last batch of its segment (so every segment keeps its offset range and a
//!   fetch inside a removed range always finds a following batch, and recovery finds the same
//!   log end offset) or the last batch of an idempotent producer (so producer state rebuilt
//!   from the headers after a crash still knows its epoch and last sequence). Kafka keeps the
//!   latter too.
//! - Control batches and transactional batches are copied unchanged and their keys never
//!   supersede anything (without transaction state the cleaner cannot tell committed from
//!   aborted records). A tombstone whose key appears in an earlier transactional batch is
//!   kept, so that older value cannot resurface.
//!
//! # Crash safety
//!
//! A cleaned file is fully written and fsynced before install renames it over the original;
//! the rename is atomic, so each segment is either its old or its new version. Renames go
//! oldest first, with a directory fsync before any segment whose new version drops
//! tombstones, so a crash never leaves a dropped tombstone with an older value of its key
//! still on disk. The clean-shutdown marker is removed first, so a crash makes recovery
//! rebuild the indexes. Recovery deletes leftover `.cleaned` files (a job that was never
//! installed). The checkpoint is written after the renames; a stale one only makes the next
//! job clean more, and tombstones live longer.
//!
//! # Files
//!
//! `checkpoint` (the cleaner checkpoint file), `job` (step 1), `offset_map` (key digests to
//! offsets), `run` (step 2, reading and writing segment files), `rewrite` (filtering one
//! batch), `install` (step 3).

mod install;
mod job;
mod offset_map;
mod rewrite;
mod run;
#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)] // Tests may panic on failure.
mod tests;

pub use super::cleaner_checkpoint::CLEANER_CHECKPOINT_FILE;
pub use install::InstallOutcome;
pub use job::{CompactionJob, COMPACTION_RETRY_BACKOFF_MS};
pub use run::{CompactionOutput, CompactionStats, CLEANED_SUFFIX};
