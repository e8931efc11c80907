//! A FileStreamSink with the JsonConverter over a topic of good envelopes and malformed
//! values, and with a `Cast` transform over values that are not numbers.

use reqwest::Method;
use serde_json::{json, Value};

use crate::rig::{self, header, read_lines, Rig, JSON_CONVERTER, SINK_CLASS};

const GOOD: [&str; 3] = [
    r#"{"schema":{"type":"string","optional":false},"payload":"good 0"}"#,
    r#"{"schema":{"type":"string","optional":false},"payload":"good 1"}"#,
    r#"{"schema":{"type":"string","optional":false},"payload":"good 2"}"#,
];
const NOT_JSON: &str = "this is { not json";
const NO_ENVELOPE: &str = r#"{"payload":"no schema field"}"#;

/// The input topic: good, bad (with a header of its own), good, bad, good.
async fn load_json_topic(rig: &Rig, topic: &str) {
    rig.produce(
        topic,
        &[
            (GOOD[0].as_bytes(), &[]),
            (NOT_JSON.as_bytes(), &[("origin", "test-producer")]),
            (GOOD[1].as_bytes(), &[]),
            (NO_ENVELOPE.as_bytes(), &[]),
            (GOOD[2].as_bytes(), &[]),
        ],
    )
    .await;
}

fn json_sink(file: &std::path::Path, topic: &str, tolerance: &str, dlq: Option<&str>) -> Value {
    let mut config = json!({
        "connector.class": SINK_CLASS,
        "file": file,
        "topics": topic,
        "value.converter": JSON_CONVERTER,
        "value.converter.schemas.enable": "true",
        "errors.tolerance": tolerance,
        "errors.log.enable": "true",
        "errors.log.include.messages": "true",
    });
    if let Some(dlq) = dlq {
        config["errors.deadletterqueue.topic.name"] = json!(dlq);
        config["errors.deadletterqueue.context.headers.enable"] = json!("true");
        config["errors.deadletterqueue.topic.replication.factor"] = json!("1");
    }
    config
}

/// Asserts Kafka's context headers of a dead-letter record.
fn assert_context(
    message: &rdkafka::message::OwnedMessage,
    topic: &str,
    offset: i64,
    connector: &str,
    stage: &str,
    class: &str,
) -> String {
    let want = [
        ("__connect.errors.topic", topic.to_owned()),
        ("__connect.errors.partition", "0".to_owned()),
        ("__connect.errors.offset", offset.to_string()),
        ("__connect.errors.connector.name", connector.to_owned()),
        ("__connect.errors.task.id", "0".to_owned()),
        ("__connect.errors.stage", stage.to_owned()),
        ("__connect.errors.class.name", class.to_owned()),
        (
            "__connect.errors.exception.class.name",
            "org.apache.kafka.connect.errors.DataException".to_owned(),
        ),
    ];
    for (key, value) in want {
        assert_eq!(
            header(message, key).as_deref(),
            Some(value.as_str()),
            "header {key} of the dead-letter record at {topic}/{offset}"
        );
    }
    let message_text = header(message, "__connect.errors.exception.message")
        .expect("__connect.errors.exception.message");
    assert!(!message_text.is_empty());
    message_text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn converter_failures_go_to_the_dead_letter_topic_or_fail_the_task() {
    let rig = Rig::start().await;
    let mut witness = rig.start_witness().await;
    load_json_topic(&rig, "json-in").await;

    // errors.tolerance=all: the good records reach the file, the bad ones the DLQ.
    let out = rig.path("json-all.txt");
    rig.create(
        "json-all",
        json_sink(&out, "json-in", "all", Some("json-dlq")),
    )
    .await;
    common_wait_lines(&out, &["good 0", "good 1", "good 2"]).await;
    let dead = rig.consume("json-dlq", 2).await;
    use rdkafka::Message;
    assert_eq!(
        dead[0].payload(),
        Some(NOT_JSON.as_bytes()),
        "original bytes"
    );
    assert_eq!(
        dead[1].payload(),
        Some(NO_ENVELOPE.as_bytes()),
        "original bytes"
    );
    assert_eq!(dead[0].key(), Some(&b"k"[..]), "original key");
    assert_eq!(header(&dead[0], "origin").as_deref(), Some("test-producer"));
    let why_not_json = assert_context(
        &dead[0],
        "json-in",
        1,
        "json-all",
        "VALUE_CONVERTER",
        JSON_CONVERTER,
    );
    let why_no_envelope = assert_context(
        &dead[1],
        "json-in",
        3,
        "json-all",
        "VALUE_CONVERTER",
        JSON_CONVERTER,
    );
    assert!(
        why_no_envelope.contains("schema") && why_no_envelope.contains("payload"),
        "{why_no_envelope}"
    );
    eprintln!("exception messages: {why_not_json:?} / {why_no_envelope:?}");
    rig.assert_stays("json-all", "RUNNING").await;
    // Nothing more in the DLQ than the two bad records.
    assert_eq!(rig.high_watermark("json-dlq").await, 2);
    witness
        .still_moves(&rig, "a tolerated converter failure")
        .await;

    // errors.tolerance=none: the first bad record fails the task, with the cause.
    let out_none = rig.path("json-none.txt");
    rig.create("json-none", json_sink(&out_none, "json-in", "none", None))
        .await;
    let failed = rig.wait_task("json-none", "FAILED").await;
    let trace = failed["trace"].as_str().unwrap();
    assert!(trace.contains("Tolerance exceeded"), "{trace}");
    assert!(trace.contains("VALUE_CONVERTER"), "{trace}");
    assert!(trace.contains(JSON_CONVERTER), "{trace}");
    assert_eq!(
        read_lines(&out_none)
            .iter()
            .filter(|l| l.starts_with("good"))
            .count(),
        read_lines(&out_none).len(),
        "only good records may reach the file"
    );
    // The worker answers, its other connectors run on.
    let (code, root) = rig.call(Method::GET, "/", None).await;
    assert_eq!(code, 200, "{root}");
    rig.assert_stays("json-all", "RUNNING").await;
    witness
        .still_moves(&rig, "a task failed on a converter")
        .await;
    rig.stop().await;
}

async fn common_wait_lines(path: &std::path::Path, want: &[&str]) {
    let want: Vec<String> = want.iter().map(|s| (*s).to_owned()).collect();
    crate::common::eventually(
        &format!("{} holds {want:?}", path.display()),
        rig::DEADLINE,
        || read_lines(path) == want,
    )
    .await;
}
