//! Global stores: a full copy of a topic (every partition) on every
//! instance, for `GlobalKTable` lookups from any task. The topic itself is
//! the store's log: a global store has no changelog; it is loaded from the
//! topic's start before the application runs, then kept up to date by one
//! consumer per instance.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

/// One global store: the latest value bytes per key bytes of its topic.
#[derive(Debug)]
pub(crate) struct GlobalStore {
    pub name: String,
    pub topic: String,
    data: RwLock<BTreeMap<Vec<u8>, Vec<u8>>>,
}

impl GlobalStore {
    /// Applies one record of the topic (a null value deletes the key; a
    /// record without a key is skipped, as Kafka skips it).
    pub fn apply(&self, key: Option<&[u8]>, value: Option<&[u8]>) {
        let Some(key) = key else {
            return;
        };
        let mut data = self.data.write().unwrap_or_else(|p| p.into_inner());
        match value {
            Some(v) => data.insert(key.to_vec(), v.to_vec()),
            None => data.remove(key),
        };
    }

    /// The value bytes of `key`.
    pub fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.data
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .cloned()
    }
}

/// The global stores of one topology instance (a running application or a
/// test driver); cloning shares them.
#[derive(Debug, Clone, Default)]
pub(crate) struct GlobalStores(Arc<Vec<GlobalStore>>);

impl GlobalStores {
    /// Empty stores for these (name, topic) definitions.
    pub fn new(specs: &[(String, String)]) -> Self {
        GlobalStores(Arc::new(
            specs
                .iter()
                .map(|(name, topic)| GlobalStore {
                    name: name.clone(),
                    topic: topic.clone(),
                    data: RwLock::new(BTreeMap::new()),
                })
                .collect(),
        ))
    }

    /// The store named `name`.
    pub fn get(&self, name: &str) -> Option<&GlobalStore> {
        self.0.iter().find(|s| s.name == name)
    }

    /// The store fed by `topic`.
    pub fn for_topic(&self, topic: &str) -> Option<&GlobalStore> {
        self.0.iter().find(|s| s.topic == topic)
    }

    /// Every store.
    pub fn iter(&self) -> impl Iterator<Item = &GlobalStore> {
        self.0.iter()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
