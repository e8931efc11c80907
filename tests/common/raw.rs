//! A minimal Kafka-protocol client over TCP for wire-level assertions.
//!
//! Requests may be pipelined (`send` several, then `receive` each): the client remembers the
//! correlation ids it sent and checks every response carries the next one, in order. Every
//! read has a deadline ([`RESPONSE_DEADLINE`]), so a broker that never answers fails the test
//! with a message instead of hanging it.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, Request, StrBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long a response may take before the test fails. Far above any answer the broker
/// gives a test (the slowest are fetches parked for their `max_wait_ms`, which tests keep
/// well below this).
pub const RESPONSE_DEADLINE: Duration = Duration::from_secs(30);

pub struct RawClient {
    stream: TcpStream,
    correlation: i32,
    /// Correlation ids sent and not yet answered, oldest first: Kafka answers in order.
    in_flight: VecDeque<i32>,
}

impl RawClient {
    pub async fn connect(addr: &str) -> RawClient {
        RawClient {
            stream: TcpStream::connect(addr).await.expect("connect"),
            correlation: 0,
            in_flight: VecDeque::new(),
        }
    }

    /// Sends one request and decodes its response.
    pub async fn call<R: Request>(&mut self, req: &R, version: i16) -> R::Response {
        self.send(req, version).await;
        self.receive::<R>(version).await
    }

    pub async fn send<R: Request>(&mut self, req: &R, version: i16) {
        self.correlation += 1;
        let header = RequestHeader::default()
            .with_request_api_key(R::KEY)
            .with_request_api_version(version)
            .with_correlation_id(self.correlation)
            .with_client_id(Some(StrBytes::from_static_str("raw-test")));
        let mut buf = BytesMut::new();
        buf.put_i32(0);
        header
            .encode(&mut buf, R::header_version(version))
            .expect("header");
        req.encode(&mut buf, version).expect("body");
        let len = (buf.len() - 4) as i32;
        buf[..4].copy_from_slice(&len.to_be_bytes());
        self.stream.write_all(&buf).await.expect("write");
        self.in_flight.push_back(self.correlation);
    }

    /// Receives the response to the oldest request sent and not yet answered, checking its
    /// correlation id. Panics if none comes within [`RESPONSE_DEADLINE`].
    pub async fn receive<R: Request>(&mut self, version: i16) -> R::Response {
        let key = ApiKey::try_from(R::KEY).expect("key");
        let expected = self
            .in_flight
            .pop_front()
            .unwrap_or_else(|| panic!("receive({key:?}) with no request in flight"));
        let mut frame = self.read_frame().await.unwrap_or_else(|| {
            panic!("the broker closed the connection instead of answering {key:?} v{version}")
        });
        let header = ResponseHeader::decode(&mut frame, key.response_header_version(version))
            .expect("response header");
        assert_eq!(
            header.correlation_id, expected,
            "{key:?} v{version}: the response carries another request's correlation id"
        );
        R::Response::decode(&mut frame, version).expect("response body")
    }

    /// Reads one response frame; `None` if the broker closed the connection. Panics if
    /// nothing comes within [`RESPONSE_DEADLINE`].
    pub async fn read_frame(&mut self) -> Option<Bytes> {
        self.read_frame_within(RESPONSE_DEADLINE)
            .await
            .unwrap_or_else(|| panic!("no response within {RESPONSE_DEADLINE:?}"))
    }

    /// Reads one response frame: `Some(None)` if the broker closed the connection, `None` if
    /// nothing came within `wait` (to assert that the broker has not answered yet). Not cancel
    /// safe mid-frame, so a `None` is only meaningful when no frame was in transit.
    pub async fn read_frame_within(&mut self, wait: Duration) -> Option<Option<Bytes>> {
        let stream = &mut self.stream;
        let read = async move {
            let mut len = [0u8; 4];
            stream.read_exact(&mut len).await.ok()?;
            let mut buf = vec![0u8; i32::from_be_bytes(len) as usize];
            stream.read_exact(&mut buf).await.ok()?;
            Some(Bytes::from(buf))
        };
        tokio::time::timeout(wait, read).await.ok()
    }

    /// Waits `wait` for the response to the oldest request in flight and checks none came
    /// (the broker is holding the request, e.g. a fetch parked for data). The request stays in
    /// flight for a later [`RawClient::receive`].
    pub async fn assert_no_response_within(&mut self, wait: Duration, what: &str) {
        let mut probe = [0u8; 1];
        match tokio::time::timeout(wait, self.stream.peek(&mut probe)).await {
            Err(_) => {}
            Ok(Ok(0)) | Ok(Err(_)) => panic!("{what}: the broker closed the connection"),
            Ok(Ok(_)) => panic!("{what}: the broker answered within {wait:?}"),
        }
    }

    pub async fn write_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes).await
    }

    /// Half-closes the connection: the broker sees the end of the stream (mid-frame, if a
    /// frame was cut short) while this side can still read its answer or close.
    pub async fn shutdown_write(&mut self) {
        self.stream.shutdown().await.expect("shutdown");
    }

    /// True when the broker closed the connection (EOF or reset) within the timeout.
    pub async fn closed_by_peer(&mut self) -> bool {
        let mut b = [0u8; 1];
        matches!(
            tokio::time::timeout(std::time::Duration::from_secs(5), self.stream.read(&mut b)).await,
            Ok(Ok(0)) | Ok(Err(_))
        )
    }
}

/// An acks=all ProduceRequest of `records` to partition 0 of `topic`.
pub fn produce_req(topic: &str, records: Bytes) -> kafka_protocol::messages::ProduceRequest {
    use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
    use kafka_protocol::messages::{ProduceRequest, TopicName};
    ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(5000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(TopicName(StrBytes::from_string(topic.to_string())))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(0)
                .with_records(Some(records))])])
}

/// Builds an uncompressed RecordBatch v2 with the given values (no keys) and timestamps.
pub fn record_batch(values: &[&[u8]], base_timestamp: i64) -> Bytes {
    idempotent_batch(values, base_timestamp, -1, -1, -1)
}

/// Like [`record_batch`], stamped with an idempotent producer's id, epoch and first sequence.
pub fn idempotent_batch(
    values: &[&[u8]],
    base_timestamp: i64,
    producer_id: i64,
    epoch: i16,
    base_sequence: i32,
) -> Bytes {
    let mut records = BytesMut::new();
    for (i, v) in values.iter().enumerate() {
        let mut rec = BytesMut::new();
        rec.put_i8(0); // attributes
        put_varlong(&mut rec, i as i64); // timestamp delta
        put_varlong(&mut rec, i as i64); // offset delta
        put_varlong(&mut rec, -1); // null key
        put_varlong(&mut rec, v.len() as i64);
        rec.put_slice(v);
        put_varlong(&mut rec, 0); // headers
        put_varlong(&mut records, rec.len() as i64);
        records.put_slice(&rec);
    }
    let n = values.len() as i32;
    let mut body = BytesMut::new(); // from attributes on: what the CRC covers
    body.put_i16(0);
    body.put_i32(n - 1);
    body.put_i64(base_timestamp);
    body.put_i64(base_timestamp + i64::from(n - 1));
    body.put_i64(producer_id);
    body.put_i16(epoch);
    body.put_i32(base_sequence);
    body.put_i32(n);
    body.put_slice(&records);
    let mut batch = BytesMut::new();
    batch.put_i64(0);
    batch.put_i32((4 + 1 + 4 + body.len()) as i32);
    batch.put_i32(0);
    batch.put_i8(2);
    batch.put_u32(crc32c::crc32c(&body));
    batch.put_slice(&body);
    batch.freeze()
}

fn put_varlong(buf: &mut BytesMut, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        buf.put_u8((z as u8) | 0x80);
        z >>= 7;
    }
    buf.put_u8(z as u8);
}

/// Base offsets of the batches in a record set.
pub fn batch_base_offsets(mut records: Bytes) -> Vec<i64> {
    let mut out = Vec::new();
    while records.len() >= 12 {
        let base = records.get_i64();
        let len = records.get_i32() as usize;
        out.push(base);
        records.advance(len.min(records.len()));
    }
    out
}
