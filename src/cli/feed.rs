//! `fjord feed`: the feed simulator, and the benchmark of the HTTP feed source.
//!
//! `fjord feed serve --listen 127.0.0.1:8090 --rate 50 --seed 7 --token secret --faults
//! disconnect:500,429:10:2` serves tweet-like posts (see
//! `fjord_connect::connectors::http_feed::simulator`) until SIGTERM or Ctrl-C.
//!
//! `fjord feed bench` measures posts/s from an unthrottled simulator into a topic through
//! `HttpFeedSource` in stream mode (a standalone worker in this process, JsonConverter
//! without schemas, key `user.id`; and with `value.format=string` and the StringConverter),
//! against a raw rdkafka producer of the same posts (the same JSON lines and keys, generated
//! as it sends them, as the simulator does; and, for librdkafka's ceiling, generated before
//! the clock starts) in the same run, on the same broker (an embedded one unless
//! `--bootstrap-server`). Each side is timed by a watcher of
//! the topic's high watermark, from the first record seen to the last; rounds alternate the
//! order; medians and the ratio are printed.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use fjord_connect::config::ConfigMap;
use fjord_connect::connectors::http_feed::simulator::{
    Faults, FeedSimulator, PostGenerator, SimulatorConfig,
};
use fjord_connect::runtime::launch::StandaloneWorker;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use tokio_util::sync::CancellationToken;

/// The `feed` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum FeedCommand {
    /// Serve tweet-like posts over HTTP (NDJSON stream, SSE, polling), faults on demand
    Serve(ServeArgs),
    /// Posts/s simulator -> HttpFeedSource -> topic, against a raw producer of the same posts
    Bench(BenchArgs),
}

/// `fjord feed serve`.
#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Where to listen
    #[arg(long, default_value = "127.0.0.1:8090", value_name = "HOST:PORT")]
    pub listen: String,
    /// Posts published per second (unthrottled when not set: the whole feed at once)
    #[arg(long)]
    pub rate: Option<f64>,
    /// The seed of the posts (the same seed serves the same posts)
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// How many posts the feed has (endless when not set)
    #[arg(long)]
    pub posts: Option<u64>,
    /// Require `Authorization: Bearer <TOKEN>`
    #[arg(long)]
    pub token: Option<String>,
    /// Faults: disconnect:N, stall:N:SECS, 429:N:SECS, 5xx:N, malformed:N, duplicate:N, slow:MS (comma separated)
    #[arg(long, default_value = "", value_parser = parse_faults)]
    pub faults: Faults,
    /// Keep-alive interval of idle streams, ms
    #[arg(long, default_value_t = 1000)]
    pub keepalive_ms: u64,
}

fn parse_faults(value: &str) -> Result<Faults, String> {
    Faults::parse(value)
}

/// `fjord feed bench`.
#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Posts per contender per round
    #[arg(long, default_value_t = 200_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub posts: u64,
    /// Rounds (each runs both contenders, in alternating order)
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..))]
    pub rounds: u64,
    /// The cluster to use (an embedded broker when not set)
    #[arg(long, value_name = "HOST:PORT")]
    pub bootstrap_server: Option<String>,
    /// Give up on a contender after this many seconds
    #[arg(long, default_value_t = 300)]
    pub timeout_s: u64,
}

/// Runs a `feed` subcommand.
///
/// # Errors
/// An address in use; for the benchmark, a cluster that cannot be reached or a contender
/// that fails or times out.
pub async fn run(command: FeedCommand, shutdown: CancellationToken) -> anyhow::Result<ExitCode> {
    match command {
        FeedCommand::Serve(args) => serve(args, shutdown).await,
        FeedCommand::Bench(args) => bench(args, shutdown).await,
    }
}

async fn serve(args: ServeArgs, shutdown: CancellationToken) -> anyhow::Result<ExitCode> {
    let config = SimulatorConfig {
        seed: args.seed,
        rate: args.rate.filter(|r| *r > 0.0),
        posts: args.posts,
        token: args.token,
        faults: args.faults,
        keepalive: Duration::from_millis(args.keepalive_ms.max(1)),
    };
    let simulator = FeedSimulator::start(&args.listen, config)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    eprintln!(
        "feed simulator serving on {} (stream {}, SSE {}, polling {})",
        simulator.url(""),
        simulator.url("/2/stream"),
        simulator.url("/2/stream/sse"),
        simulator.url("/2/posts"),
    );
    simulator.run_until(shutdown).await;
    Ok(ExitCode::SUCCESS)
}

fn config(pairs: &[(&str, &str)]) -> ConfigMap {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

async fn create_topic(bootstrap: &str, topic: &str) -> anyhow::Result<()> {
    let admin = fjord_core::TopicAdmin::new(&fjord_core::ClientSettings::new(bootstrap))?;
    let mut spec = fjord_core::NewTopicSpec::new(topic);
    spec.partitions = Some(1);
    admin.create(&spec).await?;
    Ok(())
}

/// Polls the topic's high watermark every 10 ms until it reaches `total`; the seconds from
/// the first poll that saw records, scaled from what arrived after it to all of it.
fn time_until(bootstrap: &str, topic: &str, total: u64, deadline: Instant) -> anyhow::Result<f64> {
    let watcher: BaseConsumer = fjord_core::ClientSettings::new(bootstrap)
        .consumer_config(None)
        .create()?;
    let mut first: Option<(Instant, u64)> = None;
    let outcome = loop {
        let (_, high) = watcher.fetch_watermarks(topic, 0, Duration::from_secs(10))?;
        let n = u64::try_from(high.max(0))?;
        if n > 0 && first.is_none() {
            first = Some((Instant::now(), n));
        }
        if n >= total {
            let (t0, n0) = first.unwrap_or((Instant::now(), 0));
            let seconds = t0.elapsed().as_secs_f64().max(1e-6);
            break Ok(seconds * total as f64 / (total - n0).max(1) as f64);
        }
        if Instant::now() > deadline {
            break Err(anyhow::anyhow!(
                "{n} of {total} posts reached '{topic}' in time"
            ));
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    fjord_core::close_consumer(watcher, "watermark watcher", Duration::from_secs(5))?;
    outcome
}

/// The baseline: the same posts (JSON lines keyed by the user id's JSON text, as the
/// connector's JsonConverter writes them), produced as fast as librdkafka takes them.
fn raw_produce(bootstrap: &str, topic: &str, posts: &[(Vec<u8>, Vec<u8>)]) -> anyhow::Result<()> {
    let producer: BaseProducer = fjord_core::ClientSettings::new(bootstrap)
        .producer_config()
        .create()?;
    for (i, (key, value)) in posts.iter().enumerate() {
        let mut record: BaseRecord<'_, [u8], [u8]> = BaseRecord::to(topic)
            .key(key.as_slice())
            .payload(value.as_slice());
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((_, back)) => {
                    producer.poll(Duration::from_millis(5));
                    record = back;
                }
            }
        }
        if i % 1024 == 0 {
            producer.poll(Duration::ZERO);
        }
    }
    producer.flush(Duration::from_secs(60))?;
    Ok(())
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s.get(s.len() / 2).copied().unwrap_or(0.0)
}

/// What is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Contender {
    /// A raw producer that generates each post as it sends it (the simulator's work, minus
    /// HTTP and Connect): the baseline.
    RawProducer,
    /// A raw producer of posts generated before the clock starts (librdkafka's ceiling).
    RawPregenerated,
    /// HttpFeedSource, value.format=json, JsonConverter without schemas.
    FeedJson,
    /// HttpFeedSource, value.format=string, StringConverter.
    FeedString,
}

impl Contender {
    const ALL: [Contender; 4] = [
        Contender::RawProducer,
        Contender::RawPregenerated,
        Contender::FeedJson,
        Contender::FeedString,
    ];

    fn name(self) -> &'static str {
        match self {
            Contender::RawProducer => "raw_producer",
            Contender::RawPregenerated => "raw_pregenerated",
            Contender::FeedJson => "feed_source_json",
            Contender::FeedString => "feed_source_string",
        }
    }
}

fn raw_generating(bootstrap: &str, topic: &str, seed: u64, posts: u64) -> anyhow::Result<()> {
    let generator = PostGenerator::new(seed);
    let producer: BaseProducer = fjord_core::ClientSettings::new(bootstrap)
        .producer_config()
        .create()?;
    for i in 0..posts {
        let post = generator.post(i);
        let key = post.user.id.to_string();
        let value = serde_json::to_vec(&post)?;
        let mut record: BaseRecord<'_, [u8], [u8]> = BaseRecord::to(topic)
            .key(key.as_bytes())
            .payload(value.as_slice());
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((_, back)) => {
                    producer.poll(Duration::from_millis(5));
                    record = back;
                }
            }
        }
        if i % 1024 == 0 {
            producer.poll(Duration::ZERO);
        }
    }
    producer.flush(Duration::from_secs(60))?;
    Ok(())
}

async fn feed_source(
    bootstrap: &str,
    dir: &std::path::Path,
    topic: &str,
    seed: u64,
    posts: u64,
    as_text: bool,
    watcher: tokio::task::JoinHandle<anyhow::Result<f64>>,
) -> anyhow::Result<f64> {
    let simulator = FeedSimulator::start(
        "127.0.0.1:0",
        SimulatorConfig {
            seed,
            posts: Some(posts),
            ..SimulatorConfig::default()
        },
    )
    .await?;
    let converter = if as_text {
        "org.apache.kafka.connect.storage.StringConverter"
    } else {
        "org.apache.kafka.connect.json.JsonConverter"
    };
    let offsets = dir.join(format!("{topic}.offsets")).display().to_string();
    let worker = StandaloneWorker::start(
        config(&[
            ("bootstrap.servers", bootstrap),
            ("offset.storage.file.filename", &offsets),
            (
                "key.converter",
                "org.apache.kafka.connect.json.JsonConverter",
            ),
            ("key.converter.schemas.enable", "false"),
            ("value.converter", converter),
            ("value.converter.schemas.enable", "false"),
            ("listeners", "http://127.0.0.1:0"),
        ]),
        vec![config(&[
            ("name", topic),
            ("connector.class", "HttpFeedSource"),
            ("url", &simulator.url("/2/stream")),
            ("mode", "stream"),
            ("topic", topic),
            ("key.field", "user.id"),
            ("value.format", if as_text { "string" } else { "json" }),
        ])],
    )
    .await?;
    let seconds = watcher.await?;
    worker.shutdown().await;
    simulator.shutdown().await;
    seconds
}

async fn bench(args: BenchArgs, shutdown: CancellationToken) -> anyhow::Result<ExitCode> {
    let embedded = match &args.bootstrap_server {
        Some(_) => None,
        None => Some(
            fjord_broker::EmbeddedBroker::start(fjord_broker::EmbeddedConfig::default()).await?,
        ),
    };
    let bootstrap = args
        .bootstrap_server
        .clone()
        .or_else(|| embedded.as_ref().map(|b| b.bootstrap_servers()))
        .context("no cluster")?;
    let dir = tempfile_dir()?;
    let seed = 7;
    let generator = PostGenerator::new(seed);
    let posts: std::sync::Arc<Vec<(Vec<u8>, Vec<u8>)>> = std::sync::Arc::new(
        (0..args.posts)
            .map(|i| {
                let post = generator.post(i);
                (
                    post.user.id.to_string().into_bytes(),
                    serde_json::to_vec(&post).unwrap_or_default(),
                )
            })
            .collect(),
    );
    let bytes: usize = posts.iter().map(|(_, v)| v.len()).sum();
    eprintln!(
        "{} posts of {} bytes on average; broker {bootstrap}",
        args.posts,
        bytes / posts.len().max(1)
    );
    let mut rates: Vec<(Contender, Vec<f64>)> =
        Contender::ALL.iter().map(|c| (*c, Vec::new())).collect();
    for round in 0..args.rounds {
        let mut order = Contender::ALL.to_vec();
        if round % 2 == 1 {
            order.reverse();
        }
        for c in order {
            if shutdown.is_cancelled() {
                bail!("interrupted");
            }
            let topic = format!("perf-feed-{}-{round}-{}", c.name(), std::process::id());
            create_topic(&bootstrap, &topic).await?;
            let deadline = Instant::now() + Duration::from_secs(args.timeout_s);
            let (bs, t, total) = (bootstrap.clone(), topic.clone(), args.posts);
            let watcher = tokio::task::spawn_blocking(move || time_until(&bs, &t, total, deadline));
            let seconds = match c {
                Contender::FeedJson | Contender::FeedString => {
                    let as_text = c == Contender::FeedString;
                    feed_source(&bootstrap, &dir, &topic, seed, args.posts, as_text, watcher)
                        .await?
                }
                Contender::RawProducer => {
                    let (bs, t, n) = (bootstrap.clone(), topic.clone(), args.posts);
                    let producer =
                        tokio::task::spawn_blocking(move || raw_generating(&bs, &t, seed, n));
                    let seconds = watcher.await??;
                    producer.await??;
                    seconds
                }
                Contender::RawPregenerated => {
                    let (bs, t, p) = (
                        bootstrap.clone(),
                        topic.clone(),
                        std::sync::Arc::clone(&posts),
                    );
                    let producer = tokio::task::spawn_blocking(move || raw_produce(&bs, &t, &p));
                    let seconds = watcher.await??;
                    producer.await??;
                    seconds
                }
            };
            let rate = args.posts as f64 / seconds;
            eprintln!(
                "round {round}: {:19} {rate:>10.0} posts/s ({seconds:.2} s)",
                c.name()
            );
            if let Some((_, v)) = rates.iter_mut().find(|(k, _)| *k == c) {
                v.push(rate);
            }
        }
    }
    println!("posts                 {}", args.posts);
    println!("rounds                {}", args.rounds);
    let baseline = median(&rates[0].1).max(1e-9);
    for (c, v) in &rates {
        println!(
            "{:21} {:>8.0} posts/s (median)  {:.2}x raw_producer",
            c.name(),
            median(v),
            median(v) / baseline
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    drop(embedded);
    Ok(ExitCode::SUCCESS)
}

fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("fjord-feed-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
