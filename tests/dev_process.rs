//! One `fjord dev` process serves everything a developer points at it: a kafka-python producer
//! and consumer (unmodified client, consumer group included), the schema registry's REST API,
//! the Connect REST API and a file sink connector given on its command line, and `/health`;
//! then it stops cleanly on SIGTERM.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::python::python;

/// The addresses `fjord dev` printed, and how long it took to print its ready line.
struct Dev {
    child: Child,
    bootstrap: String,
    registry: String,
    connect: String,
    health: String,
    ready_in: Duration,
}

impl Drop for Dev {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The value after `label` on a line like `schema registry:   http://127.0.0.1:PORT`.
fn after(line: &str, label: &str) -> Option<String> {
    let rest = line.strip_prefix(label)?;
    rest.split_whitespace().next().map(str::to_owned)
}

fn start_dev(data_dir: &std::path::Path, connector: &std::path::Path) -> Dev {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_fjord"))
        .arg("dev")
        .arg(connector)
        .args(["--listeners", "127.0.0.1:0"])
        .args(["--registry-listeners", "127.0.0.1:0"])
        .args(["--connect-listeners", "127.0.0.1:0"])
        .args(["--health-listen", "127.0.0.1:0"])
        .arg("--data-dir")
        .arg(data_dir)
        .env("FJORD_LOG", "warn")
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn fjord dev");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let (mut bootstrap, mut registry, mut connect, mut health) = (None, None, None, None);
    let ready_in = loop {
        let line = lines
            .next()
            .expect("fjord dev exited before it was ready")
            .unwrap();
        bootstrap = bootstrap.or_else(|| after(&line, "kafka bootstrap servers:"));
        registry = registry.or_else(|| after(&line, "schema registry:"));
        connect = connect.or_else(|| after(&line, "connect REST API:"));
        health = health.or_else(|| after(&line, "health:"));
        if line.starts_with(fjord::testing::container::READY_LINE) {
            break started.elapsed();
        }
    };
    // Keep draining stderr so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines.by_ref() {});
    Dev {
        child,
        bootstrap: bootstrap.expect("bootstrap line"),
        registry: registry.expect("registry line"),
        connect: connect.expect("connect line"),
        health: health.expect("health line"),
        ready_in,
    }
}

const KAFKA_PYTHON: &str = r#"
import os, sys
from kafka import KafkaConsumer, KafkaProducer
bootstrap, topic, n = os.environ["BOOTSTRAP"], sys.argv[1], int(sys.argv[2])
producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
for i in range(n):
    producer.send(topic, key=b"k%d" % i, value=("line %d" % i).encode()).get(timeout=30)
producer.close()
consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id="dev-python",
                         auto_offset_reset="earliest", consumer_timeout_ms=30000)
got = []
for message in consumer:
    got.append(message.value.decode())
    if len(got) == n:
        break
consumer.commit()
consumer.close()
print("\n".join(got))
"#;

#[tokio::test]
async fn one_dev_process_serves_python_clients_the_registry_and_connect() {
    let dir = tempfile::tempdir().unwrap();
    let sink_file = dir.path().join("sink.txt");
    let connector = dir.path().join("sink.properties");
    std::fs::write(
        &connector,
        format!(
            "name=dev-sink\nconnector.class=FileStreamSink\ntopics=dev-lines\nfile={}\n\
             key.converter=org.apache.kafka.connect.storage.StringConverter\n\
             value.converter=org.apache.kafka.connect.storage.StringConverter\n",
            sink_file.display()
        ),
    )
    .unwrap();
    let python = python().await;
    let dev = start_dev(&dir.path().join("data"), &connector);
    eprintln!("fjord dev ready in {:?}", dev.ready_in);
    let http = reqwest::Client::new();

    // kafka-python: produce with acks=all, consume back in a group.
    let out = tokio::process::Command::new(&python)
        .args(["-c", KAFKA_PYTHON, "dev-lines", "20"])
        .env("BOOTSTRAP", &dev.bootstrap)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(120), out)
        .await
        .expect("kafka-python finished in time")
        .unwrap();
    assert!(
        out.status.success(),
        "kafka-python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want: Vec<String> = (0..20).map(|i| format!("line {i}")).collect();
    let got: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(got, want);

    // The registry: register a schema, read it back by id.
    let schema = r#"{"type":"record","name":"Line","fields":[{"name":"text","type":"string"}]}"#;
    let registered: serde_json::Value = http
        .post(format!(
            "{}/subjects/dev-lines-value/versions",
            dev.registry
        ))
        .header("Content-Type", "application/vnd.schemaregistry.v1+json")
        .json(&serde_json::json!({ "schema": schema }))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = registered["id"].as_i64().expect("an id");
    let by_id: serde_json::Value = http
        .get(format!("{}/schemas/ids/{id}", dev.registry))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        by_id["schema"].as_str().unwrap().contains("Line"),
        "{by_id}"
    );

    // Connect: the connector from the command line runs, and its file gets every line.
    let connectors: Vec<String> = http
        .get(format!("{}/connectors", dev.connect))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(connectors, vec!["dev-sink".to_owned()]);
    fjord::testing::wait_until(
        "the sink file to hold every line",
        Duration::from_secs(30),
        || {
            let sink_file = sink_file.clone();
            let want = want.clone();
            async move {
                std::fs::read_to_string(&sink_file)
                    .map(|text| text.lines().map(str::to_owned).collect::<Vec<_>>() == want)
                    .unwrap_or(false)
            }
        },
    )
    .await
    .unwrap_or_else(|e| {
        let text = std::fs::read_to_string(&sink_file).unwrap_or_default();
        panic!("{e}; the sink file holds {text:?}")
    });
    let status: serde_json::Value = http
        .get(format!("{}/connectors/dev-sink/status", dev.connect))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["connector"]["state"], "RUNNING", "{status}");

    // /health: every part up.
    let health = http.get(&dev.health).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let health: serde_json::Value = health.json().await.unwrap();
    assert_eq!(health["status"], "UP", "{health}");

    // SIGTERM: a clean stop, exit 0.
    let mut dev = dev;
    let killed = Command::new("kill")
        .args(["-TERM", &dev.child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = dev.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "fjord dev did not stop within 30 s of SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "fjord dev exited with {status}");
}
