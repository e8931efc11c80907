//! Values <-> JSON, Kafka's `JsonConverter.convertToJson` and `convertToConnect`.
//!
//! With a schema, the schema decides the JSON shape and the value must follow it; without
//! one, the value's own type does (a map with string keys is an object, any other map an
//! array of `[key, value]` pairs; reading, integers become int64, other numbers float64,
//! objects string-keyed maps). Logical types are written as Kafka writes them: Decimal as
//! base64 of its unscaled bytes or as a plain number (`decimal.format`), Date and Time as
//! int32, Timestamp as int64.

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;

use super::tree::Json;
use super::{DecimalFormat, Settings};
use crate::converters::java_text;
use crate::data::logical::{self, DATE, DECIMAL, TIME, TIMESTAMP};
use crate::data::{Schema, SchemaRef, SchemaType, Struct, Value};
use crate::error::{ConnectError, Result};

/// Jackson writes base64 with padding and reads it with or without.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Milliseconds in a day: a Time value is below it.
const MILLIS_PER_DAY: i32 = 86_400_000;

fn data(message: impl Into<String>) -> ConnectError {
    ConnectError::Data(message.into())
}

fn type_name(schema_type: SchemaType) -> String {
    // Kafka names types by their Java enum constant in messages (INT32, FLOAT64, ...).
    match schema_type {
        SchemaType::Float32 => "FLOAT32".to_owned(),
        SchemaType::Float64 => "FLOAT64".to_owned(),
        other => other.name().to_ascii_uppercase(),
    }
}

/// A value as JSON, following `schema` when there is one.
pub(super) fn to_json(schema: Option<&Schema>, value: &Value, settings: &Settings) -> Result<Json> {
    if value.is_null() {
        let Some(schema) = schema else {
            return Ok(Json::Null);
        };
        if let (Some(default), true) = (&schema.default, settings.replace_null_with_default) {
            return to_json(Some(schema), default, settings);
        }
        if schema.optional {
            return Ok(Json::Null);
        }
        return Err(data(format!(
            "Conversion error: null value for a required {} field that has no default value",
            type_name(schema.schema_type)
        )));
    }
    if let Some(schema) = schema {
        if let Some(json) = logical_to_json(schema, value, settings)? {
            return Ok(json);
        }
    }
    let mismatch = |expected: SchemaType| {
        data(format!(
            "Invalid type for {}: a {} value",
            type_name(expected),
            value.type_name()
        ))
    };
    let schema_type = match schema {
        Some(schema) => schema.schema_type,
        None => value.schema_type().unwrap_or(SchemaType::String),
    };
    Ok(match (schema_type, value) {
        (SchemaType::Int8, Value::Int8(v)) => Json::number(v.to_string()),
        (SchemaType::Int16, Value::Int16(v)) => Json::number(v.to_string()),
        (SchemaType::Int32, Value::Int32(v)) => Json::number(v.to_string()),
        (SchemaType::Int64, Value::Int64(v)) => Json::number(v.to_string()),
        (SchemaType::Float32, Value::Float32(v)) => {
            float_json(java_text::float_to_string(*v), v.is_finite())
        }
        (SchemaType::Float64, Value::Float64(v)) => {
            float_json(java_text::double_to_string(*v), v.is_finite())
        }
        (SchemaType::Boolean, Value::Boolean(v)) => Json::Bool(*v),
        (SchemaType::String, Value::String(s)) => Json::String(s.clone()),
        (SchemaType::Bytes, Value::Bytes(b)) => Json::String(BASE64.encode(b)),
        (SchemaType::Array, Value::Array(items)) => {
            let element = schema.and_then(|s| s.value_schema.as_deref());
            Json::Array(
                items
                    .iter()
                    .map(|item| to_json(element, item, settings))
                    .collect::<Result<_>>()?,
            )
        }
        (SchemaType::Map, Value::Map(entries)) => map_to_json(schema, entries, settings)?,
        (SchemaType::Struct, Value::Struct(s)) => {
            // Without a schema, the struct's own schema is used (Kafka refuses the struct).
            let own = s.schema();
            let schema = schema.unwrap_or(own);
            if own.as_ref() != schema {
                return Err(data(format!(
                    "Mismatching schema: a struct of schema {} for the schema {}",
                    own.name.as_deref().unwrap_or("(unnamed)"),
                    schema.name.as_deref().unwrap_or("(unnamed)")
                )));
            }
            Json::Object(
                s.iter()
                    .map(|(field, v)| {
                        Ok((
                            field.name.clone(),
                            to_json(Some(&field.schema), v, settings)?,
                        ))
                    })
                    .collect::<Result<_>>()?,
            )
        }
        (expected, _) => return Err(mismatch(expected)),
    })
}

/// Jackson writes NaN and the infinities as strings (its `QUOTE_NON_NUMERIC_NUMBERS`).
fn float_json(text: String, finite: bool) -> Json {
    if finite {
        Json::Number(text)
    } else {
        Json::String(text)
    }
}

fn map_to_json(
    schema: Option<&Schema>,
    entries: &[(Value, Value)],
    settings: &Settings,
) -> Result<Json> {
    let key_schema = schema.and_then(|s| s.key_schema.as_deref());
    let value_schema = schema.and_then(|s| s.value_schema.as_deref());
    let object_mode = match key_schema {
        Some(key) => key.schema_type == SchemaType::String,
        None if schema.is_some() => false,
        None => entries.iter().all(|(k, _)| matches!(k, Value::String(_))),
    };
    if object_mode {
        let members = entries
            .iter()
            .map(|(k, v)| {
                let key = match to_json(key_schema, k, settings)? {
                    Json::String(s) => s,
                    other => other.to_text(),
                };
                Ok((key, to_json(value_schema, v, settings)?))
            })
            .collect::<Result<_>>()?;
        return Ok(Json::Object(members));
    }
    let pairs = entries
        .iter()
        .map(|(k, v)| {
            Ok(Json::Array(vec![
                to_json(key_schema, k, settings)?,
                to_json(value_schema, v, settings)?,
            ]))
        })
        .collect::<Result<_>>()?;
    Ok(Json::Array(pairs))
}

fn logical_to_json(schema: &Schema, value: &Value, settings: &Settings) -> Result<Option<Json>> {
    let Some(name) = schema.name.as_deref() else {
        return Ok(None);
    };
    Ok(Some(match (name, value) {
        (DECIMAL, Value::Bytes(bytes)) => match settings.decimal_format {
            DecimalFormat::Base64 => Json::String(BASE64.encode(bytes)),
            DecimalFormat::Numeric => {
                let scale = logical::decimal_scale(schema)?;
                Json::number(plain_decimal(logical::decode_decimal(bytes)?, scale))
            }
        },
        (DECIMAL, other) => {
            return Err(data(format!(
                "Invalid type for Decimal: a {} value (the unscaled bytes expected)",
                other.type_name()
            )))
        }
        (DATE, Value::Int32(days)) => Json::number(days.to_string()),
        (TIME, Value::Int32(millis)) => {
            check_time(*millis)?;
            Json::number(millis.to_string())
        }
        (TIMESTAMP, Value::Int64(millis)) => Json::number(millis.to_string()),
        (DATE | TIME | TIMESTAMP, other) => {
            return Err(data(format!(
                "Invalid type for {}: a {} value",
                name.rsplit('.').next().unwrap_or(name),
                other.type_name()
            )))
        }
        _ => return Ok(None),
    }))
}

/// A decimal as a plain number (Kafka writes BigDecimals with `WRITE_BIGDECIMAL_AS_PLAIN`);
/// zero at a negative scale is `0`, not `000`.
pub(crate) fn plain_decimal(unscaled: i128, scale: i32) -> String {
    if unscaled == 0 && scale < 0 {
        return "0".to_owned();
    }
    logical::format_decimal(unscaled, scale)
}

/// A JSON number as the unscaled value of a Decimal of this scale (half up), also for
/// negative scales and exponents (`1.5E3`).
fn parse_plain_decimal(text: &str, scale: i32) -> Result<i128> {
    let (mantissa, exponent) = match text.split_once(['e', 'E']) {
        Some((m, e)) => (
            m,
            e.parse::<i32>()
                .map_err(|_| data(format!("'{text}' is not a decimal number")))?,
        ),
        None => (text, 0),
    };
    let shift = scale
        .checked_add(exponent)
        .ok_or_else(|| data(format!("'{text}' is out of range")))?;
    if shift >= 0 {
        return logical::parse_decimal(mantissa, shift);
    }
    let whole = logical::parse_decimal(mantissa, 0)?;
    let divisor = u32::try_from(-shift)
        .ok()
        .and_then(|p| 10i128.checked_pow(p))
        .ok_or_else(|| data(format!("'{text}' has too many digits for scale {scale}")))?;
    let (quotient, remainder) = (whole / divisor, whole % divisor);
    Ok(if remainder.abs() * 2 >= divisor {
        quotient + whole.signum()
    } else {
        quotient
    })
}

fn check_time(millis: i32) -> Result<()> {
    if (0..MILLIS_PER_DAY).contains(&millis) {
        Ok(())
    } else {
        Err(data(format!(
            "a Time value of {millis} ms: Time values must be milliseconds from 0 to {MILLIS_PER_DAY} (exclusive)"
        )))
    }
}

/// JSON as a value, following `schema` when there is one.
pub(super) fn to_connect(
    schema: Option<&SchemaRef>,
    json: &Json,
    settings: &Settings,
) -> Result<Value> {
    let Some(schema) = schema else {
        return schemaless(json);
    };
    if matches!(json, Json::Null) {
        if let (Some(default), true) = (&schema.default, settings.replace_null_with_default) {
            return Ok(default.clone());
        }
        if schema.optional {
            return Ok(Value::Null);
        }
        return Err(data(format!(
            "Invalid null value for required {} field",
            type_name(schema.schema_type)
        )));
    }
    if let Some(value) = logical_to_connect(schema, json)? {
        return Ok(value);
    }
    let mismatch = || {
        data(format!(
            "a JSON {} where the schema expects {}",
            json.kind(),
            type_name(schema.schema_type)
        ))
    };
    let integer = || json.as_i64().ok_or_else(mismatch);
    let out_of_range = |n: i64| {
        data(format!(
            "{n} is out of range for {}",
            type_name(schema.schema_type)
        ))
    };
    Ok(match schema.schema_type {
        SchemaType::Int8 => {
            Value::Int8(integer().and_then(|n| i8::try_from(n).map_err(|_| out_of_range(n)))?)
        }
        SchemaType::Int16 => {
            Value::Int16(integer().and_then(|n| i16::try_from(n).map_err(|_| out_of_range(n)))?)
        }
        SchemaType::Int32 => {
            Value::Int32(integer().and_then(|n| i32::try_from(n).map_err(|_| out_of_range(n)))?)
        }
        SchemaType::Int64 => Value::Int64(integer()?),
        SchemaType::Float32 => Value::Float32(
            float_text(json)
                .ok_or_else(mismatch)?
                .parse()
                .map_err(|_| mismatch())?,
        ),
        SchemaType::Float64 => Value::Float64(
            float_text(json)
                .ok_or_else(mismatch)?
                .parse()
                .map_err(|_| mismatch())?,
        ),
        SchemaType::Boolean => match json {
            Json::Bool(b) => Value::Boolean(*b),
            _ => return Err(mismatch()),
        },
        SchemaType::String => match json {
            Json::String(s) => Value::String(s.clone()),
            _ => return Err(mismatch()),
        },
        SchemaType::Bytes => match json {
            Json::String(s) => Value::Bytes(decode_base64(s)?),
            _ => return Err(mismatch()),
        },
        SchemaType::Array => match json {
            Json::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|item| to_connect(schema.value_schema.as_ref(), item, settings))
                    .collect::<Result<_>>()?,
            ),
            _ => return Err(mismatch()),
        },
        SchemaType::Map => map_to_connect(schema, json, settings)?,
        SchemaType::Struct => {
            let Json::Object(_) = json else {
                return Err(data(format!(
                    "Structs should be encoded as JSON objects, but found {}",
                    json.kind()
                )));
            };
            let mut result = Struct::new(schema.clone())?;
            for field in &schema.fields {
                let member = json.get(&field.name).unwrap_or(&Json::Null);
                let value = to_connect(Some(&field.schema), member, settings)
                    .map_err(|err| data(format!("field '{}': {err}", field.name)))?;
                if !value.is_null() {
                    result.put(&field.name, value)?;
                }
            }
            Value::Struct(result)
        }
    })
}

/// The text of a JSON number, or of the strings Jackson writes for NaN and the infinities.
fn float_text(json: &Json) -> Option<&str> {
    match json {
        Json::Number(text) => Some(text),
        Json::String(s) if matches!(s.as_str(), "NaN" | "Infinity" | "-Infinity") => {
            Some(match s.as_str() {
                "Infinity" => "inf",
                "-Infinity" => "-inf",
                other => other,
            })
        }
        _ => None,
    }
}

fn decode_base64(text: &str) -> Result<Vec<u8>> {
    BASE64
        .decode(text)
        .map_err(|err| data(format!("Invalid bytes field: not base64 ({err})")))
}

fn map_to_connect(schema: &Schema, json: &Json, settings: &Settings) -> Result<Value> {
    let key_schema = schema.key_schema.as_ref();
    let value_schema = schema.value_schema.as_ref();
    if key_schema.is_none_or(|k| k.schema_type == SchemaType::String) {
        let Json::Object(members) = json else {
            return Err(data(format!(
                "Maps with string keys should be encoded as JSON objects, but found {}",
                json.kind()
            )));
        };
        let entries = members
            .iter()
            .map(|(k, v)| {
                Ok((
                    Value::String(k.clone()),
                    to_connect(value_schema, v, settings)?,
                ))
            })
            .collect::<Result<_>>()?;
        return Ok(Value::Map(entries));
    }
    let Json::Array(pairs) = json else {
        return Err(data(format!(
            "Maps with non-string keys should be encoded as JSON arrays of [key, value] pairs, but found {}",
            json.kind()
        )));
    };
    let entries = pairs
        .iter()
        .map(|pair| match pair {
            Json::Array(kv) if kv.len() == 2 => Ok((
                to_connect(key_schema, &kv[0], settings)?,
                to_connect(value_schema, &kv[1], settings)?,
            )),
            other => Err(data(format!(
                "Found an invalid map entry: {} instead of a [key, value] array",
                other.to_text()
            ))),
        })
        .collect::<Result<_>>()?;
    Ok(Value::Map(entries))
}

fn logical_to_connect(schema: &Schema, json: &Json) -> Result<Option<Value>> {
    let Some(name) = schema.name.as_deref() else {
        return Ok(None);
    };
    let integral = || {
        json.as_i64().ok_or_else(|| {
            data(format!(
                "Invalid type for {}, underlying representation should be integral but was {}",
                name.rsplit('.').next().unwrap_or(name),
                json.kind()
            ))
        })
    };
    let int32 =
        |n: i64| i32::try_from(n).map_err(|_| data(format!("{n} is out of range for {name}")));
    Ok(Some(match name {
        DECIMAL => {
            let bytes = match json {
                Json::Number(text) => {
                    let scale = logical::decimal_scale(schema)?;
                    logical::encode_decimal(parse_plain_decimal(text, scale)?)
                }
                Json::String(text) => decode_base64(text)?,
                other => {
                    return Err(data(format!(
                        "Invalid type for Decimal, underlying representation should be numeric or bytes but was {}",
                        other.kind()
                    )))
                }
            };
            if bytes.is_empty() {
                return Err(data("Invalid bytes for Decimal field: empty"));
            }
            Value::Bytes(bytes)
        }
        DATE => Value::Int32(int32(integral()?)?),
        TIME => {
            let millis = int32(integral()?)?;
            check_time(millis)?;
            Value::Int32(millis)
        }
        TIMESTAMP => Value::Int64(integral()?),
        _ => return Ok(None),
    }))
}

/// Schemaless JSON: integers as int64, other numbers as float64, objects as maps.
fn schemaless(json: &Json) -> Result<Value> {
    Ok(match json {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Boolean(*b),
        Json::Number(text) => match json.as_i64() {
            Some(n) => Value::Int64(n),
            None => Value::Float64(
                text.parse()
                    .map_err(|_| data(format!("the number {text} is not a double")))?,
            ),
        },
        Json::String(s) => Value::String(s.clone()),
        Json::Array(items) => Value::Array(items.iter().map(schemaless).collect::<Result<_>>()?),
        Json::Object(members) => Value::Map(
            members
                .iter()
                .map(|(k, v)| Ok((Value::String(k.clone()), schemaless(v)?)))
                .collect::<Result<_>>()?,
        ),
    })
}
