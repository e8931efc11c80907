//! Connect records: what source tasks return from `poll`, what sink tasks receive in `put`,
//! and what converters and transforms work on.
//!
//! A [`ConnectRecord`] is the part every record shares (topic, partition, key, value,
//! timestamp, headers, each key and value with its schema); a [`SourceRecord`] adds the source
//! partition and offset the worker commits, a [`SinkRecord`] the Kafka offset it came from.

use serde_json::{Map, Value as Json};

use crate::data::{SchemaRef, Value};

/// A source partition or offset: a JSON object, as in Kafka Connect (`{"filename": "a.txt"}`,
/// `{"position": 1024}`). Stored as JSON in offset files and the offsets topic.
pub type JsonMap = Map<String, Json>;

/// One record header: a key and a value with its schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    /// The header key.
    pub key: String,
    /// The value's schema, if known.
    pub schema: Option<SchemaRef>,
    /// The value.
    pub value: Value,
}

/// The parts of a record every Connect record has.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ConnectRecord {
    /// The topic (for a source record: where it is going; for a sink record: where it came
    /// from). Transforms such as RegexRouter rewrite it.
    pub topic: String,
    /// The partition, or `None` to let the producer's partitioner choose.
    pub partition: Option<i32>,
    /// The key's schema.
    pub key_schema: Option<SchemaRef>,
    /// The key.
    pub key: Value,
    /// The value's schema.
    pub value_schema: Option<SchemaRef>,
    /// The value ([`Value::Null`] for a tombstone).
    pub value: Value,
    /// Milliseconds since the epoch.
    pub timestamp: Option<i64>,
    /// Headers, in order; keys may repeat.
    pub headers: Vec<Header>,
    /// The offset in its topic partition, for a record read from Kafka (what a sink task
    /// gets; InsertField's `offset.field` inserts it); `None` for a source record.
    pub kafka_offset: Option<i64>,
}

impl ConnectRecord {
    /// A record of this topic with a schemaless value.
    pub fn new(topic: impl Into<String>, value: Value) -> Self {
        Self {
            topic: topic.into(),
            value,
            ..Self::default()
        }
    }

    /// The last header of this key.
    pub fn header(&self, key: &str) -> Option<&Header> {
        self.headers.iter().rev().find(|h| h.key == key)
    }

    /// Whether the value is null (a tombstone).
    pub fn is_tombstone(&self) -> bool {
        self.value.is_null()
    }
}

/// A record a source task produced: where it came from in the external system (the source
/// partition) and how far that source has been read once it is written (the source offset).
#[derive(Debug, Clone, PartialEq)]
pub struct SourceRecord {
    /// The source partition, e.g. `{"filename": "/var/log/a.log"}`.
    pub source_partition: JsonMap,
    /// The source offset to resume from after this record, e.g. `{"position": 4096}`.
    pub source_offset: JsonMap,
    /// The record.
    pub record: ConnectRecord,
}

impl SourceRecord {
    /// A source record.
    pub fn new(source_partition: JsonMap, source_offset: JsonMap, record: ConnectRecord) -> Self {
        Self {
            source_partition,
            source_offset,
            record,
        }
    }
}

/// A record a sink task receives: the record and where it was read from.
#[derive(Debug, Clone, PartialEq)]
pub struct SinkRecord {
    /// The record (topic, partition, key, value, timestamp, headers).
    pub record: ConnectRecord,
    /// The offset in its topic partition.
    pub offset: i64,
}

/// A topic partition.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicPartition {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
}

impl TopicPartition {
    /// A topic partition.
    pub fn new(topic: impl Into<String>, partition: i32) -> Self {
        Self {
            topic: topic.into(),
            partition,
        }
    }
}
