//! A `Cast` transform over values that are not numbers, in a sink and in a source.

use rdkafka::Message;
use serde_json::{json, Value};

use crate::rig::{append, header, read_lines, Rig, SINK_CLASS, SOURCE_CLASS};

const CAST: &str = "org.apache.kafka.connect.transforms.Cast$Value";

fn with_cast(mut config: Value, tolerance: &str, dlq: Option<&str>) -> Value {
    config["transforms"] = json!("toInt");
    config["transforms.toInt.type"] = json!(CAST);
    config["transforms.toInt.spec"] = json!("int32");
    config["errors.tolerance"] = json!(tolerance);
    if let Some(dlq) = dlq {
        config["errors.deadletterqueue.topic.name"] = json!(dlq);
        config["errors.deadletterqueue.context.headers.enable"] = json!("true");
    }
    config
}

async fn wait_lines(path: &std::path::Path, want: &[&str]) {
    crate::common::eventually(
        &format!("{} holds {want:?}", path.display()),
        crate::rig::DEADLINE,
        || read_lines(path) == want,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_transform_is_skipped_to_the_dead_letter_topic_or_fails_the_task() {
    let rig = Rig::start().await;
    let mut witness = rig.start_witness().await;
    rig.produce(
        "numbers",
        &[(b"12", &[]), (b"twelve", &[("h", "v")]), (b"-7", &[])],
    )
    .await;

    // A sink under errors.tolerance=all: the numbers reach the file as int32s, the word goes
    // to the dead-letter topic as it was consumed.
    let out = rig.path("cast-all.txt");
    rig.create(
        "cast-all",
        with_cast(
            json!({"connector.class": SINK_CLASS, "file": out, "topics": "numbers"}),
            "all",
            Some("cast-dlq"),
        ),
    )
    .await;
    wait_lines(&out, &["12", "-7"]).await;
    let dead = rig.consume("cast-dlq", 1).await;
    assert_eq!(dead[0].payload(), Some(&b"twelve"[..]));
    assert_eq!(header(&dead[0], "h").as_deref(), Some("v"));
    for (key, value) in [
        ("__connect.errors.topic", "numbers"),
        ("__connect.errors.partition", "0"),
        ("__connect.errors.offset", "1"),
        ("__connect.errors.connector.name", "cast-all"),
        ("__connect.errors.task.id", "0"),
        ("__connect.errors.stage", "TRANSFORMATION"),
        ("__connect.errors.class.name", CAST),
        (
            "__connect.errors.exception.class.name",
            "org.apache.kafka.connect.errors.DataException",
        ),
    ] {
        assert_eq!(header(&dead[0], key).as_deref(), Some(value), "{key}");
    }
    let why = header(&dead[0], "__connect.errors.exception.message").unwrap();
    assert!(why.contains("twelve"), "{why}");
    rig.assert_stays("cast-all", "RUNNING").await;

    // The same sink under none: FAILED on the word, with the transform in the trace.
    let out_none = rig.path("cast-none.txt");
    rig.create(
        "cast-none",
        with_cast(
            json!({"connector.class": SINK_CLASS, "file": out_none, "topics": "numbers"}),
            "none",
            None,
        ),
    )
    .await;
    let failed = rig.wait_task("cast-none", "FAILED").await;
    let trace = failed["trace"].as_str().unwrap();
    assert!(
        trace.contains("Tolerance exceeded") && trace.contains("TRANSFORMATION"),
        "{trace}"
    );
    assert!(trace.contains("Cast$Value"), "{trace}");
    assert!(
        !read_lines(&out_none).iter().any(|l| l == "-7"),
        "nothing after the failure"
    );
    witness
        .still_moves(&rig, "a sink failed on a transform")
        .await;

    // A source under all (a dead-letter topic for sources is Fjord's, not Kafka's): the
    // record goes there as JSON, the others on to the topic.
    let input = rig.path("cast-source.txt");
    append(&input, &["1", "one", "2"]);
    rig.create(
        "cast-source",
        with_cast(
            json!({"connector.class": SOURCE_CLASS, "file": input, "topic": "cast-out"}),
            "all",
            Some("cast-source-dlq"),
        ),
    )
    .await;
    let out = rig.consume("cast-out", 2).await;
    let values: Vec<&[u8]> = out.iter().map(|m| m.payload().unwrap()).collect();
    assert_eq!(values, [&b"1"[..], &b"2"[..]]);
    let dead = rig.consume("cast-source-dlq", 1).await;
    assert_eq!(
        String::from_utf8_lossy(dead[0].payload().unwrap()),
        "\"one\"",
        "the failed source record's value as JSON"
    );
    assert_eq!(
        header(&dead[0], "__connect.errors.stage").as_deref(),
        Some("TRANSFORMATION")
    );
    assert_eq!(
        header(&dead[0], "__connect.errors.connector.name").as_deref(),
        Some("cast-source")
    );
    let position = header(&dead[0], "__connect.source.offset").unwrap();
    assert!(position.contains("position"), "{position}");
    rig.assert_stays("cast-source", "RUNNING").await;

    // The same source under none: FAILED.
    let input = rig.path("cast-source-none.txt");
    append(&input, &["3", "three"]);
    rig.create(
        "cast-source-none",
        with_cast(
            json!({"connector.class": SOURCE_CLASS, "file": input, "topic": "cast-out-none"}),
            "none",
            None,
        ),
    )
    .await;
    let failed = rig.wait_task("cast-source-none", "FAILED").await;
    let trace = failed["trace"].as_str().unwrap();
    assert!(trace.contains("Cast$Value"), "{trace}");
    witness
        .still_moves(&rig, "a source failed on a transform")
        .await;
    rig.assert_stays("cast-all", "RUNNING").await;
    rig.stop().await;
}
