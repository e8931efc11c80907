//! Produce and fetch through librdkafka (the `rdkafka` crate) over TCP: codecs, acks, keys,
//! headers, timestamps, ordering and key-hash partitioning.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use rdkafka::message::{Header, Headers, OwnedHeaders};
use rdkafka::producer::FutureRecord;
use rdkafka::{Message, Offset};

async fn round_trip(codec: &str, acks: &str) {
    let broker = broker().await;
    let bs = broker.bootstrap_servers();
    let topic = unique(&format!("rt-{codec}-{acks}"));
    create_topic(&bs, &topic, 1, &[]).await;
    let producer = producer(&bs, &[("compression.codec", codec), ("acks", acks)]);
    let n = 500;
    let mut deliveries = Vec::new();
    for i in 0..n {
        let value = format!("value-{i}-{}", "x".repeat(i % 50));
        let key = format!("key-{i}");
        let headers = OwnedHeaders::new().insert(Header {
            key: "h",
            value: Some(&format!("hv-{i}")),
        });
        let record = FutureRecord::to(&topic)
            .payload(&value)
            .key(&key)
            .headers(headers)
            .timestamp(1_700_000_000_000 + i as i64);
        deliveries.push(producer.send_result(record).expect("enqueue"));
    }
    for (i, d) in deliveries.into_iter().enumerate() {
        let delivered = d.await.expect("delivery future").expect("delivered");
        if acks != "0" {
            assert_eq!(
                delivered.offset, i as i64,
                "offsets are sequential in send order"
            );
        }
    }
    let bs2 = bs.clone();
    let t = topic.clone();
    let msgs = tokio::task::spawn_blocking(move || consume(&bs2, &t, &[0], Offset::Beginning, n))
        .await
        .unwrap();
    for (i, m) in msgs.iter().enumerate() {
        assert_eq!(m.offset(), i as i64);
        assert_eq!(m.key(), Some(format!("key-{i}").as_bytes()));
        assert_eq!(
            m.payload(),
            Some(format!("value-{i}-{}", "x".repeat(i % 50)).as_bytes())
        );
        assert_eq!(
            m.timestamp().to_millis(),
            Some(1_700_000_000_000 + i as i64)
        );
        let h = m.headers().expect("headers").get(0);
        assert_eq!((h.key, h.value), ("h", Some(format!("hv-{i}").as_bytes())));
    }
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trip_uncompressed_acks_all() {
    round_trip("none", "all").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trip_gzip_acks_1() {
    round_trip("gzip", "1").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trip_snappy_acks_0() {
    round_trip("snappy", "0").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trip_lz4() {
    round_trip("lz4", "all").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trip_zstd_idempotent() {
    let broker = broker().await;
    let bs = broker.bootstrap_servers();
    let topic = unique("idem");
    create_topic(&bs, &topic, 1, &[]).await;
    let producer = producer(
        &bs,
        &[
            ("compression.codec", "zstd"),
            ("enable.idempotence", "true"),
        ],
    );
    for i in 0..200 {
        producer
            .send(
                FutureRecord::<(), _>::to(&topic).payload(&format!("m{i}")),
                Duration::from_secs(10),
            )
            .await
            .expect("delivered");
    }
    let t = topic.clone();
    let msgs = tokio::task::spawn_blocking(move || consume(&bs, &t, &[0], Offset::Beginning, 200))
        .await
        .unwrap();
    let expected: Vec<String> = (0..200).map(|i| format!("m{i}")).collect();
    assert_eq!(values(&msgs), expected);
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_hash_to_stable_partitions_in_order() {
    let broker = broker().await;
    let bs = broker.bootstrap_servers();
    let topic = unique("keyed");
    create_topic(&bs, &topic, 4, &[]).await;
    let producer = producer(&bs, &[]);
    let keys = [
        "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta",
    ];
    let mut placed = std::collections::HashMap::new();
    for round in 0..25 {
        for k in keys {
            let partition = producer
                .send(
                    FutureRecord::to(&topic)
                        .key(k)
                        .payload(&format!("{k}:{round}")),
                    Duration::from_secs(10),
                )
                .await
                .expect("delivered")
                .partition;
            let first = *placed.entry(k).or_insert(partition);
            assert_eq!(first, partition, "key {k} moved partitions");
        }
    }
    let used: std::collections::HashSet<_> = placed.values().collect();
    assert!(used.len() > 1, "8 keys all hashed to one of 4 partitions");
    let t = topic.clone();
    let msgs = tokio::task::spawn_blocking(move || {
        consume(&bs, &t, &[0, 1, 2, 3], Offset::Beginning, 200)
    })
    .await
    .unwrap();
    for k in keys {
        let rounds: Vec<String> = msgs
            .iter()
            .filter(|m| m.key() == Some(k.as_bytes()))
            .map(|m| String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned())
            .collect();
        let expected: Vec<String> = (0..25).map(|r| format!("{k}:{r}")).collect();
        assert_eq!(rounds, expected, "per-key order within its partition");
        assert!(msgs
            .iter()
            .filter(|m| m.key() == Some(k.as_bytes()))
            .all(|m| m.partition() == placed[k]));
    }
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_created_topic_takes_default_partitions() {
    let broker = broker_with(fjord_broker::EmbeddedConfig {
        num_partitions: 3,
        ..Default::default()
    })
    .await;
    let bs = broker.bootstrap_servers();
    let topic = unique("auto");
    let producer = producer(&bs, &[]);
    producer
        .send(
            FutureRecord::<(), _>::to(&topic).payload("hello"),
            Duration::from_secs(10),
        )
        .await
        .expect("delivered to an auto-created topic");
    let t = broker
        .broker()
        .state()
        .topics
        .get(&topic)
        .expect("topic exists");
    assert_eq!(t.partition_count(), 3);
    broker.shutdown().await;
}
