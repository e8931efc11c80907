//! The Postgres CDC source's guardrails and failure modes against a real PostgreSQL, through
//! one `fjord connect standalone` worker's REST API: bad input (a wrong password, a missing
//! table, `wal_level` below logical, a slot another connector holds) FAILS that task with a
//! clear message while the worker and its other connectors stay up; `slot.drop.on.stop`
//! drops the slot when the connector is deleted; unchanged TOASTed columns are never a
//! placeholder, in each `toast.fill` mode and under REPLICA IDENTITY FULL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::connect::{worker_file, ConnectProcess};
use common::postgres::PgServer;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Headers;
use rdkafka::{Message, Offset, TopicPartitionList};
use serde_json::{json, Value};

async fn exec(pool: &sqlx::PgPool, sql: &str) {
    sqlx::raw_sql(sql)
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

fn worker(dir: &std::path::Path, bootstrap: &str) -> ConnectProcess {
    let file = worker_file(
        dir,
        "connect-standalone.properties",
        bootstrap,
        &[("offset.flush.interval.ms", "300")],
    );
    ConnectProcess::start(dir, &["standalone", file.to_str().unwrap()])
}

async fn create(rest: &str, name: &str, config: Value) {
    let response = reqwest::Client::new()
        .post(format!("{rest}/connectors"))
        .json(&json!({"name": name, "config": config}))
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "create {name}: {}",
        response.text().await.unwrap()
    );
}

/// Polls the task's status until it is `state`; returns its trace.
async fn task_state(rest: &str, name: &str, state: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let status: Value = reqwest::get(format!("{rest}/connectors/{name}/status"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap_or(Value::Null);
        let task = &status["tasks"][0];
        if task["state"] == state {
            return task["trace"].as_str().unwrap_or_default().to_owned();
        }
        assert!(
            Instant::now() < deadline,
            "{name} did not become {state}: {status}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn source_config(pg: &PgServer, db: &str, prefix: &str, extra: &[(&str, &str)]) -> Value {
    let mut config = serde_json::Map::new();
    config.insert(
        "connector.class".into(),
        "io.debezium.connector.postgresql.PostgresConnector".into(),
    );
    config.insert("topic.prefix".into(), prefix.into());
    config.insert("slot.name".into(), format!("{prefix}_slot").into());
    config.insert("publication.name".into(), format!("{prefix}_pub").into());
    for (k, v) in pg.source_keys(db) {
        config.insert(k, v.into());
    }
    for (k, v) in extra {
        config.insert((*k).into(), (*v).into());
    }
    Value::Object(config)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_fails_only_that_task_with_a_clear_message() {
    let pg = PgServer::start();
    let db = pg.create_database("app").await;
    exec(&db, "CREATE TABLE t (id int PRIMARY KEY)").await;
    let low = PgServer::start_with(&[("wal_level", "replica")]);
    low.create_database("app").await;
    let broker = common::broker().await;
    let dir = tempfile::tempdir().unwrap();
    let connect = worker(dir.path(), &broker.bootstrap_servers());
    let rest = connect.rest_url.clone();

    create(&rest, "good", source_config(&pg, "app", "good", &[])).await;
    task_state(&rest, "good", "RUNNING").await;

    create(
        &rest,
        "bad-password",
        source_config(&pg, "app", "badpw", &[("database.password", "wrong")]),
    )
    .await;
    let trace = task_state(&rest, "bad-password", "FAILED").await;
    assert!(trace.contains("password authentication failed"), "{trace}");

    create(
        &rest,
        "missing-table",
        source_config(
            &pg,
            "app",
            "missing",
            &[("table.include.list", "public.nope")],
        ),
    )
    .await;
    let trace = task_state(&rest, "missing-table", "FAILED").await;
    assert!(trace.contains("matches no table"), "{trace}");

    create(&rest, "low-wal", source_config(&low, "app", "low", &[])).await;
    let trace = task_state(&rest, "low-wal", "FAILED").await;
    assert!(
        trace.contains("wal_level is 'replica'") && trace.contains("wal_level = logical"),
        "{trace}"
    );

    // Another connector on the slot "good" holds.
    create(
        &rest,
        "same-slot",
        source_config(&pg, "app", "other", &[("slot.name", "good_slot")]),
    )
    .await;
    let trace = task_state(&rest, "same-slot", "FAILED").await;
    assert!(trace.contains("'good_slot' is in use"), "{trace}");

    // The worker and the good connector are still up and streaming.
    assert_eq!(task_state(&rest, "good", "RUNNING").await, "");
    exec(&db, "INSERT INTO t VALUES (1)").await;
    let events = read(&broker.bootstrap_servers(), "good.public.t", 1);
    assert_eq!(events[0].1["payload"]["after"]["id"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slot_drop_on_stop_drops_the_slot_of_a_deleted_connector() {
    let pg = PgServer::start();
    let db = pg.create_database("app").await;
    exec(&db, "CREATE TABLE t (id int PRIMARY KEY)").await;
    let broker = common::broker().await;
    let dir = tempfile::tempdir().unwrap();
    let connect = worker(dir.path(), &broker.bootstrap_servers());
    let rest = connect.rest_url.clone();
    create(
        &rest,
        "dropper",
        source_config(&pg, "app", "dropper", &[("slot.drop.on.stop", "true")]),
    )
    .await;
    task_state(&rest, "dropper", "RUNNING").await;
    let slots = || async {
        sqlx::query_scalar::<_, String>("SELECT slot_name::text FROM pg_replication_slots")
            .fetch_all(&db)
            .await
            .unwrap()
    };
    assert_eq!(slots().await, ["dropper_slot"]);
    let response = reqwest::Client::new()
        .delete(format!("{rest}/connectors/dropper"))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    let deadline = Instant::now() + Duration::from_secs(30);
    while !slots().await.is_empty() {
        assert!(Instant::now() < deadline, "the slot was not dropped");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Reads `count` records of `topic`: (headers, value JSON).
fn read(bootstrap: &str, topic: &str, count: usize) -> Vec<(Vec<(String, String)>, Value)> {
    let mut c = common::client_config(bootstrap);
    c.set("enable.auto.commit", "false")
        .set("group.id", "fjord-test-pg-guard");
    let consumer: BaseConsumer = c.create().unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning)
        .unwrap();
    consumer.assign(&tpl).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut out = Vec::new();
    while out.len() < count {
        assert!(
            Instant::now() < deadline,
            "timed out reading {topic}: {out:?}"
        );
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(100)) {
            let headers = m
                .headers()
                .map(|h| {
                    h.iter()
                        .map(|h| {
                            (
                                h.key.to_owned(),
                                String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            let value = m
                .payload()
                .map(|p| serde_json::from_slice(p).unwrap())
                .unwrap_or(Value::Null);
            out.push((headers, value));
        }
    }
    drop(tpl);
    common::close(consumer);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unchanged_toasted_column_is_never_a_placeholder() {
    let pg = PgServer::start();
    let db = pg.create_database("docs").await;
    exec(
        &db,
        "CREATE TABLE omit_t (id int PRIMARY KEY, title text, body text);
         CREATE TABLE cache_t (id int PRIMARY KEY, title text, body text);
         CREATE TABLE full_t (id int PRIMARY KEY, title text, body text);
         ALTER TABLE full_t REPLICA IDENTITY FULL;",
    )
    .await;
    let broker = common::broker().await;
    let bs = broker.bootstrap_servers();
    let dir = tempfile::tempdir().unwrap();
    let connect = worker(dir.path(), &bs);
    let rest = connect.rest_url.clone();
    for (name, table, fill) in [
        ("omit", "public.omit_t", "omit"),
        ("cache", "public.cache_t", "cache"),
        ("full", "public.full_t", "omit"),
    ] {
        create(
            &rest,
            name,
            source_config(
                &pg,
                "docs",
                name,
                &[
                    ("table.include.list", table),
                    ("publication.autocreate.mode", "filtered"),
                    ("toast.fill", fill),
                ],
            ),
        )
        .await;
        task_state(&rest, name, "RUNNING").await;
    }
    // ~10 kB of hex: stored out of line (TOASTed), so an update of another column leaves it
    // out of the WAL.
    for table in ["omit_t", "cache_t", "full_t"] {
        exec(
            &db,
            &format!(
                "INSERT INTO {table} SELECT 1, 'v1', string_agg(md5(g::text), '') FROM generate_series(1, 320) g;
                 UPDATE {table} SET title = 'v2' WHERE id = 1;"
            ),
        )
        .await;
    }
    let body: String = sqlx::query_scalar("SELECT body FROM omit_t")
        .fetch_one(&db)
        .await
        .unwrap();
    assert!(body.len() > 10_000);

    let omit = read(&bs, "omit.public.omit_t", 2);
    let update = &omit[1].1["payload"];
    assert_eq!(update["op"], "u");
    assert_eq!(update["after"]["title"], "v2");
    assert!(
        update["after"]["body"].is_null(),
        "left out, not a placeholder"
    );
    assert!(
        omit[1]
            .0
            .contains(&("unchanged_toasted_columns".to_owned(), "body".to_owned())),
        "{:?}",
        omit[1].0
    );
    assert!(omit[0].0.is_empty(), "the insert had every column");

    let cache = read(&bs, "cache.public.cache_t", 2);
    assert_eq!(cache[1].1["payload"]["after"]["body"], body.as_str());
    assert!(cache[1].0.is_empty());

    let full = read(&bs, "full.public.full_t", 2);
    assert_eq!(full[1].1["payload"]["after"]["body"], body.as_str());
    assert_eq!(full[1].1["payload"]["before"]["title"], "v1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slot_lag_past_the_limit_fails_the_task_under_the_fail_policy() {
    let pg = PgServer::start();
    let db = pg.create_database("app").await;
    exec(
        &db,
        "CREATE TABLE captured (id int PRIMARY KEY); CREATE TABLE busy (id int)",
    )
    .await;
    let broker = common::broker().await;
    let dir = tempfile::tempdir().unwrap();
    let connect = worker(dir.path(), &broker.bootstrap_servers());
    let rest = connect.rest_url.clone();
    create(
        &rest,
        "laggy",
        source_config(
            &pg,
            "app",
            "laggy",
            &[
                ("table.include.list", "public.captured"),
                ("publication.autocreate.mode", "filtered"),
                // No heartbeat: nothing moves the slot while only the uncaptured table changes.
                ("heartbeat.interval.ms", "0"),
                ("slot.max.lag.bytes", "100000"),
                ("slot.lag.policy", "fail"),
            ],
        ),
    )
    .await;
    task_state(&rest, "laggy", "RUNNING").await;
    // About 1 MB of WAL in a table the connector does not capture.
    exec(
        &db,
        "INSERT INTO busy SELECT g FROM generate_series(1, 20000) g",
    )
    .await;
    let trace = task_state(&rest, "laggy", "FAILED").await;
    assert!(
        trace.contains("replication slot 'laggy_slot' holds")
            && trace.contains("more than slot.max.lag.bytes=100000"),
        "{trace}"
    );
}
