//! Fjord Streams with Avro serdes in Confluent's wire format: a topology
//! reads Avro sales and writes Avro totals; the schemas are registered on
//! Fjord's registry under TopicNameStrategy on first use.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use fjord_core::format::avro::{AvroConfig, AvroSerde, RegistryClient};
use fjord_core::format::Utf8;
use fjord_registry::{Registry, RegistryConfig};
use fjord_streams::{Consumed, Produced, StreamsBuilder, StreamsConfig, TopologyTestDriver};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Sale {
    item: String,
    quantity: i32,
    price: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Total {
    item: String,
    total: f64,
}

const SALE: &str = r#"{"type":"record","name":"sale","namespace":"shop","fields":[
    {"name":"item","type":"string"},{"name":"quantity","type":"int"},{"name":"price","type":"double"}]}"#;
const TOTAL: &str = r#"{"type":"record","name":"total","namespace":"shop","fields":[
    {"name":"item","type":"string"},{"name":"total","type":"double"}]}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_topology_reads_and_writes_avro() {
    let broker = fjord_broker::EmbeddedBroker::start(Default::default())
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let registry = Registry::start(RegistryConfig::new(broker.bootstrap_servers()), listener)
        .await
        .unwrap();
    let client = RegistryClient::new(registry.url()).unwrap();
    let sales = || AvroSerde::<Sale>::new(client.clone(), SALE, AvroConfig::default()).unwrap();
    let totals = || AvroSerde::<Total>::new(client.clone(), TOTAL, AvroConfig::default()).unwrap();

    // The topology is built and driven on one thread: the builder is not Send.
    let (input_serde, output_serde) = (sales(), totals());
    let (sales_serde, totals_serde) = (sales(), totals());
    let out = tokio::task::spawn_blocking(move || {
        let builder = StreamsBuilder::new();
        builder
            .stream("sales", Consumed::with(Utf8, sales_serde))
            .map_values(|s: Sale| Total {
                total: f64::from(s.quantity) * s.price,
                item: s.item,
            })
            .to("totals", Produced::with(Utf8, totals_serde));
        let driver = TopologyTestDriver::new(
            builder.build().unwrap(),
            StreamsConfig::new("avro-totals", ""),
        )
        .unwrap();
        let input = driver.input_topic("sales", Utf8, input_serde);
        for (i, item) in ["apple", "pear", "plum"].iter().enumerate() {
            let sale = Sale {
                item: (*item).to_owned(),
                quantity: i32::try_from(i).unwrap() + 1,
                price: 2.5,
            };
            input.pipe_input((*item).to_owned(), sale, 0).unwrap();
        }
        driver
            .output_topic("totals", Utf8, output_serde)
            .read_key_values()
    })
    .await
    .unwrap();
    assert_eq!(
        out.iter()
            .map(|(_, t)| (t.item.as_str(), t.total))
            .collect::<Vec<_>>(),
        [("apple", 2.5), ("pear", 5.0), ("plum", 7.5)]
    );
    let subjects: Value = reqwest::get(format!("{}/subjects", registry.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(subjects, json!(["sales-value", "totals-value"]));
    registry.shutdown().await;
    broker.shutdown().await;
}
