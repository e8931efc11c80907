//! The API over real HTTP: [`super::serve`] on `127.0.0.1:0`, a reqwest client, and a herder
//! kept in memory ([`herder::MemoryHerder`]); the end-to-end suite against the real workers
//! is `connect/tests/rest_api.rs`.

mod endpoints;
mod errors;
mod forwarding;
mod herder;

use std::net::SocketAddr;
use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use herder::{MemoryHerder, Mode};

/// A running server.
struct Server {
    addr: SocketAddr,
    herder: Arc<MemoryHerder>,
    client: reqwest::Client,
    shutdown: CancellationToken,
    task: JoinHandle<std::io::Result<()>>,
}

impl Server {
    async fn start(mode: Mode) -> Server {
        Self::start_with(|_| mode).await
    }

    /// Starts a server whose herder's mode may depend on the server's own address.
    async fn start_with(mode: impl FnOnce(SocketAddr) -> Mode) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let herder = Arc::new(MemoryHerder::new(mode(addr)));
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(super::serve(listener, herder.clone(), shutdown.clone()));
        Server {
            addr,
            herder,
            client: reqwest::Client::new(),
            shutdown,
            task,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Sends a request (with a JSON body when `body` is given); returns the status, the
    /// headers and the body parsed as JSON (`Null` when empty).
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let mut request = self.client.request(method, self.url(path));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{status} body is not JSON ({e}): {text}"))
        };
        (status, headers, value)
    }

    async fn stop(self) {
        self.shutdown.cancel();
        self.task.await.unwrap().unwrap();
    }
}

/// A valid connector config for the memory herder.
fn sink_config() -> Value {
    json!({"connector.class": "FileStreamSink", "file": "/tmp/out.txt", "tasks.max": "1"})
}

/// Creates `name` through the API.
async fn create(server: &Server, name: &str) {
    let (status, _, body) = server
        .call(
            Method::POST,
            "/connectors",
            Some(json!({"name": name, "config": sink_config()})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

/// Asserts Kafka's error body.
fn assert_error(status: StatusCode, body: &Value, expected: StatusCode, message: &str) {
    assert_eq!(status, expected, "{body}");
    assert_eq!(body["error_code"], json!(expected.as_u16()), "{body}");
    let text = body["message"].as_str().unwrap_or_default();
    assert!(text.contains(message), "{text:?} lacks {message:?}");
}
