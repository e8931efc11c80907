//! Step 1 of compaction: deciding that a log is due, and the [`CompactionJob`] snapshot.
//!
//! A log is due when compaction is enabled, it has cleanable segments (sealed, and with no
//! record younger than `min_compaction_lag_ms`), and either the dirty part (cleanable
//! segments never compacted) is at least `min_cleanable_dirty_ratio` of the cleanable bytes,
//! or a compacted segment holds tombstones whose delete retention has passed.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::log::cleaner_checkpoint::{next_id, SegmentCleaning};
use crate::log::partition::PartitionLog;

/// How long [`PartitionLog::compaction_job`] hands out no job after
/// [`PartitionLog::compaction_failed`] (one minute).
pub const COMPACTION_RETRY_BACKOFF_MS: i64 = 60_000;

/// A job stops adding dirty segments to its offset map once it holds this many keys (about
/// 40 MiB); the remaining dirty segments wait for the next job. One segment is always read
/// whole.
pub(super) const MAX_OFFSET_MAP_KEYS: usize = 1 << 20;

/// What a job knows about one cleanable segment, taken under the lock.
#[derive(Debug, Clone)]
pub(super) struct SegmentSnapshot {
    /// Base offset (names the files).
    pub base_offset: i64,
    /// Size of the log file; sealed segments do not grow.
    pub size: u64,
    /// Base offset of the segment after it: the first dirty offset once this one is clean.
    pub following_base: i64,
    /// Its cleaning history, if it was compacted before.
    pub cleaned: Option<SegmentCleaning>,
}

/// The work of one compaction, prepared by [`PartitionLog::compaction_job`] under the
/// partition lock and done by [`run`](CompactionJob::run) without it.
///
/// The job reads and writes only files in the partition directory; the log keeps serving
/// appends and fetches meanwhile. Its output must go back to the same log with
/// [`PartitionLog::install_compaction`].
///
/// A maintenance pass over a log behind a mutex:
///
/// ```
/// use std::sync::Mutex;
/// use fjord_broker::log::{InstallOutcome, LogConfig, PartitionLog};
///
/// let dir = tempfile::tempdir()?;
/// let config = LogConfig { cleanup_compact: true, ..LogConfig::default() };
/// let log = Mutex::new(PartitionLog::open(dir.path(), config, 0)?);
/// let now = 1_700_000_000_000;
/// // Under the lock: cheap.
/// let job = log.lock().map_err(|_| "poisoned")?.compaction_job(now);
/// if let Some(job) = job {
///     // Without the lock: reads and writes segment files.
///     let result = job.run();
///     let mut log = log.lock().map_err(|_| "poisoned")?;
///     match result {
///         // Under the lock again: renames and index swaps.
///         Ok(output) => match log.install_compaction(output)? {
///             InstallOutcome::Installed(stats) => println!("{stats:?}"),
///             InstallOutcome::Discarded { reason } => println!("retry later: {reason}"),
///         },
///         Err(_) => log.compaction_failed(now),
///     }
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct CompactionJob {
    pub(super) id: u64,
    pub(super) log_instance: u64,
    pub(super) generation: u64,
    pub(super) dir: PathBuf,
    pub(super) now_ms: i64,
    pub(super) delete_retention_ms: i64,
    pub(super) index_interval_bytes: usize,
    /// The cleanable segments, oldest first.
    pub(super) segments: Vec<SegmentSnapshot>,
    /// Index in `segments` of the first dirty segment (`segments.len()` if none).
    pub(super) first_dirty: usize,
    /// Base offsets of the last batch of every idempotent producer.
    pub(super) producer_last_batches: HashSet<i64>,
    pub(super) max_map_keys: usize,
}

impl CompactionJob {
    /// The partition directory the job works in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Number of segments the job may rewrite.
    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }

    /// Bytes of the dirty (never compacted) segments the job reads into its offset map.
    pub fn dirty_bytes(&self) -> u64 {
        self.segments[self.first_dirty..]
            .iter()
            .map(|s| s.size)
            .sum()
    }

    /// True if tombstones in `segment` may be dropped by this job.
    pub(super) fn tombstones_expired(&self, segment: &SegmentSnapshot) -> bool {
        segment
            .cleaned
            .is_some_and(|c| c.tombstones_expired(self.now_ms, self.delete_retention_ms))
    }
}

impl PartitionLog {
    /// Step 1 of compaction (see [`CompactionJob`]): `Some` job if compaction is enabled
    /// (`cleanup_compact`) and due at `now_ms`, else `None`. Cheap: it looks at in-memory
    /// state only, so call it under the partition lock as often as you like.
    ///
    /// Due means: there are cleanable segments (sealed, and, with `min_compaction_lag_ms >
    /// 0`, whose newest record is at least that old), and either the never-compacted ones
    /// are at least `min_cleanable_dirty_ratio` of the cleanable bytes (and not empty), or a
    /// compacted segment holds tombstones whose `delete_retention_ms` has passed. No job is
    /// handed out for [`COMPACTION_RETRY_BACKOFF_MS`] after
    /// [`compaction_failed`](Self::compaction_failed).
    pub fn compaction_job(&self, now_ms: i64) -> Option<CompactionJob> {
        let config = &self.config;
        if !config.cleanup_compact || now_ms < self.compaction.retry_after_ms {
            return None;
        }
        let sealed = &self.segments[..self.segments.len() - 1];
        let lag_cutoff = (config.min_compaction_lag_ms > 0)
            .then(|| now_ms.saturating_sub(config.min_compaction_lag_ms));
        let cleanable = sealed
            .iter()
            .take_while(|s| lag_cutoff.is_none_or(|cut| s.retention_timestamp() <= cut))
            .count();
        if cleanable == 0 {
            return None;
        }
        let checkpoint = &self.compaction.checkpoint;
        let candidates = &self.segments[..cleanable];
        // Clean: below the first dirty offset and recorded as cleaned. A segment without a
        // record (the checkpoint was lost or predates it) makes it and all after it dirty.
        let first_dirty = candidates
            .iter()
            .position(|s| {
                s.base_offset() >= checkpoint.first_dirty_offset
                    || !checkpoint.segments.contains_key(&s.base_offset())
            })
            .unwrap_or(cleanable);
        let total: u64 = candidates.iter().map(|s| s.size()).sum();
        let dirty: u64 = candidates[first_dirty..].iter().map(|s| s.size()).sum();
        // Lossy casts are fine for a ratio.
        let dirty_due =
            dirty > 0 && dirty as f64 >= config.min_cleanable_dirty_ratio * total as f64;
        let tombstones_due = candidates[..first_dirty].iter().any(|s| {
            checkpoint.segments.get(&s.base_offset()).is_some_and(|c| {
                c.pending_tombstones > 0 && c.tombstones_expired(now_ms, config.delete_retention_ms)
            })
        });
        if !(dirty_due || tombstones_due) {
            return None;
        }
        let segments = self.segments[..=cleanable]
            .windows(2)
            .map(|w| SegmentSnapshot {
                base_offset: w[0].base_offset(),
                size: w[0].size(),
                following_base: w[1].base_offset(),
                cleaned: checkpoint.segments.get(&w[0].base_offset()).copied(),
            })
            .collect();
        Some(CompactionJob {
            id: next_id(),
            log_instance: self.compaction.instance,
            generation: self.compaction.generation,
            dir: self.dir.clone(),
            now_ms,
            delete_retention_ms: config.delete_retention_ms,
            index_interval_bytes: config.index_interval_bytes,
            segments,
            first_dirty,
            producer_last_batches: self.producers.last_batch_offsets().collect(),
            max_map_keys: MAX_OFFSET_MAP_KEYS,
        })
    }

    /// Tells the log that a job from [`compaction_job`](Self::compaction_job) failed to
    /// run; no job is handed out for [`COMPACTION_RETRY_BACKOFF_MS`] after `now_ms`, so a
    /// persistent failure (a corrupt batch in a sealed segment, say) is retried once a
    /// minute rather than on every maintenance pass.
    pub fn compaction_failed(&mut self, now_ms: i64) {
        self.compaction.retry_after_ms = now_ms.saturating_add(COMPACTION_RETRY_BACKOFF_MS);
    }
}
