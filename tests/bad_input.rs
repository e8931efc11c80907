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

/// The broker's default `socket.request.max.bytes`.
const MAX_REQUEST_BYTES: i32 = 100 * 1024 * 1024;

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

    // A truncated frame, then the client goes away mid-request: the broker sees the end of
    // the stream mid-frame and closes.
    let mut c = RawClient::connect(&bs).await;
    c.write_raw(&[0, 0, 1, 0, 0, 3, 0, 1]).await.unwrap();
    c.assert_no_response_within(Duration::from_millis(200), "a frame cut short")
        .await;
    c.shutdown_write().await;
    assert!(c.closed_by_peer().await, "EOF mid-frame must disconnect");

    // Random noise from a deterministic generator, many connections. The fate of each follows
    // from its first bytes, so each is asserted: a length prefix Kafka refuses closes at once;
    // a plausible one makes the broker wait for the rest of the frame, and the end of the
    // stream mid-frame then closes the connection.
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed as u8
    };
    let (mut refused, mut waited) = (0, 0);
    for i in 0..20 {
        let mut c = RawClient::connect(&bs).await;
        let mut noise: Vec<u8> = (0..64).map(|_| next()).collect();
        if i % 2 == 1 {
            // Every other one starts with a plausible length (100 to 355 bytes, more than
            // are sent), as a truncated request would; raw noise almost never does.
            let plausible = 100 + i32::from(noise[0]);
            noise[..4].copy_from_slice(&plausible.to_be_bytes());
        }
        let len = i32::from_be_bytes([noise[0], noise[1], noise[2], noise[3]]);
        c.write_raw(&noise).await.unwrap();
        if !(10..=MAX_REQUEST_BYTES).contains(&len) {
            refused += 1;
            assert!(
                c.closed_by_peer().await,
                "noise {i}: length {len} must disconnect"
            );
        } else {
            waited += 1;
            c.assert_no_response_within(Duration::from_millis(100), "noise that is a frame start")
                .await;
            c.shutdown_write().await;
            assert!(
                c.closed_by_peer().await,
                "noise {i}: EOF mid-frame must disconnect"
            );
        }
    }
    assert!(refused > 0 && waited > 0, "the noise covers both fates");

    // Framed noise: whole frames of random bytes naming an API key Kafka does not define
    // close the connection; an ApiVersions at a random version above the served range is
    // answered (v0, UNSUPPORTED_VERSION with our ranges) on a connection that stays usable.
    for i in 0..10 {
        let mut c = RawClient::connect(&bs).await;
        let mut frame: Vec<u8> = (0..40).map(|_| next()).collect();
        frame[0] = 0x40 | (frame[0] & 0x3f); // api keys 16384.. are undefined
        let mut msg = (frame.len() as i32).to_be_bytes().to_vec();
        msg.extend_from_slice(&frame);
        c.write_raw(&msg).await.unwrap();
        assert!(
            c.closed_by_peer().await,
            "framed noise {i}: unknown API key must disconnect"
        );
    }
    for i in 0..5u8 {
        let mut c = RawClient::connect(&bs).await;
        let version = 0x1000 + i16::from(next());
        let correlation = 100 + i32::from(i);
        let mut frame = vec![0, 18];
        frame.extend_from_slice(&version.to_be_bytes());
        frame.extend_from_slice(&correlation.to_be_bytes());
        frame.extend_from_slice(&[0xff, 0xff]); // null client id
        frame.extend((0..16).map(|_| next()));
        let mut msg = (frame.len() as i32).to_be_bytes().to_vec();
        msg.extend_from_slice(&frame);
        c.write_raw(&msg).await.unwrap();
        let mut resp = c.read_frame().await.expect("an answer, not a disconnect");
        use bytes::Buf;
        assert_eq!(resp.get_i32(), correlation, "correlation id echoed");
        let body =
            <ApiVersionsResponse as kafka_protocol::protocol::Decodable>::decode(&mut resp, 0)
                .unwrap();
        assert_eq!(
            body.error_code, 35,
            "ApiVersions v{version}: UNSUPPORTED_VERSION"
        );
        assert!(!body.api_keys.is_empty(), "the answer lists our ranges");
        let ok: ApiVersionsResponse = c.call(&ApiVersionsRequest::default(), 0).await;
        assert_eq!(ok.error_code, 0, "the connection still serves");
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
    assert_eq!(
        resp.responses[0].partition_responses[0].error_code, 2,
        "a truncated batch is CORRUPT_MESSAGE, as Kafka answers"
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
    let part = partition(&broker, &topic, 0);
    let end = part.log_end_offset();
    assert_eq!(end, 0, "nothing was written");
    broker.shutdown().await;
}
