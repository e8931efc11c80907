//! The parts of a feed test: a simulator, a standalone worker running one HttpFeedSource
//! into a fresh one-partition topic, and readers of what reached the topics.

use std::path::Path;
use std::time::{Duration, Instant};

use fjord_connect::config::ConfigMap;
use fjord_connect::connectors::http_feed::simulator::{Faults, FeedSimulator, SimulatorConfig};
use fjord_connect::connectors::http_feed::track::Track;
use fjord_connect::runtime::launch::StandaloneWorker;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::OwnedMessage;
use rdkafka::{Message, Offset};

use crate::common;

pub async fn simulator(posts: u64, faults: &str, token: Option<&str>) -> FeedSimulator {
    simulator_with(posts, faults, token, None).await
}

pub async fn simulator_with(
    posts: u64,
    faults: &str,
    token: Option<&str>,
    rate: Option<f64>,
) -> FeedSimulator {
    FeedSimulator::start(
        "127.0.0.1:0",
        SimulatorConfig {
            seed: 2026,
            rate,
            posts: Some(posts),
            token: token.map(str::to_owned),
            faults: Faults::parse(faults).unwrap(),
            keepalive: Duration::from_millis(200),
        },
    )
    .await
    .unwrap()
}

/// The ids of the first `posts` posts that match `track`, in feed order.
pub fn expected_ids(sim: &FeedSimulator, posts: u64, track: &str) -> Vec<u64> {
    let track = Track::parse(track);
    let generator = sim.generator();
    (0..posts)
        .map(|i| generator.post(i))
        .filter(|p| track.matches(&p.text))
        .map(|p| p.id)
        .collect()
}

/// The `id` of each record's JSON value.
pub fn ids(records: &[OwnedMessage]) -> Vec<u64> {
    records
        .iter()
        .map(|m| {
            let post: serde_json::Value = serde_json::from_slice(m.payload().unwrap()).unwrap();
            post["id"].as_u64().unwrap()
        })
        .collect()
}

pub fn high_watermark(bootstrap: &str, topic: &str) -> i64 {
    let consumer: BaseConsumer = common::client_config(bootstrap).create().unwrap();
    let high = consumer
        .fetch_watermarks(topic, 0, Duration::from_secs(10))
        .map(|(_, h)| h)
        .unwrap_or(0);
    common::close(consumer);
    high
}

/// Waits (polling, with a deadline) until `topic` holds at least `count` records.
pub async fn wait_for_count(bootstrap: &str, topic: &str, count: i64, timeout: Duration) {
    let (bs, t) = (bootstrap.to_owned(), topic.to_owned());
    tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + timeout;
        loop {
            let high = high_watermark(&bs, &t);
            if high >= count {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "'{t}' holds {high} of {count} records"
            );
            std::thread::sleep(common::wait::POLL_EVERY);
        }
    })
    .await
    .unwrap();
}

/// Waits until `topic` (partition 0) holds `count` records, reads them, and checks no more
/// arrived.
pub fn read_topic(
    bootstrap: &str,
    topic: &str,
    count: usize,
    timeout: Duration,
) -> Vec<OwnedMessage> {
    let deadline = Instant::now() + timeout;
    while high_watermark(bootstrap, topic) < count as i64 {
        assert!(
            Instant::now() < deadline,
            "'{topic}' holds {} of {count} records",
            high_watermark(bootstrap, topic)
        );
        std::thread::sleep(common::wait::POLL_EVERY);
    }
    let high = high_watermark(bootstrap, topic);
    let records = common::consume(
        bootstrap,
        topic,
        &[0],
        Offset::Beginning,
        (high as usize).max(count),
    );
    assert_eq!(
        high,
        count as i64,
        "more records than expected in '{topic}': {:?}",
        common::values(&records)
    );
    records
}

/// A standalone worker running one HttpFeedSource into its own topic.
pub struct Feed {
    pub worker: StandaloneWorker,
    pub name: String,
    pub topic: String,
    _dir: Option<tempfile::TempDir>,
}

fn map(pairs: &[(&str, &str)]) -> ConfigMap {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

impl Feed {
    pub async fn start(bootstrap: &str, url: &str, mode: &str, extra: &[(&str, &str)]) -> Feed {
        let dir = tempfile::tempdir().unwrap();
        let mut feed = Feed::start_in(dir.path(), bootstrap, url, mode, extra).await;
        feed._dir = Some(dir);
        feed
    }

    pub async fn start_in(
        dir: &Path,
        bootstrap: &str,
        url: &str,
        mode: &str,
        extra: &[(&str, &str)],
    ) -> Feed {
        let topic = common::unique("feed");
        common::create_topic(bootstrap, &topic, 1, &[]).await;
        Feed::start_named(dir, bootstrap, url, mode, &topic, extra).await
    }

    pub async fn start_named(
        dir: &Path,
        bootstrap: &str,
        url: &str,
        mode: &str,
        topic: &str,
        extra: &[(&str, &str)],
    ) -> Feed {
        let offsets = dir.join("connect.offsets").display().to_string();
        let worker = map(&[
            ("bootstrap.servers", bootstrap),
            ("offset.storage.file.filename", &offsets),
            ("offset.flush.interval.ms", "500"),
            (
                "key.converter",
                "org.apache.kafka.connect.json.JsonConverter",
            ),
            ("key.converter.schemas.enable", "false"),
            (
                "value.converter",
                "org.apache.kafka.connect.json.JsonConverter",
            ),
            ("value.converter.schemas.enable", "false"),
            ("listeners", "http://127.0.0.1:0"),
        ]);
        let name = format!("{topic}-source");
        let mut connector = map(&[
            ("name", &name),
            ("connector.class", "HttpFeedSource"),
            ("url", url),
            ("mode", mode),
            ("topic", topic),
            ("key.field", "user.id"),
            ("reconnect.backoff.ms", "20"),
            ("reconnect.backoff.max.ms", "200"),
            ("stall.timeout.ms", "2000"),
            ("poll.interval.ms", "100"),
        ]);
        for (k, v) in extra {
            connector.insert((*k).to_owned(), (*v).to_owned());
        }
        let worker = StandaloneWorker::start(worker, vec![connector])
            .await
            .unwrap();
        Feed {
            worker,
            name,
            topic: topic.to_owned(),
            _dir: None,
        }
    }

    /// `GET /connectors/<name>/status`.
    pub async fn status_json(&self) -> serde_json::Value {
        let url = format!("{}/connectors/{}/status", self.worker.rest_url(), self.name);
        reqwest::get(&url).await.unwrap().json().await.unwrap()
    }

    pub async fn status(&self) -> String {
        self.status_json().await.to_string()
    }

    /// Waits until the task is in `state`; its status.
    pub async fn wait_task_state(&self, state: &str) -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let status = self.status_json().await;
            if status["tasks"][0]["state"] == state {
                return status;
            }
            assert!(Instant::now() < deadline, "task never {state}: {status}");
            tokio::time::sleep(common::wait::POLL_EVERY).await;
        }
    }

    pub async fn stop(self) {
        self.worker.shutdown().await;
    }
}
