//! A task: one sub-topology's nodes and stores for one partition.
//!
//! The task owns a fresh instance of every node and store of its
//! sub-topology, its stream time (the largest record timestamp it has seen),
//! its punctuation schedule and the next offset to commit per input
//! partition. Records go through its nodes depth first, as in Kafka Streams:
//! a node's forwarded records are fully processed downstream before the
//! node's next one.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use crate::config::{DeserializationHandler, ErrorPolicy};
use crate::error::{Result, StreamsError};
use crate::processor::{
    ErasedRecord, NodeContext, PunctuationType, RecordCollector, Schedule, TaskEnv, TaskMetrics,
};
use crate::record::{OutputRecord, RawRecord, RecordMetadata};
use crate::state::{checkpoint, directory, StateStore, StoreSpec, Stores};
use crate::topology::{NodeKind, SourceTopics, Topology};

/// Identifies a task: `<sub-topology>_<partition>`, as Kafka names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId {
    /// The sub-topology.
    pub subtopology: usize,
    /// The partition of its source topics.
    pub partition: i32,
}

impl std::fmt::Display for TaskId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}_{}", self.subtopology, self.partition)
    }
}

/// How a task handles errors.
#[derive(Debug, Clone)]
pub(crate) struct Handlers {
    pub deserialization: DeserializationHandler,
    pub processing: ErrorPolicy,
    /// The instance's global stores, for lookups from any task.
    pub globals: crate::global::GlobalStores,
}

pub(crate) struct Task {
    pub id: TaskId,
    application_id: Arc<str>,
    topology: Arc<Topology>,
    nodes: Vec<Option<Box<dyn crate::processor::Node>>>,
    /// Resolved source topic name -> source node.
    sources: HashMap<String, usize>,
    patterns: Vec<(regex::Regex, usize)>,
    child_names: Vec<Vec<String>>,
    pub stores: Stores,
    /// (store name, changelog topic) of logged stores.
    pub changelogs: Vec<(String, String)>,
    pub stream_time: i64,
    schedules: Vec<Schedule>,
    next_fire: Vec<i64>,
    pub metrics: TaskMetrics,
    /// Next offset to commit, per input (topic, partition).
    pub consumed: HashMap<(String, i32), i64>,
    /// Offsets already committed, so an idle task does not commit again.
    pub committed: HashMap<(String, i32), i64>,
    handlers: Handlers,
    initialized: bool,
    /// The task's directory, when it has persistent stores.
    pub state_dir: Option<PathBuf>,
    /// Per changelog partition of a logged persistent store, the next
    /// offset its local store does not reflect yet.
    pub positions: checkpoint::Offsets,
    /// What the checkpoint file says now (read at open, or last written).
    pub checkpointed: Option<checkpoint::Offsets>,
    /// Buffers of the depth-first walk, reused between records.
    stack: Vec<(usize, ErasedRecord)>,
    out: Vec<(usize, ErasedRecord)>,
}

/// Where a task keeps its persistent stores.
pub(crate) struct TaskState {
    /// `<state.dir>/<application.id>/<task id>/`.
    pub dir: PathBuf,
    /// The page cache of each persistent store (`statestore.engine.cache.max.bytes`).
    pub cache_bytes: usize,
    /// Whether stores that do not ask for memory are persistent (`default.dsl.store`).
    pub default_persistent: bool,
    /// Persistent stores whose local files are kept (a checkpoint covers
    /// them, or they have no changelog); the others start empty.
    pub keep: BTreeSet<String>,
    /// The checkpoint read from `dir`, if any.
    pub checkpoint: Option<checkpoint::Offsets>,
}

impl TaskState {
    /// Whether `spec` is kept on disk.
    pub fn persistent(&self, spec: &StoreSpec) -> bool {
        self.default_persistent && !spec.in_memory
    }
}

/// The store definitions of a task's sub-topology.
pub(crate) fn store_specs(topology: &Topology, id: TaskId) -> Vec<StoreSpec> {
    topology.subtopologies[id.subtopology]
        .stores
        .iter()
        .filter_map(|name| topology.store(name).cloned())
        .collect()
}

impl Task {
    /// A task whose stores are in memory (the test driver's).
    pub fn new(
        id: TaskId,
        application_id: Arc<str>,
        topology: Arc<Topology>,
        handlers: Handlers,
    ) -> Task {
        let stores = store_specs(&topology, id)
            .iter()
            .map(StoreSpec::create)
            .collect();
        Self::assemble(id, application_id, topology, handlers, stores, None)
    }

    /// A task of the runtime: persistent stores opened in `state.dir`
    /// (those not kept wiped first), the others in memory.
    ///
    /// # Errors
    /// When a store's directory cannot be wiped or its file opened.
    pub fn open(
        id: TaskId,
        application_id: Arc<str>,
        topology: Arc<Topology>,
        handlers: Handlers,
        state: TaskState,
    ) -> Result<Task> {
        let mut stores = Vec::new();
        let mut any_persistent = false;
        for spec in store_specs(&topology, id) {
            if state.persistent(&spec) {
                any_persistent = true;
                let dir = directory::store_dir(&state.dir, &spec.name);
                if !state.keep.contains(&spec.name) {
                    directory::wipe(&dir)?;
                }
                stores.push(spec.open(&dir, state.cache_bytes)?);
            } else {
                stores.push(spec.create());
            }
        }
        let mut task = Self::assemble(id, application_id, topology, handlers, stores, None);
        if any_persistent {
            task.checkpointed = state.checkpoint;
            task.state_dir = Some(state.dir);
        }
        Ok(task)
    }

    fn assemble(
        id: TaskId,
        application_id: Arc<str>,
        topology: Arc<Topology>,
        handlers: Handlers,
        opened: Vec<Box<dyn StateStore>>,
        state_dir: Option<PathBuf>,
    ) -> Task {
        let sub = &topology.subtopologies[id.subtopology];
        let mut nodes: Vec<Option<Box<dyn crate::processor::Node>>> =
            (0..topology.nodes.len()).map(|_| None).collect();
        let mut sources = HashMap::new();
        let mut patterns = Vec::new();
        for &i in &sub.nodes {
            let def = &topology.nodes[i];
            nodes[i] = Some((def.factory)());
            if let NodeKind::Source(topics) = &def.kind {
                match topics {
                    SourceTopics::Names(names) => {
                        for t in names {
                            sources.insert(t.resolve(&application_id), i);
                        }
                    }
                    SourceTopics::Pattern(p) => patterns.push((p.clone(), i)),
                }
            }
        }
        let child_names = topology
            .nodes
            .iter()
            .map(|n| {
                n.children
                    .iter()
                    .map(|&c| topology.nodes[c].name.clone())
                    .collect()
            })
            .collect();
        let mut stores = Stores::default();
        let mut changelogs = Vec::new();
        for store in opened {
            if let Some(spec) = topology.store(store.name()) {
                if spec.logged {
                    changelogs.push((spec.name.clone(), spec.changelog_topic(&application_id)));
                }
            }
            stores.add(store);
        }
        Task {
            id,
            application_id,
            topology,
            nodes,
            sources,
            patterns,
            child_names,
            stores,
            changelogs,
            stream_time: -1,
            schedules: Vec::new(),
            next_fire: Vec::new(),
            metrics: TaskMetrics::default(),
            consumed: HashMap::new(),
            committed: HashMap::new(),
            handlers,
            initialized: false,
            stack: Vec::new(),
            out: Vec::new(),
            state_dir,
            positions: checkpoint::Offsets::new(),
            checkpointed: None,
        }
    }

    /// The source node reading `topic`, if this task's sub-topology reads it.
    pub fn source_for(&mut self, topic: &str) -> Option<usize> {
        if let Some(&n) = self.sources.get(topic) {
            return Some(n);
        }
        let found = self
            .patterns
            .iter()
            .find(|(p, _)| p.is_match(topic))
            .map(|(_, n)| *n)?;
        self.sources.insert(topic.to_string(), found);
        Some(found)
    }

    /// Initializes every node (after restoration): processors schedule
    /// punctuations and open their stores here.
    pub fn init(&mut self, collector: &mut dyn RecordCollector, wall_clock: i64) -> Result<()> {
        if self.initialized {
            return Ok(());
        }
        self.initialized = true;
        let order: Vec<usize> = self.topology.subtopologies[self.id.subtopology]
            .nodes
            .clone();
        for i in order {
            let before = self.schedules.len();
            self.call(i, collector, wall_clock, None, |node, ctx| node.init(ctx))?;
            for s in &self.schedules[before..] {
                let base = match s.kind {
                    PunctuationType::StreamTime => self.stream_time.max(0),
                    PunctuationType::WallClockTime => wall_clock,
                };
                self.next_fire.push(base + s.interval);
            }
        }
        Ok(())
    }

    /// Processes one consumed record through the sub-topology.
    pub fn process(
        &mut self,
        record: RawRecord,
        collector: &mut dyn RecordCollector,
        wall_clock: i64,
    ) -> Result<()> {
        let Some(source) = self.source_for(&record.topic) else {
            return Err(StreamsError::IllegalState(format!(
                "task {} got a record of topic {}, which it does not read",
                self.id, record.topic
            )));
        };
        // The common case (a partition seen before) allocates no key.
        match self
            .consumed
            .iter_mut()
            .find(|((t, p), _)| *p == record.partition && *t == record.topic)
        {
            Some((_, next)) => *next = record.offset + 1,
            None => {
                self.consumed
                    .insert((record.topic.clone(), record.partition), record.offset + 1);
            }
        }
        let meta = RecordMetadata {
            topic: record.topic.clone(),
            partition: record.partition,
            offset: record.offset,
        };
        self.metrics.processed += 1;
        let before = self.stream_time;
        self.run(source, Box::new(record), &meta, collector, wall_clock)?;
        if self.stream_time > before {
            self.punctuate(
                PunctuationType::StreamTime,
                self.stream_time,
                collector,
                wall_clock,
            )?;
        }
        Ok(())
    }

    /// Delivers `record` to `start` and everything it forwards, depth first.
    fn run(
        &mut self,
        start: usize,
        record: ErasedRecord,
        meta: &RecordMetadata,
        collector: &mut dyn RecordCollector,
        wall_clock: i64,
    ) -> Result<()> {
        // Reused between records: no allocation per record for the walk.
        let mut stack = std::mem::take(&mut self.stack);
        let mut out = std::mem::take(&mut self.out);
        stack.clear();
        stack.push((start, record));
        let result = self.walk(&mut stack, &mut out, meta, collector, wall_clock);
        stack.clear();
        out.clear();
        self.stack = stack;
        self.out = out;
        result
    }

    fn walk(
        &mut self,
        stack: &mut Vec<(usize, ErasedRecord)>,
        out: &mut Vec<(usize, ErasedRecord)>,
        meta: &RecordMetadata,
        collector: &mut dyn RecordCollector,
        wall_clock: i64,
    ) -> Result<()> {
        while let Some((node, record)) = stack.pop() {
            let result = self.call_with(node, collector, wall_clock, Some(meta), out, |n, ctx| {
                n.process(ctx, record)
            });
            if let Err(e) = result {
                out.clear();
                match (&e, self.handlers.processing) {
                    (
                        StreamsError::Processing { .. } | StreamsError::User(_),
                        ErrorPolicy::Continue,
                    ) => {
                        tracing::warn!(task = %self.id, error = %e, "record skipped (processing.exception.handler=continue)");
                        self.metrics.dropped_records += 1;
                        continue;
                    }
                    _ => return Err(e),
                }
            }
            stack.extend(out.drain(..).rev());
        }
        Ok(())
    }

    fn call(
        &mut self,
        node: usize,
        collector: &mut dyn RecordCollector,
        wall_clock: i64,
        meta: Option<&RecordMetadata>,
        f: impl FnOnce(&mut dyn crate::processor::Node, &mut NodeContext<'_, '_>) -> Result<()>,
    ) -> Result<()> {
        let mut out = Vec::new();
        self.call_with(node, collector, wall_clock, meta, &mut out, f)?;
        // Records forwarded outside of process (init, punctuate) run now.
        let mut stack: Vec<(usize, ErasedRecord)> = out.into_iter().rev().collect();
        let mut more = Vec::new();
        while let Some((n, record)) = stack.pop() {
            self.call_with(n, collector, wall_clock, meta, &mut more, |node, ctx| {
                node.process(ctx, record)
            })?;
            stack.extend(more.drain(..).rev());
        }
        Ok(())
    }

    fn call_with(
        &mut self,
        node: usize,
        collector: &mut dyn RecordCollector,
        wall_clock: i64,
        meta: Option<&RecordMetadata>,
        out: &mut Vec<(usize, ErasedRecord)>,
        f: impl FnOnce(&mut dyn crate::processor::Node, &mut NodeContext<'_, '_>) -> Result<()>,
    ) -> Result<()> {
        let Some(instance) = self.nodes[node].as_mut() else {
            return Err(StreamsError::IllegalState(format!(
                "task {}: node {} is not part of this task",
                self.id, self.topology.nodes[node].name
            )));
        };
        let def = &self.topology.nodes[node];
        let mut env = TaskEnv {
            application_id: &self.application_id,
            partition: self.id.partition,
            stream_time: &mut self.stream_time,
            wall_clock,
            record: meta,
            stores: &mut self.stores,
            collector,
            schedules: &mut self.schedules,
            metrics: &mut self.metrics,
            handlers: &self.handlers,
        };
        let mut ctx = NodeContext {
            node,
            node_name: &def.name,
            children: &def.children,
            child_names: &self.child_names[node],
            out,
            env: &mut env,
        };
        f(instance.as_mut(), &mut ctx)
    }

    /// Fires the punctuations of `kind` that are due at `now`.
    pub fn punctuate(
        &mut self,
        kind: PunctuationType,
        now: i64,
        collector: &mut dyn RecordCollector,
        wall_clock: i64,
    ) -> Result<()> {
        for i in 0..self.schedules.len() {
            let s = self.schedules[i].clone();
            if s.kind != kind || now < self.next_fire[i] {
                continue;
            }
            // Kafka fires once per call, then schedules the next multiple after now.
            self.next_fire[i] = now - (now - self.next_fire[i]) % s.interval + s.interval;
            self.call(s.node, collector, wall_clock, None, |node, ctx| {
                node.punctuate(ctx, s.id, now)
            })?;
        }
        Ok(())
    }

    /// Writes the store changes made since the last flush to their changelogs.
    pub fn flush_changelogs(&mut self, collector: &mut dyn RecordCollector) -> Result<()> {
        let partition = self.id.partition;
        for store in self.stores.iter_mut() {
            let Some((_, topic)) = self.changelogs.iter().find(|(n, _)| n == store.name()) else {
                let _ = store.take_changes();
                continue;
            };
            for (key, value) in store.take_changes() {
                collector.send(OutputRecord {
                    topic: topic.clone(),
                    partition: Some(partition),
                    key: Some(key),
                    value,
                    timestamp: self.stream_time.max(0),
                    headers: Vec::new(),
                })?;
            }
        }
        Ok(())
    }

    /// Makes every store's taken changes durable locally ([`StateStore::flush`]).
    pub fn flush_stores(&mut self) -> Result<()> {
        self.stores.flush()
    }

    /// The changelog topics of this task's logged persistent stores.
    pub fn persistent_changelogs(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        for (store, topic) in &self.changelogs {
            if self.stores.get(store).is_ok_and(|s| s.is_persistent()) {
                out.push(topic.clone());
            }
        }
        out
    }

    /// Writes the checkpoint file when the positions moved since the last
    /// one. Call only once the stores are flushed up to those positions.
    ///
    /// # Errors
    /// When the file cannot be written.
    pub fn write_checkpoint(&mut self) -> Result<()> {
        let Some(dir) = &self.state_dir else {
            return Ok(());
        };
        if self.positions.is_empty() || self.checkpointed.as_ref() == Some(&self.positions) {
            return Ok(());
        }
        checkpoint::write(dir, &self.positions)?;
        self.checkpointed = Some(self.positions.clone());
        Ok(())
    }

    /// Closes every node.
    pub fn close(&mut self, collector: &mut dyn RecordCollector, wall_clock: i64) {
        let order: Vec<usize> = self.topology.subtopologies[self.id.subtopology]
            .nodes
            .clone();
        for i in order {
            if let Err(e) = self.call(i, collector, wall_clock, None, |node, ctx| node.close(ctx)) {
                tracing::warn!(task = %self.id, error = %e, "closing a processor failed");
            }
        }
    }

    /// Offsets to commit: those consumed since the last commit.
    pub fn offsets_to_commit(&self) -> Vec<((String, i32), i64)> {
        self.consumed
            .iter()
            .filter(|(tp, off)| self.committed.get(*tp) != Some(off))
            .map(|(tp, off)| (tp.clone(), *off))
            .collect()
    }

    /// Marks offsets as committed.
    pub fn mark_committed(&mut self, offsets: &[((String, i32), i64)]) {
        for (tp, off) in offsets {
            self.committed.insert(tp.clone(), *off);
        }
    }
}
