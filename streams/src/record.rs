//! Records as processors see them, and as they come from and go to topics.

/// Record headers: names with optional values, in order (Kafka allows
/// repeated names).
pub type Headers = Vec<(String, Option<Vec<u8>>)>;

/// A typed record flowing through a topology: key, value, timestamp (ms
/// since the epoch: event time, from the record or a timestamp extractor)
/// and headers.
#[derive(Debug, Clone, PartialEq)]
pub struct Record<K, V> {
    /// The key.
    pub key: K,
    /// The value.
    pub value: V,
    /// Event time, ms since the epoch.
    pub timestamp: i64,
    /// Headers, carried from the input record to what it produces.
    pub headers: Headers,
}

impl<K, V> Record<K, V> {
    /// A record with no headers.
    pub fn new(key: K, value: V, timestamp: i64) -> Self {
        Record {
            key,
            value,
            timestamp,
            headers: Vec::new(),
        }
    }

    /// The same record with another key and value (timestamp and headers kept).
    pub fn with<K2, V2>(self, key: K2, value: V2) -> Record<K2, V2> {
        Record {
            key,
            value,
            timestamp: self.timestamp,
            headers: self.headers,
        }
    }

    /// The same record with another value.
    pub fn with_value<V2>(self, value: V2) -> Record<K, V2> {
        Record {
            key: self.key,
            value,
            timestamp: self.timestamp,
            headers: self.headers,
        }
    }
}

/// Where the record being processed came from: its topic, partition and
/// offset (Kafka's `RecordMetadata` of the processor context).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordMetadata {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// The offset.
    pub offset: i64,
}

/// A record as consumed: bytes, before any serde.
#[derive(Debug, Clone, PartialEq)]
pub struct RawRecord {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// The offset.
    pub offset: i64,
    /// The record's own timestamp (create or log-append time).
    pub timestamp: i64,
    /// The key bytes, if any.
    pub key: Option<Vec<u8>>,
    /// The value bytes, if any (none is a tombstone).
    pub value: Option<Vec<u8>>,
    /// The headers.
    pub headers: Headers,
}

/// A record to produce: bytes, after the serdes.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputRecord {
    /// The topic.
    pub topic: String,
    /// The partition, when the topology chose one (changelogs, a custom
    /// partitioner); otherwise Kafka's default partitioner (murmur2 of the
    /// key) picks it.
    pub partition: Option<i32>,
    /// The key bytes.
    pub key: Option<Vec<u8>>,
    /// The value bytes.
    pub value: Option<Vec<u8>>,
    /// The timestamp.
    pub timestamp: i64,
    /// The headers.
    pub headers: Headers,
}
