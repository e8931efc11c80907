//! A registry on an embedded broker, and a small HTTP client for the tests.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use fjord_broker::embedded::{EmbeddedBroker, EmbeddedConfig};
use fjord_registry::{Registry, RegistryConfig};
use serde_json::Value;

/// Starts a broker with default settings.
pub async fn broker() -> EmbeddedBroker {
    EmbeddedBroker::start(EmbeddedConfig::default())
        .await
        .unwrap()
}

/// Starts a registry on `bootstrap` with a fresh loopback port.
pub async fn registry(bootstrap: &str) -> Registry {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut config = RegistryConfig::new(bootstrap);
    config.timeout = Duration::from_secs(20);
    Registry::start(config, listener).await.unwrap()
}

/// The status and JSON body of a request.
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

impl Answer {
    /// The Confluent error code, or 0.
    pub fn code(&self) -> u64 {
        self.body["error_code"].as_u64().unwrap_or(0)
    }
}

/// A client of one registry.
#[derive(Clone)]
pub struct Client {
    pub base: String,
    http: reqwest::Client,
}

impl Client {
    pub fn new(base: &str) -> Self {
        Client {
            base: base.trim_end_matches('/').to_owned(),
            http: reqwest::Client::new(),
        }
    }

    pub async fn send(&self, method: &str, path: &str, body: Option<Value>) -> Answer {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request
                .header("content-type", "application/vnd.schemaregistry.v1+json")
                .body(body.to_string());
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Answer { status, body }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send("GET", path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.send("POST", path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Answer {
        self.send("PUT", path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Answer {
        self.send("DELETE", path, None).await
    }

    /// Registers an Avro schema; panics unless it succeeds; the id.
    pub async fn register(&self, subject: &str, schema: &str) -> i64 {
        let answer = self
            .post(
                &format!("/subjects/{subject}/versions"),
                serde_json::json!({"schema": schema}),
            )
            .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        answer.body["id"].as_i64().unwrap()
    }
}

/// Polls `check` until it returns true or `timeout` passes.
pub async fn eventually<F, Fut>(timeout: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if check().await {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// An Avro record schema named `sale` with these fields (JSON text).
pub fn sale(fields: &str) -> String {
    format!(r#"{{"type":"record","name":"sale","namespace":"shop","fields":[{fields}]}}"#)
}
