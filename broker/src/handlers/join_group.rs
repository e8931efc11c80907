//! JoinGroup: a member (re)joins; the answer comes when the rebalance completes.

use std::time::Duration;

use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::{JoinGroupRequest, JoinGroupResponse};
use kafka_protocol::protocol::StrBytes;

use super::RequestContext;
use crate::coordinator::{CoordinatorError, JoinRequest, JoinResult, Pending};

fn millis(ms: i32) -> Duration {
    Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

/// Handles a JoinGroup request.
pub async fn handle(ctx: &RequestContext<'_>, req: JoinGroupRequest) -> JoinGroupResponse {
    let coordinator = &ctx.state.groups;
    let member_id = req.member_id.to_string();
    if req.group_id.is_empty() {
        return respond(
            ctx,
            JoinResult::error(CoordinatorError::InvalidGroupId, &member_id),
        );
    }
    let session = millis(req.session_timeout_ms);
    if !coordinator.session_timeout_ok(session) {
        return respond(
            ctx,
            JoinResult::error(CoordinatorError::InvalidSessionTimeout, &member_id),
        );
    }
    if req.protocols.is_empty() || req.protocol_type.is_empty() {
        return respond(
            ctx,
            JoinResult::error(CoordinatorError::InconsistentGroupProtocol, &member_id),
        );
    }
    // v0 has no rebalance timeout: it is the session timeout.
    let rebalance = if ctx.version == 0 {
        session
    } else {
        millis(req.rebalance_timeout_ms)
    };
    let join = JoinRequest {
        member_id,
        instance_id: req.group_instance_id.map(|s| s.to_string()),
        client_id: ctx.client_id.clone(),
        client_host: ctx.client_host.clone(),
        session_timeout: session,
        rebalance_timeout: rebalance,
        protocol_type: req.protocol_type.to_string(),
        protocols: req
            .protocols
            .into_iter()
            .map(|p| (p.name.to_string(), p.metadata))
            .collect(),
        require_known_member_id: ctx.version >= 4,
    };
    let fallback = join.member_id.clone();
    let result = match coordinator.join(&req.group_id, join) {
        Pending::Now(r) => r,
        Pending::Later(rx) => tokio::select! {
            r = rx => r.unwrap_or_else(|_| JoinResult::error(CoordinatorError::RebalanceInProgress, &fallback)),
            _ = ctx.state.shutdown.cancelled() => JoinResult::error(CoordinatorError::NotAvailable("the broker is shutting down"), &fallback),
        },
    };
    respond(ctx, result)
}

fn respond(ctx: &RequestContext<'_>, r: JoinResult) -> JoinGroupResponse {
    let members = r
        .members
        .into_iter()
        .map(|m| {
            JoinGroupResponseMember::default()
                .with_member_id(StrBytes::from_string(m.id))
                .with_group_instance_id(m.instance_id.map(StrBytes::from_string))
                .with_metadata(m.metadata)
        })
        .collect();
    let mut resp = JoinGroupResponse::default()
        .with_error_code(r.error.map_or(0, |e| e.code().code()))
        .with_generation_id(r.generation)
        .with_protocol_name(Some(StrBytes::from_string(r.protocol.unwrap_or_default())))
        .with_leader(StrBytes::from_string(r.leader))
        .with_member_id(StrBytes::from_string(r.member_id))
        .with_members(members);
    if ctx.version >= 7 {
        resp.protocol_type = r.protocol_type.map(StrBytes::from_string);
    }
    resp
}
