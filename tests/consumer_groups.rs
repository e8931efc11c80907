//! Consumer groups through librdkafka over TCP: each record goes to one member per group,
//! partitions are spread and moved on membership changes, and committed offsets survive a
//! broker restart.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use common::*;
use fjord_broker::EmbeddedConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::producer::FutureRecord;
use rdkafka::Message;

/// What a member thread has seen.
#[derive(Default)]
struct Seen {
    records: Vec<(i32, i64, String)>,
    assignment: BTreeSet<i32>,
    /// Every assignment the member thread observed, in order, each time it changed.
    history: Vec<BTreeSet<i32>>,
}

struct Member {
    seen: Arc<Mutex<Seen>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Member {
    fn start(bs: &str, group: &str, topic: &str, extra: &[(&str, &str)]) -> Member {
        let mut c = client_config(bs);
        c.set("group.id", group)
            .set("auto.offset.reset", "earliest")
            .set("enable.auto.commit", "false")
            .set("session.timeout.ms", "6000")
            .set("heartbeat.interval.ms", "500")
            .set("fetch.wait.max.ms", "100");
        for (k, v) in extra {
            c.set(*k, *v);
        }
        if c.get("group.protocol") == Some("consumer") {
            // KIP-848: the broker owns these; librdkafka refuses them.
            c.remove("session.timeout.ms");
            c.remove("heartbeat.interval.ms");
        }
        let consumer: BaseConsumer = c.create().unwrap();
        consumer.subscribe(&[topic]).unwrap();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (seen.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !st.load(Ordering::Relaxed) {
                if let Some(Ok(m)) = consumer.poll(Duration::from_millis(50)) {
                    let v = String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned();
                    s.lock()
                        .unwrap()
                        .records
                        .push((m.partition(), m.offset(), v));
                    // Sync: a partition moved away in a rebalance is then committed up to
                    // what this member read, so its next owner reads nothing twice.
                    consumer.commit_message(&m, CommitMode::Sync).ok();
                }
                if let Ok(a) = consumer.assignment() {
                    let now: BTreeSet<i32> = a.elements().iter().map(|e| e.partition()).collect();
                    let mut seen = s.lock().unwrap();
                    if seen.history.last() != Some(&now) {
                        seen.history.push(now.clone());
                    }
                    seen.assignment = now;
                }
            }
            consumer.commit_consumer_state(CommitMode::Sync).ok();
            close(consumer); // leaves the group
        });
        Member {
            seen,
            stop,
            thread: Some(thread),
        }
    }

    fn assignment(&self) -> BTreeSet<i32> {
        self.seen.lock().unwrap().assignment.clone()
    }

    fn history_len(&self) -> usize {
        self.seen.lock().unwrap().history.len()
    }

    /// The assignments observed since the history had `mark` entries.
    fn history_since(&self, mark: usize) -> Vec<BTreeSet<i32>> {
        self.seen.lock().unwrap().history[mark..].to_vec()
    }

    fn records(&self) -> Vec<(i32, i64, String)> {
        self.seen.lock().unwrap().records.clone()
    }

    fn leave(mut self) -> Vec<(i32, i64, String)> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().unwrap().join().unwrap();
        self.records()
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn produce_n(bs: &str, topic: &str, from: usize, n: usize) {
    let producer = producer(bs, &[]);
    let mut pending = Vec::new();
    for i in from..from + n {
        let key = format!("k{i}");
        let value = format!("v{i}");
        pending.push(
            producer
                .send_result(FutureRecord::to(topic).key(&key).payload(&value))
                .unwrap(),
        );
    }
    for p in pending {
        p.await.unwrap().unwrap();
    }
}

/// Produces one marker record to each partition and waits until the members have read all
/// of them. Partitions are ordered, so once a partition's marker is read, every record before
/// it that the group was going to deliver has been delivered, duplicates included: what the
/// members have seen then is final. Returns what they read, the markers left out.
async fn drain(
    bs: &str,
    topic: &str,
    partitions: i32,
    members: &[&Member],
) -> Vec<(i32, i64, String)> {
    static ROUND: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let round = ROUND.fetch_add(1, Ordering::Relaxed);
    let producer = producer(bs, &[]);
    let markers: BTreeSet<String> = (0..partitions)
        .map(|p| format!("marker-{round}-p{p}"))
        .collect();
    for p in 0..partitions {
        let value = format!("marker-{round}-p{p}");
        producer
            .send(
                FutureRecord::<(), _>::to(topic)
                    .partition(p)
                    .payload(&value),
                Duration::from_secs(10),
            )
            .await
            .unwrap();
    }
    let all = || -> Vec<(i32, i64, String)> { members.iter().flat_map(|m| m.records()).collect() };
    eventually(
        "every partition's marker read",
        Duration::from_secs(30),
        || {
            let seen: BTreeSet<String> = all().into_iter().map(|r| r.2).collect();
            markers.is_subset(&seen)
        },
    )
    .await;
    all()
        .into_iter()
        .filter(|r| !r.2.starts_with("marker-"))
        .collect()
}

/// Produces records one at a time until `member` reads one; returns the offset of the first
/// record it read and how many were produced.
async fn produce_until_read(bs: &str, topic: &str, member: &Member) -> (i64, i64) {
    let producer = producer(bs, &[]);
    let producer = &producer;
    let mut produced = 0;
    let first = poll_until(Duration::from_secs(30), || {
        let read = member.records().first().map(|r| r.1);
        produced += i64::from(read.is_none());
        async move {
            if read.is_none() {
                producer
                    .send(
                        FutureRecord::<(), _>::to(topic).payload("late"),
                        Duration::from_secs(10),
                    )
                    .await
                    .unwrap();
            }
            read
        }
    })
    .await
    .expect("the member read a record produced after it joined");
    (first, produced)
}

/// Asserts every value in `records` is there exactly once and they are `expected`.
fn assert_exactly_once(records: &[(i32, i64, String)], expected: impl Iterator<Item = usize>) {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for r in records {
        *counts.entry(r.2.as_str()).or_default() += 1;
    }
    let duplicates: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(duplicates.is_empty(), "records read twice: {duplicates:?}");
    let mut values: Vec<String> = records.iter().map(|r| r.2.clone()).collect();
    values.sort();
    let mut expected: Vec<String> = expected.map(|i| format!("v{i}")).collect();
    expected.sort();
    assert_eq!(
        values, expected,
        "every record exactly once across the group"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_members_split_six_partitions_and_see_every_record_once() {
    let broker = broker_with(group_broker_config()).await;
    let bs = broker.bootstrap_servers();
    let topic = unique("groups3");
    create_topic(&bs, &topic, 6, &[]).await;
    let group = unique("g");
    let members: Vec<Member> = (0..3)
        .map(|_| Member::start(&bs, &group, &topic, &[]))
        .collect();
    eventually(
        "each member owns two partitions",
        Duration::from_secs(30),
        || members.iter().all(|m| m.assignment().len() == 2),
    )
    .await;
    let all: BTreeSet<i32> = members.iter().flat_map(|m| m.assignment()).collect();
    assert_eq!(all, (0..6).collect());

    produce_n(&bs, &topic, 0, 600).await;
    let read = drain(&bs, &topic, 6, &members.iter().collect::<Vec<_>>()).await;
    assert_exactly_once(&read, 0..600);

    // A second group sees everything too.
    let other = Member::start(&bs, &unique("g2"), &topic, &[]);
    eventually(
        "the second group is assigned all six",
        Duration::from_secs(30),
        || other.assignment().len() == 6,
    )
    .await;
    assert_exactly_once(&drain(&bs, &topic, 6, &[&other]).await, 0..600);
    // Members leave while the broker is still up; a consumer closing against a dead
    // broker can wait for it a long time.
    drop(members);
    drop(other);
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extra_member_is_idle_until_another_leaves() {
    let broker = broker_with(group_broker_config()).await;
    let bs = broker.bootstrap_servers();
    let topic = unique("groups7");
    create_topic(&bs, &topic, 6, &[]).await;
    let group = unique("g");
    let mut members: Vec<Member> = (0..7)
        .map(|_| Member::start(&bs, &group, &topic, &[]))
        .collect();
    eventually(
        "six members own one partition each, one owns none",
        Duration::from_secs(40),
        || {
            let sizes: Vec<usize> = members.iter().map(|m| m.assignment().len()).collect();
            sizes.iter().filter(|&&s| s == 1).count() == 6 && sizes.contains(&0)
        },
    )
    .await;
    let idle = members
        .iter()
        .position(|m| m.assignment().is_empty())
        .unwrap();
    let leaver = (idle + 1) % 7;
    let left = members.remove(leaver);
    left.leave();
    let idle = if idle > leaver { idle - 1 } else { idle };
    eventually(
        "the idle member gets a partition; all six covered once",
        Duration::from_secs(40),
        || {
            let all: Vec<i32> = members.iter().flat_map(|m| m.assignment()).collect();
            members[idle].assignment().len() == 1
                && all.len() == 6
                && all.iter().collect::<BTreeSet<_>>().len() == 6
        },
    )
    .await;
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cooperative_sticky_rebalancing() {
    let broker = broker_with(group_broker_config()).await;
    let bs = broker.bootstrap_servers();
    let topic = unique("coop");
    create_topic(&bs, &topic, 4, &[]).await;
    let group = unique("g");
    let coop = [("partition.assignment.strategy", "cooperative-sticky")];
    let a = Member::start(&bs, &group, &topic, &coop);
    eventually("first member owns all 4", Duration::from_secs(30), || {
        a.assignment().len() == 4
    })
    .await;
    let b = Member::start(&bs, &group, &topic, &coop);
    eventually("two members own two each", Duration::from_secs(40), || {
        a.assignment().len() == 2 && b.assignment().len() == 2
    })
    .await;
    assert!(a.assignment().is_disjoint(&b.assignment()));
    produce_n(&bs, &topic, 0, 200).await;
    assert_exactly_once(&drain(&bs, &topic, 4, &[&a, &b]).await, 0..200);

    // A third member joins: it takes one partition from one of them, and each old member keeps
    // the others (sticky), without ever giving them up during the rebalance (cooperative: only
    // the moved partition is revoked, where eager would revoke everything and reassign).
    let (a_before, b_before) = (a.assignment(), b.assignment());
    let (a_mark, b_mark) = (a.history_len(), b.history_len());
    let c = Member::start(&bs, &group, &topic, &coop);
    eventually(
        "the third member gets one partition, all four covered once",
        Duration::from_secs(40),
        || {
            let (a_now, b_now, c_now) = (a.assignment(), b.assignment(), c.assignment());
            c_now.len() == 1
                && a_now.len() + b_now.len() == 3
                && a_now
                    .iter()
                    .chain(&b_now)
                    .chain(&c_now)
                    .collect::<BTreeSet<_>>()
                    .len()
                    == 4
        },
    )
    .await;
    let (a_after, b_after) = (a.assignment(), b.assignment());
    assert!(
        a_after.is_subset(&a_before) && b_after.is_subset(&b_before),
        "sticky: the old members keep what they had, less the one moved \
         (a {a_before:?} -> {a_after:?}, b {b_before:?} -> {b_after:?})"
    );
    for (name, m, kept, mark) in [("a", &a, &a_after, a_mark), ("b", &b, &b_after, b_mark)] {
        for seen in m.history_since(mark) {
            assert!(
                kept.is_subset(&seen),
                "cooperative: member {name} gave up {kept:?} mid-rebalance (held {seen:?})"
            );
        }
    }
    // Every record once across the three, the ones before and after the move.
    produce_n(&bs, &topic, 200, 200).await;
    assert_exactly_once(&drain(&bs, &topic, 4, &[&a, &b, &c]).await, 0..400);
    // Members leave while the broker is still up; a consumer closing against a dead
    // broker can wait for it a long time.
    drop((a, b, c));
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_offsets_survive_a_restart_and_reset_policies_apply() {
    let dir = tempfile::tempdir().unwrap();
    let config = || EmbeddedConfig {
        data_dir: Some(dir.path().to_path_buf()),
        ..group_broker_config()
    };
    let broker = broker_with(config()).await;
    let bs = broker.bootstrap_servers();
    let topic = unique("resume");
    create_topic(&bs, &topic, 1, &[]).await;
    produce_n(&bs, &topic, 0, 100).await;
    let group = unique("g");
    let m = Member::start(&bs, &group, &topic, &[]);
    eventually("100 consumed", Duration::from_secs(30), || {
        m.records().len() >= 100
    })
    .await;
    m.leave();
    broker.shutdown().await;

    let broker = broker_with(config()).await;
    let bs = broker.bootstrap_servers();
    produce_n(&bs, &topic, 100, 10).await;
    let m = Member::start(&bs, &group, &topic, &[]);
    let offsets: Vec<i64> = drain(&bs, &topic, 1, &[&m])
        .await
        .iter()
        .map(|r| r.1)
        .collect();
    assert_eq!(
        offsets,
        (100..110).collect::<Vec<_>>(),
        "resumed at the committed offset"
    );
    m.leave();

    // A new group with latest starts at the end; with earliest at the beginning.
    let latest = Member::start(
        &bs,
        &unique("latest"),
        &topic,
        &[("auto.offset.reset", "latest")],
    );
    // Offset 110 is drain's marker. When the member has its position cannot be seen from
    // outside, so records are produced until it reads one: the first it reads is new.
    let (first, produced) = produce_until_read(&bs, &topic, &latest).await;
    assert!(
        (111..111 + produced).contains(&first),
        "latest starts at the end: first read {first}, {produced} produced from 111"
    );
    let earliest = Member::start(&bs, &unique("earliest"), &topic, &[]);
    eventually(
        "earliest member reads from 0",
        Duration::from_secs(30),
        || !earliest.records().is_empty(),
    )
    .await;
    assert_eq!(earliest.records()[0].1, 0);
    // Members leave while the broker is still up; a consumer closing against a dead
    // broker can wait for it a long time.
    drop(earliest);
    drop(latest);
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_that_vanishes_loses_its_partitions_after_the_session_timeout() {
    let broker = broker_with(group_broker_config()).await;
    let bs = broker.bootstrap_servers();
    let topic = unique("vanish");
    create_topic(&bs, &topic, 2, &[]).await;
    let group = unique("g");
    // The victim is a separate process, killed with SIGKILL so it never leaves the group.
    let mut victim = std::process::Command::new(env!("CARGO_BIN_EXE_fjord"))
        .args([
            "consume",
            "--topic",
            &topic,
            "--group",
            &group,
            "--from-beginning",
            "--bootstrap-server",
            &bs,
        ])
        .args([
            "-X",
            "session.timeout.ms=2000",
            "-X",
            "heartbeat.interval.ms=300",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let survivor = Member::start(&bs, &group, &topic, &[("session.timeout.ms", "2000")]);
    eventually(
        "partitions split between the two",
        Duration::from_secs(40),
        || survivor.assignment().len() == 1,
    )
    .await;
    victim.kill().unwrap();
    victim.wait().unwrap();
    eventually(
        "survivor owns both after the victim's session expired",
        Duration::from_secs(40),
        || survivor.assignment().len() == 2,
    )
    .await;
    produce_n(&bs, &topic, 0, 50).await;
    assert_exactly_once(&drain(&bs, &topic, 2, &[&survivor]).await, 0..50);
    // Members leave while the broker is still up; a consumer closing against a dead
    // broker can wait for it a long time.
    drop(survivor);
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kip848_consumer_protocol_assigns_on_the_broker() {
    let broker = broker_with(group_broker_config()).await;
    let bs = broker.bootstrap_servers();
    let topic = unique("kip848");
    create_topic(&bs, &topic, 4, &[]).await;
    let group = unique("g");
    let next_gen = [("group.protocol", "consumer")];
    let a = Member::start(&bs, &group, &topic, &next_gen);
    eventually("first member owns all 4", Duration::from_secs(30), || {
        a.assignment().len() == 4
    })
    .await;
    let b = Member::start(&bs, &group, &topic, &next_gen);
    eventually("two members own two each", Duration::from_secs(40), || {
        a.assignment().len() == 2 && b.assignment().len() == 2
    })
    .await;
    assert!(a.assignment().is_disjoint(&b.assignment()));
    produce_n(&bs, &topic, 0, 400).await;
    assert_exactly_once(&drain(&bs, &topic, 4, &[&a, &b]).await, 0..400);
    b.leave();
    eventually(
        "the remaining member takes everything back",
        Duration::from_secs(40),
        || a.assignment().len() == 4,
    )
    .await;
    // Members leave while the broker is still up; a consumer closing against a dead
    // broker can wait for it a long time.
    drop(a);
    broker.shutdown().await;
}

/// Item 8 of issue 7: `cargo run --example demo` hung for good in the consumer's drop, because
/// the partition list from `committed()` was still alive (librdkafka's destroy waits for the
/// references it holds). `fjord_core::close_consumer` must come back by its deadline even
/// then, saying it timed out, and close at once when nothing is held.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_a_consumer_never_hangs_even_with_a_partition_list_alive() {
    let broker = broker_with(group_broker_config()).await;
    let bs = broker.bootstrap_servers();
    let topic = unique("close");
    create_topic(&bs, &topic, 1, &[]).await;
    produce_n(&bs, &topic, 0, 2).await;
    let start = |group: String| {
        let (bs, topic) = (bs.clone(), topic.clone());
        tokio::task::spawn_blocking(move || {
            let consumer: BaseConsumer = client_config(&bs)
                .set("group.id", &group)
                .set("auto.offset.reset", "earliest")
                .create()
                .unwrap();
            consumer.subscribe(&[&topic]).unwrap();
            let mut read = 0;
            eventually_blocking("two records read", Duration::from_secs(30), || {
                if let Some(m) = consumer.poll(Duration::from_millis(100)) {
                    consumer
                        .commit_message(&m.unwrap(), CommitMode::Sync)
                        .unwrap();
                    read += 1;
                }
                read == 2
            });
            let committed = consumer.committed(Duration::from_secs(10)).unwrap();
            (consumer, committed)
        })
    };

    // Nothing held: closes at once.
    let (consumer, committed) = start(unique("g")).await.unwrap();
    drop(committed);
    let closed = tokio::task::spawn_blocking(move || {
        let started = std::time::Instant::now();
        let result = fjord_core::close_consumer(consumer, "consumer", Duration::from_secs(10));
        (result, started.elapsed())
    })
    .await
    .unwrap();
    assert!(closed.0.is_ok(), "{:?}", closed.0);
    assert!(
        closed.1 < Duration::from_secs(5),
        "closing took {:?}",
        closed.1
    );

    // The demo's mistake: the list outlives the consumer. Closing gives up at the deadline.
    let (consumer, committed) = start(unique("g")).await.unwrap();
    let deadline = Duration::from_secs(3);
    let closed = tokio::task::spawn_blocking(move || {
        let started = std::time::Instant::now();
        let result = fjord_core::close_consumer(consumer, "consumer", deadline);
        (result, started.elapsed())
    })
    .await
    .unwrap();
    assert!(
        matches!(closed.0, Err(fjord_core::Error::CloseTimedOut { .. })),
        "{:?}",
        closed.0
    );
    assert!(
        closed.1 < deadline + Duration::from_secs(2),
        "came back after {:?}",
        closed.1
    );
    // Releasing the list lets the background close finish.
    drop(committed);
    broker.shutdown().await;
}
