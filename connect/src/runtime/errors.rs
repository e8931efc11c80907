//! Error handling of a task's records (Kafka's `RetryWithToleranceOperator` and its
//! reporters): retry what is retriable within `errors.retry.timeout`, then either fail the
//! task (`errors.tolerance=none`) or skip the record (`all`), logging it
//! (`errors.log.enable`) and writing it to the dead-letter topic
//! (`errors.deadletterqueue.topic.name`) with Kafka's `__connect.errors.*` context headers.
//! Kafka offers the dead-letter topic to sinks only; Fjord's sources use it too, with the
//! failed record rendered as JSON (a source record has no bytes yet when it fails).

use std::sync::Arc;
use std::time::{Duration, Instant};

use fjord_core::admin::{NewTopicSpec, TopicAdmin};
use fjord_core::client::ClientSettings;
use rdkafka::message::OwnedHeaders;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};

use super::connector_config::ErrorSettings;
use crate::error::{ConnectError, Result};

/// Where in a record's way the failure happened (Kafka's `Stage` names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The key converter.
    KeyConverter,
    /// The value converter.
    ValueConverter,
    /// The header converter.
    HeaderConverter,
    /// A transform.
    Transformation,
    /// Producing to Kafka.
    KafkaProduce,
    /// Consuming from Kafka.
    KafkaConsume,
    /// A source task's poll (a record it could not build).
    TaskPoll,
}

impl Stage {
    /// Kafka's name of the stage.
    pub fn name(self) -> &'static str {
        match self {
            Stage::KeyConverter => "KEY_CONVERTER",
            Stage::ValueConverter => "VALUE_CONVERTER",
            Stage::HeaderConverter => "HEADER_CONVERTER",
            Stage::Transformation => "TRANSFORMATION",
            Stage::KafkaProduce => "KAFKA_PRODUCE",
            Stage::KafkaConsume => "KAFKA_CONSUME",
            Stage::TaskPoll => "TASK_POLL",
        }
    }
}

/// A record that failed, as the dead-letter topic gets it.
#[derive(Debug, Clone, Default)]
pub struct FailedRecord {
    /// The topic it came from (sinks) or was going to (sources).
    pub topic: String,
    /// Its partition, where known.
    pub partition: Option<i32>,
    /// Its offset, where known (sinks).
    pub offset: Option<i64>,
    /// The key's bytes.
    pub key: Option<Vec<u8>>,
    /// The value's bytes.
    pub value: Option<Vec<u8>>,
    /// The original headers.
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

/// Applies a connector's `errors.*` settings to one task's failures.
pub struct ErrorHandler {
    settings: ErrorSettings,
    connector: String,
    task: u32,
    dlq: Option<(Arc<ThreadedProducer<DefaultProducerContext>>, String)>,
    skipped: std::sync::atomic::AtomicU64,
}

impl ErrorHandler {
    /// A handler; with a dead-letter topic it creates the topic when missing and a producer
    /// for it.
    ///
    /// # Errors
    /// The producer cannot be created, or the topic cannot be created.
    pub async fn new(
        settings: ErrorSettings,
        connector: &str,
        task: u32,
        producer: &ClientSettings,
    ) -> Result<Self> {
        let dlq = match &settings.dlq_topic {
            None => None,
            Some(topic) => {
                let admin = TopicAdmin::new(producer)?;
                let mut spec = NewTopicSpec::new(topic.clone());
                if settings.dlq_replication_factor > 0 {
                    spec.replication_factor = Some(settings.dlq_replication_factor);
                }
                match admin.create(&spec).await {
                    Ok(()) | Err(fjord_core::Error::TopicAlreadyExists { .. }) => {}
                    Err(e) => return Err(e.into()),
                }
                let producer: ThreadedProducer<DefaultProducerContext> =
                    producer.producer_config().create()?;
                Some((Arc::new(producer), topic.clone()))
            }
        };
        Ok(Self {
            settings,
            connector: connector.to_owned(),
            task,
            dlq,
            skipped: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// Records skipped so far under `errors.tolerance=all`.
    pub fn skipped(&self) -> u64 {
        self.skipped.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Runs a record operation, retrying a retriable failure with exponential backoff (up to
    /// `errors.retry.delay.max.ms` between tries) until `errors.retry.timeout` has passed.
    ///
    /// # Errors
    /// The operation's last error.
    pub async fn retry<T>(&self, mut op: impl FnMut() -> Result<T>) -> Result<T> {
        let started = Instant::now();
        let mut delay = Duration::from_millis(300);
        loop {
            match op() {
                Err(e) if e.is_retriable() => {
                    let within = match self.settings.retry_timeout {
                        None => true,
                        Some(timeout) => started.elapsed() + delay <= timeout,
                    };
                    if !within {
                        return Err(e);
                    }
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(self.settings.retry_delay_max);
                }
                other => return other,
            }
        }
    }

    /// Handles a record that failed at `stage` in `class`: under `errors.tolerance=none` the
    /// error comes back (the task fails with it); under `all` the record is logged and sent
    /// to the dead-letter topic, and `Ok(())` means: skip it, go on.
    ///
    /// # Errors
    /// The failure, when it is not tolerated.
    pub fn failed(
        &self,
        stage: Stage,
        class: &str,
        error: ConnectError,
        record: FailedRecord,
    ) -> Result<()> {
        let detail =
            format!(
            "Error encountered in task {}-{}. Executing stage '{}' with class '{class}'{}: {error}",
            self.connector,
            self.task,
            stage.name(),
            if self.settings.log_messages {
                format!(
                    ", where consumed record is {{topic='{}', partition={}, offset={}}}",
                    record.topic,
                    record.partition.map_or("null".to_owned(), |p| p.to_string()),
                    record.offset.map_or("null".to_owned(), |o| o.to_string())
                )
            } else {
                String::new()
            }
        );
        if !self.settings.tolerate_all {
            return Err(ConnectError::Data(format!(
                "Tolerance exceeded in error handler: {detail}"
            )));
        }
        if self.settings.log {
            tracing::error!("{detail}");
        }
        self.skipped
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let Some((producer, topic)) = &self.dlq {
            let mut headers = OwnedHeaders::new();
            for (key, value) in &record.headers {
                headers = headers.insert(rdkafka::message::Header {
                    key,
                    value: value.as_deref(),
                });
            }
            if self.settings.dlq_context_headers {
                let context = [
                    ("__connect.errors.topic", record.topic.clone()),
                    (
                        "__connect.errors.partition",
                        record.partition.map_or(String::new(), |p| p.to_string()),
                    ),
                    (
                        "__connect.errors.offset",
                        record.offset.map_or(String::new(), |o| o.to_string()),
                    ),
                    ("__connect.errors.connector.name", self.connector.clone()),
                    ("__connect.errors.task.id", self.task.to_string()),
                    ("__connect.errors.stage", stage.name().to_owned()),
                    ("__connect.errors.class.name", class.to_owned()),
                    (
                        "__connect.errors.exception.class.name",
                        error_class(&error).to_owned(),
                    ),
                    ("__connect.errors.exception.message", error.to_string()),
                    (
                        "__connect.errors.exception.stacktrace",
                        format!("{error:?}"),
                    ),
                ];
                for (key, value) in &context {
                    headers = headers.insert(rdkafka::message::Header {
                        key,
                        value: Some(value.as_bytes()),
                    });
                }
            }
            let mut dlq_record: BaseRecord<'_, [u8], [u8]> = BaseRecord::to(topic).headers(headers);
            if let Some(key) = &record.key {
                dlq_record = dlq_record.key(key);
            }
            if let Some(value) = &record.value {
                dlq_record = dlq_record.payload(value);
            }
            if let Err((e, _)) = producer.send(dlq_record) {
                tracing::error!(
                    "connector {} task {}: cannot send a failed record to the dead-letter topic '{topic}': {e}",
                    self.connector,
                    self.task
                );
            }
        }
        Ok(())
    }

    /// Waits until the dead-letter records sent so far are written (before offsets commit).
    pub async fn flush(&self, timeout: Duration) {
        if let Some((producer, topic)) = &self.dlq {
            let producer = Arc::clone(producer);
            let topic = topic.clone();
            let flushed = tokio::task::spawn_blocking(move || producer.flush(timeout)).await;
            if let Ok(Err(e)) = flushed {
                tracing::warn!("dead-letter topic '{topic}': flush did not finish: {e}");
            }
        }
    }
}

/// A Java-ish exception class name for the context header, so tools that group by it work.
fn error_class(error: &ConnectError) -> &'static str {
    match error {
        ConnectError::Data(_) => "org.apache.kafka.connect.errors.DataException",
        ConnectError::Retriable(_) => "org.apache.kafka.connect.errors.RetriableException",
        ConnectError::Config(_) => "org.apache.kafka.common.config.ConfigException",
        _ => "org.apache.kafka.connect.errors.ConnectException",
    }
}

/// What a source task reports a record it could not turn into a source record through
/// (a malformed line of a feed): the worker's `errors.*` handling applies to it, with the
/// stage `TASK_POLL` and the raw bytes as the dead-letter record's value.
pub struct TaskErrantReporter {
    /// The task's error handler.
    pub handler: Arc<ErrorHandler>,
}

impl crate::connector::ErrantRecordReporter for TaskErrantReporter {
    fn report(&self, topic: &str, raw: &[u8], error: ConnectError) -> Result<()> {
        let record = FailedRecord {
            topic: topic.to_owned(),
            value: Some(raw.to_vec()),
            ..FailedRecord::default()
        };
        self.handler
            .failed(Stage::TaskPoll, "source task", error, record)
    }
}
