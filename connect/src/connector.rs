//! The connector API: a [`Connector`] validates its config and splits the work into task
//! configs; each task is a [`SourceTask`] (external system -> records) or a [`SinkTask`]
//! (records -> external system). The worker owns everything around them: converters,
//! transforms, error handling, the producer or consumer, and committing offsets.
//!
//! Delivery: at least once in every mode today. A source's offsets are committed only after
//! the records before them are acknowledged by the broker; a sink's consumer offsets only
//! after `flush` returned. Room is kept for KIP-618 exactly-once sources
//! ([`Connector::exactly_once_support`], [`SourceTask::transaction_boundary`]); they need
//! broker transactions, which come later.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;

use crate::config::{ConfigDef, ConfigMap, ConfigValue};
use crate::error::Result;
use crate::record::{JsonMap, SinkRecord, SourceRecord, TopicPartition};

/// Whether a connector reads from an external system or writes to one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectorType {
    /// External system -> topics.
    Source,
    /// Topics -> external system.
    Sink,
}

impl ConnectorType {
    /// Kafka's name in REST answers (`"source"`, `"sink"`).
    pub fn name(self) -> &'static str {
        match self {
            ConnectorType::Source => "source",
            ConnectorType::Sink => "sink",
        }
    }
}

/// KIP-618: whether a source connector can give exactly-once delivery when the worker runs
/// it in a transaction per batch (not yet offered: the broker has no transactions yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExactlyOnceSupport {
    /// Only at least once.
    Unsupported,
    /// Exactly once when the worker commits its offsets transactionally.
    Supported,
}

/// A connector: its config keys and how it splits into tasks. One instance per configured
/// connector, created from a [`crate::plugins::Plugin`].
pub trait Connector: Send + Sync {
    /// Source or sink.
    fn connector_type(&self) -> ConnectorType;

    /// The connector's version (shown by `GET /connector-plugins`).
    fn version(&self) -> String {
        env!("CARGO_PKG_VERSION").to_owned()
    }

    /// The connector's own keys (the worker adds the common ones: name, connector.class,
    /// tasks.max, converters, transforms, errors.*).
    fn config_def(&self) -> ConfigDef;

    /// Checks a config and returns every key's result, never stopping at the first error.
    /// The default checks the [`ConfigDef`]; connectors add cross-key checks.
    fn validate(&self, config: &ConfigMap) -> Vec<ConfigValue> {
        self.config_def().validate(config)
    }

    /// Splits the (valid) connector config into at most `max_tasks` task configs.
    ///
    /// # Errors
    /// When the config cannot be split (the connector's reason).
    fn task_configs(&self, config: &ConfigMap, max_tasks: usize) -> Result<Vec<ConfigMap>>;

    /// A new, unstarted source task (for source connectors).
    fn source_task(&self) -> Option<Box<dyn SourceTask>> {
        None
    }

    /// A new, unstarted sink task (for sink connectors).
    fn sink_task(&self) -> Option<Box<dyn SinkTask>> {
        None
    }

    /// KIP-618 support (see [`ExactlyOnceSupport`]).
    fn exactly_once_support(&self) -> ExactlyOnceSupport {
        ExactlyOnceSupport::Unsupported
    }
}

/// Reads the committed source offsets of this connector: where a source task resumes.
pub trait OffsetReader: Send + Sync {
    /// The last committed offset of a source partition, if any.
    fn offset(&self, partition: &JsonMap) -> Option<JsonMap>;
}

/// Where a source task reports raw input it could not turn into a record (a malformed line):
/// the connector's `errors.*` settings decide (dead-letter topic with context headers under
/// `errors.tolerance=all`, where Kafka has no such hook for sources).
pub trait ErrantRecordReporter: Send + Sync {
    /// Reports `raw` (meant for `topic`) and why it failed.
    ///
    /// # Errors
    /// The error itself under `errors.tolerance=none`: the task should fail with it.
    fn report(&self, topic: &str, raw: &[u8], error: crate::ConnectError) -> Result<()>;
}

/// The reporter of `errors.tolerance=none`: every errant record is an error. For tasks run
/// outside a worker (tests, embedding).
#[derive(Debug, Clone, Copy, Default)]
pub struct FailOnErrant;

impl ErrantRecordReporter for FailOnErrant {
    fn report(&self, _topic: &str, _raw: &[u8], error: crate::ConnectError) -> Result<()> {
        Err(error)
    }
}

/// What a source task gets from the worker at start.
#[derive(Clone)]
pub struct SourceTaskContext {
    /// The connector's committed offsets.
    pub offsets: Arc<dyn OffsetReader>,
    /// Where to report input that cannot become a record.
    pub errors: Arc<dyn ErrantRecordReporter>,
}

/// What a sink task gets from the worker at start.
#[derive(Debug, Clone, Default)]
pub struct SinkTaskContext {
    /// The connector's name.
    pub connector: String,
}

/// Reads an external system into records.
///
/// The worker calls `start`, then `poll` in a loop (each call may wait for data but should
/// return within about a second with what it has, possibly nothing, so pause and stop are
/// prompt), then `stop`. `commit` runs after offsets up to the last acknowledged record were
/// committed.
#[async_trait]
pub trait SourceTask: Send {
    /// Starts with the task config (the connector's config plus what `task_configs` added).
    ///
    /// # Errors
    /// A bad config or an external system that cannot be reached; the task is FAILED.
    async fn start(&mut self, config: ConfigMap, context: SourceTaskContext) -> Result<()>;

    /// The next records; an empty vector when there are none yet.
    ///
    /// # Errors
    /// [`crate::ConnectError::Retriable`] to be retried; anything else fails the task.
    async fn poll(&mut self) -> Result<Vec<SourceRecord>>;

    /// Called after the worker committed offsets (hook for sources that acknowledge reads).
    ///
    /// # Errors
    /// Logged; the task keeps running.
    async fn commit(&mut self) -> Result<()> {
        Ok(())
    }

    /// KIP-618: whether a transaction should end after this record (for exactly-once
    /// sources; unused until the broker has transactions).
    fn transaction_boundary(&self, _record: &SourceRecord) -> bool {
        false
    }

    /// Stops: release files, connections.
    ///
    /// # Errors
    /// Logged.
    async fn stop(&mut self) -> Result<()>;
}

/// Writes records into an external system.
///
/// The worker calls `start`, `open` with the assigned partitions, `put` with each batch,
/// `flush` before committing consumer offsets, `close` on revoked partitions and `stop`.
#[async_trait]
pub trait SinkTask: Send {
    /// Starts with the task config.
    ///
    /// # Errors
    /// A bad config or an unreachable external system; the task is FAILED.
    async fn start(&mut self, config: ConfigMap, context: SinkTaskContext) -> Result<()>;

    /// Partitions newly assigned to this task.
    ///
    /// # Errors
    /// Fails the task.
    async fn open(&mut self, _partitions: &[TopicPartition]) -> Result<()> {
        Ok(())
    }

    /// Writes (or buffers) a batch of records.
    ///
    /// # Errors
    /// [`crate::ConnectError::Retriable`] to get the same batch again; anything else fails
    /// the task.
    async fn put(&mut self, records: Vec<SinkRecord>) -> Result<()>;

    /// Makes everything `put` so far durable; `offsets` are the next offsets to be
    /// committed per partition.
    ///
    /// # Errors
    /// The worker does not commit offsets and retries later.
    async fn flush(&mut self, offsets: &BTreeMap<TopicPartition, i64>) -> Result<()>;

    /// Partitions revoked from this task.
    ///
    /// # Errors
    /// Logged.
    async fn close(&mut self, _partitions: &[TopicPartition]) -> Result<()> {
        Ok(())
    }

    /// Stops.
    ///
    /// # Errors
    /// Logged.
    async fn stop(&mut self) -> Result<()>;
}
