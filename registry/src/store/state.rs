//! The registry's state as rebuilt from `_schemas`: every subject's versions,
//! compatibility levels, modes and the current writer. Only the store's
//! reader task changes it ([`State::apply`]); HTTP handlers read snapshots.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::records::{
    ConfigValue, DeleteSubjectValue, ModeValue, NoopValue, RecordKey, SchemaValue,
};

/// The kind of a schema (`schemaType`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum SchemaType {
    /// Apache Avro (the default when `schemaType` is absent).
    #[default]
    Avro,
    /// JSON Schema.
    Json,
    /// Protocol Buffers (recognised, not supported).
    Protobuf,
}

impl SchemaType {
    /// Whether this is Avro, the type Confluent leaves out of its JSON.
    pub fn is_avro(&self) -> bool {
        *self == SchemaType::Avro
    }
}

/// A reference from one schema to a named type in another subject's version.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Reference {
    /// The referenced type's name (Avro full name), as the schema uses it.
    pub name: String,
    /// The subject holding the referenced schema.
    pub subject: String,
    /// The version of that subject.
    pub version: i32,
}

/// Everything the registry knows, keyed as the API looks it up.
#[derive(Debug, Default)]
pub struct State {
    subjects: BTreeMap<String, BTreeMap<i32, SchemaValue>>,
    /// `None` is the global entry.
    configs: BTreeMap<Option<String>, String>,
    modes: BTreeMap<Option<String>, String>,
    /// The highest id ever seen, permanently deleted ones included, so ids
    /// are never reused.
    max_id: i32,
    leader: Option<String>,
}

impl State {
    /// Applies one `_schemas` record; `value` is `None` for a tombstone.
    /// Values that do not parse are skipped with a warning, as Confluent
    /// does, so one bad record cannot stop the registry from starting.
    pub fn apply(&mut self, key: &RecordKey, value: Option<&[u8]>) {
        match key {
            RecordKey::Schema { subject, version } => match value {
                None => {
                    if let Some(versions) = self.subjects.get_mut(subject) {
                        versions.remove(version);
                        if versions.is_empty() {
                            self.subjects.remove(subject);
                        }
                    }
                }
                Some(bytes) => match serde_json::from_slice::<SchemaValue>(bytes) {
                    Ok(v) => {
                        self.max_id = self.max_id.max(v.id);
                        self.subjects
                            .entry(subject.clone())
                            .or_default()
                            .insert(*version, v);
                    }
                    Err(e) => {
                        tracing::warn!(%subject, version, "skipping a bad schema record: {e}")
                    }
                },
            },
            RecordKey::Config { subject } => {
                match value.map(serde_json::from_slice::<ConfigValue>) {
                    None => {
                        self.configs.remove(subject);
                    }
                    Some(Ok(v)) => {
                        self.configs.insert(subject.clone(), v.compatibility_level);
                    }
                    Some(Err(e)) => tracing::warn!(?subject, "skipping a bad config record: {e}"),
                }
            }
            RecordKey::Mode { subject } => match value.map(serde_json::from_slice::<ModeValue>) {
                None => {
                    self.modes.remove(subject);
                }
                Some(Ok(v)) => {
                    self.modes.insert(subject.clone(), v.mode);
                }
                Some(Err(e)) => tracing::warn!(?subject, "skipping a bad mode record: {e}"),
            },
            RecordKey::DeleteSubject { subject } => {
                let Some(Ok(v)) = value.map(serde_json::from_slice::<DeleteSubjectValue>) else {
                    return;
                };
                if let Some(versions) = self.subjects.get_mut(subject) {
                    for (_, schema) in versions.range_mut(..=v.version) {
                        schema.deleted = true;
                    }
                }
            }
            RecordKey::Noop => {
                if let Some(Ok(v)) = value.map(serde_json::from_slice::<NoopValue>) {
                    self.leader = Some(v.leader);
                }
            }
        }
    }

    /// Subject names, sorted; soft-deleted subjects only with `deleted`.
    pub fn subjects(&self, deleted: bool) -> Vec<String> {
        self.subjects
            .iter()
            .filter(|(_, versions)| versions.values().any(|v| deleted || !v.deleted))
            .map(|(s, _)| s.clone())
            .collect()
    }

    /// The versions of a subject in order; soft-deleted ones only with `deleted`.
    pub fn versions(&self, subject: &str, deleted: bool) -> Vec<&SchemaValue> {
        self.subjects
            .get(subject)
            .map(|versions| {
                versions
                    .values()
                    .filter(|v| deleted || !v.deleted)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Whether the subject has any version, soft-deleted ones included.
    pub fn subject_exists(&self, subject: &str) -> bool {
        self.subjects.contains_key(subject)
    }

    /// One version, soft-deleted or not.
    pub fn version(&self, subject: &str, version: i32) -> Option<&SchemaValue> {
        self.subjects.get(subject)?.get(&version)
    }

    /// The first version (in subject order) carrying schema `id`.
    pub fn by_id(&self, id: i32) -> Option<&SchemaValue> {
        self.all().find(|v| v.id == id)
    }

    /// Every version of every subject, soft-deleted ones included.
    pub fn all(&self) -> impl Iterator<Item = &SchemaValue> {
        self.subjects
            .values()
            .flat_map(|versions| versions.values())
    }

    /// The id already given to this exact schema (type, text, references),
    /// in any subject, so the same schema gets the same id everywhere.
    pub fn id_of(&self, schema_type: SchemaType, schema: &str, refs: &[Reference]) -> Option<i32> {
        self.all()
            .find(|v| v.schema_type == schema_type && v.schema == schema && v.references == refs)
            .map(|v| v.id)
    }

    /// The ids of the schemas whose references name `subject` `version`.
    pub fn referenced_by(&self, subject: &str, version: i32) -> Vec<i32> {
        let mut ids: Vec<i32> = self
            .all()
            .filter(|v| !v.deleted)
            .filter(|v| {
                v.references
                    .iter()
                    .any(|r| r.subject == subject && r.version == version)
            })
            .map(|v| v.id)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// The next version number of a subject.
    pub fn next_version(&self, subject: &str) -> i32 {
        self.subjects
            .get(subject)
            .and_then(|versions| versions.keys().next_back())
            .map_or(1, |v| v + 1)
    }

    /// The next unused schema id.
    pub fn next_id(&self) -> i32 {
        self.max_id + 1
    }

    /// The compatibility level set for `subject` (`None`: global), if any.
    pub fn config(&self, subject: Option<&str>) -> Option<&str> {
        self.configs
            .get(&subject.map(str::to_owned))
            .map(String::as_str)
    }

    /// The mode set for `subject` (`None`: global), if any.
    pub fn mode(&self, subject: Option<&str>) -> Option<&str> {
        self.modes
            .get(&subject.map(str::to_owned))
            .map(String::as_str)
    }

    /// The writer's URL, as last announced in `_schemas`.
    pub fn leader(&self) -> Option<&str> {
        self.leader.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(state: &mut State, subject: &str, version: i32, id: i32, deleted: bool) {
        let value = SchemaValue {
            subject: subject.into(),
            version,
            id,
            schema_type: SchemaType::Avro,
            references: vec![],
            metadata: None,
            rule_set: None,
            schema: format!("\"s{id}\""),
            deleted,
        };
        let key = RecordKey::Schema {
            subject: subject.into(),
            version,
        };
        state.apply(&key, Some(&serde_json::to_vec(&value).unwrap()));
    }

    #[test]
    fn soft_and_permanent_deletes_and_ids() {
        let mut state = State::default();
        put(&mut state, "a", 1, 1, false);
        put(&mut state, "a", 2, 2, false);
        put(&mut state, "b", 1, 1, false);
        assert_eq!(state.subjects(false), ["a", "b"]);
        assert_eq!(state.next_id(), 3);
        assert_eq!(state.next_version("a"), 3);
        let delete = RecordKey::DeleteSubject {
            subject: "a".into(),
        };
        state.apply(&delete, Some(br#"{"subject":"a","version":2}"#));
        assert_eq!(state.subjects(false), ["b"]);
        assert_eq!(state.subjects(true), ["a", "b"]);
        for version in [1, 2] {
            let key = RecordKey::Schema {
                subject: "a".into(),
                version,
            };
            state.apply(&key, None);
        }
        assert_eq!(state.subjects(true), ["b"]);
        assert_eq!(state.next_id(), 3, "ids are never reused");
        assert_eq!(state.by_id(1).map(|v| v.subject.as_str()), Some("b"));
        assert!(state.by_id(2).is_none());
    }

    #[test]
    fn configs_modes_and_tombstones() {
        let mut state = State::default();
        let global = RecordKey::Config { subject: None };
        state.apply(&global, Some(br#"{"compatibilityLevel":"FULL"}"#));
        let mode = RecordKey::Mode {
            subject: Some("s".into()),
        };
        state.apply(&mode, Some(br#"{"mode":"READONLY"}"#));
        assert_eq!(state.config(None), Some("FULL"));
        assert_eq!(state.mode(Some("s")), Some("READONLY"));
        state.apply(&global, None);
        state.apply(&mode, Some(b"garbage"));
        assert_eq!(state.config(None), None);
        assert_eq!(state.mode(Some("s")), Some("READONLY"));
    }
}
