//! Every API at every version the broker advertises: asks ApiVersions over TCP, then for each
//! advertised (API, version) sends a valid request built with kafka-protocol at that version
//! and decodes the answer at that version. A dropped connection, a response that does not
//! decode (or leaves bytes over), a wrong correlation id, or an error code where the request
//! should succeed is a failure; all of them are collected and reported together.
//!
//! This is the test that would have caught ListOffsets v1–v3 answers failing to encode (a
//! leader epoch set where the version has none), which broke librdkafka 2.0 and kafka-python
//! 2.0. A newly advertised version is covered with no edit; a newly advertised API fails here
//! until [`exercise`] gets a request for it.
//!
//! Besides the happy path, the APIs that name topics are also asked about a topic that does
//! not exist, since error answers set fields (messages, record errors) that success leaves out.
//!
//! Frames are built here rather than with `RawClient::call`, which picks its own correlation
//! ids and panics on a dropped connection; the raw client carries the bytes
//! (`connect`, `write_raw`, `read_frame`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "api_versions_matrix/conn.rs"]
mod conn;
#[path = "api_versions_matrix/requests.rs"]
mod requests;

use bytes::{BufMut, Bytes, BytesMut};
use common::raw::{produce_req, record_batch, RawClient};
use common::*;
use conn::*;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable};
use requests::*;

/// Records in the fixture topic before the matrix runs.
const FIXTURE_RECORDS: i64 = 3;
/// The fixture records' first timestamp; they are 1 ms apart.
const FIXTURE_TS: i64 = 1_700_000_000_000;

/// Names the fixtures every request refers to.
struct Fixture {
    /// One partition holding [`FIXTURE_RECORDS`] records.
    topic: String,
    /// A topic Produce writes to, so the fixture topic's offsets stay put.
    produce_topic: String,
    /// A group with offset 2 committed for partition 0 of `topic`, and no members.
    committed_group: String,
    /// Prefix of the names this run creates.
    run: String,
}

/// Sends a valid request for `api` at `version` and checks the answer.
async fn exercise(c: &mut Conn, fx: &Fixture, api: ApiKey, v: i16) -> Result<(), String> {
    let name = |what: &str| format!("{}-{what}-v{v}", fx.run);
    let missing = name("missing");
    match api {
        ApiKey::Produce => {
            let batch = record_batch(&[b"matrix"], FIXTURE_TS);
            let resp = c
                .call(&produce_req(&fx.produce_topic, batch.clone()), v)
                .await?;
            let p = &resp.responses[0].partition_responses[0];
            ok(p.error_code, "produce")?;
            let resp = c.call(&produce_req(&missing, batch), v).await?;
            let p = &resp.responses[0].partition_responses[0];
            expect_code(p.error_code, UNKNOWN_TOPIC, "produce to a missing topic")
        }
        ApiKey::Fetch => {
            let resp = c.call(&fetch_req(&fx.topic, v), v).await?;
            let p = &resp.responses[0].partitions[0];
            ok(p.error_code, "fetch")?;
            if p.records.as_ref().is_none_or(Bytes::is_empty) {
                return Err("fetch from offset 0 returned no records".into());
            }
            let resp = c.call(&fetch_req(&missing, v), v).await?;
            expect_code(
                resp.responses[0].partitions[0].error_code,
                UNKNOWN_TOPIC,
                "fetch from a missing topic",
            )
        }
        ApiKey::ListOffsets => {
            for (ts, want) in [(-2, 0), (-1, FIXTURE_RECORDS), (FIXTURE_TS + 1, 1)] {
                let resp = c.call(&list_offsets_req(&fx.topic, ts, v), v).await?;
                let p = &resp.topics[0].partitions[0];
                ok(p.error_code, &format!("list offsets for timestamp {ts}"))?;
                if p.offset != want {
                    return Err(format!(
                        "timestamp {ts}: offset {}, expected {want}",
                        p.offset
                    ));
                }
            }
            let resp = c.call(&list_offsets_req(&missing, -1, v), v).await?;
            expect_code(
                resp.topics[0].partitions[0].error_code,
                UNKNOWN_TOPIC,
                "list offsets of a missing topic",
            )
        }
        ApiKey::Metadata => {
            let topic = metadata_request::MetadataRequestTopic::default()
                .with_name(Some(topic_name(&fx.topic)));
            let req = MetadataRequest::default().with_topics(Some(vec![topic]));
            let resp = c.call(&req, v).await?;
            ok(resp.topics[0].error_code, "metadata")?;
            if resp.topics[0].partitions.len() != 1 || resp.brokers.is_empty() {
                return Err(format!("metadata: unexpected answer {resp:?}"));
            }
            Ok(())
        }
        ApiKey::ApiVersions => {
            let mut req = ApiVersionsRequest::default();
            if v >= 3 {
                req = req
                    .with_client_software_name(s("matrix"))
                    .with_client_software_version(s("1.0"));
            }
            let resp = c.call(&req, v).await?;
            ok(resp.error_code, "api versions")?;
            if resp.api_keys.is_empty() {
                return Err("ApiVersions listed no APIs".into());
            }
            Ok(())
        }
        ApiKey::CreateTopics => {
            let resp = c.call(&create_topics_req(&name("created")), v).await?;
            ok(resp.topics[0].error_code, "create topic")?;
            let resp = c.call(&create_topics_req("bad name!"), v).await?;
            expect_code(
                resp.topics[0].error_code,
                17,
                "create a topic with an illegal name",
            )
        }
        ApiKey::DeleteTopics => {
            let doomed = name("deleted");
            let made = c.call(&create_topics_req(&doomed), 7).await?;
            ok(
                made.topics[0].error_code,
                "setup: create the topic to delete",
            )?;
            let mut req = DeleteTopicsRequest::default().with_timeout_ms(10_000);
            if v >= 6 {
                let state = delete_topics_request::DeleteTopicState::default()
                    .with_name(Some(topic_name(&doomed)));
                req = req.with_topics(vec![state]);
            } else {
                req = req.with_topic_names(vec![topic_name(&doomed)]);
            }
            let resp = c.call(&req, v).await?;
            ok(resp.responses[0].error_code, "delete topic")
        }
        ApiKey::DeleteRecords => {
            use delete_records_request::{DeleteRecordsPartition, DeleteRecordsTopic};
            let topic = |t: &str| {
                DeleteRecordsTopic::default()
                    .with_name(topic_name(t))
                    .with_partitions(vec![DeleteRecordsPartition::default()
                        .with_partition_index(0)
                        .with_offset(0)])
            };
            let req = DeleteRecordsRequest::default()
                .with_timeout_ms(10_000)
                .with_topics(vec![topic(&fx.topic), topic(&missing)]);
            let resp = c.call(&req, v).await?;
            let code = |i: usize| resp.topics[i].partitions[0].error_code;
            ok(code(0), "delete records before offset 0")?;
            expect_code(code(1), UNKNOWN_TOPIC, "delete records of a missing topic")
        }
        ApiKey::InitProducerId => {
            // An idempotent producer: a null transactional id (the codec's default is "").
            let req = InitProducerIdRequest::default()
                .with_transactional_id(None)
                .with_transaction_timeout_ms(60_000);
            let resp = c.call(&req, v).await?;
            ok(resp.error_code, "init producer id")?;
            if resp.producer_id.0 < 0 {
                return Err(format!("init producer id: id {}", resp.producer_id.0));
            }
            Ok(())
        }
        ApiKey::DescribeConfigs => {
            use describe_configs_request::DescribeConfigsResource;
            let resource = DescribeConfigsResource::default()
                .with_resource_type(2)
                .with_resource_name(s(&fx.topic));
            let req = DescribeConfigsRequest::default().with_resources(vec![resource]);
            let resp = c.call(&req, v).await?;
            ok(resp.results[0].error_code, "describe topic configs")
        }
        ApiKey::AlterConfigs => {
            use alter_configs_request::{AlterConfigsResource, AlterableConfig};
            let config = AlterableConfig::default()
                .with_name(s("retention.ms"))
                .with_value(Some(s("604800000")));
            let resource = AlterConfigsResource::default()
                .with_resource_type(2)
                .with_resource_name(s(&fx.topic))
                .with_configs(vec![config]);
            let req = AlterConfigsRequest::default()
                .with_resources(vec![resource])
                .with_validate_only(true);
            let resp = c.call(&req, v).await?;
            ok(
                resp.responses[0].error_code,
                "alter configs (validate only)",
            )
        }
        ApiKey::IncrementalAlterConfigs => {
            use incremental_alter_configs_request::{AlterConfigsResource, AlterableConfig};
            let config = AlterableConfig::default()
                .with_name(s("retention.ms"))
                .with_config_operation(0)
                .with_value(Some(s("604800000")));
            let resource = AlterConfigsResource::default()
                .with_resource_type(2)
                .with_resource_name(s(&fx.topic))
                .with_configs(vec![config]);
            let req = IncrementalAlterConfigsRequest::default()
                .with_resources(vec![resource])
                .with_validate_only(true);
            let resp = c.call(&req, v).await?;
            ok(
                resp.responses[0].error_code,
                "incremental alter configs (validate only)",
            )
        }
        ApiKey::CreatePartitions => {
            use create_partitions_request::CreatePartitionsTopic;
            let topic = CreatePartitionsTopic::default()
                .with_name(topic_name(&fx.topic))
                .with_count(2);
            let req = CreatePartitionsRequest::default()
                .with_topics(vec![topic])
                .with_timeout_ms(10_000)
                .with_validate_only(true);
            let resp = c.call(&req, v).await?;
            ok(
                resp.results[0].error_code,
                "create partitions (validate only)",
            )
        }
        ApiKey::DescribeCluster => {
            let resp = c.call(&DescribeClusterRequest::default(), v).await?;
            ok(resp.error_code, "describe cluster")?;
            if resp.brokers.is_empty() {
                return Err("describe cluster listed no broker".into());
            }
            Ok(())
        }
        ApiKey::DescribeLogDirs => {
            use describe_log_dirs_request::DescribableLogDirTopic;
            let topic = DescribableLogDirTopic::default()
                .with_topic(topic_name(&fx.topic))
                .with_partitions(vec![0]);
            let req = DescribeLogDirsRequest::default().with_topics(Some(vec![topic]));
            let resp = c.call(&req, v).await?;
            let dir = resp
                .results
                .first()
                .ok_or("describe log dirs: no log dir")?;
            ok(dir.error_code, "describe log dirs")
        }
        ApiKey::FindCoordinator => {
            let mut req = FindCoordinatorRequest::default();
            if v >= 4 {
                req = req.with_coordinator_keys(vec![s(&fx.committed_group)]);
            } else {
                req = req.with_key(s(&fx.committed_group));
            }
            let resp = c.call(&req, v).await?;
            let code = match resp.coordinators.first() {
                Some(coordinator) if v >= 4 => coordinator.error_code,
                None if v >= 4 => return Err("find coordinator v4+: no coordinator".into()),
                _ => resp.error_code,
            };
            ok(code, "find coordinator")
        }
        ApiKey::JoinGroup => {
            let group = name("join");
            let (member, _generation) = join(c, &group, v).await?;
            leave(c, &group, &member).await
        }
        ApiKey::SyncGroup => {
            let group = name("sync");
            let (member, generation) = join(c, &group, 9).await?;
            let resp = c.call(&sync_req(&group, &member, generation, v), v).await?;
            ok(resp.error_code, "sync group")?;
            if resp.assignment.is_empty() {
                return Err("sync group: the leader's own assignment came back empty".into());
            }
            leave(c, &group, &member).await
        }
        ApiKey::Heartbeat => {
            let group = name("heartbeat");
            let (member, generation) = join(c, &group, 9).await?;
            let synced = c.call(&sync_req(&group, &member, generation, 5), 5).await?;
            ok(synced.error_code, "setup: sync group")?;
            let req = HeartbeatRequest::default()
                .with_group_id(group_id(&group))
                .with_generation_id(generation)
                .with_member_id(s(&member));
            let resp = c.call(&req, v).await?;
            ok(resp.error_code, "heartbeat")?;
            leave(c, &group, &member).await
        }
        ApiKey::LeaveGroup => {
            let group = name("leave");
            let (member, _) = join(c, &group, 9).await?;
            let mut req = LeaveGroupRequest::default().with_group_id(group_id(&group));
            if v >= 3 {
                let identity =
                    leave_group_request::MemberIdentity::default().with_member_id(s(&member));
                req = req.with_members(vec![identity]);
            } else {
                req = req.with_member_id(s(&member));
            }
            let resp = c.call(&req, v).await?;
            ok(resp.error_code, "leave group")?;
            match resp.members.first() {
                Some(m) if v >= 3 => ok(m.error_code, "leave group member"),
                None if v >= 3 => Err("leave group v3+: no member result".into()),
                _ => Ok(()),
            }
        }
        ApiKey::OffsetCommit => {
            let group = name("commit");
            let resp = c.call(&commit_req(&group, &fx.topic, 1), v).await?;
            ok(resp.topics[0].partitions[0].error_code, "offset commit")?;
            let resp = c.call(&commit_req(&group, &missing, 1), v).await?;
            expect_code(
                resp.topics[0].partitions[0].error_code,
                UNKNOWN_TOPIC,
                "offset commit for a missing topic",
            )
        }
        ApiKey::OffsetFetch => {
            let resp = c
                .call(&offset_fetch_req(&fx.committed_group, &fx.topic, v), v)
                .await?;
            let (code, offset) = if v >= 8 {
                let group = resp.groups.first().ok_or("offset fetch v8+: no group")?;
                ok(group.error_code, "offset fetch group")?;
                let p = &group.topics[0].partitions[0];
                (p.error_code, p.committed_offset)
            } else {
                ok(resp.error_code, "offset fetch")?;
                let p = &resp.topics[0].partitions[0];
                (p.error_code, p.committed_offset)
            };
            ok(code, "offset fetch partition")?;
            if offset != 2 {
                return Err(format!(
                    "offset fetch: committed offset {offset}, expected 2"
                ));
            }
            Ok(())
        }
        ApiKey::ListGroups => {
            let resp = c.call(&ListGroupsRequest::default(), v).await?;
            ok(resp.error_code, "list groups")?;
            let listed = resp
                .groups
                .iter()
                .any(|g| g.group_id.as_str() == fx.committed_group);
            if !listed {
                return Err(format!("list groups: {} missing", fx.committed_group));
            }
            Ok(())
        }
        ApiKey::DescribeGroups => {
            let req =
                DescribeGroupsRequest::default().with_groups(vec![group_id(&fx.committed_group)]);
            let resp = c.call(&req, v).await?;
            ok(resp.groups[0].error_code, "describe groups")
        }
        ApiKey::DeleteGroups => {
            let group = name("deleted-group");
            let made = c.call(&commit_req(&group, &fx.topic, 1), 8).await?;
            ok(
                made.topics[0].partitions[0].error_code,
                "setup: commit an offset",
            )?;
            let req = DeleteGroupsRequest::default().with_groups_names(vec![group_id(&group)]);
            let resp = c.call(&req, v).await?;
            ok(resp.results[0].error_code, "delete an empty group")
        }
        ApiKey::OffsetDelete => {
            use offset_delete_request::{OffsetDeleteRequestPartition, OffsetDeleteRequestTopic};
            let group = name("offset-delete");
            let made = c.call(&commit_req(&group, &fx.topic, 1), 8).await?;
            ok(
                made.topics[0].partitions[0].error_code,
                "setup: commit an offset",
            )?;
            let topic = OffsetDeleteRequestTopic::default()
                .with_name(topic_name(&fx.topic))
                .with_partitions(vec![
                    OffsetDeleteRequestPartition::default().with_partition_index(0)
                ]);
            let req = OffsetDeleteRequest::default()
                .with_group_id(group_id(&group))
                .with_topics(vec![topic]);
            let resp = c.call(&req, v).await?;
            ok(resp.error_code, "offset delete")?;
            ok(
                resp.topics[0].partitions[0].error_code,
                "offset delete partition",
            )
        }
        ApiKey::ConsumerGroupHeartbeat => {
            let group = name("kip848");
            let member = unique("member");
            let join = ConsumerGroupHeartbeatRequest::default()
                .with_group_id(group_id(&group))
                .with_member_id(s(&member))
                .with_member_epoch(0)
                .with_rebalance_timeout_ms(30_000)
                .with_subscribed_topic_names(Some(vec![topic_name(&fx.topic)]))
                .with_topic_partitions(Some(vec![]));
            let resp = c.call(&join, v).await?;
            ok(resp.error_code, "consumer group heartbeat (join)")?;
            if resp.member_epoch < 1 {
                return Err(format!("joined with member epoch {}", resp.member_epoch));
            }
            let described = c
                .call(
                    &ConsumerGroupDescribeRequest::default().with_group_ids(vec![group_id(&group)]),
                    1,
                )
                .await?;
            ok(
                described.groups[0].error_code,
                "setup check: describe the new group",
            )?;
            let leave = ConsumerGroupHeartbeatRequest::default()
                .with_group_id(group_id(&group))
                .with_member_id(s(&member))
                .with_member_epoch(-1);
            let resp = c.call(&leave, v).await?;
            ok(resp.error_code, "consumer group heartbeat (leave)")
        }
        ApiKey::ConsumerGroupDescribe => {
            let group = name("kip848-described");
            let member = unique("member");
            let join = ConsumerGroupHeartbeatRequest::default()
                .with_group_id(group_id(&group))
                .with_member_id(s(&member))
                .with_member_epoch(0)
                .with_rebalance_timeout_ms(30_000)
                .with_subscribed_topic_names(Some(vec![topic_name(&fx.topic)]))
                .with_topic_partitions(Some(vec![]));
            ok(
                c.call(&join, 1).await?.error_code,
                "setup: join a KIP-848 group",
            )?;
            let req =
                ConsumerGroupDescribeRequest::default().with_group_ids(vec![group_id(&group)]);
            let resp = c.call(&req, v).await?;
            ok(resp.groups[0].error_code, "consumer group describe")?;
            if resp.groups[0].members.len() != 1 {
                return Err(format!(
                    "described {} members, expected 1",
                    resp.groups[0].members.len()
                ));
            }
            Ok(())
        }
        other => Err(format!(
            "the broker advertises {other:?}, which this test has no request for: add one to \
             `exercise` in tests/api_versions_matrix.rs"
        )),
    }
}

/// The APIs and version ranges the broker advertises, asked over TCP as a client would.
async fn advertised(c: &mut Conn) -> Vec<(i16, i16, i16)> {
    let req = ApiVersionsRequest::default()
        .with_client_software_name(s("matrix"))
        .with_client_software_version(s("1.0"));
    let resp = c.call(&req, 3).await.expect("ApiVersions v3");
    assert_eq!(resp.error_code, 0, "ApiVersions v3 error");
    resp.api_keys
        .iter()
        .map(|k| (k.api_key, k.min_version, k.max_version))
        .collect()
}

async fn fixture(bootstrap: &str, c: &mut Conn) -> Fixture {
    let run = unique("matrix");
    let fx = Fixture {
        topic: format!("{run}-topic"),
        produce_topic: format!("{run}-produced"),
        committed_group: format!("{run}-committed"),
        run,
    };
    create_topic(bootstrap, &fx.topic, 1, &[]).await;
    create_topic(bootstrap, &fx.produce_topic, 1, &[]).await;
    let values: Vec<Vec<u8>> = (0..FIXTURE_RECORDS)
        .map(|i| format!("r{i}").into_bytes())
        .collect();
    let values: Vec<&[u8]> = values.iter().map(Vec::as_slice).collect();
    let resp = c
        .call(
            &produce_req(&fx.topic, record_batch(&values, FIXTURE_TS)),
            9,
        )
        .await
        .expect("setup: produce the fixture records");
    assert_eq!(resp.responses[0].partition_responses[0].error_code, 0);
    let resp = c
        .call(&commit_req(&fx.committed_group, &fx.topic, 2), 8)
        .await
        .expect("setup: commit the fixture offset");
    assert_eq!(resp.topics[0].partitions[0].error_code, 0);
    fx
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_advertised_api_and_version_answers_at_that_version() {
    let broker = broker().await;
    let bootstrap = broker.bootstrap_servers();
    let mut c = Conn {
        addr: bootstrap.clone(),
        client: None,
        correlation: 0,
    };
    let apis = advertised(&mut c).await;
    assert!(
        apis.len() > 20,
        "suspiciously few APIs advertised: {apis:?}"
    );
    let fx = fixture(&bootstrap, &mut c).await;
    let mut failures = Vec::new();
    let mut cases = 0;
    for &(key, min, max) in &apis {
        let Ok(api) = ApiKey::try_from(key) else {
            failures.push(format!(
                "API key {key} is advertised but Kafka defines no such API"
            ));
            continue;
        };
        for v in min..=max {
            cases += 1;
            if let Err(e) = exercise(&mut c, &fx, api, v).await {
                failures.push(format!("{api:?} v{v}: {e}"));
            }
        }
    }
    broker.shutdown().await;
    assert!(
        failures.is_empty(),
        "{} of {cases} advertised (API, version) pairs failed:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
    assert!(cases > 100, "only {cases} cases ran");
}

/// An ApiVersions request newer than any we serve gets a v0 answer with UNSUPPORTED_VERSION
/// and our ranges, so the client can retry at a version we have.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_versions_newer_than_served_gets_a_v0_answer() {
    let broker = broker().await;
    let mut c = Conn {
        addr: broker.bootstrap_servers(),
        client: None,
        correlation: 0,
    };
    let max = advertised(&mut c)
        .await
        .iter()
        .find(|(k, _, _)| *k == ApiKey::ApiVersions as i16)
        .map(|&(_, _, max)| max)
        .expect("ApiVersions advertises itself");
    let header = RequestHeader::default()
        .with_request_api_key(ApiKey::ApiVersions as i16)
        .with_request_api_version(max + 1)
        .with_correlation_id(4242)
        .with_client_id(Some(s("matrix")));
    let mut buf = BytesMut::new();
    buf.put_i32(0);
    header.encode(&mut buf, 2).unwrap();
    // The body of a version we do not know is opaque to us; send a v3-shaped one.
    ApiVersionsRequest::default()
        .with_client_software_name(s("matrix"))
        .with_client_software_version(s("1.0"))
        .encode(&mut buf, 3)
        .unwrap();
    let len = (buf.len() - 4) as i32;
    buf[..4].copy_from_slice(&len.to_be_bytes());
    let mut raw = RawClient::connect(&broker.bootstrap_servers()).await;
    raw.write_raw(&buf).await.unwrap();
    let mut frame = tokio::time::timeout(RESPONSE_DEADLINE, raw.read_frame())
        .await
        .expect("an answer in time")
        .expect("an answer, not a closed connection");
    let header = ResponseHeader::decode(&mut frame, 0).unwrap();
    assert_eq!(header.correlation_id, 4242);
    let resp = ApiVersionsResponse::decode(&mut frame, 0).unwrap();
    assert_eq!(resp.error_code, 35, "UNSUPPORTED_VERSION");
    assert!(!resp.api_keys.is_empty());
    broker.shutdown().await;
}

/// The README's "Supported Kafka APIs" table lists exactly what ApiVersions advertises, by
/// name, key and version range.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_table_matches_api_versions() {
    let readme =
        std::fs::read_to_string(common::python::repo_root().join("README.md")).expect("README.md");
    let section = readme
        .split("\n## ")
        .find(|s| s.starts_with("Supported Kafka APIs"))
        .expect("a 'Supported Kafka APIs' section in README.md");
    let mut documented: Vec<(String, i16, i16, i16)> = section
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| API "))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let (name, key, versions) = (cells[1], cells[2], cells[3]);
            let (min, max) = versions.split_once('–').unwrap_or((versions, versions));
            let num = |v: &str| {
                v.parse::<i16>()
                    .unwrap_or_else(|_| panic!("README row {l:?}"))
            };
            (name.to_string(), num(key), num(min), num(max))
        })
        .collect();
    documented.sort_by_key(|d| d.1);

    let broker = broker().await;
    let mut c = Conn {
        addr: broker.bootstrap_servers(),
        client: None,
        correlation: 0,
    };
    let mut advertised: Vec<(String, i16, i16, i16)> = advertised(&mut c)
        .await
        .into_iter()
        .map(|(key, min, max)| {
            let name = ApiKey::try_from(key).map_or_else(|_| key.to_string(), |k| format!("{k:?}"));
            (name, key, min, max)
        })
        .collect();
    advertised.sort_by_key(|a| a.1);
    broker.shutdown().await;
    assert_eq!(
        documented, advertised,
        "README.md's API table (left) differs from what ApiVersions advertises (right)"
    );
}
