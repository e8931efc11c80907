//! Broker configuration: the settings a `server.properties` file or the CLI gives.
//!
//! [`BrokerConfig`] holds typed values with Kafka's defaults. [`BrokerConfig::apply_properties`]
//! reads Kafka's own keys (`listeners`, `log.dirs`, `num.partitions`, ...) so an existing
//! `server.properties` works; bad values are errors. Keys that do not apply to one node (KRaft
//! quorum, replication, thread pools, ...) and unknown keys are ignored and listed together in
//! one log line per call, so a Kafka `server.properties` does not bury the log in warnings.
//!
//! [`BrokerConfig::default`] suits the embedded broker (tests and `fjord dev` want groups to
//! form at once); [`BrokerConfig::standalone`] is what `fjord broker` starts from: Kafka's own
//! defaults where the two differ.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::coordinator::CoordinatorConfig;
use crate::error::BrokerError;
use crate::log::LogConfig;

/// Everything a broker needs to start.
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    /// Address to bind. Port 0 picks a free port.
    pub listen: SocketAddr,
    /// Host and port clients are told to connect to; defaults to the bound address.
    pub advertised: Option<(String, u16)>,
    /// Directory holding all topic data and broker metadata.
    pub data_dir: PathBuf,
    /// This broker's node id.
    pub node_id: i32,
    /// Partitions of a topic created without an explicit count (`num.partitions`).
    pub num_partitions: i32,
    /// Create topics on Metadata requests for unknown topics (`auto.create.topics.enable`).
    pub auto_create_topics: bool,
    /// Defaults for every topic's log (`log.retention.ms`, `log.segment.bytes`, ...).
    pub log_defaults: LogConfig,
    /// Largest request frame accepted (`socket.request.max.bytes`).
    pub max_request_bytes: usize,
    /// Most client connections served at once (`max.connections`).
    pub max_connections: usize,
    /// How often retention is checked (`log.retention.check.interval.ms`).
    pub retention_check_interval_ms: u64,
    /// Longest transaction timeout a producer may ask for (`transaction.max.timeout.ms`).
    pub transaction_max_timeout_ms: i32,
    /// Group coordinator settings (`group.*`, `offset.metadata.max.bytes`).
    pub coordinator: CoordinatorConfig,
    /// How often the log cleaner looks for partitions to compact (`log.cleaner.backoff.ms`).
    pub log_cleaner_backoff_ms: u64,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        BrokerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 9092)),
            advertised: None,
            data_dir: PathBuf::from("fjord-data"),
            node_id: 0,
            num_partitions: 1,
            auto_create_topics: true,
            log_defaults: LogConfig::default(),
            max_request_bytes: 100 * 1024 * 1024,
            max_connections: 1024,
            retention_check_interval_ms: 300_000,
            transaction_max_timeout_ms: 900_000,
            coordinator: CoordinatorConfig::default(),
            log_cleaner_backoff_ms: 15_000,
        }
    }
}

/// Kafka's default `group.initial.rebalance.delay.ms`: a new group waits this long for more
/// members before its first rebalance, so a fleet starting together gets one rebalance.
pub const KAFKA_INITIAL_REBALANCE_DELAY: Duration = Duration::from_millis(3000);

/// Kafka broker keys that have no meaning for a single Fjord node: KRaft and ZooKeeper
/// quorum settings, replication, inter-broker listeners, thread pools and socket buffers
/// (Fjord sizes its own). Accepted and ignored, so Kafka's `server.properties` works as is.
const NOT_FOR_ONE_NODE: &[&str] = &[
    "process.roles",
    "controller.quorum.voters",
    "controller.quorum.bootstrap.servers",
    "controller.listener.names",
    "listener.security.protocol.map",
    "inter.broker.listener.name",
    "inter.broker.protocol.version",
    "zookeeper.connect",
    "zookeeper.connection.timeout.ms",
    "num.network.threads",
    "num.io.threads",
    "num.recovery.threads.per.data.dir",
    "num.replica.fetchers",
    "background.threads",
    "socket.send.buffer.bytes",
    "socket.receive.buffer.bytes",
    "default.replication.factor",
    "min.insync.replicas",
    "offsets.topic.replication.factor",
    "offsets.topic.num.partitions",
    "transaction.state.log.replication.factor",
    "transaction.state.log.min.isr",
    "share.coordinator.state.topic.replication.factor",
    "share.coordinator.state.topic.min.isr",
    "replica.lag.time.max.ms",
    "unclean.leader.election.enable",
    "auto.leader.rebalance.enable",
    "metadata.log.dir",
];

/// Keys one [`BrokerConfig::apply_properties`] call skipped.
#[derive(Debug, Default, PartialEq, Eq)]
struct Ignored {
    /// Kafka keys that do not apply to one node ([`NOT_FOR_ONE_NODE`]).
    not_for_one_node: Vec<String>,
    /// Keys Fjord does not know (typos, or settings it does not implement).
    unknown: Vec<String>,
}

impl Ignored {
    /// The one log line listing every skipped key, or `None` when nothing was skipped.
    fn line(&self) -> Option<String> {
        let mut parts = Vec::new();
        if !self.not_for_one_node.is_empty() {
            parts.push(format!(
                "not used by a single node: {}",
                self.not_for_one_node.join(", ")
            ));
        }
        if !self.unknown.is_empty() {
            parts.push(format!("unknown: {}", self.unknown.join(", ")));
        }
        (!parts.is_empty()).then(|| format!("ignoring broker config keys ({})", parts.join("; ")))
    }
}

impl BrokerConfig {
    /// Kafka's defaults where the embedded broker's differ: what `fjord broker` starts from,
    /// so it behaves like the Kafka broker it stands in for (a new group waits
    /// [`KAFKA_INITIAL_REBALANCE_DELAY`] for members before its first rebalance).
    pub fn standalone() -> Self {
        let mut config = BrokerConfig::default();
        config.coordinator.initial_rebalance_delay = KAFKA_INITIAL_REBALANCE_DELAY;
        config
    }

    /// Applies Kafka `server.properties` keys. Later keys win; keys that do not apply to one
    /// node and unknown keys are skipped and listed in one warning.
    ///
    /// # Errors
    /// A key with a value of the wrong type or out of range.
    pub fn apply_properties<'a>(
        &mut self,
        props: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<(), BrokerError> {
        let ignored = self.apply_known(props)?;
        if let Some(line) = ignored.line() {
            tracing::warn!("{line}");
        }
        Ok(())
    }

    /// Applies the keys Fjord knows and returns the ones it skipped.
    fn apply_known<'a>(
        &mut self,
        props: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Ignored, BrokerError> {
        let mut ignored = Ignored::default();
        let mut retention_ms: Option<i64> = None;
        let mut retention_minutes: Option<i64> = None;
        let mut retention_hours: Option<i64> = None;
        for (key, value) in props {
            let value = value.trim();
            match key {
                "listeners" => self.listen = parse_listener(key, value)?,
                "advertised.listeners" => {
                    let (host, port) = split_listener(key, value)?;
                    self.advertised = Some((host.to_string(), port));
                }
                "log.dirs" | "log.dir" => {
                    let first = value.split(',').next().unwrap_or(value).trim();
                    self.data_dir = PathBuf::from(first);
                }
                "node.id" | "broker.id" => self.node_id = parse(key, value)?,
                "num.partitions" => self.num_partitions = parse_positive(key, value)?,
                "auto.create.topics.enable" => self.auto_create_topics = parse(key, value)?,
                "log.retention.ms" => retention_ms = Some(parse(key, value)?),
                "log.retention.minutes" => retention_minutes = Some(parse(key, value)?),
                "log.retention.hours" => retention_hours = Some(parse(key, value)?),
                "log.retention.bytes" => self.log_defaults.retention_bytes = parse(key, value)?,
                "log.segment.bytes" => {
                    self.log_defaults.segment_bytes = parse_positive(key, value)?
                }
                "log.roll.ms" => self.log_defaults.segment_ms = parse_positive(key, value)?,
                "log.roll.hours" => {
                    self.log_defaults.segment_ms =
                        parse_positive::<i64>(key, value)?.saturating_mul(3_600_000)
                }
                "message.max.bytes" => {
                    self.log_defaults.max_message_bytes = parse_positive(key, value)?
                }
                "log.flush.interval.messages" => {
                    self.log_defaults.flush_messages = parse_positive(key, value)?
                }
                "log.flush.interval.ms" => self.log_defaults.flush_ms = parse_positive(key, value)?,
                "log.index.interval.bytes" => {
                    self.log_defaults.index_interval_bytes = parse_positive(key, value)?
                }
                "log.retention.check.interval.ms" => {
                    self.retention_check_interval_ms = parse_positive(key, value)?
                }
                "socket.request.max.bytes" => self.max_request_bytes = parse_positive(key, value)?,
                "max.connections" => self.max_connections = parse_positive(key, value)?,
                "transaction.max.timeout.ms" => {
                    self.transaction_max_timeout_ms = parse_positive(key, value)?
                }
                "group.min.session.timeout.ms" => {
                    self.coordinator.min_session_timeout =
                        Duration::from_millis(parse_positive(key, value)?)
                }
                "group.max.session.timeout.ms" => {
                    self.coordinator.max_session_timeout =
                        Duration::from_millis(parse_positive(key, value)?)
                }
                "group.initial.rebalance.delay.ms" => {
                    self.coordinator.initial_rebalance_delay =
                        Duration::from_millis(parse(key, value)?)
                }
                "group.consumer.session.timeout.ms" => {
                    self.coordinator.consumer_session_timeout =
                        Duration::from_millis(parse_positive(key, value)?)
                }
                "group.consumer.heartbeat.interval.ms" => {
                    self.coordinator.consumer_heartbeat_interval =
                        Duration::from_millis(parse_positive(key, value)?)
                }
                "log.cleaner.backoff.ms" => {
                    self.log_cleaner_backoff_ms = parse_positive(key, value)?
                }
                "log.cleanup.policy" => {
                    let compact = value.split(',').any(|p| p.trim() == "compact");
                    let delete = value.split(',').any(|p| p.trim() == "delete");
                    if !compact && !delete {
                        return Err(invalid(key, value, "must be delete, compact or both"));
                    }
                    self.log_defaults.cleanup_compact = compact;
                    self.log_defaults.cleanup_delete = delete;
                }
                "log.cleaner.delete.retention.ms" => {
                    self.log_defaults.delete_retention_ms = parse(key, value)?
                }
                "log.cleaner.min.compaction.lag.ms" => {
                    self.log_defaults.min_compaction_lag_ms = parse(key, value)?
                }
                "log.cleaner.min.cleanable.ratio" => {
                    self.log_defaults.min_cleanable_dirty_ratio = parse(key, value)?
                }
                "offset.metadata.max.bytes" => {
                    self.coordinator.max_metadata_bytes = parse_positive(key, value)?
                }
                other if NOT_FOR_ONE_NODE.contains(&other) => {
                    ignored.not_for_one_node.push(other.to_owned())
                }
                other => ignored.unknown.push(other.to_owned()),
            }
        }
        // Kafka's precedence: ms over minutes over hours.
        if let Some(ms) = retention_ms
            .or(retention_minutes.map(|m| m.saturating_mul(60_000)))
            .or(retention_hours.map(|h| h.saturating_mul(3_600_000)))
        {
            self.log_defaults.retention_ms = ms;
        }
        Ok(ignored)
    }
}

fn invalid(key: &str, value: &str, why: &str) -> BrokerError {
    BrokerError::InvalidConfig(format!("'{key}={value}': {why}"))
}

fn parse<T: std::str::FromStr>(key: &str, value: &str) -> Result<T, BrokerError> {
    value
        .parse()
        .map_err(|_| invalid(key, value, "not a valid value for this key"))
}

fn parse_positive<T: std::str::FromStr + PartialOrd + Default>(
    key: &str,
    value: &str,
) -> Result<T, BrokerError> {
    let v: T = parse(key, value)?;
    if v <= T::default() {
        return Err(invalid(key, value, "must be greater than zero"));
    }
    Ok(v)
}

/// Splits `PLAINTEXT://host:port` (first listener of a comma list) into host and port.
fn split_listener<'v>(key: &str, value: &'v str) -> Result<(&'v str, u16), BrokerError> {
    let first = value.split(',').next().unwrap_or(value).trim();
    let addr = first.split_once("://").map_or(first, |(_, rest)| rest);
    let (host, port) = addr
        .rsplit_once(':')
        .ok_or_else(|| invalid(key, value, "expected [PLAINTEXT://]host:port"))?;
    let port = port
        .parse()
        .map_err(|_| invalid(key, value, "port is not a number"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    Ok((host, port))
}

fn parse_listener(key: &str, value: &str) -> Result<SocketAddr, BrokerError> {
    let (host, port) = split_listener(key, value)?;
    let host = if host.is_empty() { "0.0.0.0" } else { host };
    let host = if host == "localhost" {
        "127.0.0.1"
    } else {
        host
    };
    let ip = host.parse().map_err(|_| {
        invalid(
            key,
            value,
            "listener host must be an IP address or localhost",
        )
    })?;
    Ok(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_keys_are_applied() {
        let mut c = BrokerConfig::default();
        c.apply_properties([
            ("listeners", "PLAINTEXT://localhost:19092"),
            ("advertised.listeners", "PLAINTEXT://kafka.local:19092"),
            ("log.dirs", "/tmp/a,/tmp/b"),
            ("num.partitions", "4"),
            ("auto.create.topics.enable", "false"),
            ("log.retention.hours", "2"),
            ("log.segment.bytes", "1048576"),
            ("message.max.bytes", "2000000"),
        ])
        .unwrap();
        assert_eq!(c.listen, "127.0.0.1:19092".parse().unwrap());
        assert_eq!(c.advertised, Some(("kafka.local".into(), 19092)));
        assert_eq!(c.data_dir, PathBuf::from("/tmp/a"));
        assert_eq!(c.num_partitions, 4);
        assert!(!c.auto_create_topics);
        assert_eq!(c.log_defaults.retention_ms, 7_200_000);
        assert_eq!(c.log_defaults.segment_bytes, 1_048_576);
        assert_eq!(c.log_defaults.max_message_bytes, 2_000_000);
    }

    #[test]
    fn keys_for_a_cluster_and_unknown_keys_are_listed_in_one_line() {
        let mut c = BrokerConfig::default();
        let ignored = c
            .apply_known([
                ("process.roles", "broker,controller"),
                ("num.partitions", "3"),
                ("num.io.threads", "8"),
                ("offsets.topic.replication.factor", "1"),
                ("log.retension.hours", "1"),
            ])
            .unwrap();
        assert_eq!(c.num_partitions, 3, "known keys still apply");
        assert_eq!(
            ignored.line().unwrap(),
            "ignoring broker config keys (not used by a single node: process.roles, \
             num.io.threads, offsets.topic.replication.factor; unknown: log.retension.hours)"
        );
        assert_eq!(
            c.apply_known([("num.partitions", "2")]).unwrap().line(),
            None
        );
    }

    #[test]
    fn standalone_takes_kafkas_initial_rebalance_delay_and_embedded_none() {
        assert_eq!(
            BrokerConfig::standalone()
                .coordinator
                .initial_rebalance_delay,
            Duration::from_millis(3000)
        );
        assert_eq!(
            BrokerConfig::default().coordinator.initial_rebalance_delay,
            Duration::ZERO
        );
        let mut c = BrokerConfig::standalone();
        c.apply_properties([("group.initial.rebalance.delay.ms", "0")])
            .unwrap();
        assert_eq!(c.coordinator.initial_rebalance_delay, Duration::ZERO);
    }

    #[test]
    fn retention_ms_wins_over_hours() {
        let mut c = BrokerConfig::default();
        c.apply_properties([("log.retention.ms", "1000"), ("log.retention.hours", "5")])
            .unwrap();
        assert_eq!(c.log_defaults.retention_ms, 1000);
    }

    #[test]
    fn bad_values_are_clear_errors() {
        let mut c = BrokerConfig::default();
        let err = c
            .apply_properties([("num.partitions", "zero")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("num.partitions=zero"), "{err}");
        assert!(c.apply_properties([("num.partitions", "0")]).is_err());
        assert!(c
            .apply_properties([("listeners", "PLAINTEXT://nohost")])
            .is_err());
    }
}
