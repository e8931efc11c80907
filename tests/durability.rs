//! Durability: everything acknowledged with acks=all survives a graceful stop, a SIGKILL of
//! the broker process, and a torn segment tail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::process::BrokerProcess;
use common::*;
use fjord_broker::EmbeddedConfig;
use rdkafka::producer::FutureRecord;
use rdkafka::Offset;

async fn produce_acked(bs: &str, topic: &str, from: usize, n: usize) {
    let producer = producer(bs, &[("acks", "all"), ("linger.ms", "1")]);
    let mut pending = Vec::new();
    for i in from..from + n {
        let payload = format!("durable-{i}");
        pending.push(
            producer
                .send_result(FutureRecord::<(), _>::to(topic).payload(&payload))
                .expect("enqueue"),
        );
    }
    for p in pending {
        p.await.expect("future").expect("acknowledged");
    }
}

async fn read_all(bs: &str, topic: &str, n: usize) -> Vec<String> {
    let (bs, topic) = (bs.to_string(), topic.to_string());
    let msgs =
        tokio::task::spawn_blocking(move || consume(&bs, &topic, &[0], Offset::Beginning, n))
            .await
            .unwrap();
    values(&msgs)
}

fn expected(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("durable-{i}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_restart_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let config = || EmbeddedConfig {
        data_dir: Some(dir.path().to_path_buf()),
        ..Default::default()
    };
    let broker = broker_with(config()).await;
    let topic = unique("graceful");
    create_topic(&broker.bootstrap_servers(), &topic, 1, &[]).await;
    produce_acked(&broker.bootstrap_servers(), &topic, 0, 1000).await;
    broker.shutdown().await;

    let broker = broker_with(config()).await;
    assert_eq!(
        read_all(&broker.bootstrap_servers(), &topic, 1000).await,
        expected(1000)
    );
    produce_acked(&broker.bootstrap_servers(), &topic, 1000, 10).await;
    assert_eq!(
        read_all(&broker.bootstrap_servers(), &topic, 1010).await,
        expected(1010)
    );
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let mut proc = BrokerProcess::start_in(dir.path(), &[]);
    let topic = unique("killed");
    create_topic(&proc.bootstrap, &topic, 1, &[]).await;
    produce_acked(&proc.bootstrap, &topic, 0, 2000).await;
    proc.kill();

    let proc = BrokerProcess::start_in(dir.path(), &[]);
    assert_eq!(
        read_all(&proc.bootstrap, &topic, 2000).await,
        expected(2000)
    );
    produce_acked(&proc.bootstrap, &topic, 2000, 5).await;
    assert_eq!(
        read_all(&proc.bootstrap, &topic, 2005).await,
        expected(2005)
    );
}

fn last_segment(dir: &Path, topic: &str) -> PathBuf {
    let part = dir.join("topics").join(topic).join("0");
    let mut logs: Vec<PathBuf> = std::fs::read_dir(&part)
        .expect("partition dir")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    logs.sort();
    logs.pop().expect("a segment")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn torn_tail_is_truncated_and_the_broker_starts() {
    let dir = tempfile::tempdir().unwrap();
    let config = || EmbeddedConfig {
        data_dir: Some(dir.path().to_path_buf()),
        ..Default::default()
    };
    let broker = broker_with(config()).await;
    let topic = unique("torn");
    create_topic(&broker.bootstrap_servers(), &topic, 1, &[]).await;
    produce_acked(&broker.bootstrap_servers(), &topic, 0, 100).await;
    broker.shutdown().await;

    // A crash mid-write: half a batch header and some garbage after the last good batch.
    let seg = last_segment(dir.path(), &topic);
    let good_len = std::fs::metadata(&seg).unwrap().len();
    let mut torn = vec![0u8, 0, 0, 0, 0, 0, 0, 100, 0, 0, 1, 0, 0, 0];
    torn.extend_from_slice(&[0xab; 37]);
    use std::io::Write;
    std::fs::OpenOptions::new()
        .append(true)
        .open(&seg)
        .unwrap()
        .write_all(&torn)
        .unwrap();

    let broker = broker_with(config()).await;
    assert_eq!(
        std::fs::metadata(&seg).unwrap().len(),
        good_len,
        "the torn tail was cut off"
    );
    assert_eq!(
        read_all(&broker.bootstrap_servers(), &topic, 100).await,
        expected(100)
    );
    produce_acked(&broker.bootstrap_servers(), &topic, 100, 1).await;
    assert_eq!(
        read_all(&broker.bootstrap_servers(), &topic, 101).await,
        expected(101)
    );
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_broker_starts_fast() {
    // Not a benchmark: a generous sanity bound so a regression to seconds is caught.
    let start = std::time::Instant::now();
    let broker = broker().await;
    let took = start.elapsed();
    broker.shutdown().await;
    assert!(
        took < Duration::from_secs(2),
        "embedded start took {took:?}"
    );
}
