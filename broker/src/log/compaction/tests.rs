//! Compaction end to end on real partition logs: what is kept, when tombstones go, what is
//! never touched, reads and look-ups across the gaps, reopening (clean, crash, interrupted
//! jobs and installs), and jobs racing appends and retention.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::log::batch::{verify_crc, write_crc, BatchIter};
use crate::log::compression::Compression;
use crate::log::index::OffsetIndex;
use crate::log::record::{decode_records, RecordIter};
use crate::log::segment::file_name;
use crate::log::testutil::{append_spec, batch, BatchSpec, NOW};
use crate::log::{
    AppendOutcome, CompactionStats, InstallOutcome, LogConfig, LogError, PartitionLog,
};

const HOUR: i64 = 60 * 60 * 1000;

fn config() -> LogConfig {
    LogConfig {
        segment_bytes: 600,
        index_interval_bytes: 100,
        cleanup_compact: true,
        cleanup_delete: false,
        delete_retention_ms: HOUR,
        ..LogConfig::default()
    }
}

/// One stored record as a consumer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Rec {
    offset: i64,
    key: String,
    value: Option<String>,
    ts: i64,
}

/// Appends one uncompressed batch holding one record with this key and value at `ts`.
fn put(log: &mut PartitionLog, key: &str, value: Option<&str>, ts: i64) -> AppendOutcome {
    let mut spec = BatchSpec::keyed(&[(key, value)]);
    spec.base_timestamp = ts;
    append_spec(log, &spec, NOW).unwrap()
}

/// `rounds` rounds writing keys k0..k{keys} with values `v{round}`.
fn fill(log: &mut PartitionLog, rounds: usize, keys: usize, ts: i64) {
    for round in 0..rounds {
        for k in 0..keys {
            put(log, &format!("k{k}"), Some(&format!("v{round}")), ts);
        }
    }
}

/// Every record from `from` on, fetched like a consumer does (each fetch must make
/// progress), with every CRC checked.
fn contents_from(log: &PartitionLog, from: i64) -> Vec<Rec> {
    let mut out = Vec::new();
    let mut offset = from;
    while offset < log.log_end_offset() {
        let bytes = log.read(offset, 300).unwrap();
        assert!(!bytes.is_empty(), "empty fetch at {offset}");
        let mut next = offset;
        for b in BatchIter::new(&bytes) {
            let b = b.unwrap();
            verify_crc(&b.header, b.bytes).unwrap();
            let data = decode_records(&b, 1 << 26).unwrap();
            for r in RecordIter::new(&data, b.header.records_count) {
                let r = r.unwrap();
                if r.offset(&b.header) >= offset {
                    out.push(Rec {
                        offset: r.offset(&b.header),
                        key: String::from_utf8(r.key.unwrap().to_vec()).unwrap(),
                        value: r.value.map(|v| String::from_utf8(v.to_vec()).unwrap()),
                        ts: r.timestamp(&b.header),
                    });
                }
            }
            next = next.max(b.header.next_offset());
        }
        assert!(next > offset, "no progress at {offset}");
        offset = next;
    }
    out
}

fn contents(log: &PartitionLog) -> Vec<Rec> {
    contents_from(log, log.log_start_offset())
}

/// The latest record of every key.
fn latest(records: &[Rec]) -> BTreeMap<String, Rec> {
    records.iter().map(|r| (r.key.clone(), r.clone())).collect()
}

/// The latest record of every key, tombstones left out.
fn live(records: &[Rec]) -> BTreeMap<String, Rec> {
    let mut m = latest(records);
    m.retain(|_, r| r.value.is_some());
    m
}

fn compact(log: &mut PartitionLog, now: i64) -> CompactionStats {
    let job = log.compaction_job(now).expect("compaction should be due");
    let output = job.run().unwrap();
    match log.install_compaction(output).unwrap() {
        InstallOutcome::Installed(stats) => stats,
        other => panic!("not installed: {other:?}"),
    }
}

fn files_ending(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_str().unwrap().ends_with(suffix))
        .collect();
    v.sort();
    v
}

/// Base offset and next offset of every segment.
fn ranges(log: &PartitionLog) -> Vec<(i64, i64)> {
    log.segments
        .iter()
        .map(|s| (s.base_offset(), s.next_offset()))
        .collect()
}

#[test]
fn keeps_the_latest_record_per_key() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = PartitionLog::open(dir.path(), config(), NOW).unwrap();
    fill(&mut log, 6, 5, NOW);
    assert!(log.segment_count() >= 4);
    let before = contents(&log);
    let (start, end, size) = (
        log.log_start_offset(),
        log.log_end_offset(),
        log.size_bytes(),
    );
    let active_base = log.active().base_offset();
    let segment_ranges = ranges(&log);

    let stats = compact(&mut log, NOW);
    assert_eq!(stats.segments_cleaned, log.segment_count() - 1);
    assert!(stats.records_removed > 0 && stats.bytes_after < stats.bytes_before);
    let after = contents(&log);
    assert_eq!(latest(&after), latest(&before));
    assert_eq!((log.log_start_offset(), log.log_end_offset()), (start, end));
    assert!(log.size_bytes() < size);
    assert_eq!(
        ranges(&log),
        segment_ranges,
        "segments keep their offset ranges"
    );
    // Below the active segment every key appears once; the active segment is as it was.
    let cleaned: Vec<_> = after.iter().filter(|r| r.offset < active_base).collect();
    let keys: std::collections::BTreeSet<_> = cleaned.iter().map(|r| &r.key).collect();
    assert_eq!(keys.len(), cleaned.len(), "{cleaned:?}");
    let tail = |v: &[Rec]| -> Vec<Rec> {
        v.iter()
            .filter(|r| r.offset >= active_base)
            .cloned()
            .collect()
    };
    assert_eq!(tail(&after), tail(&before));
    assert!(files_ending(dir.path(), ".cleaned").is_empty());
    assert!(
        log.compaction_job(NOW).is_none(),
        "nothing is dirty any more"
    );
}

#[test]
fn nothing_to_do_without_compact_or_sealed_segments() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = PartitionLog::open(dir.path(), config(), NOW).unwrap();
    put(&mut log, "a", Some("1"), NOW);
    put(&mut log, "a", Some("2"), NOW);
    assert!(log.compaction_job(NOW).is_none(), "only the active segment");
    log.roll(NOW).unwrap();
    let mut delete_only = config();
    delete_only.cleanup_compact = false;
    log.set_config(delete_only);
    assert!(log.compaction_job(NOW).is_none());
    log.set_config(config());
    assert!(log.compaction_job(NOW).is_some());
}

#[test]
fn the_active_segment_is_never_touched() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = PartitionLog::open(dir.path(), config(), NOW).unwrap();
    fill(&mut log, 4, 5, NOW);
    put(&mut log, "k0", Some("active-1"), NOW);
    put(&mut log, "k0", Some("active-2"), NOW);
    let active_path = dir.path().join(crate::log::segment::file_name(
        log.active().base_offset(),
        "log",
    ));
    let active_bytes = std::fs::read(&active_path).unwrap();
    compact(&mut log, NOW);
    assert_eq!(std::fs::read(&active_path).unwrap(), active_bytes);
    let values: Vec<_> = contents(&log)
        .into_iter()
        .filter(|r| r.key == "k0")
        .map(|r| r.value.unwrap())
        .collect();
    assert_eq!(values.last().unwrap(), "active-2");
    assert!(values.contains(&"active-1".to_string()));
}

#[test]
fn tombstones_stay_for_delete_retention_then_go() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = PartitionLog::open(dir.path(), config(), NOW).unwrap();
    put(&mut log, "gone", Some("old"), NOW);
    put(&mut log, "kept", Some("v"), NOW);
    put(&mut log, "gone", None, NOW);
    put(&mut log, "other", Some("w"), NOW);
    put(&mut log, "last", None, NOW);
    log.roll(NOW).unwrap();
    let end = log.log_end_offset();

    compact(&mut log, NOW);
    let after = contents(&log);
    let gone: Vec<_> = after.iter().filter(|r| r.key == "gone").collect();
    assert_eq!(gone.len(), 1, "the old value goes, the tombstone stays");
    assert_eq!(gone[0].value, None);
    assert!(latest(&after)["last"].value.is_none());

    assert!(log.compaction_job(NOW + HOUR - 1).is_none(), "not due yet");
    let stats = compact(&mut log, NOW + HOUR);
    assert_eq!(stats.tombstones_removed, 2);
    let after = contents(&log);
    assert_eq!(
        after.iter().map(|r| r.key.as_str()).collect::<Vec<_>>(),
        ["kept", "other"]
    );
    // The last batch of the segment stays as an empty header: a consumer positioned at the
    // dropped tombstone still gets a batch that moves it to the log end.
    assert_eq!(log.log_end_offset(), end);
    assert!(contents_from(&log, end - 1).is_empty());
    assert!(
        log.compaction_job(NOW + 10 * HOUR).is_none(),
        "no pending tombstones"
    );
}

#[test]
fn min_compaction_lag_keeps_recent_segments_dirty() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config();
    config.min_compaction_lag_ms = HOUR;
    let mut log = PartitionLog::open(dir.path(), config, NOW).unwrap();
    fill(&mut log, 2, 4, NOW - 2 * HOUR);
    log.roll(NOW).unwrap();
    let boundary = log.log_end_offset();
    fill(&mut log, 2, 4, NOW);
    log.roll(NOW).unwrap();
    let before = contents(&log);

    compact(&mut log, NOW);
    let after = contents(&log);
    let recent =
        |v: &[Rec]| -> Vec<Rec> { v.iter().filter(|r| r.offset >= boundary).cloned().collect() };
    assert_eq!(
        recent(&after),
        recent(&before),
        "records younger than the lag stay"
    );
    let old: Vec<_> = after.iter().filter(|r| r.offset < boundary).collect();
    assert_eq!(old.len(), 4, "old segments were compacted among themselves");

    assert!(log.compaction_job(NOW + HOUR - 1).is_none());
    compact(&mut log, NOW + HOUR);
    let after = contents(&log);
    assert_eq!(after.len(), 4);
    assert!(after.iter().all(|r| r.offset >= boundary));
    assert_eq!(latest(&after), latest(&before));
}

#[test]
fn reads_and_time_lookups_across_the_gaps() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = PartitionLog::open(dir.path(), config(), NOW).unwrap();
    // Record i has timestamp 10_000 + 10 * i; keys repeat so most records go.
    for i in 0..40i64 {
        put(
            &mut log,
            &format!("k{}", i % 3),
            Some(&format!("v{i}")),
            10_000 + 10 * i,
        );
    }
    log.roll(NOW).unwrap();
    compact(&mut log, NOW);
    let all = contents(&log);
    assert_eq!(all.len(), 3);
    for offset in log.log_start_offset()..log.log_end_offset() {
        let expected: Vec<_> = all.iter().filter(|r| r.offset >= offset).cloned().collect();
        assert_eq!(contents_from(&log, offset), expected, "fetch from {offset}");
    }
    for ts in [0, 10_005, 10_150, 10_365, 10_370, 10_380, 10_390] {
        let expected = all.iter().find(|r| r.ts >= ts).map(|r| (r.offset, r.ts));
        assert_eq!(log.offset_for_timestamp(ts).unwrap(), expected, "ts {ts}");
    }
    assert_eq!(log.offset_for_timestamp(10_391).unwrap(), None);
    assert_eq!(log.max_timestamp().unwrap(), Some((39, 10_390)));
}

#[test]
fn empty_batches_left_behind_carry_no_timestamp() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = PartitionLog::open(dir.path(), config(), NOW).unwrap();
    put(&mut log, "k", Some("old"), 9_000);
    log.roll(NOW).unwrap();
    put(&mut log, "k", Some("new"), 1_000);
    log.roll(NOW).unwrap();
    assert_eq!(log.max_timestamp().unwrap(), Some((0, 9_000)));
    compact(&mut log, NOW);
    // Offset 0 is kept as an empty batch (the last of its segment), without its timestamp.
    assert_eq!(ranges(&log)[0], (0, 1));
    assert_eq!(log.max_timestamp().unwrap(), Some((1, 1_000)));
    assert_eq!(log.offset_for_timestamp(0).unwrap(), Some((1, 1_000)));
    log.close().unwrap();
    let log = PartitionLog::open(dir.path(), config(), NOW).unwrap();
    assert_eq!(log.max_timestamp().unwrap(), Some((1, 1_000)));
}

#[test]
fn reopen_after_compaction_clean_and_crash() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = PartitionLog::open(dir.path(), config(), NOW).unwrap();
    fill(&mut log, 5, 6, NOW);
    put(&mut log, "k1", None, NOW);
    log.roll(NOW).unwrap();
    compact(&mut log, NOW);
    let after = contents(&log);
    let segment_ranges = ranges(&log);
    let sealed = log.segment_count() - 1;
    let indexes = |log: &PartitionLog| -> Vec<_> {
        log.segments[..sealed]
            .iter()
            .map(|s| s.index_entries())
            .collect()
    };
    let built = indexes(&log);
    log.close().unwrap();
    // The index files of the copies are what a scan of the copies would build.
    for (segment, (offsets, _)) in segment_ranges.iter().zip(&built) {
        let path = dir.path().join(file_name(segment.0, "index"));
        assert_eq!(OffsetIndex::read(path).unwrap().unwrap().entries(), offsets);
    }

    let mut log = PartitionLog::open(dir.path(), config(), NOW).unwrap();
    assert_eq!(contents(&log), after);
    assert_eq!(ranges(&log), segment_ranges);
    assert_eq!(indexes(&log), built);
    assert!(log.compaction_job(NOW).is_none(), "the checkpoint survived");
    let next = put(&mut log, "k2", Some("new"), NOW).base_offset;
    drop(log); // crash

    let mut log = PartitionLog::open(dir.path(), config(), NOW).unwrap();
    assert_eq!(indexes(&log), built, "rebuilt from a scan");
    let mut expected = after.clone();
    expected.push(Rec {
        offset: next,
        key: "k2".into(),
        value: Some("new".into()),
        ts: NOW,
    });
    assert_eq!(contents(&log), expected);
    // The tombstone clock survived too: due an hour after the first compaction, not after
    // this one.
    log.roll(NOW).unwrap();
    log.set_config(LogConfig {
        min_cleanable_dirty_ratio: 0.0,
        ..config()
    });
    let stats = compact(&mut log, NOW + 1);
    assert_eq!(stats.tombstones_removed, 0);
    let stats = compact(&mut log, NOW + HOUR);
    assert_eq!(stats.tombstones_removed, 1);
}

#[test]
fn segments_the_checkpoint_does_not_know_are_dirty() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = PartitionLog::open(dir.path(), config(), NOW).unwrap();
    fill(&mut log, 4, 4, NOW);
    log.roll(NOW).unwrap();
    let sealed: u64 = log.size_bytes();
    log.close().unwrap();
    // A checkpoint that claims a first dirty offset but knows none of these segments (say,
    // the log restarted empty at a higher offset after losing its tail).
    std::fs::write(
        dir.path().join(crate::log::CLEANER_CHECKPOINT_FILE),
        "fjord-cleaner-checkpoint 1\nfirst-dirty-offset 1000000\n",
    )
    .unwrap();
    let mut log = PartitionLog::open(dir.path(), config(), NOW).unwrap();
    let job = log.compaction_job(NOW).unwrap();
    assert_eq!(job.dirty_bytes(), sealed);
    drop(job);
    compact(&mut log, NOW);
    assert_eq!(contents(&log).len(), 4);
}

#[test]
fn an_uninstalled_job_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = PartitionLog::open(dir.path(), config(), NOW).unwrap();
    fill(&mut log, 5, 4, NOW);
    let before = contents(&log);
    let output = log.compaction_job(NOW).unwrap().run().unwrap();
    assert!(!files_ending(dir.path(), ".cleaned").is_empty());
    drop(output);
    assert!(files_ending(dir.path(), ".cleaned").is_empty());

    // A crash between run and install leaves the copies: the next open deletes them.
    let output = log.compaction_job(NOW).unwrap().run().unwrap();
    std::mem::forget(output);
    assert!(!files_ending(dir.path(), ".cleaned").is_empty());
    drop(log);
    let mut log = PartitionLog::open(dir.path(), config(), NOW).unwrap();
    assert!(files_ending(dir.path(), ".cleaned").is_empty());
    assert_eq!(contents(&log), before);
    compact(&mut log, NOW);
    assert_eq!(latest(&contents(&log)), latest(&before));
}

#[test]
fn a_cancelled_job_stops_and_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = PartitionLog::open(dir.path(), config(), NOW).unwrap();
    fill(&mut log, 6, 4, NOW);
    let before = contents(&log);
    for stop_after in [1, 30] {
        let checks = std::cell::Cell::new(0);
        let cancelled = || {
            checks.set(checks.get() + 1);
            checks.get() > stop_after
        };
        let job = log.compaction_job(NOW).unwrap();
        assert!(job.run_cancellable(&cancelled).unwrap().is_none());
        assert!(files_ending(dir.path(), ".cleaned").is_empty());
    }
    assert_eq!(contents(&log), before);
    let job = log.compaction_job(NOW).unwrap();
    let output = job.run_cancellable(&|| false).unwrap().unwrap();
    assert!(matches!(
        log.install_compaction(output).unwrap(),
        InstallOutcome::Installed(_)
    ));
    assert_eq!(latest(&contents(&log)), latest(&before));
}

#[test]
fn a_crash_in_the_middle_of_an_install_leaves_a_consistent_log() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = PartitionLog::open(dir.path(), config(), NOW).unwrap();
    fill(&mut log, 6, 4, NOW);
    put(&mut log, "k3", None, NOW);
    log.roll(NOW).unwrap();
    let before = contents(&log);
    let end = log.log_end_offset();
    let output = log.compaction_job(NOW).unwrap().run().unwrap();
    let copies = files_ending(dir.path(), ".cleaned");
    assert!(copies.len() >= 2);
    // Only the oldest copy made it before the crash.
    let name = copies[0].file_name().unwrap().to_str().unwrap();
    std::fs::rename(&copies[0], dir.path().join(&name[..24])).unwrap();
    std::mem::forget(output);
    drop(log);

    let mut log = PartitionLog::open(dir.path(), config(), NOW).unwrap();
    assert!(files_ending(dir.path(), ".cleaned").is_empty());
    assert_eq!(log.log_end_offset(), end);
    let mid = contents(&log);
    assert!(mid.len() < before.len());
    assert_eq!(latest(&mid), latest(&before));
    compact(&mut log, NOW);
    assert_eq!(latest(&contents(&log)), latest(&before));
}

#[test]
fn compact_only_logs_ignore_time_and_size_retention() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config();
    config.retention_ms = HOUR;
    config.retention_bytes = 100;
    let mut log = PartitionLog::open(dir.path(), config.clone(), NOW).unwrap();
    fill(&mut log, 4, 5, NOW - 20 * HOUR);
    let segments = log.segment_count();
    assert_eq!(log.enforce_retention(NOW).unwrap(), 0);
    assert_eq!(log.segment_count(), segments);
    config.cleanup_delete = true;
    log.set_config(config);
    assert!(log.enforce_retention(NOW).unwrap() > 0);
}

#[test]
fn install_after_appends_keeps_the_new_data() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = PartitionLog::open(dir.path(), config(), NOW).unwrap();
    fill(&mut log, 4, 4, NOW);
    let job = log.compaction_job(NOW).unwrap();
    // The broker keeps appending (and rolling) while the job runs.
    fill(&mut log, 3, 6, NOW);
    let output = job.run().unwrap();
    let before = contents(&log);
    fill(&mut log, 1, 2, NOW);
    let mut expected = before;
    expected.extend(contents_from(&log, expected.last().unwrap().offset + 1));
    assert!(matches!(
        log.install_compaction(output).unwrap(),
        InstallOutcome::Installed(_)
    ));
    assert_eq!(latest(&contents(&log)), latest(&expected));
    // The appends made new dirty segments; the next job cleans them.
    compact(&mut log, NOW);
    assert_eq!(latest(&contents(&log)), latest(&expected));
}

#[test]
fn install_after_retention_or_another_install_is_discarded() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config();
    config.cleanup_delete = true;
    config.retention_ms = 10 * HOUR;
    let mut log = PartitionLog::open(dir.path(), config, NOW).unwrap();
    fill(&mut log, 3, 4, NOW - 20 * HOUR);
    log.roll(NOW).unwrap();
    fill(&mut log, 3, 4, NOW);
    log.roll(NOW).unwrap();
    let output = log.compaction_job(NOW).unwrap().run().unwrap();
    let stale_job = log.compaction_job(NOW).unwrap();
    assert!(log.enforce_retention(NOW).unwrap() > 0);
    let before = contents(&log);
    assert!(matches!(
        log.install_compaction(output).unwrap(),
        InstallOutcome::Discarded { .. }
    ));
    assert!(files_ending(dir.path(), ".cleaned").is_empty());
    assert_eq!(contents(&log), before);
    // A job whose segments vanished before it ran fails; the log backs off.
    assert!(matches!(stale_job.run(), Err(LogError::Io { .. })));
    log.compaction_failed(NOW);
    assert!(log.compaction_job(NOW + 1).is_none());
    let now = NOW + crate::log::COMPACTION_RETRY_BACKOFF_MS;
    let first = log.compaction_job(now).unwrap().run().unwrap();
    let second = log.compaction_job(now).unwrap().run().unwrap();
    assert!(matches!(
        log.install_compaction(first).unwrap(),
        InstallOutcome::Installed(_)
    ));
    assert!(matches!(
        log.install_compaction(second).unwrap(),
        InstallOutcome::Discarded { .. }
    ));
    assert!(files_ending(dir.path(), ".cleaned").is_empty());
    assert_eq!(live(&contents(&log)), live(&before));
}

#[test]
fn compressed_batches_compact_and_keep_their_codec() {
    let codecs = [
        (Compression::Gzip, false),
        (Compression::Snappy, false),
        (Compression::Snappy, true),
        (Compression::Lz4, false),
        (Compression::Zstd, false),
    ];
    for (codec, xerial) in codecs {
        let dir = tempfile::tempdir().unwrap();
        let mut log = PartitionLog::open(dir.path(), config(), NOW).unwrap();
        for round in 0..6 {
            let values: Vec<String> = (0..3).map(|k| format!("v{round}-{k}")).collect();
            let keys = ["a", "b", if round % 2 == 0 { "c" } else { "d" }];
            let records: Vec<(&str, Option<&str>)> = keys
                .iter()
                .zip(&values)
                .map(|(k, v)| (*k, Some(v.as_str())))
                .collect();
            let spec = BatchSpec::keyed(&records).compressed(codec, xerial);
            append_spec(&mut log, &spec, NOW).unwrap();
        }
        log.roll(NOW).unwrap();
        let before = contents(&log);
        compact(&mut log, NOW);
        let after = contents(&log);
        assert_eq!(latest(&after), latest(&before), "{codec:?}");
        assert_eq!(after.len(), 4, "{codec:?}: {after:?}");
        let bytes = log.read(0, 1 << 20).unwrap();
        for b in BatchIter::new(&bytes) {
            let b = b.unwrap();
            let expected = if b.header.records_count == 0 {
                Compression::None
            } else {
                codec
            };
            assert_eq!(b.header.compression().unwrap(), expected, "{codec:?}");
        }
    }
}

#[test]
fn compacted_logs_reject_null_keys() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = PartitionLog::open(dir.path(), config(), NOW).unwrap();
    for codec in [Compression::None, Compression::Zstd] {
        let mut spec =
            BatchSpec::keyed(&[("a", Some("1")), ("b", Some("2"))]).compressed(codec, false);
        spec.records[1].key = None;
        assert!(matches!(
            append_spec(&mut log, &spec, NOW),
            Err(LogError::InvalidRecords { indexes, message }) if indexes == vec![1] && message.contains("null key")
        ));
    }
    assert_eq!(log.log_end_offset(), 0);
    put(&mut log, "a", None, NOW);
    let mut plain = config();
    plain.cleanup_compact = false;
    log.set_config(plain);
    append_spec(&mut log, &BatchSpec::values(&[b"no key"]), NOW).unwrap();
}

#[test]
fn the_last_batch_of_a_producer_survives_for_its_state() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = PartitionLog::open(dir.path(), config(), NOW).unwrap();
    let first = BatchSpec::keyed(&[("k", Some("a"))]).producer(9, 0, 0);
    append_spec(&mut log, &first, NOW).unwrap();
    put(&mut log, "k", Some("b"), NOW);
    put(&mut log, "x", Some("c"), NOW);
    log.roll(NOW).unwrap();
    compact(&mut log, NOW);
    let after = contents(&log);
    assert_eq!(after.iter().map(|r| r.offset).collect::<Vec<_>>(), [1, 2]);
    let bytes = log.read(0, 1 << 20).unwrap();
    let head = BatchIter::new(&bytes).next().unwrap().unwrap().header;
    assert_eq!(
        (head.base_offset, head.records_count, head.producer_id),
        (0, 0, 9)
    );
    drop(log); // crash: producer state is rebuilt from the headers

    let mut log = PartitionLog::open(dir.path(), config(), NOW).unwrap();
    let retry = append_spec(&mut log, &first, NOW).unwrap();
    assert!(retry.duplicate);
    assert_eq!(retry.base_offset, 0);
    let gap = BatchSpec::keyed(&[("k", Some("z"))]).producer(9, 0, 5);
    assert!(matches!(
        append_spec(&mut log, &gap, NOW),
        Err(LogError::OutOfOrderSequence { expected: 1, .. })
    ));
    let next = BatchSpec::keyed(&[("k", Some("d"))]).producer(9, 0, 1);
    assert!(!append_spec(&mut log, &next, NOW).unwrap().duplicate);
}

#[test]
fn the_dirty_ratio_decides_when_to_compact() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = PartitionLog::open(dir.path(), config(), NOW).unwrap();
    for k in 0..20 {
        put(&mut log, &format!("k{k}"), Some("v"), NOW);
    }
    log.roll(NOW).unwrap();
    compact(&mut log, NOW);
    let clean = log.size_bytes();
    // A little new data: below the ratio of 0.5.
    put(&mut log, "k0", Some("w"), NOW);
    log.roll(NOW).unwrap();
    assert!(log.compaction_job(NOW).is_none());
    while log.size_bytes() < 2 * clean + 10 {
        put(&mut log, "k1", Some("w"), NOW);
    }
    log.roll(NOW).unwrap();
    assert!(log.compaction_job(NOW).is_some());
    let mut eager = config();
    eager.min_cleanable_dirty_ratio = 0.0;
    log.set_config(eager);
    compact(&mut log, NOW);
    assert!(log.compaction_job(NOW).is_none(), "no dirty bytes, no job");
}

#[test]
fn transactional_batches_stay_and_pin_their_keys_tombstones() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = PartitionLog::open(dir.path(), config(), NOW).unwrap();
    let mut txn = batch(&BatchSpec::keyed(&[("t", Some("in-txn"))]).producer(3, 0, 0));
    txn[22] |= 0x10; // the transactional attribute bit
    write_crc(&mut txn);
    log.append(&txn, NOW).unwrap();
    put(&mut log, "t", Some("later"), NOW);
    put(&mut log, "t", None, NOW);
    put(&mut log, "u", Some("1"), NOW);
    put(&mut log, "u", None, NOW);
    put(&mut log, "end", Some("x"), NOW);
    log.roll(NOW).unwrap();
    compact(&mut log, NOW);
    compact(&mut log, NOW + HOUR);
    let after = contents(&log);
    let keys: Vec<_> = after
        .iter()
        .map(|r| (r.key.as_str(), r.value.as_deref()))
        .collect();
    // The transactional record stays, so the tombstone of its key must stay after it;
    // the tombstone of "u" has no such record behind it and goes.
    assert_eq!(
        keys,
        [("t", Some("in-txn")), ("t", None), ("end", Some("x"))]
    );
}

#[test]
fn jobs_and_outputs_can_move_to_another_thread() {
    fn assert_send<T: Send + 'static>() {}
    assert_send::<crate::log::CompactionJob>();
    assert_send::<crate::log::CompactionOutput>();
}
