//! Kafka Connect's REST API end to end: a standalone worker (the real herder, worker, offsets
//! file and file connectors) against an embedded broker, driven over HTTP by reqwest exactly
//! as `curl` against Kafka Connect would: every endpoint, Kafka's status codes and bodies,
//! and the data actually moving (a file source into a topic, the topic into a file sink).
//! Leader forwarding runs two real servers: a follower that refuses with NotLeader in front
//! of the standalone worker.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fjord_broker::embedded::{EmbeddedBroker, EmbeddedConfig};
use fjord_connect::config::ConfigMap;
use fjord_connect::runtime::offsets::{FileOffsetStore, OffsetStore};
use fjord_connect::runtime::standalone::StandaloneHerder;
use fjord_connect::runtime::status::StatusBoard;
use fjord_connect::runtime::worker::Worker;
use fjord_connect::runtime::worker_config::WorkerConfig;
use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

const DEADLINE: Duration = Duration::from_secs(30);
const SOURCE_CLASS: &str = "org.apache.kafka.connect.file.FileStreamSourceConnector";
const SINK_CLASS: &str = "org.apache.kafka.connect.file.FileStreamSinkConnector";

/// A standalone worker serving the REST API on `127.0.0.1:0`, over its own embedded broker.
struct Connect {
    base: String,
    client: reqwest::Client,
    dir: tempfile::TempDir,
    herder: Arc<StandaloneHerder>,
    shutdown: CancellationToken,
    server: JoinHandle<std::io::Result<()>>,
    _broker: EmbeddedBroker,
}

impl Connect {
    async fn start() -> Connect {
        let broker = EmbeddedBroker::start(EmbeddedConfig::default())
            .await
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let offsets_file = dir.path().join("connect.offsets");
        let config: ConfigMap = [
            ("bootstrap.servers", broker.bootstrap_servers()),
            (
                "offset.storage.file.filename",
                offsets_file.display().to_string(),
            ),
            ("offset.flush.interval.ms", "100".to_owned()),
            (
                "key.converter",
                "org.apache.kafka.connect.storage.StringConverter".to_owned(),
            ),
            (
                "value.converter",
                "org.apache.kafka.connect.storage.StringConverter".to_owned(),
            ),
            ("consumer.auto.offset.reset", "earliest".to_owned()),
            ("listeners", format!("http://{addr}")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let config = Arc::new(WorkerConfig::parse(config).unwrap());
        let offsets: Arc<dyn OffsetStore> = Arc::new(FileOffsetStore::open(offsets_file).unwrap());
        let status = Arc::new(StatusBoard::new(addr.to_string()));
        let worker = Arc::new(Worker::new(config, offsets, status));
        let herder = Arc::new(StandaloneHerder::new(worker, Some("fjord-test".to_owned())));
        let shutdown = CancellationToken::new();
        let server = tokio::spawn(fjord_connect::rest::serve(
            listener,
            herder.clone(),
            shutdown.clone(),
        ));
        Connect {
            base: format!("http://{addr}"),
            client: reqwest::Client::new(),
            dir,
            herder,
            shutdown,
            server,
            _broker: broker,
        }
    }

    fn path(&self, file: &str) -> PathBuf {
        self.dir.path().join(file)
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        call(&self.client, &format!("{}{path}", self.base), method, body).await
    }

    /// Sends a body as it is, with this content type.
    async fn raw(
        &self,
        method: Method,
        path: &str,
        content_type: &str,
        body: &'static str,
    ) -> Reply {
        let response = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header(CONTENT_TYPE, content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        Reply::read(response).await
    }

    /// Creates a connector with `POST /connectors`; 201 expected.
    async fn create(&self, name: &str, config: Value) -> Reply {
        let reply = self
            .call(
                Method::POST,
                "/connectors",
                Some(json!({"name": name, "config": config})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        reply
    }

    /// Polls `GET /connectors/{name}/status` until the connector and every task are in
    /// `state` (and there are `tasks` tasks).
    async fn wait_state(&self, name: &str, state: &str, tasks: usize) -> Value {
        let path = format!("/connectors/{name}/status");
        wait_for(&format!("{name} {state} with {tasks} tasks"), || async {
            let reply = self.call(Method::GET, &path, None).await;
            let body = reply.body;
            let all = body["connector"]["state"] == state
                && body["tasks"].as_array().is_some_and(|t| {
                    t.len() == tasks && t.iter().all(|task| task["state"] == state)
                });
            all.then_some(body)
        })
        .await
    }

    async fn stop(self) {
        self.shutdown.cancel();
        self.herder.shutdown().await;
        self.server.await.unwrap().unwrap();
    }
}

/// An answer: status, headers, body as JSON (`Null` when empty).
struct Reply {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Reply {
    async fn read(response: reqwest::Response) -> Reply {
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            assert!(
                headers[CONTENT_TYPE]
                    .to_str()
                    .unwrap()
                    .starts_with("application/json"),
                "{status}: not JSON: {text}"
            );
            serde_json::from_str(&text).unwrap()
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    /// Asserts Kafka's error answer: this status, `error_code` equal to it, and a message
    /// containing `message`.
    fn assert_error(&self, status: StatusCode, message: &str) {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(
            self.body["error_code"],
            json!(status.as_u16()),
            "{}",
            self.body
        );
        let text = self.body["message"].as_str().unwrap();
        assert!(text.contains(message), "{text:?} lacks {message:?}");
    }
}

async fn call(client: &reqwest::Client, url: &str, method: Method, body: Option<Value>) -> Reply {
    let mut request = client.request(method, url);
    if let Some(body) = body {
        request = request.json(&body);
    }
    Reply::read(request.send().await.unwrap()).await
}

/// Polls `probe` until it answers `Some`, or fails the test at the deadline.
async fn wait_for<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the file holds exactly these lines.
async fn wait_lines(path: &Path, expected: &[&str]) {
    wait_for(
        &format!("{} to hold {expected:?}", path.display()),
        || async {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            (lines == expected).then_some(())
        },
    )
    .await;
}

fn append(path: &Path, lines: &[&str]) {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    for line in lines {
        writeln!(file, "{line}").unwrap();
    }
}

fn source_config(file: &Path, topic: &str) -> Value {
    json!({"connector.class": SOURCE_CLASS, "tasks.max": "1",
           "file": file.display().to_string(), "topic": topic})
}

fn sink_config(file: &Path, topic: &str) -> Value {
    json!({"connector.class": SINK_CLASS, "tasks.max": "1",
           "file": file.display().to_string(), "topics": topic})
}

#[path = "rest_api/config.rs"]
mod config;
#[path = "rest_api/errors.rs"]
mod errors;
#[path = "rest_api/forwarding.rs"]
mod forwarding;
#[path = "rest_api/lifecycle.rs"]
mod lifecycle;
