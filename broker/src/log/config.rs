//! Per-partition log settings (Kafka's topic-level configs) and the result of an append.

/// Settings of one partition log. Field names follow Kafka's topic configs
/// (`segment.bytes`, `segment.ms`, `retention.ms`, …); [`Default`] gives Kafka's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct LogConfig {
    /// Roll to a new segment before an append would make the active one larger than this
    /// (`segment.bytes`, default 1 GiB). Capped at 4 GiB because index positions are `u32`.
    pub segment_bytes: u64,
    /// Roll when the active segment is older than this (`segment.ms`, default 7 days).
    pub segment_ms: i64,
    /// Delete segments whose newest record is older than this (`retention.ms`, default
    /// 7 days); -1 keeps them forever.
    pub retention_ms: i64,
    /// Delete the oldest segments while the log is larger than this (`retention.bytes`);
    /// -1 (the default) means no size limit.
    pub retention_bytes: i64,
    /// Largest accepted batch in bytes (`max.message.bytes`, default 1048588).
    pub max_message_bytes: usize,
    /// Add an offset index entry at least every this many log bytes
    /// (`index.interval.bytes`, default 4096).
    pub index_interval_bytes: usize,
    /// fsync after this many appended records (`flush.messages`); `u64::MAX` (the default)
    /// never forces a flush by count.
    pub flush_messages: u64,
    /// fsync once the oldest unflushed append is this old (`flush.ms`), checked on append
    /// and by [`maybe_flush`](super::PartitionLog::maybe_flush); `i64::MAX` (the default)
    /// never forces a flush by time.
    pub flush_ms: i64,
    /// `cleanup.policy` includes `compact`: the log is compacted (the latest record per key
    /// is kept, see [`PartitionLog::compaction_job`](super::PartitionLog::compaction_job)),
    /// and appends of records with a null key are rejected. Default false.
    pub cleanup_compact: bool,
    /// `cleanup.policy` includes `delete`: [`enforce_retention`] deletes segments by
    /// `retention_ms` and `retention_bytes`. Default true.
    ///
    /// [`enforce_retention`]: super::PartitionLog::enforce_retention
    pub cleanup_delete: bool,
    /// How long a tombstone (a record with a null value) of a compacted log is kept after
    /// the segment holding it was first compacted (`delete.retention.ms`, default 1 day), so
    /// that consumers reading the log from the start see the deletion.
    pub delete_retention_ms: i64,
    /// A segment is compacted only once its newest record is at least this old
    /// (`min.compaction.lag.ms`, default 0).
    pub min_compaction_lag_ms: i64,
    /// Compact once the never-compacted bytes are at least this fraction of the compactable
    /// bytes (`min.cleanable.dirty.ratio`, default 0.5).
    pub min_cleanable_dirty_ratio: f64,
}

/// One day in milliseconds.
const ONE_DAY_MS: i64 = 24 * 60 * 60 * 1000;
/// Seven days in milliseconds.
const SEVEN_DAYS_MS: i64 = 7 * ONE_DAY_MS;

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            segment_bytes: 1 << 30,
            segment_ms: SEVEN_DAYS_MS,
            retention_ms: SEVEN_DAYS_MS,
            retention_bytes: -1,
            max_message_bytes: 1_048_588,
            index_interval_bytes: 4096,
            flush_messages: u64::MAX,
            flush_ms: i64::MAX,
            cleanup_compact: false,
            cleanup_delete: true,
            delete_retention_ms: ONE_DAY_MS,
            min_compaction_lag_ms: 0,
            min_cleanable_dirty_ratio: 0.5,
        }
    }
}

impl LogConfig {
    /// The segment size limit actually applied: `segment_bytes`, at least 1 and at most
    /// `u32::MAX` (index positions are 32-bit).
    pub(crate) fn effective_segment_bytes(&self) -> u64 {
        self.segment_bytes.clamp(1, u64::from(u32::MAX))
    }
}

/// The result of [`PartitionLog::append`](super::PartitionLog::append).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendOutcome {
    /// Offset assigned to the first record of the first batch.
    pub base_offset: i64,
    /// Offset of the last record of the last batch.
    pub last_offset: i64,
    /// The log start offset after the append.
    pub log_start_offset: i64,
    /// True if the batch was a producer retry of an already stored batch: nothing was
    /// written, and the offsets are those of the original.
    pub duplicate: bool,
}
