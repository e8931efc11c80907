//! The matrix's connection: frames built here with a chosen correlation id, carried by the
//! raw client, answers checked for their correlation id and decoded to their last byte.

use std::time::Duration;

use bytes::{BufMut, BytesMut};
use kafka_protocol::messages::{GroupId, RequestHeader, ResponseHeader, TopicName};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Request, StrBytes};

use crate::common::raw::RawClient;

/// Longest the broker may take to answer one request.
pub const RESPONSE_DEADLINE: Duration = Duration::from_secs(10);

pub fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}
pub fn topic_name(v: &str) -> TopicName {
    TopicName(s(v))
}
pub fn group_id(v: &str) -> GroupId {
    GroupId(s(v))
}

/// A connection to the broker that reconnects after the broker closes it on a failure.
pub struct Conn {
    pub addr: String,
    pub client: Option<RawClient>,
    pub correlation: i32,
}

impl Conn {
    /// Sends `req` at `version` and decodes the answer at that version, checking the
    /// correlation id and that the body is read to its end.
    pub async fn call<R: Request>(&mut self, req: &R, version: i16) -> Result<R::Response, String> {
        self.correlation += 1;
        let correlation = self.correlation;
        let header = RequestHeader::default()
            .with_request_api_key(R::KEY)
            .with_request_api_version(version)
            .with_correlation_id(correlation)
            .with_client_id(Some(s("api-versions-matrix")));
        let mut buf = BytesMut::new();
        buf.put_i32(0);
        header
            .encode(&mut buf, R::header_version(version))
            .and_then(|()| req.encode(&mut buf, version))
            .map_err(|e| format!("the test's request does not encode (a test bug): {e}"))?;
        let len = (buf.len() - 4) as i32;
        buf[..4].copy_from_slice(&len.to_be_bytes());
        if self.client.is_none() {
            self.client = Some(RawClient::connect(&self.addr).await);
        }
        let result = self.exchange::<R>(&buf, version, correlation).await;
        if result.is_err() {
            // The broker closes the connection after a request it cannot serve.
            self.client = None;
        }
        result
    }

    async fn exchange<R: Request>(
        &mut self,
        frame: &[u8],
        version: i16,
        correlation: i32,
    ) -> Result<R::Response, String> {
        let client = self.client.as_mut().expect("connected above");
        client
            .write_raw(frame)
            .await
            .map_err(|e| format!("write failed: {e}"))?;
        let mut frame = tokio::time::timeout(RESPONSE_DEADLINE, client.read_frame())
            .await
            .map_err(|_| format!("no response within {RESPONSE_DEADLINE:?}"))?
            .ok_or("the broker closed the connection instead of answering")?;
        let header = ResponseHeader::decode(&mut frame, R::Response::header_version(version))
            .map_err(|e| format!("response header does not decode: {e}"))?;
        if header.correlation_id != correlation {
            return Err(format!(
                "correlation id {} in the response, {correlation} sent",
                header.correlation_id
            ));
        }
        let body = R::Response::decode(&mut frame, version)
            .map_err(|e| format!("response body does not decode: {e}"))?;
        if !frame.is_empty() {
            return Err(format!(
                "{} bytes left over after the response body",
                frame.len()
            ));
        }
        Ok(body)
    }
}

/// Fails unless `code` is 0.
pub fn ok(code: i16, what: &str) -> Result<(), String> {
    match code {
        0 => Ok(()),
        c => Err(format!("{what}: error code {c}")),
    }
}

/// Fails unless `code` is `want`.
pub fn expect_code(code: i16, want: i16, what: &str) -> Result<(), String> {
    if code == want {
        Ok(())
    } else {
        Err(format!("{what}: error code {code}, expected {want}"))
    }
}

/// UNKNOWN_TOPIC_OR_PARTITION.
pub const UNKNOWN_TOPIC: i16 = 3;
