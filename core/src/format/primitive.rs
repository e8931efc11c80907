//! Kafka's built-in formats: UTF-8 strings, raw bytes, big-endian integers
//! and doubles, and the unit serde that ignores the bytes.

use super::{preview, Serde, SerdeError};

/// UTF-8 strings (Kafka's `StringSerde`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Utf8;

impl Serde<String> for Utf8 {
    fn serialize(&self, _topic: &str, value: &String) -> Result<Option<Vec<u8>>, SerdeError> {
        Ok(Some(value.as_bytes().to_vec()))
    }
    fn deserialize(&self, topic: &str, data: Option<&[u8]>) -> Result<String, SerdeError> {
        let bytes = data.ok_or_else(|| SerdeError::null("string", topic))?;
        String::from_utf8(bytes.to_vec()).map_err(|e| {
            SerdeError::deserialize(
                "string",
                topic,
                format!("not UTF-8 ({e}): {}", preview(bytes)),
            )
        })
    }
    fn format(&self) -> &'static str {
        "string"
    }
}

/// The bytes as they are (Kafka's `ByteArraySerde`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Bytes;

impl Serde<Vec<u8>> for Bytes {
    fn serialize(&self, _topic: &str, value: &Vec<u8>) -> Result<Option<Vec<u8>>, SerdeError> {
        Ok(Some(value.clone()))
    }
    fn deserialize(&self, topic: &str, data: Option<&[u8]>) -> Result<Vec<u8>, SerdeError> {
        data.map(<[u8]>::to_vec)
            .ok_or_else(|| SerdeError::null("bytes", topic))
    }
    fn format(&self) -> &'static str {
        "bytes"
    }
}

/// No value: writes null and reads anything as `()` (Kafka's `VoidSerde`
/// writes null too). For keys nobody reads.
#[derive(Debug, Clone, Copy, Default)]
pub struct Unit;

impl Serde<()> for Unit {
    fn serialize(&self, _topic: &str, _value: &()) -> Result<Option<Vec<u8>>, SerdeError> {
        Ok(None)
    }
    fn deserialize(&self, _topic: &str, _data: Option<&[u8]>) -> Result<(), SerdeError> {
        Ok(())
    }
    fn format(&self) -> &'static str {
        "void"
    }
}

/// The bytes of a fixed-width big-endian number, or an error naming the
/// width that was expected.
fn fixed<const N: usize>(
    format: &'static str,
    topic: &str,
    data: Option<&[u8]>,
) -> Result<[u8; N], SerdeError> {
    let bytes = data.ok_or_else(|| SerdeError::null(format, topic))?;
    bytes.try_into().map_err(|_| {
        SerdeError::deserialize(
            format,
            topic,
            format!("expected {N} bytes, got {}", preview(bytes)),
        )
    })
}

macro_rules! big_endian {
    ($(#[$doc:meta])* $name:ident, $ty:ty, $format:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, Default)]
        pub struct $name;

        impl Serde<$ty> for $name {
            fn serialize(&self, _topic: &str, value: &$ty) -> Result<Option<Vec<u8>>, SerdeError> {
                Ok(Some(value.to_be_bytes().to_vec()))
            }
            fn deserialize(&self, topic: &str, data: Option<&[u8]>) -> Result<$ty, SerdeError> {
                fixed($format, topic, data).map(<$ty>::from_be_bytes)
            }
            fn format(&self) -> &'static str {
                $format
            }
        }
    };
}

big_endian!(
    /// 32-bit integers, big-endian (Kafka's `IntegerSerde`).
    Int32, i32, "int32"
);
big_endian!(
    /// 64-bit integers, big-endian (Kafka's `LongSerde`).
    Int64, i64, "int64"
);
big_endian!(
    /// IEEE 754 doubles, big-endian (Kafka's `DoubleSerde`).
    Float64, f64, "float64"
);
