//! Embedded key-value engines on Fjord Streams' state store workload.
//!
//! `engines` runs every engine, each in a child process of its own so its
//! peak RSS (VmHWM) is its own:
//! - count: 1M records over 100k distinct keys (8-20 bytes); per record a
//!   get then a put of an 8-byte big-endian count, as a count aggregate
//!   does. Puts go to a write buffer folded by key (what the store does
//!   between two commits) and reads look there first; every 10k records the
//!   buffer is written to the engine in one durable batch (our commit).
//! - scan: every entry, in key order, and the counts summed (must be 1M).
//! - load: a fresh store, 1M puts of distinct keys in batches of 10k, as a
//!   restore from a changelog does.
//!
//! `engine NAME` runs one of them in this process. `BENCH_KEYS` changes the
//! count phase's distinct keys, `BENCH_ENGINES` (comma-separated) which
//! engines run, `BENCH_DIR` where their files go.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

const RECORDS: usize = 1_000_000;
const COMMIT_EVERY: usize = 10_000;
const CACHE_BYTES: usize = 16 * 1024 * 1024;

type Batch = Vec<(Vec<u8>, Vec<u8>)>;

/// What the workload needs of an engine.
trait Engine {
    fn get(&self, key: &[u8]) -> Option<Vec<u8>>;
    /// Writes `batch` atomically and durably (synced to disk).
    fn commit(&mut self, batch: Batch);
    /// Visits every entry in key order; returns the count of entries.
    fn scan(&self, f: &mut dyn FnMut(&[u8], &[u8])) -> usize;
}

struct Memory(BTreeMap<Vec<u8>, Vec<u8>>);

impl Engine for Memory {
    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.0.get(key).cloned()
    }
    fn commit(&mut self, batch: Batch) {
        self.0.extend(batch);
    }
    fn scan(&self, f: &mut dyn FnMut(&[u8], &[u8])) -> usize {
        for (k, v) in &self.0 {
            f(k, v);
        }
        self.0.len()
    }
}

const TABLE: redb::TableDefinition<&[u8], &[u8]> = redb::TableDefinition::new("store");

struct Redb(redb::Database);

impl Redb {
    fn open(dir: &Path) -> Self {
        std::fs::create_dir_all(dir).unwrap();
        let db = redb::Builder::new()
            .set_cache_size(CACHE_BYTES)
            .create(dir.join("store.redb"))
            .unwrap();
        let tx = db.begin_write().unwrap();
        tx.open_table(TABLE).unwrap();
        tx.commit().unwrap();
        Redb(db)
    }
}

impl Engine for Redb {
    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        use redb::ReadableDatabase;
        let tx = self.0.begin_read().unwrap();
        let table = tx.open_table(TABLE).unwrap();
        table.get(key).unwrap().map(|v| v.value().to_vec())
    }
    fn commit(&mut self, batch: Batch) {
        let tx = self.0.begin_write().unwrap();
        {
            let mut table = tx.open_table(TABLE).unwrap();
            for (k, v) in &batch {
                table.insert(k.as_slice(), v.as_slice()).unwrap();
            }
        }
        tx.commit().unwrap();
    }
    fn scan(&self, f: &mut dyn FnMut(&[u8], &[u8])) -> usize {
        use redb::{ReadableDatabase, ReadableTable};
        let tx = self.0.begin_read().unwrap();
        let table = tx.open_table(TABLE).unwrap();
        let mut n = 0;
        for e in table.iter().unwrap() {
            let (k, v) = e.unwrap();
            f(k.value(), v.value());
            n += 1;
        }
        n
    }
}

struct Fjall {
    db: fjall::Database,
    ks: fjall::Keyspace,
}

impl Fjall {
    fn open(dir: &Path) -> Self {
        let db = fjall::Database::builder(dir)
            .cache_size(CACHE_BYTES as u64)
            .open()
            .unwrap();
        let ks = db
            .keyspace("store", fjall::KeyspaceCreateOptions::default)
            .unwrap();
        Fjall { db, ks }
    }
}

impl Engine for Fjall {
    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.ks.get(key).unwrap().map(|v| v.to_vec())
    }
    fn commit(&mut self, batch: Batch) {
        let mut b = self.db.batch();
        for (k, v) in batch {
            b.insert(&self.ks, k, v);
        }
        b.commit().unwrap();
        self.db.persist(fjall::PersistMode::SyncAll).unwrap();
    }
    fn scan(&self, f: &mut dyn FnMut(&[u8], &[u8])) -> usize {
        let mut n = 0;
        for g in self.ks.iter() {
            let (k, v) = g.into_inner().unwrap();
            f(&k, &v);
            n += 1;
        }
        n
    }
}

struct Sled(sled::Db);

impl Sled {
    fn open(dir: &Path) -> Self {
        Sled(
            sled::Config::new()
                .path(dir)
                .cache_capacity(CACHE_BYTES as u64)
                .open()
                .unwrap(),
        )
    }
}

impl Engine for Sled {
    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.0.get(key).unwrap().map(|v| v.to_vec())
    }
    fn commit(&mut self, batch: Batch) {
        let mut b = sled::Batch::default();
        for (k, v) in batch {
            b.insert(k, v);
        }
        self.0.apply_batch(b).unwrap();
        self.0.flush().unwrap();
    }
    fn scan(&self, f: &mut dyn FnMut(&[u8], &[u8])) -> usize {
        let mut n = 0;
        for e in self.0.iter() {
            let (k, v) = e.unwrap();
            f(&k, &v);
            n += 1;
        }
        n
    }
}

/// Key `i`: 8 to 20 bytes, distinct for distinct `i`.
fn key(i: usize) -> Vec<u8> {
    let len = 8 + i % 13;
    format!("k{i:0>width$}", width = len - 1).into_bytes()
}

/// xorshift64*: the same key sequence for every engine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

fn vm_hwm_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}

fn open(name: &str, dir: &Path) -> Box<dyn Engine> {
    match name {
        "btreemap" => Box::new(Memory(BTreeMap::new())),
        "redb" => Box::new(Redb::open(dir)),
        "fjall" => Box::new(Fjall::open(dir)),
        "sled" => Box::new(Sled::open(dir)),
        other => panic!("unknown engine {other}; one of btreemap, redb, fjall, sled"),
    }
}

/// Distinct keys of the count phase: 100k, or `BENCH_KEYS`.
fn distinct_keys() -> usize {
    std::env::var("BENCH_KEYS")
        .ok()
        .and_then(|k| k.parse().ok())
        .unwrap_or(100_000)
}

fn run_engine(name: &str) {
    let keys: Vec<Vec<u8>> = (0..distinct_keys()).map(key).collect();
    let dir =
        tempfile::tempdir_in(std::env::var("BENCH_DIR").unwrap_or_else(|_| ".".into())).unwrap();
    let mut engine = open(name, &dir.path().join("count"));
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut buffer: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    let started = Instant::now();
    for r in 0..RECORDS {
        let k = &keys[(rng.next() % keys.len() as u64) as usize];
        let current = match buffer.get(k) {
            Some(v) => Some(v.clone()),
            None => engine.get(k),
        };
        let count = current.map_or(0, |v| u64::from_be_bytes(v.as_slice().try_into().unwrap()));
        buffer.insert(k.clone(), (count + 1).to_be_bytes().to_vec());
        if (r + 1) % COMMIT_EVERY == 0 {
            engine.commit(std::mem::take(&mut buffer).into_iter().collect());
        }
    }
    engine.commit(std::mem::take(&mut buffer).into_iter().collect());
    let count_s = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let mut sum = 0u64;
    let entries = engine.scan(&mut |_, v| sum += u64::from_be_bytes(v.try_into().unwrap()));
    let scan_s = started.elapsed().as_secs_f64();
    assert_eq!(sum, RECORDS as u64, "{name}: counts do not add up");
    drop(engine);

    let mut engine = open(name, &dir.path().join("load"));
    let started = Instant::now();
    let mut batch = Vec::with_capacity(COMMIT_EVERY);
    for i in 0..RECORDS {
        batch.push((key(i), (i as u64).to_be_bytes().to_vec()));
        if batch.len() == COMMIT_EVERY {
            engine.commit(std::mem::take(&mut batch));
        }
    }
    engine.commit(batch);
    let load_s = started.elapsed().as_secs_f64();
    let loaded = engine.scan(&mut |_, _| {});
    assert_eq!(loaded, RECORDS, "{name}: bulk load lost entries");
    drop(engine);

    println!(
        "| {name} | {:.0} | {:.0} | {:.0} | {} | {:.0} |",
        RECORDS as f64 / count_s,
        entries as f64 / scan_s,
        RECORDS as f64 / load_s,
        entries,
        vm_hwm_kb() as f64 / 1024.0,
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("engine") => run_engine(args.get(2).map_or("redb", String::as_str)),
        Some("engines") | None => {
            println!("| engine | count (records/s) | scan (entries/s) | load (puts/s) | entries | peak RSS (MiB) |");
            println!("|---|---|---|---|---|---|");
            let me = std::env::current_exe().unwrap();
            let names = std::env::var("BENCH_ENGINES")
                .unwrap_or_else(|_| "btreemap,redb,fjall,sled".into());
            for name in names.split(',') {
                let status = std::process::Command::new(&me)
                    .args(["engine", name])
                    .status()
                    .unwrap();
                assert!(status.success(), "{name} failed");
            }
        }
        Some(other) => panic!("unknown command {other}; engines | engine NAME"),
    }
}
