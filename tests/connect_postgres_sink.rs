//! The Postgres sink: CDC from one database into a topic, then `JdbcSinkConnector` keys
//! (upsert, pk.mode=record_key, delete.enabled, auto.create, auto.evolve) into a second
//! database, all in one `fjord connect standalone`; after a mixed workload of 10,000
//! operations the copy equals the source table. And plain (non-CDC) JSON records upserted
//! with pk.mode=record_value.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::connect::{worker_file, ConnectProcess};
use common::postgres::{PgServer, PASSWORD, USER};

async fn exec(pool: &sqlx::PgPool, sql: &str) {
    sqlx::raw_sql(sql)
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

fn write_file(dir: &Path, name: &str, lines: &[(String, String)]) -> String {
    let text: String = lines.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    let file = format!("{name}.properties");
    std::fs::write(dir.join(&file), text).unwrap();
    file
}

fn kv(k: &str, v: &str) -> (String, String) {
    (k.to_owned(), v.to_owned())
}

/// The table's rows as text, ordered by id ("" when the table does not exist yet).
async fn rows(pool: &sqlx::PgPool, columns: &str) -> Vec<String> {
    sqlx::query_scalar::<_, String>(&format!(
        "SELECT concat_ws('|', {columns}) FROM accounts ORDER BY id"
    ))
    .fetch_all(pool)
    .await
    .unwrap_or_default()
}

/// A small deterministic generator (the workload must be the same every run).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cdc_into_a_second_database_reproduces_the_table_after_10000_operations() {
    let pg = PgServer::start();
    let src = pg.create_database("src").await;
    let dst = pg.create_database("dst").await;
    exec(
        &src,
        "CREATE TABLE accounts (id int PRIMARY KEY, name text NOT NULL, balance numeric(12,2) NOT NULL,
            active boolean, opened date, updated_at timestamptz, note varchar(40));
         INSERT INTO accounts SELECT g, 'acct ' || g, g * 1.25, g % 2 = 0, DATE '2024-01-01' + g,
            TIMESTAMPTZ '2024-01-01 00:00:00+00' + g * INTERVAL '1 minute', NULL
            FROM generate_series(1, 500) g;",
    )
    .await;
    let broker = common::broker().await;
    let bs = broker.bootstrap_servers();
    let dir = tempfile::tempdir().unwrap();
    let mut source = vec![
        kv("name", "accounts-cdc"),
        kv(
            "connector.class",
            "io.debezium.connector.postgresql.PostgresConnector",
        ),
        kv("topic.prefix", "cdc"),
        kv("slot.name", "accounts_slot"),
        kv("table.include.list", "public.accounts"),
    ];
    source.extend(pg.source_keys("src"));
    let source = write_file(dir.path(), "source", &source);
    let sink = write_file(
        dir.path(),
        "sink",
        &[
            kv("name", "accounts-copy"),
            kv(
                "connector.class",
                "io.confluent.connect.jdbc.JdbcSinkConnector",
            ),
            kv("topics", "cdc.public.accounts"),
            kv(
                "connection.url",
                &format!("jdbc:postgresql://127.0.0.1:{}/dst", pg.port),
            ),
            kv("connection.user", USER),
            kv("connection.password", PASSWORD),
            kv("insert.mode", "upsert"),
            kv("pk.mode", "record_key"),
            kv("delete.enabled", "true"),
            kv("auto.create", "true"),
            kv("auto.evolve", "true"),
        ],
    );
    let worker = worker_file(
        dir.path(),
        "connect-standalone.properties",
        &bs,
        &[("offset.flush.interval.ms", "500")],
    );
    let _connect = ConnectProcess::start(
        dir.path(),
        &["standalone", worker.to_str().unwrap(), &source, &sink],
    );

    // 10,000 operations in transactions of 10: inserts of new ids, updates and deletes of
    // existing ones, and a column added halfway.
    let mut rng = Lcg(7);
    let mut live: Vec<i64> = (1..=500).collect();
    let mut next_id = 501;
    let mut ops = 0;
    while ops < 10_000 {
        if ops == 5_000 {
            exec(&src, "ALTER TABLE accounts ADD COLUMN tier int").await;
        }
        let mut tx = String::from("BEGIN;");
        for _ in 0..10 {
            let tier = if ops >= 5_000 { ", tier = 3" } else { "" };
            match rng.next(10) {
                0..=3 => {
                    tx.push_str(&format!(
                        "INSERT INTO accounts (id, name, balance, active, opened, updated_at, note) VALUES ({next_id}, 'new {next_id}', {}.{:02}, {}, DATE '2025-02-03', now(), 'n{next_id}');",
                        rng.next(100_000),
                        rng.next(100),
                        rng.next(2) == 0
                    ));
                    live.push(next_id);
                    next_id += 1;
                }
                4..=7 if !live.is_empty() => {
                    let id = live[usize::try_from(rng.next(live.len() as u64)).unwrap()];
                    tx.push_str(&format!(
                        "UPDATE accounts SET balance = balance + 1.01, note = 'u{ops}', active = NULL{tier} WHERE id = {id};"
                    ));
                }
                _ if !live.is_empty() => {
                    let i = usize::try_from(rng.next(live.len() as u64)).unwrap();
                    let id = live.swap_remove(i);
                    tx.push_str(&format!("DELETE FROM accounts WHERE id = {id};"));
                }
                _ => {}
            }
            ops += 1;
        }
        tx.push_str("COMMIT;");
        exec(&src, &tx).await;
    }

    let columns = "id, name, balance, active, opened, updated_at, note, tier";
    let expected = rows(&src, columns).await;
    assert!(expected.len() > 500);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let copy = rows(&dst, columns).await;
        if copy == expected {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the copy has {} rows, the source {}; first difference: {:?}",
            copy.len(),
            expected.len(),
            copy.iter().zip(&expected).find(|(a, b)| a != b)
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // auto.create made the key the primary key.
    let pk: String = sqlx::query_scalar(
        "SELECT string_agg(a.attname, ',') FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = 'accounts'::regclass AND i.indisprimary",
    )
    .fetch_one(&dst)
    .await
    .unwrap();
    assert_eq!(pk, "id");
}
