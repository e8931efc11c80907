//! Statuses in the status topic (`status.storage.topic`), Kafka Connect's format:
//! `status-connector-<name>` and `status-task-<name>-<n>` ->
//! `{"state", "trace", "worker_id", "generation"}`; `status-topic-<topic>:connector-<name>` ->
//! `{"topic": {"name", "connector", "task", "discoverTimestamp"}}`. Every worker publishes its
//! own changes and applies everyone's to its [`StatusBoard`].

use std::sync::Arc;

use serde_json::{json, Value as Json};

use super::topic_log::{Apply, TopicLog};
use crate::herder::{ConnectorTaskId, State};
use crate::runtime::status::{Status, StatusBoard, StatusPublisher};

fn state_name(state: State) -> &'static str {
    match state {
        State::Unassigned => "UNASSIGNED",
        State::Running => "RUNNING",
        State::Paused => "PAUSED",
        State::Stopped => "STOPPED",
        State::Failed => "FAILED",
        State::Restarting => "RESTARTING",
    }
}

fn parse_state(name: &str) -> Option<State> {
    Some(match name {
        "UNASSIGNED" => State::Unassigned,
        "RUNNING" => State::Running,
        "PAUSED" => State::Paused,
        "STOPPED" => State::Stopped,
        "FAILED" => State::Failed,
        "RESTARTING" => State::Restarting,
        _ => return None,
    })
}

fn encode(status: &Status) -> Vec<u8> {
    json!({
        "state": state_name(status.state),
        "trace": status.trace,
        "worker_id": status.worker_id,
        "generation": status.generation,
    })
    .to_string()
    .into_bytes()
}

fn decode(value: Option<&[u8]>) -> Option<Status> {
    let json: Json = serde_json::from_slice(value?).ok()?;
    Some(Status {
        state: parse_state(json.get("state")?.as_str()?)?,
        worker_id: json.get("worker_id")?.as_str()?.to_owned(),
        trace: json.get("trace").and_then(Json::as_str).map(str::to_owned),
        generation: json
            .get("generation")
            .and_then(Json::as_i64)
            .and_then(|g| i32::try_from(g).ok())
            .unwrap_or(0),
    })
}

/// The applier for the status topic's log: other workers' statuses onto `board`. A status
/// of an older generation than the one known is ignored (a dead worker's late write).
pub fn applier(board: &Arc<StatusBoard>) -> Apply {
    let board = Arc::clone(board);
    Box::new(move |key, value, _, _| {
        let Ok(key) = std::str::from_utf8(key) else {
            return;
        };
        if let Some(name) = key.strip_prefix("status-connector-") {
            let status = decode(value);
            if newer(board.connector(name).as_ref(), status.as_ref()) {
                board.apply_connector(name, status);
            }
        } else if let Some(rest) = key.strip_prefix("status-task-") {
            let Some((name, task)) = rest.rsplit_once('-') else {
                return;
            };
            let Ok(task) = task.parse() else { return };
            let id = ConnectorTaskId {
                connector: name.to_owned(),
                task,
            };
            let status = decode(value);
            if newer(board.task(&id).as_ref(), status.as_ref()) {
                board.apply_task(&id, status);
            }
        } else if let Some(rest) = key.strip_prefix("status-topic-") {
            if let Some((topic, connector)) = rest.split_once(":connector-") {
                if value.is_some() {
                    board.apply_topic(connector, topic);
                }
            }
        }
    })
}

fn newer(known: Option<&Status>, incoming: Option<&Status>) -> bool {
    match (known, incoming) {
        (Some(known), Some(incoming)) => {
            incoming.generation >= known.generation || incoming.worker_id == known.worker_id
        }
        _ => true,
    }
}

/// Publishes this worker's status changes to the status topic (in the background: a status
/// write never holds up a task).
pub struct TopicStatusPublisher {
    log: Arc<TopicLog>,
    runtime: tokio::runtime::Handle,
}

impl TopicStatusPublisher {
    /// A publisher writing through `log` on `runtime`.
    pub fn new(log: Arc<TopicLog>, runtime: tokio::runtime::Handle) -> Self {
        Self { log, runtime }
    }

    fn write(&self, key: String, value: Vec<u8>) {
        // Queued here, in the caller's order (a task's RUNNING before its FAILED); only the
        // acknowledgement is awaited in the background.
        match self.log.enqueue(key.as_bytes(), Some(&value)) {
            Ok(delivery) => {
                self.runtime.spawn(async move {
                    if !matches!(delivery.await, Ok(Ok(_))) {
                        tracing::warn!("status write of {key} was not acknowledged");
                    }
                });
            }
            Err(e) => tracing::warn!("status write of {key}: {e}"),
        }
    }
}

impl StatusPublisher for TopicStatusPublisher {
    fn connector(&self, name: &str, status: &Status) {
        self.write(format!("status-connector-{name}"), encode(status));
    }

    fn task(&self, id: &ConnectorTaskId, status: &Status) {
        self.write(
            format!("status-task-{}-{}", id.connector, id.task),
            encode(status),
        );
    }

    fn topic(&self, connector: &str, topic: &str) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        let value = json!({"topic": {"name": topic, "connector": connector, "task": 0, "discoverTimestamp": now}});
        self.write(
            format!("status-topic-{topic}:connector-{connector}"),
            value.to_string().into_bytes(),
        );
    }
}
