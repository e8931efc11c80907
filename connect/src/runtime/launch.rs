//! Starting a standalone worker: its config, its offsets file, its connectors from files,
//! and the REST API; what `fjord connect standalone` and `fjord dev` run.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use fjord_core::config::Properties;
use rdkafka::consumer::{BaseConsumer, Consumer};
use serde_json::Value as Json;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::offsets::{FileOffsetStore, OffsetStore};
use super::standalone::StandaloneHerder;
use super::status::StatusBoard;
use super::worker::Worker;
use super::worker_config::WorkerConfig;
use crate::config::{from_properties, ConfigMap};
use crate::error::{ConnectError, Result};
use crate::herder::{Herder, HerderError};

/// Reads a connector config file: a `.properties` file, or JSON as the REST API takes it
/// (`{"name": ..., "config": {...}}`) or a flat JSON object of keys.
///
/// # Errors
/// An unreadable file or one in neither format (the message names the file).
pub fn load_connector_file(path: &Path) -> Result<ConfigMap> {
    let is_json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    if !is_json {
        return Ok(from_properties(&Properties::from_path(path)?));
    }
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConnectError::io(
            format!("cannot read connector config {}", path.display()),
            e,
        )
    })?;
    let bad = |why: String| ConnectError::Config(format!("{}: {why}", path.display()));
    let json: Json = serde_json::from_str(&text).map_err(|e| bad(format!("not JSON: {e}")))?;
    let object = json
        .as_object()
        .ok_or_else(|| bad("expected a JSON object".into()))?;
    let (name, config) = match object.get("config") {
        Some(Json::Object(config)) => (
            object.get("name").and_then(Json::as_str).map(str::to_owned),
            config,
        ),
        Some(_) => return Err(bad("\"config\" must be an object of string values".into())),
        None => (None, object),
    };
    let mut map = ConfigMap::new();
    for (key, value) in config {
        let value = match value {
            Json::String(s) => s.clone(),
            Json::Number(n) => n.to_string(),
            Json::Bool(b) => b.to_string(),
            other => return Err(bad(format!("\"{key}\": expected a string, got {other}"))),
        };
        map.insert(key.clone(), value);
    }
    if let Some(name) = name {
        map.entry("name".into()).or_insert(name);
    }
    Ok(map)
}

/// The Kafka cluster id, for `GET /`: looked up on first use (not at start, where it would
/// cost a broker round trip before the worker is ready), then kept; an unanswered lookup is
/// tried again at the next request.
pub struct ClusterId {
    settings: fjord_core::client::ClientSettings,
    // A tokio mutex: held across the lookup, so concurrent first requests make one.
    known: tokio::sync::Mutex<Option<String>>,
}

impl ClusterId {
    /// A cluster id of the cluster `worker` uses, `known` already or looked up when asked.
    pub fn new(worker: &WorkerConfig, known: Option<String>) -> Self {
        Self {
            settings: worker.client_settings("admin"),
            known: tokio::sync::Mutex::new(known),
        }
    }

    /// The id (`None` when the cluster does not answer within 2 s).
    pub async fn get(&self) -> Option<String> {
        let mut known = self.known.lock().await;
        if known.is_none() {
            let config = self.settings.consumer_config(None);
            *known = tokio::task::spawn_blocking(move || {
                let consumer: BaseConsumer = config.create().ok()?;
                consumer.client().fetch_cluster_id(Duration::from_secs(2))
            })
            .await
            .ok()
            .flatten();
        }
        known.clone()
    }
}

/// Binds the REST listener; returns it, its address and the worker id (`host:port`, the
/// advertised one when set) statuses name this worker by.
///
/// # Errors
/// The address is in use or invalid.
pub async fn bind_rest(config: &WorkerConfig) -> Result<(TcpListener, SocketAddr, String)> {
    let listener = TcpListener::bind(&config.rest_listen).await.map_err(|e| {
        ConnectError::io(
            format!("cannot listen for the REST API on {}", config.rest_listen),
            e,
        )
    })?;
    let rest_addr = listener
        .local_addr()
        .map_err(|e| ConnectError::io("REST listener address", e))?;
    let worker_id = config.rest_advertised.clone().unwrap_or_else(|| {
        let host = if rest_addr.ip().is_unspecified() {
            "localhost".to_owned()
        } else {
            rest_addr.ip().to_string()
        };
        format!("{host}:{}", rest_addr.port())
    });
    Ok((listener, rest_addr, worker_id))
}

/// A running standalone worker.
pub struct StandaloneWorker {
    herder: Arc<StandaloneHerder>,
    rest_addr: SocketAddr,
    shutdown: CancellationToken,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl StandaloneWorker {
    /// Starts a worker: opens its offsets file, binds the REST listener, creates the
    /// connectors (each config validated; a bad one stops the start with every error).
    ///
    /// # Errors
    /// A bad worker config, an unreadable offsets file, a REST port in use, or an invalid
    /// connector config.
    pub async fn start(worker_config: ConfigMap, connectors: Vec<ConfigMap>) -> Result<Self> {
        let config = WorkerConfig::parse(worker_config)?;
        let offsets_file = config.offsets_file.clone().ok_or_else(|| {
            ConnectError::Config(
                "offset.storage.file.filename is required in standalone mode (e.g. /tmp/connect.offsets)".into(),
            )
        })?;
        let offsets: Arc<dyn OffsetStore> = Arc::new(FileOffsetStore::open(offsets_file)?);
        let (listener, rest_addr, worker_id) = bind_rest(&config).await?;
        let config = Arc::new(config);
        let status = Arc::new(StatusBoard::new(worker_id));
        let worker = Arc::new(Worker::new(config, offsets, status));
        let herder = Arc::new(StandaloneHerder::new(worker, None));
        for connector in connectors {
            let name = connector.get("name").cloned().unwrap_or_default();
            if name.trim().is_empty() {
                return Err(ConnectError::Config(
                    "a connector config has no \"name\"".into(),
                ));
            }
            herder
                .put_connector_config(&name, connector, false, None)
                .await
                .map_err(|e| match e {
                    HerderError::BadRequest(m) | HerderError::Conflict(m) => {
                        ConnectError::Config(format!("connector '{name}': {m}"))
                    }
                    other => ConnectError::Other(format!("connector '{name}': {other}")),
                })?;
        }
        let shutdown = CancellationToken::new();
        let server = tokio::spawn(crate::rest::serve(
            listener,
            Arc::clone(&herder) as Arc<dyn Herder>,
            shutdown.clone(),
        ));
        Ok(Self {
            herder,
            rest_addr,
            shutdown,
            server,
        })
    }

    /// The REST API's base URL.
    pub fn rest_url(&self) -> String {
        format!("http://{}", self.rest_addr)
    }

    /// The REST listener's address.
    pub fn rest_addr(&self) -> SocketAddr {
        self.rest_addr
    }

    /// The herder.
    pub fn herder(&self) -> &Arc<StandaloneHerder> {
        &self.herder
    }

    /// Stops the REST API and every task (each commits its offsets first).
    pub async fn shutdown(self) {
        self.shutdown.cancel();
        self.herder.shutdown().await;
        match self.server.await {
            Ok(Err(e)) => tracing::warn!("REST API: {e}"),
            Err(e) => tracing::warn!("REST API task: {e}"),
            Ok(Ok(())) => {}
        }
    }
}
