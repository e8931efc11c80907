//! DeleteRecords: move a partition's log start offset forward (-1 = up to the high watermark).
//! Each partition's deletion runs on the blocking pool ([`Partition::delete_records`]).
//!
//! [`Partition::delete_records`]: crate::topics::Partition::delete_records

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::delete_records_response::{
    DeleteRecordsPartitionResult, DeleteRecordsTopicResult,
};
use kafka_protocol::messages::{DeleteRecordsRequest, DeleteRecordsResponse};

use super::RequestContext;
use crate::error::log_error_code;

/// Handles a DeleteRecords request.
pub async fn handle(ctx: &RequestContext<'_>, req: DeleteRecordsRequest) -> DeleteRecordsResponse {
    let mut topics = Vec::with_capacity(req.topics.len());
    for t in req.topics {
        let topic = ctx.state.topics.get(&t.name);
        let mut partitions = Vec::with_capacity(t.partitions.len());
        for p in t.partitions {
            let mut r = DeleteRecordsPartitionResult::default()
                .with_partition_index(p.partition_index)
                .with_low_watermark(-1);
            match topic.as_ref().and_then(|t| t.partition(p.partition_index)) {
                None => r.error_code = ResponseError::UnknownTopicOrPartition.code(),
                Some(partition) => match partition.delete_records(p.offset).await {
                    Ok(low) => r.low_watermark = low,
                    Err(e) => r.error_code = log_error_code(&e).code(),
                },
            }
            partitions.push(r);
        }
        topics.push(
            DeleteRecordsTopicResult::default()
                .with_name(t.name)
                .with_partitions(partitions),
        );
    }
    DeleteRecordsResponse::default().with_topics(topics)
}
