//! Kafka's `SimpleHeaderConverter`, the default header converter: a header value as its
//! UTF-8 text ([`super::values_text`]), typed back on reading (`42` is an int8, `true` a
//! boolean, `2024-01-31` a Date, anything else a string).

use super::{values_text, HeaderConverter};
use crate::data::{Schema, SchemaAndValue, SchemaType, Value};
use crate::error::Result;

/// Kafka's `org.apache.kafka.connect.storage.SimpleHeaderConverter`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SimpleHeaderConverter;

impl HeaderConverter for SimpleHeaderConverter {
    fn to_header_bytes(
        &self,
        _topic: &str,
        _header_key: &str,
        schema: Option<&Schema>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>> {
        if value.is_null() {
            return Ok(None);
        }
        Ok(Some(
            values_text::convert_to_string(schema, value).into_bytes(),
        ))
    }

    fn to_connect_header(
        &self,
        _topic: &str,
        _header_key: &str,
        data: Option<&[u8]>,
    ) -> Result<SchemaAndValue> {
        let Some(data) = data else {
            return Ok(SchemaAndValue::null());
        };
        match std::str::from_utf8(data) {
            Ok(text) => Ok(values_text::parse_string(text)),
            // Kafka falls back to the bytes when the header is not text.
            Err(_) => Ok(SchemaAndValue::new(
                Some(Schema::primitive(SchemaType::Bytes)),
                Value::Bytes(data.to_vec()),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::logical;

    fn round_trip(schema: Option<&Schema>, value: &Value) -> SchemaAndValue {
        let c = SimpleHeaderConverter;
        let bytes = c.to_header_bytes("t", "h", schema, value).unwrap();
        c.to_connect_header("t", "h", bytes.as_deref()).unwrap()
    }

    #[test]
    fn strings_numbers_and_booleans_come_back_typed() {
        assert_eq!(
            round_trip(None, &"hello".into()).value,
            Value::from("hello")
        );
        assert_eq!(round_trip(None, &Value::Int32(7)).value, Value::Int8(7));
        assert_eq!(
            round_trip(None, &Value::Int64(1 << 40)).value,
            Value::Int64(1 << 40)
        );
        assert_eq!(
            round_trip(None, &Value::Float64(2.5)).value,
            Value::Float32(2.5)
        );
        assert_eq!(
            round_trip(None, &Value::Float64(0.1)).value,
            Value::Float64(0.1)
        );
        assert_eq!(
            round_trip(None, &Value::Boolean(false)).value,
            Value::Boolean(false)
        );
        let ts = logical::timestamp().build();
        let back = round_trip(Some(&ts), &Value::Int64(1_706_708_700_123));
        assert_eq!(back.value, Value::Int64(1_706_708_700_123));
        assert_eq!(
            back.schema.unwrap().name.as_deref(),
            Some(logical::TIMESTAMP)
        );
        let c = SimpleHeaderConverter;
        assert_eq!(
            c.to_header_bytes("t", "h", None, &Value::Null).unwrap(),
            None
        );
        assert_eq!(
            c.to_connect_header("t", "h", None).unwrap().value,
            Value::Null
        );
        assert_eq!(
            c.to_connect_header("t", "h", Some(b"x y")).unwrap().value,
            Value::from("x y")
        );
        let raw = c.to_connect_header("t", "h", Some(&[0xff, 0x00])).unwrap();
        assert_eq!(raw.value, Value::Bytes(vec![0xff, 0x00]));
    }
}
