//! LeaveGroup: members leave at once instead of waiting for their session to expire
//! (v0-2 one member, v3+ a batch identified by member id or group instance id).

use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::{LeaveGroupRequest, LeaveGroupResponse};

use super::RequestContext;
use crate::coordinator::CoordinatorError;

/// Handles a LeaveGroup request.
pub fn handle(ctx: &RequestContext<'_>, req: LeaveGroupRequest) -> LeaveGroupResponse {
    let coordinator = &ctx.state.groups;
    if ctx.version < 3 {
        let result = coordinator.leave(&req.group_id, &[(req.member_id.to_string(), None)]);
        let code = result.first().map_or(0, CoordinatorError::code_of);
        return LeaveGroupResponse::default().with_error_code(code);
    }
    let members: Vec<(String, Option<String>)> = req
        .members
        .iter()
        .map(|m| {
            (
                m.member_id.to_string(),
                m.group_instance_id.as_ref().map(|s| s.to_string()),
            )
        })
        .collect();
    let results = coordinator.leave(&req.group_id, &members);
    let responses = req
        .members
        .into_iter()
        .zip(results)
        .map(|(m, r)| {
            MemberResponse::default()
                .with_member_id(m.member_id)
                .with_group_instance_id(m.group_instance_id)
                .with_error_code(CoordinatorError::code_of(&r))
        })
        .collect();
    LeaveGroupResponse::default().with_members(responses)
}
