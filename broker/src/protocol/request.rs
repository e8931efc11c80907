//! Decoding a request frame into a typed request: no I/O, no broker state, so it can be
//! fuzzed and property-tested on its own.

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{self as m, ApiKey, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion};

use super::versions;

/// Why a frame cannot be served; the connection is closed, as Kafka does.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    /// Shorter than the fixed part of a request header.
    #[error("frame of {0} bytes is too short for a request header")]
    TooShort(usize),
    /// An API key Kafka does not define.
    #[error("unknown API key {0}")]
    UnknownApi(i16),
    /// An API this broker does not serve.
    #[error("API {0:?} is not supported by this broker")]
    UnsupportedApi(ApiKey),
    /// A version outside the range served.
    #[error("{api:?} version {version} is not supported (supported: {min}-{max})")]
    UnsupportedVersion {
        /// The API.
        api: ApiKey,
        /// The version asked for.
        version: i16,
        /// Lowest served.
        min: i16,
        /// Highest served.
        max: i16,
    },
    /// The header or body does not decode.
    #[error("cannot decode {what}: {why}")]
    Malformed {
        /// Header or body.
        what: &'static str,
        /// The codec's complaint.
        why: String,
    },
    /// A response failed to encode (a broker bug, reported rather than panicking).
    #[error("cannot encode response: {0}")]
    Encode(String),
}

/// A decoded request body of one of the served APIs.
#[derive(Debug)]
#[allow(missing_docs)]
pub enum Request {
    Produce(m::ProduceRequest),
    Fetch(m::FetchRequest),
    ListOffsets(m::ListOffsetsRequest),
    Metadata(m::MetadataRequest),
    ApiVersions(m::ApiVersionsRequest),
    CreateTopics(m::CreateTopicsRequest),
    DeleteTopics(m::DeleteTopicsRequest),
    DeleteRecords(m::DeleteRecordsRequest),
    InitProducerId(m::InitProducerIdRequest),
    DescribeConfigs(m::DescribeConfigsRequest),
    AlterConfigs(m::AlterConfigsRequest),
    CreatePartitions(m::CreatePartitionsRequest),
    IncrementalAlterConfigs(m::IncrementalAlterConfigsRequest),
    DescribeCluster(m::DescribeClusterRequest),
    DescribeLogDirs(m::DescribeLogDirsRequest),
    FindCoordinator(m::FindCoordinatorRequest),
    JoinGroup(m::JoinGroupRequest),
    SyncGroup(m::SyncGroupRequest),
    Heartbeat(m::HeartbeatRequest),
    LeaveGroup(m::LeaveGroupRequest),
    OffsetCommit(m::OffsetCommitRequest),
    OffsetFetch(m::OffsetFetchRequest),
    ListGroups(m::ListGroupsRequest),
    DescribeGroups(m::DescribeGroupsRequest),
    DeleteGroups(m::DeleteGroupsRequest),
    OffsetDelete(m::OffsetDeleteRequest),
    ConsumerGroupHeartbeat(m::ConsumerGroupHeartbeatRequest),
    ConsumerGroupDescribe(m::ConsumerGroupDescribeRequest),
}

/// A frame, decoded.
#[derive(Debug)]
pub enum Decoded {
    /// A request to serve.
    Request {
        /// The header: correlation id, client id, API and version.
        header: RequestHeader,
        /// The body (boxed: request types differ a lot in size).
        body: Box<Request>,
    },
    /// ApiVersions newer than we serve: answer v0 with UNSUPPORTED_VERSION.
    ApiVersionsTooNew {
        /// To echo in the response.
        correlation_id: i32,
    },
}

/// Decodes one frame (without its length prefix).
///
/// # Errors
/// [`ProtocolError`] for frames that are short, name an unknown or unserved API or version, or
/// do not decode.
pub fn decode(mut frame: Bytes) -> Result<Decoded, ProtocolError> {
    if frame.len() < 8 {
        return Err(ProtocolError::TooShort(frame.len()));
    }
    let api_key = i16::from_be_bytes([frame[0], frame[1]]);
    let version = i16::from_be_bytes([frame[2], frame[3]]);
    let key = ApiKey::try_from(api_key).map_err(|_| ProtocolError::UnknownApi(api_key))?;
    let (min, max) = versions::range(key).ok_or(ProtocolError::UnsupportedApi(key))?;
    if key == ApiKey::ApiVersions && version > max {
        let correlation_id = i32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]);
        return Ok(Decoded::ApiVersionsTooNew { correlation_id });
    }
    if version < min || version > max {
        return Err(ProtocolError::UnsupportedVersion {
            api: key,
            version,
            min,
            max,
        });
    }
    let header = RequestHeader::decode(&mut frame, key.request_header_version(version))
        .map_err(|e| malformed("request header", e))?;
    let buf = &mut frame;
    let body = match key {
        ApiKey::Produce => Request::Produce(body(buf, version)?),
        ApiKey::Fetch => Request::Fetch(body(buf, version)?),
        ApiKey::ListOffsets => Request::ListOffsets(body(buf, version)?),
        ApiKey::Metadata => Request::Metadata(body(buf, version)?),
        ApiKey::ApiVersions => Request::ApiVersions(body(buf, version)?),
        ApiKey::CreateTopics => Request::CreateTopics(body(buf, version)?),
        ApiKey::DeleteTopics => Request::DeleteTopics(body(buf, version)?),
        ApiKey::DeleteRecords => Request::DeleteRecords(body(buf, version)?),
        ApiKey::InitProducerId => Request::InitProducerId(body(buf, version)?),
        ApiKey::DescribeConfigs => Request::DescribeConfigs(body(buf, version)?),
        ApiKey::AlterConfigs => Request::AlterConfigs(body(buf, version)?),
        ApiKey::CreatePartitions => Request::CreatePartitions(body(buf, version)?),
        ApiKey::IncrementalAlterConfigs => Request::IncrementalAlterConfigs(body(buf, version)?),
        ApiKey::DescribeCluster => Request::DescribeCluster(body(buf, version)?),
        ApiKey::DescribeLogDirs => Request::DescribeLogDirs(body(buf, version)?),
        ApiKey::FindCoordinator => Request::FindCoordinator(body(buf, version)?),
        ApiKey::JoinGroup => Request::JoinGroup(body(buf, version)?),
        ApiKey::SyncGroup => Request::SyncGroup(body(buf, version)?),
        ApiKey::Heartbeat => Request::Heartbeat(body(buf, version)?),
        ApiKey::LeaveGroup => Request::LeaveGroup(body(buf, version)?),
        ApiKey::OffsetCommit => Request::OffsetCommit(body(buf, version)?),
        ApiKey::OffsetFetch => Request::OffsetFetch(body(buf, version)?),
        ApiKey::ListGroups => Request::ListGroups(body(buf, version)?),
        ApiKey::DescribeGroups => Request::DescribeGroups(body(buf, version)?),
        ApiKey::DeleteGroups => Request::DeleteGroups(body(buf, version)?),
        ApiKey::OffsetDelete => Request::OffsetDelete(body(buf, version)?),
        ApiKey::ConsumerGroupHeartbeat => Request::ConsumerGroupHeartbeat(body(buf, version)?),
        ApiKey::ConsumerGroupDescribe => Request::ConsumerGroupDescribe(body(buf, version)?),
        other => return Err(ProtocolError::UnsupportedApi(other)),
    };
    Ok(Decoded::Request {
        header,
        body: Box::new(body),
    })
}

fn malformed(what: &'static str, e: impl std::fmt::Display) -> ProtocolError {
    ProtocolError::Malformed {
        what,
        why: e.to_string(),
    }
}

fn body<T: Decodable>(buf: &mut Bytes, version: i16) -> Result<T, ProtocolError> {
    T::decode(buf, version).map_err(|e| malformed("request body", e))
}

/// Encodes a response with its length prefix and the header version its API and version use.
///
/// # Errors
/// [`ProtocolError::Encode`] when the codec refuses the message (a field that does not exist
/// in that version holding a non-default value).
pub fn encode_response<T: Encodable + HeaderVersion>(
    key: ApiKey,
    version: i16,
    correlation_id: i32,
    body: &T,
) -> Result<BytesMut, ProtocolError> {
    let header = ResponseHeader::default().with_correlation_id(correlation_id);
    let mut buf = BytesMut::with_capacity(128);
    buf.put_i32(0);
    header
        .encode(&mut buf, key.response_header_version(version))
        .and_then(|()| body.encode(&mut buf, version))
        .map_err(|e| ProtocolError::Encode(e.to_string()))?;
    let len = (buf.len() - 4) as i32;
    buf[..4].copy_from_slice(&len.to_be_bytes());
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn frame(key: i16, version: i16, rest: &[u8]) -> Bytes {
        let mut b = BytesMut::new();
        b.put_i16(key);
        b.put_i16(version);
        b.put_i32(1);
        b.put_slice(rest);
        b.freeze()
    }

    #[test]
    fn classifies_bad_frames() {
        assert!(matches!(
            decode(Bytes::from_static(&[0, 1])),
            Err(ProtocolError::TooShort(2))
        ));
        assert!(matches!(
            decode(frame(999, 0, &[])),
            Err(ProtocolError::UnknownApi(999))
        ));
        assert!(matches!(
            decode(frame(57, 0, &[])),
            Err(ProtocolError::UnsupportedApi(_))
        ));
        assert!(matches!(
            decode(frame(0, 2, &[])),
            Err(ProtocolError::UnsupportedVersion { .. })
        ));
        assert!(matches!(
            decode(frame(18, 77, &[])),
            Ok(Decoded::ApiVersionsTooNew { correlation_id: 1 })
        ));
        assert!(matches!(
            decode(frame(3, 12, &[0xff, 0xff, 0, 5])),
            Err(ProtocolError::Malformed { .. })
        ));
    }

    #[test]
    fn decodes_a_real_request() {
        let mut b = BytesMut::new();
        let header = RequestHeader::default()
            .with_request_api_key(ApiKey::Metadata as i16)
            .with_request_api_version(12)
            .with_correlation_id(9);
        header
            .encode(&mut b, ApiKey::Metadata.request_header_version(12))
            .unwrap();
        m::MetadataRequest::default().encode(&mut b, 12).unwrap();
        match decode(b.freeze()).unwrap() {
            Decoded::Request { header, body } if matches!(*body, Request::Metadata(_)) => {
                assert_eq!(header.correlation_id, 9)
            }
            other => panic!("{other:?}"),
        }
    }

    proptest! {
        /// Any bytes after a served API key and version: an error or a request, never a panic.
        #[test]
        fn decoding_untrusted_bytes_never_panics(
            idx in 0usize..versions::SUPPORTED.len(),
            v in 0i16..20,
            rest in proptest::collection::vec(any::<u8>(), 0..256),
        ) {
            let (key, _, _) = versions::SUPPORTED[idx];
            let _ = decode(frame(key as i16, v, &rest));
        }
    }
}
