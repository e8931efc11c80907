//! The config topic (`config.storage.topic`) in Kafka Connect's record format, and the
//! snapshot every worker keeps of it.
//!
//! Keys and values (JSON), as Kafka's `KafkaConfigBackingStore` writes them:
//! - `connector-<name>`: `{"properties": {...}}`; a tombstone deletes the connector;
//! - `task-<name>-<n>`: `{"properties": {...}}`, pending until
//! - `commit-<name>`: `{"tasks": N}` makes tasks 0..N the connector's task configs;
//! - `target-state-<name>`: `{"state": ..., "state.v2": "STARTED" | "PAUSED" | "STOPPED"}`;
//! - `restart-connector-<name>`: `{"include-tasks": bool, "only-failed": bool}` (KIP-745);
//! - `restart-task-<name>-<n>`: `{}` (Fjord's: Kafka forwards a task restart to its worker).
//!
//! Only the leader writes connector, task and target records; every worker applies all of
//! them and hands each change to its herder as a [`ConfigEvent`].

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde_json::{json, Value as Json};
use tokio::sync::mpsc;

use crate::config::ConfigMap;
use crate::herder::{ConnectorTaskId, TargetState};

/// What changed in the config topic.
#[derive(Debug, Clone, PartialEq)]
pub enum ConfigEvent {
    /// A connector's config was written (created or updated).
    ConnectorConfig(String),
    /// A connector was deleted.
    ConnectorRemoved(String),
    /// A connector's task configs were committed.
    TasksCommitted(String),
    /// A connector's target state changed.
    TargetState(String, TargetState),
    /// A restart of a connector (and its tasks) was requested.
    RestartConnector {
        /// The connector.
        name: String,
        /// Its tasks too.
        include_tasks: bool,
        /// Only what failed.
        only_failed: bool,
    },
    /// A restart of one task was requested.
    RestartTask(ConnectorTaskId),
}

/// The connectors as the config topic describes them.
#[derive(Debug, Default, Clone)]
pub struct ConfigSnapshot {
    /// The offset after the last record applied.
    pub offset: i64,
    /// Connector configs.
    pub connectors: BTreeMap<String, ConfigMap>,
    /// Committed task configs per connector.
    pub tasks: BTreeMap<String, Vec<ConfigMap>>,
    /// Target states (absent: STARTED).
    pub targets: BTreeMap<String, TargetState>,
    pending: BTreeMap<String, BTreeMap<u32, ConfigMap>>,
}

impl ConfigSnapshot {
    /// A connector's target state.
    pub fn target(&self, name: &str) -> TargetState {
        self.targets
            .get(name)
            .copied()
            .unwrap_or(TargetState::Started)
    }

    /// Every task id, in order.
    pub fn task_ids(&self) -> Vec<ConnectorTaskId> {
        self.tasks
            .iter()
            .filter(|(name, _)| self.connectors.contains_key(*name))
            .flat_map(|(name, tasks)| {
                (0..tasks.len()).map(move |t| ConnectorTaskId {
                    connector: name.clone(),
                    task: u32::try_from(t).unwrap_or(u32::MAX),
                })
            })
            .collect()
    }

    /// A task's committed config.
    pub fn task_config(&self, id: &ConnectorTaskId) -> Option<&ConfigMap> {
        self.tasks
            .get(&id.connector)?
            .get(usize::try_from(id.task).ok()?)
    }

    /// Applies one record; returns the change, if any.
    pub fn apply(&mut self, key: &str, value: Option<&Json>, offset: i64) -> Option<ConfigEvent> {
        self.offset = offset + 1;
        if let Some(name) = key.strip_prefix("connector-") {
            return match value.and_then(|v| v.get("properties")).and_then(properties) {
                Some(config) => {
                    self.connectors.insert(name.to_owned(), config);
                    Some(ConfigEvent::ConnectorConfig(name.to_owned()))
                }
                None => {
                    self.connectors.remove(name);
                    self.tasks.remove(name);
                    self.targets.remove(name);
                    self.pending.remove(name);
                    Some(ConfigEvent::ConnectorRemoved(name.to_owned()))
                }
            };
        }
        if let Some(rest) = key.strip_prefix("task-") {
            let (name, task) = rest.rsplit_once('-')?;
            let task: u32 = task.parse().ok()?;
            let config = value
                .and_then(|v| v.get("properties"))
                .and_then(properties)?;
            self.pending
                .entry(name.to_owned())
                .or_default()
                .insert(task, config);
            return None;
        }
        if let Some(name) = key.strip_prefix("commit-") {
            let count = value.and_then(|v| v.get("tasks")).and_then(Json::as_u64)?;
            let pending = self.pending.remove(name).unwrap_or_default();
            let previous = self.tasks.remove(name).unwrap_or_default();
            let tasks: Vec<ConfigMap> = (0..count)
                .map(|t| {
                    let t = u32::try_from(t).unwrap_or(u32::MAX);
                    pending
                        .get(&t)
                        .cloned()
                        .or_else(|| {
                            previous
                                .get(usize::try_from(t).unwrap_or(usize::MAX))
                                .cloned()
                        })
                        .unwrap_or_default()
                })
                .collect();
            self.tasks.insert(name.to_owned(), tasks);
            return Some(ConfigEvent::TasksCommitted(name.to_owned()));
        }
        if let Some(name) = key.strip_prefix("target-state-") {
            let state = value
                .and_then(|v| v.get("state.v2").or_else(|| v.get("state")))
                .and_then(Json::as_str)
                .and_then(|s| match s {
                    "STARTED" => Some(TargetState::Started),
                    "PAUSED" => Some(TargetState::Paused),
                    "STOPPED" => Some(TargetState::Stopped),
                    _ => None,
                });
            match state {
                Some(state) => self.targets.insert(name.to_owned(), state),
                None => self.targets.remove(name),
            };
            return Some(ConfigEvent::TargetState(
                name.to_owned(),
                state.unwrap_or(TargetState::Started),
            ));
        }
        if let Some(name) = key.strip_prefix("restart-connector-") {
            let flag = |k: &str| {
                value
                    .and_then(|v| v.get(k))
                    .and_then(Json::as_bool)
                    .unwrap_or(false)
            };
            return Some(ConfigEvent::RestartConnector {
                name: name.to_owned(),
                include_tasks: flag("include-tasks"),
                only_failed: flag("only-failed"),
            });
        }
        if let Some(rest) = key.strip_prefix("restart-task-") {
            let (name, task) = rest.rsplit_once('-')?;
            return Some(ConfigEvent::RestartTask(ConnectorTaskId {
                connector: name.to_owned(),
                task: task.parse().ok()?,
            }));
        }
        None
    }
}

fn properties(value: &Json) -> Option<ConfigMap> {
    let object = value.as_object()?;
    Some(
        object
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                )
            })
            .collect(),
    )
}

/// The snapshot, shared by the log's reader thread (which applies) and the herder (reads).
#[derive(Clone, Default)]
pub struct SharedSnapshot(Arc<Mutex<ConfigSnapshot>>);

impl SharedSnapshot {
    /// The snapshot, locked (held only to read or copy; never across an await).
    pub fn lock(&self) -> MutexGuard<'_, ConfigSnapshot> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The record applier for the config topic's [`super::topic_log::TopicLog`]; each change
    /// is sent to `events` (blocking the reader thread when the herder lags: back-pressure,
    /// nothing dropped).
    pub fn applier(&self, events: mpsc::Sender<ConfigEvent>) -> super::topic_log::Apply {
        let snapshot = self.clone();
        Box::new(move |key, value, _partition, offset| {
            let key = String::from_utf8_lossy(key);
            let value: Option<Json> = value.and_then(|v| serde_json::from_slice(v).ok());
            let event = snapshot.lock().apply(&key, value.as_ref(), offset);
            if let Some(event) = event {
                let _ = events.blocking_send(event);
            }
        })
    }
}

/// The records that write a connector's config.
pub fn connector_record(name: &str, config: &ConfigMap) -> (String, Vec<u8>) {
    (
        format!("connector-{name}"),
        json!({ "properties": config }).to_string().into_bytes(),
    )
}

/// The records that write a connector's task configs, then commit them.
pub fn task_records(name: &str, tasks: &[ConfigMap]) -> Vec<(String, Vec<u8>)> {
    let mut records: Vec<(String, Vec<u8>)> = tasks
        .iter()
        .enumerate()
        .map(|(i, config)| {
            (
                format!("task-{name}-{i}"),
                json!({ "properties": config }).to_string().into_bytes(),
            )
        })
        .collect();
    records.push((
        format!("commit-{name}"),
        json!({ "tasks": tasks.len() }).to_string().into_bytes(),
    ));
    records
}

/// The record that sets a connector's target state (`state` kept for older readers, which
/// know no STOPPED).
pub fn target_record(name: &str, state: TargetState) -> (String, Vec<u8>) {
    let v2 = match state {
        TargetState::Started => "STARTED",
        TargetState::Paused => "PAUSED",
        TargetState::Stopped => "STOPPED",
    };
    let v1 = if state == TargetState::Started {
        "STARTED"
    } else {
        "PAUSED"
    };
    (
        format!("target-state-{name}"),
        json!({ "state": v1, "state.v2": v2 })
            .to_string()
            .into_bytes(),
    )
}

/// The record that asks for a connector restart.
pub fn restart_record(name: &str, include_tasks: bool, only_failed: bool) -> (String, Vec<u8>) {
    (
        format!("restart-connector-{name}"),
        json!({ "include-tasks": include_tasks, "only-failed": only_failed })
            .to_string()
            .into_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_count_only_once_committed_and_deletes_clear_everything() {
        let mut snapshot = ConfigSnapshot::default();
        let config: ConfigMap =
            [("connector.class".to_owned(), "FileStreamSource".to_owned())].into();
        let (key, value) = connector_record("a", &config);
        let value: Json = serde_json::from_slice(&value).unwrap();
        assert_eq!(
            snapshot.apply(&key, Some(&value), 0),
            Some(ConfigEvent::ConnectorConfig("a".into()))
        );
        let records = task_records("a", &[config.clone(), config.clone()]);
        for (i, (key, value)) in records.iter().enumerate() {
            let value: Json = serde_json::from_slice(value).unwrap();
            let event = snapshot.apply(key, Some(&value), 1 + i as i64);
            if i < 2 {
                assert_eq!(event, None);
                assert!(
                    snapshot.task_ids().is_empty(),
                    "not visible before the commit"
                );
            } else {
                assert_eq!(event, Some(ConfigEvent::TasksCommitted("a".into())));
            }
        }
        assert_eq!(snapshot.task_ids().len(), 2);
        let (key, value) = target_record("a", TargetState::Stopped);
        let value: Json = serde_json::from_slice(&value).unwrap();
        snapshot.apply(&key, Some(&value), 4);
        assert_eq!(snapshot.target("a"), TargetState::Stopped);
        assert_eq!(
            snapshot.apply("connector-a", None, 5),
            Some(ConfigEvent::ConnectorRemoved("a".into()))
        );
        assert!(snapshot.task_ids().is_empty());
        assert_eq!(snapshot.offset, 6);
    }
}
