//! The records of the `_schemas` topic, in Confluent Schema Registry's JSON
//! key/value format, so a Confluent registry (or Karapace) reading the same
//! topic sees the same state and Fjord can read theirs.
//!
//! Keys carry a `keytype` and a `magic` number (1 for schema keys, 0 for the
//! others, as Confluent writes them); a null value is a tombstone (permanent
//! delete of a schema version, removal of a subject's config or mode).
//! Keys are serialised from structs so their field order, and therefore
//! their bytes, are the same every time: compaction keeps the latest value
//! per key only when the key bytes match.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::state::{Reference, SchemaType};

/// The key of one `_schemas` record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordKey {
    /// One version of a subject (`keytype` `SCHEMA`).
    Schema {
        /// The subject.
        subject: String,
        /// Its version.
        version: i32,
    },
    /// The compatibility level of a subject, or the global one (`CONFIG`).
    Config {
        /// `None` for the global level.
        subject: Option<String>,
    },
    /// The mode of a subject, or the global one (`MODE`).
    Mode {
        /// `None` for the global mode.
        subject: Option<String>,
    },
    /// A soft delete of a whole subject (`DELETE_SUBJECT`).
    DeleteSubject {
        /// The subject.
        subject: String,
    },
    /// A record with no state change (`NOOP`); Fjord's value names the
    /// current writer (see [`NoopValue`]).
    Noop,
}

#[derive(Serialize)]
struct SchemaKeyJson<'a> {
    keytype: &'static str,
    subject: &'a str,
    version: i32,
    magic: i32,
}

#[derive(Serialize)]
struct SubjectKeyJson<'a> {
    keytype: &'static str,
    subject: Option<&'a str>,
    magic: i32,
}

#[derive(Serialize)]
struct NoopKeyJson {
    keytype: &'static str,
    magic: i32,
}

#[derive(Deserialize)]
struct AnyKeyJson {
    keytype: String,
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    version: Option<i32>,
}

impl RecordKey {
    /// The key's JSON bytes, as Confluent writes them.
    pub fn to_bytes(&self) -> Vec<u8> {
        let json = match self {
            RecordKey::Schema { subject, version } => serde_json::to_vec(&SchemaKeyJson {
                keytype: "SCHEMA",
                subject,
                version: *version,
                magic: 1,
            }),
            RecordKey::Config { subject } => serde_json::to_vec(&SubjectKeyJson {
                keytype: "CONFIG",
                subject: subject.as_deref(),
                magic: 0,
            }),
            RecordKey::Mode { subject } => serde_json::to_vec(&SubjectKeyJson {
                keytype: "MODE",
                subject: subject.as_deref(),
                magic: 0,
            }),
            RecordKey::DeleteSubject { subject } => serde_json::to_vec(&SubjectKeyJson {
                keytype: "DELETE_SUBJECT",
                subject: Some(subject),
                magic: 0,
            }),
            RecordKey::Noop => serde_json::to_vec(&NoopKeyJson {
                keytype: "NOOP",
                magic: 0,
            }),
        };
        // Serialising these plain structs cannot fail (no maps with non-string keys).
        json.unwrap_or_default()
    }

    /// Parses a key; `None` for keys this registry does not know (e.g. a newer
    /// Confluent key type), which are skipped.
    pub fn parse(bytes: &[u8]) -> Option<RecordKey> {
        let key: AnyKeyJson = serde_json::from_slice(bytes).ok()?;
        match key.keytype.as_str() {
            "SCHEMA" => Some(RecordKey::Schema {
                subject: key.subject?,
                version: key.version?,
            }),
            "CONFIG" => Some(RecordKey::Config {
                subject: key.subject,
            }),
            "MODE" => Some(RecordKey::Mode {
                subject: key.subject,
            }),
            "DELETE_SUBJECT" => Some(RecordKey::DeleteSubject {
                subject: key.subject?,
            }),
            "NOOP" => Some(RecordKey::Noop),
            _ => None,
        }
    }
}

/// The value of a `SCHEMA` record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SchemaValue {
    /// The subject.
    pub subject: String,
    /// The version within the subject.
    pub version: i32,
    /// The global schema id.
    pub id: i32,
    /// `AVRO` is left out, as Confluent does.
    #[serde(
        rename = "schemaType",
        default,
        skip_serializing_if = "SchemaType::is_avro"
    )]
    pub schema_type: SchemaType,
    /// Other subjects' versions this schema uses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<Reference>,
    /// Confluent data-contract metadata, stored and returned as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    /// Confluent data-contract rules, stored and returned as given.
    #[serde(rename = "ruleSet", default, skip_serializing_if = "Option::is_none")]
    pub rule_set: Option<Value>,
    /// The schema text.
    pub schema: String,
    /// Soft-deleted.
    #[serde(default)]
    pub deleted: bool,
}

/// The value of a `CONFIG` record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConfigValue {
    /// The compatibility level, e.g. `BACKWARD`.
    #[serde(rename = "compatibilityLevel")]
    pub compatibility_level: String,
}

/// The value of a `MODE` record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModeValue {
    /// `READWRITE`, `READONLY`, `READONLY_OVERRIDE` or `IMPORT`.
    pub mode: String,
}

/// The value of a `DELETE_SUBJECT` record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeleteSubjectValue {
    /// The subject.
    pub subject: String,
    /// The latest version deleted; every version up to it is soft-deleted.
    pub version: i32,
}

/// Fjord's value of a `NOOP` record: the URL of the instance that is the
/// writer (see the crate docs on the single-writer rule). Confluent writes
/// NOOP records with other or no values; those are ignored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NoopValue {
    /// The writer's HTTP base URL, e.g. `http://10.0.0.5:8081`.
    pub leader: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_written_as_confluent_writes_them() {
        let key = RecordKey::Schema {
            subject: "sales-value".into(),
            version: 3,
        };
        assert_eq!(
            String::from_utf8(key.to_bytes()).unwrap(),
            r#"{"keytype":"SCHEMA","subject":"sales-value","version":3,"magic":1}"#
        );
        assert_eq!(
            String::from_utf8(RecordKey::Config { subject: None }.to_bytes()).unwrap(),
            r#"{"keytype":"CONFIG","subject":null,"magic":0}"#
        );
        assert_eq!(
            String::from_utf8(RecordKey::Noop.to_bytes()).unwrap(),
            r#"{"keytype":"NOOP","magic":0}"#
        );
        for key in [
            key,
            RecordKey::Config {
                subject: Some("s".into()),
            },
            RecordKey::Mode { subject: None },
            RecordKey::DeleteSubject {
                subject: "s".into(),
            },
            RecordKey::Noop,
        ] {
            assert_eq!(RecordKey::parse(&key.to_bytes()), Some(key));
        }
    }

    #[test]
    fn schema_values_leave_out_avro_and_empty_fields() {
        let value = SchemaValue {
            subject: "s".into(),
            version: 1,
            id: 7,
            schema_type: SchemaType::Avro,
            references: vec![],
            metadata: None,
            rule_set: None,
            schema: "\"string\"".into(),
            deleted: false,
        };
        assert_eq!(
            serde_json::to_string(&value).unwrap(),
            r#"{"subject":"s","version":1,"id":7,"schema":"\"string\"","deleted":false}"#
        );
        let parsed: SchemaValue = serde_json::from_str(
            r#"{"subject":"s","version":1,"id":7,"schemaType":"JSON","schema":"{}","deleted":true}"#,
        )
        .unwrap();
        assert_eq!(parsed.schema_type, SchemaType::Json);
        assert!(parsed.deleted);
    }

    #[test]
    fn unknown_key_types_are_skipped() {
        assert_eq!(
            RecordKey::parse(br#"{"keytype":"CONTEXT","magic":0}"#),
            None
        );
        assert_eq!(RecordKey::parse(b"not json"), None);
    }
}
