//! Decoding a request frame (header, then body) and encoding a response: no I/O, no broker
//! state, so it can be fuzzed and property-tested on its own.
//!
//! Decoding is two steps because the body's type depends on the header: [`decode_header`]
//! checks the API and version against the caller's table of served APIs and splits the frame,
//! then [`decode_body`] decodes the rest as the request type the table names for that API.

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion};

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

/// The fixed start of a request header, read without decoding the rest, so a failed request
/// can still be logged with the API, version and correlation id it claimed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestPrefix {
    /// The API key as sent (it may name no API).
    pub api_key: i16,
    /// The API version as sent.
    pub api_version: i16,
    /// The correlation id as sent.
    pub correlation_id: i32,
    /// The client id, when the frame is long enough to hold the one it announces.
    pub client_id: Option<String>,
}

impl RequestPrefix {
    /// Reads the prefix of a frame (without its length); `None` when it is shorter than the
    /// fixed part. Every header version except ControlledShutdown v0's has the client id next.
    pub fn peek(frame: &[u8]) -> Option<RequestPrefix> {
        let fixed = frame.get(..8)?;
        let client_id = frame.get(8..10).and_then(|len| {
            let len = usize::try_from(i16::from_be_bytes([len[0], len[1]])).ok()?;
            let raw = frame.get(10..10 + len)?;
            Some(String::from_utf8_lossy(raw).into_owned())
        });
        Some(RequestPrefix {
            api_key: i16::from_be_bytes([fixed[0], fixed[1]]),
            api_version: i16::from_be_bytes([fixed[2], fixed[3]]),
            correlation_id: i32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]),
            client_id,
        })
    }

    /// The API's name (`ListOffsets`), or `unknown` for a key Kafka does not define.
    pub fn api_name(&self) -> String {
        match ApiKey::try_from(self.api_key) {
            Ok(key) => format!("{key:?}"),
            Err(_) => "unknown".to_string(),
        }
    }
}

/// A frame whose header decoded, for an API and version the caller serves.
#[derive(Debug)]
pub enum Framed {
    /// A request to serve.
    Request {
        /// The header: correlation id, client id, API and version.
        header: RequestHeader,
        /// The API.
        api: ApiKey,
        /// The undecoded body, for [`decode_body`] with the API's request type.
        body: Bytes,
    },
    /// ApiVersions newer than we serve: answer v0 with UNSUPPORTED_VERSION (as Kafka does, so
    /// the client can retry with a version from our ranges).
    ApiVersionsTooNew {
        /// To echo in the response.
        correlation_id: i32,
    },
}

/// Checks a frame's API and version against `served` (the lowest and highest version served
/// for an API, `None` when it is not served) and decodes its header.
///
/// # Errors
/// [`ProtocolError`] for frames that are short, name an unknown or unserved API or version, or
/// whose header does not decode.
pub fn decode_header(
    mut frame: Bytes,
    served: impl Fn(ApiKey) -> Option<(i16, i16)>,
) -> Result<Framed, ProtocolError> {
    let prefix = RequestPrefix::peek(&frame).ok_or(ProtocolError::TooShort(frame.len()))?;
    let version = prefix.api_version;
    let api =
        ApiKey::try_from(prefix.api_key).map_err(|_| ProtocolError::UnknownApi(prefix.api_key))?;
    let (min, max) = served(api).ok_or(ProtocolError::UnsupportedApi(api))?;
    if api == ApiKey::ApiVersions && version > max {
        return Ok(Framed::ApiVersionsTooNew {
            correlation_id: prefix.correlation_id,
        });
    }
    if version < min || version > max {
        return Err(ProtocolError::UnsupportedVersion {
            api,
            version,
            min,
            max,
        });
    }
    let header = RequestHeader::decode(&mut frame, api.request_header_version(version))
        .map_err(|e| malformed("request header", e))?;
    Ok(Framed::Request {
        header,
        api,
        body: frame,
    })
}

/// Decodes a request body at `version`.
///
/// # Errors
/// [`ProtocolError::Malformed`] when the bytes are not a valid `T` at that version.
pub fn decode_body<T: Decodable>(mut body: Bytes, version: i16) -> Result<T, ProtocolError> {
    T::decode(&mut body, version).map_err(|e| malformed("request body", e))
}

fn malformed(what: &'static str, e: impl std::fmt::Display) -> ProtocolError {
    ProtocolError::Malformed {
        what,
        why: e.to_string(),
    }
}

/// Encodes a response with its length prefix and the header version its type uses at
/// `version`.
///
/// # Errors
/// [`ProtocolError::Encode`] when the codec refuses the message (a field that does not exist
/// in that version holding a non-default value).
pub fn encode_response<T: Encodable + HeaderVersion>(
    version: i16,
    correlation_id: i32,
    body: &T,
) -> Result<BytesMut, ProtocolError> {
    let header = ResponseHeader::default().with_correlation_id(correlation_id);
    let mut buf = BytesMut::with_capacity(128);
    buf.put_i32(0);
    header
        .encode(&mut buf, T::header_version(version))
        .and_then(|()| body.encode(&mut buf, version))
        .map_err(|e| ProtocolError::Encode(e.to_string()))?;
    let len = (buf.len() - 4) as i32;
    buf[..4].copy_from_slice(&len.to_be_bytes());
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::MetadataRequest;

    fn frame(key: i16, version: i16, rest: &[u8]) -> Bytes {
        let mut b = BytesMut::new();
        b.put_i16(key);
        b.put_i16(version);
        b.put_i32(1);
        b.put_slice(rest);
        b.freeze()
    }

    /// Serves Metadata 0-12 and ApiVersions 0-3 only.
    fn served(key: ApiKey) -> Option<(i16, i16)> {
        match key {
            ApiKey::Metadata => Some((0, 12)),
            ApiKey::ApiVersions => Some((0, 3)),
            ApiKey::Produce => Some((3, 9)),
            _ => None,
        }
    }

    #[test]
    fn classifies_bad_frames() {
        assert!(matches!(
            decode_header(Bytes::from_static(&[0, 1]), served),
            Err(ProtocolError::TooShort(2))
        ));
        assert!(matches!(
            decode_header(frame(999, 0, &[]), served),
            Err(ProtocolError::UnknownApi(999))
        ));
        assert!(matches!(
            decode_header(frame(57, 0, &[]), served),
            Err(ProtocolError::UnsupportedApi(_))
        ));
        assert!(matches!(
            decode_header(frame(0, 2, &[]), served),
            Err(ProtocolError::UnsupportedVersion { .. })
        ));
        assert!(matches!(
            decode_header(frame(18, 77, &[]), served),
            Ok(Framed::ApiVersionsTooNew { correlation_id: 1 })
        ));
        // A client id of 5 bytes that are not there.
        assert!(matches!(
            decode_header(frame(3, 12, &[0, 5]), served),
            Err(ProtocolError::Malformed { .. })
        ));
        // A topic array of 4 entries that are not there.
        assert!(matches!(
            decode_body::<MetadataRequest>(Bytes::from_static(&[5, 0]), 12),
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
        MetadataRequest::default().encode(&mut b, 12).unwrap();
        match decode_header(b.freeze(), served).unwrap() {
            Framed::Request { header, api, body } => {
                assert_eq!(header.correlation_id, 9);
                assert_eq!(api, ApiKey::Metadata);
                let _: MetadataRequest = decode_body(body, 12).unwrap();
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_prefix_names_what_a_failed_request_claimed() {
        let mut b = BytesMut::new();
        b.put_i16(2);
        b.put_i16(1);
        b.put_i32(77);
        b.put_i16(7);
        b.put_slice(b"rdkafka");
        let p = RequestPrefix::peek(&b).unwrap();
        assert_eq!(
            p,
            RequestPrefix {
                api_key: 2,
                api_version: 1,
                correlation_id: 77,
                client_id: Some("rdkafka".into()),
            }
        );
        assert_eq!(p.api_name(), "ListOffsets");
        // A client id longer than the frame, a null one, an unknown key: still a prefix.
        let p = RequestPrefix::peek(&frame(999, 0, &[0, 50, b'x'])).unwrap();
        assert_eq!(
            (p.client_id.as_deref(), p.api_name().as_str()),
            (None, "unknown")
        );
        assert_eq!(
            RequestPrefix::peek(&frame(3, 0, &[0xff, 0xff]))
                .unwrap()
                .client_id,
            None
        );
        assert_eq!(RequestPrefix::peek(&[0, 1, 0]), None);
    }
}
