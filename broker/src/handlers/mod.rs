//! One handler per Kafka API, and the dispatcher that decodes a frame, runs its handler and
//! encodes the response.
//!
//! A request for an API or version this broker does not serve closes the connection, as Kafka
//! does, with one exception Kafka also makes: ApiVersions above our highest version gets a v0
//! answer with UNSUPPORTED_VERSION and our ranges, so the client can pick a version.

mod admin_configs;
mod api_versions;
mod create_partitions;
mod create_topics;
mod delete_records;
mod delete_topics;
mod describe_cluster;
mod fetch;
mod init_producer_id;
mod list_offsets;
mod metadata;
mod produce;

use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion};

use crate::protocol::versions;
use crate::server::ConnectionError;
use crate::state::BrokerState;

/// What a handler gets besides its request.
#[derive(Debug)]
pub struct RequestContext<'a> {
    /// The broker.
    pub state: &'a Arc<BrokerState>,
    /// The request's API version.
    pub version: i16,
}

fn bad(msg: impl Into<String>) -> ConnectionError {
    ConnectionError::BadRequest(msg.into())
}

/// Decodes a frame, runs its handler and returns the encoded response with its length prefix;
/// `None` when the request takes no response (produce with acks=0).
///
/// # Errors
/// A request that cannot be decoded or is for an API/version not served: the caller closes
/// the connection.
pub async fn handle_request(
    state: &Arc<BrokerState>,
    mut frame: Bytes,
) -> Result<Option<BytesMut>, ConnectionError> {
    let api_key = i16::from_be_bytes([frame[0], frame[1]]);
    let version = i16::from_be_bytes([frame[2], frame[3]]);
    let correlation_id = i32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]);
    let key = ApiKey::try_from(api_key).map_err(|_| bad(format!("unknown API key {api_key}")))?;
    let (lo, hi) = versions::range(key)
        .ok_or_else(|| bad(format!("API {key:?} (key {api_key}) is not supported")))?;
    if key == ApiKey::ApiVersions && version > hi {
        return Ok(Some(api_versions::unsupported_version_response(correlation_id)));
    }
    if version < lo || version > hi {
        return Err(bad(format!(
            "{key:?} version {version} is not supported (supported: {lo}-{hi})"
        )));
    }
    let header = RequestHeader::decode(&mut frame, key.request_header_version(version))
        .map_err(|e| bad(format!("bad request header: {e}")))?;
    let ctx = RequestContext { state, version };
    let out = ResponseOut {
        correlation_id: header.correlation_id,
        header_version: key.response_header_version(version),
        version,
    };
    use kafka_protocol::messages as m;
    let body = &mut frame;
    match key {
        ApiKey::Produce => {
            let req = decode::<m::ProduceRequest>(body, version)?;
            let acks = req.acks;
            let resp = produce::handle(&ctx, req).await;
            if acks == 0 {
                return Ok(None);
            }
            out.encode(&resp)
        }
        ApiKey::Fetch => out.encode(&fetch::handle(&ctx, decode(body, version)?).await),
        ApiKey::ListOffsets => out.encode(&list_offsets::handle(&ctx, decode(body, version)?).await),
        ApiKey::Metadata => out.encode(&metadata::handle(&ctx, decode(body, version)?).await),
        ApiKey::ApiVersions => out.encode(&api_versions::handle(&ctx, decode(body, version)?)),
        ApiKey::CreateTopics => out.encode(&create_topics::handle(&ctx, decode(body, version)?).await),
        ApiKey::DeleteTopics => out.encode(&delete_topics::handle(&ctx, decode(body, version)?).await),
        ApiKey::DeleteRecords => {
            out.encode(&delete_records::handle(&ctx, decode(body, version)?).await)
        }
        ApiKey::InitProducerId => {
            out.encode(&init_producer_id::handle(&ctx, decode(body, version)?).await)
        }
        ApiKey::DescribeConfigs => {
            out.encode(&admin_configs::describe(&ctx, decode(body, version)?))
        }
        ApiKey::AlterConfigs => out.encode(&admin_configs::alter(&ctx, decode(body, version)?).await),
        ApiKey::IncrementalAlterConfigs => {
            out.encode(&admin_configs::incremental_alter(&ctx, decode(body, version)?).await)
        }
        ApiKey::CreatePartitions => {
            out.encode(&create_partitions::handle(&ctx, decode(body, version)?).await)
        }
        ApiKey::DescribeCluster => {
            out.encode(&describe_cluster::handle(&ctx, decode(body, version)?))
        }
        other => Err(bad(format!("API {other:?} is not supported"))),
    }
    .map(Some)
}

fn decode<T: Decodable>(body: &mut Bytes, version: i16) -> Result<T, ConnectionError> {
    T::decode(body, version).map_err(|e| bad(format!("cannot decode request body: {e}")))
}

/// How to frame a response.
struct ResponseOut {
    correlation_id: i32,
    header_version: i16,
    version: i16,
}

impl ResponseOut {
    fn encode<T: Encodable + HeaderVersion>(&self, body: &T) -> Result<BytesMut, ConnectionError> {
        let header = ResponseHeader::default().with_correlation_id(self.correlation_id);
        let mut buf = BytesMut::with_capacity(128);
        buf.put_i32(0);
        header
            .encode(&mut buf, self.header_version)
            .and_then(|()| body.encode(&mut buf, self.version))
            .map_err(|e| bad(format!("cannot encode response: {e}")))?;
        let len = (buf.len() - 4) as i32;
        buf[..4].copy_from_slice(&len.to_be_bytes());
        Ok(buf)
    }
}
