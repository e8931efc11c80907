//! [`Partition`]: one topic partition, and the only way to reach its [`PartitionLog`].
//!
//! The log is synchronous and does blocking file I/O, so it sits behind a std `Mutex` that is
//! only ever taken on a blocking thread: every async method here hands its work to
//! [`BlockingIo`] (bounded; see `io.rs` for the policy when full). Handlers, the coordinator
//! and the maintenance loops call these methods and never hold the lock themselves.
//!
//! Nothing fsyncs under the lock: an append or a periodic flush takes a [`FlushPlan`] under it
//! (cheap), releases it, then fsyncs, so produce and fetch on the partition go on during a
//! flush. An acknowledgement that the flush policy says must be durable
//! (`flush.messages` reached) still waits for its own fsync.
//!
//! The log start and end offsets and the size are also kept in atomics, updated under the
//! lock after every change, so Metadata, ListOffsets (earliest, latest), DescribeLogDirs and a
//! fetch at the log end answer without touching the disk or the lock.
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
use crate::log::{AppendOutcome, InstallOutcome, LogConfig, LogError, PartitionLog};

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
    log: Mutex<PartitionLog>,
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
            log: Mutex::new(log),
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
        let (outcome, plan) = {
            let mut log = self.lock();
            let outcome = log.append(records, now_ms);
            let plan = match &outcome {
                Ok(_) if log.flush_due(now_ms) => Some(log.take_flush()),
                _ => None,
            };
            self.publish(&log);
            (outcome, plan)
        };
        let outcome = outcome.inspect_err(|e| self.note_failure(e))?;
        if !outcome.duplicate {
            self.notify_appended();
        }
        if let Some(plan) = plan {
            // The flush policy says this append is only acknowledged once durable.
            self.run_flush(plan)?;
        }
        self.note_success();
        Ok(outcome)
    }

    /// Whole stored batches from `offset`, up to `max_bytes` but at least one batch (see
    /// [`PartitionLog::read`]), on the blocking pool.
    ///
    /// # Errors
    /// [`LogError::OffsetOutOfRange`], read errors.
    pub async fn read(self: &Arc<Self>, offset: i64, max_bytes: usize) -> Result<ReadOutcome, LogError> {
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
        let log = self.lock();
        let records = log.read(offset, max_bytes)?;
        Ok(ReadOutcome {
            records,
            high_watermark: log.log_end_offset(),
            log_start_offset: log.log_start_offset(),
        })
    }

    /// The first record whose timestamp is at least `ts`, as `(offset, timestamp)` (see
    /// [`PartitionLog::offset_for_timestamp`]; may decompress a batch), on the blocking pool.
    ///
    /// # Errors
    /// Read and decompression errors.
    pub async fn offset_for_timestamp(self: &Arc<Self>, ts: i64) -> Result<Option<(i64, i64)>, LogError> {
        let me = self.clone();
        self.blocking(move || me.lock().offset_for_timestamp(ts))
            .await?
    }

    /// The record with the largest timestamp, as `(offset, timestamp)` (see
    /// [`PartitionLog::max_timestamp`]), on the blocking pool.
    ///
    /// # Errors
    /// Read and decompression errors.
    pub async fn max_timestamp(self: &Arc<Self>) -> Result<Option<(i64, i64)>, LogError> {
        let me = self.clone();
        self.blocking(move || me.lock().max_timestamp()).await?
    }

    /// Moves the log start offset forward (DeleteRecords; -1 means the log end), on the
    /// blocking pool. Returns the new log start offset.
    ///
    /// # Errors
    /// [`LogError::OffsetOutOfRange`]; I/O errors.
    pub async fn delete_records(self: &Arc<Self>, offset: i64) -> Result<i64, LogError> {
        let me = self.clone();
        self.blocking(move || {
            let mut log = me.lock();
            let out = log.delete_records(offset);
            me.publish(&log);
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
        self.blocking(move || {
            let plan = me.lock().take_flush();
            me.run_flush(plan)
        })
        .await?
    }

    /// Flushes if the flush policy's time limit (`flush.ms`) has passed, on the blocking pool.
    /// Returns whether a flush ran.
    ///
    /// # Errors
    /// I/O errors.
    pub async fn flush_if_due(self: &Arc<Self>, now_ms: i64) -> Result<bool, LogError> {
        let me = self.clone();
        self.blocking(move || {
            let plan = {
                let log = &mut *me.lock();
                if !log.flush_due(now_ms) {
                    return Ok(false);
                }
                log.take_flush()
            };
            me.run_flush(plan).map(|()| true)
        })
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
            let mut log = me.lock();
            let out = log.enforce_retention(now_ms);
            me.publish(&log);
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
            let Some(job) = me.lock().compaction_job(now_ms) else {
                return Ok(CompactionPass::NotDue);
            };
            let result = job.run_cancellable(&cancelled);
            let mut log = me.lock();
            let installed = match result {
                Ok(Some(output)) => log.install_compaction(output).map(CompactionPass::Done),
                Ok(None) => Ok(CompactionPass::Cancelled),
                Err(e) => Err(e),
            };
            if installed.is_err() {
                log.compaction_failed(now_ms);
            }
            me.publish(&log);
            installed
        })
        .await?
    }

    /// Replaces the log's configuration (takes the lock: call from a blocking thread).
    pub fn set_config_blocking(&self, config: LogConfig) {
        self.lock().set_config(config);
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
        self.lock().shutdown()
    }

    /// Locks the log. Only for code that is already on a blocking thread and needs the whole
    /// log: today the group coordinator (its start-up replay and `__consumer_offsets`
    /// appends, until it uses [`append`](Self::append) and
    /// [`read_blocking`](Self::read_blocking)) and topic deletion. Never call it on a runtime
    /// thread. A panic while holding the lock cannot leave the log half-written in a way
    /// recovery would not handle, so a poisoned lock is taken over.
    #[doc(hidden)]
    pub(crate) fn log(&self) -> MutexGuard<'_, PartitionLog> {
        self.lock()
    }

    fn lock(&self) -> MutexGuard<'_, PartitionLog> {
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

    /// Runs a flush plan taken under the lock, without it; puts it back on failure.
    fn run_flush(&self, plan: Result<crate::log::FlushPlan, LogError>) -> Result<(), LogError> {
        let plan = plan.inspect_err(|e| self.note_failure(e))?;
        if let Err(e) = plan.run() {
            self.lock().flush_failed(plan);
            self.note_failure(&e);
            return Err(e);
        }
        Ok(())
    }

    /// Publishes the offsets and size after a change; called with the lock held, so the
    /// atomics never go backwards relative to the log.
    fn publish(&self, log: &PartitionLog) {
        self.log_start
            .store(log.log_start_offset(), Ordering::Release);
        self.size.store(log.size_bytes(), Ordering::Release);
        self.log_end.store(log.log_end_offset(), Ordering::Release);
    }

    /// Enters the storage failure state on an I/O error, logging it once.
    fn note_failure(&self, e: &LogError) {
        let LogError::Io { path, source } = e else {
            return;
        };
        if self.storage_failed.swap(true, Ordering::AcqRel) {
            return;
        }
        let free = free_bytes(&self.dir)
            .map_or_else(|| "unknown".to_string(), |b| b.to_string());
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

/// Bytes available to the broker on the file system holding `dir`.
pub fn free_bytes(dir: &std::path::Path) -> Option<u64> {
    let fs = rustix::fs::statvfs(dir).ok()?;
    Some(fs.f_bavail.saturating_mul(fs.f_frsize))
}
