//! Connect schemas <-> Avro schemas, as Confluent's `AvroData` maps them: int8/int16 are Avro
//! ints with a `connect.type` property, optional schemas are unions with null first (default
//! null), structs are records (named by the Connect schema's name, else
//! `io.confluent.connect.avro.ConnectDefault`), maps with string keys are Avro maps and other
//! maps arrays of `MapEntry` records, logical types are Avro's (decimal with
//! `connect.decimal.precision`, date, time-millis, timestamp-millis); `connect.name`,
//! `connect.version`, `connect.doc` and `connect.parameters` keep what Avro has no place for.

use std::sync::Arc;

use fjord_core::format::avro::apache_avro::schema::{RecordField, Schema as Avro, UnionSchema};
use serde_json::{json, Map, Value as Json};

use crate::data::{logical, Schema, SchemaRef, SchemaType};
use crate::error::{ConnectError, Result};

const NAMESPACE: &str = "io.confluent.connect.avro";
const DEFAULT_RECORD: &str = "ConnectDefault";

/// The Avro schema (JSON) of a Connect schema.
///
/// # Errors
/// A schema Avro cannot express (a struct field name that is not an Avro name).
pub fn to_avro_json(schema: &Schema) -> Result<Json> {
    let mut counter = 0;
    to_avro(schema, &mut counter, true)
}

fn to_avro(schema: &Schema, counter: &mut u32, top: bool) -> Result<Json> {
    let base = non_null(schema, counter, top)?;
    if schema.optional {
        Ok(Json::Array(vec![json!("null"), base]))
    } else {
        Ok(base)
    }
}

fn with_props(mut object: Map<String, Json>, schema: &Schema) -> Json {
    if let Some(name) = &schema.name {
        if schema.schema_type != SchemaType::Struct {
            object.insert("connect.name".into(), json!(name));
        }
    }
    if let Some(version) = schema.version {
        object.insert("connect.version".into(), json!(version));
    }
    if let Some(doc) = &schema.doc {
        object.insert("connect.doc".into(), json!(doc));
    }
    let parameters: Map<String, Json> = schema
        .parameters
        .iter()
        .filter(|(k, _)| k.as_str() != logical::DECIMAL_SCALE)
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    if !parameters.is_empty() {
        object.insert("connect.parameters".into(), Json::Object(parameters));
    }
    Json::Object(object)
}

fn primitive(avro_type: &str) -> Map<String, Json> {
    let mut object = Map::new();
    object.insert("type".into(), json!(avro_type));
    object
}

fn non_null(schema: &Schema, counter: &mut u32, top: bool) -> Result<Json> {
    let name = schema.name.as_deref();
    let logical_name = name.filter(|n| n.starts_with("org.apache.kafka.connect.data."));
    let json = match (schema.schema_type, logical_name) {
        (SchemaType::Bytes, Some(logical::DECIMAL)) => {
            let scale = logical::decimal_scale(schema)?;
            let precision: i64 = schema
                .parameters
                .get("connect.decimal.precision")
                .and_then(|p| p.parse().ok())
                .unwrap_or(64);
            let mut object = primitive("bytes");
            object.insert("logicalType".into(), json!("decimal"));
            object.insert("precision".into(), json!(precision));
            object.insert("scale".into(), json!(scale));
            with_props(object, schema)
        }
        (SchemaType::Int32, Some(logical::DATE)) => {
            let mut object = primitive("int");
            object.insert("logicalType".into(), json!("date"));
            with_props(object, schema)
        }
        (SchemaType::Int32, Some(logical::TIME)) => {
            let mut object = primitive("int");
            object.insert("logicalType".into(), json!("time-millis"));
            with_props(object, schema)
        }
        (SchemaType::Int64, Some(logical::TIMESTAMP)) => {
            let mut object = primitive("long");
            object.insert("logicalType".into(), json!("timestamp-millis"));
            with_props(object, schema)
        }
        (SchemaType::Int8 | SchemaType::Int16, _) => {
            let mut object = primitive("int");
            object.insert(
                "connect.type".into(),
                json!(if schema.schema_type == SchemaType::Int8 {
                    "int8"
                } else {
                    "int16"
                }),
            );
            with_props(object, schema)
        }
        (SchemaType::Int32, _) => with_props(primitive("int"), schema),
        (SchemaType::Int64, _) => with_props(primitive("long"), schema),
        (SchemaType::Float32, _) => with_props(primitive("float"), schema),
        (SchemaType::Float64, _) => with_props(primitive("double"), schema),
        (SchemaType::Boolean, _) => with_props(primitive("boolean"), schema),
        (SchemaType::String, _) => with_props(primitive("string"), schema),
        (SchemaType::Bytes, _) => with_props(primitive("bytes"), schema),
        (SchemaType::Array, _) => {
            let items = schema
                .value_schema
                .as_deref()
                .ok_or_else(|| missing("array", "element"))?;
            let mut object = primitive("array");
            object.insert("items".into(), to_avro(items, counter, false)?);
            with_props(object, schema)
        }
        (SchemaType::Map, _) => {
            let key = schema
                .key_schema
                .as_deref()
                .ok_or_else(|| missing("map", "key"))?;
            let value = schema
                .value_schema
                .as_deref()
                .ok_or_else(|| missing("map", "value"))?;
            if key.schema_type == SchemaType::String && !key.optional {
                let mut object = primitive("map");
                object.insert("values".into(), to_avro(value, counter, false)?);
                with_props(object, schema)
            } else {
                *counter += 1;
                let entry = json!({
                    "type": "record",
                    "name": if *counter == 1 { "MapEntry".to_owned() } else { format!("MapEntry{counter}") },
                    "namespace": NAMESPACE,
                    "fields": [
                        {"name": "key", "type": to_avro(key, counter, false)?},
                        {"name": "value", "type": to_avro(value, counter, false)?},
                    ],
                });
                let mut object = primitive("array");
                object.insert("items".into(), entry);
                with_props(object, schema)
            }
        }
        (SchemaType::Struct, _) => {
            let (namespace, record) = match name {
                Some(full) => match full.rsplit_once('.') {
                    Some((ns, n)) => (Some(ns.to_owned()), n.to_owned()),
                    None => (None, full.to_owned()),
                },
                None => {
                    *counter += 1;
                    let n = if top && *counter == 1 {
                        DEFAULT_RECORD.to_owned()
                    } else {
                        format!("{DEFAULT_RECORD}{counter}")
                    };
                    (Some(NAMESPACE.to_owned()), n)
                }
            };
            let mut fields = Vec::new();
            for field in &schema.fields {
                let mut entry = Map::new();
                entry.insert("name".into(), json!(field.name));
                entry.insert("type".into(), to_avro(&field.schema, counter, false)?);
                if field.schema.optional {
                    entry.insert("default".into(), Json::Null);
                }
                // Also on the field: Avro libraries without properties on primitive types
                // (apache-avro among them) keep field properties, so int8/int16 survive.
                if matches!(
                    field.schema.schema_type,
                    SchemaType::Int8 | SchemaType::Int16
                ) {
                    let narrow = if field.schema.schema_type == SchemaType::Int8 {
                        "int8"
                    } else {
                        "int16"
                    };
                    entry.insert("connect.type".into(), json!(narrow));
                }
                fields.push(Json::Object(entry));
            }
            let mut object = primitive("record");
            object.insert("name".into(), json!(record));
            if let Some(namespace) = namespace {
                object.insert("namespace".into(), json!(namespace));
            }
            if let Some(doc) = &schema.doc {
                object.insert("doc".into(), json!(doc));
            }
            object.insert("fields".into(), Json::Array(fields));
            Json::Object(object)
        }
    };
    Ok(json)
}

fn missing(kind: &str, part: &str) -> ConnectError {
    ConnectError::Data(format!("a Connect {kind} schema without its {part} schema"))
}

/// The Connect schema of an Avro schema (what a sink sees).
///
/// # Errors
/// An Avro type Connect has no form for (a union of several non-null types is mapped to
/// Confluent's `io.confluent.connect.avro.Union` struct; a recursive record is refused).
pub fn from_avro(avro: &Avro) -> Result<SchemaRef> {
    from_avro_depth(avro, false, 0)
}

fn prop_str<'a>(
    attributes: &'a std::collections::BTreeMap<String, Json>,
    key: &str,
) -> Option<&'a str> {
    attributes.get(key).and_then(Json::as_str)
}

fn from_avro_depth(avro: &Avro, optional: bool, depth: usize) -> Result<SchemaRef> {
    if depth > 64 {
        return Err(ConnectError::Data(
            "an Avro schema nested deeper than 64 levels (recursive?)".into(),
        ));
    }
    let builder = match avro {
        Avro::Null => {
            return Err(ConnectError::Data(
                "a bare Avro null schema has no Connect form".into(),
            ))
        }
        Avro::Boolean => Schema::builder(SchemaType::Boolean),
        Avro::Int => Schema::builder(SchemaType::Int32),
        Avro::Long => Schema::builder(SchemaType::Int64),
        Avro::Float => Schema::builder(SchemaType::Float32),
        Avro::Double => Schema::builder(SchemaType::Float64),
        Avro::Bytes => Schema::builder(SchemaType::Bytes),
        Avro::String | Avro::Uuid => Schema::builder(SchemaType::String),
        Avro::Fixed(_) => Schema::builder(SchemaType::Bytes),
        Avro::Enum(e) => Schema::builder(SchemaType::String).name(e.name.fullname(None)),
        Avro::Decimal(d) => logical::decimal(i32::try_from(d.scale).unwrap_or(0))
            .parameter("connect.decimal.precision", d.precision.to_string()),
        Avro::Date => logical::date(),
        Avro::TimeMillis => logical::time(),
        Avro::TimestampMillis | Avro::LocalTimestampMillis => logical::timestamp(),
        Avro::TimeMicros
        | Avro::TimestampMicros
        | Avro::LocalTimestampMicros
        | Avro::TimestampNanos
        | Avro::LocalTimestampNanos => Schema::builder(SchemaType::Int64),
        Avro::Array(array) => Schema::array(from_avro_depth(&array.items, false, depth + 1)?),
        Avro::Map(map) => Schema::map(
            Schema::string(),
            from_avro_depth(&map.types, false, depth + 1)?,
        ),
        Avro::Union(union) => return union_schema(union, optional, depth),
        Avro::Record(record) => {
            let mut builder = Schema::struct_builder().name(record.name.fullname(None));
            if let Some(doc) = &record.doc {
                builder = builder.doc(doc.clone());
            }
            for field in &record.fields {
                builder = builder.field(field.name.clone(), field_schema(field, depth)?);
            }
            builder
        }
        Avro::Ref { name } => {
            return Err(ConnectError::Data(format!(
                "the Avro schema refers to '{}' recursively; Connect schemas cannot be recursive",
                name.fullname(None)
            )))
        }
        other => {
            return Err(ConnectError::Data(format!(
                "the Avro type {other:?} has no Connect form"
            )))
        }
    };
    Ok(Arc::new(builder.set_optional(optional).build()))
}

fn field_schema(field: &RecordField, depth: usize) -> Result<SchemaRef> {
    let schema = from_avro_depth(&field.schema, false, depth + 1)?;
    // Confluent's connect.type on an int field marks int8/int16.
    let narrowed = match prop_str(&field.custom_attributes, "connect.type") {
        Some("int8") => Some(SchemaType::Int8),
        Some("int16") => Some(SchemaType::Int16),
        _ => None,
    };
    Ok(match narrowed {
        Some(t) if schema.schema_type == SchemaType::Int32 => {
            Arc::new(Schema::builder(t).set_optional(schema.optional).build())
        }
        _ => schema,
    })
}

fn union_schema(union: &UnionSchema, _optional: bool, depth: usize) -> Result<SchemaRef> {
    let variants = union.variants();
    let non_null: Vec<&Avro> = variants
        .iter()
        .filter(|v| !matches!(v, Avro::Null))
        .collect();
    let nullable = non_null.len() < variants.len();
    match non_null.as_slice() {
        [] => Err(ConnectError::Data(
            "an Avro union of only null has no Connect form".into(),
        )),
        [one] => from_avro_depth(one, nullable, depth + 1),
        many => {
            let mut builder = Schema::struct_builder().name(format!("{NAMESPACE}.Union"));
            for variant in many {
                let branch = from_avro_depth(variant, true, depth + 1)?;
                builder = builder.field(branch_name(variant), branch);
            }
            Ok(Arc::new(builder.set_optional(nullable).build()))
        }
    }
}

/// The field name Confluent gives a union branch (the type name, or the record's name).
pub fn branch_name(variant: &Avro) -> String {
    match variant {
        Avro::Record(r) => r.name.name.clone(),
        Avro::Enum(e) => e.name.name.clone(),
        Avro::Fixed(f) => f.name.name.clone(),
        Avro::Boolean => "boolean".into(),
        Avro::Int => "int".into(),
        Avro::Long => "long".into(),
        Avro::Float => "float".into(),
        Avro::Double => "double".into(),
        Avro::Bytes => "bytes".into(),
        Avro::String => "string".into(),
        Avro::Array(_) => "array".into(),
        Avro::Map(_) => "map".into(),
        other => format!("{other:?}").to_lowercase(),
    }
}
