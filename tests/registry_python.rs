//! Python confluent-kafka's `SchemaRegistryClient`, `AvroSerializer` and
//! `AvroDeserializer` (from PyPI, pinned in `scripts/python-env.sh`) against
//! Fjord's registry on an embedded broker: the client's calls, and Avro
//! records produced and consumed in Confluent's wire format.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::registry::{python_avro, registry};
use common::*;
use rdkafka::Message;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_registry_client_calls() {
    let broker = broker().await;
    let registry = registry(&broker.bootstrap_servers()).await;
    let out = python_avro(
        "client",
        &broker.bootstrap_servers(),
        registry.url(),
        "sales",
        0,
    )
    .await;
    let seen: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(seen["id"], seen["again"], "{seen}");
    assert_eq!(seen["schema_by_id"], "sale");
    assert_eq!(seen["lookup_version"], 1);
    assert_eq!(seen["compatible_v2"], true);
    assert_eq!(seen["compatible_bad"], false);
    assert_eq!(seen["bad_register"], 409);
    assert_eq!(seen["versions"], json!([1, 2]));
    assert_eq!(seen["latest"], json!([2, seen["v2_id"]]));
    assert_eq!(seen["set_level"]["compatibility"], "FULL", "{seen}");
    assert_eq!(seen["level"], "FULL");
    assert_eq!(seen["subjects"], json!(["sales-client"]));
    assert_eq!(seen["missing_version"], 40402);
    assert_eq!(seen["deleted"], json!([1, 2]));
    assert_eq!(seen["after_delete"], json!([]));
    registry.shutdown().await;
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn avro_serializer_and_deserializer_round_trip() {
    let broker = broker().await;
    let bs = broker.bootstrap_servers();
    let registry = registry(&bs).await;
    let topic = unique("avro-sales");
    create_topic(&bs, &topic, 1, &[]).await;
    let count = 50;
    let produced: Value = serde_json::from_str(
        python_avro("produce", &bs, registry.url(), &topic, count)
            .await
            .trim(),
    )
    .unwrap();
    let id = produced["id"].as_i64().unwrap();

    // Registered once under TopicNameStrategy.
    let http = reqwest::Client::new();
    let subjects: Value = http
        .get(format!("{}/subjects", registry.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(subjects, json!([format!("{topic}-value")]));

    // Confluent's wire format: magic byte 0, the 4-byte big-endian id, then Avro.
    let records = tokio::task::spawn_blocking({
        let (bs, topic) = (bs.clone(), topic.clone());
        move || consume(&bs, &topic, &[0], rdkafka::Offset::Beginning, count)
    })
    .await
    .unwrap();
    assert_eq!(records.len(), count);
    for record in &records {
        let value = record.payload().unwrap();
        assert_eq!(value[0], 0, "magic byte");
        assert_eq!(
            i64::from(i32::from_be_bytes(value[1..5].try_into().unwrap())),
            id
        );
    }

    let lines = python_avro("consume", &bs, registry.url(), &topic, count).await;
    let sales: Vec<Value> = lines
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(sales.len(), count);
    assert_eq!(
        sales[3],
        json!({"item": "item-3", "quantity": 3, "price": 4.5, "note": null})
    );
    assert_eq!(sales[4]["note"], "note 4");
    registry.shutdown().await;
    broker.shutdown().await;
}

/// A `fjord schema-registry` child process; killed on drop.
struct StandaloneRegistry(std::process::Child);

impl Drop for StandaloneRegistry {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standalone_registry_process_on_a_separate_broker_process() {
    let broker = common::process::BrokerProcess::start(&[]);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _registry = StandaloneRegistry(
        std::process::Command::new(env!("CARGO_BIN_EXE_fjord"))
            .args(["schema-registry", "--bootstrap-server", &broker.bootstrap])
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let url = format!("http://127.0.0.1:{port}");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !reqwest::get(format!("{url}/subjects"))
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(std::time::Instant::now() < deadline, "no registry at {url}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let out = python_avro("client", &broker.bootstrap, &url, "standalone", 0).await;
    let seen: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        (seen["bad_register"].clone(), seen["versions"].clone()),
        (json!(409), json!([1, 2])),
        "{seen}"
    );
    let topic = unique("standalone-sales");
    create_topic(&broker.bootstrap, &topic, 1, &[]).await;
    python_avro("produce", &broker.bootstrap, &url, &topic, 20).await;
    let lines = python_avro("consume", &broker.bootstrap, &url, &topic, 20).await;
    assert_eq!(lines.lines().count(), 20);
}
