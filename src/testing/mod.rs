//! The embedded test kit: a whole Fjord cluster (broker, schema registry and a standalone
//! Connect worker) inside the test's own process, on ephemeral loopback ports, ready in
//! tens of milliseconds, with helpers to create topics, produce and consume typed records
//! (JSON or Avro through the registry) and wait for a condition under a deadline.
//!
//! This is the fast path for integration tests of streaming apps: no container to pull or
//! start, every test its own cluster, so tests run in parallel. The parts talk to each other
//! as they would across machines (the registry and Connect reach the broker through rdkafka
//! over TCP), so what passes here passes against a real cluster.
//! [`container`] is the familiar path: the same platform in the `fjord:dev` image, through
//! the `testcontainers` crate.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use std::time::Duration;
//! use fjord::testing::{json, TestCluster};
//!
//! #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
//! struct Sale { product: String, quantity: i64 }
//!
//! let cluster = TestCluster::start().await?;
//! cluster.create_topic("sales", 3).await?;
//! let serde = json::<Sale>();
//! let sale = Sale { product: "apples".into(), quantity: 3 };
//! cluster.produce("sales", &serde, Some("apples"), sale).await?;
//! let got = cluster.consume("sales", &serde, 1, Duration::from_secs(10)).await?;
//! assert_eq!(got[0].value.quantity, 3);
//! cluster.shutdown().await;
//! # Ok(()) }
//! ```

pub mod container;
mod records;
mod wait;

#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use fjord_broker::{EmbeddedBroker, EmbeddedConfig};
use fjord_connect::config::ConfigMap;
use fjord_connect::runtime::launch::StandaloneWorker;
use fjord_core::format::avro::{AvroConfig, AvroSerde, RegistryClient};
use fjord_core::{ClientSettings, NewTopicSpec, TopicAdmin};
use fjord_registry::{Registry, RegistryConfig};
use rdkafka::producer::FutureProducer;

pub use records::{json, Record, RecordSerde};
pub use wait::{wait_for, wait_until};

/// What a [`TestCluster`] runs beside its broker.
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// The broker's settings (data dir, partitions of auto-created topics, properties).
    pub broker: EmbeddedConfig,
    /// Run a schema registry (its state in the broker's `_schemas` topic).
    pub registry: bool,
    /// Run a standalone Connect worker (REST on an ephemeral port).
    pub connect: bool,
    /// Worker settings over the kit's defaults (Kafka's standalone file: JsonConverter with
    /// schemas; offsets in the cluster's directory, flushed every second).
    pub worker: ConfigMap,
    /// Connectors the worker starts with (each with a `name`); more can be created through
    /// the REST API at [`TestCluster::connect_url`].
    pub connectors: Vec<ConfigMap>,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions {
            broker: EmbeddedConfig::default(),
            registry: true,
            connect: true,
            worker: ConfigMap::new(),
            connectors: Vec::new(),
        }
    }
}

/// An in-process cluster: broker, registry and Connect worker on ephemeral loopback ports.
/// Dropping it stops nothing gracefully; call [`TestCluster::shutdown`].
pub struct TestCluster {
    broker: EmbeddedBroker,
    registry: Option<Registry>,
    connect: Option<StandaloneWorker>,
    settings: ClientSettings,
    producer: FutureProducer,
    dir: tempfile::TempDir,
}

impl std::fmt::Debug for TestCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCluster")
            .field("bootstrap_servers", &self.bootstrap_servers())
            .field("registry_url", &self.registry_url())
            .field("connect_url", &self.connect_url())
            .finish_non_exhaustive()
    }
}

impl TestCluster {
    /// Starts a broker, a registry and a Connect worker with the defaults.
    ///
    /// # Errors
    /// A part cannot start (see [`TestCluster::start_with`]).
    pub async fn start() -> anyhow::Result<TestCluster> {
        TestCluster::start_with(ClusterOptions::default()).await
    }

    /// Starts the parts `options` asks for; returns once each one serves.
    ///
    /// # Errors
    /// The broker's data dir or properties are unusable, the registry cannot replay its topic,
    /// or the worker's settings or a connector config are invalid.
    pub async fn start_with(options: ClusterOptions) -> anyhow::Result<TestCluster> {
        let dir = tempfile::Builder::new()
            .prefix("fjord-test-cluster-")
            .tempdir()
            .context("cannot make the test cluster's directory")?;
        let broker = EmbeddedBroker::start(options.broker)
            .await
            .context("the embedded broker did not start")?;
        let bootstrap = broker.bootstrap_servers();
        let settings = ClientSettings::new(bootstrap.clone()).set("broker.address.family", "v4");
        let registry = async {
            if !options.registry {
                return Ok(None);
            }
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .context("cannot bind the registry's port")?;
            let mut config = RegistryConfig::new(bootstrap.clone());
            config.kafka = settings.clone();
            Registry::start(config, listener)
                .await
                .map(Some)
                .context("the schema registry did not start")
        };
        let connect = async {
            if !options.connect {
                return Ok(None);
            }
            let worker = worker_config(&bootstrap, dir.path(), options.worker);
            StandaloneWorker::start(worker, options.connectors)
                .await
                .map(Some)
                .context("the Connect worker did not start")
        };
        let (registry, connect) = tokio::join!(registry, connect);
        let (registry, connect) = match (registry, connect) {
            (Ok(r), Ok(c)) => (r, c),
            (r, c) => {
                let error = r
                    .as_ref()
                    .err()
                    .or(c.as_ref().err())
                    .map(|e| format!("{e:#}"));
                if let Ok(Some(r)) = r {
                    r.shutdown().await;
                }
                if let Ok(Some(c)) = c {
                    c.shutdown().await;
                }
                broker.shutdown().await;
                anyhow::bail!("{}", error.unwrap_or_default());
            }
        };
        let producer = settings
            .producer_config()
            .set("linger.ms", "0")
            .create()
            .context("cannot create the kit's producer")?;
        Ok(TestCluster {
            broker,
            registry,
            connect,
            settings,
            producer,
            dir,
        })
    }

    /// `127.0.0.1:PORT`, for `bootstrap.servers`.
    pub fn bootstrap_servers(&self) -> String {
        self.broker.bootstrap_servers()
    }

    /// The registry's base URL (`schema.registry.url`), when it runs.
    pub fn registry_url(&self) -> Option<&str> {
        self.registry.as_ref().map(Registry::url)
    }

    /// The Connect REST API's base URL, when the worker runs.
    pub fn connect_url(&self) -> Option<String> {
        self.connect.as_ref().map(StandaloneWorker::rest_url)
    }

    /// Client settings for this cluster (loopback over IPv4), to build more clients from.
    pub fn client_settings(&self) -> ClientSettings {
        self.settings.clone()
    }

    /// The embedded broker (its data dir, its state).
    pub fn broker(&self) -> &EmbeddedBroker {
        &self.broker
    }

    /// The Connect worker, when it runs.
    pub fn connect(&self) -> Option<&StandaloneWorker> {
        self.connect.as_ref()
    }

    /// A scratch directory that lives as long as the cluster (input and output files of
    /// connectors, state dirs of Streams apps). The worker's offsets file is in it.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Creates a topic with `partitions` partitions; returns once the broker has it.
    ///
    /// # Errors
    /// The topic exists, or the broker refuses it.
    pub async fn create_topic(&self, name: &str, partitions: i32) -> anyhow::Result<()> {
        let mut spec = NewTopicSpec::new(name);
        spec.partitions = Some(partitions);
        TopicAdmin::new(&self.settings)?
            .create(&spec)
            .await
            .with_context(|| format!("creating topic '{name}'"))
    }

    /// An Avro serde of `T` with `schema` (Avro JSON), registering it under the topic's
    /// subject on first use, in Confluent's wire format.
    ///
    /// # Errors
    /// The cluster runs no registry, or the schema does not parse.
    pub fn avro<T>(&self, schema: &str) -> anyhow::Result<RecordSerde<T>>
    where
        T: serde::Serialize + serde::de::DeserializeOwned + 'static,
    {
        let url = self
            .registry_url()
            .context("this test cluster runs no schema registry (ClusterOptions::registry)")?;
        let client = RegistryClient::new(url)?;
        Ok(Arc::new(AvroSerde::<T>::new(
            client,
            schema,
            AvroConfig::default(),
        )?))
    }

    /// Stops the worker (tasks commit their offsets), the registry and the broker.
    pub async fn shutdown(self) {
        if let Some(connect) = self.connect {
            connect.shutdown().await;
        }
        if let Some(registry) = self.registry {
            registry.shutdown().await;
        }
        drop(self.producer);
        self.broker.shutdown().await;
    }
}

/// The kit's worker settings: Kafka's standalone defaults, a loopback REST port picked by
/// the system, offsets in `dir`, then the caller's `overrides`.
fn worker_config(bootstrap: &str, dir: &Path, overrides: ConfigMap) -> ConfigMap {
    let mut config = ConfigMap::new();
    let defaults = [
        ("bootstrap.servers", bootstrap.to_owned()),
        ("listeners", "http://127.0.0.1:0".to_owned()),
        (
            "key.converter",
            "org.apache.kafka.connect.json.JsonConverter".to_owned(),
        ),
        (
            "value.converter",
            "org.apache.kafka.connect.json.JsonConverter".to_owned(),
        ),
        (
            "offset.storage.file.filename",
            dir.join("connect.offsets").display().to_string(),
        ),
        ("offset.flush.interval.ms", "1000".to_owned()),
        // Sinks see topics created after they started within a second (librdkafka: 5 min).
        (
            "consumer.topic.metadata.refresh.interval.ms",
            "1000".to_owned(),
        ),
    ];
    for (key, value) in defaults {
        config.insert(key.to_owned(), value);
    }
    config.extend(overrides);
    config
}
