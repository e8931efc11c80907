//! Runs one source task: poll, transform, convert, produce; commit source offsets once the
//! records before them are acknowledged.
//!
//! Offsets: each sent record's source offset becomes its partition's pending offset. At a
//! commit (every `offset.flush.interval.ms`, and when the task stops or pauses) the producer
//! is flushed first, so every record sent so far is acknowledged, and only then are the
//! pending offsets written to the offset store: a crash can repeat records, never lose them.
//! A record the broker refused fails the task (or is skipped under `errors.tolerance=all`,
//! with a log line), and then its offset is not committed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::ClientContext;

use super::errors::{ErrorHandler, FailedRecord, Stage, TaskErrantReporter};
use super::offsets::{offset_key, ConnectorOffsetReader, OffsetStore};
use super::task::TaskContext;
use crate::connector::{SourceTask, SourceTaskContext};
use crate::error::{ConnectError, Result};
use crate::herder::State;
use crate::record::{JsonMap, SourceRecord};

/// Collects the first delivery failure of the task's producer.
#[derive(Default)]
pub struct DeliveryTracker {
    // A std mutex: taken by librdkafka's delivery callback thread and the task, each for a
    // few instructions.
    first_error: Mutex<Option<String>>,
    failed: std::sync::atomic::AtomicU64,
}

impl ClientContext for DeliveryTracker {}

impl ProducerContext for DeliveryTracker {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _opaque: ()) {
        if let Err((error, message)) = result {
            use rdkafka::Message;
            self.failed
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let mut first = self
                .first_error
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if first.is_none() {
                *first = Some(match error {
                    KafkaError::MessageProduction(RDKafkaErrorCode::MessageTimedOut) => format!(
                        "no broker acknowledged a record for topic '{}' within the producer's message.timeout.ms; is the Kafka cluster in bootstrap.servers reachable? ({error})",
                        message.topic()
                    ),
                    _ => format!(
                        "the broker refused a record for topic '{}': {error}",
                        message.topic()
                    ),
                });
            }
        }
    }
}

impl DeliveryTracker {
    fn take_error(&self) -> Option<String> {
        self.first_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}

struct SourceRunner {
    context: TaskContext,
    producer: Arc<ThreadedProducer<DeliveryTracker>>,
    errors: Arc<ErrorHandler>,
    offsets: Arc<dyn OffsetStore>,
    pending: HashMap<String, (JsonMap, JsonMap)>,
    /// The source partition of the last tracked record and its offsets key.
    last_key: Option<(JsonMap, String)>,
    topics_seen: std::collections::HashSet<String>,
}

/// Runs a source task until it is cancelled, stopped or fails; reports its states.
pub async fn run(context: TaskContext, task: Box<dyn SourceTask>, offsets: Arc<dyn OffsetStore>) {
    let id = context.id.clone();
    let status = Arc::clone(&context.status);
    if let Err(e) = run_inner(context, task, offsets).await {
        tracing::error!("task {}-{} failed: {e}", id.connector, id.task);
        status.task_state(&id, State::Failed, Some(format!("{e}")));
    }
}

async fn run_inner(
    context: TaskContext,
    mut task: Box<dyn SourceTask>,
    offsets: Arc<dyn OffsetStore>,
) -> Result<()> {
    let mut client = context.worker.client_settings("producer");
    client = client.with_overrides(context.settings.producer_overrides.clone());
    let producer: ThreadedProducer<DeliveryTracker> = client
        .producer_config()
        .set(
            "client.id",
            format!(
                "connector-producer-{}-{}",
                context.id.connector, context.id.task
            ),
        )
        .create_with_context(DeliveryTracker::default())?;
    let errors = Arc::new(
        ErrorHandler::new(
            context.settings.errors.clone(),
            &context.id.connector,
            context.id.task,
            &context.worker.client_settings("producer"),
        )
        .await?,
    );
    let reader = ConnectorOffsetReader {
        store: Arc::clone(&offsets),
        connector: context.id.connector.clone(),
    };
    task.start(
        context.task_config.clone(),
        SourceTaskContext {
            offsets: Arc::new(reader),
            errors: Arc::new(TaskErrantReporter {
                handler: Arc::clone(&errors),
            }),
        },
    )
    .await?;
    context.report(State::Running, None);
    let mut runner = SourceRunner {
        context,
        producer: Arc::new(producer),
        errors,
        offsets,
        pending: HashMap::new(),
        last_key: None,
        topics_seen: std::collections::HashSet::new(),
    };
    let outcome = runner.poll_loop(task.as_mut()).await;
    // Whatever happened, commit what was acknowledged before stopping the task.
    let committed = runner.commit(task.as_mut()).await;
    if let Err(e) = task.stop().await {
        tracing::warn!(
            "task {}-{}: stop failed: {e}",
            runner.context.id.connector,
            runner.context.id.task
        );
    }
    outcome.and(committed)
}

impl SourceRunner {
    async fn poll_loop(&mut self, task: &mut dyn SourceTask) -> Result<()> {
        let flush_interval = self.context.worker.offset_flush_interval;
        let mut last_commit = Instant::now();
        let mut backoff = Duration::from_millis(100);
        loop {
            if self.context.interrupted() {
                // Commit before pausing, so a paused connector's offsets are current.
                self.commit(task).await?;
                last_commit = Instant::now();
                if !self.context.wait_while_paused().await {
                    return Ok(());
                }
            }
            let polled = tokio::select! {
                () = self.context.control.cancel.cancelled() => return Ok(()),
                polled = task.poll() => polled,
            };
            match polled {
                Ok(records) => {
                    backoff = Duration::from_millis(100);
                    for record in records {
                        self.send(record).await?;
                    }
                }
                Err(e) if e.is_retriable() => {
                    tracing::debug!(
                        "task {}-{}: poll: {e}; retrying",
                        self.context.id.connector,
                        self.context.id.task
                    );
                    tokio::select! {
                        () = self.context.control.cancel.cancelled() => return Ok(()),
                        () = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
                Err(e) => return Err(e),
            }
            if let Some(error) = self.producer.context().take_error() {
                if !self.context.settings.errors.tolerate_all {
                    return Err(ConnectError::Kafka(error));
                }
                tracing::error!(
                    "task {}-{}: {error}; skipped (errors.tolerance=all)",
                    self.context.id.connector,
                    self.context.id.task
                );
            }
            if last_commit.elapsed() >= flush_interval {
                self.commit(task).await?;
                last_commit = Instant::now();
            }
        }
    }

    async fn send(&mut self, source: SourceRecord) -> Result<()> {
        let SourceRecord {
            source_partition,
            source_offset,
            record,
        } = source;
        // Without transforms the record goes on as it is: no copies for a retry or for the
        // dead-letter topic.
        let transformed = if self.context.transforms.is_empty() {
            record
        } else {
            // Retriable failures are retried; any other comes back with its transform's class.
            let applied = self
                .errors
                .retry(
                    || match self.context.transforms.apply_naming_class(record.clone()) {
                        Err((_, e)) if e.is_retriable() => Err(e),
                        other => Ok(other),
                    },
                )
                .await
                .unwrap_or_else(|e| Err(("transforms", e)));
            match applied {
                Ok(Some(transformed)) => transformed,
                Ok(None) => {
                    self.track(source_partition, source_offset);
                    return Ok(());
                }
                Err((class, e)) => {
                    let failed = failed_source_record(&record, &source_partition, &source_offset);
                    self.errors
                        .failed(Stage::Transformation, class, e, failed)?;
                    self.track(source_partition, source_offset);
                    return Ok(());
                }
            }
        };
        let (key, value, headers) = match self.context.converters.to_kafka(&transformed) {
            Ok(parts) => parts,
            Err(f) => {
                let failed = failed_source_record(&transformed, &source_partition, &source_offset);
                self.errors.failed(f.stage, &f.class, f.error, failed)?;
                self.track(source_partition, source_offset);
                return Ok(());
            }
        };
        if !self.topics_seen.contains(&transformed.topic) {
            self.topics_seen.insert(transformed.topic.clone());
            self.context
                .status
                .topic_used(&self.context.id.connector, &transformed.topic);
        }
        let mut kafka: BaseRecord<'_, [u8], [u8]> = BaseRecord::to(&transformed.topic);
        // librdkafka allocates a header list per record that has one: none when empty.
        if !headers.is_empty() {
            let mut kafka_headers = OwnedHeaders::new_with_capacity(headers.len());
            for (key, value) in &headers {
                kafka_headers = kafka_headers.insert(Header {
                    key,
                    value: value.as_deref(),
                });
            }
            kafka = kafka.headers(kafka_headers);
        }
        if let Some(key) = &key {
            kafka = kafka.key(key);
        }
        if let Some(value) = &value {
            kafka = kafka.payload(value);
        }
        if let Some(partition) = transformed.partition {
            kafka = kafka.partition(partition);
        }
        if let Some(ts) = transformed.timestamp {
            kafka = kafka.timestamp(ts);
        }
        loop {
            match self.producer.send(kafka) {
                Ok(()) => break,
                // The producer's queue is full: wait for deliveries to free room (block, not
                // drop: back-pressure on the task's poll loop).
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    kafka = back;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Err((e, _)) => {
                    let failed =
                        failed_source_record(&transformed, &source_partition, &source_offset);
                    self.errors
                        .failed(Stage::KafkaProduce, "producer", e.into(), failed)?;
                    break;
                }
            }
        }
        self.track(source_partition, source_offset);
        Ok(())
    }

    fn track(&mut self, partition: JsonMap, offset: JsonMap) {
        // Most records share their partition with the one before: reuse its key rather than
        // serialize a JSON key per record.
        let key = match &self.last_key {
            Some((last, key)) if *last == partition => {
                if let Some(entry) = self.pending.get_mut(key) {
                    *entry = (partition, offset);
                    return;
                }
                key.clone()
            }
            _ => {
                let key = offset_key(&self.context.id.connector, &partition);
                self.last_key = Some((partition.clone(), key.clone()));
                key
            }
        };
        self.pending.insert(key, (partition, offset));
    }

    /// Flushes the producer, then commits the pending offsets.
    async fn commit(&mut self, task: &mut dyn SourceTask) -> Result<()> {
        let timeout = self.context.worker.offset_flush_timeout;
        let producer = Arc::clone(&self.producer);
        // flush blocks until every queued record is acknowledged: a blocking-pool thread.
        let flushed = tokio::task::spawn_blocking(move || {
            producer.flush(timeout.max(Duration::from_secs(30)))
        })
        .await
        .map_err(|e| ConnectError::Other(format!("producer flush stopped: {e}")))?;
        self.errors.flush(timeout).await;
        if let Err(e) = flushed {
            tracing::warn!(
                "task {}-{}: records not yet acknowledged within the flush timeout ({e}); offsets not committed this time",
                self.context.id.connector,
                self.context.id.task
            );
            return Ok(());
        }
        if let Some(error) = self.producer.context().take_error() {
            if !self.context.settings.errors.tolerate_all {
                return Err(ConnectError::Kafka(error));
            }
        }
        if self.pending.is_empty() {
            return Ok(());
        }
        let batch: Vec<(JsonMap, Option<JsonMap>)> = self
            .pending
            .drain()
            .map(|(_, (partition, offset))| (partition, Some(offset)))
            .collect();
        self.offsets.put(&self.context.id.connector, batch).await?;
        if let Err(e) = task.commit().await {
            tracing::warn!(
                "task {}-{}: commit hook failed: {e}",
                self.context.id.connector,
                self.context.id.task
            );
        }
        Ok(())
    }
}

/// A failed source record for the dead-letter topic: its value (and key) as JSON text, its
/// source partition and offset as headers.
fn failed_source_record(
    record: &crate::record::ConnectRecord,
    partition: &JsonMap,
    offset: &JsonMap,
) -> FailedRecord {
    FailedRecord {
        topic: record.topic.clone(),
        partition: record.partition,
        offset: None,
        key: (!record.key.is_null())
            .then(|| as_json(&record.topic, record.key_schema.as_deref(), &record.key)),
        value: Some(as_json(
            &record.topic,
            record.value_schema.as_deref(),
            &record.value,
        )),
        headers: vec![
            (
                "__connect.source.partition".to_owned(),
                Some(
                    serde_json::Value::Object(partition.clone())
                        .to_string()
                        .into_bytes(),
                ),
            ),
            (
                "__connect.source.offset".to_owned(),
                Some(
                    serde_json::Value::Object(offset.clone())
                        .to_string()
                        .into_bytes(),
                ),
            ),
        ],
    }
}

/// A failed record's key or value as schemaless JSON (the data model's debug form when even
/// that fails, so the dead-letter record still says what it was).
fn as_json(
    topic: &str,
    schema: Option<&crate::data::Schema>,
    value: &crate::data::Value,
) -> Vec<u8> {
    use crate::converters::Converter as _;
    crate::converters::JsonConverter::with_schemas(false)
        .to_bytes(topic, schema, value)
        .ok()
        .flatten()
        .unwrap_or_else(|| format!("{value:?}").into_bytes())
}
