//! Bad input through the REST API: each gets a clear answer or task status, and the witness
//! connector on the same worker keeps moving data.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::rig::{Rig, SINK_CLASS, SOURCE_CLASS};

/// A port nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn assert_error(reply: &(StatusCode, Value), status: StatusCode, message: &str) {
    assert_eq!(reply.0, status, "{}", reply.1);
    assert_eq!(reply.1["error_code"], json!(status.as_u16()), "{}", reply.1);
    let text = reply.1["message"].as_str().unwrap_or_default();
    assert!(text.contains(message), "{text:?} lacks {message:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_configs_and_bodies_get_kafkas_answers() {
    let rig = Rig::start().await;
    let mut witness = rig.start_witness().await;

    // An unknown connector class: 400 with Kafka's message; nothing created.
    let reply = rig
        .call(
            Method::POST,
            "/connectors",
            Some(json!({"name": "nope", "config": {"connector.class": "com.example.NoSuchConnector"}})),
        )
        .await;
    assert_error(
        &reply,
        StatusCode::BAD_REQUEST,
        "Failed to find any class that implements Connector and which name matches com.example.NoSuchConnector",
    );
    let (_, listed) = rig.call(Method::GET, "/connectors", None).await;
    assert_eq!(listed, json!(["witness"]));
    witness.still_moves(&rig, "an unknown class").await;

    // A missing required key: the 400 names it, and validate lists every error.
    let file = rig.path("no-topic.txt");
    let reply = rig
        .call(
            Method::POST,
            "/connectors",
            Some(json!({"name": "no-topic", "config": {"connector.class": SOURCE_CLASS, "file": file}})),
        )
        .await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "topic");
    let (code, validated) = rig
        .call(
            Method::PUT,
            "/connector-plugins/FileStreamSource/config/validate",
            Some(json!({
                "connector.class": SOURCE_CLASS,
                "name": "no-topic",
                "file": file,
                "tasks.max": "many",
                "errors.tolerance": "sometimes",
            })),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{validated}");
    let errors_of = |key: &str| -> Vec<String> {
        validated["configs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["value"]["name"] == key)
            .unwrap_or_else(|| panic!("{key} not in {validated}"))["value"]["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e.as_str().unwrap().to_owned())
            .collect()
    };
    for key in ["topic", "tasks.max", "errors.tolerance"] {
        assert!(
            !errors_of(key).is_empty(),
            "{key} has no error in {validated}"
        );
    }
    assert!(errors_of("file").is_empty(), "{validated}");
    assert_eq!(validated["error_count"], json!(3), "{validated}");
    witness.still_moves(&rig, "a missing key").await;

    // Malformed JSON: a 400 JSON error, on create and on update.
    let reply = rig
        .raw(
            Method::POST,
            "/connectors",
            "{\"name\": \"broken\", \"config\": {",
        )
        .await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "");
    assert!(
        !reply.1["message"].as_str().unwrap().is_empty(),
        "{}",
        reply.1
    );
    let reply = rig
        .raw(Method::PUT, "/connectors/witness/config", "{\"topic\": ")
        .await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "");
    let (_, config) = rig
        .call(Method::GET, "/connectors/witness/config", None)
        .await;
    assert_eq!(
        config["topic"], "witness",
        "the witness config is untouched"
    );
    witness.still_moves(&rig, "malformed JSON").await;
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_file_fails_only_its_task() {
    let rig = Rig::start().await;
    let mut witness = rig.start_witness().await;
    let dir = rig.path("a-directory");
    std::fs::create_dir(&dir).unwrap();
    rig.create(
        "dir-source",
        json!({"connector.class": SOURCE_CLASS, "file": dir, "topic": "dir-out"}),
    )
    .await;
    let failed = rig.wait_task("dir-source", "FAILED").await;
    let trace = failed["trace"].as_str().unwrap();
    eprintln!("directory source trace: {trace}");
    assert!(
        trace.contains(dir.to_str().unwrap()),
        "the trace names the file: {trace}"
    );
    // A sink asked to write into a directory fails the same way.
    rig.produce("to-dir", &[(b"x", &[])]).await;
    rig.create(
        "dir-sink",
        json!({"connector.class": SINK_CLASS, "file": dir, "topics": "to-dir"}),
    )
    .await;
    let failed = rig.wait_task("dir-sink", "FAILED").await;
    let trace = failed["trace"].as_str().unwrap();
    eprintln!("directory sink trace: {trace}");
    assert!(
        trace.contains(dir.to_str().unwrap()),
        "the trace names the file: {trace}"
    );
    witness.still_moves(&rig, "an unreadable file").await;
    // Deleting the failed connectors works, and the worker carries on.
    for name in ["dir-source", "dir-sink"] {
        let (code, body) = rig
            .call(Method::DELETE, &format!("/connectors/{name}"), None)
            .await;
        assert_eq!(code, StatusCode::NO_CONTENT, "{body}");
    }
    witness
        .still_moves(&rig, "deleting the failed connectors")
        .await;
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_broker_fails_the_task_and_the_worker_answers() {
    let rig = Rig::start().await;
    let mut witness = rig.start_witness().await;
    let nowhere = format!("127.0.0.1:{}", closed_port());
    let file = rig.path("unreachable.txt");
    crate::rig::append(&file, &["going nowhere"]);
    rig.create(
        "unreachable",
        json!({
            "connector.class": SOURCE_CLASS,
            "file": file,
            "topic": "nowhere",
            "producer.override.bootstrap.servers": nowhere,
            "producer.override.message.timeout.ms": "3000",
        }),
    )
    .await;
    // The REST API answers at once while the task tries.
    let started = std::time::Instant::now();
    let (code, _) = rig
        .call(Method::GET, "/connectors/unreachable/status", None)
        .await;
    assert_eq!(code, StatusCode::OK);
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
    let failed = rig.wait_task("unreachable", "FAILED").await;
    let trace = failed["trace"].as_str().unwrap();
    eprintln!("unreachable broker trace: {trace}");
    assert!(
        trace.contains("nowhere"),
        "the trace names the topic: {trace}"
    );
    assert!(trace.contains("reachable"), "the trace says why: {trace}");
    witness.still_moves(&rig, "an unreachable broker").await;
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_whose_broker_is_unreachable_starts_answers_and_fails_the_task() {
    let nowhere = format!("127.0.0.1:{}", closed_port());
    let started = std::time::Instant::now();
    let rig = Rig::start_with(&[
        ("bootstrap.servers", &nowhere),
        ("producer.message.timeout.ms", "3000"),
    ])
    .await;
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "the worker starts without its cluster, in {:?}",
        started.elapsed()
    );
    let (code, root) = rig.call(Method::GET, "/", None).await;
    assert_eq!(code, StatusCode::OK, "{root}");
    assert!(root["kafka_cluster_id"].is_null(), "{root}");
    let file = rig.path("in.txt");
    crate::rig::append(&file, &["a line"]);
    rig.create(
        "stranded",
        json!({"connector.class": SOURCE_CLASS, "file": file, "topic": "t"}),
    )
    .await;
    let failed = rig.wait_task("stranded", "FAILED").await;
    let trace = failed["trace"].as_str().unwrap();
    assert!(trace.contains("reachable"), "{trace}");
    // Still answering: list, status, delete.
    let (code, listed) = rig.call(Method::GET, "/connectors", None).await;
    assert_eq!((code, listed), (StatusCode::OK, json!(["stranded"])));
    let (code, body) = rig.call(Method::DELETE, "/connectors/stranded", None).await;
    assert_eq!(code, StatusCode::NO_CONTENT, "{body}");
    rig.stop().await;
}
