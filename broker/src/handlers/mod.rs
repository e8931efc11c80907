//! One handler per Kafka API, and the dispatcher that decodes a frame, runs its handler and
//! encodes the response.
//!
//! A request for an API or version this broker does not serve closes the connection, as Kafka
//! does, with one exception Kafka also makes: ApiVersions above our highest version gets a v0
//! answer with UNSUPPORTED_VERSION and our ranges, so the client can pick a version.

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
mod sync_group;

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::ApiKey;

use crate::protocol::{decode, encode_response, Decoded, ProtocolError, Request};
use crate::state::BrokerState;

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

/// What a handler gets besides its request.
#[derive(Debug)]
pub struct RequestContext<'a> {
    /// The broker.
    pub state: &'a Arc<BrokerState>,
    /// The request's API version.
    pub version: i16,
    /// The client id from the request header.
    pub client_id: String,
    /// The client's address.
    pub client_host: String,
}

/// Decodes a frame, runs its handler and returns the encoded response with its length prefix;
/// `None` when the request takes no response (produce with acks=0).
///
/// # Errors
/// A request that cannot be decoded or is for an API/version not served: the caller closes
/// the connection.
pub async fn handle_request(
    state: &Arc<BrokerState>,
    frame: Bytes,
    peer: std::net::SocketAddr,
) -> Result<Option<BytesMut>, ProtocolError> {
    let (header, body) = match decode(frame)? {
        Decoded::ApiVersionsTooNew { correlation_id } => {
            return Ok(Some(api_versions::unsupported_version_response(
                correlation_id,
            )))
        }
        Decoded::Request { header, body } => (header, body),
    };
    let version = header.request_api_version;
    let ctx = RequestContext {
        state,
        version,
        client_id: header.client_id.as_deref().unwrap_or_default().to_string(),
        client_host: format!("/{}", peer.ip()),
    };
    let correlation_id = header.correlation_id;
    let respond =
        |key: ApiKey, body: &dyn ErasedResponse| body.encode_with(key, version, correlation_id);
    let out = match *body {
        Request::Produce(req) => {
            let acks = req.acks;
            let resp = produce::handle(&ctx, req).await;
            if acks == 0 {
                return Ok(None);
            }
            respond(ApiKey::Produce, &resp)
        }
        Request::Fetch(req) => respond(ApiKey::Fetch, &fetch::handle(&ctx, req).await),
        Request::ListOffsets(req) => {
            respond(ApiKey::ListOffsets, &list_offsets::handle(&ctx, req).await)
        }
        Request::Metadata(req) => respond(ApiKey::Metadata, &metadata::handle(&ctx, req).await),
        Request::ApiVersions(req) => respond(ApiKey::ApiVersions, &api_versions::handle(&ctx, req)),
        Request::CreateTopics(req) => respond(
            ApiKey::CreateTopics,
            &create_topics::handle(&ctx, req).await,
        ),
        Request::DeleteTopics(req) => respond(
            ApiKey::DeleteTopics,
            &delete_topics::handle(&ctx, req).await,
        ),
        Request::DeleteRecords(req) => respond(
            ApiKey::DeleteRecords,
            &delete_records::handle(&ctx, req).await,
        ),
        Request::InitProducerId(req) => respond(
            ApiKey::InitProducerId,
            &init_producer_id::handle(&ctx, req).await,
        ),
        Request::DescribeConfigs(req) => {
            respond(ApiKey::DescribeConfigs, &admin_configs::describe(&ctx, req))
        }
        Request::AlterConfigs(req) => {
            respond(ApiKey::AlterConfigs, &admin_configs::alter(&ctx, req).await)
        }
        Request::IncrementalAlterConfigs(req) => respond(
            ApiKey::IncrementalAlterConfigs,
            &admin_configs::incremental_alter(&ctx, req).await,
        ),
        Request::CreatePartitions(req) => respond(
            ApiKey::CreatePartitions,
            &create_partitions::handle(&ctx, req).await,
        ),
        Request::DescribeCluster(req) => respond(
            ApiKey::DescribeCluster,
            &describe_cluster::handle(&ctx, req),
        ),
        Request::DescribeLogDirs(req) => respond(
            ApiKey::DescribeLogDirs,
            &describe_log_dirs::handle(&ctx, req),
        ),
        Request::FindCoordinator(req) => respond(
            ApiKey::FindCoordinator,
            &find_coordinator::handle(&ctx, req),
        ),
        Request::JoinGroup(req) => respond(ApiKey::JoinGroup, &join_group::handle(&ctx, req).await),
        Request::SyncGroup(req) => respond(ApiKey::SyncGroup, &sync_group::handle(&ctx, req).await),
        Request::Heartbeat(req) => respond(ApiKey::Heartbeat, &heartbeat::handle(&ctx, req)),
        Request::LeaveGroup(req) => respond(ApiKey::LeaveGroup, &leave_group::handle(&ctx, req)),
        Request::OffsetCommit(req) => respond(
            ApiKey::OffsetCommit,
            &offset_commit::handle(&ctx, req).await,
        ),
        Request::OffsetFetch(req) => respond(ApiKey::OffsetFetch, &offset_fetch::handle(&ctx, req)),
        Request::ListGroups(req) => respond(ApiKey::ListGroups, &group_admin::list(&ctx, req)),
        Request::DescribeGroups(req) => {
            respond(ApiKey::DescribeGroups, &group_admin::describe(&ctx, req))
        }
        Request::DeleteGroups(req) => {
            respond(ApiKey::DeleteGroups, &group_admin::delete(&ctx, req).await)
        }
        Request::OffsetDelete(req) => respond(
            ApiKey::OffsetDelete,
            &group_admin::delete_offsets(&ctx, req).await,
        ),
        Request::ConsumerGroupHeartbeat(req) => respond(
            ApiKey::ConsumerGroupHeartbeat,
            &consumer_group_heartbeat::handle(&ctx, req),
        ),
        Request::ConsumerGroupDescribe(req) => respond(
            ApiKey::ConsumerGroupDescribe,
            &consumer_group_describe::handle(&ctx, req),
        ),
    };
    out.map(Some)
}

/// Lets the dispatcher encode any response type through one closure.
trait ErasedResponse {
    fn encode_with(
        &self,
        key: ApiKey,
        version: i16,
        correlation_id: i32,
    ) -> Result<BytesMut, ProtocolError>;
}

impl<T: kafka_protocol::protocol::Encodable + kafka_protocol::protocol::HeaderVersion>
    ErasedResponse for T
{
    fn encode_with(
        &self,
        key: ApiKey,
        version: i16,
        correlation_id: i32,
    ) -> Result<BytesMut, ProtocolError> {
        encode_response(key, version, correlation_id, self)
    }
}
