//! `PostgresSink` (also `io.confluent.connect.jdbc.JdbcSinkConnector`, with its keys): records
//! -> rows of a Postgres table, in one transaction per `put`, one statement per run of
//! records of the same table and kind. Understands Debezium's envelope: `after` is the row,
//! `op=d` deletes by key, `op=t` truncates, so CDC -> topic -> sink needs no transform.
//!
//! Keys (Confluent's): connection.url (`jdbc:postgresql://host:port/db`, or `postgres://`),
//! connection.user, connection.password, insert.mode (insert, upsert, update), pk.mode (none,
//! kafka, record_key, record_value), pk.fields, auto.create, auto.evolve, delete.enabled
//! (tombstones delete rows; needs pk.mode=record_key), table.name.format (`${topic}`; a dotted
//! name is `schema.table`, and with three parts `db.schema.table`), batch.size.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

use async_trait::async_trait;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, Executor, PgConnection};

use super::catalog::sql_error;
use super::sink_values::text;
use super::sink_writer::{InsertMode, Row, SinkTable};
use crate::config::{ConfigDef, ConfigMap, ConfigType, Importance, Validator};
use crate::connector::{Connector, ConnectorType, SinkTask, SinkTaskContext};
use crate::data::{Schema, SchemaRef, SchemaType, Value};
use crate::error::{ConnectError, Result};
use crate::record::{SinkRecord, TopicPartition};

/// `pk.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PkMode {
    /// No key: inserts only.
    None,
    /// `__connect_topic`, `__connect_partition`, `__connect_offset`.
    Kafka,
    /// The record key's fields (or the key itself, named by `pk.fields`).
    RecordKey,
    /// The value's fields named by `pk.fields`.
    RecordValue,
}

/// The sink's keys.
pub fn config_def() -> ConfigDef {
    ConfigDef::new()
        .required("connection.url", ConfigType::String, Importance::High, "jdbc:postgresql://host:port/database (or postgres://user:password@host:port/database).")
        .optional("connection.user", ConfigType::String, "", Importance::High, "The database user.")
        .optional("connection.password", ConfigType::Password, "", Importance::High, "The user's password.")
        .optional("insert.mode", ConfigType::String, "insert", Importance::High, "insert, upsert or update.")
        .validator(Validator::OneOf(vec!["insert", "upsert", "update"]))
        .optional("pk.mode", ConfigType::String, "none", Importance::High, "none, kafka, record_key or record_value.")
        .validator(Validator::OneOf(vec!["none", "kafka", "record_key", "record_value"]))
        .optional("pk.fields", ConfigType::List, "", Importance::Medium, "The primary key's fields (all of the key's with record_key when empty).")
        .optional("auto.create", ConfigType::Boolean, "false", Importance::Medium, "CREATE TABLE from the record's schema when the table is missing.")
        .optional("auto.evolve", ConfigType::Boolean, "false", Importance::Medium, "ALTER TABLE ADD COLUMN for fields the table lacks.")
        .optional("delete.enabled", ConfigType::Boolean, "false", Importance::Medium, "Tombstones (and Debezium deletes) delete the key's row; needs pk.mode=record_key.")
        .optional("table.name.format", ConfigType::String, "${topic}", Importance::Medium, "The table of a topic; ${topic} is replaced. schema.table or db.schema.table names a schema.")
        .optional("batch.size", ConfigType::Int, "3000", Importance::Medium, "The most rows one statement writes.")
        .validator(Validator::Range { min: Some(1), max: None })
}

struct SinkConfig {
    options: PgConnectOptions,
    mode: InsertMode,
    pk_mode: PkMode,
    pk_fields: Vec<String>,
    auto_create: bool,
    auto_evolve: bool,
    delete_enabled: bool,
    table_format: String,
    batch_size: usize,
}

impl SinkConfig {
    fn parse(config: &ConfigMap) -> Result<SinkConfig> {
        let parsed = config_def().parse(config)?;
        let url = parsed.get("connection.url").unwrap_or_default().trim();
        let url = url.strip_prefix("jdbc:").unwrap_or(url);
        let mut options = PgConnectOptions::from_str(url).map_err(|e| {
            ConnectError::Config(format!("connection.url {url:?} is not a Postgres URL: {e}"))
        })?;
        if let Some(user) = parsed.string("connection.user") {
            options = options.username(&user);
        }
        if let Some(password) = parsed.string("connection.password") {
            options = options.password(&password);
        }
        options = options
            .application_name("fjord-postgres-sink")
            .disable_statement_logging();
        let mode = match parsed.get("insert.mode").unwrap_or_default() {
            "upsert" => InsertMode::Upsert,
            "update" => InsertMode::Update,
            _ => InsertMode::Insert,
        };
        let pk_mode = match parsed.get("pk.mode").unwrap_or_default() {
            "kafka" => PkMode::Kafka,
            "record_key" => PkMode::RecordKey,
            "record_value" => PkMode::RecordValue,
            _ => PkMode::None,
        };
        let pk_fields = parsed.list("pk.fields");
        let delete_enabled = parsed.boolean("delete.enabled");
        if delete_enabled && pk_mode != PkMode::RecordKey {
            return Err(ConnectError::Config(
                "delete.enabled=true needs pk.mode=record_key (a tombstone has only its key)"
                    .to_owned(),
            ));
        }
        if mode != InsertMode::Insert && pk_mode == PkMode::None {
            return Err(ConnectError::Config(
                "insert.mode=upsert and update need a primary key: set pk.mode".to_owned(),
            ));
        }
        if pk_mode == PkMode::RecordValue && pk_fields.is_empty() {
            return Err(ConnectError::Config(
                "pk.mode=record_value needs pk.fields".to_owned(),
            ));
        }
        Ok(SinkConfig {
            options,
            mode,
            pk_mode,
            pk_fields,
            auto_create: parsed.boolean("auto.create"),
            auto_evolve: parsed.boolean("auto.evolve"),
            delete_enabled,
            table_format: parsed
                .string("table.name.format")
                .unwrap_or_else(|| "${topic}".to_owned()),
            batch_size: usize::try_from(parsed.long("batch.size")).unwrap_or(3000),
        })
    }

    fn table_of(&self, topic: &str) -> (String, String) {
        let name = self.table_format.replace("${topic}", topic);
        let parts: Vec<&str> = name.split('.').collect();
        match parts.as_slice() {
            [table] => ("public".to_owned(), (*table).to_owned()),
            [schema, table] => ((*schema).to_owned(), (*table).to_owned()),
            [.., schema, table] => ((*schema).to_owned(), (*table).to_owned()),
            [] => ("public".to_owned(), name.clone()),
        }
    }
}

/// The Postgres sink connector.
#[derive(Debug, Clone, Copy, Default)]
pub struct PostgresSinkConnector;

impl Connector for PostgresSinkConnector {
    fn connector_type(&self) -> ConnectorType {
        ConnectorType::Sink
    }

    fn config_def(&self) -> ConfigDef {
        config_def()
    }

    fn task_configs(&self, config: &ConfigMap, max_tasks: usize) -> Result<Vec<ConfigMap>> {
        // Partitions spread over the tasks by the consumer group; every task has the config.
        Ok(vec![config.clone(); max_tasks.max(1)])
    }

    fn sink_task(&self) -> Option<Box<dyn SinkTask>> {
        Some(Box::new(PostgresSinkTask::default()))
    }
}

/// What a record asks of the table.
#[derive(Debug)]
enum Op {
    Write(Row),
    Delete(Row),
    Truncate,
}

/// The Postgres sink task.
#[derive(Default)]
pub struct PostgresSinkTask {
    config: Option<SinkConfig>,
    conn: Option<PgConnection>,
    tables: HashMap<(String, String), SinkTable>,
}

fn is_envelope(value: &Value) -> bool {
    match value {
        Value::Struct(s) => {
            s.schema()
                .name
                .as_deref()
                .is_some_and(|n| n.ends_with(".Envelope"))
                || (s.schema().field("op").is_some() && s.schema().field("after").is_some())
        }
        Value::Map(_) => value.map_get("op").is_some() && value.map_get("after").is_some(),
        _ => false,
    }
}

/// The fields of a struct (or a string-keyed map) as columns.
fn columns_of(value: &Value, only: Option<&[String]>) -> Result<Row> {
    let mut row = Row {
        columns: Vec::new(),
        values: Vec::new(),
        schemas: Vec::new(),
    };
    let wanted = |name: &str| only.is_none_or(|f| f.iter().any(|x| x == name));
    match value {
        Value::Struct(s) => {
            for (field, v) in s.iter() {
                if wanted(&field.name) {
                    row.columns.push(field.name.clone());
                    row.values.push(text(v, Some(&field.schema))?);
                    row.schemas.push(Some(field.schema.clone()));
                }
            }
        }
        Value::Map(entries) => {
            for (k, v) in entries {
                let Some(name) = k.as_str() else { continue };
                if wanted(name) {
                    row.columns.push(name.to_owned());
                    row.values.push(text(v, None)?);
                    row.schemas.push(None);
                }
            }
        }
        other => {
            return Err(ConnectError::Data(format!(
                "the Postgres sink needs a struct (or map) value, not a {} (use a converter with schemas, or a transform)",
                other.type_name()
            )))
        }
    }
    Ok(row)
}

impl PostgresSinkTask {
    fn key_row(config: &SinkConfig, record: &SinkRecord) -> Result<Row> {
        let key = &record.record.key;
        match key {
            Value::Struct(_) | Value::Map(_) => {
                let only = (!config.pk_fields.is_empty()).then_some(config.pk_fields.as_slice());
                columns_of(key, only)
            }
            Value::Null => Err(ConnectError::Data(format!(
                "pk.mode=record_key but the record at {}-{}@{} has no key",
                record.record.topic,
                record.record.partition.unwrap_or(0),
                record.offset
            ))),
            primitive => {
                let name = config
                    .pk_fields
                    .first()
                    .cloned()
                    .unwrap_or_else(|| "__connect_key".to_owned());
                Ok(Row {
                    columns: vec![name],
                    values: vec![text(primitive, record.record.key_schema.as_deref())?],
                    schemas: vec![record.record.key_schema.clone()],
                })
            }
        }
    }

    /// What a record does, and the key columns of its table.
    fn op(config: &SinkConfig, record: &SinkRecord) -> Result<Option<(Op, Vec<String>)>> {
        let value = &record.record.value;
        let mut row_value = value;
        if value.is_null() {
            if !config.delete_enabled {
                return Ok(None);
            }
            let key = Self::key_row(config, record)?;
            let names = key.columns.clone();
            return Ok(Some((Op::Delete(key), names)));
        }
        if is_envelope(value) {
            match value.get_field("op").and_then(Value::as_str) {
                Some("d") => {
                    if !config.delete_enabled {
                        return Ok(None);
                    }
                    let key = Self::key_row(config, record)?;
                    let names = key.columns.clone();
                    return Ok(Some((Op::Delete(key), names)));
                }
                Some("t") => return Ok(Some((Op::Truncate, Vec::new()))),
                _ => match value.get_field("after") {
                    Some(after) if !after.is_null() => row_value = after,
                    _ => return Ok(None),
                },
            }
        }
        let mut row = columns_of(row_value, None)?;
        let key_names = match config.pk_mode {
            PkMode::None => Vec::new(),
            PkMode::RecordValue => config.pk_fields.clone(),
            PkMode::RecordKey => {
                let key = Self::key_row(config, record)?;
                for ((c, v), s) in key.columns.iter().zip(key.values).zip(key.schemas) {
                    if let Some(i) = row.columns.iter().position(|x| x == c) {
                        row.values[i] = v;
                    } else {
                        row.columns.push(c.clone());
                        row.values.push(v);
                        row.schemas.push(s);
                    }
                }
                key.columns
            }
            PkMode::Kafka => {
                let int = |t: SchemaType| Some(Schema::primitive(t));
                let extra: [(&str, String, Option<SchemaRef>); 3] = [
                    (
                        "__connect_topic",
                        record.record.topic.clone(),
                        Some(Schema::string()),
                    ),
                    (
                        "__connect_partition",
                        record.record.partition.unwrap_or(0).to_string(),
                        int(SchemaType::Int32),
                    ),
                    (
                        "__connect_offset",
                        record.offset.to_string(),
                        int(SchemaType::Int64),
                    ),
                ];
                let mut names = Vec::new();
                for (name, v, s) in extra {
                    row.columns.push(name.to_owned());
                    row.values.push(Some(v));
                    row.schemas.push(s);
                    names.push(name.to_owned());
                }
                names
            }
        };
        if key_names.iter().any(|k| !row.columns.contains(k)) {
            return Err(ConnectError::Data(format!(
                "the record at {}@{} has no field for every key column ({})",
                record.record.topic,
                record.offset,
                key_names.join(", ")
            )));
        }
        Ok(Some((Op::Write(row), key_names)))
    }

    async fn table(
        &mut self,
        schema: &str,
        name: &str,
        sample: Option<&Row>,
        key: &[String],
    ) -> Result<SinkTable> {
        let id = (schema.to_owned(), name.to_owned());
        let (Some(config), Some(conn)) = (self.config.as_ref(), self.conn.as_mut()) else {
            return Err(ConnectError::Other(
                "the sink task was not started".to_owned(),
            ));
        };
        let mut table = match self.tables.get(&id) {
            Some(t) => t.clone(),
            None => match SinkTable::load(conn, schema, name).await? {
                Some(t) => t,
                None => {
                    let Some(row) = sample.filter(|_| config.auto_create) else {
                        return Err(ConnectError::Other(format!(
                            "table {schema}.{name} does not exist; create it or set auto.create=true"
                        )));
                    };
                    SinkTable::create(conn, schema, name, row, key).await?;
                    SinkTable::load(conn, schema, name).await?.ok_or_else(|| {
                        ConnectError::Other(format!("table {schema}.{name} vanished after CREATE"))
                    })?
                }
            },
        };
        if let Some(row) = sample {
            let missing = table.missing(row);
            if !missing.is_empty() {
                if !config.auto_evolve {
                    let names: Vec<&str> =
                        missing.iter().map(|&i| row.columns[i].as_str()).collect();
                    return Err(ConnectError::Other(format!(
                        "table {schema}.{name} has no column {}; add it or set auto.evolve=true",
                        names.join(", ")
                    )));
                }
                table.evolve(conn, row, &missing).await?;
            }
        }
        self.tables.insert(id, table.clone());
        Ok(table)
    }

    async fn write_run(&mut self, run: Run) -> Result<()> {
        let table = self
            .table(
                &run.table.0,
                &run.table.1,
                run.rows.first().filter(|_| run.kind == Kind::Write),
                &run.key,
            )
            .await?;
        let (Some(config), Some(conn)) = (self.config.as_ref(), self.conn.as_mut()) else {
            return Ok(());
        };
        match run.kind {
            Kind::Write => {
                for chunk in run.rows.chunks(config.batch_size) {
                    table.write(conn, config.mode, &run.key, chunk).await?;
                }
            }
            Kind::Delete => {
                for chunk in run.rows.chunks(config.batch_size) {
                    table.delete(conn, chunk).await?;
                }
            }
            Kind::Truncate => table.truncate(conn).await?,
        }
        Ok(())
    }

    async fn put_all(&mut self, records: Vec<SinkRecord>) -> Result<()> {
        let Some(config) = self.config.as_ref() else {
            return Err(ConnectError::Other(
                "the sink task was not started".to_owned(),
            ));
        };
        let mut runs: Vec<Run> = Vec::new();
        for record in &records {
            let Some((op, key)) = Self::op(config, record)? else {
                continue;
            };
            let table = config.table_of(&record.record.topic);
            let (kind, row) = match op {
                Op::Write(row) => (Kind::Write, Some(row)),
                Op::Delete(row) => (Kind::Delete, Some(row)),
                Op::Truncate => (Kind::Truncate, None),
            };
            let same = runs.last().is_some_and(|r| {
                r.table == table
                    && r.kind == kind
                    && kind != Kind::Truncate
                    && row
                        .as_ref()
                        .is_some_and(|row| r.rows.first().is_some_and(|f| f.columns == row.columns))
            });
            if !same {
                runs.push(Run {
                    table,
                    kind,
                    key: key.clone(),
                    rows: Vec::new(),
                    index: HashMap::new(),
                });
            }
            if let (Some(run), Some(row)) = (runs.last_mut(), row) {
                run.add(row, config.mode == InsertMode::Insert);
            }
        }
        for run in runs {
            self.write_run(run).await?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Write,
    Delete,
    Truncate,
}

/// Consecutive records of one table, kind and shape: one statement.
struct Run {
    table: (String, String),
    kind: Kind,
    key: Vec<String>,
    rows: Vec<Row>,
    /// Key text -> row index, so a key written twice in a run is written once, with its last
    /// value (one statement cannot touch a row twice).
    index: HashMap<Vec<Option<String>>, usize>,
}

impl Run {
    fn add(&mut self, row: Row, keep_duplicates: bool) {
        if keep_duplicates || self.key.is_empty() {
            self.rows.push(row);
            return;
        }
        let key: Vec<Option<String>> = self
            .key
            .iter()
            .map(|k| {
                row.columns
                    .iter()
                    .position(|c| c == k)
                    .and_then(|i| row.values[i].clone())
            })
            .collect();
        match self.index.get(&key) {
            Some(&i) => self.rows[i] = row,
            None => {
                self.index.insert(key, self.rows.len());
                self.rows.push(row);
            }
        }
    }
}

#[async_trait]
impl SinkTask for PostgresSinkTask {
    async fn start(&mut self, config: ConfigMap, _context: SinkTaskContext) -> Result<()> {
        let config = SinkConfig::parse(&config)?;
        let conn = PgConnection::connect_with(&config.options)
            .await
            .map_err(|e| {
                ConnectError::Other(format!("cannot connect to the sink database: {e}"))
            })?;
        self.conn = Some(conn);
        self.config = Some(config);
        Ok(())
    }

    async fn put(&mut self, records: Vec<SinkRecord>) -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        if self.conn.is_none() {
            let Some(config) = self.config.as_ref() else {
                return Err(ConnectError::Other(
                    "the sink task was not started".to_owned(),
                ));
            };
            let conn = PgConnection::connect_with(&config.options)
                .await
                .map_err(|e| {
                    ConnectError::Retriable(format!("reconnecting to the sink database: {e}"))
                })?;
            self.conn = Some(conn);
        }
        if let Some(conn) = self.conn.as_mut() {
            conn.execute("BEGIN")
                .await
                .map_err(|e| ConnectError::Retriable(sql_error("BEGIN", &e).to_string()))?;
        }
        match self.put_all(records).await {
            Ok(()) => {
                if let Some(conn) = self.conn.as_mut() {
                    if let Err(e) = conn.execute("COMMIT").await {
                        self.conn = None;
                        return Err(ConnectError::Retriable(sql_error("COMMIT", &e).to_string()));
                    }
                }
                Ok(())
            }
            Err(e) => {
                // Nothing of the batch stays; the table cache may describe rolled-back DDL.
                self.tables.clear();
                if let Some(conn) = self.conn.as_mut() {
                    if conn.execute("ROLLBACK").await.is_err() {
                        self.conn = None;
                    }
                }
                Err(e)
            }
        }
    }

    async fn flush(&mut self, _offsets: &BTreeMap<TopicPartition, i64>) -> Result<()> {
        // Every put committed its transaction: nothing is buffered.
        Ok(())
    }

    async fn stop(&mut self) -> Result<()> {
        if let Some(conn) = self.conn.take() {
            let _ = conn.close().await;
        }
        Ok(())
    }
}
