//! Shared helpers for end-to-end tests: an embedded broker, rdkafka clients, and a raw
//! Kafka-protocol client for checks no high-level client exposes.

// Test helpers: a failed set-up step fails the test, so unwrap and expect are the point here,
// whatever the including test file allows.
#![allow(
    dead_code,
    missing_docs,
    unused_imports,
    clippy::unwrap_used,
    clippy::expect_used
)]

pub mod connect;
pub mod groups;
pub mod postgres;
pub mod process;
pub mod python;
pub mod raw;
pub mod registry;
pub mod wait;

pub use groups::{group_broker_config, group_state, wait_for_group_state};
pub use wait::{eventually, eventually_async, eventually_blocking, eventually_some, poll_until};

/// The broker's allocator, as in the `fjord` binary, so embedded brokers survive hostile sizes.
#[global_allocator]
static ALLOC: fjord_broker::alloc::GuardedAlloc = fjord_broker::alloc::GuardedAlloc;

use std::time::{Duration, Instant};

use fjord_broker::{EmbeddedBroker, EmbeddedConfig};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::OwnedMessage;
use rdkafka::producer::FutureProducer;
use rdkafka::{Message, Offset, TopicPartitionList};

pub async fn broker() -> EmbeddedBroker {
    broker_with(EmbeddedConfig::default()).await
}

pub async fn broker_with(config: EmbeddedConfig) -> EmbeddedBroker {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(std::env::var("FJORD_LOG").unwrap_or_else(|_| "warn".into()))
        .with_test_writer()
        .try_init();
    EmbeddedBroker::start(config)
        .await
        .expect("embedded broker starts")
}

pub fn client_config(bootstrap: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", bootstrap)
        .set("broker.address.family", "v4")
        .set("topic.metadata.refresh.interval.ms", "1000");
    c
}

pub fn producer(bootstrap: &str, extra: &[(&str, &str)]) -> FutureProducer {
    let mut c = client_config(bootstrap);
    c.set("linger.ms", "5").set("message.timeout.ms", "20000");
    for (k, v) in extra {
        c.set(*k, *v);
    }
    c.create().expect("producer")
}

pub async fn create_topic(bootstrap: &str, name: &str, partitions: i32, configs: &[(&str, &str)]) {
    let admin: AdminClient<DefaultClientContext> =
        client_config(bootstrap).create().expect("admin");
    let mut topic = NewTopic::new(name, partitions, TopicReplication::Fixed(1));
    for (k, v) in configs {
        topic = topic.set(k, v);
    }
    let res = admin
        .create_topics(
            &[topic],
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))),
        )
        .await
        .expect("create_topics request");
    for r in res {
        r.expect("topic created");
    }
}

/// Reads `count` messages from the given partitions starting at `offset`, with no group.
pub fn consume(
    bootstrap: &str,
    topic: &str,
    partitions: &[i32],
    offset: Offset,
    count: usize,
) -> Vec<OwnedMessage> {
    consume_with(bootstrap, topic, partitions, offset, count, &[])
}

pub fn consume_with(
    bootstrap: &str,
    topic: &str,
    partitions: &[i32],
    offset: Offset,
    count: usize,
    extra: &[(&str, &str)],
) -> Vec<OwnedMessage> {
    let mut c = client_config(bootstrap);
    c.set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", "100")
        // librdkafka refuses assign() without a group id; no group protocol is used.
        .set("group.id", "fjord-test-assign");
    for (k, v) in extra {
        c.set(*k, *v);
    }
    let consumer: BaseConsumer = c.create().expect("consumer");
    let mut tpl = TopicPartitionList::new();
    for p in partitions {
        tpl.add_partition_offset(topic, *p, offset).expect("offset");
    }
    consumer.assign(&tpl).expect("assign");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut out = Vec::new();
    while out.len() < count && Instant::now() < deadline {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => out.push(m.detach()),
            Some(Err(e)) => panic!("consumer error: {e}"),
            None => {}
        }
    }
    drop(tpl);
    close(consumer);
    assert_eq!(
        out.len(),
        count,
        "timed out: got {} of {count} messages",
        out.len()
    );
    out
}

/// Closes a test's consumer the way Fjord's programs do (`fjord_core::close_consumer`: under
/// a deadline, so a test never hangs in librdkafka's destroy), failing the test if it times out.
/// Drop every partition list and message of the consumer first.
pub fn close<K, C>(consumer: K)
where
    K: rdkafka::consumer::Consumer<C> + Send + 'static,
    C: rdkafka::consumer::ConsumerContext + 'static,
{
    fjord_core::close_consumer(consumer, "test consumer", fjord_core::DEFAULT_CLOSE_TIMEOUT)
        .expect("the consumer closes");
}

/// An embedded broker's partition, for checks of its log that no client exposes.
pub fn partition(
    broker: &EmbeddedBroker,
    topic: &str,
    index: i32,
) -> std::sync::Arc<fjord_broker::topics::Partition> {
    broker
        .broker()
        .state()
        .topics
        .get(topic)
        .expect("topic exists")
        .partition(index)
        .expect("partition exists")
}

pub fn values(msgs: &[OwnedMessage]) -> Vec<String> {
    msgs.iter()
        .map(|m| String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned())
        .collect()
}

pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid_like())
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{nanos:x}{}", N.fetch_add(1, Ordering::Relaxed))
}
