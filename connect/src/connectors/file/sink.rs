//! `FileStreamSink` (`org.apache.kafka.connect.file.FileStreamSinkConnector`): each record's
//! value as one line appended to a file (or written to stdout when `file` is not set), in
//! one task. A string value is written as it is, any other value as Kafka's `toString` of it
//! ([`java_text::value_to_string`]: `Struct{a=1}`, `[1, 2]`, `{k=v}`), null as `null`.
//!
//! `put` writes into a buffer, `flush` makes the lines durable (buffer flush, then fsync of
//! the file) before the worker commits the consumer offsets, so a committed record is on
//! disk. Both run on tokio's blocking pool.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;

use crate::config::{ConfigDef, ConfigMap, ConfigType, ConfigValue, Importance};
use crate::connector::{Connector, ConnectorType, SinkTask, SinkTaskContext};
use crate::converters::java_text;
use crate::data::Value;
use crate::error::{ConnectError, Result};
use crate::record::{SinkRecord, TopicPartition};

/// The key naming the file.
pub const FILE_CONFIG: &str = "file";
/// The topics to read.
pub const TOPICS_CONFIG: &str = "topics";
/// A regex of the topics to read.
pub const TOPICS_REGEX_CONFIG: &str = "topics.regex";

/// The FileStreamSink connector.
#[derive(Debug, Clone, Copy, Default)]
pub struct FileStreamSinkConnector;

impl Connector for FileStreamSinkConnector {
    fn connector_type(&self) -> ConnectorType {
        ConnectorType::Sink
    }

    fn config_def(&self) -> ConfigDef {
        ConfigDef::new()
            .optional(
                FILE_CONFIG,
                ConfigType::String,
                "",
                Importance::High,
                "Destination filename. If not specified, the standard output will be used",
            )
            .optional(
                TOPICS_CONFIG,
                ConfigType::List,
                "",
                Importance::High,
                "List of topics to consume, separated by commas",
            )
            .optional(
                TOPICS_REGEX_CONFIG,
                ConfigType::String,
                "",
                Importance::High,
                "Regular expression giving topics to consume",
            )
    }

    fn validate(&self, config: &ConfigMap) -> Vec<ConfigValue> {
        let mut values = self.config_def().validate(config);
        let set = |key: &str| config.get(key).is_some_and(|v| !v.trim().is_empty());
        let problem = match (set(TOPICS_CONFIG), set(TOPICS_REGEX_CONFIG)) {
            (false, false) => Some("Must configure one of topics or topics.regex"),
            (true, true) => {
                Some("topics and topics.regex are mutually exclusive options, but both are set.")
            }
            _ => None,
        };
        if let Some(problem) = problem {
            for value in values
                .iter_mut()
                .filter(|v| v.name == TOPICS_CONFIG || v.name == TOPICS_REGEX_CONFIG)
            {
                value.errors.push(problem.to_owned());
            }
        }
        if let Some(regex) = config
            .get(TOPICS_REGEX_CONFIG)
            .filter(|r| !r.trim().is_empty())
        {
            if let Err(err) = regex::Regex::new(regex) {
                if let Some(value) = values.iter_mut().find(|v| v.name == TOPICS_REGEX_CONFIG) {
                    value.errors.push(format!(
                        "Invalid value {regex} for configuration topics.regex: {err}"
                    ));
                }
            }
        }
        values
    }

    fn task_configs(&self, config: &ConfigMap, _max_tasks: usize) -> Result<Vec<ConfigMap>> {
        // One file, one writer: always a single task, as Kafka's.
        Ok(vec![config.clone()])
    }

    fn sink_task(&self) -> Option<Box<dyn SinkTask>> {
        Some(Box::new(FileStreamSinkTask::default()))
    }
}

/// Where lines go.
enum Output {
    File { file: BufWriter<File>, path: String },
    Stdout,
}

impl Output {
    fn write_lines(&mut self, lines: &[u8]) -> Result<()> {
        match self {
            Output::File { file, path } => file
                .write_all(lines)
                .map_err(|e| ConnectError::io(format!("cannot write to '{path}'"), e)),
            Output::Stdout => std::io::stdout()
                .lock()
                .write_all(lines)
                .map_err(|e| ConnectError::io("cannot write to stdout", e)),
        }
    }

    fn sync(&mut self) -> Result<()> {
        match self {
            Output::File { file, path } => {
                file.flush()
                    .map_err(|e| ConnectError::io(format!("cannot write to '{path}'"), e))?;
                file.get_ref()
                    .sync_data()
                    .map_err(|e| ConnectError::io(format!("cannot fsync '{path}'"), e))
            }
            Output::Stdout => std::io::stdout()
                .flush()
                .map_err(|e| ConnectError::io("cannot flush stdout", e)),
        }
    }
}

/// The FileStreamSink task.
#[derive(Default)]
pub struct FileStreamSinkTask {
    // A std Mutex: only the blocking closures lock it, one at a time (the worker awaits each
    // call), so it is never contended; it lets a cancelled call's closure finish safely.
    output: Option<Arc<Mutex<Output>>>,
}

fn lock(output: &Mutex<Output>) -> MutexGuard<'_, Output> {
    // A panic mid-write leaves at worst a partial line, which the next flush writes out.
    output.lock().unwrap_or_else(PoisonError::into_inner)
}

impl FileStreamSinkTask {
    async fn with_output<T: Send + 'static>(
        &self,
        op: impl FnOnce(&mut Output) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let Some(output) = self.output.clone() else {
            return Err(ConnectError::Other(
                "the FileStreamSink task was used before start".to_owned(),
            ));
        };
        tokio::task::spawn_blocking(move || op(&mut lock(&output)))
            .await
            .map_err(|err| ConnectError::Other(format!("the file writer stopped: {err}")))?
    }
}

/// A record value as its line.
fn line_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => java_text::value_to_string(other),
    }
}

#[async_trait]
impl SinkTask for FileStreamSinkTask {
    async fn start(&mut self, config: ConfigMap, _context: SinkTaskContext) -> Result<()> {
        let parsed = FileStreamSinkConnector.config_def().parse(&config)?;
        let output = match parsed.string(FILE_CONFIG) {
            None => Output::Stdout,
            Some(path) => {
                let opened = path.clone();
                let file = tokio::task::spawn_blocking(move || {
                    OpenOptions::new().create(true).append(true).open(&opened)
                })
                .await
                .map_err(|err| ConnectError::Other(format!("the file opener stopped: {err}")))?
                .map_err(|e| {
                    ConnectError::io(format!("cannot open '{path}' to append to it"), e)
                })?;
                Output::File {
                    file: BufWriter::new(file),
                    path,
                }
            }
        };
        self.output = Some(Arc::new(Mutex::new(output)));
        Ok(())
    }

    async fn put(&mut self, records: Vec<SinkRecord>) -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let mut lines = String::new();
        for record in &records {
            lines.push_str(&line_of(&record.record.value));
            lines.push('\n');
        }
        self.with_output(move |out| out.write_lines(lines.as_bytes()))
            .await
    }

    async fn flush(&mut self, _offsets: &BTreeMap<TopicPartition, i64>) -> Result<()> {
        self.with_output(Output::sync).await
    }

    async fn stop(&mut self) -> Result<()> {
        if self.output.is_some() {
            let result = self.with_output(Output::sync).await;
            self.output = None;
            return result;
        }
        Ok(())
    }
}
