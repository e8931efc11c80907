//! The sink's side of types: a Connect field's schema -> a Postgres column type (for
//! `auto.create` and `auto.evolve`), and a Connect value -> the text Postgres parses for that
//! type. Every value is sent as text and cast in SQL, so one code path serves every type and
//! batches go as one `UNNEST` of text arrays per column.

use crate::data::{logical, Schema, SchemaType, Value};
use crate::error::{ConnectError, Result};

use super::types::VARIABLE_SCALE_DECIMAL;

/// The Postgres type of a column for a field of this schema.
pub fn column_type(schema: &Schema) -> &'static str {
    match schema.name.as_deref() {
        Some(logical::DECIMAL) | Some(VARIABLE_SCALE_DECIMAL) => return "numeric",
        Some(logical::DATE) | Some("io.debezium.time.Date") => return "date",
        Some(logical::TIME)
        | Some("io.debezium.time.MicroTime")
        | Some("io.debezium.time.Time") => return "time",
        Some(logical::TIMESTAMP)
        | Some("io.debezium.time.MicroTimestamp")
        | Some("io.debezium.time.Timestamp") => return "timestamp",
        Some("io.debezium.time.ZonedTimestamp") => return "timestamptz",
        Some("io.debezium.data.Uuid") => return "uuid",
        Some("io.debezium.data.Json") => return "jsonb",
        _ => {}
    }
    match schema.schema_type {
        SchemaType::Int8 | SchemaType::Int16 => "smallint",
        SchemaType::Int32 => "integer",
        SchemaType::Int64 => "bigint",
        SchemaType::Float32 => "real",
        SchemaType::Float64 => "double precision",
        SchemaType::Boolean => "boolean",
        SchemaType::Bytes => "bytea",
        SchemaType::String => "text",
        SchemaType::Array | SchemaType::Map | SchemaType::Struct => "jsonb",
    }
}

fn micros_text(micros: i64) -> Result<String> {
    let ts = jiff::Timestamp::from_microsecond(micros)
        .map_err(|e| ConnectError::Data(format!("timestamp {micros} us out of range: {e}")))?;
    // Postgres ignores the trailing Z for `timestamp` columns, and reads it as UTC for
    // `timestamptz`.
    Ok(ts.to_string())
}

fn time_text(micros: i64) -> String {
    let secs = micros.div_euclid(1_000_000);
    let frac = micros.rem_euclid(1_000_000);
    format!(
        "{:02}:{:02}:{:02}.{frac:06}",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(2 + bytes.len() * 2);
    out.push_str("\\x");
    for b in bytes {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

fn json(value: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match value {
        Value::Null => J::Null,
        Value::Int8(v) => J::from(*v),
        Value::Int16(v) => J::from(*v),
        Value::Int32(v) => J::from(*v),
        Value::Int64(v) => J::from(*v),
        Value::Float32(v) => J::from(f64::from(*v)),
        Value::Float64(v) => J::from(*v),
        Value::Boolean(v) => J::from(*v),
        Value::String(v) => J::from(v.as_str()),
        Value::Bytes(v) => J::from(hex(v)),
        Value::Array(items) => J::Array(items.iter().map(json).collect()),
        Value::Map(entries) => J::Object(
            entries
                .iter()
                .map(|(k, v)| {
                    let key = k.as_str().map_or_else(|| format!("{k:?}"), str::to_owned);
                    (key, json(v))
                })
                .collect(),
        ),
        Value::Struct(s) => J::Object(s.iter().map(|(f, v)| (f.name.clone(), json(v))).collect()),
    }
}

/// The text Postgres reads for `value` (following `schema`, if any); `None` for null.
///
/// # Errors
/// A decimal whose bytes or scale are malformed; a timestamp out of range.
pub fn text(value: &Value, schema: Option<&Schema>) -> Result<Option<String>> {
    let name = schema.and_then(|s| s.name.as_deref());
    Ok(Some(match (value, name) {
        (Value::Null, _) => return Ok(None),
        (Value::Bytes(b), Some(logical::DECIMAL)) => {
            let scale = schema.map_or(Ok(0), logical::decimal_scale)?;
            logical::format_decimal(logical::decode_decimal(b)?, scale)
        }
        (Value::Struct(s), Some(VARIABLE_SCALE_DECIMAL)) => {
            let scale = s.get("scale").and_then(Value::as_i64).unwrap_or(0);
            let Some(Value::Bytes(b)) = s.get("value") else {
                return Err(ConnectError::Data(
                    "a VariableScaleDecimal without value bytes".to_owned(),
                ));
            };
            logical::format_decimal(
                logical::decode_decimal(b)?,
                i32::try_from(scale).unwrap_or(0),
            )
        }
        (Value::Int32(days), Some(logical::DATE | "io.debezium.time.Date")) => {
            micros_text(i64::from(*days) * 86_400_000_000)?[..10].to_owned()
        }
        (Value::Int32(ms), Some(logical::TIME | "io.debezium.time.Time")) => {
            time_text(i64::from(*ms) * 1000)
        }
        (Value::Int64(us), Some("io.debezium.time.MicroTime")) => time_text(*us),
        (Value::Int64(ms), Some(logical::TIMESTAMP | "io.debezium.time.Timestamp")) => {
            micros_text(ms * 1000)?
        }
        (Value::Int64(us), Some("io.debezium.time.MicroTimestamp")) => micros_text(*us)?,
        (Value::Int8(v), _) => v.to_string(),
        (Value::Int16(v), _) => v.to_string(),
        (Value::Int32(v), _) => v.to_string(),
        (Value::Int64(v), _) => v.to_string(),
        (Value::Float32(v), _) => v.to_string(),
        (Value::Float64(v), _) => v.to_string(),
        (Value::Boolean(v), _) => v.to_string(),
        (Value::String(v), _) => v.clone(),
        (Value::Bytes(v), _) => hex(v),
        (other, _) => json(other).to_string(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_render_as_postgres_reads_them() {
        let decimal = logical::decimal(2).build();
        assert_eq!(
            text(&Value::Bytes(logical::encode_decimal(1050)), Some(&decimal)).unwrap(),
            Some("10.50".to_owned())
        );
        let date = logical::date().build();
        assert_eq!(
            text(&Value::Int32(19_724), Some(&date)).unwrap(),
            Some("2024-01-02".to_owned())
        );
        assert_eq!(time_text(3_723_500_000), "01:02:03.500000");
        assert_eq!(
            text(&Value::Bytes(vec![0, 255]), None).unwrap(),
            Some("\\x00ff".to_owned())
        );
        assert_eq!(text(&Value::Null, None).unwrap(), None);
        assert_eq!(column_type(&decimal), "numeric");
    }
}
