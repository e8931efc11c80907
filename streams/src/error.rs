//! The errors of Fjord Streams.

use fjord_core::format::SerdeError;

/// Shorthand for results whose error is [`StreamsError`].
pub type Result<T, E = StreamsError> = std::result::Result<T, E>;

/// Everything that can go wrong building or running a topology.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum StreamsError {
    /// The topology is not valid (a duplicate name, a store nobody created,
    /// a join of topics that are not co-partitioned...). Found at `build()` or
    /// at start, before anything is consumed.
    #[error("invalid topology: {0}")]
    Topology(String),

    /// A configuration key has a value that cannot be used.
    #[error("invalid config {key}={value}: {reason}")]
    Config {
        /// The key.
        key: String,
        /// Its value.
        value: String,
        /// What is wrong and what is accepted.
        reason: String,
    },

    /// Source topics that do not exist on the cluster.
    #[error(
        "source topics do not exist: {}; create them first (fjord topic create NAME --partitions N)",
        .0.join(", ")
    )]
    MissingSourceTopics(Vec<String>),

    /// A key or value could not be (de)serialized.
    #[error(transparent)]
    Serde(#[from] SerdeError),

    /// A processor (user code) failed on a record.
    #[error("processing failed at {node} ({topic}-{partition}@{offset}): {message}")]
    Processing {
        /// The processor node.
        node: String,
        /// Where the record came from.
        topic: String,
        /// Its partition.
        partition: i32,
        /// Its offset.
        offset: i64,
        /// What went wrong.
        message: String,
    },

    /// A state store failed (restoring, reading or writing it).
    #[error("state store {store}: {message}")]
    Store {
        /// The store.
        store: String,
        /// What went wrong.
        message: String,
    },

    /// The Kafka client (librdkafka) failed.
    #[error("{context}: {message}")]
    Kafka {
        /// What was being done.
        context: String,
        /// The client's error.
        message: String,
    },

    /// The application is not in a state that allows the call.
    #[error("{0}")]
    IllegalState(String),

    /// A user's processor returned an error of its own.
    #[error("{0}")]
    User(String),
}

impl StreamsError {
    /// A Kafka client error while doing `context`.
    pub fn kafka(context: impl Into<String>, error: impl std::fmt::Display) -> Self {
        StreamsError::Kafka {
            context: context.into(),
            message: error.to_string(),
        }
    }

    /// A state store error.
    pub fn store(store: impl Into<String>, message: impl std::fmt::Display) -> Self {
        StreamsError::Store {
            store: store.into(),
            message: message.to_string(),
        }
    }

    /// An error of the user's own, from a processor.
    pub fn user(message: impl std::fmt::Display) -> Self {
        StreamsError::User(message.to_string())
    }
}

impl From<fjord_core::Error> for StreamsError {
    fn from(e: fjord_core::Error) -> Self {
        StreamsError::Kafka {
            context: "cluster".into(),
            message: e.to_string(),
        }
    }
}
