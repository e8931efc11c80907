//! Measurements of the Postgres connectors (BENCHMARKS.md, "Postgres connectors"), small by
//! default so the suite stays quick; the published numbers come from
//! `FJORD_PG_BENCH_ROWS=1000000 cargo test --release --test connect_postgres_bench -- --nocapture`.
//!
//! One run measures, each next to its same-run baseline: the streaming rate of a `COPY` of N
//! rows into the topic (baseline: the COPY itself), the snapshot rate of an N-row table, the
//! commit-to-record latency at 1,000 transactions/s, and the sink's rate into a second database
//! (baseline: a plain sqlx batch insert of the same rows). As a test it checks that every row
//! arrives.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::connect::{worker_file, ConnectProcess};
use common::postgres::{PgServer, PASSWORD, USER};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Message, Offset, TopicPartitionList};

async fn exec(pool: &sqlx::PgPool, sql: &str) {
    sqlx::raw_sql(sql)
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

fn write_file(dir: &Path, name: &str, lines: &[(&str, String)]) -> String {
    let text: String = lines.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    let file = format!("{name}.properties");
    std::fs::write(dir.join(&file), text).unwrap();
    file
}

fn high_watermark(bootstrap: &str, topic: &str) -> i64 {
    let c: BaseConsumer = common::client_config(bootstrap).create().unwrap();
    c.fetch_watermarks(topic, 0, Duration::from_secs(5))
        .map(|(_, high)| high)
        .unwrap_or(0)
}

/// Waits until `topic` holds `count` records; returns when it did.
async fn wait_for_records(bootstrap: &str, topic: &str, count: i64, timeout: Duration) -> Instant {
    let deadline = Instant::now() + timeout;
    loop {
        if high_watermark(bootstrap, topic) >= count {
            return Instant::now();
        }
        assert!(
            Instant::now() < deadline,
            "{topic} did not reach {count} records"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn source(dir: &Path, pg: &PgServer, name: &str, prefix: &str, table: &str) -> String {
    let mut lines = vec![
        ("name", name.to_owned()),
        ("connector.class", "PostgresCdcSource".to_owned()),
        ("topic.prefix", prefix.to_owned()),
        ("slot.name", format!("{prefix}_slot")),
        ("publication.name", format!("{prefix}_pub")),
        ("publication.autocreate.mode", "filtered".to_owned()),
        ("table.include.list", table.to_owned()),
        ("max.batch.size", "8192".to_owned()),
    ];
    let keys = pg.source_keys("bench");
    for (k, v) in &keys {
        lines.push((k.as_str(), v.clone()));
    }
    write_file(dir, name, &lines)
}

fn percentile(sorted: &[i64], p: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

#[allow(clippy::cast_precision_loss)]
fn rate(rows: i64, d: Duration) -> f64 {
    rows as f64 / d.as_secs_f64()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_connector_throughput_and_latency() {
    let rows: i64 = std::env::var("FJORD_PG_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    // synchronous_commit on (the harness turns it off for speed): with it off, WAL reaches the
    // walsender only at the WAL writer's next flush (wal_writer_delay), which would dominate the latency.
    let pg = PgServer::start_with(&[
        ("max_wal_size", "4GB"),
        ("shared_buffers", "512MB"),
        ("synchronous_commit", "on"),
    ]);
    let db = pg.create_database("bench").await;
    let dst = pg.create_database("bench_copy").await;
    exec(
        &db,
        "CREATE TABLE copied (id bigint PRIMARY KEY, name text NOT NULL, amount numeric(12,2), at timestamptz);
         CREATE TABLE existing (id bigint PRIMARY KEY, name text NOT NULL, amount numeric(12,2), at timestamptz);
         CREATE TABLE ticks (id bigint PRIMARY KEY, note text);",
    )
    .await;
    exec(
        &db,
        &format!(
            "INSERT INTO existing SELECT g, 'name ' || g, g % 100000 / 100.0, TIMESTAMPTZ '2024-01-01 00:00:00+00' + g * INTERVAL '1 second' FROM generate_series(1, {rows}) g"
        ),
    )
    .await;
    let broker = common::broker().await;
    let bs = broker.bootstrap_servers();
    let dir = tempfile::tempdir().unwrap();
    let worker = worker_file(
        dir.path(),
        "connect-standalone.properties",
        &bs,
        &[
            ("offset.flush.interval.ms", "1000"),
            ("producer.linger.ms", "5"),
            ("producer.batch.size", "1000000"),
        ],
    );
    let stream_src = source(dir.path(), &pg, "stream", "st", "public.copied");
    let snap_src = source(dir.path(), &pg, "snap", "sn", "public.existing");
    let tick_src = source(dir.path(), &pg, "tick", "tk", "public.ticks");

    // Snapshot: an N-row table, from connector start to its last record in the topic.
    let started = Instant::now();
    let _connect = ConnectProcess::start(
        dir.path(),
        &[
            "standalone",
            worker.to_str().unwrap(),
            &snap_src,
            &stream_src,
            &tick_src,
        ],
    );
    let done = wait_for_records(&bs, "sn.public.existing", rows, Duration::from_secs(1200)).await;
    let snapshot = done - started;

    // Streaming: a COPY of N rows; the baseline is the COPY itself.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut data = String::new();
    for i in 1..=rows {
        data.push_str(&format!(
            "{i}\tname {i}\t{}.{:02}\t2024-01-01 00:00:00+00\n",
            i % 1000,
            i % 100
        ));
    }
    let copy_start = Instant::now();
    let mut conn = db.acquire().await.unwrap();
    let mut copy = conn
        .copy_in_raw("COPY copied (id, name, amount, at) FROM STDIN")
        .await
        .unwrap();
    copy.send(data.as_bytes()).await.unwrap();
    copy.finish().await.unwrap();
    drop(conn);
    let copy_time = copy_start.elapsed();
    let streamed = wait_for_records(&bs, "st.public.copied", rows, Duration::from_secs(1200)).await;
    let stream_total = streamed - copy_start;

    // Latency: single-row transactions at 1,000/s for 10 s; commit time (source.ts_ms) to the
    // record's arrival at a consumer.
    let mut c = common::client_config(&bs);
    c.set("group.id", "fjord-pg-bench")
        .set("fetch.wait.max.ms", "10");
    let consumer: BaseConsumer = c.create().unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset("tk.public.ticks", 0, Offset::Beginning)
        .unwrap();
    consumer.assign(&tpl).unwrap();
    let ticks = 10_000;
    // Warm up first: the topic is created by its first record, and librdkafka's wait for the
    // new topic's metadata (about a second) is not the connector's latency.
    sqlx::query("INSERT INTO ticks VALUES (-1, 'warm-up')")
        .execute(&db)
        .await
        .unwrap();
    wait_for_records(&bs, "tk.public.ticks", 1, Duration::from_secs(60)).await;
    // The consumer is running and has the warm-up record before the first tick: its own
    // start-up (metadata, first fetch) is not the connector's latency either.
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut latencies = Vec::new();
        let mut warm = false;
        let deadline = Instant::now() + Duration::from_secs(120);
        while latencies.len() < ticks && Instant::now() < deadline {
            if let Some(Ok(m)) = consumer.poll(Duration::from_millis(100)) {
                let now = i64::try_from(
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .unwrap()
                        .as_millis(),
                )
                .unwrap();
                let v: serde_json::Value = serde_json::from_slice(m.payload().unwrap()).unwrap();
                if !warm {
                    warm = true;
                    let _ = ready_tx.send(());
                    continue;
                }
                if let Some(ts) = v["payload"]["source"]["ts_ms"].as_i64() {
                    latencies.push(now - ts);
                }
            }
        }
        drop(tpl);
        common::close(consumer);
        latencies
    });
    let ready_deadline = Instant::now() + Duration::from_secs(60);
    while ready_rx.try_recv().is_err() {
        assert!(
            Instant::now() < ready_deadline,
            "the latency consumer did not start"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let tick_start = Instant::now();
    for i in 0..ticks {
        let due = tick_start + Duration::from_micros(1000 * u64::try_from(i).unwrap());
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            tokio::time::sleep(wait).await;
        }
        sqlx::query("INSERT INTO ticks VALUES ($1, 'x')")
            .bind(i64::try_from(i).unwrap())
            .execute(&db)
            .await
            .unwrap();
    }
    let tick_rate = rate(i64::try_from(ticks).unwrap(), tick_start.elapsed());
    let mut latencies = reader.join().unwrap();
    assert_eq!(latencies.len(), ticks, "every tick arrived");
    latencies.sort_unstable();

    // Sink: the snapshot topic into a second database; baseline: one sqlx UNNEST insert per
    // 3,000 rows of the same values.
    let sink = write_file(
        dir.path(),
        "sink",
        &[
            ("name", "sink".to_owned()),
            ("connector.class", "PostgresSink".to_owned()),
            ("topics", "sn.public.existing".to_owned()),
            (
                "connection.url",
                format!("postgres://127.0.0.1:{}/bench_copy", pg.port),
            ),
            ("connection.user", USER.to_owned()),
            ("connection.password", PASSWORD.to_owned()),
            ("insert.mode", "upsert".to_owned()),
            ("pk.mode", "record_key".to_owned()),
            ("auto.create", "true".to_owned()),
        ],
    );
    let rest = _connect.rest_url.clone();
    let config: serde_json::Value = {
        let text = std::fs::read_to_string(dir.path().join(&sink)).unwrap();
        let mut map = serde_json::Map::new();
        for line in text.lines() {
            if let Some((k, v)) = line.split_once('=') {
                map.insert(k.to_owned(), v.into());
            }
        }
        serde_json::Value::Object(map)
    };
    let sink_start = Instant::now();
    let response = reqwest::Client::new()
        .post(format!("{rest}/connectors"))
        .json(&serde_json::json!({"name": "sink", "config": config}))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    let deadline = Instant::now() + Duration::from_secs(1200);
    loop {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM existing")
            .fetch_one(&dst)
            .await
            .unwrap_or(0);
        if n >= rows {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the sink wrote {n} of {rows} rows"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let sink_time = sink_start.elapsed();
    exec(&dst, "CREATE TABLE plain (LIKE existing INCLUDING ALL)").await;
    let plain_start = Instant::now();
    let mut id = 1;
    while id <= rows {
        let end = (id + 2999).min(rows);
        let ids: Vec<i64> = (id..=end).collect();
        let names: Vec<String> = ids.iter().map(|i| format!("name {i}")).collect();
        let amounts: Vec<String> = ids
            .iter()
            .map(|i| format!("{}.{:02}", i % 1000, i % 100))
            .collect();
        let ats: Vec<String> = ids
            .iter()
            .map(|_| "2024-01-01T00:00:00Z".to_owned())
            .collect();
        sqlx::query("INSERT INTO plain SELECT * FROM UNNEST($1::int8[], $2::text[], $3::text[]::numeric[], $4::text[]::timestamptz[])")
            .bind(&ids)
            .bind(&names)
            .bind(&amounts)
            .bind(&ats)
            .execute(&dst)
            .await
            .unwrap();
        id = end + 1;
    }
    let plain_time = plain_start.elapsed();

    println!("postgres bench, {rows} rows:");
    println!(
        "  streaming: COPY {:.0} rows/s ({:.2} s, baseline); COPY start to last record {:.0} rows/s ({:.2} s)",
        rate(rows, copy_time),
        copy_time.as_secs_f64(),
        rate(rows, stream_total),
        stream_total.as_secs_f64()
    );
    println!(
        "  snapshot: {:.0} rows/s ({:.2} s from connector start)",
        rate(rows, snapshot),
        snapshot.as_secs_f64()
    );
    println!(
        "  latency at {tick_rate:.0} tx/s: p50 {} ms, p99 {} ms, max {} ms",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or(0)
    );
    println!(
        "  sink: {:.0} rows/s ({:.2} s from connector creation); plain sqlx UNNEST insert {:.0} rows/s ({:.2} s)",
        rate(rows, sink_time),
        sink_time.as_secs_f64(),
        rate(rows, plain_time),
        plain_time.as_secs_f64()
    );
}
