//! Session windows: per key, activity periods separated by gaps of
//! inactivity longer than the gap; a record within the gap of a session
//! joins it, and a record bridging two sessions merges them.

use std::sync::Arc;
use std::time::Duration;

use fjord_core::format::Int64;

use super::grouped::{dead_table, KGroupedStream};
use super::ktable::{store_bytes, Change, KTable};
use super::options::{Materialized, SerdeRef};
use super::windows::{Window, Windowed};
use crate::error::Result;
use crate::processor::{node_factory, Data, Processor, ProcessorContext};
use crate::record::Record;
use crate::state::StoreKind;

/// Session windows: an inactivity gap and a grace period.
///
/// A session's window is `[first record, last record]` (both inclusive, as
/// Kafka's). It is final, and with `emit_final` emitted, once stream time
/// passes its end plus gap plus grace: no record can extend it any more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionWindows {
    pub(crate) gap: i64,
    pub(crate) grace: i64,
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl SessionWindows {
    /// Sessions split by `gap` of inactivity, accepting no late records.
    pub fn of_inactivity_gap_with_no_grace(gap: Duration) -> Self {
        Self::of_inactivity_gap_and_grace(gap, Duration::ZERO)
    }

    /// Sessions split by `gap`, accepting records up to `grace` late.
    pub fn of_inactivity_gap_and_grace(gap: Duration, grace: Duration) -> Self {
        SessionWindows {
            gap: ms(gap).max(1),
            grace: ms(grace),
        }
    }
}

type Aggregator<K, V, A> = Arc<dyn Fn(&K, V, A) -> A + Send + Sync>;
type Merger<K, A> = Arc<dyn Fn(&K, A, A) -> A + Send + Sync>;

/// A grouped stream cut into sessions, ready for an aggregation.
pub struct SessionWindowedKStream<K, V> {
    pub(crate) grouped: KGroupedStream<K, V>,
    pub(crate) windows: SessionWindows,
    pub(crate) emit_final: bool,
}

impl<K: Data, V: Data> SessionWindowedKStream<K, V> {
    /// Emits each session once, when it is final, instead of every update.
    pub fn emit_final(mut self) -> Self {
        self.emit_final = true;
        self
    }

    /// Counts records per key and session.
    pub fn count(self, materialized: Materialized<K, i64>) -> KTable<Windowed<K>, i64> {
        self.fold(
            Arc::new(|| 0),
            Arc::new(|_, _, n| n + 1),
            Arc::new(|_, a, b| a + b),
            materialized,
            Some(Arc::new(Int64)),
        )
    }

    /// Folds the values of each session: `init()`, `aggregator(key, value,
    /// agg)` per record, and `merger(key, agg1, agg2)` when sessions merge.
    pub fn aggregate<A: Data>(
        self,
        init: impl Fn() -> A + Send + Sync + 'static,
        aggregator: impl Fn(&K, V, A) -> A + Send + Sync + 'static,
        merger: impl Fn(&K, A, A) -> A + Send + Sync + 'static,
        materialized: Materialized<K, A>,
    ) -> KTable<Windowed<K>, A> {
        self.fold(
            Arc::new(init),
            Arc::new(aggregator),
            Arc::new(merger),
            materialized,
            None,
        )
    }

    fn fold<A: Data>(
        self,
        init: Arc<dyn Fn() -> A + Send + Sync>,
        aggregator: Aggregator<K, V, A>,
        merger: Merger<K, A>,
        materialized: Materialized<K, A>,
        default_value: Option<SerdeRef<A>>,
    ) -> KTable<Windowed<K>, A> {
        let grouped = self.grouped;
        let graph = grouped.stream.graph.clone();
        let Some(def) =
            grouped.store_def(materialized, default_value, "KSTREAM-AGGREGATE-STATE-STORE")
        else {
            return dead_table(&grouped.stream);
        };
        let Some(up) = grouped.upstream(&def.name) else {
            return dead_table(&grouped.stream);
        };
        let retention = self.windows.gap + self.windows.grace;
        let (store, key, value, windows, emit_final) = (
            def.name.clone(),
            def.key.clone(),
            def.value.clone(),
            self.windows,
            self.emit_final,
        );
        let factory = node_factory::<_, K, V, Windowed<K>, Change<A>>(move || SessionAggregate {
            store: store.clone(),
            changelog: String::new(),
            key: key.clone(),
            value: value.clone(),
            init: init.clone(),
            aggregator: aggregator.clone(),
            merger: merger.clone(),
            windows,
            emit_final,
        });
        let kind = StoreKind::Window {
            retention_ms: retention,
        };
        let prefix = "KSTREAM-SESSION-AGGREGATE";
        super::grouped::attach_aggregate(&graph, def, kind, prefix, factory, up.node, None)
    }
}

/// The aggregation node of session windows. Sessions live in a window
/// store under their start; the value is the end (8 bytes, big-endian)
/// followed by the aggregate's bytes.
struct SessionAggregate<K, V, A> {
    store: String,
    changelog: String,
    key: SerdeRef<K>,
    value: SerdeRef<A>,
    init: Arc<dyn Fn() -> A + Send + Sync>,
    aggregator: Aggregator<K, V, A>,
    merger: Merger<K, A>,
    windows: SessionWindows,
    emit_final: bool,
}

type Ctx<'c, 'a, 'e, K, A> = ProcessorContext<'c, 'a, 'e, Windowed<K>, Change<A>>;

impl<K: Data, V: Data, A: Data> SessionAggregate<K, V, A> {
    fn decode(&self, bytes: &[u8]) -> Result<(i64, A)> {
        if bytes.len() < 8 {
            return Err(crate::StreamsError::store(
                &self.store,
                "a session entry shorter than its end time",
            ));
        }
        let (end, agg) = bytes.split_at(8);
        let mut e = [0u8; 8];
        e.copy_from_slice(end);
        Ok((
            i64::from_be_bytes(e),
            self.value.deserialize(&self.changelog, Some(agg))?,
        ))
    }

    fn encode(&self, end: i64, agg: &A) -> Result<Vec<u8>> {
        let mut out = end.to_be_bytes().to_vec();
        out.extend(store_bytes(self.value.as_ref(), &self.changelog, agg)?);
        Ok(out)
    }

    /// Emits and forgets every session no record can extend any more.
    fn emit_closed(&self, ctx: &mut Ctx<'_, '_, '_, K, A>) -> Result<()> {
        let bound = ctx.stream_time() - self.windows.grace - self.windows.gap;
        let candidates = ctx.window_store(&self.store)?.starting_before(bound)?;
        for (start, kb, vb) in candidates {
            let (end, agg) = self.decode(&vb)?;
            if end >= bound {
                continue;
            }
            ctx.window_store(&self.store)?.put(&kb, start, None)?;
            let key = self.key.deserialize(&self.changelog, Some(&kb))?;
            ctx.forward(Record::new(
                Windowed {
                    key,
                    window: Window { start, end },
                },
                Change {
                    new: Some(agg),
                    old: None,
                },
                end,
            ));
        }
        Ok(())
    }
}

impl<K: Data, V: Data, A: Data> Processor<K, V, Windowed<K>, Change<A>>
    for SessionAggregate<K, V, A>
{
    fn init(&mut self, ctx: &mut Ctx<'_, '_, '_, K, A>) -> Result<()> {
        self.changelog = format!("{}-{}-changelog", ctx.application_id(), self.store);
        Ok(())
    }

    fn process(&mut self, ctx: &mut Ctx<'_, '_, '_, K, A>, record: Record<K, V>) -> Result<()> {
        let st = ctx.stream_time();
        let ts = record.timestamp;
        let gap = self.windows.gap;
        let kb = store_bytes(self.key.as_ref(), &self.changelog, &record.key)?;
        let existing = ctx
            .window_store(&self.store)?
            .fetch_range(&kb, i64::MIN, ts + gap)?;
        let mut start = ts;
        let mut end = ts;
        let mut agg = (self.init)();
        let mut merged = Vec::new();
        for (s, bytes) in existing {
            let (e, a) = self.decode(&bytes)?;
            if e < ts - gap {
                continue;
            }
            start = start.min(s);
            end = end.max(e);
            agg = (self.merger)(&record.key, agg, a.clone());
            merged.push((s, e, a));
        }
        if end < st - self.windows.grace {
            ctx.record_dropped();
            return Ok(());
        }
        let agg = (self.aggregator)(&record.key, record.value, agg);
        let bytes = self.encode(end, &agg)?;
        {
            let store = ctx.window_store(&self.store)?;
            for (s, _, _) in &merged {
                store.put(&kb, *s, None)?;
            }
            store.put(&kb, start, Some(&bytes))?;
        }
        if self.emit_final {
            return self.emit_closed(ctx);
        }
        for (s, e, a) in merged {
            ctx.forward(Record {
                key: Windowed {
                    key: record.key.clone(),
                    window: Window { start: s, end: e },
                },
                value: Change {
                    new: None,
                    old: Some(a),
                },
                timestamp: ts,
                headers: record.headers.clone(),
            });
        }
        ctx.forward(Record {
            key: Windowed {
                key: record.key,
                window: Window { start, end },
            },
            value: Change {
                new: Some(agg),
                old: None,
            },
            timestamp: ts,
            headers: record.headers,
        });
        // Forget sessions past retention (their end, not start, decides).
        let bound = st - self.windows.grace - gap;
        let old = ctx.window_store(&self.store)?.starting_before(bound)?;
        for (s, k, v) in old {
            if self.decode(&v)?.0 < bound {
                ctx.window_store(&self.store)?.put(&k, s, None)?;
            }
        }
        Ok(())
    }
}
