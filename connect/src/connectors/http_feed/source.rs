//! `HttpFeedSource`: the connector (one task: one feed, one connection) and its task, which
//! starts a [`FeedReader`] in the background and hands out what it read on each `poll`.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value as Json;
use tokio::sync::mpsc;
use tokio_util::sync::{CancellationToken, DropGuard};

use super::config::{self, FeedSettings};
use super::reader::{
    FeedEvent, FeedReader, Resume, CHANNEL_CAPACITY, COUNT_OFFSET, ID_OFFSET, URL_PARTITION,
};
use crate::config::{ConfigDef, ConfigMap, ConfigValue};
use crate::connector::{
    Connector, ConnectorType, ErrantRecordReporter, SourceTask, SourceTaskContext,
};
use crate::error::{ConnectError, Result};
use crate::record::{JsonMap, SourceRecord};

/// How long `poll` waits for the first record before returning none.
const POLL_WAIT: Duration = Duration::from_secs(1);
/// How long `stop` waits for the reader to end.
const STOP_WAIT: Duration = Duration::from_secs(5);

/// The HttpFeedSource connector.
#[derive(Debug, Clone, Copy, Default)]
pub struct HttpFeedSourceConnector;

impl Connector for HttpFeedSourceConnector {
    fn connector_type(&self) -> ConnectorType {
        ConnectorType::Source
    }

    fn config_def(&self) -> ConfigDef {
        config::config_def()
    }

    fn validate(&self, config: &ConfigMap) -> Vec<ConfigValue> {
        let mut values = self.config_def().validate(config);
        let mode = config
            .get(config::MODE)
            .map(|m| m.trim().to_ascii_lowercase());
        if mode.as_deref() == Some("sse")
            && config
                .get(config::RECORDS_PATH)
                .is_some_and(|p| !p.is_empty() && p != "data")
        {
            values.push(ConfigValue::error(
                config::RECORDS_PATH,
                config.get(config::RECORDS_PATH).cloned(),
                "records.path applies to mode=poll only",
            ));
        }
        values
    }

    fn task_configs(&self, config: &ConfigMap, _max_tasks: usize) -> Result<Vec<ConfigMap>> {
        // One feed is one connection and one order of ids: a single task.
        Ok(vec![config.clone()])
    }

    fn source_task(&self) -> Option<Box<dyn SourceTask>> {
        Some(Box::new(HttpFeedSourceTask::default()))
    }
}

/// The HttpFeedSource task.
#[derive(Default)]
pub struct HttpFeedSourceTask {
    topic: String,
    batch_size: usize,
    events: Option<mpsc::Receiver<FeedEvent>>,
    errors: Option<Arc<dyn ErrantRecordReporter>>,
    /// An error met after records were taken: returned by the next poll, so those records
    /// are not lost with it.
    pending_error: Option<ConnectError>,
    reader: Option<tokio::task::JoinHandle<()>>,
    /// Cancels the reader when the task is dropped without `stop`.
    cancel: Option<DropGuard>,
    idle_logged: bool,
}

impl HttpFeedSourceTask {
    /// One event: a record to return, or an error.
    fn take(&mut self, event: FeedEvent, out: &mut Vec<SourceRecord>) -> Result<()> {
        match event {
            FeedEvent::Post(record) => {
                out.push(record);
                Ok(())
            }
            FeedEvent::Malformed { raw, error } => match &self.errors {
                Some(errors) => errors.report(&self.topic, &raw, error),
                None => Err(error),
            },
            FeedEvent::Failed(error) => Err(error),
        }
    }
}

#[async_trait]
impl SourceTask for HttpFeedSourceTask {
    async fn start(&mut self, config: ConfigMap, context: SourceTaskContext) -> Result<()> {
        let settings = Arc::new(FeedSettings::parse(&config)?);
        let mut partition = JsonMap::new();
        partition.insert(
            URL_PARTITION.to_owned(),
            Json::String(
                config
                    .get(config::URL)
                    .map(|u| u.trim().to_owned())
                    .unwrap_or_default(),
            ),
        );
        let resume = match context.offsets.offset(&partition) {
            None => Resume::default(),
            Some(offset) => Resume {
                last_id: offset.get(ID_OFFSET).filter(|id| !id.is_null()).cloned(),
                delivered: offset.get(COUNT_OFFSET).and_then(Json::as_u64).unwrap_or(0),
            },
        };
        if let Some(id) = &resume.last_id {
            tracing::info!(
                "feed {}: resuming after id {id} ({} records so far)",
                settings.url,
                resume.delivered
            );
        }
        self.topic = settings.topic.clone();
        self.batch_size = settings.batch_size;
        let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
        let cancel = CancellationToken::new();
        let reader = FeedReader::new(settings, partition, resume, tx, cancel.clone())?;
        self.reader = Some(tokio::spawn(reader.run()));
        self.cancel = Some(cancel.drop_guard());
        self.events = Some(rx);
        self.errors = Some(context.errors);
        self.pending_error = None;
        self.idle_logged = false;
        Ok(())
    }

    /// Cancel safe: the only await is the wait for the first event, and
    /// [`mpsc::Receiver::recv`] is cancel safe; events not yet taken stay in the channel.
    async fn poll(&mut self) -> Result<Vec<SourceRecord>> {
        if let Some(error) = self.pending_error.take() {
            return Err(error);
        }
        let Some(events) = self.events.as_mut() else {
            return Err(ConnectError::Other(
                "the HttpFeedSource task was polled before start".into(),
            ));
        };
        let first = match tokio::time::timeout(POLL_WAIT, events.recv()).await {
            Err(_) => return Ok(Vec::new()),
            Ok(Some(event)) => event,
            Ok(None) => {
                // The reader ended: a limit was reached. Stay idle without spinning.
                if !self.idle_logged {
                    tracing::info!(
                        "feed for topic '{}': done (time.limit.ms or max.records reached)",
                        self.topic
                    );
                    self.idle_logged = true;
                }
                tokio::time::sleep(POLL_WAIT).await;
                return Ok(Vec::new());
            }
        };
        let mut batch = Vec::with_capacity(self.batch_size.min(1024));
        let mut next = Some(first);
        while let Some(event) = next {
            if let Err(error) = self.take(event, &mut batch) {
                if batch.is_empty() {
                    return Err(error);
                }
                self.pending_error = Some(error);
                break;
            }
            if batch.len() >= self.batch_size {
                break;
            }
            next = self.events.as_mut().and_then(|rx| rx.try_recv().ok());
        }
        Ok(batch)
    }

    async fn stop(&mut self) -> Result<()> {
        self.cancel = None; // dropping the guard cancels the reader
        self.events = None;
        if let Some(reader) = self.reader.take() {
            if tokio::time::timeout(STOP_WAIT, reader).await.is_err() {
                tracing::warn!(
                    "feed reader for topic '{}' did not stop within {STOP_WAIT:?}",
                    self.topic
                );
            }
        }
        Ok(())
    }
}
