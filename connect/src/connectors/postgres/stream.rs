//! Streaming: pgoutput messages from the replication connection become change records.
//!
//! Every change message of a transaction gets a 1-based index; with the transaction's commit
//! LSN it is the event's [`Position`]. The last record of a transaction, once its Commit is
//! seen, carries the position after it (the commit's end LSN), as do heartbeats on an idle
//! stream (the server's WAL end from keepalives), so the slot can advance past work that
//! produced no record. Events a committed position already covers are skipped after a
//! restart or a reconnect: none lost, none repeated.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use pgwire_replication::ReplicationEvent;
use sqlx::PgPool;

use super::catalog;
use super::config::{SourceConfig, ToastFill};
use super::events::{change_records, truncate_record, EventSource, Position, RowChange};
use super::pgoutput::{self, Cell, Change, Relation};
use super::table::{ColumnSpec, Table};
use super::types;
use crate::data::Value;
use crate::error::Result;
use crate::record::{JsonMap, SourceRecord};

/// The transaction being read.
#[derive(Debug, Clone, Copy)]
struct Tx {
    commit_lsn: u64,
    xid: u32,
    ts_ms: i64,
    index: u64,
}

/// A bounded map of the last row values seen per key, for `toast.fill=cache`; the oldest
/// entry is evicted when full.
#[derive(Debug, Default)]
pub struct ToastCache {
    capacity: usize,
    rows: HashMap<(u32, String), Vec<Value>>,
    order: VecDeque<(u32, String)>,
}

impl ToastCache {
    /// A cache of at most `capacity` rows.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            ..Self::default()
        }
    }

    fn get(&self, table: u32, key: &str) -> Option<&Vec<Value>> {
        self.rows.get(&(table, key.to_owned()))
    }

    fn put(&mut self, table: u32, key: String, values: Vec<Value>) {
        if self.capacity == 0 {
            return;
        }
        let id = (table, key);
        if self.rows.insert(id.clone(), values).is_none() {
            self.order.push_back(id);
            while self.order.len() > self.capacity {
                if let Some(old) = self.order.pop_front() {
                    self.rows.remove(&old);
                }
            }
        }
    }

    fn remove(&mut self, table: u32, key: &str) {
        self.rows.remove(&(table, key.to_owned()));
    }
}

/// Turns replication events into records.
pub struct StreamDecoder {
    config: Arc<SourceConfig>,
    pool: PgPool,
    /// Captured tables by OID (from the catalog at start, then from Relation messages).
    pub tables: HashMap<u32, Arc<Table>>,
    tx: Option<Tx>,
    /// Events at or before this position are skipped (the committed position at start).
    pub resume: Position,
    /// The position after the last event read (emitted or skipped).
    pub position: Position,
    /// The server's WAL end from the last keepalive.
    pub wal_end: u64,
    toast: ToastCache,
}

impl StreamDecoder {
    /// A decoder resuming after `resume`.
    pub fn new(
        config: Arc<SourceConfig>,
        pool: PgPool,
        tables: Vec<Arc<Table>>,
        resume: Position,
    ) -> Self {
        let toast = ToastCache::new(match config.toast_fill {
            ToastFill::Cache => config.toast_cache_rows,
            ToastFill::Omit => 0,
        });
        Self {
            tables: tables.into_iter().map(|t| (t.oid, t)).collect(),
            config,
            pool,
            tx: None,
            resume,
            position: resume,
            wal_end: 0,
            toast,
        }
    }

    /// Whether a transaction is half read.
    pub fn in_transaction(&self) -> bool {
        self.tx.is_some()
    }

    /// Forgets a half-read transaction (the connection broke; the server sends it again).
    pub fn reset(&mut self) {
        self.tx = None;
        self.resume = self.resume.max(self.position);
    }

    /// The position a heartbeat may carry now (between transactions only).
    pub fn idle_position(&self) -> Position {
        Position {
            lsn: self.position.lsn.max(self.wal_end),
            event: if self.wal_end > self.position.lsn {
                0
            } else {
                self.position.event
            },
        }
    }

    /// Handles one event, appending its records to `out`.
    ///
    /// # Errors
    /// Malformed messages, values that do not parse, catalog errors.
    pub async fn handle(
        &mut self,
        event: ReplicationEvent,
        out: &mut Vec<SourceRecord>,
    ) -> Result<()> {
        match event {
            ReplicationEvent::Begin {
                final_lsn,
                xid,
                commit_time_micros,
            } => {
                let unix_micros =
                    pgwire_replication::protocol::pg_to_unix_timestamp(commit_time_micros);
                self.tx = Some(Tx {
                    commit_lsn: final_lsn.as_u64(),
                    xid,
                    ts_ms: unix_micros.div_euclid(1000),
                    index: 0,
                });
            }
            ReplicationEvent::Commit { lsn, end_lsn, .. } => {
                let commit = self.tx.take().map_or(lsn.as_u64(), |t| t.commit_lsn);
                let after = Position {
                    lsn: end_lsn.as_u64(),
                    event: 0,
                };
                // The transaction's last record now says the whole of it is done, so the slot
                // may pass its commit once that record is committed.
                if let Some(last) = out.last_mut() {
                    if Position::read(&last.source_offset).is_some_and(|p| p.lsn == commit) {
                        after.write(&mut last.source_offset);
                    }
                }
                self.position = self.position.max(after);
            }
            ReplicationEvent::KeepAlive { wal_end, .. } => {
                self.wal_end = self.wal_end.max(wal_end.as_u64());
            }
            ReplicationEvent::XLogData {
                wal_start, data, ..
            } => {
                let change = pgoutput::decode(&data)?;
                self.change(change, wal_start.as_u64(), out).await?;
            }
            ReplicationEvent::Message { .. } | ReplicationEvent::StoppedAt { .. } => {}
        }
        Ok(())
    }

    async fn relation(&mut self, relation: Relation) -> Result<()> {
        if !self.config.captures(&relation.namespace, &relation.name) {
            self.tables.remove(&relation.oid);
            return Ok(());
        }
        // NOT NULL and the primary key are not in the Relation message: the catalog has them.
        let catalog = catalog::columns(
            &self.pool,
            &self.config,
            relation.oid,
            &relation.namespace,
            &relation.name,
        )
        .await?;
        let specs = relation
            .columns
            .iter()
            .map(|c| {
                let known = catalog.iter().find(|k| k.name == c.name);
                ColumnSpec {
                    name: c.name.clone(),
                    type_oid: c.type_oid,
                    type_modifier: c.type_modifier,
                    not_null: known.is_some_and(|k| k.not_null),
                    key: known.map_or(c.key, |k| k.key),
                    excluded: self.config.excludes_column(
                        &relation.namespace,
                        &relation.name,
                        &c.name,
                    ),
                    type_name: known.map(|k| k.type_name.clone()).unwrap_or_default(),
                }
            })
            .collect();
        let table = Table::new(
            relation.oid,
            &relation.namespace,
            &relation.name,
            relation.replica_identity == b'f',
            specs,
            &self.config.topic_prefix,
            self.config.mapping,
        );
        self.tables.insert(relation.oid, Arc::new(table));
        Ok(())
    }

    fn values(table: &Table, cells: &[Cell]) -> Result<(Vec<Value>, Vec<usize>)> {
        let mut values = Vec::with_capacity(table.columns.len());
        let mut toasted = Vec::new();
        for (i, column) in table.columns.iter().enumerate() {
            values.push(match cells.get(i) {
                Some(Cell::Text(text)) => types::parse(text, column.type_oid, &column.schema)?,
                Some(Cell::UnchangedToast) => {
                    toasted.push(i);
                    Value::Null
                }
                Some(Cell::Null) | None => Value::Null,
            });
        }
        Ok((values, toasted))
    }

    async fn change(
        &mut self,
        change: Change,
        lsn: u64,
        out: &mut Vec<SourceRecord>,
    ) -> Result<()> {
        if let Change::Relation(relation) = change {
            return self.relation(relation).await;
        }
        if matches!(change, Change::Other(_)) {
            return Ok(());
        }
        let Some(tx) = self.tx.as_mut() else {
            return Ok(());
        };
        tx.index += 1;
        let tx = *tx;
        let here = Position {
            lsn: tx.commit_lsn,
            event: tx.index,
        };
        self.position = self.position.max(here);
        if self.resume.covers(tx.commit_lsn, tx.index) {
            return Ok(());
        }
        let mut offset = JsonMap::new();
        here.write(&mut offset);
        offset.insert("txId".to_owned(), tx.xid.into());
        offset.insert("ts_usec".to_owned(), (tx.ts_ms * 1000).into());
        let source = EventSource {
            ts_ms: tx.ts_ms,
            snapshot: None,
            tx_id: Some(i64::from(tx.xid)),
            lsn: Some(lsn),
        };
        match change {
            Change::Insert { relation, new } => {
                let Some(table) = self.tables.get(&relation).cloned() else {
                    return Ok(());
                };
                let (after, _) = Self::values(&table, &new)?;
                self.remember(&table, &after);
                if self.config.emits("c") {
                    let change = RowChange {
                        op: "c",
                        before: None,
                        after: Some(&after),
                        unchanged_toasted: Vec::new(),
                    };
                    out.extend(change_records(
                        &self.config,
                        &table,
                        &change,
                        &source,
                        &offset,
                    )?);
                }
            }
            Change::Update { relation, old, new } => {
                let Some(table) = self.tables.get(&relation).cloned() else {
                    return Ok(());
                };
                let before = match &old {
                    Some(cells) => Some(Self::values(&table, cells)?.0),
                    None => None,
                };
                let (mut after, toasted) = Self::values(&table, &new)?;
                let mut unchanged = Vec::new();
                for i in toasted {
                    let from_before = before
                        .as_ref()
                        .filter(|_| table.replica_identity_full)
                        .and_then(|b| b.get(i))
                        .filter(|v| !v.is_null())
                        .cloned();
                    let filled = from_before.or_else(|| {
                        let key = key_text(&table, &after);
                        self.toast
                            .get(table.oid, &key)
                            .and_then(|row| row.get(i))
                            .cloned()
                    });
                    match filled {
                        Some(value) => after[i] = value,
                        None => unchanged.push(table.columns[i].name.clone()),
                    }
                }
                self.remember(&table, &after);
                if self.config.emits("u") {
                    let change = RowChange {
                        op: "u",
                        // Under REPLICA IDENTITY DEFAULT the old tuple has only the key, and
                        // only when the key changed: Debezium then leaves `before` null.
                        before: before.as_deref().filter(|_| table.replica_identity_full),
                        after: Some(&after),
                        unchanged_toasted: unchanged,
                    };
                    out.extend(change_records(
                        &self.config,
                        &table,
                        &change,
                        &source,
                        &offset,
                    )?);
                }
            }
            Change::Delete { relation, old } => {
                let Some(table) = self.tables.get(&relation).cloned() else {
                    return Ok(());
                };
                let (before, _) = Self::values(&table, &old)?;
                self.toast.remove(table.oid, &key_text(&table, &before));
                if self.config.emits("d") {
                    let change = RowChange {
                        op: "d",
                        before: Some(&before),
                        after: None,
                        unchanged_toasted: Vec::new(),
                    };
                    out.extend(change_records(
                        &self.config,
                        &table,
                        &change,
                        &source,
                        &offset,
                    )?);
                }
            }
            Change::Truncate { relations } => {
                if self.config.emits("t") {
                    for oid in relations {
                        if let Some(table) = self.tables.get(&oid).cloned() {
                            out.push(truncate_record(&self.config, &table, &source, &offset)?);
                        }
                    }
                }
            }
            Change::Relation(_) | Change::Other(_) => {}
        }
        Ok(())
    }

    fn remember(&mut self, table: &Table, values: &[Value]) {
        if self.config.toast_fill == ToastFill::Cache && table.has_key() {
            let key = key_text(table, values);
            self.toast.put(table.oid, key, values.to_vec());
        }
    }
}

fn key_text(table: &Table, values: &[Value]) -> String {
    table
        .columns
        .iter()
        .zip(values)
        .filter(|(c, _)| c.key)
        .map(|(_, v)| format!("{v:?}"))
        .collect::<Vec<_>>()
        .join("\u{1f}")
}
