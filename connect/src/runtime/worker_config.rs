//! A worker's config: Kafka Connect's worker keys, from `connect-standalone.properties` or
//! `connect-distributed.properties`.
//!
//! Client keys are passed on: `producer.*`, `consumer.*` and `admin.*` go to that client
//! (prefix removed); top-level client keys Kafka's workers share (`security.protocol`,
//! `sasl.*`, `ssl.*`, `client.id`) go to every client. Keys of the JVM world that have no
//! meaning here (`plugin.path`, `plugin.discovery`) are accepted and logged.

use std::path::PathBuf;
use std::time::Duration;

use fjord_core::client::ClientSettings;

use crate::config::{split_list, with_prefix, ConfigMap};
use crate::error::{ConnectError, Result};

/// The default REST port, as Kafka's.
pub const DEFAULT_REST_PORT: u16 = 8083;

/// Keys of Kafka's worker config that Fjord accepts without acting on them.
const IGNORED_KEYS: &[&str] = &["plugin.path", "plugin.discovery", "config.providers"];

/// Top-level keys that every client of the worker gets.
const SHARED_CLIENT_PREFIXES: &[&str] =
    &["security.protocol", "sasl.", "ssl.", "client.dns.lookup"];

/// Settings of the distributed mode.
#[derive(Debug, Clone, PartialEq)]
pub struct DistributedSettings {
    /// The Connect cluster's group id (`group.id`).
    pub group_id: String,
    /// Where connector configs live (`config.storage.topic`).
    pub config_topic: String,
    /// Where source offsets live (`offset.storage.topic`).
    pub offset_topic: String,
    /// Where statuses live (`status.storage.topic`).
    pub status_topic: String,
    /// Partitions of the offsets topic (`offset.storage.partitions`, Kafka's default 25).
    pub offset_partitions: i32,
    /// Partitions of the status topic (`status.storage.partitions`, default 5).
    pub status_partitions: i32,
    /// Replication factor of the three topics (`*.storage.replication.factor`; -1: the
    /// broker's default).
    pub replication_factor: i32,
    /// `session.timeout.ms` (default 10 s).
    pub session_timeout: Duration,
    /// `heartbeat.interval.ms` (default 3 s).
    pub heartbeat_interval: Duration,
    /// `rebalance.timeout.ms` (default 60 s).
    pub rebalance_timeout: Duration,
    /// `scheduled.rebalance.max.delay.ms` (default 5 min): how long a departed worker's work
    /// waits for it to come back.
    pub max_delay: Duration,
}

/// A worker's config.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// `bootstrap.servers`.
    pub bootstrap_servers: String,
    /// `key.converter` (default JsonConverter, as Kafka's).
    pub key_converter: String,
    /// `key.converter.*`, prefix removed.
    pub key_converter_config: ConfigMap,
    /// `value.converter`.
    pub value_converter: String,
    /// `value.converter.*`, prefix removed.
    pub value_converter_config: ConfigMap,
    /// `header.converter` (default SimpleHeaderConverter).
    pub header_converter: String,
    /// `header.converter.*`, prefix removed.
    pub header_converter_config: ConfigMap,
    /// `offset.storage.file.filename` (standalone).
    pub offsets_file: Option<PathBuf>,
    /// `offset.flush.interval.ms` (default 60 s, as Kafka's).
    pub offset_flush_interval: Duration,
    /// `offset.flush.timeout.ms` (default 5 s).
    pub offset_flush_timeout: Duration,
    /// Where the REST API listens (`listeners`, or `rest.host.name` + `rest.port`).
    pub rest_listen: String,
    /// The `host:port` other workers and statuses name this worker by
    /// (`rest.advertised.host.name` / `rest.advertised.port`, else the listener).
    pub rest_advertised: Option<String>,
    /// Distributed mode's settings (when `group.id` is set).
    pub distributed: Option<DistributedSettings>,
    /// Every key as given.
    pub originals: ConfigMap,
}

fn duration_ms(config: &ConfigMap, key: &str, default_ms: u64) -> Result<Duration> {
    match config.get(key) {
        None => Ok(Duration::from_millis(default_ms)),
        Some(v) => v
            .trim()
            .parse::<u64>()
            .map(Duration::from_millis)
            .map_err(|_| {
                ConnectError::Config(format!("{key}={v}: expected milliseconds, a whole number"))
            }),
    }
}

fn int(config: &ConfigMap, key: &str, default: i32) -> Result<i32> {
    match config.get(key) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse()
            .map_err(|_| ConnectError::Config(format!("{key}={v}: expected a whole number"))),
    }
}

impl WorkerConfig {
    /// Parses a worker config.
    ///
    /// # Errors
    /// [`ConnectError::Config`] naming the bad key.
    pub fn parse(config: ConfigMap) -> Result<Self> {
        for key in IGNORED_KEYS {
            if let Some(value) = config.get(*key) {
                tracing::info!(
                    "worker config {key}={value} ignored: Fjord's connectors are built in"
                );
            }
        }
        let get = |key: &str, default: &str| {
            config
                .get(key)
                .cloned()
                .unwrap_or_else(|| default.to_owned())
        };
        let rest_listen = match config.get("listeners") {
            Some(listeners) => {
                let first = split_list(listeners).into_iter().next().ok_or_else(|| {
                    ConnectError::Config("listeners is empty; e.g. listeners=http://:8083".into())
                })?;
                let address = first
                    .strip_prefix("http://")
                    .ok_or_else(|| {
                        ConnectError::Config(format!(
                            "listeners={first}: only http:// listeners are supported"
                        ))
                    })?
                    .to_owned();
                if address.starts_with(':') {
                    format!("0.0.0.0{address}")
                } else {
                    address
                }
            }
            None => {
                let host = get("rest.host.name", "0.0.0.0");
                let port = int(&config, "rest.port", i32::from(DEFAULT_REST_PORT))?;
                format!("{host}:{port}")
            }
        };
        let rest_advertised = match (
            config.get("rest.advertised.host.name"),
            config.get("rest.advertised.port"),
        ) {
            (None, None) => None,
            (host, port) => {
                let default_host = rest_listen.rsplit_once(':').map_or("localhost", |(h, _)| h);
                let default_port = rest_listen.rsplit_once(':').map_or("8083", |(_, p)| p);
                Some(format!(
                    "{}:{}",
                    host.map_or(default_host, String::as_str),
                    port.map_or(default_port, String::as_str)
                ))
            }
        };
        let distributed = match config.get("group.id") {
            None => None,
            Some(group_id) => {
                let topic = |key: &str| {
                    config.get(key).cloned().ok_or_else(|| {
                        ConnectError::Config(format!(
                            "{key} is required in distributed mode (e.g. {key}=connect-{})",
                            key.split('.').next().unwrap_or("configs")
                        ))
                    })
                };
                let replication = int(&config, "config.storage.replication.factor", -1)?;
                Some(DistributedSettings {
                    group_id: group_id.clone(),
                    config_topic: topic("config.storage.topic")?,
                    offset_topic: topic("offset.storage.topic")?,
                    status_topic: topic("status.storage.topic")?,
                    offset_partitions: int(&config, "offset.storage.partitions", 25)?,
                    status_partitions: int(&config, "status.storage.partitions", 5)?,
                    replication_factor: replication,
                    session_timeout: duration_ms(&config, "session.timeout.ms", 10_000)?,
                    heartbeat_interval: duration_ms(&config, "heartbeat.interval.ms", 3_000)?,
                    rebalance_timeout: duration_ms(&config, "rebalance.timeout.ms", 60_000)?,
                    max_delay: duration_ms(&config, "scheduled.rebalance.max.delay.ms", 300_000)?,
                })
            }
        };
        Ok(Self {
            bootstrap_servers: get("bootstrap.servers", "localhost:9092"),
            key_converter: get(
                "key.converter",
                "org.apache.kafka.connect.json.JsonConverter",
            ),
            key_converter_config: with_prefix(&config, "key.converter."),
            value_converter: get(
                "value.converter",
                "org.apache.kafka.connect.json.JsonConverter",
            ),
            value_converter_config: with_prefix(&config, "value.converter."),
            header_converter: get(
                "header.converter",
                "org.apache.kafka.connect.storage.SimpleHeaderConverter",
            ),
            header_converter_config: with_prefix(&config, "header.converter."),
            offsets_file: config
                .get("offset.storage.file.filename")
                .map(PathBuf::from),
            offset_flush_interval: duration_ms(&config, "offset.flush.interval.ms", 60_000)?,
            offset_flush_timeout: duration_ms(&config, "offset.flush.timeout.ms", 5_000)?,
            rest_listen,
            rest_advertised,
            distributed,
            originals: config,
        })
    }

    /// Client settings for one role (`"producer"`, `"consumer"`, `"admin"`): the bootstrap
    /// servers, the shared client keys, then the role's prefixed keys.
    pub fn client_settings(&self, role: &str) -> ClientSettings {
        let shared = self
            .originals
            .iter()
            .filter(|(k, _)| SHARED_CLIENT_PREFIXES.iter().any(|p| k.starts_with(p)))
            .map(|(k, v)| (k.clone(), v.clone()));
        let prefixed = with_prefix(&self.originals, &format!("{role}."));
        ClientSettings::new(self.bootstrap_servers.clone()).with_overrides(shared.chain(prefixed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> ConfigMap {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn kafka_standalone_keys_are_understood() {
        let config = WorkerConfig::parse(map(&[
            ("bootstrap.servers", "localhost:9092"),
            (
                "key.converter",
                "org.apache.kafka.connect.storage.StringConverter",
            ),
            ("value.converter.schemas.enable", "false"),
            ("offset.storage.file.filename", "/tmp/connect.offsets"),
            ("offset.flush.interval.ms", "10000"),
            ("listeners", "http://:8084"),
            ("plugin.path", "/usr/share/java"),
            ("producer.linger.ms", "5"),
        ]))
        .unwrap();
        assert_eq!(config.rest_listen, "0.0.0.0:8084");
        assert_eq!(config.offset_flush_interval, Duration::from_secs(10));
        assert_eq!(
            config.value_converter_config.get("schemas.enable").unwrap(),
            "false"
        );
        assert!(config.distributed.is_none());
        let producer = config.client_settings("producer");
        assert!(producer
            .extra
            .contains(&("linger.ms".to_owned(), "5".to_owned())));
    }

    #[test]
    fn distributed_mode_needs_its_topics() {
        let err = WorkerConfig::parse(map(&[("group.id", "connect-cluster")])).unwrap_err();
        assert!(err.to_string().contains("config.storage.topic"), "{err}");
        let bad = WorkerConfig::parse(map(&[("rest.port", "eighty")])).unwrap_err();
        assert!(bad.to_string().contains("rest.port"), "{bad}");
    }
}
