//! Kafka's Connect quickstart with Kafka's own files: a file source into `connect-test`, a file
//! sink out of it, run by `fjord connect standalone`; the worker stopped mid-stream and
//! restarted loses no line and repeats none.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use common::connect::{example_config, worker_file, ConnectProcess};
use rdkafka::Offset;

fn read_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .map(|t| t.lines().map(str::to_owned).collect())
        .unwrap_or_default()
}

fn append(path: &Path, from: usize, to: usize) {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    for i in from..to {
        writeln!(file, "line {i}").unwrap();
    }
    file.sync_all().unwrap();
}

async fn wait_for_sink(sink: &Path, count: usize) {
    common::eventually(
        &format!("{count} lines in the sink file"),
        Duration::from_secs(60),
        || read_lines(sink).len() >= count,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quickstart_file_source_to_topic_to_file_sink_survives_a_restart() {
    let broker = common::broker().await;
    let bs = broker.bootstrap_servers();
    let dir = tempfile::tempdir().unwrap();
    // Kafka's connector files, byte for byte; the worker file pointed at this broker.
    for name in [
        "connect-file-source.properties",
        "connect-file-sink.properties",
    ] {
        std::fs::copy(example_config(name), dir.path().join(name)).unwrap();
    }
    let worker = worker_file(
        dir.path(),
        "connect-standalone.properties",
        &bs,
        &[("offset.flush.interval.ms", "500")],
    );
    let source = dir.path().join("test.txt");
    let sink = dir.path().join("test.sink.txt");
    append(&source, 0, 100);

    let args = [
        "standalone",
        worker.to_str().unwrap(),
        "connect-file-source.properties",
        "connect-file-sink.properties",
    ];
    let mut first = ConnectProcess::start(dir.path(), &args);
    wait_for_sink(&sink, 100).await;

    // Kafka's JsonConverter envelope with schemas.enable=true, as the quickstart shows it.
    let records = common::consume(&bs, "connect-test", &[0], Offset::Beginning, 1);
    assert_eq!(
        common::values(&records)[0],
        r#"{"schema":{"type":"string","optional":false},"payload":"line 0"}"#
    );

    // Mid-stream: lines keep arriving while the worker stops, and while it is down.
    let writer = {
        let source = source.clone();
        std::thread::spawn(move || {
            for chunk in 0..20 {
                append(&source, 100 + chunk * 50, 150 + chunk * 50);
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        first.stop(),
        "the worker stops cleanly on SIGTERM: {:?}",
        first.drain_log()
    );
    writer.join().unwrap();
    append(&source, 1100, 1200);

    let _second = ConnectProcess::start(dir.path(), &args);
    wait_for_sink(&sink, 1200).await;
    // Give a duplicate the chance to show up before comparing.
    let expected: Vec<String> = (0..1200).map(|i| format!("line {i}")).collect();
    common::eventually(
        "the sink file equals the source file",
        Duration::from_secs(10),
        || read_lines(&sink) == expected,
    )
    .await;
    // Exactly one record per line in the topic: none repeated by the restart.
    let consumer: rdkafka::consumer::BaseConsumer = common::client_config(&bs).create().unwrap();
    let (low, high) = rdkafka::consumer::Consumer::fetch_watermarks(
        &consumer,
        "connect-test",
        0,
        Duration::from_secs(10),
    )
    .unwrap();
    assert_eq!((low, high), (0, 1200));
    common::close(consumer);
    let offsets = std::fs::read_to_string(dir.path().join("connect.offsets")).unwrap();
    assert!(offsets.contains("local-file-source"), "{offsets}");
}
