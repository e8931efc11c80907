//! `fjord perf streams`: the sales -> prices transform, stateless, on 100-byte
//! JSON records, by three contenders on the same broker in the same run:
//!
//! - `loop`: a hand-written rdkafka consume-transform-produce loop (one
//!   BaseConsumer in a group, one BaseProducer, offsets committed every
//!   second) — the baseline;
//! - `streams`: the same transform as a Fjord Streams topology
//!   (`stream(input).map_values(price).to(output)`, one stream thread,
//!   `commit.interval.ms=1000`);
//! - `count`: a stateful Fjord Streams app, the count per key (100k
//!   distinct products) in a persistent store, every update written out;
//! - `quix` (with `--quix-python`): the same in Quix Streams
//!   (`scripts/bench/quix_prices.py`, run with that interpreter).
//!
//! The input topic is loaded once with `--records` sales keyed by product.
//! Each contender then reads it from the start into a fresh output topic;
//! its rate is measured from the first poll that sees output until the
//! output topic holds every record (the sum of its partitions' high
//! watermarks), so group joins and interpreter start-up do not count.
//! Rounds alternate the contenders; the summary gives each one's median
//! records/s and the ratios against the loop.

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use fjord::apps::sales_prices::{price, Sale};
use fjord_core::format::{Json, Utf8};
use fjord_streams::{Consumed, KafkaStreams, Produced, StreamsBuilder, StreamsConfig};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::Message;
use tokio_util::sync::CancellationToken;

use super::report::Summary;
use crate::cli::args::ConnectionArgs;

/// `fjord perf streams`.
#[derive(clap::Args, Debug)]
pub struct PerfStreamsArgs {
    /// Sales in the input topic
    #[arg(long, default_value_t = 200_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub records: u64,
    /// Partitions of the input and output topics
    #[arg(long, default_value_t = 4)]
    pub partitions: i32,
    /// Rounds (each runs every contender once, in alternating order)
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// A Python interpreter with `quixstreams` installed, to run the Quix Streams contender
    #[arg(long, value_name = "PYTHON")]
    pub quix_python: Option<String>,
    /// Give up on a contender after this many seconds
    #[arg(long, default_value_t = 300)]
    pub timeout_s: u64,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Contender {
    Loop,
    Streams,
    Quix,
    /// Count per key (100k keys) in a persistent store, every update out.
    Count,
}

impl Contender {
    fn name(self) -> &'static str {
        match self {
            Contender::Loop => "loop",
            Contender::Streams => "streams",
            Contender::Quix => "quix",
            Contender::Count => "count",
        }
    }
}

/// Runs the benchmark.
///
/// # Errors
/// A cluster that cannot be reached, a contender that fails or times out.
pub fn run(
    args: &PerfStreamsArgs,
    quiet: bool,
    shutdown: &CancellationToken,
) -> anyhow::Result<Summary> {
    let bootstrap = args.connection.bootstrap()?;
    let run_id = super::rebalance::unique_suffix();
    let input = format!("perf-sales-{run_id}");
    create_topic(&bootstrap, &input, args.partitions)?;
    let bytes = load(&bootstrap, &input, args.records)?;
    if !quiet {
        eprintln!(
            "loaded {} sales ({} bytes each on average) into {input}",
            args.records,
            bytes / args.records
        );
    }
    let mut contenders = vec![Contender::Loop, Contender::Streams, Contender::Count];
    if args.quix_python.is_some() {
        contenders.push(Contender::Quix);
    }
    let mut rates: Vec<(Contender, Vec<f64>)> =
        contenders.iter().map(|c| (*c, Vec::new())).collect();
    for round in 0..args.rounds {
        let mut order = contenders.clone();
        if round % 2 == 1 {
            order.reverse();
        }
        for c in order {
            if shutdown.is_cancelled() {
                bail!("interrupted");
            }
            let output = format!("perf-prices-{}-{round}-{run_id}", c.name());
            create_topic(&bootstrap, &output, args.partitions)?;
            let seconds = run_one(
                c,
                args,
                &bootstrap,
                &input,
                &output,
                &format!("{run_id}-{round}"),
            )?;
            let rate = args.records as f64 / seconds;
            if !quiet {
                eprintln!(
                    "round {round}: {:8} {rate:>10.0} records/s ({seconds:.2} s)",
                    c.name()
                );
            }
            if let Some((_, v)) = rates.iter_mut().find(|(k, _)| *k == c) {
                v.push(rate);
            }
        }
    }
    let median = |v: &[f64]| {
        let mut s = v.to_vec();
        s.sort_by(f64::total_cmp);
        s.get(s.len() / 2).copied().unwrap_or(0.0)
    };
    let mut summary = Summary::new("streams");
    summary
        .count("records", "records", "", args.records)
        .count("partitions", "partitions", "", args.partitions as u64)
        .count("rounds", "rounds", "", args.rounds as u64);
    let loop_rate = median(&rates[0].1);
    for (c, v) in &rates {
        summary.real(
            &format!("{}_records_per_s", c.name()),
            &format!("{} median", c.name()),
            "records/s",
            median(v),
            0,
        );
    }
    for (c, v) in rates.iter().skip(1) {
        summary.real(
            &format!("{}_vs_loop", c.name()),
            &format!("{} / loop", c.name()),
            "x",
            median(v) / loop_rate.max(1e-9),
            2,
        );
    }
    let find = |want: Contender| {
        rates
            .iter()
            .find(|(c, _)| *c == want)
            .map(|(_, v)| median(v))
    };
    for (a, b, key, label) in [
        (
            Contender::Count,
            Contender::Streams,
            "count_vs_streams",
            "count / streams",
        ),
        (
            Contender::Streams,
            Contender::Quix,
            "streams_vs_quix",
            "streams / quix",
        ),
    ] {
        if let (Some(x), Some(y)) = (find(a), find(b)) {
            summary.real(key, label, "x", x / y.max(1e-9), 2);
        }
    }
    Ok(summary)
}

fn create_topic(bootstrap: &str, topic: &str, partitions: i32) -> anyhow::Result<()> {
    let admin = fjord_core::TopicAdmin::new(&fjord_core::ClientSettings::new(bootstrap))?;
    let mut spec = fjord_core::NewTopicSpec::new(topic);
    spec.partitions = Some(partitions);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(admin.create(&spec))?;
    Ok(())
}

/// Produces `records` sales keyed by product; returns their value bytes.
fn load(bootstrap: &str, topic: &str, records: u64) -> anyhow::Result<u64> {
    let producer: BaseProducer = fjord_core::ClientSettings::new(bootstrap)
        .set("linger.ms", "5")
        .set("acks", "1")
        .set("partitioner", "murmur2_random")
        .producer_config()
        .create()?;
    let mut bytes = 0;
    for i in 0..records {
        let sale = Sale {
            product: format!("organic-product-{:06}", i % 100_000),
            quantity: (i % 150) as i64 + 1,
            price_per_quantity: 1.0 + (i % 900) as f64 / 100.0,
            ts: 1_796_115_600_000 + i as i64,
        };
        let value = serde_json::to_vec(&sale)?;
        bytes += value.len() as u64;
        let mut record = BaseRecord::to(topic).key(&sale.product).payload(&value);
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((_, back)) => {
                    producer.poll(Duration::from_millis(10));
                    record = back;
                }
            }
        }
        if i % 1024 == 0 {
            producer.poll(Duration::ZERO);
        }
    }
    producer.flush(Duration::from_secs(60))?;
    Ok(bytes)
}

/// The sum of the high watermarks of `topic`'s partitions.
fn output_count(watcher: &BaseConsumer, topic: &str, partitions: i32) -> anyhow::Result<u64> {
    let mut sum = 0;
    for p in 0..partitions {
        let (_, high) = watcher.fetch_watermarks(topic, p, Duration::from_secs(10))?;
        sum += high.max(0) as u64;
    }
    Ok(sum)
}

fn run_one(
    c: Contender,
    args: &PerfStreamsArgs,
    bootstrap: &str,
    input: &str,
    output: &str,
    id: &str,
) -> anyhow::Result<f64> {
    let watcher: BaseConsumer = fjord_core::ClientSettings::new(bootstrap)
        .consumer_config(None)
        .create()?;
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.timeout_s);
    let group = format!("perf-{}-{id}", c.name());
    let mut child = None;
    let mut streams = None;
    let mut worker = None;
    match c {
        Contender::Loop => {
            let (bs, i, o, g, s) = (
                bootstrap.to_string(),
                input.to_string(),
                output.to_string(),
                group.clone(),
                stop.clone(),
            );
            worker = Some(std::thread::spawn(move || {
                hand_written_loop(&bs, &i, &o, &g, &s)
            }));
        }
        Contender::Streams => {
            let b = StreamsBuilder::new();
            b.stream(input, Consumed::with(Utf8, Json::<Sale>::new()))
                .map_values(|s| price(&s))
                .to(output, Produced::with(Utf8, Json::new()));
            streams = Some(start_app(b, &group, bootstrap)?);
        }
        Contender::Count => {
            let b = StreamsBuilder::new();
            b.stream(input, Consumed::with(Utf8, Json::<Sale>::new()))
                .group_by_key(Default::default())
                .count(fjord_streams::Materialized::as_("perf-counts"))
                .to_stream()
                .to(
                    output,
                    Produced::with(
                        Utf8,
                        fjord_core::format::Nullable(fjord_core::format::Int64),
                    ),
                );
            streams = Some(start_app(b, &group, bootstrap)?);
        }
        Contender::Quix => {
            let python = args.quix_python.clone().unwrap_or_else(|| "python3".into());
            let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/bench/quix_prices.py");
            child = Some(
                Command::new(python)
                    .arg(script)
                    .args([bootstrap, input, output, &group])
                    .stdout(Stdio::null())
                    .stderr(Stdio::inherit())
                    .spawn()
                    .context("starting the Quix Streams contender")?,
            );
        }
    }
    // Timed from the first output record to the last: group join and
    // interpreter start-up are not part of a transform's throughput.
    let mut first: Option<(Instant, u64)> = None;
    let result = loop {
        let n = output_count(&watcher, output, args.partitions)?;
        if n > 0 && first.is_none() {
            first = Some((Instant::now(), n));
        }
        if n >= args.records {
            let (t0, n0) = first.unwrap_or((started, 0));
            let seconds = t0.elapsed().as_secs_f64().max(1e-6);
            // The rate over what was written after the first poll that saw output.
            break Ok(seconds * args.records as f64 / (args.records - n0).max(1) as f64);
        }
        if Instant::now() > deadline {
            break Err(anyhow::anyhow!(
                "{} wrote {n} of {} records in {} s",
                c.name(),
                args.records,
                args.timeout_s
            ));
        }
        if let Some(ch) = child.as_mut() {
            if let Some(status) = ch.try_wait()? {
                break Err(anyhow::anyhow!(
                    "the Quix Streams contender exited early ({status})"
                ));
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    stop.store(true, Ordering::SeqCst);
    if let Some(w) = worker {
        w.join()
            .map_err(|_| anyhow::anyhow!("the loop panicked"))??;
    }
    if let Some(app) = streams {
        app.close(Duration::from_secs(30));
        let _ = std::fs::remove_dir_all(std::env::temp_dir().join(format!("fjord-perf-{group}")));
    }
    if let Some(mut ch) = child {
        let _ = ch.kill();
        let _ = ch.wait();
    }
    fjord_core::close_consumer(watcher, "watermark watcher", Duration::from_secs(5))?;
    result
}

/// Starts a contender's Streams app: one thread, a commit every second, state in a temp dir.
fn start_app(
    builder: StreamsBuilder,
    group: &str,
    bootstrap: &str,
) -> anyhow::Result<KafkaStreams> {
    let mut config = StreamsConfig::new(group, bootstrap);
    config.commit_interval = Duration::from_secs(1);
    config.state_dir = std::env::temp_dir().join(format!("fjord-perf-{group}"));
    let app = KafkaStreams::new(builder.build()?, config)?;
    app.start()?;
    Ok(app)
}

/// The baseline: consume, parse, price, serialize, produce, by hand.
fn hand_written_loop(
    bootstrap: &str,
    input: &str,
    output: &str,
    group: &str,
    stop: &AtomicBool,
) -> anyhow::Result<()> {
    let consumer: BaseConsumer = fjord_core::ClientSettings::new(bootstrap)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("partition.assignment.strategy", "cooperative-sticky")
        .consumer_config(Some(group))
        .create()?;
    let producer: BaseProducer = fjord_core::ClientSettings::new(bootstrap)
        .set("linger.ms", "5")
        .set("partitioner", "murmur2_random")
        .producer_config()
        .create()?;
    consumer.subscribe(&[input])?;
    let mut last_commit = Instant::now();
    while !stop.load(Ordering::SeqCst) {
        let Some(m) = consumer.poll(Duration::from_millis(20)) else {
            producer.poll(Duration::ZERO);
            continue;
        };
        let m = m?;
        let Some(value) = m.payload() else { continue };
        let sale: Sale = serde_json::from_slice(value)?;
        let out = serde_json::to_vec(&price(&sale))?;
        let mut record = BaseRecord::to(output)
            .key(sale.product.as_bytes())
            .payload(&out);
        if let Some(ts) = m.timestamp().to_millis() {
            record = record.timestamp(ts);
        }
        let mut record = record;
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((_, back)) => {
                    producer.poll(Duration::from_millis(5));
                    record = back;
                }
            }
        }
        consumer.store_offset_from_message(&m)?;
        if last_commit.elapsed() >= Duration::from_secs(1) {
            producer.flush(Duration::from_secs(30))?;
            consumer.commit_consumer_state(CommitMode::Async)?;
            last_commit = Instant::now();
        }
    }
    producer.flush(Duration::from_secs(30))?;
    fjord_core::close_consumer(consumer, "perf loop", Duration::from_secs(10))?;
    Ok(())
}
