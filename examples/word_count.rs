//! Kafka Streams' WordCount on Fjord (topology: `fjord::apps::word_count`).
//!
//! Without `--bootstrap-server`: an embedded broker, a few lines produced to
//! `streams-plaintext-input`, the counts read back from
//! `streams-wordcount-output` and printed, then exit. With
//! `--bootstrap-server HOST:PORT`: runs against that cluster until SIGTERM
//! or Ctrl-C.
//!
//! Run: `cargo run --release --example word_count`

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::bail;
use clap::Parser;
use fjord::apps::word_count as app;
use fjord::broker::{EmbeddedBroker, EmbeddedConfig};
use fjord::streams::{KafkaStreams, State, StreamsConfig};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Message, Offset, TopicPartitionList};

#[derive(Parser)]
struct Args {
    /// Run against this cluster instead of an embedded broker, until SIGTERM.
    #[arg(long)]
    bootstrap_server: Option<String>,
    /// The application id.
    #[arg(long, default_value = app::APPLICATION_ID)]
    application_id: String,
    /// Where the app keeps local state.
    #[arg(long)]
    state_dir: Option<PathBuf>,
}

const LINES: [&str; 3] = [
    "all streams lead to kafka",
    "hello kafka streams",
    "join kafka summit",
];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let state_dir = args.state_dir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("fjord-wordcount-{}", std::process::id()))
    });
    let (broker, bootstrap) = match &args.bootstrap_server {
        Some(b) => (None, b.clone()),
        None => {
            let broker = EmbeddedBroker::start(EmbeddedConfig::default()).await?;
            let b = broker.bootstrap_servers();
            println!("embedded broker ready on {b}");
            (Some(broker), b)
        }
    };
    let admin = fjord::core::TopicAdmin::new(&fjord::core::ClientSettings::new(&bootstrap))?;
    for topic in [app::INPUT, app::OUTPUT] {
        let mut spec = fjord::core::NewTopicSpec::new(topic);
        spec.partitions = Some(2);
        match admin.create(&spec).await {
            Ok(()) | Err(fjord::core::Error::TopicAlreadyExists { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let mut config = StreamsConfig::new(&args.application_id, &bootstrap);
    config.commit_interval = Duration::from_millis(500);
    config.state_dir = state_dir.clone();
    let streams = tokio::task::spawn_blocking(move || -> anyhow::Result<KafkaStreams> {
        let streams = KafkaStreams::new(app::topology()?, config)?;
        streams.start()?;
        if !streams.wait_for_state(State::Running, Duration::from_secs(30)) {
            bail!("not running: {:?} {:?}", streams.state(), streams.error());
        }
        Ok(streams)
    })
    .await??;
    if broker.is_none() {
        println!("word count running on {bootstrap}; SIGTERM or Ctrl-C stops it");
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        tokio::task::spawn_blocking(move || streams.close(Duration::from_secs(30))).await?;
        return Ok(());
    }
    let producer: FutureProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .create()?;
    for line in LINES {
        producer
            .send(
                FutureRecord::<(), _>::to(app::INPUT).payload(line),
                Duration::from_secs(10),
            )
            .await
            .map_err(|(e, _)| anyhow::anyhow!("producing: {e}"))?;
        println!("produced: {line}");
    }
    let mut want: BTreeMap<String, i64> = BTreeMap::new();
    for w in LINES.iter().flat_map(|l| app::words(l)) {
        *want.entry(w).or_default() += 1;
    }
    let bs = bootstrap.clone();
    let got = tokio::task::spawn_blocking(move || read_counts(&bs, &want)).await??;
    for (word, count) in &got {
        println!("{word} {count}");
    }
    tokio::task::spawn_blocking(move || streams.close(Duration::from_secs(10))).await?;
    if let Some(b) = broker {
        b.shutdown().await;
    }
    let _ = std::fs::remove_dir_all(&state_dir);
    Ok(())
}

/// The latest count per word, once every word reached its expected count.
fn read_counts(
    bootstrap: &str,
    want: &BTreeMap<String, i64>,
) -> anyhow::Result<BTreeMap<String, i64>> {
    let consumer: BaseConsumer = fjord::core::ClientSettings::new(bootstrap)
        .consumer_config(None)
        .create()?;
    let mut tpl = TopicPartitionList::new();
    for p in 0..2 {
        tpl.add_partition_offset(app::OUTPUT, p, Offset::Beginning)?;
    }
    consumer.assign(&tpl)?;
    drop(tpl);
    let mut got = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while &got != want {
        if Instant::now() > deadline {
            bail!("after 30 s the counts are {got:?}, not {want:?}");
        }
        if let Some(m) = consumer.poll(Duration::from_millis(100)) {
            let m = m?;
            let word = String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned();
            let count = m
                .payload()
                .and_then(|p| <[u8; 8]>::try_from(p).ok())
                .map(i64::from_be_bytes)
                .unwrap_or(0);
            got.insert(word, count);
        }
    }
    fjord::core::close_consumer(consumer, "word count reader", Duration::from_secs(5))?;
    Ok(got)
}
