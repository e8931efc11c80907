//! `fjord perf consume`: how fast one consumer with librdkafka's default fetch settings reads
//! a topic from the beginning.
//!
//! The consumer assigns itself every partition of the topic at the earliest offset (no group
//! protocol: librdkafka wants a `group.id` for `assign`, so a throwaway one is set, never
//! joined, and nothing is committed). One thread polls records one by one and counts them
//! and their key and value bytes until `--records` have arrived. Throughput is measured from
//! the `assign` call to the last counted record, so it includes the first offset look-up and
//! fetch round trip. The run stops early, reporting what it read, if no record arrives for
//! `--idle-timeout-s` (e.g. the topic holds fewer records than asked for).

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;

use super::progress::Progress;
use super::report::Summary;
use crate::cli::args::ConnectionArgs;

/// How long one poll waits, so cancellation and the idle timeout are noticed.
const POLL_TIMEOUT: Duration = Duration::from_millis(100);
/// Progress and Ctrl-C are checked every this many records (a power of two, so the check
/// is a mask).
const CHECK_EVERY: u64 = 1024;
const _: () = assert!(CHECK_EVERY.is_power_of_two());

/// `fjord perf consume`.
#[derive(clap::Args, Debug)]
pub struct PerfConsumeArgs {
    /// Topic to read (every partition, from the beginning)
    #[arg(long, short = 't')]
    pub topic: String,
    /// How many records to read
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub records: u64,
    /// Stop when no record arrived for this long
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub idle_timeout_s: u64,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// Runs the consumer benchmark and returns its summary.
///
/// # Errors
/// The client cannot be created, the topic does not exist, or a fetch fails.
pub fn run(
    args: &PerfConsumeArgs,
    quiet: bool,
    shutdown: &CancellationToken,
) -> anyhow::Result<Summary> {
    let consumer: BaseConsumer = args
        .connection
        .settings(&[])?
        .consumer_config(None)
        .create()
        .context("cannot create the consumer")?;
    let partitions = partitions_of(&consumer, &args.topic, args.connection.request_timeout())?;
    let mut assignment = TopicPartitionList::new();
    for &p in &partitions {
        assignment.add_partition_offset(&args.topic, p, Offset::Beginning)?;
    }

    let progress = Progress::start("consume", Some(args.records), quiet);
    let counter = progress.counter();
    let idle_timeout = Duration::from_secs(args.idle_timeout_s);
    let started = Instant::now();
    consumer.assign(&assignment).context("cannot assign")?;
    let (mut records, mut bytes) = (0u64, 0u64);
    let mut first_record = None;
    // The clock is read only on empty polls and every CHECK_EVERY records: at millions of
    // records per second a clock read per record costs the client several percent.
    let mut idle_since = (started, 0u64);
    while records < args.records {
        match consumer.poll(POLL_TIMEOUT) {
            Some(Ok(message)) => {
                records += 1;
                bytes += (message.payload_len() + message.key().map_or(0, <[u8]>::len)) as u64;
                if first_record.is_none() {
                    first_record = Some(Instant::now());
                }
                if records & (CHECK_EVERY - 1) == 0 {
                    counter.store(records, Ordering::Relaxed);
                    if shutdown.is_cancelled() {
                        break;
                    }
                }
            }
            Some(Err(e)) => return Err(e).context(format!("cannot read '{}'", args.topic)),
            None => {
                if idle_since.1 != records {
                    idle_since = (Instant::now(), records);
                } else if idle_since.0.elapsed() >= idle_timeout {
                    eprintln!(
                        "warning: no record for {}s; stopping after {records} of {} records",
                        args.idle_timeout_s, args.records
                    );
                    break;
                }
                if shutdown.is_cancelled() {
                    break;
                }
            }
        }
    }
    // After an idle stop, the last record came at most one poll timeout before idling began.
    let ended = if records < args.records && idle_since.1 == records {
        idle_since.0
    } else {
        Instant::now()
    };
    let elapsed = ended.duration_since(started);
    progress.finish();

    let mut summary = Summary::new("consume");
    summary
        .text("topic", "topic", args.topic.as_str())
        .count("partitions", "partitions", "", partitions.len() as u64)
        .count("records", "records", "", records)
        .count("bytes", "payload bytes", "B", bytes)
        .real(
            "first_record_ms",
            "first record after",
            "ms",
            first_record.map_or(0.0, |t| t.duration_since(started).as_secs_f64() * 1000.0),
            1,
        )
        .throughput(records, bytes, elapsed.as_secs_f64());
    Ok(summary)
}

/// The partition ids of `topic`, with advice when it does not exist.
pub(super) fn partitions_of(
    consumer: &BaseConsumer,
    topic: &str,
    timeout: Duration,
) -> anyhow::Result<Vec<i32>> {
    let metadata = consumer
        .fetch_metadata(Some(topic), timeout)
        .context("cannot fetch metadata; is the broker running and --bootstrap-server right?")?;
    let partitions: Vec<i32> = metadata
        .topics()
        .iter()
        .filter(|t| t.name() == topic && t.error().is_none())
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    if partitions.is_empty() {
        anyhow::bail!(
            "topic '{topic}' does not exist; create it with `fjord topics create {topic}`"
        );
    }
    Ok(partitions)
}
