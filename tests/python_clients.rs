//! Unmodified Python Kafka clients against Fjord: the seed programs in `tests/python/`
//! (kafka-python and confluent-kafka, pinned in `scripts/python-env.sh`) produce the lines of a
//! file to topic `test` on an embedded broker and consume them back, within one client and
//! across clients (kafka-python ⇄ confluent-kafka, rdkafka → kafka-python).
//!
//! Each test starts its own broker, so every test can use the topic name `test` that the
//! programs hard-code, as a user's programs would. The venv is made once per test process; if
//! it cannot be made the tests fail with the script's output, they never skip.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::python::{python, repo_root};
use common::*;
use rdkafka::producer::FutureRecord;
use rdkafka::{Message, Offset};

/// Longest a Python program may run; they stop on their own well before this.
const PROGRAM_TIMEOUT: Duration = Duration::from_secs(90);

/// How long a consumer program waits for a next message before it gives up.
const CONSUMER_IDLE_TIMEOUT_MS: &str = "20000";

/// Runs `tests/python/<program>` with `args` against `bootstrap` and returns its stdout;
/// panics with its stderr when it fails or outlives [`PROGRAM_TIMEOUT`].
async fn run_program(program: &str, args: &[&str], bootstrap: &str) -> String {
    let python = python().await;
    let child = tokio::process::Command::new(&python)
        .arg(repo_root().join("tests/python").join(program))
        .args(args)
        .env("BOOTSTRAP", bootstrap)
        .env("PYTHONIOENCODING", "utf-8")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {} {program}: {e}", python.display()));
    let out = tokio::time::timeout(PROGRAM_TIMEOUT, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("{program} {args:?} did not finish within {PROGRAM_TIMEOUT:?}"))
        .unwrap_or_else(|e| panic!("waiting for {program}: {e}"));
    let stdout = String::from_utf8(out.stdout).expect("program output is UTF-8");
    assert!(
        out.status.success(),
        "{program} {args:?} failed ({}).\nstdout:\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr),
    );
    stdout
}

/// The lines the producers send: unicode, blank and whitespace-only lines, and enough plain
/// ones to span several batches.
fn seed_lines() -> Vec<String> {
    let mut lines: Vec<String> = [
        "hello, fjord",
        "héllo wörld — ünïcödé ß",
        "日本語のテキスト",
        "emoji 🦀🐍🌊 and a zero-width joiner 👩‍💻",
        "",
        "   ",
        "\t tab and spaces \t",
        "trailing space ",
        "\"quotes\", 'apostrophes', back\\slash",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    lines.extend((0..300).map(|i| format!("line {i:03} {}", "x".repeat(i % 41))));
    lines.push("the last line".into());
    lines
}

/// Writes `lines` to a temporary file, one per line, as a user's input file.
fn lines_file(lines: &[String]) -> tempfile::NamedTempFile {
    use std::io::Write;
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    for line in lines {
        writeln!(file, "{line}").expect("write temp file");
    }
    file.flush().expect("flush temp file");
    file
}

/// Produces `lines` with a Python producer program (`seed_producer.py` or
/// `confluent_producer.py`).
async fn produce_with(program: &str, bootstrap: &str, lines: &[String]) {
    let file = lines_file(lines);
    let path = file
        .path()
        .to_str()
        .expect("temp path is UTF-8")
        .to_string();
    run_program(program, &[&path], bootstrap).await;
}

/// Consumes `count` values with a Python consumer program (`seed_consumer.py` or
/// `confluent_consumer.py`) and returns the lines it printed.
async fn consume_with_program(program: &str, bootstrap: &str, count: usize) -> Vec<String> {
    let count = count.to_string();
    let out = run_program(
        program,
        &[
            "--max-messages",
            &count,
            "--timeout-ms",
            CONSUMER_IDLE_TIMEOUT_MS,
        ],
        bootstrap,
    )
    .await;
    out.lines().map(str::to_string).collect()
}

/// Reads topic `test` back with rdkafka and checks it holds exactly `lines`, at offsets 0.. :
/// no duplicates from producer retries, no gaps.
async fn assert_log_holds(bootstrap: &str, lines: &[String]) {
    let bs = bootstrap.to_string();
    let n = lines.len();
    // librdkafka wants a group.id even for assign(); the group itself is never used.
    let extra = [("group.id", "python-clients-check")];
    let msgs = tokio::task::spawn_blocking(move || {
        consume_with(&bs, "test", &[0], Offset::Beginning, n, &extra)
    })
    .await
    .expect("consume task");
    for (i, (m, line)) in msgs.iter().zip(lines).enumerate() {
        assert_eq!(m.offset(), i as i64, "offset of message {i}");
        assert_eq!(m.payload(), Some(line.as_bytes()), "value at offset {i}");
    }
}

fn assert_same_lines(got: &[String], want: &[String]) {
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(g, w, "line {i} differs");
    }
    assert_eq!(got.len(), want.len(), "number of lines consumed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_python_seed_producer_and_consumer() {
    let broker = broker().await;
    let bs = broker.bootstrap_servers();
    let lines = seed_lines();

    produce_with("seed_producer.py", &bs, &lines).await;
    let got = consume_with_program("seed_consumer.py", &bs, lines.len()).await;

    assert_same_lines(&got, &lines);
    assert_log_holds(&bs, &lines).await;
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confluent_kafka_producer_and_consumer() {
    let broker = broker().await;
    let bs = broker.bootstrap_servers();
    let lines = seed_lines();

    produce_with("confluent_producer.py", &bs, &lines).await;
    let got = consume_with_program("confluent_consumer.py", &bs, lines.len()).await;

    assert_same_lines(&got, &lines);
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_python_produces_confluent_kafka_consumes() {
    let broker = broker().await;
    let bs = broker.bootstrap_servers();
    let lines = seed_lines();

    produce_with("seed_producer.py", &bs, &lines).await;
    let got = consume_with_program("confluent_consumer.py", &bs, lines.len()).await;

    assert_same_lines(&got, &lines);
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confluent_kafka_produces_kafka_python_consumes() {
    let broker = broker().await;
    let bs = broker.bootstrap_servers();
    let lines = seed_lines();

    produce_with("confluent_producer.py", &bs, &lines).await;
    let got = consume_with_program("seed_consumer.py", &bs, lines.len()).await;

    assert_same_lines(&got, &lines);
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rdkafka_produces_kafka_python_consumes() {
    let broker = broker().await;
    let bs = broker.bootstrap_servers();
    let lines = seed_lines();

    create_topic(&bs, "test", 1, &[]).await;
    let producer = producer(&bs, &[]);
    let mut deliveries = Vec::new();
    for line in &lines {
        let record = FutureRecord::<(), _>::to("test").payload(line.as_str());
        deliveries.push(producer.send_result(record).expect("enqueue"));
    }
    for (i, d) in deliveries.into_iter().enumerate() {
        let delivered = d.await.expect("delivery future").expect("delivered");
        assert_eq!(delivered.offset, i as i64, "offsets follow send order");
    }
    let got = consume_with_program("seed_consumer.py", &bs, lines.len()).await;

    assert_same_lines(&got, &lines);
    broker.shutdown().await;
}

/// DescribeLogDirs through kafka-python's admin client (what `kafka-log-dirs.sh` and the admin
/// UIs ask for topic sizes): the broker's one log dir with its file system's space, and each
/// partition's size in bytes, which matches what was written.
#[tokio::test]
async fn kafka_python_describes_log_dirs() {
    let broker = broker().await;
    let bs = broker.bootstrap_servers();
    create_topic(&bs, "sized", 2, &[]).await;
    let producer = producer(&bs, &[]);
    for i in 0..50 {
        let value = format!("value-{i:04}");
        let record = FutureRecord::<(), _>::to("sized")
            .partition(0)
            .payload(&value);
        producer
            .send(record, Duration::from_secs(10))
            .await
            .expect("delivered");
    }
    let stored: u64 = std::fs::read_dir(broker.data_dir().join("topics/sized/0"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum();
    assert!(stored > 500, "50 records were written ({stored} bytes)");

    let all = run_program("log_dirs.py", &[], &bs).await;
    let lines: Vec<&str> = all.lines().collect();
    let dir: Vec<&str> = lines
        .iter()
        .find(|l| l.starts_with("DIR "))
        .unwrap()
        .split(' ')
        .collect();
    assert!(dir[1].ends_with("topics"), "{dir:?}");
    let (total, usable): (i64, i64) = (dir[2].parse().unwrap(), dir[3].parse().unwrap());
    assert!(total > 0 && usable > 0 && usable <= total, "{dir:?}");
    assert_eq!(dir[4], "0");
    assert!(
        lines.contains(&format!("PARTITION sized 0 {stored} 0 False").as_str()),
        "{all}"
    );
    assert!(lines.contains(&"PARTITION sized 1 0 0 False"), "{all}");

    // Asking for partitions: only those that exist are reported.
    let some = run_program("log_dirs.py", &["sized:1,7", "nosuchtopic:0"], &bs).await;
    let partitions: Vec<&str> = some
        .lines()
        .filter(|l| l.starts_with("PARTITION"))
        .collect();
    assert_eq!(partitions, vec!["PARTITION sized 1 0 0 False"]);
    broker.shutdown().await;
}
