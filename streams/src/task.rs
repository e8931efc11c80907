//! A task: one sub-topology's nodes and stores for one partition.
//!
//! The task owns a fresh instance of every node and store of its
//! sub-topology, its stream time (the largest record timestamp it has seen),
//! its punctuation schedule and the next offset to commit per input
//! partition. Records go through its nodes depth first, as in Kafka Streams:
//! a node's forwarded records are fully processed downstream before the
//! node's next one.

use std::collections::HashMap;
use std::sync::Arc;

use crate::config::{DeserializationHandler, ErrorPolicy};
use crate::error::{Result, StreamsError};
use crate::processor::{
    ErasedRecord, NodeContext, PunctuationType, RecordCollector, Schedule, TaskEnv, TaskMetrics,
};
use crate::record::{OutputRecord, RawRecord, RecordMetadata};
use crate::state::Stores;
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
}

impl Task {
    pub fn new(
        id: TaskId,
        application_id: Arc<str>,
        topology: Arc<Topology>,
        handlers: Handlers,
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
        for name in &sub.stores {
            if let Some(spec) = topology.store(name) {
                stores.add(spec.create());
                if spec.logged {
                    changelogs.push((name.clone(), spec.changelog_topic(&application_id)));
                }
            }
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
        self.consumed
            .insert((record.topic.clone(), record.partition), record.offset + 1);
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
        let mut stack: Vec<(usize, ErasedRecord)> = vec![(start, record)];
        let mut out = Vec::new();
        while let Some((node, record)) = stack.pop() {
            let result = self.call_with(
                node,
                collector,
                wall_clock,
                Some(meta),
                &mut out,
                |n, ctx| n.process(ctx, record),
            );
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
