//! Topics and partitions: which exist, their configs, and where their logs live on disk.
//!
//! Layout under the data dir: `topics/<name>/topic.properties` (id, partition count and the
//! topic's config overrides) and `topics/<name>/<partition>/` (one [`PartitionLog`] each).
//! Metadata files are replaced atomically (write to a temp file, fsync, rename), so a crash
//! leaves either the old or the new version.

pub mod config;
mod io;
mod partition;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use kafka_protocol::error::ResponseError;
use uuid::Uuid;

/// Kept here for callers from before the clock had its own module; use [`crate::clock`].
pub use crate::clock::now_ms;
use crate::error::BrokerError;
use crate::log::{LogConfig, PartitionLog};
pub use config::TopicConfig;
pub use io::{task_failed, BlockingIo, IoTaskError, IO_CONCURRENCY};
pub use partition::{free_bytes, CompactionPass, Partition, ReadOutcome};

/// A failed topic operation, as a client will see it.
#[derive(Debug, Clone)]
pub struct TopicError {
    /// The Kafka error code.
    pub code: ResponseError,
    /// A message saying what to do about it.
    pub message: String,
}

impl TopicError {
    pub(crate) fn new(code: ResponseError, message: impl Into<String>) -> Self {
        TopicError {
            code,
            message: message.into(),
        }
    }
}

impl From<BrokerError> for TopicError {
    fn from(e: BrokerError) -> Self {
        TopicError::new(crate::error::broker_error_code(&e), e.to_string())
    }
}

/// Checks a topic name against Kafka's rules.
///
/// # Errors
/// Why the name is not allowed.
pub fn validate_topic_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("topic name is empty".into());
    }
    if name == "." || name == ".." {
        return Err(format!("topic name '{name}' is not allowed"));
    }
    if name.len() > 249 {
        return Err(format!(
            "topic name is {} characters; at most 249 are allowed",
            name.len()
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(format!(
            "topic name '{name}' contains '{c}'; only ASCII letters, digits, '.', '_' and '-' are allowed"
        ));
    }
    Ok(())
}

/// A topic: its identity, config and partitions.
#[derive(Debug)]
pub struct Topic {
    /// The topic name.
    pub name: String,
    /// The topic id (KIP-516).
    pub id: Uuid,
    dir: PathBuf,
    io: BlockingIo,
    config: RwLock<TopicConfig>,
    partitions: RwLock<Vec<Arc<Partition>>>,
}

impl Topic {
    /// The partition with this index.
    pub fn partition(&self, index: i32) -> Option<Arc<Partition>> {
        let parts = self.partitions.read().unwrap_or_else(|p| p.into_inner());
        usize::try_from(index)
            .ok()
            .and_then(|i| parts.get(i).cloned())
    }

    /// All partitions, in index order.
    pub fn partitions(&self) -> Vec<Arc<Partition>> {
        self.partitions
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// How many partitions the topic has.
    pub fn partition_count(&self) -> i32 {
        self.partitions
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .len() as i32
    }

    /// The topic's explicitly set configs.
    pub fn config(&self) -> TopicConfig {
        self.config
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Whether this is one of the broker's own topics.
    pub fn is_internal(&self) -> bool {
        self.name.starts_with("__")
    }

    fn persist(&self) -> Result<(), BrokerError> {
        let config = self.config();
        let mut text = format!("id={}\npartitions={}\n", self.id, self.partition_count());
        for (k, v) in &config.overrides {
            text.push_str(&format!("config.{k}={v}\n"));
        }
        let path = self.dir.join("topic.properties");
        crate::log::write_atomic(&path, text.as_bytes()).map_err(BrokerError::from)
    }

    /// Replaces the topic's configs, persists them and applies them to every partition log.
    /// Blocking (an fsync, and each partition's lock): call it on the blocking pool.
    ///
    /// # Errors
    /// The metadata file cannot be written.
    pub fn set_config(&self, config: TopicConfig, defaults: &LogConfig) -> Result<(), BrokerError> {
        let log_config = config.log_config(defaults);
        *self.config.write().unwrap_or_else(|p| p.into_inner()) = config;
        self.persist()?;
        for p in self.partitions() {
            p.set_config_blocking(log_config.clone());
        }
        Ok(())
    }

    /// Grows the topic to `total` partitions. Blocking (creates and fsyncs files): call it on
    /// the blocking pool.
    ///
    /// # Errors
    /// INVALID_PARTITIONS when `total` is not larger than today's count; storage errors.
    pub fn add_partitions(&self, total: i32, defaults: &LogConfig) -> Result<(), TopicError> {
        let log_config = self.config().log_config(defaults);
        let mut parts = self.partitions.write().unwrap_or_else(|p| p.into_inner());
        let current = parts.len() as i32;
        if total <= current {
            return Err(TopicError::new(
                ResponseError::InvalidPartitions,
                format!(
                    "topic '{}' has {current} partitions; the new count {total} must be larger",
                    self.name
                ),
            ));
        }
        for index in current..total {
            parts.push(open_partition(
                &self.name,
                &self.dir,
                index,
                log_config.clone(),
                &self.io,
            )?);
        }
        drop(parts);
        self.persist()?;
        Ok(())
    }
}

fn open_partition(
    topic: &str,
    topic_dir: &Path,
    index: i32,
    config: LogConfig,
    io: &BlockingIo,
) -> Result<Arc<Partition>, BrokerError> {
    let log = PartitionLog::open(&topic_dir.join(index.to_string()), config, now_ms())?;
    Ok(Arc::new(Partition::new(topic, index, log, io.clone())))
}

/// All topics of the broker.
#[derive(Debug)]
pub struct TopicRegistry {
    root: PathBuf,
    log_defaults: LogConfig,
    io: BlockingIo,
    topics: RwLock<HashMap<String, Arc<Topic>>>,
}

impl TopicRegistry {
    /// Opens every topic under `data_dir/topics`, recovering each partition log. Blocking.
    ///
    /// # Errors
    /// Unreadable metadata or logs that cannot be recovered.
    pub fn open(data_dir: &Path, log_defaults: LogConfig) -> Result<Self, BrokerError> {
        let root = data_dir.join("topics");
        std::fs::create_dir_all(&root).map_err(|e| BrokerError::storage(&root, e))?;
        let io = BlockingIo::default();
        let mut topics = HashMap::new();
        for entry in std::fs::read_dir(&root).map_err(|e| BrokerError::storage(&root, e))? {
            let entry = entry.map_err(|e| BrokerError::storage(&root, e))?;
            let dir = entry.path();
            let meta = dir.join("topic.properties");
            if !meta.exists() {
                tracing::warn!(dir = %dir.display(), "skipping a topic directory without topic.properties");
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            let topic = load_topic(&dir, &name, &meta, &log_defaults, &io)?;
            topics.insert(name, Arc::new(topic));
        }
        Ok(TopicRegistry {
            root,
            log_defaults,
            io,
            topics: RwLock::new(topics),
        })
    }

    /// The bounded gate to the blocking pool that partition and topic I/O goes through; run
    /// blocking registry calls ([`create`](Self::create), [`delete`](Self::delete),
    /// [`Topic::add_partitions`], [`Topic::set_config`]) through it from async code.
    pub fn io(&self) -> &BlockingIo {
        &self.io
    }

    /// The broker-wide log defaults.
    pub fn log_defaults(&self) -> &LogConfig {
        &self.log_defaults
    }

    /// The topic with this name.
    pub fn get(&self, name: &str) -> Option<Arc<Topic>> {
        self.topics
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .cloned()
    }

    /// The topic with this id.
    pub fn get_by_id(&self, id: Uuid) -> Option<Arc<Topic>> {
        self.topics
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .find(|t| t.id == id)
            .cloned()
    }

    /// The directory every topic's directory is in (`DATA_DIR/topics`).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// All topics, sorted by name.
    pub fn list(&self) -> Vec<Arc<Topic>> {
        let mut all: Vec<_> = self
            .topics
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        all.sort_by(|a, b| a.name.cmp(&b.name));
        all
    }

    /// Creates a topic. Blocking (creates and fsyncs files): from async code run it through
    /// [`io`](Self::io).
    ///
    /// # Errors
    /// INVALID_TOPIC_EXCEPTION for a bad name, TOPIC_ALREADY_EXISTS, INVALID_PARTITIONS,
    /// storage errors.
    pub fn create(
        &self,
        name: &str,
        partitions: i32,
        config: TopicConfig,
    ) -> Result<Arc<Topic>, TopicError> {
        validate_topic_name(name)
            .map_err(|m| TopicError::new(ResponseError::InvalidTopicException, m))?;
        if partitions < 1 {
            return Err(TopicError::new(
                ResponseError::InvalidPartitions,
                format!("a topic needs at least 1 partition, not {partitions}"),
            ));
        }
        let mut topics = self.topics.write().unwrap_or_else(|p| p.into_inner());
        if topics.contains_key(name) {
            return Err(TopicError::new(
                ResponseError::TopicAlreadyExists,
                format!("topic '{name}' already exists"),
            ));
        }
        let dir = self.root.join(name);
        std::fs::create_dir_all(&dir).map_err(|e| BrokerError::storage(&dir, e))?;
        let log_config = config.log_config(&self.log_defaults);
        let parts = (0..partitions)
            .map(|i| open_partition(name, &dir, i, log_config.clone(), &self.io))
            .collect::<Result<Vec<_>, _>>()?;
        let topic = Arc::new(Topic {
            name: name.to_string(),
            id: Uuid::new_v4(),
            dir,
            io: self.io.clone(),
            config: RwLock::new(config),
            partitions: RwLock::new(parts),
        });
        topic.persist()?;
        topics.insert(name.to_string(), topic.clone());
        tracing::info!(topic = name, partitions, "created topic");
        Ok(topic)
    }

    /// Deletes a topic and its data. Blocking: from async code run it through
    /// [`io`](Self::io).
    ///
    /// # Errors
    /// UNKNOWN_TOPIC_OR_PARTITION; storage errors.
    pub fn delete(&self, name: &str) -> Result<(), TopicError> {
        let topic = self
            .topics
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(name)
            .ok_or_else(|| unknown_topic(name))?;
        // Hold every partition lock while the files go, so no append lands in a deleted dir
        // (this runs on a blocking thread, like every holder of these locks).
        let parts = topic.partitions();
        let _guards: Vec<_> = parts.iter().map(|p| p.log()).collect();
        std::fs::remove_dir_all(&topic.dir).map_err(|e| BrokerError::storage(&topic.dir, e))?;
        tracing::info!(topic = name, "deleted topic");
        Ok(())
    }

    /// Flushes every log and marks it cleanly shut down, so the next start trusts its index
    /// files instead of scanning (graceful shutdown). Blocking.
    pub fn shutdown_all(&self) {
        for topic in self.list() {
            for p in topic.partitions() {
                if let Err(e) = p.shutdown_blocking() {
                    tracing::error!(topic = %topic.name, partition = p.index, error = %e, "flush failed");
                }
            }
        }
    }
}

/// UNKNOWN_TOPIC_OR_PARTITION for a topic name.
pub fn unknown_topic(name: &str) -> TopicError {
    TopicError::new(
        ResponseError::UnknownTopicOrPartition,
        format!("topic '{name}' does not exist; create it with `fjord topics create {name}`"),
    )
}

fn load_topic(
    dir: &Path,
    name: &str,
    meta: &Path,
    defaults: &LogConfig,
    io: &BlockingIo,
) -> Result<Topic, BrokerError> {
    let corrupt = |why: String| BrokerError::CorruptMetadata {
        path: meta.to_path_buf(),
        why,
    };
    let text = std::fs::read_to_string(meta).map_err(|e| BrokerError::storage(meta, e))?;
    let mut id = None;
    let mut count = None;
    let mut overrides = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let (k, v) = line
            .split_once('=')
            .ok_or_else(|| corrupt(format!("line '{line}' is not key=value")))?;
        match k {
            "id" => id = Some(Uuid::parse_str(v).map_err(|e| corrupt(format!("bad id: {e}")))?),
            "partitions" => {
                count = Some(
                    v.parse::<i32>()
                        .map_err(|e| corrupt(format!("bad partitions: {e}")))?,
                )
            }
            _ => match k.strip_prefix("config.") {
                Some(key) => overrides.push((key.to_string(), v.to_string())),
                None => return Err(corrupt(format!("unknown key '{k}'"))),
            },
        }
    }
    let id = id.ok_or_else(|| corrupt("missing id".into()))?;
    let count = count.ok_or_else(|| corrupt("missing partitions".into()))?;
    let config = TopicConfig::from_pairs(overrides.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .map_err(corrupt)?;
    let log_config = config.log_config(defaults);
    let parts = (0..count)
        .map(|i| open_partition(name, dir, i, log_config.clone(), io))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Topic {
        name: name.to_string(),
        id,
        dir: dir.to_path_buf(),
        io: io.clone(),
        config: RwLock::new(config),
        partitions: RwLock::new(parts),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_names_follow_kafka_rules() {
        assert!(validate_topic_name("sales.v1_raw-2").is_ok());
        for bad in ["", ".", "..", "a/b", "a b", "ü", &"x".repeat(250)] {
            assert!(validate_topic_name(bad).is_err(), "{bad:?} accepted");
        }
    }
}
