//! Consumer groups through librdkafka over TCP: each record goes to one member per group,
//! partitions are spread and moved on membership changes, and committed offsets survive a
//! broker restart.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

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
                    consumer.commit_message(&m, CommitMode::Async).ok();
                }
                if let Ok(a) = consumer.assignment() {
                    s.lock().unwrap().assignment =
                        a.elements().iter().map(|e| e.partition()).collect();
                }
            }
            consumer.commit_consumer_state(CommitMode::Sync).ok();
            drop(consumer); // close(): leaves the group
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

async fn wait_until(what: &str, secs: u64, check: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn broker_config() -> EmbeddedConfig {
    EmbeddedConfig {
        properties: vec![
            ("group.min.session.timeout.ms".into(), "1000".into()),
            ("group.consumer.heartbeat.interval.ms".into(), "500".into()),
        ],
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_members_split_six_partitions_and_see_every_record_once() {
    let broker = broker_with(broker_config()).await;
    let bs = broker.bootstrap_servers();
    let topic = unique("groups3");
    create_topic(&bs, &topic, 6, &[]).await;
    let group = unique("g");
    let members: Vec<Member> = (0..3)
        .map(|_| Member::start(&bs, &group, &topic, &[]))
        .collect();
    wait_until("each member owns two partitions", 30, || {
        members.iter().all(|m| m.assignment().len() == 2)
    })
    .await;
    let all: BTreeSet<i32> = members.iter().flat_map(|m| m.assignment()).collect();
    assert_eq!(all, (0..6).collect());

    produce_n(&bs, &topic, 0, 600).await;
    wait_until("600 records consumed", 30, || {
        members.iter().map(|m| m.records().len()).sum::<usize>() >= 600
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut values: Vec<String> = members
        .iter()
        .flat_map(|m| m.records())
        .map(|r| r.2)
        .collect();
    values.sort();
    let mut expected: Vec<String> = (0..600).map(|i| format!("v{i}")).collect();
    expected.sort();
    assert_eq!(
        values, expected,
        "every record exactly once across the group"
    );

    // A second group sees everything too.
    let other = Member::start(&bs, &unique("g2"), &topic, &[]);
    wait_until("second group reads all 600", 30, || {
        other.records().len() >= 600
    })
    .await;
    assert_eq!(other.records().len(), 600);
    // Members leave while the broker is still up; a consumer closing against a dead
    // broker can wait for it a long time.
    drop(members);
    drop(other);
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extra_member_is_idle_until_another_leaves() {
    let broker = broker_with(broker_config()).await;
    let bs = broker.bootstrap_servers();
    let topic = unique("groups7");
    create_topic(&bs, &topic, 6, &[]).await;
    let group = unique("g");
    let mut members: Vec<Member> = (0..7)
        .map(|_| Member::start(&bs, &group, &topic, &[]))
        .collect();
    wait_until(
        "six members own one partition each, one owns none",
        40,
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
    wait_until(
        "the idle member gets a partition; all six covered once",
        40,
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
    let broker = broker_with(broker_config()).await;
    let bs = broker.bootstrap_servers();
    let topic = unique("coop");
    create_topic(&bs, &topic, 4, &[]).await;
    let group = unique("g");
    let coop = [("partition.assignment.strategy", "cooperative-sticky")];
    let a = Member::start(&bs, &group, &topic, &coop);
    wait_until("first member owns all 4", 30, || a.assignment().len() == 4).await;
    let b = Member::start(&bs, &group, &topic, &coop);
    wait_until("two members own two each", 40, || {
        a.assignment().len() == 2 && b.assignment().len() == 2
    })
    .await;
    produce_n(&bs, &topic, 0, 200).await;
    wait_until("all consumed", 30, || {
        a.records().len() + b.records().len() >= 200
    })
    .await;
    let total: BTreeSet<String> = a
        .records()
        .into_iter()
        .chain(b.records())
        .map(|r| r.2)
        .collect();
    assert_eq!(total.len(), 200);
    // Members leave while the broker is still up; a consumer closing against a dead
    // broker can wait for it a long time.
    drop(a);
    drop(b);
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_offsets_survive_a_restart_and_reset_policies_apply() {
    let dir = tempfile::tempdir().unwrap();
    let config = || EmbeddedConfig {
        data_dir: Some(dir.path().to_path_buf()),
        ..broker_config()
    };
    let broker = broker_with(config()).await;
    let bs = broker.bootstrap_servers();
    let topic = unique("resume");
    create_topic(&bs, &topic, 1, &[]).await;
    produce_n(&bs, &topic, 0, 100).await;
    let group = unique("g");
    let m = Member::start(&bs, &group, &topic, &[]);
    wait_until("100 consumed", 30, || m.records().len() >= 100).await;
    m.leave();
    broker.shutdown().await;

    let broker = broker_with(config()).await;
    let bs = broker.bootstrap_servers();
    produce_n(&bs, &topic, 100, 10).await;
    let m = Member::start(&bs, &group, &topic, &[]);
    wait_until("10 new consumed", 30, || m.records().len() >= 10).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let offsets: Vec<i64> = m.records().iter().map(|r| r.1).collect();
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
    wait_until("latest member assigned", 30, || {
        latest.assignment().len() == 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    produce_n(&bs, &topic, 110, 1).await;
    wait_until("latest member sees the new record", 30, || {
        !latest.records().is_empty()
    })
    .await;
    assert_eq!(latest.records()[0].1, 110);
    let earliest = Member::start(&bs, &unique("earliest"), &topic, &[]);
    wait_until("earliest member reads from 0", 30, || {
        !earliest.records().is_empty()
    })
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
    let broker = broker_with(broker_config()).await;
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
    wait_until("partitions split between the two", 40, || {
        survivor.assignment().len() == 1
    })
    .await;
    victim.kill().unwrap();
    victim.wait().unwrap();
    wait_until(
        "survivor owns both after the victim's session expired",
        40,
        || survivor.assignment().len() == 2,
    )
    .await;
    produce_n(&bs, &topic, 0, 50).await;
    wait_until("survivor reads everything", 30, || {
        survivor.records().len() >= 50
    })
    .await;
    let mut seen: HashMap<String, usize> = HashMap::new();
    for r in survivor.records() {
        *seen.entry(r.2).or_default() += 1;
    }
    assert_eq!(seen.len(), 50);
    // Members leave while the broker is still up; a consumer closing against a dead
    // broker can wait for it a long time.
    drop(survivor);
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kip848_consumer_protocol_assigns_on_the_broker() {
    let broker = broker_with(broker_config()).await;
    let bs = broker.bootstrap_servers();
    let topic = unique("kip848");
    create_topic(&bs, &topic, 4, &[]).await;
    let group = unique("g");
    let next_gen = [("group.protocol", "consumer")];
    let a = Member::start(&bs, &group, &topic, &next_gen);
    wait_until("first member owns all 4", 30, || a.assignment().len() == 4).await;
    let b = Member::start(&bs, &group, &topic, &next_gen);
    wait_until("two members own two each", 40, || {
        a.assignment().len() == 2 && b.assignment().len() == 2
    })
    .await;
    assert!(a.assignment().is_disjoint(&b.assignment()));
    produce_n(&bs, &topic, 0, 400).await;
    wait_until("all consumed", 30, || {
        a.records().len() + b.records().len() >= 400
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let all: Vec<String> = a
        .records()
        .into_iter()
        .chain(b.records())
        .map(|r| r.2)
        .collect();
    let distinct: BTreeSet<&String> = all.iter().collect();
    assert_eq!(
        (all.len(), distinct.len()),
        (400, 400),
        "every record exactly once"
    );
    b.leave();
    wait_until("the remaining member takes everything back", 40, || {
        a.assignment().len() == 4
    })
    .await;
    // Members leave while the broker is still up; a consumer closing against a dead
    // broker can wait for it a long time.
    drop(a);
    broker.shutdown().await;
}
