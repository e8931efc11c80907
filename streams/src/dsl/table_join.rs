//! Table-table joins: inner, left and outer, on the key. Both tables must
//! be materialized (their stores answer the lookups) and co-partitioned.

use std::sync::Arc;

use super::ktable::{store_bytes, Change, KTable};
use super::options::SerdeRef;
use crate::error::Result;
use crate::processor::{Data, ProcessorContext};
use crate::record::Record;
use crate::topology::NodeKind;

/// Which rows a join keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JoinKind {
    /// Rows with both sides.
    Inner,
    /// Rows with a left side.
    Left,
    /// Rows with either side.
    Outer,
}

impl JoinKind {
    fn keeps(self, left: bool, right: bool) -> bool {
        match self {
            JoinKind::Inner => left && right,
            JoinKind::Left => left,
            JoinKind::Outer => left || right,
        }
    }
}

/// The joiner, `None` where it has no row to give (never for rows the kind keeps).
type Joiner<V, VO, VR> = Arc<dyn Fn(Option<&V>, Option<&VO>) -> Option<VR> + Send + Sync>;

/// The result row of `l` and `r`, or `None` when the join drops it.
fn joined<V, VO, VR>(
    kind: JoinKind,
    joiner: &Joiner<V, VO, VR>,
    l: Option<&V>,
    r: Option<&VO>,
) -> Option<VR> {
    if kind.keeps(l.is_some(), r.is_some()) {
        joiner(l, r)
    } else {
        None
    }
}

fn lookup<K: Data, T: Data>(
    ctx: &mut ProcessorContext<'_, '_, '_, K, impl Data>,
    store: &str,
    key: &SerdeRef<K>,
    value: &SerdeRef<T>,
    k: &K,
) -> Result<Option<T>> {
    let topic = format!("{}-{store}-changelog", ctx.application_id());
    let kb = store_bytes(key.as_ref(), &topic, k)?;
    Ok(match ctx.kv_store(store)?.get(&kb)? {
        Some(b) => Some(value.deserialize(&topic, Some(&b))?),
        None => None,
    })
}

impl<K: Data, V: Data> KTable<K, V> {
    /// The rows whose key is in both tables, joined with `joiner`.
    pub fn join<VO: Data, VR: Data>(
        self,
        other: &KTable<K, VO>,
        joiner: impl Fn(&V, &VO) -> VR + Send + Sync + 'static,
    ) -> KTable<K, VR> {
        self.table_join(
            other,
            JoinKind::Inner,
            Arc::new(move |l: Option<&V>, r: Option<&VO>| match (l, r) {
                (Some(l), Some(r)) => Some(joiner(l, r)),
                _ => None,
            }),
        )
    }

    /// Every row of this table, joined with the other's row (`None` when absent).
    pub fn left_join<VO: Data, VR: Data>(
        self,
        other: &KTable<K, VO>,
        joiner: impl Fn(&V, Option<&VO>) -> VR + Send + Sync + 'static,
    ) -> KTable<K, VR> {
        self.table_join(
            other,
            JoinKind::Left,
            Arc::new(move |l: Option<&V>, r: Option<&VO>| l.map(|l| joiner(l, r))),
        )
    }

    /// Every key of either table, with both rows (each `None` when absent).
    pub fn outer_join<VO: Data, VR: Data>(
        self,
        other: &KTable<K, VO>,
        joiner: impl Fn(Option<&V>, Option<&VO>) -> VR + Send + Sync + 'static,
    ) -> KTable<K, VR> {
        self.table_join(
            other,
            JoinKind::Outer,
            Arc::new(move |l: Option<&V>, r: Option<&VO>| Some(joiner(l, r))),
        )
    }

    fn table_join<VO: Data, VR: Data>(
        self,
        other: &KTable<K, VO>,
        kind: JoinKind,
        joiner: Joiner<V, VO, VR>,
    ) -> KTable<K, VR> {
        let (Some(ls), Some(rs)) = (self.store.clone(), other.store.clone()) else {
            self.graph.borrow_mut().error(
                "a table-table join needs both tables materialized (from StreamsBuilder::table or an aggregation)".into(),
            );
            return self.dead();
        };
        let (Some(key), Some(lv), Some(rv)) = (
            self.key_serde.clone(),
            self.value_serde.clone(),
            other.value_serde.clone(),
        ) else {
            self.graph
                .borrow_mut()
                .error("a table-table join needs the key and value serdes of both tables".into());
            return self.dead();
        };
        // A left update looks up the right row, and the other way round.
        let (j, k, rs2, rv2) = (joiner.clone(), key.clone(), rs.clone(), rv.clone());
        let left = self.stream_view().add_fn(
            "KTABLE-JOINTHIS",
            move |ctx: &mut ProcessorContext<'_, '_, '_, K, Change<VR>>,
                  r: Record<K, Change<V>>| {
                let other = lookup(ctx, &rs2, &k, &rv2, &r.key)?;
                let change = Change {
                    new: joined(kind, &j, r.value.new.as_ref(), other.as_ref()),
                    old: joined(kind, &j, r.value.old.as_ref(), other.as_ref()),
                };
                if change.new.is_some() || change.old.is_some() {
                    ctx.forward(r.with_value(change));
                }
                Ok(())
            },
        );
        let (j, k, ls2, lv2) = (joiner, key.clone(), ls.clone(), lv);
        let right = other.stream_view().add_fn(
            "KTABLE-JOINOTHER",
            move |ctx: &mut ProcessorContext<'_, '_, '_, K, Change<VR>>,
                  r: Record<K, Change<VO>>| {
                let this = lookup(ctx, &ls2, &k, &lv2, &r.key)?;
                let change = Change {
                    new: joined(kind, &j, this.as_ref(), r.value.new.as_ref()),
                    old: joined(kind, &j, this.as_ref(), r.value.old.as_ref()),
                };
                if change.new.is_some() || change.old.is_some() {
                    ctx.forward(r.with_value(change));
                }
                Ok(())
            },
        );
        let mut g = self.graph.borrow_mut();
        g.connect_store(left, &rs);
        g.connect_store(right, &ls);
        let merge_name = g.generate("KTABLE-MERGE");
        let factory = crate::processor::node_factory::<_, K, Change<VR>, K, Change<VR>>(|| {
            crate::processor::FnNode(Arc::new(
                |ctx: &mut ProcessorContext<'_, '_, '_, K, Change<VR>>,
                 r: Record<K, Change<VR>>| {
                    ctx.forward(r);
                    Ok(())
                },
            ))
        });
        let node = g.add(merge_name, NodeKind::Processor, factory, &[left, right]);
        let mut topics = g.source_topics_upstream(self.node);
        topics.extend(g.source_topics_upstream(other.node));
        g.add_copartition_group(topics);
        drop(g);
        KTable {
            graph: self.graph.clone(),
            node,
            key_serde: Some(key),
            value_serde: None,
            store: None,
        }
    }
}
