//! Fjord's schema registry: Confluent Schema Registry's REST API (paths,
//! JSON shapes, error codes), a client of any Kafka cluster that keeps all
//! of its state in one compacted topic (`_schemas`, in Confluent's record
//! format) and never uses broker internals.
//!
//! A schema's way through it:
//! ```text
//! client ─ HTTP ─> routes/ ─> schema (parse, canonical text) ─> compat (levels, Avro resolution)
//!   ─> store::Store::write: a record to `_schemas` (rdkafka, acks=all, idempotent)
//!   ─> the store's reader task applies it ─> the answer, once applied (read-your-writes)
//! ```
//! On start the store replays `_schemas` before the listener serves. Several
//! instances can share a cluster: one writer is elected through a Kafka
//! consumer group and the others forward writes to it ([`leader`]).
//!
//! Schema types: Avro (apache-avro; canonical text, references,
//! `normalize`), JSON Schema (a structural compatibility subset, see
//! [`compat::json`]); Protobuf answers 42201 "not supported".
//!
//! ```no_run
//! # async fn demo() -> Result<(), fjord_registry::RegistryError> {
//! use fjord_registry::{Registry, RegistryConfig};
//!
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8081").await?;
//! let registry = Registry::start(RegistryConfig::new("127.0.0.1:9092"), listener).await?;
//! println!("schema registry at {}", registry.url());
//! registry.shutdown().await;
//! # Ok(()) }
//! ```

pub mod compat;
pub mod error;
pub mod leader;
pub mod routes;
pub mod schema;
pub mod store;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use fjord_core::ClientSettings;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use compat::Level;
pub use error::{ApiError, RegistryError};

/// The default topic, as Confluent's `kafkastore.topic`.
pub const DEFAULT_TOPIC: &str = "_schemas";
/// The default writer-election group.
pub const DEFAULT_GROUP: &str = "fjord-schema-registry";

/// How to run a registry.
#[derive(Clone, Debug)]
pub struct RegistryConfig {
    /// The Kafka cluster holding the state, and any librdkafka overrides
    /// (security settings, ...).
    pub kafka: ClientSettings,
    /// The state topic (`kafkastore.topic`).
    pub topic: String,
    /// Replication factor when the topic is created; `None`: the broker's default.
    pub replication_factor: Option<i32>,
    /// The consumer group that elects the writer among instances.
    pub group_id: String,
    /// The URL other instances use to forward writes here; `None`: derived
    /// from the listener (`http://IP:PORT`, 127.0.0.1 for an unspecified IP).
    pub advertised_url: Option<String>,
    /// The compatibility level when none is configured (Confluent: BACKWARD).
    pub default_level: Level,
    /// How long a write, a forwarded write or the start-up replay may take.
    pub timeout: Duration,
}

impl RegistryConfig {
    /// Defaults for a cluster at `bootstrap_servers`.
    pub fn new(bootstrap_servers: impl Into<String>) -> Self {
        RegistryConfig {
            kafka: ClientSettings::new(bootstrap_servers),
            topic: DEFAULT_TOPIC.to_owned(),
            replication_factor: None,
            group_id: DEFAULT_GROUP.to_owned(),
            advertised_url: None,
            default_level: Level::DEFAULT,
            timeout: Duration::from_secs(30),
        }
    }
}

/// A running registry.
#[derive(Debug)]
pub struct Registry {
    url: String,
    addr: SocketAddr,
    shutdown: CancellationToken,
    tracker: TaskTracker,
    role: tokio::sync::watch::Receiver<leader::Role>,
}

impl Registry {
    /// Replays the state topic (creating it if missing), joins the writer
    /// election and serves the API on `listener`; returns once it serves.
    ///
    /// # Errors
    /// The cluster is unreachable or refuses the topic, or the replay times out.
    pub async fn start(
        config: RegistryConfig,
        listener: tokio::net::TcpListener,
    ) -> Result<Registry, RegistryError> {
        let addr = listener.local_addr()?;
        let url = config.advertised_url.clone().unwrap_or_else(|| {
            let ip = if addr.ip().is_unspecified() {
                std::net::IpAddr::from([127, 0, 0, 1])
            } else {
                addr.ip()
            };
            format!("http://{}", SocketAddr::new(ip, addr.port()))
        });
        let shutdown = CancellationToken::new();
        let tracker = TaskTracker::new();
        let store = store::Store::open(
            &config.kafka,
            &config.topic,
            config.replication_factor,
            config.timeout,
            &tracker,
            shutdown.clone(),
        )
        .await?;
        let role = leader::start(
            &config.kafka,
            &config.topic,
            &config.group_id,
            url.clone(),
            Arc::clone(&store),
            &tracker,
            shutdown.clone(),
        )?;
        let app = Arc::new(routes::App {
            store,
            role: role.clone(),
            url: url.clone(),
            http: reqwest::Client::new(),
            default_level: config.default_level,
            timeout: config.timeout,
        });
        let router = routes::router(app);
        let stop = shutdown.clone();
        tracker.spawn(async move {
            let served = axum::serve(listener, router)
                .with_graceful_shutdown(async move { stop.cancelled().await })
                .await;
            if let Err(e) = served {
                tracing::error!("schema registry HTTP server: {e}");
            }
        });
        tracker.close();
        tracing::info!(%url, topic = %config.topic, "schema registry serving");
        Ok(Registry {
            url,
            addr,
            shutdown,
            tracker,
            role,
        })
    }

    /// This instance's current role in the single-writer rule.
    pub fn role(&self) -> leader::Role {
        *self.role.borrow()
    }

    /// The base URL clients use (`schema.registry.url`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops serving, leaves the writer election (another instance takes
    /// over) and waits for every task.
    pub async fn shutdown(self) {
        self.shutdown.cancel();
        self.tracker.wait().await;
    }
}

/// Runs a registry on `listener` until `shutdown` is cancelled.
///
/// # Errors
/// As [`Registry::start`].
///
/// # Cancel safety
/// Cancel `shutdown` rather than dropping the future, so the registry
/// leaves the writer election cleanly.
pub async fn serve(
    config: RegistryConfig,
    listener: tokio::net::TcpListener,
    shutdown: CancellationToken,
) -> Result<(), RegistryError> {
    let registry = Registry::start(config, listener).await?;
    shutdown.cancelled().await;
    registry.shutdown().await;
    Ok(())
}
