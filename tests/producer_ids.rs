//! Producer ids survive crashes: a `fjord broker` child is SIGKILLed again and again while
//! idempotent producers ask for ids (InitProducerId), and no id is ever handed out twice.
//!
//! The kills land at different points of the id blocks the broker reserves (just before,
//! at and after a block boundary), where a reservation that is not durable before its first
//! id is handed out would show up as a duplicate after the restart.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use common::process::BrokerProcess;
use kafka_protocol::messages::{
    ApiKey, InitProducerIdRequest, InitProducerIdResponse, ProducerId, RequestHeader,
    ResponseHeader,
};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, StrBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const VERSION: i16 = 4;
/// Requests each connection keeps in flight.
const PIPELINE: i32 = 16;
const CONNECTIONS: usize = 4;

fn frame(correlation_id: i32) -> BytesMut {
    let header = RequestHeader::default()
        .with_request_api_key(ApiKey::InitProducerId as i16)
        .with_request_api_version(VERSION)
        .with_correlation_id(correlation_id)
        .with_client_id(Some(StrBytes::from_static_str("pid-crash-test")));
    let req = InitProducerIdRequest::default()
        .with_transactional_id(None)
        .with_transaction_timeout_ms(-1)
        .with_producer_id(ProducerId(-1))
        .with_producer_epoch(-1);
    let mut buf = BytesMut::new();
    buf.put_i32(0);
    header
        .encode(&mut buf, InitProducerIdRequest::header_version(VERSION))
        .unwrap();
    req.encode(&mut buf, VERSION).unwrap();
    let len = (buf.len() - 4) as i32;
    buf[..4].copy_from_slice(&len.to_be_bytes());
    buf
}

/// Asks for producer ids on one connection until the broker goes away; every id answered
/// goes into `ids`. Answers must come in request order, each with its correlation id.
async fn producer_starts(bootstrap: String, ids: Arc<Mutex<Vec<i64>>>) {
    let Ok(mut stream) = TcpStream::connect(&bootstrap).await else {
        return;
    };
    let mut correlation = 0;
    loop {
        let mut out = BytesMut::new();
        for i in 1..=PIPELINE {
            out.extend_from_slice(&frame(correlation + i));
        }
        if stream.write_all(&out).await.is_err() {
            return;
        }
        for _ in 0..PIPELINE {
            correlation += 1;
            let mut len = [0u8; 4];
            if stream.read_exact(&mut len).await.is_err() {
                return; // killed
            }
            let mut body = vec![0u8; i32::from_be_bytes(len) as usize];
            if stream.read_exact(&mut body).await.is_err() {
                return;
            }
            let mut body = Bytes::from(body);
            let header = ResponseHeader::decode(
                &mut body,
                ApiKey::InitProducerId.response_header_version(VERSION),
            )
            .unwrap();
            assert_eq!(header.correlation_id, correlation, "answers out of order");
            let resp = InitProducerIdResponse::decode(&mut body, VERSION).unwrap();
            assert_eq!(resp.error_code, 0, "InitProducerId failed");
            assert_eq!(resp.producer_epoch, 0);
            assert!(!body.has_remaining());
            ids.lock().unwrap().push(resp.producer_id.0);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_producer_id_is_handed_out_twice_across_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    // How many ids each run hands out before it is killed: around the block size (1000),
    // where a block reservation happens, and a few elsewhere.
    let kill_after = [1000, 995, 1003, 10, 1500, 999, 2001, 1, 1000, 2990];
    let mut seen: HashSet<i64> = HashSet::new();
    let mut total = 0;
    for (run, &target) in kill_after.iter().enumerate() {
        let mut broker = BrokerProcess::start_in(dir.path(), &[]);
        let ids = Arc::new(Mutex::new(Vec::new()));
        let clients: Vec<_> = (0..CONNECTIONS)
            .map(|_| tokio::spawn(producer_starts(broker.bootstrap.clone(), ids.clone())))
            .collect();
        let deadline = Instant::now() + Duration::from_secs(60);
        while ids.lock().unwrap().len() < target {
            assert!(
                Instant::now() < deadline,
                "run {run}: only {} ids within 60 s",
                ids.lock().unwrap().len()
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        // SIGKILL with requests in flight on every connection.
        broker.kill();
        for c in clients {
            c.await.unwrap();
        }
        let ids = std::mem::take(&mut *ids.lock().unwrap());
        total += ids.len();
        for id in ids {
            assert!(id >= 0);
            assert!(
                seen.insert(id),
                "run {run}: producer id {id} handed out twice"
            );
        }
    }
    assert!(total >= kill_after.iter().sum::<usize>());
    assert_eq!(seen.len(), total);
}

/// CONFORMANCE: InitProducerId checks `transaction_timeout_ms` of a transactional producer
/// against `transaction.max.timeout.ms` (900000 by default); an idempotent-only producer sends
/// none worth checking.
#[tokio::test]
async fn init_producer_id_checks_the_transaction_timeout_at_its_bounds() {
    use common::raw::RawClient;
    use kafka_protocol::messages::TransactionalId;

    let broker = common::broker().await;
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    let cases = [
        (Some("txn-max"), 900_000, 0),
        (Some("txn-above"), 900_001, 50),
        (Some("txn-zero"), 0, 50),
        (Some("txn-negative"), -1, 50),
        (None, -1, 0),
        (None, i32::MAX, 0),
    ];
    for (txn, timeout, code) in cases {
        let req = InitProducerIdRequest::default()
            .with_transactional_id(txn.map(|t| TransactionalId(StrBytes::from_static_str(t))))
            .with_transaction_timeout_ms(timeout)
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1);
        let resp: InitProducerIdResponse = c.call(&req, VERSION).await;
        assert_eq!(resp.error_code, code, "{txn:?} with timeout {timeout}");
        if code == 0 {
            assert!(resp.producer_id.0 >= 0);
        } else {
            assert_eq!(resp.producer_id.0, -1);
        }
    }
    broker.shutdown().await;
}
