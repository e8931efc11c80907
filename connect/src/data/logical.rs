//! Kafka Connect's logical types: a primitive schema with a well-known name. Values travel in
//! the primitive form, as in Kafka's converters:
//! - Decimal: bytes, the unscaled value in big-endian two's complement; parameter `scale`.
//! - Date: int32, days since the Unix epoch.
//! - Time: int32, milliseconds since midnight.
//! - Timestamp: int64, milliseconds since the Unix epoch.

use super::{Schema, SchemaBuilder, SchemaType};
use crate::error::ConnectError;

/// The schema name of Decimal.
pub const DECIMAL: &str = "org.apache.kafka.connect.data.Decimal";
/// The schema name of Date.
pub const DATE: &str = "org.apache.kafka.connect.data.Date";
/// The schema name of Time.
pub const TIME: &str = "org.apache.kafka.connect.data.Time";
/// The schema name of Timestamp.
pub const TIMESTAMP: &str = "org.apache.kafka.connect.data.Timestamp";
/// The parameter holding a Decimal's scale.
pub const DECIMAL_SCALE: &str = "scale";

/// A Decimal schema builder of this scale.
pub fn decimal(scale: i32) -> SchemaBuilder {
    Schema::builder(SchemaType::Bytes)
        .name(DECIMAL)
        .version(1)
        .parameter(DECIMAL_SCALE, scale.to_string())
}

/// A Date schema builder.
pub fn date() -> SchemaBuilder {
    Schema::builder(SchemaType::Int32).name(DATE).version(1)
}

/// A Time schema builder.
pub fn time() -> SchemaBuilder {
    Schema::builder(SchemaType::Int32).name(TIME).version(1)
}

/// A Timestamp schema builder.
pub fn timestamp() -> SchemaBuilder {
    Schema::builder(SchemaType::Int64)
        .name(TIMESTAMP)
        .version(1)
}

/// A Decimal's scale, from its schema.
///
/// # Errors
/// [`ConnectError::Data`] when the schema is not a Decimal or has no valid scale.
pub fn decimal_scale(schema: &Schema) -> Result<i32, ConnectError> {
    if schema.name.as_deref() != Some(DECIMAL) {
        return Err(ConnectError::Data("not a Decimal schema".to_owned()));
    }
    schema
        .parameters
        .get(DECIMAL_SCALE)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| ConnectError::Data("a Decimal schema without a valid 'scale'".to_owned()))
}

/// Encodes an unscaled decimal value as Kafka does: minimal big-endian two's complement.
pub fn encode_decimal(unscaled: i128) -> Vec<u8> {
    let bytes = unscaled.to_be_bytes();
    let mut start = 0;
    // Drop leading bytes that only repeat the sign, keeping the sign bit in the next byte.
    while start < bytes.len() - 1 {
        let (b, next) = (bytes[start], bytes[start + 1]);
        if (b == 0x00 && next & 0x80 == 0) || (b == 0xff && next & 0x80 != 0) {
            start += 1;
        } else {
            break;
        }
    }
    bytes[start..].to_vec()
}

/// Decodes a Decimal's bytes into its unscaled value.
///
/// # Errors
/// [`ConnectError::Data`] for an empty value or one wider than 128 bits.
pub fn decode_decimal(bytes: &[u8]) -> Result<i128, ConnectError> {
    if bytes.is_empty() || bytes.len() > 16 {
        return Err(ConnectError::Data(format!(
            "a Decimal of {} bytes (1 to 16 supported)",
            bytes.len()
        )));
    }
    let fill = if bytes[0] & 0x80 != 0 { 0xff } else { 0x00 };
    let mut full = [fill; 16];
    full[16 - bytes.len()..].copy_from_slice(bytes);
    Ok(i128::from_be_bytes(full))
}

/// Formats an unscaled decimal with its scale (`12345`, scale 2 -> `"123.45"`).
pub fn format_decimal(unscaled: i128, scale: i32) -> String {
    if scale <= 0 {
        let zeros = "0".repeat(usize::try_from(-scale).unwrap_or(0));
        return format!("{unscaled}{zeros}");
    }
    let scale = usize::try_from(scale).unwrap_or(0);
    let digits = unscaled.unsigned_abs().to_string();
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (int, frac) = padded.split_at(padded.len() - scale);
    let sign = if unscaled < 0 { "-" } else { "" };
    format!("{sign}{int}.{frac}")
}

/// Parses a decimal string into an unscaled value at this scale (rounding half up).
///
/// # Errors
/// [`ConnectError::Data`] for text that is not a decimal number.
pub fn parse_decimal(text: &str, scale: i32) -> Result<i128, ConnectError> {
    let bad = || ConnectError::Data(format!("'{text}' is not a decimal number"));
    let text = text.trim();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if int.is_empty() && frac.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let scale_len = usize::try_from(scale.max(0)).unwrap_or(0);
    let mut kept: String = frac.chars().take(scale_len).collect();
    while kept.len() < scale_len {
        kept.push('0');
    }
    let round_up = frac.chars().nth(scale_len).is_some_and(|c| c >= '5');
    let joined = format!("{int}{kept}");
    let mut value: i128 = if joined.is_empty() {
        0
    } else {
        joined.parse().map_err(|_| bad())?
    };
    if round_up {
        value += 1;
    }
    Ok(if negative { -value } else { value })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_round_trip_through_kafka_bytes() {
        for unscaled in [
            0i128,
            1,
            -1,
            127,
            128,
            -128,
            -129,
            255,
            256,
            12345,
            -98765,
            i64::MAX as i128,
        ] {
            let bytes = encode_decimal(unscaled);
            assert_eq!(
                decode_decimal(&bytes).unwrap(),
                unscaled,
                "{unscaled} -> {bytes:?}"
            );
        }
        assert_eq!(encode_decimal(128), vec![0x00, 0x80]);
        assert_eq!(encode_decimal(-128), vec![0x80]);
        assert_eq!(format_decimal(12345, 2), "123.45");
        assert_eq!(format_decimal(-5, 3), "-0.005");
        assert_eq!(parse_decimal("123.456", 2).unwrap(), 12346);
        assert_eq!(parse_decimal("-0.5", 1).unwrap(), -5);
        assert!(parse_decimal("1.2.3", 1).is_err());
    }
}
