//! What every connection of one broker shares: config, topics, identity, producer ids.

use std::path::Path;

use tokio_util::sync::CancellationToken;

use crate::config::BrokerConfig;
pub use crate::coordinator::producer_ids::ProducerIds;
use crate::coordinator::GroupCoordinator;
use crate::error::BrokerError;
use crate::log::write_atomic;
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

/// Reads or creates `meta.properties` and returns the cluster id. The file is written
/// atomically and durably, so a crash while creating it leaves either no file (a new id next
/// time, nothing was served under the old one) or the whole file, never an empty one that would
/// stop the broker from starting. Blocking: called at start-up.
pub(crate) fn load_cluster_id(data_dir: &Path, node_id: i32) -> Result<String, BrokerError> {
    let path = data_dir.join("meta.properties");
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            if let Some(id) = text.lines().find_map(|l| l.strip_prefix("cluster.id=")) {
                return Ok(id.trim().to_string());
            }
            return Err(BrokerError::CorruptMetadata {
                path,
                why: "no cluster.id line".into(),
            });
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        // Any other failure (permissions, I/O) must not be taken for "no file": a new cluster
        // id would orphan every client's cached metadata.
        Err(e) => return Err(BrokerError::storage(&path, e)),
    }
    let id = uuid::Uuid::new_v4().simple().to_string();
    let text = format!("version=1\ncluster.id={id}\nnode.id={node_id}\n");
    write_atomic(&path, text.as_bytes())?;
    Ok(id)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may panic on failure.
mod tests {
    use super::*;

    #[test]
    fn cluster_id_is_stable() {
        let dir = tempfile::tempdir().unwrap();
        let a = load_cluster_id(dir.path(), 0).unwrap();
        assert_eq!(a, load_cluster_id(dir.path(), 0).unwrap());
    }
}
