//! The DSL: [`StreamsBuilder`], [`KStream`], [`KTable`], groupings, windows.
//!
//! Operators add nodes to a graph kept by the builder; `build()` checks it
//! and turns it into a [`Topology`]. Nodes are named after Kafka's
//! (`KSTREAM-FILTER-0000000003`) unless the operator was given a name, and
//! stores and internal topics take the names given to them, so a topology
//! can change without orphaning its state.

use std::cell::RefCell;
use std::rc::Rc;

use crate::error::{Result, StreamsError};
use crate::processor::NodeFactory;
use crate::state::{StoreKind, StoreSpec};
use crate::topology::{NodeDef, NodeKind, RepartitionSpec, SourceTopics, TopicName, Topology};

mod grouped;
mod kstream;
mod ktable;
mod nodes;
mod options;
mod session;
mod stream_join;
mod table_join;
mod windows;

pub use grouped::{KGroupedStream, KGroupedTable, TimeWindowedKStream};
pub use kstream::{BranchedKStream, KStream};
pub use ktable::{Change, KTable};
pub use options::{
    Consumed, Grouped, Materialized, Named, Produced, Repartitioned, SerdeRef, TimestampExtractor,
};
pub use session::{SessionWindowedKStream, SessionWindows};
pub use stream_join::{JoinWindows, StreamJoined};
pub use windows::{TimeWindows, Window, Windowed};

/// The graph under construction, shared by every stream and table of one
/// builder.
#[derive(Default)]
pub(crate) struct Graph {
    nodes: Vec<NodeDef>,
    stores: Vec<StoreSpec>,
    repartitions: Vec<RepartitionSpec>,
    copartition_groups: Vec<Vec<TopicName>>,
    /// Global tables: (store name, topic).
    globals: Vec<(String, String)>,
    counter: usize,
    /// Problems found while building, reported by `build()`.
    errors: Vec<String>,
}

pub(crate) type GraphRef = Rc<RefCell<Graph>>;

impl Graph {
    /// The next generated name with Kafka's prefix, e.g. `KSTREAM-MAP-0000000004`.
    pub fn generate(&mut self, prefix: &str) -> String {
        let name = format!("{prefix}-{:010}", self.counter);
        self.counter += 1;
        name
    }

    /// `name`, or a generated one.
    pub fn name_or(&mut self, name: Option<String>, prefix: &str) -> String {
        match name {
            Some(n) => {
                self.counter += 1;
                n
            }
            None => self.generate(prefix),
        }
    }

    pub fn add(
        &mut self,
        name: String,
        kind: NodeKind,
        factory: NodeFactory,
        parents: &[usize],
    ) -> usize {
        let id = self.nodes.len();
        for &p in parents {
            self.nodes[p].children.push(id);
        }
        self.nodes.push(NodeDef {
            name,
            kind,
            factory,
            parents: parents.to_vec(),
            children: Vec::new(),
            stores: Vec::new(),
        });
        id
    }

    pub fn add_store(&mut self, name: String, kind: StoreKind, logged: bool) {
        self.add_store_in(name, kind, logged, false);
    }

    /// Adds a store, in memory when `in_memory` (else the app's default kind).
    pub fn add_store_in(&mut self, name: String, kind: StoreKind, logged: bool, in_memory: bool) {
        self.stores.push(StoreSpec {
            name,
            kind,
            logged,
            in_memory,
        });
    }

    pub fn connect_store(&mut self, node: usize, store: &str) {
        self.nodes[node].stores.push(store.to_string());
    }

    pub fn add_repartition(&mut self, suffix: String, partitions: Option<i32>) {
        self.repartitions
            .push(RepartitionSpec { suffix, partitions });
    }

    pub fn add_copartition_group(&mut self, topics: Vec<TopicName>) {
        self.copartition_groups.push(topics);
    }

    pub fn error(&mut self, message: String) {
        self.errors.push(message);
    }

    pub fn rename(&mut self, node: usize, name: String) {
        self.nodes[node].name = name;
    }

    pub fn node_name(&self, node: usize) -> &str {
        &self.nodes[node].name
    }

    /// The named source topics upstream of `node` within its part of the
    /// graph (for co-partitioning checks).
    pub fn source_topics_upstream(&self, node: usize) -> Vec<TopicName> {
        let mut out = Vec::new();
        let mut stack = vec![node];
        let mut seen = std::collections::BTreeSet::new();
        while let Some(n) = stack.pop() {
            if !seen.insert(n) {
                continue;
            }
            if let NodeKind::Source(SourceTopics::Names(names)) = &self.nodes[n].kind {
                out.extend(names.iter().cloned());
            }
            stack.extend(self.nodes[n].parents.iter().copied());
        }
        out.sort();
        out.dedup();
        out
    }
}

/// Builds a topology with the DSL.
///
/// ```
/// use fjord_core::format::Utf8;
/// use fjord_streams::{Consumed, Produced, StreamsBuilder};
///
/// let builder = StreamsBuilder::new();
/// builder
///     .stream("words", Consumed::with(Utf8, Utf8))
///     .filter(|_, w| !w.is_empty())
///     .map_values(|w| w.to_uppercase())
///     .to("shouted", Produced::default());
/// let topology = builder.build()?;
/// assert!(topology.describe().contains("Source: KSTREAM-SOURCE-0000000000 (topics: [words])"));
/// # Ok::<(), fjord_streams::StreamsError>(())
/// ```
#[derive(Default)]
pub struct StreamsBuilder {
    graph: GraphRef,
}

impl StreamsBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// A stream of the records of `topics` (a name, or several).
    pub fn stream<K, V>(&self, topics: impl IntoTopics, consumed: Consumed<K, V>) -> KStream<K, V>
    where
        K: crate::processor::Data,
        V: crate::processor::Data,
    {
        let topics = SourceTopics::Names(
            topics
                .into_topics()
                .into_iter()
                .map(TopicName::External)
                .collect(),
        );
        kstream::source(&self.graph, topics, consumed)
    }

    /// A stream of the records of every topic whose name matches `pattern`
    /// (a regular expression matched against the whole name), including
    /// topics created later.
    pub fn stream_pattern<K, V>(&self, pattern: &str, consumed: Consumed<K, V>) -> KStream<K, V>
    where
        K: crate::processor::Data,
        V: crate::processor::Data,
    {
        let anchored = format!("^(?:{pattern})$");
        match regex::Regex::new(&anchored) {
            Ok(re) => kstream::source(&self.graph, SourceTopics::Pattern(re), consumed),
            Err(e) => {
                self.graph
                    .borrow_mut()
                    .error(format!("bad topic pattern '{pattern}': {e}"));
                kstream::source(&self.graph, SourceTopics::Names(Vec::new()), consumed)
            }
        }
    }

    /// A table of the latest value per key of `topic` (null values delete),
    /// materialized in a key-value store.
    pub fn table<K, V>(
        &self,
        topic: &str,
        consumed: Consumed<K, V>,
        materialized: Materialized<K, V>,
    ) -> KTable<K, V>
    where
        K: crate::processor::Data,
        V: crate::processor::Data,
    {
        ktable::source(&self.graph, topic, consumed, materialized)
    }

    /// A global table of `topic`: every partition, on every instance, so
    /// any task can look a key up (`KStream::join_global`) without
    /// co-partitioning. Loaded from the topic's start before the
    /// application runs, then kept up to date; the topic is its log (no
    /// changelog).
    pub fn global_table<K, V>(
        &self,
        topic: &str,
        consumed: Consumed<K, V>,
        materialized: Materialized<K, V>,
    ) -> GlobalKTable<K, V> {
        let mut g = self.graph.borrow_mut();
        let name = match materialized.name {
            Some(n) => n,
            None => g.generate(&format!("{topic}-STATE-STORE")),
        };
        g.globals.push((name.clone(), topic.to_string()));
        GlobalKTable {
            store: name,
            key_serde: materialized.key_serde.unwrap_or(consumed.key_serde),
            value_serde: materialized.value_serde.unwrap_or(consumed.value_serde),
        }
    }

    /// Adds a key-value store named `name` (logged to
    /// `<application.id>-<name>-changelog`) for processors of the Processor
    /// API ([`KStream::process`]).
    pub fn add_key_value_store(&self, name: &str) {
        self.graph
            .borrow_mut()
            .add_store(name.to_string(), StoreKind::KeyValue, true);
    }

    /// Adds a window store named `name` keeping windows for `retention`.
    pub fn add_window_store(&self, name: &str, retention: std::time::Duration) {
        self.graph.borrow_mut().add_store(
            name.to_string(),
            StoreKind::Window {
                retention_ms: i64::try_from(retention.as_millis()).unwrap_or(i64::MAX),
            },
            true,
        );
    }

    /// Checks the graph and returns the topology.
    ///
    /// # Errors
    /// [`StreamsError::Topology`] naming what is wrong (a duplicate name, a
    /// sink without serdes, a store nobody creates...).
    pub fn build(self) -> Result<Topology> {
        let graph = std::mem::take(&mut *self.graph.borrow_mut());
        if let Some(first) = graph.errors.first() {
            return Err(StreamsError::Topology(first.clone()));
        }
        Topology::new(
            graph.nodes,
            graph.stores,
            graph.repartitions,
            graph.copartition_groups,
            graph.globals,
        )
    }
}

/// A global table: a full copy of a topic on every instance.
pub struct GlobalKTable<K, V> {
    pub(crate) store: String,
    pub(crate) key_serde: SerdeRef<K>,
    pub(crate) value_serde: SerdeRef<V>,
}

impl<K, V> Clone for GlobalKTable<K, V> {
    fn clone(&self) -> Self {
        GlobalKTable {
            store: self.store.clone(),
            key_serde: self.key_serde.clone(),
            value_serde: self.value_serde.clone(),
        }
    }
}

impl<K, V> GlobalKTable<K, V> {
    /// The name of its store.
    pub fn store_name(&self) -> &str {
        &self.store
    }
}

/// Topic names a source reads: `"a"`, `["a", "b"]`, `vec![...]`.
pub trait IntoTopics {
    /// The names.
    fn into_topics(self) -> Vec<String>;
}

impl IntoTopics for &str {
    fn into_topics(self) -> Vec<String> {
        vec![self.to_string()]
    }
}

impl IntoTopics for String {
    fn into_topics(self) -> Vec<String> {
        vec![self]
    }
}

impl<const N: usize> IntoTopics for [&str; N] {
    fn into_topics(self) -> Vec<String> {
        self.iter().map(|s| s.to_string()).collect()
    }
}

impl IntoTopics for Vec<String> {
    fn into_topics(self) -> Vec<String> {
        self
    }
}

impl IntoTopics for &[&str] {
    fn into_topics(self) -> Vec<String> {
        self.iter().map(|s| s.to_string()).collect()
    }
}
