//! The README quickstart, through the `fjord` binary: start `fjord broker`, create topic
//! `test`, produce two lines, consume them from the beginning; plus topic admin commands.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::process::{Command, Output, Stdio};

use common::process::BrokerProcess;

fn fjord(bootstrap: &str, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fjord"))
        .args(args)
        .env("FJORD_BOOTSTRAP_SERVER", bootstrap)
        .env("NO_COLOR", "1")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn fjord");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "fjord {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn readme_quickstart() {
    let broker = BrokerProcess::start(&[]);
    let bs = broker.bootstrap.as_str();
    fjord(bs, &["topics", "create", "test", "--partitions", "1"], None);
    fjord(
        bs,
        &["produce", "--topic", "test"],
        Some("This is a message\nThis is another message\n"),
    );
    let out = fjord(
        bs,
        &[
            "consume",
            "--topic",
            "test",
            "--from-beginning",
            "--max-messages",
            "2",
            "--timeout-ms",
            "20000",
        ],
        None,
    );
    assert_eq!(stdout(&out), "This is a message\nThis is another message\n");
}

#[test]
fn keys_offsets_and_topic_admin() {
    let broker = BrokerProcess::start(&["-o", "num.partitions=2"]);
    let bs = broker.bootstrap.as_str();
    fjord(
        bs,
        &[
            "topics",
            "create",
            "orders",
            "--partitions",
            "3",
            "--config",
            "retention.ms=3600000",
        ],
        None,
    );
    let list = stdout(&fjord(bs, &["topics", "list"], None));
    assert!(list.lines().any(|l| l.trim() == "orders"), "list: {list}");
    let described = stdout(&fjord(bs, &["topics", "describe", "orders"], None));
    assert!(
        described.contains("retention.ms") && described.contains("3600000"),
        "describe: {described}"
    );

    fjord(
        bs,
        &[
            "produce",
            "--topic",
            "orders",
            "--partition",
            "1",
            "--key-separator",
            ":",
        ],
        Some("k1:v1\nk2:v2\n"),
    );
    let out = fjord(
        bs,
        &[
            "consume",
            "--topic",
            "orders",
            "--partition",
            "1",
            "--offset",
            "earliest",
            "--print-key",
            "--print-offset",
            "--max-messages",
            "2",
            "--timeout-ms",
            "20000",
        ],
        None,
    );
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[0].contains("k1") && lines[0].contains("v1") && lines[0].contains("Offset:0"),
        "{text}"
    );
    assert!(
        lines[1].contains("k2") && lines[1].contains("v2") && lines[1].contains("Offset:1"),
        "{text}"
    );

    let rejected = Command::new(env!("CARGO_BIN_EXE_fjord"))
        .args(["topics", "alter", "orders", "--config", "bogus.key=1"])
        .env("FJORD_BOOTSTRAP_SERVER", bs)
        .output()
        .unwrap();
    assert!(
        !rejected.status.success(),
        "an unknown config key must fail"
    );
    assert!(String::from_utf8_lossy(&rejected.stderr).contains("InvalidConfig"));
    fjord(
        bs,
        &["topics", "alter", "orders", "--partitions", "5"],
        None,
    );
    let described = stdout(&fjord(bs, &["topics", "describe", "orders"], None));
    assert!(
        described.starts_with("Topic: orders\tPartitionCount: 5\t"),
        "five partitions after alter: {described}"
    );
    let partitions: Vec<(i32, String)> = described
        .lines()
        .skip(1)
        .map(|l| {
            let field = |name: &str| {
                l.split('\t')
                    .find_map(|f| f.strip_prefix(name))
                    .unwrap_or_else(|| panic!("no {name} in {l:?}"))
                    .to_owned()
            };
            (field("Partition: ").parse().unwrap(), field("Leader: "))
        })
        .collect();
    assert_eq!(
        partitions.iter().map(|p| p.0).collect::<Vec<_>>(),
        (0..5).collect::<Vec<_>>(),
        "partitions 0 to 4, once each: {described}"
    );
    assert!(
        partitions.iter().all(|p| p.1 != "none"),
        "every partition, the new ones too, has a leader: {described}"
    );
    fjord(bs, &["topics", "delete", "orders"], None);
    let list = stdout(&fjord(bs, &["topics", "list"], None));
    assert!(
        !list.lines().any(|l| l.trim() == "orders"),
        "deleted: {list}"
    );
}
