//! The Processor API: the low-level way to write a processor, and what the
//! DSL is built on.
//!
//! A [`Processor`] gets each record of its input with a
//! [`ProcessorContext`], through which it forwards records downstream, reads
//! and writes its state stores, learns the stream time and where the record
//! came from, and schedules punctuations (periodic calls on stream time or
//! wall-clock time). One processor instance exists per task, so a processor
//! may keep plain fields: it is never shared between threads.
//!
//! Inside a task records are type-erased (`Box<dyn Any>`) between nodes; the
//! typed wrappers here downcast them back, which cannot fail for a topology
//! the DSL built (each edge has one type at both ends).

use std::any::Any;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use crate::error::{Result, StreamsError};
use crate::record::{OutputRecord, Record, RecordMetadata};
use crate::state::{KeyValueStore, StateStore, Stores, WindowStore};

/// A type-erased `Record<K, V>`.
pub(crate) type ErasedRecord = Box<dyn Any + Send>;

/// Bounds every key and value type of a topology satisfies.
pub trait Data: Clone + Send + 'static {}
impl<T: Clone + Send + 'static> Data for T {}

/// When a punctuation fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PunctuationType {
    /// When stream time (the largest record timestamp the task has seen)
    /// passes the next multiple of the interval.
    StreamTime,
    /// When the wall clock does.
    WallClockTime,
}

/// Identifies one punctuation a processor scheduled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PunctuationId(pub(crate) usize);

/// A punctuation requested by a node, registered with its task.
#[derive(Debug, Clone)]
pub(crate) struct Schedule {
    pub node: usize,
    pub id: PunctuationId,
    pub interval: i64,
    pub kind: PunctuationType,
}

/// Counters a task keeps, read through the runtime's and the test driver's
/// metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskMetrics {
    /// Records processed.
    pub processed: u64,
    /// Records dropped: late for their window (after the grace period),
    /// without a timestamp, or skipped by an error handler.
    pub dropped_records: u64,
    /// Records whose bytes could not be deserialized.
    pub deserialization_errors: u64,
}

/// Where a node sends records it produces to topics (sinks, changelogs).
pub(crate) trait RecordCollector {
    /// Queues one record for its topic.
    fn send(&mut self, record: OutputRecord) -> Result<()>;
}

/// Task-level facts and mutable state a node sees while it runs.
pub(crate) struct TaskEnv<'a> {
    pub application_id: &'a str,
    pub partition: i32,
    pub stream_time: &'a mut i64,
    pub wall_clock: i64,
    pub record: Option<&'a RecordMetadata>,
    pub stores: &'a mut Stores,
    pub collector: &'a mut dyn RecordCollector,
    pub schedules: &'a mut Vec<Schedule>,
    pub metrics: &'a mut TaskMetrics,
    pub handlers: &'a crate::task::Handlers,
}

/// What one node sees during one call: the task, and its children, to which
/// it forwards records (queued here; the task delivers them depth first).
pub(crate) struct NodeContext<'a, 'e> {
    pub node: usize,
    pub node_name: &'a str,
    pub children: &'a [usize],
    pub child_names: &'a [String],
    pub out: &'a mut Vec<(usize, ErasedRecord)>,
    pub env: &'a mut TaskEnv<'e>,
}

impl NodeContext<'_, '_> {
    /// A processing error at this node, naming the record being processed.
    pub fn error(&self, message: impl std::fmt::Display) -> StreamsError {
        let (topic, partition, offset) = match self.env.record {
            Some(m) => (m.topic.clone(), m.partition, m.offset),
            None => ("(punctuation)".to_string(), self.env.partition, -1),
        };
        StreamsError::Processing {
            node: self.node_name.to_string(),
            topic,
            partition,
            offset,
            message: message.to_string(),
        }
    }
}

/// A node of a task, type-erased.
pub(crate) trait Node: Send {
    fn init(&mut self, _ctx: &mut NodeContext<'_, '_>) -> Result<()> {
        Ok(())
    }
    fn process(&mut self, ctx: &mut NodeContext<'_, '_>, record: ErasedRecord) -> Result<()>;
    fn punctuate(
        &mut self,
        _ctx: &mut NodeContext<'_, '_>,
        _id: PunctuationId,
        _time: i64,
    ) -> Result<()> {
        Ok(())
    }
    fn close(&mut self, _ctx: &mut NodeContext<'_, '_>) -> Result<()> {
        Ok(())
    }
}

/// Creates one node per task.
pub(crate) type NodeFactory = Arc<dyn Fn() -> Box<dyn Node> + Send + Sync>;

/// Unboxes a record of the type an edge carries.
pub(crate) fn downcast<K: 'static, V: 'static>(
    ctx: &NodeContext<'_, '_>,
    record: ErasedRecord,
) -> Result<Record<K, V>> {
    record.downcast::<Record<K, V>>().map(|r| *r).map_err(|_| {
        ctx.error(format!(
            "internal: record is not a Record<{}, {}>",
            std::any::type_name::<K>(),
            std::any::type_name::<V>()
        ))
    })
}

/// The context a [`Processor`] works through.
pub struct ProcessorContext<'c, 'a, 'e, K, V> {
    pub(crate) inner: &'c mut NodeContext<'a, 'e>,
    _out: PhantomData<fn(K, V)>,
}

impl<'c, 'a, 'e, K: Data, V: Data> ProcessorContext<'c, 'a, 'e, K, V> {
    pub(crate) fn new(inner: &'c mut NodeContext<'a, 'e>) -> Self {
        ProcessorContext {
            inner,
            _out: PhantomData,
        }
    }

    /// Sends `record` to every child of this processor.
    pub fn forward(&mut self, record: Record<K, V>) {
        let children = self.inner.children;
        if let Some((&last, rest)) = children.split_last() {
            for &child in rest {
                self.inner.out.push((child, Box::new(record.clone())));
            }
            self.inner.out.push((last, Box::new(record)));
        }
    }

    /// Sends `record` to the child named `child` only (Kafka's
    /// `To.child`); returns false when there is no such child.
    pub fn forward_to(&mut self, child: &str, record: Record<K, V>) -> bool {
        match self.inner.child_names.iter().position(|n| n == child) {
            Some(i) => {
                self.inner
                    .out
                    .push((self.inner.children[i], Box::new(record)));
                true
            }
            None => false,
        }
    }

    /// Sends `record` to the `index`th child, in the order children were added.
    pub(crate) fn forward_to_index(&mut self, index: usize, record: Record<K, V>) {
        if let Some(&child) = self.inner.children.get(index) {
            self.inner.out.push((child, Box::new(record)));
        }
    }

    /// The largest record timestamp this task has seen.
    pub fn stream_time(&self) -> i64 {
        *self.inner.env.stream_time
    }

    /// The wall-clock time, ms since the epoch (the test driver's mock
    /// clock under the driver).
    pub fn wall_clock_time(&self) -> i64 {
        self.inner.env.wall_clock
    }

    /// The application id.
    pub fn application_id(&self) -> &str {
        self.inner.env.application_id
    }

    /// The partition of this processor's task.
    pub fn partition(&self) -> i32 {
        self.inner.env.partition
    }

    /// Where the record being processed came from; `None` inside a punctuation.
    pub fn record_metadata(&self) -> Option<&RecordMetadata> {
        self.inner.env.record
    }

    /// Schedules a punctuation every `interval`; the processor's
    /// [`Processor::punctuate`] is called with the returned id.
    pub fn schedule(&mut self, interval: Duration, kind: PunctuationType) -> PunctuationId {
        let id = PunctuationId(self.inner.env.schedules.len());
        self.inner.env.schedules.push(Schedule {
            node: self.inner.node,
            id,
            interval: i64::try_from(interval.as_millis())
                .unwrap_or(i64::MAX)
                .max(1),
            kind,
        });
        id
    }

    /// The key-value store `name`, connected to this processor.
    ///
    /// # Errors
    /// When there is no such store in this task, or it is not a key-value store.
    pub fn kv_store(&mut self, name: &str) -> Result<&mut dyn KeyValueStore> {
        self.inner.env.stores.kv(name)
    }

    /// The window store `name`.
    ///
    /// # Errors
    /// When there is no such store in this task, or it is not a window store.
    pub fn window_store(&mut self, name: &str) -> Result<&mut dyn WindowStore> {
        self.inner.env.stores.window(name)
    }

    /// Any store `name`.
    ///
    /// # Errors
    /// When there is no such store in this task.
    pub fn store(&mut self, name: &str) -> Result<&mut dyn StateStore> {
        self.inner.env.stores.get(name)
    }

    /// The value bytes of `key` in the global store `name` (a
    /// [`crate::GlobalKTable`]'s), from any task.
    ///
    /// # Errors
    /// When the topology has no global store of that name.
    pub fn global_get(&self, name: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        match self.inner.env.handlers.globals.get(name) {
            Some(store) => Ok(store.get(key)),
            None => Err(StreamsError::store(name, "no global store of this name")),
        }
    }

    /// An error naming this processor and the record being processed.
    pub fn error(&self, message: impl std::fmt::Display) -> StreamsError {
        self.inner.error(message)
    }

    /// Counts a record this processor dropped on purpose (late, invalid).
    pub fn record_dropped(&mut self) {
        self.inner.env.metrics.dropped_records += 1;
    }
}

/// A processor of the Processor API: gets records of `(KIn, VIn)` and
/// forwards records of `(KOut, VOut)`.
pub trait Processor<KIn, VIn, KOut, VOut>: Send + 'static {
    /// Called once when the task starts, after its stores are restored.
    ///
    /// # Errors
    /// An error fails the task.
    fn init(&mut self, _ctx: &mut ProcessorContext<'_, '_, '_, KOut, VOut>) -> Result<()> {
        Ok(())
    }

    /// Processes one record.
    ///
    /// # Errors
    /// An error goes to the processing error handler (fail by default).
    fn process(
        &mut self,
        ctx: &mut ProcessorContext<'_, '_, '_, KOut, VOut>,
        record: Record<KIn, VIn>,
    ) -> Result<()>;

    /// A punctuation this processor scheduled fired at `time`.
    ///
    /// # Errors
    /// An error fails the task.
    fn punctuate(
        &mut self,
        _ctx: &mut ProcessorContext<'_, '_, '_, KOut, VOut>,
        _id: PunctuationId,
        _time: i64,
    ) -> Result<()> {
        Ok(())
    }

    /// Called once when the task closes (after its last commit).
    ///
    /// # Errors
    /// Logged; closing goes on.
    fn close(&mut self, _ctx: &mut ProcessorContext<'_, '_, '_, KOut, VOut>) -> Result<()> {
        Ok(())
    }
}

/// The record types of a node's input and output edges.
type Edges<KIn, VIn, KOut, VOut> = fn(KIn, VIn) -> (KOut, VOut);

/// A [`Processor`] as a task node.
pub(crate) struct ProcessorNode<P, KIn, VIn, KOut, VOut> {
    processor: P,
    _types: PhantomData<Edges<KIn, VIn, KOut, VOut>>,
}

impl<P, KIn, VIn, KOut, VOut> ProcessorNode<P, KIn, VIn, KOut, VOut> {
    pub fn new(processor: P) -> Self {
        ProcessorNode {
            processor,
            _types: PhantomData,
        }
    }
}

impl<P, KIn, VIn, KOut, VOut> Node for ProcessorNode<P, KIn, VIn, KOut, VOut>
where
    P: Processor<KIn, VIn, KOut, VOut>,
    KIn: Data,
    VIn: Data,
    KOut: Data,
    VOut: Data,
{
    fn init(&mut self, ctx: &mut NodeContext<'_, '_>) -> Result<()> {
        self.processor.init(&mut ProcessorContext::new(ctx))
    }

    fn process(&mut self, ctx: &mut NodeContext<'_, '_>, record: ErasedRecord) -> Result<()> {
        let record = downcast::<KIn, VIn>(ctx, record)?;
        self.processor
            .process(&mut ProcessorContext::new(ctx), record)
    }

    fn punctuate(
        &mut self,
        ctx: &mut NodeContext<'_, '_>,
        id: PunctuationId,
        time: i64,
    ) -> Result<()> {
        self.processor
            .punctuate(&mut ProcessorContext::new(ctx), id, time)
    }

    fn close(&mut self, ctx: &mut NodeContext<'_, '_>) -> Result<()> {
        self.processor.close(&mut ProcessorContext::new(ctx))
    }
}

/// A factory of processors of one type, one per task (Kafka's
/// `ProcessorSupplier`).
pub(crate) fn node_factory<P, KIn, VIn, KOut, VOut>(
    supplier: impl Fn() -> P + Send + Sync + 'static,
) -> NodeFactory
where
    P: Processor<KIn, VIn, KOut, VOut>,
    KIn: Data,
    VIn: Data,
    KOut: Data,
    VOut: Data,
{
    Arc::new(move || Box::new(ProcessorNode::<P, KIn, VIn, KOut, VOut>::new(supplier())))
}

/// A processor from a shared closure `f(ctx, record)`: the DSL's stateless
/// operators (one closure for all tasks; the tasks call it in turn).
pub(crate) struct FnNode<F>(pub Arc<F>);

impl<F, KIn, VIn, KOut, VOut> Processor<KIn, VIn, KOut, VOut> for FnNode<F>
where
    F: Fn(&mut ProcessorContext<'_, '_, '_, KOut, VOut>, Record<KIn, VIn>) -> Result<()>
        + Send
        + Sync
        + 'static,
    KIn: Data,
    VIn: Data,
    KOut: Data,
    VOut: Data,
{
    fn process(
        &mut self,
        ctx: &mut ProcessorContext<'_, '_, '_, KOut, VOut>,
        record: Record<KIn, VIn>,
    ) -> Result<()> {
        (self.0)(ctx, record)
    }
}
