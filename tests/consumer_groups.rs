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

/// The group's state as DescribeGroups reports it (`PreparingRebalance`, `Stable`, ...).
async fn group_state(bs: &str, group: &str) -> String {
    use kafka_protocol::messages::{DescribeGroupsRequest, GroupId};
    use kafka_protocol::protocol::StrBytes;
    let mut client = common::raw::RawClient::connect(bs).await;
    let req = DescribeGroupsRequest::default()
        .with_groups(vec![GroupId(StrBytes::from_string(group.to_owned()))]);
    let resp = client.call(&req, 5).await;
    assert_eq!(resp.groups[0].error_code, 0, "DescribeGroups {group}");
    resp.groups[0].group_state.to_string()
}

/// Waits until DescribeGroups reports `group` in `state`.
async fn wait_for_group_state(bs: &str, group: &str, state: &str) {
    eventually_async(
        &format!("group {group} to be {state}"),
        Duration::from_secs(20),
        || async move { group_state(bs, group).await == state },
    )
    .await;
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
    let broker = broker_with(broker_config()).await;
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
    let broker = broker_with(broker_config()).await;
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
        ..broker_config()
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
    let broker = broker_with(broker_config()).await;
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

/// Raw classic-group requests, for the tests that need the broker's exact answers.
mod raw_group {
    use bytes::Bytes;
    use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
    use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
    use kafka_protocol::messages::{GroupId, JoinGroupRequest, SyncGroupRequest};
    use kafka_protocol::protocol::StrBytes;

    fn s(v: &str) -> StrBytes {
        StrBytes::from_string(v.to_string())
    }

    /// A JoinGroup of the "consumer" type with one protocol, "range".
    pub fn join(group: &str, member: &str, instance: Option<&str>) -> JoinGroupRequest {
        JoinGroupRequest::default()
            .with_group_id(GroupId(s(group)))
            .with_session_timeout_ms(30_000)
            .with_rebalance_timeout_ms(30_000)
            .with_member_id(s(member))
            .with_group_instance_id(instance.map(s))
            .with_protocol_type(StrBytes::from_static_str("consumer"))
            .with_protocols(vec![JoinGroupRequestProtocol::default()
                .with_name(StrBytes::from_static_str("range"))
                .with_metadata(Bytes::from_static(b"m"))])
    }

    /// A SyncGroup; the leader's carries `assignments` (member id, assignment).
    pub fn sync(
        group: &str,
        member: &str,
        instance: Option<&str>,
        generation: i32,
        assignments: &[(&str, &'static [u8])],
    ) -> SyncGroupRequest {
        SyncGroupRequest::default()
            .with_group_id(GroupId(s(group)))
            .with_generation_id(generation)
            .with_member_id(s(member))
            .with_group_instance_id(instance.map(s))
            .with_assignments(
                assignments
                    .iter()
                    .map(|(id, a)| {
                        SyncGroupRequestAssignment::default()
                            .with_member_id(s(id))
                            .with_assignment(Bytes::from_static(a))
                    })
                    .collect(),
            )
    }
}

/// Kafka's rule for an OffsetCommit from a member while its group rebalances: while the group
/// waits for members to rejoin (PreparingRebalance) the member's generation is still the
/// group's, and the commit is taken (so a consumer can commit what it processed before it
/// revokes); only once the join is complete and the assignment pending (CompletingRebalance)
/// does it get REBALANCE_IN_PROGRESS. librdkafka's 0113 asserts the first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offset_commits_during_a_rebalance_follow_kafkas_rules() {
    use kafka_protocol::messages::offset_commit_request::{
        OffsetCommitRequestPartition, OffsetCommitRequestTopic,
    };
    use kafka_protocol::messages::{
        GroupId, JoinGroupRequest, JoinGroupResponse, OffsetCommitRequest, OffsetCommitResponse,
        SyncGroupResponse,
    };
    use kafka_protocol::protocol::StrBytes;

    let broker = fjord_broker::EmbeddedBroker::start(broker_config())
        .await
        .unwrap();
    let bs = broker.bootstrap_servers();
    let topic = unique("commit-rebalance");
    create_topic(&bs, &topic, 1, &[]).await;
    let group = unique("g");
    let join = |member: &str| raw_group::join(&group, member, None);
    let commit = |member: &str, generation: i32, offset: i64| {
        OffsetCommitRequest::default()
            .with_group_id(GroupId(StrBytes::from_string(group.clone())))
            .with_generation_id_or_member_epoch(generation)
            .with_member_id(StrBytes::from_string(member.to_string()))
            .with_topics(vec![OffsetCommitRequestTopic::default()
                .with_name(kafka_protocol::messages::TopicName(StrBytes::from_string(
                    topic.clone(),
                )))
                .with_partitions(vec![OffsetCommitRequestPartition::default()
                    .with_partition_index(0)
                    .with_committed_offset(offset)])])
    };
    let commit_error = |r: OffsetCommitResponse| r.topics[0].partitions[0].error_code;

    // A joins (v4+: first MEMBER_ID_REQUIRED, then with the id) and syncs: Stable, generation 1.
    let mut a = common::raw::RawClient::connect(&bs).await;
    let first: JoinGroupResponse = a.call(&join(""), 7).await;
    assert_eq!(first.error_code, 79, "MEMBER_ID_REQUIRED");
    let a_id = first.member_id.to_string();
    let joined: JoinGroupResponse = a.call(&join(&a_id), 7).await;
    assert_eq!(joined.error_code, 0);
    let generation = joined.generation_id;
    let synced: SyncGroupResponse = a
        .call(
            &raw_group::sync(&group, &a_id, None, generation, &[(&a_id, b"a")]),
            5,
        )
        .await;
    assert_eq!(synced.error_code, 0);
    assert_eq!(
        commit_error(a.call(&commit(&a_id, generation, 5), 8).await),
        0
    );

    // B asks to join: the group prepares a rebalance and waits for A to rejoin. A's commit
    // with the generation it has is still taken.
    let mut b = common::raw::RawClient::connect(&bs).await;
    let b_first: JoinGroupResponse = b.call(&join(""), 7).await;
    let b_id = b_first.member_id.to_string();
    b.send(&join(&b_id), 7).await;
    wait_for_group_state(&bs, &group, "PreparingRebalance").await;
    assert_eq!(
        commit_error(a.call(&commit(&a_id, generation, 7), 8).await),
        0,
        "a commit while the group waits for rejoins is taken"
    );

    // A rejoins: the join completes (CompletingRebalance) and until the leader syncs, a
    // commit with the new generation gets REBALANCE_IN_PROGRESS, one with the old
    // ILLEGAL_GENERATION.
    let a_rejoined: JoinGroupResponse = a.call(&join(&a_id), 7).await;
    let b_joined = b.receive::<JoinGroupRequest>(7).await;
    assert_eq!((a_rejoined.error_code, b_joined.error_code), (0, 0));
    let next = a_rejoined.generation_id;
    assert_eq!(next, generation + 1);
    assert_eq!(commit_error(a.call(&commit(&a_id, next, 8), 8).await), 27);
    assert_eq!(
        commit_error(a.call(&commit(&a_id, generation, 8), 8).await),
        22
    );

    // The stored offset is the one taken during the rebalance.
    let consumer: BaseConsumer = client_config(&bs).set("group.id", &group).create().unwrap();
    let mut tpl = rdkafka::TopicPartitionList::new();
    tpl.add_partition(&topic, 0);
    let committed = consumer
        .committed_offsets(tpl, Duration::from_secs(10))
        .unwrap();
    assert_eq!(
        committed.find_partition(&topic, 0).unwrap().offset(),
        rdkafka::Offset::Offset(7)
    );
    drop(consumer);
    drop((a, b));
    broker.shutdown().await;
}

/// KIP-345 as Kafka does it: a static member that restarts (a JoinGroup with its
/// group.instance.id and no member id) takes its old place in a stable group without a
/// rebalance: the others keep their generation, and it gets back its assignment, even when it
/// was the leader. librdkafka's 0102 asserts that the other member sees no rebalance.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_static_member_rejoins_without_a_rebalance() {
    use kafka_protocol::messages::{
        GroupId, HeartbeatRequest, HeartbeatResponse, JoinGroupRequest, JoinGroupResponse,
        SyncGroupResponse,
    };
    use kafka_protocol::protocol::StrBytes;

    let broker = fjord_broker::EmbeddedBroker::start(broker_config())
        .await
        .unwrap();
    let bs = broker.bootstrap_servers();
    let group = unique("static");
    let mut a = common::raw::RawClient::connect(&bs).await;
    let mut b = common::raw::RawClient::connect(&bs).await;

    // Static members i1 (the first, so the leader) and i2 join one generation.
    let a_joined: JoinGroupResponse = a.call(&raw_group::join(&group, "", Some("i1")), 7).await;
    assert_eq!(a_joined.error_code, 0);
    let a_id = a_joined.member_id.to_string();
    let a_sync = raw_group::sync(&group, &a_id, Some("i1"), a_joined.generation_id, &[]);
    let a_synced: SyncGroupResponse = a.call(&a_sync, 5).await;
    assert_eq!(a_synced.error_code, 0);
    b.send(&raw_group::join(&group, "", Some("i2")), 7).await;
    wait_for_group_state(&bs, &group, "PreparingRebalance").await;
    // The leader learns of the rebalance from its heartbeat and rejoins.
    let heartbeat = |id: &str, instance: &str, generation: i32| {
        HeartbeatRequest::default()
            .with_group_id(GroupId(StrBytes::from_string(group.clone())))
            .with_member_id(StrBytes::from_string(id.to_string()))
            .with_group_instance_id(Some(StrBytes::from_string(instance.to_string())))
            .with_generation_id(generation)
    };
    let hb: HeartbeatResponse = a
        .call(&heartbeat(&a_id, "i1", a_joined.generation_id), 4)
        .await;
    assert_eq!(hb.error_code, 27, "REBALANCE_IN_PROGRESS");
    let a_rejoined: JoinGroupResponse =
        a.call(&raw_group::join(&group, &a_id, Some("i1")), 7).await;
    let b_joined = b.receive::<JoinGroupRequest>(7).await;
    let generation = a_rejoined.generation_id;
    assert_eq!(a_rejoined.leader, a_rejoined.member_id, "i1 leads");
    let b_id = b_joined.member_id.to_string();
    b.send(
        &raw_group::sync(&group, &b_id, Some("i2"), generation, &[]),
        5,
    )
    .await;
    let assignments = [
        (a_id.as_str(), &b"for-i1"[..]),
        (b_id.as_str(), &b"for-i2"[..]),
    ];
    let a_sync = raw_group::sync(&group, &a_id, Some("i1"), generation, &assignments);
    let a_synced: SyncGroupResponse = a.call(&a_sync, 5).await;
    let b_synced = b
        .receive::<kafka_protocol::messages::SyncGroupRequest>(5)
        .await;
    assert_eq!(&a_synced.assignment[..], b"for-i1");
    assert_eq!(&b_synced.assignment[..], b"for-i2");

    // i1 restarts: a new connection, no member id. It gets a new id in the same generation,
    // is told the old leader id (so it does not compute an assignment) and syncs as a
    // follower to get its old assignment back.
    drop(a);
    let mut a = common::raw::RawClient::connect(&bs).await;
    let back: JoinGroupResponse = a.call(&raw_group::join(&group, "", Some("i1")), 7).await;
    assert_eq!(back.error_code, 0);
    assert_eq!(back.generation_id, generation, "no new generation");
    assert_ne!(back.member_id.to_string(), a_id);
    assert_eq!(
        back.leader.to_string(),
        a_id,
        "told the leader id from before"
    );
    assert!(back.members.is_empty());
    let new_id = back.member_id.to_string();
    let resync: SyncGroupResponse = a
        .call(
            &raw_group::sync(&group, &new_id, Some("i1"), generation, &[]),
            5,
        )
        .await;
    assert_eq!(resync.error_code, 0);
    assert_eq!(&resync.assignment[..], b"for-i1");

    // i2 saw nothing: its heartbeat in the same generation is fine; the old id of i1 is gone.
    let hb: HeartbeatResponse = b.call(&heartbeat(&b_id, "i2", generation), 4).await;
    assert_eq!(hb.error_code, 0, "no rebalance for the other member");
    let hb: HeartbeatResponse = a.call(&heartbeat(&new_id, "i1", generation), 4).await;
    assert_eq!(hb.error_code, 0);
    let hb: HeartbeatResponse = a.call(&heartbeat(&a_id, "i1", generation), 4).await;
    assert_eq!(
        hb.error_code, 82,
        "FENCED_INSTANCE_ID for the replaced identity"
    );
    drop((a, b));
    broker.shutdown().await;
}

/// Item 8 of issue 7: `cargo run --example demo` hung for good in the consumer's drop, because
/// the partition list from `committed()` was still alive (librdkafka's destroy waits for the
/// references it holds). `fjord_core::close_consumer` must come back by its deadline even
/// then, saying it timed out, and close at once when nothing is held.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_a_consumer_never_hangs_even_with_a_partition_list_alive() {
    let broker = broker_with(broker_config()).await;
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
