//! Committed source offsets: where each source partition of each connector resumes.
//!
//! Keys are Kafka Connect's: the JSON array `["<connector>", {<source partition>}]`, values
//! the source offset's JSON object, so the offsets topic of a distributed worker holds what a
//! Kafka Connect cluster's would. A standalone worker keeps them in a file
//! ([`FileOffsetStore`]), rewritten atomically (temp file, fsync, rename) on every flush.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use serde_json::Value as Json;

use crate::connector::OffsetReader;
use crate::error::{ConnectError, Result};
use crate::record::JsonMap;

/// The offsets key of a connector's source partition: `["name",{...}]`.
pub fn offset_key(connector: &str, partition: &JsonMap) -> String {
    Json::Array(vec![
        Json::String(connector.to_owned()),
        Json::Object(partition.clone()),
    ])
    .to_string()
}

/// Splits an offsets key back into connector and partition; `None` for a key not in
/// Kafka's format (skipped, with a log line, by the stores).
pub fn parse_offset_key(key: &str) -> Option<(String, JsonMap)> {
    match serde_json::from_str::<Json>(key).ok()? {
        Json::Array(items) => match items.as_slice() {
            [Json::String(connector), Json::Object(partition)] => {
                Some((connector.clone(), partition.clone()))
            }
            _ => None,
        },
        _ => None,
    }
}

/// The entries of one connector in a map keyed by [`offset_key`].
pub fn connector_entries(
    map: &BTreeMap<String, JsonMap>,
    connector: &str,
) -> Vec<(JsonMap, JsonMap)> {
    map.iter()
        .filter_map(|(key, offset)| {
            let (name, partition) = parse_offset_key(key)?;
            (name == connector).then(|| (partition, offset.clone()))
        })
        .collect()
}

/// Where committed source offsets are kept.
#[async_trait]
pub trait OffsetStore: Send + Sync {
    /// A partition's committed offset.
    fn get(&self, connector: &str, partition: &JsonMap) -> Option<JsonMap>;

    /// Every partition's committed offset of a connector.
    fn all(&self, connector: &str) -> Vec<(JsonMap, JsonMap)>;

    /// Commits offsets (`None` removes a partition's offset) durably.
    ///
    /// # Errors
    /// When they could not be made durable; nothing is lost from memory, the next flush
    /// tries again.
    async fn put(&self, connector: &str, offsets: Vec<(JsonMap, Option<JsonMap>)>) -> Result<()>;
}

/// The offsets of one connector, as its tasks read them.
pub struct ConnectorOffsetReader {
    /// The store.
    pub store: Arc<dyn OffsetStore>,
    /// The connector.
    pub connector: String,
}

impl OffsetReader for ConnectorOffsetReader {
    fn offset(&self, partition: &JsonMap) -> Option<JsonMap> {
        self.store.get(&self.connector, partition)
    }
}

/// Offsets in a local JSON file (`offset.storage.file.filename`).
pub struct FileOffsetStore {
    path: PathBuf,
    // A std mutex: held only to read or copy the map, never across an await or the file
    // write (which works on a snapshot).
    offsets: Mutex<BTreeMap<String, JsonMap>>,
    // Serialises writers so an older snapshot never overwrites a newer file.
    write: tokio::sync::Mutex<()>,
}

impl FileOffsetStore {
    /// Opens the file (a missing file is an empty store).
    ///
    /// # Errors
    /// An unreadable or corrupt file: the message names it (nothing is overwritten).
    pub fn open(path: impl Into<PathBuf>) -> Result<Self> {
        let path = path.into();
        let offsets = match std::fs::read(&path) {
            Ok(bytes) if bytes.is_empty() => BTreeMap::new(),
            Ok(bytes) => serde_json::from_slice::<BTreeMap<String, JsonMap>>(&bytes).map_err(|e| {
                ConnectError::Config(format!(
                    "offsets file {} is not Fjord's JSON offsets format ({e}); move it away to start from scratch",
                    path.display()
                ))
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => {
                return Err(ConnectError::io(format!("cannot read offsets file {}", path.display()), e))
            }
        };
        Ok(Self {
            path,
            offsets: Mutex::new(offsets),
            write: tokio::sync::Mutex::new(()),
        })
    }

    fn map(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, JsonMap>> {
        self.offsets.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)?;
    std::fs::File::open(dir)?.sync_all()
}

#[async_trait]
impl OffsetStore for FileOffsetStore {
    fn get(&self, connector: &str, partition: &JsonMap) -> Option<JsonMap> {
        self.map().get(&offset_key(connector, partition)).cloned()
    }

    fn all(&self, connector: &str) -> Vec<(JsonMap, JsonMap)> {
        connector_entries(&self.map(), connector)
    }

    async fn put(&self, connector: &str, offsets: Vec<(JsonMap, Option<JsonMap>)>) -> Result<()> {
        let _writer = self.write.lock().await;
        let snapshot = {
            let mut map = self.map();
            for (partition, offset) in offsets {
                let key = offset_key(connector, &partition);
                match offset {
                    Some(offset) => map.insert(key, offset),
                    None => map.remove(&key),
                };
            }
            serde_json::to_vec_pretty(&*map)
                .map_err(|e| ConnectError::Other(format!("cannot encode offsets: {e}")))?
        };
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || write_atomically(&path, &snapshot))
            .await
            .map_err(|e| ConnectError::Other(format!("offsets writer stopped: {e}")))?
            .map_err(|e| {
                ConnectError::io(
                    format!("cannot write offsets file {}", self.path.display()),
                    e,
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn partition(file: &str) -> JsonMap {
        let mut map = JsonMap::new();
        map.insert("filename".into(), Json::String(file.into()));
        map
    }

    fn position(p: u64) -> JsonMap {
        let mut map = JsonMap::new();
        map.insert("position".into(), Json::from(p));
        map
    }

    #[tokio::test]
    async fn offsets_survive_a_reopen_and_resets_remove_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("connect.offsets");
        let store = FileOffsetStore::open(&path).unwrap();
        store
            .put("src", vec![(partition("a.txt"), Some(position(10)))])
            .await
            .unwrap();
        store
            .put("other", vec![(partition("a.txt"), Some(position(99)))])
            .await
            .unwrap();
        store
            .put("src", vec![(partition("a.txt"), Some(position(42)))])
            .await
            .unwrap();
        let reopened = FileOffsetStore::open(&path).unwrap();
        assert_eq!(reopened.get("src", &partition("a.txt")), Some(position(42)));
        assert_eq!(
            reopened.all("other"),
            vec![(partition("a.txt"), position(99))]
        );
        reopened
            .put("src", vec![(partition("a.txt"), None)])
            .await
            .unwrap();
        assert_eq!(
            FileOffsetStore::open(&path)
                .unwrap()
                .get("src", &partition("a.txt")),
            None
        );
        let text = std::fs::read_to_string(&path).unwrap();
        // Kafka's key format, as a JSON string key of the file's object.
        assert!(
            text.contains(r#""[\"other\",{\"filename\":\"a.txt\"}]""#),
            "{text}"
        );
    }

    #[test]
    fn a_corrupt_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.offsets");
        std::fs::write(&path, b"\x00\x01 not json").unwrap();
        let err = FileOffsetStore::open(&path).err().unwrap();
        assert!(err.to_string().contains("bad.offsets"), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), b"\x00\x01 not json");
    }
}
