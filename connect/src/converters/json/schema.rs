//! Connect schemas <-> Kafka's JSON schema format (`JsonConverter.asJsonSchema` and
//! `asConnectSchema`), member for member and in Kafka's order:
//!
//! ```json
//! {"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"}],
//!  "optional":false,"name":"com.example.User","version":1,"doc":"...",
//!  "parameters":{"k":"v"},"default":...}
//! ```
//! Arrays carry `items`, maps `keys` and `values`; a struct field is its schema plus `field`.

use std::sync::Arc;

use super::tree::Json;
use super::value::{to_connect, to_json};
use super::Settings;
use crate::data::{Schema, SchemaRef, SchemaType};
use crate::error::{ConnectError, Result};

fn data(message: impl Into<String>) -> ConnectError {
    ConnectError::Data(message.into())
}

/// A schema in Kafka's JSON schema format.
pub(super) fn to_json_schema(schema: &Schema, settings: &Settings) -> Result<Json> {
    let mut members = vec![(
        "type".to_owned(),
        Json::String(schema.schema_type.name().to_owned()),
    )];
    let element = |which: &str, child: &Option<SchemaRef>| {
        child
            .as_deref()
            .ok_or_else(|| {
                data(format!(
                    "a {} schema without its {which} schema",
                    schema.schema_type
                ))
            })
            .and_then(|child| to_json_schema(child, settings))
    };
    match schema.schema_type {
        SchemaType::Array => members.push((
            "items".to_owned(),
            element("element", &schema.value_schema)?,
        )),
        SchemaType::Map => {
            members.push(("keys".to_owned(), element("key", &schema.key_schema)?));
            members.push(("values".to_owned(), element("value", &schema.value_schema)?));
        }
        SchemaType::Struct => {
            let fields = schema
                .fields
                .iter()
                .map(|field| {
                    let mut json = to_json_schema(&field.schema, settings)?;
                    if let Json::Object(members) = &mut json {
                        members.push(("field".to_owned(), Json::String(field.name.clone())));
                    }
                    Ok(json)
                })
                .collect::<Result<_>>()?;
            members.push(("fields".to_owned(), Json::Array(fields)));
        }
        _ => {}
    }
    members.push(("optional".to_owned(), Json::Bool(schema.optional)));
    if let Some(name) = &schema.name {
        members.push(("name".to_owned(), Json::String(name.clone())));
    }
    if let Some(version) = schema.version {
        members.push(("version".to_owned(), Json::number(version.to_string())));
    }
    if let Some(doc) = &schema.doc {
        members.push(("doc".to_owned(), Json::String(doc.clone())));
    }
    if !schema.parameters.is_empty() {
        let parameters = schema
            .parameters
            .iter()
            .map(|(k, v)| (k.clone(), Json::String(v.clone())))
            .collect();
        members.push(("parameters".to_owned(), Json::Object(parameters)));
    }
    if let Some(default) = &schema.default {
        members.push((
            "default".to_owned(),
            to_json(Some(schema), default, settings)?,
        ));
    }
    Ok(Json::Object(members))
}

/// A schema from Kafka's JSON schema format; `None` for a JSON null (schemaless payload).
pub(super) fn from_json_schema(json: &Json, settings: &Settings) -> Result<Option<SchemaRef>> {
    if matches!(json, Json::Null) {
        return Ok(None);
    }
    let Some(Json::String(type_name)) = json.get("type") else {
        return Err(data(format!(
            "a JSON schema must be an object with a 'type' string; found {}",
            truncated(json)
        )));
    };
    let schema_type = SchemaType::parse(type_name)
        .filter(|t| t.name() == type_name)
        .ok_or_else(|| data(format!("Unknown schema type: {type_name}")))?;
    let child = |key: &str, what: &str| -> Result<SchemaRef> {
        let node = json.get(key).ok_or_else(|| {
            data(format!(
                "a {type_name} schema without '{key}' (its {what} schema)"
            ))
        })?;
        from_json_schema(node, settings)?.ok_or_else(|| {
            data(format!(
                "a {type_name} schema with a null '{key}' (its {what} schema)"
            ))
        })
    };
    let mut builder = match schema_type {
        SchemaType::Array => Schema::array(child("items", "element")?),
        SchemaType::Map => Schema::map(child("keys", "key")?, child("values", "value")?),
        SchemaType::Struct => {
            let Some(Json::Array(fields)) = json.get("fields") else {
                return Err(data("Struct schema's \"fields\" argument is not an array."));
            };
            let mut builder = Schema::struct_builder();
            let mut names = std::collections::HashSet::new();
            for field in fields {
                let Some(Json::String(name)) = field.get("field") else {
                    return Err(data(format!(
                        "Struct schema's field name not specified properly in {}",
                        truncated(field)
                    )));
                };
                if !names.insert(name.as_str()) {
                    return Err(data(format!(
                        "a struct schema with the field '{name}' twice"
                    )));
                }
                let schema = from_json_schema(field, settings)?
                    .ok_or_else(|| data(format!("field '{name}' has no schema")))?;
                builder = builder.field(name.clone(), schema);
            }
            builder
        }
        primitive => Schema::builder(primitive),
    };
    if let Some(Json::Bool(true)) = json.get("optional") {
        builder = builder.optional();
    }
    if let Some(Json::String(name)) = json.get("name") {
        builder = builder.name(name.clone());
    }
    if let Some(version) = json.get("version") {
        if let Some(v) = version.as_i64().and_then(|v| i32::try_from(v).ok()) {
            builder = builder.version(v);
        }
    }
    if let Some(Json::String(doc)) = json.get("doc") {
        builder = builder.doc(doc.clone());
    }
    if let Some(Json::Object(parameters)) = json.get("parameters") {
        for (key, value) in parameters {
            let Json::String(value) = value else {
                return Err(data(format!(
                    "Schema parameters must have string values; '{key}' is {}",
                    value.kind()
                )));
            };
            builder = builder.parameter(key.clone(), value.clone());
        }
    }
    if let Some(default) = json.get("default") {
        let without_default = Arc::new(builder.clone().build());
        let value = to_connect(Some(&without_default), default, settings)
            .map_err(|err| data(format!("the schema's default: {err}")))?;
        if !value.is_null() {
            builder = builder.default_value(value);
        }
    }
    Ok(Some(builder.build_ref()))
}

fn truncated(json: &Json) -> String {
    let text = json.to_text();
    match text.char_indices().nth(200) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text,
    }
}
