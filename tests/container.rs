//! The `fjord:dev` image through testcontainers (`fjord::testing::container`), as a user's
//! integration test would run it: the sales Streams app and a Connect file pipeline (source
//! and sink inside the container, created through the REST API) against the container's
//! mapped ports; then the container is stopped and a new one started on the same volume,
//! which still has every acknowledged record.
//!
//! This test builds nothing: `scripts/test.sh` builds the image first (`scripts/build-image.sh`).
//! Where no Docker engine runs, or the image is missing, it says so and returns.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fjord::apps::sales_prices as app;
use fjord::streams::{KafkaStreams, State};
use fjord::testing::container::{docker_unavailable, FjordContainer, FjordImage};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::Offset;
use testcontainers::clients::Cli;

/// 2026-12-01T09:00:00Z, as the example's sales start.
const START: i64 = 1_796_115_600_000;
const PARTITIONS: i32 = 3;

/// A named Docker volume, removed when the test ends (also on a panic).
struct Volume(String);

impl Drop for Volume {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["volume", "rm", "-f", &self.0])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn docker_cli(args: &[&str]) -> std::process::Output {
    Command::new("docker")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run docker")
}

/// The text of a file inside the container (`docker cp` works on a FROM-scratch image).
fn read_in_container(id: &str, path: &str) -> Option<String> {
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("copy");
    let out = docker_cli(&["cp", &format!("{id}:{path}"), local.to_str().unwrap()]);
    out.status
        .success()
        .then(|| std::fs::read_to_string(&local).ok())
        .flatten()
}

fn start<'d>(docker: &'d Cli, volume: &str) -> (FjordContainer<'d>, Duration) {
    let image = FjordImage::new()
        .unwrap()
        .with_data_volume(volume)
        .with_env("FJORD_LOG", "warn");
    let started = Instant::now();
    let container = tokio::task::block_in_place(|| FjordContainer::start(docker, image));
    (container, started.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_image_runs_streams_and_connect_and_keeps_acknowledged_records_across_restarts() {
    if let Some(why) = docker_unavailable(FjordImage::DEFAULT_TAG) {
        eprintln!("container test skipped: {why}");
        return;
    }
    let docker = Cli::default();
    let volume = Volume(common::unique("fjord-test-data"));
    let (fjord, ready_in) = start(&docker, &volume.0);
    eprintln!(
        "fjord:dev ready in {ready_in:?} (testcontainers waits >= 1 s before reading logs): \
         kafka {} registry {} connect {}",
        fjord.bootstrap_servers(),
        fjord.registry_url(),
        fjord.connect_url()
    );
    let bootstrap = fjord.bootstrap_servers();
    let http = reqwest::Client::new();

    // The sales Streams app, in this process, against the container's broker.
    app::create_topics(&bootstrap, PARTITIONS).await.unwrap();
    let state = tempfile::tempdir().unwrap();
    let config = app::streams_config(&bootstrap, "container-sales", state.path());
    let streams = tokio::task::spawn_blocking(move || {
        let streams = KafkaStreams::new(app::topology().unwrap(), config).unwrap();
        streams.start().unwrap();
        assert!(
            streams.wait_for_state(State::Running, Duration::from_secs(60)),
            "the app did not reach RUNNING: {:?} {:?}",
            streams.state(),
            streams.error()
        );
        streams
    })
    .await
    .unwrap();
    let producer: FutureProducer = common::client_config(&bootstrap)
        .set("acks", "all")
        .create()
        .unwrap();
    let sales = app::generate(24, START);
    for sale in &sales {
        let value = serde_json::to_vec(sale).unwrap();
        producer
            .send(
                FutureRecord::to(app::SALES)
                    .key(&sale.product)
                    .payload(&value),
                Duration::from_secs(30),
            )
            .await
            .unwrap();
    }
    let expected = app::expected(&sales, PARTITIONS);
    let (bs, want) = (bootstrap.clone(), expected.clone());
    let outputs = tokio::task::spawn_blocking(move || {
        app::read_outputs(&bs, PARTITIONS, Duration::from_secs(90), |o| o.holds(&want))
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(outputs.difference(&expected), None);
    assert!(
        tokio::task::spawn_blocking(move || streams.close(Duration::from_secs(30)))
            .await
            .unwrap()
    );

    // A Connect file pipeline inside the container: source file -> topic -> sink file.
    let id = fjord.container().id().to_owned();
    let input = tempfile::NamedTempFile::new().unwrap();
    let lines: Vec<String> = (0..50).map(|i| format!("line {i}")).collect();
    std::fs::write(input.path(), lines.join("\n") + "\n").unwrap();
    // docker cp keeps the mode: the container's user 10001 must be able to read it.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(input.path(), std::fs::Permissions::from_mode(0o644)).unwrap();
    let copied = docker_cli(&[
        "cp",
        input.path().to_str().unwrap(),
        &format!("{id}:/data/in.txt"),
    ]);
    assert!(copied.status.success(), "{copied:?}");
    let string = "org.apache.kafka.connect.storage.StringConverter";
    for (name, config) in [
        (
            "file-in",
            serde_json::json!({"connector.class": "FileStreamSource", "file": "/data/in.txt",
                "topic": "container-lines", "key.converter": string, "value.converter": string}),
        ),
        (
            "file-out",
            serde_json::json!({"connector.class": "FileStreamSink", "file": "/data/out.txt",
                "topics": "container-lines", "key.converter": string, "value.converter": string}),
        ),
    ] {
        let response = http
            .put(format!("{}/connectors/{name}/config", fjord.connect_url()))
            .json(&config)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{name}: {}",
            response.text().await.unwrap()
        );
    }
    let want_text = lines.join("\n") + "\n";
    fjord::testing::wait_until(
        "the sink file to hold every line",
        Duration::from_secs(60),
        || {
            let got = read_in_container(&id, "/data/out.txt");
            let want = want_text.clone();
            async move { got.as_deref() == Some(want.as_str()) }
        },
    )
    .await
    .unwrap_or_else(|e| {
        let status = docker_cli(&["logs", "--tail", "20", &id]);
        panic!(
            "{e}; the container's log ends:\n{}",
            String::from_utf8_lossy(&status.stderr)
        )
    });

    // A schema, and records acknowledged with acks=all, before the restart.
    let schema = r#"{"type":"record","name":"Kept","fields":[{"name":"n","type":"long"}]}"#;
    let registered: serde_json::Value = http
        .post(format!(
            "{}/subjects/kept-value/versions",
            fjord.registry_url()
        ))
        .json(&serde_json::json!({ "schema": schema }))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut acknowledged = Vec::new();
    for i in 0..200 {
        let value = format!("kept {i}");
        let delivery = producer
            .send(
                FutureRecord::<(), _>::to("kept").payload(&value),
                Duration::from_secs(30),
            )
            .await;
        if delivery.is_ok() {
            acknowledged.push(value);
        }
    }
    assert_eq!(acknowledged.len(), 200);
    drop(producer);

    // Stop (SIGTERM), remove the container, start a new one on the same volume.
    tokio::task::block_in_place(|| {
        fjord.container().stop();
        drop(fjord);
    });
    let (fjord, ready_again) = start(&docker, &volume.0);
    eprintln!("restarted on the same volume, ready in {ready_again:?}");
    let bootstrap = fjord.bootstrap_servers();
    let n = acknowledged.len();
    let kept = tokio::task::spawn_blocking(move || {
        common::consume(&bootstrap, "kept", &[0], Offset::Beginning, n)
    })
    .await
    .unwrap();
    assert_eq!(common::values(&kept), acknowledged);
    let by_id: serde_json::Value = http
        .get(format!(
            "{}/schemas/ids/{}",
            fjord.registry_url(),
            registered["id"]
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        by_id["schema"]
            .as_str()
            .unwrap_or_default()
            .contains("Kept"),
        "{by_id}"
    );
    tokio::task::block_in_place(|| drop(fjord));
}
