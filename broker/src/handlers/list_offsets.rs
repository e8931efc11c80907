//! ListOffsets: earliest (-2), latest (-1, the high watermark), max timestamp (-3), or the
//! first offset whose timestamp is at least the one asked for.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse};

use super::RequestContext;
use crate::error::log_error_code;
use crate::log::LogError;
use crate::topics::Partition;

const LATEST: i64 = -1;
const EARLIEST: i64 = -2;
const MAX_TIMESTAMP: i64 = -3;

/// Handles a ListOffsets request.
pub async fn handle(ctx: &RequestContext<'_>, req: ListOffsetsRequest) -> ListOffsetsResponse {
    let topics = &ctx.state.topics;
    // The leader epoch exists from v4; older versions must leave it at its default (-1) or
    // the response does not encode (librdkafka 2.0 and kafka-python 2.0 ask v1 and v2).
    let leader_epoch = if ctx.version >= 4 { 0 } else { -1 };
    let mut responses = Vec::with_capacity(req.topics.len());
    for t in req.topics {
        let topic = topics.get(&t.name);
        let mut partitions = Vec::with_capacity(t.partitions.len());
        for p in t.partitions {
            let mut r = ListOffsetsPartitionResponse::default()
                .with_partition_index(p.partition_index)
                .with_timestamp(-1)
                .with_offset(-1)
                .with_leader_epoch(leader_epoch);
            match topic.as_ref().and_then(|t| t.partition(p.partition_index)) {
                None => r.error_code = ResponseError::UnknownTopicOrPartition.code(),
                Some(partition) => match lookup(&partition, p.timestamp).await {
                    Ok(Some((offset, ts))) => {
                        r.offset = offset;
                        r.timestamp = ts;
                    }
                    Ok(None) => {}
                    Err(e) => r.error_code = log_error_code(&e).code(),
                },
            }
            partitions.push(r);
        }
        responses.push(
            ListOffsetsTopicResponse::default()
                .with_name(t.name)
                .with_partitions(partitions),
        );
    }
    ListOffsetsResponse::default().with_topics(responses)
}

/// Earliest and latest come from the partition's published offsets; timestamp look-ups read
/// (and may decompress) a batch, on the blocking pool.
async fn lookup(
    partition: &std::sync::Arc<Partition>,
    timestamp: i64,
) -> Result<Option<(i64, i64)>, LogError> {
    match timestamp {
        LATEST => Ok(Some((partition.log_end_offset(), -1))),
        EARLIEST => Ok(Some((partition.log_start_offset(), -1))),
        MAX_TIMESTAMP => partition.max_timestamp().await,
        ts if ts >= 0 => partition.offset_for_timestamp(ts).await,
        // Unknown special values (earliest-local, tiered) fall back to their nearest meaning.
        _ => Ok(Some((partition.log_start_offset(), -1))),
    }
}
