//! Python Kafka clients in consumer groups on Fjord, with the pinned kafka-python and
//! confluent-kafka of `scripts/python-env.sh`:
//!
//! - three member processes of one group on a 6-partition topic each get two partitions and
//!   together see every record exactly once (`tests/python/group_member.py`);
//! - a member commits and stops; a restarted member of the group, of either client, resumes
//!   at the committed offsets;
//! - a new group starts at the log start with `auto_offset_reset='earliest'` and sees only
//!   new records with `'latest'`;
//! - the admin APIs of both clients (`tests/python/group_admin.py`) report group states,
//!   members, committed offsets and lag exactly, refuse to delete an active group and delete
//!   an empty one.
//!
//! The members print what they were assigned and read, so every assertion is on what the
//! clients themselves saw; Fjord's own `GroupAdmin` cross-checks assignments and offsets.
//! Every wait polls with a deadline. Each test starts its own embedded broker.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::python::{python, repo_root};
use common::*;
use fjord_core::groups::{GroupAdmin, TopicPartitionId};
use fjord_core::ClientSettings;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::producer::FutureRecord;
use rdkafka::{Offset, TopicPartitionList};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

/// Longest a Python program may take to stop once asked, or to finish on its own.
const PROGRAM_TIMEOUT: Duration = Duration::from_secs(60);

/// Longest to wait for group membership or records to show up.
const WAIT: Duration = Duration::from_secs(60);

const KAFKA_PYTHON: &str = "kafka-python";
const CONFLUENT: &str = "confluent";

/// A running Python program whose stdout lines are collected as they arrive. Closing its
/// stdin asks it to stop.
struct Program {
    name: String,
    child: tokio::process::Child,
    stdin: Option<tokio::process::ChildStdin>,
    lines: Arc<Mutex<Vec<String>>>,
    stdout_done: tokio::task::JoinHandle<()>,
    stderr: tokio::task::JoinHandle<String>,
}

impl Program {
    async fn start(program: &str, args: &[&str], bootstrap: &str) -> Program {
        let python = python().await;
        let mut child = tokio::process::Command::new(&python)
            .arg(repo_root().join("tests/python").join(program))
            .args(args)
            .env("BOOTSTRAP", bootstrap)
            .env("PYTHONIOENCODING", "utf-8")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("GROUP_MEMBER_LOG", "INFO")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
        let lines = Arc::new(Mutex::new(Vec::new()));
        let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        let sink = Arc::clone(&lines);
        let stdout_done = tokio::spawn(async move {
            while let Ok(Some(line)) = stdout.next_line().await {
                sink.lock().unwrap().push(line);
            }
        });
        let mut stderr = child.stderr.take().unwrap();
        let stderr = tokio::spawn(async move {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text).await;
            text
        });
        Program {
            name: format!("{program} {}", args.join(" ")),
            stdin: child.stdin.take(),
            child,
            lines,
            stdout_done,
            stderr,
        }
    }

    fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// Polls the output until `check` holds; panics after [`WAIT`] or if the program exits.
    async fn wait_for(&mut self, what: &str, check: impl Fn(&[String]) -> bool) {
        let (lines, child) = (&self.lines, &mut self.child);
        let outcome = poll_until(WAIT, || {
            let done = check(&lines.lock().unwrap());
            let exited = if done {
                None
            } else {
                child.try_wait().unwrap()
            };
            std::future::ready(match (done, exited) {
                (true, _) => Some(None),
                (false, Some(status)) => Some(Some(format!("exited ({status})"))),
                (false, None) => None,
            })
        })
        .await;
        let failure = match outcome {
            Ok(None) => return,
            Ok(Some(exited)) => exited,
            Err(_) => "timed out".to_owned(),
        };
        let report = self.report().await;
        panic!("{failure} while waiting for {what}\n{report}");
    }

    /// Kills the program (if still running) and describes its output and stderr, for a
    /// failure message. Call at most once.
    async fn report(&mut self) -> String {
        let _ = self.child.kill().await;
        let stderr = (&mut self.stderr).await.unwrap_or_default();
        format!(
            "--- {}\nstdout: {:?}\nstderr:\n{stderr}",
            self.name,
            self.lines()
        )
    }

    /// Closes stdin (the stop signal), waits for a successful exit, returns all output lines.
    async fn stop(mut self) -> Vec<String> {
        drop(self.stdin.take());
        self.finish().await
    }

    /// Waits for the program to exit on its own, successfully; returns all output lines.
    async fn finish(mut self) -> Vec<String> {
        let status = tokio::time::timeout(PROGRAM_TIMEOUT, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("{} did not exit in time", self.name))
            .unwrap();
        (&mut self.stdout_done).await.unwrap();
        let lines = self.lines();
        let stderr = (&mut self.stderr).await.unwrap();
        assert!(
            status.success(),
            "{} failed ({status}); output: {lines:?}\nstderr:\n{stderr}",
            self.name
        );
        lines
    }
}

/// Runs `group_admin.py --client CLIENT ARGS` to completion; returns its (sorted) lines.
async fn admin(client: &str, bootstrap: &str, args: &[&str]) -> Vec<String> {
    let mut full = vec!["--client", client];
    full.extend(args);
    Program::start("group_admin.py", &full, bootstrap)
        .await
        .stop()
        .await
}

/// The lines of `group_admin.py` that start with `kind`.
fn only(lines: &[String], kind: &str) -> Vec<String> {
    lines
        .iter()
        .filter(|l| l.split(' ').next() == Some(kind))
        .cloned()
        .collect()
}

/// Starts `group_member.py` for `client` in `group` on `topic`.
async fn member(
    client: &str,
    bootstrap: &str,
    topic: &str,
    group: &str,
    extra: &[&str],
) -> Program {
    let mut args = vec!["--client", client, "--topic", topic, "--group", group];
    args.extend(extra);
    Program::start("group_member.py", &args, bootstrap).await
}

/// The partitions of the member's latest `ASSIGNED` line.
fn assignment(lines: &[String]) -> Option<BTreeSet<i32>> {
    let last = lines
        .iter()
        .rev()
        .find_map(|l| l.strip_prefix("ASSIGNED "))?;
    Some(if last == "-" {
        BTreeSet::new()
    } else {
        last.split(',').map(|p| p.parse().unwrap()).collect()
    })
}

/// The member's `RECORD` lines as (partition, offset, value).
fn records(lines: &[String]) -> Vec<(i32, i64, String)> {
    lines
        .iter()
        .filter_map(|l| l.strip_prefix("RECORD "))
        .map(|r| {
            let mut fields = r.splitn(3, ' ');
            (
                fields.next().unwrap().parse().unwrap(),
                fields.next().unwrap().parse().unwrap(),
                fields.next().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// The member's `COMMITTED` line as partition -> offset.
fn committed(lines: &[String]) -> BTreeMap<i32, i64> {
    let line = lines
        .iter()
        .find_map(|l| l.strip_prefix("COMMITTED "))
        .unwrap_or_else(|| panic!("no COMMITTED line in {lines:?}"));
    if line == "-" {
        return BTreeMap::new();
    }
    line.split(',')
        .map(|e| {
            let (p, o) = e.split_once(':').unwrap();
            (p.parse().unwrap(), o.parse().unwrap())
        })
        .collect()
}

/// Produces `count` records to each listed partition, valued `p{partition}-{i}`, with
/// `first` as the first i.
async fn produce(bootstrap: &str, topic: &str, partitions: &[i32], first: usize, count: usize) {
    let producer = producer(bootstrap, &[]);
    for &p in partitions {
        for i in first..first + count {
            let value = format!("p{p}-{i}");
            producer
                .send(
                    FutureRecord::<(), _>::to(topic)
                        .partition(p)
                        .payload(&value),
                    Duration::from_secs(10),
                )
                .await
                .expect("produced");
        }
    }
}

/// Fjord's view of the group's committed offsets on `topic`, as partition -> (committed,
/// log end).
async fn fjord_offsets(bootstrap: &str, group: &str, topic: &str) -> BTreeMap<i32, (i64, i64)> {
    let admin = GroupAdmin::new(&ClientSettings::new(bootstrap)).unwrap();
    let description = admin.describe(group).await.unwrap();
    admin
        .lag(&description)
        .await
        .unwrap()
        .into_iter()
        .filter(|p| p.partition.topic == topic)
        .map(|p| {
            (
                p.partition.partition,
                (p.committed.unwrap(), p.log_end.unwrap()),
            )
        })
        .collect()
}

async fn members_share_a_topic(client: &str) {
    let broker = broker().await;
    let bs = broker.bootstrap_servers();
    let (topic, group) = ("shared", "sharers");
    create_topic(&bs, topic, 6, &[]).await;

    let mut members = Vec::new();
    for _ in 0..3 {
        members.push(member(client, &bs, topic, group, &[]).await);
    }
    // Wait for the final generation: two partitions each, together all six.
    let balanced = poll_until(WAIT, || {
        let assignments: Vec<BTreeSet<i32>> = members
            .iter()
            .map(|m| assignment(&m.lines()).unwrap_or_default())
            .collect();
        let union: BTreeSet<i32> = assignments.iter().flatten().copied().collect();
        let done = assignments.iter().all(|a| a.len() == 2) && union == (0..6).collect();
        std::future::ready(done.then_some(assignments))
    })
    .await;
    let assignments = match balanced {
        Ok(assignments) => assignments,
        Err(_) => {
            let mut report = String::new();
            for m in &mut members {
                report.push_str(&m.report().await);
            }
            panic!("no balanced assignment\n{report}");
        }
    };

    // Fjord describes the same members with the same assignments (decoded from the
    // clients' own assignment bytes).
    let fjord = GroupAdmin::new(&ClientSettings::new(&bs)).unwrap();
    let description = fjord.describe(group).await.unwrap();
    assert_eq!(description.state, "Stable");
    let mut described: Vec<BTreeSet<i32>> = description
        .members
        .iter()
        .map(|m| {
            assert_eq!(m.client_id, format!("{client}-{group}"));
            m.assignment
                .as_ref()
                .unwrap()
                .iter()
                .map(|tp: &TopicPartitionId| tp.partition)
                .collect()
        })
        .collect();
    let mut reported = assignments.clone();
    described.sort();
    reported.sort();
    assert_eq!(described, reported);

    produce(&bs, topic, &[0, 1, 2, 3, 4, 5], 0, 10).await;
    eventually("all 60 records consumed", WAIT, || {
        members
            .iter()
            .map(|m| records(&m.lines()).len())
            .sum::<usize>()
            >= 60
    })
    .await;

    let mut seen = BTreeSet::new();
    for (m, assigned) in members.into_iter().zip(&assignments) {
        let lines = m.stop().await;
        let got = records(&lines);
        assert_eq!(got.len(), 20, "each member reads its two partitions");
        for (p, offset, value) in got {
            assert!(
                assigned.contains(&p),
                "record of partition {p} outside {assigned:?}"
            );
            assert_eq!(value, format!("p{p}-{offset}"));
            assert!(seen.insert((p, offset)), "({p}, {offset}) seen twice");
        }
        let committed = committed(&lines);
        assert_eq!(committed, assigned.iter().map(|p| (*p, 10)).collect());
    }
    assert_eq!(seen.len(), 60);
    assert_eq!(
        fjord_offsets(&bs, group, topic).await,
        (0..6).map(|p| (p, (10, 10))).collect()
    );
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_python_members_share_a_topic() {
    members_share_a_topic(KAFKA_PYTHON).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confluent_members_share_a_topic() {
    members_share_a_topic(CONFLUENT).await;
}

/// A `first` member reads 7 of 20 records, commits and stops; a `second` member of the
/// group resumes exactly there and reads the other 13.
async fn restart_resumes_at_the_committed_offset(first: &str, second: &str) {
    let broker = broker().await;
    let bs = broker.bootstrap_servers();
    let (topic, group) = ("resume", "resumers");
    create_topic(&bs, topic, 2, &[]).await;
    produce(&bs, topic, &[0, 1], 0, 10).await;

    let lines = member(first, &bs, topic, group, &["--max-records", "7"])
        .await
        .finish()
        .await;
    let before = records(&lines);
    assert_eq!(before.len(), 7);
    let committed = committed(&lines);
    // The commit covers exactly what was read: the offset after each partition's last record.
    let mut expected = BTreeMap::new();
    for (p, offset, _) in &before {
        expected.insert(*p, offset + 1);
    }
    assert_eq!(committed, expected);
    assert_eq!(
        fjord_offsets(&bs, group, topic).await,
        committed.iter().map(|(p, o)| (*p, (*o, 10))).collect()
    );

    let mut restarted = member(second, &bs, topic, group, &[]).await;
    restarted
        .wait_for("the other 13 records", |l| records(l).len() >= 13)
        .await;
    let lines = restarted.stop().await;
    let after = records(&lines);
    assert_eq!(after.len(), 13, "nothing read twice: {after:?}");
    for p in 0..2 {
        let resumed_at = after.iter().find(|(q, _, _)| *q == p).map(|(_, o, _)| *o);
        let expected = committed.get(&p).copied().unwrap_or(0);
        if expected < 10 {
            assert_eq!(resumed_at, Some(expected), "partition {p}");
        }
    }
    let all: BTreeSet<(i32, i64)> = before
        .iter()
        .chain(&after)
        .map(|(p, o, _)| (*p, *o))
        .collect();
    assert_eq!(
        all,
        (0..2).flat_map(|p| (0..10).map(move |o| (p, o))).collect()
    );
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_python_restart_resumes_at_the_committed_offset() {
    restart_resumes_at_the_committed_offset(KAFKA_PYTHON, KAFKA_PYTHON).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confluent_restart_resumes_at_the_committed_offset() {
    restart_resumes_at_the_committed_offset(CONFLUENT, CONFLUENT).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_python_commits_confluent_resumes() {
    restart_resumes_at_the_committed_offset(KAFKA_PYTHON, CONFLUENT).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confluent_commits_kafka_python_resumes() {
    restart_resumes_at_the_committed_offset(CONFLUENT, KAFKA_PYTHON).await;
}

/// New groups: `earliest` reads the 5 records already there; `latest` skips them and reads
/// only records produced after it joined.
async fn new_group_offset_reset(client: &str) {
    let broker = broker().await;
    let bs = broker.bootstrap_servers();
    let topic = "fresh";
    create_topic(&bs, topic, 1, &[]).await;
    produce(&bs, topic, &[0], 0, 5).await;

    let mut earliest = member(
        client,
        &bs,
        topic,
        "from-earliest",
        &["--offset-reset", "earliest"],
    )
    .await;
    let mut latest = member(
        client,
        &bs,
        topic,
        "from-latest",
        &["--offset-reset", "latest"],
    )
    .await;
    earliest
        .wait_for("the 5 existing records", |l| records(l).len() >= 5)
        .await;
    latest
        .wait_for("an assignment", |l| {
            assignment(l).is_some_and(|a| a.len() == 1)
        })
        .await;
    // The latest member's start position is resolved some time after its assignment:
    // produce one record at a time until it reads one. Whatever it reads must be new.
    let producer = &producer(&bs, &[]);
    let latest_lines = &latest.lines;
    let read_any = move || !records(&latest_lines.lock().unwrap()).is_empty();
    let mut produced = 0;
    let read = poll_until(WAIT, || {
        let value = format!("p0-{}", 5 + produced);
        let done = read_any();
        produced += usize::from(!done);
        async move {
            if !done {
                producer
                    .send(
                        FutureRecord::<(), _>::to(topic)
                            .partition(0)
                            .payload(&value),
                        Duration::from_secs(10),
                    )
                    .await
                    .expect("produced");
                // Give the record time to arrive before producing another.
                let _ = poll_until(Duration::from_millis(500), || {
                    std::future::ready(read_any().then_some(()))
                })
                .await;
            }
            done.then_some(())
        }
    })
    .await;
    assert!(read.is_ok(), "the latest member read nothing");
    let end = 5 + produced as i64;
    latest
        .wait_for("the rest of the new records", |l| {
            records(l).last().is_some_and(|r| r.1 == end - 1)
        })
        .await;
    earliest
        .wait_for("every record", |l| records(l).len() == end as usize)
        .await;

    let from_latest = records(&latest.stop().await);
    let first = from_latest[0].1;
    assert!(
        first >= 5,
        "the latest member read an old record: {from_latest:?}"
    );
    let expected: Vec<(i32, i64, String)> =
        (first..end).map(|o| (0, o, format!("p0-{o}"))).collect();
    assert_eq!(from_latest, expected);

    let from_earliest = records(&earliest.stop().await);
    let expected: Vec<(i32, i64, String)> = (0..end).map(|o| (0, o, format!("p0-{o}"))).collect();
    assert_eq!(from_earliest, expected);
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_python_new_group_offset_reset() {
    new_group_offset_reset(KAFKA_PYTHON).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confluent_new_group_offset_reset() {
    new_group_offset_reset(CONFLUENT).await;
}

/// Commits offsets for `group` from outside it (generation -1), as tools do.
fn commit_offsets(bootstrap: &str, group: &str, topic: &str, offsets: &[(i32, i64)]) {
    let consumer: BaseConsumer = client_config(bootstrap)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut list = TopicPartitionList::new();
    for (p, o) in offsets {
        list.add_partition_offset(topic, *p, Offset::Offset(*o))
            .unwrap();
    }
    consumer.commit(&list, CommitMode::Sync).unwrap();
    drop(list);
    close(consumer);
}

/// How each client spells a group state.
fn state_name(client: &str, state: &str) -> String {
    match client {
        CONFLUENT => state.to_ascii_uppercase(),
        _ => state.to_owned(),
    }
}

/// How each client names a group-level error.
fn error_name(client: &str, code: i16) -> &'static str {
    match (client, code) {
        (CONFLUENT, 68) => "NON_EMPTY_GROUP",
        (CONFLUENT, 69) => "GROUP_ID_NOT_FOUND",
        (_, 68) => "NonEmptyGroupError",
        (_, 69) => "GroupIdNotFoundError",
        _ => unreachable!("no name for error {code}"),
    }
}

fn strings(lines: &[&str]) -> Vec<String> {
    lines.iter().map(|l| (*l).to_owned()).collect()
}

/// The authorized operations a `describe` reported.
fn operations(described: &[String]) -> BTreeSet<String> {
    let line = only(described, "OPERATIONS");
    line[0]
        .strip_prefix("OPERATIONS ")
        .unwrap()
        .split(',')
        .map(str::to_owned)
        .collect()
}

async fn admin_reports_groups(client: &str) {
    let broker = broker().await;
    let bs = broker.bootstrap_servers();
    let (topic, group) = ("ledger", "accounting");
    create_topic(&bs, topic, 3, &[]).await;
    produce(&bs, topic, &[0], 0, 6).await;
    produce(&bs, topic, &[1], 0, 4).await;
    produce(&bs, topic, &[2], 0, 2).await;
    let bs2 = bs.clone();
    tokio::task::spawn_blocking(move || commit_offsets(&bs2, group, topic, &[(0, 4), (1, 4)]))
        .await
        .unwrap();

    // A group that only has committed offsets.
    let empty = state_name(client, "Empty");
    let listed = admin(client, &bs, &["list"]).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert!(
        listed[0].starts_with(&format!("GROUP {group} {empty} ")),
        "{listed:?}"
    );
    assert_eq!(
        admin(client, &bs, &["offsets", group]).await,
        strings(&["OFFSET ledger 0 4 6 2", "OFFSET ledger 1 4 4 0"])
    );
    let described = admin(client, &bs, &["describe", group]).await;
    assert_eq!(only(&described, "STATE"), [format!("STATE {empty}")]);
    assert_eq!(only(&described, "MEMBER"), Vec::<String>::new());
    assert_eq!(only(&described, "ERROR"), ["ERROR -"]);
    let ops = operations(&described);
    for op in ["READ", "DESCRIBE", "DELETE"] {
        assert!(ops.contains(op), "{op} missing from {ops:?}");
    }

    // An active member: it resumes at 4 on partitions 0 and 1 and reads partition 2 from 0.
    let mut active = member(client, &bs, topic, group, &[]).await;
    active
        .wait_for("4 records", |l| records(l).len() >= 4)
        .await;
    let stable = state_name(client, "Stable");
    let fjord = GroupAdmin::new(&ClientSettings::new(&bs)).unwrap();
    let member_id = fjord.describe(group).await.unwrap().members[0]
        .member_id
        .clone();
    let described = admin(client, &bs, &["describe", group]).await;
    assert_eq!(only(&described, "STATE"), [format!("STATE {stable}")]);
    assert_eq!(
        only(&described, "PROTOCOL_TYPE"),
        ["PROTOCOL_TYPE consumer"]
    );
    assert_eq!(only(&described, "ASSIGNOR"), ["ASSIGNOR range"]);
    assert_eq!(
        only(&described, "MEMBER"),
        [format!(
            "MEMBER {member_id} {client}-{group} /127.0.0.1 ledger:0,ledger:1,ledger:2"
        )]
    );
    let listed = admin(client, &bs, &["list"]).await;
    assert!(
        listed[0].starts_with(&format!("GROUP {group} {stable} ")),
        "{listed:?}"
    );

    assert_eq!(
        admin(client, &bs, &["delete", group]).await,
        [format!("DELETED {group} {}", error_name(client, 68))]
    );

    let lines = active.stop().await;
    assert_eq!(committed(&lines), BTreeMap::from([(0, 6), (2, 2)]));
    assert_eq!(
        admin(client, &bs, &["offsets", group]).await,
        strings(&[
            "OFFSET ledger 0 6 6 0",
            "OFFSET ledger 1 4 4 0",
            "OFFSET ledger 2 2 2 0"
        ])
    );
    let described = admin(client, &bs, &["describe", group]).await;
    assert_eq!(only(&described, "STATE"), [format!("STATE {empty}")]);

    assert_eq!(
        admin(client, &bs, &["delete", group]).await,
        [format!("DELETED {group} OK")]
    );
    assert_eq!(admin(client, &bs, &["list"]).await, Vec::<String>::new());
    assert_eq!(
        admin(client, &bs, &["delete", group]).await,
        [format!("DELETED {group} {}", error_name(client, 69))]
    );
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_python_admin_reports_groups() {
    admin_reports_groups(KAFKA_PYTHON).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confluent_admin_reports_groups() {
    admin_reports_groups(CONFLUENT).await;
}

/// Apache Kafka reports, for a group, only the operations that apply to groups
/// (`AclEntry.supportedOperations(GROUP)`: READ, DESCRIBE, DELETE, and since KIP-848's group
/// configs DESCRIBE_CONFIGS and ALTER_CONFIGS). Fjord's DescribeGroups answers every
/// operation bit 2..=14 (`authorized_operations={2, ..., 14}` in kafka-python's debug log),
/// including WRITE, CREATE, CLUSTER_ACTION and IDEMPOTENT_WRITE, which a group cannot have.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_clients_see_only_group_operations() {
    let broker = broker().await;
    let bs = broker.bootstrap_servers();
    create_topic(&bs, "ops", 1, &[]).await;
    let bs2 = bs.clone();
    tokio::task::spawn_blocking(move || commit_offsets(&bs2, "operators", "ops", &[(0, 0)]))
        .await
        .unwrap();
    let allowed: BTreeSet<String> = [
        "READ",
        "DESCRIBE",
        "DELETE",
        "DESCRIBE_CONFIGS",
        "ALTER_CONFIGS",
    ]
    .iter()
    .map(|o| (*o).to_owned())
    .collect();
    for client in [KAFKA_PYTHON, CONFLUENT] {
        let ops = operations(&admin(client, &bs, &["describe", "operators"]).await);
        assert!(ops.is_subset(&allowed), "{client}: {ops:?}");
    }
    broker.shutdown().await;
}
