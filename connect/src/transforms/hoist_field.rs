//! HoistField: wraps the key or value in a struct (or map) of one field.

use crate::config::{ConfigDef, ConfigMap, ConfigType, Importance, Validator};
use crate::data::{Schema, Value};
use crate::error::Result;
use crate::record::ConnectRecord;

use super::part::{build_struct_schema, new_struct, Part};
use super::Transform;

/// Kafka's `HoistField$Key` / `HoistField$Value`.
#[derive(Debug)]
pub(crate) struct HoistField {
    part: Part,
    field: String,
}

impl HoistField {
    /// The declared keys.
    pub(crate) fn config_def() -> ConfigDef {
        ConfigDef::new()
            .required("field", ConfigType::String, Importance::Medium, "Field name for the single field that will be created in the resulting Struct or Map.")
            .validator(Validator::NonEmptyString)
    }

    /// From its config.
    pub(crate) fn new(config: &ConfigMap, part: Part) -> Result<Self> {
        let parsed = Self::config_def().parse(config)?;
        Ok(Self {
            part,
            field: parsed.string("field").unwrap_or_default(),
        })
    }
}

impl Transform for HoistField {
    fn apply(&self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        let value = self.part.value(&record).clone();
        match self.part.schema(&record).cloned() {
            None => {
                let hoisted = Value::Map(vec![(Value::from(self.field.as_str()), value)]);
                self.part.set(&mut record, None, hoisted);
            }
            Some(schema) => {
                let updated = build_struct_schema(
                    Schema::struct_builder().field(self.field.clone(), schema),
                )?;
                let hoisted = new_struct(&updated, vec![value])?;
                self.part
                    .set(&mut record, Some(updated), Value::Struct(hoisted));
            }
        }
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::SchemaType;
    use crate::transforms::part::testkit::{config, map};

    #[test]
    fn hoists_with_and_without_schema() {
        let t = HoistField::new(&config(&[("field", "line")]), Part::Value).unwrap();
        let out = t
            .apply(ConnectRecord::new("t", Value::from("hello")))
            .unwrap()
            .unwrap();
        assert_eq!(out.value, map(vec![("line", Value::from("hello"))]));

        let mut r = ConnectRecord::new("t", Value::Null);
        r.key_schema = Some(Schema::primitive(SchemaType::Int32));
        r.key = Value::Int32(5);
        let t = HoistField::new(&config(&[("field", "id")]), Part::Key).unwrap();
        let out = t.apply(r.clone()).unwrap().unwrap();
        let schema = out.key_schema.unwrap();
        assert_eq!(schema.schema_type, SchemaType::Struct);
        assert_eq!(
            schema.field("id").unwrap().schema.schema_type,
            SchemaType::Int32
        );
        assert_eq!(out.key.get_field("id"), Some(&Value::Int32(5)));

        r.key = Value::Null;
        assert!(t.apply(r).is_err(), "null into a required field");
        assert!(HoistField::new(&config(&[]), Part::Key).is_err());
    }
}
