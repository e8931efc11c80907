//! ListOffsets: earliest (-2), latest (-1, the high watermark), max timestamp (-3), or the
//! first offset whose timestamp is at least the one asked for.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse};

use super::RequestContext;
use crate::error::log_error_code;
use crate::log::{LogError, PartitionLog};

const LATEST: i64 = -1;
const EARLIEST: i64 = -2;
const MAX_TIMESTAMP: i64 = -3;

/// Handles a ListOffsets request.
pub async fn handle(ctx: &RequestContext<'_>, req: ListOffsetsRequest) -> ListOffsetsResponse {
    let topics = &ctx.state.topics;
    // The leader epoch exists from v4; older versions must leave it at its default (-1) or
    // the response does not encode (librdkafka 2.0 and kafka-python 2.0 ask v1 and v2).
    let leader_epoch = if ctx.version >= 4 { 0 } else { -1 };
    let responses = req
        .topics
        .into_iter()
        .map(|t| {
            let topic = topics.get(&t.name);
            let partitions = t
                .partitions
                .into_iter()
                .map(|p| {
                    let mut r = ListOffsetsPartitionResponse::default()
                        .with_partition_index(p.partition_index)
                        .with_timestamp(-1)
                        .with_offset(-1)
                        .with_leader_epoch(leader_epoch);
                    match topic.as_ref().and_then(|t| t.partition(p.partition_index)) {
                        None => r.error_code = ResponseError::UnknownTopicOrPartition.code(),
                        Some(partition) => match lookup(&partition.log(), p.timestamp) {
                            Ok(Some((offset, ts))) => {
                                r.offset = offset;
                                r.timestamp = ts;
                            }
                            Ok(None) => {}
                            Err(e) => r.error_code = log_error_code(&e).code(),
                        },
                    }
                    r
                })
                .collect();
            ListOffsetsTopicResponse::default()
                .with_name(t.name)
                .with_partitions(partitions)
        })
        .collect();
    ListOffsetsResponse::default().with_topics(responses)
}

fn lookup(log: &PartitionLog, timestamp: i64) -> Result<Option<(i64, i64)>, LogError> {
    match timestamp {
        LATEST => Ok(Some((log.log_end_offset(), -1))),
        EARLIEST => Ok(Some((log.log_start_offset(), -1))),
        MAX_TIMESTAMP => log.max_timestamp(),
        ts if ts >= 0 => log.offset_for_timestamp(ts),
        // Unknown special values (earliest-local, tiered) fall back to their nearest meaning.
        _ => Ok(Some((log.log_start_offset(), -1))),
    }
}
