//! In-memory stores: ordered maps, with the set of keys changed since the
//! last flush.

use std::collections::{BTreeMap, BTreeSet};

use super::{
    split_window_changelog_key, window_changelog_key, Change, KeyValueStore, StateStore,
    WindowEntry, WindowStore,
};
use crate::error::Result;

/// A key-value store in memory.
pub struct InMemoryKeyValueStore {
    name: String,
    map: BTreeMap<Vec<u8>, Vec<u8>>,
    dirty: BTreeSet<Vec<u8>>,
    dirty_bytes: usize,
}

impl InMemoryKeyValueStore {
    /// An empty store named `name`.
    pub fn new(name: &str) -> Self {
        InMemoryKeyValueStore {
            name: name.to_string(),
            map: BTreeMap::new(),
            dirty: BTreeSet::new(),
            dirty_bytes: 0,
        }
    }

    fn touch(&mut self, key: &[u8], value_len: usize) {
        if !self.dirty.contains(key) {
            self.dirty.insert(key.to_vec());
            self.dirty_bytes += key.len() * 2 + value_len;
        }
    }
}

impl StateStore for InMemoryKeyValueStore {
    fn name(&self) -> &str {
        &self.name
    }

    fn restore(&mut self, key: &[u8], value: Option<&[u8]>) -> Result<()> {
        match value {
            Some(v) => self.map.insert(key.to_vec(), v.to_vec()),
            None => self.map.remove(key),
        };
        Ok(())
    }

    fn take_changes(&mut self) -> Vec<Change> {
        self.dirty_bytes = 0;
        std::mem::take(&mut self.dirty)
            .into_iter()
            .map(|k| {
                let v = self.map.get(&k).cloned();
                (k, v)
            })
            .collect()
    }

    fn pending_bytes(&self) -> usize {
        self.dirty_bytes
    }

    fn approximate_num_entries(&self) -> u64 {
        self.map.len() as u64
    }

    fn as_kv(&mut self) -> Option<&mut dyn KeyValueStore> {
        Some(self)
    }
}

impl KeyValueStore for InMemoryKeyValueStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.map.get(key).cloned())
    }

    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        self.touch(key, value.len());
        self.map.insert(key.to_vec(), value.to_vec());
        Ok(())
    }

    fn delete(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.touch(key, 0);
        Ok(self.map.remove(key))
    }

    fn all(&self) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        Ok(self
            .map
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }
}

/// A window store in memory, ordered by window start then key, so closing
/// and expiring windows walks the front of the map.
pub struct InMemoryWindowStore {
    name: String,
    map: BTreeMap<(i64, Vec<u8>), Vec<u8>>,
    dirty: BTreeSet<(i64, Vec<u8>)>,
    dirty_bytes: usize,
}

impl InMemoryWindowStore {
    /// An empty store named `name`.
    pub fn new(name: &str) -> Self {
        InMemoryWindowStore {
            name: name.to_string(),
            map: BTreeMap::new(),
            dirty: BTreeSet::new(),
            dirty_bytes: 0,
        }
    }
}

impl StateStore for InMemoryWindowStore {
    fn name(&self) -> &str {
        &self.name
    }

    fn restore(&mut self, key: &[u8], value: Option<&[u8]>) -> Result<()> {
        let (key, start) = split_window_changelog_key(&self.name, key)?;
        match value {
            Some(v) => self.map.insert((start, key), v.to_vec()),
            None => self.map.remove(&(start, key)),
        };
        Ok(())
    }

    fn take_changes(&mut self) -> Vec<Change> {
        self.dirty_bytes = 0;
        std::mem::take(&mut self.dirty)
            .into_iter()
            .map(|(start, key)| {
                let v = self.map.get(&(start, key.clone())).cloned();
                (window_changelog_key(&key, start), v)
            })
            .collect()
    }

    fn pending_bytes(&self) -> usize {
        self.dirty_bytes
    }

    fn approximate_num_entries(&self) -> u64 {
        self.map.len() as u64
    }

    fn as_window(&mut self) -> Option<&mut dyn WindowStore> {
        Some(self)
    }
}

impl WindowStore for InMemoryWindowStore {
    fn fetch(&self, key: &[u8], start: i64) -> Result<Option<Vec<u8>>> {
        Ok(self.map.get(&(start, key.to_vec())).cloned())
    }

    fn put(&mut self, key: &[u8], start: i64, value: Option<&[u8]>) -> Result<()> {
        let id = (start, key.to_vec());
        if !self.dirty.contains(&id) {
            self.dirty_bytes += key.len() * 2 + 16 + value.map_or(0, <[u8]>::len);
            self.dirty.insert(id.clone());
        }
        match value {
            Some(v) => self.map.insert(id, v.to_vec()),
            None => self.map.remove(&id),
        };
        Ok(())
    }

    fn fetch_range(&self, key: &[u8], from: i64, to: i64) -> Result<Vec<(i64, Vec<u8>)>> {
        Ok(self
            .map
            .range((from, Vec::new())..)
            .take_while(|((start, _), _)| *start <= to)
            .filter(|((_, k), _)| k == key)
            .map(|((start, _), v)| (*start, v.clone()))
            .collect())
    }

    fn all(&self) -> Result<Vec<WindowEntry>> {
        Ok(self
            .map
            .iter()
            .map(|((s, k), v)| (*s, k.clone(), v.clone()))
            .collect())
    }

    fn starting_before(&self, start: i64) -> Result<Vec<WindowEntry>> {
        Ok(self
            .map
            .range(..(start, Vec::new()))
            .map(|((s, k), v)| (*s, k.clone(), v.clone()))
            .collect())
    }

    fn expire_before(&mut self, start: i64) {
        let keep = self.map.split_off(&(start, Vec::new()));
        self.map = keep;
    }
}
