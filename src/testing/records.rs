//! Typed records in and out of a [`TestCluster`]: a value type plus a serde (JSON, or Avro
//! through the cluster's registry) on the way in, the same on the way out.
//!
//! Serdes run off the async runtime (`spawn_blocking`): Avro's first use of a schema makes a
//! blocking HTTP call to the registry, and that registry may be served by the very runtime
//! the test runs on (a `#[tokio::test]` has one thread), which would then never answer.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use fjord_core::format::{Json, Serde};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::FutureRecord;
use rdkafka::{Message, Offset, TopicPartitionList};

use super::TestCluster;

/// A serde the kit's helpers take: shared, so it can run on a blocking thread.
pub type RecordSerde<T> = Arc<dyn Serde<T>>;

/// The JSON serde of `T` (serde_json, no schema).
pub fn json<T>() -> RecordSerde<T>
where
    T: serde::Serialize + serde::de::DeserializeOwned + 'static,
{
    Arc::new(Json::<T>::new())
}

/// A record read back from a topic.
#[derive(Debug, Clone, PartialEq)]
pub struct Record<T> {
    /// Its partition.
    pub partition: i32,
    /// Its offset in the partition.
    pub offset: i64,
    /// The key as UTF-8 (lossy), `None` when null.
    pub key: Option<String>,
    /// The value, through the serde.
    pub value: T,
    /// The record's timestamp (ms since the epoch), when it has one.
    pub timestamp: Option<i64>,
}

impl TestCluster {
    /// Produces one record (`acks=all`) and returns its partition and offset once
    /// acknowledged. A record without a key goes where the default partitioner puts it.
    ///
    /// # Errors
    /// The serde refuses the value, or the broker refuses the record.
    pub async fn produce<T>(
        &self,
        topic: &str,
        serde: &RecordSerde<T>,
        key: Option<&str>,
        value: T,
    ) -> anyhow::Result<(i32, i64)>
    where
        T: Send + 'static,
    {
        let bytes = {
            let serde = Arc::clone(serde);
            let topic = topic.to_owned();
            tokio::task::spawn_blocking(move || serde.serialize(&topic, &value))
                .await
                .context("the serializer panicked")??
        };
        let mut record = FutureRecord::<str, [u8]>::to(topic);
        if let Some(key) = key {
            record = record.key(key);
        }
        if let Some(bytes) = &bytes {
            record = record.payload(bytes);
        }
        self.producer
            .send(record, Duration::from_secs(30))
            .await
            .map(|delivery| (delivery.partition, delivery.offset))
            .map_err(|(e, _)| anyhow::anyhow!("producing to '{topic}': {e}"))
    }

    /// Reads `topic` from the start of every partition until `count` records came, and
    /// returns them (in partition order, then offset order within each partition).
    ///
    /// # Errors
    /// Fewer than `count` records within `deadline` (the message says how many came), the
    /// topic does not exist, or a value does not deserialize.
    pub async fn consume<T>(
        &self,
        topic: &str,
        serde: &RecordSerde<T>,
        count: usize,
        deadline: Duration,
    ) -> anyhow::Result<Vec<Record<T>>>
    where
        T: Send + 'static,
    {
        let config = self.settings.consumer_config(None);
        let serde = Arc::clone(serde);
        let topic = topic.to_owned();
        // librdkafka's poll blocks its thread: on a blocking thread, not the runtime's.
        tokio::task::spawn_blocking(move || {
            let consumer: BaseConsumer = config.create().context("cannot create a consumer")?;
            let metadata = consumer
                .fetch_metadata(Some(&topic), Duration::from_secs(10))
                .with_context(|| format!("metadata of '{topic}'"))?;
            let partitions = metadata
                .topics()
                .first()
                .filter(|t| t.error().is_none())
                .map(|t| t.partitions().len())
                .filter(|n| *n > 0)
                .with_context(|| format!("topic '{topic}' does not exist"))?;
            let mut assignment = TopicPartitionList::new();
            for p in 0..partitions {
                let p = i32::try_from(p).context("partition count")?;
                assignment.add_partition_offset(&topic, p, Offset::Beginning)?;
            }
            consumer.assign(&assignment)?;
            let start = Instant::now();
            let mut records = Vec::with_capacity(count);
            while records.len() < count {
                let left = deadline.saturating_sub(start.elapsed());
                if left.is_zero() {
                    anyhow::bail!(
                        "{} of {count} records came from '{topic}' in {deadline:?}",
                        records.len()
                    );
                }
                let Some(message) = consumer.poll(left.min(Duration::from_millis(100))) else {
                    continue;
                };
                let message = message.with_context(|| format!("consuming '{topic}'"))?;
                let value = serde
                    .deserialize(&topic, message.payload())
                    .with_context(|| {
                        format!(
                            "record {}@{} of '{topic}'",
                            message.partition(),
                            message.offset()
                        )
                    })?;
                records.push(Record {
                    partition: message.partition(),
                    offset: message.offset(),
                    key: message
                        .key()
                        .map(|k| String::from_utf8_lossy(k).into_owned()),
                    value,
                    timestamp: message.timestamp().to_millis(),
                });
            }
            records.sort_by_key(|r| (r.partition, r.offset));
            Ok(records)
        })
        .await
        .context("the consumer thread panicked")?
    }
}
