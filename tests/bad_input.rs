//! Malformed and hostile input: the offending client gets an error or is disconnected, the
//! broker keeps serving everyone else, and nothing stored is lost.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::raw::{produce_req, record_batch, RawClient};
use common::*;
use kafka_protocol::messages::*;
use rdkafka::producer::FutureRecord;
use rdkafka::Offset;

/// Produces `n` records with rdkafka, then checks they can all be read back.
async fn still_serving(bs: &str, topic: &str, before: usize, n: usize) {
    let producer = producer(bs, &[]);
    for i in 0..n {
        producer
            .send(
                FutureRecord::<(), _>::to(topic).payload(&format!("ok-{}", before + i)),
                Duration::from_secs(10),
            )
            .await
            .expect("broker still accepts produce");
    }
    let (bs, topic) = (bs.to_string(), topic.to_string());
    let total = before + n;
    let msgs =
        tokio::task::spawn_blocking(move || consume(&bs, &topic, &[0], Offset::Beginning, total))
            .await
            .unwrap();
    let expected: Vec<String> = (0..total).map(|i| format!("ok-{i}")).collect();
    assert_eq!(
        values(&msgs),
        expected,
        "everything stored before the bad input is intact"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_truncated_oversized_and_unknown_requests_only_hurt_their_sender() {
    let broker = broker().await;
    let bs = broker.bootstrap_servers();
    let topic = unique("bad");
    create_topic(&bs, &topic, 1, &[]).await;
    still_serving(&bs, &topic, 0, 5).await;

    // Random bytes that parse as a huge length.
    let mut c = RawClient::connect(&bs).await;
    c.write_raw(&[0x7f, 0x13, 0x88, 0x01, 0xde, 0xad, 0xbe, 0xef])
        .await
        .unwrap();
    assert!(c.closed_by_peer().await, "oversized frame must disconnect");

    // A frame whose body is garbage: unknown API key.
    let mut c = RawClient::connect(&bs).await;
    c.write_raw(&[0, 0, 0, 12, 0x7f, 0x00, 0, 1, 0, 0, 0, 1, 0xff, 0xff, 1, 2])
        .await
        .unwrap();
    assert!(c.closed_by_peer().await, "unknown API key must disconnect");

    // A known API with a body that does not decode (Metadata v12 cut short).
    let mut c = RawClient::connect(&bs).await;
    c.write_raw(&[0, 0, 0, 12, 0, 3, 0, 12, 0, 0, 0, 1, 0xff, 0xff, 0x00, 0x05])
        .await
        .unwrap();
    assert!(c.closed_by_peer().await, "undecodable body must disconnect");

    // A negative length.
    let mut c = RawClient::connect(&bs).await;
    c.write_raw(&[0xff, 0xff, 0xff, 0xf0]).await.unwrap();
    assert!(c.closed_by_peer().await);

    // A truncated frame, then the client goes away mid-request.
    let mut c = RawClient::connect(&bs).await;
    c.write_raw(&[0, 0, 1, 0, 0, 3, 0, 1]).await.unwrap();
    drop(c);

    // Pure random noise from a deterministic generator, many connections.
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..20 {
        let mut c = RawClient::connect(&bs).await;
        let noise: Vec<u8> = (0..64)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            })
            .collect();
        let _ = c.write_raw(&noise).await;
    }

    still_serving(&bs, &topic, 5, 5).await;
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_with_a_wrong_crc_is_rejected_and_nothing_is_lost() {
    let broker = broker().await;
    let bs = broker.bootstrap_servers();
    let topic = unique("crc");
    create_topic(&bs, &topic, 1, &[]).await;
    still_serving(&bs, &topic, 0, 3).await;

    let mut client = RawClient::connect(&bs).await;
    let mut batch = record_batch(&[b"evil"], 1).to_vec();
    let last = batch.len() - 1;
    batch[last] ^= 0xff; // flip bits in the record data, so the CRC no longer matches
    let resp: ProduceResponse = client.call(&produce_req(&topic, batch.into()), 9).await;
    let p = &resp.responses[0].partition_responses[0];
    assert_eq!(p.error_code, 2, "CORRUPT_MESSAGE");

    let mut short = record_batch(&[b"short"], 1).to_vec();
    short.truncate(40);
    let resp: ProduceResponse = client.call(&produce_req(&topic, short.into()), 9).await;
    assert_ne!(
        resp.responses[0].partition_responses[0].error_code, 0,
        "a truncated batch is an error"
    );

    // The same connection still works for a good batch.
    let resp: ProduceResponse = client
        .call(&produce_req(&topic, record_batch(&[b"good"], 1)), 9)
        .await;
    assert_eq!(resp.responses[0].partition_responses[0].error_code, 0);
    assert_eq!(resp.responses[0].partition_responses[0].base_offset, 3);
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_over_max_message_bytes_is_message_too_large() {
    let broker = broker().await;
    let bs = broker.bootstrap_servers();
    let topic = unique("big");
    create_topic(&bs, &topic, 1, &[("max.message.bytes", "1000")]).await;
    let mut client = RawClient::connect(&bs).await;
    let big = vec![b'x'; 2000];
    let resp: ProduceResponse = client
        .call(&produce_req(&topic, record_batch(&[&big], 1)), 9)
        .await;
    assert_eq!(
        resp.responses[0].partition_responses[0].error_code, 10,
        "MESSAGE_TOO_LARGE"
    );
    let resp: ProduceResponse = client
        .call(&produce_req(&topic, record_batch(&[b"small"], 1)), 9)
        .await;
    assert_eq!(resp.responses[0].partition_responses[0].error_code, 0);
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn absurd_array_lengths_do_not_abort_the_broker() {
    let broker = broker().await;
    let bs = broker.bootstrap_servers();
    let topic = unique("alloc");
    create_topic(&bs, &topic, 1, &[]).await;
    still_serving(&bs, &topic, 0, 2).await;
    // (api key, version): an array length of 2^31-1 right after the header, for APIs whose
    // body starts with an array (non-flexible and flexible encodings).
    for (key, version, body) in [
        (15i16, 0i16, vec![0x7f, 0xff, 0xff, 0xff]), // DescribeGroups v0: groups[]
        (3, 1, vec![0x7f, 0xff, 0xff, 0xff]),        // Metadata v1: topics[]
        (16, 4, vec![0x00, 0xff, 0xff, 0xff, 0xff, 0x07]), // ListGroups v4: compact states[]
        (
            0,
            3,
            vec![0xff, 0xff, 0, 1, 0, 0, 0x13, 0x88, 0x7f, 0xff, 0xff, 0xff],
        ), // Produce v3
    ] {
        let mut c = RawClient::connect(&bs).await;
        let flexible_header = key == 16;
        let mut frame = Vec::new();
        frame.extend_from_slice(&key.to_be_bytes());
        frame.extend_from_slice(&version.to_be_bytes());
        frame.extend_from_slice(&1i32.to_be_bytes());
        frame.extend_from_slice(&[0xff, 0xff]); // null client id
        if flexible_header {
            frame.push(0); // no tagged fields
        }
        frame.extend_from_slice(&body);
        let mut msg = (frame.len() as i32).to_be_bytes().to_vec();
        msg.extend_from_slice(&frame);
        c.write_raw(&msg).await.unwrap();
        assert!(
            c.closed_by_peer().await,
            "api {key} v{version}: a malformed request closes its connection"
        );
    }
    still_serving(&bs, &topic, 2, 2).await;
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyless_records_on_a_compacted_topic_are_named_in_record_errors() {
    let broker = broker().await;
    let bs = broker.bootstrap_servers();
    let topic = unique("compact-nokey");
    create_topic(&bs, &topic, 1, &[("cleanup.policy", "compact")]).await;
    let mut client = RawClient::connect(&bs).await;
    // record_batch builds records without keys.
    let resp: ProduceResponse = client
        .call(
            &produce_req(&topic, record_batch(&[b"a", b"b", b"c"], 1)),
            9,
        )
        .await;
    let p = &resp.responses[0].partition_responses[0];
    assert_eq!(p.error_code, 87, "INVALID_RECORD");
    let indexes: Vec<i32> = p.record_errors.iter().map(|e| e.batch_index).collect();
    assert_eq!(indexes, vec![0, 1, 2], "every keyless record is named");
    let part = broker
        .broker()
        .state()
        .topics
        .get(&topic)
        .unwrap()
        .partition(0)
        .unwrap();
    let end = part.log_end_offset();
    assert_eq!(end, 0, "nothing was written");
    broker.shutdown().await;
}
