//! Cast: casts fields (`spec=field:type,...`) or the whole value (`spec=type`) to int8,
//! int16, int32, int64, float32, float64, boolean or string, with Java's conversions
//! (integers wrap, floats truncate toward zero, strings parse, booleans are 1 and 0, bytes
//! become base64 and logical types their ISO text).

use std::sync::Arc;

use base64::Engine as _;

use crate::config::{split_list, ConfigDef, ConfigMap, ConfigType, Importance, Validator};
use crate::data::{logical, Schema, SchemaRef, SchemaType, Value};
use crate::error::{ConnectError, Result};
use crate::record::ConnectRecord;

use super::date_format::JavaDateFormat;
use super::part::{
    build_struct_schema, copy_schema_basics, map_put, new_struct, require_map, require_struct,
    struct_like, Part, SchemaCache,
};
use super::Transform;
use crate::converters::java_text::{double_to_string, float_to_string};

const PURPOSE: &str = "cast types";

/// What to cast.
#[derive(Debug, Clone)]
enum Spec {
    /// The whole key or value.
    Whole(SchemaType),
    /// These fields.
    Fields(Vec<(String, SchemaType)>),
}

fn target_type(name: &str) -> std::result::Result<SchemaType, String> {
    let t = SchemaType::parse(name.trim())
        .ok_or_else(|| format!("Invalid type found in casting spec: {name}"))?;
    if t.is_primitive() && t != SchemaType::Bytes {
        Ok(t)
    } else {
        Err(format!(
            "Cast transformation does not support casting to {}",
            t.name().to_uppercase()
        ))
    }
}

fn parse_spec(value: &str) -> std::result::Result<Spec, String> {
    let items = split_list(value);
    if items.is_empty() {
        return Err("Must specify at least one field to cast.".to_owned());
    }
    let mut fields = Vec::new();
    for item in &items {
        match item.split_once(':') {
            None if items.len() == 1 => return Ok(Spec::Whole(target_type(item)?)),
            None => {
                return Err(format!(
                    "Cast transformation must be a single type for the whole value or a list of field:type pairs, found '{item}'"
                ))
            }
            Some((field, t)) => fields.push((field.trim().to_owned(), target_type(t)?)),
        }
    }
    Ok(Spec::Fields(fields))
}

/// Kafka's `Cast$Key` / `Cast$Value`.
#[derive(Debug)]
pub(crate) struct Cast {
    part: Part,
    spec: Spec,
    schemas: SchemaCache,
}

/// The numeric view of a value for casting: an integer, a float, or neither.
enum Number {
    Int(i64),
    Float(f64),
}

fn number(value: &Value, schema: Option<&Schema>) -> Result<Option<Number>> {
    Ok(Some(match value {
        Value::Int8(v) => Number::Int(i64::from(*v)),
        Value::Int16(v) => Number::Int(i64::from(*v)),
        Value::Int32(v) => Number::Int(i64::from(*v)),
        Value::Int64(v) => Number::Int(*v),
        Value::Float32(v) => Number::Float(f64::from(*v)),
        Value::Float64(v) => Number::Float(*v),
        Value::Boolean(b) => Number::Int(i64::from(*b)),
        Value::Bytes(bytes)
            if schema.is_some_and(|s| s.name.as_deref() == Some(logical::DECIMAL)) =>
        {
            let scale = schema
                .map(logical::decimal_scale)
                .transpose()?
                .unwrap_or_default();
            let unscaled = logical::decode_decimal(bytes)?;
            let text = logical::format_decimal(unscaled, scale);
            if scale <= 0 {
                Number::Int(text.parse::<i128>().map_or(0, |v| v as i64))
            } else {
                Number::Float(text.parse().unwrap_or_default())
            }
        }
        _ => return Ok(None),
    }))
}

fn cast_value(value: &Value, schema: Option<&Schema>, target: SchemaType) -> Result<Value> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    let unsupported = || {
        ConnectError::Data(format!(
            "Cast transformation does not support casting a {} value to {}",
            value.type_name(),
            target.name()
        ))
    };
    let logical_name = schema.and_then(|s| s.name.as_deref());
    if target == SchemaType::String {
        let pattern = match logical_name {
            Some(logical::TIMESTAMP) => Some("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'"),
            Some(logical::DATE) => Some("yyyy-MM-dd"),
            Some(logical::TIME) => Some("HH:mm:ss.SSS'Z'"),
            _ => None,
        };
        if let (Some(pattern), Some(raw)) = (pattern, value.as_i64()) {
            let millis = if logical_name == Some(logical::DATE) {
                raw * 86_400_000
            } else {
                raw
            };
            return Ok(Value::String(JavaDateFormat::new(pattern)?.format(millis)?));
        }
        if let (Some(logical::DECIMAL), Value::Bytes(bytes)) = (logical_name, value) {
            let scale = schema
                .map(logical::decimal_scale)
                .transpose()?
                .unwrap_or_default();
            return Ok(Value::String(logical::format_decimal(
                logical::decode_decimal(bytes)?,
                scale,
            )));
        }
        return Ok(Value::String(match value {
            Value::String(s) => s.clone(),
            Value::Boolean(b) => b.to_string(),
            Value::Float32(f) => float_to_string(*f),
            Value::Float64(f) => double_to_string(*f),
            Value::Bytes(bytes) => base64::engine::general_purpose::STANDARD.encode(bytes),
            other => match other.as_i64() {
                Some(i) => i.to_string(),
                None => return Err(unsupported()),
            },
        }));
    }
    if let Value::String(text) = value {
        let bad = || {
            ConnectError::Data(format!(
                "Value ({text}) was out of range for requested data type {}",
                target.name()
            ))
        };
        return Ok(match target {
            SchemaType::Int8 => Value::Int8(text.parse().map_err(|_| bad())?),
            SchemaType::Int16 => Value::Int16(text.parse().map_err(|_| bad())?),
            SchemaType::Int32 => Value::Int32(text.parse().map_err(|_| bad())?),
            SchemaType::Int64 => Value::Int64(text.parse().map_err(|_| bad())?),
            SchemaType::Float32 => Value::Float32(text.trim().parse().map_err(|_| bad())?),
            SchemaType::Float64 => Value::Float64(text.trim().parse().map_err(|_| bad())?),
            SchemaType::Boolean => Value::Boolean(text.eq_ignore_ascii_case("true")),
            _ => return Err(unsupported()),
        });
    }
    let n = number(value, schema)?.ok_or_else(unsupported)?;
    // Java's narrowing: integers wrap, floats saturate toward zero; `as` does the same.
    Ok(match (target, n) {
        (SchemaType::Int8, Number::Int(i)) => Value::Int8(i as i8),
        (SchemaType::Int16, Number::Int(i)) => Value::Int16(i as i16),
        (SchemaType::Int32, Number::Int(i)) => Value::Int32(i as i32),
        (SchemaType::Int64, Number::Int(i)) => Value::Int64(i),
        (SchemaType::Float32, Number::Int(i)) => Value::Float32(i as f32),
        (SchemaType::Float64, Number::Int(i)) => Value::Float64(i as f64),
        (SchemaType::Boolean, Number::Int(i)) => Value::Boolean(i != 0),
        (SchemaType::Int8, Number::Float(f)) => Value::Int8(f as i32 as i8),
        (SchemaType::Int16, Number::Float(f)) => Value::Int16(f as i32 as i16),
        (SchemaType::Int32, Number::Float(f)) => Value::Int32(f as i32),
        (SchemaType::Int64, Number::Float(f)) => Value::Int64(f as i64),
        (SchemaType::Float32, Number::Float(f)) => Value::Float32(f as f32),
        (SchemaType::Float64, Number::Float(f)) => Value::Float64(f),
        (SchemaType::Boolean, Number::Float(f)) => Value::Boolean(f as i64 != 0),
        _ => return Err(unsupported()),
    })
}

/// The schema of a cast field or value: the target type, keeping optionality and the
/// default (cast too). A whole value's schema also keeps its name, version, doc and
/// parameters (Kafka's `copySchemaBasics`), unless it was a logical type.
fn cast_schema(schema: &Schema, target: SchemaType, whole: bool) -> Result<SchemaRef> {
    if !schema.schema_type.is_primitive() {
        return Err(ConnectError::Data(format!(
            "Cast transformation does not support casting from {}",
            schema.schema_type.name().to_uppercase()
        )));
    }
    let logical = matches!(
        schema.name.as_deref(),
        Some(logical::DECIMAL | logical::DATE | logical::TIME | logical::TIMESTAMP)
    );
    let mut builder = if whole && !logical {
        copy_schema_basics(schema, Schema::builder(target))
    } else {
        Schema::builder(target)
    }
    .set_optional(schema.optional);
    if let Some(default) = &schema.default {
        builder = builder.default_value(cast_value(default, Some(schema), target)?);
    }
    Ok(Arc::new(builder.build()))
}

impl Cast {
    /// The declared keys.
    pub(crate) fn config_def() -> ConfigDef {
        ConfigDef::new()
            .required("spec", ConfigType::List, Importance::High, "List of fields and the type to cast them to of the form field1:type,field2:type to cast fields of Maps or Structs. A single type to cast the entire value. Valid types are int8, int16, int32, int64, float32, float64, boolean, and string.")
            .validator(Validator::Custom(|v| parse_spec(v).map(|_| ())))
    }

    /// From its config.
    pub(crate) fn new(config: &ConfigMap, part: Part) -> Result<Self> {
        let parsed = Self::config_def().parse(config)?;
        let spec =
            parse_spec(parsed.get("spec").unwrap_or_default()).map_err(ConnectError::Config)?;
        Ok(Self {
            part,
            spec,
            schemas: SchemaCache::default(),
        })
    }

    fn target(fields: &[(String, SchemaType)], name: &str) -> Option<SchemaType> {
        fields.iter().find(|(f, _)| f == name).map(|(_, t)| *t)
    }
}

impl Transform for Cast {
    fn apply(&self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        let value = self.part.value(&record);
        let schema = self.part.schema(&record).cloned();
        let (schema, value) = match (&self.spec, schema) {
            (Spec::Whole(target), None) => (None, cast_value(value, None, *target)?),
            (Spec::Whole(target), Some(schema)) => (
                Some(cast_schema(&schema, *target, true)?),
                cast_value(value, Some(&schema), *target)?,
            ),
            (Spec::Fields(_), None) if value.is_null() => (None, Value::Null),
            (Spec::Fields(fields), None) => {
                let mut entries = require_map(value, PURPOSE)?.to_vec();
                for (name, target) in fields {
                    // As Kafka's HashMap.put: a listed field missing from the map becomes null.
                    let v = value.map_get(name).cloned().unwrap_or_default();
                    map_put(&mut entries, name, cast_value(&v, None, *target)?);
                }
                (None, Value::Map(entries))
            }
            (Spec::Fields(fields), Some(schema)) => {
                let updated = self.schemas.get_or_build(&schema, || {
                    let mut builder = struct_like(&schema).set_optional(schema.optional);
                    for field in &schema.fields {
                        builder = match Self::target(fields, &field.name) {
                            Some(target) => builder.field(
                                field.name.clone(),
                                cast_schema(&field.schema, target, false)?,
                            ),
                            None => builder.field(field.name.clone(), field.schema.clone()),
                        };
                    }
                    build_struct_schema(builder)
                })?;
                if value.is_null() {
                    (Some(updated), Value::Null)
                } else {
                    let s = require_struct(value, PURPOSE)?;
                    let values = s
                        .iter()
                        .map(|(field, v)| match Self::target(fields, &field.name) {
                            Some(target) => cast_value(v, Some(&field.schema), target),
                            None => Ok(v.clone()),
                        })
                        .collect::<Result<Vec<_>>>()?;
                    let result = new_struct(&updated, values)?;
                    (Some(updated), Value::Struct(result))
                }
            }
        };
        self.part.set(&mut record, schema, value);
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Struct;
    use crate::transforms::part::testkit::{config, map};

    fn cast(spec: &str) -> Cast {
        Cast::new(&config(&[("spec", spec)]), Part::Value).unwrap()
    }

    #[test]
    fn casts_struct_fields_and_their_schemas() {
        let schema = Schema::struct_builder()
            .name("Row")
            .field("id", Schema::string())
            .field("price", Schema::primitive(SchemaType::Float64))
            .field("flag", Schema::optional_primitive(SchemaType::Int32))
            .field("at", logical::timestamp().build_ref())
            .build_ref();
        let value = Struct::new(schema.clone())
            .unwrap()
            .with("id", "42")
            .unwrap()
            .with("price", -2.9)
            .unwrap()
            .with("flag", 2)
            .unwrap()
            .with("at", 1_700_000_123_456i64)
            .unwrap();
        let mut r = ConnectRecord::new("t", Value::Struct(value));
        r.value_schema = Some(schema);
        let out = cast("id:int64,price:int32,flag:boolean,at:string")
            .apply(r)
            .unwrap()
            .unwrap();
        let s = out.value_schema.unwrap();
        assert_eq!(s.name.as_deref(), Some("Row"));
        assert_eq!(s.field("id").unwrap().schema.schema_type, SchemaType::Int64);
        assert!(s.field("flag").unwrap().schema.optional);
        assert_eq!(out.value.get_field("id"), Some(&Value::Int64(42)));
        assert_eq!(out.value.get_field("price"), Some(&Value::Int32(-2)));
        assert_eq!(out.value.get_field("flag"), Some(&Value::Boolean(true)));
        assert_eq!(
            out.value.get_field("at"),
            Some(&Value::from("2023-11-14T22:15:23.456Z"))
        );
    }

    #[test]
    fn casts_schemaless_fields_and_whole_values() {
        let value = map(vec![
            ("n", Value::Int64(300)),
            ("f", Value::Float64(3.0)),
            ("b", Value::Bytes(vec![1, 2, 3])),
        ]);
        let out = cast("n:int8,f:string,b:string,missing:int32")
            .apply(ConnectRecord::new("t", value))
            .unwrap()
            .unwrap();
        assert_eq!(
            out.value,
            map(vec![
                ("n", Value::Int8(44)),
                ("f", Value::from("3.0")),
                ("b", Value::from("AQID")),
                ("missing", Value::Null)
            ])
        );
        let out = cast("int32")
            .apply(ConnectRecord::new("t", Value::from("7")))
            .unwrap()
            .unwrap();
        assert_eq!(out.value, Value::Int32(7));
        let mut r = ConnectRecord::new("t", Value::Boolean(true));
        r.value_schema = Some(Schema::optional_primitive(SchemaType::Boolean));
        let out = cast("float64").apply(r).unwrap().unwrap();
        assert_eq!(out.value, Value::Float64(1.0));
        assert!(out.value_schema.unwrap().optional);
        assert!(cast("int32")
            .apply(ConnectRecord::new("t", Value::from("x")))
            .is_err());
    }

    #[test]
    fn a_whole_value_keeps_its_schema_basics_unless_logical() {
        let mut r = ConnectRecord::new("t", Value::Int64(5));
        r.key_schema = Some(
            Schema::builder(SchemaType::Int64)
                .name("com.example.Id")
                .version(2)
                .build_ref(),
        );
        r.key = Value::Int64(5);
        let t = Cast::new(&config(&[("spec", "int32")]), Part::Key).unwrap();
        let out = t.apply(r).unwrap().unwrap();
        let schema = out.key_schema.unwrap();
        assert_eq!(schema.schema_type, SchemaType::Int32);
        assert_eq!(schema.name.as_deref(), Some("com.example.Id"));
        assert_eq!(schema.version, Some(2));
        assert_eq!(out.key, Value::Int32(5));

        let mut r = ConnectRecord::new("t", Value::Int64(86_400_000));
        r.value_schema = Some(logical::timestamp().build_ref());
        let out = cast("int64").apply(r).unwrap().unwrap();
        assert_eq!(out.value_schema.unwrap().name, None);
        assert_eq!(out.value, Value::Int64(86_400_000));
    }

    #[test]
    fn floats_become_text_as_java_writes_them() {
        let text = |v: Value| {
            cast("string")
                .apply(ConnectRecord::new("t", v))
                .unwrap()
                .unwrap()
                .value
        };
        assert_eq!(text(Value::Float64(1e10)), Value::from("1.0E10"));
        assert_eq!(text(Value::Float64(0.5)), Value::from("0.5"));
        assert_eq!(text(Value::Float32(2.0)), Value::from("2.0"));
        assert_eq!(text(Value::Boolean(false)), Value::from("false"));
    }

    #[test]
    fn decimals_cast_to_numbers_and_text() {
        let schema = logical::decimal(2).build_ref();
        let mut r = ConnectRecord::new("t", Value::Bytes(logical::encode_decimal(-1999)));
        r.value_schema = Some(schema);
        assert_eq!(
            cast("float64").apply(r.clone()).unwrap().unwrap().value,
            Value::Float64(-19.99)
        );
        assert_eq!(
            cast("int32").apply(r.clone()).unwrap().unwrap().value,
            Value::Int32(-19)
        );
        assert_eq!(
            cast("string").apply(r).unwrap().unwrap().value,
            Value::from("-19.99")
        );
    }

    #[test]
    fn bad_specs_are_config_errors() {
        for spec in ["", "int32,a:int8", "a:bytes", "a:decimal", "struct"] {
            assert!(
                Cast::new(&config(&[("spec", spec)]), Part::Value).is_err(),
                "{spec}"
            );
        }
    }
}
