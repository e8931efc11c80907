//! SetSchemaMetadata: sets the name (`schema.name`) and/or version (`schema.version`) of the
//! key's or value's schema; a struct value is re-attached to the renamed schema.

use std::sync::Arc;

use crate::config::{ConfigDef, ConfigMap, ConfigType, Importance};
use crate::data::Value;
use crate::error::{ConnectError, Result};
use crate::record::ConnectRecord;

use super::part::{new_struct, Part};
use super::Transform;

/// Kafka's `SetSchemaMetadata$Key` / `SetSchemaMetadata$Value`.
#[derive(Debug)]
pub(crate) struct SetSchemaMetadata {
    part: Part,
    name: Option<String>,
    version: Option<i32>,
}

impl SetSchemaMetadata {
    /// The declared keys.
    pub(crate) fn config_def() -> ConfigDef {
        ConfigDef::new()
            .optional(
                "schema.name",
                ConfigType::String,
                "",
                Importance::High,
                "Schema name to set.",
            )
            .optional(
                "schema.version",
                ConfigType::Int,
                "",
                Importance::High,
                "Schema version to set.",
            )
    }

    /// From its config.
    pub(crate) fn new(config: &ConfigMap, part: Part) -> Result<Self> {
        let mut config = config.clone();
        // An empty version means "not set", which the Int type check would refuse.
        if config
            .get("schema.version")
            .is_some_and(|v| v.trim().is_empty())
        {
            config.remove("schema.version");
        }
        let parsed = Self::config_def().parse(&config)?;
        let name = parsed.string("schema.name");
        let version = parsed
            .string("schema.version")
            .and_then(|v| v.trim().parse().ok());
        if name.is_none() && version.is_none() {
            return Err(ConnectError::Config(
                "Neither schema name nor version configured".to_owned(),
            ));
        }
        Ok(Self {
            part,
            name,
            version,
        })
    }
}

impl Transform for SetSchemaMetadata {
    fn apply(&self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        let schema = self.part.schema(&record).ok_or_else(|| {
            ConnectError::Data("Schema required for [updating schema metadata]".to_owned())
        })?;
        let mut updated = (**schema).clone();
        if let Some(name) = &self.name {
            updated.name = Some(name.clone());
        }
        if let Some(version) = self.version {
            updated.version = Some(version);
        }
        let updated = Arc::new(updated);
        let value = match self.part.value(&record) {
            Value::Struct(s) => Value::Struct(new_struct(&updated, s.values().to_vec())?),
            other => other.clone(),
        };
        self.part.set(&mut record, Some(updated), value);
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Schema, SchemaType, Struct};
    use crate::transforms::part::testkit::config;

    #[test]
    fn renames_and_versions_the_schema_keeping_the_struct() {
        let schema = Schema::struct_builder()
            .name("old")
            .field("id", Schema::primitive(SchemaType::Int32))
            .build_ref();
        let value = Struct::new(schema.clone()).unwrap().with("id", 4).unwrap();
        let mut r = ConnectRecord::new("t", Value::Struct(value));
        r.value_schema = Some(schema);
        let t = SetSchemaMetadata::new(
            &config(&[
                ("schema.name", "com.example.Order"),
                ("schema.version", "3"),
            ]),
            Part::Value,
        )
        .unwrap();
        let out = t.apply(r).unwrap().unwrap();
        let s = out.value_schema.unwrap();
        assert_eq!(s.name.as_deref(), Some("com.example.Order"));
        assert_eq!(s.version, Some(3));
        match &out.value {
            Value::Struct(v) => assert_eq!(v.schema(), &s),
            other => panic!("not a struct: {other:?}"),
        }
        assert_eq!(out.value.get_field("id"), Some(&Value::Int32(4)));
    }

    #[test]
    fn needs_a_schema_and_a_setting() {
        let t = SetSchemaMetadata::new(&config(&[("schema.version", "2")]), Part::Key).unwrap();
        let mut r = ConnectRecord::new("t", Value::Null);
        r.key_schema = Some(Schema::optional_string());
        r.key = Value::from("k");
        let out = t.apply(r).unwrap().unwrap();
        assert_eq!(out.key_schema.unwrap().version, Some(2));
        assert_eq!(out.key, Value::from("k"));
        assert!(t.apply(ConnectRecord::new("t", Value::Null)).is_err());
        assert!(SetSchemaMetadata::new(&config(&[]), Part::Key).is_err());
        assert!(SetSchemaMetadata::new(&config(&[("schema.version", "x")]), Part::Key).is_err());
    }
}
