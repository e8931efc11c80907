//! Requests the matrix sends, valid at the version asked for (fields that a version does not
//! have are left at their defaults), and the group steps several cases share.

use bytes::Bytes;
use kafka_protocol::messages::*;

use super::conn::{expect_code, group_id, ok, s, topic_name, Conn};

pub fn fetch_req(topic: &str, v: i16) -> FetchRequest {
    use fetch_request::{FetchPartition, FetchTopic};
    let mut partition = FetchPartition::default()
        .with_partition(0)
        .with_fetch_offset(0)
        .with_partition_max_bytes(1 << 20);
    if v >= 5 {
        partition = partition.with_log_start_offset(-1);
    }
    let mut req = FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(0)
        .with_min_bytes(1)
        .with_max_bytes(1 << 20)
        .with_topics(vec![FetchTopic::default()
            .with_topic(topic_name(topic))
            .with_partitions(vec![partition])]);
    if v >= 7 {
        // A full fetch with no session, as librdkafka and kafka-python send it.
        req = req.with_session_id(0).with_session_epoch(-1);
    }
    req
}

pub fn list_offsets_req(topic: &str, timestamp: i64, _v: i16) -> ListOffsetsRequest {
    use list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
    ListOffsetsRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_topics(vec![ListOffsetsTopic::default()
            .with_name(topic_name(topic))
            .with_partitions(vec![ListOffsetsPartition::default()
                .with_partition_index(0)
                .with_timestamp(timestamp)])])
}

pub fn create_topics_req(name: &str) -> CreateTopicsRequest {
    use create_topics_request::CreatableTopic;
    CreateTopicsRequest::default()
        .with_timeout_ms(10_000)
        .with_topics(vec![CreatableTopic::default()
            .with_name(topic_name(name))
            .with_num_partitions(1)
            .with_replication_factor(1)])
}

pub fn commit_req(group: &str, topic: &str, offset: i64) -> OffsetCommitRequest {
    use offset_commit_request::{OffsetCommitRequestPartition, OffsetCommitRequestTopic};
    OffsetCommitRequest::default()
        .with_group_id(group_id(group))
        .with_generation_id_or_member_epoch(-1)
        .with_topics(vec![OffsetCommitRequestTopic::default()
            .with_name(topic_name(topic))
            .with_partitions(vec![OffsetCommitRequestPartition::default()
                .with_partition_index(0)
                .with_committed_offset(offset)
                .with_committed_metadata(Some(s("matrix")))])])
}

pub fn offset_fetch_req(group: &str, topic: &str, v: i16) -> OffsetFetchRequest {
    use offset_fetch_request::{
        OffsetFetchRequestGroup, OffsetFetchRequestTopic, OffsetFetchRequestTopics,
    };
    if v >= 8 {
        let topics = OffsetFetchRequestTopics::default()
            .with_name(topic_name(topic))
            .with_partition_indexes(vec![0]);
        let mut g = OffsetFetchRequestGroup::default()
            .with_group_id(group_id(group))
            .with_topics(Some(vec![topics]));
        if v >= 9 {
            g = g.with_member_epoch(-1);
        }
        OffsetFetchRequest::default().with_groups(vec![g])
    } else {
        let topics = OffsetFetchRequestTopic::default()
            .with_name(topic_name(topic))
            .with_partition_indexes(vec![0]);
        OffsetFetchRequest::default()
            .with_group_id(group_id(group))
            .with_topics(Some(vec![topics]))
    }
}

/// Joins `group` alone at `version` (again with the member id from v4, which first answers
/// MEMBER_ID_REQUIRED); returns the member id and generation.
pub async fn join(c: &mut Conn, group: &str, version: i16) -> Result<(String, i32), String> {
    let protocol = join_group_request::JoinGroupRequestProtocol::default()
        .with_name(s("range"))
        .with_metadata(Bytes::from_static(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
    let mut req = JoinGroupRequest::default()
        .with_group_id(group_id(group))
        .with_session_timeout_ms(30_000)
        .with_protocol_type(s("consumer"))
        .with_protocols(vec![protocol]);
    if version >= 1 {
        req = req.with_rebalance_timeout_ms(30_000);
    }
    let mut resp = c.call(&req, version).await?;
    if version >= 4 {
        expect_code(
            resp.error_code,
            79,
            "first join from v4 (MEMBER_ID_REQUIRED)",
        )?;
        req = req.with_member_id(resp.member_id.clone());
        resp = c.call(&req, version).await?;
    }
    ok(resp.error_code, &format!("join group at v{version}"))?;
    if resp.leader != resp.member_id || resp.members.len() != 1 {
        return Err(format!("a lone member should lead its group: {resp:?}"));
    }
    Ok((resp.member_id.to_string(), resp.generation_id))
}

pub fn sync_req(group: &str, member: &str, generation: i32, v: i16) -> SyncGroupRequest {
    let assignment = sync_group_request::SyncGroupRequestAssignment::default()
        .with_member_id(s(member))
        .with_assignment(Bytes::from_static(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
    let mut req = SyncGroupRequest::default()
        .with_group_id(group_id(group))
        .with_generation_id(generation)
        .with_member_id(s(member))
        .with_assignments(vec![assignment]);
    if v >= 5 {
        req = req
            .with_protocol_type(Some(s("consumer")))
            .with_protocol_name(Some(s("range")));
    }
    req
}

/// Leaves `group` at the newest version, so groups do not linger into later cases.
pub async fn leave(c: &mut Conn, group: &str, member: &str) -> Result<(), String> {
    let identity = leave_group_request::MemberIdentity::default().with_member_id(s(member));
    let req = LeaveGroupRequest::default()
        .with_group_id(group_id(group))
        .with_members(vec![identity]);
    ok(c.call(&req, 5).await?.error_code, "cleanup: leave group")
}
