//! Converters: between the Connect data model and the bytes of a Kafka record's key, value
//! and headers. Configured per worker (`key.converter`, `value.converter`, with
//! `key.converter.*` settings) and overridable per connector.
//!
//! A source record goes `SourceTask::poll` -> transforms -> [`Converter::to_bytes`] ->
//! producer; a sink record goes consumer -> [`Converter::to_connect`] -> transforms ->
//! `SinkTask::put`. Headers use a [`HeaderConverter`] (Kafka's default is
//! [`SimpleHeaderConverter`]). Every converter answers to Kafka's class name and to its simple
//! name ([`create`], [`create_header_converter`], [`plugin_classes`]), so worker and
//! connector configs written for Kafka Connect work unchanged.

pub mod avro;
mod byte_array;
pub mod java_text;
pub mod json;
mod number;
mod simple_header;
mod string;
mod values_text;

pub use avro::AvroConverter;
pub use byte_array::ByteArrayConverter;
pub use json::{DecimalFormat, JsonConverter};
pub use number::{NumberConverter, NumberKind};
pub use simple_header::SimpleHeaderConverter;
pub use string::StringConverter;
pub(crate) use values_text::parse_string;

use crate::config::ConfigMap;
use crate::data::{Schema, SchemaAndValue, Value};
use crate::error::{ConnectError, Result};

/// Turns Connect data into record bytes and back.
pub trait Converter: Send + Sync {
    /// Serialises a key or value, Kafka's `fromConnectData` (`None` for a null value: a
    /// tombstone or a null key).
    ///
    /// # Errors
    /// [`crate::ConnectError::Data`] when the value cannot be written in this format.
    fn to_bytes(
        &self,
        topic: &str,
        schema: Option<&Schema>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>>;

    /// Deserialises a key or value, Kafka's `toConnectData` (`None` for a null one).
    ///
    /// # Errors
    /// [`crate::ConnectError::Data`] for bytes that are not in this format.
    fn to_connect(&self, topic: &str, data: Option<&[u8]>) -> Result<SchemaAndValue>;
}

/// Turns one header value into header bytes and back, Kafka's `HeaderConverter`.
pub trait HeaderConverter: Send + Sync {
    /// Serialises a header value (`None` for a null value).
    ///
    /// # Errors
    /// [`crate::ConnectError::Data`] when the value cannot be written in this format.
    fn to_header_bytes(
        &self,
        topic: &str,
        header_key: &str,
        schema: Option<&Schema>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>>;

    /// Deserialises a header value (a null value for `None`).
    ///
    /// # Errors
    /// [`crate::ConnectError::Data`] for bytes that are not in this format.
    fn to_connect_header(
        &self,
        topic: &str,
        header_key: &str,
        data: Option<&[u8]>,
    ) -> Result<SchemaAndValue>;
}

/// Kafka's class names of the converters, with their simple names as aliases.
const CONVERTERS: &[&str] = &[
    "io.confluent.connect.avro.AvroConverter",
    "org.apache.kafka.connect.storage.StringConverter",
    "org.apache.kafka.connect.converters.ByteArrayConverter",
    "org.apache.kafka.connect.json.JsonConverter",
    "org.apache.kafka.connect.converters.ShortConverter",
    "org.apache.kafka.connect.converters.IntegerConverter",
    "org.apache.kafka.connect.converters.LongConverter",
    "org.apache.kafka.connect.converters.FloatConverter",
    "org.apache.kafka.connect.converters.DoubleConverter",
];

/// Header converters: the simple one, and the converters that double as header converters
/// in Kafka (String, ByteArray, Json).
const HEADER_CONVERTERS: &[&str] = &[
    "org.apache.kafka.connect.storage.SimpleHeaderConverter",
    "org.apache.kafka.connect.storage.StringConverter",
    "org.apache.kafka.connect.converters.ByteArrayConverter",
    "org.apache.kafka.connect.json.JsonConverter",
];

/// The canonical class of `class` (a class name or its simple name) among `classes`.
fn resolve(class: &str, classes: &[&'static str]) -> Option<&'static str> {
    let class = class.trim();
    classes
        .iter()
        .copied()
        .find(|c| *c == class || c.rsplit('.').next() == Some(class))
}

/// Creates the converter of this class (Kafka's class name or its simple name).
/// `config` is already stripped of its `key.converter.` / `value.converter.` prefix.
///
/// ```
/// use fjord_connect::config::ConfigMap;
/// use fjord_connect::converters;
/// use fjord_connect::data::Value;
///
/// let mut config = ConfigMap::new();
/// config.insert("schemas.enable".into(), "false".into());
/// let json = converters::create("org.apache.kafka.connect.json.JsonConverter", &config, false)?;
/// let bytes = json.to_bytes("t", None, &Value::Int64(42))?;
/// assert_eq!(bytes.as_deref(), Some(&b"42"[..]));
/// # Ok::<(), fjord_connect::ConnectError>(())
/// ```
///
/// # Errors
/// [`ConnectError::Config`] for an unknown class or a bad setting.
pub fn create(class: &str, config: &ConfigMap, is_key: bool) -> Result<Box<dyn Converter>> {
    let canonical = resolve(class, CONVERTERS).ok_or_else(|| unknown(class, CONVERTERS))?;
    Ok(match canonical.rsplit('.').next().unwrap_or(canonical) {
        "AvroConverter" => Box::new(AvroConverter::new(config, is_key)?),
        "StringConverter" => Box::new(StringConverter::new(config)?),
        "ByteArrayConverter" => Box::new(ByteArrayConverter),
        "JsonConverter" => Box::new(JsonConverter::new(config, is_key)?),
        "ShortConverter" => Box::new(NumberConverter::new(NumberKind::Short)),
        "IntegerConverter" => Box::new(NumberConverter::new(NumberKind::Integer)),
        "LongConverter" => Box::new(NumberConverter::new(NumberKind::Long)),
        "FloatConverter" => Box::new(NumberConverter::new(NumberKind::Float)),
        _ => Box::new(NumberConverter::new(NumberKind::Double)),
    })
}

/// Creates the header converter of this class (Kafka's class name or its simple name).
/// `config` is already stripped of its `header.converter.` prefix.
///
/// # Errors
/// [`ConnectError::Config`] for an unknown class or a bad setting.
pub fn create_header_converter(
    class: &str,
    config: &ConfigMap,
) -> Result<Box<dyn HeaderConverter>> {
    let canonical =
        resolve(class, HEADER_CONVERTERS).ok_or_else(|| unknown(class, HEADER_CONVERTERS))?;
    Ok(match canonical.rsplit('.').next().unwrap_or(canonical) {
        "SimpleHeaderConverter" => Box::new(SimpleHeaderConverter),
        "StringConverter" => Box::new(StringConverter::new(config)?),
        "ByteArrayConverter" => Box::new(ByteArrayConverter),
        _ => Box::new(JsonConverter::for_headers(config)?),
    })
}

/// Every converter class, with its kind (`"converter"` or `"header_converter"`), as
/// `GET /connector-plugins?connectorsOnly=false` lists them.
pub fn plugin_classes() -> Vec<(&'static str, &'static str)> {
    CONVERTERS
        .iter()
        .map(|c| (*c, "converter"))
        .chain(HEADER_CONVERTERS.iter().map(|c| (*c, "header_converter")))
        .collect()
}

fn unknown(class: &str, classes: &[&str]) -> ConnectError {
    ConnectError::Config(format!(
        "unknown converter class '{class}'; use one of: {}",
        classes.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_class_and_simple_name_creates_a_converter() {
        // The AvroConverter needs its registry's URL (no call is made before the first record).
        let mut config = ConfigMap::new();
        config.insert("schema.registry.url".into(), "http://127.0.0.1:1".into());
        for (class, kind) in plugin_classes() {
            let simple = class.rsplit('.').next().unwrap();
            if kind == "converter" {
                assert!(create(class, &config, false).is_ok(), "{class}");
                assert!(create(simple, &config, true).is_ok(), "{simple}");
            } else {
                assert!(
                    create_header_converter(class, &ConfigMap::new()).is_ok(),
                    "{class}"
                );
                assert!(create_header_converter(simple, &ConfigMap::new()).is_ok());
            }
        }
    }

    #[test]
    fn an_unknown_class_is_a_config_error() {
        let err = create("com.example.AvroConverter", &ConfigMap::new(), false)
            .err()
            .unwrap();
        assert!(matches!(err, ConnectError::Config(_)), "{err}");
        assert!(err.to_string().contains("com.example.AvroConverter"));
        assert!(create_header_converter("Nope", &ConfigMap::new()).is_err());
    }
}
