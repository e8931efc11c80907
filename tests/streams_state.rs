//! Fjord Streams' persistent state end to end, on an embedded broker through
//! rdkafka: checkpoints make a restart on the same state dir replay only the
//! changelog's tail (counted exactly), outputs stay exact, a second instance
//! cannot share a state dir, and a killed instance restarted on its state
//! dir still loses nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use fjord::apps::sales_prices as sales;
use fjord_core::format::{Int64, Nullable, Utf8};
use fjord_streams::{
    Consumed, Grouped, KafkaStreams, Materialized, Produced, State, StreamsBuilder, StreamsConfig,
    StreamsError, TimeWindows,
};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::FutureRecord;
use rdkafka::{Message, Offset, TopicPartitionList};

const PARTITIONS: i32 = 2;
const START: i64 = 1_796_115_600_000;

const GROUP: [(&str, &str); 3] = [
    ("session.timeout.ms", "2000"),
    ("heartbeat.interval.ms", "300"),
    ("commit.interval.ms", "200"),
];

/// Counts per key (store `counts`) and per key and minute (store `minutes`),
/// in one sub-topology: its tasks have two logged persistent stores.
fn windowed_topology(input: &str, output: &str, windowed: &str) -> fjord_streams::Topology {
    let b = StreamsBuilder::new();
    let stream = b.stream(input, Consumed::with(Utf8, Utf8));
    stream
        .clone()
        .group_by_key(Grouped::default())
        .count(Materialized::as_("counts"))
        .to_stream()
        .to(output, Produced::with(Utf8, Nullable(Int64)));
    stream
        .group_by_key(Grouped::default())
        .windowed_by(TimeWindows::of_size_and_grace(
            Duration::from_secs(60),
            Duration::from_secs(3600),
        ))
        .count(Materialized::as_("minutes"))
        .to_stream()
        .map(|wk, c| (format!("{}@{}", wk.key, wk.window.start), c.unwrap_or(0)))
        .to(windowed, Produced::with(Utf8, Int64));
    b.build().unwrap()
}

fn config(bs: &str, app: &str, state: &Path) -> StreamsConfig {
    let mut c = StreamsConfig::new(app, bs);
    c.state_dir = state.to_path_buf();
    for (k, v) in GROUP {
        c = c.set(k, v).unwrap();
    }
    c
}

fn start(bs: &str, app: &str, state: &Path) -> KafkaStreams {
    let s = KafkaStreams::new(windowed_topology(IN, OUT, WIN), config(bs, app, state)).unwrap();
    s.start().unwrap();
    assert!(
        s.wait_for_state(State::Running, Duration::from_secs(30)),
        "not RUNNING: {:?} {:?}",
        s.state(),
        s.error()
    );
    s
}

const IN: &str = "state-words";
const OUT: &str = "state-counts";
const WIN: &str = "state-minutes";

/// Records `from..to`: key `k{i % 7}`, one a second from START.
fn records(from: usize, to: usize) -> Vec<(String, i64)> {
    (from..to)
        .map(|i| (format!("k{}", i % 7), START + i as i64 * 1000))
        .collect()
}

async fn produce(bs: &str, records: &[(String, i64)]) {
    let producer = common::producer(bs, &[]);
    for (k, ts) in records {
        producer
            .send(
                FutureRecord::to(IN).key(k).payload("x").timestamp(*ts),
                Duration::from_secs(10),
            )
            .await
            .map_err(|(e, _)| e)
            .unwrap();
    }
}

/// The counts an exact run gives: per key, and per key@minute.
fn expected(records: &[(String, i64)]) -> (BTreeMap<String, i64>, BTreeMap<String, i64>) {
    let mut counts = BTreeMap::new();
    let mut minutes = BTreeMap::new();
    for (k, ts) in records {
        *counts.entry(k.clone()).or_insert(0) += 1;
        let start = ts - ts.rem_euclid(60_000);
        *minutes.entry(format!("{k}@{start}")).or_insert(0) += 1;
    }
    (counts, minutes)
}

/// The last value per key of `topic`, everything up to its end.
fn latest(bs: &str, topic: &str) -> BTreeMap<String, i64> {
    let consumer: BaseConsumer = common::client_config(bs)
        .set("group.id", "fjord-test-assign")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut ends = BTreeMap::new();
    let mut tpl = TopicPartitionList::new();
    for p in 0..PARTITIONS {
        let (_, high) = consumer
            .fetch_watermarks(topic, p, Duration::from_secs(10))
            .unwrap();
        ends.insert(p, high);
        tpl.add_partition_offset(topic, p, Offset::Beginning)
            .unwrap();
    }
    consumer.assign(&tpl).unwrap();
    let mut out = BTreeMap::new();
    let mut at: BTreeMap<i32, i64> = (0..PARTITIONS).map(|p| (p, 0)).collect();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while at.iter().any(|(p, o)| *o < ends[p]) && std::time::Instant::now() < deadline {
        if let Some(m) = consumer.poll(Duration::from_millis(100)) {
            let m = m.unwrap();
            at.insert(m.partition(), m.offset() + 1);
            let key = String::from_utf8(m.key().unwrap().to_vec()).unwrap();
            match m.payload() {
                Some(v) => out.insert(key, i64::from_be_bytes(v.try_into().unwrap())),
                None => out.remove(&key),
            };
        }
    }
    drop(tpl);
    common::close(consumer);
    out
}

/// Waits until both output topics hold exactly the counts of `records`.
async fn outputs_are(bs: &str, records: &[(String, i64)]) {
    let (counts, minutes) = expected(records);
    let bs = bs.to_string();
    tokio::task::spawn_blocking(move || {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let (c, m) = (latest(&bs, OUT), latest(&bs, WIN));
            if c == counts && m == minutes {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "outputs not exact:\n counts {c:?}\n want {counts:?}\n minutes {m:?}\n want {minutes:?}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    })
    .await
    .unwrap();
}

/// Changelog (topic, partition) -> high watermark, for the app's stores.
fn changelog_ends(bs: &str, app: &str) -> BTreeMap<(String, i32), i64> {
    let consumer: BaseConsumer = common::client_config(bs).create().unwrap();
    let mut ends = BTreeMap::new();
    for store in ["counts", "minutes"] {
        let topic = format!("{app}-{store}-changelog");
        for p in 0..PARTITIONS {
            let (_, high) = consumer
                .fetch_watermarks(&topic, p, Duration::from_secs(10))
                .unwrap();
            ends.insert((topic.clone(), p), high);
        }
    }
    common::close(consumer);
    ends
}

fn total(ends: &BTreeMap<(String, i32), i64>) -> u64 {
    ends.values().map(|v| *v as u64).sum()
}

/// What the checkpoints under `state` say, over both tasks.
fn checkpoints(state: &Path, app: &str) -> BTreeMap<(String, i32), i64> {
    let mut all = BTreeMap::new();
    for p in 0..PARTITIONS {
        let dir = state.join(app).join(format!("0_{p}"));
        let found = fjord_streams::state::checkpoint::read(&dir)
            .unwrap()
            .unwrap_or_else(|| panic!("no checkpoint in {}", dir.display()));
        all.extend(found);
    }
    all
}

async fn setup() -> (fjord::broker::EmbeddedBroker, String) {
    let broker = common::broker_with(common::group_broker_config()).await;
    let bs = broker.bootstrap_servers();
    for t in [IN, OUT, WIN] {
        common::create_topic(&bs, t, PARTITIONS, &[]).await;
    }
    (broker, bs)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_restart_on_the_same_state_dir_replays_exactly_the_changelog_tail() {
    let (_broker, bs) = setup().await;
    let app = "state-tail";
    let (home, elsewhere) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let all = records(0, 90);

    // A first run: everything restored is nothing, and the close checkpoints
    // exactly the changelogs' ends.
    let a = start(&bs, app, home.path());
    assert_eq!(a.metrics().restored_records, 0);
    produce(&bs, &all[..40]).await;
    outputs_are(&bs, &all[..40]).await;
    assert!(a.close(Duration::from_secs(20)));
    drop(a);
    let ends = changelog_ends(&bs, app);
    assert!(total(&ends) > 0, "the stores wrote their changelogs");
    assert_eq!(checkpoints(home.path(), app), ends);

    // A graceful restart with nothing new replays nothing.
    let a = start(&bs, app, home.path());
    assert_eq!(
        a.metrics().restored_records,
        0,
        "a clean close leaves no tail"
    );
    // While it runs, nobody else may use its state dir.
    let twin = KafkaStreams::new(
        windowed_topology(IN, OUT, WIN),
        config(&bs, app, home.path()),
    )
    .unwrap();
    match twin.start() {
        Err(StreamsError::Config { key, reason, .. }) => {
            assert_eq!(key, "state.dir");
            assert!(
                reason.contains("in use by another running instance"),
                "{reason}"
            );
        }
        other => panic!("a second instance on one state dir started: {other:?}"),
    }
    assert!(a.close(Duration::from_secs(20)));
    drop(a);

    // Another instance with its own, empty state dir takes the tasks: it
    // restores the whole changelogs, then writes more to them. The home
    // state dir is now behind the changelogs by exactly what it wrote.
    let b = start(&bs, app, elsewhere.path());
    assert_eq!(
        b.metrics().restored_records,
        total(&ends),
        "no checkpoint: everything"
    );
    produce(&bs, &all[40..70]).await;
    outputs_are(&bs, &all[..70]).await;
    assert!(b.close(Duration::from_secs(20)));
    drop(b);
    let later = changelog_ends(&bs, app);
    let tail = total(&later) - total(&ends);
    assert!(tail > 0, "the other instance wrote to the changelogs");

    // Back home: only the tail is replayed, and the outputs stay exact.
    let a = start(&bs, app, home.path());
    assert_eq!(
        a.metrics().restored_records,
        tail,
        "exactly the changelog tail"
    );
    produce(&bs, &all[70..]).await;
    outputs_are(&bs, &all).await;
    assert!(a.close(Duration::from_secs(20)));
    assert_eq!(checkpoints(home.path(), app), changelog_ends(&bs, app));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_instance_restarted_on_its_state_dir_loses_nothing() {
    const SALES_PARTITIONS: i32 = 3;
    let broker = common::broker_with(common::group_broker_config()).await;
    let bs = broker.bootstrap_servers();
    sales::create_topics(&bs, SALES_PARTITIONS).await.unwrap();
    let state = tempfile::tempdir().unwrap();
    let app = "state-kill";
    let all = sales::generate(60, START);
    let (first, second) = all.split_at(30);

    let mut child =
        common::process::StreamsInstance::spawn("sales-prices", &bs, app, state.path(), &GROUP);
    produce_sales(&bs, first).await;
    let half = sales::expected(first, SALES_PARTITIONS);
    read_sales(&bs, SALES_PARTITIONS, move |o| {
        o.prices.len() >= half.prices.len()
    })
    .await;
    // Let commits (and checkpoints) happen, then kill it without a goodbye.
    std::thread::sleep(Duration::from_millis(600));
    let _ = child.0.kill();
    let _ = child.0.wait();
    let changelog_records = app_changelog_records(&bs, app);
    assert!(changelog_records > 0);

    // Its lock died with it: a restart on the same state dir starts.
    let mut config = sales::streams_config(&bs, app, state.path());
    for (k, v) in GROUP {
        config = config.set(k, v).unwrap();
    }
    let restarted = KafkaStreams::new(sales::topology().unwrap(), config).unwrap();
    restarted.start().unwrap();
    assert!(
        restarted.wait_for_state(State::Running, Duration::from_secs(30)),
        "not RUNNING: {:?}",
        restarted.error()
    );
    // The checkpoints written after its commits still hold: only what came
    // after the last one is replayed, not the whole changelogs.
    let restored = restarted.metrics().restored_records;
    assert!(
        restored < changelog_records,
        "restored {restored} of {changelog_records} changelog records"
    );
    produce_sales(&bs, second).await;
    let want = sales::expected(&all, SALES_PARTITIONS);
    let w = want.clone();
    let got = read_sales(&bs, SALES_PARTITIONS, move |o| {
        o.prices.len() >= w.prices.len()
            && w.revenue_cents.iter().all(|(p, c)| {
                o.revenue
                    .get(p)
                    .is_some_and(|r| (r.revenue * 100.0).round() as i64 >= *c)
            })
    })
    .await;
    for p in &want.prices {
        assert!(got.prices.contains(p), "lost a sale: {p:?}");
    }
    // At least once: revenue may exceed the exact figure (records processed
    // after the last commit count again), never fall short of it.
    for (product, cents) in &want.revenue_cents {
        let r = got.revenue.get(product).unwrap();
        assert!((r.revenue * 100.0).round() as i64 >= *cents, "{product}");
    }
    assert!(restarted.close(Duration::from_secs(20)));
}

/// Records in the changelogs of application `app`, over all partitions.
fn app_changelog_records(bs: &str, app: &str) -> u64 {
    let consumer: BaseConsumer = common::client_config(bs).create().unwrap();
    let metadata = consumer
        .fetch_metadata(None, Duration::from_secs(10))
        .unwrap();
    let mut sum = 0;
    for t in metadata.topics() {
        if t.name().starts_with(&format!("{app}-")) && t.name().ends_with("-changelog") {
            for p in t.partitions() {
                let (low, high) = consumer
                    .fetch_watermarks(t.name(), p.id(), Duration::from_secs(10))
                    .unwrap();
                sum += (high - low) as u64;
            }
        }
    }
    drop(metadata);
    common::close(consumer);
    sum
}

async fn produce_sales(bs: &str, list: &[sales::Sale]) {
    let producer = common::producer(bs, &[]);
    for sale in list {
        let value = serde_json::to_vec(sale).unwrap();
        producer
            .send(
                FutureRecord::to(sales::SALES)
                    .key(&sale.product)
                    .payload(&value),
                Duration::from_secs(10),
            )
            .await
            .map_err(|(e, _)| e)
            .unwrap();
    }
}

async fn read_sales(
    bs: &str,
    partitions: i32,
    done: impl Fn(&sales::Outputs) -> bool + Send + 'static,
) -> sales::Outputs {
    let bs = bs.to_string();
    tokio::task::spawn_blocking(move || {
        sales::read_outputs(&bs, partitions, Duration::from_secs(60), done)
    })
    .await
    .unwrap()
    .unwrap()
}

/// The directories named `name` anywhere under `dir`.
fn dirs_named(dir: &Path, name: &str) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| usize::from(e.file_name() == name) + dirs_named(&e.path(), name))
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn materialized_in_memory_keeps_that_store_off_disk_and_restores_it_from_its_changelog() {
    let (_broker, bs) = setup().await;
    let topology = || {
        let b = StreamsBuilder::new();
        let stream = b.stream(IN, Consumed::with(Utf8, Utf8));
        stream
            .clone()
            .group_by_key(Grouped::default())
            .count(Materialized::as_("on-disk"))
            .to_stream()
            .to(OUT, Produced::with(Utf8, Nullable(Int64)));
        stream
            .group_by_key(Grouped::default())
            .count(Materialized::as_("in-memory").in_memory())
            .to_stream()
            .to(WIN, Produced::with(Utf8, Nullable(Int64)));
        b.build().unwrap()
    };
    let state = tempfile::tempdir().unwrap();
    let run = |records: Vec<(String, i64)>| {
        let bs = bs.clone();
        let dir = state.path().to_path_buf();
        async move {
            let s = KafkaStreams::new(topology(), config(&bs, "in-mem", &dir)).unwrap();
            s.start().unwrap();
            assert!(s.wait_for_state(State::Running, Duration::from_secs(30)));
            produce(&bs, &records).await;
            s
        }
    };
    let first = records(0, 20);
    let a = run(first.clone()).await;
    let (counts, _) = expected(&first);
    let bs2 = bs.clone();
    tokio::task::spawn_blocking(move || {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while latest(&bs2, OUT) != counts || latest(&bs2, WIN) != counts {
            assert!(std::time::Instant::now() < deadline, "counts not reached");
            std::thread::sleep(Duration::from_millis(200));
        }
    })
    .await
    .unwrap();
    assert!(a.close(Duration::from_secs(20)));
    drop(a);
    assert!(
        dirs_named(state.path(), "on-disk") > 0,
        "the persistent store has files"
    );
    assert_eq!(
        dirs_named(state.path(), "in-memory"),
        0,
        "the in-memory store has none"
    );
    // After a restart only the in-memory store is rebuilt from its changelog.
    let b = run(Vec::new()).await;
    assert!(b.metrics().restored_records > 0, "{:?}", b.metrics());
    assert!(b.close(Duration::from_secs(20)));
}
