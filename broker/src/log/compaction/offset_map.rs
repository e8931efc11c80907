//! The offset map of a compaction job: for every key of the dirty segments, the offset of
//! its latest record.
//!
//! Keys are stored as 128-bit digests rather than as bytes, so memory per key is fixed
//! (Kafka's cleaner does the same with MD5). The digest is two SipHash values under keys
//! drawn at random for each job, so an adversary cannot craft colliding keys, and an accidental
//! collision, which would drop the older record of one of the two keys, needs around 2^64 keys.
//! The map is bounded by the job: it stops reading further dirty segments once it holds
//! [`MAX_OFFSET_MAP_KEYS`](super::job::MAX_OFFSET_MAP_KEYS) keys.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};

/// A key's 128-bit digest.
pub type KeyDigest = u128;

/// Digests are already uniformly random: hash tables use their low bits as they are.
#[derive(Debug, Default)]
pub struct DigestHasher(u64);

impl Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only reached if something other than a digest is hashed; stay correct anyway.
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    fn write_u128(&mut self, digest: u128) {
        self.0 = digest as u64;
    }
}

type DigestBuild = BuildHasherDefault<DigestHasher>;

/// A set of key digests (the keys of transactional batches, which pin tombstones).
pub type DigestSet = HashSet<KeyDigest, DigestBuild>;

/// Key digest → offset of the latest record with that key.
#[derive(Debug)]
pub struct OffsetMap {
    high: RandomState,
    low: RandomState,
    latest: HashMap<KeyDigest, i64, DigestBuild>,
}

impl OffsetMap {
    /// An empty map with fresh random digest keys.
    pub fn new() -> Self {
        OffsetMap {
            high: RandomState::new(),
            low: RandomState::new(),
            latest: HashMap::default(),
        }
    }

    /// The digest of `key` under this map's random keys.
    pub fn digest(&self, key: &[u8]) -> KeyDigest {
        (u128::from(self.high.hash_one(key)) << 64) | u128::from(self.low.hash_one(key))
    }

    /// Records that `key` has a record at `offset`; offsets arrive in increasing order, so
    /// the last one wins.
    pub fn insert(&mut self, key: &[u8], offset: i64) {
        let digest = self.digest(key);
        self.latest.insert(digest, offset);
    }

    /// Offset of the latest record with this digest, if the dirty segments hold one.
    pub fn latest(&self, digest: KeyDigest) -> Option<i64> {
        self.latest.get(&digest).copied()
    }

    /// Number of distinct keys.
    pub fn len(&self) -> usize {
        self.latest.len()
    }
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)] // Tests may panic on failure.
mod tests {
    use super::*;

    #[test]
    fn last_insert_wins_and_keys_are_distinct() {
        let mut m = OffsetMap::new();
        m.insert(b"a", 1);
        m.insert(b"b", 2);
        m.insert(b"a", 3);
        assert_eq!(m.len(), 2);
        assert_eq!(m.latest(m.digest(b"a")), Some(3));
        assert_eq!(m.latest(m.digest(b"b")), Some(2));
        assert_eq!(m.latest(m.digest(b"c")), None);
        assert_ne!(m.digest(b""), m.digest(b"\0"));
        let mut pinned = DigestSet::default();
        pinned.insert(m.digest(b"a"));
        assert!(pinned.contains(&m.digest(b"a")));
    }
}
