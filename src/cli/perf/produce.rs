//! `fjord perf produce`: how many records per second one producer gets acknowledged.
//!
//! One thread drives an rdkafka `BaseProducer` as fast as librdkafka accepts records (it
//! measured 15-20% faster here than a `ThreadedProducer`, whose polling thread competes for
//! the same cores). Every record carries the same payload of `--record-size` pseudo-random
//! bytes and no key, so librdkafka's sticky partitioner fills whole batches. When
//! librdkafka's queue is full the thread serves delivery reports until there is room again
//! (back-pressure, never a drop). Every fourth record's delivery opaque is its send time, so
//! the delivery callback records the send→acknowledgement latency of a quarter of the
//! records in a histogram. The run ends with a flush: throughput is acknowledged records over
//! the time from the first send to the last acknowledgement.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use rdkafka::client::ClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use tokio_util::sync::CancellationToken;

use super::histogram::{self, Histogram};
use super::progress::Progress;
use super::report::Summary;
use crate::cli::args::{Acks, Compression, ConnectionArgs};

/// How long a full queue is served before sending is retried.
const QUEUE_FULL_POLL: Duration = Duration::from_micros(500);
/// Delivery reports are served (and Ctrl-C checked) after this many sends even while the
/// queue has room.
const POLL_EVERY: u64 = 512;
/// Every this many records one is timed. Reading the clock twice per record costs this
/// broker-sharing client about 5% of its CPU; one in four still gives hundreds of thousands
/// of samples per run.
const LATENCY_SAMPLE_EVERY: u64 = 4;
// Both are powers of two, so the checks in the send loop are masks.
const _: () = assert!(POLL_EVERY.is_power_of_two() && LATENCY_SAMPLE_EVERY.is_power_of_two());

/// `fjord perf produce`.
#[derive(clap::Args, Debug)]
pub struct PerfProduceArgs {
    /// Topic to produce to (it must exist, or the broker must auto-create it)
    #[arg(long, short = 't')]
    pub topic: String,
    /// How many records to send
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub records: u64,
    /// Bytes of payload (the record value) per record
    #[arg(long, value_name = "BYTES", default_value_t = 100)]
    pub record_size: usize,
    /// Acknowledgements to wait for
    #[arg(long, value_enum, default_value = "all")]
    pub acks: Acks,
    /// librdkafka linger.ms: how long to wait for a batch to fill [default: librdkafka's, 5]
    #[arg(long, value_name = "MS")]
    pub linger_ms: Option<u32>,
    /// librdkafka batch.size: the most bytes in one batch [default: librdkafka's, 1000000]
    #[arg(long, value_name = "BYTES")]
    pub batch_size: Option<u32>,
    /// Compression of record batches [default: none]
    #[arg(long, value_enum)]
    pub compression: Option<Compression>,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// What the delivery callback accumulates.
struct DeliveryStats {
    origin: Instant,
    acked: AtomicU64,
    failed: AtomicU64,
    first_error: Mutex<Option<String>>,
    latency_us: Mutex<Histogram>,
    progress: Arc<AtomicU64>,
}

impl ClientContext for DeliveryStats {}

impl ProducerContext for DeliveryStats {
    /// For a timed record, 1 + nanoseconds from `origin` to the send; 0 for the others.
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, sent: usize) {
        match result {
            Ok(_) => {
                if sent > 0 {
                    let now_ns = self.origin.elapsed().as_nanos() as u64 + 1;
                    let micros = now_ns.saturating_sub(sent as u64) / 1000;
                    // A poisoned lock only means another callback panicked; counts are fine.
                    self.latency_us
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .saturating_record(micros);
                }
                self.acked.fetch_add(1, Ordering::Relaxed);
                self.progress.fetch_add(1, Ordering::Relaxed);
            }
            Err((error, _)) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                let mut first = self.first_error.lock().unwrap_or_else(|p| p.into_inner());
                first.get_or_insert_with(|| error.to_string());
            }
        }
    }
}

/// Runs the producer benchmark and returns its summary.
///
/// # Errors
/// The client cannot be created, or librdkafka refuses a record for a reason other than a
/// full queue (e.g. an unknown topic).
pub fn run(
    args: &PerfProduceArgs,
    quiet: bool,
    shutdown: &CancellationToken,
) -> anyhow::Result<Summary> {
    let mut role = vec![("acks", args.acks.as_config().to_owned())];
    if let Some(ms) = args.linger_ms {
        role.push(("linger.ms", ms.to_string()));
    }
    if let Some(bytes) = args.batch_size {
        role.push(("batch.size", bytes.to_string()));
    }
    if let Some(c) = args.compression {
        role.push(("compression.type", c.as_config().to_owned()));
    }
    let config = args.connection.settings(&role)?.producer_config();
    let delivered = Arc::new(AtomicU64::new(0));
    let stats = DeliveryStats {
        origin: Instant::now(),
        acked: AtomicU64::new(0),
        failed: AtomicU64::new(0),
        first_error: Mutex::new(None),
        latency_us: Mutex::new(histogram::latency()),
        progress: delivered.clone(),
    };
    let producer: BaseProducer<DeliveryStats> = config
        .create_with_context(stats)
        .context("cannot create the producer")?;
    wait_for_topic(
        producer.client(),
        &args.topic,
        args.connection.request_timeout(),
    )?;
    // The line starts once the topic is known; the callback already holds the counter.
    let progress = Progress::with_counter("produce", Some(args.records), delivered, quiet);

    let payload = pseudo_random_bytes(args.record_size, 0x5eed);
    let origin = producer.context().origin;
    let started = Instant::now();
    let mut sent = 0u64;
    while sent < args.records {
        let opaque = if sent & (LATENCY_SAMPLE_EVERY - 1) == 0 {
            origin.elapsed().as_nanos() as usize + 1
        } else {
            0
        };
        let record = BaseRecord::<(), [u8], usize>::with_opaque_to(&args.topic, opaque)
            .payload(&payload[..]);
        match producer.send(record) {
            Ok(()) => {
                sent += 1;
                if sent & (POLL_EVERY - 1) == 0 {
                    producer.poll(Duration::ZERO);
                    if shutdown.is_cancelled() {
                        break;
                    }
                }
            }
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                producer.poll(QUEUE_FULL_POLL);
            }
            Err((e, _)) => return Err(e).context(format!("cannot send to '{}'", args.topic)),
        }
    }
    let sending = started.elapsed();
    let flushed = producer.flush(
        args.connection
            .request_timeout()
            .max(Duration::from_secs(60)),
    );
    let elapsed = started.elapsed();
    progress.finish();
    if let Err(e) = flushed {
        eprintln!(
            "warning: {} records still unacknowledged after the flush timeout: {e}",
            producer.in_flight_count()
        );
    }

    let stats = producer.context();
    let acked = stats.acked.load(Ordering::Relaxed);
    let failed = stats.failed.load(Ordering::Relaxed);
    let latency = stats
        .latency_us
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let mut summary = Summary::new("produce");
    summary
        .text("topic", "topic", args.topic.as_str())
        .count("record_size", "record size", "B", args.record_size as u64)
        .text("acks", "acks", args.acks.as_config())
        .count("records_sent", "records sent", "", sent)
        .count("records_acked", "records acknowledged", "", acked)
        .count("records_failed", "records failed", "", failed)
        .real("send_s", "send phase", "s", sending.as_secs_f64(), 3)
        .throughput(
            acked,
            acked * args.record_size as u64,
            elapsed.as_secs_f64(),
        )
        .latency("latency", "send->ack latency", &latency);
    if let Some(error) = stats
        .first_error
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .as_ref()
    {
        summary.text("first_error", "first delivery error", error.as_str());
    }
    Ok(summary)
}

/// Fails early, with advice, when the topic does not exist (rather than after the whole run
/// of delivery failures).
pub(super) fn wait_for_topic<C: ClientContext>(
    client: &rdkafka::client::Client<C>,
    topic: &str,
    timeout: Duration,
) -> anyhow::Result<()> {
    let metadata = client
        .fetch_metadata(Some(topic), timeout)
        .context("cannot fetch metadata; is the broker running and --bootstrap-server right?")?;
    let found = metadata
        .topics()
        .iter()
        .find(|t| t.name() == topic)
        .filter(|t| t.error().is_none() && !t.partitions().is_empty());
    match found {
        Some(_) => Ok(()),
        None => anyhow::bail!(
            "topic '{topic}' does not exist; create it with `fjord topics create {topic}`"
        ),
    }
}

/// `len` bytes from a xorshift generator: incompressible enough that compression settings
/// behave as with real data, and the same for every run.
pub(super) fn pseudo_random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.max(1);
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 32) as u8
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_are_repeatable_and_varied() {
        let a = pseudo_random_bytes(1000, 7);
        assert_eq!(a, pseudo_random_bytes(1000, 7));
        assert_ne!(a, pseudo_random_bytes(1000, 8));
        let distinct: std::collections::HashSet<u8> = a.iter().copied().collect();
        assert!(distinct.len() > 200, "{}", distinct.len());
        assert!(pseudo_random_bytes(0, 7).is_empty());
    }
}
