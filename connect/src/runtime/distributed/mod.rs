//! The distributed herder: workers sharing one `group.id` form a Connect cluster. Connector
//! configs, source offsets and statuses live in three compacted topics every worker reads in
//! full ([`config_store`], [`offset_store`], [`status_store`]); the group protocol (protocol
//! type `connect`, incremental cooperative rebalancing, [`crate::group`]) decides which worker
//! runs which connector and task.
//!
//! Writes (create, update, delete, pause, resume, stop, restart, offsets) are served by the
//! group leader, which writes the config topic; any other worker answers `NotLeader` and the
//! REST layer forwards the request to the leader. The leader also turns a connector's config
//! into task configs when it writes it, then rebalances so the new tasks get a worker. Reads
//! are answered by every worker from its copy of the topics.

pub mod config_store;
pub mod offset_store;
mod rebalance;
pub mod status_store;
pub mod topic_log;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::{mpsc, Notify};
use tokio_util::sync::CancellationToken;

use self::config_store::{ConfigEvent, SharedSnapshot};
use self::offset_store::TopicOffsetStore;
use self::status_store::TopicStatusPublisher;
use self::topic_log::TopicLog;
use super::offsets::OffsetStore;
use super::offsets_api;
use super::standalone::{
    checked_plugin, not_found, plugin_list, server_info, status_of, validate_for_plugin,
};
use super::status::StatusBoard;
use super::worker::{plugin_of, Worker};
use super::worker_config::WorkerConfig;
use crate::config::{ConfigInfos, ConfigMap};
use crate::connector::ConnectorType;
use crate::error::{ConnectError, Result};
use crate::group::{AssignmentInput, GroupMember, MemberConfig};
use crate::herder::{
    ConnectorInfo, ConnectorOffsets, ConnectorStateInfo, ConnectorTaskId, Created, Herder,
    HerderError, PluginInfo, ServerInfo, State, TargetState, TaskInfo,
};

/// How long a write waits to be read back from the config topic.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// A distributed worker's herder.
pub struct DistributedHerder {
    worker: Arc<Worker>,
    url: String,
    configs: Arc<TopicLog>,
    snapshot: SharedSnapshot,
    offsets_log: Arc<TopicLog>,
    status_log: Arc<TopicLog>,
    // A std mutex: the leader's URL, read or replaced whole.
    leader: Mutex<Option<String>>,
    rejoin: Notify,
    // A tokio mutex: serialises the leader's writes, so two requests never interleave their
    // records for one connector.
    writes: tokio::sync::Mutex<()>,
    cluster_id: super::launch::ClusterId,
}

struct SnapshotInput(SharedSnapshot);

impl AssignmentInput for SnapshotInput {
    fn snapshot(&self) -> (i64, Vec<String>, Vec<ConnectorTaskId>) {
        let snapshot = self.0.lock();
        (
            snapshot.offset,
            snapshot.connectors.keys().cloned().collect(),
            snapshot.task_ids(),
        )
    }
}

impl DistributedHerder {
    fn set_leader(&self, url: Option<String>) {
        *self.leader.lock().unwrap_or_else(PoisonError::into_inner) = url;
    }

    fn leader(&self) -> Option<String> {
        self.leader
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Whether this worker leads the group now.
    pub fn is_leader(&self) -> bool {
        self.leader().as_deref() == Some(self.url.as_str())
    }

    /// The worker.
    pub fn worker(&self) -> &Arc<Worker> {
        &self.worker
    }

    fn require_leader(&self) -> Result<(), HerderError> {
        match self.leader() {
            Some(url) if url == self.url => Ok(()),
            Some(url) => Err(HerderError::NotLeader { leader_url: url }),
            None => Err(HerderError::Conflict(
                "Cannot complete request momentarily due to no known leader URL, likely because a rebalance was underway."
                    .into(),
            )),
        }
    }

    fn kind_of(&self, name: &str) -> Result<(ConfigMap, ConnectorType, usize), HerderError> {
        let snapshot = self.snapshot.lock();
        let config = snapshot
            .connectors
            .get(name)
            .cloned()
            .ok_or_else(|| not_found(name))?;
        let kind = plugin_of(&config)
            .map(|p| p.connector_type)
            .unwrap_or(ConnectorType::Source);
        let tasks = snapshot.tasks.get(name).map_or(0, Vec::len);
        Ok((config, kind, tasks))
    }

    async fn write(&self, records: Vec<(String, Option<Vec<u8>>)>) -> Result<(), HerderError> {
        for (key, value) in &records {
            self.configs
                .send(key.as_bytes(), value.as_deref())
                .await
                .map_err(|e| HerderError::Internal(e.to_string()))?;
        }
        self.configs
            .read_to_end(WRITE_TIMEOUT)
            .await
            .map_err(|e| HerderError::Internal(e.to_string()))
    }

    /// The records of a connector's task configs (none when stopped or failing; a failure is
    /// shown in the connector's status).
    fn task_records(
        &self,
        name: &str,
        config: &ConfigMap,
        target: TargetState,
    ) -> Vec<(String, Option<Vec<u8>>)> {
        let tasks = if target == TargetState::Stopped {
            Vec::new()
        } else {
            match self.worker.task_configs(config) {
                Ok(tasks) => tasks,
                Err(e) => {
                    self.worker
                        .status()
                        .set_connector(name, State::Failed, Some(e.to_string()));
                    Vec::new()
                }
            }
        };
        config_store::task_records(name, &tasks)
            .into_iter()
            .map(|(k, v)| (k, Some(v)))
            .collect()
    }

    fn info(&self, name: &str) -> Result<ConnectorInfo, HerderError> {
        let (config, kind, tasks) = self.kind_of(name)?;
        Ok(ConnectorInfo {
            name: name.to_owned(),
            config,
            tasks: (0..tasks)
                .map(|t| ConnectorTaskId {
                    connector: name.to_owned(),
                    task: u32::try_from(t).unwrap_or(u32::MAX),
                })
                .collect(),
            connector_type: Some(kind.name().to_owned()),
        })
    }
}

#[async_trait]
impl Herder for DistributedHerder {
    async fn server_info(&self) -> ServerInfo {
        server_info(self.cluster_id.get().await)
    }

    async fn connectors(&self) -> Vec<String> {
        self.snapshot.lock().connectors.keys().cloned().collect()
    }

    async fn connector_info(&self, name: &str) -> Result<ConnectorInfo, HerderError> {
        self.info(name)
    }

    async fn connector_config(&self, name: &str) -> Result<ConfigMap, HerderError> {
        Ok(self.kind_of(name)?.0)
    }

    async fn put_connector_config(
        &self,
        name: &str,
        mut config: ConfigMap,
        allow_replace: bool,
        initial_state: Option<TargetState>,
    ) -> Result<Created, HerderError> {
        checked_plugin(name, &mut config)?;
        self.require_leader()?;
        let _writes = self.writes.lock().await;
        let (exists, target) = {
            let snapshot = self.snapshot.lock();
            (
                snapshot.connectors.contains_key(name),
                snapshot.targets.get(name).copied(),
            )
        };
        if exists && !allow_replace {
            return Err(HerderError::Conflict(format!(
                "Connector {name} already exists"
            )));
        }
        let target = if exists {
            target.unwrap_or(TargetState::Started)
        } else {
            initial_state.unwrap_or(TargetState::Started)
        };
        let (key, value) = config_store::connector_record(name, &config);
        let mut records = Vec::new();
        if !exists && target != TargetState::Started {
            let (k, v) = config_store::target_record(name, target);
            records.push((k, Some(v)));
        }
        records.push((key, Some(value)));
        records.extend(self.task_records(name, &config, target));
        self.write(records).await?;
        Ok(Created {
            created: !exists,
            info: self.info(name)?,
        })
    }

    async fn delete_connector(&self, name: &str) -> Result<(), HerderError> {
        self.kind_of(name)?;
        self.require_leader()?;
        let _writes = self.writes.lock().await;
        self.write(vec![
            (format!("connector-{name}"), None),
            (format!("target-state-{name}"), None),
        ])
        .await
    }

    async fn connector_status(&self, name: &str) -> Result<ConnectorStateInfo, HerderError> {
        let (_, kind, tasks) = self.kind_of(name)?;
        Ok(status_of(&self.worker, name, kind, tasks))
    }

    async fn task_configs(&self, name: &str) -> Result<Vec<TaskInfo>, HerderError> {
        self.kind_of(name)?;
        let snapshot = self.snapshot.lock();
        Ok(snapshot
            .tasks
            .get(name)
            .map(|tasks| {
                tasks
                    .iter()
                    .enumerate()
                    .map(|(i, config)| TaskInfo {
                        id: ConnectorTaskId {
                            connector: name.to_owned(),
                            task: u32::try_from(i).unwrap_or(u32::MAX),
                        },
                        config: config.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn restart_connector(
        &self,
        name: &str,
        include_tasks: bool,
        only_failed: bool,
    ) -> Result<ConnectorStateInfo, HerderError> {
        let mut answer = self.connector_status(name).await?;
        self.require_leader()?;
        let (key, value) = config_store::restart_record(name, include_tasks, only_failed);
        self.write(vec![(key, Some(value))]).await?;
        if !only_failed || answer.connector.state == State::Failed {
            answer.connector.state = State::Restarting;
        }
        if include_tasks {
            for task in &mut answer.tasks {
                if !only_failed || task.state == State::Failed {
                    task.state = State::Restarting;
                }
            }
        }
        Ok(answer)
    }

    async fn restart_task(&self, name: &str, task: u32) -> Result<(), HerderError> {
        self.task_status(name, task).await?;
        self.require_leader()?;
        self.write(vec![(
            format!("restart-task-{name}-{task}"),
            Some(b"{}".to_vec()),
        )])
        .await
    }

    async fn set_target_state(&self, name: &str, state: TargetState) -> Result<(), HerderError> {
        let (config, _, _) = self.kind_of(name)?;
        self.require_leader()?;
        let _writes = self.writes.lock().await;
        let previous = self.snapshot.lock().target(name);
        let (key, value) = config_store::target_record(name, state);
        let mut records = vec![(key, Some(value))];
        if state == TargetState::Stopped && previous != TargetState::Stopped {
            records.extend(self.task_records(name, &config, TargetState::Stopped));
        } else if previous == TargetState::Stopped && state != TargetState::Stopped {
            records.extend(self.task_records(name, &config, state));
        }
        self.write(records).await
    }

    async fn validate(&self, plugin: &str, config: ConfigMap) -> Result<ConfigInfos, HerderError> {
        validate_for_plugin(plugin, config)
    }

    async fn plugins(&self, connectors_only: bool) -> Vec<PluginInfo> {
        plugin_list(connectors_only)
    }

    async fn offsets(&self, name: &str) -> Result<ConnectorOffsets, HerderError> {
        let (_, kind, _) = self.kind_of(name)?;
        offsets_api::read(&self.worker, name, kind).await
    }

    async fn alter_offsets(
        &self,
        name: &str,
        offsets: Option<ConnectorOffsets>,
    ) -> Result<(), HerderError> {
        let (_, kind, _) = self.kind_of(name)?;
        self.require_leader()?;
        if self.snapshot.lock().target(name) != TargetState::Stopped {
            return Err(HerderError::BadRequest(format!(
                "Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/{name}/stop' endpoint"
            )));
        }
        offsets_api::alter(&self.worker, name, kind, offsets).await
    }

    async fn topics(&self, name: &str) -> Result<Vec<String>, HerderError> {
        self.kind_of(name)?;
        Ok(self.worker.status().topics(name))
    }

    async fn reset_topics(&self, name: &str) -> Result<(), HerderError> {
        self.kind_of(name)?;
        for topic in self.worker.status().topics(name) {
            let key = format!("status-topic-{topic}:connector-{name}");
            self.status_log
                .send(key.as_bytes(), None)
                .await
                .map_err(|e| HerderError::Internal(e.to_string()))?;
        }
        self.worker.status().reset_topics(name);
        Ok(())
    }
}

/// A running distributed worker.
pub struct DistributedWorker {
    herder: Arc<DistributedHerder>,
    rest_addr: SocketAddr,
    shutdown: CancellationToken,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    herder_loop: tokio::task::JoinHandle<()>,
}

impl DistributedWorker {
    /// Starts a worker: creates the three topics when missing, reads them, serves the REST
    /// API and joins the Connect group.
    ///
    /// # Errors
    /// A bad worker config, a REST port in use, the cluster unreachable.
    pub async fn start(worker_config: ConfigMap) -> Result<Self> {
        let config = WorkerConfig::parse(worker_config)?;
        let settings = config.distributed.clone().ok_or_else(|| {
            ConnectError::Config(
                "group.id is required in distributed mode (e.g. group.id=connect-cluster)".into(),
            )
        })?;
        let (listener, rest_addr, worker_id) = super::launch::bind_rest(&config).await?;
        let url = format!("http://{worker_id}");
        let client = config.client_settings("admin");
        let board = Arc::new(StatusBoard::new(worker_id));
        let (offsets, offsets_map) = TopicOffsetStore::new();
        let offsets = Arc::new(offsets);
        let offsets_log = Arc::new(
            TopicLog::start(
                &client,
                &settings.offset_topic,
                settings.offset_partitions,
                settings.replication_factor,
                offset_store::applier(&offsets_map),
            )
            .await?,
        );
        offsets.set_log(Arc::clone(&offsets_log));
        let status_log = Arc::new(
            TopicLog::start(
                &client,
                &settings.status_topic,
                settings.status_partitions,
                settings.replication_factor,
                status_store::applier(&board),
            )
            .await?,
        );
        let snapshot = SharedSnapshot::default();
        let (events_tx, mut events) = mpsc::channel::<ConfigEvent>(1024);
        let configs = Arc::new(
            TopicLog::start(
                &client,
                &settings.config_topic,
                1,
                settings.replication_factor,
                snapshot.applier(events_tx),
            )
            .await?,
        );
        // The history replayed at start needs no handling (assignments are compared with the
        // snapshot): drain its events while waiting, so the reader never blocks on them.
        {
            let replay = configs.read_to_end(WRITE_TIMEOUT);
            tokio::pin!(replay);
            loop {
                tokio::select! {
                    done = &mut replay => { done?; break; }
                    _ = events.recv() => {}
                }
            }
        }
        while events.try_recv().is_ok() {}
        offsets_log.read_to_end(WRITE_TIMEOUT).await?;
        status_log.read_to_end(WRITE_TIMEOUT).await?;
        board.set_publisher(Arc::new(TopicStatusPublisher::new(
            Arc::clone(&status_log),
            tokio::runtime::Handle::current(),
        )));
        let cluster_id = super::launch::ClusterId::new(&config, None);
        let config = Arc::new(config);
        let worker = Arc::new(Worker::new(
            Arc::clone(&config),
            offsets as Arc<dyn OffsetStore>,
            board,
        ));
        let herder = Arc::new(DistributedHerder {
            worker,
            url: url.clone(),
            configs,
            snapshot: snapshot.clone(),
            offsets_log,
            status_log,
            leader: Mutex::new(None),
            rejoin: Notify::new(),
            writes: tokio::sync::Mutex::new(()),
            cluster_id,
        });
        let shutdown = CancellationToken::new();
        let server = tokio::spawn(crate::rest::serve(
            listener,
            Arc::clone(&herder) as Arc<dyn Herder>,
            shutdown.clone(),
        ));
        let member_config = MemberConfig {
            bootstrap_servers: config.bootstrap_servers.clone(),
            group_id: settings.group_id.clone(),
            worker_url: url,
            session_timeout: settings.session_timeout,
            rebalance_timeout: settings.rebalance_timeout,
            heartbeat_interval: settings.heartbeat_interval,
            max_delay: settings.max_delay,
        };
        let member_shutdown = CancellationToken::new();
        let (member, assignments) = GroupMember::start(
            member_config,
            Arc::new(SnapshotInput(snapshot)),
            member_shutdown,
        )
        .await?;
        let herder_loop = tokio::spawn(rebalance::run(
            Arc::clone(&herder),
            member,
            assignments,
            events,
            shutdown.clone(),
        ));
        Ok(Self {
            herder,
            rest_addr,
            shutdown,
            server,
            herder_loop,
        })
    }

    /// The REST API's base URL.
    pub fn rest_url(&self) -> String {
        format!("http://{}", self.rest_addr)
    }

    /// The herder.
    pub fn herder(&self) -> &Arc<DistributedHerder> {
        &self.herder
    }

    /// Leaves the group (its tasks move to the others at once), stops every task (each
    /// commits first) and the REST API.
    pub async fn shutdown(self) {
        self.shutdown.cancel();
        if let Err(e) = self.herder_loop.await {
            tracing::warn!("herder loop: {e}");
        }
        match self.server.await {
            Ok(Err(e)) => tracing::warn!("REST API: {e}"),
            Err(e) => tracing::warn!("REST API task: {e}"),
            Ok(Ok(())) => {}
        }
    }
}
