//! Kafka's `ByteArrayConverter`: the record bytes as they are, with an optional bytes schema.

use super::{Converter, HeaderConverter};
use crate::data::{Schema, SchemaAndValue, SchemaType, Value};
use crate::error::{ConnectError, Result};

/// Kafka's `org.apache.kafka.connect.converters.ByteArrayConverter`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ByteArrayConverter;

impl ByteArrayConverter {
    fn encode(schema: Option<&Schema>, value: &Value) -> Result<Option<Vec<u8>>> {
        if let Some(schema) = schema {
            if schema.schema_type != SchemaType::Bytes {
                return Err(ConnectError::Data(format!(
                    "Invalid schema type for ByteArrayConverter: {} (it writes bytes values only)",
                    schema.schema_type
                )));
            }
        }
        match value {
            Value::Null => Ok(None),
            Value::Bytes(bytes) => Ok(Some(bytes.clone())),
            other => Err(ConnectError::Data(format!(
                "ByteArrayConverter is not compatible with a {} value; use the StringConverter or JsonConverter",
                other.type_name()
            ))),
        }
    }

    fn decode(data: Option<&[u8]>) -> SchemaAndValue {
        let value = data.map_or(Value::Null, |bytes| Value::Bytes(bytes.to_vec()));
        SchemaAndValue::new(Some(Schema::optional_primitive(SchemaType::Bytes)), value)
    }
}

impl Converter for ByteArrayConverter {
    fn to_bytes(
        &self,
        _topic: &str,
        schema: Option<&Schema>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>> {
        Self::encode(schema, value)
    }

    fn to_connect(&self, _topic: &str, data: Option<&[u8]>) -> Result<SchemaAndValue> {
        Ok(Self::decode(data))
    }
}

impl HeaderConverter for ByteArrayConverter {
    fn to_header_bytes(
        &self,
        _topic: &str,
        _header_key: &str,
        schema: Option<&Schema>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>> {
        Self::encode(schema, value)
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

    #[test]
    fn bytes_pass_through_and_other_values_are_refused() {
        let c = ByteArrayConverter;
        let bytes = Value::Bytes(vec![0, 1, 255]);
        assert_eq!(
            c.to_bytes("t", None, &bytes).unwrap(),
            Some(vec![0, 1, 255])
        );
        assert_eq!(c.to_bytes("t", None, &Value::Null).unwrap(), None);
        assert_eq!(c.to_connect("t", Some(&[0, 1, 255])).unwrap().value, bytes);
        assert!(matches!(
            c.to_bytes("t", None, &"x".into()),
            Err(ConnectError::Data(_))
        ));
        let string = Schema::primitive(SchemaType::String);
        assert!(matches!(
            c.to_bytes("t", Some(&string), &bytes),
            Err(ConnectError::Data(_))
        ));
    }
}
