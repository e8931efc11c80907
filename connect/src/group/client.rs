//! One Kafka protocol connection: size-prefixed frames, request headers with correlation ids,
//! kafka-protocol's codec. Requests go one at a time (the member loop never pipelines), so a
//! response is always the answer to the last request.
//!
//! Versions are fixed ones both Apache Kafka (2.4 and later, including 4.x) and our broker
//! serve: FindCoordinator v3, JoinGroup v7, SyncGroup v5, Heartbeat v4, LeaveGroup v4.

use std::time::Duration;

use bytes::{BufMut, BytesMut};
use kafka_protocol::messages::{ApiKey, FindCoordinatorRequest, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, Request, StrBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::{ConnectError, Result};

/// FindCoordinator version.
pub const FIND_COORDINATOR_VERSION: i16 = 3;
/// JoinGroup version (v4+ requires a member id; v7 answers the protocol type).
pub const JOIN_GROUP_VERSION: i16 = 7;
/// SyncGroup version (v5 carries protocol type and name).
pub const SYNC_GROUP_VERSION: i16 = 5;
/// Heartbeat version.
pub const HEARTBEAT_VERSION: i16 = 4;
/// LeaveGroup version (v3+ leaves by a member list).
pub const LEAVE_GROUP_VERSION: i16 = 4;

/// Largest response frame accepted (a JoinGroup answer carries every member's metadata).
const MAX_FRAME: usize = 64 * 1024 * 1024;

/// A connection to one broker.
#[derive(Debug)]
pub struct Connection {
    stream: TcpStream,
    addr: String,
    correlation: i32,
}

impl Connection {
    /// Connects to `addr` (`host:port`) within `timeout`.
    pub async fn connect(addr: &str, timeout: Duration) -> Result<Connection> {
        let stream = tokio::time::timeout(timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| retriable(addr, "connect timed out"))?
            .map_err(|e| retriable(addr, &e.to_string()))?;
        // Group requests are small and latency-bound.
        let _ = stream.set_nodelay(true);
        Ok(Connection {
            stream,
            addr: addr.to_string(),
            correlation: 0,
        })
    }

    /// Sends `req` and waits up to `timeout` for its response.
    ///
    /// # Cancel safety
    /// Not cancel safe: a cancelled call leaves a half-read frame; drop the connection.
    pub async fn call<R: Request>(
        &mut self,
        req: &R,
        version: i16,
        timeout: Duration,
    ) -> Result<R::Response> {
        let key = ApiKey::try_from(R::KEY).map_err(|_| protocol_error("unknown api key"))?;
        self.correlation = self.correlation.wrapping_add(1);
        let header = RequestHeader::default()
            .with_request_api_key(R::KEY)
            .with_request_api_version(version)
            .with_correlation_id(self.correlation)
            .with_client_id(Some(StrBytes::from_static_str("fjord-connect")));
        let mut buf = BytesMut::new();
        buf.put_i32(0);
        header
            .encode(&mut buf, R::header_version(version))
            .map_err(|e| protocol_error(&e.to_string()))?;
        req.encode(&mut buf, version)
            .map_err(|e| protocol_error(&e.to_string()))?;
        let len = i32::try_from(buf.len() - 4).map_err(|_| protocol_error("request too large"))?;
        buf[..4].copy_from_slice(&len.to_be_bytes());

        let io = async {
            self.stream.write_all(&buf).await?;
            let mut len = [0u8; 4];
            self.stream.read_exact(&mut len).await?;
            let len = usize::try_from(i32::from_be_bytes(len)).unwrap_or(usize::MAX);
            if len > MAX_FRAME {
                return Err(std::io::Error::other("response frame too large"));
            }
            let mut frame = vec![0u8; len];
            self.stream.read_exact(&mut frame).await?;
            Ok(frame)
        };
        let frame = tokio::time::timeout(timeout, io)
            .await
            .map_err(|_| {
                retriable(
                    &self.addr,
                    &format!("no answer to {key:?} within {timeout:?}"),
                )
            })?
            .map_err(|e| retriable(&self.addr, &e.to_string()))?;
        let mut frame = bytes::Bytes::from(frame);
        let header = ResponseHeader::decode(&mut frame, key.response_header_version(version))
            .map_err(|e| protocol_error(&e.to_string()))?;
        if header.correlation_id != self.correlation {
            return Err(protocol_error("response to another request"));
        }
        R::Response::decode(&mut frame, version).map_err(|e| protocol_error(&e.to_string()))
    }
}

/// Finds the group coordinator of `group` through any of the comma-separated bootstrap servers.
/// Returns its `host:port`, or a retriable error (coordinator not available yet, no broker
/// reachable).
pub async fn find_coordinator(bootstrap: &str, group: &str, timeout: Duration) -> Result<String> {
    let mut last = retriable(bootstrap, "no bootstrap servers");
    for addr in bootstrap
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let mut conn = match Connection::connect(addr, timeout).await {
            Ok(c) => c,
            Err(e) => {
                last = e;
                continue;
            }
        };
        let req = FindCoordinatorRequest::default()
            .with_key(StrBytes::from_string(group.to_string()))
            .with_key_type(0);
        match conn.call(&req, FIND_COORDINATOR_VERSION, timeout).await {
            Ok(resp) if resp.error_code == 0 => return Ok(format!("{}:{}", resp.host, resp.port)),
            Ok(resp) => {
                last = ConnectError::Retriable(format!(
                    "FindCoordinator for group '{group}' at {addr}: error code {}",
                    resp.error_code
                ));
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}

fn retriable(addr: &str, what: &str) -> ConnectError {
    ConnectError::Retriable(format!("group coordinator connection to {addr}: {what}"))
}

fn protocol_error(what: &str) -> ConnectError {
    ConnectError::Kafka(format!("group protocol: {what}"))
}
