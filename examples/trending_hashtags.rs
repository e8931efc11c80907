//! Trending hashtags: posts from a feed (HttpFeedSource into `posts`) counted per hashtag
//! per one-minute tumbling window of the posts' time into `trending-hashtags`.
//!
//! The topology reads each post's JSON (the connector's JsonConverter output, the record
//! timestamp being the post's `created_at`), takes its `entities.hashtags`, re-keys by
//! lower-cased tag through the repartition topic `<application.id>-hashtags-repartition`,
//! and counts per tag and window in the store `hashtag-counts`; every update goes to
//! `trending-hashtags` keyed by tag: `{"hashtag", "window_start", "window_end", "count"}`.
//!
//! Without `--bootstrap-server`: an embedded broker, the feed simulator (seed `--seed`,
//! `--posts` posts, unthrottled), a standalone worker running
//! `examples/config/feed-source.properties` pointed at it, and the app; it prints the top
//! hashtags per minute once the counts equal those computed from the seed, and exits.
//! With `--bootstrap-server HOST:PORT`: runs the app against that cluster (fed by
//! `fjord feed serve` and `fjord connect standalone`, see the README) until SIGTERM.
//!
//! Run: `cargo run --release --example trending_hashtags`

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::bail;
use clap::Parser;
use fjord::connect::connectors::http_feed::simulator::{
    FeedSimulator, PostGenerator, SimulatorConfig,
};
use fjord::connect::connectors::http_feed::track::Track;
use fjord::core::format::{Bytes, Json, Nullable, Utf8};
use fjord::streams::{
    Consumed, Grouped, KafkaStreams, Materialized, Produced, State, StreamsBuilder, StreamsConfig,
    TimeWindows, Topology,
};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Message, Offset, TopicPartitionList};
use serde::{Deserialize, Serialize};

/// The input topic (the connector's `topic`).
pub const INPUT: &str = "posts";
/// The output topic.
pub const OUTPUT: &str = "trending-hashtags";
/// The default application id.
pub const APPLICATION_ID: &str = "trending-hashtags";
/// The window size.
pub const WINDOW_MS: i64 = 60_000;

/// What the app reads of a post.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FeedPost {
    /// Hashtags and more.
    #[serde(default)]
    pub entities: PostEntities,
}

/// A post's entities.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PostEntities {
    /// Its hashtags.
    #[serde(default)]
    pub hashtags: Vec<Tag>,
}

/// A hashtag (`text` in Twitter's v1.1, `tag` in v2).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Tag {
    /// The tag without `#`.
    #[serde(alias = "tag")]
    pub text: String,
}

/// One count of `trending-hashtags`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HashtagCount {
    /// The tag, lower case.
    pub hashtag: String,
    /// The window's start, ms since the epoch.
    pub window_start: i64,
    /// Its end (exclusive).
    pub window_end: i64,
    /// Posts with the tag in the window.
    pub count: i64,
}

/// Counts by (hashtag, window start).
pub type Counts = BTreeMap<(String, i64), i64>;

/// The topology.
///
/// # Errors
/// None in practice: the topology is fixed.
pub fn topology() -> fjord::streams::Result<Topology> {
    let b = StreamsBuilder::new();
    b.stream(
        INPUT,
        Consumed::with(Nullable(Bytes), Json::<FeedPost>::new()).with_name("posts-source"),
    )
    .flat_map_values(|post: FeedPost| {
        post.entities
            .hashtags
            .into_iter()
            .map(|t| t.text.to_lowercase())
            .collect::<Vec<_>>()
    })
    .group_by(
        |_, tag| tag.clone(),
        Grouped::with(Utf8, Utf8).with_name("hashtags"),
    )
    .windowed_by(TimeWindows::of_size_and_grace(
        Duration::from_millis(WINDOW_MS as u64),
        Duration::from_secs(10),
    ))
    .count(Materialized::as_("hashtag-counts"))
    .to_stream()
    .map(|wk, count| {
        let out = HashtagCount {
            hashtag: wk.key.clone(),
            window_start: wk.window.start,
            window_end: wk.window.end,
            count: count.unwrap_or(0),
        };
        (wk.key, out)
    })
    .to(
        OUTPUT,
        Produced::with(Utf8, Json::<HashtagCount>::new()).with_name("trending-sink"),
    );
    b.build()
}

/// The counts the app must reach for the first `posts` posts of `seed` that match `track`:
/// computed from the simulator's generator, not from the topic.
pub fn expected(seed: u64, posts: u64, track: &str) -> Counts {
    let generator = PostGenerator::new(seed);
    let track = Track::parse(track);
    let mut counts = Counts::new();
    for i in 0..posts {
        let post = generator.post(i);
        if !track.matches(&post.text) {
            continue;
        }
        // The record timestamp is created_at, which has second precision.
        let ts = generator.time_of(i) / 1000 * 1000;
        for tag in &post.entities.hashtags {
            *counts
                .entry((tag.text.to_lowercase(), ts - ts.rem_euclid(WINDOW_MS)))
                .or_default() += 1;
        }
    }
    counts
}

/// The app's config.
pub fn streams_config(bootstrap: &str, app_id: &str, state_dir: &Path) -> StreamsConfig {
    let mut config = StreamsConfig::new(app_id, bootstrap);
    config.commit_interval = Duration::from_millis(500);
    config.state_dir = state_dir.to_path_buf();
    config
}

/// Starts the app and waits until it runs (blocking; call from a blocking thread).
///
/// # Errors
/// The app does not reach RUNNING in 30 s.
pub fn start_app(config: StreamsConfig) -> anyhow::Result<KafkaStreams> {
    let streams = KafkaStreams::new(topology()?, config)?;
    streams.start()?;
    if !streams.wait_for_state(State::Running, Duration::from_secs(30)) {
        bail!("not running: {:?} {:?}", streams.state(), streams.error());
    }
    Ok(streams)
}

/// Reads `trending-hashtags` (partitions `0..partitions`) from the beginning, keeping the
/// latest count per (hashtag, window), until `done` holds or `timeout` passes (blocking).
///
/// # Errors
/// A consumer that cannot be created or assigned.
pub fn read_counts(
    bootstrap: &str,
    partitions: i32,
    timeout: Duration,
    done: impl Fn(&Counts) -> bool,
) -> anyhow::Result<Counts> {
    let consumer: BaseConsumer = fjord::core::ClientSettings::new(bootstrap)
        .consumer_config(Some("trending-reader"))
        .set("enable.auto.commit", "false")
        .create()?;
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition_offset(OUTPUT, p, Offset::Beginning)?;
    }
    consumer.assign(&tpl)?;
    let deadline = Instant::now() + timeout;
    let mut counts = Counts::new();
    while !done(&counts) && Instant::now() < deadline {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(100)) {
            if let Some(Ok(c)) = m.payload().map(serde_json::from_slice::<HashtagCount>) {
                counts.insert((c.hashtag, c.window_start), c.count);
            }
        }
    }
    drop(tpl);
    fjord::core::close_consumer(consumer, "trending reader", Duration::from_secs(5))?;
    Ok(counts)
}

#[derive(Parser)]
struct Args {
    /// Run against this cluster instead of an embedded broker, until SIGTERM.
    #[arg(long)]
    bootstrap_server: Option<String>,
    /// The application id.
    #[arg(long, default_value = APPLICATION_ID)]
    application_id: String,
    /// Where the app keeps local state.
    #[arg(long)]
    state_dir: Option<PathBuf>,
    /// The simulator's seed (embedded run).
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Posts the simulator serves (embedded run).
    #[arg(long, default_value_t = 2400)]
    posts: u64,
}

fn connector_config(url: &str) -> anyhow::Result<fjord::connect::config::ConfigMap> {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/config/feed-source.properties");
    let mut config = fjord::connect::runtime::launch::load_connector_file(&file)?;
    config.insert("url".into(), url.to_owned());
    config.insert("auth.bearer.token".into(), String::new());
    Ok(config)
}

async fn create_topics(bootstrap: &str) -> anyhow::Result<()> {
    let admin = fjord::core::TopicAdmin::new(&fjord::core::ClientSettings::new(bootstrap))?;
    for topic in [INPUT, OUTPUT] {
        let mut spec = fjord::core::NewTopicSpec::new(topic);
        spec.partitions = Some(1);
        match admin.create(&spec).await {
            Ok(()) | Err(fjord::core::Error::TopicAlreadyExists { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let state_dir = args.state_dir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("fjord-trending-{}", std::process::id()))
    });
    if let Some(bootstrap) = &args.bootstrap_server {
        create_topics(bootstrap).await?;
        let config = streams_config(bootstrap, &args.application_id, &state_dir);
        let streams = tokio::task::spawn_blocking(move || start_app(config)).await??;
        println!("trending hashtags running on {bootstrap}: {INPUT} -> {OUTPUT}; SIGTERM or Ctrl-C stops it");
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        tokio::task::spawn_blocking(move || streams.close(Duration::from_secs(30))).await?;
        return Ok(());
    }
    let broker =
        fjord::broker::EmbeddedBroker::start(fjord::broker::EmbeddedConfig::default()).await?;
    let bootstrap = broker.bootstrap_servers();
    create_topics(&bootstrap).await?;
    let simulator = FeedSimulator::start(
        "127.0.0.1:0",
        SimulatorConfig {
            seed: args.seed,
            posts: Some(args.posts),
            ..SimulatorConfig::default()
        },
    )
    .await?;
    println!(
        "feed simulator on {}, broker on {bootstrap}",
        simulator.url("")
    );
    let connector = connector_config(&simulator.url("/2/stream"))?;
    let track = connector.get("track").cloned().unwrap_or_default();
    let mut worker_config = fjord::connect::config::ConfigMap::new();
    for (k, v) in [
        ("bootstrap.servers", bootstrap.as_str()),
        (
            "key.converter",
            "org.apache.kafka.connect.json.JsonConverter",
        ),
        (
            "value.converter",
            "org.apache.kafka.connect.json.JsonConverter",
        ),
        ("key.converter.schemas.enable", "false"),
        ("value.converter.schemas.enable", "false"),
        ("listeners", "http://127.0.0.1:0"),
    ] {
        worker_config.insert(k.into(), v.into());
    }
    worker_config.insert(
        "offset.storage.file.filename".into(),
        state_dir.join("connect.offsets").display().to_string(),
    );
    std::fs::create_dir_all(&state_dir)?;
    let worker =
        fjord::connect::runtime::launch::StandaloneWorker::start(worker_config, vec![connector])
            .await?;
    let config = streams_config(&bootstrap, &args.application_id, &state_dir);
    let streams = tokio::task::spawn_blocking(move || start_app(config)).await??;
    let want = expected(args.seed, args.posts, &track);
    let (bs, goal) = (bootstrap.clone(), want.clone());
    let counts = tokio::task::spawn_blocking(move || {
        read_counts(&bs, 1, Duration::from_secs(120), |c| *c == goal)
    })
    .await??;
    let mut windows: BTreeMap<i64, Vec<(i64, String)>> = BTreeMap::new();
    for ((tag, start), count) in &counts {
        windows
            .entry(*start)
            .or_default()
            .push((*count, tag.clone()));
    }
    for (start, mut tags) in windows {
        tags.sort_by(|a, b| b.cmp(a));
        let top: Vec<String> = tags
            .iter()
            .take(3)
            .map(|(c, t)| format!("#{t} {c}"))
            .collect();
        let at = fjord::connect::connectors::http_feed::simulator::created_at(start);
        println!("{at}  {}", top.join(", "));
    }
    let ok = counts == want;
    tokio::task::spawn_blocking(move || streams.close(Duration::from_secs(30))).await?;
    worker.shutdown().await;
    simulator.shutdown().await;
    drop(broker);
    if !ok {
        bail!(
            "the counts differ from the seed's: {} of {} (hashtag, minute) pairs agree",
            counts
                .iter()
                .filter(|(k, v)| want.get(k) == Some(v))
                .count(),
            want.len()
        );
    }
    println!("counts match the seed's ({} hashtag-minutes)", want.len());
    Ok(())
}
