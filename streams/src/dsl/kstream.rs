//! [`KStream`]: an unbounded stream of records, and its stateless operators.

use std::sync::Arc;

use super::grouped::KGroupedStream;
use super::ktable::KTable;
use super::nodes::{SinkNode, SinkTarget, SourceNode};
use super::options::{same_type, Consumed, Grouped, Named, Produced, Repartitioned, SerdeRef};
use super::GraphRef;
use crate::error::Result;
use crate::processor::{node_factory, Data, FnNode, NodeFactory, Processor, ProcessorContext};
use crate::record::Record;
use crate::topology::{NodeKind, SourceTopics, TopicName};

/// A stream of records with keys `K` and values `V`.
///
/// Operators consume the stream and return a new one; clone a stream to
/// use it twice (both uses see every record).
pub struct KStream<K, V> {
    pub(crate) graph: GraphRef,
    pub(crate) node: usize,
    pub(crate) key_serde: Option<SerdeRef<K>>,
    pub(crate) value_serde: Option<SerdeRef<V>>,
    /// Whether the key changed since the last topic read, so a grouping or
    /// join must repartition first.
    pub(crate) repartition_required: bool,
}

impl<K, V> Clone for KStream<K, V> {
    fn clone(&self) -> Self {
        KStream {
            graph: self.graph.clone(),
            node: self.node,
            key_serde: self.key_serde.clone(),
            value_serde: self.value_serde.clone(),
            repartition_required: self.repartition_required,
        }
    }
}

/// A source node reading `topics`.
pub(crate) fn source<K: Data, V: Data>(
    graph: &GraphRef,
    topics: SourceTopics,
    consumed: Consumed<K, V>,
) -> KStream<K, V> {
    let mut g = graph.borrow_mut();
    let name = g.name_or(consumed.name, "KSTREAM-SOURCE");
    let (key, value, extractor) = (
        consumed.key_serde.clone(),
        consumed.value_serde.clone(),
        consumed.extractor,
    );
    let factory: NodeFactory = Arc::new(move || {
        Box::new(SourceNode {
            key: key.clone(),
            value: value.clone(),
            extractor: extractor.clone(),
        })
    });
    let node = g.add(name, NodeKind::Source(topics), factory, &[]);
    drop(g);
    KStream {
        graph: graph.clone(),
        node,
        key_serde: Some(consumed.key_serde),
        value_serde: Some(consumed.value_serde),
        repartition_required: false,
    }
}

/// Adds a sink node writing records of `parent` to `target`.
pub(crate) fn add_sink<K: Data, V: Data>(
    graph: &GraphRef,
    parent: usize,
    name: String,
    target: SinkTarget<K, V>,
    key: SerdeRef<K>,
    value: SerdeRef<V>,
) -> usize {
    let topic = match &target {
        SinkTarget::Fixed(t) => Some(t.clone()),
        SinkTarget::Chooser(_) => None,
    };
    let factory: NodeFactory = Arc::new(move || {
        Box::new(SinkNode {
            target: target.clone(),
            key: key.clone(),
            value: value.clone(),
            resolved: None,
        })
    });
    graph
        .borrow_mut()
        .add(name, NodeKind::Sink(topic), factory, &[parent])
}

impl<K: Data, V: Data> KStream<K, V> {
    pub(crate) fn derive<K2, V2>(
        &self,
        node: usize,
        key_serde: Option<SerdeRef<K2>>,
        value_serde: Option<SerdeRef<V2>>,
        repartition_required: bool,
    ) -> KStream<K2, V2> {
        KStream {
            graph: self.graph.clone(),
            node,
            key_serde,
            value_serde,
            repartition_required,
        }
    }

    /// This stream's types, serdes and keying, at another node (an operator
    /// that changes neither key nor value type).
    pub(crate) fn with_node(&self, node: usize) -> Self {
        self.derive(
            node,
            self.key_serde.clone(),
            self.value_serde.clone(),
            self.repartition_required,
        )
    }

    /// Adds a processor node fed by this stream, running `f` per record.
    pub(crate) fn add_fn<K2: Data, V2: Data, F>(&self, prefix: &str, f: F) -> usize
    where
        F: Fn(&mut ProcessorContext<'_, '_, '_, K2, V2>, Record<K, V>) -> Result<()>
            + Send
            + Sync
            + 'static,
    {
        let f = Arc::new(f);
        let factory = node_factory::<FnNode<F>, K, V, K2, V2>(move || FnNode(f.clone()));
        let mut g = self.graph.borrow_mut();
        let name = g.generate(prefix);
        g.add(name, NodeKind::Processor, factory, &[self.node])
    }

    /// Names the node of the operator that made this stream (instead of its
    /// generated `KSTREAM-...` name).
    pub fn named(self, name: impl Into<String>) -> Self {
        self.graph.borrow_mut().rename(self.node, name.into());
        self
    }

    /// Keeps the records for which `predicate` holds.
    pub fn filter(self, predicate: impl Fn(&K, &V) -> bool + Send + Sync + 'static) -> Self {
        let node = self.add_fn("KSTREAM-FILTER", move |ctx, r: Record<K, V>| {
            if predicate(&r.key, &r.value) {
                ctx.forward(r);
            }
            Ok(())
        });
        self.with_node(node)
    }

    /// Drops the records for which `predicate` holds.
    pub fn filter_not(self, predicate: impl Fn(&K, &V) -> bool + Send + Sync + 'static) -> Self {
        self.filter(move |k, v| !predicate(k, v))
    }

    /// A new key and value per record. The key changes, so a later grouping
    /// or join repartitions.
    pub fn map<K2: Data, V2: Data>(
        self,
        f: impl Fn(K, V) -> (K2, V2) + Send + Sync + 'static,
    ) -> KStream<K2, V2> {
        let node = self.add_fn("KSTREAM-MAP", move |ctx, r: Record<K, V>| {
            let (k, v) = f(r.key, r.value);
            ctx.forward(Record {
                key: k,
                value: v,
                timestamp: r.timestamp,
                headers: r.headers,
            });
            Ok(())
        });
        self.derive(
            node,
            same_type(&self.key_serde),
            same_type(&self.value_serde),
            true,
        )
    }

    /// A new value per record; the key stays.
    pub fn map_values<V2: Data>(
        self,
        f: impl Fn(V) -> V2 + Send + Sync + 'static,
    ) -> KStream<K, V2> {
        self.map_values_with_key(move |_, v| f(v))
    }

    /// A new value per record, computed from the key too; the key stays.
    pub fn map_values_with_key<V2: Data>(
        self,
        f: impl Fn(&K, V) -> V2 + Send + Sync + 'static,
    ) -> KStream<K, V2> {
        let node = self.add_fn("KSTREAM-MAPVALUES", move |ctx, r: Record<K, V>| {
            let v = f(&r.key, r.value);
            ctx.forward(Record {
                key: r.key,
                value: v,
                timestamp: r.timestamp,
                headers: r.headers,
            });
            Ok(())
        });
        self.derive(
            node,
            self.key_serde.clone(),
            same_type(&self.value_serde),
            self.repartition_required,
        )
    }

    /// Zero or more records per record.
    pub fn flat_map<K2: Data, V2: Data, I>(
        self,
        f: impl Fn(K, V) -> I + Send + Sync + 'static,
    ) -> KStream<K2, V2>
    where
        I: IntoIterator<Item = (K2, V2)>,
    {
        let node = self.add_fn("KSTREAM-FLATMAP", move |ctx, r: Record<K, V>| {
            for (k, v) in f(r.key, r.value) {
                ctx.forward(Record {
                    key: k,
                    value: v,
                    timestamp: r.timestamp,
                    headers: r.headers.clone(),
                });
            }
            Ok(())
        });
        self.derive(
            node,
            same_type(&self.key_serde),
            same_type(&self.value_serde),
            true,
        )
    }

    /// Zero or more values per record, each with the record's key.
    pub fn flat_map_values<V2: Data, I>(
        self,
        f: impl Fn(V) -> I + Send + Sync + 'static,
    ) -> KStream<K, V2>
    where
        I: IntoIterator<Item = V2>,
    {
        let node = self.add_fn("KSTREAM-FLATMAPVALUES", move |ctx, r: Record<K, V>| {
            for v in f(r.value) {
                ctx.forward(Record {
                    key: r.key.clone(),
                    value: v,
                    timestamp: r.timestamp,
                    headers: r.headers.clone(),
                });
            }
            Ok(())
        });
        self.derive(
            node,
            self.key_serde.clone(),
            same_type(&self.value_serde),
            self.repartition_required,
        )
    }

    /// A new key per record, computed from the record; the value stays.
    pub fn select_key<K2: Data>(
        self,
        f: impl Fn(&K, &V) -> K2 + Send + Sync + 'static,
    ) -> KStream<K2, V> {
        let node = self.add_fn("KSTREAM-KEY-SELECT", move |ctx, r: Record<K, V>| {
            let k = f(&r.key, &r.value);
            ctx.forward(Record {
                key: k,
                value: r.value,
                timestamp: r.timestamp,
                headers: r.headers,
            });
            Ok(())
        });
        self.derive(
            node,
            same_type(&self.key_serde),
            self.value_serde.clone(),
            true,
        )
    }

    /// Calls `f` on every record and passes it on unchanged.
    pub fn peek(self, f: impl Fn(&K, &V) + Send + Sync + 'static) -> Self {
        let node = self.add_fn("KSTREAM-PEEK", move |ctx, r: Record<K, V>| {
            f(&r.key, &r.value);
            ctx.forward(r);
            Ok(())
        });
        self.with_node(node)
    }

    /// Calls `f` on every record; the end of this branch.
    pub fn foreach(self, f: impl Fn(&K, &V) + Send + Sync + 'static) {
        self.add_fn::<K, V, _>("KSTREAM-FOREACH", move |_, r: Record<K, V>| {
            f(&r.key, &r.value);
            Ok(())
        });
    }

    /// Splits the stream into branches; each record goes to the first branch
    /// whose predicate it matches (Kafka's `split()`).
    pub fn split(self, named: Named) -> BranchedKStream<K, V> {
        BranchedKStream {
            stream: self,
            prefix: named.0.unwrap_or_default(),
            branches: Vec::new(),
        }
    }

    /// The records of this stream and of `other`, interleaved.
    pub fn merge(self, other: KStream<K, V>) -> KStream<K, V> {
        let f = Arc::new(
            |ctx: &mut ProcessorContext<'_, '_, '_, K, V>, r: Record<K, V>| {
                ctx.forward(r);
                Ok(())
            },
        );
        let factory = node_factory::<FnNode<_>, K, V, K, V>(move || FnNode(f.clone()));
        let mut g = self.graph.borrow_mut();
        let name = g.generate("KSTREAM-MERGE");
        let node = g.add(name, NodeKind::Processor, factory, &[self.node, other.node]);
        drop(g);
        self.derive(
            node,
            self.key_serde.clone(),
            self.value_serde.clone(),
            self.repartition_required || other.repartition_required,
        )
    }

    fn serdes_for(
        &self,
        what: &str,
        key: Option<SerdeRef<K>>,
        value: Option<SerdeRef<V>>,
    ) -> Option<(SerdeRef<K>, SerdeRef<V>)> {
        let key = key.or_else(|| self.key_serde.clone());
        let value = value.or_else(|| self.value_serde.clone());
        match (key, value) {
            (Some(k), Some(v)) => Some((k, v)),
            (k, _) => {
                let missing = if k.is_none() { "key" } else { "value" };
                let node = self.graph.borrow().node_name(self.node).to_string();
                self.graph.borrow_mut().error(format!(
                    "{what} after {node} has no {missing} serde: the types changed since the source, so pass them (Produced::with / Grouped::with / Repartitioned::with)"
                ));
                None
            }
        }
    }

    /// Writes every record to `topic`.
    pub fn to(self, topic: &str, produced: Produced<K, V>) {
        let target = SinkTarget::Fixed(TopicName::External(topic.to_string()));
        self.sink(&format!("the sink to '{topic}'"), target, produced);
    }

    /// Writes every record to the topic `chooser` picks for it.
    pub fn to_dynamic(
        self,
        chooser: impl Fn(&K, &V) -> String + Send + Sync + 'static,
        produced: Produced<K, V>,
    ) {
        self.sink(
            "a dynamic sink",
            SinkTarget::Chooser(Arc::new(chooser)),
            produced,
        );
    }

    fn sink(self, what: &str, target: SinkTarget<K, V>, produced: Produced<K, V>) {
        let Some((k, v)) = self.serdes_for(what, produced.key_serde, produced.value_serde) else {
            return;
        };
        let name = self
            .graph
            .borrow_mut()
            .name_or(produced.name, "KSTREAM-SINK");
        add_sink(&self.graph, self.node, name, target, k, v);
    }

    /// Writes the records through a repartition topic
    /// (`<application.id>-<name>-repartition`, with the partition count of
    /// the sources unless given), so each key lands on the task of its
    /// partition; downstream is a new sub-topology.
    pub fn repartition(self, repartitioned: Repartitioned<K, V>) -> KStream<K, V> {
        let Some((k, v)) = self.serdes_for(
            "repartition",
            repartitioned.key_serde,
            repartitioned.value_serde,
        ) else {
            return self;
        };
        let base = {
            let mut g = self.graph.borrow_mut();
            g.name_or(repartitioned.name, "KSTREAM-REPARTITION")
        };
        self.through_internal(&base, repartitioned.partitions, k, v)
    }

    /// Sink to and source from the internal topic `<base>-repartition`.
    pub(crate) fn through_internal(
        &self,
        base: &str,
        partitions: Option<i32>,
        key: SerdeRef<K>,
        value: SerdeRef<V>,
    ) -> KStream<K, V> {
        let suffix = format!("{base}-repartition");
        let topic = TopicName::Internal(suffix.clone());
        let sink_name = self.graph.borrow_mut().generate("KSTREAM-SINK");
        add_sink(
            &self.graph,
            self.node,
            sink_name,
            SinkTarget::Fixed(topic.clone()),
            key.clone(),
            value.clone(),
        );
        self.graph.borrow_mut().add_repartition(suffix, partitions);
        let consumed = Consumed {
            key_serde: key,
            value_serde: value,
            name: None,
            extractor: None,
        };
        source(&self.graph, SourceTopics::Names(vec![topic]), consumed)
    }

    /// Runs a [`Processor`] (one made by `supplier` per task) on every
    /// record, with access to the named state stores (added with
    /// [`crate::StreamsBuilder::add_key_value_store`] and friends).
    pub fn process<K2: Data, V2: Data, P>(
        self,
        supplier: impl Fn() -> P + Send + Sync + 'static,
        stores: &[&str],
    ) -> KStream<K2, V2>
    where
        P: Processor<K, V, K2, V2>,
    {
        let factory = node_factory::<P, K, V, K2, V2>(supplier);
        let mut g = self.graph.borrow_mut();
        let name = g.generate("KSTREAM-PROCESSOR");
        let node = g.add(name, NodeKind::Processor, factory, &[self.node]);
        for s in stores {
            g.connect_store(node, s);
        }
        drop(g);
        self.derive(node, None, None, true)
    }

    /// Joins each record with the table's current value for its key (a
    /// stream-table inner join: records whose key is not in the table are
    /// dropped). The stream and the table must be co-partitioned; a stream
    /// whose key changed is repartitioned first.
    pub fn join<VT: Data, VR: Data>(
        self,
        table: &KTable<K, VT>,
        joiner: impl Fn(&V, &VT) -> VR + Send + Sync + 'static,
    ) -> KStream<K, VR> {
        self.table_join(table, false, move |v, t: Option<&VT>| {
            t.map(|t| joiner(v, t))
        })
    }

    /// Like [`KStream::join`], but a record whose key is not in the table is
    /// joined with `None` (a left join).
    pub fn left_join<VT: Data, VR: Data>(
        self,
        table: &KTable<K, VT>,
        joiner: impl Fn(&V, Option<&VT>) -> VR + Send + Sync + 'static,
    ) -> KStream<K, VR> {
        self.table_join(table, true, move |v, t| Some(joiner(v, t)))
    }

    fn table_join<VT: Data, VR: Data>(
        self,
        table: &KTable<K, VT>,
        left: bool,
        joiner: impl Fn(&V, Option<&VT>) -> Option<VR> + Send + Sync + 'static,
    ) -> KStream<K, VR> {
        let kind = if left { "left join" } else { "join" };
        let Some(store) = table.store.clone() else {
            self.graph.borrow_mut().error(format!(
                "a stream-table {kind} needs a materialized table (a table from StreamsBuilder::table or an aggregation)"
            ));
            return self.derive(self.node, self.key_serde.clone(), None, false);
        };
        let (Some(key_serde), Some(table_serde)) =
            (table.key_serde.clone(), table.value_serde.clone())
        else {
            self.graph
                .borrow_mut()
                .error(format!("the table of a stream-table {kind} has no serdes"));
            return self.derive(self.node, self.key_serde.clone(), None, false);
        };
        let stream = if self.repartition_required {
            match self.serdes_for("a join's repartition", Some(key_serde.clone()), None) {
                Some((k, v)) => {
                    let base = self.graph.borrow_mut().generate("KSTREAM-JOIN");
                    self.through_internal(&base, None, k, v)
                }
                None => return self.derive(self.node, None, None, false),
            }
        } else {
            self
        };
        let changelog_store = store.clone();
        let node = stream.add_fn("KSTREAM-JOIN", move |ctx, r: Record<K, V>| {
            let topic = format!("{}-{changelog_store}-changelog", ctx.application_id());
            let Some(kb) = key_serde.serialize(&topic, &r.key)? else {
                return Ok(());
            };
            let current = match ctx.kv_store(&changelog_store)?.get(&kb)? {
                Some(b) => Some(table_serde.deserialize(&topic, Some(&b))?),
                None => None,
            };
            if let Some(joined) = joiner(&r.value, current.as_ref()) {
                ctx.forward(r.with_value(joined));
            }
            Ok(())
        });
        let mut g = stream.graph.borrow_mut();
        g.connect_store(node, &store);
        let mut topics = g.source_topics_upstream(stream.node);
        topics.extend(g.source_topics_upstream(table.node));
        g.add_copartition_group(topics);
        drop(g);
        stream.derive(node, stream.key_serde.clone(), None, false)
    }

    /// Joins each record with the global table's row for the key
    /// `key_mapper(key, value)` picks (an inner join: records without a row
    /// are dropped). No co-partitioning or repartitioning is needed.
    pub fn join_global<GK: Data, GV: Data, VR: Data>(
        self,
        table: &super::GlobalKTable<GK, GV>,
        key_mapper: impl Fn(&K, &V) -> GK + Send + Sync + 'static,
        joiner: impl Fn(&V, &GV) -> VR + Send + Sync + 'static,
    ) -> KStream<K, VR> {
        self.global_join(table, key_mapper, move |v, g: Option<&GV>| {
            g.map(|g| joiner(v, g))
        })
    }

    /// Like [`KStream::join_global`], but records without a row are joined
    /// with `None`.
    pub fn left_join_global<GK: Data, GV: Data, VR: Data>(
        self,
        table: &super::GlobalKTable<GK, GV>,
        key_mapper: impl Fn(&K, &V) -> GK + Send + Sync + 'static,
        joiner: impl Fn(&V, Option<&GV>) -> VR + Send + Sync + 'static,
    ) -> KStream<K, VR> {
        self.global_join(table, key_mapper, move |v, g| Some(joiner(v, g)))
    }

    fn global_join<GK: Data, GV: Data, VR: Data>(
        self,
        table: &super::GlobalKTable<GK, GV>,
        key_mapper: impl Fn(&K, &V) -> GK + Send + Sync + 'static,
        joiner: impl Fn(&V, Option<&GV>) -> Option<VR> + Send + Sync + 'static,
    ) -> KStream<K, VR> {
        let (store, ks, vs) = (
            table.store.clone(),
            table.key_serde.clone(),
            table.value_serde.clone(),
        );
        let node = self.add_fn("KSTREAM-LEFTJOIN", move |ctx, r: Record<K, V>| {
            let gk = key_mapper(&r.key, &r.value);
            let row = match ks.serialize(&store, &gk)? {
                Some(kb) => match ctx.global_get(&store, &kb)? {
                    Some(b) => Some(vs.deserialize(&store, Some(&b))?),
                    None => None,
                },
                None => None,
            };
            if let Some(out) = joiner(&r.value, row.as_ref()) {
                ctx.forward(r.with_value(out));
            }
            Ok(())
        });
        self.derive(
            node,
            self.key_serde.clone(),
            None,
            self.repartition_required,
        )
    }

    /// Groups by the current key, for an aggregation.
    pub fn group_by_key(self, grouped: Grouped<K, V>) -> KGroupedStream<K, V> {
        KGroupedStream::new(self, grouped)
    }

    /// Groups by a new key computed from each record; the aggregation reads
    /// through a repartition topic.
    pub fn group_by<K2: Data>(
        self,
        f: impl Fn(&K, &V) -> K2 + Send + Sync + 'static,
        grouped: Grouped<K2, V>,
    ) -> KGroupedStream<K2, V> {
        KGroupedStream::new(self.select_key(f), grouped)
    }
}

/// A branch's predicate.
type Predicate<K, V> = Arc<dyn Fn(&K, &V) -> bool + Send + Sync>;

/// The branches of a [`KStream::split`] under construction.
pub struct BranchedKStream<K, V> {
    stream: KStream<K, V>,
    prefix: String,
    branches: Vec<(String, Option<Predicate<K, V>>)>,
}

impl<K: Data, V: Data> BranchedKStream<K, V> {
    /// A branch named `<prefix><name>` for the records matching `predicate`
    /// (and no earlier branch's).
    pub fn branch(
        mut self,
        name: &str,
        predicate: impl Fn(&K, &V) -> bool + Send + Sync + 'static,
    ) -> Self {
        let name = format!("{}{name}", self.prefix);
        self.branches.push((name, Some(Arc::new(predicate))));
        self
    }

    /// The branch of every record no other branch took, named `<prefix><name>`;
    /// returns all branches by name.
    pub fn default_branch(
        mut self,
        name: &str,
    ) -> std::collections::BTreeMap<String, KStream<K, V>> {
        let name = format!("{}{name}", self.prefix);
        self.branches.push((name, None));
        self.finish()
    }

    /// Returns the branches by name; records no branch takes are dropped.
    pub fn no_default_branch(self) -> std::collections::BTreeMap<String, KStream<K, V>> {
        self.finish()
    }

    fn finish(self) -> std::collections::BTreeMap<String, KStream<K, V>> {
        let predicates: Vec<Option<Predicate<K, V>>> =
            self.branches.iter().map(|(_, p)| p.clone()).collect();
        let split = self
            .stream
            .add_fn("KSTREAM-BRANCH", move |ctx, r: Record<K, V>| {
                let hit = predicates
                    .iter()
                    .position(|p| p.as_ref().is_none_or(|p| p(&r.key, &r.value)));
                if let Some(i) = hit {
                    ctx.forward_to_index(i, r);
                }
                Ok(())
            });
        let split_stream = self.stream.derive::<K, V>(
            split,
            self.stream.key_serde.clone(),
            self.stream.value_serde.clone(),
            self.stream.repartition_required,
        );
        let mut out = std::collections::BTreeMap::new();
        for (name, _) in self.branches {
            let child = split_stream.add_fn("KSTREAM-BRANCHCHILD", |ctx, r: Record<K, V>| {
                ctx.forward(r);
                Ok(())
            });
            self.stream.graph.borrow_mut().rename(child, name.clone());
            out.insert(name, split_stream.with_node(child));
        }
        out
    }
}
