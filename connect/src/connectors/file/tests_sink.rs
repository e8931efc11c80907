//! FileStreamSink against real files in temp dirs: lines per value, appending, flush, and
//! config validation.

use std::collections::BTreeMap;

use super::sink::{FileStreamSinkConnector, FileStreamSinkTask};
use crate::config::ConfigMap;
use crate::connector::{Connector, SinkTask, SinkTaskContext};
use crate::data::{Schema, SchemaType, Struct, Value};
use crate::record::{ConnectRecord, SinkRecord};

fn records(values: Vec<Value>) -> Vec<SinkRecord> {
    values
        .into_iter()
        .enumerate()
        .map(|(i, value)| SinkRecord {
            record: ConnectRecord::new("t", value),
            offset: i as i64,
        })
        .collect()
}

fn config(file: &std::path::Path) -> ConfigMap {
    let mut config = ConfigMap::new();
    config.insert("file".into(), file.display().to_string());
    config.insert("topics".into(), "t".into());
    config
}

#[tokio::test]
async fn each_value_is_a_line_appended_and_durable_after_flush() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.txt");
    std::fs::write(&path, "kept\n").unwrap();
    let mut task = FileStreamSinkTask::default();
    task.start(config(&path), SinkTaskContext::default())
        .await
        .unwrap();
    let schema = Schema::struct_builder()
        .field("id", Schema::primitive(SchemaType::Int32))
        .field("name", Schema::optional_string())
        .build_ref();
    let row = Struct::new(schema).unwrap().with("id", 3).unwrap();
    task.put(records(vec![
        "plain text".into(),
        Value::Int32(5),
        Value::Null,
        Value::Float64(2.0),
        Value::Struct(row),
        Value::Array(vec![1.into(), 2.into()]),
    ]))
    .await
    .unwrap();
    // Buffered until flush.
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "kept\n");
    task.flush(&BTreeMap::new()).await.unwrap();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "kept\nplain text\n5\nnull\n2.0\nStruct{id=3}\n[1, 2]\n"
    );
    task.put(records(vec!["last".into()])).await.unwrap();
    task.stop().await.unwrap();
    assert!(std::fs::read_to_string(&path)
        .unwrap()
        .ends_with("[1, 2]\nlast\n"));
}

#[tokio::test]
async fn a_file_that_cannot_be_opened_fails_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut task = FileStreamSinkTask::default();
    let err = task
        .start(
            config(&dir.path().join("no/such/dir/out.txt")),
            SinkTaskContext::default(),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("cannot open"), "{err}");
}

#[test]
fn validate_needs_exactly_one_of_topics_and_topics_regex() {
    let connector = FileStreamSinkConnector;
    let errors = |config: &ConfigMap| -> Vec<(String, Vec<String>)> {
        connector
            .validate(config)
            .into_iter()
            .filter(|v| !v.errors.is_empty())
            .map(|v| (v.name, v.errors))
            .collect()
    };
    let mut config = ConfigMap::new();
    let none = errors(&config);
    assert_eq!(none.len(), 2, "{none:?}");
    assert!(none[0].1[0].contains("Must configure one of"));
    config.insert("topics".into(), "a,b".into());
    assert!(errors(&config).is_empty());
    config.insert("topics.regex".into(), "a.*".into());
    assert!(errors(&config)[0].1[0].contains("mutually exclusive"));
    config.remove("topics");
    config.insert("topics.regex".into(), "(".into());
    assert_eq!(errors(&config).len(), 1);
    assert_eq!(connector.task_configs(&config, 3).unwrap().len(), 1);
    assert!(connector.sink_task().is_some());
}
