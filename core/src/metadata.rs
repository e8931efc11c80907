//! Cluster metadata snapshots: which topics exist, their partitions, leaders
//! and replicas.
//!
//! librdkafka returns metadata as borrowed views into a C structure; this
//! module copies what callers need into owned [`TopicMetadata`] values and
//! turns per-topic error codes into [`Error`]s a user can act on. The fetch
//! functions block the calling thread (librdkafka's metadata call is
//! synchronous): call them from `spawn_blocking` in async code.

use std::time::{Duration, Instant};

use rdkafka::client::{Client, ClientContext};
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::metadata::MetadataTopic;

use crate::error::{Error, Result};

/// One topic as the cluster describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicMetadata {
    /// Topic name.
    pub name: String,
    /// Partitions ordered by id.
    pub partitions: Vec<PartitionMetadata>,
}

impl TopicMetadata {
    /// The replication factor, taken as the replica count of the first
    /// partition (0 for a topic with no partitions).
    pub fn replication_factor(&self) -> usize {
        self.partitions.first().map_or(0, |p| p.replicas.len())
    }

    /// Checks that `partition` exists in this topic.
    ///
    /// # Errors
    /// [`Error::UnknownPartition`] naming the valid range.
    pub fn check_partition(&self, partition: i32) -> Result<()> {
        if self.partitions.iter().any(|p| p.id == partition) {
            Ok(())
        } else {
            Err(Error::UnknownPartition {
                topic: self.name.clone(),
                partition,
                count: self.partitions.len(),
            })
        }
    }
}

/// One partition of a topic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionMetadata {
    /// Partition id.
    pub id: i32,
    /// Broker id of the leader, or -1 if there is none.
    pub leader: i32,
    /// Broker ids holding a replica, preferred leader first.
    pub replicas: Vec<i32>,
    /// Broker ids of the in-sync replicas.
    pub isr: Vec<i32>,
    /// The error the cluster reported for this partition, if any.
    pub error: Option<String>,
}

/// Fetches metadata for every topic in the cluster, sorted by name. This
/// never auto-creates topics.
///
/// Blocks the calling thread for up to `timeout`.
///
/// # Errors
/// [`Error::BrokerUnreachable`] if no broker answers in time; [`Error::Kafka`]
/// for other client failures.
pub fn fetch_topics<C: ClientContext>(
    client: &Client<C>,
    timeout: Duration,
) -> Result<Vec<TopicMetadata>> {
    let metadata = client
        .fetch_metadata(None, timeout)
        .map_err(|e| Error::kafka("fetching cluster metadata", e, timeout))?;
    let mut topics: Vec<TopicMetadata> = metadata.topics().iter().map(to_owned_topic).collect();
    topics.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(topics)
}

/// Fetches metadata for one topic.
///
/// Whether a missing topic is auto-created depends on the client's
/// `allow.auto.create.topics` (librdkafka: true for producers, false for
/// consumers and for [`ClientSettings::admin_config`]) and the broker. While
/// a topic is still being created (no leader yet), the lookup is retried
/// until `timeout`. Blocks the calling thread for up to `timeout`.
///
/// # Errors
/// [`Error::UnknownTopic`] if the topic does not exist;
/// [`Error::BrokerUnreachable`] if no broker answers in time;
/// [`Error::AdminRejected`] for other per-topic errors (e.g. authorization).
///
/// [`ClientSettings::admin_config`]: crate::ClientSettings::admin_config
pub fn fetch_topic<C: ClientContext>(
    client: &Client<C>,
    topic: &str,
    timeout: Duration,
) -> Result<TopicMetadata> {
    let deadline = Instant::now() + timeout;
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let metadata = client.fetch_metadata(Some(topic), remaining).map_err(|e| {
            Error::kafka(format!("fetching metadata of topic '{topic}'"), e, timeout)
        })?;
        let found = metadata.topics().iter().find(|t| t.name() == topic);
        let code = found.and_then(|t| t.error()).map(RDKafkaErrorCode::from);
        match (found, code) {
            (None, _) => {
                return Err(Error::UnknownTopic {
                    topic: topic.to_owned(),
                })
            }
            (Some(t), None) if !t.partitions().is_empty() => return Ok(to_owned_topic(t)),
            (_, Some(code)) if code != RDKafkaErrorCode::LeaderNotAvailable => {
                return Err(Error::admin("describe", topic, code, timeout))
            }
            // Leader not available or no partitions yet: the topic is being created.
            _ if Instant::now() >= deadline => {
                return Err(Error::admin(
                    "describe",
                    topic,
                    RDKafkaErrorCode::LeaderNotAvailable,
                    timeout,
                ))
            }
            _ => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

fn to_owned_topic(topic: &MetadataTopic) -> TopicMetadata {
    let mut partitions: Vec<PartitionMetadata> = topic
        .partitions()
        .iter()
        .map(|p| PartitionMetadata {
            id: p.id(),
            leader: p.leader(),
            replicas: p.replicas().to_vec(),
            isr: p.isr().to_vec(),
            error: p.error().map(|e| RDKafkaErrorCode::from(e).to_string()),
        })
        .collect();
    partitions.sort_by_key(|p| p.id);
    TopicMetadata {
        name: topic.name().to_owned(),
        partitions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topic(partitions: i32) -> TopicMetadata {
        TopicMetadata {
            name: "sales".to_owned(),
            partitions: (0..partitions)
                .map(|id| PartitionMetadata {
                    id,
                    leader: 1,
                    replicas: vec![1, 2],
                    isr: vec![1],
                    error: None,
                })
                .collect(),
        }
    }

    #[test]
    fn replication_factor_is_replica_count() {
        assert_eq!(topic(3).replication_factor(), 2);
        assert_eq!(topic(0).replication_factor(), 0);
    }

    #[test]
    fn check_partition_names_the_range() {
        assert!(topic(3).check_partition(2).is_ok());
        let err = topic(3).check_partition(3).expect_err("out of range");
        assert_eq!(
            err.to_string(),
            "topic 'sales' has 3 partition(s) (0..3), so partition 3 does not exist"
        );
    }
}
