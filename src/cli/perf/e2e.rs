//! `fjord perf e2e`: end-to-end latency at a fixed rate, from a producer's send to a
//! consumer's receipt, both in this process.
//!
//! A consumer thread assigns itself every partition at its current end (the high watermarks
//! looked up first, so no earlier record is read) and polls. The calling thread then drives
//! a `BaseProducer` with `linger.ms=0` at `--rate` records per second: each iteration sends
//! every record that is due by now and sleeps until the next is due, so the pace holds
//! without spinning a core. Every payload starts with this run's id and the send time
//! (nanoseconds since the run's start, from a monotonic clock shared by both threads); the
//! consumer subtracts that from its receipt time. Records sent during `--warmup-s` (while
//! connections are being set up) are delivered but not measured. After `--duration-s` the
//! producer flushes and the consumer waits up to `--drain-timeout-s` for every
//! acknowledged record; a shortfall is reported as lost.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::{Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;

use super::consume::partitions_of;
use super::histogram::{self, Histogram};
use super::produce::{pseudo_random_bytes, wait_for_topic};
use super::progress::Progress;
use super::report::Summary;
use crate::cli::args::{Acks, ConnectionArgs};

/// Bytes at the start of every payload: run id (8) and send time in ns (8).
const STAMP_LEN: usize = 16;
/// How long one consumer poll waits, so the stop signal is noticed.
const POLL_TIMEOUT: Duration = Duration::from_millis(50);

/// `fjord perf e2e`.
#[derive(clap::Args, Debug)]
pub struct PerfE2eArgs {
    /// Topic to produce to and consume from
    #[arg(long, short = 't')]
    pub topic: String,
    /// Records per second to produce
    #[arg(long, value_name = "RECORDS_PER_S", default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub rate: u64,
    /// How long to produce after the warm-up, in seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub duration_s: u64,
    /// Produce for this long first without measuring (connection setup), in seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 1)]
    pub warmup_s: u64,
    /// Bytes of payload per record (at least 16: run id and timestamp)
    #[arg(long, value_name = "BYTES", default_value_t = 100, value_parser = clap::value_parser!(u64).range(STAMP_LEN as u64..))]
    pub record_size: u64,
    /// Acknowledgements to wait for
    #[arg(long, value_enum, default_value = "all")]
    pub acks: Acks,
    /// After producing, wait at most this long for the consumer to catch up, in seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub drain_timeout_s: u64,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// Counts delivery reports.
#[derive(Default)]
struct Deliveries {
    acked: AtomicU64,
    failed: AtomicU64,
}

impl ClientContext for Deliveries {}

impl ProducerContext for Deliveries {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(_) => self.acked.fetch_add(1, Ordering::Relaxed),
            Err(_) => self.failed.fetch_add(1, Ordering::Relaxed),
        };
    }
}

/// What the consumer thread saw.
struct Received {
    records: u64,
    latency_us: Histogram,
}

/// Shared between the producing thread and the consumer thread.
struct Run {
    id: u64,
    origin: Instant,
    warmup_ns: u64,
    /// Acknowledged records the consumer must see before it stops; `u64::MAX` while producing.
    expected: AtomicU64,
    /// Set when the consumer should stop even if records are missing.
    give_up: AtomicBool,
}

/// Runs the end-to-end latency benchmark and returns its summary.
///
/// # Errors
/// A client cannot be created, the topic does not exist, or librdkafka refuses a record.
pub fn run(
    args: &PerfE2eArgs,
    quiet: bool,
    shutdown: &CancellationToken,
) -> anyhow::Result<Summary> {
    let producer_settings = args.connection.settings(&[
        ("acks", args.acks.as_config().to_owned()),
        ("linger.ms", "0".to_owned()),
    ])?;
    let timeout = args.connection.request_timeout();
    let producer: BaseProducer<Deliveries> = producer_settings
        .producer_config()
        .create_with_context(Deliveries::default())
        .context("cannot create the producer")?;
    wait_for_topic(producer.client(), &args.topic, timeout)?;
    let consumer: BaseConsumer = args
        .connection
        .settings(&[])?
        .consumer_config(None)
        .create()
        .context("cannot create the consumer")?;
    let assignment = assignment_at_end(&consumer, &args.topic, timeout)?;
    consumer.assign(&assignment).context("cannot assign")?;

    let run = Run {
        id: run_id(),
        origin: Instant::now(),
        warmup_ns: args.warmup_s * 1_000_000_000,
        expected: AtomicU64::new(u64::MAX),
        give_up: AtomicBool::new(false),
    };
    let progress = Progress::start("e2e", None, quiet);
    let counter = progress.counter();
    let (produced, received) = std::thread::scope(|scope| {
        let consumer_thread = scope.spawn(|| consume(&consumer, &run, &counter));
        let produced = produce(&producer, args, &run, shutdown);
        run.expected.store(
            producer.context().acked.load(Ordering::Relaxed),
            Ordering::Relaxed,
        );
        let deadline = Instant::now() + Duration::from_secs(args.drain_timeout_s);
        while !consumer_thread.is_finished() && Instant::now() < deadline {
            if shutdown.is_cancelled() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        run.give_up.store(true, Ordering::Relaxed);
        let received = consumer_thread
            .join()
            .map_err(|_| anyhow::anyhow!("the consumer thread panicked"));
        (produced, received)
    });
    progress.finish();
    let produced = produced?;
    let received = received?;

    let deliveries = producer.context();
    let acked = deliveries.acked.load(Ordering::Relaxed);
    let mut summary = Summary::new("e2e");
    summary
        .text("topic", "topic", args.topic.as_str())
        .count("record_size", "record size", "B", args.record_size)
        .count("target_rate", "target rate", "records/s", args.rate)
        .real(
            "achieved_rate",
            "achieved rate",
            "records/s",
            produced.sent as f64 / produced.seconds.max(1e-9),
            0,
        )
        .real(
            "max_send_lag_ms",
            "max behind schedule",
            "ms",
            produced.max_lag_ms,
            3,
        )
        .count("records_sent", "records sent", "", produced.sent)
        .count("records_acked", "records acknowledged", "", acked)
        .count(
            "records_failed",
            "records failed",
            "",
            deliveries.failed.load(Ordering::Relaxed),
        )
        .count("records_received", "records received", "", received.records)
        .count(
            "records_lost",
            "acknowledged, not received",
            "",
            acked.saturating_sub(received.records),
        )
        .latency("latency", "e2e latency", &received.latency_us);
    Ok(summary)
}

/// Every partition of `topic` at its high watermark.
fn assignment_at_end(
    consumer: &BaseConsumer,
    topic: &str,
    timeout: Duration,
) -> anyhow::Result<TopicPartitionList> {
    let mut assignment = TopicPartitionList::new();
    for p in partitions_of(consumer, topic, timeout)? {
        let (_, high) = consumer
            .fetch_watermarks(topic, p, timeout)
            .with_context(|| format!("cannot look up the end of '{topic}' partition {p}"))?;
        assignment.add_partition_offset(topic, p, Offset::Offset(high))?;
    }
    Ok(assignment)
}

/// What the producing loop did.
struct Produced {
    sent: u64,
    seconds: f64,
    max_lag_ms: f64,
}

/// Sends at the target rate until the warm-up and the duration have passed, then flushes.
fn produce(
    producer: &BaseProducer<Deliveries>,
    args: &PerfE2eArgs,
    run: &Run,
    shutdown: &CancellationToken,
) -> anyhow::Result<Produced> {
    let interval_ns = (1_000_000_000 / args.rate).max(1);
    let total_ns = run.warmup_ns + args.duration_s * 1_000_000_000;
    let mut payload = pseudo_random_bytes(args.record_size as usize, run.id);
    payload[..8].copy_from_slice(&run.id.to_be_bytes());
    let mut sent = 0u64;
    let mut max_lag_ns = 0u64;
    loop {
        let now_ns = elapsed_ns(run.origin);
        if now_ns >= total_ns || shutdown.is_cancelled() {
            break;
        }
        let due = (now_ns / interval_ns + 1).min(total_ns.div_ceil(interval_ns));
        while sent < due {
            let sent_ns = elapsed_ns(run.origin);
            max_lag_ns = max_lag_ns.max(sent_ns.saturating_sub(sent * interval_ns));
            payload[8..STAMP_LEN].copy_from_slice(&sent_ns.to_be_bytes());
            let record = BaseRecord::<(), [u8], ()>::to(&args.topic).payload(&payload[..]);
            match producer.send(record) {
                Ok(()) => sent += 1,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    producer.poll(Duration::from_millis(1));
                }
                Err((e, _)) => return Err(e).context(format!("cannot send to '{}'", args.topic)),
            }
        }
        producer.poll(Duration::ZERO);
        let next_ns = sent * interval_ns;
        let now_ns = elapsed_ns(run.origin);
        if next_ns > now_ns {
            std::thread::sleep(Duration::from_nanos(next_ns - now_ns));
        }
    }
    let seconds = elapsed_ns(run.origin) as f64 / 1e9;
    if let Err(e) = producer.flush(Duration::from_secs(args.drain_timeout_s.max(1))) {
        eprintln!("warning: producer flush did not finish: {e}");
    }
    Ok(Produced {
        sent,
        seconds,
        max_lag_ms: max_lag_ns as f64 / 1e6,
    })
}

/// Reads this run's records until the producer's acknowledged count is reached or it is
/// told to give up, recording each measured record's latency.
fn consume(consumer: &BaseConsumer, run: &Run, progress: &AtomicU64) -> Received {
    let mut latency_us = histogram::latency();
    let mut records = 0u64;
    let id = run.id.to_be_bytes();
    while records < run.expected.load(Ordering::Relaxed) && !run.give_up.load(Ordering::Relaxed) {
        let Some(result) = consumer.poll(POLL_TIMEOUT) else {
            continue;
        };
        let now_ns = elapsed_ns(run.origin);
        let message = match result {
            Ok(m) => m,
            Err(e) => {
                eprintln!("warning: consumer error: {e}");
                continue;
            }
        };
        let Some(stamp) = message.payload().and_then(|p| p.get(..STAMP_LEN)) else {
            continue;
        };
        if stamp[..8] != id {
            continue;
        }
        let mut sent = [0u8; 8];
        sent.copy_from_slice(&stamp[8..]);
        let sent_ns = u64::from_be_bytes(sent);
        records += 1;
        progress.store(records, Ordering::Relaxed);
        if sent_ns >= run.warmup_ns {
            latency_us.saturating_record(now_ns.saturating_sub(sent_ns) / 1000);
        }
    }
    Received {
        records,
        latency_us,
    }
}

/// An id that tells this run's records from any other producer's on the same topic.
fn run_id() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    nanos ^ (u64::from(std::process::id()) << 40)
}

/// Nanoseconds since `origin`, the run's start.
fn elapsed_ns(origin: Instant) -> u64 {
    origin.elapsed().as_nanos() as u64
}
