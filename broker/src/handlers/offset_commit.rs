//! OffsetCommit: store a group's consumed positions (with their metadata) durably.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::{OffsetCommitRequest, OffsetCommitResponse};

use super::RequestContext;
use crate::coordinator::committed;

/// Handles an OffsetCommit request.
pub async fn handle(ctx: &RequestContext<'_>, req: OffsetCommitRequest) -> OffsetCommitResponse {
    let state = ctx.state;
    let coordinator = &state.groups;
    // Per-partition checks first; the rest is committed in one go.
    let mut codes: Vec<Vec<Option<ResponseError>>> = Vec::with_capacity(req.topics.len());
    let mut accepted = Vec::new();
    for t in &req.topics {
        let topic = state.topics.get(&t.name);
        let mut topic_codes = Vec::with_capacity(t.partitions.len());
        for p in &t.partitions {
            let meta_len = p.committed_metadata.as_ref().map_or(0, |m| m.len());
            let code = if req.group_id.is_empty() {
                Some(ResponseError::InvalidGroupId)
            } else if topic
                .as_ref()
                .and_then(|t| t.partition(p.partition_index))
                .is_none()
            {
                Some(ResponseError::UnknownTopicOrPartition)
            } else if meta_len > coordinator.max_metadata_bytes() {
                Some(ResponseError::OffsetMetadataTooLarge)
            } else {
                accepted.push((
                    t.name.to_string(),
                    p.partition_index,
                    committed(
                        p.committed_offset,
                        p.committed_leader_epoch,
                        p.committed_metadata.as_deref(),
                    ),
                ));
                None
            };
            topic_codes.push(code);
        }
        codes.push(topic_codes);
    }
    let group_error = if accepted.is_empty() {
        None
    } else {
        coordinator
            .commit(
                &req.group_id,
                req.generation_id_or_member_epoch,
                &req.member_id,
                req.group_instance_id.as_deref(),
                accepted,
            )
            .await
            .err()
            .map(|e| e.code())
    };
    let topics = req
        .topics
        .into_iter()
        .zip(codes)
        .map(|(t, topic_codes)| {
            let partitions = t
                .partitions
                .iter()
                .zip(topic_codes)
                .map(|(p, code)| {
                    let code = code.or(group_error);
                    OffsetCommitResponsePartition::default()
                        .with_partition_index(p.partition_index)
                        .with_error_code(code.map_or(0, |e| e.code()))
                })
                .collect();
            OffsetCommitResponseTopic::default()
                .with_name(t.name)
                .with_partitions(partitions)
        })
        .collect();
    OffsetCommitResponse::default().with_topics(topics)
}
