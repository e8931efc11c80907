//! HttpFeedSource end to end: the feed simulator over real HTTP, a standalone worker in this
//! process, an embedded broker, real Kafka clients reading the topics. Every post matching
//! `track` arrives once and in order through disconnects, stalls, 5xx, 429s (waited out for
//! at least Retry-After) and duplicates; a restarted worker resumes after the last id; a bad
//! token is a FAILED task with the status in its trace; malformed lines land in the
//! dead-letter topic with the error headers; the trending-hashtags example counts what the
//! seed says it must.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "connect_feed/harness.rs"]
mod harness;
#[path = "connect_feed/trending.rs"]
mod trending;
#[path = "../examples/trending_hashtags.rs"]
#[allow(dead_code)]
mod trending_app;

use std::time::Duration;

use harness::{expected_ids, ids, read_topic, simulator, Feed};
use rdkafka::message::Headers;
use rdkafka::Message;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_mode_delivers_every_matching_post_once_in_order_and_malformed_lines_to_the_dlq() {
    let broker = common::broker().await;
    let bs = broker.bootstrap_servers();
    let sim = simulator(
        600,
        "disconnect:53,5xx:4,duplicate:9,malformed:40,slow:1",
        None,
    )
    .await;
    let track = "#rust, kafka";
    let want = expected_ids(&sim, 600, track);
    let feed = Feed::start(
        &bs,
        &sim.url("/2/stream"),
        "stream",
        &[
            ("track", track),
            ("errors.tolerance", "all"),
            ("errors.deadletterqueue.topic.name", "feed-dlq"),
            ("errors.deadletterqueue.context.headers.enable", "true"),
        ],
    )
    .await;
    let records = read_topic(&bs, &feed.topic, want.len(), Duration::from_secs(60));
    assert_eq!(ids(&records), want);
    // Record timestamps are the posts' times (created_at has second precision).
    for m in &records {
        let post: serde_json::Value = serde_json::from_slice(m.payload().unwrap()).unwrap();
        let ms: i64 = post["timestamp_ms"].as_str().unwrap().parse().unwrap();
        assert_eq!(m.timestamp().to_millis(), Some(ms / 1000 * 1000));
        assert_eq!(m.key().unwrap(), post["user"]["id"].to_string().as_bytes());
    }
    // Every malformed line the simulator wrote (after every 40th post: the simulator is not
    // asked to filter), in the DLQ, raw.
    let malformed = (0..600u64).filter(|&i| (i + 1) % 40 == 0).count();
    assert!(malformed > 0);
    let dlq = read_topic(&bs, "feed-dlq", malformed, Duration::from_secs(30));
    for m in &dlq {
        assert!(serde_json::from_slice::<serde_json::Value>(m.payload().unwrap()).is_err());
        let headers = m.headers().unwrap();
        let header = |key: &str| {
            headers
                .iter()
                .find(|h| h.key == key)
                .and_then(|h| h.value)
                .map(|v| String::from_utf8_lossy(v).into_owned())
                .unwrap_or_default()
        };
        assert_eq!(header("__connect.errors.stage"), "TASK_POLL");
        assert_eq!(header("__connect.errors.topic"), feed.topic);
        assert!(header("__connect.errors.exception.message").contains("malformed"));
    }
    let requests = sim.requests();
    assert!(requests.iter().any(|r| r.status == 503), "{requests:?}");
    assert!(requests.len() > 5, "the disconnects forced reconnects");
    assert!(feed.status().await.contains("RUNNING"));
    feed.stop().await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sse_rides_out_stalls_and_waits_at_least_retry_after_on_429() {
    let broker = common::broker().await;
    let bs = broker.bootstrap_servers();
    let sim = simulator(300, "stall:70:60,429:2:1", None).await;
    let want = expected_ids(&sim, 300, "");
    let feed = Feed::start(
        &bs,
        &sim.url("/2/stream/sse"),
        "sse",
        &[("stall.timeout.ms", "500")],
    )
    .await;
    let records = read_topic(&bs, &feed.topic, want.len(), Duration::from_secs(60));
    assert_eq!(ids(&records), want);
    let requests = sim.requests();
    assert!(requests.iter().any(|r| r.status == 429), "{requests:?}");
    for pair in requests.windows(2) {
        if pair[0].status == 429 {
            assert!(pair[1].at_ms >= pair[0].at_ms + 1000, "{pair:?}");
        }
    }
    // Reconnects after a stall resume with Last-Event-ID.
    assert!(
        requests.iter().skip(1).all(|r| r.last_event_id.is_some()),
        "{requests:?}"
    );
    feed.stop().await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poll_mode_follows_pages_and_since_id() {
    let broker = common::broker().await;
    let bs = broker.bootstrap_servers();
    let sim = simulator(250, "duplicate:7,5xx:5", None).await;
    let want = expected_ids(&sim, 250, "");
    let feed = Feed::start(&bs, &sim.url("/2/posts?max_results=40"), "poll", &[]).await;
    let records = read_topic(&bs, &feed.topic, want.len(), Duration::from_secs(60));
    assert_eq!(ids(&records), want);
    let requests = sim.requests();
    assert!(
        requests.iter().any(|r| r.pagination_token.is_some()),
        "{requests:?}"
    );
    feed.stop().await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_worker_resumes_after_the_last_id() {
    let broker = common::broker().await;
    let bs = broker.bootstrap_servers();
    // Throttled: the first worker is stopped mid-feed.
    let sim = harness::simulator_with(400, "", None, Some(200.0)).await;
    let want = expected_ids(&sim, 400, "");
    let dir = tempfile::tempdir().unwrap();
    let first = Feed::start_in(dir.path(), &bs, &sim.url("/2/stream"), "stream", &[]).await;
    let topic = first.topic.clone();
    harness::wait_for_count(&bs, &topic, 100, Duration::from_secs(30)).await;
    first.stop().await;
    let before = sim.requests().len();
    let second = Feed::start_named(
        dir.path(),
        &bs,
        &sim.url("/2/stream"),
        "stream",
        &topic,
        &[],
    )
    .await;
    let records = read_topic(&bs, &topic, want.len(), Duration::from_secs(60));
    assert_eq!(ids(&records), want, "no post lost, none repeated");
    let resumed = &sim.requests()[before];
    let since: u64 = resumed
        .since_id
        .as_deref()
        .expect("resumed with since_id")
        .parse()
        .unwrap();
    assert!(want.contains(&since) && since >= want[99], "{resumed:?}");
    second.stop().await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_token_is_a_failed_task_with_the_status_in_its_trace() {
    let broker = common::broker().await;
    let bs = broker.bootstrap_servers();
    let sim = simulator(10, "", Some("s3cret")).await;
    let feed = Feed::start(
        &bs,
        &sim.url("/2/stream"),
        "stream",
        &[("auth.bearer.token", "wrong")],
    )
    .await;
    let status = feed.wait_task_state("FAILED").await;
    let trace = status["tasks"][0]["trace"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(trace.contains("401"), "{status}");
    assert!(trace.contains("auth.bearer.token"), "{status}");
    feed.stop().await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fjord_feed_serve_serves_posts_behind_the_token() {
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_fjord"))
        .args([
            "feed",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--seed",
            "5",
            "--posts",
            "30",
        ])
        .args(["--token", "t0k", "--faults", "duplicate:3"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let base = BufReader::new(stderr)
        .lines()
        .map_while(Result::ok)
        .find_map(|l| {
            l.split("serving on ")
                .nth(1)
                .map(|r| r.split_whitespace().next().unwrap().to_owned())
        })
        .expect("the ready line");
    let client = reqwest::Client::new();
    let url = format!("{base}/2/posts?max_results=10");
    assert_eq!(client.get(&url).send().await.unwrap().status(), 401);
    let page: serde_json::Value = client
        .get(&url)
        .bearer_auth("t0k")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let generator = fjord_connect::connectors::http_feed::simulator::PostGenerator::new(5);
    assert_eq!(page["data"][0]["text"], generator.post(0).text);
    // duplicate:3 sends post 2 twice.
    assert_eq!(page["data"][2]["id"], page["data"][3]["id"]);
    assert!(page["meta"]["next_token"].is_string());
    child.kill().unwrap();
    child.wait().unwrap();
}
