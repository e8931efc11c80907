//! The initial snapshot: every captured table read in primary-key order, one chunk
//! (`snapshot.fetch.size` rows) per `poll`, inside one REPEATABLE READ transaction that
//! imported the replication slot's exported snapshot. The slot was created at the same
//! instant, so streaming from it afterwards starts exactly where the snapshot's view ends: no
//! gap, no duplicate.
//!
//! Resumable: each `r` event's source offset names its table and chunk key
//! (`snapshot_table`, `snapshot_key`). A task restarted mid-snapshot continues after the last
//! committed key, not from zero. The exported snapshot does not survive the restart, so the
//! remaining chunks are read under a new snapshot; the slot still holds every change since its
//! consistent point, and streaming replays them after the snapshot, so each key's last event
//! is the table's value (an `r` event read after the restart may show a row newer than a
//! streamed event that follows it). Tables without a primary key are chunked by `ctid`.

use std::sync::Arc;

use serde_json::Value as Json;
use sqlx::postgres::PgConnection;
use sqlx::{Executor, Row};

use super::catalog::{quote_ident, quote_literal, sql_error};
use super::config::SourceConfig;
use super::events::{change_records, EventSource, Position, RowChange};
use super::table::Table;
use super::types;
use crate::data::Value;
use crate::error::Result;
use crate::record::{JsonMap, SourceRecord};

/// Where a snapshot stands, as its offsets record it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotProgress {
    /// `schema.table` being read.
    pub table: String,
    /// The chunk key of the last row emitted (primary key columns' text, or the ctid).
    pub key: Vec<String>,
}

impl SnapshotProgress {
    /// The progress in a committed offset, if the offset is mid-snapshot.
    pub fn read(offset: &JsonMap) -> Option<SnapshotProgress> {
        if offset.get("snapshot").and_then(Json::as_bool) != Some(true) {
            return None;
        }
        Some(SnapshotProgress {
            table: offset.get("snapshot_table")?.as_str()?.to_owned(),
            key: offset
                .get("snapshot_key")?
                .as_array()?
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
        })
    }
}

/// Reads the captured tables chunk by chunk.
pub struct SnapshotReader {
    conn: PgConnection,
    tables: Vec<Arc<Table>>,
    index: usize,
    last_key: Option<Vec<String>>,
    chunk: usize,
    /// The slot's consistent point: where streaming starts.
    pub consistent_lsn: u64,
    rows: u64,
}

impl SnapshotReader {
    /// Opens the snapshot transaction (importing `exported` when given) and positions after
    /// `resume`.
    ///
    /// # Errors
    /// SQL errors (an exported snapshot that is gone).
    pub async fn open(
        mut conn: PgConnection,
        tables: Vec<Arc<Table>>,
        exported: Option<&str>,
        resume: Option<SnapshotProgress>,
        consistent_lsn: u64,
        chunk: usize,
    ) -> Result<SnapshotReader> {
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await
            .map_err(|e| sql_error("starting the snapshot transaction", &e))?;
        if let Some(name) = exported {
            conn.execute(format!("SET TRANSACTION SNAPSHOT {}", quote_literal(name)).as_str())
                .await
                .map_err(|e| sql_error("importing the slot's exported snapshot", &e))?;
        }
        let (index, last_key) = match resume {
            Some(progress) => match tables.iter().position(|t| t.full_name() == progress.table) {
                Some(i) => (i, Some(progress.key)),
                None => (0, None),
            },
            None => (0, None),
        };
        Ok(SnapshotReader {
            conn,
            tables,
            index,
            last_key,
            chunk,
            consistent_lsn,
            rows: 0,
        })
    }

    /// Rows emitted so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    fn chunk_sql(&self, table: &Table) -> String {
        let mut select: Vec<String> = table
            .columns
            .iter()
            .enumerate()
            // Aliased: ORDER BY must see the table's (typed) column, not a text output column.
            .map(|(i, c)| format!("{}::text AS _c{i}", quote_ident(&c.name)))
            .collect();
        let keys: Vec<(String, String)> = if table.has_key() {
            table
                .columns
                .iter()
                .filter(|c| c.key)
                .map(|c| (quote_ident(&c.name), c.type_name.clone()))
                .collect()
        } else {
            select.push("ctid::text AS _ctid".to_owned());
            vec![("ctid".to_owned(), "tid".to_owned())]
        };
        let mut sql = format!(
            "SELECT {} FROM {}.{}",
            select.join(", "),
            quote_ident(&table.schema),
            quote_ident(&table.name)
        );
        let names: Vec<&str> = keys.iter().map(|(n, _)| n.as_str()).collect();
        if self.last_key.is_some() {
            let params: Vec<String> = keys
                .iter()
                .enumerate()
                .map(|(i, (_, ty))| format!("${}::text::{ty}", i + 1))
                .collect();
            sql.push_str(&format!(
                " WHERE ({}) > ({})",
                names.join(", "),
                params.join(", ")
            ));
        }
        sql.push_str(&format!(
            " ORDER BY {} LIMIT {}",
            names.join(", "),
            self.chunk
        ));
        sql
    }

    /// The next chunk's records; `None` once every table was read (the transaction is then
    /// ended).
    ///
    /// # Errors
    /// SQL errors; values that do not parse.
    pub async fn next_chunk(&mut self, config: &SourceConfig) -> Result<Option<Vec<SourceRecord>>> {
        loop {
            let Some(table) = self.tables.get(self.index).cloned() else {
                self.conn
                    .execute("COMMIT")
                    .await
                    .map_err(|e| sql_error("ending the snapshot transaction", &e))?;
                return Ok(None);
            };
            let sql = self.chunk_sql(&table);
            let mut query = sqlx::query(&sql);
            if let Some(key) = &self.last_key {
                for part in key {
                    query = query.bind(part.as_str());
                }
            }
            let rows = query
                .fetch_all(&mut self.conn)
                .await
                .map_err(|e| sql_error(&format!("snapshot of {}", table.full_name()), &e))?;
            if rows.is_empty() {
                self.index += 1;
                self.last_key = None;
                continue;
            }
            let now = jiff::Timestamp::now().as_millisecond();
            let source = EventSource {
                ts_ms: now,
                snapshot: Some("true"),
                tx_id: None,
                lsn: Some(self.consistent_lsn),
            };
            let mut out = Vec::with_capacity(rows.len());
            let n = table.columns.len();
            for row in &rows {
                let mut values = Vec::with_capacity(n);
                let mut texts = Vec::with_capacity(n);
                for (i, column) in table.columns.iter().enumerate() {
                    let text: Option<String> = row
                        .try_get(i)
                        .map_err(|e| sql_error("reading a snapshot row", &e))?;
                    values.push(match &text {
                        Some(t) => types::parse(t, column.type_oid, &column.schema)?,
                        None => Value::Null,
                    });
                    texts.push(text);
                }
                let key: Vec<String> = if table.has_key() {
                    table
                        .columns
                        .iter()
                        .zip(&texts)
                        .filter(|(c, _)| c.key)
                        .map(|(_, t)| t.clone().unwrap_or_default())
                        .collect()
                } else {
                    vec![row
                        .try_get::<String, _>(n)
                        .map_err(|e| sql_error("reading a snapshot ctid", &e))?]
                };
                let mut offset = JsonMap::new();
                Position {
                    lsn: self.consistent_lsn,
                    event: 0,
                }
                .write(&mut offset);
                offset.insert("snapshot".to_owned(), Json::Bool(true));
                offset.insert("snapshot_table".to_owned(), Json::from(table.full_name()));
                offset.insert(
                    "snapshot_key".to_owned(),
                    Json::Array(key.iter().cloned().map(Json::from).collect()),
                );
                let change = RowChange {
                    op: "r",
                    before: None,
                    after: Some(&values),
                    unchanged_toasted: Vec::new(),
                };
                out.extend(change_records(config, &table, &change, &source, &offset)?);
                self.last_key = Some(key);
            }
            self.rows += out.len() as u64;
            if rows.len() < self.chunk {
                self.index += 1;
                self.last_key = None;
            }
            return Ok(Some(out));
        }
    }
}
