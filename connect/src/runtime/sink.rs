//! Runs one sink task: consume, convert, transform, `put`; every
//! `offset.flush.interval.ms` (and on stop) `flush` the task and only then commit the
//! consumer offsets, so a record is committed only once the external system has it.
//!
//! The task's consumer is a member of the group `connect-<connector>` (Kafka's name), reads
//! from the earliest offset when the group has none, and never auto-commits. Pausing pauses
//! the assigned partitions but keeps polling, so the member stays in its group.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{BorrowedMessage, Headers};
use rdkafka::{Message, Offset, TopicPartitionList};

use super::errors::{ErrorHandler, FailedRecord, Stage};
use super::task::TaskContext;
use crate::connector::{SinkTask, SinkTaskContext};
use crate::error::{ConnectError, Result};
use crate::herder::{State, TargetState};
use crate::record::{SinkRecord, TopicPartition};

/// The most records handed to one `put` (Kafka's `max.poll.records` default).
const MAX_BATCH: usize = 500;
/// How long a poll waits for the first record of a batch.
const POLL_WAIT: Duration = Duration::from_millis(500);

/// The consumer group of a sink connector's tasks.
pub fn group_id(connector: &str) -> String {
    format!("connect-{connector}")
}

/// Runs a sink task until it is cancelled, stopped or fails; reports its states.
pub async fn run(context: TaskContext, task: Box<dyn SinkTask>) {
    let id = context.id.clone();
    let status = Arc::clone(&context.status);
    if let Err(e) = run_inner(context, task).await {
        tracing::error!("task {}-{} failed: {e}", id.connector, id.task);
        status.task_state(&id, State::Failed, Some(format!("{e}")));
    }
}

struct SinkRunner {
    context: TaskContext,
    consumer: Arc<StreamConsumer>,
    errors: ErrorHandler,
    /// Next offset to commit per partition (consumed and put, or skipped).
    positions: BTreeMap<TopicPartition, i64>,
    assigned: BTreeSet<TopicPartition>,
    paused: bool,
}

async fn run_inner(mut context: TaskContext, mut task: Box<dyn SinkTask>) -> Result<()> {
    let client = context
        .worker
        .client_settings("consumer")
        .with_overrides(context.settings.consumer_overrides.clone());
    let consumer: StreamConsumer = client
        .consumer_config(Some(&group_id(&context.id.connector)))
        .set(
            "client.id",
            format!(
                "connector-consumer-{}-{}",
                context.id.connector, context.id.task
            ),
        )
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .create()?;
    match &context.settings.topics_regex {
        Some(regex) => {
            let pattern = if regex.starts_with('^') {
                regex.clone()
            } else {
                format!("^{regex}")
            };
            consumer.subscribe(&[pattern.as_str()])?;
        }
        None => {
            let topics: Vec<&str> = context.settings.topics.iter().map(String::as_str).collect();
            consumer.subscribe(&topics)?;
        }
    }
    let errors = ErrorHandler::new(
        context.settings.errors.clone(),
        &context.id.connector,
        context.id.task,
        &context.worker.client_settings("producer"),
    )
    .await?;
    task.start(
        context.task_config.clone(),
        SinkTaskContext {
            connector: context.id.connector.clone(),
        },
    )
    .await?;
    context.report(State::Running, None);
    if !context.settings.topics.is_empty() {
        for topic in &context.settings.topics {
            context.status.topic_used(&context.id.connector, topic);
        }
    }
    let _ = &mut context;
    let mut runner = SinkRunner {
        context,
        consumer: Arc::new(consumer),
        errors,
        positions: BTreeMap::new(),
        assigned: BTreeSet::new(),
        paused: false,
    };
    let outcome = runner.consume_loop(task.as_mut()).await;
    let committed = runner.commit(task.as_mut()).await;
    let open: Vec<TopicPartition> = runner.assigned.iter().cloned().collect();
    if let Err(e) = task.close(&open).await {
        tracing::warn!(
            "task {}-{}: close failed: {e}",
            runner.context.id.connector,
            runner.context.id.task
        );
    }
    if let Err(e) = task.stop().await {
        tracing::warn!(
            "task {}-{}: stop failed: {e}",
            runner.context.id.connector,
            runner.context.id.task
        );
    }
    let SinkRunner { consumer, .. } = runner;
    if let Ok(consumer) = Arc::try_unwrap(consumer) {
        let closed = tokio::task::spawn_blocking(move || {
            fjord_core::client::close_consumer(consumer, "sink consumer", Duration::from_secs(10))
        })
        .await;
        if let Ok(Err(e)) = closed {
            tracing::warn!("sink consumer close: {e}");
        }
    }
    outcome.and(committed)
}

impl SinkRunner {
    async fn consume_loop(&mut self, task: &mut dyn SinkTask) -> Result<()> {
        let flush_interval = self.context.worker.offset_flush_interval;
        let mut last_commit = Instant::now();
        loop {
            if self.context.control.cancel.is_cancelled() {
                return Ok(());
            }
            let target = *self.context.control.target.borrow();
            match target {
                TargetState::Stopped => return Ok(()),
                TargetState::Paused if !self.paused => {
                    self.commit(task).await?;
                    self.set_paused(true)?;
                    self.context.report(State::Paused, None);
                }
                TargetState::Started if self.paused => {
                    self.set_paused(false)?;
                    self.context.report(State::Running, None);
                }
                _ => {}
            }
            let batch = self.poll_batch().await?;
            self.track_assignment(task).await?;
            if !batch.is_empty() {
                self.put(task, batch).await?;
            }
            if last_commit.elapsed() >= flush_interval {
                self.commit(task).await?;
                last_commit = Instant::now();
            }
        }
    }

    fn set_paused(&mut self, paused: bool) -> Result<()> {
        let assignment = self.consumer.assignment()?;
        if paused {
            self.consumer.pause(&assignment)?;
        } else {
            self.consumer.resume(&assignment)?;
        }
        self.paused = paused;
        Ok(())
    }

    /// Up to [`MAX_BATCH`] converted, transformed records; waits at most [`POLL_WAIT`] for
    /// the first.
    async fn poll_batch(&mut self) -> Result<Vec<SinkRecord>> {
        let mut batch = Vec::new();
        // A clone of the handle, so the borrowed messages do not borrow `self`.
        let consumer = Arc::clone(&self.consumer);
        let first = tokio::select! {
            () = self.context.control.cancel.cancelled() => return Ok(batch),
            first = tokio::time::timeout(POLL_WAIT, consumer.recv()) => first,
        };
        let mut next = match first {
            Err(_) => return Ok(batch),
            Ok(message) => Some(message),
        };
        while let Some(message) = next.take() {
            match message {
                Ok(message) => {
                    if let Some(record) = self.convert(&message)? {
                        batch.push(record);
                    }
                }
                Err(e) => {
                    tracing::warn!(
                        "task {}-{}: consume: {e}",
                        self.context.id.connector,
                        self.context.id.task
                    );
                    break;
                }
            }
            if batch.len() >= MAX_BATCH {
                break;
            }
            next = tokio::time::timeout(Duration::ZERO, consumer.recv())
                .await
                .ok();
        }
        Ok(batch)
    }

    fn convert(&mut self, message: &BorrowedMessage<'_>) -> Result<Option<SinkRecord>> {
        let tp = TopicPartition::new(message.topic(), message.partition());
        let offset = message.offset();
        self.positions.insert(tp, offset + 1);
        let failed = FailedRecord {
            topic: message.topic().to_owned(),
            partition: Some(message.partition()),
            offset: Some(offset),
            key: message.key().map(<[u8]>::to_vec),
            value: message.payload().map(<[u8]>::to_vec),
            headers: message
                .headers()
                .map(|h| {
                    h.iter()
                        .map(|h| (h.key.to_owned(), h.value.map(<[u8]>::to_vec)))
                        .collect()
                })
                .unwrap_or_default(),
        };
        let record = match self
            .context
            .converters
            .to_connect(&failed, message.timestamp().to_millis())
        {
            Ok(record) => record,
            Err(f) => {
                self.errors.failed(f.stage, &f.class, f.error, failed)?;
                return Ok(None);
            }
        };
        match self.context.transforms.apply_naming_class(record) {
            Ok(Some(record)) => Ok(Some(SinkRecord { record, offset })),
            Ok(None) => Ok(None),
            Err((class, e)) => {
                self.errors
                    .failed(Stage::Transformation, class, e, failed)?;
                Ok(None)
            }
        }
    }

    async fn track_assignment(&mut self, task: &mut dyn SinkTask) -> Result<()> {
        let assignment = self.consumer.assignment()?;
        let now: BTreeSet<TopicPartition> = assignment
            .elements()
            .iter()
            .map(|e| TopicPartition::new(e.topic(), e.partition()))
            .collect();
        if now == self.assigned {
            return Ok(());
        }
        let added: Vec<TopicPartition> = now.difference(&self.assigned).cloned().collect();
        let removed: Vec<TopicPartition> = self.assigned.difference(&now).cloned().collect();
        if !removed.is_empty() {
            task.close(&removed).await?;
            for tp in &removed {
                self.positions.remove(tp);
            }
        }
        if !added.is_empty() {
            for tp in &added {
                if self.context.settings.topics_regex.is_some() {
                    self.context
                        .status
                        .topic_used(&self.context.id.connector, &tp.topic);
                }
            }
            task.open(&added).await?;
            if self.paused {
                self.consumer.pause(&assignment)?;
            }
        }
        self.assigned = now;
        Ok(())
    }

    /// `put` with retries of retriable failures (the same batch again after a backoff).
    async fn put(&mut self, task: &mut dyn SinkTask, batch: Vec<SinkRecord>) -> Result<()> {
        let mut backoff = Duration::from_millis(100);
        loop {
            match task.put(batch.clone()).await {
                Ok(()) => return Ok(()),
                Err(e) if e.is_retriable() => {
                    tracing::warn!(
                        "task {}-{}: put: {e}; retrying the batch",
                        self.context.id.connector,
                        self.context.id.task
                    );
                    tokio::select! {
                        () = self.context.control.cancel.cancelled() => return Err(e),
                        () = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(self.context.settings.errors.retry_delay_max);
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Flushes the task, then commits the consumed offsets.
    async fn commit(&mut self, task: &mut dyn SinkTask) -> Result<()> {
        if self.positions.is_empty() {
            return Ok(());
        }
        task.flush(&self.positions).await?;
        self.errors
            .flush(self.context.worker.offset_flush_timeout)
            .await;
        let mut list = TopicPartitionList::new();
        for (tp, offset) in &self.positions {
            list.add_partition_offset(&tp.topic, tp.partition, Offset::Offset(*offset))
                .map_err(|e| ConnectError::Kafka(e.to_string()))?;
        }
        let consumer = Arc::clone(&self.consumer);
        // A synchronous commit blocks on the coordinator's answer: a blocking-pool thread.
        let committed =
            tokio::task::spawn_blocking(move || consumer.commit(&list, CommitMode::Sync))
                .await
                .map_err(|e| ConnectError::Other(format!("offset commit stopped: {e}")))?;
        if let Err(e) = committed {
            // Not fatal: the records are in the external system; a rebalance may have
            // moved the partitions. They will be redelivered (at least once).
            tracing::warn!(
                "task {}-{}: offset commit failed: {e}",
                self.context.id.connector,
                self.context.id.task
            );
        }
        Ok(())
    }
}
