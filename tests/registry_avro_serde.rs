//! Fjord's Avro serdes (`fjord_core::format::avro`) against Fjord's registry,
//! interoperating with Python confluent-kafka's AvroSerializer and
//! AvroDeserializer in both directions; one HTTP call per new schema or id,
//! never per record; schema resolution on read; subject name strategies.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::registry::{python_avro, registry};
use common::*;
use fjord_core::format::avro::apache_avro::types::Value as AvroValue;
use fjord_core::format::avro::{
    AvroConfig, AvroSerde, GenericAvroSerde, RegistryClient, SubjectNameStrategy,
};
use fjord_core::format::Serde;
use rdkafka::producer::FutureRecord;
use rdkafka::{Message, Offset};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The schema `tests/python/registry_avro.py` writes with.
const SALE: &str = r#"{"type":"record","name":"sale","namespace":"shop","fields":[
    {"name":"item","type":"string"},{"name":"quantity","type":"int"},{"name":"price","type":"double"},
    {"name":"note","type":["null","string"],"default":null}]}"#;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Sale {
    item: String,
    quantity: i32,
    price: f64,
    note: Option<String>,
}

/// A newer reader: one more field, with a default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct SaleV2 {
    item: String,
    quantity: i32,
    price: f64,
    note: Option<String>,
    shop: String,
}

const SALE_V2: &str = r#"{"type":"record","name":"sale","namespace":"shop","fields":[
    {"name":"item","type":"string"},{"name":"quantity","type":"int"},{"name":"price","type":"double"},
    {"name":"note","type":["null","string"],"default":null},{"name":"shop","type":"string","default":"oslo"}]}"#;

fn sale(i: usize) -> Sale {
    Sale {
        item: format!("item-{i}"),
        quantity: i32::try_from(i).unwrap(),
        price: i as f64 * 1.5,
        note: if i % 2 == 1 {
            None
        } else {
            Some(format!("note {i}"))
        },
    }
}

async fn read_all(bs: &str, topic: &str, count: usize) -> Vec<rdkafka::message::OwnedMessage> {
    let (bs, topic) = (bs.to_owned(), topic.to_owned());
    tokio::task::spawn_blocking(move || consume(&bs, &topic, &[0], Offset::Beginning, count))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_writes_rust_reads() {
    let broker = broker().await;
    let bs = broker.bootstrap_servers();
    let registry = registry(&bs).await;
    let topic = unique("py-to-rust");
    create_topic(&bs, &topic, 1, &[]).await;
    let count = 200;
    python_avro("produce", &bs, registry.url(), &topic, count).await;

    let client = RegistryClient::new(registry.url()).unwrap();
    let serde = AvroSerde::<Sale>::new(client.clone(), SALE, AvroConfig::default()).unwrap();
    let newer = AvroSerde::<SaleV2>::new(client.clone(), SALE_V2, AvroConfig::default()).unwrap();
    let generic = GenericAvroSerde::new(client.clone(), None, AvroConfig::default()).unwrap();
    let records = read_all(&bs, &topic, count).await;
    assert_eq!(records.len(), count);
    for (i, record) in records.iter().enumerate() {
        assert_eq!(
            serde.deserialize(&topic, record.payload()).unwrap(),
            sale(i)
        );
        // A reader on a newer schema gets the default for the field the writer lacked.
        let v2 = newer.deserialize(&topic, record.payload()).unwrap();
        assert_eq!(
            (v2.item.as_str(), v2.shop.as_str()),
            (sale(i).item.as_str(), "oslo")
        );
        let AvroValue::Record(fields) = generic.deserialize(&topic, record.payload()).unwrap()
        else {
            panic!("not a record")
        };
        assert_eq!(
            fields[0],
            ("item".to_owned(), AvroValue::String(format!("item-{i}")))
        );
    }
    assert_eq!(
        client.http_calls(),
        1,
        "one schema fetch for {count} records and three serdes"
    );
    let bad = serde.deserialize(&topic, Some(b"\x01junk")).unwrap_err();
    assert!(bad.message.contains("magic byte 1"), "{bad}");
    registry.shutdown().await;
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_writes_python_reads() {
    let broker = broker().await;
    let bs = broker.bootstrap_servers();
    let registry = registry(&bs).await;
    let topic = unique("rust-to-py");
    create_topic(&bs, &topic, 1, &[]).await;
    let client = RegistryClient::new(registry.url()).unwrap();
    let serde = AvroSerde::<Sale>::new(client.clone(), SALE, AvroConfig::default()).unwrap();
    let producer = producer(&bs, &[]);
    let count = 300;
    for i in 0..count {
        let bytes = serde.serialize(&topic, &sale(i)).unwrap().unwrap();
        producer
            .send(
                FutureRecord::<(), _>::to(&topic).payload(&bytes),
                Duration::from_secs(10),
            )
            .await
            .unwrap();
    }
    assert_eq!(
        client.http_calls(),
        1,
        "one registration for {count} records"
    );
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

    let lines = python_avro("consume", &bs, registry.url(), &topic, count).await;
    let read: Vec<Value> = lines
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(read.len(), count);
    for (i, value) in read.iter().enumerate() {
        assert_eq!(value, &serde_json::to_value(sale(i)).unwrap());
    }
    registry.shutdown().await;
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strategies_auto_register_and_latest_version() {
    let broker = broker().await;
    let registry = registry(&broker.bootstrap_servers()).await;
    let client = RegistryClient::new(registry.url()).unwrap();
    let http = reqwest::Client::new();
    let subjects = || async {
        http.get(format!("{}/subjects", registry.url()))
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    };

    // Without auto-registration an unregistered schema is an error naming the registry's answer.
    let no_register = AvroConfig {
        auto_register_schemas: false,
        ..AvroConfig::default()
    };
    let lookup = AvroSerde::<Sale>::new(client.clone(), SALE, no_register.clone()).unwrap();
    let err = lookup.serialize("orders", &sale(1)).unwrap_err();
    assert!(err.message.contains("40401"), "{err}");
    assert_eq!(subjects().await, json!([]));

    // RecordNameStrategy and TopicRecordNameStrategy.
    for (strategy, subject) in [
        (SubjectNameStrategy::RecordName, "shop.sale"),
        (SubjectNameStrategy::TopicRecordName, "orders-shop.sale"),
    ] {
        let config = AvroConfig {
            subject_name_strategy: strategy,
            ..AvroConfig::default()
        };
        let serde = AvroSerde::<Sale>::new(client.clone(), SALE, config).unwrap();
        let bytes = serde.serialize("orders", &sale(2)).unwrap().unwrap();
        assert_eq!(serde.deserialize("orders", Some(&bytes)).unwrap(), sale(2));
        assert!(subjects()
            .await
            .as_array()
            .unwrap()
            .contains(&json!(subject)));
    }
    // Registered now, so the lookup-only serde finds it under its own subject once registered there.
    AvroSerde::<Sale>::new(client.clone(), SALE, AvroConfig::default())
        .unwrap()
        .serialize("orders", &sale(0))
        .unwrap();
    let fresh = AvroSerde::<Sale>::new(
        RegistryClient::new(registry.url()).unwrap(),
        SALE,
        no_register,
    )
    .unwrap();
    assert!(fresh.serialize("orders", &sale(3)).is_ok());

    // use.latest.version: write v1 values with the subject's latest (v2) schema.
    let v2 = AvroSerde::<SaleV2>::new(client.clone(), SALE_V2, AvroConfig::default()).unwrap();
    let v2_sale = SaleV2 {
        item: "x".into(),
        quantity: 1,
        price: 2.0,
        note: None,
        shop: "bergen".into(),
    };
    v2.serialize("orders", &v2_sale).unwrap();
    let latest = AvroConfig {
        use_latest_version: true,
        auto_register_schemas: false,
        ..AvroConfig::default()
    };
    let generic =
        GenericAvroSerde::new(RegistryClient::new(registry.url()).unwrap(), None, latest).unwrap();
    let value = AvroValue::Record(vec![
        ("item".into(), AvroValue::String("y".into())),
        ("quantity".into(), AvroValue::Int(4)),
        ("price".into(), AvroValue::Double(1.0)),
        (
            "note".into(),
            AvroValue::Union(0, Box::new(AvroValue::Null)),
        ),
        ("shop".into(), AvroValue::String("tromso".into())),
    ]);
    let bytes = generic.serialize("orders", &value).unwrap().unwrap();
    let read = v2.deserialize("orders", Some(&bytes)).unwrap();
    assert_eq!(read.shop, "tromso");
    let versions: Value = http
        .get(format!("{}/subjects/orders-value/versions", registry.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        versions,
        json!([1, 2]),
        "use.latest.version registered nothing"
    );

    // latest.compatibility.strict: a Sale (v1) writer may use the latest (v2) schema, which
    // reads v1 data; a writer whose data the latest cannot read is refused.
    const OTHER: &str = r#"{"type":"record","name":"sale","namespace":"shop","fields":[{"name":"code","type":"bytes"}]}"#;
    #[derive(Serialize, Deserialize)]
    struct Other {
        code: Vec<u8>,
    }
    let latest = AvroConfig {
        use_latest_version: true,
        auto_register_schemas: false,
        ..AvroConfig::default()
    };
    let strict = AvroSerde::<Sale>::new(
        RegistryClient::new(registry.url()).unwrap(),
        SALE,
        latest.clone(),
    )
    .unwrap();
    let bytes = strict.serialize("orders", &sale(5)).unwrap().unwrap();
    assert_eq!(v2.deserialize("orders", Some(&bytes)).unwrap().shop, "oslo");
    let refused =
        AvroSerde::<Other>::new(RegistryClient::new(registry.url()).unwrap(), OTHER, latest)
            .unwrap();
    let err = refused
        .serialize("orders", &Other { code: vec![1] })
        .unwrap_err();
    assert!(err.message.contains("latest.compatibility.strict"), "{err}");
    registry.shutdown().await;
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemas_with_references() {
    let broker = broker().await;
    let registry = registry(&broker.bootstrap_servers()).await;
    let http = reqwest::Client::new();
    let address = r#"{"type":"record","name":"Address","namespace":"shop","fields":[{"name":"city","type":"string"}]}"#;
    let order = r#"{"type":"record","name":"Order","namespace":"shop","fields":[{"name":"id","type":"long"},{"name":"to","type":"shop.Address"}]}"#;
    for (subject, body) in [
        ("address", json!({"schema": address})),
        (
            "orders-value",
            json!({"schema": order, "references": [{"name": "shop.Address", "subject": "address", "version": 1}]}),
        ),
    ] {
        let r = http
            .post(format!("{}/subjects/{subject}/versions", registry.url()))
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    }
    let latest = AvroConfig {
        use_latest_version: true,
        auto_register_schemas: false,
        ..AvroConfig::default()
    };
    let writer =
        GenericAvroSerde::new(RegistryClient::new(registry.url()).unwrap(), None, latest).unwrap();
    let value = AvroValue::Record(vec![
        ("id".into(), AvroValue::Long(7)),
        (
            "to".into(),
            AvroValue::Record(vec![("city".into(), AvroValue::String("Bergen".into()))]),
        ),
    ]);
    let bytes = writer.serialize("orders", &value).unwrap().unwrap();
    let reader = GenericAvroSerde::new(
        RegistryClient::new(registry.url()).unwrap(),
        None,
        AvroConfig::default(),
    )
    .unwrap();
    assert_eq!(reader.deserialize("orders", Some(&bytes)).unwrap(), value);
    registry.shutdown().await;
    broker.shutdown().await;
}
