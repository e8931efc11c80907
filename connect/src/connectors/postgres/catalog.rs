//! The source's SQL side (sqlx): connecting with a clear error, checking `wal_level`, finding
//! the captured tables and their columns, the publication, and the replication slot's state.

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool, Row};

use super::config::{PublicationMode, SourceConfig};
use super::table::{ColumnSpec, Table};
use crate::error::{ConnectError, Result};

/// Quotes an identifier for SQL.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Quotes a literal for SQL.
pub fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Connection options of the source database (UTC, ISO dates: what [`super::types`] parses).
pub fn options(config: &SourceConfig) -> PgConnectOptions {
    PgConnectOptions::new()
        .host(&config.host)
        .port(config.port)
        .username(&config.user)
        .password(&config.password)
        .database(&config.dbname)
        .application_name("fjord-postgres-cdc")
        .options([
            ("TimeZone", "UTC"),
            ("DateStyle", "ISO"),
            ("extra_float_digits", "3"),
        ])
        .disable_statement_logging()
}

/// What went wrong connecting, in words a user can act on.
pub fn connect_error(config: &SourceConfig, e: &sqlx::Error) -> ConnectError {
    ConnectError::Other(format!(
        "cannot connect to Postgres at {}:{} database '{}' as user '{}': {e}",
        config.host, config.port, config.dbname, config.user
    ))
}

/// A small pool for catalog and admin queries.
///
/// # Errors
/// The server cannot be reached or refuses the login.
pub async fn pool(config: &SourceConfig) -> Result<PgPool> {
    PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options(config))
        .await
        .map_err(|e| connect_error(config, &e))
}

/// One connection of its own (the snapshot's).
///
/// # Errors
/// As [`pool`].
pub async fn connection(config: &SourceConfig) -> Result<PgConnection> {
    PgConnection::connect_with(&options(config))
        .await
        .map_err(|e| connect_error(config, &e))
}

/// An SQL error with what was being done.
pub fn sql_error(what: &str, e: &sqlx::Error) -> ConnectError {
    ConnectError::Other(format!("postgres: {what}: {e}"))
}

/// Checks `wal_level=logical`.
///
/// # Errors
/// Another level, with the fix.
pub async fn check_wal_level(pool: &PgPool) -> Result<()> {
    let level: String = sqlx::query_scalar("SHOW wal_level")
        .fetch_one(pool)
        .await
        .map_err(|e| sql_error("SHOW wal_level", &e))?;
    if level != "logical" {
        return Err(ConnectError::Config(format!(
            "the server's wal_level is '{level}'; logical replication needs wal_level = logical in postgresql.conf (then restart Postgres)"
        )));
    }
    Ok(())
}

/// The tables `config` captures, with their columns.
///
/// # Errors
/// SQL errors; a `table.include.list` that matches no table.
pub async fn captured_tables(pool: &PgPool, config: &SourceConfig) -> Result<Vec<Table>> {
    let rows = sqlx::query(
        "SELECT c.oid::int8, n.nspname::text, c.relname::text, c.relreplident::text \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
         AND n.nspname NOT LIKE 'pg\\_toast%' ORDER BY 2, 3",
    )
    .fetch_all(pool)
    .await
    .map_err(|e| sql_error("listing tables", &e))?;
    let mut tables = Vec::new();
    for row in rows {
        let oid: i64 = row.get(0);
        let schema: String = row.get(1);
        let name: String = row.get(2);
        let identity: String = row.get(3);
        if !config.captures(&schema, &name) {
            continue;
        }
        let oid = u32::try_from(oid).unwrap_or_default();
        let columns = columns(pool, config, oid, &schema, &name).await?;
        tables.push(Table::new(
            oid,
            &schema,
            &name,
            identity == "f",
            columns,
            &config.topic_prefix,
            config.mapping,
        ));
    }
    if tables.is_empty() && !config.include.is_empty() {
        return Err(ConnectError::Config(format!(
            "table.include.list ({}) matches no table of database '{}'; check the schema.table names",
            config
                .include
                .iter()
                .map(|r| r.as_str().trim_start_matches("^(?:").trim_end_matches(")$"))
                .collect::<Vec<_>>()
                .join(","),
            config.dbname
        )));
    }
    Ok(tables)
}

/// A table's columns from the catalog (NOT NULL and primary key included).
///
/// # Errors
/// SQL errors.
pub async fn columns(
    pool: &PgPool,
    config: &SourceConfig,
    oid: u32,
    schema: &str,
    table: &str,
) -> Result<Vec<ColumnSpec>> {
    let rows = sqlx::query(
        "SELECT a.attname::text, a.atttypid::int8, a.atttypmod, a.attnotnull, \
         COALESCE(a.attnum = ANY(i.indkey), false), format_type(a.atttypid, a.atttypmod) \
         FROM pg_attribute a LEFT JOIN pg_index i ON i.indrelid = a.attrelid AND i.indisprimary \
         WHERE a.attrelid = $1::int8::oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
    )
    .bind(i64::from(oid))
    .fetch_all(pool)
    .await
    .map_err(|e| sql_error("reading columns", &e))?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let name: String = row.get(0);
            let type_oid: i64 = row.get(1);
            ColumnSpec {
                excluded: config.excludes_column(schema, table, &name),
                name,
                type_oid: u32::try_from(type_oid).unwrap_or_default(),
                type_modifier: row.get(2),
                not_null: row.get(3),
                key: row.get(4),
                type_name: row.get(5),
            }
        })
        .collect())
}

/// Creates the publication when it is missing and the mode allows.
///
/// # Errors
/// A missing publication under `disabled`; SQL errors (a user without the right to create
/// publications).
pub async fn ensure_publication(
    pool: &PgPool,
    config: &SourceConfig,
    tables: &[std::sync::Arc<Table>],
) -> Result<()> {
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = $1)")
            .bind(&config.publication_name)
            .fetch_one(pool)
            .await
            .map_err(|e| sql_error("looking up the publication", &e))?;
    if exists {
        return Ok(());
    }
    let name = quote_ident(&config.publication_name);
    let sql = match config.publication_mode {
        PublicationMode::Disabled => {
            return Err(ConnectError::Config(format!(
                "publication '{}' does not exist and publication.autocreate.mode=disabled; create it (CREATE PUBLICATION {name} FOR TABLE ...)",
                config.publication_name
            )))
        }
        PublicationMode::AllTables => format!("CREATE PUBLICATION {name} FOR ALL TABLES"),
        PublicationMode::Filtered => {
            let list: Vec<String> = tables
                .iter()
                .map(|t| format!("{}.{}", quote_ident(&t.schema), quote_ident(&t.name)))
                .collect();
            if list.is_empty() {
                return Err(ConnectError::Config(
                    "publication.autocreate.mode=filtered but no table is captured".to_owned(),
                ));
            }
            format!("CREATE PUBLICATION {name} FOR TABLE {}", list.join(", "))
        }
    };
    sqlx::query(&sql)
        .execute(pool)
        .await
        .map_err(|e| sql_error(&format!("creating publication ({sql})"), &e))?;
    Ok(())
}

/// A replication slot's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotState {
    /// Held by a session.
    pub active: bool,
    /// The pid of that session.
    pub active_pid: Option<i32>,
    /// Its confirmed flush LSN.
    pub confirmed_flush: u64,
    /// How far it lags behind the server's current WAL, in bytes.
    pub lag_bytes: i64,
}

/// The slot's state, if it exists.
///
/// # Errors
/// SQL errors.
pub async fn slot(pool: &PgPool, name: &str) -> Result<Option<SlotState>> {
    let row = sqlx::query(
        "SELECT active, active_pid, \
         COALESCE((confirmed_flush_lsn - '0/0'::pg_lsn)::int8, 0), \
         COALESCE((pg_current_wal_lsn() - confirmed_flush_lsn)::int8, 0) \
         FROM pg_replication_slots WHERE slot_name = $1",
    )
    .bind(name)
    .fetch_optional(pool)
    .await
    .map_err(|e| sql_error("reading the replication slot", &e))?;
    Ok(row.map(|row| SlotState {
        active: row.get(0),
        active_pid: row.get(1),
        confirmed_flush: u64::try_from(row.get::<i64, _>(2)).unwrap_or_default(),
        lag_bytes: row.get(3),
    }))
}

/// Drops the slot (it must not be active).
///
/// # Errors
/// SQL errors.
pub async fn drop_slot(pool: &PgPool, name: &str) -> Result<()> {
    sqlx::query("SELECT pg_drop_replication_slot($1)")
        .bind(name)
        .execute(pool)
        .await
        .map_err(|e| sql_error(&format!("dropping replication slot '{name}'"), &e))?;
    Ok(())
}

/// The error for a slot another session holds.
pub fn slot_in_use(name: &str, pid: Option<i32>) -> ConnectError {
    ConnectError::Other(format!(
        "replication slot '{name}' is in use by another session (pid {}); stop the other consumer or set another slot.name",
        pid.map_or_else(|| "unknown".to_owned(), |p| p.to_string())
    ))
}
