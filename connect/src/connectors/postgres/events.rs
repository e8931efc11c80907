//! Change events in Debezium's shape: a keyed record whose value is the envelope (before,
//! after, source, op, ts_ms), a tombstone after a delete, a truncate event; and the source
//! offset each carries ([`Position`]).

use std::sync::Arc;

use serde_json::Value as Json;

use super::config::SourceConfig;
use super::table::{source_schema, Table};
use crate::data::{Struct, Value};
use crate::error::Result;
use crate::record::{ConnectRecord, Header, JsonMap, SourceRecord};

/// Debezium's connector name in `source.connector`.
pub const CONNECTOR: &str = "postgresql";

/// Where the stream is: every transaction committing before `lsn` was emitted, and the first
/// `event` events of the one committing at `lsn`. The slot's confirmed flush LSN may advance
/// to `lsn` once a record carrying this position is committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Position {
    /// A commit LSN (or the end of the last complete transaction).
    pub lsn: u64,
    /// Events of the transaction at `lsn` already emitted.
    pub event: u64,
}

impl Position {
    /// Whether the `index`-th (1-based) event of the transaction committing at `commit_lsn`
    /// was emitted at or before this position.
    pub fn covers(&self, commit_lsn: u64, index: u64) -> bool {
        commit_lsn < self.lsn || (commit_lsn == self.lsn && index <= self.event)
    }

    /// The position as source offset fields.
    pub fn write(&self, offset: &mut JsonMap) {
        offset.insert("lsn".to_owned(), Json::from(self.lsn));
        offset.insert("event".to_owned(), Json::from(self.event));
    }

    /// The position of a committed source offset.
    pub fn read(offset: &JsonMap) -> Option<Position> {
        Some(Position {
            lsn: offset.get("lsn")?.as_u64()?,
            event: offset.get("event").and_then(Json::as_u64).unwrap_or(0),
        })
    }
}

/// What the source block says about one event.
#[derive(Debug, Clone, Default)]
pub struct EventSource {
    /// Commit (or snapshot) time, ms.
    pub ts_ms: i64,
    /// `"true"`, `"last"`, `"incremental"` for snapshot events; `None` for streamed ones.
    pub snapshot: Option<&'static str>,
    /// The transaction id.
    pub tx_id: Option<i64>,
    /// The change's LSN.
    pub lsn: Option<u64>,
}

fn source_block(config: &SourceConfig, table: &Table, source: &EventSource) -> Result<Value> {
    let mut s = Struct::new(source_schema())?;
    s.put("version", env!("CARGO_PKG_VERSION"))?
        .put("connector", CONNECTOR)?
        .put("name", config.topic_prefix.as_str())?
        .put("ts_ms", Value::Int64(source.ts_ms))?
        .put(
            "snapshot",
            Value::String(source.snapshot.unwrap_or("false").to_owned()),
        )?
        .put("db", config.dbname.as_str())?
        .put("ts_us", Value::Int64(source.ts_ms * 1000))?
        .put("ts_ns", Value::Int64(source.ts_ms * 1_000_000))?
        .put("schema", table.schema.as_str())?
        .put("table", table.name.as_str())?;
    if let Some(tx) = source.tx_id {
        s.put("txId", Value::Int64(tx))?;
    }
    if let Some(lsn) = source.lsn {
        s.put("lsn", Value::Int64(i64::try_from(lsn).unwrap_or(i64::MAX)))?;
    }
    Ok(Value::Struct(s))
}

/// One change of a row, before it becomes records.
pub struct RowChange<'a> {
    /// `c`, `u`, `d` or `r`.
    pub op: &'static str,
    /// The before image (column values in table order), if known.
    pub before: Option<&'a [Value]>,
    /// The after image.
    pub after: Option<&'a [Value]>,
    /// Columns left out because their TOASTed value was unchanged.
    pub unchanged_toasted: Vec<String>,
}

/// The records of one change: the event, and a tombstone after a delete when configured.
/// Every record gets `offset`.
///
/// # Errors
/// Values that do not fit the table's schemas.
pub fn change_records(
    config: &SourceConfig,
    table: &Arc<Table>,
    change: &RowChange<'_>,
    source: &EventSource,
    offset: &JsonMap,
) -> Result<Vec<SourceRecord>> {
    let key_values = change.after.or(change.before).unwrap_or_default();
    let key = if key_values.is_empty() {
        Value::Null
    } else {
        table.key(key_values)?
    };
    let mut envelope = Struct::new(Arc::clone(&table.envelope_schema))?;
    if let Some(before) = change.before {
        envelope.put("before", table.row(before)?)?;
    }
    if let Some(after) = change.after {
        envelope.put("after", table.row(after)?)?;
    }
    envelope
        .put("source", source_block(config, table, source)?)?
        .put("op", change.op)?
        .put(
            "ts_ms",
            Value::Int64(jiff::Timestamp::now().as_millisecond()),
        )?;
    let mut headers = Vec::new();
    if !change.unchanged_toasted.is_empty() {
        headers.push(Header {
            key: "unchanged_toasted_columns".to_owned(),
            schema: Some(crate::data::Schema::string()),
            value: Value::String(change.unchanged_toasted.join(",")),
        });
    }
    let partition = config.source_partition();
    let event = ConnectRecord {
        topic: table.topic.clone(),
        key_schema: table.key_schema.clone(),
        key: key.clone(),
        value_schema: Some(Arc::clone(&table.envelope_schema)),
        value: Value::Struct(envelope),
        timestamp: Some(source.ts_ms),
        headers,
        ..ConnectRecord::default()
    };
    let mut out = vec![SourceRecord::new(partition.clone(), offset.clone(), event)];
    if change.op == "d" && config.tombstones_on_delete && table.has_key() {
        let tombstone = ConnectRecord {
            topic: table.topic.clone(),
            key_schema: table.key_schema.clone(),
            key,
            value_schema: None,
            value: Value::Null,
            timestamp: Some(source.ts_ms),
            ..ConnectRecord::default()
        };
        out.push(SourceRecord::new(partition, offset.clone(), tombstone));
    }
    Ok(out)
}

/// A truncate event of a table (op `t`, no key, no before or after).
///
/// # Errors
/// As [`change_records`].
pub fn truncate_record(
    config: &SourceConfig,
    table: &Arc<Table>,
    source: &EventSource,
    offset: &JsonMap,
) -> Result<SourceRecord> {
    let mut envelope = Struct::new(Arc::clone(&table.envelope_schema))?;
    envelope
        .put("source", source_block(config, table, source)?)?
        .put("op", "t")?
        .put(
            "ts_ms",
            Value::Int64(jiff::Timestamp::now().as_millisecond()),
        )?;
    Ok(SourceRecord::new(
        config.source_partition(),
        offset.clone(),
        ConnectRecord {
            topic: table.topic.clone(),
            value_schema: Some(Arc::clone(&table.envelope_schema)),
            value: Value::Struct(envelope),
            timestamp: Some(source.ts_ms),
            ..ConnectRecord::default()
        },
    ))
}

/// Debezium's heartbeat topic: `__debezium-heartbeat.<prefix>`.
pub fn heartbeat_topic(config: &SourceConfig) -> String {
    format!("__debezium-heartbeat.{}", config.topic_prefix)
}

/// A heartbeat record carrying `offset` (key `{serverName}`, value `{ts_ms}`, as Debezium's).
///
/// # Errors
/// None in practice (fixed schemas).
pub fn heartbeat_record(config: &SourceConfig, offset: &JsonMap) -> Result<SourceRecord> {
    use crate::data::{Schema, SchemaType};
    let key_schema = Schema::struct_builder()
        .name("io.debezium.connector.common.ServerNameKey")
        .field("serverName", Schema::string())
        .build_ref();
    let value_schema = Schema::struct_builder()
        .name("io.debezium.connector.common.Heartbeat")
        .field("ts_ms", Schema::primitive(SchemaType::Int64))
        .build_ref();
    let now = jiff::Timestamp::now().as_millisecond();
    let key =
        Struct::new(Arc::clone(&key_schema))?.with("serverName", config.topic_prefix.as_str())?;
    let value = Struct::new(Arc::clone(&value_schema))?.with("ts_ms", Value::Int64(now))?;
    Ok(SourceRecord::new(
        config.source_partition(),
        offset.clone(),
        ConnectRecord {
            topic: heartbeat_topic(config),
            key_schema: Some(key_schema),
            key: Value::Struct(key),
            value_schema: Some(value_schema),
            value: Value::Struct(value),
            timestamp: Some(now),
            ..ConnectRecord::default()
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_position_covers_what_was_emitted_and_nothing_after() {
        let mid = Position { lsn: 100, event: 2 };
        assert!(mid.covers(99, 7), "an earlier transaction");
        assert!(mid.covers(100, 1) && mid.covers(100, 2));
        assert!(
            !mid.covers(100, 3),
            "the next event of the same transaction"
        );
        assert!(!mid.covers(101, 1));
        let after = Position { lsn: 150, event: 0 };
        assert!(
            !after.covers(150, 1),
            "a transaction committing at the end of the last one"
        );
        let mut offset = JsonMap::new();
        mid.write(&mut offset);
        assert_eq!(Position::read(&offset), Some(mid));
    }
}
