//! The Connect data model: a [`Schema`] and a [`Value`] that follows it, as in Kafka Connect's
//! `org.apache.kafka.connect.data` package.
//!
//! Every connector produces and consumes records in this model, so converters (bytes <->
//! model) and transforms (model -> model) work with any connector. A value may come without a
//! schema (schemaless JSON): then a struct-like value is a [`Value::Map`] with string keys.
//!
//! Logical types (Decimal, Date, Time, Timestamp) are, as in Kafka, a primitive schema with a
//! well-known name; their values are stored in the primitive form (see [`logical`]), so a
//! converter or a transform that does not know them still carries them unchanged.

pub mod logical;
mod schema;
mod value;

pub use schema::{Field, Schema, SchemaBuilder, SchemaType};
pub use value::{Struct, Value};

use std::sync::Arc;

/// A shared, immutable schema: records of one source usually share one.
pub type SchemaRef = Arc<Schema>;

/// A value with the schema it follows (none for schemaless data), what converters return.
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaAndValue {
    /// The schema, or `None` for schemaless data.
    pub schema: Option<SchemaRef>,
    /// The value; [`Value::Null`] for a null (tombstone) record part.
    pub value: Value,
}

impl SchemaAndValue {
    /// A null value without a schema.
    pub fn null() -> Self {
        Self {
            schema: None,
            value: Value::Null,
        }
    }

    /// A value with a schema.
    pub fn new(schema: Option<SchemaRef>, value: Value) -> Self {
        Self { schema, value }
    }
}
