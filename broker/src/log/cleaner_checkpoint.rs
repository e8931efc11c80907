//! The cleaner checkpoint and the log's compaction bookkeeping: how far the log has been compacted, and when each segment was
//! first compacted (which starts the clock of its tombstones).
//!
//! Kept in memory by the log and persisted in `cleaner.checkpoint` (written through a
//! temporary file and a rename) after every install. Text, so it can be read by eye:
//!
//! ```text
//! fjord-cleaner-checkpoint 1
//! first-dirty-offset 5120
//! segment 0 1700000000000 3
//! segment 2048 1700000000000 0
//! ```
//!
//! A `segment` line is `base_offset cleaned_at_ms pending_tombstones`; pending tombstones are
//! those kept because their delete retention had not passed when the segment was last
//! cleaned, so the next job knows when dropping them is due. A missing or damaged file means
//! "never compacted": the next job cleans everything and tombstone clocks start again, which
//! only keeps tombstones longer. Likewise a segment without a line is dirty, whatever the
//! first dirty offset says.

use std::collections::BTreeMap;
use std::io::ErrorKind;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::log::error::LogError;
use crate::log::fsio::{sync_dir, write_file_atomically};

/// Name of the checkpoint file in the partition directory.
pub const CLEANER_CHECKPOINT_FILE: &str = "cleaner.checkpoint";

const HEADER: &str = "fjord-cleaner-checkpoint 1";

/// Cleaning history of one segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentCleaning {
    /// When the segment was first compacted (ms since the epoch).
    pub cleaned_at_ms: i64,
    /// Tombstones kept at the last cleaning because their delete retention had not passed.
    pub pending_tombstones: u64,
}

impl SegmentCleaning {
    /// True once tombstones of this segment may be dropped at `now_ms`.
    pub fn tombstones_expired(&self, now_ms: i64, delete_retention_ms: i64) -> bool {
        now_ms >= self.cleaned_at_ms.saturating_add(delete_retention_ms)
    }
}

/// The persisted compaction progress of one partition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CleanerCheckpoint {
    /// Offsets below this were compacted by the last job (0: never compacted). A segment
    /// counts as clean only if it lies below this offset and has an entry in `segments`.
    pub first_dirty_offset: i64,
    /// Segments compacted at least once, by base offset.
    pub segments: BTreeMap<i64, SegmentCleaning>,
}

impl CleanerCheckpoint {
    /// Reads the checkpoint of the log in `dir`; an empty one if the file is absent or
    /// damaged (with a warning).
    ///
    /// # Errors
    /// [`LogError::Io`] if the file exists but cannot be read.
    pub fn read(dir: &Path) -> Result<CleanerCheckpoint, LogError> {
        let path = dir.join(CLEANER_CHECKPOINT_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(decode(&text).unwrap_or_else(|| {
                tracing::warn!(
                    path = %path.display(),
                    "ignoring damaged cleaner checkpoint; the next compaction cleans everything"
                );
                CleanerCheckpoint::default()
            })),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(CleanerCheckpoint::default()),
            Err(e) if e.kind() == ErrorKind::InvalidData => Ok(CleanerCheckpoint::default()),
            Err(e) => Err(LogError::io(&path, e)),
        }
    }

    /// Writes the checkpoint durably (temporary file, fsync, rename, directory fsync).
    ///
    /// # Errors
    /// [`LogError::Io`] if the file cannot be written.
    pub fn write(&self, dir: &Path) -> Result<(), LogError> {
        write_file_atomically(&dir.join(CLEANER_CHECKPOINT_FILE), self.encode().as_bytes())?;
        sync_dir(dir)
    }

    fn encode(&self) -> String {
        let mut out = format!("{HEADER}\nfirst-dirty-offset {}\n", self.first_dirty_offset);
        for (base, s) in &self.segments {
            out.push_str(&format!(
                "segment {base} {} {}\n",
                s.cleaned_at_ms, s.pending_tombstones
            ));
        }
        out
    }
}

fn decode(text: &str) -> Option<CleanerCheckpoint> {
    let mut lines = text.lines();
    if lines.next()? != HEADER {
        return None;
    }
    let first_dirty_offset = lines
        .next()?
        .strip_prefix("first-dirty-offset ")?
        .parse()
        .ok()?;
    let mut segments = BTreeMap::new();
    for line in lines {
        let mut fields = line.strip_prefix("segment ")?.split(' ');
        let base = fields.next()?.parse().ok()?;
        let cleaned_at_ms = fields.next()?.parse().ok()?;
        let pending_tombstones = fields.next()?.parse().ok()?;
        if fields.next().is_some() {
            return None;
        }
        segments.insert(
            base,
            SegmentCleaning {
                cleaned_at_ms,
                pending_tombstones,
            },
        );
    }
    Some(CleanerCheckpoint {
        first_dirty_offset,
        segments,
    })
}

/// Source of compaction job and log instance ids, unique within the process.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A new id, unique within the process.
pub(crate) fn next_id() -> u64 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

/// Compaction bookkeeping of one open [`PartitionLog`](super::PartitionLog). It lives here,
/// below both the partition and `compaction/`, so neither has to import the other's state.
#[derive(Debug)]
pub(crate) struct CompactionState {
    /// The cleaner checkpoint as last written (or read at open).
    pub checkpoint: CleanerCheckpoint,
    /// Identifies this open log, so output of a job for another instance is never installed.
    pub instance: u64,
    /// Bumped by every install attempt; a job prepared before it is stale.
    pub generation: u64,
    /// No job is handed out before this time (set after a failed run).
    pub retry_after_ms: i64,
}

impl CompactionState {
    /// Fresh state for a log just opened with this checkpoint.
    pub fn new(checkpoint: CleanerCheckpoint) -> Self {
        CompactionState {
            checkpoint,
            instance: next_id(),
            generation: 0,
            retry_after_ms: i64::MIN,
        }
    }
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)] // Tests may panic on failure.
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_tolerates_damage() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            CleanerCheckpoint::read(dir.path()).unwrap(),
            CleanerCheckpoint::default()
        );
        let mut c = CleanerCheckpoint {
            first_dirty_offset: 5120,
            ..CleanerCheckpoint::default()
        };
        c.segments.insert(
            0,
            SegmentCleaning {
                cleaned_at_ms: 17,
                pending_tombstones: 3,
            },
        );
        c.segments.insert(
            2048,
            SegmentCleaning {
                cleaned_at_ms: -1,
                pending_tombstones: 0,
            },
        );
        c.write(dir.path()).unwrap();
        assert_eq!(CleanerCheckpoint::read(dir.path()).unwrap(), c);
        let path = dir.path().join(CLEANER_CHECKPOINT_FILE);
        for junk in [
            "",
            "fjord-cleaner-checkpoint 2\nfirst-dirty-offset 1\n",
            "fjord-cleaner-checkpoint 1\nfirst-dirty-offset x\n",
            "fjord-cleaner-checkpoint 1\nfirst-dirty-offset 1\nsegment 1 2\n",
            "fjord-cleaner-checkpoint 1\nfirst-dirty-offset 1\nsegment 1 2 3 4\n",
        ] {
            std::fs::write(&path, junk).unwrap();
            assert_eq!(
                CleanerCheckpoint::read(dir.path()).unwrap(),
                CleanerCheckpoint::default(),
                "{junk:?}"
            );
        }
        std::fs::write(&path, [0xff, 0xfe]).unwrap();
        assert_eq!(
            CleanerCheckpoint::read(dir.path()).unwrap(),
            CleanerCheckpoint::default()
        );
    }

    #[test]
    fn tombstone_clock() {
        let s = SegmentCleaning {
            cleaned_at_ms: 1_000,
            pending_tombstones: 1,
        };
        assert!(!s.tombstones_expired(1_999, 1_000));
        assert!(s.tombstones_expired(2_000, 1_000));
        assert!(s.tombstones_expired(i64::MAX, i64::MAX));
    }
}
