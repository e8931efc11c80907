//! The coordinator's only touch of the `__consumer_offsets` partition log: one read (replay)
//! and one append, through [`Partition`]'s blocking entry points. Both do file I/O, so they
//! are only called from the blocking pool by [`super::journal`], which keeps them off the
//! runtime and completes an append even when the request that asked for it is cancelled.

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
    let offset = offset.max(partition.log_start_offset());
    let end = partition.log_end_offset();
    if offset >= end {
        return Ok((bytes::Bytes::new(), end));
    }
    let out = partition.read_blocking(offset, max_bytes)?;
    Ok((out.records, out.high_watermark))
}

/// The log start offset (where a replay begins).
pub(super) fn start_offset(partition: &Partition) -> i64 {
    partition.log_start_offset()
}

/// Appends one record batch under the topic's flush policy (waiting fetches, e.g. offset
/// tooling reading `__consumer_offsets`, are woken); returns the offset of its first record.
///
/// # Errors
/// The append failed (full disk, I/O error): nothing of the batch is acknowledged.
pub(super) fn append(partition: &Partition, batch: &[u8]) -> Result<i64, LogError> {
    Ok(partition.append_blocking(batch, now_ms())?.base_offset)
}
