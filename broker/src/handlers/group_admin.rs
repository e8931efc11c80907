//! Group administration: ListGroups, DescribeGroups, DeleteGroups and OffsetDelete.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::offset_delete_response::{
    OffsetDeleteResponsePartition, OffsetDeleteResponseTopic,
};
use kafka_protocol::messages::{
    DeleteGroupsRequest, DeleteGroupsResponse, DescribeGroupsRequest, DescribeGroupsResponse,
    GroupId, ListGroupsRequest, ListGroupsResponse, OffsetDeleteRequest, OffsetDeleteResponse,
};
use kafka_protocol::protocol::StrBytes;

use super::RequestContext;
use crate::coordinator::CoordinatorError;

/// Handles a ListGroups request (v4 state filter, v5 type filter).
pub fn list(ctx: &RequestContext<'_>, req: ListGroupsRequest) -> ListGroupsResponse {
    let groups = ctx
        .state
        .groups
        .list()
        .into_iter()
        .filter(|g| {
            req.states_filter.is_empty()
                || req
                    .states_filter
                    .iter()
                    .any(|s| s.eq_ignore_ascii_case(g.state))
        })
        .filter(|g| {
            req.types_filter.is_empty()
                || req
                    .types_filter
                    .iter()
                    .any(|t| t.eq_ignore_ascii_case(g.kind))
        })
        .map(|g| {
            ListedGroup::default()
                .with_group_id(GroupId(StrBytes::from_string(g.id)))
                .with_protocol_type(StrBytes::from_string(g.protocol_type))
                .with_group_state(StrBytes::from_static_str(g.state))
                .with_group_type(StrBytes::from_static_str(g.kind))
        })
        .collect();
    ListGroupsResponse::default().with_groups(groups)
}

/// Handles a DescribeGroups request.
pub fn describe(ctx: &RequestContext<'_>, req: DescribeGroupsRequest) -> DescribeGroupsResponse {
    let groups = req
        .groups
        .into_iter()
        .map(|id| {
            let mut out = DescribedGroup::default().with_group_id(id.clone());
            out.authorized_operations = super::operations::if_requested(
                req.include_authorized_operations,
                super::operations::GROUP,
            );
            match ctx.state.groups.describe(&id) {
                None => {
                    out.group_state = StrBytes::from_static_str("Dead");
                    if ctx.version >= 6 {
                        out.error_code = ResponseError::GroupIdNotFound.code();
                    }
                }
                Some(d) => {
                    out.group_state = StrBytes::from_static_str(d.state);
                    out.protocol_type = StrBytes::from_string(d.protocol_type);
                    out.protocol_data = StrBytes::from_string(d.protocol);
                    out.members = d
                        .members
                        .into_iter()
                        .map(|m| {
                            DescribedGroupMember::default()
                                .with_member_id(StrBytes::from_string(m.id))
                                .with_group_instance_id(m.instance_id.map(StrBytes::from_string))
                                .with_client_id(StrBytes::from_string(m.client_id))
                                .with_client_host(StrBytes::from_string(m.client_host))
                                .with_member_metadata(m.metadata)
                                .with_member_assignment(m.assignment)
                        })
                        .collect();
                }
            }
            out
        })
        .collect();
    DescribeGroupsResponse::default().with_groups(groups)
}

/// Handles a DeleteGroups request.
pub async fn delete(ctx: &RequestContext<'_>, req: DeleteGroupsRequest) -> DeleteGroupsResponse {
    let mut results = Vec::with_capacity(req.groups_names.len());
    for id in req.groups_names {
        let code = CoordinatorError::code_of(&ctx.state.groups.delete(&id).await);
        results.push(
            DeletableGroupResult::default()
                .with_group_id(id)
                .with_error_code(code),
        );
    }
    DeleteGroupsResponse::default().with_results(results)
}

/// Handles an OffsetDelete request.
pub async fn delete_offsets(
    ctx: &RequestContext<'_>,
    req: OffsetDeleteRequest,
) -> OffsetDeleteResponse {
    let partitions: Vec<(String, i32)> = req
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions
                .iter()
                .map(move |p| (t.name.to_string(), p.partition_index))
        })
        .collect();
    let results = match ctx
        .state
        .groups
        .delete_offsets(&req.group_id, partitions)
        .await
    {
        Ok(r) => r,
        Err(e) => return OffsetDeleteResponse::default().with_error_code(e.code().code()),
    };
    let topics = req
        .topics
        .into_iter()
        .map(|t| {
            let parts = t
                .partitions
                .iter()
                .map(|p| {
                    let code = if ctx
                        .state
                        .topics
                        .get(&t.name)
                        .and_then(|tp| tp.partition(p.partition_index))
                        .is_none()
                    {
                        ResponseError::UnknownTopicOrPartition.code()
                    } else {
                        results
                            .iter()
                            .find(|(n, i, _)| {
                                n.as_str() == t.name.as_str() && *i == p.partition_index
                            })
                            .and_then(|(_, _, e)| e.as_ref())
                            .map_or(0, |e| e.code().code())
                    };
                    OffsetDeleteResponsePartition::default()
                        .with_partition_index(p.partition_index)
                        .with_error_code(code)
                })
                .collect();
            OffsetDeleteResponseTopic::default()
                .with_name(t.name)
                .with_partitions(parts)
        })
        .collect();
    OffsetDeleteResponse::default().with_topics(topics)
}
