//! How the sink writes one table: its columns (read from the catalog, created by
//! `auto.create`, extended by `auto.evolve`), and one SQL statement per run of rows: an
//! `INSERT ... SELECT FROM UNNEST(text arrays)` (with `ON CONFLICT ... DO UPDATE` for upserts),
//! an `UPDATE ... FROM UNNEST`, or a `DELETE ... WHERE (key) IN (SELECT FROM UNNEST)`. Values
//! go as text and are cast to each column's type in SQL.

use std::collections::HashMap;

use sqlx::{PgConnection, Row as _};

use super::catalog::{quote_ident, sql_error};
use crate::data::SchemaRef;
use crate::error::{ConnectError, Result};

/// `insert.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertMode {
    /// Plain inserts (a duplicate key fails).
    Insert,
    /// Insert or update on the key.
    Upsert,
    /// Update rows that exist.
    Update,
}

/// A row to write: column names with their text values (already in field order).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Column names.
    pub columns: Vec<String>,
    /// Their text values (`None` for null).
    pub values: Vec<Option<String>>,
    /// The schemas of the columns (for `auto.create` / `auto.evolve`), when the record had
    /// one.
    pub schemas: Vec<Option<SchemaRef>>,
}

/// A table the sink writes: schema, name and the types of its columns.
#[derive(Debug, Clone)]
pub struct SinkTable {
    /// Its schema.
    pub schema: String,
    /// Its name.
    pub name: String,
    /// Column name -> SQL type, for casts.
    pub types: HashMap<String, String>,
}

impl SinkTable {
    fn qualified(&self) -> String {
        format!("{}.{}", quote_ident(&self.schema), quote_ident(&self.name))
    }

    /// Reads the table's columns; `None` if it does not exist.
    ///
    /// # Errors
    /// SQL errors.
    pub async fn load(
        conn: &mut PgConnection,
        schema: &str,
        name: &str,
    ) -> Result<Option<SinkTable>> {
        let rows = sqlx::query(
            "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a \
             JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped",
        )
        .bind(schema)
        .bind(name)
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| sql_error("reading the sink table's columns", &e))?;
        if rows.is_empty() {
            return Ok(None);
        }
        Ok(Some(SinkTable {
            schema: schema.to_owned(),
            name: name.to_owned(),
            types: rows.iter().map(|r| (r.get(0), r.get(1))).collect(),
        }))
    }

    /// `CREATE TABLE` for a row's columns with this key.
    ///
    /// # Errors
    /// SQL errors; a column without a schema.
    pub async fn create(
        conn: &mut PgConnection,
        schema: &str,
        name: &str,
        row: &Row,
        key: &[String],
    ) -> Result<()> {
        let mut defs = Vec::new();
        for (column, schema_ref) in row.columns.iter().zip(&row.schemas) {
            let Some(s) = schema_ref else {
                return Err(ConnectError::Data(format!(
                    "auto.create needs a schema for column '{column}' (use a converter with schemas)"
                )));
            };
            let null = if s.optional && !key.contains(column) {
                ""
            } else {
                " NOT NULL"
            };
            defs.push(format!(
                "{} {}{null}",
                quote_ident(column),
                super::sink_values::column_type(s)
            ));
        }
        if !key.is_empty() {
            let cols: Vec<String> = key.iter().map(|k| quote_ident(k)).collect();
            defs.push(format!("PRIMARY KEY ({})", cols.join(", ")));
        }
        let sql = format!(
            "CREATE TABLE IF NOT EXISTS {}.{} ({})",
            quote_ident(schema),
            quote_ident(name),
            defs.join(", ")
        );
        sqlx::query(&sql)
            .execute(&mut *conn)
            .await
            .map_err(|e| sql_error(&format!("auto.create ({sql})"), &e))?;
        Ok(())
    }

    /// Columns of `row` the table lacks.
    pub fn missing(&self, row: &Row) -> Vec<usize> {
        row.columns
            .iter()
            .enumerate()
            .filter(|(_, c)| !self.types.contains_key(*c))
            .map(|(i, _)| i)
            .collect()
    }

    /// `ALTER TABLE ... ADD COLUMN` for the missing columns (nullable, as Confluent's sink).
    ///
    /// # Errors
    /// SQL errors; a column without a schema.
    pub async fn evolve(
        &mut self,
        conn: &mut PgConnection,
        row: &Row,
        missing: &[usize],
    ) -> Result<()> {
        for &i in missing {
            let column = &row.columns[i];
            let Some(s) = &row.schemas[i] else {
                return Err(ConnectError::Data(format!(
                    "auto.evolve needs a schema for column '{column}'"
                )));
            };
            let ty = super::sink_values::column_type(s);
            let sql = format!(
                "ALTER TABLE {} ADD COLUMN IF NOT EXISTS {} {ty}",
                self.qualified(),
                quote_ident(column)
            );
            sqlx::query(&sql)
                .execute(&mut *conn)
                .await
                .map_err(|e| sql_error(&format!("auto.evolve ({sql})"), &e))?;
            self.types.insert(column.clone(), ty.to_owned());
        }
        Ok(())
    }

    fn cast(&self, column: &str) -> String {
        self.types
            .get(column)
            .cloned()
            .unwrap_or_else(|| "text".to_owned())
    }

    fn unnest(&self, columns: &[String]) -> (String, String) {
        let params: Vec<String> = (1..=columns.len())
            .map(|i| format!("${i}::text[]"))
            .collect();
        let aliases: Vec<String> = (0..columns.len()).map(|i| format!("c{i}")).collect();
        (
            format!("UNNEST({}) AS u({})", params.join(", "), aliases.join(", ")),
            columns
                .iter()
                .enumerate()
                .map(|(i, c)| format!("u.c{i}::{}", self.cast(c)))
                .collect::<Vec<_>>()
                .join(", "),
        )
    }

    async fn run(
        conn: &mut PgConnection,
        sql: &str,
        arrays: Vec<Vec<Option<String>>>,
    ) -> Result<u64> {
        let mut query = sqlx::query(sql);
        for array in arrays {
            query = query.bind(array);
        }
        Ok(query
            .execute(&mut *conn)
            .await
            .map_err(|e| sql_error("writing a batch", &e))?
            .rows_affected())
    }

    fn arrays(rows: &[Row], width: usize) -> Vec<Vec<Option<String>>> {
        (0..width)
            .map(|i| {
                rows.iter()
                    .map(|r| r.values.get(i).cloned().flatten())
                    .collect()
            })
            .collect()
    }

    /// Writes rows of one shape (same columns) in one statement.
    ///
    /// # Errors
    /// SQL errors (a duplicate key under `insert.mode=insert`, a type mismatch).
    pub async fn write(
        &self,
        conn: &mut PgConnection,
        mode: InsertMode,
        key: &[String],
        rows: &[Row],
    ) -> Result<u64> {
        let Some(first) = rows.first() else {
            return Ok(0);
        };
        let columns = &first.columns;
        let quoted: Vec<String> = columns.iter().map(|c| quote_ident(c)).collect();
        let (from, selected) = self.unnest(columns);
        let sql = match mode {
            InsertMode::Insert => format!(
                "INSERT INTO {} ({}) SELECT {selected} FROM {from}",
                self.qualified(),
                quoted.join(", ")
            ),
            InsertMode::Upsert => {
                let updates: Vec<String> = columns
                    .iter()
                    .filter(|c| !key.contains(c))
                    .map(|c| format!("{0} = EXCLUDED.{0}", quote_ident(c)))
                    .collect();
                let keys: Vec<String> = key.iter().map(|k| quote_ident(k)).collect();
                let action = if updates.is_empty() {
                    "DO NOTHING".to_owned()
                } else {
                    format!("DO UPDATE SET {}", updates.join(", "))
                };
                format!(
                    "INSERT INTO {} ({}) SELECT {selected} FROM {from} ON CONFLICT ({}) {action}",
                    self.qualified(),
                    quoted.join(", "),
                    keys.join(", ")
                )
            }
            InsertMode::Update => {
                let sets: Vec<String> = columns
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| !key.contains(c))
                    .map(|(i, c)| format!("{} = u.c{i}::{}", quote_ident(c), self.cast(c)))
                    .collect();
                let matches: Vec<String> = columns
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| key.contains(c))
                    .map(|(i, c)| format!("t.{} = u.c{i}::{}", quote_ident(c), self.cast(c)))
                    .collect();
                if sets.is_empty() || matches.is_empty() {
                    return Ok(0);
                }
                format!(
                    "UPDATE {} AS t SET {} FROM {from} WHERE {}",
                    self.qualified(),
                    sets.join(", "),
                    matches.join(" AND ")
                )
            }
        };
        Self::run(conn, &sql, Self::arrays(rows, columns.len())).await
    }

    /// Deletes the rows of these keys (`rows` hold the key columns only).
    ///
    /// # Errors
    /// SQL errors.
    pub async fn delete(&self, conn: &mut PgConnection, rows: &[Row]) -> Result<u64> {
        let Some(first) = rows.first() else {
            return Ok(0);
        };
        let quoted: Vec<String> = first.columns.iter().map(|c| quote_ident(c)).collect();
        let (from, selected) = self.unnest(&first.columns);
        let sql = format!(
            "DELETE FROM {} WHERE ({}) IN (SELECT {selected} FROM {from})",
            self.qualified(),
            quoted.join(", ")
        );
        Self::run(conn, &sql, Self::arrays(rows, first.columns.len())).await
    }

    /// Empties the table (a Debezium truncate event).
    ///
    /// # Errors
    /// SQL errors.
    pub async fn truncate(&self, conn: &mut PgConnection) -> Result<()> {
        sqlx::query(&format!("TRUNCATE {}", self.qualified()))
            .execute(&mut *conn)
            .await
            .map_err(|e| sql_error("truncating", &e))?;
        Ok(())
    }
}
