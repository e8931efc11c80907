//! `fjord streams reset` against a real broker: refused while the app runs;
//! afterwards the input offsets are back at the start, the internal topics
//! are gone, and a restarted app recomputes the same counts from scratch.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use fjord::apps::word_count as app;
use fjord::streams::{KafkaStreams, State, StreamsConfig};
use rdkafka::consumer::Consumer;
use rdkafka::producer::FutureRecord;
use rdkafka::Message;

fn start(bs: &str, state: &std::path::Path) -> KafkaStreams {
    let mut config = StreamsConfig::new("wc-reset", bs);
    config.commit_interval = Duration::from_millis(200);
    config.state_dir = state.to_path_buf();
    let streams = KafkaStreams::new(app::topology().unwrap(), config).unwrap();
    streams.start().unwrap();
    assert!(streams.wait_for_state(State::Running, Duration::from_secs(30)));
    streams
}

/// The latest count per word in the output, once `want` is reached.
async fn counts(bs: &str, from: i64, want: BTreeMap<String, i64>) -> BTreeMap<String, i64> {
    let bs = bs.to_string();
    tokio::task::spawn_blocking(move || {
        let mut got = BTreeMap::new();
        let c: rdkafka::consumer::BaseConsumer = fjord::core::ClientSettings::new(&bs)
            .consumer_config(None)
            .create()
            .unwrap();
        let mut tpl = rdkafka::TopicPartitionList::new();
        tpl.add_partition_offset(app::OUTPUT, 0, rdkafka::Offset::Offset(from))
            .unwrap();
        c.assign(&tpl).unwrap();
        drop(tpl);
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while got != want {
            assert!(
                std::time::Instant::now() < deadline,
                "counts {got:?}, want {want:?}"
            );
            if let Some(m) = c.poll(Duration::from_millis(100)) {
                let m = m.unwrap();
                let w = String::from_utf8(m.key().unwrap().to_vec()).unwrap();
                let n = i64::from_be_bytes(m.payload().unwrap().try_into().unwrap());
                got.insert(w, n);
            }
        }
        fjord::core::close_consumer(c, "test", Duration::from_secs(5)).unwrap();
        got
    })
    .await
    .unwrap()
}

fn reset(bs: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_fjord"))
        .args([
            "streams",
            "reset",
            "--bootstrap-server",
            bs,
            "--application-id",
            "wc-reset",
            "--input-topics",
            app::INPUT,
        ])
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reset_rewinds_the_inputs_and_deletes_the_internal_topics_only_when_no_instance_runs() {
    let broker = common::broker_with(common::group_broker_config()).await;
    let bs = broker.bootstrap_servers();
    common::create_topic(&bs, app::INPUT, 1, &[]).await;
    common::create_topic(&bs, app::OUTPUT, 1, &[]).await;
    let producer = common::producer(&bs, &[]);
    for line in ["a b a", "c a"] {
        producer
            .send(
                FutureRecord::<(), _>::to(app::INPUT).payload(line),
                Duration::from_secs(10),
            )
            .await
            .map_err(|(e, _)| e)
            .unwrap();
    }
    let want: BTreeMap<String, i64> = [("a", 3), ("b", 1), ("c", 1)]
        .into_iter()
        .map(|(w, n)| (w.to_string(), n))
        .collect();
    let state = tempfile::tempdir().unwrap();
    let streams = start(&bs, state.path());
    assert_eq!(counts(&bs, 0, want.clone()).await, want);

    let refused = reset(&bs);
    assert!(
        !refused.status.success(),
        "reset must refuse while the app runs"
    );
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("running member"), "{stderr}");

    assert!(streams.close(Duration::from_secs(20)));
    drop(streams);
    let done = reset(&bs);
    let stdout = String::from_utf8_lossy(&done.stdout);
    assert!(
        done.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(
        stdout.contains("input streams-plaintext-input-0: committed 2 -> 0"),
        "{stdout}"
    );
    assert!(
        stdout.contains("internal topic wc-reset-words-repartition: deleted"),
        "{stdout}"
    );
    assert!(
        stdout.contains("internal topic wc-reset-word-counts-changelog: deleted"),
        "{stdout}"
    );
    let admin = fjord::core::TopicAdmin::new(&fjord::core::ClientSettings::new(&bs)).unwrap();
    let left: Vec<String> = admin
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert!(!left.iter().any(|t| t.starts_with("wc-reset-")), "{left:?}");

    // A restart with fresh local state reprocesses from the start: the
    // records written after the reset hold the same counts again.
    let end = common::partition(&broker, app::OUTPUT, 0).log_end_offset();
    let fresh = tempfile::tempdir().unwrap();
    let again = start(&bs, fresh.path());
    assert_eq!(counts(&bs, end, want.clone()).await, want);
    assert!(again.close(Duration::from_secs(20)));
}
