//! `fjord perf commits`: how many offset commits per second one consumer gets through, and how
//! long a synchronous commit takes.
//!
//! The benchmark creates a topic of `--partitions` partitions and a standalone consumer with a
//! new `group.id` (it assigns itself every partition and never joins, so each commit is an
//! OffsetCommit with generation -1, as a Kafka Streams or Flink job that manages its own
//! assignment sends). Every commit carries a [`TopicPartitionList`] of all the partitions at an
//! offset one higher than the last commit's.
//!
//! - Sync phase, `--seconds`: `commit(CommitMode::Sync)` in a loop, each timed into a
//!   histogram (one round trip to the group coordinator, which appends to its offsets log).
//! - Async phase, `--seconds`: windows of `--window` `commit(CommitMode::Async)` calls, each
//!   window closed by one sync commit. rust-rdkafka never hands an async commit's answer back
//!   (librdkafka delivers it only to an `offset_commit_cb`, which rust-rdkafka does not set),
//!   but librdkafka sends a group's commits in order on one connection to the coordinator and
//!   Kafka answers requests on a connection in order, so when the closing sync commit is
//!   answered the whole window is. The window bounds how many commits wait in librdkafka
//!   (back-pressure, never a drop). Throughput is all commits of the phase (async and closing
//!   ones) over its duration.
//!
//! Finally one OffsetFetch checks that every partition reads back the last committed offset
//! (an async commit's failure is otherwise only logged by librdkafka).

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::KafkaResult;
use rdkafka::{Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;

use super::histogram;
use super::progress::Progress;
use super::rebalance::{create_topic, unique_suffix};
use super::report::Summary;
use crate::cli::args::ConnectionArgs;

/// `fjord perf commits`.
#[derive(clap::Args, Debug)]
pub struct PerfCommitsArgs {
    /// How long each phase (sync, then async) runs, in seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub seconds: u64,
    /// Partitions of the topic, all in every commit
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(i32).range(1..=100_000))]
    pub partitions: i32,
    /// Async commits per window (each window ends with a sync commit)
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    pub window: u64,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// The list of every partition of `topic` at `offset`.
fn offsets_at(topic: &str, partitions: i32, offset: i64) -> KafkaResult<TopicPartitionList> {
    let mut tpl = TopicPartitionList::with_capacity(partitions as usize);
    for p in 0..partitions {
        tpl.add_partition_offset(topic, p, Offset::Offset(offset))?;
    }
    Ok(tpl)
}

/// Runs the commit benchmark and returns its summary.
///
/// # Errors
/// The topic or the client cannot be created, or a sync commit fails.
pub fn run(
    args: &PerfCommitsArgs,
    quiet: bool,
    shutdown: &CancellationToken,
) -> anyhow::Result<Summary> {
    let name = format!("perf-commits-{}", unique_suffix());
    create_topic(&args.connection, &name, args.partitions)?;
    let consumer: BaseConsumer = args
        .connection
        .settings(&[("enable.auto.commit", "false".to_owned())])?
        .consumer_config(Some(&name))
        .create()
        .context("cannot create the consumer")?;
    consumer
        .assign(&offsets_at(&name, args.partitions, 0)?)
        .context("cannot assign")?;
    let phase = Duration::from_secs(args.seconds);
    let mut offset = 0i64;

    // Sync: one commit at a time, each timed.
    let progress = Progress::start("commits (sync)", None, quiet);
    let counter = progress.counter();
    let mut latency_us = histogram::latency();
    let started = Instant::now();
    while started.elapsed() < phase && !shutdown.is_cancelled() {
        offset += 1;
        let tpl = offsets_at(&name, args.partitions, offset)?;
        let sent = Instant::now();
        consumer
            .commit(&tpl, CommitMode::Sync)
            .with_context(|| format!("commit {offset} failed"))?;
        latency_us.saturating_record(sent.elapsed().as_micros() as u64);
        counter.fetch_add(1, Ordering::Relaxed);
    }
    let sync_elapsed = started.elapsed();
    let sync_commits = latency_us.len();
    progress.finish();

    // Async: windows of async commits, each closed by a sync one.
    let progress = Progress::start("commits (async)", None, quiet);
    let counter = progress.counter();
    let started = Instant::now();
    let mut async_commits = 0u64;
    while started.elapsed() < phase && !shutdown.is_cancelled() {
        for _ in 0..args.window {
            offset += 1;
            consumer
                .commit(
                    &offsets_at(&name, args.partitions, offset)?,
                    CommitMode::Async,
                )
                .with_context(|| format!("async commit {offset} refused"))?;
        }
        offset += 1;
        consumer
            .commit(
                &offsets_at(&name, args.partitions, offset)?,
                CommitMode::Sync,
            )
            .with_context(|| format!("commit {offset}, closing a window, failed"))?;
        async_commits += args.window + 1;
        counter.store(async_commits, Ordering::Relaxed);
    }
    let async_elapsed = started.elapsed();
    progress.finish();

    let committed = consumer
        .committed(args.connection.request_timeout())
        .context("cannot fetch the committed offsets")?;
    let read_back = committed
        .elements()
        .iter()
        .filter(|e| e.offset() == Offset::Offset(offset))
        .count();

    let mut summary = Summary::new("commits");
    summary
        .text("group", "group and topic", name.as_str())
        .count(
            "partitions",
            "partitions per commit",
            "",
            args.partitions as u64,
        )
        .count("sync_commits", "sync commits", "", sync_commits)
        .real(
            "sync_commits_per_s",
            "sync commits",
            "commits/s",
            sync_commits as f64 / sync_elapsed.as_secs_f64().max(1e-9),
            0,
        )
        .latency("sync_latency", "sync commit latency", &latency_us)
        .count("async_window", "async commits per window", "", args.window)
        .count("async_commits", "async commits", "", async_commits)
        .real(
            "async_commits_per_s",
            "async commits",
            "commits/s",
            async_commits as f64 / async_elapsed.as_secs_f64().max(1e-9),
            0,
        )
        .real(
            "async_partition_offsets_per_s",
            "async partition offsets",
            "offsets/s",
            (async_commits * args.partitions as u64) as f64 / async_elapsed.as_secs_f64().max(1e-9),
            0,
        )
        .count(
            "read_back_ok",
            "partitions reading back the last offset",
            "",
            read_back as u64,
        );
    Ok(summary)
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)] // Tests may panic on failure.
mod tests {
    use super::*;

    #[test]
    fn every_partition_at_the_same_offset() {
        let tpl = offsets_at("t", 3, 42).unwrap();
        assert_eq!(tpl.count(), 3);
        assert!(tpl
            .elements()
            .iter()
            .all(|e| e.topic() == "t" && e.offset() == Offset::Offset(42)));
        let ids: Vec<i32> = tpl.elements().iter().map(|e| e.partition()).collect();
        assert_eq!(ids, [0, 1, 2]);
    }
}
