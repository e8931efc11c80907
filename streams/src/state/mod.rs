//! State stores: what stateful processors remember between records.
//!
//! Stores hold bytes (keys and values after their serdes); typed access goes
//! through the serdes of the store's definition. Each store records which
//! keys changed since its last flush, folded by key (ten updates of one key
//! between two commits write one changelog record), and the task writes those
//! changes to the store's compacted changelog topic
//! (`<application.id>-<store>-changelog`) before it commits its input
//! offsets. A store is rebuilt from its changelog before its task processes
//! anything.
//!
//! Kinds: [`KeyValueStore`] (tables, aggregates) and [`WindowStore`]
//! (windowed aggregates: one value per key and window start), each in
//! memory or persistent (a redb file per store, under
//! `<state.dir>/<application.id>/<task id>/<store>/`). Persistent is what
//! `KafkaStreams` uses by default, as Kafka's RocksDB; the test driver keeps
//! stores in memory. A task with persistent stores writes a checkpoint of
//! its changelog offsets after each commit, so a restart on the same
//! state dir replays only the changelog's tail ([`checkpoint`]).

use std::path::Path;

use crate::error::{Result, StreamsError};

pub mod checkpoint;
pub(crate) mod directory;
mod memory;
mod persistent;

pub use memory::{InMemoryKeyValueStore, InMemoryWindowStore};
pub use persistent::{PersistentKeyValueStore, PersistentWindowStore};

/// A changed entry to write to the changelog: key bytes, and the value bytes
/// or `None` for a deletion (a tombstone).
pub type Change = (Vec<u8>, Option<Vec<u8>>);

/// A window store entry: window start, key bytes, value bytes.
pub type WindowEntry = (i64, Vec<u8>, Vec<u8>);

/// What every store does, whatever its kind.
pub trait StateStore: Send {
    /// The store's name, unique in its topology.
    fn name(&self) -> &str;

    /// Applies one record of the changelog while restoring.
    ///
    /// # Errors
    /// When the record is not one this store wrote (a corrupt changelog).
    fn restore(&mut self, key: &[u8], value: Option<&[u8]>) -> Result<()>;

    /// The changes since the last call, one per changed key, in key order.
    fn take_changes(&mut self) -> Vec<Change>;

    /// Bytes held by changes not yet taken (the record cache's size).
    fn pending_bytes(&self) -> usize;

    /// The number of entries.
    fn approximate_num_entries(&self) -> u64;

    /// Makes what was taken by [`StateStore::take_changes`] (and restored)
    /// durable locally. Called once those changes are acknowledged by the
    /// changelog, so a local store is never ahead of its changelog by more
    /// than the commit in flight.
    ///
    /// # Errors
    /// When the store's file cannot be written.
    fn flush(&mut self) -> Result<()> {
        Ok(())
    }

    /// Whether the store keeps its data on disk across restarts (then its
    /// task checkpoints the changelog offsets it reflects).
    fn is_persistent(&self) -> bool {
        false
    }

    /// This store as a key-value store, if it is one.
    fn as_kv(&mut self) -> Option<&mut dyn KeyValueStore> {
        None
    }

    /// This store as a window store, if it is one.
    fn as_window(&mut self) -> Option<&mut dyn WindowStore> {
        None
    }
}

/// A key-value store of bytes, ordered by key.
pub trait KeyValueStore {
    /// The value of `key`.
    ///
    /// # Errors
    /// When the store cannot be read.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>>;

    /// Sets `key` to `value`.
    ///
    /// # Errors
    /// When the store cannot be written.
    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<()>;

    /// Removes `key`, returning its value.
    ///
    /// # Errors
    /// When the store cannot be written.
    fn delete(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>>;

    /// Every entry, in key order.
    ///
    /// # Errors
    /// When the store cannot be read.
    fn all(&self) -> Result<Vec<(Vec<u8>, Vec<u8>)>>;
}

/// A window store of bytes: one value per key and window start.
pub trait WindowStore {
    /// The value of `key` in the window starting at `start`.
    ///
    /// # Errors
    /// When the store cannot be read.
    fn fetch(&self, key: &[u8], start: i64) -> Result<Option<Vec<u8>>>;

    /// Sets (or with `None` removes) the value of `key` in the window at `start`.
    ///
    /// # Errors
    /// When the store cannot be written.
    fn put(&mut self, key: &[u8], start: i64, value: Option<&[u8]>) -> Result<()>;

    /// The windows of `key` starting in `from..=to`, by start.
    ///
    /// # Errors
    /// When the store cannot be read.
    fn fetch_range(&self, key: &[u8], from: i64, to: i64) -> Result<Vec<(i64, Vec<u8>)>>;

    /// Every entry as (start, key, value), ordered by start then key.
    ///
    /// # Errors
    /// When the store cannot be read.
    fn all(&self) -> Result<Vec<WindowEntry>>;

    /// The entries of windows starting before `start`, ordered by start then key.
    ///
    /// # Errors
    /// When the store cannot be read.
    fn starting_before(&self, start: i64) -> Result<Vec<WindowEntry>>;

    /// Drops windows starting before `start` (past retention). Not logged:
    /// the changelog topic drops them by its own retention.
    fn expire_before(&mut self, start: i64);
}

/// The changelog key of a window store entry: the key bytes, then the window
/// start as 8 big-endian bytes.
pub(crate) fn window_changelog_key(key: &[u8], start: i64) -> Vec<u8> {
    let mut out = Vec::with_capacity(key.len() + 8);
    out.extend_from_slice(key);
    out.extend_from_slice(&start.to_be_bytes());
    out
}

/// Splits a window changelog key into the key bytes and the window start.
pub(crate) fn split_window_changelog_key(store: &str, raw: &[u8]) -> Result<(Vec<u8>, i64)> {
    if raw.len() < 8 {
        return Err(StreamsError::store(
            store,
            format!(
                "changelog key of {} bytes is too short for a window key",
                raw.len()
            ),
        ));
    }
    let (key, start) = raw.split_at(raw.len() - 8);
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(start);
    Ok((key.to_vec(), i64::from_be_bytes(bytes)))
}

/// The stores of one task, by name.
#[derive(Default)]
pub struct Stores {
    stores: Vec<Box<dyn StateStore>>,
}

impl Stores {
    pub(crate) fn add(&mut self, store: Box<dyn StateStore>) {
        self.stores.push(store);
    }

    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = &mut Box<dyn StateStore>> {
        self.stores.iter_mut()
    }

    /// The store `name`.
    ///
    /// # Errors
    /// When this task has no such store.
    pub fn get(&mut self, name: &str) -> Result<&mut dyn StateStore> {
        match self.stores.iter_mut().find(|s| s.name() == name) {
            Some(store) => Ok(store.as_mut()),
            None => Err(StreamsError::store(
                name,
                "no such store in this task; connect it to the processor (Materialized::as_ or a store name in process())",
            )),
        }
    }

    /// The key-value store `name`.
    ///
    /// # Errors
    /// When this task has no such store or it is of another kind.
    pub fn kv(&mut self, name: &str) -> Result<&mut dyn KeyValueStore> {
        self.get(name)?
            .as_kv()
            .ok_or_else(|| StreamsError::store(name, "not a key-value store"))
    }

    /// The window store `name`.
    ///
    /// # Errors
    /// When this task has no such store or it is of another kind.
    pub fn window(&mut self, name: &str) -> Result<&mut dyn WindowStore> {
        self.get(name)?
            .as_window()
            .ok_or_else(|| StreamsError::store(name, "not a window store"))
    }

    /// Bytes of changes not yet written to changelogs, over all stores.
    pub(crate) fn pending_bytes(&self) -> usize {
        self.stores.iter().map(|s| s.pending_bytes()).sum()
    }

    /// Flushes every store ([`StateStore::flush`]).
    pub(crate) fn flush(&mut self) -> Result<()> {
        for store in &mut self.stores {
            store.flush()?;
        }
        Ok(())
    }
}

/// What kind of store a definition makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StoreKind {
    KeyValue,
    Window { retention_ms: i64 },
}

/// A store's definition in a topology: one instance is made per task.
#[derive(Clone)]
pub(crate) struct StoreSpec {
    pub name: String,
    pub kind: StoreKind,
    /// Whether changes go to a changelog topic (on by default).
    pub logged: bool,
    /// Kept in memory even where stores are persistent by default
    /// (`Materialized::in_memory`).
    pub in_memory: bool,
}

impl StoreSpec {
    /// A new, empty instance of this store, in memory.
    pub fn create(&self) -> Box<dyn StateStore> {
        match self.kind {
            StoreKind::KeyValue => Box::new(InMemoryKeyValueStore::new(&self.name)),
            StoreKind::Window { .. } => Box::new(InMemoryWindowStore::new(&self.name)),
        }
    }

    /// This store on disk in `dir` (what an earlier run left there, or new),
    /// with a page cache of `cache_bytes`.
    ///
    /// # Errors
    /// When the store's directory or file cannot be opened.
    pub fn open(&self, dir: &Path, cache_bytes: usize) -> Result<Box<dyn StateStore>> {
        Ok(match self.kind {
            StoreKind::KeyValue => {
                Box::new(PersistentKeyValueStore::open(&self.name, dir, cache_bytes)?)
            }
            StoreKind::Window { .. } => {
                Box::new(PersistentWindowStore::open(&self.name, dir, cache_bytes)?)
            }
        })
    }

    /// The changelog topic of this store in application `application_id`.
    pub fn changelog_topic(&self, application_id: &str) -> String {
        format!("{application_id}-{}-changelog", self.name)
    }
}

#[cfg(test)]
mod suite;
