//! Broker errors, and the one place where they become Kafka error codes.

use kafka_protocol::error::ResponseError;

use crate::log::LogError;

/// Errors the broker reports to its operator (start-up, configuration, storage).
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// A broker or topic configuration value is wrong.
    #[error("invalid configuration {0}")]
    InvalidConfig(String),
    /// The listener could not be bound.
    #[error("cannot listen on {addr}: {source}; is another broker using that port?")]
    Bind {
        /// The address asked for.
        addr: std::net::SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// A file or directory of the data dir could not be used.
    #[error("storage error at {path}: {source}")]
    Storage {
        /// The file or directory.
        path: std::path::PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A partition log failed.
    #[error(transparent)]
    Log(#[from] LogError),
    /// The topic metadata on disk cannot be read.
    #[error("corrupt topic metadata in {path}: {why}")]
    CorruptMetadata {
        /// The metadata file.
        path: std::path::PathBuf,
        /// What is wrong.
        why: String,
    },
}

impl BrokerError {
    pub(crate) fn storage(path: impl Into<std::path::PathBuf>, source: std::io::Error) -> Self {
        BrokerError::Storage {
            path: path.into(),
            source,
        }
    }
}

/// The Kafka error code a client sees for a log error: the one place the log layer's
/// errors become wire codes (produce, fetch, ListOffsets, DeleteRecords all use it).
/// Exhaustive on purpose, so a new variant must choose its code here.
pub fn log_error_code(err: &LogError) -> ResponseError {
    match err {
        LogError::CorruptRecord(_) => ResponseError::CorruptMessage,
        LogError::RecordTooLarge { .. } => ResponseError::MessageTooLarge,
        LogError::InvalidRecord(_) | LogError::InvalidRecords { .. } => {
            ResponseError::InvalidRecord
        }
        LogError::OffsetOutOfRange { .. } => ResponseError::OffsetOutOfRange,
        LogError::OutOfOrderSequence { .. } => ResponseError::OutOfOrderSequenceNumber,
        LogError::InvalidProducerEpoch { .. } => ResponseError::InvalidProducerEpoch,
        LogError::Decompression(_) => ResponseError::CorruptMessage,
        // A full disk, a read-only or failing file system: the client retries later.
        LogError::Io { .. } => ResponseError::KafkaStorageError,
    }
}

/// The Kafka error code a client sees for a broker error.
pub fn broker_error_code(err: &BrokerError) -> ResponseError {
    match err {
        BrokerError::InvalidConfig(_) => ResponseError::InvalidConfig,
        BrokerError::Log(e) => log_error_code(e),
        _ => ResponseError::KafkaStorageError,
    }
}
