//! The registry's store: the compacted, single-partition `_schemas` topic
//! and the in-memory [`State`] rebuilt from it.
//!
//! Data flow: a write ([`Store::write`]) produces records with an
//! idempotent `acks=all` producer and waits until the store's own reader
//! task has consumed and applied them, so an answer given after a write
//! always reflects it (read-your-writes). The reader task is the only code
//! that changes the state; it starts from the beginning of the topic, and
//! [`Store::open`] returns only once it has replayed everything that was in
//! the topic, so nothing is served from a partial state.

pub mod records;
pub mod state;

use std::sync::{Arc, RwLock, RwLockReadGuard};
use std::time::Duration;

use fjord_core::{ClientSettings, NewTopicSpec, TopicAdmin};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use tokio::sync::{watch, Mutex, MutexGuard};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::error::{ApiError, RegistryError};
use records::RecordKey;
use state::State;

/// One record to write: its key and its value (`None`: a tombstone).
pub type Write = (RecordKey, Option<Vec<u8>>);

/// The `_schemas` topic, its reader and its writer.
pub struct Store {
    /// Written only by the reader task; a std lock because every critical
    /// section is a short in-memory read or one record's update, never held
    /// across an await.
    state: Arc<RwLock<State>>,
    /// The offset after the last applied record.
    position: watch::Receiver<i64>,
    consumer: Arc<StreamConsumer>,
    producer: FutureProducer,
    topic: String,
    /// Serialises read-check-write sequences on the writer (allocating ids
    /// and versions), so two concurrent registrations cannot take the same id.
    write_lock: Mutex<()>,
    timeout: Duration,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("topic", &self.topic)
            .field("position", &*self.position.borrow())
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Creates `topic` if missing (one partition, `cleanup.policy=compact`),
    /// starts the reader task on `tracker` (it stops on `shutdown`) and
    /// replays the topic.
    ///
    /// # Errors
    /// The cluster is unreachable, the topic has more than one partition, or
    /// the replay does not finish within `timeout`.
    pub async fn open(
        settings: &ClientSettings,
        topic: &str,
        replication_factor: Option<i32>,
        timeout: Duration,
        tracker: &TaskTracker,
        shutdown: CancellationToken,
    ) -> Result<Arc<Store>, RegistryError> {
        ensure_topic(settings, topic, replication_factor).await?;

        let consumer: StreamConsumer = settings
            .consumer_config(None)
            .set("auto.offset.reset", "earliest")
            .set("enable.partition.eof", "false")
            .set("fetch.wait.max.ms", "50")
            .create()
            .map_err(|cause| RegistryError::Client {
                context: "creating the _schemas consumer",
                cause,
            })?;
        let mut assignment = TopicPartitionList::new();
        assignment
            .add_partition_offset(topic, 0, Offset::Beginning)
            .map_err(|cause| RegistryError::Client {
                context: "assigning _schemas",
                cause,
            })?;
        consumer
            .assign(&assignment)
            .map_err(|cause| RegistryError::Client {
                context: "assigning _schemas",
                cause,
            })?;
        let producer: FutureProducer = settings
            .producer_config()
            .set("acks", "all")
            .set("enable.idempotence", "true")
            .set("linger.ms", "0")
            .create()
            .map_err(|cause| RegistryError::Client {
                context: "creating the _schemas producer",
                cause,
            })?;

        let (position_tx, position) = watch::channel(0_i64);
        let store = Arc::new(Store {
            state: Arc::new(RwLock::new(State::default())),
            position,
            consumer: Arc::new(consumer),
            producer,
            topic: topic.to_owned(),
            write_lock: Mutex::new(()),
            timeout,
        });
        tracker.spawn(read_loop(
            Arc::clone(&store.consumer),
            Arc::clone(&store.state),
            position_tx,
            shutdown,
        ));
        let target = store
            .end_offset()
            .await
            .map_err(|e| RegistryError::Client {
                context: "reading the end offset of _schemas",
                cause: e,
            })?;
        if !store.wait_for(target, timeout).await {
            return Err(RegistryError::ReplayTimedOut {
                topic: topic.to_owned(),
                target,
                seconds: timeout.as_secs(),
            });
        }
        tracing::info!(
            topic,
            records = target,
            "replayed the schema registry's store"
        );
        Ok(store)
    }

    /// A read view of the state. Do not hold it across an await.
    pub fn read(&self) -> RwLockReadGuard<'_, State> {
        // A poisoned lock means the reader task panicked mid-update; the map
        // it left is still structurally sound, so keep serving it.
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes the writer's lock: hold it from reading the state that a write
    /// depends on (next id, latest version) until the write is applied.
    pub async fn lock_writes(&self) -> MutexGuard<'_, ()> {
        self.write_lock.lock().await
    }

    /// Produces `records` in order and waits until the reader applied the
    /// last one.
    ///
    /// # Errors
    /// 50001 if the cluster refused a record, 50002 if applying took longer
    /// than the store's timeout.
    ///
    /// # Cancel safety
    /// Not cancel safe: records already produced stay in the topic.
    pub async fn write(&self, records: Vec<Write>) -> Result<(), ApiError> {
        let mut last = None;
        for (key, value) in records {
            let key = key.to_bytes();
            let mut record = FutureRecord::<Vec<u8>, Vec<u8>>::to(&self.topic)
                .partition(0)
                .key(&key);
            if let Some(value) = &value {
                record = record.payload(value);
            }
            let delivery = self
                .producer
                .send(record, self.timeout)
                .await
                .map_err(|(e, _)| ApiError::store(format!("writing to '{}': {e}", self.topic)))?;
            last = Some(delivery.offset);
        }
        if let Some(offset) = last {
            if !self.wait_for(offset + 1, self.timeout).await {
                return Err(ApiError::timeout(format!(
                    "the write at offset {offset} of '{}' was not read back within {:?}",
                    self.topic, self.timeout
                )));
            }
        }
        Ok(())
    }

    /// Waits until every record now in the topic is applied (used after a
    /// write forwarded to another instance, so this one answers with it).
    ///
    /// # Errors
    /// 50001 if the end offset cannot be read, 50002 on timeout.
    pub async fn catch_up(&self) -> Result<(), ApiError> {
        let target = self.end_offset().await.map_err(ApiError::store)?;
        if self.wait_for(target, self.timeout).await {
            Ok(())
        } else {
            Err(ApiError::timeout(format!(
                "'{}' was not read up to offset {target}",
                self.topic
            )))
        }
    }

    async fn end_offset(&self) -> Result<i64, rdkafka::error::KafkaError> {
        let consumer = Arc::clone(&self.consumer);
        let topic = self.topic.clone();
        let timeout = self.timeout;
        // fetch_watermarks blocks on a broker round trip.
        tokio::task::spawn_blocking(move || consumer.fetch_watermarks(&topic, 0, timeout))
            .await
            .map_err(|_| rdkafka::error::KafkaError::Canceled)?
            .map(|(_, high)| high)
    }

    /// Waits until the position reaches `target`; false on timeout.
    async fn wait_for(&self, target: i64, timeout: Duration) -> bool {
        let mut position = self.position.clone();
        let reached = async move { position.wait_for(|p| *p >= target).await.is_ok() };
        matches!(tokio::time::timeout(timeout, reached).await, Ok(true))
    }
}

async fn ensure_topic(
    settings: &ClientSettings,
    topic: &str,
    replication_factor: Option<i32>,
) -> Result<(), RegistryError> {
    let admin = TopicAdmin::new(settings)?;
    match admin.describe(topic).await {
        Ok(meta) if meta.partitions.len() == 1 => return Ok(()),
        Ok(meta) => {
            return Err(RegistryError::TopicPartitions {
                topic: topic.to_owned(),
                partitions: meta.partitions.len(),
            })
        }
        Err(fjord_core::Error::UnknownTopic { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    let mut spec = NewTopicSpec::new(topic);
    spec.partitions = Some(1);
    spec.replication_factor = replication_factor;
    spec.configs = vec![("cleanup.policy".into(), "compact".into())];
    match admin.create(&spec).await {
        Ok(()) | Err(fjord_core::Error::TopicAlreadyExists { .. }) => {
            tracing::info!(topic, "created the schema registry's topic");
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

/// Applies every record of `_schemas` to the state, in offset order, until
/// `shutdown`.
async fn read_loop(
    consumer: Arc<StreamConsumer>,
    state: Arc<RwLock<State>>,
    position: watch::Sender<i64>,
    shutdown: CancellationToken,
) {
    loop {
        let message = tokio::select! {
            () = shutdown.cancelled() => break,
            m = consumer.recv() => m,
        };
        match message {
            Ok(message) => {
                if let Some(key) = message.key().and_then(RecordKey::parse) {
                    let mut state = state.write().unwrap_or_else(|p| p.into_inner());
                    state.apply(&key, message.payload());
                }
                position.send_replace(message.offset() + 1);
            }
            Err(e) => {
                tracing::warn!("reading the schema registry's topic: {e}");
                // Back off so a dead cluster does not spin this loop.
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = tokio::time::sleep(Duration::from_millis(200)) => {}
                }
            }
        }
    }
}
