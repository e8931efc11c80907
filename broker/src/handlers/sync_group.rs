//! SyncGroup: the leader hands in the assignment; every member gets its share.

use kafka_protocol::messages::{SyncGroupRequest, SyncGroupResponse};
use kafka_protocol::protocol::StrBytes;

use super::RequestContext;
use crate::coordinator::{CoordinatorError, Pending};

/// Handles a SyncGroup request.
pub async fn handle(ctx: &RequestContext<'_>, req: SyncGroupRequest) -> SyncGroupResponse {
    let coordinator = &ctx.state.groups;
    let assignments = req
        .assignments
        .into_iter()
        .map(|a| (a.member_id.to_string(), a.assignment))
        .collect();
    let pending = coordinator
        .sync(
            &req.group_id,
            &req.member_id,
            req.group_instance_id.as_deref(),
            req.generation_id,
            assignments,
        )
        .await;
    let outcome = match pending {
        Pending::Now(r) => r,
        Pending::Later(rx) => tokio::select! {
            r = rx => r.unwrap_or(Err(CoordinatorError::RebalanceInProgress)),
            _ = ctx.state.shutdown.cancelled() => Err(CoordinatorError::NotAvailable("the broker is shutting down")),
        },
    };
    let mut resp = SyncGroupResponse::default();
    match outcome {
        Ok(assignment) => resp.assignment = assignment,
        Err(e) => resp.error_code = e.code().code(),
    }
    if ctx.version >= 5 {
        resp.protocol_type = req.protocol_type;
        resp.protocol_name = req.protocol_name.or(Some(StrBytes::default()));
    }
    resp
}
