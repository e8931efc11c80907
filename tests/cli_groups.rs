//! `fjord groups` end to end, through the `fjord` binary against a `fjord broker` process:
//! a group consumer (`fjord consume --group`) commits what it read, then `groups list`,
//! `groups describe` (exact committed offsets, log ends and lag), `groups reset-offsets`
//! (dry run, `--to-earliest --execute` and a consumer re-reading from 0, `--shift-by`,
//! `--to-datetime`), refusal while the group has a member, and `groups delete`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
mod common;

use std::io::Write;
use std::process::{Child, Command, Output, Stdio};

use common::eventually_blocking as eventually;
use common::process::BrokerProcess;
use std::time::Duration;

fn fjord_command(bootstrap: &str, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_fjord"));
    command
        .args(args)
        .env("FJORD_BOOTSTRAP_SERVER", bootstrap)
        .env("FJORD_LOG", "warn")
        .env("NO_COLOR", "1");
    command
}

/// Runs `fjord args` with `stdin` and returns its output, whatever its exit status.
fn run(bootstrap: &str, args: &[&str], stdin: &str) -> Output {
    let mut child = fjord_command(bootstrap, args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn fjord");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Runs `fjord args`, asserts it succeeded, returns its stdout.
fn ok(bootstrap: &str, args: &[&str]) -> String {
    ok_with_input(bootstrap, args, "")
}

fn ok_with_input(bootstrap: &str, args: &[&str], stdin: &str) -> String {
    let out = run(bootstrap, args, stdin);
    assert!(
        out.status.success(),
        "fjord {args:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs `fjord args`, asserts it exited with status 1 and printed nothing on stdout,
/// returns its stderr.
fn fails(bootstrap: &str, args: &[&str]) -> String {
    let out = run(bootstrap, args, "");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "fjord {args:?}: {stderr}");
    assert!(
        out.stdout.is_empty(),
        "fjord {args:?} printed data on failure"
    );
    stderr
}

/// The rows of a table printed by `fjord groups`, without the header, split into fields.
fn rows(table: &str) -> Vec<Vec<String>> {
    let mut lines = table.lines();
    assert!(
        lines.next().is_some_and(|h| h.starts_with("GROUP ")),
        "no header in {table:?}"
    );
    lines
        .map(|l| l.split_whitespace().map(str::to_owned).collect())
        .collect()
}

fn row(fields: &[&str]) -> Vec<String> {
    fields.iter().map(|f| (*f).to_owned()).collect()
}

/// `groups describe GROUP` rows as (topic, partition, current, log end, lag, consumer id).
fn describe(bootstrap: &str, group: &str) -> Vec<[String; 6]> {
    rows(&ok(bootstrap, &["groups", "describe", group]))
        .into_iter()
        .map(|r| {
            assert_eq!(r.len(), 9, "{r:?}");
            assert_eq!(r[0], group);
            [
                r[1].clone(),
                r[2].clone(),
                r[3].clone(),
                r[4].clone(),
                r[5].clone(),
                r[6].clone(),
            ]
        })
        .collect()
}

/// Describe rows without the consumer id, for a group with no members.
fn offsets(bootstrap: &str, group: &str) -> Vec<[String; 5]> {
    describe(bootstrap, group)
        .into_iter()
        .map(|[t, p, c, e, l, member]| {
            assert_eq!(member, "-", "the group should have no members");
            [t, p, c, e, l]
        })
        .collect()
}

fn offsets_row(topic: &str, partition: i32, current: &str, end: i64, lag: &str) -> [String; 5] {
    [
        topic.to_owned(),
        partition.to_string(),
        current.to_owned(),
        end.to_string(),
        lag.to_owned(),
    ]
}

fn produce(bootstrap: &str, topic: &str, partition: i32, values: &[&str]) {
    let input: String = values.iter().map(|v| format!("{v}\n")).collect();
    ok_with_input(
        bootstrap,
        &[
            "produce",
            "--topic",
            topic,
            "--partition",
            &partition.to_string(),
        ],
        &input,
    );
}

/// Consumes `count` records as a member of `group` (committing on exit) and returns the
/// (partition, offset) of each.
fn consume_in_group(bootstrap: &str, topic: &str, group: &str, count: usize) -> Vec<(i32, i64)> {
    let out = ok(
        bootstrap,
        &[
            "consume",
            "--topic",
            topic,
            "--group",
            group,
            "--from-beginning",
            "--print-offset",
            "--max-messages",
            &count.to_string(),
            "--timeout-ms",
            "20000",
        ],
    );
    out.lines()
        .map(|l| {
            let mut fields = l.split('\t');
            let partition = fields.next().unwrap().strip_prefix("Partition:").unwrap();
            let offset = fields.next().unwrap().strip_prefix("Offset:").unwrap();
            (partition.parse().unwrap(), offset.parse().unwrap())
        })
        .collect()
}

#[test]
fn list_describe_and_reset_offsets() {
    let broker = BrokerProcess::start(&["-o", "group.initial.rebalance.delay.ms=0"]);
    let bs = broker.bootstrap.as_str();
    ok(bs, &["topics", "create", "orders", "--partitions", "3"]);
    produce(bs, "orders", 0, &["a0", "a1", "a2", "a3", "a4"]);
    produce(bs, "orders", 1, &["b0", "b1", "b2"]);

    // A group member reads all 8 records and commits 5 on partition 0 and 3 on partition 1;
    // it read nothing from partition 2, so commits nothing there.
    let read: BTreeSet<(i32, i64)> = consume_in_group(bs, "orders", "billing", 8)
        .into_iter()
        .collect();
    let all_8: BTreeSet<(i32, i64)> = (0..5)
        .map(|o| (0, o))
        .chain((0..3).map(|o| (1, o)))
        .collect();
    assert_eq!(read, all_8);
    produce(bs, "orders", 0, &["a5", "a6"]);
    produce(bs, "orders", 2, &["c0", "c1", "c2", "c3"]);

    let listed = rows(&ok(bs, &["groups", "list"]));
    assert_eq!(listed, vec![row(&["billing", "Empty", "consumer"])]);

    let described = run(bs, &["groups", "describe", "billing"], "");
    assert!(described.status.success());
    assert!(
        String::from_utf8_lossy(&described.stderr).contains("has no active members"),
        "{described:?}"
    );
    assert_eq!(
        offsets(bs, "billing"),
        vec![
            offsets_row("orders", 0, "5", 7, "2"),
            offsets_row("orders", 1, "3", 3, "0"),
        ]
    );
    let state = rows(&ok(bs, &["groups", "describe", "billing", "--state"]));
    assert_eq!(state[0][..2], row(&["billing", "Empty"])[..]);
    assert_eq!(state[0][4], "0");

    // Dry run: the plan covers every partition of the topic and nothing is committed.
    let out = run(
        bs,
        &[
            "groups",
            "reset-offsets",
            "billing",
            "--topic",
            "orders",
            "--to-earliest",
        ],
        "",
    );
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--execute"));
    assert_eq!(
        rows(&String::from_utf8(out.stdout).unwrap()),
        vec![
            row(&["billing", "orders", "0", "5", "0"]),
            row(&["billing", "orders", "1", "3", "0"]),
            row(&["billing", "orders", "2", "-", "0"]),
        ]
    );
    assert_eq!(
        offsets(bs, "billing"),
        vec![
            offsets_row("orders", 0, "5", 7, "2"),
            offsets_row("orders", 1, "3", 3, "0"),
        ]
    );

    // Executed on partitions 0 and 1: a member of the group then re-reads them from 0.
    let plan = rows(&ok(
        bs,
        &[
            "groups",
            "reset-offsets",
            "billing",
            "--topic",
            "orders:0,1",
            "--to-earliest",
            "--execute",
        ],
    ));
    assert_eq!(plan.len(), 2, "{plan:?}");
    assert_eq!(
        offsets(bs, "billing"),
        vec![
            offsets_row("orders", 0, "0", 7, "7"),
            offsets_row("orders", 1, "0", 3, "3"),
        ]
    );
    let reread: BTreeSet<(i32, i64)> = consume_in_group(bs, "orders", "billing", 10)
        .into_iter()
        .collect();
    let all_10: BTreeSet<(i32, i64)> = (0..7)
        .map(|o| (0, o))
        .chain((0..3).map(|o| (1, o)))
        .collect();
    assert_eq!(reread, all_10, "re-read after the reset");
    assert_eq!(
        offsets(bs, "billing"),
        vec![
            offsets_row("orders", 0, "7", 7, "0"),
            offsets_row("orders", 1, "3", 3, "0"),
        ]
    );

    // --shift-by moves back from the committed offset, clamped to the log start.
    ok(
        bs,
        &[
            "groups",
            "reset-offsets",
            "billing",
            "--topic",
            "orders:0",
            "--shift-by",
            "-3",
            "--execute",
        ],
    );
    ok(
        bs,
        &[
            "groups",
            "reset-offsets",
            "billing",
            "--topic",
            "orders:1",
            "--shift-by=-10",
            "--execute",
        ],
    );
    assert_eq!(
        offsets(bs, "billing"),
        vec![
            offsets_row("orders", 0, "4", 7, "3"),
            offsets_row("orders", 1, "0", 3, "3"),
        ]
    );
    // Partition 2 has no committed offset to shift from: refused, nothing committed.
    let err = fails(
        bs,
        &[
            "groups",
            "reset-offsets",
            "billing",
            "--topic",
            "orders",
            "--shift-by",
            "1",
            "--execute",
        ],
    );
    assert!(err.contains("no committed offset"), "{err}");
    assert_eq!(offsets(bs, "billing").len(), 2);

    // --to-datetime: every record is newer than 2000 and older than 2100.
    let plan = |when: &str| {
        rows(&ok(
            bs,
            &[
                "groups",
                "reset-offsets",
                "billing",
                "--all-topics",
                "--to-datetime",
                when,
            ],
        ))
    };
    assert_eq!(
        plan("2000-01-01T00:00:00Z"),
        vec![
            row(&["billing", "orders", "0", "4", "0"]),
            row(&["billing", "orders", "1", "0", "0"]),
        ]
    );
    assert_eq!(
        plan("2100-01-01T00:00:00+01:00"),
        vec![
            row(&["billing", "orders", "0", "4", "7"]),
            row(&["billing", "orders", "1", "0", "3"]),
        ]
    );

    // A reset of a group that does not exist yet creates its offsets.
    ok(
        bs,
        &[
            "groups",
            "reset-offsets",
            "audit",
            "--topic",
            "orders:2",
            "--to-offset",
            "1",
            "--execute",
        ],
    );
    assert_eq!(
        offsets(bs, "audit"),
        vec![offsets_row("orders", 2, "1", 4, "3")]
    );

    let err = fails(bs, &["groups", "describe", "nobody"]);
    assert!(err.contains("'nobody' does not exist"), "{err}");
    let err = fails(
        bs,
        &[
            "groups",
            "reset-offsets",
            "billing",
            "--topic",
            "missing",
            "--to-earliest",
        ],
    );
    assert!(err.contains("topic 'missing' does not exist"), "{err}");
}

/// A running `fjord consume --group` process, stopped with SIGTERM so it commits and
/// leaves the group.
struct GroupMember {
    child: Child,
}

impl GroupMember {
    fn start(bootstrap: &str, topic: &str, group: &str) -> GroupMember {
        let child = fjord_command(
            bootstrap,
            &[
                "consume",
                "--topic",
                topic,
                "--group",
                group,
                "--timeout-ms",
                "120000",
            ],
        )
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn fjord consume");
        GroupMember { child }
    }

    fn stop(mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let mut exited = None;
        eventually(
            "the consumer to stop on SIGTERM",
            Duration::from_secs(30),
            || {
                exited = self.child.try_wait().unwrap();
                exited.is_some()
            },
        );
        let status = exited.expect("polled until it exited");
        assert!(status.success(), "consumer exited with {status}");
    }
}

impl Drop for GroupMember {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn active_groups_are_protected_and_empty_ones_deleted() {
    let broker = BrokerProcess::start(&["-o", "group.initial.rebalance.delay.ms=0"]);
    let bs = broker.bootstrap.as_str();
    ok(bs, &["topics", "create", "events", "--partitions", "2"]);
    produce(bs, "events", 0, &["x", "y"]);
    produce(bs, "events", 1, &["z"]);
    consume_in_group(bs, "events", "loaders", 3);

    let member = GroupMember::start(bs, "events", "loaders");
    eventually(
        "the consumer to join the group",
        Duration::from_secs(30),
        || {
            let state = rows(&ok(bs, &["groups", "describe", "loaders", "--state"]));
            state[0][1] == "Stable" && state[0][4] == "1"
        },
    );
    assert_eq!(
        rows(&ok(bs, &["groups", "list"])),
        vec![row(&["loaders", "Stable", "consumer"])]
    );
    // Both partitions are assigned to the one member, whose id shows on each row.
    let described = describe(bs, "loaders");
    assert_eq!(described.len(), 2, "{described:?}");
    let expected = [
        offsets_row("events", 0, "2", 2, "0"),
        offsets_row("events", 1, "1", 1, "0"),
    ];
    for (r, want) in described.iter().zip(&expected) {
        assert_eq!(r[..5], want[..]);
        assert!(r[5].starts_with("fjord-consumer-"), "{r:?}");
    }
    let members = rows(&ok(bs, &["groups", "describe", "loaders", "--members"]));
    assert_eq!(members.len(), 1);
    assert_eq!(members[0][3], "fjord-consumer");
    assert_eq!(members[0][4..], row(&["2", "events:0,1"])[..]);

    // Neither a reset (dry run or not) nor a delete touches a group with a member.
    for extra in [&[][..], &["--execute"]] {
        let mut args = vec![
            "groups",
            "reset-offsets",
            "loaders",
            "--all-topics",
            "--to-earliest",
        ];
        args.extend(extra);
        let err = fails(bs, &args);
        assert!(err.contains("active members"), "{err}");
    }
    let err = fails(bs, &["groups", "delete", "loaders"]);
    assert!(err.contains("active members"), "{err}");
    assert_eq!(describe(bs, "loaders")[0][2], "2", "offsets unchanged");

    member.stop();
    eventually("the member to leave", Duration::from_secs(30), || {
        rows(&ok(bs, &["groups", "list"])) == vec![row(&["loaders", "Empty", "consumer"])]
    });
    let out = run(bs, &["groups", "delete", "loaders"], "");
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("Deleted group 'loaders'"));
    assert_eq!(
        rows(&ok(bs, &["groups", "list"])),
        Vec::<Vec<String>>::new()
    );
    let err = fails(bs, &["groups", "describe", "loaders"]);
    assert!(err.contains("does not exist"), "{err}");
    let err = fails(bs, &["groups", "delete", "loaders"]);
    assert!(err.contains("does not exist"), "{err}");

    // The committed offsets went with the group: a new member starts from auto.offset.reset.
    produce(bs, "events", 1, &["after-delete"]);
    let read = consume_in_group(bs, "events", "loaders", 4);
    assert_eq!(read.len(), 4, "all records again, from the beginning");
}
