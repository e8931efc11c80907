//! Kafka's Connect quickstart with our parts: its `connect-file-source.properties` and
//! `connect-file-sink.properties` resolve and validate unchanged, and a line goes file ->
//! FileStreamSource -> JsonConverter (the bytes Kafka's quickstart shows on the topic) ->
//! FileStreamSink -> file.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fjord_core::config::Properties;

use crate::config::{from_properties, ConfigMap};
use crate::connector::{OffsetReader, SinkTaskContext, SourceTaskContext};
use crate::converters;
use crate::plugins;
use crate::record::{ConnectRecord, JsonMap, SinkRecord};

struct NoOffsets;

impl OffsetReader for NoOffsets {
    fn offset(&self, _partition: &JsonMap) -> Option<JsonMap> {
        None
    }
}

/// Kafka's `config/connect-file-source.properties`, its file and topic.
const SOURCE_PROPERTIES: &str = "name=local-file-source
connector.class=FileStreamSource
tasks.max=1
file=test.txt
topic=connect-test
";

/// Kafka's `config/connect-file-sink.properties`.
const SINK_PROPERTIES: &str = "name=local-file-sink
connector.class=FileStreamSink
tasks.max=1
file=test.sink.txt
topics=connect-test
";

fn properties(text: &str, dir: &std::path::Path) -> ConfigMap {
    let mut config = from_properties(&Properties::parse_str(text).unwrap());
    let file = config.get("file").cloned().unwrap();
    config.insert("file".into(), dir.join(file).display().to_string());
    config
}

#[test]
fn every_name_kafka_accepts_finds_the_plugins() {
    for name in [
        "FileStreamSource",
        "FileStreamSourceConnector",
        "org.apache.kafka.connect.file.FileStreamSourceConnector",
    ] {
        let plugin = plugins::find_connector(name).unwrap();
        assert_eq!(
            plugin.class,
            "org.apache.kafka.connect.file.FileStreamSourceConnector"
        );
    }
    for name in [
        "FileStreamSink",
        "org.apache.kafka.connect.file.FileStreamSinkConnector",
    ] {
        let plugin = plugins::find_connector(name).unwrap();
        assert_eq!(
            plugin.class,
            "org.apache.kafka.connect.file.FileStreamSinkConnector"
        );
    }
}

#[tokio::test]
async fn the_quickstart_moves_lines_from_file_to_file() {
    let dir = tempfile::tempdir().unwrap();
    let source_config = properties(SOURCE_PROPERTIES, dir.path());
    let sink_config = properties(SINK_PROPERTIES, dir.path());
    std::fs::write(dir.path().join("test.txt"), "foo\nbar\n").unwrap();

    let source = (plugins::find_connector("FileStreamSource").unwrap().create)();
    let sink = (plugins::find_connector("FileStreamSink").unwrap().create)();
    for (connector, config) in [(&source, &source_config), (&sink, &sink_config)] {
        let values = connector.validate(config);
        assert!(values.iter().all(|v| v.errors.is_empty()), "{values:?}");
    }
    let mut source_task = source.source_task().unwrap();
    let task_config = source.task_configs(&source_config, 1).unwrap().remove(0);
    let context = SourceTaskContext {
        offsets: Arc::new(NoOffsets),
        errors: Arc::new(crate::connector::FailOnErrant),
    };
    source_task.start(task_config, context).await.unwrap();
    let mut sink_task = sink.sink_task().unwrap();
    let task_config = sink.task_configs(&sink_config, 1).unwrap().remove(0);
    sink_task
        .start(task_config, SinkTaskContext::default())
        .await
        .unwrap();

    let json = converters::create(
        "org.apache.kafka.connect.json.JsonConverter",
        &ConfigMap::new(),
        false,
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut on_topic = Vec::new();
    while on_topic.len() < 2 {
        assert!(Instant::now() < deadline, "the source read {on_topic:?}");
        for record in source_task.poll().await.unwrap() {
            let r = &record.record;
            let bytes = json
                .to_bytes(&r.topic, r.value_schema.as_deref(), &r.value)
                .unwrap();
            on_topic.push(String::from_utf8(bytes.unwrap()).unwrap());
        }
    }
    // What Kafka's quickstart shows with kafka-console-consumer.
    assert_eq!(
        on_topic,
        [
            r#"{"schema":{"type":"string","optional":false},"payload":"foo"}"#,
            r#"{"schema":{"type":"string","optional":false},"payload":"bar"}"#
        ]
    );
    let sink_records = on_topic
        .iter()
        .enumerate()
        .map(|(offset, text)| {
            let data = json
                .to_connect("connect-test", Some(text.as_bytes()))
                .unwrap();
            let mut record = ConnectRecord::new("connect-test", data.value);
            record.value_schema = data.schema;
            SinkRecord {
                record,
                offset: offset as i64,
            }
        })
        .collect();
    sink_task.put(sink_records).await.unwrap();
    sink_task.flush(&BTreeMap::new()).await.unwrap();
    let written = std::fs::read_to_string(dir.path().join("test.sink.txt")).unwrap();
    assert_eq!(written, "foo\nbar\n");
    source_task.stop().await.unwrap();
    sink_task.stop().await.unwrap();
}
