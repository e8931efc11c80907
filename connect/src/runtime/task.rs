//! What every running task shares: its id, settings, converters, transforms, error handler
//! and status reporting, and how the herder controls it (target state, cancellation).

use std::sync::Arc;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::connector_config::{ConnectorSettings, ConverterChoice};
use super::errors::{FailedRecord, Stage};
use super::worker_config::WorkerConfig;
use crate::config::ConfigMap;
use crate::converters::{self, Converter, HeaderConverter};
use crate::data::SchemaAndValue;
use crate::error::{ConnectError, Result};
use crate::herder::{ConnectorTaskId, State, TargetState};
use crate::record::{ConnectRecord, Header};
use crate::transforms::TransformChain;

/// Where a task reports its state changes and the topics it uses: the herder's status map
/// (standalone), also the status topic (distributed).
pub trait StatusReporter: Send + Sync {
    /// A task's new state (`trace` for FAILED).
    fn task_state(&self, id: &ConnectorTaskId, state: State, trace: Option<String>);
    /// A topic the connector used (for `GET /connectors/{name}/topics`).
    fn topic_used(&self, connector: &str, topic: &str);
}

/// How the herder controls a running task.
#[derive(Clone)]
pub struct TaskControl {
    /// Running, paused or stopped.
    pub target: watch::Receiver<TargetState>,
    /// Cancelled to stop the task (it commits what it can first).
    pub cancel: CancellationToken,
}

/// Bytes of a record in Kafka, as converters produce them.
pub type KafkaHeaders = Vec<(String, Option<Vec<u8>>)>;

/// A record's key, value and headers as Kafka bytes.
pub type KafkaParts = (Option<Vec<u8>>, Option<Vec<u8>>, KafkaHeaders);

/// A converter that failed: where, which class, why.
#[derive(Debug)]
pub struct StageFailure {
    /// The stage.
    pub stage: Stage,
    /// The converter's class.
    pub class: String,
    /// The error.
    pub error: ConnectError,
}

fn failure(stage: Stage, class: &str, error: ConnectError) -> Box<StageFailure> {
    Box::new(StageFailure {
        stage,
        class: class.to_owned(),
        error,
    })
}

/// A connector's converters (the connector's overrides, else the worker's).
pub struct Converters {
    key: Box<dyn Converter>,
    key_class: String,
    value: Box<dyn Converter>,
    value_class: String,
    header: Box<dyn HeaderConverter>,
    header_class: String,
}

fn choice(over: &Option<ConverterChoice>, class: &str, config: &ConfigMap) -> (String, ConfigMap) {
    match over {
        Some(choice) => (choice.class.clone(), choice.config.clone()),
        None => (class.to_owned(), config.clone()),
    }
}

impl Converters {
    /// The converters of a connector.
    ///
    /// # Errors
    /// An unknown converter class or a bad converter setting.
    pub fn new(worker: &WorkerConfig, settings: &ConnectorSettings) -> Result<Self> {
        let (key_class, key_config) = choice(
            &settings.key_converter,
            &worker.key_converter,
            &worker.key_converter_config,
        );
        let (value_class, value_config) = choice(
            &settings.value_converter,
            &worker.value_converter,
            &worker.value_converter_config,
        );
        let (header_class, header_config) = choice(
            &settings.header_converter,
            &worker.header_converter,
            &worker.header_converter_config,
        );
        Ok(Self {
            key: converters::create(&key_class, &key_config, true)?,
            value: converters::create(&value_class, &value_config, false)?,
            header: converters::create_header_converter(&header_class, &header_config)?,
            key_class,
            value_class,
            header_class,
        })
    }

    /// A source record's parts as Kafka bytes.
    ///
    /// # Errors
    /// The stage and class that failed, and why.
    pub fn to_kafka(&self, record: &ConnectRecord) -> Result<KafkaParts, Box<StageFailure>> {
        let topic = &record.topic;
        let key = self
            .key
            .to_bytes(topic, record.key_schema.as_deref(), &record.key)
            .map_err(|e| failure(Stage::KeyConverter, &self.key_class, e))?;
        let value = self
            .value
            .to_bytes(topic, record.value_schema.as_deref(), &record.value)
            .map_err(|e| failure(Stage::ValueConverter, &self.value_class, e))?;
        let mut headers = Vec::with_capacity(record.headers.len());
        for header in &record.headers {
            let bytes = self
                .header
                .to_header_bytes(topic, &header.key, header.schema.as_deref(), &header.value)
                .map_err(|e| failure(Stage::HeaderConverter, &self.header_class, e))?;
            headers.push((header.key.clone(), bytes));
        }
        Ok((key, value, headers))
    }

    /// A consumed record as Connect data.
    ///
    /// # Errors
    /// The stage and class that failed, and why.
    pub fn to_connect(
        &self,
        failed: &FailedRecord,
        timestamp: Option<i64>,
    ) -> Result<ConnectRecord, Box<StageFailure>> {
        let topic = &failed.topic;
        let SchemaAndValue {
            schema: key_schema,
            value: key,
        } = self
            .key
            .to_connect(topic, failed.key.as_deref())
            .map_err(|e| failure(Stage::KeyConverter, &self.key_class, e))?;
        let SchemaAndValue {
            schema: value_schema,
            value,
        } = self
            .value
            .to_connect(topic, failed.value.as_deref())
            .map_err(|e| failure(Stage::ValueConverter, &self.value_class, e))?;
        let mut headers = Vec::with_capacity(failed.headers.len());
        for (key, bytes) in &failed.headers {
            let SchemaAndValue { schema, value } = self
                .header
                .to_connect_header(topic, key, bytes.as_deref())
                .map_err(|e| failure(Stage::HeaderConverter, &self.header_class, e))?;
            headers.push(Header {
                key: key.clone(),
                schema,
                value,
            });
        }
        Ok(ConnectRecord {
            topic: topic.clone(),
            partition: failed.partition,
            key_schema,
            key,
            value_schema,
            value,
            timestamp,
            headers,
            kafka_offset: failed.offset,
        })
    }
}

/// Everything a task runner needs besides the task itself.
pub struct TaskContext {
    /// The task.
    pub id: ConnectorTaskId,
    /// The worker's config.
    pub worker: Arc<WorkerConfig>,
    /// The connector's common settings.
    pub settings: ConnectorSettings,
    /// The task's config.
    pub task_config: ConfigMap,
    /// Its converters.
    pub converters: Converters,
    /// Its transforms.
    pub transforms: TransformChain,
    /// Where its states go.
    pub status: Arc<dyn StatusReporter>,
    /// The herder's control.
    pub control: TaskControl,
}

impl TaskContext {
    /// Builds a task's context from its connector config.
    ///
    /// # Errors
    /// Bad converter or transform settings.
    pub fn new(
        id: ConnectorTaskId,
        worker: Arc<WorkerConfig>,
        settings: ConnectorSettings,
        connector_config: &ConfigMap,
        task_config: ConfigMap,
        status: Arc<dyn StatusReporter>,
        control: TaskControl,
    ) -> Result<Self> {
        Ok(Self {
            converters: Converters::new(&worker, &settings)?,
            transforms: TransformChain::from_connector_config(connector_config)?,
            id,
            worker,
            settings,
            task_config,
            status,
            control,
        })
    }

    /// Reports a state.
    pub fn report(&self, state: State, trace: Option<String>) {
        self.status.task_state(&self.id, state, trace);
    }

    /// Waits while the target state is PAUSED; returns false when the task must stop
    /// (cancelled, or target STOPPED).
    pub async fn wait_while_paused(&mut self) -> bool {
        loop {
            if self.control.cancel.is_cancelled() {
                return false;
            }
            let target = *self.control.target.borrow_and_update();
            match target {
                TargetState::Started => return true,
                TargetState::Stopped => return false,
                TargetState::Paused => {
                    self.report(State::Paused, None);
                    tokio::select! {
                        () = self.control.cancel.cancelled() => return false,
                        changed = self.control.target.changed() => {
                            if changed.is_err() {
                                return false;
                            }
                            if *self.control.target.borrow() == TargetState::Started {
                                self.report(State::Running, None);
                            }
                        }
                    }
                }
            }
        }
    }

    /// Whether the target is no longer STARTED (pause or stop requested) or the task is
    /// cancelled, without waiting.
    pub fn interrupted(&self) -> bool {
        self.control.cancel.is_cancelled() || *self.control.target.borrow() != TargetState::Started
    }
}
