//! A topology: the graph of sources, processors, sinks and stores a
//! [`crate::StreamsBuilder`] (or the Processor API) builds, split into
//! sub-topologies at repartition topics.
//!
//! A sub-topology is a connected part of the graph (nodes linked by edges or
//! by a shared store); it becomes one task per partition of its source
//! topics. Records cross between sub-topologies only through topics.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::error::{Result, StreamsError};
use crate::processor::NodeFactory;
use crate::state::StoreSpec;

/// A topic a node reads or writes: one of the user's, or one the application
/// owns, named `<application.id>-<suffix>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum TopicName {
    External(String),
    Internal(String),
}

impl TopicName {
    pub fn resolve(&self, application_id: &str) -> String {
        match self {
            TopicName::External(t) => t.clone(),
            TopicName::Internal(suffix) => format!("{application_id}-{suffix}"),
        }
    }

    /// The name as `describe()` shows it (internal topics without the
    /// application id, like Kafka's).
    fn described(&self) -> &str {
        match self {
            TopicName::External(t) | TopicName::Internal(t) => t,
        }
    }
}

/// What a source node reads.
#[derive(Debug, Clone)]
pub(crate) enum SourceTopics {
    Names(Vec<TopicName>),
    Pattern(regex::Regex),
}

/// The kind of a node.
#[derive(Clone)]
pub(crate) enum NodeKind {
    Source(SourceTopics),
    Processor,
    /// A sink; `None` when a topic chooser picks the topic per record.
    Sink(Option<TopicName>),
}

/// One node of the graph.
#[derive(Clone)]
pub(crate) struct NodeDef {
    pub name: String,
    pub kind: NodeKind,
    pub factory: NodeFactory,
    pub parents: Vec<usize>,
    pub children: Vec<usize>,
    pub stores: Vec<String>,
}

/// A repartition topic: written by one sub-topology, read by the next.
#[derive(Debug, Clone)]
pub(crate) struct RepartitionSpec {
    pub suffix: String,
    /// Fixed by `Repartitioned::with_partitions`, else the largest partition
    /// count of the writing sub-topology's sources.
    pub partitions: Option<i32>,
}

/// A connected part of the topology.
#[derive(Debug, Clone)]
pub(crate) struct Subtopology {
    pub id: usize,
    pub nodes: Vec<usize>,
    pub stores: Vec<String>,
}

/// A processing topology, ready to run ([`crate::KafkaStreams`]) or to test
/// ([`crate::TopologyTestDriver`]).
pub struct Topology {
    pub(crate) nodes: Vec<NodeDef>,
    pub(crate) stores: Vec<StoreSpec>,
    pub(crate) repartitions: Vec<RepartitionSpec>,
    /// Groups of topics that must have the same partition count (joins).
    pub(crate) copartition_groups: Vec<Vec<TopicName>>,
    pub(crate) subtopologies: Vec<Subtopology>,
    /// Global tables: (store name, topic).
    pub(crate) global_specs: Vec<(String, String)>,
    /// This instance's global stores (a clone of the topology gets empty ones).
    pub(crate) globals: crate::global::GlobalStores,
}

impl Clone for Topology {
    fn clone(&self) -> Self {
        Topology {
            nodes: self.nodes.clone(),
            stores: self.stores.clone(),
            repartitions: self.repartitions.clone(),
            copartition_groups: self.copartition_groups.clone(),
            subtopologies: self.subtopologies.clone(),
            global_specs: self.global_specs.clone(),
            globals: crate::global::GlobalStores::new(&self.global_specs),
        }
    }
}

impl std::fmt::Debug for Topology {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl Topology {
    pub(crate) fn new(
        nodes: Vec<NodeDef>,
        stores: Vec<StoreSpec>,
        repartitions: Vec<RepartitionSpec>,
        copartition_groups: Vec<Vec<TopicName>>,
        global_specs: Vec<(String, String)>,
    ) -> Result<Topology> {
        let mut topology = Topology {
            nodes,
            stores,
            repartitions,
            copartition_groups,
            subtopologies: Vec::new(),
            globals: crate::global::GlobalStores::new(&global_specs),
            global_specs,
        };
        topology.validate()?;
        topology.subtopologies = topology.split();
        Ok(topology)
    }

    fn validate(&self) -> Result<()> {
        let mut names = BTreeSet::new();
        for node in &self.nodes {
            if !names.insert(node.name.as_str()) {
                return Err(StreamsError::Topology(format!(
                    "two processors are named '{}'; names must be unique",
                    node.name
                )));
            }
        }
        let mut store_names = BTreeSet::new();
        for store in &self.stores {
            if !store_names.insert(store.name.as_str()) {
                return Err(StreamsError::Topology(format!(
                    "two state stores are named '{}'; store names must be unique (Materialized::as_)",
                    store.name
                )));
            }
        }
        for node in &self.nodes {
            for store in &node.stores {
                if !store_names.contains(store.as_str())
                    && !self.global_specs.iter().any(|(n, _)| n == store)
                {
                    return Err(StreamsError::Topology(format!(
                        "processor '{}' uses state store '{store}', which no part of the topology creates",
                        node.name
                    )));
                }
            }
        }
        for (name, _) in &self.global_specs {
            if !store_names.insert(name.as_str()) {
                return Err(StreamsError::Topology(format!(
                    "two state stores are named '{name}'; store names must be unique (Materialized::as_)"
                )));
            }
        }
        if !self
            .nodes
            .iter()
            .any(|n| matches!(n.kind, NodeKind::Source(_)))
        {
            return Err(StreamsError::Topology(
                "the topology has no source: call StreamsBuilder::stream or table first".into(),
            ));
        }
        Ok(())
    }

    /// Connected components: nodes joined by edges or by a shared store.
    fn split(&self) -> Vec<Subtopology> {
        let n = self.nodes.len();
        let mut parent: Vec<usize> = (0..n).collect();
        fn find(parent: &mut [usize], mut x: usize) -> usize {
            while parent[x] != x {
                parent[x] = parent[parent[x]];
                x = parent[x];
            }
            x
        }
        let union = |parent: &mut Vec<usize>, a: usize, b: usize| {
            let (ra, rb) = (find(parent, a), find(parent, b));
            if ra != rb {
                parent[ra.max(rb)] = ra.min(rb);
            }
        };
        for (i, node) in self.nodes.iter().enumerate() {
            for &c in &node.children {
                union(&mut parent, i, c);
            }
        }
        let mut store_owner: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, node) in self.nodes.iter().enumerate() {
            for store in &node.stores {
                match store_owner.get(store.as_str()) {
                    Some(&j) => union(&mut parent, i, j),
                    None => {
                        store_owner.insert(store, i);
                    }
                }
            }
        }
        let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for i in 0..n {
            let root = find(&mut parent, i);
            groups.entry(root).or_default().push(i);
        }
        // Roots are each group's smallest node, so groups come in build order.
        groups
            .into_values()
            .enumerate()
            .map(|(id, nodes)| {
                let mut stores: Vec<String> = nodes
                    .iter()
                    .flat_map(|&i| self.nodes[i].stores.iter().cloned())
                    .collect();
                stores.sort();
                stores.dedup();
                Subtopology { id, nodes, stores }
            })
            .collect()
    }

    /// The source nodes of a sub-topology.
    pub(crate) fn sources_of(&self, subtopology: usize) -> Vec<usize> {
        self.subtopologies[subtopology]
            .nodes
            .iter()
            .copied()
            .filter(|&i| matches!(self.nodes[i].kind, NodeKind::Source(_)))
            .collect()
    }

    /// The store definition `name`.
    pub(crate) fn store(&self, name: &str) -> Option<&StoreSpec> {
        self.stores.iter().find(|s| s.name == name)
    }

    /// The named source topics (not patterns) of a sub-topology.
    pub(crate) fn source_topics(&self, subtopology: usize) -> Vec<TopicName> {
        let mut out = Vec::new();
        for i in self.sources_of(subtopology) {
            if let NodeKind::Source(SourceTopics::Names(names)) = &self.nodes[i].kind {
                out.extend(names.iter().cloned());
            }
        }
        out
    }

    /// The internal topics a sub-topology writes (repartition sinks).
    pub(crate) fn repartition_sinks_of(&self, subtopology: usize) -> Vec<String> {
        self.subtopologies[subtopology]
            .nodes
            .iter()
            .filter_map(|&i| match &self.nodes[i].kind {
                NodeKind::Sink(Some(TopicName::Internal(s))) => Some(s.clone()),
                _ => None,
            })
            .collect()
    }

    /// The topology in Kafka Streams' `TopologyDescription` format.
    pub fn describe(&self) -> String {
        let mut out = String::from("Topologies:\n");
        for sub in &self.subtopologies {
            let _ = writeln!(out, "   Sub-topology: {}", sub.id);
            for &i in &sub.nodes {
                let node = &self.nodes[i];
                let _ = match &node.kind {
                    NodeKind::Source(SourceTopics::Names(topics)) => writeln!(
                        out,
                        "    Source: {} (topics: [{}])",
                        node.name,
                        topics
                            .iter()
                            .map(TopicName::described)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    NodeKind::Source(SourceTopics::Pattern(p)) => {
                        writeln!(out, "    Source: {} (topics: [{}])", node.name, p.as_str())
                    }
                    NodeKind::Processor => writeln!(
                        out,
                        "    Processor: {} (stores: [{}])",
                        node.name,
                        node.stores.join(", ")
                    ),
                    NodeKind::Sink(Some(topic)) => {
                        writeln!(
                            out,
                            "    Sink: {} (topic: {})",
                            node.name,
                            topic.described()
                        )
                    }
                    NodeKind::Sink(None) => writeln!(
                        out,
                        "    Sink: {} (extractor class: topic chooser)",
                        node.name
                    ),
                };
                if !matches!(node.kind, NodeKind::Sink(_)) {
                    let children: Vec<&str> = node
                        .children
                        .iter()
                        .map(|&c| self.nodes[c].name.as_str())
                        .collect();
                    let shown = if children.is_empty() {
                        "none".to_string()
                    } else {
                        children.join(", ")
                    };
                    let _ = writeln!(out, "      --> {shown}");
                }
                if !node.parents.is_empty() {
                    let parents: Vec<&str> = node
                        .parents
                        .iter()
                        .map(|&p| self.nodes[p].name.as_str())
                        .collect();
                    let _ = writeln!(out, "      <-- {}", parents.join(", "));
                }
            }
            out.push('\n');
        }
        out
    }

    /// The number of sub-topologies.
    pub fn subtopology_count(&self) -> usize {
        self.subtopologies.len()
    }

    /// The names of the state stores.
    pub fn store_names(&self) -> Vec<String> {
        self.stores.iter().map(|s| s.name.clone()).collect()
    }
}

/// Partition counts of a topology on a cluster: tasks per sub-topology and
/// the partition count of every internal topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PartitionPlan {
    /// Tasks (partitions) per sub-topology.
    pub tasks: Vec<i32>,
    /// Resolved internal topic name -> (partitions, is a changelog).
    pub internal: BTreeMap<String, (i32, bool)>,
    /// Resolved source topics per sub-topology (patterns expanded).
    pub sources: Vec<Vec<String>>,
}

impl Topology {
    /// Plans partition counts from the external topics' (`existing`: name ->
    /// partitions). Repartition topics get their writer's task count unless
    /// fixed; changelogs their sub-topology's.
    ///
    /// # Errors
    /// Missing source topics; a co-partitioning group with different counts.
    pub(crate) fn plan(
        &self,
        application_id: &str,
        existing: &BTreeMap<String, i32>,
    ) -> Result<PartitionPlan> {
        let n = self.subtopologies.len();
        let mut sources: Vec<Vec<String>> = vec![Vec::new(); n];
        let mut missing = Vec::new();
        let internal_sources: BTreeSet<String> = self
            .repartitions
            .iter()
            .map(|r| TopicName::Internal(r.suffix.clone()).resolve(application_id))
            .collect();
        for sub in &self.subtopologies {
            for i in self.sources_of(sub.id) {
                match &self.nodes[i].kind {
                    NodeKind::Source(SourceTopics::Names(names)) => {
                        for t in names {
                            let name = t.resolve(application_id);
                            if matches!(t, TopicName::External(_)) && !existing.contains_key(&name)
                            {
                                missing.push(name.clone());
                            }
                            sources[sub.id].push(name);
                        }
                    }
                    NodeKind::Source(SourceTopics::Pattern(p)) => sources[sub.id].extend(
                        existing
                            .keys()
                            .filter(|t| p.is_match(t) && !internal_sources.contains(*t))
                            .cloned(),
                    ),
                    _ => {}
                }
            }
        }
        for (_, topic) in &self.global_specs {
            if !existing.contains_key(topic) {
                missing.push(topic.clone());
            }
        }
        if !missing.is_empty() {
            missing.sort();
            missing.dedup();
            return Err(StreamsError::MissingSourceTopics(missing));
        }
        let mut counts: BTreeMap<String, i32> = existing.clone();
        let fixed: BTreeMap<String, i32> = self
            .repartitions
            .iter()
            .filter_map(|r| {
                r.partitions.map(|p| {
                    (
                        TopicName::Internal(r.suffix.clone()).resolve(application_id),
                        p,
                    )
                })
            })
            .collect();
        counts.extend(fixed.clone());
        let mut tasks = vec![0i32; n];
        // Writers come before readers in build order, but a fixpoint does not rely on it.
        for _ in 0..=n {
            for sub in &self.subtopologies {
                let known: Vec<i32> = sources[sub.id]
                    .iter()
                    .filter_map(|t| counts.get(t).copied())
                    .collect();
                tasks[sub.id] = known.into_iter().max().unwrap_or(0);
                for suffix in self.repartition_sinks_of(sub.id) {
                    let topic = TopicName::Internal(suffix).resolve(application_id);
                    if !fixed.contains_key(&topic) && tasks[sub.id] > 0 {
                        counts.insert(topic, tasks[sub.id]);
                    }
                }
            }
            // A repartition topic in a join takes the partition count of
            // the user topics it joins, so the two sides are co-partitioned.
            for group in &self.copartition_groups {
                let external = group
                    .iter()
                    .filter(|t| matches!(t, TopicName::External(_)))
                    .filter_map(|t| counts.get(&t.resolve(application_id)).copied())
                    .max();
                if let Some(c) = external {
                    for t in group.iter().filter(|t| matches!(t, TopicName::Internal(_))) {
                        let name = t.resolve(application_id);
                        if !fixed.contains_key(&name) {
                            counts.insert(name, c);
                        }
                    }
                }
            }
        }
        for group in &self.copartition_groups {
            let resolved: Vec<(String, Option<i32>)> = group
                .iter()
                .map(|t| {
                    let name = t.resolve(application_id);
                    let c = counts.get(&name).copied();
                    (name, c)
                })
                .collect();
            let distinct: BTreeSet<Option<i32>> = resolved.iter().map(|(_, c)| *c).collect();
            if distinct.len() > 1 {
                let list = resolved
                    .iter()
                    .map(|(t, c)| format!("{t} ({} partitions)", c.unwrap_or(0)))
                    .collect::<Vec<_>>()
                    .join(", ");
                return Err(StreamsError::Topology(format!(
                    "a join needs co-partitioned topics (the same partition count), but has {list}; repartition one side (KStream::repartition) to match"
                )));
            }
        }
        let mut internal = BTreeMap::new();
        for r in &self.repartitions {
            let topic = TopicName::Internal(r.suffix.clone()).resolve(application_id);
            let c = counts.get(&topic).copied().unwrap_or(1).max(1);
            internal.insert(topic, (c, false));
        }
        for sub in &self.subtopologies {
            for store in &sub.stores {
                if let Some(spec) = self.store(store) {
                    if spec.logged {
                        internal.insert(
                            spec.changelog_topic(application_id),
                            (tasks[sub.id].max(1), true),
                        );
                    }
                }
            }
        }
        Ok(PartitionPlan {
            tasks,
            internal,
            sources,
        })
    }
}
