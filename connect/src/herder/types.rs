//! What the herder answers, in Kafka Connect's REST JSON shapes (field names as Kafka's).

use serde::{Deserialize, Serialize};

use crate::config::ConfigMap;
use crate::record::JsonMap;

/// `GET /`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerInfo {
    /// The Kafka Connect version this worker is compatible with.
    pub version: String,
    /// The build's commit.
    pub commit: String,
    /// The cluster id of the Kafka cluster the worker uses.
    pub kafka_cluster_id: Option<String>,
}

/// A task's id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ConnectorTaskId {
    /// The connector.
    pub connector: String,
    /// The task number, from 0.
    pub task: u32,
}

/// `GET /connectors/{name}` and the answer to creating or updating one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectorInfo {
    /// The connector.
    pub name: String,
    /// Its config.
    pub config: ConfigMap,
    /// Its tasks.
    pub tasks: Vec<ConnectorTaskId>,
    /// `"source"` or `"sink"`; `None` when the class is unknown.
    #[serde(rename = "type")]
    pub connector_type: Option<String>,
}

/// One entry of `GET /connectors/{name}/tasks`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskInfo {
    /// The task.
    pub id: ConnectorTaskId,
    /// Its config.
    pub config: ConfigMap,
}

/// A connector's or task's state, as Kafka names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum State {
    /// Not yet started by any worker.
    Unassigned,
    /// Running.
    Running,
    /// Paused: started, not processing.
    Paused,
    /// Stopped: no tasks (KIP-875), offsets may be altered.
    Stopped,
    /// Failed; the status carries the trace.
    Failed,
    /// Being restarted.
    Restarting,
}

/// What a user asked a connector to be (`PUT .../pause|resume|stop`, `initial_state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum TargetState {
    /// Running (KIP-980's `initial_state` calls it `RUNNING`).
    #[serde(alias = "RUNNING")]
    Started,
    /// Paused.
    Paused,
    /// Stopped.
    Stopped,
}

/// A connector's or task's status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateInfo {
    /// The state.
    pub state: State,
    /// The worker running it: its REST `host:port`.
    pub worker_id: String,
    /// The error trace of a FAILED one.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub trace: Option<String>,
}

/// A task's status in `GET /connectors/{name}/status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskStateInfo {
    /// The task number.
    pub id: u32,
    /// The state.
    pub state: State,
    /// The worker running it.
    pub worker_id: String,
    /// The error trace of a FAILED one.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub trace: Option<String>,
}

/// `GET /connectors/{name}/status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectorStateInfo {
    /// The connector.
    pub name: String,
    /// The connector's own status.
    pub connector: StateInfo,
    /// Each task's.
    pub tasks: Vec<TaskStateInfo>,
    /// `"source"` or `"sink"`.
    #[serde(rename = "type")]
    pub connector_type: Option<String>,
}

/// One entry of `GET /connector-plugins`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PluginInfo {
    /// The class name (Kafka's, where the plugin has one).
    pub class: String,
    /// `"source"`, `"sink"`, `"converter"`, `"transformation"`, `"predicate"`,
    /// `"header_converter"`.
    #[serde(rename = "type")]
    pub plugin_type: String,
    /// The version.
    pub version: String,
}

/// One source partition's (or sink topic partition's) offset, in
/// `GET|PATCH /connectors/{name}/offsets`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectorOffset {
    /// The partition: a source partition, or `{"kafka_topic", "kafka_partition"}` for sinks.
    pub partition: JsonMap,
    /// The offset: a source offset, or `{"kafka_offset"}` for sinks; `None` (JSON null) in
    /// a PATCH resets that partition.
    pub offset: Option<JsonMap>,
}

/// `GET /connectors/{name}/offsets` and the body of `PATCH`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectorOffsets {
    /// Every partition's offset.
    pub offsets: Vec<ConnectorOffset>,
}

/// A create request: `POST /connectors`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateConnectorRequest {
    /// The connector's name.
    pub name: String,
    /// Its config.
    pub config: ConfigMap,
    /// KIP-980: the state to create it in (default running).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_state: Option<TargetState>,
}
