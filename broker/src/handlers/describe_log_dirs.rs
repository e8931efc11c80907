//! DescribeLogDirs: the broker's one log directory, the size of each partition in it, and
//! (v4) the space of the file system it is on. Tools such as `kafka-log-dirs.sh` and the admin
//! UIs use it for topic sizes.
//!
//! Sizes come from each partition's published figures (no disk I/O). The log dir's error is
//! KAFKA_STORAGE_ERROR while any partition's last write failed (a full disk) or the file
//! system cannot be read; it clears by itself once writes succeed again.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_log_dirs_response::{
    DescribeLogDirsPartition, DescribeLogDirsResult, DescribeLogDirsTopic,
};
use kafka_protocol::messages::{DescribeLogDirsRequest, DescribeLogDirsResponse};
use kafka_protocol::protocol::StrBytes;

use super::RequestContext;
use crate::topics::Partition;

/// Handles a DescribeLogDirs request: every topic when `topics` is null, else the asked-for
/// partitions that exist (others are left out, as by Kafka).
pub fn handle(ctx: &RequestContext<'_>, req: DescribeLogDirsRequest) -> DescribeLogDirsResponse {
    let registry = &ctx.state.topics;
    let failing = registry
        .list()
        .iter()
        .flat_map(|t| t.partitions())
        .filter(|p| p.storage_failed())
        .count();
    let size_of = |p: &Partition| {
        DescribeLogDirsPartition::default()
            .with_partition_index(p.index)
            .with_partition_size(i64::try_from(p.size_bytes()).unwrap_or(i64::MAX))
            .with_offset_lag(0)
            .with_is_future_key(false)
    };
    let topics: Vec<DescribeLogDirsTopic> = match req.topics {
        None => registry
            .list()
            .iter()
            .map(|t| {
                let partitions: Vec<_> = t.partitions().iter().map(|p| size_of(p)).collect();
                DescribeLogDirsTopic::default()
                    .with_name(StrBytes::from_string(t.name.clone()).into())
                    .with_partitions(partitions)
            })
            .collect(),
        Some(asked) => asked
            .into_iter()
            .filter_map(|a| {
                let topic = registry.get(&a.topic)?;
                let partitions: Vec<_> = a
                    .partitions
                    .iter()
                    .filter_map(|&i| topic.partition(i))
                    .map(|p| size_of(&p))
                    .collect();
                (!partitions.is_empty()).then(|| {
                    DescribeLogDirsTopic::default()
                        .with_name(a.topic)
                        .with_partitions(partitions)
                })
            })
            .collect(),
    };
    let dir = registry.root();
    let mut result = DescribeLogDirsResult::default()
        .with_log_dir(StrBytes::from_string(dir.display().to_string()))
        .with_topics(topics)
        .with_total_bytes(-1)
        .with_usable_bytes(-1);
    match rustix::fs::statvfs(dir) {
        Ok(fs) => {
            let bytes =
                |blocks: u64| i64::try_from(blocks.saturating_mul(fs.f_frsize)).unwrap_or(i64::MAX);
            result.total_bytes = bytes(fs.f_blocks);
            result.usable_bytes = bytes(fs.f_bavail);
            if failing > 0 {
                result.error_code = ResponseError::KafkaStorageError.code();
            }
        }
        Err(e) => {
            tracing::warn!(dir = %dir.display(), error = %e, "cannot read the log dir's file system");
            result.error_code = ResponseError::KafkaStorageError.code();
        }
    }
    DescribeLogDirsResponse::default().with_results(vec![result])
}
