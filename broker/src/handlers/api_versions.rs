//! ApiVersions: the APIs and version ranges this broker serves, read from the route table.

use bytes::{BufMut, BytesMut};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::{ApiVersionsRequest, ApiVersionsResponse};
use kafka_protocol::protocol::Encodable;

use super::{RequestContext, ROUTES};

fn api_keys() -> Vec<ApiVersion> {
    ROUTES
        .iter()
        .map(|route| {
            let (lo, hi) = route.versions();
            ApiVersion::default()
                .with_api_key(route.api_key())
                .with_min_version(lo)
                .with_max_version(hi)
        })
        .collect()
}

/// Handles an ApiVersions request.
pub fn handle(_ctx: &RequestContext<'_>, _req: ApiVersionsRequest) -> ApiVersionsResponse {
    ApiVersionsResponse::default().with_api_keys(api_keys())
}

/// The v0 answer to an ApiVersions request newer than we serve: UNSUPPORTED_VERSION plus our
/// ranges, with its length prefix and a v0 response header.
pub fn unsupported_version_response(correlation_id: i32) -> BytesMut {
    let body = ApiVersionsResponse::default()
        .with_error_code(ResponseError::UnsupportedVersion.code())
        .with_api_keys(api_keys());
    let mut buf = BytesMut::with_capacity(256);
    buf.put_i32(0);
    buf.put_i32(correlation_id);
    // v0 of this message has no fields that can fail to encode.
    if body.encode(&mut buf, 0).is_err() {
        buf.truncate(8);
    }
    let len = (buf.len() - 4) as i32;
    buf[..4].copy_from_slice(&len.to_be_bytes());
    buf
}
