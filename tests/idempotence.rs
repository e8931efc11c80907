//! Idempotent produce at the wire level: a retried batch is not written twice (also after a
//! restart), a gap in sequence numbers is OUT_OF_ORDER_SEQUENCE_NUMBER, an old epoch is fenced,
//! and InitProducerId validates transaction timeouts.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::raw::{idempotent_batch, produce_req, RawClient};
use common::*;
use fjord_broker::EmbeddedConfig;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;

/// (error code, base offset) of a one-partition produce.
async fn send(
    client: &mut RawClient,
    topic: &str,
    pid: i64,
    epoch: i16,
    seq: i32,
    values: &[&[u8]],
) -> (i16, i64) {
    let resp: ProduceResponse = client
        .call(
            &produce_req(topic, idempotent_batch(values, 1, pid, epoch, seq)),
            9,
        )
        .await;
    let p = &resp.responses[0].partition_responses[0];
    (p.error_code, p.base_offset)
}

async fn init_pid(client: &mut RawClient) -> (i64, i16) {
    let resp: InitProducerIdResponse = client
        .call(
            &InitProducerIdRequest::default()
                .with_transactional_id(None)
                .with_transaction_timeout_ms(-1)
                .with_producer_id(ProducerId(-1))
                .with_producer_epoch(-1),
            4,
        )
        .await;
    assert_eq!(resp.error_code, 0);
    (resp.producer_id.0, resp.producer_epoch)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_are_deduplicated_and_gaps_rejected_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let config = || EmbeddedConfig {
        data_dir: Some(dir.path().to_path_buf()),
        ..Default::default()
    };
    let broker = broker_with(config()).await;
    let topic = unique("idem");
    create_topic(&broker.bootstrap_servers(), &topic, 1, &[]).await;
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    let (pid, epoch) = init_pid(&mut c).await;
    let (pid2, _) = init_pid(&mut c).await;
    assert_ne!(pid, pid2, "every producer gets its own id");

    assert_eq!(
        send(&mut c, &topic, pid, epoch, 0, &[b"a", b"b"]).await,
        (0, 0)
    );
    assert_eq!(send(&mut c, &topic, pid, epoch, 2, &[b"c"]).await, (0, 2));
    // The same batch again (a retry after a lost response): same offset, nothing appended.
    assert_eq!(send(&mut c, &topic, pid, epoch, 2, &[b"c"]).await, (0, 2));
    assert_eq!(
        send(&mut c, &topic, pid, epoch, 0, &[b"a", b"b"]).await,
        (0, 0)
    );
    // A gap.
    assert_eq!(
        send(&mut c, &topic, pid, epoch, 7, &[b"x"]).await.0,
        45,
        "OUT_OF_ORDER_SEQUENCE_NUMBER"
    );
    // Another producer is independent.
    assert_eq!(send(&mut c, &topic, pid2, 0, 0, &[b"d"]).await, (0, 3));
    broker.shutdown().await;

    let broker = broker_with(config()).await;
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    assert_eq!(
        send(&mut c, &topic, pid, epoch, 2, &[b"c"]).await,
        (0, 2),
        "dedup state survives a restart"
    );
    assert_eq!(send(&mut c, &topic, pid, epoch, 3, &[b"e"]).await, (0, 4));
    // A bumped epoch starts again at sequence 0; the old epoch is then fenced.
    assert_eq!(
        send(&mut c, &topic, pid, epoch + 1, 0, &[b"f"]).await,
        (0, 5)
    );
    assert_eq!(
        send(&mut c, &topic, pid, epoch, 4, &[b"g"]).await.0,
        47,
        "INVALID_PRODUCER_EPOCH"
    );
    let (new_pid, _) = init_pid(&mut c).await;
    assert!(
        new_pid > pid2,
        "producer ids are not reused after a restart"
    );
    let part = partition(&broker, &topic, 0);
    assert_eq!(
        part.log_end_offset(),
        6,
        "exactly a, b, c, d, e, f were written"
    );
    broker.shutdown().await;
}

#[tokio::test]
async fn init_producer_id_validates_the_transaction_timeout() {
    let broker = broker().await;
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    let req = InitProducerIdRequest::default()
        .with_transactional_id(Some(TransactionalId(StrBytes::from_static_str("txn-1"))))
        .with_transaction_timeout_ms(3_600_000)
        .with_producer_id(ProducerId(-1))
        .with_producer_epoch(-1);
    let resp: InitProducerIdResponse = c.call(&req, 4).await;
    assert_eq!(
        resp.error_code, 50,
        "INVALID_TRANSACTION_TIMEOUT above transaction.max.timeout.ms"
    );
    broker.shutdown().await;
}
