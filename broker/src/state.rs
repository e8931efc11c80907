//! What every connection of one broker shares: config, topics, identity, producer ids.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use tokio_util::sync::CancellationToken;

use crate::config::BrokerConfig;
use crate::coordinator::GroupCoordinator;
use crate::error::BrokerError;
use crate::topics::TopicRegistry;

/// Shared broker state, one per running broker.
#[derive(Debug)]
pub struct BrokerState {
    /// The configuration the broker started with.
    pub config: BrokerConfig,
    /// All topics.
    pub topics: TopicRegistry,
    /// The cluster id, created once and kept in `meta.properties`.
    pub cluster_id: String,
    /// Host clients are told to connect to.
    pub advertised_host: String,
    /// Port clients are told to connect to.
    pub advertised_port: i32,
    /// Producer id source.
    pub producer_ids: ProducerIds,
    /// Consumer groups and committed offsets.
    pub groups: GroupCoordinator,
    /// Cancelled when the broker shuts down.
    pub shutdown: CancellationToken,
}

/// Reads or creates `meta.properties` and returns the cluster id.
pub(crate) fn load_cluster_id(data_dir: &Path, node_id: i32) -> Result<String, BrokerError> {
    let path = data_dir.join("meta.properties");
    if let Ok(text) = std::fs::read_to_string(&path) {
        if let Some(id) = text.lines().find_map(|l| l.strip_prefix("cluster.id=")) {
            return Ok(id.trim().to_string());
        }
        return Err(BrokerError::CorruptMetadata {
            path,
            why: "no cluster.id line".into(),
        });
    }
    let id = uuid::Uuid::new_v4().simple().to_string();
    let text = format!("version=1\ncluster.id={id}\nnode.id={node_id}\n");
    std::fs::write(&path, text).map_err(|e| BrokerError::storage(&path, e))?;
    Ok(id)
}

/// Hands out producer ids that are never reused, even across restarts: ids are reserved in
/// blocks and the end of the current block is persisted before any id of it is given out.
#[derive(Debug)]
pub struct ProducerIds {
    path: PathBuf,
    inner: Mutex<IdState>,
}

#[derive(Debug)]
struct IdState {
    next: i64,
    block_end: i64,
    /// Transactional id -> (producer id, epoch).
    transactional: HashMap<String, (i64, i16)>,
}

const ID_BLOCK: i64 = 1000;

impl ProducerIds {
    pub(crate) fn open(data_dir: &Path) -> Result<Self, BrokerError> {
        let path = data_dir.join("producer-id-block");
        let next = match std::fs::read_to_string(&path) {
            Ok(text) => text
                .trim()
                .parse::<i64>()
                .map_err(|e| BrokerError::CorruptMetadata {
                    path: path.clone(),
                    why: e.to_string(),
                })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
            Err(e) => return Err(BrokerError::storage(&path, e)),
        };
        Ok(ProducerIds {
            path,
            inner: Mutex::new(IdState {
                next,
                block_end: next,
                transactional: HashMap::new(),
            }),
        })
    }

    /// A fresh producer id.
    ///
    /// # Errors
    /// The reservation file cannot be written.
    pub fn allocate(&self) -> Result<i64, BrokerError> {
        let mut s = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        self.allocate_locked(&mut s)
    }

    fn allocate_locked(&self, s: &mut IdState) -> Result<i64, BrokerError> {
        if s.next >= s.block_end {
            let end = s.next + ID_BLOCK;
            std::fs::write(&self.path, end.to_string())
                .map_err(|e| BrokerError::storage(&self.path, e))?;
            s.block_end = end;
        }
        let id = s.next;
        s.next += 1;
        Ok(id)
    }

    /// The producer id of a transactional id with its epoch bumped (a new session fences the old).
    ///
    /// # Errors
    /// The reservation file cannot be written.
    pub fn for_transactional_id(&self, txn_id: &str) -> Result<(i64, i16), BrokerError> {
        let mut s = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let next = match s.transactional.get(txn_id).copied() {
            Some((pid, epoch)) if epoch < i16::MAX - 1 => (pid, epoch + 1),
            _ => (self.allocate_locked(&mut s)?, 0),
        };
        s.transactional.insert(txn_id.to_string(), next);
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn producer_ids_are_not_reused_after_restart() {
        let dir = tempfile::tempdir().unwrap();
        let ids = ProducerIds::open(dir.path()).unwrap();
        let a = ids.allocate().unwrap();
        let b = ids.allocate().unwrap();
        assert_ne!(a, b);
        let reopened = ProducerIds::open(dir.path()).unwrap();
        let c = reopened.allocate().unwrap();
        assert!(c > b, "{c} reused an id at or below {b}");
    }

    #[test]
    fn cluster_id_is_stable() {
        let dir = tempfile::tempdir().unwrap();
        let a = load_cluster_id(dir.path(), 0).unwrap();
        assert_eq!(a, load_cluster_id(dir.path(), 0).unwrap());
    }
}
