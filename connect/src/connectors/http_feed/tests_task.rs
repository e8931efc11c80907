//! The task against the simulator over real HTTP, without a worker: every matching post
//! once and in order through faults, in each mode; resume from an offset; a refused token.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value as Json;

use super::simulator::{Faults, FeedSimulator, PostGenerator, SimulatorConfig};
use super::source::HttpFeedSourceTask;
use super::track::Track;
use crate::config::ConfigMap;
use crate::connector::{ErrantRecordReporter, OffsetReader, SourceTask, SourceTaskContext};
use crate::data::Value;
use crate::record::{JsonMap, SourceRecord};
use crate::ConnectError;

#[derive(Default)]
struct Offsets(Option<JsonMap>);

impl OffsetReader for Offsets {
    fn offset(&self, _partition: &JsonMap) -> Option<JsonMap> {
        self.0.clone()
    }
}

#[derive(Default)]
struct Collect(Mutex<Vec<(Vec<u8>, String)>>);

impl ErrantRecordReporter for Collect {
    fn report(&self, _topic: &str, raw: &[u8], error: ConnectError) -> crate::Result<()> {
        self.0
            .lock()
            .unwrap()
            .push((raw.to_vec(), error.to_string()));
        Ok(())
    }
}

async fn simulator(posts: u64, faults: &str, token: Option<&str>) -> FeedSimulator {
    FeedSimulator::start(
        "127.0.0.1:0",
        SimulatorConfig {
            seed: 11,
            posts: Some(posts),
            token: token.map(str::to_owned),
            faults: Faults::parse(faults).unwrap(),
            keepalive: Duration::from_millis(200),
            ..SimulatorConfig::default()
        },
    )
    .await
    .unwrap()
}

fn config(url: &str, mode: &str, extra: &[(&str, &str)]) -> ConfigMap {
    let mut c: ConfigMap = [
        ("url", url),
        ("mode", mode),
        ("topic", "posts"),
        ("key.field", "user.id"),
        ("reconnect.backoff.ms", "20"),
        ("reconnect.backoff.max.ms", "200"),
        ("stall.timeout.ms", "1000"),
        ("poll.interval.ms", "100"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    for (k, v) in extra {
        c.insert((*k).to_owned(), (*v).to_owned());
    }
    c
}

async fn start(config: ConfigMap, offset: Option<JsonMap>) -> (HttpFeedSourceTask, Arc<Collect>) {
    let errors = Arc::new(Collect::default());
    let mut task = HttpFeedSourceTask::default();
    task.start(
        config,
        SourceTaskContext {
            offsets: Arc::new(Offsets(offset)),
            errors: errors.clone(),
        },
    )
    .await
    .unwrap();
    (task, errors)
}

async fn collect(task: &mut HttpFeedSourceTask, want: usize) -> Vec<SourceRecord> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut out = Vec::new();
    while out.len() < want {
        assert!(
            Instant::now() < deadline,
            "got {} of {want} records",
            out.len()
        );
        out.extend(task.poll().await.unwrap());
    }
    out
}

fn id(record: &SourceRecord) -> u64 {
    record.source_offset["id"].as_u64().unwrap()
}

fn expected(generator: PostGenerator, posts: u64, track: &str) -> Vec<u64> {
    let track = Track::parse(track);
    (0..posts)
        .map(|i| generator.post(i))
        .filter(|p| track.matches(&p.text))
        .map(|p| p.id)
        .collect()
}

#[tokio::test]
async fn every_mode_delivers_each_matching_post_once_in_order_through_faults() {
    let faults = "disconnect:37,duplicate:5,slow:1,5xx:3,malformed:50";
    let sim = simulator(400, faults, None).await;
    for (mode, path) in [
        ("stream", "/2/stream"),
        ("sse", "/2/stream/sse"),
        ("poll", "/2/posts?max_results=25"),
    ] {
        let want = expected(sim.generator(), 400, "#rust,kafka");
        let (mut task, errors) = start(
            config(&sim.url(path), mode, &[("track", "#rust, kafka")]),
            None,
        )
        .await;
        let records = collect(&mut task, want.len()).await;
        let got: Vec<u64> = records.iter().map(id).collect();
        assert_eq!(got, want, "mode {mode}");
        // Nothing more arrives (no duplicate after the last one).
        assert!(task.poll().await.unwrap().is_empty(), "mode {mode}");
        let first = &records[0].record;
        let post = sim
            .generator()
            .post(PostGenerator::index_of(got[0]).unwrap());
        assert_eq!(first.key, Value::Int64(post.user.id as i64));
        assert_eq!(
            first.timestamp,
            Some(post.timestamp_ms.parse::<i64>().unwrap() / 1000 * 1000)
        );
        assert_eq!(
            first.value.map_get("id_str"),
            Some(&Value::String(post.id_str.clone()))
        );
        if mode != "poll" {
            let malformed = errors.0.lock().unwrap();
            assert!(!malformed.is_empty(), "mode {mode}");
            assert!(malformed
                .iter()
                .all(|(raw, e)| serde_json::from_slice::<Json>(raw).is_err()
                    && e.contains("malformed")));
        }
        task.stop().await.unwrap();
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn a_task_resumes_after_the_committed_id_and_counts_towards_max_records() {
    let sim = simulator(100, "", None).await;
    let ids = expected(sim.generator(), 100, "");
    let mut offset = JsonMap::new();
    offset.insert("id".into(), Json::from(ids[59]));
    offset.insert("count".into(), Json::from(60));
    let (mut task, _) = start(
        config(&sim.url("/2/stream"), "stream", &[("max.records", "70")]),
        Some(offset),
    )
    .await;
    let records = collect(&mut task, 10).await;
    assert_eq!(records.iter().map(id).collect::<Vec<_>>(), ids[60..70]);
    assert_eq!(records[9].source_offset["count"], Json::from(70));
    assert!(task.poll().await.unwrap().is_empty());
    let asked = sim.requests();
    assert_eq!(
        asked[0].since_id.as_deref(),
        Some(ids[59].to_string().as_str())
    );
    task.stop().await.unwrap();
    sim.shutdown().await;
}

#[tokio::test]
async fn a_refused_token_fails_the_poll_with_the_status() {
    let sim = simulator(10, "", Some("right")).await;
    let (mut task, _) = start(
        config(
            &sim.url("/2/stream"),
            "stream",
            &[("auth.bearer.token", "wrong")],
        ),
        None,
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let error = loop {
        assert!(Instant::now() < deadline, "the task never failed");
        match task.poll().await {
            Ok(records) => assert!(records.is_empty()),
            Err(e) => break e.to_string(),
        }
    };
    assert!(error.contains("401"), "{error}");
    task.stop().await.unwrap();
    let (mut task, _) = start(
        config(
            &sim.url("/2/stream"),
            "stream",
            &[("auth.bearer.token", "right")],
        ),
        None,
    )
    .await;
    assert_eq!(collect(&mut task, 10).await.len(), 10);
    task.stop().await.unwrap();
    sim.shutdown().await;
}

#[tokio::test]
async fn a_stalled_stream_is_left_and_a_429_is_waited_out() {
    let sim = simulator(60, "stall:20:60,429:2:1", None).await;
    let ids = expected(sim.generator(), 60, "");
    let (mut task, _) = start(
        config(
            &sim.url("/2/stream"),
            "stream",
            &[("stall.timeout.ms", "300")],
        ),
        None,
    )
    .await;
    let records = collect(&mut task, 60).await;
    assert_eq!(records.iter().map(id).collect::<Vec<_>>(), ids);
    let requests = sim.requests();
    for pair in requests.windows(2) {
        if pair[0].status == 429 {
            assert!(pair[1].at_ms >= pair[0].at_ms + 1000, "{pair:?}");
        }
    }
    assert!(requests.iter().any(|r| r.status == 429), "{requests:?}");
    task.stop().await.unwrap();
    sim.shutdown().await;
}

#[tokio::test]
async fn the_time_limit_stops_the_feed() {
    let sim = FeedSimulator::start(
        "127.0.0.1:0",
        SimulatorConfig {
            seed: 3,
            rate: Some(100.0),
            keepalive: Duration::from_millis(100),
            ..SimulatorConfig::default()
        },
    )
    .await
    .unwrap();
    let (mut task, _) = start(
        config(&sim.url("/2/stream"), "stream", &[("time.limit.ms", "700")]),
        None,
    )
    .await;
    let started = Instant::now();
    let mut got = 0;
    // Polls return nothing within a second once the limit passed and the queue is drained.
    loop {
        let records = task.poll().await.unwrap();
        if records.is_empty() && started.elapsed() > Duration::from_millis(700) {
            break;
        }
        got += records.len();
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the feed did not stop"
        );
    }
    assert!(got > 10 && got < 200, "{got} records in 0.7 s at 100/s");
    for _ in 0..2 {
        assert!(task.poll().await.unwrap().is_empty());
    }
    task.stop().await.unwrap();
    sim.shutdown().await;
}
