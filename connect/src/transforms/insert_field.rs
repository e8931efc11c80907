//! InsertField: adds the record's topic, partition, offset, timestamp or a static string to
//! a struct (schema-ful) or a map (schemaless). A field name ending in `!` makes the added
//! field required, `?` (or nothing) optional. Tombstones pass unchanged.

use crate::config::{ConfigDef, ConfigMap, ConfigType, Importance};
use crate::data::{logical, Schema, SchemaRef, SchemaType, Value};
use crate::error::{ConnectError, Result};
use crate::record::ConnectRecord;

use super::part::{
    build_struct_schema, map_put, new_struct, require_map, require_struct, struct_like, Part,
    SchemaCache,
};
use super::Transform;

const PURPOSE: &str = "field insertion";

/// A field to insert: its name and whether it is optional.
#[derive(Debug, Clone)]
struct Insertion {
    name: String,
    optional: bool,
}

impl Insertion {
    fn parse(spec: Option<String>) -> Option<Insertion> {
        let spec = spec?;
        let (name, optional) = if let Some(name) = spec.strip_suffix('!') {
            (name, false)
        } else if let Some(name) = spec.strip_suffix('?') {
            (name, true)
        } else {
            (spec.as_str(), true)
        };
        Some(Insertion {
            name: name.to_owned(),
            optional,
        })
    }
}

/// Kafka's `InsertField$Key` / `InsertField$Value`.
#[derive(Debug)]
pub(crate) struct InsertField {
    part: Part,
    topic: Option<Insertion>,
    partition: Option<Insertion>,
    offset: Option<Insertion>,
    timestamp: Option<Insertion>,
    static_field: Option<Insertion>,
    static_value: Option<String>,
    schemas: SchemaCache,
}

impl InsertField {
    /// The declared keys.
    pub(crate) fn config_def() -> ConfigDef {
        let doc = |what: &str| {
            format!("Field name for {what}. Suffix with ! to make this a required field, or ? to keep it optional (the default).")
        };
        ConfigDef::new()
            .optional(
                "topic.field",
                ConfigType::String,
                "",
                Importance::Medium,
                &doc("Kafka topic"),
            )
            .optional(
                "partition.field",
                ConfigType::String,
                "",
                Importance::Medium,
                &doc("Kafka partition"),
            )
            .optional(
                "offset.field",
                ConfigType::String,
                "",
                Importance::Medium,
                &doc("Kafka offset - only applicable to sink connectors"),
            )
            .optional(
                "timestamp.field",
                ConfigType::String,
                "",
                Importance::Medium,
                &doc("record timestamp"),
            )
            .optional(
                "static.field",
                ConfigType::String,
                "",
                Importance::Medium,
                &doc("static data field"),
            )
            .optional(
                "static.value",
                ConfigType::String,
                "",
                Importance::Medium,
                "Static field value, if field name configured.",
            )
    }

    /// From its config.
    pub(crate) fn new(config: &ConfigMap, part: Part) -> Result<Self> {
        let parsed = Self::config_def().parse(config)?;
        let static_field = Insertion::parse(parsed.string("static.field"));
        let static_value = parsed.string("static.value");
        Ok(Self {
            part,
            topic: Insertion::parse(parsed.string("topic.field")),
            partition: Insertion::parse(parsed.string("partition.field")),
            offset: Insertion::parse(parsed.string("offset.field")),
            timestamp: Insertion::parse(parsed.string("timestamp.field")),
            static_field,
            static_value,
            schemas: SchemaCache::default(),
        })
    }

    fn offset_error() -> ConnectError {
        ConnectError::Data(
            "Only SinkRecord supported for [field insertion]: offset.field needs the record's Kafka offset, which a source record does not have".to_owned(),
        )
    }

    fn apply_schemaless(&self, record: &ConnectRecord) -> Result<Value> {
        let mut entries = require_map(self.part.value(record), PURPOSE)?.to_vec();
        if let Some(f) = &self.topic {
            map_put(&mut entries, &f.name, Value::String(record.topic.clone()));
        }
        if let (Some(f), Some(p)) = (&self.partition, record.partition) {
            map_put(&mut entries, &f.name, Value::Int32(p));
        }
        if let Some(f) = &self.offset {
            let offset = record.kafka_offset.ok_or_else(Self::offset_error)?;
            map_put(&mut entries, &f.name, Value::Int64(offset));
        }
        if let (Some(f), Some(t)) = (&self.timestamp, record.timestamp) {
            map_put(&mut entries, &f.name, Value::Int64(t));
        }
        if let (Some(f), Some(v)) = (&self.static_field, &self.static_value) {
            map_put(&mut entries, &f.name, Value::String(v.clone()));
        }
        Ok(Value::Map(entries))
    }

    fn updated_schema(&self, schema: &Schema) -> Result<SchemaRef> {
        let mut builder = struct_like(schema);
        for field in &schema.fields {
            builder = builder.field(field.name.clone(), field.schema.clone());
        }
        let primitive = |t: SchemaType, optional: bool| {
            if optional {
                Schema::optional_primitive(t)
            } else {
                Schema::primitive(t)
            }
        };
        if let Some(f) = &self.topic {
            builder = builder.field(f.name.clone(), primitive(SchemaType::String, f.optional));
        }
        if let Some(f) = &self.partition {
            builder = builder.field(f.name.clone(), primitive(SchemaType::Int32, f.optional));
        }
        if let Some(f) = &self.offset {
            builder = builder.field(f.name.clone(), primitive(SchemaType::Int64, f.optional));
        }
        if let Some(f) = &self.timestamp {
            builder = builder.field(
                f.name.clone(),
                logical::timestamp().set_optional(f.optional).build_ref(),
            );
        }
        if let Some(f) = &self.static_field {
            builder = builder.field(f.name.clone(), primitive(SchemaType::String, f.optional));
        }
        build_struct_schema(builder)
    }

    fn apply_with_schema(
        &self,
        record: &ConnectRecord,
        schema: &SchemaRef,
    ) -> Result<(SchemaRef, Value)> {
        let value = require_struct(self.part.value(record), PURPOSE)?;
        let updated = self
            .schemas
            .get_or_build(schema, || self.updated_schema(schema))?;
        let mut values = value.values().to_vec();
        if self.topic.is_some() {
            values.push(Value::String(record.topic.clone()));
        }
        if self.partition.is_some() {
            values.push(record.partition.map_or(Value::Null, Value::Int32));
        }
        if self.offset.is_some() {
            let offset = record.kafka_offset.ok_or_else(Self::offset_error)?;
            values.push(Value::Int64(offset));
        }
        if self.timestamp.is_some() {
            values.push(record.timestamp.map_or(Value::Null, Value::Int64));
        }
        if self.static_field.is_some() {
            values.push(self.static_value.clone().map_or(Value::Null, Value::String));
        }
        let result = new_struct(&updated, values)?;
        Ok((updated, Value::Struct(result)))
    }
}

impl Transform for InsertField {
    fn apply(&self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        if self.part.value(&record).is_null() {
            return Ok(Some(record));
        }
        match self.part.schema(&record).cloned() {
            None => {
                let value = self.apply_schemaless(&record)?;
                self.part.set(&mut record, None, value);
            }
            Some(schema) => {
                let (schema, value) = self.apply_with_schema(&record, &schema)?;
                self.part.set(&mut record, Some(schema), value);
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

    fn record(value_schema: Option<SchemaRef>, value: Value) -> ConnectRecord {
        ConnectRecord {
            topic: "orders".into(),
            partition: Some(3),
            timestamp: Some(1_700_000_000_000),
            value_schema,
            value,
            ..ConnectRecord::default()
        }
    }

    #[test]
    fn offset_field_takes_a_sink_records_kafka_offset_and_refuses_a_source_record() {
        let insert = InsertField::new(&config(&[("offset.field", "offset")]), Part::Value).unwrap();
        let mut sink = record(None, map(vec![("id", Value::Int32(1))]));
        sink.kafka_offset = Some(42);
        let out = insert.apply(sink).unwrap().unwrap();
        assert_eq!(out.value.map_get("offset"), Some(&Value::Int64(42)));
        let schema = Schema::struct_builder()
            .field("id", Schema::primitive(SchemaType::Int32))
            .build_ref();
        let value = Value::Struct(
            Struct::new(std::sync::Arc::clone(&schema))
                .unwrap()
                .with("id", 7)
                .unwrap(),
        );
        let mut sink = record(Some(schema), value);
        sink.kafka_offset = Some(9);
        let out = insert.apply(sink).unwrap().unwrap();
        assert_eq!(out.value.get_field("offset"), Some(&Value::Int64(9)));
        let source = record(None, map(vec![("id", Value::Int32(1))]));
        let err = insert.apply(source).unwrap_err();
        assert!(
            err.to_string().contains("Only SinkRecord supported"),
            "{err}"
        );
    }

    fn transform() -> InsertField {
        InsertField::new(
            &config(&[
                ("topic.field", "topic!"),
                ("partition.field", "partition"),
                ("timestamp.field", "ts?"),
                ("static.field", "source"),
                ("static.value", "fjord"),
            ]),
            Part::Value,
        )
        .unwrap()
    }

    #[test]
    fn inserts_into_a_struct_with_kafka_schemas() {
        let schema = Schema::struct_builder()
            .name("Order")
            .field("id", Schema::primitive(SchemaType::Int64))
            .build_ref();
        let value = Struct::new(schema.clone())
            .unwrap()
            .with("id", 7i64)
            .unwrap();
        let out = transform()
            .apply(record(Some(schema), Value::Struct(value)))
            .unwrap()
            .unwrap();
        let out_schema = out.value_schema.unwrap();
        assert_eq!(out_schema.name.as_deref(), Some("Order"));
        let topic = out_schema.field("topic").unwrap();
        assert!(!topic.schema.optional);
        assert!(out_schema.field("partition").unwrap().schema.optional);
        assert_eq!(
            out_schema.field("ts").unwrap().schema.name.as_deref(),
            Some(logical::TIMESTAMP)
        );
        assert_eq!(out.value.get_field("id"), Some(&Value::Int64(7)));
        assert_eq!(out.value.get_field("topic"), Some(&Value::from("orders")));
        assert_eq!(out.value.get_field("partition"), Some(&Value::Int32(3)));
        assert_eq!(
            out.value.get_field("ts"),
            Some(&Value::Int64(1_700_000_000_000))
        );
        assert_eq!(out.value.get_field("source"), Some(&Value::from("fjord")));
    }

    #[test]
    fn inserts_into_a_schemaless_map_skipping_missing_metadata() {
        let mut r = record(None, map(vec![("id", Value::Int64(7))]));
        r.timestamp = None;
        let out = transform().apply(r).unwrap().unwrap();
        assert_eq!(
            out.value,
            map(vec![
                ("id", Value::Int64(7)),
                ("topic", Value::from("orders")),
                ("partition", Value::Int32(3)),
                ("source", Value::from("fjord")),
            ])
        );
    }

    #[test]
    fn tombstones_pass_and_non_maps_fail() {
        let out = transform()
            .apply(record(None, Value::Null))
            .unwrap()
            .unwrap();
        assert!(out.value.is_null());
        let err = transform()
            .apply(record(None, Value::from("text")))
            .unwrap_err();
        assert!(err.to_string().contains("Only Map objects"), "{err}");
    }

    #[test]
    fn a_required_field_without_its_metadata_fails() {
        let schema = Schema::struct_builder()
            .field("id", Schema::primitive(SchemaType::Int64))
            .build_ref();
        let t = InsertField::new(&config(&[("partition.field", "p!")]), Part::Value).unwrap();
        let value = Struct::new(schema.clone())
            .unwrap()
            .with("id", 1i64)
            .unwrap();
        let mut r = record(Some(schema), Value::Struct(value));
        r.partition = None;
        assert!(t.apply(r).is_err());
    }

    #[test]
    fn key_variant_and_static_value_check() {
        let t = InsertField::new(&config(&[("topic.field", "t")]), Part::Key).unwrap();
        let mut r = record(None, Value::Null);
        r.key = map(vec![]);
        let out = t.apply(r).unwrap().unwrap();
        assert_eq!(out.key, map(vec![("t", Value::from("orders"))]));
        let t = InsertField::new(&config(&[("static.field", "s")]), Part::Value).unwrap();
        let out = t.apply(record(None, map(vec![]))).unwrap().unwrap();
        assert_eq!(out.value, map(vec![]), "no static.value, nothing inserted");
    }
}
