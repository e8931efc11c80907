//! A stream thread: one group member running its assigned tasks.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::message::{BorrowedMessage, Headers as _};
use rdkafka::producer::{BaseProducer, Producer};
use rdkafka::{ClientContext, Message, Offset, TopicPartitionList};

mod producer;
mod restore;

use super::setup;
use super::{Shared, StreamsMetrics, ThreadState};
use crate::config::{DslStore, ErrorPolicy, StreamsConfig};
use crate::error::{Result, StreamsError};
use crate::processor::{PunctuationType, TaskMetrics};
use crate::record::RawRecord;
use crate::state::checkpoint;
use crate::state::directory::StateDirectory;
use crate::task::{store_specs, Handlers, Task, TaskId, TaskState};
use crate::topology::{PartitionPlan, Topology};
use producer::{Collector, ProducerState};

/// How long a commit waits for the producer's acknowledgements.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(60);
/// How often wall-clock punctuations are checked.
const WALL_CLOCK_TICK: Duration = Duration::from_millis(50);

/// Input (topic, partition) -> next offset, of one task's commit.
type InputOffsets = Vec<((String, i32), i64)>;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The thread's tasks and clients, shared with the rebalance callbacks
/// (which run inside `poll`, on this same thread).
pub(crate) struct Core {
    index: usize,
    application_id: Arc<str>,
    topology: Arc<Topology>,
    config: StreamsConfig,
    shared: Arc<Shared>,
    tasks: BTreeMap<TaskId, Task>,
    producer: BaseProducer<ProducerState>,
    restore: BaseConsumer,
    /// The locked application state directory, when stores are persistent.
    state: Option<Arc<StateDirectory>>,
    /// Resolved source topic -> sub-topology.
    readers: BTreeMap<String, usize>,
    /// Metrics of tasks this thread closed.
    closed: TaskMetrics,
    restored: u64,
    restore_time: Duration,
    commits: u64,
    /// Set by a callback that failed; the loop stops the thread with it.
    failure: Option<StreamsError>,
}

impl Core {
    fn sub_of(&self, topic: &str) -> Option<usize> {
        if let Some(&s) = self.readers.get(topic) {
            return Some(s);
        }
        // A topic a pattern source matched after start.
        self.topology.subtopologies.iter().find_map(|sub| {
            self.topology.sources_of(sub.id).into_iter().find_map(|i| {
                match &self.topology.nodes[i].kind {
                    crate::topology::NodeKind::Source(crate::topology::SourceTopics::Pattern(
                        p,
                    )) if p.is_match(topic) => Some(sub.id),
                    _ => None,
                }
            })
        })
    }

    fn task_of(&self, topic: &str, partition: i32) -> Option<TaskId> {
        self.sub_of(topic).map(|subtopology| TaskId {
            subtopology,
            partition,
        })
    }

    fn handlers(&self) -> Handlers {
        Handlers {
            deserialization: self.config.deserialization_handler.clone(),
            processing: self.config.processing_handler,
            globals: self.topology.globals.clone(),
        }
    }

    /// Creates, restores and initializes the tasks of newly assigned partitions.
    fn assign(&mut self, partitions: &TopicPartitionList) -> Result<()> {
        let mut new: BTreeSet<TaskId> = BTreeSet::new();
        for e in partitions.elements() {
            if let Some(id) = self.task_of(e.topic(), e.partition()) {
                if !self.tasks.contains_key(&id) {
                    new.insert(id);
                }
            }
        }
        for id in new {
            let marks = self.changelog_marks(id)?;
            let (mut task, from) = self.open_task(id, &marks)?;
            self.restore_task(&mut task, &marks, &from)?;
            let mut collector = Collector {
                producer: &self.producer,
            };
            task.init(&mut collector, now_ms())?;
            tracing::info!(thread = self.index, task = %id, "task created");
            self.tasks.insert(id, task);
        }
        Ok(())
    }

    /// Commits the given tasks: store changes to changelogs, every produced
    /// record acknowledged, then the input offsets.
    fn commit(
        &mut self,
        consumer: &BaseConsumer<ThreadContext>,
        only: Option<&BTreeSet<TaskId>>,
    ) -> Result<()> {
        let mut collector = Collector {
            producer: &self.producer,
        };
        for (id, task) in self.tasks.iter_mut() {
            if only.is_none_or(|o| o.contains(id)) {
                task.flush_changelogs(&mut collector)?;
            }
        }
        self.producer
            .flush(FLUSH_TIMEOUT)
            .map_err(|e| StreamsError::kafka("waiting for produced records before a commit", e))?;
        self.check_deliveries()?;
        self.flush_stores(only)?;
        let mut tpl = TopicPartitionList::new();
        let mut committed: Vec<(TaskId, InputOffsets)> = Vec::new();
        for (id, task) in &self.tasks {
            if only.is_some_and(|o| !o.contains(id)) {
                continue;
            }
            let offsets = task.offsets_to_commit();
            for ((topic, p), off) in &offsets {
                tpl.add_partition_offset(topic, *p, Offset::Offset(*off))
                    .map_err(|e| StreamsError::kafka("building a commit", e))?;
            }
            committed.push((*id, offsets));
        }
        // The checkpoint depends on the changelogs and the stores only, both
        // settled by now: it is written even when the offset commit fails
        // (the inputs are then processed again, at least once either way).
        let result = if tpl.count() > 0 {
            consumer
                .commit(&tpl, CommitMode::Sync)
                .map_err(|e| StreamsError::kafka("committing offsets", e))
        } else {
            Ok(())
        };
        if result.is_ok() {
            if tpl.count() > 0 {
                self.commits += 1;
            }
            for (id, offsets) in committed {
                if let Some(t) = self.tasks.get_mut(&id) {
                    t.mark_committed(&offsets);
                }
            }
        }
        self.checkpoint(only)?;
        result
    }

    /// Flushes the given tasks' stores (their changes are acknowledged by
    /// the changelogs now).
    fn flush_stores(&mut self, only: Option<&BTreeSet<TaskId>>) -> Result<()> {
        for (id, task) in self.tasks.iter_mut() {
            if only.is_none_or(|o| o.contains(id)) {
                task.flush_stores()?;
            }
        }
        Ok(())
    }

    /// Moves the given tasks' changelog positions to what the producer had
    /// acknowledged and writes their checkpoints (after a commit: stores
    /// flushed, offsets committed).
    fn checkpoint(&mut self, only: Option<&BTreeSet<TaskId>>) -> Result<()> {
        let context = self.producer.context();
        for (id, task) in self.tasks.iter_mut() {
            if only.is_some_and(|o| !o.contains(id)) || task.state_dir.is_none() {
                continue;
            }
            for ((topic, partition), next) in task.positions.iter_mut() {
                if let Some(acked) = context.acked(topic, *partition) {
                    *next = (*next).max(acked + 1);
                }
            }
            task.write_checkpoint()?;
        }
        Ok(())
    }

    fn check_deliveries(&mut self) -> Result<()> {
        let failures: Vec<String> = std::mem::take(
            &mut *self
                .producer
                .context()
                .failures
                .lock()
                .unwrap_or_else(|p| p.into_inner()),
        );
        if failures.is_empty() {
            return Ok(());
        }
        match self.config.production_handler {
            ErrorPolicy::Continue => {
                for f in &failures {
                    tracing::warn!(thread = self.index, failure = %f, "record not produced (production.exception.handler=continue)");
                }
                Ok(())
            }
            ErrorPolicy::Fail => Err(StreamsError::kafka(
                "producing",
                format!(
                    "{} record(s) failed, first: {}",
                    failures.len(),
                    failures[0]
                ),
            )),
        }
    }

    /// Commits and closes the tasks of revoked partitions.
    fn revoke(
        &mut self,
        consumer: &BaseConsumer<ThreadContext>,
        partitions: &TopicPartitionList,
    ) -> Result<()> {
        let gone: BTreeSet<TaskId> = partitions
            .elements()
            .iter()
            .filter_map(|e| self.task_of(e.topic(), e.partition()))
            .filter(|id| self.tasks.contains_key(id))
            .collect();
        if gone.is_empty() {
            return Ok(());
        }
        let result = self.commit(consumer, Some(&gone));
        for id in &gone {
            if let Some(mut task) = self.tasks.remove(id) {
                let mut collector = Collector {
                    producer: &self.producer,
                };
                task.close(&mut collector, now_ms());
                self.closed.processed += task.metrics.processed;
                self.closed.dropped_records += task.metrics.dropped_records;
                self.closed.deserialization_errors += task.metrics.deserialization_errors;
                tracing::info!(thread = self.index, task = %id, "task closed (revoked)");
            }
        }
        result
    }

    fn metrics(&self) -> StreamsMetrics {
        let mut tasks = self.closed.clone();
        for t in self.tasks.values() {
            tasks.processed += t.metrics.processed;
            tasks.dropped_records += t.metrics.dropped_records;
            tasks.deserialization_errors += t.metrics.deserialization_errors;
        }
        StreamsMetrics {
            tasks,
            restored_records: self.restored,
            restore_ms: u64::try_from(self.restore_time.as_millis()).unwrap_or(u64::MAX),
            commits: self.commits,
        }
    }

    fn report(&self) {
        self.shared.report(
            self.index,
            self.tasks.keys().copied().collect(),
            self.metrics(),
        );
    }
}

/// The group consumer's context: rebalance callbacks move tasks.
pub(crate) struct ThreadContext {
    core: Arc<Mutex<Core>>,
}

impl ThreadContext {
    fn core(&self) -> MutexGuard<'_, Core> {
        self.core.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl ClientContext for ThreadContext {}

impl ConsumerContext for ThreadContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let mut core = self.core();
        let index = core.index;
        core.shared.set_thread(index, ThreadState::Rebalancing);
        if let Rebalance::Revoke(partitions) = rebalance {
            if let Err(e) = core.revoke(consumer, partitions) {
                core.failure.get_or_insert(e);
            }
            core.report();
        }
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let mut core = self.core();
        let index = core.index;
        match rebalance {
            Rebalance::Assign(partitions) => {
                if let Err(e) = core.assign(partitions) {
                    core.failure.get_or_insert(e);
                }
                core.report();
                core.shared.set_thread(index, ThreadState::Running);
            }
            Rebalance::Revoke(_) => {
                // Cooperative: what is left keeps running; eager: an assignment follows.
                core.shared.set_thread(index, ThreadState::Running);
            }
            Rebalance::Error(e) => {
                tracing::warn!(thread = index, error = %e, "rebalance error");
            }
        }
    }
}

/// One stream thread, ready to run.
pub(crate) struct StreamThread {
    index: usize,
    core: Arc<Mutex<Core>>,
    consumer: BaseConsumer<ThreadContext>,
    shared: Arc<Shared>,
    config: StreamsConfig,
}

impl StreamThread {
    pub fn new(
        index: usize,
        topology: Arc<Topology>,
        config: StreamsConfig,
        plan: Arc<PartitionPlan>,
        shared: Arc<Shared>,
        state: Option<Arc<StateDirectory>>,
    ) -> Result<Self> {
        let changelogs = topology
            .stores
            .iter()
            .filter(|s| s.logged)
            .map(|s| s.changelog_topic(&config.application_id));
        let producer: BaseProducer<ProducerState> = setup::producer_config(&config, index)
            .create_with_context(ProducerState::tracking(changelogs))
            .map_err(|e| StreamsError::kafka("creating the producer", e))?;
        let restore: BaseConsumer = setup::restore_consumer_config(&config, index)
            .create()
            .map_err(|e| StreamsError::kafka("creating the restore consumer", e))?;
        let mut readers = BTreeMap::new();
        for sub in &topology.subtopologies {
            for t in &plan.sources[sub.id] {
                readers.insert(t.clone(), sub.id);
            }
        }
        let application_id: Arc<str> = Arc::from(config.application_id.as_str());
        let subscription = subscription(&topology, &plan);
        let core = Arc::new(Mutex::new(Core {
            index,
            application_id: application_id.clone(),
            topology: topology.clone(),
            config: config.clone(),
            shared: shared.clone(),
            tasks: BTreeMap::new(),
            producer,
            restore,
            state,
            readers,
            closed: TaskMetrics::default(),
            restored: 0,
            restore_time: Duration::ZERO,
            commits: 0,
            failure: None,
        }));
        let consumer: BaseConsumer<ThreadContext> = setup::consumer_config(&config, index)
            .create_with_context(ThreadContext { core: core.clone() })
            .map_err(|e| StreamsError::kafka("creating the consumer", e))?;
        let refs: Vec<&str> = subscription.iter().map(String::as_str).collect();
        consumer
            .subscribe(&refs)
            .map_err(|e| StreamsError::kafka("subscribing", e))?;
        Ok(StreamThread {
            index,
            core,
            consumer,
            shared,
            config,
        })
    }

    fn core(&self) -> MutexGuard<'_, Core> {
        self.core.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The thread's loop, until shutdown or failure.
    pub fn run(self) {
        let result = self.process_loop();
        let close = self.shutdown(result.is_ok());
        match result.and(close) {
            Ok(()) => self.shared.set_thread(self.index, ThreadState::Dead),
            Err(e) => self.shared.fail(self.index, e),
        }
    }

    fn process_loop(&self) -> Result<()> {
        let mut last_commit = Instant::now();
        let mut last_tick = Instant::now();
        let mut last_report = Instant::now();
        while !self.shared.shutdown.load(Ordering::SeqCst) {
            let polled = self.consumer.poll(Duration::from_millis(20));
            let mut core = self.core();
            if let Some(e) = core.failure.take() {
                return Err(e);
            }
            if let Some(m) = polled {
                let m = m.map_err(|e| StreamsError::kafka("consuming", e))?;
                process_message(&mut core, &m)?;
                drop(m);
            }
            drop(core);
            // Drain what librdkafka already has, without waiting.
            for _ in 0..1000 {
                let Some(m) = self.consumer.poll(Duration::ZERO) else {
                    break;
                };
                let mut core = self.core();
                let m = m.map_err(|e| StreamsError::kafka("consuming", e))?;
                process_message(&mut core, &m)?;
            }
            let mut core = self.core();
            if let Some(e) = core.failure.take() {
                return Err(e);
            }
            core.producer.poll(Duration::ZERO);
            if last_tick.elapsed() >= WALL_CLOCK_TICK {
                last_tick = Instant::now();
                let now = now_ms();
                let Core {
                    tasks, producer, ..
                } = &mut *core;
                let mut collector = Collector { producer };
                for task in tasks.values_mut() {
                    task.punctuate(PunctuationType::WallClockTime, now, &mut collector, now)?;
                }
            }
            let pending: usize = core.tasks.values().map(|t| t.stores.pending_bytes()).sum();
            if last_commit.elapsed() >= self.config.commit_interval
                || pending > self.config.cache_max_bytes
            {
                core.commit(&self.consumer, None)?;
                last_commit = Instant::now();
            }
            if last_report.elapsed() >= Duration::from_millis(100) {
                last_report = Instant::now();
                core.report();
            }
        }
        Ok(())
    }

    /// Commits, closes the tasks, and closes the clients within the close timeout.
    fn shutdown(&self, commit: bool) -> Result<()> {
        let mut result = Ok(());
        {
            let mut core = self.core();
            if commit {
                result = core.commit(&self.consumer, None);
            }
            let now = now_ms();
            let Core {
                tasks, producer, ..
            } = &mut *core;
            for task in tasks.values_mut() {
                let mut collector = Collector { producer };
                task.close(&mut collector, now);
            }
            let _ = core.producer.flush(self.config.close_timeout);
            let closed: Vec<TaskMetrics> = core.tasks.values().map(|t| t.metrics.clone()).collect();
            for m in closed {
                core.closed.processed += m.processed;
                core.closed.dropped_records += m.dropped_records;
                core.closed.deserialization_errors += m.deserialization_errors;
            }
            core.tasks.clear();
            core.report();
        }
        // Leaving the group revokes what is left: nothing to commit any more.
        self.consumer.unsubscribe();
        result
    }
}

/// The topics to subscribe: every resolved source, and the patterns.
fn subscription(topology: &Topology, plan: &PartitionPlan) -> Vec<String> {
    let mut out: BTreeSet<String> = plan.sources.iter().flatten().cloned().collect();
    for node in &topology.nodes {
        if let crate::topology::NodeKind::Source(crate::topology::SourceTopics::Pattern(p)) =
            &node.kind
        {
            out.insert(librdkafka_pattern(p.as_str()));
        }
    }
    out.into_iter().collect()
}

/// Our anchored `^(?:p)$` as librdkafka's regex syntax (no `(?:`).
fn librdkafka_pattern(anchored: &str) -> String {
    let inner = anchored
        .strip_prefix("^(?:")
        .and_then(|s| s.strip_suffix(")$"))
        .unwrap_or(anchored);
    format!("^({inner})$")
}

fn process_message(core: &mut Core, m: &BorrowedMessage<'_>) -> Result<()> {
    let Some(id) = core.task_of(m.topic(), m.partition()) else {
        tracing::warn!(
            topic = m.topic(),
            "a record of a topic no source reads; skipped"
        );
        return Ok(());
    };
    let headers = m
        .headers()
        .map(|h| {
            h.iter()
                .map(|h| (h.key.to_string(), h.value.map(<[u8]>::to_vec)))
                .collect()
        })
        .unwrap_or_default();
    let raw = RawRecord {
        topic: m.topic().to_string(),
        partition: m.partition(),
        offset: m.offset(),
        timestamp: m.timestamp().to_millis().unwrap_or(-1),
        key: m.key().map(<[u8]>::to_vec),
        value: m.payload().map(<[u8]>::to_vec),
        headers,
    };
    let Core {
        tasks, producer, ..
    } = core;
    let Some(task) = tasks.get_mut(&id) else {
        // A record of a partition whose task was just revoked; its next owner reads it.
        return Ok(());
    };
    let mut collector = Collector { producer };
    task.process(raw, &mut collector, now_ms())
}
