//! The Postgres CDC source against a real PostgreSQL (tests/common/postgres.rs) and the
//! embedded broker, run by `fjord connect standalone` as a child process: Debezium-shaped
//! events for inserts, updates, deletes and truncates with keys and tombstones; the initial
//! snapshot handing over to streaming with no gap and no duplicate under concurrent writes;
//! a SIGKILLed worker and a restarted Postgres losing no change.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use common::connect::{worker_file, ConnectProcess};
use common::postgres::PgServer;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Message, Offset, TopicPartitionList};
use serde_json::Value;

/// One consumed record: key and value as JSON (`Null` for a tombstone).
#[derive(Debug, Clone)]
struct Event {
    key: Value,
    value: Value,
}

impl Event {
    fn op(&self) -> Option<&str> {
        self.value["payload"]["op"].as_str()
    }
    fn after_id(&self) -> Option<i64> {
        self.value["payload"]["after"]["id"].as_i64()
    }
}

/// Reads `topic` from the beginning until `done` holds for what was read (or 60 s pass).
fn read_until(bootstrap: &str, topic: &str, done: impl Fn(&[Event]) -> bool) -> Vec<Event> {
    let mut c = common::client_config(bootstrap);
    c.set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", "100")
        .set("group.id", "fjord-test-pg")
        .set("isolation.level", "read_uncommitted");
    let consumer: BaseConsumer = c.create().unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning)
        .unwrap();
    consumer.assign(&tpl).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut out = Vec::new();
    // `done` looks at everything read: asked when the topic is drained for now, or every 2000
    // records, not after each one.
    let mut since_check = 0;
    loop {
        if since_check == 0 && done(&out) {
            break;
        }
        if Instant::now() >= deadline {
            let mut ops = BTreeMap::new();
            for e in &out {
                *ops.entry(e.op().unwrap_or("tombstone").to_owned())
                    .or_insert(0) += 1;
            }
            panic!(
                "timed out reading {topic}; got {} events, by op {ops:?}",
                out.len()
            );
        }
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                since_check = (since_check + 1) % 2000;
                let parse = |b: Option<&[u8]>| {
                    b.map(|b| serde_json::from_slice(b).unwrap())
                        .unwrap_or(Value::Null)
                };
                out.push(Event {
                    key: parse(m.key()),
                    value: parse(m.payload()),
                });
            }
            Some(Err(rdkafka::error::KafkaError::PartitionEOF(_))) | None => since_check = 0,
            Some(Err(e)) => {
                // The topic may not exist yet.
                let _ = e;
                since_check = 0;
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
    drop(tpl);
    common::close(consumer);
    out
}

fn connector_file(
    dir: &Path,
    name: &str,
    pg: &PgServer,
    db: &str,
    extra: &[(&str, &str)],
) -> String {
    let mut text = format!(
        "name={name}\nconnector.class=io.debezium.connector.postgresql.PostgresConnector\ntasks.max=1\n"
    );
    for (k, v) in pg.source_keys(db) {
        text.push_str(&format!("{k}={v}\n"));
    }
    for (k, v) in extra {
        text.push_str(&format!("{k}={v}\n"));
    }
    let file = format!("{name}.properties");
    std::fs::write(dir.join(&file), text).unwrap();
    file
}

async fn exec(pool: &sqlx::PgPool, sql: &str) {
    sqlx::raw_sql(sql)
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

fn start_worker(dir: &Path, bootstrap: &str, connectors: &[&str]) -> ConnectProcess {
    let worker = worker_file(
        dir,
        "connect-standalone.properties",
        bootstrap,
        &[("offset.flush.interval.ms", "300")],
    );
    let mut args = vec!["standalone".to_owned(), worker.display().to_string()];
    args.extend(connectors.iter().map(|c| (*c).to_owned()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    ConnectProcess::start(dir, &args)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_arrive_as_debezium_events_with_keys_tombstones_and_truncates() {
    let pg = PgServer::start();
    let db = pg.create_database("shop").await;
    exec(
        &db,
        "CREATE TABLE orders (id int PRIMARY KEY, note text NOT NULL, amount numeric(10,2), placed date);
         INSERT INTO orders VALUES (1, 'first', 10.50, '2024-01-02'), (2, 'second', NULL, NULL);",
    )
    .await;
    let broker = common::broker().await;
    let bs = broker.bootstrap_servers();
    let dir = tempfile::tempdir().unwrap();
    let file = connector_file(
        dir.path(),
        "pg-shop",
        &pg,
        "shop",
        &[("topic.prefix", "shop"), ("slot.name", "shop_slot")],
    );
    let _worker = start_worker(dir.path(), &bs, &[&file]);
    let topic = "shop.public.orders";
    let snapshot = read_until(&bs, topic, |e| e.len() >= 2);
    assert_eq!(snapshot[0].op(), Some("r"));
    assert_eq!(snapshot[0].key["payload"], serde_json::json!({"id": 1}));
    assert_eq!(
        snapshot[0].key["schema"]["name"].as_str(),
        Some("shop.public.orders.Key")
    );
    let p = &snapshot[0].value["payload"];
    assert_eq!(p["after"]["note"], "first");
    // Connect's Decimal in JSON: base64 of the unscaled 1050 (0x041a).
    assert_eq!(p["after"]["amount"], "BBo=");
    assert_eq!(p["after"]["placed"], 19_724);
    assert_eq!(p["source"]["connector"], "postgresql");
    assert_eq!(p["source"]["snapshot"], "true");
    assert_eq!(p["source"]["db"], "shop");
    assert_eq!(p["source"]["table"], "orders");
    assert_eq!(
        snapshot[0].value["schema"]["name"].as_str(),
        Some("shop.public.orders.Envelope")
    );

    exec(
        &db,
        "INSERT INTO orders VALUES (3, 'third', 3.00, NULL);
         BEGIN; UPDATE orders SET note = 'changed' WHERE id = 1; DELETE FROM orders WHERE id = 2; COMMIT;
         TRUNCATE orders;",
    )
    .await;
    let events = read_until(&bs, topic, |e| e.len() >= 7);
    let ops: Vec<Option<&str>> = events.iter().map(Event::op).collect();
    assert_eq!(
        ops,
        [
            Some("r"),
            Some("r"),
            Some("c"),
            Some("u"),
            Some("d"),
            None,
            Some("t")
        ]
    );
    let insert = &events[2].value["payload"];
    assert_eq!(insert["after"]["id"], 3);
    assert!(insert["before"].is_null());
    assert_eq!(insert["source"]["snapshot"], "false");
    assert!(insert["source"]["lsn"].as_i64().unwrap() > 0);
    assert!(insert["source"]["txId"].as_i64().unwrap() > 0);
    let update = &events[3].value["payload"];
    assert_eq!(update["after"]["note"], "changed");
    assert!(
        update["before"].is_null(),
        "REPLICA IDENTITY DEFAULT has no before image"
    );
    let delete = &events[4].value["payload"];
    assert_eq!(delete["before"]["id"], 2);
    assert!(delete["after"].is_null());
    assert_eq!(
        update["source"]["txId"], delete["source"]["txId"],
        "one transaction"
    );
    assert_eq!(events[5].key["payload"], serde_json::json!({"id": 2}));
    assert!(events[5].value.is_null(), "a tombstone follows the delete");
    assert!(events[6].key.is_null());

    // REPLICA IDENTITY FULL: updates and deletes carry the whole before image.
    exec(
        &db,
        "ALTER TABLE orders REPLICA IDENTITY FULL;
         INSERT INTO orders VALUES (4, 'four', 4.00, NULL);
         UPDATE orders SET amount = 5.00 WHERE id = 4;",
    )
    .await;
    let events = read_until(&bs, topic, |e| e.len() >= 9);
    let full = &events[8].value["payload"];
    assert_eq!(full["op"], "u");
    assert_eq!(full["before"]["note"], "four");
    assert_eq!(full["before"]["amount"], "AZA=");
    // A new column is picked up from pgoutput's Relation message.
    exec(
        &db,
        "ALTER TABLE orders ADD COLUMN tag text; INSERT INTO orders VALUES (5, 'five', 1.00, NULL, 'new');",
    )
    .await;
    let events = read_until(&bs, topic, |e| e.len() >= 10);
    assert_eq!(events[9].value["payload"]["after"]["tag"], "new");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_hands_over_to_streaming_with_no_gap_or_duplicate_under_concurrent_writes() {
    let pg = PgServer::start();
    let db = pg.create_database("inv").await;
    exec(
        &db,
        "CREATE TABLE items (id int PRIMARY KEY, qty int NOT NULL);
         INSERT INTO items SELECT g, 0 FROM generate_series(1, 5000) g;",
    )
    .await;
    let broker = common::broker().await;
    let bs = broker.bootstrap_servers();
    let dir = tempfile::tempdir().unwrap();
    let file = connector_file(
        dir.path(),
        "pg-inv",
        &pg,
        "inv",
        &[
            ("topic.prefix", "inv"),
            ("slot.name", "inv_slot"),
            ("snapshot.fetch.size", "250"),
        ],
    );
    let _worker = start_worker(dir.path(), &bs, &[&file]);
    // Once the snapshot has begun, another connection writes while it reads: updates of
    // existing rows (some not yet read) and inserts of new ones at the end of the key range,
    // 400 transactions each. None is in the snapshot's view, so each must arrive exactly once,
    // streamed: a snapshot not under the slot's exported snapshot would read the inserts too.
    read_until(&bs, "inv.public.items", |e| !e.is_empty());
    for i in 0..400 {
        let id = (i * 37) % 5000 + 1;
        exec(
            &db,
            &format!("UPDATE items SET qty = qty + 1 WHERE id = {id}"),
        )
        .await;
        exec(
            &db,
            &format!("INSERT INTO items VALUES ({}, {i})", 10_000 + i),
        )
        .await;
    }
    let expected: BTreeMap<i64, i64> = sqlx::query_as::<_, (i32, i32)>("SELECT id, qty FROM items")
        .fetch_all(&db)
        .await
        .unwrap()
        .into_iter()
        .map(|(id, qty)| (i64::from(id), i64::from(qty)))
        .collect();
    // Every row id, old or inserted, arrives exactly once as a snapshot read or a streamed
    // insert: none is missed at the hand-over and none is in both.
    let creates = |events: &[Event]| -> Vec<i64> {
        let mut ids: Vec<i64> = events
            .iter()
            .filter(|e| matches!(e.op(), Some("r" | "c")))
            .filter_map(Event::after_id)
            .collect();
        ids.sort_unstable();
        ids
    };
    let events = read_until(&bs, "inv.public.items", |e| {
        creates(e).len() >= 5400 && e.iter().filter(|e| e.op() == Some("u")).count() >= 400
    });
    let mut all_ids: Vec<i64> = expected.keys().copied().collect();
    all_ids.sort_unstable();
    let count = |op: &str| events.iter().filter(|e| e.op() == Some(op)).count();
    assert_eq!(
        count("r"),
        5000,
        "the rows of the snapshot's view, once each"
    );
    assert_eq!(
        count("c"),
        400,
        "the concurrent inserts, streamed once each"
    );
    assert_eq!(
        count("u"),
        400,
        "the concurrent updates, streamed once each"
    );
    assert_eq!(
        creates(&events),
        all_ids,
        "no gap and no duplicate at the hand-over"
    );
    let mut latest = BTreeMap::new();
    for e in &events {
        if let Some(id) = e.after_id() {
            latest.insert(id, e.value["payload"]["after"]["qty"].as_i64().unwrap());
        }
    }
    assert_eq!(
        latest, expected,
        "the topic's latest value per key is the table"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkilled_worker_and_a_restarted_postgres_lose_no_change() {
    let pg = PgServer::start();
    let db = pg.create_database("bank").await;
    exec(
        &db,
        "CREATE TABLE moves (id int PRIMARY KEY, amount int NOT NULL);",
    )
    .await;
    let broker = common::broker().await;
    let bs = broker.bootstrap_servers();
    let dir = tempfile::tempdir().unwrap();
    let file = connector_file(
        dir.path(),
        "pg-bank",
        &pg,
        "bank",
        &[
            ("topic.prefix", "bank"),
            ("slot.name", "bank_slot"),
            ("heartbeat.interval.ms", "200"),
            // Small batches, so a kill falls between events of one transaction.
            ("max.batch.size", "7"),
        ],
    );
    let topic = "bank.public.moves";
    let ids = |events: &[Event]| -> std::collections::BTreeSet<i64> {
        events.iter().filter_map(Event::after_id).collect()
    };
    let mut worker = start_worker(dir.path(), &bs, &[&file]);
    let mut next = 0;
    let batch = |db: sqlx::PgPool, from: i32, txs: i32| async move {
        for t in 0..txs {
            let base = from + t * 25;
            exec(
                &db,
                &format!(
                    "INSERT INTO moves SELECT g, g FROM generate_series({}, {}) g",
                    base,
                    base + 24
                ),
            )
            .await;
        }
    };
    batch(db.clone(), next, 8).await;
    next += 200;
    read_until(&bs, topic, |e| ids(e).len() >= 100);
    worker.kill();
    batch(db.clone(), next, 8).await;
    next += 200;
    let mut worker = start_worker(dir.path(), &bs, &[&file]);
    read_until(&bs, topic, |e| ids(e).len() >= 400);
    // Postgres restarts under the connector: it reconnects and streams on.
    pg.restart();
    batch(db.clone(), next, 8).await;
    next += 200;
    let events = read_until(&bs, topic, |e| ids(e).len() >= 600);
    let all: std::collections::BTreeSet<i64> = (0..i64::from(next)).collect();
    assert_eq!(ids(&events), all, "every insert arrived");
    let creates = events.iter().filter(|e| e.op() == Some("c")).count();
    // Rows inserted before the slot existed arrive as snapshot reads; the rest as inserts.
    assert!(creates > 0);
    worker.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_snapshot_resumes_from_its_last_chunk() {
    let pg = PgServer::start();
    let db = pg.create_database("big").await;
    let rows = 60_000;
    exec(
        &db,
        &format!(
            "CREATE TABLE readings (id bigint PRIMARY KEY, v text NOT NULL);
             INSERT INTO readings SELECT g, md5(g::text) FROM generate_series(1, {rows}) g;"
        ),
    )
    .await;
    let broker = common::broker().await;
    let bs = broker.bootstrap_servers();
    let dir = tempfile::tempdir().unwrap();
    let file = connector_file(
        dir.path(),
        "pg-big",
        &pg,
        "big",
        &[
            ("topic.prefix", "big"),
            ("slot.name", "big_slot"),
            ("snapshot.fetch.size", "500"),
        ],
    );
    let topic = "big.public.readings";
    let mut worker = start_worker(dir.path(), &bs, &[&file]);
    let before = read_until(&bs, topic, |e| e.len() >= 5_000).len();
    worker.kill();
    let c: BaseConsumer = common::client_config(&bs).create().unwrap();
    let (_, read_before_kill) = c
        .fetch_watermarks(topic, 0, Duration::from_secs(5))
        .unwrap();
    drop(c);
    let read_before_kill = usize::try_from(read_before_kill).unwrap();
    assert!(
        read_before_kill < rows,
        "the snapshot finished before the kill ({read_before_kill} rows): the test proves nothing"
    );
    // Changes made while the worker is down are streamed after the resumed snapshot.
    exec(&db, "UPDATE readings SET v = 'late' WHERE id = 1").await;
    let worker = start_worker(dir.path(), &bs, &[&file]);
    let _worker = worker;
    let events = read_until(&bs, topic, |e| {
        e.iter().any(|e| e.op() == Some("u"))
            && e.iter()
                .filter_map(Event::after_id)
                .collect::<std::collections::BTreeSet<_>>()
                .len()
                >= rows
    });
    let reads = events.iter().filter(|e| e.op() == Some("r")).count();
    let repeated = reads - rows;
    assert!(
        repeated < before,
        "the restart re-read {repeated} rows: it resumed from zero, not from its last committed chunk ({read_before_kill} rows were read before the kill)"
    );
    let last = events
        .iter()
        .rev()
        .find(|e| e.after_id() == Some(1))
        .unwrap();
    assert_eq!(last.value["payload"]["after"]["v"], "late");
}
