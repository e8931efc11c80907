//! ValueToKey: replaces the key with a struct (or map) of the listed value fields.

use crate::config::{ConfigDef, ConfigMap, ConfigType, Importance, Validator};
use crate::data::{Schema, Value};
use crate::error::{ConnectError, Result};
use crate::record::ConnectRecord;

use super::part::{
    build_struct_schema, new_struct, non_empty_list, require_map, require_struct, SchemaCache,
};
use super::Transform;

const PURPOSE: &str = "copying fields from value to key";

/// Kafka's `ValueToKey`.
#[derive(Debug)]
pub(crate) struct ValueToKey {
    fields: Vec<String>,
    schemas: SchemaCache,
}

impl ValueToKey {
    /// The declared keys.
    pub(crate) fn config_def() -> ConfigDef {
        ConfigDef::new()
            .required(
                "fields",
                ConfigType::List,
                Importance::High,
                "Field names on the record value to extract as the record key.",
            )
            .validator(Validator::Custom(non_empty_list))
    }

    /// From its config.
    pub(crate) fn new(config: &ConfigMap) -> Result<Self> {
        let parsed = Self::config_def().parse(config)?;
        Ok(Self {
            fields: parsed.list("fields"),
            schemas: SchemaCache::default(),
        })
    }
}

impl Transform for ValueToKey {
    fn apply(&self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        match record.value_schema.clone() {
            None => {
                require_map(&record.value, PURPOSE)?;
                let key = self
                    .fields
                    .iter()
                    .map(|f| {
                        let v = record.value.map_get(f).cloned().unwrap_or_default();
                        (Value::from(f.as_str()), v)
                    })
                    .collect();
                record.key_schema = None;
                record.key = Value::Map(key);
            }
            Some(schema) => {
                let value = require_struct(&record.value, PURPOSE)?;
                let key_schema = self.schemas.get_or_build(&schema, || {
                    let mut builder = Schema::struct_builder();
                    for name in &self.fields {
                        let field = schema.field(name).ok_or_else(|| {
                            ConnectError::Data(format!("Field does not exist: {name}"))
                        })?;
                        builder = builder.field(name.clone(), field.schema.clone());
                    }
                    build_struct_schema(builder)
                })?;
                let values = self
                    .fields
                    .iter()
                    .map(|name| value.get(name).cloned().unwrap_or_default())
                    .collect();
                let key = new_struct(&key_schema, values)?;
                record.key_schema = Some(key_schema);
                record.key = Value::Struct(key);
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
    fn schemaful_key_from_value_fields() {
        let schema = Schema::struct_builder()
            .field("id", Schema::primitive(SchemaType::Int64))
            .field("region", Schema::string())
            .field("amount", Schema::primitive(SchemaType::Float64))
            .build_ref();
        let value = Struct::new(schema.clone())
            .unwrap()
            .with("id", 1i64)
            .unwrap()
            .with("region", "eu")
            .unwrap()
            .with("amount", 2.5)
            .unwrap();
        let mut r = ConnectRecord::new("t", Value::Struct(value));
        r.value_schema = Some(schema);
        let t = ValueToKey::new(&config(&[("fields", "region,id")])).unwrap();
        let out = t.apply(r.clone()).unwrap().unwrap();
        let key_schema = out.key_schema.unwrap();
        assert_eq!(
            key_schema
                .fields
                .iter()
                .map(|f| f.name.as_str())
                .collect::<Vec<_>>(),
            vec!["region", "id"]
        );
        assert_eq!(out.key.get_field("id"), Some(&Value::Int64(1)));
        assert_eq!(out.key.get_field("region"), Some(&Value::from("eu")));
        let missing = ValueToKey::new(&config(&[("fields", "nope")])).unwrap();
        let err = missing.apply(r).unwrap_err();
        assert!(err.to_string().contains("Field does not exist: nope"));
    }

    #[test]
    fn schemaless_key_from_value_fields() {
        let t = ValueToKey::new(&config(&[("fields", "id")])).unwrap();
        let r = ConnectRecord::new("t", map(vec![("id", Value::Int32(4)), ("x", Value::Null)]));
        let out = t.apply(r).unwrap().unwrap();
        assert_eq!(out.key, map(vec![("id", Value::Int32(4))]));
        assert!(t.apply(ConnectRecord::new("t", Value::from("s"))).is_err());
        assert!(ValueToKey::new(&config(&[])).is_err());
    }
}
