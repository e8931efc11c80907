//! Flatten: turns nested structs (schema-ful) or nested maps (schemaless) into one level,
//! joining the names with `delimiter` (`address.city`). Arrays and maps under a schema are
//! kept as they are; a field under an optional struct becomes optional.

use std::sync::Arc;

use crate::config::{ConfigDef, ConfigMap, ConfigType, Importance};
use crate::data::{Schema, SchemaBuilder, SchemaType, Value};
use crate::error::{ConnectError, Result};
use crate::record::ConnectRecord;

use super::part::{
    build_struct_schema, key_name, map_put, new_struct, require_map, require_struct, struct_like,
    Part, SchemaCache,
};
use super::Transform;

const PURPOSE: &str = "flattening";

/// Kafka's `Flatten$Key` / `Flatten$Value`.
#[derive(Debug)]
pub(crate) struct Flatten {
    part: Part,
    delimiter: String,
    schemas: SchemaCache,
}

impl Flatten {
    /// The declared keys.
    pub(crate) fn config_def() -> ConfigDef {
        ConfigDef::new().optional("delimiter", ConfigType::String, ".", Importance::Medium, "Delimiter to insert between field names from the input record when generating field names for the output record")
    }

    /// From its config.
    pub(crate) fn new(config: &ConfigMap, part: Part) -> Result<Self> {
        let parsed = Self::config_def().parse(config)?;
        Ok(Self {
            part,
            delimiter: parsed.get("delimiter").unwrap_or(".").to_owned(),
            schemas: SchemaCache::default(),
        })
    }

    fn name(&self, prefix: &str, name: &str) -> String {
        if prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{prefix}{}{name}", self.delimiter)
        }
    }

    fn flatten_map(
        &self,
        entries: &[(Value, Value)],
        prefix: &str,
        out: &mut Vec<(Value, Value)>,
    ) -> Result<()> {
        for (key, value) in entries {
            let key = key_name(key).ok_or_else(|| {
                ConnectError::Data(format!(
                    "Flatten needs string map keys, found {}",
                    key.type_name()
                ))
            })?;
            let name = self.name(prefix, key);
            match value {
                Value::Map(nested) => self.flatten_map(nested, &name, out)?,
                Value::Struct(_) => {
                    return Err(ConnectError::Data(format!(
                        "Flatten transformation does not support struct for record without schemas (for field {name})."
                    )))
                }
                other => map_put(out, &name, other.clone()),
            }
        }
        Ok(())
    }

    /// Adds the flattened fields of `schema` to `builder`: a field is optional when it or
    /// an enclosing struct is, and takes its own default or else the enclosing struct
    /// default's value for it (as Kafka's Flatten).
    fn flatten_schema(
        &self,
        schema: &Schema,
        prefix: &str,
        optional: bool,
        parent_default: Option<&Value>,
        mut builder: SchemaBuilder,
    ) -> SchemaBuilder {
        for field in &schema.fields {
            let name = self.name(prefix, &field.name);
            let field_optional = optional || field.schema.optional;
            let default = field.schema.default.clone().or_else(|| {
                parent_default
                    .and_then(|d| d.get_field(&field.name))
                    .filter(|v| !v.is_null())
                    .cloned()
            });
            if field.schema.schema_type == SchemaType::Struct {
                builder = self.flatten_schema(
                    &field.schema,
                    &name,
                    field_optional,
                    default.as_ref(),
                    builder,
                );
            } else {
                let mut copy = (*field.schema).clone();
                copy.optional = field_optional;
                copy.default = default;
                builder = builder.field(name, Arc::new(copy));
            }
        }
        builder
    }

    fn flatten_values(schema: &Schema, value: Option<&Value>, out: &mut Vec<Value>) {
        for field in &schema.fields {
            let v = value
                .and_then(|v| v.get_field(&field.name))
                .filter(|v| !v.is_null());
            if field.schema.schema_type == SchemaType::Struct {
                Self::flatten_values(&field.schema, v, out);
            } else {
                out.push(v.cloned().unwrap_or_default());
            }
        }
    }
}

impl Transform for Flatten {
    fn apply(&self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        let value = self.part.value(&record);
        if value.is_null() {
            return Ok(Some(record));
        }
        match self.part.schema(&record).cloned() {
            None => {
                let entries = require_map(value, PURPOSE)?;
                let mut out = Vec::new();
                self.flatten_map(entries, "", &mut out)?;
                self.part.set(&mut record, None, Value::Map(out));
            }
            Some(schema) => {
                require_struct(value, PURPOSE)?;
                let updated = self.schemas.get_or_build(&schema, || {
                    build_struct_schema(self.flatten_schema(
                        &schema,
                        "",
                        schema.optional,
                        schema.default.as_ref(),
                        struct_like(&schema),
                    ))
                })?;
                let mut values = Vec::new();
                Self::flatten_values(&schema, Some(value), &mut values);
                let flat = new_struct(&updated, values)?;
                self.part
                    .set(&mut record, Some(updated), Value::Struct(flat));
            }
        }
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Struct;
    use crate::transforms::part::testkit::{config, map};

    #[test]
    fn flattens_nested_structs() {
        let address = Schema::struct_builder()
            .field("city", Schema::string())
            .field("zip", Schema::primitive(SchemaType::Int32))
            .optional()
            .build_ref();
        let schema = Schema::struct_builder()
            .name("Customer")
            .field("id", Schema::primitive(SchemaType::Int64))
            .field("address", address.clone())
            .field("tags", Schema::array(Schema::string()).build_ref())
            .build_ref();
        let addr = Struct::new(address)
            .unwrap()
            .with("city", "Oslo")
            .unwrap()
            .with("zip", 150)
            .unwrap();
        let value = Struct::new(schema.clone())
            .unwrap()
            .with("id", 1i64)
            .unwrap()
            .with("address", Value::Struct(addr))
            .unwrap()
            .with("tags", Value::Array(vec![Value::from("a")]))
            .unwrap();
        let t = Flatten::new(&config(&[("delimiter", "_")]), Part::Value).unwrap();
        let mut r = ConnectRecord::new("t", Value::Struct(value));
        r.value_schema = Some(schema.clone());
        let out = t.apply(r).unwrap().unwrap();
        let s = out.value_schema.unwrap();
        assert_eq!(
            s.fields.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(),
            vec!["id", "address_city", "address_zip", "tags"]
        );
        assert!(
            s.field("address_city").unwrap().schema.optional,
            "under an optional struct"
        );
        assert!(!s.field("id").unwrap().schema.optional);
        assert_eq!(
            out.value.get_field("address_city"),
            Some(&Value::from("Oslo"))
        );
        assert_eq!(out.value.get_field("address_zip"), Some(&Value::Int32(150)));

        let no_address = Struct::new(schema.clone())
            .unwrap()
            .with("id", 2i64)
            .unwrap()
            .with("tags", Value::Array(vec![]))
            .unwrap();
        let mut r = ConnectRecord::new("t", Value::Struct(no_address));
        r.value_schema = Some(schema);
        let out = t.apply(r).unwrap().unwrap();
        assert_eq!(out.value.get_field("address_city"), Some(&Value::Null));
    }

    #[test]
    fn defaults_come_from_the_enclosing_struct_and_optional_spreads_down() {
        let address = Schema::struct_builder()
            .field("city", Schema::string())
            .field("zip", Schema::primitive(SchemaType::Int32))
            .build_ref();
        let fallback = Struct::new(address.clone())
            .unwrap()
            .with("city", "Nowhere")
            .unwrap()
            .with("zip", 0)
            .unwrap();
        let with_default = Schema::struct_builder()
            .field("city", Schema::string())
            .field("zip", Schema::primitive(SchemaType::Int32))
            .optional()
            .default_value(Value::Struct(fallback))
            .build_ref();
        let schema = Schema::struct_builder()
            .field("address", with_default)
            .optional()
            .field("id", Schema::primitive(SchemaType::Int64))
            .build_ref();
        let value = Struct::new(schema.clone())
            .unwrap()
            .with("id", 3i64)
            .unwrap();
        let mut r = ConnectRecord::new("t", Value::Struct(value));
        r.value_schema = Some(schema);
        let out = Flatten::new(&config(&[]), Part::Value)
            .unwrap()
            .apply(r)
            .unwrap()
            .unwrap();
        let s = out.value_schema.unwrap();
        let city = &s.field("address.city").unwrap().schema;
        assert_eq!(city.default, Some(Value::from("Nowhere")));
        assert!(city.optional);
        assert!(
            s.field("id").unwrap().schema.optional,
            "the top-level struct is optional"
        );
        assert_eq!(out.value.get_field("address.city"), Some(&Value::Null));
        assert_eq!(out.value.get_field("id"), Some(&Value::Int64(3)));
    }

    #[test]
    fn flattens_nested_maps() {
        let t = Flatten::new(&config(&[]), Part::Value).unwrap();
        let value = map(vec![
            ("id", Value::Int32(1)),
            (
                "a",
                map(vec![
                    ("b", map(vec![("c", Value::from("x"))])),
                    ("n", Value::Null),
                ]),
            ),
            ("list", Value::Array(vec![Value::Int32(1)])),
        ]);
        let out = t.apply(ConnectRecord::new("t", value)).unwrap().unwrap();
        assert_eq!(
            out.value,
            map(vec![
                ("id", Value::Int32(1)),
                ("a.b.c", Value::from("x")),
                ("a.n", Value::Null),
                ("list", Value::Array(vec![Value::Int32(1)])),
            ])
        );
        let tomb = t
            .apply(ConnectRecord::new("t", Value::Null))
            .unwrap()
            .unwrap();
        assert!(tomb.value.is_null());
    }
}
