//! OffsetFetch: a group's committed offsets; -1 where nothing was committed (v1-7 one group,
//! v8+ several).

use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions,
    OffsetFetchResponseTopic, OffsetFetchResponseTopics,
};
use kafka_protocol::messages::{OffsetFetchRequest, OffsetFetchResponse, TopicName};
use kafka_protocol::protocol::StrBytes;

use super::RequestContext;
use crate::coordinator::CommittedOffset;

type Row = (String, i32, Option<CommittedOffset>);
/// A topic's partitions with their committed offsets.
type TopicRows = (String, Vec<(i32, Option<CommittedOffset>)>);

/// Rows grouped by topic, in first-seen order.
fn by_topic(rows: Vec<Row>) -> Vec<TopicRows> {
    let mut out: Vec<TopicRows> = Vec::new();
    for (t, p, o) in rows {
        match out.iter_mut().find(|(name, _)| *name == t) {
            Some((_, parts)) => parts.push((p, o)),
            None => out.push((t, vec![(p, o)])),
        }
    }
    out
}

fn fields(o: &Option<CommittedOffset>) -> (i64, i32, StrBytes) {
    match o {
        Some(o) => (
            o.offset,
            o.leader_epoch,
            StrBytes::from_string(o.metadata.clone()),
        ),
        None => (-1, -1, StrBytes::default()),
    }
}

/// Builds response topics of either OffsetFetch shape (v1-7 or v8+) from the same rows.
fn response_topics<P, T>(
    rows: Vec<Row>,
    partition: impl Fn(i32, i64, i32, StrBytes) -> P,
    topic: impl Fn(TopicName, Vec<P>) -> T,
) -> Vec<T> {
    by_topic(rows)
        .into_iter()
        .map(|(t, parts)| {
            let partitions = parts
                .iter()
                .map(|(p, o)| {
                    let (offset, epoch, meta) = fields(o);
                    partition(*p, offset, epoch, meta)
                })
                .collect();
            topic(TopicName(StrBytes::from_string(t)), partitions)
        })
        .collect()
}

/// Handles an OffsetFetch request.
pub fn handle(ctx: &RequestContext<'_>, req: OffsetFetchRequest) -> OffsetFetchResponse {
    let coordinator = &ctx.state.groups;
    if ctx.version >= 8 {
        let groups = req
            .groups
            .into_iter()
            .map(|g| {
                let wanted = g.topics.map(|ts| {
                    ts.into_iter()
                        .map(|t| (t.name.to_string(), t.partition_indexes))
                        .collect()
                });
                let topics = response_topics(
                    coordinator.fetch_offsets(&g.group_id, wanted),
                    |p, offset, epoch, meta| {
                        OffsetFetchResponsePartitions::default()
                            .with_partition_index(p)
                            .with_committed_offset(offset)
                            .with_committed_leader_epoch(epoch)
                            .with_metadata(Some(meta))
                    },
                    |name, partitions| {
                        OffsetFetchResponseTopics::default()
                            .with_name(name)
                            .with_partitions(partitions)
                    },
                );
                OffsetFetchResponseGroup::default()
                    .with_group_id(g.group_id)
                    .with_topics(topics)
            })
            .collect();
        return OffsetFetchResponse::default().with_groups(groups);
    }
    let wanted = req.topics.map(|ts| {
        ts.into_iter()
            .map(|t| (t.name.to_string(), t.partition_indexes))
            .collect()
    });
    let topics = response_topics(
        coordinator.fetch_offsets(&req.group_id, wanted),
        |p, offset, epoch, meta| {
            OffsetFetchResponsePartition::default()
                .with_partition_index(p)
                .with_committed_offset(offset)
                .with_committed_leader_epoch(epoch)
                .with_metadata(Some(meta))
        },
        |name, partitions| {
            OffsetFetchResponseTopic::default()
                .with_name(name)
                .with_partitions(partitions)
        },
    );
    OffsetFetchResponse::default().with_topics(topics)
}
