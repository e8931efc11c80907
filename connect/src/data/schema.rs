//! Schemas: a type, optionality, a default, a name and version, parameters, and for
//! structs, arrays and maps their fields or element schemas.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use super::{SchemaRef, Value};
use crate::error::ConnectError;

/// The types of Kafka Connect's data model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SchemaType {
    /// 8-bit signed integer.
    Int8,
    /// 16-bit signed integer.
    Int16,
    /// 32-bit signed integer.
    Int32,
    /// 64-bit signed integer.
    Int64,
    /// 32-bit IEEE 754 float.
    Float32,
    /// 64-bit IEEE 754 float.
    Float64,
    /// A boolean.
    Boolean,
    /// A UTF-8 string.
    String,
    /// A byte array.
    Bytes,
    /// A list of values of one schema.
    Array,
    /// A map from key schema to value schema.
    Map,
    /// An ordered list of named, typed fields.
    Struct,
}

impl SchemaType {
    /// The name Kafka uses in JSON schemas (`"int32"`, `"struct"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            SchemaType::Int8 => "int8",
            SchemaType::Int16 => "int16",
            SchemaType::Int32 => "int32",
            SchemaType::Int64 => "int64",
            SchemaType::Float32 => "float",
            SchemaType::Float64 => "double",
            SchemaType::Boolean => "boolean",
            SchemaType::String => "string",
            SchemaType::Bytes => "bytes",
            SchemaType::Array => "array",
            SchemaType::Map => "map",
            SchemaType::Struct => "struct",
        }
    }

    /// Parses Kafka's JSON schema type name (also the upper-case Java enum names, which
    /// transforms such as Cast accept: `INT32`, `FLOAT64`, `STRING`).
    pub fn parse(name: &str) -> Option<SchemaType> {
        Some(match name.to_ascii_lowercase().as_str() {
            "int8" => SchemaType::Int8,
            "int16" => SchemaType::Int16,
            "int32" => SchemaType::Int32,
            "int64" => SchemaType::Int64,
            "float" | "float32" => SchemaType::Float32,
            "double" | "float64" => SchemaType::Float64,
            "boolean" => SchemaType::Boolean,
            "string" => SchemaType::String,
            "bytes" => SchemaType::Bytes,
            "array" => SchemaType::Array,
            "map" => SchemaType::Map,
            "struct" => SchemaType::Struct,
            _ => return None,
        })
    }

    /// Whether this is a primitive (not array, map or struct).
    pub fn is_primitive(self) -> bool {
        !matches!(
            self,
            SchemaType::Array | SchemaType::Map | SchemaType::Struct
        )
    }
}

impl fmt::Display for SchemaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A field of a struct schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The field's name.
    pub name: String,
    /// Its position in the struct.
    pub index: usize,
    /// Its schema.
    pub schema: SchemaRef,
}

/// A Connect schema. Build one with [`Schema::builder`] or the primitive constructors.
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    /// The type.
    pub schema_type: SchemaType,
    /// Whether a value may be null.
    pub optional: bool,
    /// The default value, if any.
    pub default: Option<Value>,
    /// The (fully qualified) name; logical types are recognised by it.
    pub name: Option<String>,
    /// The version.
    pub version: Option<i32>,
    /// Documentation.
    pub doc: Option<String>,
    /// Free-form parameters (a Decimal's `scale`, for example).
    pub parameters: BTreeMap<String, String>,
    /// The fields, for a struct.
    pub fields: Vec<Field>,
    /// The key schema, for a map.
    pub key_schema: Option<SchemaRef>,
    /// The value schema, for a map or the element schema for an array.
    pub value_schema: Option<SchemaRef>,
}

impl Schema {
    /// A builder of a schema of this type.
    pub fn builder(schema_type: SchemaType) -> SchemaBuilder {
        SchemaBuilder {
            schema: Schema {
                schema_type,
                optional: false,
                default: None,
                name: None,
                version: None,
                doc: None,
                parameters: BTreeMap::new(),
                fields: Vec::new(),
                key_schema: None,
                value_schema: None,
            },
        }
    }

    /// A builder of a struct schema.
    pub fn struct_builder() -> SchemaBuilder {
        Self::builder(SchemaType::Struct)
    }

    /// A required primitive schema of this type.
    pub fn primitive(schema_type: SchemaType) -> SchemaRef {
        Arc::new(Self::builder(schema_type).build())
    }

    /// An optional primitive schema of this type.
    pub fn optional_primitive(schema_type: SchemaType) -> SchemaRef {
        Arc::new(Self::builder(schema_type).optional().build())
    }

    /// A required string schema.
    pub fn string() -> SchemaRef {
        Self::primitive(SchemaType::String)
    }

    /// An optional string schema.
    pub fn optional_string() -> SchemaRef {
        Self::optional_primitive(SchemaType::String)
    }

    /// A required array schema of this element schema.
    pub fn array(element: SchemaRef) -> SchemaBuilder {
        let mut builder = Self::builder(SchemaType::Array);
        builder.schema.value_schema = Some(element);
        builder
    }

    /// A required map schema.
    pub fn map(key: SchemaRef, value: SchemaRef) -> SchemaBuilder {
        let mut builder = Self::builder(SchemaType::Map);
        builder.schema.key_schema = Some(key);
        builder.schema.value_schema = Some(value);
        builder
    }

    /// The struct field of this name.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|field| field.name == name)
    }

    /// Checks that `value` follows this schema (recursively), as Kafka's
    /// `ConnectSchema.validateValue` does.
    ///
    /// # Errors
    /// A [`ConnectError::Data`] naming the mismatch.
    pub fn validate_value(&self, value: &Value) -> Result<(), ConnectError> {
        if value.is_null() {
            if self.optional || self.default.is_some() {
                return Ok(());
            }
            return Err(ConnectError::Data(format!(
                "a null value for a required {} schema{}",
                self.schema_type,
                self.name
                    .as_deref()
                    .map(|n| format!(" '{n}'"))
                    .unwrap_or_default()
            )));
        }
        let mismatch = || {
            ConnectError::Data(format!(
                "a {} value for a {} schema",
                value.type_name(),
                self.schema_type
            ))
        };
        match (self.schema_type, value) {
            (SchemaType::Int8, Value::Int8(_))
            | (SchemaType::Int16, Value::Int16(_))
            | (SchemaType::Int32, Value::Int32(_))
            | (SchemaType::Int64, Value::Int64(_))
            | (SchemaType::Float32, Value::Float32(_))
            | (SchemaType::Float64, Value::Float64(_))
            | (SchemaType::Boolean, Value::Boolean(_))
            | (SchemaType::String, Value::String(_))
            | (SchemaType::Bytes, Value::Bytes(_)) => Ok(()),
            (SchemaType::Array, Value::Array(items)) => match &self.value_schema {
                Some(element) => items
                    .iter()
                    .try_for_each(|item| element.validate_value(item)),
                None => Ok(()),
            },
            (SchemaType::Map, Value::Map(entries)) => {
                for (key, entry) in entries {
                    if let Some(schema) = &self.key_schema {
                        schema.validate_value(key)?;
                    }
                    if let Some(schema) = &self.value_schema {
                        schema.validate_value(entry)?;
                    }
                }
                Ok(())
            }
            (SchemaType::Struct, Value::Struct(s)) => {
                if s.schema().as_ref() != self {
                    return Err(ConnectError::Data(format!(
                        "a struct of another schema{} for the schema{}",
                        s.schema()
                            .name
                            .as_deref()
                            .map(|n| format!(" '{n}'"))
                            .unwrap_or_default(),
                        self.name
                            .as_deref()
                            .map(|n| format!(" '{n}'"))
                            .unwrap_or_default()
                    )));
                }
                Ok(())
            }
            _ => Err(mismatch()),
        }
    }
}

/// Builds a [`Schema`].
#[derive(Debug, Clone)]
pub struct SchemaBuilder {
    schema: Schema,
}

impl SchemaBuilder {
    /// Makes the schema optional.
    pub fn optional(mut self) -> Self {
        self.schema.optional = true;
        self
    }

    /// Sets whether the schema is optional.
    pub fn set_optional(mut self, optional: bool) -> Self {
        self.schema.optional = optional;
        self
    }

    /// Sets the name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.schema.name = Some(name.into());
        self
    }

    /// Sets the version.
    pub fn version(mut self, version: i32) -> Self {
        self.schema.version = Some(version);
        self
    }

    /// Sets the documentation.
    pub fn doc(mut self, doc: impl Into<String>) -> Self {
        self.schema.doc = Some(doc.into());
        self
    }

    /// Sets the default value.
    pub fn default_value(mut self, value: Value) -> Self {
        self.schema.default = Some(value);
        self
    }

    /// Adds a parameter.
    pub fn parameter(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.schema.parameters.insert(key.into(), value.into());
        self
    }

    /// Adds a struct field (its index is its position).
    pub fn field(mut self, name: impl Into<String>, schema: SchemaRef) -> Self {
        let index = self.schema.fields.len();
        self.schema.fields.push(Field {
            name: name.into(),
            index,
            schema,
        });
        self
    }

    /// The schema.
    pub fn build(self) -> Schema {
        self.schema
    }

    /// The schema, shared.
    pub fn build_ref(self) -> SchemaRef {
        Arc::new(self.schema)
    }
}
