//! Produce: validate each partition's batches and append them to the partition log.
//!
//! The log does the per-batch work (CRC, sizes, idempotent sequence checks, offset
//! assignment); this handler resolves topics and partitions and maps outcomes to error codes.
//! Appends land in the OS page cache (a crash of the process loses nothing acknowledged);
//! fsync follows the flush policy documented in `log`. The partitions of one request are
//! appended concurrently, each on the blocking pool through [`Partition::append`]; the
//! response keeps the request's order.

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::produce_response::{
    BatchIndexAndErrorMessage, PartitionProduceResponse, TopicProduceResponse,
};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse};
use kafka_protocol::protocol::StrBytes;

use super::RequestContext;
use crate::error::log_error_code;
use crate::log::LogError;
use crate::topics::Partition;

/// Handles a Produce request.
pub async fn handle(ctx: &RequestContext<'_>, req: ProduceRequest) -> ProduceResponse {
    let topics = &ctx.state.topics;
    let acks_ok = matches!(req.acks, -1..=1);
    let acks = req.acks;
    let mut responses = Vec::with_capacity(req.topic_data.len());
    for t in req.topic_data {
        let topic = topics.get(&t.name);
        let name = &t.name;
        let appends = t.partition_data.into_iter().map(|p| {
            let partition = topic.as_ref().and_then(|t| t.partition(p.index));
            async move {
                let outcome = match (acks_ok, partition) {
                    (false, _) => Err((
                        ResponseError::InvalidRequiredAcks,
                        format!("acks={acks} is not one of -1, 0, 1"),
                        Vec::new(),
                    )),
                    (true, None) => Err((
                        ResponseError::UnknownTopicOrPartition,
                        format!("topic '{}' partition {} does not exist", &**name, p.index),
                        Vec::new(),
                    )),
                    (true, Some(partition)) => append(&partition, p.records).await,
                };
                (p.index, outcome)
            }
        });
        let outcomes = futures_util::future::join_all(appends).await;
        let mut partition_responses = Vec::with_capacity(outcomes.len());
        for (index, outcome) in outcomes {
            let mut r = PartitionProduceResponse::default()
                .with_index(index)
                .with_base_offset(-1)
                .with_log_append_time_ms(-1)
                .with_log_start_offset(-1);
            match outcome {
                Ok((base, log_start)) => {
                    r.base_offset = base;
                    r.log_start_offset = log_start;
                }
                Err((code, message, bad_records)) => {
                    r.error_code = code.code();
                    r.record_errors = bad_records
                        .into_iter()
                        .map(|i| {
                            BatchIndexAndErrorMessage::default()
                                .with_batch_index(i)
                                .with_batch_index_error_message(Some(StrBytes::from_string(
                                    message.clone(),
                                )))
                        })
                        .collect();
                    r.error_message = Some(StrBytes::from_string(message));
                }
            }
            partition_responses.push(r);
        }
        responses.push(
            TopicProduceResponse::default()
                .with_name(t.name)
                .with_partition_responses(partition_responses),
        );
    }
    ProduceResponse::default().with_responses(responses)
}

/// Why a partition's records were refused: error code, message, and the batch indexes of the
/// individual records at fault (Kafka's `record_errors`; empty when the whole batch is at fault).
type Rejection = (ResponseError, String, Vec<i32>);

async fn append(
    partition: &std::sync::Arc<Partition>,
    records: Option<Bytes>,
) -> Result<(i64, i64), Rejection> {
    let records = records.filter(|r| !r.is_empty()).ok_or_else(|| {
        (
            ResponseError::InvalidRecord,
            "produce request has no records".to_string(),
            Vec::new(),
        )
    })?;
    match partition.append(records).await {
        Ok(o) => Ok((o.base_offset, o.log_start_offset)),
        Err(e) => {
            tracing::debug!(partition = partition.index, error = %e, "produce rejected");
            let bad_records = match &e {
                LogError::InvalidRecords { indexes, .. } => indexes.clone(),
                _ => Vec::new(),
            };
            Err((log_error_code(&e), e.to_string(), bad_records))
        }
    }
}
