//! The coordinator's only touch of the `__consumer_offsets` partition log: one read (replay)
//! and one append. Both block (file I/O under the partition's lock) and are only called from
//! the blocking pool by [`super::journal`].
//!
//! Merge note: when `topics::Partition` offers async read/append, these two functions are
//! the call sites to switch; the journal already keeps them off the runtime.

use crate::log::LogError;
use crate::topics::{now_ms, Partition};

/// Up to `max_bytes` of whole stored batches from `offset`, and the log end offset; empty
/// bytes once `offset` is at the end.
///
/// # Errors
/// A read failure of the log.
pub(super) fn read(
    partition: &Partition,
    offset: i64,
    max_bytes: usize,
) -> Result<(bytes::Bytes, i64), LogError> {
    let log = partition.log();
    let end = log.log_end_offset();
    let offset = offset.max(log.log_start_offset());
    if offset >= end {
        return Ok((bytes::Bytes::new(), end));
    }
    Ok((log.read(offset, max_bytes)?, end))
}

/// The log start offset (where a replay begins).
pub(super) fn start_offset(partition: &Partition) -> i64 {
    partition.log().log_start_offset()
}

/// Appends one record batch; returns the offset of its first record.
///
/// # Errors
/// The append failed (full disk, I/O error): nothing of the batch is acknowledged.
pub(super) fn append(partition: &Partition, batch: &[u8]) -> Result<i64, LogError> {
    let outcome = partition.log().append(batch, now_ms())?;
    // Whoever reads __consumer_offsets (offset tooling) sees commits at once.
    partition.notify_appended();
    Ok(outcome.base_offset)
}
