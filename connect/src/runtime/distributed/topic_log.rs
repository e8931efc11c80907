//! A compacted topic used as a replicated log of keyed records (Kafka's `KafkaBasedLog`):
//! every worker reads the whole topic from the beginning on a dedicated thread and applies
//! each record to its in-memory state; writes go through an idempotent producer with
//! `acks=all`. [`TopicLog::read_to_end`] waits until everything written before the call has
//! been applied: the read-your-writes step before answering or starting work.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use fjord_core::admin::{NewTopicSpec, TopicAdmin};
use fjord_core::client::ClientSettings;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::{Message, Offset, TopicPartitionList};
use tokio::sync::Notify;

use crate::error::{ConnectError, Result};

/// Applies one record of the log: key, value (`None`: a tombstone), partition, offset.
pub type Apply = Box<dyn FnMut(&[u8], Option<&[u8]>, i32, i64) + Send>;

/// Read progress, shared by the reader thread and waiters.
#[derive(Default)]
struct Progress {
    // A std mutex: the reader updates a map entry per record; waiters copy it.
    next: Mutex<HashMap<i32, i64>>,
    changed: Notify,
}

/// A compacted topic read in full by this process.
pub struct TopicLog {
    topic: String,
    partitions: i32,
    producer: FutureProducer,
    reader: Arc<BaseConsumer>,
    progress: Arc<Progress>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TopicLog {
    /// Creates the topic when missing (compacted, `partitions`, `replication`), then starts
    /// reading it from the beginning, each record passed to `apply` in offset order per
    /// partition.
    ///
    /// # Errors
    /// The topic cannot be created or the clients cannot be made.
    pub async fn start(
        settings: &ClientSettings,
        topic: &str,
        partitions: i32,
        replication: i32,
        mut apply: Apply,
    ) -> Result<Self> {
        let admin = TopicAdmin::new(settings)?;
        let mut spec = NewTopicSpec::new(topic);
        spec.partitions = Some(partitions);
        if replication > 0 {
            spec.replication_factor = Some(replication);
        }
        spec.configs
            .push(("cleanup.policy".into(), "compact".into()));
        match admin.create(&spec).await {
            Ok(()) | Err(fjord_core::Error::TopicAlreadyExists { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        let actual = admin.describe(topic).await?.partitions.len();
        let partitions = i32::try_from(actual).unwrap_or(partitions).max(1);
        let producer: FutureProducer = settings
            .producer_config()
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", "0")
            .create()?;
        let consumer: BaseConsumer = settings
            .consumer_config(None)
            .set("fetch.wait.max.ms", "50")
            .create()?;
        let mut list = TopicPartitionList::new();
        for p in 0..partitions {
            list.add_partition_offset(topic, p, Offset::Beginning)
                .map_err(|e| ConnectError::Kafka(e.to_string()))?;
        }
        consumer.assign(&list)?;
        // A second consumer for watermark lookups, so they never wait behind the reader's poll.
        let reader: Arc<BaseConsumer> = Arc::new(settings.consumer_config(None).create()?);
        let progress = Arc::new(Progress::default());
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (progress, stop) = (Arc::clone(&progress), Arc::clone(&stop));
            let name = topic.to_owned();
            std::thread::Builder::new()
                .name(format!("log-{topic}"))
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        match consumer.poll(Duration::from_millis(100)) {
                            Some(Ok(message)) => {
                                let (partition, offset) = (message.partition(), message.offset());
                                apply(
                                    message.key().unwrap_or_default(),
                                    message.payload(),
                                    partition,
                                    offset,
                                );
                                progress
                                    .next
                                    .lock()
                                    .unwrap_or_else(PoisonError::into_inner)
                                    .insert(partition, offset + 1);
                                progress.changed.notify_waiters();
                            }
                            Some(Err(e)) => tracing::warn!("reading '{name}': {e}"),
                            None => {}
                        }
                    }
                    let _ = fjord_core::client::close_consumer(
                        consumer,
                        "log reader",
                        Duration::from_secs(5),
                    );
                })
                .map_err(|e| ConnectError::io("cannot start a log reader thread", e))?
        };
        Ok(Self {
            topic: topic.to_owned(),
            partitions,
            producer,
            reader,
            progress,
            stop,
            thread: Some(thread),
        })
    }

    /// The topic's name.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Writes a record (`None`: a tombstone) and waits for the broker's acknowledgement.
    ///
    /// # Errors
    /// The broker refused it or did not answer within 30 s.
    pub async fn send(&self, key: &[u8], value: Option<&[u8]>) -> Result<()> {
        let mut record: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(&self.topic).key(key);
        if let Some(value) = value {
            record = record.payload(value);
        }
        self.producer
            .send(record, Duration::from_secs(30))
            .await
            .map(|_| ())
            .map_err(|(e, _)| ConnectError::Kafka(format!("writing to '{}': {e}", self.topic)))
    }

    /// Queues a record without waiting (records queued from one thread are written in
    /// order); the returned future resolves on the broker's acknowledgement.
    ///
    /// # Errors
    /// The producer's queue is full or the record is invalid.
    pub fn enqueue(
        &self,
        key: &[u8],
        value: Option<&[u8]>,
    ) -> Result<rdkafka::producer::DeliveryFuture> {
        let mut record: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(&self.topic).key(key);
        if let Some(value) = value {
            record = record.payload(value);
        }
        self.producer
            .send_result(record)
            .map_err(|(e, _)| ConnectError::Kafka(format!("writing to '{}': {e}", self.topic)))
    }

    /// Waits until every record written before the call has been applied.
    ///
    /// # Errors
    /// The watermarks cannot be read, or the reader does not catch up within `timeout`.
    pub async fn read_to_end(&self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        let mut ends = HashMap::new();
        for partition in 0..self.partitions {
            let (topic, reader) = (self.topic.clone(), Arc::clone(&self.reader));
            // fetch_watermarks blocks on a broker round trip: the blocking pool.
            let (_, high) = tokio::task::spawn_blocking(move || {
                reader.fetch_watermarks(&topic, partition, Duration::from_secs(10))
            })
            .await
            .map_err(|e| ConnectError::Other(format!("watermark lookup stopped: {e}")))??;
            ends.insert(partition, high);
        }
        loop {
            let notified = self.progress.changed.notified();
            let caught_up = {
                let next = self
                    .progress
                    .next
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                ends.iter()
                    .all(|(p, end)| *end == 0 || next.get(p).is_some_and(|n| n >= end))
            };
            if caught_up {
                return Ok(());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(ConnectError::Kafka(format!(
                    "reading '{}' did not catch up within {} s",
                    self.topic,
                    timeout.as_secs()
                )));
            }
            let _ = tokio::time::timeout(left.min(Duration::from_millis(200)), notified).await;
        }
    }

    /// Flushes the producer.
    pub fn flush(&self) {
        let _ = self.producer.flush(Duration::from_secs(10));
    }
}

impl Drop for TopicLog {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
