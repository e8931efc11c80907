//! TimestampConverter: converts a timestamp (the whole key or value, or one `field`) between
//! text (`string`, in a `SimpleDateFormat` `format`), a Unix number (`unix`, in
//! `unix.precision`) and the logical types `Date`, `Time` and `Timestamp`, in UTC.
//!
//! The input type comes from the schema (the logical type, int64 for unix, string), or
//! without a schema from the value (int64 for unix, a string).

use crate::config::{ConfigDef, ConfigMap, ConfigType, Importance, Validator};
use crate::data::{logical, Schema, SchemaRef, SchemaType, Value};
use crate::error::{ConnectError, Result};
use crate::record::ConnectRecord;

use super::date_format::{check_pattern, JavaDateFormat};
use super::part::{
    build_struct_schema, map_put, new_struct, require_map, require_struct, struct_like, Part,
    SchemaCache,
};
use super::Transform;

const PURPOSE: &str = "converting timestamp formats";
const MILLIS_PER_DAY: i64 = 86_400_000;

/// A timestamp representation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    String,
    Unix,
    Date,
    Time,
    Timestamp,
}

impl Kind {
    fn parse(name: &str) -> Option<Kind> {
        Some(match name.trim() {
            "string" => Kind::String,
            "unix" => Kind::Unix,
            "Date" => Kind::Date,
            "Time" => Kind::Time,
            "Timestamp" => Kind::Timestamp,
            _ => return None,
        })
    }

    fn of_schema(schema: &Schema) -> Result<Kind> {
        match (schema.name.as_deref(), schema.schema_type) {
            (Some(logical::TIMESTAMP), _) => Ok(Kind::Timestamp),
            (Some(logical::DATE), _) => Ok(Kind::Date),
            (Some(logical::TIME), _) => Ok(Kind::Time),
            (_, SchemaType::Int64) => Ok(Kind::Unix),
            (_, SchemaType::String) => Ok(Kind::String),
            (_, other) => Err(ConnectError::Data(format!(
                "Schema {other}{} does not correspond to a known timestamp type format",
                schema
                    .name
                    .as_deref()
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default()
            ))),
        }
    }

    fn of_value(value: &Value) -> Result<Kind> {
        match value {
            Value::Int64(_) => Ok(Kind::Unix),
            Value::String(_) => Ok(Kind::String),
            other => Err(ConnectError::Data(format!(
                "TimestampConverter does not support {} objects as timestamps",
                other.type_name()
            ))),
        }
    }

    fn schema(self, optional: bool) -> SchemaRef {
        let builder = match self {
            Kind::String => Schema::builder(SchemaType::String),
            Kind::Unix => Schema::builder(SchemaType::Int64),
            Kind::Date => logical::date(),
            Kind::Time => logical::time(),
            Kind::Timestamp => logical::timestamp(),
        };
        builder.set_optional(optional).build_ref()
    }
}

/// The unit of Unix numbers.
#[derive(Debug, Clone, Copy)]
enum Precision {
    Seconds,
    Milliseconds,
    Microseconds,
    Nanoseconds,
}

/// Kafka's `TimestampConverter$Key` / `TimestampConverter$Value`.
#[derive(Debug)]
pub(crate) struct TimestampConverter {
    part: Part,
    field: Option<String>,
    target: Kind,
    format: Option<JavaDateFormat>,
    precision: Precision,
    replace_null_with_default: bool,
    schemas: SchemaCache,
}

impl TimestampConverter {
    /// The declared keys.
    pub(crate) fn config_def() -> ConfigDef {
        ConfigDef::new()
            .optional("field", ConfigType::String, "", Importance::High, "The field containing the timestamp, or empty if the entire value is a timestamp")
            .required("target.type", ConfigType::String, Importance::High, "The desired timestamp representation: string, unix, Date, Time, or Timestamp")
            .validator(Validator::Custom(|v| {
                Kind::parse(v).map(|_| ()).ok_or_else(|| "String must be one of: string, unix, Date, Time, Timestamp".to_owned())
            }))
            .optional("format", ConfigType::String, "", Importance::Medium, "A SimpleDateFormat-compatible format for the timestamp. Used to generate the output when type=string or used to parse the input if the input is a string.")
            .validator(Validator::Custom(|v| if v.is_empty() { Ok(()) } else { check_pattern(v) }))
            .optional("unix.precision", ConfigType::String, "milliseconds", Importance::Low, "The desired Unix precision for the timestamp: seconds, milliseconds, microseconds, or nanoseconds. Used to generate the output when type=unix or used to parse the input if the input is a Long.")
            .validator(Validator::OneOf(vec!["nanoseconds", "microseconds", "milliseconds", "seconds"]))
            .optional("replace.null.with.default", ConfigType::Boolean, "true", Importance::Medium, "Whether to replace fields that have a default value and that are null to the default value. When set to true, the default value is used, otherwise null is used.")
    }

    /// From its config.
    pub(crate) fn new(config: &ConfigMap, part: Part) -> Result<Self> {
        let parsed = Self::config_def().parse(config)?;
        let target =
            Kind::parse(parsed.get("target.type").unwrap_or_default()).ok_or_else(|| {
                ConnectError::Config("Unknown timestamp type in TimestampConverter".to_owned())
            })?;
        let format = parsed
            .string("format")
            .map(|p| JavaDateFormat::new(&p))
            .transpose()?;
        if target == Kind::String && format.is_none() {
            return Err(ConnectError::Config(
                "TimestampConverter requires format option to be specified when using string timestamps".to_owned(),
            ));
        }
        let precision = match parsed.get("unix.precision").unwrap_or_default().trim() {
            "seconds" => Precision::Seconds,
            "microseconds" => Precision::Microseconds,
            "nanoseconds" => Precision::Nanoseconds,
            _ => Precision::Milliseconds,
        };
        Ok(Self {
            part,
            field: parsed.string("field"),
            target,
            format,
            precision,
            replace_null_with_default: parsed.boolean("replace.null.with.default"),
            schemas: SchemaCache::default(),
        })
    }

    fn format(&self) -> Result<&JavaDateFormat> {
        self.format.as_ref().ok_or_else(|| {
            ConnectError::Data(
                "TimestampConverter requires format option to be specified when using string timestamps".to_owned(),
            )
        })
    }

    /// The value as milliseconds since the epoch.
    fn millis_of(&self, value: &Value, kind: Kind) -> Result<i64> {
        let expected = |what: &str| {
            ConnectError::Data(format!(
                "Expected a {what} timestamp, found a {} value",
                value.type_name()
            ))
        };
        match kind {
            Kind::String => self
                .format()?
                .parse(value.as_str().ok_or_else(|| expected("string"))?),
            Kind::Unix => {
                let n = value.as_i64().ok_or_else(|| expected("unix"))?;
                Ok(match self.precision {
                    Precision::Seconds => n.saturating_mul(1000),
                    Precision::Milliseconds => n,
                    Precision::Microseconds => n / 1000,
                    Precision::Nanoseconds => n / 1_000_000,
                })
            }
            Kind::Date => Ok(value.as_i64().ok_or_else(|| expected("Date"))? * MILLIS_PER_DAY),
            Kind::Time | Kind::Timestamp => {
                value.as_i64().ok_or_else(|| expected("Time or Timestamp"))
            }
        }
    }

    fn millis_to_target(&self, millis: i64) -> Result<Value> {
        let out_of_range = || ConnectError::Data(format!("timestamp {millis} out of range"));
        Ok(match self.target {
            Kind::String => Value::String(self.format()?.format(millis)?),
            Kind::Unix => Value::Int64(match self.precision {
                Precision::Seconds => millis / 1000,
                Precision::Milliseconds => millis,
                Precision::Microseconds => millis.saturating_mul(1000),
                Precision::Nanoseconds => millis.saturating_mul(1_000_000),
            }),
            Kind::Date => Value::Int32(
                i32::try_from(millis.div_euclid(MILLIS_PER_DAY)).map_err(|_| out_of_range())?,
            ),
            Kind::Time => Value::Int32(
                i32::try_from(millis.rem_euclid(MILLIS_PER_DAY)).map_err(|_| out_of_range())?,
            ),
            Kind::Timestamp => Value::Int64(millis),
        })
    }

    fn convert(&self, value: &Value, kind: Option<Kind>) -> Result<Value> {
        if value.is_null() {
            return Ok(Value::Null);
        }
        let kind = match kind {
            Some(kind) => kind,
            None => Kind::of_value(value)?,
        };
        self.millis_to_target(self.millis_of(value, kind)?)
    }
}

impl Transform for TimestampConverter {
    fn apply(&self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        let value = self.part.value(&record);
        let schema = self.part.schema(&record).cloned();
        let (schema, value) = match (&self.field, schema) {
            (None, None) => (None, self.convert(value, None)?),
            (None, Some(schema)) => {
                let kind = Kind::of_schema(&schema)?;
                (
                    Some(self.target.schema(schema.optional)),
                    self.convert(value, Some(kind))?,
                )
            }
            (Some(_), None) if value.is_null() => (None, Value::Null),
            (Some(field), None) => {
                let mut entries = require_map(value, PURPOSE)?.to_vec();
                // As Kafka's HashMap.put: a missing field becomes null.
                let v = value.map_get(field).cloned().unwrap_or_default();
                map_put(&mut entries, field, self.convert(&v, None)?);
                (None, Value::Map(entries))
            }
            (Some(name), Some(schema)) => {
                let updated = self.schemas.get_or_build(&schema, || {
                    let mut builder = struct_like(&schema).set_optional(schema.optional);
                    for field in &schema.fields {
                        let field_schema = if &field.name == name {
                            Kind::of_schema(&field.schema)?;
                            self.target.schema(field.schema.optional)
                        } else {
                            field.schema.clone()
                        };
                        builder = builder.field(field.name.clone(), field_schema);
                    }
                    build_struct_schema(builder)
                })?;
                if value.is_null() {
                    self.part.set(&mut record, Some(updated), Value::Null);
                    return Ok(Some(record));
                }
                let s = require_struct(value, PURPOSE)?;
                let values = s
                    .iter()
                    .map(|(field, v)| {
                        if &field.name != name {
                            return Ok(v.clone());
                        }
                        let v = match (&field.schema.default, v) {
                            (Some(default), Value::Null) if self.replace_null_with_default => {
                                default
                            }
                            _ => v,
                        };
                        self.convert(v, Some(Kind::of_schema(&field.schema)?))
                    })
                    .collect::<Result<Vec<_>>>()?;
                let converted = new_struct(&updated, values)?;
                (Some(updated), Value::Struct(converted))
            }
        };
        self.part.set(&mut record, schema, value);
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Struct;
    use crate::transforms::part::testkit::{config, map};

    const MILLIS: i64 = 1_700_000_123_456; // 2023-11-14T22:15:23.456Z

    fn converter(pairs: &[(&str, &str)]) -> TimestampConverter {
        TimestampConverter::new(&config(pairs), Part::Value).unwrap()
    }

    fn with_schema(schema: SchemaRef, value: Value) -> ConnectRecord {
        let mut r = ConnectRecord::new("t", value);
        r.value_schema = Some(schema);
        r
    }

    #[test]
    fn whole_value_between_every_type() {
        let to_string = converter(&[
            ("target.type", "string"),
            ("format", "yyyy-MM-dd HH:mm:ss.SSS"),
        ]);
        let r = with_schema(logical::timestamp().build_ref(), Value::Int64(MILLIS));
        let out = to_string.apply(r).unwrap().unwrap();
        assert_eq!(out.value, Value::from("2023-11-14 22:15:23.456"));
        assert_eq!(out.value_schema.unwrap().schema_type, SchemaType::String);

        let to_date = converter(&[("target.type", "Date")]);
        let out = to_date
            .apply(ConnectRecord::new("t", Value::Int64(MILLIS)))
            .unwrap()
            .unwrap();
        assert_eq!(out.value, Value::Int32(19675));

        let to_time = converter(&[("target.type", "Time")]);
        let out = to_time
            .apply(with_schema(
                logical::timestamp().build_ref(),
                Value::Int64(MILLIS),
            ))
            .unwrap()
            .unwrap();
        assert_eq!(out.value, Value::Int32(80_123_456));
        assert_eq!(
            out.value_schema.unwrap().name.as_deref(),
            Some(logical::TIME)
        );

        let to_unix = converter(&[("target.type", "unix"), ("unix.precision", "seconds")]);
        let out = to_unix
            .apply(with_schema(logical::date().build_ref(), Value::Int32(1)))
            .unwrap()
            .unwrap();
        assert_eq!(out.value, Value::Int64(86_400));

        let from_string = converter(&[
            ("target.type", "Timestamp"),
            ("format", "yyyy-MM-dd'T'HH:mm:ss.SSS"),
        ]);
        let out = from_string
            .apply(ConnectRecord::new(
                "t",
                Value::from("2023-11-14T22:15:23.456"),
            ))
            .unwrap()
            .unwrap();
        assert_eq!(out.value, Value::Int64(MILLIS));
        let micros = converter(&[
            ("target.type", "Timestamp"),
            ("unix.precision", "microseconds"),
        ]);
        let out = micros
            .apply(ConnectRecord::new("t", Value::Int64(MILLIS * 1000 + 7)))
            .unwrap()
            .unwrap();
        assert_eq!(out.value, Value::Int64(MILLIS));
    }

    #[test]
    fn one_field_of_a_struct_or_map() {
        let schema = Schema::struct_builder()
            .field("id", Schema::primitive(SchemaType::Int32))
            .field("at", Schema::optional_primitive(SchemaType::Int64))
            .build_ref();
        let value = Struct::new(schema.clone())
            .unwrap()
            .with("id", 1)
            .unwrap()
            .with("at", MILLIS)
            .unwrap();
        let t = converter(&[
            ("field", "at"),
            ("target.type", "string"),
            ("format", "yyyy-MM-dd"),
        ]);
        let out = t
            .apply(with_schema(schema, Value::Struct(value)))
            .unwrap()
            .unwrap();
        let at = out
            .value_schema
            .as_ref()
            .unwrap()
            .field("at")
            .unwrap()
            .schema
            .clone();
        assert_eq!(at.schema_type, SchemaType::String);
        assert!(at.optional);
        assert_eq!(out.value.get_field("at"), Some(&Value::from("2023-11-14")));
        assert_eq!(out.value.get_field("id"), Some(&Value::Int32(1)));

        let out = t
            .apply(ConnectRecord::new(
                "t",
                map(vec![("at", Value::Int64(0)), ("x", Value::Null)]),
            ))
            .unwrap()
            .unwrap();
        assert_eq!(
            out.value,
            map(vec![("at", Value::from("1970-01-01")), ("x", Value::Null)])
        );
        let out = t
            .apply(ConnectRecord::new("t", map(vec![("x", Value::Null)])))
            .unwrap()
            .unwrap();
        assert_eq!(
            out.value,
            map(vec![("x", Value::Null), ("at", Value::Null)]),
            "as Kafka: the field is put, null"
        );

        let optional = Schema::struct_builder()
            .field("at", Schema::primitive(SchemaType::Int64))
            .optional()
            .build_ref();
        let out = t
            .apply(with_schema(optional, Value::Null))
            .unwrap()
            .unwrap();
        assert!(out.value.is_null());
        let schema = out.value_schema.unwrap();
        assert!(schema.optional);
        assert_eq!(
            schema.field("at").unwrap().schema.schema_type,
            SchemaType::String,
            "a null struct still gets the converted schema"
        );
    }

    #[test]
    fn config_and_data_errors() {
        let bad =
            |pairs: &[(&str, &str)]| TimestampConverter::new(&config(pairs), Part::Value).is_err();
        assert!(bad(&[]));
        assert!(
            bad(&[("target.type", "date")]),
            "type names are case-sensitive as in Kafka"
        );
        assert!(bad(&[("target.type", "string")]), "string needs a format");
        assert!(bad(&[
            ("target.type", "unix"),
            ("unix.precision", "minutes")
        ]));
        let t = converter(&[("target.type", "unix")]);
        assert!(t
            .apply(ConnectRecord::new("t", Value::Boolean(true)))
            .is_err());
        assert!(
            t.apply(ConnectRecord::new("t", Value::from("2023")))
                .is_err(),
            "no format to parse with"
        );
        let tomb = t
            .apply(ConnectRecord::new("t", Value::Null))
            .unwrap()
            .unwrap();
        assert!(tomb.value.is_null());
    }
}
