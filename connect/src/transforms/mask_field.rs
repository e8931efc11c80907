//! MaskField: replaces the listed fields with their type's empty value (0, false, "",
//! empty bytes, arrays and maps), or with `replacement` for numbers and strings.

use crate::config::{ConfigDef, ConfigMap, ConfigType, Importance, Validator};
use crate::data::{logical, Schema, Value};
use crate::error::{ConnectError, Result};
use crate::record::ConnectRecord;

use super::part::{map_put, new_struct, non_empty_list, require_map, require_struct, Part};
use super::Transform;

const PURPOSE: &str = "mask fields";

/// Kafka's `MaskField$Key` / `MaskField$Value`.
#[derive(Debug)]
pub(crate) struct MaskField {
    part: Part,
    fields: Vec<String>,
    replacement: Option<String>,
}

impl MaskField {
    /// The declared keys.
    pub(crate) fn config_def() -> ConfigDef {
        ConfigDef::new()
            .required("fields", ConfigType::List, Importance::High, "Names of fields to mask.")
            .validator(Validator::Custom(non_empty_list))
            .optional("replacement", ConfigType::String, "", Importance::Low, "Custom value replacement, that will be applied to all 'fields' values (numeric or non-empty string values only).")
    }

    /// From its config.
    pub(crate) fn new(config: &ConfigMap, part: Part) -> Result<Self> {
        let parsed = Self::config_def().parse(config)?;
        Ok(Self {
            part,
            fields: parsed.list("fields"),
            replacement: parsed.string("replacement"),
        })
    }

    fn masks(&self, name: &str) -> bool {
        self.fields.iter().any(|f| f == name)
    }

    /// The masked form of `value`; `schema` tells a Decimal from other bytes.
    fn masked(&self, value: &Value, schema: Option<&Schema>) -> Result<Value> {
        let decimal_scale = schema
            .filter(|s| s.name.as_deref() == Some(logical::DECIMAL))
            .map(logical::decimal_scale)
            .transpose()?;
        match &self.replacement {
            None => Ok(match value {
                Value::Null => Value::Null,
                Value::Int8(_) => Value::Int8(0),
                Value::Int16(_) => Value::Int16(0),
                Value::Int32(_) => Value::Int32(0),
                Value::Int64(_) => Value::Int64(0),
                Value::Float32(_) => Value::Float32(0.0),
                Value::Float64(_) => Value::Float64(0.0),
                Value::Boolean(_) => Value::Boolean(false),
                Value::String(_) => Value::String(String::new()),
                Value::Bytes(_) if decimal_scale.is_some() => {
                    Value::Bytes(logical::encode_decimal(0))
                }
                Value::Bytes(_) => Value::Bytes(Vec::new()),
                Value::Array(_) => Value::Array(Vec::new()),
                Value::Map(_) => Value::Map(Vec::new()),
                Value::Struct(_) => {
                    return Err(ConnectError::Data(
                        "Cannot mask value of type struct".to_owned(),
                    ))
                }
            }),
            Some(replacement) => {
                let bad = |what: &str| {
                    ConnectError::Data(format!(
                        "Unable to mask a {what} value with the replacement '{replacement}'"
                    ))
                };
                let r = replacement.trim();
                Ok(match value {
                    Value::Null => Value::Null,
                    Value::Int8(_) => Value::Int8(r.parse().map_err(|_| bad("int8"))?),
                    Value::Int16(_) => Value::Int16(r.parse().map_err(|_| bad("int16"))?),
                    Value::Int32(_) => Value::Int32(r.parse().map_err(|_| bad("int32"))?),
                    Value::Int64(_) => Value::Int64(r.parse().map_err(|_| bad("int64"))?),
                    Value::Float32(_) => Value::Float32(r.parse().map_err(|_| bad("float32"))?),
                    Value::Float64(_) => Value::Float64(r.parse().map_err(|_| bad("float64"))?),
                    Value::String(_) => Value::String(replacement.clone()),
                    Value::Bytes(_) if decimal_scale.is_some() => {
                        let scale = decimal_scale.unwrap_or_default();
                        Value::Bytes(logical::encode_decimal(
                            logical::parse_decimal(r, scale).map_err(|_| bad("Decimal"))?,
                        ))
                    }
                    other => {
                        return Err(ConnectError::Data(format!(
                            "Cannot mask value of type {} with custom replacement.",
                            other.type_name()
                        )))
                    }
                })
            }
        }
    }
}

impl Transform for MaskField {
    fn apply(&self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        let value = self.part.value(&record);
        if value.is_null() {
            return Ok(Some(record));
        }
        match self.part.schema(&record).cloned() {
            None => {
                let mut entries = require_map(value, PURPOSE)?.to_vec();
                for field in &self.fields {
                    let masked = match value.map_get(field) {
                        Some(v) => self.masked(v, None)?,
                        None => Value::Null,
                    };
                    // As Kafka's HashMap.put: a listed field missing from the map becomes null.
                    map_put(&mut entries, field, masked);
                }
                self.part.set(&mut record, None, Value::Map(entries));
            }
            Some(schema) => {
                let value = require_struct(value, PURPOSE)?;
                let values = value
                    .iter()
                    .map(|(field, v)| {
                        if self.masks(&field.name) {
                            self.masked(v, Some(&field.schema))
                        } else {
                            Ok(v.clone())
                        }
                    })
                    .collect::<Result<Vec<_>>>()?;
                let result = new_struct(&schema, values)?;
                self.part
                    .set(&mut record, Some(schema), Value::Struct(result));
            }
        }
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{SchemaType, Struct};
    use crate::transforms::part::testkit::{config, map};

    #[test]
    fn masks_struct_fields_with_zero_values() {
        let schema = Schema::struct_builder()
            .field("ssn", Schema::string())
            .field("age", Schema::primitive(SchemaType::Int32))
            .field("vip", Schema::primitive(SchemaType::Boolean))
            .field("price", logical::decimal(2).build_ref())
            .field("name", Schema::string())
            .build_ref();
        let value = Struct::new(schema.clone())
            .unwrap()
            .with("ssn", "123-45")
            .unwrap()
            .with("age", 42)
            .unwrap()
            .with("vip", true)
            .unwrap()
            .with("price", Value::Bytes(logical::encode_decimal(1999)))
            .unwrap()
            .with("name", "Ada")
            .unwrap();
        let t = MaskField::new(&config(&[("fields", "ssn,age,vip,price")]), Part::Value).unwrap();
        let mut r = ConnectRecord::new("t", Value::Struct(value));
        r.value_schema = Some(schema);
        let out = t.apply(r).unwrap().unwrap();
        assert_eq!(out.value.get_field("ssn"), Some(&Value::from("")));
        assert_eq!(out.value.get_field("age"), Some(&Value::Int32(0)));
        assert_eq!(out.value.get_field("vip"), Some(&Value::Boolean(false)));
        assert_eq!(out.value.get_field("price"), Some(&Value::Bytes(vec![0])));
        assert_eq!(out.value.get_field("name"), Some(&Value::from("Ada")));
    }

    #[test]
    fn masks_schemaless_with_replacement() {
        let t = MaskField::new(
            &config(&[("fields", "ssn,age,missing"), ("replacement", "9")]),
            Part::Value,
        )
        .unwrap();
        let value = map(vec![("ssn", Value::from("123")), ("age", Value::Int64(40))]);
        let out = t.apply(ConnectRecord::new("t", value)).unwrap().unwrap();
        assert_eq!(
            out.value,
            map(vec![
                ("ssn", Value::from("9")),
                ("age", Value::Int64(9)),
                ("missing", Value::Null)
            ])
        );
        let bad = map(vec![("ssn", Value::Boolean(true))]);
        assert!(t.apply(ConnectRecord::new("t", bad)).is_err());
    }

    #[test]
    fn fields_is_required() {
        assert!(MaskField::new(&config(&[]), Part::Value).is_err());
        assert!(MaskField::new(&config(&[("fields", "")]), Part::Value).is_err());
    }
}
