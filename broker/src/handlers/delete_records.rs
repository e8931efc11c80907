//! DeleteRecords: move a partition's log start offset forward (-1 = up to the high watermark).

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::delete_records_response::{
    DeleteRecordsPartitionResult, DeleteRecordsTopicResult,
};
use kafka_protocol::messages::{DeleteRecordsRequest, DeleteRecordsResponse};

use super::RequestContext;
use crate::error::log_error_code;

/// Handles a DeleteRecords request.
pub async fn handle(ctx: &RequestContext<'_>, req: DeleteRecordsRequest) -> DeleteRecordsResponse {
    let state = ctx.state.clone();
    let work = move || {
        let topics = req
            .topics
            .into_iter()
            .map(|t| {
                let topic = state.topics.get(&t.name);
                let partitions = t
                    .partitions
                    .into_iter()
                    .map(|p| {
                        let mut r = DeleteRecordsPartitionResult::default()
                            .with_partition_index(p.partition_index)
                            .with_low_watermark(-1);
                        match topic.as_ref().and_then(|t| t.partition(p.partition_index)) {
                            None => r.error_code = ResponseError::UnknownTopicOrPartition.code(),
                            Some(partition) => match partition.log().delete_records(p.offset) {
                                Ok(low) => r.low_watermark = low,
                                Err(e) => r.error_code = log_error_code(&e).code(),
                            },
                        }
                        r
                    })
                    .collect();
                DeleteRecordsTopicResult::default()
                    .with_name(t.name)
                    .with_partitions(partitions)
            })
            .collect();
        DeleteRecordsResponse::default().with_topics(topics)
    };
    tokio::task::spawn_blocking(work).await.unwrap_or_default()
}
