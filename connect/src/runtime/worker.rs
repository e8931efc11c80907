//! The worker: validates connector configs against their plugin, splits connectors into task
//! configs, and starts, pauses and stops the tasks that run in this process. Herders
//! (standalone, distributed) decide what runs here; the worker runs it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::connector_config::{common_def, cross_checks, ConnectorSettings};
use super::offsets::OffsetStore;
use super::status::StatusBoard;
use super::task::{StatusReporter, TaskContext, TaskControl};
use super::worker_config::WorkerConfig;
use super::{sink, source};
use crate::config::{ConfigInfos, ConfigMap, ConfigValue};
use crate::connector::ConnectorType;
use crate::error::{ConnectError, Result};
use crate::herder::{ConnectorTaskId, State, TargetState};
use crate::plugins::{self, Plugin};

/// How long a stopping task may take to commit and stop before it is abandoned (Kafka's
/// `task.shutdown.graceful.timeout.ms` default).
const TASK_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

struct RunningTask {
    cancel: CancellationToken,
    target: watch::Sender<TargetState>,
    join: tokio::task::JoinHandle<()>,
}

/// Runs tasks in this process.
pub struct Worker {
    config: Arc<WorkerConfig>,
    offsets: Arc<dyn OffsetStore>,
    status: Arc<StatusBoard>,
    // A tokio mutex: stopping a task awaits its end while the map is held, so two herder
    // requests never start and stop the same task at once.
    tasks: tokio::sync::Mutex<HashMap<ConnectorTaskId, RunningTask>>,
    tracker: TaskTracker,
}

/// The plugin a connector config's `connector.class` names.
///
/// # Errors
/// [`ConnectError::NotFound`] with Kafka's message and the available classes.
pub fn plugin_of(config: &ConfigMap) -> Result<Plugin> {
    let class = config
        .get("connector.class")
        .map(|c| c.trim())
        .unwrap_or_default();
    if class.is_empty() {
        return Err(ConnectError::Config(
            "Connector config is missing \"connector.class\"; e.g. connector.class=FileStreamSource".to_owned(),
        ));
    }
    plugins::find_connector(class).ok_or_else(|| unknown_plugin(class))
}

/// Kafka's error for a class no plugin answers to.
pub fn unknown_plugin(class: &str) -> ConnectError {
    let available: Vec<&str> = plugins::connectors().iter().map(|p| p.class).collect();
    ConnectError::NotFound(format!(
        "Failed to find any class that implements Connector and which name matches {class}, available connectors are: {}",
        available.join(", ")
    ))
}

/// Validates a connector config against its plugin: every key's errors, the connector's,
/// the common keys' and the transforms', as Kafka's `config/validate` answers.
///
/// # Errors
/// An unknown or missing connector class.
pub fn validate(plugin: &Plugin, config: &ConfigMap) -> ConfigInfos {
    let connector = (plugin.create)();
    let def = common_def(plugin.connector_type).merge(connector.config_def());
    let mut values: Vec<ConfigValue> = common_def(plugin.connector_type).validate(config);
    let mut merge = |value: ConfigValue| match values.iter_mut().find(|v| v.name == value.name) {
        Some(existing) => {
            for error in value.errors {
                if !existing.errors.contains(&error) {
                    existing.errors.push(error);
                }
            }
        }
        None => values.push(value),
    };
    for value in connector.validate(config) {
        merge(value);
    }
    for value in crate::transforms::validate(config) {
        merge(value);
    }
    for (key, message) in cross_checks(plugin.connector_type, config) {
        merge(ConfigValue::error(&key, config.get(&key).cloned(), message));
    }
    def.infos(plugin.class, values)
}

/// Kafka's message for a config that failed validation (every error).
pub fn invalid_config_message(infos: &ConfigInfos) -> String {
    let errors: Vec<String> = infos
        .configs
        .iter()
        .flat_map(|c| {
            c.value
                .errors
                .iter()
                .map(move |e| format!("{}: {e}", c.value.name))
        })
        .collect();
    format!(
        "Connector configuration is invalid and contains the following {} error(s):\n{}\nYou can also find the above list of errors at the endpoint `/connector-plugins/{{connectorType}}/config/validate`",
        errors.len(),
        errors.join("\n")
    )
}

impl Worker {
    /// A worker with this config, offset store and status board.
    pub fn new(
        config: Arc<WorkerConfig>,
        offsets: Arc<dyn OffsetStore>,
        status: Arc<StatusBoard>,
    ) -> Self {
        Self {
            config,
            offsets,
            status,
            tasks: tokio::sync::Mutex::new(HashMap::new()),
            tracker: TaskTracker::new(),
        }
    }

    /// The worker's config.
    pub fn config(&self) -> &Arc<WorkerConfig> {
        &self.config
    }

    /// The status board.
    pub fn status(&self) -> &Arc<StatusBoard> {
        &self.status
    }

    /// The offset store.
    pub fn offsets(&self) -> &Arc<dyn OffsetStore> {
        &self.offsets
    }

    /// A valid connector's task configs (at most `tasks.max`).
    ///
    /// # Errors
    /// An unknown class, an invalid config (every error), or the connector's own failure.
    pub fn task_configs(&self, config: &ConfigMap) -> Result<Vec<ConfigMap>> {
        let plugin = plugin_of(config)?;
        let infos = validate(&plugin, config);
        if infos.error_count > 0 {
            return Err(ConnectError::Config(invalid_config_message(&infos)));
        }
        let settings = ConnectorSettings::parse(plugin.connector_type, config)?;
        let connector = (plugin.create)();
        let mut tasks = connector.task_configs(config, settings.tasks_max)?;
        tasks.truncate(settings.tasks_max);
        Ok(tasks)
    }

    /// Starts a task in `target` state; a failure to start shows as its FAILED status.
    pub async fn start_task(
        &self,
        id: ConnectorTaskId,
        connector_config: &ConfigMap,
        task_config: ConfigMap,
        target: TargetState,
    ) {
        let mut tasks = self.tasks.lock().await;
        if let Some(old) = tasks.remove(&id) {
            stop(&id, old).await;
        }
        let (target_tx, target_rx) = watch::channel(target);
        let cancel = CancellationToken::new();
        let control = TaskControl {
            target: target_rx,
            cancel: cancel.clone(),
        };
        let status: Arc<dyn StatusReporter> = Arc::clone(&self.status) as Arc<dyn StatusReporter>;
        let started = (|| -> Result<_> {
            let plugin = plugin_of(connector_config)?;
            let settings = ConnectorSettings::parse(plugin.connector_type, connector_config)?;
            let connector = (plugin.create)();
            let context = TaskContext::new(
                id.clone(),
                Arc::clone(&self.config),
                settings,
                connector_config,
                task_config,
                Arc::clone(&status),
                control,
            )?;
            Ok((plugin.connector_type, connector, context))
        })();
        let (kind, connector, context) = match started {
            Ok(parts) => parts,
            Err(e) => {
                status.task_state(&id, State::Failed, Some(e.to_string()));
                return;
            }
        };
        status.task_state(
            &id,
            if target == TargetState::Paused {
                State::Paused
            } else {
                State::Unassigned
            },
            None,
        );
        let join = match kind {
            ConnectorType::Source => match connector.source_task() {
                Some(task) => {
                    self.tracker
                        .spawn(source::run(context, task, Arc::clone(&self.offsets)))
                }
                None => {
                    status.task_state(
                        &id,
                        State::Failed,
                        Some("the connector has no source task".into()),
                    );
                    return;
                }
            },
            ConnectorType::Sink => match connector.sink_task() {
                Some(task) => self.tracker.spawn(sink::run(context, task)),
                None => {
                    status.task_state(
                        &id,
                        State::Failed,
                        Some("the connector has no sink task".into()),
                    );
                    return;
                }
            },
        };
        tasks.insert(
            id,
            RunningTask {
                cancel,
                target: target_tx,
                join,
            },
        );
    }

    /// Stops a task (it commits first), waiting up to the shutdown timeout.
    pub async fn stop_task(&self, id: &ConnectorTaskId) {
        let running = self.tasks.lock().await.remove(id);
        if let Some(running) = running {
            stop(id, running).await;
        }
    }

    /// Stops several tasks at once.
    pub async fn stop_tasks(&self, ids: &[ConnectorTaskId]) {
        let stopping: Vec<(ConnectorTaskId, RunningTask)> = {
            let mut tasks = self.tasks.lock().await;
            ids.iter()
                .filter_map(|id| tasks.remove(id).map(|t| (id.clone(), t)))
                .collect()
        };
        for (_, task) in &stopping {
            task.cancel.cancel();
        }
        for (id, task) in stopping {
            stop(&id, task).await;
        }
    }

    /// Sets the target state of a connector's running tasks.
    pub async fn set_target(&self, connector: &str, target: TargetState) {
        for (id, task) in self.tasks.lock().await.iter() {
            if id.connector == connector {
                task.target.send_replace(target);
            }
        }
    }

    /// The tasks running here.
    pub async fn running(&self) -> Vec<ConnectorTaskId> {
        let mut ids: Vec<ConnectorTaskId> = self.tasks.lock().await.keys().cloned().collect();
        ids.sort();
        ids
    }

    /// Whether a task runs here and has not ended.
    pub async fn is_running(&self, id: &ConnectorTaskId) -> bool {
        self.tasks
            .lock()
            .await
            .get(id)
            .is_some_and(|t| !t.join.is_finished())
    }

    /// Stops every task.
    pub async fn shutdown(&self) {
        let all = self.running().await;
        self.stop_tasks(&all).await;
        self.tracker.close();
    }
}

async fn stop(id: &ConnectorTaskId, task: RunningTask) {
    task.cancel.cancel();
    let RunningTask { join, .. } = task;
    let abort = join.abort_handle();
    if tokio::time::timeout(TASK_SHUTDOWN_TIMEOUT, join)
        .await
        .is_err()
    {
        tracing::error!(
            "task {}-{} did not stop within {} s; abandoned",
            id.connector,
            id.task,
            TASK_SHUTDOWN_TIMEOUT.as_secs()
        );
        abort.abort();
    }
}
