//! Log compaction through real clients: a compacted topic keeps the latest value per key,
//! drops tombstones after `delete.retention.ms`, and readers see a consistent log while the
//! cleaner runs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::*;
use fjord_broker::EmbeddedConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::FutureRecord;
use rdkafka::{Message, Offset};

/// Reads the whole partition: (key, value or None for a tombstone) in offset order.
fn read_log(bs: &str, topic: &str) -> Vec<(String, Option<String>)> {
    let c: BaseConsumer = client_config(bs).create().unwrap();
    let (_, high) = c
        .fetch_watermarks(topic, 0, Duration::from_secs(5))
        .unwrap();
    close(c);
    let mut c = client_config(bs);
    c.set("group.id", "compaction-reader")
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", "50");
    let consumer: BaseConsumer = c.create().unwrap();
    let mut tpl = rdkafka::TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning)
        .unwrap();
    consumer.assign(&tpl).unwrap();
    let mut out = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        assert!(
            std::time::Instant::now() < deadline,
            "reading the log timed out"
        );
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                let key = String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned();
                let value = m.payload().map(|v| String::from_utf8_lossy(v).into_owned());
                out.push((key, value));
                if m.offset() + 1 >= high {
                    break;
                }
            }
            Some(Err(e)) => panic!("{e}"),
            None if high == 0 => break,
            None => {}
        }
    }
    drop(tpl);
    close(consumer);
    out
}

fn latest(log: &[(String, Option<String>)]) -> BTreeMap<String, Option<String>> {
    log.iter().cloned().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compacted_topic_keeps_latest_value_per_key_and_drops_tombstones() {
    let broker = broker_with(EmbeddedConfig {
        properties: vec![("log.cleaner.backoff.ms".into(), "200".into())],
        ..Default::default()
    })
    .await;
    let bs = broker.bootstrap_servers();
    let topic = unique("compact");
    create_topic(
        &bs,
        &topic,
        1,
        &[
            ("cleanup.policy", "compact"),
            ("segment.bytes", "2048"),
            ("min.cleanable.dirty.ratio", "0.01"),
            ("delete.retention.ms", "1500"),
        ],
    )
    .await;
    let producer = producer(&bs, &[("linger.ms", "0")]);
    for round in 0..30 {
        for k in 0..10 {
            let value = format!("k{k}:{round}");
            producer
                .send(
                    FutureRecord::to(&topic)
                        .key(&format!("k{k}"))
                        .payload(&value),
                    Duration::from_secs(10),
                )
                .await
                .unwrap();
        }
    }
    // A tombstone for k9, then filler so the records above sit in sealed segments.
    producer
        .send(
            FutureRecord::<_, ()>::to(&topic).key("k9"),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    for i in 0..60 {
        producer
            .send(
                FutureRecord::to(&topic)
                    .key("filler")
                    .payload(&format!("f{i}")),
                Duration::from_secs(10),
            )
            .await
            .unwrap();
    }
    // The cleaner may already be running: compare against what was produced.
    let mut expected: BTreeMap<String, Option<String>> = (0..9)
        .map(|k| (format!("k{k}"), Some(format!("k{k}:29"))))
        .collect();
    expected.insert("k9".into(), None);
    expected.insert("filler".into(), Some("f59".into()));

    // While the cleaner works, every full read ends in the same latest state.
    let part = partition(&broker, &topic, 0);
    let last = std::cell::RefCell::new(String::new());
    let last_ref = &last;
    let finished = poll_until(Duration::from_secs(40), || {
        let (b, t) = (bs.clone(), topic.clone());
        let expected = expected.clone();
        async move {
            let log = tokio::task::spawn_blocking(move || read_log(&b, &t))
                .await
                .unwrap();
            let mut state = latest(&log);
            let mut want = expected;
            if !state.contains_key("k9") {
                want.remove("k9"); // the tombstone itself went after delete.retention.ms
            }
            state.retain(|k, _| want.contains_key(k));
            assert_eq!(
                state, want,
                "a reader must see the latest value of every key"
            );
            let k_records = log.iter().filter(|(k, _)| k.starts_with('k')).count();
            *last_ref.borrow_mut() = format!(
                "{k_records} k-records left, log {:?}",
                &log[..log.len().min(20)]
            );
            // Done when k0..k8 are there once each and k9 is gone entirely.
            (k_records <= 9 && !log.iter().any(|(k, _)| k == "k9")).then_some(())
        }
    })
    .await;
    assert!(
        finished.is_ok(),
        "compaction did not finish: {}",
        last.borrow()
    );
    let (low, high) = (part.log_start_offset(), part.log_end_offset());
    assert_eq!(
        (low, high),
        (0, 361),
        "compaction keeps offsets; nothing is renumbered"
    );
    broker.shutdown().await;
}
