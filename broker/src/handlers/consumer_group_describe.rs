//! ConsumerGroupDescribe (KIP-848): epochs, assignor, and each member's subscription, current
//! assignment and target assignment.

use std::collections::BTreeSet;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::consumer_group_describe_response::{
    Assignment, DescribedGroup, Member, TopicPartitions,
};
use kafka_protocol::messages::{
    ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use super::RequestContext;
use crate::coordinator::consumer_group::TopicPartition;

/// Handles a ConsumerGroupDescribe request.
pub fn handle(
    ctx: &RequestContext<'_>,
    req: ConsumerGroupDescribeRequest,
) -> ConsumerGroupDescribeResponse {
    let topics = &ctx.state.topics;
    let assignment = |set: &BTreeSet<TopicPartition>| {
        let mut out: Vec<TopicPartitions> = Vec::new();
        for &(id, p) in set {
            match out.iter_mut().find(|t| t.topic_id == id) {
                Some(t) => t.partitions.push(p),
                None => {
                    let name = topics
                        .get_by_id(id)
                        .map(|t| t.name.clone())
                        .unwrap_or_default();
                    out.push(
                        TopicPartitions::default()
                            .with_topic_id(id)
                            .with_topic_name(TopicName(StrBytes::from_string(name)))
                            .with_partitions(vec![p]),
                    );
                }
            }
        }
        Assignment::default().with_topic_partitions(out)
    };
    let groups = req
        .group_ids
        .into_iter()
        .map(|id| {
            let mut out = DescribedGroup::default().with_group_id(id.clone());
            out.authorized_operations = super::operations::if_requested(
                req.include_authorized_operations,
                super::operations::GROUP,
            );
            match ctx.state.groups.consumer_describe(&id) {
                None => {
                    out.error_code = ResponseError::GroupIdNotFound.code();
                    out.group_state = StrBytes::from_static_str("Dead");
                }
                Some(snap) => {
                    out.group_state = StrBytes::from_static_str(snap.state);
                    out.group_epoch = snap.epoch;
                    out.assignment_epoch = snap.assignment_epoch;
                    out.assignor_name = StrBytes::from_string(snap.assignor.clone());
                    out.members = snap
                        .members
                        .iter()
                        .map(|m| {
                            Member::default()
                                .with_member_id(StrBytes::from_string(m.id.clone()))
                                .with_instance_id(m.instance_id.clone().map(StrBytes::from_string))
                                .with_rack_id(m.rack_id.clone().map(StrBytes::from_string))
                                .with_member_epoch(m.epoch)
                                .with_client_id(StrBytes::from_string(m.client_id.clone()))
                                .with_client_host(StrBytes::from_string(m.client_host.clone()))
                                .with_subscribed_topic_names(
                                    m.subscriptions
                                        .iter()
                                        .map(|s| TopicName(StrBytes::from_string(s.clone())))
                                        .collect(),
                                )
                                .with_assignment(assignment(&m.assigned))
                                .with_target_assignment(assignment(
                                    &snap.target.get(&m.id).cloned().unwrap_or_default(),
                                ))
                        })
                        .collect();
                }
            }
            out
        })
        .collect();
    ConsumerGroupDescribeResponse::default().with_groups(groups)
}
