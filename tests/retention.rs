//! Segment roll and retention through real clients: old segments go by size and by time, the
//! log start offset moves, and a consumer at a deleted offset resets per its policy.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use fjord_broker::EmbeddedConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::FutureRecord;
use rdkafka::{Message, Offset};

fn config() -> EmbeddedConfig {
    EmbeddedConfig {
        properties: vec![("log.retention.check.interval.ms".into(), "100".into())],
        ..Default::default()
    }
}

fn watermarks(bs: &str, topic: &str) -> (i64, i64) {
    let c: BaseConsumer = client_config(bs).create().expect("client");
    let marks = c
        .fetch_watermarks(topic, 0, Duration::from_secs(5))
        .expect("watermarks");
    close(c);
    marks
}

async fn produce_one_by_one(bs: &str, topic: &str, n: usize, timestamp: Option<i64>) {
    let producer = producer(bs, &[("linger.ms", "0")]);
    for i in 0..n {
        let payload = format!("{i:0>100}");
        let mut rec = FutureRecord::<(), _>::to(topic).payload(&payload);
        if let Some(ts) = timestamp {
            rec = rec.timestamp(ts);
        }
        producer
            .send(rec, Duration::from_secs(10))
            .await
            .expect("delivered");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn size_retention_deletes_old_segments_and_consumers_reset() {
    let broker = broker_with(config()).await;
    let bs = broker.bootstrap_servers();
    let topic = unique("by-size");
    create_topic(
        &bs,
        &topic,
        1,
        &[("segment.bytes", "2000"), ("retention.bytes", "6000")],
    )
    .await;
    produce_one_by_one(&bs, &topic, 200, None).await;
    let part = partition(&broker, &topic, 0);
    eventually(
        "size retention to bring the log under retention.bytes plus one segment",
        Duration::from_secs(20),
        // Retention runs every 100 ms, possibly mid-produce; wait for a pass after the last
        // record.
        || part.log_start_offset() > 0 && part.size_bytes() <= 6000 + 2000,
    )
    .await;
    let (low, high) = watermarks(&bs, &topic);
    assert!(
        low > 100,
        "most of the 200 records are gone, low watermark {low}"
    );
    assert_eq!(high, 200);

    // A consumer at a deleted offset with auto.offset.reset=earliest restarts at the log start.
    let (b, t) = (bs.clone(), topic.clone());
    let first = tokio::task::spawn_blocking(move || {
        consume_with(
            &b,
            &t,
            &[0],
            Offset::Offset(0),
            1,
            &[("auto.offset.reset", "earliest")],
        )
    })
    .await
    .unwrap();
    assert_eq!(first[0].offset(), low);

    // ...and with latest, it waits at the end and sees only what comes next. When it is
    // positioned cannot be seen from outside, so records are produced one by one until it
    // reads one: the first it reads is a new one (200 or later), never one from before.
    let (b, t) = (bs.clone(), topic.clone());
    let reader = tokio::task::spawn_blocking(move || {
        consume_with(
            &b,
            &t,
            &[0],
            Offset::Offset(0),
            1,
            &[("auto.offset.reset", "latest")],
        )
    });
    let mut produced = 0;
    eventually_async(
        "the latest consumer to read a record produced after it started",
        Duration::from_secs(30),
        || {
            produced += 1;
            let (b, t) = (bs.clone(), topic.clone());
            let done = reader.is_finished();
            async move {
                if !done {
                    produce_one_by_one(&b, &t, 1, None).await;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                done
            }
        },
    )
    .await;
    let next = reader.await.unwrap();
    assert!(
        (200..200 + produced).contains(&next[0].offset()),
        "latest reads only records produced after the reset, got offset {} (low was {low})",
        next[0].offset()
    );
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_retention_deletes_expired_segments() {
    let broker = broker_with(config()).await;
    let bs = broker.bootstrap_servers();
    let topic = unique("by-time");
    create_topic(
        &bs,
        &topic,
        1,
        &[("retention.ms", "60000"), ("segment.bytes", "4000")],
    )
    .await;
    let an_hour_ago = fjord_broker::topics::now_ms() - 3_600_000;
    produce_one_by_one(&bs, &topic, 100, Some(an_hour_ago)).await;
    let part = partition(&broker, &topic, 0);
    eventually(
        "time retention to delete every expired segment",
        Duration::from_secs(20),
        || part.log_start_offset() == 100,
    )
    .await;
    // Fresh records stay. A retention pass after they were produced must keep them: a second
    // topic's expired records, produced after them, going away shows such a pass ran.
    produce_one_by_one(&bs, &topic, 3, None).await;
    let witness = unique("by-time-witness");
    create_topic(
        &bs,
        &witness,
        1,
        &[("retention.ms", "60000"), ("segment.bytes", "4000")],
    )
    .await;
    produce_one_by_one(&bs, &witness, 100, Some(an_hour_ago)).await;
    let witness_part = partition(&broker, &witness, 0);
    eventually(
        "a retention pass after the fresh records (the witness topic's expiry)",
        Duration::from_secs(20),
        || witness_part.log_start_offset() == 100,
    )
    .await;
    assert_eq!(watermarks(&bs, &topic), (100, 103));
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_records_moves_the_log_start_offset() {
    use rdkafka::admin::{AdminClient, AdminOptions};
    use rdkafka::client::DefaultClientContext;
    use rdkafka::TopicPartitionList;
    let broker = broker().await;
    let bs = broker.bootstrap_servers();
    let topic = unique("delrec");
    create_topic(&bs, &topic, 1, &[]).await;
    produce_one_by_one(&bs, &topic, 10, None).await;
    let admin: AdminClient<DefaultClientContext> = client_config(&bs).create().unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(&topic, 0, Offset::Offset(7))
        .unwrap();
    let res = admin
        .delete_records(&tpl, &AdminOptions::new())
        .await
        .expect("delete_records");
    assert_eq!(res.elements()[0].offset(), Offset::Offset(7));
    assert_eq!(watermarks(&bs, &topic), (7, 10));
    let (b, t) = (bs.clone(), topic.clone());
    let msgs = tokio::task::spawn_blocking(move || consume(&b, &t, &[0], Offset::Beginning, 3))
        .await
        .unwrap();
    assert_eq!(
        msgs.iter().map(|m| m.offset()).collect::<Vec<_>>(),
        vec![7, 8, 9]
    );
    broker.shutdown().await;
}
