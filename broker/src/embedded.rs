//! A broker inside the calling process, for tests and demos: binds `127.0.0.1:0`, stores its
//! data in a temporary directory (removed on drop) or a given one, and is ready as soon as
//! `start` returns.
//!
//! ```no_run
//! # async fn demo() -> Result<(), fjord_broker::BrokerError> {
//! let broker = fjord_broker::EmbeddedBroker::start(Default::default()).await?;
//! let bootstrap = broker.bootstrap_servers(); // "127.0.0.1:PORT" for any Kafka client
//! broker.shutdown().await;
//! # Ok(()) }
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crate::config::BrokerConfig;
use crate::error::BrokerError;
use crate::server::Broker;

/// Settings for an embedded broker; everything else takes Kafka's defaults.
#[derive(Debug, Clone)]
pub struct EmbeddedConfig {
    /// Data directory; `None` makes a temporary one that goes away with the broker.
    pub data_dir: Option<PathBuf>,
    /// Partitions for auto-created topics.
    pub num_partitions: i32,
    /// Create topics on first Metadata request.
    pub auto_create_topics: bool,
    /// Any further broker settings, as `server.properties` keys.
    pub properties: Vec<(String, String)>,
}

impl Default for EmbeddedConfig {
    fn default() -> Self {
        EmbeddedConfig {
            data_dir: None,
            num_partitions: 1,
            auto_create_topics: true,
            properties: Vec::new(),
        }
    }
}

/// A broker running in this process.
#[derive(Debug)]
pub struct EmbeddedBroker {
    broker: Broker,
    data_dir: PathBuf,
    _temp: Option<tempfile::TempDir>,
}

impl EmbeddedBroker {
    /// Starts a broker on an ephemeral loopback port.
    ///
    /// # Errors
    /// The data dir cannot be created or recovered, or a property is invalid.
    pub async fn start(config: EmbeddedConfig) -> Result<EmbeddedBroker, BrokerError> {
        let (temp, data_dir) = match config.data_dir {
            Some(dir) => (None, dir),
            None => {
                let t = tempfile::Builder::new()
                    .prefix("fjord-embedded-")
                    .tempdir()
                    .map_err(|e| BrokerError::storage(std::env::temp_dir(), e))?;
                let p = t.path().to_path_buf();
                (Some(t), p)
            }
        };
        let mut broker_config = BrokerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: data_dir.clone(),
            num_partitions: config.num_partitions,
            auto_create_topics: config.auto_create_topics,
            ..BrokerConfig::default()
        };
        broker_config.apply_properties(
            config
                .properties
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str())),
        )?;
        // The listener is always ephemeral loopback, whatever the properties said.
        broker_config.listen = SocketAddr::from(([127, 0, 0, 1], 0));
        broker_config.data_dir = data_dir.clone();
        let broker = Broker::start(broker_config).await?;
        Ok(EmbeddedBroker {
            broker,
            data_dir,
            _temp: temp,
        })
    }

    /// `127.0.0.1:PORT`, for `bootstrap.servers`.
    pub fn bootstrap_servers(&self) -> String {
        self.broker.bootstrap_servers()
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.broker.local_addr()
    }

    /// Where the data lives.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The running broker.
    pub fn broker(&self) -> &Broker {
        &self.broker
    }

    /// Shuts down gracefully (connections finish, logs are flushed); a temporary data dir is
    /// then removed.
    pub async fn shutdown(self) {
        self.broker.shutdown().await;
    }

    /// Shuts down but keeps the data dir (even a temporary one) and returns it, so a test can
    /// start a new broker on the same data.
    pub async fn shutdown_keep_data(self) -> (PathBuf, Option<tempfile::TempDir>) {
        self.broker.shutdown().await;
        (self.data_dir, self._temp)
    }
}
