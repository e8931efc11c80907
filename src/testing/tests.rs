//! The kit against itself: one cluster, every helper, through real clients.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use super::*;

#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq)]
struct Sale {
    product: String,
    quantity: i64,
}

const SALE_SCHEMA: &str = r#"{"type":"record","name":"Sale","fields":[
    {"name":"product","type":"string"},{"name":"quantity","type":"long"}]}"#;

#[tokio::test]
async fn a_cluster_serves_json_and_avro_records_and_connect() {
    let started = std::time::Instant::now();
    let cluster = TestCluster::start().await.unwrap();
    // For BENCHMARKS.md (`--nocapture`): the whole cluster's start, and this process's RSS.
    eprintln!(
        "test cluster ready in {:?}; process RSS {}",
        started.elapsed(),
        std::fs::read_to_string("/proc/self/status")
            .unwrap_or_default()
            .lines()
            .find(|l| l.starts_with("VmRSS"))
            .unwrap_or("VmRSS: ?")
            .trim_start_matches("VmRSS:")
            .trim()
    );
    cluster.create_topic("sales-json", 3).await.unwrap();
    let serde = json::<Sale>();
    for (i, product) in ["apples", "pears", "plums"].into_iter().enumerate() {
        let sale = Sale {
            product: product.into(),
            quantity: i as i64 + 1,
        };
        cluster
            .produce("sales-json", &serde, Some(product), sale)
            .await
            .unwrap();
    }
    let got = cluster
        .consume("sales-json", &serde, 3, Duration::from_secs(20))
        .await
        .unwrap();
    let mut quantities: Vec<i64> = got.iter().map(|r| r.value.quantity).collect();
    quantities.sort_unstable();
    assert_eq!(quantities, vec![1, 2, 3]);
    assert!(got
        .iter()
        .all(|r| r.key.as_deref() == Some(r.value.product.as_str())));

    // Avro: the schema is registered under the topic's subject; the bytes are Confluent's.
    let avro = cluster.avro::<Sale>(SALE_SCHEMA).unwrap();
    let sale = Sale {
        product: "figs".into(),
        quantity: 7,
    };
    cluster
        .produce("sales-avro", &avro, None, sale.clone())
        .await
        .unwrap();
    let back = cluster
        .consume("sales-avro", &avro, 1, Duration::from_secs(20))
        .await
        .unwrap();
    assert_eq!(back[0].value, sale);
    let raw = cluster
        .consume("sales-avro", &raw_bytes(), 1, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(raw[0].value[0], 0, "Confluent's magic byte");
    let subjects: Vec<String> =
        reqwest::get(format!("{}/subjects", cluster.registry_url().unwrap()))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(subjects, vec!["sales-avro-value".to_owned()]);

    // Connect: a file source created through the REST API writes the file's lines.
    let input = cluster.dir().join("in.txt");
    std::fs::write(&input, "one\ntwo\n").unwrap();
    let http = reqwest::Client::new();
    let created = http
        .post(format!("{}/connectors", cluster.connect_url().unwrap()))
        .json(&serde_json::json!({"name": "lines", "config": {
            "connector.class": "FileStreamSource",
            "file": input.display().to_string(),
            "topic": "lines",
            "value.converter": "org.apache.kafka.connect.storage.StringConverter",
        }}))
        .send()
        .await
        .unwrap();
    assert!(
        created.status().is_success(),
        "{}",
        created.text().await.unwrap()
    );
    let lines = cluster
        .consume("lines", &utf8(), 2, Duration::from_secs(30))
        .await
        .unwrap();
    let lines: Vec<&str> = lines.iter().map(|r| r.value.as_str()).collect();
    assert_eq!(lines, vec!["one", "two"]);
    cluster.shutdown().await;
}

#[tokio::test]
async fn consume_says_how_many_came_when_the_deadline_passes() {
    let options = ClusterOptions {
        registry: false,
        connect: false,
        ..ClusterOptions::default()
    };
    let cluster = TestCluster::start_with(options).await.unwrap();
    assert!(cluster.registry_url().is_none() && cluster.connect_url().is_none());
    cluster.create_topic("few", 1).await.unwrap();
    let serde = json::<u32>();
    cluster.produce("few", &serde, None, 1).await.unwrap();
    let err = cluster
        .consume("few", &serde, 2, Duration::from_millis(500))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("1 of 2 records"), "{err}");
    assert!(
        cluster.avro::<u32>("\"int\"").is_err(),
        "no registry, no Avro"
    );
    cluster.shutdown().await;
}

#[tokio::test]
async fn waiting_reports_what_it_waited_for() {
    let mut calls = 0;
    let value = wait_for("the third call", Duration::from_secs(5), || {
        calls += 1;
        let n = calls;
        async move { (n == 3).then_some(n) }
    })
    .await
    .unwrap();
    assert_eq!(value, 3);
    let err = wait_until("never", Duration::from_millis(120), || async { false })
        .await
        .unwrap_err();
    assert!(err.to_string().contains("waiting for never"), "{err}");
}

fn raw_bytes() -> RecordSerde<Vec<u8>> {
    std::sync::Arc::new(fjord_core::format::Bytes)
}

fn utf8() -> RecordSerde<String> {
    std::sync::Arc::new(fjord_core::format::Utf8)
}
