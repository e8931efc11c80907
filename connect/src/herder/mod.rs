//! The herder: what the REST API asks a worker to do. A standalone worker
//! ([`crate::runtime::standalone`]) answers from its own state; a distributed worker answers
//! from the config topic and forwards writes to the group leader. Both implement [`Herder`],
//! so the REST API ([`crate::rest`]) is the same for both.

mod types;

pub use types::{
    ConnectorInfo, ConnectorOffset, ConnectorOffsets, ConnectorStateInfo, ConnectorTaskId,
    CreateConnectorRequest, PluginInfo, ServerInfo, State, StateInfo, TargetState, TaskInfo,
    TaskStateInfo,
};

use async_trait::async_trait;

use crate::config::{ConfigInfos, ConfigMap};

/// Why a herder refused a request; the REST API maps each to Kafka's status code and
/// `{"error_code", "message"}` body.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HerderError {
    /// 404: no such connector or task.
    #[error("{0}")]
    NotFound(String),
    /// 409: the connector exists already, or the cluster is rebalancing.
    #[error("{0}")]
    Conflict(String),
    /// 400: a bad request (invalid config, offsets changed while the connector runs).
    #[error("{0}")]
    BadRequest(String),
    /// Not the leader: the request must go to the leader at this REST URL.
    #[error("not the leader; the leader is at {leader_url}")]
    NotLeader {
        /// The leader's REST base URL.
        leader_url: String,
    },
    /// 500: anything else.
    #[error("{0}")]
    Internal(String),
}

/// The outcome of creating or updating a connector's config.
#[derive(Debug, Clone, PartialEq)]
pub struct Created {
    /// Whether the connector is new (201) or was updated (200).
    pub created: bool,
    /// The connector.
    pub info: ConnectorInfo,
}

/// Everything the REST API can ask of a worker. Methods are cancel safe: a request dropped
/// mid-way either happened or not, and the herder's state stays consistent.
#[async_trait]
pub trait Herder: Send + Sync {
    /// `GET /`.
    async fn server_info(&self) -> ServerInfo;
    /// The connectors' names, sorted.
    async fn connectors(&self) -> Vec<String>;
    /// A connector's config and tasks.
    async fn connector_info(&self, name: &str) -> Result<ConnectorInfo, HerderError>;
    /// A connector's config.
    async fn connector_config(&self, name: &str) -> Result<ConfigMap, HerderError>;
    /// Creates a connector (`allow_replace = false`: 409 when it exists) or sets its
    /// config; the config is validated first and a bad one is a [`HerderError::BadRequest`]
    /// listing every error.
    async fn put_connector_config(
        &self,
        name: &str,
        config: ConfigMap,
        allow_replace: bool,
        initial_state: Option<TargetState>,
    ) -> Result<Created, HerderError>;
    /// Deletes a connector (its tasks stop; its offsets stay).
    async fn delete_connector(&self, name: &str) -> Result<(), HerderError>;
    /// A connector's and its tasks' statuses.
    async fn connector_status(&self, name: &str) -> Result<ConnectorStateInfo, HerderError>;
    /// The task configs.
    async fn task_configs(&self, name: &str) -> Result<Vec<TaskInfo>, HerderError>;
    /// A task's status (from the connector's).
    async fn task_status(&self, name: &str, task: u32) -> Result<TaskStateInfo, HerderError> {
        self.connector_status(name)
            .await?
            .tasks
            .into_iter()
            .find(|t| t.id == task)
            .ok_or_else(|| HerderError::NotFound(format!("Task {name}-{task} not found")))
    }
    /// Restarts a connector; with `include_tasks` its tasks too (only the failed ones with
    /// `only_failed`). Returns the status after the restart was requested.
    async fn restart_connector(
        &self,
        name: &str,
        include_tasks: bool,
        only_failed: bool,
    ) -> Result<ConnectorStateInfo, HerderError>;
    /// Restarts one task.
    async fn restart_task(&self, name: &str, task: u32) -> Result<(), HerderError>;
    /// Sets the target state (pause, resume, stop).
    async fn set_target_state(&self, name: &str, state: TargetState) -> Result<(), HerderError>;
    /// Validates a config for a plugin (Kafka's validation answer, every key's errors).
    async fn validate(&self, plugin: &str, config: ConfigMap) -> Result<ConfigInfos, HerderError>;
    /// The installed plugins; connectors only unless `connectors_only` is false.
    async fn plugins(&self, connectors_only: bool) -> Vec<PluginInfo>;
    /// A connector's committed offsets.
    async fn offsets(&self, name: &str) -> Result<ConnectorOffsets, HerderError>;
    /// Alters (`Some`) or resets (`None`) a stopped connector's offsets.
    async fn alter_offsets(
        &self,
        name: &str,
        offsets: Option<ConnectorOffsets>,
    ) -> Result<(), HerderError>;
    /// The topics a connector has used since it was created or its topics were reset.
    async fn topics(&self, name: &str) -> Result<Vec<String>, HerderError>;
    /// Forgets the topics a connector has used.
    async fn reset_topics(&self, name: &str) -> Result<(), HerderError>;
}
