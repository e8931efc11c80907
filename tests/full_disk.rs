//! A full disk: producers get KAFKA_STORAGE_ERROR and no false acknowledgement, the broker
//! logs it once per partition (with the path and the free space), DescribeLogDirs reports it,
//! and everything goes back to normal by itself once space returns.
//!
//! Runs on a 40 MiB tmpfs, which needs root (`mount -t tmpfs`); without it the test says so
//! and checks nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::partition;
use common::raw::{produce_req, record_batch, RawClient};
use fjord_broker::EmbeddedConfig;
use kafka_protocol::messages::{DescribeLogDirsRequest, ProduceRequest};

const KAFKA_STORAGE_ERROR: i16 = 56;
const FAILURE_LINE: &str = "partition cannot write to its log";
const RECOVERY_LINE: &str = "partition writes succeed again";

/// A tmpfs mounted for the test, unmounted on drop.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().ok()?;
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status()
            .ok()?;
        status.success().then_some(Tmpfs { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// Everything the broker logs, for counting lines.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        std::io::stderr().write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn count(&self, needle: &str) -> usize {
        let text = String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned();
        text.lines().filter(|l| l.contains(needle)).count()
    }
}

async fn produce_code(client: &mut RawClient, topic: &str, value: &[u8]) -> i16 {
    let req = produce_req(topic, record_batch(&[value], fjord_broker::clock::now_ms()));
    let resp = client.call::<ProduceRequest>(&req, 9).await;
    resp.responses[0].partition_responses[0].error_code
}

async fn log_dir_error(client: &mut RawClient) -> (i16, i64) {
    let resp = client
        .call::<DescribeLogDirsRequest>(&DescribeLogDirsRequest::default().with_topics(None), 4)
        .await;
    (resp.results[0].error_code, resp.results[0].usable_bytes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_is_reported_once_and_clears_by_itself() {
    let Some(fs) = Tmpfs::mount("40m") else {
        eprintln!("skipping: cannot mount a tmpfs here (needs root)");
        return;
    };
    let logs = Captured::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_env_filter("info")
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .try_init()
        .expect("this test binary installs the only subscriber");

    // Most of the file system taken by something else, so the log fills it quickly.
    let filler: PathBuf = fs.path().join("filler");
    std::fs::write(&filler, vec![0u8; 24 << 20]).unwrap();
    let broker = common::broker_with(EmbeddedConfig {
        data_dir: Some(fs.path().join("data")),
        properties: vec![("log.segment.bytes".into(), (4 << 20).to_string())],
        ..EmbeddedConfig::default()
    })
    .await;
    let topic = common::unique("full-disk");
    common::create_topic(&broker.bootstrap_servers(), &topic, 1, &[]).await;
    let mut client = RawClient::connect(&broker.bootstrap_servers()).await;
    let value = vec![b'x'; 256 * 1024];

    let mut acked = 0i64;
    let mut code = 0;
    for _ in 0..200 {
        code = produce_code(&mut client, &topic, &value).await;
        if code != 0 {
            break;
        }
        acked += 1;
    }
    assert_eq!(
        code, KAFKA_STORAGE_ERROR,
        "after {acked} acknowledged records"
    );
    assert!(acked > 0, "some records fit before the disk filled");
    for _ in 0..10 {
        assert_eq!(
            produce_code(&mut client, &topic, &value).await,
            KAFKA_STORAGE_ERROR,
            "no false acknowledgement while the disk is full"
        );
    }
    let part = partition(&broker, &topic, 0);
    assert_eq!(
        part.log_end_offset(),
        acked,
        "only acknowledged records are in the log"
    );
    assert!(part.storage_failed());
    let (dir_error, _) = log_dir_error(&mut client).await;
    assert_eq!(
        dir_error, KAFKA_STORAGE_ERROR,
        "DescribeLogDirs reports the full disk"
    );
    assert_eq!(
        logs.count(FAILURE_LINE),
        1,
        "logged once, not once per request"
    );
    let logged = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    let line = logged.lines().find(|l| l.contains(FAILURE_LINE)).unwrap();
    assert!(line.contains("free_bytes="), "{line}");
    assert!(
        line.contains(&topic) && line.contains(".log"),
        "names the path: {line}"
    );

    // Space returns: the next produce succeeds without a restart.
    std::fs::remove_file(&filler).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let code = produce_code(&mut client, &topic, &value).await;
        if code == 0 {
            break;
        }
        assert_eq!(code, KAFKA_STORAGE_ERROR);
        assert!(
            Instant::now() < deadline,
            "produce did not recover after space returned"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(part.log_end_offset(), acked + 1);
    assert!(!part.storage_failed());
    let (dir_error, usable) = log_dir_error(&mut client).await;
    assert_eq!(dir_error, 0, "DescribeLogDirs clears by itself");
    assert!(usable > 10 << 20, "usable bytes {usable}");
    assert_eq!(logs.count(RECOVERY_LINE), 1);
    assert_eq!(logs.count(FAILURE_LINE), 1);
    broker.shutdown().await;
}
