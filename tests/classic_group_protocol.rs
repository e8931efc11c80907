//! The classic group protocol at the wire: raw JoinGroup, SyncGroup, Heartbeat and
//! OffsetCommit requests, for the rules where a test needs the broker's exact answers (error
//! codes, generations, leader ids) rather than what a client library makes of them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use rdkafka::consumer::{BaseConsumer, Consumer};

/// Raw classic-group requests, for the tests that need the broker's exact answers.
mod raw_group {
    use bytes::Bytes;
    use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
    use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
    use kafka_protocol::messages::{GroupId, JoinGroupRequest, SyncGroupRequest};
    use kafka_protocol::protocol::StrBytes;

    fn s(v: &str) -> StrBytes {
        StrBytes::from_string(v.to_string())
    }

    /// A JoinGroup of the "consumer" type with one protocol, "range".
    pub fn join(group: &str, member: &str, instance: Option<&str>) -> JoinGroupRequest {
        JoinGroupRequest::default()
            .with_group_id(GroupId(s(group)))
            .with_session_timeout_ms(30_000)
            .with_rebalance_timeout_ms(30_000)
            .with_member_id(s(member))
            .with_group_instance_id(instance.map(s))
            .with_protocol_type(StrBytes::from_static_str("consumer"))
            .with_protocols(vec![JoinGroupRequestProtocol::default()
                .with_name(StrBytes::from_static_str("range"))
                .with_metadata(Bytes::from_static(b"m"))])
    }

    /// A SyncGroup; the leader's carries `assignments` (member id, assignment).
    pub fn sync(
        group: &str,
        member: &str,
        instance: Option<&str>,
        generation: i32,
        assignments: &[(&str, &'static [u8])],
    ) -> SyncGroupRequest {
        SyncGroupRequest::default()
            .with_group_id(GroupId(s(group)))
            .with_generation_id(generation)
            .with_member_id(s(member))
            .with_group_instance_id(instance.map(s))
            .with_assignments(
                assignments
                    .iter()
                    .map(|(id, a)| {
                        SyncGroupRequestAssignment::default()
                            .with_member_id(s(id))
                            .with_assignment(Bytes::from_static(a))
                    })
                    .collect(),
            )
    }
}

/// Kafka's rule for an OffsetCommit from a member while its group rebalances: while the group
/// waits for members to rejoin (PreparingRebalance) the member's generation is still the
/// group's, and the commit is taken (so a consumer can commit what it processed before it
/// revokes); only once the join is complete and the assignment pending (CompletingRebalance)
/// does it get REBALANCE_IN_PROGRESS. librdkafka's 0113 asserts the first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offset_commits_during_a_rebalance_follow_kafkas_rules() {
    use kafka_protocol::messages::offset_commit_request::{
        OffsetCommitRequestPartition, OffsetCommitRequestTopic,
    };
    use kafka_protocol::messages::{
        GroupId, JoinGroupRequest, JoinGroupResponse, OffsetCommitRequest, OffsetCommitResponse,
        SyncGroupResponse,
    };
    use kafka_protocol::protocol::StrBytes;

    let broker = fjord_broker::EmbeddedBroker::start(group_broker_config())
        .await
        .unwrap();
    let bs = broker.bootstrap_servers();
    let topic = unique("commit-rebalance");
    create_topic(&bs, &topic, 1, &[]).await;
    let group = unique("g");
    let join = |member: &str| raw_group::join(&group, member, None);
    let commit = |member: &str, generation: i32, offset: i64| {
        OffsetCommitRequest::default()
            .with_group_id(GroupId(StrBytes::from_string(group.clone())))
            .with_generation_id_or_member_epoch(generation)
            .with_member_id(StrBytes::from_string(member.to_string()))
            .with_topics(vec![OffsetCommitRequestTopic::default()
                .with_name(kafka_protocol::messages::TopicName(StrBytes::from_string(
                    topic.clone(),
                )))
                .with_partitions(vec![OffsetCommitRequestPartition::default()
                    .with_partition_index(0)
                    .with_committed_offset(offset)])])
    };
    let commit_error = |r: OffsetCommitResponse| r.topics[0].partitions[0].error_code;

    // A joins (v4+: first MEMBER_ID_REQUIRED, then with the id) and syncs: Stable, generation 1.
    let mut a = common::raw::RawClient::connect(&bs).await;
    let first: JoinGroupResponse = a.call(&join(""), 7).await;
    assert_eq!(first.error_code, 79, "MEMBER_ID_REQUIRED");
    let a_id = first.member_id.to_string();
    let joined: JoinGroupResponse = a.call(&join(&a_id), 7).await;
    assert_eq!(joined.error_code, 0);
    let generation = joined.generation_id;
    let synced: SyncGroupResponse = a
        .call(
            &raw_group::sync(&group, &a_id, None, generation, &[(&a_id, b"a")]),
            5,
        )
        .await;
    assert_eq!(synced.error_code, 0);
    assert_eq!(
        commit_error(a.call(&commit(&a_id, generation, 5), 8).await),
        0
    );

    // B asks to join: the group prepares a rebalance and waits for A to rejoin. A's commit
    // with the generation it has is still taken.
    let mut b = common::raw::RawClient::connect(&bs).await;
    let b_first: JoinGroupResponse = b.call(&join(""), 7).await;
    let b_id = b_first.member_id.to_string();
    b.send(&join(&b_id), 7).await;
    wait_for_group_state(&bs, &group, "PreparingRebalance").await;
    assert_eq!(
        commit_error(a.call(&commit(&a_id, generation, 7), 8).await),
        0,
        "a commit while the group waits for rejoins is taken"
    );

    // A rejoins: the join completes (CompletingRebalance) and until the leader syncs, a
    // commit with the new generation gets REBALANCE_IN_PROGRESS, one with the old
    // ILLEGAL_GENERATION.
    let a_rejoined: JoinGroupResponse = a.call(&join(&a_id), 7).await;
    let b_joined = b.receive::<JoinGroupRequest>(7).await;
    assert_eq!((a_rejoined.error_code, b_joined.error_code), (0, 0));
    let next = a_rejoined.generation_id;
    assert_eq!(next, generation + 1);
    assert_eq!(commit_error(a.call(&commit(&a_id, next, 8), 8).await), 27);
    assert_eq!(
        commit_error(a.call(&commit(&a_id, generation, 8), 8).await),
        22
    );

    // The stored offset is the one taken during the rebalance.
    let consumer: BaseConsumer = client_config(&bs).set("group.id", &group).create().unwrap();
    let mut tpl = rdkafka::TopicPartitionList::new();
    tpl.add_partition(&topic, 0);
    let committed = consumer
        .committed_offsets(tpl, Duration::from_secs(10))
        .unwrap();
    assert_eq!(
        committed.find_partition(&topic, 0).unwrap().offset(),
        rdkafka::Offset::Offset(7)
    );
    drop(committed);
    close(consumer);
    drop((a, b));
    broker.shutdown().await;
}

/// KIP-345 as Kafka does it: a static member that restarts (a JoinGroup with its
/// group.instance.id and no member id) takes its old place in a stable group without a
/// rebalance: the others keep their generation, and it gets back its assignment, even when it
/// was the leader. librdkafka's 0102 asserts that the other member sees no rebalance.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_static_member_rejoins_without_a_rebalance() {
    use kafka_protocol::messages::{
        GroupId, HeartbeatRequest, HeartbeatResponse, JoinGroupRequest, JoinGroupResponse,
        SyncGroupResponse,
    };
    use kafka_protocol::protocol::StrBytes;

    let broker = fjord_broker::EmbeddedBroker::start(group_broker_config())
        .await
        .unwrap();
    let bs = broker.bootstrap_servers();
    let group = unique("static");
    let mut a = common::raw::RawClient::connect(&bs).await;
    let mut b = common::raw::RawClient::connect(&bs).await;

    // Static members i1 (the first, so the leader) and i2 join one generation.
    let a_joined: JoinGroupResponse = a.call(&raw_group::join(&group, "", Some("i1")), 7).await;
    assert_eq!(a_joined.error_code, 0);
    let a_id = a_joined.member_id.to_string();
    let a_sync = raw_group::sync(&group, &a_id, Some("i1"), a_joined.generation_id, &[]);
    let a_synced: SyncGroupResponse = a.call(&a_sync, 5).await;
    assert_eq!(a_synced.error_code, 0);
    b.send(&raw_group::join(&group, "", Some("i2")), 7).await;
    wait_for_group_state(&bs, &group, "PreparingRebalance").await;
    // The leader learns of the rebalance from its heartbeat and rejoins.
    let heartbeat = |id: &str, instance: &str, generation: i32| {
        HeartbeatRequest::default()
            .with_group_id(GroupId(StrBytes::from_string(group.clone())))
            .with_member_id(StrBytes::from_string(id.to_string()))
            .with_group_instance_id(Some(StrBytes::from_string(instance.to_string())))
            .with_generation_id(generation)
    };
    let hb: HeartbeatResponse = a
        .call(&heartbeat(&a_id, "i1", a_joined.generation_id), 4)
        .await;
    assert_eq!(hb.error_code, 27, "REBALANCE_IN_PROGRESS");
    let a_rejoined: JoinGroupResponse =
        a.call(&raw_group::join(&group, &a_id, Some("i1")), 7).await;
    let b_joined = b.receive::<JoinGroupRequest>(7).await;
    let generation = a_rejoined.generation_id;
    assert_eq!(a_rejoined.leader, a_rejoined.member_id, "i1 leads");
    let b_id = b_joined.member_id.to_string();
    b.send(
        &raw_group::sync(&group, &b_id, Some("i2"), generation, &[]),
        5,
    )
    .await;
    let assignments = [
        (a_id.as_str(), &b"for-i1"[..]),
        (b_id.as_str(), &b"for-i2"[..]),
    ];
    let a_sync = raw_group::sync(&group, &a_id, Some("i1"), generation, &assignments);
    let a_synced: SyncGroupResponse = a.call(&a_sync, 5).await;
    let b_synced = b
        .receive::<kafka_protocol::messages::SyncGroupRequest>(5)
        .await;
    assert_eq!(&a_synced.assignment[..], b"for-i1");
    assert_eq!(&b_synced.assignment[..], b"for-i2");

    // i1 restarts: a new connection, no member id. It gets a new id in the same generation,
    // is told the old leader id (so it does not compute an assignment) and syncs as a
    // follower to get its old assignment back.
    drop(a);
    let mut a = common::raw::RawClient::connect(&bs).await;
    let back: JoinGroupResponse = a.call(&raw_group::join(&group, "", Some("i1")), 7).await;
    assert_eq!(back.error_code, 0);
    assert_eq!(back.generation_id, generation, "no new generation");
    assert_ne!(back.member_id.to_string(), a_id);
    assert_eq!(
        back.leader.to_string(),
        a_id,
        "told the leader id from before"
    );
    assert!(back.members.is_empty());
    let new_id = back.member_id.to_string();
    let resync: SyncGroupResponse = a
        .call(
            &raw_group::sync(&group, &new_id, Some("i1"), generation, &[]),
            5,
        )
        .await;
    assert_eq!(resync.error_code, 0);
    assert_eq!(&resync.assignment[..], b"for-i1");

    // i2 saw nothing: its heartbeat in the same generation is fine; the old id of i1 is gone.
    let hb: HeartbeatResponse = b.call(&heartbeat(&b_id, "i2", generation), 4).await;
    assert_eq!(hb.error_code, 0, "no rebalance for the other member");
    let hb: HeartbeatResponse = a.call(&heartbeat(&new_id, "i1", generation), 4).await;
    assert_eq!(hb.error_code, 0);
    let hb: HeartbeatResponse = a.call(&heartbeat(&a_id, "i1", generation), 4).await;
    assert_eq!(
        hb.error_code, 82,
        "FENCED_INSTANCE_ID for the replaced identity"
    );
    drop((a, b));
    broker.shutdown().await;
}
