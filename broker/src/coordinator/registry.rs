//! Every group of the broker by id, each behind its own lock.
//!
//! A group id has one [`GroupSlot`]: its classic group and its KIP-848 consumer group (at
//! most one of them has members; the other protocol is refused while it does). Requests for
//! different groups never wait for each other: the registry's map lock is held only to find
//! or insert a slot, and a slot's lock only for a state transition, never across I/O.
//!
//! Lock order: the map lock before a slot lock (only [`GroupRegistry::remove_if`] holds both).
//! Nobody takes the map lock while holding a slot lock.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use super::consumer_group::ConsumerGroup;
use super::group::Group;

/// The state of one group id.
#[derive(Debug, Default)]
pub struct GroupSlot {
    /// The classic group (JoinGroup/SyncGroup), once used or replayed.
    pub classic: Option<Group>,
    /// The KIP-848 consumer group, once used.
    pub consumer: Option<ConsumerGroup>,
    /// Removed from the registry: whoever still holds it looks the id up again.
    deleted: bool,
}

impl GroupSlot {
    /// The classic group, created empty if needed.
    pub fn classic_mut(&mut self, id: &str) -> &mut Group {
        self.classic.get_or_insert_with(|| Group::new(id))
    }

    /// The consumer group, created empty if needed.
    pub fn consumer_mut(&mut self, id: &str) -> &mut ConsumerGroup {
        self.consumer.get_or_insert_with(|| ConsumerGroup::new(id))
    }

    /// True when the classic group has members.
    pub fn classic_active(&self) -> bool {
        self.classic.as_ref().is_some_and(|g| !g.members.is_empty())
    }

    /// True when the consumer group has members.
    pub fn consumer_active(&self) -> bool {
        self.consumer
            .as_ref()
            .is_some_and(|g| !g.members.is_empty())
    }
}

type Shared = Arc<Mutex<GroupSlot>>;

/// See the module docs.
#[derive(Debug, Default)]
pub struct GroupRegistry {
    // std mutex: held for a hash map lookup or insert only.
    groups: Mutex<HashMap<String, Shared>>,
}

fn lock(slot: &Shared) -> MutexGuard<'_, GroupSlot> {
    // A transition that panicked midway leaves a group a member may have to rejoin, which
    // every client handles; refusing the group forever would be worse.
    slot.lock().unwrap_or_else(|p| p.into_inner())
}

impl GroupRegistry {
    fn map(&self) -> MutexGuard<'_, HashMap<String, Shared>> {
        self.groups.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on the slot of `id` under its lock, creating the slot when `create` is set;
    /// `None` when there is none. `f` must not call back into the registry.
    pub fn with<R>(
        &self,
        id: &str,
        create: bool,
        f: impl FnOnce(&mut GroupSlot) -> R,
    ) -> Option<R> {
        let mut f = Some(f);
        loop {
            let slot = {
                let mut map = self.map();
                match map.get(id) {
                    Some(s) => s.clone(),
                    None if create => map.entry(id.to_string()).or_default().clone(),
                    None => return None,
                }
            };
            let mut guard = lock(&slot);
            // Deleted between the lookup and the lock: the map has no (or a new) slot now.
            if !guard.deleted {
                // The only place `f` is taken, and it returns: `f` is always there.
                return f.take().map(|f| f(&mut guard));
            }
        }
    }

    /// Removes the slot of `id` if `check` allows it, under both locks so that no request
    /// can reach the slot between the check and the removal. `None` when there is no slot.
    pub fn remove_if<E>(
        &self,
        id: &str,
        check: impl FnOnce(&mut GroupSlot) -> Result<(), E>,
    ) -> Option<Result<(), E>> {
        let mut map = self.map();
        let slot = map.get(id)?.clone();
        let mut guard = lock(&slot);
        let checked = check(&mut guard);
        if checked.is_ok() {
            guard.deleted = true;
            drop(guard);
            map.remove(id);
        }
        Some(checked)
    }

    /// Runs `f` on every slot in turn (each under its own lock, one at a time).
    pub fn for_each(&self, mut f: impl FnMut(&str, &mut GroupSlot)) {
        let slots: Vec<(String, Shared)> = self
            .map()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (id, slot) in slots {
            let mut guard = lock(&slot);
            if !guard.deleted {
                f(&id, &mut guard);
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may panic on failure.
mod tests {
    use super::*;

    #[test]
    fn a_deleted_slot_is_replaced_for_whoever_held_it() {
        let r = GroupRegistry::default();
        r.with("g", true, |s| s.classic_mut("g").generation = 7);
        let stale = r.map().get("g").cloned().unwrap();
        assert!(r.remove_if("g", |_| Ok::<(), ()>(())).unwrap().is_ok());
        assert!(lock(&stale).deleted);
        assert_eq!(r.with("g", false, |_| ()), None);
        let generation = r.with("g", true, |s| s.classic_mut("g").generation);
        assert_eq!(generation, Some(0));
    }

    #[test]
    fn a_refused_removal_keeps_the_slot() {
        let r = GroupRegistry::default();
        r.with("g", true, |s| s.classic_mut("g").generation = 3);
        assert_eq!(r.remove_if("g", |_| Err("busy")), Some(Err("busy")));
        assert_eq!(
            r.with("g", false, |s| s.classic_mut("g").generation),
            Some(3)
        );
        assert!(r.remove_if("x", |_| Ok::<(), ()>(())).is_none());
    }
}
