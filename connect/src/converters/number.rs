//! Kafka's number converters (`ShortConverter`, `IntegerConverter`, `LongConverter`,
//! `FloatConverter`, `DoubleConverter`): one number in big-endian bytes, as Kafka's
//! `ShortSerializer`, `IntegerSerializer`, ... write it.

use super::Converter;
use crate::data::{Schema, SchemaAndValue, SchemaType, Value};
use crate::error::{ConnectError, Result};

/// Which number a [`NumberConverter`] reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberKind {
    /// int16, 2 bytes.
    Short,
    /// int32, 4 bytes.
    Integer,
    /// int64, 8 bytes.
    Long,
    /// float32, 4 bytes.
    Float,
    /// float64, 8 bytes.
    Double,
}

impl NumberKind {
    fn schema_type(self) -> SchemaType {
        match self {
            NumberKind::Short => SchemaType::Int16,
            NumberKind::Integer => SchemaType::Int32,
            NumberKind::Long => SchemaType::Int64,
            NumberKind::Float => SchemaType::Float32,
            NumberKind::Double => SchemaType::Float64,
        }
    }

    fn width(self) -> usize {
        match self {
            NumberKind::Short => 2,
            NumberKind::Integer | NumberKind::Float => 4,
            NumberKind::Long | NumberKind::Double => 8,
        }
    }
}

/// One of Kafka's number converters.
#[derive(Debug, Clone, Copy)]
pub struct NumberConverter {
    kind: NumberKind,
}

impl NumberConverter {
    /// A converter of this kind of number.
    pub fn new(kind: NumberKind) -> Self {
        Self { kind }
    }
}

impl Converter for NumberConverter {
    fn to_bytes(
        &self,
        _topic: &str,
        _schema: Option<&Schema>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>> {
        let bytes = match (self.kind, value) {
            (_, Value::Null) => return Ok(None),
            (NumberKind::Short, Value::Int16(v)) => v.to_be_bytes().to_vec(),
            (NumberKind::Integer, Value::Int32(v)) => v.to_be_bytes().to_vec(),
            (NumberKind::Long, Value::Int64(v)) => v.to_be_bytes().to_vec(),
            (NumberKind::Float, Value::Float32(v)) => v.to_be_bytes().to_vec(),
            (NumberKind::Double, Value::Float64(v)) => v.to_be_bytes().to_vec(),
            (kind, other) => {
                return Err(ConnectError::Data(format!(
                    "Failed to serialize to {} (was a {} value)",
                    kind.schema_type().name().to_ascii_uppercase(),
                    other.type_name()
                )))
            }
        };
        Ok(Some(bytes))
    }

    fn to_connect(&self, _topic: &str, data: Option<&[u8]>) -> Result<SchemaAndValue> {
        let schema = Some(Schema::optional_primitive(self.kind.schema_type()));
        let Some(data) = data else {
            return Ok(SchemaAndValue::new(schema, Value::Null));
        };
        let wrong_size = || {
            ConnectError::Data(format!(
                "Failed to deserialize {}: {} bytes received, {} expected",
                self.kind.schema_type().name().to_ascii_uppercase(),
                data.len(),
                self.kind.width()
            ))
        };
        let value = match self.kind {
            NumberKind::Short => Value::Int16(i16::from_be_bytes(
                data.try_into().map_err(|_| wrong_size())?,
            )),
            NumberKind::Integer => Value::Int32(i32::from_be_bytes(
                data.try_into().map_err(|_| wrong_size())?,
            )),
            NumberKind::Long => Value::Int64(i64::from_be_bytes(
                data.try_into().map_err(|_| wrong_size())?,
            )),
            NumberKind::Float => Value::Float32(f32::from_be_bytes(
                data.try_into().map_err(|_| wrong_size())?,
            )),
            NumberKind::Double => Value::Float64(f64::from_be_bytes(
                data.try_into().map_err(|_| wrong_size())?,
            )),
        };
        Ok(SchemaAndValue::new(schema, value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip_in_big_endian() {
        let cases = [
            (NumberKind::Short, Value::Int16(-2), vec![0xff, 0xfe]),
            (NumberKind::Integer, Value::Int32(258), vec![0, 0, 1, 2]),
            (
                NumberKind::Long,
                Value::Int64(1),
                vec![0, 0, 0, 0, 0, 0, 0, 1],
            ),
            (
                NumberKind::Float,
                Value::Float32(1.0),
                vec![0x3f, 0x80, 0, 0],
            ),
            (
                NumberKind::Double,
                Value::Float64(2.0),
                vec![0x40, 0, 0, 0, 0, 0, 0, 0],
            ),
        ];
        for (kind, value, bytes) in cases {
            let c = NumberConverter::new(kind);
            assert_eq!(c.to_bytes("t", None, &value).unwrap(), Some(bytes.clone()));
            assert_eq!(c.to_connect("t", Some(&bytes)).unwrap().value, value);
            assert_eq!(c.to_bytes("t", None, &Value::Null).unwrap(), None);
            assert!(matches!(
                c.to_connect("t", Some(&[1, 2, 3])),
                Err(ConnectError::Data(_))
            ));
            assert!(matches!(
                c.to_bytes("t", None, &"x".into()),
                Err(ConnectError::Data(_))
            ));
        }
    }
}
