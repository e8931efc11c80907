//! The ids seen lately, to drop a post a feed sends again (after a reconnect, or a
//! duplicate delivery). Bounded: the oldest id is forgotten once `capacity` are held, so
//! memory stays fixed on an endless feed; a duplicate older than that window gets through.

use std::collections::{HashSet, VecDeque};

/// A bounded set of recent ids, first in first out.
#[derive(Debug)]
pub struct RecentIds {
    capacity: usize,
    order: VecDeque<String>,
    set: HashSet<String>,
}

impl RecentIds {
    /// Holds up to `capacity` ids (at least one).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            capacity,
            order: VecDeque::with_capacity(capacity.min(1 << 16)),
            set: HashSet::with_capacity(capacity.min(1 << 16)),
        }
    }

    /// Records `id`; false when it was already held (a duplicate).
    pub fn insert(&mut self, id: &str) -> bool {
        if self.set.contains(id) {
            return false;
        }
        if self.order.len() == self.capacity {
            if let Some(oldest) = self.order.pop_front() {
                self.set.remove(&oldest);
            }
        }
        self.order.push_back(id.to_owned());
        self.set.insert(id.to_owned());
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_are_caught_within_the_window_only() {
        let mut ids = RecentIds::new(3);
        assert!(ids.insert("1"));
        assert!(!ids.insert("1"));
        assert!(ids.insert("2"));
        assert!(ids.insert("3"));
        assert!(ids.insert("4"));
        assert_eq!(ids.order.len(), 3);
        // "1" fell out of the window.
        assert!(ids.insert("1"));
        assert!(!ids.insert("4"));
    }
}
