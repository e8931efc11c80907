//! Values of the Connect data model.

use super::{Field, SchemaRef, SchemaType};
use crate::error::ConnectError;

/// A value of the Connect data model. Logical types are carried in their primitive form
/// (see [`super::logical`]).
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    /// No value (a null field, or a tombstone's value).
    #[default]
    Null,
    /// An int8.
    Int8(i8),
    /// An int16.
    Int16(i16),
    /// An int32 (also Date and Time).
    Int32(i32),
    /// An int64 (also Timestamp).
    Int64(i64),
    /// A float32.
    Float32(f32),
    /// A float64.
    Float64(f64),
    /// A boolean.
    Boolean(bool),
    /// A string.
    String(String),
    /// Bytes (also Decimal's unscaled big-endian two's complement).
    Bytes(Vec<u8>),
    /// An array.
    Array(Vec<Value>),
    /// A map, in insertion order; schemaless JSON objects are maps with string keys.
    Map(Vec<(Value, Value)>),
    /// A struct.
    Struct(Struct),
}

impl Value {
    /// Whether this is [`Value::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The schema type this value belongs to; `None` for null.
    pub fn schema_type(&self) -> Option<SchemaType> {
        Some(match self {
            Value::Null => return None,
            Value::Int8(_) => SchemaType::Int8,
            Value::Int16(_) => SchemaType::Int16,
            Value::Int32(_) => SchemaType::Int32,
            Value::Int64(_) => SchemaType::Int64,
            Value::Float32(_) => SchemaType::Float32,
            Value::Float64(_) => SchemaType::Float64,
            Value::Boolean(_) => SchemaType::Boolean,
            Value::String(_) => SchemaType::String,
            Value::Bytes(_) => SchemaType::Bytes,
            Value::Array(_) => SchemaType::Array,
            Value::Map(_) => SchemaType::Map,
            Value::Struct(_) => SchemaType::Struct,
        })
    }

    /// A short name of the value's type, for error messages.
    pub fn type_name(&self) -> &'static str {
        self.schema_type().map_or("null", SchemaType::name)
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The value as an i64, if it is an integer of any width.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int8(v) => Some(i64::from(*v)),
            Value::Int16(v) => Some(i64::from(*v)),
            Value::Int32(v) => Some(i64::from(*v)),
            Value::Int64(v) => Some(*v),
            _ => None,
        }
    }

    /// For a map with string keys, the entry of this key.
    pub fn map_get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// A field of a struct, or an entry of a string-keyed map: how transforms address a
    /// field in both schema-ful and schemaless values.
    pub fn get_field(&self, name: &str) -> Option<&Value> {
        match self {
            Value::Struct(s) => s.get(name),
            Value::Map(_) => self.map_get(name),
            _ => None,
        }
    }
}

impl From<&str> for Value {
    fn from(value: &str) -> Self {
        Value::String(value.to_owned())
    }
}

impl From<String> for Value {
    fn from(value: String) -> Self {
        Value::String(value)
    }
}

impl From<i32> for Value {
    fn from(value: i32) -> Self {
        Value::Int32(value)
    }
}

impl From<i64> for Value {
    fn from(value: i64) -> Self {
        Value::Int64(value)
    }
}

impl From<bool> for Value {
    fn from(value: bool) -> Self {
        Value::Boolean(value)
    }
}

impl From<f64> for Value {
    fn from(value: f64) -> Self {
        Value::Float64(value)
    }
}

/// A struct value: a schema and one value per field, in field order.
#[derive(Debug, Clone, PartialEq)]
pub struct Struct {
    schema: SchemaRef,
    values: Vec<Value>,
}

impl Struct {
    /// An empty struct of this schema (every field null until set).
    ///
    /// # Errors
    /// [`ConnectError::Data`] when the schema is not a struct schema.
    pub fn new(schema: SchemaRef) -> Result<Self, ConnectError> {
        if schema.schema_type != SchemaType::Struct {
            return Err(ConnectError::Data(format!(
                "a struct needs a struct schema, not {}",
                schema.schema_type
            )));
        }
        let values = vec![Value::Null; schema.fields.len()];
        Ok(Self { schema, values })
    }

    /// A struct of this schema with one value per field, in field order, each checked
    /// against its field's schema (what transforms use to rebuild a struct in one pass).
    ///
    /// # Errors
    /// [`ConnectError::Data`] when the schema is not a struct schema, the number of values
    /// is not the number of fields, or a value does not match its field.
    pub fn from_values(schema: SchemaRef, values: Vec<Value>) -> Result<Self, ConnectError> {
        if schema.schema_type != SchemaType::Struct {
            return Err(ConnectError::Data(format!(
                "a struct needs a struct schema, not {}",
                schema.schema_type
            )));
        }
        if values.len() != schema.fields.len() {
            return Err(ConnectError::Data(format!(
                "{} values for a struct schema of {} fields",
                values.len(),
                schema.fields.len()
            )));
        }
        for (field, value) in schema.fields.iter().zip(&values) {
            field
                .schema
                .validate_value(value)
                .map_err(|err| ConnectError::Data(format!("field '{}': {err}", field.name)))?;
        }
        Ok(Self { schema, values })
    }

    /// The schema.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// The values in field order.
    pub fn values(&self) -> &[Value] {
        &self.values
    }

    /// The fields with their values.
    pub fn iter(&self) -> impl Iterator<Item = (&Field, &Value)> {
        self.schema.fields.iter().zip(self.values.iter())
    }

    /// The value of a field (null when unset); `None` when there is no such field.
    pub fn get(&self, name: &str) -> Option<&Value> {
        let field = self.schema.field(name)?;
        self.values.get(field.index)
    }

    /// Sets a field, checking the value against the field's schema.
    ///
    /// # Errors
    /// [`ConnectError::Data`] for an unknown field or a value that does not match.
    pub fn put(&mut self, name: &str, value: impl Into<Value>) -> Result<&mut Self, ConnectError> {
        let value = value.into();
        let field = self
            .schema
            .field(name)
            .ok_or_else(|| ConnectError::Data(format!("no field '{name}' in the struct schema")))?;
        field
            .schema
            .validate_value(&value)
            .map_err(|err| ConnectError::Data(format!("field '{name}': {err}")))?;
        let index = field.index;
        self.values[index] = value;
        Ok(self)
    }

    /// Sets a field with the builder pattern.
    ///
    /// # Errors
    /// As [`Struct::put`].
    pub fn with(mut self, name: &str, value: impl Into<Value>) -> Result<Self, ConnectError> {
        self.put(name, value)?;
        Ok(self)
    }

    /// Checks every required field is set (or has a default).
    ///
    /// # Errors
    /// [`ConnectError::Data`] naming the first missing field.
    pub fn validate(&self) -> Result<(), ConnectError> {
        for (field, value) in self.iter() {
            field
                .schema
                .validate_value(value)
                .map_err(|err| ConnectError::Data(format!("field '{}': {err}", field.name)))?;
        }
        Ok(())
    }
}
