//! `FileStreamSource` (`org.apache.kafka.connect.file.FileStreamSourceConnector`): each line
//! of a file (or of stdin when `file` is not set) becomes a record with a STRING value and
//! no key, in one task. The source partition is `{"filename": <file>}` and the source offset
//! `{"position": <byte offset after the line>}`, as Kafka's, so a restarted task resumes
//! after the last committed line.
//!
//! Reading is blocking std I/O on tokio's blocking pool ([`FileFollower`]); the follower sits
//! behind a mutex so that a `poll` cancelled mid-read loses nothing: lines read are queued in
//! the follower and the next `poll` hands them out.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value as Json;
use tokio::sync::mpsc;

use super::follower::{FileFollower, FollowError, Line};
use crate::config::{ConfigDef, ConfigMap, ConfigType, ConfigValue, Importance, Validator};
use crate::connector::{Connector, ConnectorType, SourceTask, SourceTaskContext};
use crate::data::{Schema, SchemaRef, Value};
use crate::error::{ConnectError, Result};
use crate::record::{ConnectRecord, JsonMap, SourceRecord};

/// The key naming the file.
pub const FILE_CONFIG: &str = "file";
/// The key naming the topic.
pub const TOPIC_CONFIG: &str = "topic";
/// The key of the most records one `poll` returns.
pub const BATCH_SIZE_CONFIG: &str = "batch.size";
/// The source partition's key.
pub const FILENAME_FIELD: &str = "filename";
/// The source offset's key.
pub const POSITION_FIELD: &str = "position";

/// How long `poll` waits for new lines before returning none.
const POLL_WAIT: Duration = Duration::from_secs(1);
/// How often `poll` looks again within that wait.
const POLL_STEP: Duration = Duration::from_millis(100);
/// Lines from stdin buffered ahead of `poll`; the reading thread blocks when it is full.
const STDIN_BUFFER: usize = 1024;

/// The FileStreamSource connector.
#[derive(Debug, Clone, Copy, Default)]
pub struct FileStreamSourceConnector;

fn single_topic(value: &str) -> std::result::Result<(), String> {
    if value.contains(',') {
        Err("FileStreamSourceConnector writes to a single topic; name one topic".to_owned())
    } else {
        Ok(())
    }
}

impl Connector for FileStreamSourceConnector {
    fn connector_type(&self) -> ConnectorType {
        ConnectorType::Source
    }

    fn config_def(&self) -> ConfigDef {
        ConfigDef::new()
            .optional(
                FILE_CONFIG,
                ConfigType::String,
                "",
                Importance::High,
                "Source filename. If not specified, the standard input will be used",
            )
            .required(
                TOPIC_CONFIG,
                ConfigType::String,
                Importance::High,
                "The topic to publish data to",
            )
            .validator(Validator::Custom(|v| {
                if v.trim().is_empty() {
                    Err("String must be non-empty".to_owned())
                } else {
                    single_topic(v)
                }
            }))
            .optional(
                BATCH_SIZE_CONFIG,
                ConfigType::Int,
                "2000",
                Importance::Low,
                "The maximum number of records the source task can read from the file each time it is polled",
            )
            .validator(Validator::Range {
                min: Some(1),
                max: None,
            })
    }

    fn validate(&self, config: &ConfigMap) -> Vec<ConfigValue> {
        self.config_def().validate(config)
    }

    fn task_configs(&self, config: &ConfigMap, _max_tasks: usize) -> Result<Vec<ConfigMap>> {
        // One file, one reader: always a single task, as Kafka's.
        Ok(vec![config.clone()])
    }

    fn source_task(&self) -> Option<Box<dyn SourceTask>> {
        Some(Box::new(FileStreamSourceTask::default()))
    }
}

/// The FileStreamSource task.
#[derive(Default)]
pub struct FileStreamSourceTask {
    topic: String,
    batch_size: usize,
    partition: JsonMap,
    schema: Option<SchemaRef>,
    /// The file being followed, when `file` is set.
    follower: Option<Arc<Mutex<FileFollower>>>,
    /// Lines of stdin, when it is not.
    stdin: Option<mpsc::Receiver<String>>,
}

fn lock(follower: &Mutex<FileFollower>) -> MutexGuard<'_, FileFollower> {
    // A panic mid-read leaves at worst a partly read chunk; the follower stays usable.
    follower.lock().unwrap_or_else(PoisonError::into_inner)
}

impl FileStreamSourceTask {
    fn record(&self, text: String, position: Option<u64>) -> SourceRecord {
        let mut offset = JsonMap::new();
        offset.insert(
            POSITION_FIELD.to_owned(),
            position.map_or(Json::Null, Json::from),
        );
        let record = ConnectRecord {
            topic: self.topic.clone(),
            value_schema: self.schema.clone(),
            value: Value::String(text),
            timestamp: Some(jiff::Timestamp::now().as_millisecond()),
            ..ConnectRecord::default()
        };
        SourceRecord::new(self.partition.clone(), offset, record)
    }

    async fn poll_file(&self, follower: &Arc<Mutex<FileFollower>>) -> Result<Vec<SourceRecord>> {
        let deadline = tokio::time::Instant::now() + POLL_WAIT;
        loop {
            let shared = follower.clone();
            let batch = self.batch_size;
            // Blocking file I/O on the blocking pool. Cancel safe: lines read stay queued in
            // the follower until taken below.
            let outcome = tokio::task::spawn_blocking(move || lock(&shared).fill(batch))
                .await
                .map_err(|err| ConnectError::Other(format!("the file reader stopped: {err}")))?;
            let lines: Vec<Line> = {
                let mut guard = lock(follower);
                if guard.has_ready() || outcome.is_ok() {
                    guard.take(batch)
                } else {
                    Vec::new()
                }
            };
            if !lines.is_empty() {
                return Ok(lines
                    .into_iter()
                    .map(|line| self.record(line.text, Some(line.position)))
                    .collect());
            }
            if let Err(FollowError::Failed(err)) = outcome {
                return Err(err);
            }
            if tokio::time::Instant::now() + POLL_STEP > deadline {
                return match outcome {
                    Err(FollowError::Missing) => Err(ConnectError::Retriable(format!(
                        "file '{}' does not exist yet; FileStreamSource waits for it to be created",
                        self.partition
                            .get(FILENAME_FIELD)
                            .and_then(Json::as_str)
                            .unwrap_or_default()
                    ))),
                    _ => Ok(Vec::new()),
                };
            }
            tokio::time::sleep(POLL_STEP).await;
        }
    }
}

/// Up to `max` stdin lines: waits up to [`POLL_WAIT`] for the first, then takes what is
/// buffered. Cancel safe: the only await is before any line is taken.
async fn recv_lines(rx: &mut mpsc::Receiver<String>, max: usize) -> Vec<String> {
    let mut lines = Vec::new();
    if let Ok(Some(line)) = tokio::time::timeout(POLL_WAIT, rx.recv()).await {
        lines.push(line);
        while lines.len() < max {
            match rx.try_recv() {
                Ok(line) => lines.push(line),
                Err(_) => break,
            }
        }
    }
    lines
}

/// Reads stdin lines on a dedicated thread (a stdin read cannot be interrupted, so it
/// cannot use the blocking pool that runtime shutdown waits for). The thread ends at the
/// end of input or, after the next line, once the task dropped the receiver.
fn spawn_stdin_reader() -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel(STDIN_BUFFER);
    let spawned = std::thread::Builder::new()
        .name("file-source-stdin".to_owned())
        .spawn(move || {
            for line in std::io::stdin().lines() {
                let Ok(line) = line else { break };
                if tx.blocking_send(line).is_err() {
                    break;
                }
            }
        });
    if let Err(err) = spawned {
        tracing::error!(%err, "cannot start the stdin reader thread");
    }
    rx
}

#[async_trait]
impl SourceTask for FileStreamSourceTask {
    async fn start(&mut self, config: ConfigMap, context: SourceTaskContext) -> Result<()> {
        let parsed = FileStreamSourceConnector.config_def().parse(&config)?;
        self.topic = parsed.string(TOPIC_CONFIG).unwrap_or_default();
        self.batch_size = usize::try_from(parsed.long(BATCH_SIZE_CONFIG))
            .unwrap_or(1)
            .max(1);
        self.schema = Some(Schema::string());
        let filename = parsed.string(FILE_CONFIG);
        self.partition = JsonMap::new();
        self.partition.insert(
            FILENAME_FIELD.to_owned(),
            filename.clone().map_or(Json::Null, Json::String),
        );
        self.follower = None;
        self.stdin = None;
        match filename {
            None => self.stdin = Some(spawn_stdin_reader()),
            Some(file) => {
                let resume = match context.offsets.offset(&self.partition) {
                    None => None,
                    Some(offset) => match offset.get(POSITION_FIELD) {
                        None | Some(Json::Null) => None,
                        Some(position) => Some(position.as_u64().ok_or_else(|| {
                            ConnectError::Other(format!(
                                "Offset position is the incorrect type: {position} for file '{file}' (a byte offset expected)"
                            ))
                        })?),
                    },
                };
                self.follower = Some(Arc::new(Mutex::new(FileFollower::new(file, resume))));
            }
        }
        Ok(())
    }

    /// Cancel safe: lines read but not yet returned stay queued for the next call.
    async fn poll(&mut self) -> Result<Vec<SourceRecord>> {
        if let Some(follower) = self.follower.clone() {
            return self.poll_file(&follower).await;
        }
        let Some(rx) = self.stdin.as_mut() else {
            return Err(ConnectError::Other(
                "the FileStreamSource task was polled before start".to_owned(),
            ));
        };
        let lines = recv_lines(rx, self.batch_size).await;
        Ok(lines
            .into_iter()
            .map(|line| self.record(line, None))
            .collect())
    }

    async fn stop(&mut self) -> Result<()> {
        self.follower = None;
        self.stdin = None;
        Ok(())
    }
}
