//! The one error type of `fjord-connect`.

/// Shorthand for results whose error is [`ConnectError`].
pub type Result<T, E = ConnectError> = std::result::Result<T, E>;

/// Everything that can go wrong in Connect: configs, data, connectors, clients, files.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// A connector or worker config is invalid (the message names the key and the fix).
    #[error("invalid config: {0}")]
    Config(String),
    /// A record's data does not fit a schema, or a converter or transform cannot handle it.
    #[error("{0}")]
    Data(String),
    /// A failure worth retrying (Kafka's `RetriableException`): the worker retries the
    /// operation under `errors.retry.timeout` before giving up.
    #[error("retriable: {0}")]
    Retriable(String),
    /// No connector, task or plugin of this name.
    #[error("{0}")]
    NotFound(String),
    /// A file operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done, with the path.
        context: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A Kafka client operation failed.
    #[error("kafka: {0}")]
    Kafka(String),
    /// An error from the shared client layer (properties files, client builders, admin).
    #[error(transparent)]
    Core(#[from] fjord_core::Error),
    /// Anything else a connector reports.
    #[error("{0}")]
    Other(String),
}

impl ConnectError {
    /// An I/O error with what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        ConnectError::Io {
            context: context.into(),
            source,
        }
    }

    /// Whether the worker should retry the failed operation.
    pub fn is_retriable(&self) -> bool {
        matches!(self, ConnectError::Retriable(_))
    }
}

impl From<rdkafka::error::KafkaError> for ConnectError {
    fn from(err: rdkafka::error::KafkaError) -> Self {
        ConnectError::Kafka(err.to_string())
    }
}
