//! Fetch: hand stored batches back as they are, waiting up to `max_wait_ms` for `min_bytes`.
//!
//! Limits: `partition_max_bytes` per partition and `max_bytes` for the whole response, except
//! that the first partition with data always returns at least one whole batch so a consumer
//! makes progress past a batch larger than its limits ([`Budget`]). A fetch offset inside a
//! batch returns that whole batch; the client skips the records before its offset. An empty
//! partition gets an empty record set, never a null one. Fetch sessions are not offered
//! (session id 0), so clients send full fetch requests.
//!
//! Each pass over the partitions that needs the disk runs as one task on the blocking pool
//! (see `topics::io`); a pass in which every partition is at its log end (a consumer waiting
//! for new data) is answered from the partitions' published offsets without any I/O.

use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::{FetchRequest, FetchResponse, TopicName};

use super::RequestContext;
use crate::error::log_error_code;
use crate::log::LogError;
use crate::topics::{Partition, ReadOutcome};

/// One requested partition, resolved once per request.
#[derive(Debug)]
struct Target {
    index: i32,
    partition: Option<Arc<Partition>>,
    fetch_offset: i64,
    partition_max_bytes: i32,
}

/// The requested partitions of one topic.
#[derive(Debug)]
struct TopicTargets {
    topic: TopicName,
    topic_id: uuid::Uuid,
    partitions: Vec<Target>,
}

/// Handles a Fetch request.
///
/// A fetch that waits watches only the partitions it asked for: an append elsewhere does not
/// wake it.
pub async fn handle(ctx: &RequestContext<'_>, req: FetchRequest) -> FetchResponse {
    let state = ctx.state;
    let targets: Arc<Vec<TopicTargets>> = Arc::new(
        req.topics
            .into_iter()
            .map(|t| {
                let topic = state.topics.get(&t.topic);
                TopicTargets {
                    partitions: t
                        .partitions
                        .iter()
                        .map(|p| Target {
                            index: p.partition,
                            partition: topic.as_ref().and_then(|t| t.partition(p.partition)),
                            fetch_offset: p.fetch_offset,
                            partition_max_bytes: p.partition_max_bytes,
                        })
                        .collect(),
                    topic: t.topic,
                    topic_id: t.topic_id,
                }
            })
            .collect(),
    );
    let mut appends: Vec<_> = targets
        .iter()
        .flat_map(|t| t.partitions.iter())
        .filter_map(|t| t.partition.as_ref().map(|p| p.subscribe_appends()))
        .collect();
    let read_committed = req.isolation_level == 1;
    let wait = std::time::Duration::from_millis(u64::try_from(req.max_wait_ms).unwrap_or(0));
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        for a in &mut appends {
            a.borrow_and_update();
        }
        let (response, bytes, errors) =
            read_all(ctx, &targets, req.max_bytes, read_committed).await;
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

/// One pass over the requested partitions: on the blocking pool if any needs the disk, else
/// here from the published offsets.
async fn read_all(
    ctx: &RequestContext<'_>,
    targets: &Arc<Vec<TopicTargets>>,
    max_bytes: i32,
    read_committed: bool,
) -> (FetchResponse, i64, bool) {
    let needs_disk = targets.iter().flat_map(|t| t.partitions.iter()).any(|t| {
        t.partition
            .as_ref()
            .is_some_and(|p| without_io(p, t.fetch_offset).is_none())
    });
    if !needs_disk {
        return read_pass(targets, max_bytes, read_committed, &mut |t, limit| {
            let p = t.partition.as_ref()?;
            match limit {
                None => Some(Ok(offsets_only(p))),
                Some(_) => without_io(p, t.fetch_offset),
            }
        });
    }
    let pass = {
        let targets = targets.clone();
        move || {
            read_pass(&targets, max_bytes, read_committed, &mut |t, limit| {
                let p = t.partition.as_ref()?;
                Some(match limit {
                    None => Ok(offsets_only(p)),
                    Some(limit) => p.read_blocking(t.fetch_offset, limit),
                })
            })
        }
    };
    match ctx.state.topics.io().run(pass).await {
        Ok(out) => out,
        Err(e) => {
            tracing::error!(error = %e, "fetch read failed");
            read_pass(targets, max_bytes, read_committed, &mut |t, _| {
                t.partition.as_ref()?;
                Some(Err(LogError::io(
                    std::path::Path::new("fetch"),
                    std::io::Error::other(e.to_string()),
                )))
            })
        }
    }
}

/// No records, and the partition's published offsets.
fn offsets_only(p: &Partition) -> ReadOutcome {
    ReadOutcome {
        records: Bytes::new(),
        high_watermark: p.log_end_offset(),
        log_start_offset: p.log_start_offset(),
    }
}

/// The answer for a partition that needs no read: empty at the log end, out of range outside
/// the log; `None` if the data must be read.
fn without_io(p: &Partition, offset: i64) -> Option<Result<ReadOutcome, LogError>> {
    let (start, end) = (p.log_start_offset(), p.log_end_offset());
    if offset == end {
        Some(Ok(ReadOutcome {
            records: Bytes::new(),
            high_watermark: end,
            log_start_offset: start,
        }))
    } else if offset < start || offset > end {
        Some(Err(LogError::OffsetOutOfRange {
            offset,
            log_start: start,
            log_end: end,
        }))
    } else {
        None
    }
}

/// The size rule of a fetch response: each partition reads at most `partition_max_bytes`
/// and what is left of `max_bytes`, except that the first partition with data keeps one
/// whole batch whatever its size (the log returns at least one), so a consumer always makes
/// progress. A later partition whose first batch does not fit returns nothing this time.
#[derive(Debug)]
struct Budget {
    remaining: usize,
    first_data: bool,
}

impl Budget {
    fn new(max_bytes: i32) -> Budget {
        Budget {
            remaining: usize::try_from(max_bytes).unwrap_or(0),
            first_data: true,
        }
    }

    /// The `max_bytes` to read a partition with, or `None` to skip it.
    fn limit(&self, partition_max_bytes: i32) -> Option<usize> {
        let limit = usize::try_from(partition_max_bytes)
            .unwrap_or(0)
            .min(self.remaining);
        (limit > 0 || self.first_data).then_some(limit.max(1))
    }

    /// Whether `len` bytes read with `limit` go into the response; charges them if so.
    fn take(&mut self, len: usize, limit: usize) -> bool {
        if len == 0 || !(self.first_data || len <= limit) {
            return false;
        }
        self.first_data = false;
        self.remaining = self.remaining.saturating_sub(len);
        true
    }
}

/// Reads a partition with a byte limit (`None`: only its offsets, the budget is spent);
/// returns `None` if the partition does not exist.
type Reader<'a> = dyn FnMut(&Target, Option<usize>) -> Option<Result<ReadOutcome, LogError>> + 'a;

/// One pass over the requested partitions: the response, its record bytes, and whether any
/// partition had an error (which answers at once).
fn read_pass(
    targets: &[TopicTargets],
    max_bytes: i32,
    read_committed: bool,
    read: &mut Reader<'_>,
) -> (FetchResponse, i64, bool) {
    let mut budget = Budget::new(max_bytes);
    let mut total = 0i64;
    let mut errors = false;
    let mut responses = Vec::with_capacity(targets.len());
    for t in targets {
        let mut partitions = Vec::with_capacity(t.partitions.len());
        for p in &t.partitions {
            let mut data = PartitionData::default()
                .with_partition_index(p.index)
                .with_high_watermark(-1)
                .with_last_stable_offset(-1)
                .with_log_start_offset(-1)
                .with_preferred_read_replica((-1).into())
                .with_records(Some(Bytes::new()))
                .with_aborted_transactions(read_committed.then(Vec::new));
            let limit = budget.limit(p.partition_max_bytes);
            match read(p, limit) {
                None => {
                    errors = true;
                    data.error_code = ResponseError::UnknownTopicOrPartition.code();
                }
                Some(Err(e)) => {
                    errors = true;
                    data.error_code = log_error_code(&e).code();
                }
                Some(Ok(out)) => {
                    data.high_watermark = out.high_watermark;
                    data.last_stable_offset = out.high_watermark;
                    data.log_start_offset = out.log_start_offset;
                    if let Some(limit) = limit {
                        if budget.take(out.records.len(), limit) {
                            total += out.records.len() as i64;
                            data.records = Some(out.records);
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

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)] // Tests may panic on failure.
mod tests {
    use super::*;

    /// Three partitions, each of whose log holds batches of `batch` bytes: a fake reader
    /// that returns as many whole batches as fit in the limit, at least one (the log's rule).
    fn pass(max_bytes: i32, partition_max: i32, batch: usize) -> Vec<usize> {
        let targets = vec![TopicTargets {
            topic: TopicName(kafka_protocol::protocol::StrBytes::from_static_str("t")),
            topic_id: uuid::Uuid::nil(),
            partitions: (0..3)
                .map(|i| Target {
                    index: i,
                    partition: None,
                    fetch_offset: 0,
                    partition_max_bytes: partition_max,
                })
                .collect(),
        }];
        let (resp, total, errors) = read_pass(&targets, max_bytes, false, &mut |_, limit| {
            let n = limit.map_or(0, |l| (l / batch).max(1));
            Some(Ok(ReadOutcome {
                records: Bytes::from(vec![0u8; n * batch]),
                high_watermark: 100,
                log_start_offset: 0,
            }))
        });
        assert!(!errors);
        let sizes: Vec<usize> = resp.responses[0]
            .partitions
            .iter()
            .map(|p| p.records.as_ref().map_or(0, Bytes::len))
            .collect();
        assert_eq!(total as usize, sizes.iter().sum::<usize>());
        sizes
    }

    #[test]
    fn the_first_partition_returns_one_batch_even_past_every_limit() {
        // A 500-byte batch, limits of 100: the first partition still returns it, the others
        // get nothing (their batch does not fit what is left).
        assert_eq!(pass(100, 100, 500), vec![500, 0, 0]);
        assert_eq!(pass(1_000, 100, 500), vec![500, 0, 0]);
    }

    #[test]
    fn partition_max_bytes_bounds_each_partition() {
        assert_eq!(pass(10_000, 250, 100), vec![200, 200, 200]);
        // A later partition whose first batch is larger than its limit returns nothing.
        assert_eq!(pass(10_000, 50, 100), vec![100, 0, 0]);
    }

    #[test]
    fn max_bytes_bounds_the_whole_response() {
        // 1000 bytes in all: 400 + 400, then 200 left for the third.
        assert_eq!(pass(1_000, 400, 100), vec![400, 400, 200]);
        // Once it is spent the rest read nothing.
        assert_eq!(pass(800, 400, 100), vec![400, 400, 0]);
    }

    #[test]
    fn budget_skips_reads_once_spent_but_never_the_first() {
        let mut b = Budget::new(0);
        assert_eq!(b.limit(1_000), Some(1), "the first partition always reads");
        assert!(b.take(300, 1));
        assert_eq!(b.limit(1_000), None);
        let mut b = Budget::new(1_000);
        assert!(!b.take(0, 100), "an empty read charges nothing");
        assert!(b.first_data);
    }
}
