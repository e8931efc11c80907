//! Fetch: hand stored batches back as they are, waiting up to `max_wait_ms` for `min_bytes`.
//!
//! Limits: `partition_max_bytes` per partition and `max_bytes` for the whole response, except
//! that the first partition with data always returns at least one whole batch so a consumer
//! makes progress past a batch larger than its limits. A fetch offset inside a batch returns
//! that whole batch; the client skips the records before its offset. An empty partition gets
//! an empty record set, never a null one. Fetch sessions are not offered (session id 0), so
//! clients send full fetch requests.

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::{FetchRequest, FetchResponse};

use super::RequestContext;
use crate::error::log_error_code;

/// Handles a Fetch request.
///
/// A fetch that waits watches only the partitions it asked for: an append elsewhere does not
/// wake it.
pub async fn handle(ctx: &RequestContext<'_>, req: FetchRequest) -> FetchResponse {
    let state = ctx.state;
    let mut appends: Vec<_> = req
        .topics
        .iter()
        .flat_map(|t| {
            let topic = state.topics.get(&t.topic);
            t.partitions
                .iter()
                .filter_map(|p| topic.as_ref()?.partition(p.partition))
                .map(|p| p.subscribe_appends())
                .collect::<Vec<_>>()
        })
        .collect();
    let wait = std::time::Duration::from_millis(u64::try_from(req.max_wait_ms).unwrap_or(0));
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        for a in &mut appends {
            a.borrow_and_update();
        }
        let (response, bytes, errors) = read_all(ctx, &req);
        if errors
            || bytes >= i64::from(req.min_bytes.max(1))
            || tokio::time::Instant::now() >= deadline
        {
            return response;
        }
        let any_append = async {
            if appends.is_empty() {
                std::future::pending::<Result<(), _>>().await
            } else {
                let waits = appends.iter_mut().map(|a| Box::pin(a.changed()));
                futures_util::future::select_all(waits).await.0
            }
        };
        tokio::select! {
            changed = any_append => if changed.is_err() { return response },
            _ = tokio::time::sleep_until(deadline) => {}
            _ = state.shutdown.cancelled() => return response,
        }
    }
}

/// One pass over the requested partitions: the response, its record bytes, and whether any
/// partition had an error (which answers at once).
fn read_all(ctx: &RequestContext<'_>, req: &FetchRequest) -> (FetchResponse, i64, bool) {
    let topics = &ctx.state.topics;
    let read_committed = req.isolation_level == 1;
    let mut remaining = usize::try_from(req.max_bytes).unwrap_or(0);
    let mut total = 0i64;
    let mut errors = false;
    let mut first_data = true;
    let mut responses = Vec::with_capacity(req.topics.len());
    for t in &req.topics {
        let topic = topics.get(&t.topic);
        let mut partitions = Vec::with_capacity(t.partitions.len());
        for p in &t.partitions {
            let mut data = PartitionData::default()
                .with_partition_index(p.partition)
                .with_high_watermark(-1)
                .with_last_stable_offset(-1)
                .with_log_start_offset(-1)
                .with_preferred_read_replica((-1).into())
                .with_records(Some(Bytes::new()))
                .with_aborted_transactions(read_committed.then(Vec::new));
            match topic.as_ref().and_then(|t| t.partition(p.partition)) {
                None => {
                    errors = true;
                    data.error_code = ResponseError::UnknownTopicOrPartition.code();
                }
                Some(partition) => {
                    let log = partition.log();
                    let hw = log.log_end_offset();
                    data.high_watermark = hw;
                    data.last_stable_offset = hw;
                    data.log_start_offset = log.log_start_offset();
                    let limit = usize::try_from(p.partition_max_bytes)
                        .unwrap_or(0)
                        .min(remaining);
                    if limit > 0 || first_data {
                        match log.read(p.fetch_offset, limit.max(1)) {
                            Ok(bytes) if bytes.is_empty() => {}
                            Ok(bytes) if first_data || bytes.len() <= limit => {
                                first_data = false;
                                remaining = remaining.saturating_sub(bytes.len());
                                total += bytes.len() as i64;
                                data.records = Some(bytes);
                            }
                            Ok(_) => {}
                            Err(e) => {
                                errors = true;
                                data.error_code = log_error_code(&e).code();
                            }
                        }
                    }
                }
            }
            partitions.push(data);
        }
        responses.push(
            FetchableTopicResponse::default()
                .with_topic(t.topic.clone())
                .with_topic_id(t.topic_id)
                .with_partitions(partitions),
        );
    }
    (
        FetchResponse::default().with_responses(responses),
        total,
        errors,
    )
}
