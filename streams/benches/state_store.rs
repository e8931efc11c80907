//! The persistent state store's figures (BENCHMARKS.md, "Streams state
//! store engine"): `cargo bench -p fjord-streams --bench state_store`.
//!
//! - `rss`: one `PersistentKeyValueStore` with the default page cache
//!   (`statestore.engine.cache.max.bytes`, 8 MiB) gets 1M distinct keys,
//!   then 1M count-per-key updates over 100k of them (get, put of an 8-byte
//!   count), with a commit (take_changes, flush) every 10k records, as a
//!   stream thread does. Peak RSS (VmHWM) must stay under the configured
//!   bounds (page cache + record cache) + 100 MB.
//! - `restore`: an embedded broker, a changelog topic with 1M records, and a
//!   KafkaStreams app whose count store restores from it into an empty state
//!   dir; restored records per second of restore time (target >= 1M/s).
//!
//! - `count`: 1M records over 100k keys through KafkaStreams: a count per
//!   key (persistent store) against a stateless map, in one run (the
//!   issue's target: the count at >= 0.5x the stateless rate).
//!
//! Runs `rss` first, before the broker exists, so the RSS is the store's.
//! `DSL_STORE=in_memory` restores into memory instead; `ENGINE_CACHE=BYTES`
//! sets `statestore.engine.cache.max.bytes` for the restore; `COMMIT_MS`
//! sets `commit.interval.ms` for `count` (Kafka's 30 s by default).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::{Duration, Instant};

use fjord_core::format::{Int64, Nullable, Utf8};
use fjord_streams::state::{PersistentKeyValueStore, StateStore};
use fjord_streams::{
    Consumed, Grouped, KafkaStreams, Materialized, Produced, State, StreamsBuilder, StreamsConfig,
};
use rdkafka::config::ClientConfig;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};

const KEYS: usize = 1_000_000;
const HOT_KEYS: usize = 100_000;
const RECORDS: usize = 1_000_000;
const COMMIT_EVERY: usize = 10_000;
const ENGINE_CACHE: usize = 8 * 1024 * 1024;
const RECORD_CACHE: usize = 10 * 1024 * 1024;

fn key(i: usize) -> Vec<u8> {
    let len = 8 + i % 13;
    format!("k{i:0>width$}", width = len - 1).into_bytes()
}

fn vm_hwm_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .unwrap_or(0.0)
        / 1024.0
}

fn commit(store: &mut PersistentKeyValueStore) {
    let changes = store.take_changes();
    std::hint::black_box(changes);
    store.flush().unwrap();
}

fn rss() {
    let dir =
        tempfile::tempdir_in(std::env::var("BENCH_DIR").unwrap_or_else(|_| "/tmp".into())).unwrap();
    let mut store = PersistentKeyValueStore::open("counts", dir.path(), ENGINE_CACHE).unwrap();
    let before = vm_hwm_mib();
    let started = Instant::now();
    for i in 0..KEYS {
        let kv = store.as_kv().unwrap();
        kv.put(&key(i), &0u64.to_be_bytes()).unwrap();
        if (i + 1) % COMMIT_EVERY == 0 {
            commit(&mut store);
        }
    }
    commit(&mut store);
    let load = started.elapsed().as_secs_f64();
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    let started = Instant::now();
    for r in 0..RECORDS {
        rng ^= rng >> 12;
        rng ^= rng << 25;
        rng ^= rng >> 27;
        let k = key((rng.wrapping_mul(0x2545_F491_4F6C_DD1D) % HOT_KEYS as u64) as usize);
        let kv = store.as_kv().unwrap();
        let count = kv
            .get(&k)
            .unwrap()
            .map_or(0, |v| u64::from_be_bytes(v.as_slice().try_into().unwrap()));
        kv.put(&k, &(count + 1).to_be_bytes()).unwrap();
        if (r + 1) % COMMIT_EVERY == 0 {
            commit(&mut store);
        }
    }
    commit(&mut store);
    let count = started.elapsed().as_secs_f64();
    let entries = store.approximate_num_entries();
    let file = std::fs::metadata(dir.path().join("store.redb"))
        .map(|m| m.len())
        .unwrap_or(0);
    let hwm = vm_hwm_mib();
    let bound = (ENGINE_CACHE + RECORD_CACHE) as f64 / (1024.0 * 1024.0) + 100.0;
    println!(
        "rss: {entries} keys in the store ({:.0} MiB file)",
        file as f64 / 1048576.0
    );
    println!(
        "rss: load {:.0} puts/s, count {:.0} records/s",
        KEYS as f64 / load,
        RECORDS as f64 / count
    );
    println!(
        "rss: peak RSS {hwm:.0} MiB (before the store {before:.0} MiB); bound {bound:.0} MiB -> {}",
        if hwm < bound { "ok" } else { "OVER" }
    );
}

async fn restore() {
    let broker = fjord_broker::EmbeddedBroker::start(fjord_broker::EmbeddedConfig {
        properties: vec![("group.min.session.timeout.ms".into(), "1000".into())],
        ..Default::default()
    })
    .await
    .unwrap();
    let bs = broker.bootstrap_servers();
    let app = "restore-bench";
    let changelog = format!("{app}-counts-changelog");
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", &bs)
        .set("linger.ms", "20")
        .set("batch.size", "1000000")
        .set("queue.buffering.max.messages", "1000000")
        .create()
        .unwrap();
    let admin = fjord_core::TopicAdmin::new(&fjord_core::ClientSettings::new(bs.clone())).unwrap();
    for (topic, compact) in [
        ("restore-in", false),
        ("restore-out", false),
        (changelog.as_str(), true),
    ] {
        let mut spec = fjord_core::NewTopicSpec::new(topic.to_string());
        spec.partitions = Some(1);
        if compact {
            spec.configs
                .push(("cleanup.policy".into(), "compact".into()));
        }
        admin.create(&spec).await.unwrap();
    }
    let started = Instant::now();
    for i in 0..RECORDS {
        let k = key(i);
        let v = (i as u64).to_be_bytes();
        let mut record = BaseRecord::<[u8], [u8]>::to(&changelog)
            .key(&k)
            .payload(&v)
            .partition(0);
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((_, back)) => {
                    producer.poll(Duration::from_millis(5));
                    record = back;
                }
            }
        }
    }
    producer.flush(Duration::from_secs(120)).unwrap();
    println!(
        "restore: {RECORDS} changelog records produced in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let b = StreamsBuilder::new();
    b.stream("restore-in", Consumed::with(Utf8, Utf8))
        .group_by_key(Grouped::default())
        .count(Materialized::as_("counts"))
        .to_stream()
        .to("restore-out", Produced::with(Utf8, Nullable(Int64)));
    let state = tempfile::tempdir().unwrap();
    let mut config = StreamsConfig::new(app, &bs);
    config.state_dir = state.path().to_path_buf();
    if let Ok(bytes) = std::env::var("ENGINE_CACHE") {
        config = config
            .set("statestore.engine.cache.max.bytes", &bytes)
            .unwrap();
    }
    if let Ok(kind) = std::env::var("DSL_STORE") {
        config = config.set("default.dsl.store", &kind).unwrap();
    }
    let streams = KafkaStreams::new(b.build().unwrap(), config).unwrap();
    let started = Instant::now();
    streams.start().unwrap();
    assert!(
        streams.wait_for_state(State::Running, Duration::from_secs(300)),
        "{:?}",
        streams.error()
    );
    let wall = started.elapsed().as_secs_f64();
    let m = streams.metrics();
    let secs = m.restore_ms as f64 / 1000.0;
    println!(
        "restore: {} records in {secs:.2} s of restore = {:.0} records/s (start to RUNNING {wall:.2} s)",
        m.restored_records,
        m.restored_records as f64 / secs.max(0.001),
    );
    assert_eq!(m.restored_records, RECORDS as u64);
    assert!(streams.close(Duration::from_secs(30)));
}

/// Runs `topology` as application `app` until it has processed `records`;
/// returns records/s from its first processed record to the last.
fn processing_rate(bs: &str, app: &str, topology: fjord_streams::Topology, records: u64) -> f64 {
    let state = tempfile::tempdir().unwrap();
    let mut config = StreamsConfig::new(app, bs);
    config.state_dir = state.path().to_path_buf();
    if let Ok(ms) = std::env::var("COMMIT_MS") {
        config = config.set("commit.interval.ms", &ms).unwrap();
    }
    let streams = KafkaStreams::new(topology, config).unwrap();
    streams.start().unwrap();
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut first: Option<Instant> = None;
    loop {
        let done = streams.metrics().tasks.processed;
        if done > 0 && first.is_none() {
            first = Some(Instant::now());
        }
        if done >= records {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{app}: {done} of {records} processed"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let secs = first.map_or(0.0, |f| f.elapsed().as_secs_f64());
    assert!(streams.close(Duration::from_secs(30)));
    records as f64 / secs.max(0.001)
}

/// Count per key over 100k keys with persistent stores, against the same
/// read-transform-write without state, on one topic in one run.
async fn count() {
    let broker = fjord_broker::EmbeddedBroker::start(fjord_broker::EmbeddedConfig {
        properties: vec![("group.min.session.timeout.ms".into(), "1000".into())],
        ..Default::default()
    })
    .await
    .unwrap();
    let bs = broker.bootstrap_servers();
    let admin = fjord_core::TopicAdmin::new(&fjord_core::ClientSettings::new(bs.clone())).unwrap();
    for topic in ["count-in", "count-out", "stateless-out"] {
        let mut spec = fjord_core::NewTopicSpec::new(topic.to_string());
        spec.partitions = Some(1);
        admin.create(&spec).await.unwrap();
    }
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", &bs)
        .set("linger.ms", "20")
        .set("batch.size", "1000000")
        .set("queue.buffering.max.messages", "1000000")
        .create()
        .unwrap();
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    for _ in 0..RECORDS {
        rng ^= rng >> 12;
        rng ^= rng << 25;
        rng ^= rng >> 27;
        let k = key((rng.wrapping_mul(0x2545_F491_4F6C_DD1D) % HOT_KEYS as u64) as usize);
        let mut record = BaseRecord::<[u8], [u8]>::to("count-in")
            .key(&k)
            .payload(&b"x"[..]);
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((_, back)) => {
                    producer.poll(Duration::from_millis(5));
                    record = back;
                }
            }
        }
    }
    producer.flush(Duration::from_secs(120)).unwrap();
    let b = StreamsBuilder::new();
    b.stream("count-in", Consumed::with(Utf8, Utf8))
        .map_values(|v: String| v.to_uppercase())
        .to("stateless-out", Produced::with(Utf8, Utf8));
    let stateless = processing_rate(&bs, "stateless-bench", b.build().unwrap(), RECORDS as u64);
    let b = StreamsBuilder::new();
    b.stream("count-in", Consumed::with(Utf8, Utf8))
        .group_by_key(Grouped::default())
        .count(Materialized::as_("counts"))
        .to_stream()
        .to("count-out", Produced::with(Utf8, Nullable(Int64)));
    let counting = processing_rate(&bs, "count-bench", b.build().unwrap(), RECORDS as u64);
    println!(
        "count: stateless {stateless:.0} records/s, count per key (100k keys, persistent) {counting:.0} records/s = {:.2}x",
        counting / stateless
    );
}

fn main() {
    // `cargo test --all-targets` (CI) runs bench targets too, without `--bench`: a
    // benchmark is not a test, so it does nothing there.
    if !std::env::args().any(|a| a == "--bench") {
        println!(
            "state_store: a benchmark; run `cargo bench -p fjord-streams --bench state_store`"
        );
        return;
    }
    let only = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    if only.as_deref().is_none_or(|o| o == "rss") {
        rss();
    }
    if only.as_deref().is_none_or(|o| o == "restore") {
        tokio::runtime::Runtime::new().unwrap().block_on(restore());
    }
    if only.as_deref().is_none_or(|o| o == "count") {
        tokio::runtime::Runtime::new().unwrap().block_on(count());
    }
}
