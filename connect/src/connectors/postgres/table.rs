//! A captured table's shape and the Connect schemas Debezium gives its events: the key
//! (`<topic>.Key`, the primary key), the row (`<topic>.Value`), the source block
//! (`io.debezium.connector.postgresql.Source`) and the envelope (`<topic>.Envelope`:
//! before, after, source, transaction, op, ts_ms).

use std::sync::{Arc, OnceLock};

use super::types::{self, TypeMapping};
use crate::data::{Schema, SchemaRef, SchemaType, Struct, Value};
use crate::error::Result;

/// A column of a captured table.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// Its name.
    pub name: String,
    /// Its type's OID.
    pub type_oid: u32,
    /// Its type modifier.
    pub type_modifier: i32,
    /// Whether it may be null.
    pub optional: bool,
    /// Part of the primary key.
    pub key: bool,
    /// Left out of events (`column.exclude.list`).
    pub excluded: bool,
    /// Its Connect schema.
    pub schema: SchemaRef,
    /// The SQL type (`format_type`), for casts.
    pub type_name: String,
}

/// A captured table and its event schemas.
#[derive(Debug, Clone)]
pub struct Table {
    /// The table's OID.
    pub oid: u32,
    /// Its schema (namespace).
    pub schema: String,
    /// Its name.
    pub name: String,
    /// REPLICA IDENTITY FULL: updates and deletes carry the whole before image.
    pub replica_identity_full: bool,
    /// Its columns, in table order.
    pub columns: Vec<Column>,
    /// `<prefix>.<schema>.<table>`.
    pub topic: String,
    /// The key schema; `None` for a table without a primary key.
    pub key_schema: Option<SchemaRef>,
    /// The row schema.
    pub value_schema: SchemaRef,
    /// The envelope schema.
    pub envelope_schema: SchemaRef,
}

/// A column as read from the catalog or a Relation message.
#[derive(Debug, Clone)]
pub struct ColumnSpec {
    /// Name.
    pub name: String,
    /// Type OID.
    pub type_oid: u32,
    /// Type modifier.
    pub type_modifier: i32,
    /// NOT NULL.
    pub not_null: bool,
    /// Primary key.
    pub key: bool,
    /// Excluded from events.
    pub excluded: bool,
    /// The SQL type (`format_type`), for casts.
    pub type_name: String,
}

/// Debezium's Source block schema.
pub fn source_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let opt_i64 = || Schema::optional_primitive(SchemaType::Int64);
            Schema::struct_builder()
                .name("io.debezium.connector.postgresql.Source")
                .field("version", Schema::string())
                .field("connector", Schema::string())
                .field("name", Schema::string())
                .field("ts_ms", Schema::primitive(SchemaType::Int64))
                .field(
                    "snapshot",
                    Schema::builder(SchemaType::String)
                        .optional()
                        .name("io.debezium.data.Enum")
                        .version(1)
                        .parameter("allowed", "true,first,first_in_data_collection,last_in_data_collection,last,false,incremental")
                        .default_value(Value::String("false".into()))
                        .build_ref(),
                )
                .field("db", Schema::string())
                .field("sequence", Schema::optional_string())
                .field("ts_us", opt_i64())
                .field("ts_ns", opt_i64())
                .field("schema", Schema::string())
                .field("table", Schema::string())
                .field("txId", opt_i64())
                .field("lsn", opt_i64())
                .field("xmin", opt_i64())
                .build_ref()
        })
        .clone()
}

/// Debezium's transaction block schema (`event.block`).
pub fn transaction_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            Schema::struct_builder()
                .optional()
                .name("event.block")
                .version(1)
                .field("id", Schema::string())
                .field("total_order", Schema::primitive(SchemaType::Int64))
                .field(
                    "data_collection_order",
                    Schema::primitive(SchemaType::Int64),
                )
                .build_ref()
        })
        .clone()
}

/// Whether a column's schema is optional: nullable columns, and variable-length (TOASTable)
/// ones, whose unchanged value an update may leave out under `toast.fill=omit`.
fn optional(c: &ColumnSpec) -> bool {
    !c.key && (!c.not_null || types::toastable(c.type_oid))
}

impl Table {
    /// A table of these columns, with its schemas.
    pub fn new(
        oid: u32,
        schema: &str,
        name: &str,
        replica_identity_full: bool,
        specs: Vec<ColumnSpec>,
        prefix: &str,
        mapping: TypeMapping,
    ) -> Table {
        let topic = format!("{prefix}.{schema}.{name}");
        let columns: Vec<Column> = specs
            .into_iter()
            .map(|c| {
                let optional = optional(&c);
                Column {
                    schema: types::schema(c.type_oid, c.type_modifier, optional, mapping),
                    name: c.name,
                    type_oid: c.type_oid,
                    type_modifier: c.type_modifier,
                    optional,
                    key: c.key,
                    excluded: c.excluded,
                    type_name: c.type_name,
                }
            })
            .collect();
        let mut value = Schema::struct_builder()
            .optional()
            .name(format!("{topic}.Value"));
        for c in columns.iter().filter(|c| !c.excluded) {
            value = value.field(c.name.clone(), c.schema.clone());
        }
        let value_schema = value.build_ref();
        let key_schema = columns.iter().any(|c| c.key).then(|| {
            let mut key = Schema::struct_builder().name(format!("{topic}.Key"));
            for c in columns.iter().filter(|c| c.key) {
                key = key.field(c.name.clone(), c.schema.clone());
            }
            key.build_ref()
        });
        let envelope_schema = Schema::struct_builder()
            .name(format!("{topic}.Envelope"))
            .version(1)
            .field("before", value_schema.clone())
            .field("after", value_schema.clone())
            .field("source", source_schema())
            .field("transaction", transaction_schema())
            .field("op", Schema::string())
            .field("ts_ms", Schema::optional_primitive(SchemaType::Int64))
            .build_ref();
        Table {
            oid,
            schema: schema.to_owned(),
            name: name.to_owned(),
            replica_identity_full,
            columns,
            topic,
            key_schema,
            value_schema,
            envelope_schema,
        }
    }

    /// `schema.table`.
    pub fn full_name(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }

    /// The row struct of these values (one per column, in column order).
    ///
    /// # Errors
    /// A value that does not fit its column's schema.
    pub fn row(&self, values: &[Value]) -> Result<Value> {
        let mut row = Struct::new(Arc::clone(&self.value_schema))?;
        for (column, value) in self.columns.iter().zip(values) {
            if !column.excluded {
                row.put(&column.name, value.clone())?;
            }
        }
        Ok(Value::Struct(row))
    }

    /// The key struct of a row's values; `Null` for a table without a primary key.
    ///
    /// # Errors
    /// A value that does not fit its column's schema.
    pub fn key(&self, values: &[Value]) -> Result<Value> {
        let Some(schema) = &self.key_schema else {
            return Ok(Value::Null);
        };
        let mut key = Struct::new(Arc::clone(schema))?;
        for (column, value) in self.columns.iter().zip(values) {
            if column.key {
                key.put(&column.name, value.clone())?;
            }
        }
        Ok(Value::Struct(key))
    }

    /// Whether the table has a primary key.
    pub fn has_key(&self) -> bool {
        self.key_schema.is_some()
    }
}
