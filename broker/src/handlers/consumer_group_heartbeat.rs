//! ConsumerGroupHeartbeat (KIP-848): join, stay, change subscription, or leave a consumer
//! group whose assignment the broker computes.

use std::collections::BTreeSet;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::consumer_group_heartbeat_response::{Assignment, TopicPartitions};
use kafka_protocol::messages::{ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse};
use kafka_protocol::protocol::StrBytes;

use super::RequestContext;
use crate::coordinator::Heartbeat;

/// Handles a ConsumerGroupHeartbeat request.
pub fn handle(
    ctx: &RequestContext<'_>,
    req: ConsumerGroupHeartbeatRequest,
) -> ConsumerGroupHeartbeatResponse {
    let state = ctx.state;
    let interval =
        i32::try_from(state.groups.consumer_heartbeat_interval().as_millis()).unwrap_or(5000);
    let mut resp = ConsumerGroupHeartbeatResponse::default().with_heartbeat_interval_ms(interval);
    if req.group_id.is_empty() {
        resp.error_code = ResponseError::InvalidRequest.code();
        resp.error_message = Some(StrBytes::from_static_str("group id must not be empty"));
        return resp;
    }
    if ctx.version >= 1 && req.member_id.is_empty() {
        resp.error_code = ResponseError::InvalidRequest.code();
        resp.error_message = Some(StrBytes::from_static_str("member id must be set from v1"));
        return resp;
    }
    let hb = Heartbeat {
        member_id: req.member_id.to_string(),
        member_epoch: req.member_epoch,
        instance_id: req.instance_id.map(|s| s.to_string()),
        rack_id: req.rack_id.map(|s| s.to_string()),
        subscriptions: req
            .subscribed_topic_names
            .map(|names| names.iter().map(|n| n.to_string()).collect()),
        assignor: req.server_assignor.map(|s| s.to_string()),
        owned: req.topic_partitions.map(|tps| {
            tps.iter()
                .flat_map(|tp| tp.partitions.iter().map(move |p| (tp.topic_id, *p)))
                .collect::<BTreeSet<_>>()
        }),
        client_id: ctx.client_id.clone(),
        client_host: ctx.client_host.clone(),
    };
    let topics = &state.topics;
    let metadata = |name: &str| topics.get(name).map(|t| (t.id, t.partition_count()));
    match state
        .groups
        .consumer_heartbeat(&req.group_id, hb, &metadata)
    {
        Ok(reply) => {
            resp.member_id = Some(StrBytes::from_string(reply.member_id));
            resp.member_epoch = reply.member_epoch;
            resp.assignment = reply.assignment.map(|set| {
                let mut by_topic: Vec<TopicPartitions> = Vec::new();
                for (topic_id, p) in set {
                    match by_topic.iter_mut().find(|t| t.topic_id == topic_id) {
                        Some(t) => t.partitions.push(p),
                        None => by_topic.push(
                            TopicPartitions::default()
                                .with_topic_id(topic_id)
                                .with_partitions(vec![p]),
                        ),
                    }
                }
                Assignment::default().with_topic_partitions(by_topic)
            });
        }
        Err(e) => {
            resp.error_code = e.code().code();
            resp.member_id = Some(req.member_id);
        }
    }
    resp
}
