//! Configuration, with Kafka Streams' keys.
//!
//! Known keys: `application.id` (required; the group id and the prefix of
//! internal topics), `bootstrap.servers`, `num.stream.threads` (1),
//! `commit.interval.ms` (30000, as Kafka's for at-least-once),
//! `state.dir` (`/tmp/fjord-streams`), `statestore.cache.max.bytes`
//! (10 MiB, per thread), `default.dsl.store` (`rocksDB`, which means
//! persistent here, or `in_memory`), `statestore.engine.cache.max.bytes`
//! (8 MiB: the page cache of each persistent store instance),
//! `processing.guarantee` (`at_least_once`),
//! `default.deserialization.exception.handler`,
//! `default.production.exception.handler`, `processing.exception.handler`,
//! `errors.dead.letter.queue.topic.name` (KIP-1034), `replication.factor`
//! (of internal topics, 1). Any other key goes to librdkafka's consumer,
//! producer and admin clients as it is (`group.protocol=consumer` selects
//! KIP-848, for example).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::error::{Result, StreamsError};

/// What happens to a record whose key or value cannot be deserialized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeserializationHandler {
    /// Log it, count it, skip it (`LogAndContinueExceptionHandler`).
    LogAndContinue,
    /// Fail the task; the application goes to ERROR (`LogAndFailExceptionHandler`, the default).
    LogAndFail,
    /// Write the raw record to this topic with headers saying why and where
    /// from, then continue (KIP-1034's dead-letter queue).
    DeadLetter(String),
}

/// What happens when a processor fails on a record, or a record cannot be produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorPolicy {
    /// Log it, count it, skip the record.
    Continue,
    /// Fail; the application goes to ERROR with the cause (the default).
    Fail,
}

/// Where stores keep their data by default (`default.dsl.store`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DslStore {
    /// On disk, under `state.dir`, restored from the changelog's tail only
    /// after a restart (the default, as Kafka's RocksDB).
    Persistent,
    /// In memory, restored from the whole changelog after a restart.
    InMemory,
}

/// The delivery guarantee.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessingGuarantee {
    /// Every record is reflected in the outputs at least once (the default).
    AtLeastOnce,
}

/// The configuration of a Streams application.
#[derive(Debug, Clone)]
pub struct StreamsConfig {
    /// `application.id`.
    pub application_id: String,
    /// `bootstrap.servers`.
    pub bootstrap_servers: String,
    /// `num.stream.threads`.
    pub num_stream_threads: usize,
    /// `commit.interval.ms`.
    pub commit_interval: Duration,
    /// `state.dir`.
    pub state_dir: PathBuf,
    /// `statestore.cache.max.bytes`: the bound, per thread, of store changes
    /// held before they are written to changelogs.
    pub cache_max_bytes: usize,
    /// `default.dsl.store`: whether stores are persistent (the default) or
    /// in memory, where a store does not say (`Materialized::in_memory`).
    pub default_dsl_store: DslStore,
    /// `statestore.engine.cache.max.bytes`: the page cache of each
    /// persistent store instance, which bounds its memory.
    pub engine_cache_max_bytes: usize,
    /// `processing.guarantee`.
    pub processing_guarantee: ProcessingGuarantee,
    /// `default.deserialization.exception.handler`.
    pub deserialization_handler: DeserializationHandler,
    /// `default.production.exception.handler`.
    pub production_handler: ErrorPolicy,
    /// `processing.exception.handler`.
    pub processing_handler: ErrorPolicy,
    /// `replication.factor` of internal topics.
    pub replication_factor: i32,
    /// How long `close` gives clients to shut down, at most.
    pub close_timeout: Duration,
    /// Every other key, for librdkafka.
    pub client: BTreeMap<String, String>,
}

impl StreamsConfig {
    /// A configuration with Kafka Streams' defaults.
    pub fn new(application_id: impl Into<String>, bootstrap_servers: impl Into<String>) -> Self {
        StreamsConfig {
            application_id: application_id.into(),
            bootstrap_servers: bootstrap_servers.into(),
            num_stream_threads: 1,
            commit_interval: Duration::from_secs(30),
            state_dir: std::env::temp_dir().join("fjord-streams"),
            cache_max_bytes: 10 * 1024 * 1024,
            default_dsl_store: DslStore::Persistent,
            engine_cache_max_bytes: 8 * 1024 * 1024,
            processing_guarantee: ProcessingGuarantee::AtLeastOnce,
            deserialization_handler: DeserializationHandler::LogAndFail,
            production_handler: ErrorPolicy::Fail,
            processing_handler: ErrorPolicy::Fail,
            replication_factor: 1,
            close_timeout: Duration::from_secs(10),
            client: BTreeMap::new(),
        }
    }

    /// A configuration from key/value pairs (a properties file, flags).
    ///
    /// # Errors
    /// When `application.id` is missing or a known key has a bad value.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self> {
        let mut config = StreamsConfig::new("", "127.0.0.1:9092");
        for (key, value) in pairs {
            config = config.set(key, value)?;
        }
        if config.application_id.is_empty() {
            return Err(StreamsError::Config {
                key: "application.id".into(),
                value: String::new(),
                reason: "required: it names the consumer group and the internal topics".into(),
            });
        }
        Ok(config)
    }

    /// Sets one key.
    ///
    /// # Errors
    /// When a known key has a value that cannot be used.
    pub fn set(mut self, key: &str, value: &str) -> Result<Self> {
        let bad = |reason: &str| StreamsError::Config {
            key: key.to_string(),
            value: value.to_string(),
            reason: reason.to_string(),
        };
        let number = |v: &str| v.trim().parse::<u64>();
        match key {
            "application.id" => {
                if value.is_empty() || value.contains(['/', ' ']) {
                    return Err(bad("must be non-empty, without spaces or '/'"));
                }
                self.application_id = value.to_string();
            }
            "bootstrap.servers" => self.bootstrap_servers = value.to_string(),
            "num.stream.threads" => {
                self.num_stream_threads = match number(value) {
                    Ok(n) if n >= 1 => n as usize,
                    _ => return Err(bad("a whole number from 1")),
                }
            }
            "commit.interval.ms" => {
                self.commit_interval =
                    Duration::from_millis(number(value).map_err(|_| bad("milliseconds"))?)
            }
            "state.dir" => self.state_dir = PathBuf::from(value),
            "statestore.cache.max.bytes" | "cache.max.bytes.buffering" => {
                self.cache_max_bytes = number(value).map_err(|_| bad("bytes"))? as usize
            }
            "default.dsl.store" | "dsl.default.store" => {
                self.default_dsl_store = match value {
                    "rocksDB" | "rocksdb" | "persistent" => DslStore::Persistent,
                    "in_memory" => DslStore::InMemory,
                    _ => return Err(bad("rocksDB (persistent) or in_memory")),
                }
            }
            "statestore.engine.cache.max.bytes" => {
                self.engine_cache_max_bytes = number(value).map_err(|_| bad("bytes"))? as usize
            }
            "processing.guarantee" => match value {
                "at_least_once" => self.processing_guarantee = ProcessingGuarantee::AtLeastOnce,
                "exactly_once" | "exactly_once_beta" | "exactly_once_v2" => {
                    return Err(bad(
                        "exactly-once needs broker transactions, which Fjord does not have yet; use at_least_once",
                    ))
                }
                _ => return Err(bad("at_least_once")),
            },
            "default.deserialization.exception.handler" | "deserialization.exception.handler" => {
                self.deserialization_handler = match last_segment(value) {
                    "LogAndContinueExceptionHandler" | "continue" => {
                        DeserializationHandler::LogAndContinue
                    }
                    "LogAndFailExceptionHandler" | "fail" => DeserializationHandler::LogAndFail,
                    _ => {
                        return Err(bad(
                            "LogAndContinueExceptionHandler or LogAndFailExceptionHandler (a dead-letter topic: errors.dead.letter.queue.topic.name)",
                        ))
                    }
                }
            }
            "errors.dead.letter.queue.topic.name" => {
                self.deserialization_handler = DeserializationHandler::DeadLetter(value.to_string())
            }
            "default.production.exception.handler" | "production.exception.handler" => {
                self.production_handler = policy(value).ok_or_else(|| {
                    bad("DefaultProductionExceptionHandler (fail) or continue")
                })?
            }
            "processing.exception.handler" => {
                self.processing_handler = policy(value).ok_or_else(|| {
                    bad("LogAndFailProcessingExceptionHandler or LogAndContinueProcessingExceptionHandler")
                })?
            }
            "replication.factor" => {
                self.replication_factor = value
                    .trim()
                    .parse()
                    .ok()
                    .filter(|r: &i32| *r >= 1 || *r == -1)
                    .ok_or_else(|| bad("a whole number from 1, or -1 for the broker's default"))?
            }
            "default.key.serde" | "default.value.serde" => {
                // Serdes are typed in Rust and given in code (Consumed, Produced...).
                tracing::info!(key, value, "ignored: serdes are set in code in Fjord Streams");
            }
            _ => {
                self.client.insert(key.to_string(), value.to_string());
            }
        }
        Ok(self)
    }
}

fn last_segment(class: &str) -> &str {
    class.rsplit('.').next().unwrap_or(class)
}

fn policy(value: &str) -> Option<ErrorPolicy> {
    match last_segment(value) {
        "DefaultProductionExceptionHandler" | "LogAndFailProcessingExceptionHandler" | "fail" => {
            Some(ErrorPolicy::Fail)
        }
        "LogAndContinueProcessingExceptionHandler"
        | "LogAndContinueProductionExceptionHandler"
        | "continue" => Some(ErrorPolicy::Continue),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_keys_and_class_names_are_understood() {
        let c = StreamsConfig::from_pairs([
            ("application.id", "sales"),
            ("num.stream.threads", "3"),
            ("commit.interval.ms", "100"),
            (
                "default.deserialization.exception.handler",
                "org.apache.kafka.streams.errors.LogAndContinueExceptionHandler",
            ),
            ("group.protocol", "consumer"),
        ])
        .unwrap();
        assert_eq!(c.num_stream_threads, 3);
        assert_eq!(c.commit_interval, Duration::from_millis(100));
        assert_eq!(
            c.deserialization_handler,
            DeserializationHandler::LogAndContinue
        );
        assert_eq!(
            c.client.get("group.protocol").map(String::as_str),
            Some("consumer")
        );
    }

    #[test]
    fn bad_values_and_a_missing_application_id_are_refused() {
        assert!(StreamsConfig::from_pairs([("num.stream.threads", "1")]).is_err());
        let err = StreamsConfig::from_pairs([("application.id", "a"), ("num.stream.threads", "0")])
            .unwrap_err();
        assert!(err.to_string().contains("num.stream.threads=0"), "{err}");
        let err = StreamsConfig::from_pairs([
            ("application.id", "a"),
            ("processing.guarantee", "exactly_once_v2"),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("transactions"), "{err}");
    }
}
