//! The incremental cooperative assignor (KIP-415), run by the group leader: a pure function
//! from what every member runs now, what the config topic says should run, and the leader's
//! memory of the previous round, to what each member must start and stop.
//!
//! One round ([`assign`]):
//! 1. Work a member runs that is no longer configured, or that another member runs too (the
//!    member with the smallest id keeps it), is revoked.
//! 2. Work the previous round gave to a member that is gone is *lost*. With
//!    `scheduled.rebalance.max.delay.ms` of 0 it is handed out at once; otherwise it is held
//!    until the delay has passed since it was first seen lost (the departed worker may come
//!    back), and every member is told the remaining delay so the group rebalances then.
//! 3. Connectors and tasks are balanced separately: each kind's total over `n` members gives a
//!    floor and `total % n` members (those running the most, then the smallest ids) may run
//!    one more. A member above its target has the excess revoked; nothing else moves. While
//!    lost work is held, nothing is revoked for balance (the held work is still to come).
//! 4. Unassigned work (new, lost past its delay, revoked in an earlier round) goes to the least
//!    loaded member, one item at a time.
//!
//! Revoked work is not handed out in the round that revokes it: the member stops it and
//! rejoins, and the next round (a rebalance the rejoin causes) finds it running nowhere and
//! assigns it. That is the two-phase cooperative protocol: no work ever runs on two workers.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use super::work::Work;

/// One member as the leader sees it in a round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberWork {
    /// The member id.
    pub id: String,
    /// What the member runs now (from its JoinGroup metadata).
    pub running: Vec<Work>,
}

/// What one member is told in a round.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberPlan {
    /// Work to start (in addition to what the member runs and is not revoked).
    pub assigned: Vec<Work>,
    /// Work to stop before rejoining.
    pub revoked: Vec<Work>,
}

/// The outcome of a round.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Per member id.
    pub members: BTreeMap<String, MemberPlan>,
    /// When work of departed members is held: the time until it is handed out (every member
    /// rejoins then). Zero otherwise.
    pub delay: Duration,
}

/// The leader's memory between rounds. A new leader starts empty: work of a member that left
/// together with the old leader is then handed out at once (Kafka behaves the same).
#[derive(Debug, Clone, Default)]
pub struct AssignorState {
    /// What each member runs after the previous round (revoked work excluded).
    previous: BTreeMap<String, BTreeSet<Work>>,
    /// Lost work held for a departed member.
    held: BTreeSet<Work>,
    /// When held work is handed out.
    deadline: Option<Instant>,
}

/// Computes one round's assignment. `configured` is every connector and task the config topic
/// lists; `max_delay` is `scheduled.rebalance.max.delay.ms`; `now` is the leader's clock.
pub fn assign(
    state: &mut AssignorState,
    members: &[MemberWork],
    configured: &BTreeSet<Work>,
    max_delay: Duration,
    now: Instant,
) -> Plan {
    let mut members: Vec<&MemberWork> = members.iter().collect();
    members.sort_by(|a, b| a.id.cmp(&b.id));
    members.dedup_by(|a, b| a.id == b.id);
    let mut plan = Plan::default();
    if members.is_empty() {
        return plan;
    }

    // 1. Deleted and duplicated work is revoked; the rest is kept.
    let mut kept: BTreeMap<&str, BTreeSet<Work>> = BTreeMap::new();
    let mut running_anywhere: BTreeSet<Work> = BTreeSet::new();
    for m in &members {
        let entry = plan.members.entry(m.id.clone()).or_default();
        let mine = kept.entry(m.id.as_str()).or_default();
        for w in &m.running {
            if mine.contains(w) || entry.revoked.contains(w) {
                continue;
            }
            if !configured.contains(w) || running_anywhere.contains(w) {
                entry.revoked.push(w.clone());
            } else {
                mine.insert(w.clone());
            }
            running_anywhere.insert(w.clone());
        }
    }

    // 2. Lost work: what the previous round gave members that are gone (a member still here
    //    that does not run its work never got it, e.g. its SyncGroup failed: that work is
    //    merely unassigned), and what is held already.
    let remembered: BTreeSet<&Work> = state
        .previous
        .iter()
        .filter(|(id, _)| !kept.contains_key(id.as_str()))
        .flat_map(|(_, set)| set.iter())
        .chain(state.held.iter())
        .collect();
    let lost: BTreeSet<Work> = remembered
        .into_iter()
        .filter(|w| configured.contains(*w) && !running_anywhere.contains(*w))
        .cloned()
        .collect();
    let mut held = BTreeSet::new();
    if lost.is_empty() || max_delay.is_zero() {
        state.deadline = None;
    } else {
        let deadline = *state.deadline.get_or_insert(now + max_delay);
        if now >= deadline {
            state.deadline = None;
        } else {
            held = lost;
            plan.delay = deadline - now;
        }
    }
    let unassigned: Vec<Work> = configured
        .iter()
        .filter(|w| !running_anywhere.contains(*w) && !held.contains(*w))
        .cloned()
        .collect();

    // 3 and 4, for connectors and tasks separately.
    let mut assigned: BTreeMap<&str, Vec<Work>> = BTreeMap::new();
    for connectors in [true, false] {
        let of_kind = |set: &BTreeSet<Work>| -> Vec<Work> {
            set.iter()
                .filter(|w| w.is_connector() == connectors)
                .cloned()
                .collect()
        };
        let todo: Vec<Work> = unassigned
            .iter()
            .filter(|w| w.is_connector() == connectors)
            .cloned()
            .collect();
        let mut loads: BTreeMap<&str, usize> = kept
            .iter()
            .map(|(id, set)| (*id, of_kind(set).len()))
            .collect();
        if held.is_empty() {
            for (id, excess) in balance_excess(&loads, todo.len()) {
                let mine = of_kind(&kept[id]);
                let cut = mine.len().saturating_sub(excess);
                let revoked = &mine[cut..];
                if let Some(p) = plan.members.get_mut(id) {
                    p.revoked.extend(revoked.iter().cloned());
                }
                if let Some(set) = kept.get_mut(id) {
                    for w in revoked {
                        set.remove(w);
                    }
                }
                loads.insert(id, cut);
            }
        }
        for w in todo {
            // Least loaded, then smallest id; `loads` is never empty (members is not).
            let Some((&id, _)) = loads.iter().min_by_key(|(id, load)| (**load, **id)) else {
                break;
            };
            *loads.entry(id).or_default() += 1;
            assigned.entry(id).or_default().push(w);
        }
    }

    state.previous = kept
        .into_iter()
        .map(|(id, mut set)| {
            set.extend(assigned.get(id).into_iter().flatten().cloned());
            (id.to_string(), set)
        })
        .collect();
    state.held = held;
    for (id, work) in assigned {
        if let Some(p) = plan.members.get_mut(id) {
            p.assigned = work;
        }
    }
    for p in plan.members.values_mut() {
        p.revoked.sort();
    }
    plan
}

/// How many items each member above its target must give up so that, once `unassigned` more
/// are handed out, every member runs the floor or one more. The members running the most (then
/// the smallest ids) are the ones allowed one more, so the fewest items move.
fn balance_excess<'a>(
    loads: &BTreeMap<&'a str, usize>,
    unassigned: usize,
) -> Vec<(&'a str, usize)> {
    let n = loads.len();
    if n == 0 {
        return Vec::new();
    }
    let total: usize = loads.values().sum::<usize>() + unassigned;
    let (floor, extra) = (total / n, total % n);
    let mut order: Vec<(&str, usize)> = loads.iter().map(|(id, l)| (*id, *l)).collect();
    order.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    order
        .into_iter()
        .enumerate()
        .filter_map(|(rank, (id, load))| {
            let target = floor + usize::from(rank < extra);
            (load > target).then(|| (id, load - target))
        })
        .collect()
}

#[cfg(test)]
#[path = "assignor_tests.rs"]
mod tests;
