//! Postgres column types -> Connect schemas, and Postgres's text output -> Connect values, as
//! Debezium's PostgreSQL connector maps them (`decimal.handling.mode`,
//! `time.precision.mode`). Both the snapshot (columns read as `::text`) and streaming
//! (pgoutput text tuples) go through [`parse`], so a row looks the same either way.
//!
//! Sessions run with `TimeZone=UTC` and `DateStyle=ISO`, so the text forms parsed here are
//! the ISO ones.

use crate::data::{logical, Schema, SchemaRef, SchemaType, Struct, Value};
use crate::error::{ConnectError, Result};

/// Type OIDs (from `pg_type.dat`) this module knows.
pub mod oid {
    /// bool
    pub const BOOL: u32 = 16;
    /// bytea
    pub const BYTEA: u32 = 17;
    /// name
    pub const NAME: u32 = 19;
    /// int8
    pub const INT8: u32 = 20;
    /// int2
    pub const INT2: u32 = 21;
    /// int4
    pub const INT4: u32 = 23;
    /// text
    pub const TEXT: u32 = 25;
    /// oid
    pub const OID: u32 = 26;
    /// json
    pub const JSON: u32 = 114;
    /// float4
    pub const FLOAT4: u32 = 700;
    /// float8
    pub const FLOAT8: u32 = 701;
    /// bpchar
    pub const BPCHAR: u32 = 1042;
    /// varchar
    pub const VARCHAR: u32 = 1043;
    /// date
    pub const DATE: u32 = 1082;
    /// time
    pub const TIME: u32 = 1083;
    /// timestamp
    pub const TIMESTAMP: u32 = 1114;
    /// timestamptz
    pub const TIMESTAMPTZ: u32 = 1184;
    /// numeric
    pub const NUMERIC: u32 = 1700;
    /// uuid
    pub const UUID: u32 = 2950;
    /// jsonb
    pub const JSONB: u32 = 3802;
}

/// `decimal.handling.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecimalMode {
    /// Connect's Decimal (bytes); unconstrained numerics as Debezium's VariableScaleDecimal.
    Precise,
    /// A float64.
    Double,
    /// The decimal's text.
    String,
}

/// `time.precision.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeMode {
    /// Debezium's `io.debezium.time.*` types at the column's precision (microseconds).
    Adaptive,
    /// Connect's Date, Time and Timestamp (milliseconds).
    Connect,
}

/// How columns map: the two modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypeMapping {
    /// `decimal.handling.mode`.
    pub decimal: DecimalMode,
    /// `time.precision.mode`.
    pub time: TimeMode,
}

impl Default for TypeMapping {
    fn default() -> Self {
        Self {
            decimal: DecimalMode::Precise,
            time: TimeMode::Adaptive,
        }
    }
}

/// Whether values of this type can be TOASTed (variable length: text, bytea, json, numeric,
/// and the types this module reads as text).
pub fn toastable(type_oid: u32) -> bool {
    !matches!(
        type_oid,
        oid::BOOL
            | oid::INT2
            | oid::INT4
            | oid::INT8
            | oid::OID
            | oid::FLOAT4
            | oid::FLOAT8
            | oid::DATE
            | oid::TIME
            | oid::TIMESTAMP
            | oid::TIMESTAMPTZ
            | oid::UUID
            | oid::NAME
    )
}

/// Debezium's name of a struct holding an unconstrained numeric (`scale`, `value`).
pub const VARIABLE_SCALE_DECIMAL: &str = "io.debezium.data.VariableScaleDecimal";

fn numeric_scale(type_modifier: i32) -> Option<i32> {
    // numeric's typmod is ((precision << 16) | scale) + 4; -1 when unconstrained.
    (type_modifier >= 4).then(|| (type_modifier - 4) & 0xffff)
}

fn numeric_precision(type_modifier: i32) -> Option<i32> {
    (type_modifier >= 4).then(|| ((type_modifier - 4) >> 16) & 0xffff)
}

/// The Connect schema of a column.
pub fn schema(
    type_oid: u32,
    type_modifier: i32,
    optional: bool,
    mapping: TypeMapping,
) -> SchemaRef {
    let builder = match type_oid {
        oid::BOOL => Schema::builder(SchemaType::Boolean),
        oid::INT2 => Schema::builder(SchemaType::Int16),
        oid::INT4 => Schema::builder(SchemaType::Int32),
        oid::INT8 | oid::OID => Schema::builder(SchemaType::Int64),
        oid::FLOAT4 => Schema::builder(SchemaType::Float32),
        oid::FLOAT8 => Schema::builder(SchemaType::Float64),
        oid::BYTEA => Schema::builder(SchemaType::Bytes),
        oid::NUMERIC => match (mapping.decimal, numeric_scale(type_modifier)) {
            (DecimalMode::Precise, Some(scale)) => {
                let mut b = logical::decimal(scale);
                if let Some(p) = numeric_precision(type_modifier) {
                    b = b.parameter("connect.decimal.precision", p.to_string());
                }
                b
            }
            (DecimalMode::Precise, None) => Schema::struct_builder()
                .name(VARIABLE_SCALE_DECIMAL)
                .version(1)
                .doc("Variable scaled decimal")
                .field("scale", Schema::primitive(SchemaType::Int32))
                .field("value", Schema::primitive(SchemaType::Bytes)),
            (DecimalMode::Double, _) => Schema::builder(SchemaType::Float64),
            (DecimalMode::String, _) => Schema::builder(SchemaType::String),
        },
        oid::DATE => match mapping.time {
            TimeMode::Adaptive => Schema::builder(SchemaType::Int32)
                .name("io.debezium.time.Date")
                .version(1),
            TimeMode::Connect => logical::date(),
        },
        oid::TIME => match mapping.time {
            TimeMode::Adaptive => Schema::builder(SchemaType::Int64)
                .name("io.debezium.time.MicroTime")
                .version(1),
            TimeMode::Connect => logical::time(),
        },
        oid::TIMESTAMP => match mapping.time {
            TimeMode::Adaptive => Schema::builder(SchemaType::Int64)
                .name("io.debezium.time.MicroTimestamp")
                .version(1),
            TimeMode::Connect => logical::timestamp(),
        },
        oid::TIMESTAMPTZ => Schema::builder(SchemaType::String)
            .name("io.debezium.time.ZonedTimestamp")
            .version(1),
        oid::UUID => Schema::builder(SchemaType::String)
            .name("io.debezium.data.Uuid")
            .version(1),
        oid::JSON | oid::JSONB => Schema::builder(SchemaType::String)
            .name("io.debezium.data.Json")
            .version(1),
        _ => Schema::builder(SchemaType::String),
    };
    builder.set_optional(optional).build_ref()
}

fn bad(text: &str, what: &str) -> ConnectError {
    ConnectError::Data(format!("cannot read {text:?} as a Postgres {what}"))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn parse_date(text: &str) -> Option<i64> {
    let mut parts = text.splitn(3, '-');
    let y = parts.next()?.parse().ok()?;
    let m = parts.next()?.parse().ok()?;
    let d = parts.next()?.get(..2)?.parse().ok()?;
    Some(days_from_civil(y, m, d))
}

/// Microseconds since midnight of `HH:MM:SS[.ffffff]`.
fn parse_time(text: &str) -> Option<i64> {
    let mut parts = text.splitn(3, ':');
    let h: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let rest = parts.next()?;
    let (secs, frac) = rest.split_once('.').unwrap_or((rest, ""));
    let s: i64 = secs.parse().ok()?;
    let mut micros = 0i64;
    for (i, c) in frac.chars().take(6).enumerate() {
        let digit = i64::from(c.to_digit(10)?);
        micros += digit * 10i64.pow(5 - u32::try_from(i).ok()?);
    }
    Some(((h * 60 + m) * 60 + s) * 1_000_000 + micros)
}

/// Microseconds since the epoch of `YYYY-MM-DD HH:MM:SS[.ffffff][+HH[:MM[:SS]]]`.
fn parse_timestamp(text: &str) -> Option<i64> {
    let (date, time) = text.split_once(' ').or_else(|| text.split_once('T'))?;
    let days = parse_date(date)?;
    let (clock, offset_secs) = match time.find(['+', '-']) {
        Some(at) => {
            let (clock, offset) = time.split_at(at);
            let sign = if offset.starts_with('-') { -1 } else { 1 };
            let mut secs = 0i64;
            for (i, part) in offset[1..].split(':').enumerate() {
                let v: i64 = part.parse().ok()?;
                secs += v * [3600, 60, 1].get(i)?;
            }
            (clock, sign * secs)
        }
        None => (time, 0),
    };
    Some(days * 86_400_000_000 + parse_time(clock)? - offset_secs * 1_000_000)
}

fn parse_bytea(text: &str) -> Option<Vec<u8>> {
    let hex = text.strip_prefix("\\x")?;
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

fn parse_float(text: &str) -> Option<f64> {
    match text {
        "NaN" => Some(f64::NAN),
        "Infinity" => Some(f64::INFINITY),
        "-Infinity" => Some(f64::NEG_INFINITY),
        _ => text.parse().ok(),
    }
}

/// The Connect value of a column's text (in Postgres's output format) under its schema.
///
/// # Errors
/// [`ConnectError::Data`] for text that does not parse as the column's type.
pub fn parse(text: &str, type_oid: u32, schema: &SchemaRef) -> Result<Value> {
    let name = schema.name.as_deref();
    Ok(match (schema.schema_type, type_oid) {
        (SchemaType::Boolean, _) => Value::Boolean(text == "t" || text == "true"),
        (SchemaType::Int16, _) => Value::Int16(text.parse().map_err(|_| bad(text, "int2"))?),
        (SchemaType::Int32, oid::DATE) => {
            let days = parse_date(text).ok_or_else(|| bad(text, "date"))?;
            Value::Int32(i32::try_from(days).map_err(|_| bad(text, "date"))?)
        }
        (SchemaType::Int32, oid::TIME) => {
            let micros = parse_time(text).ok_or_else(|| bad(text, "time"))?;
            Value::Int32(i32::try_from(micros / 1000).map_err(|_| bad(text, "time"))?)
        }
        (SchemaType::Int32, _) => Value::Int32(text.parse().map_err(|_| bad(text, "int4"))?),
        (SchemaType::Int64, oid::TIME) => {
            Value::Int64(parse_time(text).ok_or_else(|| bad(text, "time"))?)
        }
        (SchemaType::Int64, oid::TIMESTAMP) => {
            let micros = parse_timestamp(text).ok_or_else(|| bad(text, "timestamp"))?;
            if name == Some(logical::TIMESTAMP) {
                Value::Int64(micros.div_euclid(1000))
            } else {
                Value::Int64(micros)
            }
        }
        (SchemaType::Int64, _) => Value::Int64(text.parse().map_err(|_| bad(text, "int8"))?),
        (SchemaType::Float32, _) => {
            // Narrowing is the point: the column is a float4.
            #[allow(clippy::cast_possible_truncation)]
            let v = parse_float(text).ok_or_else(|| bad(text, "float4"))? as f32;
            Value::Float32(v)
        }
        (SchemaType::Float64, _) => {
            Value::Float64(parse_float(text).ok_or_else(|| bad(text, "float8"))?)
        }
        (SchemaType::Bytes, oid::NUMERIC) => {
            let scale = logical::decimal_scale(schema)?;
            Value::Bytes(logical::encode_decimal(logical::parse_decimal(
                text, scale,
            )?))
        }
        (SchemaType::Bytes, _) => {
            Value::Bytes(parse_bytea(text).ok_or_else(|| bad(text, "bytea"))?)
        }
        (SchemaType::Struct, oid::NUMERIC) => {
            let scale = text
                .split_once('.')
                .map_or(0, |(_, f)| i32::try_from(f.len()).unwrap_or(0));
            let unscaled = logical::parse_decimal(text, scale)?;
            Value::Struct(
                Struct::new(schema.clone())?
                    .with("scale", Value::Int32(scale))?
                    .with("value", Value::Bytes(logical::encode_decimal(unscaled)))?,
            )
        }
        (SchemaType::String, oid::TIMESTAMPTZ) => {
            let micros = parse_timestamp(text).ok_or_else(|| bad(text, "timestamptz"))?;
            let ts =
                jiff::Timestamp::from_microsecond(micros).map_err(|_| bad(text, "timestamptz"))?;
            Value::String(ts.to_string())
        }
        _ => Value::String(text.to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_times_and_timestamps() {
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(parse_date("2000-03-01"), Some(11_017));
        assert_eq!(parse_time("01:02:03.5"), Some(3_723_500_000));
        assert_eq!(
            parse_timestamp("1970-01-02 00:00:00.000001"),
            Some(86_400_000_001)
        );
        assert_eq!(
            parse_timestamp("1970-01-01 01:00:00+01"),
            Some(0),
            "an offset moves to UTC"
        );
        let tz = schema(oid::TIMESTAMPTZ, -1, true, TypeMapping::default());
        assert_eq!(
            parse("2024-05-06 07:08:09.25+00", oid::TIMESTAMPTZ, &tz).unwrap(),
            Value::String("2024-05-06T07:08:09.25Z".into())
        );
    }

    #[test]
    fn numerics_follow_decimal_handling_mode() {
        let precise = schema(
            oid::NUMERIC,
            (10 << 16 | 2) + 4,
            false,
            TypeMapping::default(),
        );
        assert_eq!(
            precise.parameters.get("scale").map(String::as_str),
            Some("2")
        );
        assert_eq!(
            parse("12.30", oid::NUMERIC, &precise).unwrap(),
            Value::Bytes(logical::encode_decimal(1230))
        );
        let double = TypeMapping {
            decimal: DecimalMode::Double,
            ..TypeMapping::default()
        };
        let s = schema(oid::NUMERIC, -1, false, double);
        assert_eq!(parse("1.5", oid::NUMERIC, &s).unwrap(), Value::Float64(1.5));
        let var = schema(oid::NUMERIC, -1, false, TypeMapping::default());
        let Value::Struct(v) = parse("3.14159", oid::NUMERIC, &var).unwrap() else {
            panic!("a struct")
        };
        assert_eq!(v.get("scale"), Some(&Value::Int32(5)));
    }

    #[test]
    fn bytea_hex() {
        let s = schema(oid::BYTEA, -1, false, TypeMapping::default());
        assert_eq!(
            parse("\\x00ff10", oid::BYTEA, &s).unwrap(),
            Value::Bytes(vec![0, 255, 16])
        );
    }
}
