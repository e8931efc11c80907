//! Stream-stream joins over a time window: inner, left and outer.
//!
//! Each side keeps its records for the window in a window store (a list of
//! values per key and timestamp). A record joins every record of the other
//! side with the same key whose timestamp is within the window: for a left
//! record at `t`, right records in `[t - before, t + after]`. Left and outer
//! joins emit a record without a match only once its window has closed
//! (stream time past its end plus grace), so they never emit a spurious
//! `(left, None)` that a later match would contradict; those records wait
//! in a third store, shared by both sides.

use std::sync::Arc;
use std::time::Duration;

use fjord_core::format::Serde;

use super::ktable::store_bytes;
use super::options::SerdeRef;
use super::table_join::JoinKind;
use super::KStream;
use crate::error::{Result, StreamsError};
use crate::processor::{node_factory, Data, Processor, ProcessorContext};
use crate::record::Record;
use crate::state::StoreKind;
use crate::topology::NodeKind;

/// How far apart in time two records may be to join, and how late a record
/// may arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JoinWindows {
    before: i64,
    after: i64,
    grace: i64,
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl JoinWindows {
    /// Records at most `difference` apart join; no late records.
    pub fn of_time_difference_with_no_grace(difference: Duration) -> Self {
        Self::of_time_difference_and_grace(difference, Duration::ZERO)
    }

    /// Records at most `difference` apart join; records up to `grace` late count.
    pub fn of_time_difference_and_grace(difference: Duration, grace: Duration) -> Self {
        JoinWindows {
            before: ms(difference),
            after: ms(difference),
            grace: ms(grace),
        }
    }

    /// How far before a left record a right record may be.
    pub fn before(mut self, d: Duration) -> Self {
        self.before = ms(d);
        self
    }

    /// How far after a left record a right record may be.
    pub fn after(mut self, d: Duration) -> Self {
        self.after = ms(d);
        self
    }

    fn retention(&self) -> i64 {
        self.before + self.after + self.grace + 1
    }
}

/// The serdes of a stream-stream join's stores: key, this side's value and
/// the other side's value (Kafka's `StreamJoined`), and an optional name for
/// the stores (`<name>-this-join-store`...).
pub struct StreamJoined<K, V, VO> {
    key: SerdeRef<K>,
    value: SerdeRef<V>,
    other: SerdeRef<VO>,
    name: Option<String>,
}

impl<K, V, VO> StreamJoined<K, V, VO> {
    /// The serdes.
    pub fn with(key: impl Serde<K>, value: impl Serde<V>, other: impl Serde<VO>) -> Self {
        StreamJoined {
            key: Arc::new(key),
            value: Arc::new(value),
            other: Arc::new(other),
            name: None,
        }
    }

    /// Names the join's stores.
    pub fn with_store_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }
}

type SideJoiner<VT, VO, VR> = Arc<dyn Fn(Option<&VT>, Option<&VO>) -> Option<VR> + Send + Sync>;

/// One side of the join: stores its record, joins the other side's.
struct JoinSide<K, VT, VO, VR> {
    this_store: String,
    other_store: String,
    outer_store: Option<String>,
    /// Whether this side's unmatched records are emitted (left side of a
    /// left join, both sides of an outer join).
    emits_unmatched: bool,
    /// This side's tag in the shared store (0 left, 1 right).
    side: u8,
    key: SerdeRef<K>,
    this_value: SerdeRef<VT>,
    other_value: SerdeRef<VO>,
    joiner: SideJoiner<VT, VO, VR>,
    /// Other-side records in `[t - before, t + after]` join a record at `t`.
    before: i64,
    after: i64,
    grace: i64,
    retention: i64,
}

fn encode_list(mut list: Vec<u8>, item: &[u8]) -> Vec<u8> {
    list.extend_from_slice(&(item.len() as u32).to_be_bytes());
    list.extend_from_slice(item);
    list
}

fn decode_list(store: &str, bytes: &[u8]) -> Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        if rest.len() < 4 {
            return Err(StreamsError::store(store, "a truncated join store entry"));
        }
        let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        if rest.len() < 4 + len {
            return Err(StreamsError::store(store, "a truncated join store entry"));
        }
        out.push(rest[4..4 + len].to_vec());
        rest = &rest[4 + len..];
    }
    Ok(out)
}

impl<K: Data, VT: Data, VO: Data, VR: Data> JoinSide<K, VT, VO, VR> {
    fn topic(&self, ctx: &ProcessorContext<'_, '_, '_, K, VR>, store: &str) -> String {
        format!("{}-{store}-changelog", ctx.application_id())
    }

    /// Emits the unmatched records whose window closed, and forgets them.
    fn emit_unmatched(&self, ctx: &mut ProcessorContext<'_, '_, '_, K, VR>) -> Result<()> {
        let Some(outer) = &self.outer_store else {
            return Ok(());
        };
        let st = ctx.stream_time();
        // The widest window end: entries of either side close by then.
        let bound = st - self.grace - self.before.max(self.after);
        let entries = ctx.window_store(outer)?.starting_before(bound)?;
        let topic = self.topic(ctx, outer);
        for (ts, kb, list) in entries {
            ctx.window_store(outer)?.put(&kb, ts, None)?;
            let key = self.key.deserialize(&topic, Some(&kb))?;
            for item in decode_list(outer, &list)? {
                let Some((&side, bytes)) = item.split_first() else {
                    continue;
                };
                // Each side's node decodes only its own values; the shared
                // store holds both, so decode by tag.
                let joined = if side == self.side {
                    let v = self.this_value.deserialize(&topic, Some(bytes))?;
                    (self.joiner)(Some(&v), None)
                } else {
                    let v = self.other_value.deserialize(&topic, Some(bytes))?;
                    (self.joiner)(None, Some(&v))
                };
                if let Some(out) = joined {
                    ctx.forward(Record::new(key.clone(), out, ts));
                }
            }
        }
        Ok(())
    }
}

impl<K: Data, VT: Data, VO: Data, VR: Data> Processor<K, VT, K, VR> for JoinSide<K, VT, VO, VR> {
    fn process(
        &mut self,
        ctx: &mut ProcessorContext<'_, '_, '_, K, VR>,
        r: Record<K, VT>,
    ) -> Result<()> {
        let st = ctx.stream_time();
        let ts = r.timestamp;
        if ts + self.after.max(self.before) + self.grace < st {
            ctx.record_dropped();
            return Ok(());
        }
        let this_topic = self.topic(ctx, &self.this_store);
        let kb = store_bytes(self.key.as_ref(), &this_topic, &r.key)?;
        let vb = store_bytes(self.this_value.as_ref(), &this_topic, &r.value)?;
        {
            let store = ctx.window_store(&self.this_store)?;
            let list = store.fetch(&kb, ts)?.unwrap_or_default();
            store.put(&kb, ts, Some(&encode_list(list, &vb)))?;
        }
        let other_topic = self.topic(ctx, &self.other_store);
        let matches = ctx.window_store(&self.other_store)?.fetch_range(
            &kb,
            ts - self.before,
            ts + self.after,
        )?;
        let mut matched = false;
        for (ots, list) in matches {
            for bytes in decode_list(&self.other_store, &list)? {
                let other = self.other_value.deserialize(&other_topic, Some(&bytes))?;
                if let Some(out) = (self.joiner)(Some(&r.value), Some(&other)) {
                    matched = true;
                    ctx.forward(Record {
                        key: r.key.clone(),
                        value: out,
                        timestamp: ts.max(ots),
                        headers: r.headers.clone(),
                    });
                }
            }
            // The other side's records waiting unmatched at ots now have one.
            if let Some(outer) = &self.outer_store {
                let store = ctx.window_store(outer)?;
                if let Some(waiting) = store.fetch(&kb, ots)? {
                    let keep: Vec<Vec<u8>> = decode_list(outer, &waiting)?
                        .into_iter()
                        .filter(|item| item.first() == Some(&self.side))
                        .collect();
                    let rebuilt = keep.iter().fold(Vec::new(), |l, i| encode_list(l, i));
                    store.put(
                        &kb,
                        ots,
                        (!rebuilt.is_empty()).then_some(rebuilt.as_slice()),
                    )?;
                }
            }
        }
        if !matched && self.emits_unmatched {
            if let Some(outer) = &self.outer_store {
                let mut tagged = vec![self.side];
                tagged.extend_from_slice(&vb);
                let store = ctx.window_store(outer)?;
                let list = store.fetch(&kb, ts)?.unwrap_or_default();
                store.put(&kb, ts, Some(&encode_list(list, &tagged)))?;
            }
        }
        self.emit_unmatched(ctx)?;
        let bound = st - self.retention;
        ctx.window_store(&self.this_store)?.expire_before(bound);
        Ok(())
    }
}

impl<K: Data, V: Data> KStream<K, V> {
    /// Joins records of both streams with the same key at most the window
    /// apart (an inner join).
    pub fn join_windowed<VO: Data, VR: Data>(
        self,
        other: KStream<K, VO>,
        joiner: impl Fn(&V, &VO) -> VR + Send + Sync + 'static,
        windows: JoinWindows,
        serdes: StreamJoined<K, V, VO>,
    ) -> KStream<K, VR> {
        let j = Arc::new(move |l: Option<&V>, r: Option<&VO>| match (l, r) {
            (Some(l), Some(r)) => Some(joiner(l, r)),
            _ => None,
        });
        self.stream_join(other, JoinKind::Inner, j, windows, serdes)
    }

    /// Like [`KStream::join_windowed`], and a left record without any match
    /// in its window is emitted with `None` once the window closes.
    pub fn left_join_windowed<VO: Data, VR: Data>(
        self,
        other: KStream<K, VO>,
        joiner: impl Fn(&V, Option<&VO>) -> VR + Send + Sync + 'static,
        windows: JoinWindows,
        serdes: StreamJoined<K, V, VO>,
    ) -> KStream<K, VR> {
        let j = Arc::new(move |l: Option<&V>, r: Option<&VO>| l.map(|l| joiner(l, r)));
        self.stream_join(other, JoinKind::Left, j, windows, serdes)
    }

    /// Like [`KStream::left_join_windowed`], for records of both sides.
    pub fn outer_join_windowed<VO: Data, VR: Data>(
        self,
        other: KStream<K, VO>,
        joiner: impl Fn(Option<&V>, Option<&VO>) -> VR + Send + Sync + 'static,
        windows: JoinWindows,
        serdes: StreamJoined<K, V, VO>,
    ) -> KStream<K, VR> {
        let j = Arc::new(move |l: Option<&V>, r: Option<&VO>| Some(joiner(l, r)));
        self.stream_join(other, JoinKind::Outer, j, windows, serdes)
    }

    fn stream_join<VO: Data, VR: Data>(
        self,
        other: KStream<K, VO>,
        kind: JoinKind,
        joiner: SideJoiner<V, VO, VR>,
        windows: JoinWindows,
        serdes: StreamJoined<K, V, VO>,
    ) -> KStream<K, VR> {
        let left = if self.repartition_required {
            let base = self.graph.borrow_mut().generate("KSTREAM-JOIN-LEFT");
            self.through_internal(&base, None, serdes.key.clone(), serdes.value.clone())
        } else {
            self
        };
        let right = if other.repartition_required {
            let base = other.graph.borrow_mut().generate("KSTREAM-JOIN-RIGHT");
            other.through_internal(&base, None, serdes.key.clone(), serdes.other.clone())
        } else {
            other
        };
        let graph = left.graph.clone();
        let base = match serdes.name.clone() {
            Some(n) => n,
            None => graph.borrow_mut().generate("KSTREAM-JOIN"),
        };
        let this_store = format!("{base}-this-join-store");
        let other_store = format!("{base}-other-join-store");
        let outer_store =
            (kind != JoinKind::Inner).then(|| format!("{base}-outer-shared-join-store"));
        let retention = windows.retention();
        let mut g = graph.borrow_mut();
        for s in [Some(&this_store), Some(&other_store), outer_store.as_ref()]
            .into_iter()
            .flatten()
        {
            g.add_store(
                s.clone(),
                StoreKind::Window {
                    retention_ms: retention,
                },
                true,
            );
        }
        drop(g);
        let (ts, os, outer, key, lv, rv, jl) = (
            this_store.clone(),
            other_store.clone(),
            outer_store.clone(),
            serdes.key.clone(),
            serdes.value.clone(),
            serdes.other.clone(),
            joiner.clone(),
        );
        let left_factory = node_factory::<_, K, V, K, VR>(move || JoinSide {
            this_store: ts.clone(),
            other_store: os.clone(),
            outer_store: outer.clone(),
            emits_unmatched: kind != JoinKind::Inner,
            side: 0,
            key: key.clone(),
            this_value: lv.clone(),
            other_value: rv.clone(),
            joiner: jl.clone(),
            before: windows.before,
            after: windows.after,
            grace: windows.grace,
            retention,
        });
        let (ts, os, outer, key, lv, rv) = (
            this_store.clone(),
            other_store.clone(),
            outer_store.clone(),
            serdes.key.clone(),
            serdes.value.clone(),
            serdes.other.clone(),
        );
        let jr: SideJoiner<VO, V, VR> =
            Arc::new(move |this: Option<&VO>, other: Option<&V>| joiner(other, this));
        let right_factory = node_factory::<_, K, VO, K, VR>(move || JoinSide {
            this_store: os.clone(),
            other_store: ts.clone(),
            outer_store: outer.clone(),
            emits_unmatched: kind == JoinKind::Outer,
            side: 1,
            key: key.clone(),
            this_value: rv.clone(),
            other_value: lv.clone(),
            joiner: jr.clone(),
            // A right record at t joins left records in [t - after, t + before].
            before: windows.after,
            after: windows.before,
            grace: windows.grace,
            retention,
        });
        let mut g = graph.borrow_mut();
        let ln = g.generate("KSTREAM-JOINTHIS");
        let left_node = g.add(ln, NodeKind::Processor, left_factory, &[left.node]);
        let rn = g.generate("KSTREAM-JOINOTHER");
        let right_node = g.add(rn, NodeKind::Processor, right_factory, &[right.node]);
        for n in [left_node, right_node] {
            g.connect_store(n, &this_store);
            g.connect_store(n, &other_store);
            if let Some(o) = &outer_store {
                g.connect_store(n, o);
            }
        }
        let mn = g.generate("KSTREAM-MERGE");
        let merge = crate::processor::node_factory::<_, K, VR, K, VR>(|| {
            crate::processor::FnNode(Arc::new(
                |ctx: &mut ProcessorContext<'_, '_, '_, K, VR>, r: Record<K, VR>| {
                    ctx.forward(r);
                    Ok(())
                },
            ))
        });
        let node = g.add(mn, NodeKind::Processor, merge, &[left_node, right_node]);
        let mut topics = g.source_topics_upstream(left.node);
        topics.extend(g.source_topics_upstream(right.node));
        g.add_copartition_group(topics);
        drop(g);
        KStream {
            graph,
            node,
            key_serde: Some(serdes.key),
            value_serde: None,
            repartition_required: false,
        }
    }
}
