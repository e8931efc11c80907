//! Parsing submitted schemas: the text a client sends becomes a
//! [`ParsedSchema`] (checked for validity), plus the text the registry
//! stores and compares to decide whether two submissions are the same
//! schema (and so get the same id).
//!
//! - Avro: parsed by the `apache-avro` crate, with the schemas of its
//!   references (in dependency order) so named types from other subjects
//!   resolve. The stored text is the submitted JSON made compact (insignificant
//!   whitespace removed); with `normalize=true` it is the schema as
//!   apache-avro writes it back (attributes in a fixed order, names fully
//!   qualified), so differently written but equal schemas match.
//! - JSON Schema: any JSON object or boolean whose `type` (if present) is
//!   one of JSON Schema's type names; stored compact.
//! - Protobuf: answered with 42201, "not supported".

use std::collections::HashMap;

use apache_avro::Schema as Avro;
use serde_json::Value;

use crate::error::ApiError;
use crate::store::state::SchemaType;

/// An Avro schema with the named types it can see (its own and its
/// references'), by full name.
#[derive(Debug, Clone)]
pub struct AvroSchema {
    /// The schema itself.
    pub schema: Avro,
    /// Every named type (record, enum, fixed) by full name.
    pub names: HashMap<String, Avro>,
}

/// A schema that parsed.
#[derive(Debug, Clone)]
pub enum ParsedSchema {
    /// Avro.
    Avro(AvroSchema),
    /// JSON Schema, as its JSON document.
    Json(Value),
}

/// The outcome of parsing a submission.
#[derive(Debug, Clone)]
pub struct Submission {
    /// The parsed schema (for compatibility checks).
    pub parsed: ParsedSchema,
    /// The text to store and compare.
    pub text: String,
}

/// Parses `text` of `schema_type`; `references` are the texts of the
/// referenced schemas (transitively, dependencies first).
///
/// # Errors
/// 42201 with the parser's reason.
pub fn parse(
    schema_type: SchemaType,
    text: &str,
    references: &[String],
    normalize: bool,
) -> Result<Submission, ApiError> {
    match schema_type {
        SchemaType::Avro => parse_avro(text, references, normalize),
        SchemaType::Json => parse_json(text),
        SchemaType::Protobuf => Err(ApiError::new(
            42201,
            "Invalid schema: schemaType PROTOBUF is not supported by this registry (Avro and JSON Schema are)",
        )),
    }
}

fn parse_avro(text: &str, references: &[String], normalize: bool) -> Result<Submission, ApiError> {
    let json: Value = serde_json::from_str(text)
        .map_err(|e| ApiError::invalid_schema(format!("not JSON: {e}")))?;
    let (schema, referenced) = if references.is_empty() {
        (
            Avro::parse(&json).map_err(ApiError::invalid_schema)?,
            Vec::new(),
        )
    } else {
        Avro::parse_str_with_list(text, references).map_err(ApiError::invalid_schema)?
    };
    let mut names = HashMap::new();
    for s in referenced.iter().chain(std::iter::once(&schema)) {
        collect_names(s, &mut names);
    }
    let text = if normalize {
        serde_json::to_string(&schema).map_err(ApiError::invalid_schema)?
    } else {
        json.to_string()
    };
    Ok(Submission {
        parsed: ParsedSchema::Avro(AvroSchema { schema, names }),
        text,
    })
}

/// Adds every named type defined inside `schema` to `names`.
fn collect_names(schema: &Avro, names: &mut HashMap<String, Avro>) {
    match schema {
        Avro::Record(r) => {
            names.insert(r.name.fullname(None), schema.clone());
            for field in &r.fields {
                collect_names(&field.schema, names);
            }
        }
        Avro::Enum(e) => {
            names.insert(e.name.fullname(None), schema.clone());
        }
        Avro::Fixed(f) => {
            names.insert(f.name.fullname(None), schema.clone());
        }
        Avro::Array(a) => collect_names(&a.items, names),
        Avro::Map(m) => collect_names(&m.types, names),
        Avro::Union(u) => {
            for v in u.variants() {
                collect_names(v, names);
            }
        }
        _ => {}
    }
}

const JSON_TYPES: [&str; 7] = [
    "null", "boolean", "object", "array", "number", "string", "integer",
];

fn parse_json(text: &str) -> Result<Submission, ApiError> {
    let json: Value = serde_json::from_str(text)
        .map_err(|e| ApiError::invalid_schema(format!("not JSON: {e}")))?;
    match &json {
        Value::Bool(_) => {}
        Value::Object(map) => {
            let types: Vec<&Value> = match map.get("type") {
                None => vec![],
                Some(Value::Array(items)) => items.iter().collect(),
                Some(t) => vec![t],
            };
            for t in types {
                if !t.as_str().is_some_and(|t| JSON_TYPES.contains(&t)) {
                    return Err(ApiError::invalid_schema(format!(
                        "JSON Schema type {t} is not one of {JSON_TYPES:?}"
                    )));
                }
            }
        }
        _ => {
            return Err(ApiError::invalid_schema(
                "a JSON Schema must be an object or a boolean",
            ))
        }
    }
    Ok(Submission {
        text: json.to_string(),
        parsed: ParsedSchema::Json(json),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn avro_text_is_compacted_and_normalized() {
        let a = parse(SchemaType::Avro, r#"{ "type" : "string" }"#, &[], false).unwrap();
        assert_eq!(a.text, r#"{"type":"string"}"#);
        let b = parse(SchemaType::Avro, r#""string""#, &[], true).unwrap();
        let c = parse(SchemaType::Avro, r#"{"type":"string"}"#, &[], true).unwrap();
        assert_eq!(b.text, c.text);
    }

    #[test]
    fn references_resolve_named_types() {
        let address = r#"{"type":"record","name":"Address","namespace":"shop","fields":[{"name":"city","type":"string"}]}"#;
        let sale = r#"{"type":"record","name":"Sale","namespace":"shop","fields":[{"name":"to","type":"Address"}]}"#;
        assert!(parse(SchemaType::Avro, sale, &[], false).is_err());
        let parsed = parse(SchemaType::Avro, sale, &[address.to_owned()], false).unwrap();
        let ParsedSchema::Avro(avro) = parsed.parsed else {
            panic!()
        };
        assert!(avro.names.contains_key("shop.Address"));
    }

    #[test]
    fn invalid_and_unsupported_schemas_are_42201() {
        for (ty, text) in [
            (SchemaType::Avro, "{"),
            (SchemaType::Avro, r#"{"type":"record","name":"x"}"#),
            (SchemaType::Json, r#"{"type":"strin"}"#),
            (SchemaType::Json, "3"),
            (SchemaType::Protobuf, "syntax = \"proto3\";"),
        ] {
            assert_eq!(
                parse(ty, text, &[], false).unwrap_err().code,
                42201,
                "{text}"
            );
        }
    }
}
