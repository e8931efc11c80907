//! The header transforms: HeaderFrom (copies or moves fields of the key or value into
//! headers), InsertHeader (adds a header with a literal value, typed as Kafka's
//! `Values.parseString` types it) and DropHeaders (removes headers by name).

use crate::config::{ConfigDef, ConfigMap, ConfigType, Importance, Validator};
use crate::data::{SchemaRef, Value};
use crate::error::{ConnectError, Result};
use crate::record::{ConnectRecord, Header};

use super::part::{
    build_struct_schema, map_remove, new_struct, non_empty_list, require_map, require_struct,
    struct_like, Part,
};
use super::Transform;
use crate::converters::parse_string;

/// Kafka's `HeaderFrom$Key` / `HeaderFrom$Value`.
#[derive(Debug)]
pub(crate) struct HeaderFrom {
    part: Part,
    fields: Vec<String>,
    headers: Vec<String>,
    moves: bool,
}

impl HeaderFrom {
    /// The declared keys.
    pub(crate) fn config_def() -> ConfigDef {
        ConfigDef::new()
            .required("fields", ConfigType::List, Importance::High, "Field names in the record whose values are to be copied or moved to headers.")
            .validator(Validator::Custom(non_empty_list))
            .required("headers", ConfigType::List, Importance::High, "Header names, in the same order as the field names listed in the fields configuration property.")
            .validator(Validator::Custom(non_empty_list))
            .required("operation", ConfigType::String, Importance::High, "Either <code>move</code> if the fields are to be moved to the headers (removed from the key/value), or <code>copy</code> if the fields are to be copied to the headers (retained in the key/value).")
            .validator(Validator::OneOf(vec!["move", "copy"]))
    }

    /// From its config.
    pub(crate) fn new(config: &ConfigMap, part: Part) -> Result<Self> {
        let parsed = Self::config_def().parse(config)?;
        let fields = parsed.list("fields");
        let headers = parsed.list("headers");
        if fields.len() != headers.len() {
            return Err(ConnectError::Config(
                "'fields' config must have the same number of elements as 'headers' config."
                    .to_owned(),
            ));
        }
        Ok(Self {
            part,
            fields,
            headers,
            moves: parsed
                .get("operation")
                .is_some_and(|o| o.trim().eq_ignore_ascii_case("move")),
        })
    }

    fn purpose(&self) -> &'static str {
        if self.moves {
            "header move"
        } else {
            "header copy"
        }
    }
}

impl Transform for HeaderFrom {
    fn apply(&self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        let value = self.part.value(&record);
        if value.is_null() {
            return Ok(Some(record));
        }
        match self.part.schema(&record).cloned() {
            None => {
                let mut entries = require_map(value, self.purpose())?.to_vec();
                let mut added = Vec::new();
                for (field, header) in self.fields.iter().zip(&self.headers) {
                    let v = value.map_get(field).cloned().unwrap_or_default();
                    added.push(Header {
                        key: header.clone(),
                        schema: None,
                        value: v,
                    });
                    if self.moves {
                        map_remove(&mut entries, field);
                    }
                }
                record.headers.extend(added);
                self.part.set(&mut record, None, Value::Map(entries));
            }
            Some(schema) => {
                let value = require_struct(value, self.purpose())?;
                let mut added = Vec::new();
                for (field, header) in self.fields.iter().zip(&self.headers) {
                    let f = schema.field(field).ok_or_else(|| {
                        ConnectError::Data(format!(
                            "Field {field} not found in the {} schema",
                            self.purpose()
                        ))
                    })?;
                    added.push(Header {
                        key: header.clone(),
                        schema: Some(f.schema.clone()),
                        value: value.get(field).cloned().unwrap_or_default(),
                    });
                }
                if self.moves {
                    let mut builder = struct_like(&schema);
                    let mut values = Vec::new();
                    for (field, v) in value.iter() {
                        if !self.fields.contains(&field.name) {
                            builder = builder.field(field.name.clone(), field.schema.clone());
                            values.push(v.clone());
                        }
                    }
                    let updated = build_struct_schema(builder)?;
                    let moved = new_struct(&updated, values)?;
                    self.part
                        .set(&mut record, Some(updated), Value::Struct(moved));
                }
                record.headers.extend(added);
            }
        }
        Ok(Some(record))
    }
}

/// Kafka's `InsertHeader`.
#[derive(Debug)]
pub(crate) struct InsertHeader {
    header: String,
    schema: Option<SchemaRef>,
    value: Value,
}

impl InsertHeader {
    /// The declared keys.
    pub(crate) fn config_def() -> ConfigDef {
        ConfigDef::new()
            .required(
                "header",
                ConfigType::String,
                Importance::High,
                "The name of the header.",
            )
            .validator(Validator::NonEmptyString)
            .required(
                "value.literal",
                ConfigType::String,
                Importance::High,
                "The literal value that is to be set as the header value on all records.",
            )
    }

    /// From its config.
    pub(crate) fn new(config: &ConfigMap) -> Result<Self> {
        let parsed = Self::config_def().parse(config)?;
        // Kafka types the literal with `Values.parseString`: booleans, the smallest integer
        // type, floats, arrays and maps in its syntax, ISO dates; anything else a string.
        let literal = parse_string(parsed.get("value.literal").unwrap_or_default());
        Ok(Self {
            header: parsed.get("header").unwrap_or_default().to_owned(),
            schema: literal.schema,
            value: literal.value,
        })
    }
}

impl Transform for InsertHeader {
    fn apply(&self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        record.headers.push(Header {
            key: self.header.clone(),
            schema: self.schema.clone(),
            value: self.value.clone(),
        });
        Ok(Some(record))
    }
}

/// Kafka's `DropHeaders`.
#[derive(Debug)]
pub(crate) struct DropHeaders {
    headers: Vec<String>,
}

impl DropHeaders {
    /// The declared keys.
    pub(crate) fn config_def() -> ConfigDef {
        ConfigDef::new()
            .required(
                "headers",
                ConfigType::List,
                Importance::High,
                "The name of the headers to be removed.",
            )
            .validator(Validator::Custom(non_empty_list))
    }

    /// From its config.
    pub(crate) fn new(config: &ConfigMap) -> Result<Self> {
        let parsed = Self::config_def().parse(config)?;
        Ok(Self {
            headers: parsed.list("headers"),
        })
    }
}

impl Transform for DropHeaders {
    fn apply(&self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        record.headers.retain(|h| !self.headers.contains(&h.key));
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Schema, SchemaType, Struct};
    use crate::transforms::part::testkit::{config, map};

    fn header(key: &str, value: Value) -> Header {
        Header {
            key: key.into(),
            schema: None,
            value,
        }
    }

    #[test]
    fn header_from_moves_struct_fields() {
        let schema = Schema::struct_builder()
            .name("Order")
            .field("id", Schema::primitive(SchemaType::Int64))
            .field("trace", Schema::string())
            .build_ref();
        let value = Struct::new(schema.clone())
            .unwrap()
            .with("id", 1i64)
            .unwrap()
            .with("trace", "abc")
            .unwrap();
        let mut r = ConnectRecord::new("t", Value::Struct(value));
        r.value_schema = Some(schema);
        let t = HeaderFrom::new(
            &config(&[
                ("fields", "trace"),
                ("headers", "x-trace"),
                ("operation", "move"),
            ]),
            Part::Value,
        )
        .unwrap();
        let out = t.apply(r.clone()).unwrap().unwrap();
        let h = out.header("x-trace").unwrap();
        assert_eq!(h.value, Value::from("abc"));
        assert_eq!(h.schema.as_ref().unwrap().schema_type, SchemaType::String);
        assert!(out.value_schema.unwrap().field("trace").is_none());
        assert_eq!(out.value.get_field("trace"), None);

        let copy = HeaderFrom::new(
            &config(&[("fields", "id"), ("headers", "id"), ("operation", "copy")]),
            Part::Value,
        )
        .unwrap();
        let out = copy.apply(r).unwrap().unwrap();
        assert_eq!(out.header("id").unwrap().value, Value::Int64(1));
        assert_eq!(out.value.get_field("id"), Some(&Value::Int64(1)));
    }

    #[test]
    fn header_from_schemaless_and_config_checks() {
        let t = HeaderFrom::new(
            &config(&[
                ("fields", "a,b"),
                ("headers", "ha,hb"),
                ("operation", "move"),
            ]),
            Part::Key,
        )
        .unwrap();
        let mut r = ConnectRecord::new("t", Value::Null);
        r.key = map(vec![("a", Value::Int32(1)), ("c", Value::Int32(3))]);
        let out = t.apply(r).unwrap().unwrap();
        assert_eq!(out.key, map(vec![("c", Value::Int32(3))]));
        assert_eq!(out.header("ha").unwrap().value, Value::Int32(1));
        assert_eq!(out.header("hb").unwrap().value, Value::Null);
        assert!(HeaderFrom::new(
            &config(&[("fields", "a,b"), ("headers", "ha"), ("operation", "copy")]),
            Part::Key
        )
        .is_err());
        assert!(HeaderFrom::new(
            &config(&[("fields", "a"), ("headers", "ha"), ("operation", "steal")]),
            Part::Key
        )
        .is_err());
    }

    #[test]
    fn insert_header_types_literals_and_drop_headers_removes_all() {
        let t = InsertHeader::new(&config(&[("header", "n"), ("value.literal", "42")])).unwrap();
        let out = t
            .apply(ConnectRecord::new("t", Value::Null))
            .unwrap()
            .unwrap();
        let h = out.header("n").unwrap();
        assert_eq!(h.value, Value::Int8(42));
        assert_eq!(h.schema.as_ref().unwrap().schema_type, SchemaType::Int8);
        let literal = |text: &str| {
            let t =
                InsertHeader::new(&config(&[("header", "h"), ("value.literal", text)])).unwrap();
            t.apply(ConnectRecord::new("t", Value::Null))
                .unwrap()
                .unwrap()
                .headers[0]
                .value
                .clone()
        };
        assert_eq!(literal("1.5"), Value::Float32(1.5));
        assert_eq!(literal("70000"), Value::Int32(70000));
        assert_eq!(literal("true"), Value::Boolean(true));
        assert_eq!(literal("hello world"), Value::from("hello world"));

        let mut r = ConnectRecord::new("t", Value::Null);
        r.headers = vec![
            header("a", Value::Null),
            header("b", Value::Null),
            header("a", Value::Null),
        ];
        let d = DropHeaders::new(&config(&[("headers", "a")])).unwrap();
        let out = d.apply(r).unwrap().unwrap();
        assert_eq!(out.headers, vec![header("b", Value::Null)]);
        assert!(DropHeaders::new(&config(&[])).is_err());
    }
}
