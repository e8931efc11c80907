//! Header values as text, Kafka's `Values.convertToString` and `Values.parseString`, which
//! the SimpleHeaderConverter uses.
//!
//! Writing: strings as they are, numbers and booleans as Java writes them, bytes in base64,
//! arrays `[1,2,"a"]`, maps and structs `{"k":1}` (strings quoted inside them), Date
//! `2024-01-31`, Time `13:45:00.000Z`, Timestamp `2024-01-31T13:45:00.000Z`, Decimal as a
//! plain number. Reading infers the type back: `true`/`false`, the smallest integer type
//! that holds the number, float32 when it holds the number exactly (else float64), arrays
//! and maps in that syntax, the three date formats, and anything else as a string.

use base64::Engine as _;

use super::java_text;
use super::json::tree::Json;
use crate::data::logical::{self, DATE, DECIMAL, TIME, TIMESTAMP};
use crate::data::{Schema, SchemaAndValue, SchemaRef, SchemaType, Value};

const MILLIS_PER_DAY: i64 = 86_400_000;

/// A header value as Kafka's `Values.convertToString` writes it.
pub(crate) fn convert_to_string(schema: Option<&Schema>, value: &Value) -> String {
    let mut out = String::new();
    append(&mut out, schema, value, false);
    out
}

fn append(out: &mut String, schema: Option<&Schema>, value: &Value, embedded: bool) {
    if let Some(schema) = schema {
        match (schema.name.as_deref(), value) {
            (Some(DATE), Value::Int32(days)) => {
                return out.push_str(&format_date(i64::from(*days)))
            }
            (Some(TIME), Value::Int32(ms)) => return out.push_str(&format_time(i64::from(*ms))),
            (Some(TIMESTAMP), Value::Int64(ms)) => return out.push_str(&format_timestamp(*ms)),
            (Some(DECIMAL), Value::Bytes(bytes)) => {
                if let (Ok(scale), Ok(unscaled)) = (
                    logical::decimal_scale(schema),
                    logical::decode_decimal(bytes),
                ) {
                    return out.push_str(&super::json::plain_decimal(unscaled, scale));
                }
            }
            _ => {}
        }
    }
    match value {
        Value::Null => out.push_str("null"),
        Value::String(s) if embedded => out.push_str(&Json::String(s.clone()).to_text()),
        Value::String(s) => out.push_str(s),
        Value::Bytes(b) => {
            let encoded = base64::engine::general_purpose::STANDARD.encode(b);
            if embedded {
                out.push('"');
                out.push_str(&encoded);
                out.push('"');
            } else {
                out.push_str(&encoded);
            }
        }
        Value::Array(items) => {
            let element = schema.and_then(|s| s.value_schema.as_deref());
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                append(out, element, item, true);
            }
            out.push(']');
        }
        Value::Map(entries) => {
            let key_schema = schema.and_then(|s| s.key_schema.as_deref());
            let value_schema = schema.and_then(|s| s.value_schema.as_deref());
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                append(out, key_schema, k, true);
                out.push(':');
                append(out, value_schema, v, true);
            }
            out.push('}');
        }
        Value::Struct(s) => {
            out.push('{');
            for (i, (field, v)) in s.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                append(out, None, &Value::String(field.name.clone()), true);
                out.push(':');
                append(out, Some(&field.schema), v, true);
            }
            out.push('}');
        }
        other => out.push_str(&java_text::value_to_string(other)),
    }
}

/// Text read back into a typed value, Kafka's `Values.parseString`.
pub(crate) fn parse_string(text: &str) -> SchemaAndValue {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return SchemaAndValue::new(Some(Schema::string()), Value::String(text.to_owned()));
    }
    if let Some(parsed) = parse_scalar(trimmed) {
        return parsed;
    }
    if trimmed.starts_with('[') || trimmed.starts_with('{') {
        if let Ok(json) = Json::parse(trimmed.as_bytes()) {
            return SchemaAndValue::new(None, from_embedded(&json));
        }
    }
    SchemaAndValue::new(Some(Schema::string()), Value::String(text.to_owned()))
}

fn parse_scalar(text: &str) -> Option<SchemaAndValue> {
    let typed = |schema: SchemaRef, value: Value| Some(SchemaAndValue::new(Some(schema), value));
    match text {
        "true" => return typed(Schema::primitive(SchemaType::Boolean), Value::Boolean(true)),
        "false" => {
            return typed(
                Schema::primitive(SchemaType::Boolean),
                Value::Boolean(false),
            )
        }
        _ => {}
    }
    if let Ok(n) = text.parse::<i64>() {
        let value = smallest_integer(n);
        let schema_type = value.schema_type().unwrap_or(SchemaType::Int64);
        return typed(Schema::primitive(schema_type), value);
    }
    let looks_numeric = text
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'));
    if looks_numeric {
        if let Ok(double) = text.parse::<f64>() {
            if double.is_finite() {
                #[allow(clippy::cast_possible_truncation)] // checked: kept only when exact
                let float = double as f32;
                if f64::from(float) == double {
                    return typed(
                        Schema::primitive(SchemaType::Float32),
                        Value::Float32(float),
                    );
                }
                return typed(
                    Schema::primitive(SchemaType::Float64),
                    Value::Float64(double),
                );
            }
        }
    }
    if let Some(millis) = parse_timestamp(text) {
        return typed(logical::timestamp().build_ref(), Value::Int64(millis));
    }
    if let Some(days) = parse_date(text) {
        return typed(logical::date().build_ref(), Value::Int32(days));
    }
    if let Some(millis) = parse_time(text) {
        return typed(logical::time().build_ref(), Value::Int32(millis));
    }
    None
}

fn smallest_integer(n: i64) -> Value {
    if let Ok(v) = i8::try_from(n) {
        Value::Int8(v)
    } else if let Ok(v) = i16::try_from(n) {
        Value::Int16(v)
    } else if let Ok(v) = i32::try_from(n) {
        Value::Int32(v)
    } else {
        Value::Int64(n)
    }
}

fn from_embedded(json: &Json) -> Value {
    match json {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Boolean(*b),
        Json::Number(text) => parse_scalar(text).map_or(Value::String(text.clone()), |sv| sv.value),
        Json::String(s) => Value::String(s.clone()),
        Json::Array(items) => Value::Array(items.iter().map(from_embedded).collect()),
        Json::Object(members) => Value::Map(
            members
                .iter()
                .map(|(k, v)| (Value::String(k.clone()), from_embedded(v)))
                .collect(),
        ),
    }
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day number (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn format_date(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

fn format_time(millis: i64) -> String {
    let ms = millis.rem_euclid(MILLIS_PER_DAY);
    format!(
        "{:02}:{:02}:{:02}.{:03}Z",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    )
}

fn format_timestamp(millis: i64) -> String {
    let days = millis.div_euclid(MILLIS_PER_DAY);
    format!("{}T{}", format_date(days), format_time(millis))
}

fn number(text: &str) -> Option<i64> {
    (!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

fn parse_date(text: &str) -> Option<i32> {
    let mut parts = text.splitn(3, '-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (y, m, d) = (number(y)?, number(m)?, number(d)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let days = days_from_civil(y, m, d);
    // Reject a day past the month's end (2023-02-30) by formatting back.
    (format_date(days) == text)
        .then(|| i32::try_from(days).ok())
        .flatten()
}

fn parse_time(text: &str) -> Option<i32> {
    let body = text.strip_suffix('Z')?;
    let (hms, ms) = body.split_once('.')?;
    let mut parts = hms.splitn(3, ':');
    let (h, m, s) = (parts.next()?, parts.next()?, parts.next()?);
    if [h, m, s].iter().any(|p| p.len() != 2) || ms.len() != 3 {
        return None;
    }
    let (h, m, s, ms) = (number(h)?, number(m)?, number(s)?, number(ms)?);
    if h > 23 || m > 59 || s > 59 {
        return None;
    }
    i32::try_from(((h * 60 + m) * 60 + s) * 1000 + ms).ok()
}

fn parse_timestamp(text: &str) -> Option<i64> {
    let (date, time) = text.split_once('T')?;
    let days = i64::from(parse_date(date)?);
    let millis = i64::from(parse_time(time)?);
    Some(days * MILLIS_PER_DAY + millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_times_as_kafka_formats_them() {
        assert_eq!(format_date(0), "1970-01-01");
        assert_eq!(format_date(19_753), "2024-01-31");
        assert_eq!(format_date(-1), "1969-12-31");
        assert_eq!(
            format_timestamp(1_706_708_700_123),
            "2024-01-31T13:45:00.123Z"
        );
        assert_eq!(
            parse_timestamp("2024-01-31T13:45:00.123Z"),
            Some(1_706_708_700_123)
        );
        assert_eq!(parse_date("2024-02-29"), Some(19_782));
        assert_eq!(parse_date("2023-02-29"), None);
        assert_eq!(parse_time("13:45:00.000Z"), Some(49_500_000));
    }

    #[test]
    fn text_is_typed_back() {
        let cases: Vec<(&str, Value)> = vec![
            ("true", Value::Boolean(true)),
            ("12", Value::Int8(12)),
            ("300", Value::Int16(300)),
            ("70000", Value::Int32(70_000)),
            ("5000000000", Value::Int64(5_000_000_000)),
            ("1.5", Value::Float32(1.5)),
            ("0.1", Value::Float64(0.1)),
            ("hello world", Value::from("hello world")),
            ("", Value::from("")),
            ("[1,\"a\"]", Value::Array(vec![Value::Int8(1), "a".into()])),
            ("{\"k\":true}", Value::Map(vec![("k".into(), true.into())])),
        ];
        for (text, value) in cases {
            assert_eq!(parse_string(text).value, value, "{text:?}");
        }
        let ts = parse_string("2024-01-31T13:45:00.123Z");
        assert_eq!(ts.schema.unwrap().name.as_deref(), Some(TIMESTAMP));
    }

    #[test]
    fn values_are_written_as_kafka_writes_them() {
        let list = Value::Array(vec!["a".into(), Value::Int32(1), Value::Null]);
        assert_eq!(convert_to_string(None, &list), r#"["a",1,null]"#);
        let map = Value::Map(vec![("k".into(), "v".into())]);
        assert_eq!(convert_to_string(None, &map), r#"{"k":"v"}"#);
        let decimal = logical::decimal(2).build();
        let bytes = Value::Bytes(logical::encode_decimal(12_345));
        assert_eq!(convert_to_string(Some(&decimal), &bytes), "123.45");
        let date = logical::date().build();
        assert_eq!(
            convert_to_string(Some(&date), &Value::Int32(19_753)),
            "2024-01-31"
        );
    }
}
