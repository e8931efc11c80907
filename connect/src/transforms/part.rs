//! What the field transforms share: which part of a record they work on (Kafka's `$Key` and
//! `$Value` variants), Kafka's "struct or map" requirements, copying a schema's basics and
//! building structs and string-keyed maps.

use std::sync::{Arc, Mutex};

use crate::data::{Schema, SchemaBuilder, SchemaRef, Struct, Value};
use crate::error::{ConnectError, Result};
use crate::record::ConnectRecord;

/// The part of a record a transform works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    /// The key (`$Key` variants).
    Key,
    /// The value (`$Value` variants).
    Value,
}

impl Part {
    /// The part's schema.
    pub(crate) fn schema(self, record: &ConnectRecord) -> Option<&SchemaRef> {
        match self {
            Part::Key => record.key_schema.as_ref(),
            Part::Value => record.value_schema.as_ref(),
        }
    }

    /// The part's value.
    pub(crate) fn value(self, record: &ConnectRecord) -> &Value {
        match self {
            Part::Key => &record.key,
            Part::Value => &record.value,
        }
    }

    /// Replaces the part's schema and value.
    pub(crate) fn set(self, record: &mut ConnectRecord, schema: Option<SchemaRef>, value: Value) {
        match self {
            Part::Key => {
                record.key_schema = schema;
                record.key = value;
            }
            Part::Value => {
                record.value_schema = schema;
                record.value = value;
            }
        }
    }
}

/// Kafka's `requireMap`: a schemaless struct-like value is a map (with string keys).
pub(crate) fn require_map<'a>(value: &'a Value, purpose: &str) -> Result<&'a [(Value, Value)]> {
    match value {
        Value::Map(entries) => Ok(entries),
        other => Err(ConnectError::Data(format!(
            "Only Map objects supported in absence of schema for [{purpose}], found: {}",
            other.type_name()
        ))),
    }
}

/// Kafka's `requireStruct`.
pub(crate) fn require_struct<'a>(value: &'a Value, purpose: &str) -> Result<&'a Struct> {
    match value {
        Value::Struct(s) => Ok(s),
        other => Err(ConnectError::Data(format!(
            "Only Struct objects supported for [{purpose}], found: {}",
            other.type_name()
        ))),
    }
}

/// Kafka's `SchemaUtil.copySchemaBasics`: the name, version, doc and parameters of `schema`
/// on `builder` (optionality is not copied, as in Kafka).
pub(crate) fn copy_schema_basics(schema: &Schema, mut builder: SchemaBuilder) -> SchemaBuilder {
    if let Some(name) = &schema.name {
        builder = builder.name(name.clone());
    }
    if let Some(version) = schema.version {
        builder = builder.version(version);
    }
    if let Some(doc) = &schema.doc {
        builder = builder.doc(doc.clone());
    }
    for (key, value) in &schema.parameters {
        builder = builder.parameter(key.clone(), value.clone());
    }
    builder
}

/// A struct schema builder with the basics of `schema`.
pub(crate) fn struct_like(schema: &Schema) -> SchemaBuilder {
    copy_schema_basics(schema, Schema::struct_builder())
}

/// Checks a struct schema about to be built has no repeated field names (Kafka's
/// `SchemaBuilder.field` refuses them).
pub(crate) fn build_struct_schema(builder: SchemaBuilder) -> Result<SchemaRef> {
    let schema = builder.build();
    for (i, field) in schema.fields.iter().enumerate() {
        if schema.fields[..i].iter().any(|f| f.name == field.name) {
            return Err(ConnectError::Data(format!(
                "Cannot create field because of field name duplication {}",
                field.name
            )));
        }
    }
    Ok(Arc::new(schema))
}

/// A struct of `schema` with `values` in field order, each checked against its field.
pub(crate) fn new_struct(schema: &SchemaRef, values: Vec<Value>) -> Result<Struct> {
    Struct::from_values(schema.clone(), values)
}

/// Puts `key` into a string-keyed map, replacing an entry of that key (Java's `Map.put`).
pub(crate) fn map_put(entries: &mut Vec<(Value, Value)>, key: &str, value: Value) {
    match entries.iter_mut().find(|(k, _)| k.as_str() == Some(key)) {
        Some(entry) => entry.1 = value,
        None => entries.push((Value::String(key.to_owned()), value)),
    }
}

/// Removes `key` from a string-keyed map, returning its value.
pub(crate) fn map_remove(entries: &mut Vec<(Value, Value)>, key: &str) -> Option<Value> {
    let index = entries.iter().position(|(k, _)| k.as_str() == Some(key))?;
    Some(entries.remove(index).1)
}

/// A map key as a field name: Kafka's schemaless transforms address map entries by string.
pub(crate) fn key_name(key: &Value) -> Option<&str> {
    key.as_str()
}

/// How many input schemas a [`SchemaCache`] remembers (Kafka's transforms keep 16 too).
const SCHEMA_CACHE_SIZE: usize = 16;

/// Remembers the schema a transform built for an input schema, so records of one source
/// (which share a schema) do not rebuild it each time, as Kafka's `SchemaUpdateCache`.
#[derive(Debug, Default)]
pub(crate) struct SchemaCache {
    /// Input and output schemas, most recent last. A std `Mutex`: it is held only to look
    /// up or push an entry (never across a build or an await), so tasks sharing a chain
    /// contend for microseconds at most.
    entries: Mutex<Vec<(SchemaRef, SchemaRef)>>,
}

impl SchemaCache {
    /// The output schema for `input`, built by `build` when not remembered.
    pub(crate) fn get_or_build(
        &self,
        input: &SchemaRef,
        build: impl FnOnce() -> Result<SchemaRef>,
    ) -> Result<SchemaRef> {
        if let Ok(entries) = self.entries.lock() {
            let hit = entries
                .iter()
                .find(|(k, _)| Arc::ptr_eq(k, input))
                .or_else(|| entries.iter().find(|(k, _)| k == input));
            if let Some((_, output)) = hit {
                return Ok(output.clone());
            }
        }
        let output = build()?;
        // A poisoned lock only loses the caching, never a result.
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= SCHEMA_CACHE_SIZE {
                entries.remove(0);
            }
            entries.push((input.clone(), output.clone()));
        }
        Ok(output)
    }
}

/// A validator for list keys that must name at least one item.
pub(crate) fn non_empty_list(value: &str) -> std::result::Result<(), String> {
    if crate::config::split_list(value).is_empty() {
        Err("Empty list".to_owned())
    } else {
        Ok(())
    }
}

/// Helpers for the transforms' tests.
#[cfg(test)]
pub(crate) mod testkit {
    use crate::config::ConfigMap;
    use crate::data::Value;

    /// A config map of these pairs.
    pub(crate) fn config(pairs: &[(&str, &str)]) -> ConfigMap {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// A schemaless map of these entries.
    pub(crate) fn map(entries: Vec<(&str, Value)>) -> Value {
        Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| (Value::from(k), v))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;
    use crate::data::SchemaType;

    #[test]
    fn structs_are_rebuilt_in_one_checked_pass() {
        let schema = Schema::struct_builder()
            .field("id", Schema::primitive(SchemaType::Int32))
            .field("note", Schema::optional_string())
            .build_ref();
        let s = new_struct(&schema, vec![Value::Int32(1), Value::Null]).unwrap();
        assert_eq!(s.get("id"), Some(&Value::Int32(1)));
        assert!(
            new_struct(&schema, vec![Value::Int32(1)]).is_err(),
            "too few values"
        );
        assert!(
            new_struct(&schema, vec![Value::Null, Value::Null]).is_err(),
            "required id"
        );
        assert!(
            new_struct(&schema, vec![Value::from("x"), Value::Null]).is_err(),
            "wrong type"
        );
        assert!(
            new_struct(&Schema::string(), vec![]).is_err(),
            "not a struct schema"
        );
    }

    #[test]
    fn the_schema_cache_builds_once_per_schema_and_stays_bounded() {
        let cache = SchemaCache::default();
        let builds = Cell::new(0);
        let build = |schema: &SchemaRef| {
            cache.get_or_build(schema, || {
                builds.set(builds.get() + 1);
                Ok(Schema::optional_string())
            })
        };
        let a = Schema::primitive(SchemaType::Int32);
        let first = build(&a).unwrap();
        let again = build(&a).unwrap();
        let equal = build(&Schema::primitive(SchemaType::Int32)).unwrap();
        assert_eq!(builds.get(), 1);
        assert!(Arc::ptr_eq(&first, &again) && Arc::ptr_eq(&first, &equal));
        for version in 0..(SCHEMA_CACHE_SIZE as i32 + 1) {
            build(
                &Schema::builder(SchemaType::Int64)
                    .version(version)
                    .build_ref(),
            )
            .unwrap();
        }
        assert_eq!(cache.entries.lock().unwrap().len(), SCHEMA_CACHE_SIZE);
        build(&a).unwrap();
        assert_eq!(
            builds.get(),
            SCHEMA_CACHE_SIZE + 3,
            "the oldest entry was evicted"
        );
    }
}
