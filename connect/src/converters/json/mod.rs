//! Kafka's `JsonConverter` (`org.apache.kafka.connect.json.JsonConverter`).
//!
//! With `schemas.enable=true` (the default) every key or value is Kafka's envelope,
//! `{"schema": <JSON schema>, "payload": <value>}`, so a reader rebuilds the exact Connect
//! schema; with `false` it is the bare JSON value and a reader infers types. Writing goes
//! value -> [`tree::Json`] (members in Kafka's order) -> text; reading goes bytes -> tree ->
//! schema (through a bounded cache, `schemas.cache.size`) -> value checked against it.
//!
//! Settings: `schemas.enable` (true), `schemas.cache.size` (1000), `decimal.format`
//! (`BASE64` or `NUMERIC`), `replace.null.with.default` (true: a null with a schema default
//! is written and read as the default, as Kafka 3.7+).

mod schema;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_roundtrip;
pub mod tree;
mod value;

use std::collections::HashMap;
use std::sync::Mutex;

use self::tree::Json;
pub(crate) use self::value::plain_decimal;
use super::{Converter, HeaderConverter};
use crate::config::{ConfigDef, ConfigMap, ConfigType, Importance, Validator};
use crate::data::{Schema, SchemaAndValue, SchemaRef, Value};
use crate::error::{ConnectError, Result};

/// How a Decimal is written (`decimal.format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecimalFormat {
    /// Base64 of the unscaled big-endian two's complement bytes (Kafka's default).
    Base64,
    /// A plain JSON number with the schema's scale (`10.50`).
    Numeric,
}

/// The settings the conversions read.
#[derive(Debug, Clone, Copy)]
struct Settings {
    decimal_format: DecimalFormat,
    replace_null_with_default: bool,
}

/// Kafka's JsonConverter.
#[derive(Debug)]
pub struct JsonConverter {
    schemas_enabled: bool,
    settings: Settings,
    cache: SchemaCache,
}

impl JsonConverter {
    /// The converter's keys, with Kafka's names and defaults.
    pub fn config_def() -> ConfigDef {
        ConfigDef::new()
            .optional(
                "schemas.enable",
                ConfigType::Boolean,
                "true",
                Importance::High,
                "Include schemas within each of the serialized values and keys.",
            )
            .optional(
                "schemas.cache.size",
                ConfigType::Int,
                "1000",
                Importance::High,
                "The maximum number of schemas that can be cached in this converter instance.",
            )
            .validator(Validator::Range {
                min: Some(0),
                max: None,
            })
            .optional(
                "decimal.format",
                ConfigType::String,
                "BASE64",
                Importance::Low,
                "How to serialize Decimal values: BASE64 (binary) or NUMERIC (a JSON number).",
            )
            .validator(Validator::OneOf(vec!["BASE64", "NUMERIC"]))
            .optional(
                "replace.null.with.default",
                ConfigType::Boolean,
                "true",
                Importance::Low,
                "Whether a null field value with a schema default is replaced by the default.",
            )
    }

    /// A JsonConverter for keys (`is_key`) or values.
    ///
    /// # Errors
    /// [`ConnectError::Config`] for a bad setting.
    pub fn new(config: &ConfigMap, _is_key: bool) -> Result<Self> {
        let parsed = Self::config_def().parse(config)?;
        let decimal_format = if parsed
            .get("decimal.format")
            .is_some_and(|f| f.trim().eq_ignore_ascii_case("NUMERIC"))
        {
            DecimalFormat::Numeric
        } else {
            DecimalFormat::Base64
        };
        Ok(Self {
            schemas_enabled: parsed.boolean("schemas.enable"),
            settings: Settings {
                decimal_format,
                replace_null_with_default: parsed.boolean("replace.null.with.default"),
            },
            cache: SchemaCache::new(
                usize::try_from(parsed.long("schemas.cache.size")).unwrap_or(0),
            ),
        })
    }

    /// A JsonConverter for header values (same settings).
    ///
    /// # Errors
    /// As [`JsonConverter::new`].
    pub fn for_headers(config: &ConfigMap) -> Result<Self> {
        Self::new(config, false)
    }

    /// A converter with default settings and schemas on or off.
    pub fn with_schemas(enabled: bool) -> Self {
        Self {
            schemas_enabled: enabled,
            settings: Settings {
                decimal_format: DecimalFormat::Base64,
                replace_null_with_default: true,
            },
            cache: SchemaCache::new(1000),
        }
    }

    /// The same converter writing Decimals in this format.
    pub fn decimal_format(mut self, format: DecimalFormat) -> Self {
        self.settings.decimal_format = format;
        self
    }

    /// Kafka's `JsonConverter.asJsonSchema`: a schema as its JSON text.
    ///
    /// # Errors
    /// [`ConnectError::Data`] for a schema default that does not follow the schema.
    pub fn schema_to_json(&self, schema: &Schema) -> Result<String> {
        Ok(schema::to_json_schema(schema, &self.settings)?.to_text())
    }

    fn encode(&self, schema: Option<&Schema>, value: &Value) -> Result<Option<Vec<u8>>> {
        if schema.is_none() && value.is_null() {
            return Ok(None);
        }
        let payload = value::to_json(schema, value, &self.settings)?;
        let json = if self.schemas_enabled {
            let schema = match schema {
                Some(schema) => schema::to_json_schema(schema, &self.settings)?,
                None => Json::Null,
            };
            Json::Object(vec![
                ("schema".to_owned(), schema),
                ("payload".to_owned(), payload),
            ])
        } else {
            payload
        };
        Ok(Some(json.to_text().into_bytes()))
    }

    fn decode(&self, data: Option<&[u8]>) -> Result<SchemaAndValue> {
        let Some(data) = data else {
            return Ok(SchemaAndValue::null());
        };
        if data.iter().all(u8::is_ascii_whitespace) {
            // An empty value is a null one, as Kafka's JsonDeserializer reads it.
            return Ok(SchemaAndValue::null());
        }
        let json = Json::parse(data).map_err(|err| {
            ConnectError::Data(format!(
                "Converting byte[] to Kafka Connect data failed: {err}"
            ))
        })?;
        if !self.schemas_enabled {
            return Ok(SchemaAndValue::new(
                None,
                value::to_connect(None, &json, &self.settings)?,
            ));
        }
        let (schema, payload) = match &json {
            Json::Object(members) if members.len() == 2 => {
                (json.get("schema"), json.get("payload"))
            }
            _ => (None, None),
        };
        let (Some(schema), Some(payload)) = (schema, payload) else {
            return Err(ConnectError::Data(
                "JsonConverter with schemas.enable requires \"schema\" and \"payload\" fields and may not contain additional fields. \
                 If you are trying to deserialize plain JSON data, set schemas.enable=false in your converter configuration."
                    .to_owned(),
            ));
        };
        let schema = self.cache.get_or_parse(schema, &self.settings)?;
        let value = value::to_connect(schema.as_ref(), payload, &self.settings)?;
        Ok(SchemaAndValue::new(schema, value))
    }
}

impl Converter for JsonConverter {
    fn to_bytes(
        &self,
        _topic: &str,
        schema: Option<&Schema>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>> {
        self.encode(schema, value)
    }

    fn to_connect(&self, _topic: &str, data: Option<&[u8]>) -> Result<SchemaAndValue> {
        self.decode(data)
    }
}

impl HeaderConverter for JsonConverter {
    fn to_header_bytes(
        &self,
        _topic: &str,
        _header_key: &str,
        schema: Option<&Schema>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>> {
        self.encode(schema, value)
    }

    fn to_connect_header(
        &self,
        _topic: &str,
        _header_key: &str,
        data: Option<&[u8]>,
    ) -> Result<SchemaAndValue> {
        self.decode(data)
    }
}

/// Parsed schemas by their JSON (`schemas.cache.size` entries; 0 disables it). Records of
/// one source nearly always share one schema, so a hit saves rebuilding it and lets the
/// records share one `Arc`. When full the cache is emptied rather than kept in LRU order:
/// a flood of distinct schemas costs a re-parse, never unbounded memory.
#[derive(Debug)]
struct SchemaCache {
    capacity: usize,
    // A std Mutex: held only for a lookup or an insert, never across I/O or an await;
    // converters are shared by a task's threads, so this is the one point they meet.
    entries: Mutex<HashMap<Json, SchemaRef>>,
}

impl SchemaCache {
    fn new(capacity: usize) -> Self {
        Self {
            capacity,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn get_or_parse(&self, json: &Json, settings: &Settings) -> Result<Option<SchemaRef>> {
        if self.capacity == 0 || matches!(json, Json::Null) {
            return schema::from_json_schema(json, settings);
        }
        if let Some(hit) = self.lock().get(json) {
            return Ok(Some(hit.clone()));
        }
        let parsed = schema::from_json_schema(json, settings)?;
        if let Some(schema) = &parsed {
            let mut entries = self.lock();
            if entries.len() >= self.capacity {
                entries.clear();
            }
            entries.insert(json.clone(), schema.clone());
        }
        Ok(parsed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Json, SchemaRef>> {
        // A panic while holding the lock cannot leave the map inconsistent (inserts are
        // single calls), so a poisoned lock is still usable.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
