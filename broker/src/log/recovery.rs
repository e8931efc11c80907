//! Opening a partition log: finding its segments, recovering after a crash, and the small
//! files beside the segments (clean-shutdown marker, log start checkpoint, producer snapshot).
//!
//! See the [module docs](super) for the rules; in short: the last segment is always scanned
//! batch by batch with CRC checks and cut at the first bad batch; earlier segments trust their
//! index files only after a clean shutdown; producer state comes from the snapshot written at
//! clean shutdown or else from the batch headers.

use std::fs::File;
use std::io::ErrorKind;
use std::path::Path;

use super::batch::BatchHeader;
use super::config::LogConfig;
use super::error::{IoContext, LogError};
use super::index::remove_if_exists;
use super::partition::PartitionLog;
use super::producer_state::{write_file_atomically, ProducerStateManager};
use super::segment::Segment;

/// Present only between a clean [`PartitionLog::close`] and the next open.
pub(super) const CLEAN_SHUTDOWN_FILE: &str = "clean-shutdown";
/// The log start offset set by `delete_records`, as a decimal number.
pub(super) const LOG_START_CHECKPOINT_FILE: &str = "log-start-offset.checkpoint";
/// Producer state at clean shutdown.
pub(super) const PRODUCER_SNAPSHOT_FILE: &str = "producer-state.snapshot";

impl PartitionLog {
    /// Opens (creating if needed) the log stored in `dir` and recovers it.
    ///
    /// - Segments are found by their `{base_offset:020}.log` names.
    /// - The last segment is scanned batch by batch, checking each CRC; the file is truncated
    ///   at the first incomplete header, impossible length, wrong magic or CRC mismatch (a torn
    ///   tail after a crash), with a warning, and its indexes are rebuilt.
    /// - Earlier segments load their index files if the previous shutdown was clean, else
    ///   (or if an index file is missing or inconsistent) rebuild them from a header scan.
    /// - Idempotent producer state comes from the clean-shutdown snapshot, or is rebuilt from
    ///   the batch headers.
    /// - The log start offset is the larger of the checkpoint and the first segment's base.
    ///
    /// The clean-shutdown marker is removed, so a crash before the next
    /// [`close`](Self::close) is detected.
    ///
    /// # Errors
    /// [`LogError::Io`] if the directory or a file cannot be created, read or truncated.
    pub fn open(dir: &Path, config: LogConfig, now_ms: i64) -> Result<PartitionLog, LogError> {
        std::fs::create_dir_all(dir).at(dir)?;
        let marker = dir.join(CLEAN_SHUTDOWN_FILE);
        let clean = marker.exists();
        let bases = list_segments(dir)?;
        let snapshot_path = dir.join(PRODUCER_SNAPSHOT_FILE);
        let snapshot = if clean {
            ProducerStateManager::read_snapshot(&snapshot_path)?
        } else {
            None
        };
        let replay = snapshot.is_none();
        let interval = config.index_interval_bytes;
        let mut producers = ProducerStateManager::new();
        let mut segments = Vec::with_capacity(bases.len().max(1));
        for (i, &base) in bases.iter().enumerate() {
            let mut visit = |h: &BatchHeader| {
                if replay {
                    producers.replay(h);
                }
            };
            let segment = if i + 1 == bases.len() {
                Segment::recover(dir, base, true, interval, now_ms, &mut visit)?
            } else if clean {
                match Segment::open_indexed(dir, base, interval, now_ms)? {
                    Some(segment) => {
                        if replay {
                            replay_headers(&segment, &mut visit);
                        }
                        segment
                    }
                    None => {
                        tracing::info!(
                            dir = %dir.display(),
                            base_offset = base,
                            "index files missing or inconsistent; rebuilding them"
                        );
                        Segment::recover(dir, base, false, interval, now_ms, &mut visit)?
                    }
                }
            } else {
                Segment::recover(dir, base, false, interval, now_ms, &mut visit)?
            };
            segments.push(segment);
        }
        if !clean && !bases.is_empty() {
            tracing::info!(
                dir = %dir.display(),
                segments = bases.len(),
                "no clean shutdown marker; rebuilt indexes and producer state from the log"
            );
        }

        let checkpoint = read_checkpoint(dir)?;
        if segments.is_empty() {
            segments.push(Segment::create(
                dir,
                checkpoint.unwrap_or(0).max(0),
                now_ms,
            )?);
        }
        let mut log = PartitionLog {
            dir: dir.to_path_buf(),
            config,
            segments,
            log_start_offset: 0,
            producers,
            unflushed_records: 0,
            first_unflushed_ms: None,
            clock_ms: now_ms,
            dir_unsynced: false,
        };
        log.log_start_offset = checkpoint
            .unwrap_or(i64::MIN)
            .max(log.segments[0].base_offset());
        if log.log_start_offset > log.log_end_offset() {
            log.restart_empty_at(log.log_start_offset, now_ms)?;
        }
        if let Some((end_offset, state)) = snapshot {
            if end_offset == log.log_end_offset() {
                log.producers = state;
            } else {
                tracing::warn!(
                    dir = %dir.display(),
                    snapshot_end_offset = end_offset,
                    log_end_offset = log.log_end_offset(),
                    "producer snapshot does not match the log; rebuilding producer state"
                );
                let mut producers = ProducerStateManager::new();
                for segment in &log.segments {
                    replay_headers(segment, &mut |h| producers.replay(h));
                }
                log.producers = producers;
            }
        }
        log.delete_segments_below_start()?;

        remove_if_exists(&marker)?;
        sync_dir(dir)?;
        Ok(log)
    }

    /// Flushes everything, writes the producer snapshot and the clean-shutdown marker, so the
    /// next open can trust the index files.
    ///
    /// # Errors
    /// [`LogError::Io`] if a flush or write fails; the log is then opened as after a crash.
    pub fn close(mut self) -> Result<(), LogError> {
        self.active_mut().seal()?;
        self.flush()?;
        let end = self.log_end_offset();
        self.producers
            .write_snapshot(&self.dir.join(PRODUCER_SNAPSHOT_FILE), end)?;
        write_file_atomically(&self.dir.join(CLEAN_SHUTDOWN_FILE), b"")?;
        sync_dir(&self.dir)
    }

    /// Drops every segment and starts an empty one at `offset` (the checkpointed log start
    /// is beyond the recovered data, e.g. a crash lost the tail it referred to).
    fn restart_empty_at(&mut self, offset: i64, now_ms: i64) -> Result<(), LogError> {
        tracing::warn!(
            dir = %self.dir.display(),
            log_start_offset = offset,
            log_end_offset = self.log_end_offset(),
            "log start offset checkpoint is past the end of the log; starting empty at it"
        );
        let old = std::mem::take(&mut self.segments);
        for segment in old {
            segment.delete()?;
        }
        self.segments
            .push(Segment::create(&self.dir, offset, now_ms)?);
        self.producers = ProducerStateManager::new();
        Ok(())
    }
}

/// Replays a segment's headers into producer state; a bad header only costs the state of
/// producers whose batches lie behind it, so it is logged, not fatal.
fn replay_headers(segment: &Segment, visit: &mut dyn FnMut(&BatchHeader)) {
    if let Err(e) = segment.for_each_header(visit) {
        tracing::warn!(error = %e, "cannot rebuild producer state from a segment");
    }
}

/// Base offsets of the segments in `dir`, sorted. Index files without a `.log` (left by an
/// interrupted deletion) and temporary files are removed.
fn list_segments(dir: &Path) -> Result<Vec<i64>, LogError> {
    let mut logs = Vec::new();
    let mut indexes = Vec::new();
    for entry in std::fs::read_dir(dir).at(dir)? {
        let entry = entry.at(dir)?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.ends_with(".tmp") {
            remove_if_exists(&entry.path())?;
            continue;
        }
        let Some((stem, ext)) = name.split_once('.') else {
            continue;
        };
        if stem.len() != 20 || !stem.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(base) = stem.parse::<i64>() else {
            continue;
        };
        match ext {
            "log" => logs.push(base),
            "index" | "timeindex" => indexes.push((base, entry.path())),
            _ => {}
        }
    }
    logs.sort_unstable();
    for (base, path) in indexes {
        if logs.binary_search(&base).is_err() {
            remove_if_exists(&path)?;
        }
    }
    Ok(logs)
}

/// The checkpointed log start offset, if any. A damaged checkpoint is ignored with a warning.
fn read_checkpoint(dir: &Path) -> Result<Option<i64>, LogError> {
    let path = dir.join(LOG_START_CHECKPOINT_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => match text.trim().parse::<i64>() {
            Ok(offset) => Ok(Some(offset)),
            Err(_) => {
                tracing::warn!(path = %path.display(), "ignoring unreadable log start checkpoint");
                Ok(None)
            }
        },
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(LogError::io(&path, e)),
    }
}

/// Durably records the log start offset.
pub(super) fn write_checkpoint(dir: &Path, offset: i64) -> Result<(), LogError> {
    write_file_atomically(
        &dir.join(LOG_START_CHECKPOINT_FILE),
        format!("{offset}\n").as_bytes(),
    )?;
    sync_dir(dir)
}

/// Fsyncs a directory so created, renamed and removed entries are durable.
pub(super) fn sync_dir(dir: &Path) -> Result<(), LogError> {
    File::open(dir).and_then(|d| d.sync_all()).at(dir)
}
