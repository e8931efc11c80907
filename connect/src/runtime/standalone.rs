//! The standalone herder: one worker, connector configs from files or the REST API, kept in
//! memory (as Kafka's standalone mode), offsets in the worker's offsets file.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;

use super::offsets_api;
use super::worker::{invalid_config_message, plugin_of, validate, Worker};
use crate::config::{ConfigInfos, ConfigMap};
use crate::connector::ConnectorType;
use crate::error::ConnectError;
use crate::herder::{
    ConnectorInfo, ConnectorOffsets, ConnectorStateInfo, ConnectorTaskId, Created, Herder,
    HerderError, PluginInfo, ServerInfo, State, StateInfo, TargetState, TaskInfo, TaskStateInfo,
};
use crate::plugins;

struct Connector {
    config: ConfigMap,
    kind: ConnectorType,
    target: TargetState,
    tasks: Vec<ConfigMap>,
}

/// A standalone worker's herder.
pub struct StandaloneHerder {
    worker: Arc<Worker>,
    // A tokio mutex: changes stop and start tasks (awaits) under it, so requests on the same
    // connector are applied one at a time, in order.
    connectors: tokio::sync::Mutex<BTreeMap<String, Connector>>,
    cluster_id: super::launch::ClusterId,
}

/// The version Fjord's REST API answers as (the Kafka Connect API it follows).
pub const CONNECT_API_VERSION: &str = "3.9.0";

/// `GET /`: the API version, this build, the Kafka cluster id.
pub fn server_info(kafka_cluster_id: Option<String>) -> ServerInfo {
    ServerInfo {
        version: CONNECT_API_VERSION.to_owned(),
        commit: format!("fjord-{}", env!("CARGO_PKG_VERSION")),
        kafka_cluster_id,
    }
}

/// Maps a worker error to the REST answer Kafka gives for it.
pub fn herder_error(e: ConnectError) -> HerderError {
    match e {
        ConnectError::NotFound(m) | ConnectError::Config(m) => HerderError::BadRequest(m),
        other => HerderError::Internal(other.to_string()),
    }
}

/// A connector config named `name`, validated against its plugin: the plugin, or Kafka's
/// 400 listing every error.
///
/// # Errors
/// An unknown class or an invalid config.
pub fn checked_plugin(
    name: &str,
    config: &mut ConfigMap,
) -> Result<crate::plugins::Plugin, HerderError> {
    config.insert("name".into(), name.to_owned());
    let plugin = plugin_of(config).map_err(herder_error)?;
    let infos = validate(&plugin, config);
    if infos.error_count > 0 {
        return Err(HerderError::BadRequest(invalid_config_message(&infos)));
    }
    Ok(plugin)
}

/// Kafka's 404 for a connector.
pub fn not_found(name: &str) -> HerderError {
    HerderError::NotFound(format!("Connector {name} not found"))
}

/// The connector's and its tasks' statuses from the board.
pub fn status_of(
    worker: &Worker,
    name: &str,
    kind: ConnectorType,
    task_count: usize,
) -> ConnectorStateInfo {
    let board = worker.status();
    let connector = board.connector(name).map_or(
        StateInfo {
            state: State::Unassigned,
            worker_id: board.worker_id().to_owned(),
            trace: None,
        },
        |s| StateInfo {
            state: s.state,
            worker_id: s.worker_id,
            trace: s.trace,
        },
    );
    let tasks = (0..task_count)
        .map(|task| {
            let id = ConnectorTaskId {
                connector: name.to_owned(),
                task: u32::try_from(task).unwrap_or(u32::MAX),
            };
            match board.task(&id) {
                Some(s) => TaskStateInfo {
                    id: id.task,
                    state: s.state,
                    worker_id: s.worker_id,
                    trace: s.trace,
                },
                None => TaskStateInfo {
                    id: id.task,
                    state: State::Unassigned,
                    worker_id: board.worker_id().to_owned(),
                    trace: None,
                },
            }
        })
        .collect();
    ConnectorStateInfo {
        name: name.to_owned(),
        connector,
        tasks,
        connector_type: Some(kind.name().to_owned()),
    }
}

/// Every plugin: connectors, and unless `connectors_only`, converters, transforms and
/// predicates.
pub fn plugin_list(connectors_only: bool) -> Vec<PluginInfo> {
    let mut list: Vec<PluginInfo> = plugins::connectors()
        .iter()
        .map(plugins::Plugin::info)
        .collect();
    if !connectors_only {
        let version = env!("CARGO_PKG_VERSION");
        for (class, kind) in crate::converters::plugin_classes()
            .into_iter()
            .chain(crate::transforms::plugin_classes())
        {
            list.push(PluginInfo {
                class: class.to_owned(),
                plugin_type: kind.to_owned(),
                version: version.to_owned(),
            });
        }
    }
    list
}

/// `PUT /connector-plugins/{plugin}/config/validate`.
///
/// # Errors
/// An unknown plugin (400) or a `connector.class` that names another plugin.
pub fn validate_for_plugin(
    plugin: &str,
    mut config: ConfigMap,
) -> Result<ConfigInfos, HerderError> {
    let found = plugins::find_connector(plugin)
        .ok_or_else(|| herder_error(super::worker::unknown_plugin(plugin)))?;
    match config.get("connector.class") {
        None => {
            config.insert("connector.class".into(), found.class.to_owned());
        }
        Some(class) if !found.answers_to(class.trim()) => {
            return Err(HerderError::BadRequest(format!(
                "Included connector type {class} does not match request type {plugin}"
            )))
        }
        Some(_) => {}
    }
    Ok(validate(&found, &config))
}

impl StandaloneHerder {
    /// A herder over this worker.
    /// `cluster_id` when known; else it is looked up on the first `GET /`.
    pub fn new(worker: Arc<Worker>, cluster_id: Option<String>) -> Self {
        let cluster_id = super::launch::ClusterId::new(worker.config(), cluster_id);
        Self {
            worker,
            connectors: tokio::sync::Mutex::new(BTreeMap::new()),
            cluster_id,
        }
    }

    /// The worker.
    pub fn worker(&self) -> &Arc<Worker> {
        &self.worker
    }

    fn ids(name: &str, count: usize) -> Vec<ConnectorTaskId> {
        (0..count)
            .map(|task| ConnectorTaskId {
                connector: name.to_owned(),
                task: u32::try_from(task).unwrap_or(u32::MAX),
            })
            .collect()
    }

    /// Generates and starts a connector's tasks (the connector must be in the map).
    async fn start_connector(&self, name: &str, connector: &mut Connector) {
        let board = self.worker.status();
        if connector.target == TargetState::Stopped {
            connector.tasks.clear();
            board.set_connector(name, State::Stopped, None);
            return;
        }
        match self.worker.task_configs(&connector.config) {
            Ok(tasks) => connector.tasks = tasks,
            Err(e) => {
                connector.tasks.clear();
                board.set_connector(name, State::Failed, Some(e.to_string()));
                return;
            }
        }
        let state = if connector.target == TargetState::Paused {
            State::Paused
        } else {
            State::Running
        };
        board.set_connector(name, state, None);
        for (id, task_config) in Self::ids(name, connector.tasks.len())
            .into_iter()
            .zip(connector.tasks.clone())
        {
            self.worker
                .start_task(id, &connector.config, task_config, connector.target)
                .await;
        }
    }

    async fn stop_connector_tasks(&self, name: &str, count: usize) {
        self.worker.stop_tasks(&Self::ids(name, count)).await;
        self.worker.status().remove_tasks_from(name, 0);
    }

    /// Stops every connector (the worker is shutting down).
    pub async fn shutdown(&self) {
        self.worker.shutdown().await;
    }
}

#[async_trait]
impl Herder for StandaloneHerder {
    async fn server_info(&self) -> ServerInfo {
        server_info(self.cluster_id.get().await)
    }

    async fn connectors(&self) -> Vec<String> {
        self.connectors.lock().await.keys().cloned().collect()
    }

    async fn connector_info(&self, name: &str) -> Result<ConnectorInfo, HerderError> {
        let connectors = self.connectors.lock().await;
        let connector = connectors.get(name).ok_or_else(|| not_found(name))?;
        Ok(ConnectorInfo {
            name: name.to_owned(),
            config: connector.config.clone(),
            tasks: Self::ids(name, connector.tasks.len()),
            connector_type: Some(connector.kind.name().to_owned()),
        })
    }

    async fn connector_config(&self, name: &str) -> Result<ConfigMap, HerderError> {
        let connectors = self.connectors.lock().await;
        connectors
            .get(name)
            .map(|c| c.config.clone())
            .ok_or_else(|| not_found(name))
    }

    async fn put_connector_config(
        &self,
        name: &str,
        mut config: ConfigMap,
        allow_replace: bool,
        initial_state: Option<TargetState>,
    ) -> Result<Created, HerderError> {
        let plugin = checked_plugin(name, &mut config)?;
        let mut connectors = self.connectors.lock().await;
        let (created, target) = match connectors.remove(name) {
            Some(old) if !allow_replace => {
                connectors.insert(name.to_owned(), old);
                return Err(HerderError::Conflict(format!(
                    "Connector {name} already exists"
                )));
            }
            Some(old) => {
                self.stop_connector_tasks(name, old.tasks.len()).await;
                (false, old.target)
            }
            None => (true, initial_state.unwrap_or(TargetState::Started)),
        };
        let mut connector = Connector {
            config,
            kind: plugin.connector_type,
            target,
            tasks: Vec::new(),
        };
        self.start_connector(name, &mut connector).await;
        let info = ConnectorInfo {
            name: name.to_owned(),
            config: connector.config.clone(),
            tasks: Self::ids(name, connector.tasks.len()),
            connector_type: Some(connector.kind.name().to_owned()),
        };
        connectors.insert(name.to_owned(), connector);
        Ok(Created { created, info })
    }

    async fn delete_connector(&self, name: &str) -> Result<(), HerderError> {
        let mut connectors = self.connectors.lock().await;
        let connector = connectors.remove(name).ok_or_else(|| not_found(name))?;
        self.stop_connector_tasks(name, connector.tasks.len()).await;
        self.worker.status().remove_connector(name);
        Ok(())
    }

    async fn connector_status(&self, name: &str) -> Result<ConnectorStateInfo, HerderError> {
        let connectors = self.connectors.lock().await;
        let connector = connectors.get(name).ok_or_else(|| not_found(name))?;
        Ok(status_of(
            &self.worker,
            name,
            connector.kind,
            connector.tasks.len(),
        ))
    }

    async fn task_configs(&self, name: &str) -> Result<Vec<TaskInfo>, HerderError> {
        let connectors = self.connectors.lock().await;
        let connector = connectors.get(name).ok_or_else(|| not_found(name))?;
        Ok(Self::ids(name, connector.tasks.len())
            .into_iter()
            .zip(connector.tasks.iter().cloned())
            .map(|(id, config)| TaskInfo { id, config })
            .collect())
    }

    async fn restart_connector(
        &self,
        name: &str,
        include_tasks: bool,
        only_failed: bool,
    ) -> Result<ConnectorStateInfo, HerderError> {
        let mut connectors = self.connectors.lock().await;
        let connector = connectors.get_mut(name).ok_or_else(|| not_found(name))?;
        let before = status_of(&self.worker, name, connector.kind, connector.tasks.len());
        let restart_connector = !only_failed || before.connector.state == State::Failed;
        let restart_tasks: Vec<u32> = if include_tasks {
            before
                .tasks
                .iter()
                .filter(|t| !only_failed || t.state == State::Failed)
                .map(|t| t.id)
                .collect()
        } else {
            Vec::new()
        };
        let mut answer = before.clone();
        if restart_connector {
            answer.connector.state = State::Restarting;
        }
        for task in &mut answer.tasks {
            if restart_tasks.contains(&task.id) {
                task.state = State::Restarting;
            }
        }
        if restart_connector && connector.target != TargetState::Stopped {
            // A restart regenerates the task configs; tasks whose config changed restart.
            if let Ok(tasks) = self.worker.task_configs(&connector.config) {
                if tasks != connector.tasks {
                    let count = connector.tasks.len();
                    self.stop_connector_tasks(name, count).await;
                    self.start_connector(name, connector).await;
                    return Ok(answer);
                }
            }
            let state = if connector.target == TargetState::Paused {
                State::Paused
            } else {
                State::Running
            };
            self.worker.status().set_connector(name, state, None);
        }
        for task in restart_tasks {
            let index = usize::try_from(task).unwrap_or(usize::MAX);
            if let Some(task_config) = connector.tasks.get(index).cloned() {
                let id = ConnectorTaskId {
                    connector: name.to_owned(),
                    task,
                };
                self.worker
                    .start_task(id, &connector.config, task_config, connector.target)
                    .await;
            }
        }
        Ok(answer)
    }

    async fn restart_task(&self, name: &str, task: u32) -> Result<(), HerderError> {
        let connectors = self.connectors.lock().await;
        let connector = connectors.get(name).ok_or_else(|| not_found(name))?;
        let index = usize::try_from(task).unwrap_or(usize::MAX);
        let task_config = connector
            .tasks
            .get(index)
            .cloned()
            .ok_or_else(|| HerderError::NotFound(format!("Task {name}-{task} not found")))?;
        let id = ConnectorTaskId {
            connector: name.to_owned(),
            task,
        };
        self.worker
            .start_task(id, &connector.config, task_config, connector.target)
            .await;
        Ok(())
    }

    async fn set_target_state(&self, name: &str, state: TargetState) -> Result<(), HerderError> {
        let mut connectors = self.connectors.lock().await;
        let connector = connectors.get_mut(name).ok_or_else(|| not_found(name))?;
        let previous = connector.target;
        connector.target = state;
        match (previous, state) {
            (TargetState::Stopped, TargetState::Stopped) => {}
            (_, TargetState::Stopped) => {
                let count = connector.tasks.len();
                self.stop_connector_tasks(name, count).await;
                connector.tasks.clear();
                self.worker
                    .status()
                    .set_connector(name, State::Stopped, None);
            }
            (TargetState::Stopped, _) => self.start_connector(name, connector).await,
            (_, target) => {
                self.worker.set_target(name, target).await;
                let state = if target == TargetState::Paused {
                    State::Paused
                } else {
                    State::Running
                };
                self.worker.status().set_connector(name, state, None);
            }
        }
        Ok(())
    }

    async fn validate(&self, plugin: &str, config: ConfigMap) -> Result<ConfigInfos, HerderError> {
        validate_for_plugin(plugin, config)
    }

    async fn plugins(&self, connectors_only: bool) -> Vec<PluginInfo> {
        plugin_list(connectors_only)
    }

    async fn offsets(&self, name: &str) -> Result<ConnectorOffsets, HerderError> {
        let kind = {
            let connectors = self.connectors.lock().await;
            connectors.get(name).ok_or_else(|| not_found(name))?.kind
        };
        offsets_api::read(&self.worker, name, kind).await
    }

    async fn alter_offsets(
        &self,
        name: &str,
        offsets: Option<ConnectorOffsets>,
    ) -> Result<(), HerderError> {
        let connectors = self.connectors.lock().await;
        let connector = connectors.get(name).ok_or_else(|| not_found(name))?;
        if connector.target != TargetState::Stopped {
            return Err(HerderError::BadRequest(format!(
                "Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/{name}/stop' endpoint"
            )));
        }
        offsets_api::alter(&self.worker, name, connector.kind, offsets).await
    }

    async fn topics(&self, name: &str) -> Result<Vec<String>, HerderError> {
        if !self.connectors.lock().await.contains_key(name) {
            return Err(not_found(name));
        }
        Ok(self.worker.status().topics(name))
    }

    async fn reset_topics(&self, name: &str) -> Result<(), HerderError> {
        if !self.connectors.lock().await.contains_key(name) {
            return Err(not_found(name));
        }
        self.worker.status().reset_topics(name);
        Ok(())
    }
}
