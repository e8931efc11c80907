//! A herder kept in memory, for testing the HTTP layer before (and beside) the real workers:
//! connectors are config maps with a target state, one task each, offsets and topics as
//! given. It can also play a follower (every call: NotLeader) or a broken worker (panics).

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;

use crate::config::{ConfigDef, ConfigInfos, ConfigMap, ConfigType, Importance, Validator};
use crate::herder::{
    ConnectorInfo, ConnectorOffset, ConnectorOffsets, ConnectorStateInfo, ConnectorTaskId, Created,
    Herder, HerderError, PluginInfo, ServerInfo, State, StateInfo, TargetState, TaskInfo,
    TaskStateInfo,
};

/// How the herder answers.
pub(super) enum Mode {
    /// From its own state.
    Serve,
    /// NotLeader, with this leader URL.
    Follower(String),
    /// Panics.
    Panic,
}

struct Connector {
    config: ConfigMap,
    target: TargetState,
    restarts: u32,
    offsets: Vec<ConnectorOffset>,
    topics: Vec<String>,
}

pub(super) struct MemoryHerder {
    mode: Mode,
    // A std Mutex: held for map operations only, never across an await.
    connectors: Mutex<BTreeMap<String, Connector>>,
}

const WORKER: &str = "127.0.0.1:8083";

fn definition() -> ConfigDef {
    ConfigDef::new()
        .required("file", ConfigType::String, Importance::High, "The file.")
        .validator(Validator::NonEmptyString)
        .optional(
            "tasks.max",
            ConfigType::Int,
            "1",
            Importance::High,
            "Tasks.",
        )
        .validator(Validator::Range {
            min: Some(1),
            max: None,
        })
}

impl MemoryHerder {
    pub(super) fn new(mode: Mode) -> Self {
        MemoryHerder {
            mode,
            connectors: Mutex::new(BTreeMap::new()),
        }
    }

    fn gate(&self) -> Result<(), HerderError> {
        match &self.mode {
            Mode::Serve => Ok(()),
            Mode::Follower(url) => Err(HerderError::NotLeader {
                leader_url: url.clone(),
            }),
            Mode::Panic => panic!("the herder is broken"),
        }
    }

    fn with<T>(
        &self,
        name: &str,
        f: impl FnOnce(&mut Connector) -> Result<T, HerderError>,
    ) -> Result<T, HerderError> {
        self.gate()?;
        let mut connectors = self.connectors.lock().unwrap();
        match connectors.get_mut(name) {
            Some(c) => f(c),
            None => Err(HerderError::NotFound(format!("Connector {name} not found"))),
        }
    }

    fn info(name: &str, c: &Connector) -> ConnectorInfo {
        ConnectorInfo {
            name: name.to_owned(),
            config: c.config.clone(),
            tasks: Self::task_ids(name, c),
            connector_type: Some("sink".to_owned()),
        }
    }

    fn task_ids(name: &str, c: &Connector) -> Vec<ConnectorTaskId> {
        if c.target == TargetState::Stopped {
            return Vec::new();
        }
        vec![ConnectorTaskId {
            connector: name.to_owned(),
            task: 0,
        }]
    }

    fn state(c: &Connector) -> State {
        match c.target {
            TargetState::Started => State::Running,
            TargetState::Paused => State::Paused,
            TargetState::Stopped => State::Stopped,
        }
    }

    fn status(name: &str, c: &Connector) -> ConnectorStateInfo {
        ConnectorStateInfo {
            name: name.to_owned(),
            connector: StateInfo {
                state: Self::state(c),
                worker_id: WORKER.to_owned(),
                trace: None,
            },
            tasks: Self::task_ids(name, c)
                .into_iter()
                .map(|id| TaskStateInfo {
                    id: id.task,
                    state: Self::state(c),
                    worker_id: WORKER.to_owned(),
                    trace: None,
                })
                .collect(),
            connector_type: Some("sink".to_owned()),
        }
    }

    /// How often a connector was restarted.
    pub(super) fn restarts(&self, name: &str) -> u32 {
        self.connectors
            .lock()
            .unwrap()
            .get(name)
            .map_or(0, |c| c.restarts)
    }
}

#[async_trait]
impl Herder for MemoryHerder {
    async fn server_info(&self) -> ServerInfo {
        ServerInfo {
            version: "3.9.0".to_owned(),
            commit: "fjord".to_owned(),
            kafka_cluster_id: Some("cluster-1".to_owned()),
        }
    }

    async fn connectors(&self) -> Vec<String> {
        self.connectors.lock().unwrap().keys().cloned().collect()
    }

    async fn connector_info(&self, name: &str) -> Result<ConnectorInfo, HerderError> {
        self.with(name, |c| Ok(Self::info(name, c)))
    }

    async fn connector_config(&self, name: &str) -> Result<ConfigMap, HerderError> {
        self.with(name, |c| Ok(c.config.clone()))
    }

    async fn put_connector_config(
        &self,
        name: &str,
        config: ConfigMap,
        allow_replace: bool,
        initial_state: Option<TargetState>,
    ) -> Result<Created, HerderError> {
        self.gate()?;
        let errors: Vec<String> = definition()
            .validate(&config)
            .into_iter()
            .flat_map(|v| v.errors)
            .collect();
        if !errors.is_empty() {
            return Err(HerderError::BadRequest(errors.join("\n")));
        }
        let mut connectors = self.connectors.lock().unwrap();
        if let Some(existing) = connectors.get_mut(name) {
            if !allow_replace {
                return Err(HerderError::Conflict(format!(
                    "Connector {name} already exists"
                )));
            }
            existing.config = config;
            let info = Self::info(name, existing);
            return Ok(Created {
                created: false,
                info,
            });
        }
        let connector = Connector {
            config,
            target: initial_state.unwrap_or(TargetState::Started),
            restarts: 0,
            offsets: Vec::new(),
            topics: Vec::new(),
        };
        let info = Self::info(name, &connector);
        connectors.insert(name.to_owned(), connector);
        Ok(Created {
            created: true,
            info,
        })
    }

    async fn delete_connector(&self, name: &str) -> Result<(), HerderError> {
        self.with(name, |_| Ok(()))?;
        self.connectors.lock().unwrap().remove(name);
        Ok(())
    }

    async fn connector_status(&self, name: &str) -> Result<ConnectorStateInfo, HerderError> {
        self.with(name, |c| Ok(Self::status(name, c)))
    }

    async fn task_configs(&self, name: &str) -> Result<Vec<TaskInfo>, HerderError> {
        self.with(name, |c| {
            Ok(Self::task_ids(name, c)
                .into_iter()
                .map(|id| TaskInfo {
                    id,
                    config: c.config.clone(),
                })
                .collect())
        })
    }

    async fn task_status(&self, name: &str, task: u32) -> Result<TaskStateInfo, HerderError> {
        self.with(name, |c| {
            Self::status(name, c)
                .tasks
                .into_iter()
                .find(|t| t.id == task)
                .ok_or_else(|| {
                    HerderError::NotFound(format!("No status found for task {name}-{task}"))
                })
        })
    }

    async fn restart_connector(
        &self,
        name: &str,
        _include_tasks: bool,
        _only_failed: bool,
    ) -> Result<ConnectorStateInfo, HerderError> {
        self.with(name, |c| {
            c.restarts += 1;
            Ok(Self::status(name, c))
        })
    }

    async fn restart_task(&self, name: &str, task: u32) -> Result<(), HerderError> {
        self.task_status(name, task).await.map(|_| ())
    }

    async fn set_target_state(&self, name: &str, state: TargetState) -> Result<(), HerderError> {
        self.with(name, |c| {
            c.target = state;
            Ok(())
        })
    }

    async fn validate(&self, plugin: &str, config: ConfigMap) -> Result<ConfigInfos, HerderError> {
        self.gate()?;
        if plugin != "FileStreamSink" {
            return Err(HerderError::NotFound(format!(
                "Failed to find any class that implements Connector and which name matches {plugin}"
            )));
        }
        let def = definition();
        let values = def.validate(&config);
        Ok(def.infos(plugin, values))
    }

    async fn plugins(&self, connectors_only: bool) -> Vec<PluginInfo> {
        let mut plugins = vec![PluginInfo {
            class: "org.apache.kafka.connect.file.FileStreamSinkConnector".to_owned(),
            plugin_type: "sink".to_owned(),
            version: "0.1.0".to_owned(),
        }];
        if !connectors_only {
            plugins.push(PluginInfo {
                class: "org.apache.kafka.connect.json.JsonConverter".to_owned(),
                plugin_type: "converter".to_owned(),
                version: "0.1.0".to_owned(),
            });
        }
        plugins
    }

    async fn offsets(&self, name: &str) -> Result<ConnectorOffsets, HerderError> {
        self.with(name, |c| {
            Ok(ConnectorOffsets {
                offsets: c.offsets.clone(),
            })
        })
    }

    async fn alter_offsets(
        &self,
        name: &str,
        offsets: Option<ConnectorOffsets>,
    ) -> Result<(), HerderError> {
        self.with(name, |c| {
            if c.target != TargetState::Stopped {
                return Err(HerderError::BadRequest(
                    "Connectors must be in the STOPPED state before their offsets can be modified"
                        .to_owned(),
                ));
            }
            match offsets {
                Some(o) => c.offsets = o.offsets,
                None => c.offsets.clear(),
            }
            Ok(())
        })
    }

    async fn topics(&self, name: &str) -> Result<Vec<String>, HerderError> {
        self.with(name, |c| Ok(c.topics.clone()))
    }

    async fn reset_topics(&self, name: &str) -> Result<(), HerderError> {
        self.with(name, |c| {
            c.topics.clear();
            Ok(())
        })
    }
}

impl MemoryHerder {
    /// Records that a connector used a topic (what a running task would report).
    pub(super) fn use_topic(&self, name: &str, topic: &str) {
        if let Some(c) = self.connectors.lock().unwrap().get_mut(name) {
            c.topics.push(topic.to_owned());
        }
    }
}
