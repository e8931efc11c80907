//! Connect values <-> Avro values, following the schema mapping of [`super::schema`].

use std::collections::HashMap;
use std::sync::Arc;

use fjord_core::format::avro::apache_avro::schema::Schema as Avro;
use fjord_core::format::avro::apache_avro::types::Value as AvroValue;

use crate::data::{logical, Schema, SchemaRef, SchemaType, Struct, Value};
use crate::error::{ConnectError, Result};

fn mismatch(value: &Value, schema: &Schema) -> ConnectError {
    ConnectError::Data(format!(
        "a {} value for a {} schema",
        value.type_name(),
        schema.schema_type
    ))
}

/// The Avro value of a Connect value of this schema.
///
/// # Errors
/// A value that does not follow its schema.
pub fn to_avro(schema: &Schema, value: &Value) -> Result<AvroValue> {
    if schema.optional {
        return Ok(match value {
            Value::Null => match &schema.default {
                Some(default) => AvroValue::Union(1, Box::new(non_null(schema, default)?)),
                None => AvroValue::Union(0, Box::new(AvroValue::Null)),
            },
            v => AvroValue::Union(1, Box::new(non_null(schema, v)?)),
        });
    }
    match (value, &schema.default) {
        (Value::Null, Some(default)) => non_null(schema, default),
        (Value::Null, None) => Err(ConnectError::Data(format!(
            "a null value for a required {} schema",
            schema.schema_type
        ))),
        (v, _) => non_null(schema, v),
    }
}

fn non_null(schema: &Schema, value: &Value) -> Result<AvroValue> {
    let logical_name = schema.name.as_deref();
    Ok(match (schema.schema_type, value) {
        (SchemaType::Bytes, Value::Bytes(b)) if logical_name == Some(logical::DECIMAL) => {
            AvroValue::Decimal(fjord_core::format::avro::apache_avro::Decimal::from(
                b.clone(),
            ))
        }
        (SchemaType::Int32, Value::Int32(d)) if logical_name == Some(logical::DATE) => {
            AvroValue::Date(*d)
        }
        (SchemaType::Int32, Value::Int32(t)) if logical_name == Some(logical::TIME) => {
            AvroValue::TimeMillis(*t)
        }
        (SchemaType::Int64, Value::Int64(t)) if logical_name == Some(logical::TIMESTAMP) => {
            AvroValue::TimestampMillis(*t)
        }
        (SchemaType::Int8, Value::Int8(v)) => AvroValue::Int(i32::from(*v)),
        (SchemaType::Int16, Value::Int16(v)) => AvroValue::Int(i32::from(*v)),
        (SchemaType::Int32, Value::Int32(v)) => AvroValue::Int(*v),
        (SchemaType::Int64, Value::Int64(v)) => AvroValue::Long(*v),
        (SchemaType::Float32, Value::Float32(v)) => AvroValue::Float(*v),
        (SchemaType::Float64, Value::Float64(v)) => AvroValue::Double(*v),
        (SchemaType::Boolean, Value::Boolean(v)) => AvroValue::Boolean(*v),
        (SchemaType::String, Value::String(v)) => AvroValue::String(v.clone()),
        (SchemaType::Bytes, Value::Bytes(v)) => AvroValue::Bytes(v.clone()),
        (SchemaType::Array, Value::Array(items)) => {
            let element = schema
                .value_schema
                .as_deref()
                .ok_or_else(|| mismatch(value, schema))?;
            AvroValue::Array(
                items
                    .iter()
                    .map(|i| to_avro(element, i))
                    .collect::<Result<_>>()?,
            )
        }
        (SchemaType::Map, Value::Map(entries)) => {
            let key_schema = schema
                .key_schema
                .as_deref()
                .ok_or_else(|| mismatch(value, schema))?;
            let value_schema = schema
                .value_schema
                .as_deref()
                .ok_or_else(|| mismatch(value, schema))?;
            if key_schema.schema_type == SchemaType::String && !key_schema.optional {
                let mut map = HashMap::with_capacity(entries.len());
                for (k, v) in entries {
                    let Value::String(k) = k else {
                        return Err(mismatch(k, key_schema));
                    };
                    map.insert(k.clone(), to_avro(value_schema, v)?);
                }
                AvroValue::Map(map)
            } else {
                AvroValue::Array(
                    entries
                        .iter()
                        .map(|(k, v)| {
                            Ok(AvroValue::Record(vec![
                                ("key".to_owned(), to_avro(key_schema, k)?),
                                ("value".to_owned(), to_avro(value_schema, v)?),
                            ]))
                        })
                        .collect::<Result<_>>()?,
                )
            }
        }
        (SchemaType::Struct, Value::Struct(s)) => {
            let mut fields = Vec::with_capacity(schema.fields.len());
            for field in &schema.fields {
                let v = s.get(&field.name).unwrap_or(&Value::Null);
                let avro = to_avro(&field.schema, v)
                    .map_err(|e| ConnectError::Data(format!("field '{}': {e}", field.name)))?;
                fields.push((field.name.clone(), avro));
            }
            AvroValue::Record(fields)
        }
        _ => return Err(mismatch(value, schema)),
    })
}

/// The Connect value of an Avro value written in `avro`, with `schema` = `from_avro(avro)`.
///
/// # Errors
/// A value that does not follow the Avro schema.
pub fn from_avro(avro: &Avro, schema: &SchemaRef, value: AvroValue) -> Result<Value> {
    let bad =
        |what: &str| ConnectError::Data(format!("an Avro {what} where the schema says {:?}", avro));
    Ok(match (avro, value) {
        (_, AvroValue::Null) => Value::Null,
        (Avro::Union(union), AvroValue::Union(index, inner)) => {
            let variants = union.variants();
            let variant = variants
                .get(usize::try_from(index).unwrap_or(usize::MAX))
                .ok_or_else(|| bad("union branch"))?;
            if matches!(variant, Avro::Null) {
                return Ok(Value::Null);
            }
            if schema.schema_type == SchemaType::Struct
                && schema.name.as_deref() == Some("io.confluent.connect.avro.Union")
            {
                let name = super::schema::branch_name(variant);
                let field = schema.field(&name).ok_or_else(|| bad("union branch"))?;
                let inner = from_avro(variant, &field.schema, *inner)?;
                let mut s = Struct::new(Arc::clone(schema))?;
                s.put(&name, inner)?;
                Value::Struct(s)
            } else {
                from_avro(variant, schema, *inner)?
            }
        }
        (_, AvroValue::Union(_, inner)) => from_avro(avro, schema, *inner)?,
        (_, AvroValue::Boolean(v)) => Value::Boolean(v),
        (_, AvroValue::Int(v)) => match schema.schema_type {
            SchemaType::Int8 => {
                Value::Int8(i8::try_from(v).map_err(|_| bad("int out of the int8 range"))?)
            }
            SchemaType::Int16 => {
                Value::Int16(i16::try_from(v).map_err(|_| bad("int out of the int16 range"))?)
            }
            _ => Value::Int32(v),
        },
        (_, AvroValue::Long(v)) => Value::Int64(v),
        (_, AvroValue::Float(v)) => Value::Float32(v),
        (_, AvroValue::Double(v)) => Value::Float64(v),
        (_, AvroValue::Bytes(v)) | (_, AvroValue::Fixed(_, v)) => Value::Bytes(v),
        (_, AvroValue::String(v)) | (_, AvroValue::Enum(_, v)) => Value::String(v),
        (_, AvroValue::Uuid(u)) => Value::String(u.to_string()),
        (_, AvroValue::Date(d)) | (_, AvroValue::TimeMillis(d)) => Value::Int32(d),
        (_, AvroValue::TimestampMillis(t))
        | (_, AvroValue::LocalTimestampMillis(t))
        | (_, AvroValue::TimeMicros(t))
        | (_, AvroValue::TimestampMicros(t))
        | (_, AvroValue::LocalTimestampMicros(t))
        | (_, AvroValue::TimestampNanos(t))
        | (_, AvroValue::LocalTimestampNanos(t)) => Value::Int64(t),
        (_, AvroValue::Decimal(d)) => {
            let bytes: Vec<u8> = Vec::<u8>::try_from(&d)
                .map_err(|e| ConnectError::Data(format!("an Avro decimal: {e}")))?;
            Value::Bytes(bytes)
        }
        (Avro::Array(array), AvroValue::Array(items)) => {
            let element = schema.value_schema.as_ref().ok_or_else(|| bad("array"))?;
            Value::Array(
                items
                    .into_iter()
                    .map(|i| from_avro(&array.items, element, i))
                    .collect::<Result<_>>()?,
            )
        }
        (Avro::Map(map), AvroValue::Map(entries)) => {
            let value_schema = schema.value_schema.as_ref().ok_or_else(|| bad("map"))?;
            let mut sorted: Vec<(String, AvroValue)> = entries.into_iter().collect();
            sorted.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Map(
                sorted
                    .into_iter()
                    .map(|(k, v)| Ok((Value::String(k), from_avro(&map.types, value_schema, v)?)))
                    .collect::<Result<_>>()?,
            )
        }
        (Avro::Record(record), AvroValue::Record(fields)) => {
            let mut s = Struct::new(Arc::clone(schema))?;
            for ((name, v), avro_field) in fields.into_iter().zip(record.fields.iter()) {
                let field = schema.field(&name).ok_or_else(|| bad("record field"))?;
                let converted = from_avro(&avro_field.schema, &field.schema, v)?;
                s.put(&name, converted)?;
            }
            Value::Struct(s)
        }
        (_, other) => {
            return Err(ConnectError::Data(format!(
                "the Avro value {other:?} has no Connect form here"
            )))
        }
    })
}
