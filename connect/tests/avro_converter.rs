//! Confluent's AvroConverter against a real schema registry (fjord-registry on an embedded
//! broker): a file source writes its lines as Avro in Confluent's wire format (the schema
//! registered under `<topic>-value`), Fjord's own Avro deserializer in core reads them, and a
//! file sink with the AvroConverter turns them back into the same lines.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use fjord_broker::embedded::{EmbeddedBroker, EmbeddedConfig};
use fjord_connect::config::ConfigMap;
use fjord_connect::herder::Herder;
use fjord_connect::runtime::launch::StandaloneWorker;
use fjord_core::format::avro::{wire, GenericAvroSerde, RegistryClient};
use fjord_core::format::Serde;
use fjord_registry::{Registry, RegistryConfig};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Message, Offset, TopicPartitionList};

fn config(pairs: &[(&str, String)]) -> ConfigMap {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_lines_go_through_avro_and_the_registry_and_come_back() {
    let broker = EmbeddedBroker::start(EmbeddedConfig::default())
        .await
        .unwrap();
    let bs = broker.bootstrap_servers();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let registry = Registry::start(RegistryConfig::new(bs.clone()), listener)
        .await
        .unwrap();
    let url = registry.url().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.txt");
    let output = dir.path().join("out.txt");
    let lines: Vec<String> = (0..50).map(|i| format!("sale {i}")).collect();
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();

    let worker = StandaloneWorker::start(
        config(&[
            ("bootstrap.servers", bs.clone()),
            (
                "offset.storage.file.filename",
                dir.path().join("offsets").display().to_string(),
            ),
            ("offset.flush.interval.ms", "200".into()),
            ("listeners", "http://127.0.0.1:0".into()),
            (
                "key.converter",
                "org.apache.kafka.connect.storage.StringConverter".into(),
            ),
            (
                "value.converter",
                "io.confluent.connect.avro.AvroConverter".into(),
            ),
            ("value.converter.schema.registry.url", url.clone()),
        ]),
        vec![
            config(&[
                ("name", "avro-source".into()),
                ("connector.class", "FileStreamSource".into()),
                ("file", input.display().to_string()),
                ("topic", "avro-lines".into()),
            ]),
            config(&[
                ("name", "avro-sink".into()),
                ("connector.class", "FileStreamSink".into()),
                ("file", output.display().to_string()),
                ("topics", "avro-lines".into()),
            ]),
        ],
    )
    .await
    .unwrap();

    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let written = std::fs::read_to_string(&output).unwrap_or_default();
        if written.lines().count() >= lines.len() {
            assert_eq!(written.lines().collect::<Vec<_>>(), lines);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the sink wrote {} of {} lines",
            written.lines().count(),
            lines.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let status = worker.herder().connector_status("avro-sink").await.unwrap();
    assert_eq!(format!("{:?}", status.tasks[0].state), "Running");

    // The registry holds the schema under TopicNameStrategy's subject.
    let subjects: Vec<String> = reqwest::get(format!("{url}/subjects"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(subjects, ["avro-lines-value"]);

    // The bytes are Confluent's wire format, readable by Fjord's own Avro serde.
    let consumer: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", &bs)
        .set("group.id", "avro-check")
        .create()
        .unwrap();
    let mut list = TopicPartitionList::new();
    list.add_partition_offset("avro-lines", 0, Offset::Beginning)
        .unwrap();
    consumer.assign(&list).unwrap();
    let message = loop {
        if let Some(message) = consumer.poll(Duration::from_millis(200)) {
            break message.unwrap().detach();
        }
        assert!(Instant::now() < deadline, "no record in avro-lines");
    };
    let payload = message.payload().unwrap();
    assert_eq!(payload[0], 0, "magic byte");
    let (id, _) = wire::unframe(payload).unwrap();
    assert!(id >= 0);
    let serde =
        GenericAvroSerde::new(RegistryClient::new(url).unwrap(), None, Default::default()).unwrap();
    let value = serde.deserialize("avro-lines", Some(payload)).unwrap();
    assert_eq!(
        value,
        fjord_core::format::avro::apache_avro::types::Value::String("sale 0".into())
    );
    drop(message);
    drop(list);
    fjord_core::close_consumer(consumer, "test", Duration::from_secs(10)).unwrap();
    worker.shutdown().await;
    registry.shutdown().await;
}
