//! The one error type of the partition log.
//!
//! Every failure of [`PartitionLog`](super::PartitionLog) and of the codecs beside it is a
//! [`LogError`]. The produce and fetch handlers map each variant to one Kafka error code
//! (`CORRUPT_MESSAGE`, `MESSAGE_TOO_LARGE`, `INVALID_RECORD`, `OFFSET_OUT_OF_RANGE`,
//! `OUT_OF_ORDER_SEQUENCE_NUMBER`, `INVALID_PRODUCER_EPOCH`, `KAFKA_STORAGE_ERROR`), so
//! the variants follow those codes rather than the internal cause.

use std::io;
use std::path::{Path, PathBuf};

/// What went wrong in a partition log operation.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The bytes are not a well-formed v2 record batch: bad CRC, inconsistent sizes or a
    /// magic byte other than 2. Kafka code `CORRUPT_MESSAGE`.
    #[error("corrupt record batch: {0}")]
    CorruptRecord(String),

    /// One batch is larger than the topic's `max.message.bytes`.
    #[error(
        "record batch of {size} bytes is larger than the maximum of {max} bytes; \
         send smaller batches (producer batch.size) or raise max.message.bytes for the topic"
    )]
    RecordTooLarge {
        /// Size of the offending batch in bytes.
        size: usize,
        /// The configured maximum (`max_message_bytes`).
        max: usize,
    },

    /// A batch that is well formed but not acceptable (for example an unsupported
    /// compression codec, or a record count that disagrees with the offsets).
    #[error("invalid record batch: {0}")]
    InvalidRecord(String),

    /// Records of a batch that the log refuses one by one (null keys on a compacted topic):
    /// the producer learns which, as Kafka's `record_errors` do.
    #[error("invalid records at batch indexes {indexes:?}: {message}")]
    InvalidRecords {
        /// Position of each refused record within its batch.
        indexes: Vec<i32>,
        /// Why.
        message: String,
    },

    /// A fetch or delete asked for an offset the log does not hold.
    #[error(
        "offset {offset} is out of range: the log holds offsets from {log_start} up to \
         (not including) {log_end}"
    )]
    OffsetOutOfRange {
        /// The requested offset.
        offset: i64,
        /// The log start offset at the time of the request.
        log_start: i64,
        /// The log end offset at the time of the request.
        log_end: i64,
    },

    /// An idempotent producer skipped or reordered a sequence number.
    #[error(
        "out of order sequence number for producer {producer_id}: expected {expected}, got {got}"
    )]
    OutOfOrderSequence {
        /// The producer id of the batch.
        producer_id: i64,
        /// The sequence number the log expected next.
        expected: i32,
        /// The first sequence number of the batch.
        got: i32,
    },

    /// A producer wrote with an epoch older than the one the log has seen: it has been
    /// fenced by a newer instance with the same producer id.
    #[error(
        "producer {producer_id} used epoch {got}, but the log has already seen epoch {current}; \
         this producer has been fenced by a newer instance"
    )]
    InvalidProducerEpoch {
        /// The producer id of the batch.
        producer_id: i64,
        /// The current (highest) epoch the log knows for this producer.
        current: i16,
        /// The epoch carried by the batch.
        got: i16,
    },

    /// A file system operation failed.
    #[error("I/O error on {}: {source}", path.display())]
    Io {
        /// The file or directory the operation was on.
        path: PathBuf,
        /// The operating system error.
        #[source]
        source: io::Error,
    },

    /// A compressed batch could not be decompressed, or would decompress to more bytes
    /// than the caller allows.
    #[error("cannot decompress record batch: {0}")]
    Decompression(String),
}

impl LogError {
    /// An [`LogError::Io`] for `path`.
    pub(crate) fn io(path: &Path, source: io::Error) -> Self {
        LogError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Adds the path to an `io::Result`, so every I/O error says which file failed.
pub(crate) trait IoContext<T> {
    /// Converts the error into [`LogError::Io`] for `path`.
    fn at(self, path: &Path) -> Result<T, LogError>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn at(self, path: &Path) -> Result<T, LogError> {
        self.map_err(|e| LogError::io(path, e))
    }
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)] // Tests may panic on failure.
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_problem() {
        let e = LogError::RecordTooLarge { size: 10, max: 5 };
        assert!(e.to_string().contains("max.message.bytes"));
        let e = LogError::OffsetOutOfRange {
            offset: 9,
            log_start: 0,
            log_end: 3,
        };
        assert!(e.to_string().contains("offset 9"));
        let e: Result<(), _> = Err(io::Error::other("disk on fire")).at(Path::new("/tmp/x.log"));
        assert!(e.unwrap_err().to_string().contains("/tmp/x.log"));
    }
}
