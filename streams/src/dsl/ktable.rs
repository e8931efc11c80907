//! [`KTable`]: a changelog stream read as a table, the latest value per key.

use std::sync::Arc;

use fjord_core::format::{Serde, SerdeError};

use super::grouped::KGroupedTable;
use super::nodes::{observe_time, on_bad_record, raw_record};
use super::options::{Consumed, Grouped, Materialized, SerdeRef};
use super::GraphRef;
use super::KStream;
use crate::error::Result;
use crate::processor::{Data, ErasedRecord, Node, NodeContext, NodeFactory, ProcessorContext};
use crate::record::Record;
use crate::state::StoreKind;
use crate::topology::{NodeKind, SourceTopics, TopicName};

/// An update of a table row: the new value (`None`: deleted) and the old
/// one (`None`: it did not exist). Table nodes forward these.
#[derive(Debug, Clone, PartialEq)]
pub struct Change<V> {
    /// The value after the update.
    pub new: Option<V>,
    /// The value before it.
    pub old: Option<V>,
}

/// A table: for each key, its latest value.
pub struct KTable<K, V> {
    pub(crate) graph: GraphRef,
    pub(crate) node: usize,
    pub(crate) key_serde: Option<SerdeRef<K>>,
    pub(crate) value_serde: Option<SerdeRef<V>>,
    /// The store holding this table, when it is materialized.
    pub(crate) store: Option<String>,
}

impl<K, V> Clone for KTable<K, V> {
    fn clone(&self) -> Self {
        KTable {
            graph: self.graph.clone(),
            node: self.node,
            key_serde: self.key_serde.clone(),
            value_serde: self.value_serde.clone(),
            store: self.store.clone(),
        }
    }
}

/// Serializes `value` for `store`, naming the store when it fails.
pub(crate) fn store_bytes<T: 'static>(
    serde: &dyn Serde<T>,
    topic: &str,
    value: &T,
) -> Result<Vec<u8>> {
    Ok(serde.serialize(topic, value)?.ok_or_else(|| {
        SerdeError::serialize(serde.format(), topic, "a state store cannot hold null")
    })?)
}

/// Reads a table's topic into its store.
struct TableSource<K, V> {
    key: SerdeRef<K>,
    value: SerdeRef<V>,
    store: String,
    changelog: String,
}

impl<K: Data, V: Data> Node for TableSource<K, V> {
    fn init(&mut self, ctx: &mut NodeContext<'_, '_>) -> Result<()> {
        self.changelog = format!("{}-{}-changelog", ctx.env.application_id, self.store);
        Ok(())
    }

    fn process(&mut self, ctx: &mut NodeContext<'_, '_>, record: ErasedRecord) -> Result<()> {
        let raw = raw_record(ctx, record)?;
        let decoded = self
            .key
            .deserialize(&raw.topic, raw.key.as_deref())
            .and_then(|k| {
                let v = match raw.value.as_deref() {
                    Some(bytes) => Some(self.value.deserialize(&raw.topic, Some(bytes))?),
                    None => None,
                };
                Ok((k, v))
            });
        let (key, new) = match decoded {
            Ok(kv) => kv,
            Err(e) => return on_bad_record(ctx, &raw, e),
        };
        if !observe_time(ctx, &raw, raw.timestamp) {
            return Ok(());
        }
        let kb = store_bytes(self.key.as_ref(), &self.changelog, &key)?;
        let store = ctx.env.stores.kv(&self.store)?;
        let old = match store.get(&kb)? {
            Some(bytes) => Some(self.value.deserialize(&self.changelog, Some(&bytes))?),
            None => None,
        };
        match &new {
            Some(v) => store.put(&kb, &store_bytes(self.value.as_ref(), &self.changelog, v)?)?,
            None => {
                store.delete(&kb)?;
            }
        }
        if new.is_none() && old.is_none() {
            return Ok(());
        }
        ProcessorContext::new(ctx).forward(Record {
            key,
            value: Change { new, old },
            timestamp: raw.timestamp,
            headers: raw.headers,
        });
        Ok(())
    }
}

/// A table read from `topic`.
pub(crate) fn source<K: Data, V: Data>(
    graph: &GraphRef,
    topic: &str,
    consumed: Consumed<K, V>,
    materialized: Materialized<K, V>,
) -> KTable<K, V> {
    let mut g = graph.borrow_mut();
    let name = g.name_or(consumed.name, "KTABLE-SOURCE");
    let store = match materialized.name {
        Some(n) => n,
        None => g.generate(&format!("{topic}-STATE-STORE")),
    };
    g.add_store_in(
        store.clone(),
        StoreKind::KeyValue,
        materialized.logged,
        materialized.in_memory,
    );
    let key = materialized.key_serde.unwrap_or(consumed.key_serde);
    let value = materialized.value_serde.unwrap_or(consumed.value_serde);
    let (k, v, s) = (key.clone(), value.clone(), store.clone());
    let factory: NodeFactory = Arc::new(move || {
        Box::new(TableSource {
            key: k.clone(),
            value: v.clone(),
            store: s.clone(),
            changelog: String::new(),
        })
    });
    let node = g.add(
        name,
        NodeKind::Source(SourceTopics::Names(vec![TopicName::External(
            topic.to_string(),
        )])),
        factory,
        &[],
    );
    g.connect_store(node, &store);
    drop(g);
    KTable {
        graph: graph.clone(),
        node,
        key_serde: Some(key),
        value_serde: Some(value),
        store: Some(store),
    }
}

impl<K: Data, V: Data> KTable<K, V> {
    pub(crate) fn stream_view(&self) -> KStream<K, Change<V>> {
        KStream {
            graph: self.graph.clone(),
            node: self.node,
            key_serde: self.key_serde.clone(),
            value_serde: None,
            repartition_required: false,
        }
    }

    fn derive<V2>(&self, node: usize, value_serde: Option<SerdeRef<V2>>) -> KTable<K, V2> {
        KTable {
            graph: self.graph.clone(),
            node,
            key_serde: self.key_serde.clone(),
            value_serde,
            store: None,
        }
    }

    /// A table that produces nothing, returned after a build error was
    /// recorded (build() reports it).
    pub(crate) fn dead<V2>(&self) -> KTable<K, V2> {
        KTable {
            graph: self.graph.clone(),
            node: self.node,
            key_serde: None,
            value_serde: None,
            store: None,
        }
    }

    /// The name of the store holding this table, if it is materialized.
    pub fn store_name(&self) -> Option<&str> {
        self.store.as_deref()
    }

    /// Names the node of the operator that made this table.
    pub fn named(self, name: impl Into<String>) -> Self {
        self.graph.borrow_mut().rename(self.node, name.into());
        self
    }

    /// The rows for which `predicate` holds; rows that stop matching are
    /// deleted downstream.
    pub fn filter(self, predicate: impl Fn(&K, &V) -> bool + Send + Sync + 'static) -> Self {
        let node =
            self.stream_view()
                .add_fn("KTABLE-FILTER", move |ctx, r: Record<K, Change<V>>| {
                    let keep = |v: Option<V>| v.filter(|v| predicate(&r.key, v));
                    let change = Change {
                        new: keep(r.value.new.clone()),
                        old: keep(r.value.old.clone()),
                    };
                    if change.new.is_some() || change.old.is_some() {
                        ctx.forward(r.clone().with_value(change));
                    }
                    Ok(())
                });
        self.derive(node, self.value_serde.clone())
    }

    /// The rows for which `predicate` does not hold.
    pub fn filter_not(self, predicate: impl Fn(&K, &V) -> bool + Send + Sync + 'static) -> Self {
        self.filter(move |k, v| !predicate(k, v))
    }

    /// A new value per row.
    pub fn map_values<V2: Data>(
        self,
        f: impl Fn(&V) -> V2 + Send + Sync + 'static,
    ) -> KTable<K, V2> {
        let node =
            self.stream_view()
                .add_fn("KTABLE-MAPVALUES", move |ctx, r: Record<K, Change<V>>| {
                    let change = Change {
                        new: r.value.new.as_ref().map(&f),
                        old: r.value.old.as_ref().map(&f),
                    };
                    ctx.forward(Record {
                        key: r.key,
                        value: change,
                        timestamp: r.timestamp,
                        headers: r.headers,
                    });
                    Ok(())
                });
        self.derive(node, None)
    }

    /// The table's updates as a stream: the new value of each update, `None`
    /// for a deletion (a tombstone when written to a topic).
    pub fn to_stream(self) -> KStream<K, Option<V>> {
        let node = self
            .stream_view()
            .add_fn("KTABLE-TOSTREAM", |ctx, r: Record<K, Change<V>>| {
                let new = r.value.new;
                ctx.forward(Record {
                    key: r.key,
                    value: new,
                    timestamp: r.timestamp,
                    headers: r.headers,
                });
                Ok(())
            });
        KStream {
            graph: self.graph.clone(),
            node,
            key_serde: self.key_serde.clone(),
            value_serde: self
                .value_serde
                .clone()
                .map(|s| Arc::new(fjord_core::format::Nullable(s)) as SerdeRef<Option<V>>),
            repartition_required: false,
        }
    }

    /// Regroups the rows by a new key (and value), for an aggregation with
    /// an adder and a subtractor; goes through a repartition topic.
    pub fn group_by<K2: Data, V2: Data>(
        self,
        f: impl Fn(&K, &V) -> (K2, V2) + Send + Sync + 'static,
        grouped: Grouped<K2, V2>,
    ) -> KGroupedTable<K2, V2> {
        let node =
            self.stream_view()
                .add_fn("KTABLE-SELECT", move |ctx, r: Record<K, Change<V>>| {
                    // The old row leaves its group and the new one joins its own:
                    // two records, subtraction first, as Kafka sends them.
                    if let Some(old) = &r.value.old {
                        let (k2, v2) = f(&r.key, old);
                        ctx.forward(Record {
                            key: k2,
                            value: Change {
                                new: None,
                                old: Some(v2),
                            },
                            timestamp: r.timestamp,
                            headers: r.headers.clone(),
                        });
                    }
                    if let Some(new) = &r.value.new {
                        let (k2, v2) = f(&r.key, new);
                        ctx.forward(Record {
                            key: k2,
                            value: Change {
                                new: Some(v2),
                                old: None,
                            },
                            timestamp: r.timestamp,
                            headers: r.headers.clone(),
                        });
                    }
                    Ok(())
                });
        KGroupedTable::new(
            KStream {
                graph: self.graph.clone(),
                node,
                key_serde: None,
                value_serde: None,
                repartition_required: true,
            },
            grouped,
        )
    }
}

/// The serde of table updates in a repartition topic: a flag byte (1: has a
/// new value, 2: has an old one), the new value's length (4 bytes,
/// big-endian) and bytes, then the old value's bytes.
pub(crate) struct ChangeSerde<V>(pub SerdeRef<V>);

impl<V: Data> Serde<Change<V>> for ChangeSerde<V> {
    fn serialize(&self, topic: &str, value: &Change<V>) -> Result<Option<Vec<u8>>, SerdeError> {
        let new = match &value.new {
            Some(v) => self.0.serialize(topic, v)?.unwrap_or_default(),
            None => Vec::new(),
        };
        let old = match &value.old {
            Some(v) => self.0.serialize(topic, v)?.unwrap_or_default(),
            None => Vec::new(),
        };
        let flags = u8::from(value.new.is_some()) | (u8::from(value.old.is_some()) << 1);
        let mut out = Vec::with_capacity(5 + new.len() + old.len());
        out.push(flags);
        out.extend_from_slice(&(new.len() as u32).to_be_bytes());
        out.extend_from_slice(&new);
        out.extend_from_slice(&old);
        Ok(Some(out))
    }

    fn deserialize(&self, topic: &str, data: Option<&[u8]>) -> Result<Change<V>, SerdeError> {
        let bad = |m: &str| SerdeError::deserialize("change", topic, m.to_string());
        let data = data.ok_or_else(|| bad("null"))?;
        if data.len() < 5 {
            return Err(bad("shorter than its header"));
        }
        let flags = data[0];
        let len = u32::from_be_bytes([data[1], data[2], data[3], data[4]]) as usize;
        let rest = &data[5..];
        if rest.len() < len {
            return Err(bad("new value longer than the record"));
        }
        let (new, old) = rest.split_at(len);
        Ok(Change {
            new: if flags & 1 != 0 {
                Some(self.0.deserialize(topic, Some(new))?)
            } else {
                None
            },
            old: if flags & 2 != 0 {
                Some(self.0.deserialize(topic, Some(old))?)
            } else {
                None
            },
        })
    }

    fn format(&self) -> &'static str {
        "change"
    }
}
