//! Kafka's `StringConverter`: a value as its UTF-8 text.
//!
//! Writing, a string is written as it is and any other value as its Java `toString`
//! ([`super::java_text::value_to_string`]), as Kafka does. Reading gives an optional string
//! schema; bytes that are not UTF-8 have their bad sequences replaced by U+FFFD, as Java's
//! `new String(bytes, UTF_8)` does, so a record is never lost to its encoding.

use super::{java_text, Converter, HeaderConverter};
use crate::config::ConfigMap;
use crate::data::{Schema, SchemaAndValue, Value};
use crate::error::{ConnectError, Result};

/// Kafka's `org.apache.kafka.connect.storage.StringConverter` (UTF-8 only).
#[derive(Debug, Clone, Default)]
pub struct StringConverter;

impl StringConverter {
    /// A StringConverter; `converter.encoding` (and Kafka's `serializer.encoding`,
    /// `deserializer.encoding`) may only name UTF-8.
    ///
    /// # Errors
    /// [`ConnectError::Config`] for another encoding.
    pub fn new(config: &ConfigMap) -> Result<Self> {
        for key in [
            "converter.encoding",
            "serializer.encoding",
            "deserializer.encoding",
        ] {
            if let Some(encoding) = config.get(key) {
                let normalised = encoding.trim().to_ascii_uppercase().replace('-', "");
                if normalised != "UTF8" {
                    return Err(ConnectError::Config(format!(
                        "{key}={encoding}: the StringConverter only supports UTF-8; remove the setting or set it to UTF8"
                    )));
                }
            }
        }
        Ok(Self)
    }

    fn encode(value: &Value) -> Option<Vec<u8>> {
        match value {
            Value::Null => None,
            Value::String(s) => Some(s.as_bytes().to_vec()),
            other => Some(java_text::value_to_string(other).into_bytes()),
        }
    }

    fn decode(data: Option<&[u8]>) -> SchemaAndValue {
        let value = data.map_or(Value::Null, |bytes| {
            Value::String(String::from_utf8_lossy(bytes).into_owned())
        });
        SchemaAndValue::new(Some(Schema::optional_string()), value)
    }
}

impl Converter for StringConverter {
    fn to_bytes(
        &self,
        _topic: &str,
        _schema: Option<&Schema>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>> {
        Ok(Self::encode(value))
    }

    fn to_connect(&self, _topic: &str, data: Option<&[u8]>) -> Result<SchemaAndValue> {
        Ok(Self::decode(data))
    }
}

impl HeaderConverter for StringConverter {
    fn to_header_bytes(
        &self,
        _topic: &str,
        _header_key: &str,
        _schema: Option<&Schema>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>> {
        Ok(Self::encode(value))
    }

    fn to_connect_header(
        &self,
        _topic: &str,
        _header_key: &str,
        data: Option<&[u8]>,
    ) -> Result<SchemaAndValue> {
        Ok(Self::decode(data))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::SchemaType;

    #[test]
    fn strings_round_trip_and_other_values_are_their_text() {
        let c = StringConverter::new(&ConfigMap::new()).unwrap();
        assert_eq!(
            c.to_bytes("t", None, &"héllo".into()).unwrap().unwrap(),
            "héllo".as_bytes()
        );
        assert_eq!(
            c.to_bytes("t", None, &Value::Int32(7)).unwrap().unwrap(),
            b"7"
        );
        assert_eq!(
            c.to_bytes("t", None, &Value::Float64(1.0))
                .unwrap()
                .unwrap(),
            b"1.0"
        );
        assert_eq!(c.to_bytes("t", None, &Value::Null).unwrap(), None);
        let back = c.to_connect("t", Some("héllo".as_bytes())).unwrap();
        assert_eq!(back.value, Value::from("héllo"));
        let schema = back.schema.unwrap();
        assert_eq!(
            (schema.schema_type, schema.optional),
            (SchemaType::String, true)
        );
        assert_eq!(c.to_connect("t", None).unwrap().value, Value::Null);
        assert_eq!(
            c.to_connect("t", Some(&[0x61, 0xff])).unwrap().value,
            Value::from("a\u{fffd}")
        );
    }

    #[test]
    fn only_utf8_is_accepted() {
        let mut config = ConfigMap::new();
        config.insert("converter.encoding".into(), "utf-8".into());
        assert!(StringConverter::new(&config).is_ok());
        config.insert("converter.encoding".into(), "ISO-8859-1".into());
        assert!(matches!(
            StringConverter::new(&config),
            Err(ConnectError::Config(_))
        ));
    }
}
