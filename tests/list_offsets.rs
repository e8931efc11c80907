//! ListOffsets through librdkafka: by timestamp it returns the first offset whose timestamp is
//! at least the one asked for, in uncompressed and compressed batches alike.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::FutureRecord;
use rdkafka::{Offset, TopicPartitionList};

async fn offsets_for_times(codec: &str) {
    let broker = broker().await;
    let bs = broker.bootstrap_servers();
    let topic = unique(&format!("times-{codec}"));
    create_topic(&bs, &topic, 1, &[]).await;
    // Timestamps 1000, 1010, ..., 1990 in several batches of ten records.
    let producer = producer(&bs, &[("compression.codec", codec), ("linger.ms", "50")]);
    for chunk in 0..10 {
        let mut pending = Vec::new();
        for i in chunk * 10..chunk * 10 + 10 {
            let rec = FutureRecord::<(), _>::to(&topic)
                .payload("v")
                .timestamp(1000 + 10 * i as i64);
            pending.push(producer.send_result(rec).expect("enqueue"));
        }
        for p in pending {
            p.await.unwrap().expect("delivered");
        }
    }
    let consumer: BaseConsumer = client_config(&bs).create().unwrap();
    let cases = [
        (0, Offset::Offset(0)),
        (1000, Offset::Offset(0)),
        (1001, Offset::Offset(1)),
        (1455, Offset::Offset(46)),
        (1990, Offset::Offset(99)),
        (5000, Offset::End),
    ];
    for (ts, want) in cases {
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(&topic, 0, Offset::Offset(ts))
            .unwrap();
        let got = consumer
            .offsets_for_times(tpl, Duration::from_secs(5))
            .expect("offsets_for_times");
        let offset = got.elements()[0].offset();
        assert_eq!(offset, want, "codec {codec}: timestamp {ts}");
    }
    close(consumer);
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn by_timestamp_uncompressed() {
    offsets_for_times("none").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn by_timestamp_lz4() {
    offsets_for_times("lz4").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn by_timestamp_gzip() {
    offsets_for_times("gzip").await;
}
