//! The demo: the quickstart in one process. Starts an embedded Fjord broker, creates topic
//! `test`, produces lines through a real Kafka producer (librdkafka over TCP), consumes them
//! from the beginning in a consumer group (committing its offsets), prints them, and shuts
//! down.
//!
//! Run: `cargo run --release --example demo [LINE ...]`

use std::time::Duration;

use anyhow::Context;
use fjord_broker::{EmbeddedBroker, EmbeddedConfig};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::Message;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let started = std::time::Instant::now();
    let broker = EmbeddedBroker::start(EmbeddedConfig::default()).await?;
    let bootstrap = broker.bootstrap_servers();
    println!(
        "embedded broker ready on {bootstrap} in {:?}",
        started.elapsed()
    );
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", &bootstrap);

    let admin: AdminClient<DefaultClientContext> = config.create()?;
    let topic = NewTopic::new("test", 1, TopicReplication::Fixed(1));
    for r in admin.create_topics(&[topic], &AdminOptions::new()).await? {
        r.map_err(|(t, e)| anyhow::anyhow!("creating topic {t}: {e}"))?;
    }
    println!("created topic 'test'");

    let lines = if args.is_empty() {
        vec![
            "This is a message".to_string(),
            "This is another message".to_string(),
        ]
    } else {
        args
    };
    let producer: FutureProducer = config.clone().set("linger.ms", "0").create()?;
    for line in &lines {
        let delivery = producer
            .send(
                FutureRecord::<(), _>::to("test").payload(line),
                Duration::from_secs(10),
            )
            .await
            .map_err(|(e, _)| anyhow::anyhow!("producing: {e}"))?;
        println!(
            "produced '{line}' to test-{} at offset {}",
            delivery.partition, delivery.offset
        );
    }

    let consumer: StreamConsumer = config
        .clone()
        .set("group.id", "fjord-demo")
        .set("auto.offset.reset", "earliest")
        .create()?;
    consumer.subscribe(&["test"])?;
    for _ in 0..lines.len() {
        let msg = tokio::time::timeout(Duration::from_secs(10), consumer.recv())
            .await
            .context("timed out consuming")??;
        let value = String::from_utf8_lossy(msg.payload().unwrap_or_default());
        println!("consumed offset {}: {value}", msg.offset());
        consumer.commit_message(&msg, rdkafka::consumer::CommitMode::Sync)?;
    }
    // A partition list holds references into the client: one still alive when the consumer
    // is destroyed makes librdkafka's destroy wait for it for good. This block ends it first.
    {
        let committed = consumer.committed(Duration::from_secs(5))?;
        for tp in committed.elements() {
            println!(
                "group 'fjord-demo' committed {}-{} at {:?}",
                tp.topic(),
                tp.partition(),
                tp.offset()
            );
        }
    }
    // Leaves the group and destroys the client under a deadline (see close_consumer).
    tokio::task::spawn_blocking(move || {
        fjord_core::close_consumer(consumer, "demo consumer", fjord_core::DEFAULT_CLOSE_TIMEOUT)
    })
    .await??;
    drop(producer);
    broker.shutdown().await;
    println!("done in {:?}", started.elapsed());
    Ok(())
}
