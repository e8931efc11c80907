//! Before the threads start: client configurations from the Streams config,
//! the partition plan from the cluster's topics, and the internal topics.

use std::collections::BTreeMap;
use std::future::Future;

use fjord_core::{ClientSettings, NewTopicSpec, TopicAdmin};
use rdkafka::config::ClientConfig;

use crate::config::StreamsConfig;
use crate::error::{Result, StreamsError};
use crate::topology::{PartitionPlan, Topology};

/// Which client a passed-through key is for: `consumer.`, `producer.` and
/// `admin.` prefixes (as in Kafka Streams) select one; no prefix means all.
fn client_keys<'a>(
    config: &'a StreamsConfig,
    client: &'a str,
) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
    const PREFIXES: [&str; 3] = ["consumer.", "producer.", "admin."];
    config.client.iter().filter_map(move |(k, v)| {
        match PREFIXES.iter().find(|p| k.starts_with(*p)) {
            Some(p) if p.trim_end_matches('.') == client => Some((&k[p.len()..], v.as_str())),
            Some(_) => None,
            None => Some((k.as_str(), v.as_str())),
        }
    })
}

fn settings(config: &StreamsConfig, client: &str) -> ClientSettings {
    let mut s = ClientSettings::new(config.bootstrap_servers.clone());
    for (k, v) in client_keys(config, client) {
        s = s.set(k, v);
    }
    s
}

/// Whether the app uses KIP-848's consumer group protocol.
pub(crate) fn uses_consumer_protocol(config: &StreamsConfig) -> bool {
    client_keys(config, "consumer").any(|(k, v)| k == "group.protocol" && v == "consumer")
}

/// The group consumer of a stream thread.
pub(crate) fn consumer_config(config: &StreamsConfig, thread: usize) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", &config.bootstrap_servers)
        .set("group.id", &config.application_id)
        .set(
            "client.id",
            format!(
                "{}-StreamThread-{}-consumer",
                config.application_id,
                thread + 1
            ),
        )
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest");
    if !uses_consumer_protocol(config) {
        c.set("partition.assignment.strategy", "cooperative-sticky");
    }
    for (k, v) in client_keys(config, "consumer") {
        c.set(k, v);
    }
    c
}

/// The consumer that restores stores from changelogs: no group, manual assignment.
pub(crate) fn restore_consumer_config(config: &StreamsConfig, thread: usize) -> ClientConfig {
    let mut c = settings(config, "consumer")
        .set(
            "client.id",
            format!(
                "{}-StreamThread-{}-restore-consumer",
                config.application_id,
                thread + 1
            ),
        )
        .consumer_config(None);
    c.set("auto.offset.reset", "earliest")
        // Restoring reads one partition from start to end as fast as it can:
        // big fetches, so round trips do not bound the rate.
        .set("max.partition.fetch.bytes", "16777216")
        .set("fetch.max.bytes", "67108864")
        .set("queued.max.messages.kbytes", "131072");
    // Not a group member: these keys only apply to the group consumer.
    c.remove("group.protocol");
    c.remove("group.remote.assignor");
    c
}

/// The producer of a stream thread: Kafka's default partitioner (murmur2),
/// so keys land where Java clients put them.
pub(crate) fn producer_config(config: &StreamsConfig, thread: usize) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", &config.bootstrap_servers)
        .set(
            "client.id",
            format!(
                "{}-StreamThread-{}-producer",
                config.application_id,
                thread + 1
            ),
        )
        .set("partitioner", "murmur2_random")
        .set("linger.ms", "5");
    for (k, v) in client_keys(config, "producer") {
        if is_consumer_only(k) {
            continue;
        }
        c.set(k, v);
    }
    c
}

fn is_consumer_only(key: &str) -> bool {
    key.starts_with("group.")
        || matches!(
            key,
            "session.timeout.ms"
                | "heartbeat.interval.ms"
                | "max.poll.interval.ms"
                | "auto.offset.reset"
                | "partition.assignment.strategy"
                | "isolation.level"
                | "fetch.min.bytes"
                | "fetch.wait.max.ms"
        )
}

/// Runs async admin work to completion on a thread of its own (callers may
/// be inside a tokio runtime or not).
pub(crate) fn block_on<T: Send + 'static>(
    fut: impl Future<Output = Result<T>> + Send + 'static,
) -> Result<T> {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| {
                StreamsError::IllegalState(format!("cannot start an admin runtime: {e}"))
            })?;
        rt.block_on(fut)
    })
    .join()
    .map_err(|_| StreamsError::IllegalState("the admin thread panicked".into()))?
}

/// Plans partitions from the cluster's topics and creates the internal
/// topics that are missing (changelogs compacted).
///
/// # Errors
/// Missing source topics, non-co-partitioned joins, an internal topic that
/// exists with another partition count, or a cluster that cannot be reached.
pub(crate) fn prepare(topology: &Topology, config: &StreamsConfig) -> Result<PartitionPlan> {
    let admin = TopicAdmin::new(&settings(config, "admin"))?;
    let topics = block_on(async move {
        let list = admin.list().await?;
        Ok((admin, list))
    });
    let (admin, list) = topics?;
    let existing: BTreeMap<String, i32> = list
        .iter()
        .map(|t| (t.name.clone(), t.partitions.len() as i32))
        .collect();
    let plan = topology.plan(&config.application_id, &existing)?;
    let mut to_create = Vec::new();
    for (topic, (partitions, changelog)) in &plan.internal {
        match existing.get(topic) {
            Some(actual) if actual != partitions => {
                return Err(StreamsError::Topology(format!(
                    "internal topic {topic} exists with {actual} partitions, but the topology needs {partitions}; reset the application (fjord streams reset) or delete the topic"
                )))
            }
            Some(_) => {}
            None => {
                let mut spec = NewTopicSpec::new(topic.clone());
                spec.partitions = Some(*partitions);
                spec.replication_factor = Some(config.replication_factor);
                if *changelog {
                    spec.configs.push(("cleanup.policy".into(), "compact".into()));
                } else {
                    spec.configs.push(("cleanup.policy".into(), "delete".into()));
                    spec.configs.push(("retention.ms".into(), "-1".into()));
                }
                to_create.push(spec);
            }
        }
    }
    if !to_create.is_empty() {
        block_on(async move {
            for spec in &to_create {
                match admin.create(spec).await {
                    Ok(()) | Err(fjord_core::Error::TopicAlreadyExists { .. }) => {}
                    Err(e) => return Err(StreamsError::from(e)),
                }
            }
            Ok(())
        })?;
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixed_keys_go_to_their_client_only() {
        let config = StreamsConfig::new("app", "b:9092")
            .set("consumer.max.poll.interval.ms", "1000")
            .unwrap()
            .set("producer.linger.ms", "50")
            .unwrap()
            .set("group.protocol", "consumer")
            .unwrap();
        let consumer = consumer_config(&config, 0);
        assert_eq!(consumer.get("max.poll.interval.ms"), Some("1000"));
        assert_eq!(consumer.get("linger.ms"), None);
        assert_eq!(consumer.get("partition.assignment.strategy"), None);
        let producer = producer_config(&config, 0);
        assert_eq!(producer.get("linger.ms"), Some("50"));
        assert_eq!(producer.get("group.protocol"), None);
        assert_eq!(producer.get("partitioner"), Some("murmur2_random"));
    }
}
