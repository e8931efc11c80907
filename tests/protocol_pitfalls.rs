//! Wire-level checks of behaviour other Kafka-compatible brokers get wrong, using a raw
//! Kafka-protocol client so nothing hides the bytes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::raw::{batch_base_offsets, produce_req, record_batch, RawClient};
use common::*;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;

fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

async fn produce(client: &mut RawClient, topic: &str, values: &[&[u8]]) -> ProduceResponse {
    client
        .call(&produce_req(topic, record_batch(values, 1_000)), 9)
        .await
}

fn fetch_req(topic: &str, offset: i64, max_wait_ms: i32) -> FetchRequest {
    FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(max_wait_ms)
        .with_min_bytes(1)
        .with_max_bytes(1 << 20)
        .with_session_epoch(-1)
        .with_topics(vec![FetchTopic::default()
            .with_topic(name(topic))
            .with_partitions(vec![FetchPartition::default()
                .with_partition(0)
                .with_fetch_offset(offset)
                .with_partition_max_bytes(1 << 20)
                .with_log_start_offset(-1)])])
}

async fn setup(topic_prefix: &str) -> (fjord_broker::EmbeddedBroker, String, RawClient) {
    let broker = broker().await;
    let bs = broker.bootstrap_servers();
    let topic = unique(topic_prefix);
    create_topic(&bs, &topic, 1, &[]).await;
    let client = RawClient::connect(&bs).await;
    (broker, topic, client)
}

#[tokio::test]
async fn empty_partition_has_empty_not_null_records_in_every_fetch_version() {
    let (broker, topic, mut client) = setup("empty").await;
    for version in [4, 7, 11, 12] {
        let resp: FetchResponse = client.call(&fetch_req(&topic, 0, 0), version).await;
        let p = &resp.responses[0].partitions[0];
        assert_eq!(p.error_code, 0);
        assert_eq!(p.high_watermark, 0);
        assert_eq!(
            p.records.as_ref().map(|r| r.len()),
            Some(0),
            "v{version}: records must be empty, not null"
        );
    }
    broker.shutdown().await;
}

#[tokio::test]
async fn list_offsets_latest_is_the_high_watermark() {
    let (broker, topic, mut client) = setup("latest").await;
    produce(&mut client, &topic, &[b"a", b"b", b"c"]).await;
    produce(&mut client, &topic, &[b"d"]).await;
    let req = ListOffsetsRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_topics(vec![ListOffsetsTopic::default()
            .with_name(name(&topic))
            .with_partitions(vec![ListOffsetsPartition::default()
                .with_partition_index(0)
                .with_timestamp(-1)])]);
    let resp: ListOffsetsResponse = client.call(&req, 7).await;
    let latest = resp.topics[0].partitions[0].offset;
    let fetched: FetchResponse = client.call(&fetch_req(&topic, 0, 0), 12).await;
    assert_eq!(latest, 4);
    assert_eq!(latest, fetched.responses[0].partitions[0].high_watermark);
    broker.shutdown().await;
}

#[tokio::test]
async fn fetch_inside_a_batch_returns_that_whole_batch() {
    let (broker, topic, mut client) = setup("inside").await;
    produce(&mut client, &topic, &[b"0", b"1", b"2", b"3", b"4"]).await;
    produce(&mut client, &topic, &[b"5", b"6"]).await;
    let resp: FetchResponse = client.call(&fetch_req(&topic, 3, 0), 12).await;
    let records = resp.responses[0].partitions[0]
        .records
        .clone()
        .expect("records");
    assert_eq!(
        batch_base_offsets(records),
        vec![0, 5],
        "the batch holding offset 3 starts at 0"
    );
    let resp: FetchResponse = client.call(&fetch_req(&topic, 6, 0), 12).await;
    let records = resp.responses[0].partitions[0]
        .records
        .clone()
        .expect("records");
    assert_eq!(batch_base_offsets(records), vec![5]);
    broker.shutdown().await;
}

/// How long a waiting fetch is asked to wait: far above how long a woken fetch takes, so an
/// answer well before it shows the produce woke the fetch.
const LONG_WAIT_MS: i32 = 30_000;

/// How long a test checks that a fetch is parked (has not answered) before producing.
const PARKED_FOR: Duration = Duration::from_millis(300);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_fetch_wakes_when_data_arrives() {
    let (broker, topic, mut client) = setup("wake").await;
    let bs = broker.bootstrap_servers();
    // The fetch is sent and must be parked (no answer yet) before the produce lands, so the
    // test fails if the fetch answered empty at once or only saw data already there.
    client.send(&fetch_req(&topic, 0, LONG_WAIT_MS), 12).await;
    client
        .assert_no_response_within(PARKED_FOR, "a fetch on an empty partition")
        .await;
    let mut other = RawClient::connect(&bs).await;
    let produced = produce(&mut other, &topic, &[b"late"]).await;
    assert_eq!(produced.responses[0].partition_responses[0].error_code, 0);
    let woke = Instant::now();
    let resp: FetchResponse = client.receive::<FetchRequest>(12).await;
    let waited = woke.elapsed();
    let records = resp.responses[0].partitions[0]
        .records
        .clone()
        .expect("records");
    assert_eq!(
        batch_base_offsets(records),
        vec![0],
        "the fetch answers with the data"
    );
    assert!(
        waited < Duration::from_secs(5),
        "the parked fetch answered {waited:?} after the produce, not woken by it"
    );
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_fetch_wakes_for_any_partition_it_asked_for() {
    let (broker, quiet, mut client) = setup("wake-quiet").await;
    let bs = broker.bootstrap_servers();
    let busy = unique("wake-busy");
    create_topic(&bs, &busy, 3, &[]).await;
    // The fetch asks for the quiet topic first and partition 2 of the busy one last.
    let mut req = fetch_req(&quiet, 0, LONG_WAIT_MS);
    let mut second = fetch_req(&busy, 0, LONG_WAIT_MS).topics.remove(0);
    second.partitions[0].partition = 2;
    req.topics.push(second);
    client.send(&req, 12).await;
    client
        .assert_no_response_within(PARKED_FOR, "a fetch on empty partitions")
        .await;
    let mut other = RawClient::connect(&bs).await;
    let mut produce = produce_req(&busy, record_batch(&[b"late"], 1_000));
    produce.topic_data[0].partition_data[0].index = 2;
    let resp: ProduceResponse = other.call(&produce, 9).await;
    assert_eq!(resp.responses[0].partition_responses[0].error_code, 0);
    let woke = Instant::now();
    let resp: FetchResponse = client.receive::<FetchRequest>(12).await;
    let waited = woke.elapsed();
    assert!(
        waited < Duration::from_secs(5),
        "the parked fetch answered {waited:?} after the produce, not woken by it"
    );
    let p = &resp.responses[1].partitions[0];
    assert_eq!(p.partition_index, 2);
    assert_eq!(
        batch_base_offsets(p.records.clone().expect("records")),
        vec![0]
    );
    broker.shutdown().await;
}

#[tokio::test]
async fn api_versions_above_our_range_gets_v0_error_35_with_ranges() {
    let broker = broker().await;
    let mut client = RawClient::connect(&broker.bootstrap_servers()).await;
    // A hand-made v99 ApiVersions request: key 18, version 99, correlation 7, null client id.
    let frame = [0, 0, 0, 10, 0, 18, 0, 99, 0, 0, 0, 7, 0xff, 0xff];
    client.write_raw(&frame).await.unwrap();
    let mut resp = client
        .read_frame()
        .await
        .expect("a response, not a disconnect");
    use bytes::Buf;
    assert_eq!(resp.get_i32(), 7, "correlation id");
    let body =
        <ApiVersionsResponse as kafka_protocol::protocol::Decodable>::decode(&mut resp, 0).unwrap();
    assert_eq!(body.error_code, 35);
    let produce = body
        .api_keys
        .iter()
        .find(|k| k.api_key == 0)
        .expect("Produce advertised");
    assert_eq!((produce.min_version, produce.max_version), (3, 9));
    broker.shutdown().await;
}

#[tokio::test]
async fn metadata_and_describe_cluster_report_the_same_real_cluster_id() {
    let broker = broker().await;
    let mut client = RawClient::connect(&broker.bootstrap_servers()).await;
    let md: MetadataResponse = client
        .call(&MetadataRequest::default().with_topics(None), 12)
        .await;
    let dc: DescribeClusterResponse = client.call(&DescribeClusterRequest::default(), 1).await;
    let id = md.cluster_id.expect("cluster id").to_string();
    assert_eq!(id.len(), 32);
    assert_eq!(id, dc.cluster_id.to_string());
    assert_eq!(md.brokers[0].port, i32::from(broker.local_addr().port()));
    broker.shutdown().await;
}

#[tokio::test]
async fn create_topics_validates_like_kafka() {
    use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
    let broker = broker_with(fjord_broker::EmbeddedConfig {
        num_partitions: 4,
        ..Default::default()
    })
    .await;
    let mut client = RawClient::connect(&broker.bootstrap_servers()).await;
    let topic = |n: &str, parts: i32, rf: i16| {
        CreatableTopic::default()
            .with_name(name(n))
            .with_num_partitions(parts)
            .with_replication_factor(rf)
    };
    let good = unique("good");
    let only_validated = unique("validated");
    let req = CreateTopicsRequest::default()
        .with_timeout_ms(5000)
        .with_topics(vec![
            topic("bad/name", 1, 1),
            topic(&good, -1, -1),
            topic("bad-config", 1, 1).with_configs(vec![CreatableTopicConfig::default()
                .with_name(StrBytes::from_static_str("no.such.config"))
                .with_value(Some(StrBytes::from_static_str("1")))]),
            topic("too-many-replicas", 1, 3),
        ]);
    let resp: CreateTopicsResponse = client.call(&req, 7).await;
    let codes: Vec<i16> = resp.topics.iter().map(|t| t.error_code).collect();
    assert_eq!(codes, vec![17, 0, 40, 38]);
    assert_eq!(
        resp.topics[1].num_partitions, 4,
        "-1 means the broker default"
    );
    let req = CreateTopicsRequest::default()
        .with_validate_only(true)
        .with_topics(vec![topic(&only_validated, 2, 1)]);
    let resp: CreateTopicsResponse = client.call(&req, 7).await;
    assert_eq!(resp.topics[0].error_code, 0);
    assert!(
        broker
            .broker()
            .state()
            .topics
            .get(&only_validated)
            .is_none(),
        "validate_only created the topic"
    );
    let again: CreateTopicsResponse = client
        .call(
            &CreateTopicsRequest::default().with_topics(vec![topic(&good, 1, 1)]),
            7,
        )
        .await;
    assert_eq!(again.topics[0].error_code, 36, "TOPIC_ALREADY_EXISTS");
    broker.shutdown().await;
}

#[tokio::test]
async fn alter_configs_reject_unknown_keys_and_apply_known_ones() {
    use kafka_protocol::messages::alter_configs_request::{AlterConfigsResource, AlterableConfig};
    use kafka_protocol::messages::incremental_alter_configs_request as inc;
    let (broker, topic, mut client) = setup("alter").await;
    let res = |name: &str, value: &str| {
        AlterConfigsResource::default()
            .with_resource_type(2)
            .with_resource_name(StrBytes::from_string(topic.clone()))
            .with_configs(vec![AlterableConfig::default()
                .with_name(StrBytes::from_string(name.to_string()))
                .with_value(Some(StrBytes::from_string(value.to_string())))])
    };
    let bogus: AlterConfigsResponse = client
        .call(
            &AlterConfigsRequest::default().with_resources(vec![res("bogus.key", "1")]),
            2,
        )
        .await;
    assert_eq!(
        bogus.responses[0].error_code, 40,
        "INVALID_CONFIG for an unknown key"
    );
    let ok: AlterConfigsResponse = client
        .call(
            &AlterConfigsRequest::default().with_resources(vec![res("retention.ms", "1234")]),
            2,
        )
        .await;
    assert_eq!(ok.responses[0].error_code, 0);
    let t = broker.broker().state().topics.get(&topic).unwrap();
    assert_eq!(
        t.config().overrides.get("retention.ms").map(String::as_str),
        Some("1234")
    );

    let incremental = |op: i8, name: &str, value: &str| {
        IncrementalAlterConfigsRequest::default().with_resources(vec![
            inc::AlterConfigsResource::default()
                .with_resource_type(2)
                .with_resource_name(StrBytes::from_string(topic.clone()))
                .with_configs(vec![inc::AlterableConfig::default()
                    .with_name(StrBytes::from_string(name.to_string()))
                    .with_config_operation(op)
                    .with_value(Some(StrBytes::from_string(value.to_string())))]),
        ])
    };
    let r: IncrementalAlterConfigsResponse =
        client.call(&incremental(0, "bogus.key", "1"), 1).await;
    assert_eq!(r.responses[0].error_code, 40);
    let r: IncrementalAlterConfigsResponse = client
        .call(&incremental(2, "cleanup.policy", "compact"), 1)
        .await;
    assert_eq!(r.responses[0].error_code, 0);
    assert_eq!(
        t.config()
            .overrides
            .get("cleanup.policy")
            .map(String::as_str),
        Some("compact")
    );
    assert_eq!(
        t.config().overrides.get("retention.ms").map(String::as_str),
        Some("1234"),
        "incremental keeps other keys"
    );
    broker.shutdown().await;
}
