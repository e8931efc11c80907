//! Older real clients against Fjord, end to end: kafka-python 2.0.2 and confluent-kafka 2.3
//! (from PyPI, in `.venv-old/` made by `scripts/python-env.sh old`) and Debian's `kcat`
//! (librdkafka 2.0.2, installed by `scripts/client-tools.sh` when missing). Each one
//! produces, consumes in a group (commits, and a second run resumes after the commit), looks
//! up offsets by time (ListOffsets by timestamp) and does what admin it offers.
//!
//! These clients speak older protocol versions than today's (ListOffsets v1 and v2 among
//! them), which is why librdkafka 2.0 and kafka-python 2.0 could not consume before.
//! A client that cannot be had here fails its test with the script's output; nothing skips.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::Duration;

use common::python::repo_root;
use common::*;
use tokio::io::AsyncWriteExt;

/// Longest one client program may run; each stops on its own well before this.
const PROGRAM_TIMEOUT: Duration = Duration::from_secs(90);

/// Timestamp of the first record the Python clients produce; record i has BASE_TS + 10 i.
const BASE_TS: i64 = 1_700_000_000_000;

/// Runs a setup script once per test process; `Err` carries its output.
fn run_setup_script(script: &str, args: &[&str]) -> Result<(), String> {
    let path = repo_root().join("scripts").join(script);
    let out = std::process::Command::new("bash")
        .arg(&path)
        .args(args)
        .current_dir(repo_root())
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", path.display()))?;
    if out.status.success() {
        return Ok(());
    }
    Err(format!(
        "{} {args:?} failed ({}). Its output:\n{}{}",
        path.display(),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    ))
}

/// The python of `.venv-old/` (kafka-python 2.0.2, confluent-kafka 2.3.0), made on first use.
async fn old_python() -> PathBuf {
    static ENV: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let result = tokio::task::spawn_blocking(|| {
        ENV.get_or_init(|| {
            run_setup_script("python-env.sh", &["old"])?;
            let python = repo_root().join(".venv-old/bin/python");
            if python.exists() {
                Ok(python)
            } else {
                Err(format!(
                    "python-env.sh old succeeded but {} is missing",
                    python.display()
                ))
            }
        })
        .clone()
    })
    .await
    .expect("venv task");
    result.unwrap_or_else(|e| {
        panic!("the old Python clients (kafka-python 2.0.2, confluent-kafka 2.3.0) are not available here: {e}")
    })
}

/// `kcat` from the machine's packages, installed by `scripts/client-tools.sh` if missing.
async fn kcat() -> PathBuf {
    static TOOL: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let result = tokio::task::spawn_blocking(|| {
        TOOL.get_or_init(|| {
            run_setup_script("client-tools.sh", &[])?;
            find_on_path("kcat")
                .ok_or_else(|| "client-tools.sh succeeded but kcat is not on PATH".into())
        })
        .clone()
    })
    .await
    .expect("kcat task");
    result.unwrap_or_else(|e| panic!("Debian's kcat is not available here: {e}"))
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| Path::new(dir).join(name))
        .find(|p| p.is_file())
}

/// Runs `program args` with `stdin` fed in, and returns its stdout; panics with its output
/// when it fails or outlives [`PROGRAM_TIMEOUT`].
async fn run(program: &Path, args: &[&str], bootstrap: &str, stdin: Option<&str>) -> String {
    let mut child = tokio::process::Command::new(program)
        .args(args)
        // `cargo test` points LD_LIBRARY_PATH at build outputs, among them the librdkafka
        // that rdkafka-sys bundles; kcat would load it instead of the system's older one.
        .env_remove("LD_LIBRARY_PATH")
        .env("BOOTSTRAP", bootstrap)
        .env("PYTHONIOENCODING", "utf-8")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("stdin is piped");
        pipe.write_all(input.as_bytes()).await.expect("write stdin");
        // Dropping the pipe closes it: kcat -P stops at end of input.
    }
    let out = tokio::time::timeout(PROGRAM_TIMEOUT, child.wait_with_output())
        .await
        .unwrap_or_else(|_| {
            panic!(
                "{} {args:?} did not finish within {PROGRAM_TIMEOUT:?}",
                program.display()
            )
        })
        .expect("wait for the program");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{} {args:?} failed ({}).\nstdout:\n{stdout}\nstderr:\n{}",
        program.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr),
    );
    stdout
}

fn lines(out: &str) -> Vec<&str> {
    out.lines().filter(|l| !l.trim().is_empty()).collect()
}

/// The same story for both Python clients: admin, produce, consume in a group twice, offsets
/// by time, list groups.
async fn python_client_story(script: &str, prefix: &str, want_version: &str) {
    let python = old_python().await;
    let script = repo_root().join("tests/python").join(script);
    let script = script.to_str().expect("UTF-8 path");
    let broker = broker().await;
    let bs = broker.bootstrap_servers();
    let topic = unique(prefix);
    let group = unique(&format!("{prefix}-group"));
    let py = |args: Vec<String>| {
        let python = python.clone();
        let bs = bs.clone();
        async move {
            let mut all = vec![script.to_string()];
            all.extend(args);
            let all: Vec<&str> = all.iter().map(String::as_str).collect();
            run(&python, &all, &bs, None).await
        }
    };
    let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();

    let out = py(args(&["version"])).await;
    assert_eq!(lines(&out), [want_version], "the old client's version");

    let out = py(args(&["admin", &topic, "1"])).await;
    assert_eq!(
        lines(&out),
        [format!("CREATED {topic}"), format!("TOPIC {topic} 1")]
    );

    let out = py(args(&["produce", &topic, "10", &BASE_TS.to_string()])).await;
    assert_eq!(lines(&out), ["PRODUCED 10"]);

    let first = py(args(&["consume", &topic, &group, "4"])).await;
    let mut want: Vec<String> = (0..4).map(|i| format!("RECORD 0 {i} v{i}")).collect();
    want.push("COMMITTED 0:4".into());
    assert_eq!(lines(&first), want, "first run of the group");

    // The second run of the same group starts where the first one committed.
    let second = py(args(&["consume", &topic, &group, "6"])).await;
    let mut want: Vec<String> = (4..10).map(|i| format!("RECORD 0 {i} v{i}")).collect();
    want.push("COMMITTED 0:10".into());
    assert_eq!(lines(&second), want, "second run resumes after the commit");

    // Records are 10 ms apart: the first at or after BASE_TS + 45 is offset 5.
    let out = py(args(&[
        "offsets_for_times",
        &topic,
        &(BASE_TS + 45).to_string(),
    ]))
    .await;
    let found = lines(&out);
    assert!(
        found.len() == 1 && found[0].starts_with("OFFSET 5"),
        "offsets for time {}: {found:?}",
        BASE_TS + 45
    );

    let out = py(args(&["groups"])).await;
    assert!(
        lines(&out).contains(&format!("GROUP {group}").as_str()),
        "the group is listed: {out}"
    );
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_python_2_0_2_produces_consumes_in_a_group_and_finds_offsets_by_time() {
    python_client_story(
        "old_kafka_python.py",
        "old-kafka-python",
        "VERSION kafka-python 2.0.2",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confluent_kafka_2_3_produces_consumes_in_a_group_and_finds_offsets_by_time() {
    python_client_story(
        "old_confluent.py",
        "old-confluent",
        "VERSION confluent-kafka 2.3.0 librdkafka 2.3.0",
    )
    .await;
}

fn now_ms() -> i64 {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970");
    i64::try_from(since_epoch.as_millis()).expect("milliseconds fit in i64")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debian_kcat_produces_consumes_in_a_group_and_finds_offsets_by_time() {
    let kcat = kcat().await;
    let version = run(&kcat, &["-V"], "", None).await;
    let version = version
        .lines()
        .find(|l| l.contains("librdkafka"))
        .unwrap_or(&version)
        .to_string();
    eprintln!("{version}");
    // The point is an older librdkafka than the one rdkafka bundles (2.0.2 on Debian 12).
    let (_, bundled) = rdkafka::util::get_rdkafka_version();
    assert!(
        !version.contains(&format!("librdkafka {bundled} ")),
        "kcat runs on rdkafka's bundled librdkafka {bundled}, not the system's: {version}"
    );
    let broker = broker().await;
    let bs = broker.bootstrap_servers();
    let topic = unique("old-kcat");
    let group = unique("old-kcat-group");
    // kcat has no admin commands beyond metadata; create the topic the way a user would with
    // another tool, then list it with kcat.
    create_topic(&bs, &topic, 1, &[]).await;
    let out = run(&kcat, &["-b", &bs, "-L", "-t", &topic], &bs, None).await;
    assert!(
        out.contains(&format!("topic \"{topic}\" with 1 partitions")),
        "kcat -L: {out}"
    );

    let produce = |input: String| {
        let (kcat, bs, topic) = (kcat.clone(), bs.clone(), topic.clone());
        async move {
            run(
                &kcat,
                &["-b", &bs, "-P", "-t", &topic, "-p", "0"],
                &bs,
                Some(&input),
            )
            .await
        }
    };
    produce((0..5).map(|i| format!("k{i}\n")).collect()).await;
    // Every record of the first batch was stamped before kcat exited; those of the second
    // batch are stamped once the clock has passed `middle`.
    let middle = now_ms() + 1;
    eventually(
        "the clock to pass the middle timestamp",
        Duration::from_secs(5),
        || now_ms() > middle,
    )
    .await;
    produce((5..10).map(|i| format!("k{i}\n")).collect()).await;

    let consume = |count: usize| {
        let (kcat, bs, topic, group) = (kcat.clone(), bs.clone(), topic.clone(), group.clone());
        async move {
            let count = count.to_string();
            let args = [
                "-b",
                &bs,
                "-G",
                &group,
                "-X",
                "auto.offset.reset=earliest",
                "-c",
                &count,
                "-f",
                "%p %o %s\n",
                &topic,
            ];
            run(&kcat, &args, &bs, None).await
        }
    };
    let first = consume(4).await;
    let want: Vec<String> = (0..4).map(|i| format!("0 {i} k{i}")).collect();
    assert_eq!(lines(&first), want, "first run of the group");
    // kcat commits on close (enable.auto.commit); the second run resumes there.
    let second = consume(6).await;
    let want: Vec<String> = (4..10).map(|i| format!("0 {i} k{i}")).collect();
    assert_eq!(lines(&second), want, "second run resumes after the commit");

    let query = format!("{topic}:0:{middle}");
    let out = run(&kcat, &["-b", &bs, "-Q", "-t", &query], &bs, None).await;
    assert_eq!(
        lines(&out),
        [format!("{topic} [0] offset 5")],
        "kcat -Q {query}"
    );
    let start = format!("s@{middle}");
    let out = run(
        &kcat,
        &[
            "-b", &bs, "-C", "-t", &topic, "-p", "0", "-o", &start, "-c", "1", "-f", "%o %s\n",
        ],
        &bs,
        None,
    )
    .await;
    assert_eq!(lines(&out), ["5 k5"], "kcat -o {start}");
    broker.shutdown().await;
}
