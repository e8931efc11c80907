//! Opening a partition log: finding its segments, recovering after a crash, and the small
//! files beside the segments (clean-shutdown marker, log start checkpoint, producer snapshot).
//!
//! See the [module docs](super) for the rules; in short: the last segment is always scanned
//! batch by batch with CRC checks and cut at the first bad batch; earlier segments trust their
//! index files only after a clean shutdown; producer state comes from the snapshot written at
//! clean shutdown or else from the batch headers.

use std::io::ErrorKind;
use std::path::Path;

use super::batch::BatchHeader;
use super::cleaner_checkpoint::{CleanerCheckpoint, CompactionState};
use super::compaction::CLEANED_SUFFIX;
use super::config::LogConfig;
use super::error::{IoContext, LogError};
use super::fsio::{sync_dir, write_file_atomically};
use super::index::remove_if_exists;
use super::partition::PartitionLog;
use super::producer_state::ProducerStateManager;
use super::segment::Segment;

pub(super) use super::partition::CLEAN_SHUTDOWN_FILE;
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
            clean_marker: false,
            compaction: CompactionState::new(CleanerCheckpoint::read(dir)?),
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
    /// next open can trust the index files. Same as [`shutdown`](Self::shutdown), consuming
    /// the log.
    ///
    /// # Errors
    /// [`LogError::Io`] if a flush or write fails; the log is then opened as after a crash.
    pub fn close(mut self) -> Result<(), LogError> {
        self.shutdown()
    }

    /// [`close`](Self::close) for a log the caller cannot move out of its mutex: flushes,
    /// writes the producer snapshot and the clean-shutdown marker, and leaves the log usable.
    /// Any later change (append, roll, retention, DeleteRecords) removes the marker again
    /// first, so the marker is only ever present while the files match it.
    ///
    /// # Errors
    /// [`LogError::Io`] if a flush or write fails; the log is then opened as after a crash.
    pub fn shutdown(&mut self) -> Result<(), LogError> {
        self.active_mut().seal()?;
        self.flush()?;
        let end = self.log_end_offset();
        self.producers
            .write_snapshot(&self.dir.join(PRODUCER_SNAPSHOT_FILE), end)?;
        write_file_atomically(&self.dir.join(CLEAN_SHUTDOWN_FILE), b"")?;
        sync_dir(&self.dir)?;
        self.clean_marker = true;
        Ok(())
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
/// interrupted deletion), temporary files and compaction copies never installed are removed.
fn list_segments(dir: &Path) -> Result<Vec<i64>, LogError> {
    let mut logs = Vec::new();
    let mut indexes = Vec::new();
    for entry in std::fs::read_dir(dir).at(dir)? {
        let entry = entry.at(dir)?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.ends_with(".tmp") || name.ends_with(CLEANED_SUFFIX) {
            // An interrupted atomic write, or the copy of a compaction that was never
            // installed (the original segment is intact).
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

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)] // Tests may panic on failure.
mod tests {
    use super::*;
    use crate::log::segment::file_name;
    use crate::log::testutil::{append_spec, append_values, consume_all, BatchSpec, NOW};
    use crate::log::LogError;
    use std::path::PathBuf;

    fn config() -> LogConfig {
        LogConfig {
            segment_bytes: 800,
            index_interval_bytes: 120,
            ..LogConfig::default()
        }
    }

    /// 30 batches of 2 records with timestamps 1000 + 10 * offset.
    fn filled(dir: &Path) -> PartitionLog {
        let mut log = PartitionLog::open(dir, config(), NOW).unwrap();
        for b in 0..30 {
            append_spec(&mut log, &BatchSpec::sized(2, 30, 1_000 + 20 * b, 10), NOW).unwrap();
        }
        assert!(log.segment_count() >= 3);
        log
    }

    fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
        let mut v: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == ext))
            .collect();
        v.sort();
        v
    }

    fn last_log(dir: &Path) -> PathBuf {
        files(dir, "log").pop().unwrap()
    }

    /// Disk bytes the file holds past the 4 KiB blocks its length needs.
    fn reserved_past_end(path: &Path) -> u64 {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(path).unwrap();
        (m.blocks() * 512).saturating_sub(m.len().div_ceil(4096) * 4096)
    }

    #[test]
    fn space_reserved_ahead_of_writes_is_given_back_on_roll_shutdown_and_recovery() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = PartitionLog::open(dir.path(), config(), NOW).unwrap();
        append_values(&mut log, &[b"first"]);
        let active = last_log(dir.path());
        assert_eq!(
            std::fs::metadata(&active).unwrap().len(),
            log.size_bytes(),
            "the reservation does not change the file's length"
        );
        // File systems without fallocate (tmpfs does have it) write without a reservation.
        let reserving = reserved_past_end(&active) > 0;

        // A roll gives back what the sealed segment did not use.
        while log.segment_count() < 2 {
            append_values(&mut log, &[b"more"]);
        }
        let logs = files(dir.path(), "log");
        assert_eq!(
            reserved_past_end(&logs[0]),
            0,
            "sealed segment keeps no spare space"
        );
        assert_eq!(reserved_past_end(&logs[1]) > 0, reserving);

        // A crash leaves the reservation behind; opening the log again gives it back.
        let end = log.log_end_offset();
        drop(log);
        let mut log = PartitionLog::open(dir.path(), config(), NOW).unwrap();
        assert_eq!(log.log_end_offset(), end);
        assert_eq!(reserved_past_end(&last_log(dir.path())), 0);

        // So does a clean shutdown, and the log stays usable after it.
        append_values(&mut log, &[b"after"]);
        log.shutdown().unwrap();
        assert_eq!(reserved_past_end(&last_log(dir.path())), 0);
        append_values(&mut log, &[b"again"]);
        let values: Vec<Vec<u8>> = consume_all(&log, 1 << 20)
            .into_iter()
            .map(|(_, v)| v)
            .collect();
        assert_eq!(values.first().map(Vec::as_slice), Some(&b"first"[..]));
        assert_eq!(values.last().map(Vec::as_slice), Some(&b"again"[..]));
        assert_eq!(values.len() as i64, end + 2);
    }

    fn append_to_file(path: &Path, bytes: &[u8]) {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
        f.write_all(bytes).unwrap();
    }

    #[test]
    fn garbage_after_a_crash_is_truncated() {
        let dir = tempfile::tempdir().unwrap();
        let log = filled(dir.path());
        let before = consume_all(&log, 1 << 20);
        drop(log); // a crash: no close()
        let path = last_log(dir.path());
        let len = std::fs::metadata(&path).unwrap().len();
        append_to_file(&path, &[0xAB; 100]);
        let mut log = PartitionLog::open(dir.path(), config(), NOW).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), len);
        assert_eq!(log.log_end_offset(), 60);
        assert_eq!(consume_all(&log, 1 << 20), before);
        assert_eq!(append_values(&mut log, &[b"after"]).base_offset, 60);
        log.close().unwrap();
        let log = PartitionLog::open(dir.path(), config(), NOW).unwrap();
        assert_eq!(log.log_end_offset(), 61);
    }

    #[test]
    fn a_half_written_last_batch_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = PartitionLog::open(dir.path(), config(), NOW).unwrap();
        append_values(&mut log, &[b"one", b"two"]);
        let size = log.size_bytes();
        append_values(&mut log, &[b"three-three-three", b"four"]);
        let full = log.size_bytes();
        drop(log);
        let path = last_log(dir.path());
        let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        f.set_len(size + (full - size) / 2).unwrap();
        let mut log = PartitionLog::open(dir.path(), config(), NOW).unwrap();
        assert_eq!(log.log_end_offset(), 2);
        assert_eq!(log.size_bytes(), size);
        assert_eq!(append_values(&mut log, &[b"again"]).base_offset, 2);
        let values: Vec<_> = consume_all(&log, 1 << 20)
            .into_iter()
            .map(|(_, v)| v)
            .collect();
        assert_eq!(
            values,
            vec![b"one".to_vec(), b"two".to_vec(), b"again".to_vec()]
        );
    }

    #[test]
    fn a_corrupt_crc_in_the_tail_truncates_from_that_batch() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = PartitionLog::open(dir.path(), LogConfig::default(), NOW).unwrap();
        for _ in 0..3 {
            append_values(&mut log, &[b"abc"]);
        }
        let one = log.size_bytes() / 3;
        log.close().unwrap();
        let path = last_log(dir.path());
        let mut bytes = std::fs::read(&path).unwrap();
        let at = (one + one / 2) as usize;
        bytes[at] ^= 0xFF;
        std::fs::write(&path, &bytes).unwrap();
        let log = PartitionLog::open(dir.path(), LogConfig::default(), NOW).unwrap();
        assert_eq!(log.log_end_offset(), 1);
        assert_eq!(log.size_bytes(), one);
    }

    #[test]
    fn missing_index_files_are_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let log = filled(dir.path());
        let before = consume_all(&log, 1 << 20);
        let ts = log.offset_for_timestamp(1_255).unwrap();
        assert_eq!(ts, Some((26, 1_260)));
        log.close().unwrap();
        for path in files(dir.path(), "index")
            .into_iter()
            .chain(files(dir.path(), "timeindex"))
        {
            std::fs::remove_file(path).unwrap();
        }
        let log = PartitionLog::open(dir.path(), config(), NOW).unwrap();
        assert_eq!(consume_all(&log, 1), before);
        assert_eq!(log.offset_for_timestamp(1_255).unwrap(), ts);
        assert_eq!(log.max_timestamp().unwrap(), Some((59, 1_590)));
        log.close().unwrap();
        assert_eq!(
            files(dir.path(), "index").len(),
            files(dir.path(), "log").len()
        );
        assert_eq!(
            files(dir.path(), "timeindex").len(),
            files(dir.path(), "log").len()
        );
    }

    #[test]
    fn clean_and_crash_reopen_agree() {
        let dir = tempfile::tempdir().unwrap();
        let log = filled(dir.path());
        let before = consume_all(&log, 1 << 20);
        let live: Vec<_> = log.segments.iter().map(Segment::index_entries).collect();
        log.close().unwrap();
        assert!(dir.path().join(CLEAN_SHUTDOWN_FILE).exists());
        let clean = PartitionLog::open(dir.path(), config(), NOW).unwrap();
        assert!(!dir.path().join(CLEAN_SHUTDOWN_FILE).exists());
        assert_eq!(consume_all(&clean, 1 << 20), before);
        let loaded: Vec<_> = clean.segments.iter().map(Segment::index_entries).collect();
        drop(clean);
        // No marker now: everything is rebuilt from the log and must come out the same
        // (sealed segments carry one final time index entry the live active one lacks).
        let rebuilt = PartitionLog::open(dir.path(), config(), NOW).unwrap();
        assert_eq!(consume_all(&rebuilt, 1 << 20), before);
        let from_scan: Vec<_> = rebuilt
            .segments
            .iter()
            .map(Segment::index_entries)
            .collect();
        let n = live.len();
        assert_eq!(loaded[..n - 1], live[..n - 1]);
        assert_eq!(from_scan[n - 1].0, live[n - 1].0);
        assert_eq!(rebuilt.max_timestamp().unwrap(), Some((59, 1_590)));
    }

    #[test]
    fn index_files_are_trusted_only_after_a_clean_shutdown() {
        let dir = tempfile::tempdir().unwrap();
        let log = filled(dir.path());
        let (entries, _) = log.segments[0].index_entries();
        let first_size = log.segments[0].size();
        assert!(entries.len() > 2);
        log.close().unwrap();
        // Break the magic byte of the second batch of the first segment. The index files
        // cover it, so a clean open does not scan it...
        let first_log = files(dir.path(), "log").remove(0);
        let mut bytes = std::fs::read(&first_log).unwrap();
        bytes[entries[1].position as usize + 16] = 9;
        std::fs::write(&first_log, &bytes).unwrap();
        let log = PartitionLog::open(dir.path(), config(), NOW).unwrap();
        assert_eq!(log.segments[0].size(), first_size);
        let offset = i64::from(entries[1].relative_offset);
        assert!(matches!(
            log.read(offset, 10),
            Err(LogError::CorruptRecord(_))
        ));
        drop(log);
        // ...but after a crash the header scan finds it and cuts the segment there.
        let log = PartitionLog::open(dir.path(), config(), NOW).unwrap();
        assert_eq!(log.segments[0].size(), u64::from(entries[1].position));
        assert_eq!(log.segments[0].next_offset(), offset);
        let bytes = log.read(offset, 10).unwrap();
        assert_eq!(
            crate::log::BatchHeader::parse(&bytes).unwrap().base_offset,
            log.segments[1].base_offset()
        );
    }

    #[test]
    fn shutdown_in_place_then_more_writes_removes_the_marker() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = filled(dir.path());
        log.shutdown().unwrap();
        assert!(dir.path().join(CLEAN_SHUTDOWN_FILE).exists());
        append_values(&mut log, &[b"late"]);
        assert!(!dir.path().join(CLEAN_SHUTDOWN_FILE).exists());
        log.shutdown().unwrap();
        drop(log);
        let log = PartitionLog::open(dir.path(), config(), NOW).unwrap();
        assert_eq!(log.log_end_offset(), 61);
        assert_eq!(consume_all(&log, 1 << 20).len(), 61);
    }

    #[test]
    fn a_damaged_index_file_is_not_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let log = filled(dir.path());
        let before = consume_all(&log, 1 << 20);
        log.close().unwrap();
        let first_index = files(dir.path(), "index").remove(0);
        std::fs::write(&first_index, [0xFF; 16]).unwrap();
        let log = PartitionLog::open(dir.path(), config(), NOW).unwrap();
        assert_eq!(consume_all(&log, 1), before);
    }

    #[test]
    fn producer_state_survives_crash_and_clean_restart() {
        for clean in [false, true] {
            for drop_snapshot in [false, true] {
                let dir = tempfile::tempdir().unwrap();
                let mut log = PartitionLog::open(dir.path(), config(), NOW).unwrap();
                for seq in 0..20 {
                    let spec = BatchSpec::sized(1, 50, NOW, 0).producer(5, 2, seq);
                    append_spec(&mut log, &spec, NOW).unwrap();
                }
                assert!(log.segment_count() > 1);
                if clean {
                    log.close().unwrap();
                } else {
                    drop(log);
                }
                if drop_snapshot {
                    remove_if_exists(&dir.path().join(PRODUCER_SNAPSHOT_FILE)).unwrap();
                }
                let mut log = PartitionLog::open(dir.path(), config(), NOW).unwrap();
                let retry = BatchSpec::sized(1, 50, NOW, 0).producer(5, 2, 18);
                let out = append_spec(&mut log, &retry, NOW).unwrap();
                assert!(out.duplicate, "clean={clean} drop_snapshot={drop_snapshot}");
                assert_eq!(out.base_offset, 18);
                let gap = BatchSpec::sized(1, 50, NOW, 0).producer(5, 2, 21);
                assert!(matches!(
                    append_spec(&mut log, &gap, NOW),
                    Err(LogError::OutOfOrderSequence { expected: 20, .. })
                ));
                let old = BatchSpec::sized(1, 50, NOW, 0).producer(5, 1, 20);
                assert!(matches!(
                    append_spec(&mut log, &old, NOW),
                    Err(LogError::InvalidProducerEpoch { current: 2, .. })
                ));
            }
        }
    }

    #[test]
    fn a_stale_snapshot_is_replaced_by_a_rebuild() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = PartitionLog::open(dir.path(), config(), NOW).unwrap();
        append_spec(&mut log, &BatchSpec::values(&[b"a"]).producer(9, 0, 0), NOW).unwrap();
        log.close().unwrap();
        let mut log = PartitionLog::open(dir.path(), config(), NOW).unwrap();
        append_spec(&mut log, &BatchSpec::values(&[b"b"]).producer(9, 0, 1), NOW).unwrap();
        log.close().unwrap();
        // Put back a snapshot that predates the second batch.
        let mut old = ProducerStateManager::new();
        old.replay(
            &crate::log::BatchHeader::parse(&crate::log::testutil::batch(
                &BatchSpec::values(&[b"a"]).producer(9, 0, 0),
            ))
            .unwrap(),
        );
        old.write_snapshot(&dir.path().join(PRODUCER_SNAPSHOT_FILE), 1)
            .unwrap();
        let mut log = PartitionLog::open(dir.path(), config(), NOW).unwrap();
        let retry = BatchSpec::values(&[b"b"]).producer(9, 0, 1);
        assert!(append_spec(&mut log, &retry, NOW).unwrap().duplicate);
    }

    #[test]
    fn checkpoint_and_stray_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(LOG_START_CHECKPOINT_FILE), "77\n").unwrap();
        std::fs::write(dir.path().join(file_name(5, "index")), [0u8; 8]).unwrap();
        std::fs::write(dir.path().join("x.snapshot.tmp"), b"junk").unwrap();
        let mut log = PartitionLog::open(dir.path(), config(), NOW).unwrap();
        assert_eq!(log.log_start_offset(), 77);
        assert_eq!(log.log_end_offset(), 77);
        assert!(!dir.path().join(file_name(5, "index")).exists());
        assert!(!dir.path().join("x.snapshot.tmp").exists());
        assert_eq!(append_values(&mut log, &[b"x"]).base_offset, 77);
        assert!(matches!(
            log.read(3, 10),
            Err(LogError::OffsetOutOfRange { .. })
        ));
    }
}
