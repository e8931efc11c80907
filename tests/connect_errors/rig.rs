//! One test's Connect set-up: an embedded broker, a standalone worker in this process with
//! its REST API on `127.0.0.1:0`, a temp dir, and a reqwest client; plus a witness
//! connector whose data must keep moving whatever happens to the others.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use fjord_broker::EmbeddedBroker;
use fjord_connect::config::ConfigMap;
use fjord_connect::runtime::launch::StandaloneWorker;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, OwnedHeaders, OwnedMessage};
use rdkafka::producer::FutureRecord;
use rdkafka::Offset;
use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::common;

/// How long any expected state may take to show.
pub const DEADLINE: Duration = Duration::from_secs(60);
pub const SOURCE_CLASS: &str = "org.apache.kafka.connect.file.FileStreamSourceConnector";
pub const SINK_CLASS: &str = "org.apache.kafka.connect.file.FileStreamSinkConnector";
pub const JSON_CONVERTER: &str = "org.apache.kafka.connect.json.JsonConverter";
pub const STRING_CONVERTER: &str = "org.apache.kafka.connect.storage.StringConverter";

/// A record to produce: its value and its headers.
pub type Produced<'a> = (&'a [u8], &'a [(&'a str, &'a str)]);

pub struct Rig {
    pub broker: EmbeddedBroker,
    pub dir: tempfile::TempDir,
    pub worker: Option<StandaloneWorker>,
    pub base: String,
    http: reqwest::Client,
}

impl Rig {
    /// A broker and a standalone worker (StringConverter keys and values, offsets flushed
    /// every 200 ms) with no connector yet.
    pub async fn start() -> Rig {
        Rig::start_with(&[]).await
    }

    /// [`Rig::start`] with these worker keys set (later keys win).
    pub async fn start_with(extra: &[(&str, &str)]) -> Rig {
        let broker = common::broker().await;
        let dir = tempfile::tempdir().unwrap();
        let mut config: ConfigMap = [
            ("bootstrap.servers", broker.bootstrap_servers()),
            (
                "offset.storage.file.filename",
                dir.path().join("connect.offsets").display().to_string(),
            ),
            ("offset.flush.interval.ms", "200".to_owned()),
            ("key.converter", STRING_CONVERTER.to_owned()),
            ("value.converter", STRING_CONVERTER.to_owned()),
            ("listeners", "http://127.0.0.1:0".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        for (key, value) in extra {
            config.insert((*key).to_owned(), (*value).to_owned());
        }
        let worker = StandaloneWorker::start(config, Vec::new()).await.unwrap();
        let base = worker.rest_url();
        Rig {
            broker,
            dir,
            worker: Some(worker),
            base,
            http: reqwest::Client::new(),
        }
    }

    pub fn bootstrap(&self) -> String {
        self.broker.bootstrap_servers()
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A JSON request; the answer's status and body (`Null` when empty, a string when not
    /// JSON).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        read(request.send().await.unwrap()).await
    }

    /// A request with this body as it is, sent as `application/json`.
    pub async fn raw(&self, method: Method, path: &str, body: &'static str) -> (StatusCode, Value) {
        let response = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header(CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        read(response).await
    }

    /// `POST /connectors`; asserts 201.
    pub async fn create(&self, name: &str, config: Value) {
        let (status, body) = self
            .call(
                Method::POST,
                "/connectors",
                Some(json!({"name": name, "config": config})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "creating {name}: {body}");
    }

    pub async fn status(&self, name: &str) -> Value {
        let (code, body) = self
            .call(Method::GET, &format!("/connectors/{name}/status"), None)
            .await;
        assert_eq!(code, StatusCode::OK, "status of {name}: {body}");
        body
    }

    /// Polls until the connector's task 0 is in `state`; returns that task's status.
    pub async fn wait_task(&self, name: &str, state: &str) -> Value {
        let started = std::time::Instant::now();
        loop {
            let status = self.status(name).await;
            if status["tasks"][0]["state"] == state {
                return status["tasks"][0].clone();
            }
            assert!(
                started.elapsed() < DEADLINE,
                "task 0 of {name} never became {state}; last status {status}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Asserts the task stays in `state` (and the connector RUNNING) over a few polls.
    pub async fn assert_stays(&self, name: &str, state: &str) {
        for _ in 0..5 {
            let status = self.status(name).await;
            assert_eq!(status["connector"]["state"], "RUNNING", "{status}");
            assert_eq!(status["tasks"][0]["state"], state, "{status}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Produces `(value, headers)` records to partition 0 of `topic`, in order.
    pub async fn produce(&self, topic: &str, records: &[Produced<'_>]) {
        let producer = common::producer(&self.bootstrap(), &[]);
        for (value, headers) in records {
            let mut owned = OwnedHeaders::new();
            for (k, v) in *headers {
                owned = owned.insert(Header {
                    key: k,
                    value: Some(v.as_bytes()),
                });
            }
            let record: FutureRecord<'_, str, [u8]> = FutureRecord::to(topic)
                .partition(0)
                .key("k")
                .payload(*value)
                .headers(owned);
            producer
                .send(record, Duration::from_secs(10))
                .await
                .map_err(|(e, _)| e)
                .unwrap();
        }
    }

    /// Reads `count` records of partition 0 of `topic` from the start.
    pub async fn consume(&self, topic: &str, count: usize) -> Vec<OwnedMessage> {
        let bs = self.bootstrap();
        let topic = topic.to_owned();
        tokio::task::spawn_blocking(move || {
            common::consume(&bs, &topic, &[0], Offset::Beginning, count)
        })
        .await
        .unwrap()
    }

    /// The high watermark of partition 0 of `topic` (0 when it does not exist yet).
    pub async fn high_watermark(&self, topic: &str) -> i64 {
        let bs = self.bootstrap();
        let topic = topic.to_owned();
        tokio::task::spawn_blocking(move || {
            let consumer: BaseConsumer = common::client_config(&bs).create().unwrap();
            let high = consumer
                .fetch_watermarks(&topic, 0, Duration::from_secs(5))
                .map_or(0, |(_, high)| high);
            common::close(consumer);
            high
        })
        .await
        .unwrap()
    }

    /// Starts the witness: a file source from `witness.txt` into `witness`.
    pub async fn start_witness(&self) -> Witness {
        let file = self.path("witness.txt");
        std::fs::write(&file, "").unwrap();
        self.create(
            "witness",
            json!({"connector.class": SOURCE_CLASS, "file": file, "topic": "witness"}),
        )
        .await;
        self.wait_task("witness", "RUNNING").await;
        Witness { file, lines: 0 }
    }

    pub async fn stop(mut self) {
        if let Some(worker) = self.worker.take() {
            worker.shutdown().await;
        }
    }
}

/// The witness connector's state: lines written to its file so far.
pub struct Witness {
    file: PathBuf,
    lines: i64,
}

impl Witness {
    /// Appends a line and waits for it in the topic, with the connector still RUNNING:
    /// proof that whatever just happened left it alone.
    pub async fn still_moves(&mut self, rig: &Rig, after: &str) {
        append(&self.file, &[&format!("after {after}")]);
        self.lines += 1;
        let want = self.lines;
        common::eventually_async(
            &format!("the witness connector delivers its line after {after}"),
            DEADLINE,
            || async { rig.high_watermark("witness").await >= want },
        )
        .await;
        let status = rig.status("witness").await;
        assert_eq!(status["connector"]["state"], "RUNNING", "{status}");
        assert_eq!(status["tasks"][0]["state"], "RUNNING", "{status}");
    }
}

pub fn append(path: &Path, lines: &[&str]) {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    for line in lines {
        writeln!(file, "{line}").unwrap();
    }
    file.sync_all().unwrap();
}

pub fn read_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .map(|t| t.lines().map(str::to_owned).collect())
        .unwrap_or_default()
}

/// A header's value as text (`None` when absent).
pub fn header(message: &OwnedMessage, key: &str) -> Option<String> {
    use rdkafka::message::Headers;
    use rdkafka::Message;
    let headers = message.headers()?;
    headers
        .iter()
        .find(|h| h.key == key)
        .map(|h| String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned())
}

async fn read(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, body)
}
