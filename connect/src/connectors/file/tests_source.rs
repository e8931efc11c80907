//! FileStreamSource against real files in temp dirs: growth, partial lines, batch.size,
//! truncation, rotation, resuming from a committed offset, a missing file, bad configs.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use super::source::{FileStreamSourceConnector, FileStreamSourceTask};
use crate::config::ConfigMap;
use crate::connector::{Connector, OffsetReader, SourceTask, SourceTaskContext};
use crate::data::{SchemaType, Value};
use crate::error::ConnectError;
use crate::record::{JsonMap, SourceRecord};

/// Committed offsets in a map, keyed by the partition's JSON.
#[derive(Default)]
struct MapOffsets(HashMap<String, JsonMap>);

impl MapOffsets {
    fn with(partition: serde_json::Value, offset: serde_json::Value) -> Self {
        let mut map = HashMap::new();
        let offset = offset.as_object().cloned().unwrap();
        map.insert(partition.to_string(), offset);
        Self(map)
    }
}

impl OffsetReader for MapOffsets {
    fn offset(&self, partition: &JsonMap) -> Option<JsonMap> {
        self.0
            .get(&serde_json::Value::Object(partition.clone()).to_string())
            .cloned()
    }
}

fn config(file: &Path, batch_size: Option<usize>) -> ConfigMap {
    let mut config = ConfigMap::new();
    config.insert("file".into(), file.display().to_string());
    config.insert("topic".into(), "lines".into());
    if let Some(n) = batch_size {
        config.insert("batch.size".into(), n.to_string());
    }
    config
}

async fn start(
    file: &Path,
    batch_size: Option<usize>,
    offsets: MapOffsets,
) -> FileStreamSourceTask {
    let mut task = FileStreamSourceTask::default();
    let context = SourceTaskContext {
        offsets: Arc::new(offsets),
        errors: Arc::new(crate::connector::FailOnErrant),
    };
    task.start(config(file, batch_size), context).await.unwrap();
    task
}

/// Polls until `n` records arrived (failing after a deadline).
async fn poll_until(task: &mut FileStreamSourceTask, n: usize) -> Vec<SourceRecord> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut records = Vec::new();
    while records.len() < n {
        assert!(
            Instant::now() < deadline,
            "only {} of {n} records: {records:?}",
            records.len()
        );
        records.extend(task.poll().await.unwrap());
    }
    assert_eq!(records.len(), n, "more records than expected: {records:?}");
    records
}

fn lines(records: &[SourceRecord]) -> Vec<&str> {
    records
        .iter()
        .map(|r| r.record.value.as_str().unwrap())
        .collect()
}

fn positions(records: &[SourceRecord]) -> Vec<u64> {
    records
        .iter()
        .map(|r| r.source_offset["position"].as_u64().unwrap())
        .collect()
}

fn append(path: &Path, text: &str) {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    file.write_all(text.as_bytes()).unwrap();
}

#[tokio::test]
async fn lines_become_string_records_with_kafkas_partition_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.txt");
    append(&path, "a\nbb\nx\r\nλ\n");
    let mut task = start(&path, None, MapOffsets::default()).await;
    let records = poll_until(&mut task, 4).await;
    assert_eq!(lines(&records), ["a", "bb", "x", "λ"]);
    assert_eq!(positions(&records), [2, 5, 8, 11]);
    let first = &records[0];
    assert_eq!(
        first.source_partition["filename"],
        json!(path.display().to_string())
    );
    assert_eq!(first.record.topic, "lines");
    assert_eq!(first.record.key, Value::Null);
    assert_eq!(first.record.partition, None);
    let schema = first.record.value_schema.as_ref().unwrap();
    assert_eq!(
        (schema.schema_type, schema.optional),
        (SchemaType::String, false)
    );
    assert!(first.record.timestamp.is_some());
    task.stop().await.unwrap();
}

#[tokio::test]
async fn follows_growth_and_holds_a_partial_line_until_its_newline() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("grow.txt");
    append(&path, "one\ntw");
    let mut task = start(&path, None, MapOffsets::default()).await;
    assert_eq!(lines(&poll_until(&mut task, 1).await), ["one"]);
    let began = Instant::now();
    assert!(
        task.poll().await.unwrap().is_empty(),
        "the partial line was emitted"
    );
    assert!(
        began.elapsed() < Duration::from_secs(3),
        "an idle poll took {:?}",
        began.elapsed()
    );
    append(&path, "o\nthree\n");
    let records = poll_until(&mut task, 2).await;
    assert_eq!(lines(&records), ["two", "three"]);
    assert_eq!(positions(&records), [8, 14]);
}

#[tokio::test]
async fn batch_size_caps_each_poll() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("batch.txt");
    append(&path, "1\n2\n3\n4\n5\n");
    let mut task = start(&path, Some(2), MapOffsets::default()).await;
    let mut sizes = Vec::new();
    let mut all = Vec::new();
    while all.len() < 5 {
        let batch = task.poll().await.unwrap();
        assert!(batch.len() <= 2, "a batch of {}", batch.len());
        if !batch.is_empty() {
            sizes.push(batch.len());
        }
        all.extend(batch);
    }
    assert_eq!(sizes, [2, 2, 1]);
    assert_eq!(lines(&all), ["1", "2", "3", "4", "5"]);
}

#[tokio::test]
async fn a_truncated_file_is_read_again_from_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trunc.txt");
    append(&path, "aaaa\nbbbb\n");
    let mut task = start(&path, None, MapOffsets::default()).await;
    poll_until(&mut task, 2).await;
    std::fs::write(&path, "c\n").unwrap();
    let records = poll_until(&mut task, 1).await;
    assert_eq!(lines(&records), ["c"]);
    assert_eq!(positions(&records), [2]);
}

#[tokio::test]
async fn a_rotated_file_is_finished_before_the_new_one_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let rotated = dir.path().join("app.log.1");
    append(&path, "1\n2\n");
    let mut task = start(&path, None, MapOffsets::default()).await;
    poll_until(&mut task, 2).await;
    std::fs::rename(&path, &rotated).unwrap();
    // The writer still had lines for the old file, the last one unterminated.
    append(&rotated, "3\n4");
    append(&path, "new\n");
    let records = poll_until(&mut task, 3).await;
    assert_eq!(lines(&records), ["3", "4", "new"]);
    assert_eq!(positions(&records), [6, 7, 4]);
}

#[tokio::test]
async fn a_committed_position_is_resumed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("resume.txt");
    append(&path, "aaa\nbbb\nccc\n");
    let partition = json!({"filename": path.display().to_string()});
    let offsets = MapOffsets::with(partition.clone(), json!({"position": 4}));
    let mut task = start(&path, None, offsets).await;
    let records = poll_until(&mut task, 2).await;
    assert_eq!(lines(&records), ["bbb", "ccc"]);
    assert_eq!(positions(&records), [8, 12]);

    // A position past the end: the file was truncated while the task was away.
    let offsets = MapOffsets::with(partition.clone(), json!({"position": 999}));
    let mut task = start(&path, None, offsets).await;
    assert_eq!(
        lines(&poll_until(&mut task, 3).await),
        ["aaa", "bbb", "ccc"]
    );

    let offsets = MapOffsets::with(partition, json!({"position": "four"}));
    let mut task = FileStreamSourceTask::default();
    let context = SourceTaskContext {
        offsets: Arc::new(offsets),
        errors: Arc::new(crate::connector::FailOnErrant),
    };
    let err = task.start(config(&path, None), context).await.unwrap_err();
    assert!(err.to_string().contains("incorrect type"), "{err}");
}

#[tokio::test]
async fn a_missing_file_is_retriable_until_it_appears() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("later.txt");
    let mut task = start(&path, None, MapOffsets::default()).await;
    let began = Instant::now();
    let err = task.poll().await.unwrap_err();
    assert!(began.elapsed() < Duration::from_secs(3));
    assert!(matches!(err, ConnectError::Retriable(_)), "{err}");
    assert!(err.to_string().contains("later.txt"), "{err}");
    append(&path, "here\n");
    let deadline = Instant::now() + Duration::from_secs(10);
    let records = loop {
        assert!(Instant::now() < deadline, "the file never got read");
        match task.poll().await {
            Ok(records) if !records.is_empty() => break records,
            Ok(_) | Err(ConnectError::Retriable(_)) => {}
            Err(err) => panic!("{err}"),
        }
    };
    assert_eq!(lines(&records), ["here"]);
}

#[tokio::test]
async fn a_committed_position_applies_to_a_file_that_appears_late() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("late.txt");
    let partition = json!({"filename": path.display().to_string()});
    let offsets = MapOffsets::with(partition, json!({"position": 4}));
    let mut task = start(&path, None, offsets).await;
    assert!(task.poll().await.unwrap_err().is_retriable());
    append(&path, "old\nnew\n");
    let deadline = Instant::now() + Duration::from_secs(10);
    let records = loop {
        assert!(Instant::now() < deadline, "the file never got read");
        if let Ok(records) = task.poll().await {
            if !records.is_empty() {
                break records;
            }
        }
    };
    assert_eq!(lines(&records), ["new"]);
}

#[tokio::test]
async fn a_cancelled_poll_loses_no_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cancel.txt");
    append(&path, "1\n2\n3\n");
    let mut task = start(&path, None, MapOffsets::default()).await;
    // Dropped while the read runs on the blocking pool (or, rarely, after it returned).
    let mut records = tokio::time::timeout(Duration::ZERO, task.poll())
        .await
        .map(Result::unwrap)
        .unwrap_or_default();
    let rest = 3 - records.len();
    records.extend(poll_until(&mut task, rest).await);
    assert_eq!(lines(&records), ["1", "2", "3"]);
}

#[tokio::test]
async fn an_unreadable_path_fails_the_task() {
    let dir = tempfile::tempdir().unwrap();
    let mut task = start(dir.path(), None, MapOffsets::default()).await;
    let err = task.poll().await.unwrap_err();
    assert!(!err.is_retriable(), "{err}");
    assert!(err.to_string().contains("directory"), "{err}");
}

#[test]
fn validate_reports_every_error_and_one_task_config() {
    let connector = FileStreamSourceConnector;
    let mut config = ConfigMap::new();
    config.insert("batch.size".into(), "0".into());
    let values = connector.validate(&config);
    let errors: Vec<(&str, usize)> = values
        .iter()
        .map(|v| (v.name.as_str(), v.errors.len()))
        .collect();
    assert_eq!(errors, [("file", 0), ("topic", 1), ("batch.size", 1)]);
    config.insert("topic".into(), "a,b".into());
    config.insert("batch.size".into(), "ten".into());
    let values = connector.validate(&config);
    assert!(
        values
            .iter()
            .all(|v| v.name == "file" || !v.errors.is_empty()),
        "{values:?}"
    );
    let good = super::tests_source::config(Path::new("/tmp/x"), Some(10));
    assert!(connector
        .validate(&good)
        .iter()
        .all(|v| v.errors.is_empty()));
    assert_eq!(connector.task_configs(&good, 4).unwrap(), vec![good]);
    assert!(connector.source_task().is_some());
}
