//! The durable partition log: one [`PartitionLog`] per topic partition, in its own directory.
//!
//! Produce handlers hand the log the raw record batches of a request; it validates their
//! headers and CRCs, assigns offsets by patching each batch's base offset, and appends the
//! bytes verbatim. Fetch handlers get whole stored batches back, without re-encoding. The API
//! is synchronous, single-threaded and blocking; the broker reaches a log only through
//! `topics::Partition`, which keeps it behind a mutex taken on the blocking pool only.
//!
//! # On-disk layout
//!
//! ```text
//! <dir>/
//!   00000000000000000000.log        batches, byte for byte as produced (base offset patched)
//!   00000000000000000000.index      sparse offset index: (relative offset u32, position u32)
//!   00000000000000000000.timeindex  time index: (max timestamp so far i64, relative offset u32)
//!   00000000000000052301.log        next segment, named by its base offset (20 digits)
//!   …
//!   log-start-offset.checkpoint     log start offset set by DeleteRecords (decimal text)
//!   producer-state.snapshot         idempotent producer state, written at clean shutdown
//!   cleaner.checkpoint              compaction progress (compacted topics only)
//!   00000000000000000000.log.7.cleaned   a compaction job's copy, until installed
//!   clean-shutdown                  present only between close() and the next open()
//! ```
//!
//! The last segment is the active one; appends go to it. It is rolled (sealed, and a new one
//! started at the log end offset) before an append that would take it past `segment_bytes`,
//! when it is older than `segment_ms`, and by retention. Index entries are kept in memory
//! and written to their files when a segment is flushed, rolled or closed.
//!
//! # Recovery
//!
//! [`PartitionLog::open`] lists the segments by file name. The last segment is always
//! scanned batch by batch, checking each CRC; the file is cut at the first incomplete header,
//! impossible length, wrong magic or CRC mismatch (the torn tail a crash leaves), with a
//! warning, and its indexes are rebuilt. Earlier segments load their index files only if the
//! clean-shutdown marker exists (and the files agree with the log); otherwise their indexes
//! are rebuilt from a header scan. Producer state comes from the snapshot after a clean
//! shutdown, else from the batch headers. The log start offset is the larger of the
//! checkpoint and the first segment's base offset. Compaction copies that were never
//! installed (`*.cleaned`) are deleted. The marker is deleted once open, so a crash is
//! detected next time.
//!
//! # Compaction
//!
//! With `cleanup.policy=compact` the log keeps only the latest record per key, in three
//! steps so the heavy part runs without the partition lock: [`PartitionLog::compaction_job`]
//! (under the lock) → [`CompactionJob::run`] (no lock) → [`PartitionLog::install_compaction`]
//! (under the lock). Batches keep their offset ranges, so offsets never move; a fetch at a
//! removed offset returns the next batch. See `compaction/mod.rs` for the rules.
//!
//! # Flush policy
//!
//! - An append is one `pwritev(2)` into the page cache (the request's bytes, each batch's
//!   base offset put in on the way); it is not fsynced. The active segment reserves disk
//!   space ahead of its appends (`fallocate` with `FALLOC_FL_KEEP_SIZE`, in steps growing
//!   from 64 KiB to 16 MiB, so the file's length is always its data), which spares the file
//!   system a block allocation per write; sealing the segment (roll, shutdown) and opening a
//!   log a crashed process left give back what was not used. Acknowledged data
//!   therefore survives a crash or SIGKILL of the broker process, but not a power loss or
//!   kernel crash until it is flushed. (Kafka's default too; Kafka relies on replication,
//!   a single Fjord broker does not have it.)
//! - [`PartitionLog::flush`] fsyncs every segment with unsynced data, the active one and any
//!   rolled since the last flush (log and index files), and the directory if segments were
//!   created or deleted. It comes in two halves so no fsync runs under a lock appends need:
//!   [`PartitionLog::take_flush`] (cheap, under the lock: pending index entries are written
//!   to the page cache and the files to fsync are collected, with shared handles) and
//!   [`FlushPlan::run`] (the fsyncs, without the lock).
//! - An append never fsyncs by itself. [`PartitionLog::flush_due`] says when the policy asks
//!   for a flush: once `flush_messages` records are unflushed, or the oldest unflushed append
//!   is `flush_ms` old. The broker checks it after every append (and acknowledges that append
//!   only after its plan ran) and periodically. The defaults (`u64::MAX`, `i64::MAX`) never
//!   force one: set `flush_messages = 1` to fsync every append.
//! - [`PartitionLog::close`] (or [`PartitionLog::shutdown`] for a log behind a mutex) always
//!   flushes, then writes the producer snapshot and the clean-shutdown marker. Rolling a
//!   segment does not fsync (it would stall appends on a large fsync); the rolled segment is
//!   synced by the next flush.
//!
//! # Files
//!
//! From the bottom up (a module imports only those before it): `error`, `fsio` (directory
//! fsync, atomic file replacement), `compression` (bounded decompression), `batch` (v2 batch
//! headers), `record` (records inside a batch), `index` (offset and time indexes), `scan`
//! (walking a segment file's batches), `segment` (one segment), `producer_state`
//! (idempotence), `cleaner_checkpoint` (compaction progress), `config`, `partition` (append,
//! read, look-ups, flush), then the parts that extend `PartitionLog`: `recovery` (open and
//! close), `retention` (retention and DeleteRecords) and `compaction/` (log compaction).

pub mod batch;
mod cleaner_checkpoint;
mod compaction;
pub mod compression;
mod config;
mod error;
mod fsio;
mod index;
mod partition;
mod producer_state;
pub mod record;
mod recovery;
mod retention;
mod scan;
mod segment;
#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)] // Test helpers may panic on failure.
pub(crate) mod testutil;

pub use batch::{BatchHeader, BatchIter};
pub use compaction::{
    CompactionJob, CompactionOutput, CompactionStats, InstallOutcome, CLEANED_SUFFIX,
    CLEANER_CHECKPOINT_FILE, COMPACTION_RETRY_BACKOFF_MS,
};
pub use compression::Compression;
pub use compression::MAX_DECOMPRESSED_BATCH_BYTES;
pub use config::{AppendOutcome, LogConfig};
pub use error::LogError;
pub(crate) use fsio::write_atomic;
pub use partition::{FlushPlan, PartitionLog};
pub use record::{Record, RecordHeader, RecordIter};
