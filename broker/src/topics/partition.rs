//! [`Partition`]: one topic partition, and the only way to reach its [`PartitionLog`].
//!
//! The log is synchronous and does blocking file I/O, so it sits behind a std `Mutex` that is
//! only ever taken on a blocking thread: every async method here hands its work to
//! [`BlockingIo`] (bounded; see `io.rs` for the policy when full). Handlers, the coordinator
//! and the maintenance loops call these methods and never hold the lock themselves.
//!
//! # Flushes without the lock
//! Nothing fsyncs under the log lock: a flush takes a [`FlushPlan`](crate::log::FlushPlan) under it (cheap), releases
//! it, then fsyncs, so produce and fetch on the partition go on during a flush. Flushes of one
//! partition run one at a time (the `flush_serial` mutex, held only by flushers), which makes
//! them a group commit: when a plan has run, everything appended before it was taken is on
//! disk, and appenders that queued behind it find their data already covered.
//!
//! # What readers see
//! The published log end offset (the high watermark) is what fetch, ListOffsets and
//! Metadata see; reads never return a batch at or past it. An append the flush policy makes
//! durable (`flush.messages` reached, the only kind acknowledged after an fsync) is
//! published, and acknowledged, only once its flush has run, as with Kafka, where such an
//! append flushes before the high watermark moves. While such a flush is in flight, other
//! appends are held back too; the flush publishes them when it ends. The log start offset
//! and the size are published after every change. All three are atomics, so Metadata,
//! ListOffsets (earliest, latest), DescribeLogDirs and a fetch at the end need no I/O.
//!
//! A write that fails with an I/O error (a full disk) puts the partition in the storage
//! failure state: logged once, with the path and the free space, until a later write succeeds
//! again (also logged once); DescribeLogDirs reports it.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;

use super::io::{BlockingIo, IoTaskError};
use crate::clock::now_ms;
use crate::log::{AppendOutcome, BatchIter, InstallOutcome, LogConfig, LogError, PartitionLog};

/// What a read returns: stored batches and the offsets they were read against.
#[derive(Debug, Clone, Default)]
pub struct ReadOutcome {
    /// Whole stored batches (possibly empty).
    pub records: Bytes,
    /// The log end offset (the high watermark of a single broker) at the time of the read.
    pub high_watermark: i64,
    /// The log start offset at the time of the read.
    pub log_start_offset: i64,
}

/// What a compaction pass did.
#[derive(Debug)]
pub enum CompactionPass {
    /// The log was not due.
    NotDue,
    /// A job ran and its output was installed or discarded.
    Done(InstallOutcome),
    /// Shutdown stopped the job; nothing changed.
    Cancelled,
}

/// One partition of a topic.
#[derive(Debug)]
pub struct Partition {
    /// Partition index within its topic.
    pub index: i32,
    topic: String,
    dir: PathBuf,
    /// Taken only on blocking threads (inside [`BlockingIo::run`]), and never across an fsync;
    /// a std mutex because the holder never awaits.
    log: Mutex<Locked>,
    /// Serialises the flushes of this partition (see the module docs). Held across an fsync,
    /// but only flushers take it: produce and fetch never wait for it, except a produce whose
    /// acknowledgement needs that flush anyway.
    flush_serial: Mutex<()>,
    io: BlockingIo,
    /// Counts appends; fetches waiting for this partition's data watch it.
    appended: tokio::sync::watch::Sender<u64>,
    log_start: AtomicI64,
    log_end: AtomicI64,
    size: AtomicU64,
    /// A write failed with an I/O error and none has succeeded since.
    storage_failed: AtomicBool,
}

impl Partition {
    pub(super) fn new(topic: &str, index: i32, log: PartitionLog, io: BlockingIo) -> Partition {
        let p = Partition {
            index,
            topic: topic.to_string(),
            dir: log.dir().to_path_buf(),
            log_start: AtomicI64::new(log.log_start_offset()),
            log_end: AtomicI64::new(log.log_end_offset()),
            size: AtomicU64::new(log.size_bytes()),
            log: Mutex::new(Locked {
                log,
                flushes_in_flight: 0,
            }),
            flush_serial: Mutex::new(()),
            io,
            appended: tokio::sync::watch::Sender::new(0),
            storage_failed: AtomicBool::new(false),
        };
        p.publish(&p.lock());
        p
    }

    /// The topic this partition belongs to.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Wakes the fetches waiting for this partition's data.
    pub fn notify_appended(&self) {
        self.appended.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// A receiver that changes whenever this partition gets data, and fails once the
    /// partition is gone (its topic deleted).
    pub fn subscribe_appends(&self) -> tokio::sync::watch::Receiver<u64> {
        self.appended.subscribe()
    }

    /// The first offset still in the log, as of the last change. No I/O.
    pub fn log_start_offset(&self) -> i64 {
        self.log_start.load(Ordering::Acquire)
    }

    /// The offset the next record will get (the high watermark), as of the last change. It is
    /// published after the data is written, so every offset below it is readable. No I/O.
    pub fn log_end_offset(&self) -> i64 {
        self.log_end.load(Ordering::Acquire)
    }

    /// Bytes of segment files, as of the last change. No I/O.
    pub fn size_bytes(&self) -> u64 {
        self.size.load(Ordering::Acquire)
    }

    /// True while the partition's last write failed with an I/O error (say, a full disk).
    pub fn storage_failed(&self) -> bool {
        self.storage_failed.load(Ordering::Acquire)
    }

    /// Appends the records field of one partition of a produce request (see
    /// [`PartitionLog::append`]) on the blocking pool, then applies the flush policy: if it
    /// asks for a flush, the fsync runs after the lock is released and before this returns.
    /// Waiting fetches are woken.
    ///
    /// # Errors
    /// The log's validation and I/O errors; a panicked or refused storage task as
    /// [`LogError::Io`].
    ///
    /// # Cancel safety
    /// Not cancel safe once started: the append completes even if the future is dropped.
    pub async fn append(self: &Arc<Self>, records: Bytes) -> Result<AppendOutcome, LogError> {
        let me = self.clone();
        self.blocking(move || me.append_blocking(&records, now_ms()))
            .await?
    }

    /// [`append`](Self::append) for a caller already on a blocking thread.
    ///
    /// # Errors
    /// As for [`append`](Self::append).
    pub fn append_blocking(&self, records: &[u8], now_ms: i64) -> Result<AppendOutcome, LogError> {
        let (outcome, durable) = {
            let mut g = self.lock();
            let outcome = g.log.append(records, now_ms);
            let durable = outcome.is_ok() && g.log.flush_due(now_ms);
            if durable {
                // Hold the high watermark until this append's flush has run.
                g.flushes_in_flight += 1;
            }
            self.publish(&g);
            (outcome, durable)
        };
        let outcome = outcome.inspect_err(|e| self.note_failure(e))?;
        if durable {
            // The flush policy says this append is acknowledged only once durable.
            self.flush_serialized(None, true)?;
        }
        if !outcome.duplicate {
            self.notify_appended();
        }
        self.note_success();
        Ok(outcome)
    }

    /// Whole stored batches from `offset`, up to `max_bytes` but at least one batch (see
    /// [`PartitionLog::read`]), on the blocking pool.
    ///
    /// # Errors
    /// [`LogError::OffsetOutOfRange`], read errors.
    pub async fn read(
        self: &Arc<Self>,
        offset: i64,
        max_bytes: usize,
    ) -> Result<ReadOutcome, LogError> {
        let me = self.clone();
        self.blocking(move || me.read_blocking(offset, max_bytes))
            .await?
    }

    /// [`read`](Self::read) for a caller already on a blocking thread (a fetch reads all its
    /// partitions in one blocking task; the coordinator replays `__consumer_offsets` at start).
    ///
    /// # Errors
    /// As for [`read`](Self::read).
    pub fn read_blocking(&self, offset: i64, max_bytes: usize) -> Result<ReadOutcome, LogError> {
        let g = self.lock();
        let high_watermark = self.log_end_offset();
        let log_start_offset = g.log.log_start_offset();
        let records = if offset >= high_watermark && offset <= g.log.log_end_offset() {
            // Written but not yet visible (a flush is in flight), or exactly at the end.
            Bytes::new()
        } else {
            let records = g.log.read(offset, max_bytes)?;
            if g.log.log_end_offset() > high_watermark {
                below(records, high_watermark)
            } else {
                records
            }
        };
        Ok(ReadOutcome {
            records,
            high_watermark,
            log_start_offset,
        })
    }

    /// The first record whose timestamp is at least `ts`, as `(offset, timestamp)` (see
    /// [`PartitionLog::offset_for_timestamp`]; may decompress a batch), on the blocking pool.
    ///
    /// # Errors
    /// Read and decompression errors.
    pub async fn offset_for_timestamp(
        self: &Arc<Self>,
        ts: i64,
    ) -> Result<Option<(i64, i64)>, LogError> {
        let me = self.clone();
        self.blocking(move || me.lock().log.offset_for_timestamp(ts))
            .await?
    }

    /// The record with the largest timestamp, as `(offset, timestamp)` (see
    /// [`PartitionLog::max_timestamp`]), on the blocking pool.
    ///
    /// # Errors
    /// Read and decompression errors.
    pub async fn max_timestamp(self: &Arc<Self>) -> Result<Option<(i64, i64)>, LogError> {
        let me = self.clone();
        self.blocking(move || me.lock().log.max_timestamp()).await?
    }

    /// Moves the log start offset forward (DeleteRecords; -1 means the log end), on the
    /// blocking pool. Returns the new log start offset.
    ///
    /// # Errors
    /// [`LogError::OffsetOutOfRange`]; I/O errors.
    pub async fn delete_records(self: &Arc<Self>, offset: i64) -> Result<i64, LogError> {
        let me = self.clone();
        self.blocking(move || {
            let mut g = me.lock();
            let out = g.log.delete_records(offset);
            me.publish(&g);
            out
        })
        .await?
    }

    /// Flushes everything unflushed (fsyncs outside the lock), on the blocking pool.
    ///
    /// # Errors
    /// I/O errors.
    pub async fn flush(self: &Arc<Self>) -> Result<(), LogError> {
        let me = self.clone();
        self.blocking(move || me.flush_serialized(None, false).map(|_| ()))
            .await?
    }

    /// Flushes if the flush policy's time limit (`flush.ms`) has passed, on the blocking pool.
    /// Returns whether a flush ran.
    ///
    /// # Errors
    /// I/O errors.
    pub async fn flush_if_due(self: &Arc<Self>, now_ms: i64) -> Result<bool, LogError> {
        let me = self.clone();
        self.blocking(move || me.flush_serialized(Some(now_ms), false))
            .await?
    }

    /// Applies retention (see [`PartitionLog::enforce_retention`]) on the blocking pool.
    /// Returns the number of segments deleted.
    ///
    /// # Errors
    /// I/O errors.
    pub async fn enforce_retention(self: &Arc<Self>, now_ms: i64) -> Result<usize, LogError> {
        let me = self.clone();
        self.blocking(move || {
            let mut g = me.lock();
            let out = g.log.enforce_retention(now_ms);
            me.publish(&g);
            out
        })
        .await?
    }

    /// One compaction pass on the blocking pool: prepare the job under the lock, run it
    /// without (the heavy part; produce and fetch go on), install it under the lock again.
    /// `cancelled` is polled by the job so shutdown is not held up.
    ///
    /// # Errors
    /// I/O and decoding errors of the job or the install; the log then waits for
    /// `COMPACTION_RETRY_BACKOFF_MS` before its next job.
    pub async fn compact(
        self: &Arc<Self>,
        now_ms: i64,
        cancelled: impl Fn() -> bool + Send + 'static,
    ) -> Result<CompactionPass, LogError> {
        let me = self.clone();
        self.blocking(move || {
            let Some(job) = me.lock().log.compaction_job(now_ms) else {
                return Ok(CompactionPass::NotDue);
            };
            let result = job.run_cancellable(&cancelled);
            let mut g = me.lock();
            let installed = match result {
                Ok(Some(output)) => g.log.install_compaction(output).map(CompactionPass::Done),
                Ok(None) => Ok(CompactionPass::Cancelled),
                Err(e) => Err(e),
            };
            if installed.is_err() {
                g.log.compaction_failed(now_ms);
            }
            me.publish(&g);
            installed
        })
        .await?
    }

    /// Replaces the log's configuration (takes the lock: call from a blocking thread).
    pub fn set_config_blocking(&self, config: LogConfig) {
        self.lock().log.set_config(config);
    }

    /// Flushes and writes the clean-shutdown marker (see [`PartitionLog::shutdown`]), on the
    /// blocking pool.
    ///
    /// # Errors
    /// I/O errors.
    pub async fn shutdown(self: &Arc<Self>) -> Result<(), LogError> {
        let me = self.clone();
        self.blocking(move || me.shutdown_blocking()).await?
    }

    /// [`shutdown`](Self::shutdown) for a caller already on a blocking thread.
    ///
    /// # Errors
    /// I/O errors.
    pub fn shutdown_blocking(&self) -> Result<(), LogError> {
        let _serial = self.flush_serial.lock().unwrap_or_else(|p| p.into_inner());
        let mut g = self.lock();
        let out = g.log.shutdown();
        self.publish(&g);
        out
    }

    /// Locks the log. Only for code that is already on a blocking thread and needs the whole
    /// log: today topic deletion. Never call it on a runtime
    /// thread. The published offsets are refreshed when the guard is dropped.
    pub(crate) fn log(&self) -> LogGuard<'_> {
        LogGuard {
            partition: self,
            log: self.lock(),
        }
    }

    /// A panic while holding the lock cannot leave the log half-written in a way recovery
    /// would not handle, so a poisoned lock is taken over.
    fn lock(&self) -> MutexGuard<'_, Locked> {
        self.log.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn blocking<T, F>(&self, job: F) -> Result<T, LogError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        self.io.run(job).await.map_err(|e| {
            if let IoTaskError::Panicked(m) = &e {
                tracing::error!(topic = %self.topic, partition = self.index, panic = %m, "storage task panicked");
            }
            LogError::io(&self.dir, std::io::Error::other(e))
        })
    }

    /// One flush, serialised with the partition's other flushes: takes the plan under the
    /// log lock, fsyncs without it, then publishes what it made durable. With `due_at`, only
    /// if the flush policy's time limit has passed. `held` says the caller counted itself in
    /// `flushes_in_flight` (an append waiting for its own flush). Returns whether it flushed.
    fn flush_serialized(&self, due_at: Option<i64>, held: bool) -> Result<bool, LogError> {
        let _serial = self.flush_serial.lock().unwrap_or_else(|p| p.into_inner());
        let (plan, covers) = {
            let mut g = self.lock();
            if let Some(now) = due_at {
                if !g.log.flush_due(now) {
                    return Ok(false);
                }
            }
            let covers = g.log.log_end_offset();
            match g.log.take_flush() {
                Ok(plan) => (plan, covers),
                Err(e) => {
                    self.flush_done(&mut g, held, None);
                    drop(g);
                    self.note_failure(&e);
                    return Err(e);
                }
            }
        };
        // Every flush before this one has run (`flush_serial`), so once this plan has run
        // everything below `covers` is on disk.
        let result = plan.run();
        let mut g = self.lock();
        match result {
            Ok(()) => {
                self.flush_done(&mut g, held, Some(covers));
                Ok(true)
            }
            Err(e) => {
                g.log.flush_failed(plan);
                self.flush_done(&mut g, held, None);
                drop(g);
                self.note_failure(&e);
                Err(e)
            }
        }
    }

    /// Ends a flush: releases the caller's hold on the high watermark and publishes what is
    /// visible now (everything if no other durable append waits, else up to `durable_end`).
    fn flush_done(&self, g: &mut Locked, held: bool, durable_end: Option<i64>) {
        let before = self.log_end_offset();
        if held {
            g.flushes_in_flight = g.flushes_in_flight.saturating_sub(1);
        }
        if let Some(end) = durable_end {
            self.log_end.fetch_max(end, Ordering::AcqRel);
        }
        self.publish(g);
        if self.log_end_offset() > before {
            // Appends that were held back are visible now: wake the fetches waiting for them.
            self.notify_appended();
        }
    }

    /// Publishes the offsets and size after a change; called with the lock held, so the
    /// atomics never go backwards relative to the log. The end is held back while a durable
    /// append's flush is in flight ([`flush_done`](Self::flush_done) moves it then).
    fn publish(&self, g: &Locked) {
        self.log_start
            .store(g.log.log_start_offset(), Ordering::Release);
        self.size.store(g.log.size_bytes(), Ordering::Release);
        if g.flushes_in_flight == 0 {
            self.log_end
                .fetch_max(g.log.log_end_offset(), Ordering::AcqRel);
        }
    }

    /// Enters the storage failure state on an I/O error, logging it once.
    fn note_failure(&self, e: &LogError) {
        let LogError::Io { path, source } = e else {
            return;
        };
        if self.storage_failed.swap(true, Ordering::AcqRel) {
            return;
        }
        let free = free_bytes(&self.dir).map_or_else(|| "unknown".to_string(), |b| b.to_string());
        tracing::error!(
            topic = %self.topic,
            partition = self.index,
            path = %path.display(),
            free_bytes = %free,
            error = %source,
            "partition cannot write to its log; producers get KAFKA_STORAGE_ERROR until a write \
             succeeds again (free disk space or fix the file system; no restart needed)"
        );
    }

    /// Leaves the storage failure state after a successful write, logging it once.
    fn note_success(&self) {
        if self.storage_failed.load(Ordering::Acquire)
            && self.storage_failed.swap(false, Ordering::AcqRel)
        {
            tracing::info!(topic = %self.topic, partition = self.index, dir = %self.dir.display(), "partition writes succeed again");
        }
    }
}

/// The log, locked by [`Partition::log`]; publishes the partition's offsets when dropped, so
/// a change made through it is seen by fetches and ListOffsets.
pub(crate) struct LogGuard<'a> {
    partition: &'a Partition,
    log: MutexGuard<'a, Locked>,
}

impl std::ops::Deref for LogGuard<'_> {
    type Target = PartitionLog;
    fn deref(&self) -> &PartitionLog {
        &self.log.log
    }
}

impl std::ops::DerefMut for LogGuard<'_> {
    fn deref_mut(&mut self) -> &mut PartitionLog {
        &mut self.log.log
    }
}

impl Drop for LogGuard<'_> {
    fn drop(&mut self) {
        self.partition.publish(&self.log);
    }
}

/// What the log mutex guards.
#[derive(Debug)]
struct Locked {
    log: PartitionLog,
    /// Appends waiting for their own flush; while any is, the high watermark waits too.
    flushes_in_flight: u32,
}

/// The batches of `records` (whole stored batches, as a read returns them) that start below
/// `end`: a read never shows what is past the high watermark.
fn below(records: Bytes, end: i64) -> Bytes {
    let mut keep = 0;
    for batch in BatchIter::new(&records) {
        match batch {
            Ok(b) if b.header.base_offset < end => keep = b.position + b.bytes.len(),
            _ => break,
        }
    }
    records.slice(..keep)
}

/// Bytes available to the broker on the file system holding `dir`.
pub fn free_bytes(dir: &std::path::Path) -> Option<u64> {
    let fs = rustix::fs::statvfs(dir).ok()?;
    Some(fs.f_bavail.saturating_mul(fs.f_frsize))
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)] // Tests may panic on failure.
mod tests {
    use super::*;
    use crate::log::testutil::{batch, BatchSpec, NOW};

    fn partition(config: LogConfig) -> (tempfile::TempDir, Arc<Partition>) {
        let dir = tempfile::tempdir().unwrap();
        let log = PartitionLog::open(dir.path(), config, NOW).unwrap();
        let p = Arc::new(Partition::new("t", 0, log, BlockingIo::default()));
        (dir, p)
    }

    fn one(value: &str) -> Bytes {
        Bytes::from(batch(&BatchSpec::values(&[value.as_bytes()])))
    }

    #[tokio::test]
    async fn durable_appends_from_many_tasks_all_land_once() {
        let (_dir, p) = partition(LogConfig {
            flush_messages: 1,
            segment_bytes: 2_000,
            ..LogConfig::default()
        });
        let tasks: Vec<_> = (0..40)
            .map(|i| {
                let p = p.clone();
                tokio::spawn(async move { p.append(one(&format!("v{i}"))).await.unwrap() })
            })
            .collect();
        let mut offsets = Vec::new();
        for t in tasks {
            offsets.push(t.await.unwrap().base_offset);
        }
        offsets.sort_unstable();
        assert_eq!(offsets, (0..40).collect::<Vec<i64>>());
        assert_eq!(
            p.log_end_offset(),
            40,
            "every acknowledged append is visible"
        );
        assert!(
            p.lock().log.segment_count() > 1,
            "segments rolled meanwhile"
        );
        assert!(!p.lock().log.flush_due(NOW), "nothing left unflushed");
        let read = p.read(0, 1 << 20).await.unwrap();
        assert_eq!(read.high_watermark, 40);
        assert!(!read.records.is_empty());
    }

    #[tokio::test]
    async fn reads_stop_at_the_high_watermark_while_a_flush_is_in_flight() {
        let (_dir, p) = partition(LogConfig::default());
        p.append(one("a")).await.unwrap();
        // As while a durable append waits for its fsync: later appends are not visible yet.
        p.lock().flushes_in_flight = 1;
        p.append(one("b")).await.unwrap();
        p.append(one("c")).await.unwrap();
        assert_eq!(p.log_end_offset(), 1);
        let read = p.read(0, 1 << 20).await.unwrap();
        assert_eq!(read.high_watermark, 1);
        let offsets: Vec<i64> = BatchIter::new(&read.records)
            .map(|b| b.unwrap().header.base_offset)
            .collect();
        assert_eq!(offsets, vec![0], "batches past the high watermark are cut");
        let at_end = p.read(2, 1 << 20).await.unwrap();
        assert!(
            at_end.records.is_empty(),
            "written but not visible: empty, not an error"
        );
        assert!(matches!(
            p.read(4, 10).await,
            Err(LogError::OffsetOutOfRange { .. })
        ));
        let mut appends = p.subscribe_appends();
        appends.borrow_and_update();
        {
            let mut g = p.lock();
            p.flush_done(&mut g, true, Some(1));
        }
        assert_eq!(p.log_end_offset(), 3, "the flush publishes what waited");
        assert!(
            appends.has_changed().unwrap(),
            "and wakes the fetches waiting for it"
        );
        assert_eq!(p.read(1, 1 << 20).await.unwrap().high_watermark, 3);
    }

    #[tokio::test]
    async fn published_offsets_follow_retention_and_delete_records() {
        let (_dir, p) = partition(LogConfig {
            segment_bytes: 300,
            ..LogConfig::default()
        });
        for i in 0..20 {
            p.append(one(&format!("value-{i}"))).await.unwrap();
        }
        let size = p.size_bytes();
        assert!(size > 0);
        assert_eq!(p.delete_records(10).await.unwrap(), 10);
        assert_eq!(p.log_start_offset(), 10);
        assert!(p.size_bytes() < size, "deleted segments no longer count");
        assert_eq!(
            p.offset_for_timestamp(0).await.unwrap().map(|(o, _)| o),
            Some(10)
        );
        assert!(p.flush().await.is_ok());
        assert!(!p.flush_if_due(NOW).await.unwrap(), "nothing was due");
        p.shutdown().await.unwrap();
    }

    #[test]
    fn below_keeps_whole_batches_only() {
        let mut records = Vec::new();
        for (base, v) in [(0i64, "a"), (1, "b"), (2, "c")] {
            let mut b = batch(&BatchSpec::values(&[v.as_bytes()]));
            crate::log::batch::set_base_offset(&mut b, base);
            records.extend(b);
        }
        let records = Bytes::from(records);
        let one_len = records.len() / 3;
        assert_eq!(below(records.clone(), 2).len(), 2 * one_len);
        assert_eq!(below(records.clone(), 0).len(), 0);
        assert_eq!(below(records.clone(), 9).len(), records.len());
    }
}
