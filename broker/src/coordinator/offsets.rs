//! Committed offsets in memory: the state `__consumer_offsets` replays to.
//!
//! Every entry carries the log offset of the record that wrote it, and a record only replaces
//! an entry written by an older record. Writes are appended without any lock held and applied
//! when their append returns, so two appends for the same partition may be applied in the
//! other order; the versions make the outcome the log order anyway, which is also what a
//! replay after a restart gives. Deletions stay as versioned tombstones until no older write
//! can still arrive (see [`OffsetStore::prune`]).

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Mutex, MutexGuard};

use super::store::CommittedOffset;

/// Groups are spread over this many independently locked shards.
const SHARDS: usize = 16;

#[derive(Debug, Clone)]
struct Entry {
    /// Log offset of the record that wrote this entry.
    version: i64,
    /// `None`: deleted.
    value: Option<CommittedOffset>,
}

type GroupOffsets = BTreeMap<(String, i32), Entry>;

/// Committed offsets of every group; see the module docs.
#[derive(Debug)]
pub struct OffsetStore {
    // std mutexes: held only for map operations, never across I/O or an await, so a runtime
    // thread waits at most for another thread's map update.
    shards: Vec<Mutex<HashMap<String, GroupOffsets>>>,
    hasher: RandomState,
    /// The newest tombstone ever applied, and the version tombstones were pruned through: a
    /// prune is due while the first is ahead.
    newest_tombstone: AtomicI64,
    pruned_through: AtomicI64,
}

impl Default for OffsetStore {
    fn default() -> Self {
        OffsetStore {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            hasher: RandomState::new(),
            newest_tombstone: AtomicI64::new(-1),
            pruned_through: AtomicI64::new(-1),
        }
    }
}

impl OffsetStore {
    fn shard(&self, group: &str) -> MutexGuard<'_, HashMap<String, GroupOffsets>> {
        let i = (self.hasher.hash_one(group) % SHARDS as u64) as usize;
        // Map updates leave no half-done state behind, so a poisoned shard is taken over.
        self.shards[i].lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Applies the record at log offset `version`: a commit (`Some`) or a deletion (`None`),
    /// unless a newer record of that partition was applied already.
    pub fn apply(
        &self,
        version: i64,
        group: &str,
        topic: &str,
        partition: i32,
        value: Option<CommittedOffset>,
    ) {
        let mut shard = self.shard(group);
        let offsets = shard.entry(group.to_string()).or_default();
        let key = (topic.to_string(), partition);
        if offsets.get(&key).is_some_and(|e| e.version > version) {
            return;
        }
        if value.is_none() {
            self.newest_tombstone.fetch_max(version, Ordering::SeqCst);
        }
        offsets.insert(key, Entry { version, value });
    }

    /// The committed offset of one partition.
    pub fn get(&self, group: &str, topic: &str, partition: i32) -> Option<CommittedOffset> {
        self.shard(group)
            .get(group)?
            .get(&(topic.to_string(), partition))?
            .value
            .clone()
    }

    /// Every committed offset of a group, by topic and partition.
    pub fn all(&self, group: &str) -> Vec<(String, i32, CommittedOffset)> {
        self.shard(group)
            .get(group)
            .map(|o| {
                o.iter()
                    .filter_map(|((t, p), e)| Some((t.clone(), *p, e.value.clone()?)))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The partitions of a group with a committed offset.
    pub fn partitions(&self, group: &str) -> Vec<(String, i32)> {
        self.all(group)
            .into_iter()
            .map(|(t, p, _)| (t, p))
            .collect()
    }

    /// Whether the group has any committed offset.
    pub fn has_group(&self, group: &str) -> bool {
        self.shard(group)
            .get(group)
            .is_some_and(|o| o.values().any(|e| e.value.is_some()))
    }

    /// Ids of the groups with committed offsets.
    pub fn groups(&self) -> Vec<String> {
        self.shards
            .iter()
            .flat_map(|s| {
                let s = s.lock().unwrap_or_else(|p| p.into_inner());
                s.iter()
                    .filter(|(_, o)| o.values().any(|e| e.value.is_some()))
                    .map(|(g, _)| g.clone())
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// The newest tombstone's version when some may need pruning, to be passed to
    /// [`OffsetStore::prune`] later. Cheap: no scan.
    pub fn newest_tombstone(&self) -> Option<i64> {
        let newest = self.newest_tombstone.load(Ordering::SeqCst);
        (newest > self.pruned_through.load(Ordering::SeqCst)).then_some(newest)
    }

    /// Drops tombstones up to `version`. Safe only when every record below `version` has been
    /// applied: the caller read `version` from [`OffsetStore::newest_tombstone`] and then saw
    /// no append in flight (an append in flight at that moment could be older than a
    /// tombstone and would revive the offset without it).
    pub fn prune(&self, version: i64) {
        for s in &self.shards {
            let mut s = s.lock().unwrap_or_else(|p| p.into_inner());
            s.retain(|_, o| {
                o.retain(|_, e| e.value.is_some() || e.version > version);
                !o.is_empty()
            });
        }
        self.pruned_through.fetch_max(version, Ordering::SeqCst);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may panic on failure.
mod tests {
    use super::*;

    fn at(offset: i64) -> Option<CommittedOffset> {
        Some(CommittedOffset {
            offset,
            leader_epoch: -1,
            commit_timestamp: 0,
            metadata: String::new(),
        })
    }

    #[test]
    fn the_newer_record_wins_whatever_the_order_of_application() {
        let s = OffsetStore::default();
        s.apply(7, "g", "t", 0, at(70));
        s.apply(5, "g", "t", 0, at(50)); // appended earlier, applied later
        assert_eq!(s.get("g", "t", 0).unwrap().offset, 70);
        s.apply(9, "g", "t", 0, None);
        s.apply(8, "g", "t", 0, at(80)); // older than the deletion: stays deleted
        assert_eq!(s.get("g", "t", 0), None);
        assert!(!s.has_group("g"));
        assert!(s.groups().is_empty());
    }

    #[test]
    fn prune_drops_only_tombstones_up_to_the_version() {
        let s = OffsetStore::default();
        s.apply(1, "g", "t", 0, None);
        s.apply(2, "g", "t", 1, at(1));
        s.apply(3, "h", "t", 0, None);
        assert_eq!(s.newest_tombstone(), Some(3));
        s.prune(1);
        assert_eq!(s.newest_tombstone(), Some(3));
        s.prune(3);
        assert_eq!(s.newest_tombstone(), None);
        assert_eq!(s.all("g").len(), 1);
        // After pruning, an old record is applied as new: callers prune only when none is due.
        s.apply(0, "h", "t", 0, at(5));
        assert_eq!(s.get("h", "t", 0).unwrap().offset, 5);
    }
}
