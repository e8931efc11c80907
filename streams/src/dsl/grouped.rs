//! Grouped streams and tables, and their aggregations into tables.

use std::sync::Arc;

use fjord_core::format::Int64;

use super::ktable::{store_bytes, Change, ChangeSerde, KTable};
use super::options::{Grouped, Materialized, SerdeRef};
use super::windows::{TimeWindows, Window, Windowed};
use super::KStream;
use crate::error::Result;
use crate::processor::{node_factory, Data, Processor, ProcessorContext};
use crate::record::Record;
use crate::state::StoreKind;
use crate::topology::NodeKind;

/// Folds one value into a key's aggregate (`None`: the key's first record).
type Folder<K, V, A> = Arc<dyn Fn(&K, V, Option<A>) -> A + Send + Sync>;

/// The folder of `count`.
fn counter<K, V>() -> Folder<K, V, i64> {
    Arc::new(|_, _, n: Option<i64>| n.unwrap_or(0) + 1)
}

/// The folder of `reduce`: the first value, then `f(aggregate, value)`.
fn reducer<K, V: Data>(f: impl Fn(V, V) -> V + Send + Sync + 'static) -> Folder<K, V, V> {
    Arc::new(move |_, v, agg: Option<V>| match agg {
        Some(a) => f(a, v),
        None => v,
    })
}

/// The folder of `aggregate`: `init()` for a new key, then `f(key, value, aggregate)`.
fn aggregator<K, V, A: Data>(
    init: impl Fn() -> A + Send + Sync + 'static,
    f: impl Fn(&K, V, A) -> A + Send + Sync + 'static,
) -> Folder<K, V, A> {
    Arc::new(move |k, v, agg: Option<A>| f(k, v, agg.unwrap_or_else(&init)))
}

/// A stream grouped by key, ready for an aggregation.
pub struct KGroupedStream<K, V> {
    pub(crate) stream: KStream<K, V>,
    key_serde: Option<SerdeRef<K>>,
    value_serde: Option<SerdeRef<V>>,
    name: Option<String>,
}

impl<K, V> Clone for KGroupedStream<K, V> {
    fn clone(&self) -> Self {
        KGroupedStream {
            stream: self.stream.clone(),
            key_serde: self.key_serde.clone(),
            value_serde: self.value_serde.clone(),
            name: self.name.clone(),
        }
    }
}

/// The serdes and name of a store, with what the grouping knows filled in.
pub(crate) struct StoreDef<K, A> {
    pub name: String,
    pub key: SerdeRef<K>,
    pub value: SerdeRef<A>,
    pub logged: bool,
    pub in_memory: bool,
    retention: Option<std::time::Duration>,
}

impl<K: Data, V: Data> KGroupedStream<K, V> {
    pub(crate) fn new(stream: KStream<K, V>, grouped: Grouped<K, V>) -> Self {
        KGroupedStream {
            key_serde: grouped.key_serde.or_else(|| stream.key_serde.clone()),
            value_serde: grouped.value_serde.or_else(|| stream.value_serde.clone()),
            name: grouped.name,
            stream,
        }
    }

    pub(crate) fn store_def<A>(
        &self,
        materialized: Materialized<K, A>,
        default_value: Option<SerdeRef<A>>,
        prefix: &str,
    ) -> Option<StoreDef<K, A>> {
        let name = match materialized.name {
            Some(n) => n,
            None => self.stream.graph.borrow_mut().generate(prefix),
        };
        let key = materialized.key_serde.or_else(|| self.key_serde.clone());
        let value = materialized.value_serde.or(default_value);
        match (key, value) {
            (Some(key), Some(value)) => Some(StoreDef {
                name,
                key,
                value,
                logged: materialized.logged,
                in_memory: materialized.in_memory,
                retention: materialized.retention,
            }),
            (key, _) => {
                let missing = if key.is_none() { "key" } else { "value" };
                self.stream.graph.borrow_mut().error(format!(
                    "the aggregation into store '{name}' has no {missing} serde: pass it with Materialized::with / with_{missing}_serde or Grouped::with"
                ));
                None
            }
        }
    }

    /// The stream the aggregation reads: through a repartition topic
    /// (`<application.id>-<grouping or store name>-repartition`) when the
    /// key changed since the last topic.
    pub(crate) fn upstream(&self, store: &str) -> Option<KStream<K, V>> {
        if !self.stream.repartition_required {
            return Some(self.stream.clone());
        }
        let (Some(k), Some(v)) = (self.key_serde.clone(), self.value_serde.clone()) else {
            self.stream.graph.borrow_mut().error(format!(
                "grouping for store '{store}' must repartition (the key changed) but has no key or value serde: pass Grouped::with(key, value)"
            ));
            return None;
        };
        let base = self.name.clone().unwrap_or_else(|| store.to_string());
        Some(self.stream.through_internal(&base, None, k, v))
    }

    fn fold<A: Data>(
        self,
        fold: Folder<K, V, A>,
        materialized: Materialized<K, A>,
        default_value: Option<SerdeRef<A>>,
        prefix: &str,
    ) -> KTable<K, A> {
        let graph = self.stream.graph.clone();
        let Some(def) = self.store_def(
            materialized,
            default_value,
            &format!("{prefix}-STATE-STORE"),
        ) else {
            return dead_table(&self.stream);
        };
        let Some(up) = self.upstream(&def.name) else {
            return dead_table(&self.stream);
        };
        let (store, key, value) = (def.name.clone(), def.key.clone(), def.value.clone());
        let factory = node_factory::<_, K, V, K, Change<A>>(move || Aggregate {
            store: store.clone(),
            changelog: String::new(),
            key: key.clone(),
            value: value.clone(),
            fold: fold.clone(),
        });
        let key = Some(def.key.clone());
        attach_aggregate(
            &graph,
            def,
            StoreKind::KeyValue,
            prefix,
            factory,
            up.node,
            key,
        )
    }

    /// Counts records per key.
    pub fn count(self, materialized: Materialized<K, i64>) -> KTable<K, i64> {
        self.fold(
            counter(),
            materialized,
            Some(Arc::new(Int64)),
            "KSTREAM-AGGREGATE",
        )
    }

    /// Combines the values of each key with `f(aggregate, value)`; the first
    /// value is the first aggregate.
    pub fn reduce(
        self,
        f: impl Fn(V, V) -> V + Send + Sync + 'static,
        materialized: Materialized<K, V>,
    ) -> KTable<K, V> {
        let default = self.value_serde.clone();
        self.fold(reducer(f), materialized, default, "KSTREAM-REDUCE")
    }

    /// Folds the values of each key into an aggregate: `init()` for a new
    /// key, then `f(key, value, aggregate)` per record.
    pub fn aggregate<A: Data>(
        self,
        init: impl Fn() -> A + Send + Sync + 'static,
        f: impl Fn(&K, V, A) -> A + Send + Sync + 'static,
        materialized: Materialized<K, A>,
    ) -> KTable<K, A> {
        self.fold(aggregator(init, f), materialized, None, "KSTREAM-AGGREGATE")
    }

    /// Aggregates per session of activity.
    pub fn windowed_by_session(
        self,
        windows: super::session::SessionWindows,
    ) -> super::session::SessionWindowedKStream<K, V> {
        super::session::SessionWindowedKStream {
            grouped: self,
            windows,
            emit_final: false,
        }
    }

    /// Aggregates per time window.
    pub fn windowed_by(self, windows: TimeWindows) -> TimeWindowedKStream<K, V> {
        TimeWindowedKStream {
            grouped: self,
            windows,
            emit_final: false,
        }
    }
}

/// Adds an aggregation node (fed by `upstream`) with its store, and returns
/// the table it makes. `key` is `None` for windowed keys (no serde).
pub(crate) fn attach_aggregate<KOut, A>(
    graph: &super::GraphRef,
    store: StoreDef<impl Sized, A>,
    kind: StoreKind,
    prefix: &str,
    factory: crate::processor::NodeFactory,
    upstream: usize,
    key: Option<SerdeRef<KOut>>,
) -> KTable<KOut, A> {
    let mut g = graph.borrow_mut();
    g.add_store_in(store.name.clone(), kind, store.logged, store.in_memory);
    let name = g.generate(prefix);
    let node = g.add(name, NodeKind::Processor, factory, &[upstream]);
    g.connect_store(node, &store.name);
    drop(g);
    KTable {
        graph: graph.clone(),
        node,
        key_serde: key,
        value_serde: Some(store.value),
        store: Some(store.name),
    }
}

/// A table that produces nothing, returned after a build error was recorded
/// (build() reports it).
pub(crate) fn dead_table<K0, V0, K, A>(stream: &KStream<K0, V0>) -> KTable<K, A> {
    KTable {
        graph: stream.graph.clone(),
        node: stream.node,
        key_serde: None,
        value_serde: None,
        store: None,
    }
}

/// The aggregation node of a grouped stream.
struct Aggregate<K, V, A> {
    store: String,
    changelog: String,
    key: SerdeRef<K>,
    value: SerdeRef<A>,
    fold: Folder<K, V, A>,
}

impl<K: Data, V: Data, A: Data> Processor<K, V, K, Change<A>> for Aggregate<K, V, A> {
    fn init(&mut self, ctx: &mut ProcessorContext<'_, '_, '_, K, Change<A>>) -> Result<()> {
        self.changelog = format!("{}-{}-changelog", ctx.application_id(), self.store);
        Ok(())
    }

    fn process(
        &mut self,
        ctx: &mut ProcessorContext<'_, '_, '_, K, Change<A>>,
        record: Record<K, V>,
    ) -> Result<()> {
        let kb = store_bytes(self.key.as_ref(), &self.changelog, &record.key)?;
        let store = ctx.kv_store(&self.store)?;
        let old = match store.get(&kb)? {
            Some(b) => Some(self.value.deserialize(&self.changelog, Some(&b))?),
            None => None,
        };
        let new = (self.fold)(&record.key, record.value, old.clone());
        store.put(
            &kb,
            &store_bytes(self.value.as_ref(), &self.changelog, &new)?,
        )?;
        ctx.forward(Record {
            key: record.key,
            value: Change {
                new: Some(new),
                old,
            },
            timestamp: record.timestamp,
            headers: record.headers,
        });
        Ok(())
    }
}

/// A grouped stream cut into time windows, ready for an aggregation.
pub struct TimeWindowedKStream<K, V> {
    grouped: KGroupedStream<K, V>,
    windows: TimeWindows,
    emit_final: bool,
}

impl<K: Data, V: Data> TimeWindowedKStream<K, V> {
    /// Emits one result per window, once the window closes (stream time
    /// past its end plus grace), instead of one per update: Kafka's
    /// `suppress(untilWindowCloses)` / `EmitStrategy.onWindowClose()`.
    pub fn emit_final(mut self) -> Self {
        self.emit_final = true;
        self
    }

    fn fold<A: Data>(
        self,
        fold: Folder<K, V, A>,
        materialized: Materialized<K, A>,
        default_value: Option<SerdeRef<A>>,
        prefix: &str,
    ) -> KTable<Windowed<K>, A> {
        let grouped = self.grouped;
        let graph = grouped.stream.graph.clone();
        let Some(def) = grouped.store_def(
            materialized,
            default_value,
            &format!("{prefix}-STATE-STORE"),
        ) else {
            return dead_table(&grouped.stream);
        };
        let Some(up) = grouped.upstream(&def.name) else {
            return dead_table(&grouped.stream);
        };
        let min_retention = self.windows.size + self.windows.grace;
        let retention = def
            .retention
            .map_or(min_retention, |r| {
                i64::try_from(r.as_millis()).unwrap_or(i64::MAX)
            })
            .max(min_retention);
        let (store, key, value, windows, emit_final) = (
            def.name.clone(),
            def.key.clone(),
            def.value.clone(),
            self.windows,
            self.emit_final,
        );
        let factory = node_factory::<_, K, V, Windowed<K>, Change<A>>(move || WindowAggregate {
            store: store.clone(),
            changelog: String::new(),
            key: key.clone(),
            value: value.clone(),
            fold: fold.clone(),
            windows,
            retention,
            emit_final,
        });
        let kind = StoreKind::Window {
            retention_ms: retention,
        };
        attach_aggregate(&graph, def, kind, prefix, factory, up.node, None)
    }

    /// Counts records per key and window.
    pub fn count(self, materialized: Materialized<K, i64>) -> KTable<Windowed<K>, i64> {
        self.fold(
            counter(),
            materialized,
            Some(Arc::new(Int64)),
            "KSTREAM-AGGREGATE",
        )
    }

    /// Combines the values of each key and window.
    pub fn reduce(
        self,
        f: impl Fn(V, V) -> V + Send + Sync + 'static,
        materialized: Materialized<K, V>,
    ) -> KTable<Windowed<K>, V> {
        let default = self.grouped.value_serde.clone();
        self.fold(reducer(f), materialized, default, "KSTREAM-REDUCE")
    }

    /// Folds the values of each key and window into an aggregate.
    pub fn aggregate<A: Data>(
        self,
        init: impl Fn() -> A + Send + Sync + 'static,
        f: impl Fn(&K, V, A) -> A + Send + Sync + 'static,
        materialized: Materialized<K, A>,
    ) -> KTable<Windowed<K>, A> {
        self.fold(aggregator(init, f), materialized, None, "KSTREAM-AGGREGATE")
    }
}

/// The aggregation node of a windowed stream.
struct WindowAggregate<K, V, A> {
    store: String,
    changelog: String,
    key: SerdeRef<K>,
    value: SerdeRef<A>,
    fold: Folder<K, V, A>,
    windows: TimeWindows,
    retention: i64,
    emit_final: bool,
}

impl<K: Data, V: Data, A: Data> WindowAggregate<K, V, A> {
    /// Emits, then forgets, every window closed at the current stream time.
    fn emit_closed(
        &self,
        ctx: &mut ProcessorContext<'_, '_, '_, Windowed<K>, Change<A>>,
    ) -> Result<()> {
        let st = ctx.stream_time();
        // Closed: end + grace <= stream time, i.e. start <= st - grace - size.
        let bound = st - self.windows.grace - self.windows.size + 1;
        let closed = ctx.window_store(&self.store)?.starting_before(bound)?;
        for (start, kb, vb) in closed {
            let key = self.key.deserialize(&self.changelog, Some(&kb))?;
            let value = self.value.deserialize(&self.changelog, Some(&vb))?;
            ctx.window_store(&self.store)?.put(&kb, start, None)?;
            ctx.forward(Record::new(
                Windowed {
                    key,
                    window: Window {
                        start,
                        end: start + self.windows.size,
                    },
                },
                Change {
                    new: Some(value),
                    old: None,
                },
                start + self.windows.size - 1,
            ));
        }
        Ok(())
    }
}

impl<K: Data, V: Data, A: Data> Processor<K, V, Windowed<K>, Change<A>>
    for WindowAggregate<K, V, A>
{
    fn init(
        &mut self,
        ctx: &mut ProcessorContext<'_, '_, '_, Windowed<K>, Change<A>>,
    ) -> Result<()> {
        self.changelog = format!("{}-{}-changelog", ctx.application_id(), self.store);
        Ok(())
    }

    fn process(
        &mut self,
        ctx: &mut ProcessorContext<'_, '_, '_, Windowed<K>, Change<A>>,
        record: Record<K, V>,
    ) -> Result<()> {
        let st = ctx.stream_time();
        let kb = store_bytes(self.key.as_ref(), &self.changelog, &record.key)?;
        for start in self.windows.starts_for(record.timestamp) {
            let end = start + self.windows.size;
            if end + self.windows.grace <= st {
                ctx.record_dropped();
                tracing::debug!(store = %self.store, start, end, st, "dropped a record for a closed window");
                continue;
            }
            let store = ctx.window_store(&self.store)?;
            let old = match store.fetch(&kb, start)? {
                Some(b) => Some(self.value.deserialize(&self.changelog, Some(&b))?),
                None => None,
            };
            let new = (self.fold)(&record.key, record.value.clone(), old.clone());
            let bytes = store_bytes(self.value.as_ref(), &self.changelog, &new)?;
            store.put(&kb, start, Some(&bytes))?;
            if !self.emit_final {
                ctx.forward(Record {
                    key: Windowed {
                        key: record.key.clone(),
                        window: Window { start, end },
                    },
                    value: Change {
                        new: Some(new),
                        old,
                    },
                    timestamp: record.timestamp,
                    headers: record.headers.clone(),
                });
            }
        }
        if self.emit_final {
            self.emit_closed(ctx)?;
        } else {
            ctx.window_store(&self.store)?
                .expire_before(st - self.retention + 1);
        }
        Ok(())
    }
}

/// A table regrouped by a new key, ready for an aggregation with an adder
/// and a subtractor.
pub struct KGroupedTable<K, V> {
    stream: KStream<K, Change<V>>,
    key_serde: Option<SerdeRef<K>>,
    value_serde: Option<SerdeRef<V>>,
    name: Option<String>,
}

impl<K: Data, V: Data> KGroupedTable<K, V> {
    pub(crate) fn new(stream: KStream<K, Change<V>>, grouped: Grouped<K, V>) -> Self {
        KGroupedTable {
            stream,
            key_serde: grouped.key_serde,
            value_serde: grouped.value_serde,
            name: grouped.name,
        }
    }

    /// Aggregates: `init()` for a new key, `adder(key, value, agg)` for a row
    /// joining the group, `subtractor(key, value, agg)` for a row leaving it.
    pub fn aggregate<A: Data>(
        self,
        init: impl Fn() -> A + Send + Sync + 'static,
        adder: impl Fn(&K, V, A) -> A + Send + Sync + 'static,
        subtractor: impl Fn(&K, V, A) -> A + Send + Sync + 'static,
        materialized: Materialized<K, A>,
    ) -> KTable<K, A> {
        self.fold(
            Arc::new(init),
            Arc::new(adder),
            Arc::new(subtractor),
            materialized,
            None,
        )
    }

    /// Counts rows per new key.
    pub fn count(self, materialized: Materialized<K, i64>) -> KTable<K, i64> {
        self.fold(
            Arc::new(|| 0),
            Arc::new(|_, _, n| n + 1),
            Arc::new(|_, _, n| n - 1),
            materialized,
            Some(Arc::new(Int64)),
        )
    }

    #[allow(clippy::type_complexity)]
    fn fold<A: Data>(
        self,
        init: Arc<dyn Fn() -> A + Send + Sync>,
        adder: Arc<dyn Fn(&K, V, A) -> A + Send + Sync>,
        subtractor: Arc<dyn Fn(&K, V, A) -> A + Send + Sync>,
        materialized: Materialized<K, A>,
        default_value: Option<SerdeRef<A>>,
    ) -> KTable<K, A> {
        let graph = self.stream.graph.clone();
        let name = match materialized.name.clone() {
            Some(n) => n,
            None => graph.borrow_mut().generate("KTABLE-AGGREGATE-STATE-STORE"),
        };
        let key = materialized
            .key_serde
            .clone()
            .or_else(|| self.key_serde.clone());
        let value = materialized.value_serde.clone().or(default_value);
        let (Some(key), Some(value), Some(v_serde)) = (key, value, self.value_serde.clone()) else {
            graph.borrow_mut().error(format!(
                "the table aggregation into '{name}' needs key and value serdes for its repartition topic (Grouped::with) and its store (Materialized::with)"
            ));
            return dead_table(&self.stream);
        };
        let base = self.name.clone().unwrap_or_else(|| name.clone());
        let change_serde: SerdeRef<Change<V>> = Arc::new(ChangeSerde(v_serde));
        let up = self
            .stream
            .through_internal(&base, None, key.clone(), change_serde);
        let (store, k, v) = (name.clone(), key.clone(), value.clone());
        let factory = node_factory::<_, K, Change<V>, K, Change<A>>(move || TableAggregate {
            store: store.clone(),
            changelog: String::new(),
            key: k.clone(),
            value: v.clone(),
            init: init.clone(),
            adder: adder.clone(),
            subtractor: subtractor.clone(),
        });
        let def = StoreDef {
            name,
            key: key.clone(),
            value,
            logged: materialized.logged,
            in_memory: materialized.in_memory,
            retention: None,
        };
        let prefix = "KTABLE-AGGREGATE";
        attach_aggregate(
            &graph,
            def,
            StoreKind::KeyValue,
            prefix,
            factory,
            up.node,
            Some(key),
        )
    }
}

/// The aggregation node of a regrouped table.
#[allow(clippy::type_complexity)]
struct TableAggregate<K, V, A> {
    store: String,
    changelog: String,
    key: SerdeRef<K>,
    value: SerdeRef<A>,
    init: Arc<dyn Fn() -> A + Send + Sync>,
    adder: Arc<dyn Fn(&K, V, A) -> A + Send + Sync>,
    subtractor: Arc<dyn Fn(&K, V, A) -> A + Send + Sync>,
}

impl<K: Data, V: Data, A: Data> Processor<K, Change<V>, K, Change<A>> for TableAggregate<K, V, A> {
    fn init(&mut self, ctx: &mut ProcessorContext<'_, '_, '_, K, Change<A>>) -> Result<()> {
        self.changelog = format!("{}-{}-changelog", ctx.application_id(), self.store);
        Ok(())
    }

    fn process(
        &mut self,
        ctx: &mut ProcessorContext<'_, '_, '_, K, Change<A>>,
        record: Record<K, Change<V>>,
    ) -> Result<()> {
        let kb = store_bytes(self.key.as_ref(), &self.changelog, &record.key)?;
        let store = ctx.kv_store(&self.store)?;
        let old = match store.get(&kb)? {
            Some(b) => Some(self.value.deserialize(&self.changelog, Some(&b))?),
            None => None,
        };
        let mut agg = old.clone().unwrap_or_else(|| (self.init)());
        if let Some(v) = record.value.old {
            agg = (self.subtractor)(&record.key, v, agg);
        }
        if let Some(v) = record.value.new {
            agg = (self.adder)(&record.key, v, agg);
        }
        store.put(
            &kb,
            &store_bytes(self.value.as_ref(), &self.changelog, &agg)?,
        )?;
        ctx.forward(Record {
            key: record.key,
            value: Change {
                new: Some(agg),
                old,
            },
            timestamp: record.timestamp,
            headers: record.headers,
        });
        Ok(())
    }
}
