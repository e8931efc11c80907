//! One handler per Kafka API, the table of served APIs ([`ROUTES`]), and the dispatcher that
//! decodes a frame, runs its handler and encodes the response.
//!
//! Adding an API is its handler file plus one [`route!`] line in [`ROUTES`]: ApiVersions, the
//! version check, decoding and dispatch all read that table.
//!
//! A request for an API or version this broker does not serve closes the connection, as Kafka
//! does, with one exception Kafka also makes: ApiVersions above our highest version gets a v0
//! answer with UNSUPPORTED_VERSION and our ranges, so the client can pick a version. Any
//! request that fails (decoding, encoding) is logged here with its API, version, correlation
//! id, client id and peer before the connection closes.

mod admin_configs;
mod api_versions;
mod consumer_group_describe;
mod consumer_group_heartbeat;
mod create_partitions;
mod create_topics;
mod delete_records;
mod delete_topics;
mod describe_cluster;
mod describe_log_dirs;
mod fetch;
mod find_coordinator;
mod group_admin;
mod heartbeat;
mod init_producer_id;
mod join_group;
mod leave_group;
mod list_offsets;
mod metadata;
mod offset_commit;
mod offset_fetch;
mod produce;
pub mod route;
mod sync_group;

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::{self as m, ApiKey};

use crate::protocol::{decode_header, Framed, ProtocolError, RequestPrefix};
use crate::state::BrokerState;
use route::{route, Route};

/// Authorized-operation bit sets (Kafka's AclOperation codes as bit positions). With no ACLs
/// configured every supported operation of a resource type is allowed.
pub(crate) mod operations {
    const fn bits(ops: &[u8]) -> i32 {
        let mut v = 0;
        let mut i = 0;
        while i < ops.len() {
            v |= 1 << ops[i];
            i += 1;
        }
        v
    }
    // READ 3, WRITE 4, CREATE 5, DELETE 6, ALTER 7, DESCRIBE 8, CLUSTER_ACTION 9,
    // DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11, IDEMPOTENT_WRITE 12, CREATE_TOKENS 13,
    // DESCRIBE_TOKENS 14.
    /// Operations on a topic.
    pub const TOPIC: i32 = bits(&[3, 4, 5, 6, 7, 8, 10, 11]);
    /// Operations on a group.
    pub const GROUP: i32 = bits(&[3, 6, 8, 10, 11]);
    /// Operations on the cluster.
    pub const CLUSTER: i32 = bits(&[5, 7, 8, 9, 10, 11, 12, 13, 14]);

    /// The set when the client asked for it; Kafka's "not requested" marker otherwise.
    pub fn if_requested(requested: bool, set: i32) -> i32 {
        if requested {
            set
        } else {
            i32::MIN
        }
    }
}

/// Every API this broker serves: its request type, the versions served, its handler.
/// ApiVersions advertises exactly these (keep the README's table in step).
pub const ROUTES: &[Route] = &[
    route!(m::ProduceRequest, 3..=9, async produce::handle, respond_if produce_acks_wanted),
    route!(m::FetchRequest, 4..=12, async fetch::handle),
    route!(m::ListOffsetsRequest, 1..=7, async list_offsets::handle),
    route!(m::MetadataRequest, 0..=12, async metadata::handle),
    route!(m::ApiVersionsRequest, 0..=3, sync api_versions::handle),
    route!(m::CreateTopicsRequest, 2..=7, async create_topics::handle),
    route!(m::DeleteTopicsRequest, 1..=6, async delete_topics::handle),
    route!(m::DeleteRecordsRequest, 0..=2, async delete_records::handle),
    route!(m::InitProducerIdRequest, 0..=4, async init_producer_id::handle),
    route!(m::DescribeConfigsRequest, 1..=4, sync admin_configs::describe),
    route!(m::AlterConfigsRequest, 0..=2, async admin_configs::alter),
    route!(m::CreatePartitionsRequest, 0..=3, async create_partitions::handle),
    route!(m::IncrementalAlterConfigsRequest, 0..=1, async admin_configs::incremental_alter),
    route!(m::DescribeClusterRequest, 0..=1, sync describe_cluster::handle),
    // v0 is gone from Kafka 4 (KIP-896) and from the codec: advertising it dropped clients.
    route!(m::DescribeLogDirsRequest, 1..=4, sync describe_log_dirs::handle),
    route!(m::FindCoordinatorRequest, 0..=4, sync find_coordinator::handle),
    route!(m::JoinGroupRequest, 0..=9, async join_group::handle),
    route!(m::SyncGroupRequest, 0..=5, async sync_group::handle),
    route!(m::HeartbeatRequest, 0..=4, sync heartbeat::handle),
    route!(m::LeaveGroupRequest, 0..=5, sync leave_group::handle),
    route!(m::OffsetCommitRequest, 2..=9, async offset_commit::handle),
    route!(m::OffsetFetchRequest, 1..=9, sync offset_fetch::handle),
    route!(m::ListGroupsRequest, 0..=5, sync group_admin::list),
    route!(m::DescribeGroupsRequest, 0..=5, sync group_admin::describe),
    route!(m::DeleteGroupsRequest, 0..=2, async group_admin::delete),
    route!(m::OffsetDeleteRequest, 0..=0, async group_admin::delete_offsets),
    route!(m::ConsumerGroupHeartbeatRequest, 0..=1, sync consumer_group_heartbeat::handle),
    route!(m::ConsumerGroupDescribeRequest, 0..=1, sync consumer_group_describe::handle),
];

/// Produce with acks=0 takes no response at all, not even an error.
fn produce_acks_wanted(req: &m::ProduceRequest) -> bool {
    req.acks != 0
}

/// The route of an API, if it is served.
pub fn route_for(key: ApiKey) -> Option<&'static Route> {
    ROUTES.iter().find(|r| r.api_key() == key as i16)
}

fn served_versions(key: ApiKey) -> Option<(i16, i16)> {
    route_for(key).map(Route::versions)
}

/// What a handler gets besides its request.
#[derive(Debug)]
pub struct RequestContext<'a> {
    /// The broker.
    pub state: &'a Arc<BrokerState>,
    /// The request's API version.
    pub version: i16,
    /// The request's correlation id, echoed in the response.
    pub correlation_id: i32,
    /// The client id from the request header.
    pub client_id: String,
    /// The client's address.
    pub client_host: String,
}

/// Decodes a frame, runs its handler and returns the encoded response with its length prefix;
/// `None` when the request takes no response (produce with acks=0).
///
/// # Errors
/// A request that cannot be decoded or is for an API/version not served, or whose response
/// cannot be encoded: it is logged here, and the caller closes the connection.
pub async fn handle_request(
    state: &Arc<BrokerState>,
    frame: Bytes,
    peer: SocketAddr,
) -> Result<Option<BytesMut>, ProtocolError> {
    // Read before decoding, so even a header that does not decode is logged with what it
    // claimed to be.
    let prefix = RequestPrefix::peek(&frame);
    let result = serve_frame(state, frame, peer).await;
    if let Err(e) = &result {
        log_failure(prefix.as_ref(), peer, e);
    }
    result
}

async fn serve_frame(
    state: &Arc<BrokerState>,
    frame: Bytes,
    peer: SocketAddr,
) -> Result<Option<BytesMut>, ProtocolError> {
    let (header, api, body) = match decode_header(frame, served_versions)? {
        Framed::ApiVersionsTooNew { correlation_id } => {
            return Ok(Some(api_versions::unsupported_version_response(
                correlation_id,
            )))
        }
        Framed::Request { header, api, body } => (header, api, body),
    };
    // decode_header only accepts APIs that have a route.
    let route = route_for(api).ok_or(ProtocolError::UnsupportedApi(api))?;
    let ctx = RequestContext {
        state,
        version: header.request_api_version,
        correlation_id: header.correlation_id,
        client_id: header.client_id.as_deref().unwrap_or_default().to_string(),
        client_host: format!("/{}", peer.ip()),
    };
    route.serve(&ctx, body).await
}

fn log_failure(prefix: Option<&RequestPrefix>, peer: SocketAddr, e: &ProtocolError) {
    match prefix {
        Some(p) => tracing::warn!(
            api = %p.api_name(),
            api_key = p.api_key,
            api_version = p.api_version,
            correlation_id = p.correlation_id,
            client_id = p.client_id.as_deref().unwrap_or(""),
            %peer,
            error = %e,
            "request failed; closing the connection"
        ),
        None => tracing::warn!(%peer, error = %e, "request failed; closing the connection"),
    }
}

/// Decodes a frame's header and body exactly as serving it would, without serving it: for
/// fuzzing and property tests, which have no broker.
///
/// # Errors
/// What [`handle_request`] would fail with before running a handler.
pub fn decode_request(frame: Bytes) -> Result<(), ProtocolError> {
    match decode_header(frame, served_versions)? {
        Framed::ApiVersionsTooNew { .. } => Ok(()),
        Framed::Request { header, api, body } => route_for(api)
            .ok_or(ProtocolError::UnsupportedApi(api))?
            .decode_body(body, header.request_api_version),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BufMut;
    use proptest::prelude::*;

    #[test]
    fn every_route_is_a_distinct_api() {
        let mut keys: Vec<i16> = ROUTES.iter().map(Route::api_key).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), ROUTES.len(), "an API is registered twice");
    }

    proptest! {
        /// Any bytes after a served API key and version: an error or a request, never a panic.
        #[test]
        fn decoding_untrusted_bytes_never_panics(
            idx in 0usize..ROUTES.len(),
            v in 0i16..20,
            rest in proptest::collection::vec(any::<u8>(), 0..256),
        ) {
            let mut b = BytesMut::new();
            b.put_i16(ROUTES[idx].api_key());
            b.put_i16(v);
            b.put_i32(1);
            b.put_slice(&rest);
            let _ = decode_request(b.freeze());
        }
    }
}
