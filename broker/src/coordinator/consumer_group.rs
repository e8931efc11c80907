//! KIP-848 consumer groups: members heartbeat their subscriptions, the broker computes the
//! assignment (uniform or range) and hands each member its partitions as soon as their
//! previous owners have let go of them.
//!
//! Each member has a target (what the assignor wants it to own) and an assignment (what it
//! has been told to own). A partition in a member's target is only added to its assignment
//! once no other member is assigned it or still reports owning it, so no partition ever has
//! two owners; partitions leaving a member's target are removed from its assignment at once
//! (the member revokes them and reports so in its next heartbeat).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use uuid::Uuid;

use super::error::CoordinatorError;

/// A topic partition by topic id.
pub type TopicPartition = (Uuid, i32);

/// Topic metadata an assignor needs: name → (id, partition count).
pub type TopicMetadata = BTreeMap<String, (Uuid, i32)>;

/// One member of a consumer group.
#[derive(Debug, Clone)]
pub struct ConsumerMember {
    /// Member id.
    pub id: String,
    /// Static membership id.
    pub instance_id: Option<String>,
    /// Rack.
    pub rack_id: Option<String>,
    /// Client id.
    pub client_id: String,
    /// Client host.
    pub client_host: String,
    /// Subscribed topic names.
    pub subscriptions: Vec<String>,
    /// The member's epoch.
    pub epoch: i32,
    /// What the member has been told to own.
    pub assigned: BTreeSet<TopicPartition>,
    /// What the member last reported owning (None until it reports).
    pub owned: Option<BTreeSet<TopicPartition>>,
    /// Last heartbeat.
    pub last_seen: Instant,
    /// The assignment last sent, to send only changes.
    last_sent: Option<BTreeSet<TopicPartition>>,
}

/// A consumer group (KIP-848).
#[derive(Debug)]
pub struct ConsumerGroup {
    /// Group id.
    pub id: String,
    /// Bumped on every membership, subscription or metadata change.
    pub epoch: i32,
    /// Epoch of the current target assignment.
    pub assignment_epoch: i32,
    /// "uniform" or "range".
    pub assignor: String,
    /// Members by id.
    pub members: BTreeMap<String, ConsumerMember>,
    /// Target assignment per member.
    pub target: BTreeMap<String, BTreeSet<TopicPartition>>,
    metadata: TopicMetadata,
}

/// A ConsumerGroupHeartbeat, as the group needs it.
#[derive(Debug, Clone)]
pub struct Heartbeat {
    /// Member id (client-generated from v1; empty on a v0 join).
    pub member_id: String,
    /// 0 join, -1 leave, -2 static leave, else the member's epoch.
    pub member_epoch: i32,
    /// Static membership id.
    pub instance_id: Option<String>,
    /// Rack.
    pub rack_id: Option<String>,
    /// New subscription, or None if unchanged.
    pub subscriptions: Option<Vec<String>>,
    /// Assignor asked for.
    pub assignor: Option<String>,
    /// Partitions the member owns now, or None if unchanged.
    pub owned: Option<BTreeSet<TopicPartition>>,
    /// Client id.
    pub client_id: String,
    /// Client host.
    pub client_host: String,
}

/// What a heartbeat answers.
#[derive(Debug, Clone)]
pub struct HeartbeatReply {
    /// The member's id.
    pub member_id: String,
    /// Its epoch (-1 after leaving).
    pub member_epoch: i32,
    /// Its full assignment when it changed.
    pub assignment: Option<BTreeSet<TopicPartition>>,
}

impl ConsumerGroup {
    /// A new, empty group.
    pub fn new(id: &str) -> Self {
        ConsumerGroup {
            id: id.to_string(),
            epoch: 0,
            assignment_epoch: 0,
            assignor: "uniform".to_string(),
            members: BTreeMap::new(),
            target: BTreeMap::new(),
            metadata: TopicMetadata::new(),
        }
    }

    /// The state name for describe/list: Empty, Reconciling or Stable.
    pub fn state(&self) -> &'static str {
        if self.members.is_empty() {
            "Empty"
        } else if self
            .members
            .values()
            .any(|m| Some(&m.assigned) != self.target.get(&m.id))
        {
            "Reconciling"
        } else {
            "Stable"
        }
    }

    /// Handles one heartbeat. `metadata` resolves topic names of every member's subscription.
    ///
    /// # Errors
    /// UNKNOWN_MEMBER_ID, FENCED_MEMBER_EPOCH, UNSUPPORTED_ASSIGNOR.
    pub fn heartbeat(
        &mut self,
        hb: Heartbeat,
        metadata: &dyn Fn(&str) -> Option<(Uuid, i32)>,
        now: Instant,
    ) -> Result<HeartbeatReply, CoordinatorError> {
        if let Some(a) = &hb.assignor {
            if a != "uniform" && a != "range" {
                return Err(CoordinatorError::UnsupportedAssignor);
            }
        }
        if hb.member_epoch < 0 {
            if self.members.remove(&hb.member_id).is_some() {
                self.target.remove(&hb.member_id);
                self.epoch += 1;
                self.recompute(metadata);
            }
            return Ok(HeartbeatReply {
                member_id: hb.member_id,
                member_epoch: hb.member_epoch,
                assignment: None,
            });
        }
        let mut changed = false;
        let member_id = if hb.member_epoch == 0 {
            let id = if hb.member_id.is_empty() {
                Uuid::new_v4().to_string()
            } else {
                hb.member_id.clone()
            };
            // A static member replaces its previous incarnation.
            if let Some(instance) = &hb.instance_id {
                let old: Vec<String> = self
                    .members
                    .values()
                    .filter(|m| m.instance_id.as_ref() == Some(instance) && m.id != id)
                    .map(|m| m.id.clone())
                    .collect();
                for o in old {
                    self.members.remove(&o);
                    self.target.remove(&o);
                }
            }
            self.members.insert(
                id.clone(),
                ConsumerMember {
                    id: id.clone(),
                    instance_id: hb.instance_id.clone(),
                    rack_id: hb.rack_id.clone(),
                    client_id: hb.client_id.clone(),
                    client_host: hb.client_host.clone(),
                    subscriptions: Vec::new(),
                    epoch: 0,
                    assigned: BTreeSet::new(),
                    owned: None,
                    last_seen: now,
                    last_sent: None,
                },
            );
            changed = true;
            id
        } else {
            let m = self
                .members
                .get(&hb.member_id)
                .ok_or(CoordinatorError::UnknownMemberId)?;
            if hb.member_epoch > m.epoch {
                return Err(CoordinatorError::FencedMemberEpoch);
            }
            hb.member_id.clone()
        };
        if let Some(a) = &hb.assignor {
            if *a != self.assignor {
                self.assignor = a.clone();
                changed = true;
            }
        }
        if let Some(m) = self.members.get_mut(&member_id) {
            m.last_seen = now;
            if let Some(mut subs) = hb.subscriptions {
                subs.sort();
                subs.dedup();
                if subs != m.subscriptions {
                    m.subscriptions = subs;
                    changed = true;
                }
            }
            if let Some(owned) = hb.owned {
                m.owned = Some(owned);
            }
        }
        let metadata_now = self.resolve(metadata);
        if changed || metadata_now != self.metadata {
            self.epoch += 1;
            self.metadata = metadata_now;
            self.assign();
        }
        Ok(self.reconcile(&member_id))
    }

    fn resolve(&self, metadata: &dyn Fn(&str) -> Option<(Uuid, i32)>) -> TopicMetadata {
        let names: BTreeSet<&String> = self
            .members
            .values()
            .flat_map(|m| m.subscriptions.iter())
            .collect();
        names
            .into_iter()
            .filter_map(|n| metadata(n).map(|md| (n.clone(), md)))
            .collect()
    }

    fn recompute(&mut self, metadata: &dyn Fn(&str) -> Option<(Uuid, i32)>) {
        self.metadata = self.resolve(metadata);
        self.assign();
    }

    /// Computes the target assignment with the group's assignor.
    ///
    /// `uniform` is sticky, as Kafka's: per topic, each subscriber's quota is the partition
    /// count divided evenly (the remainder goes to the members already holding the most,
    /// then to those with the fewest partitions so far); every member keeps as much of its
    /// previous target as its quota allows, and only the rest moves. So a member leaving
    /// moves just its own partitions (the others get them on their next heartbeat, nothing
    /// needs revoking first), and a member joining takes only its share. `range` gives each
    /// subscriber a contiguous range of every topic.
    fn assign(&mut self) {
        let previous = std::mem::take(&mut self.target);
        let mut target: BTreeMap<String, BTreeSet<TopicPartition>> = self
            .members
            .keys()
            .map(|id| (id.clone(), BTreeSet::new()))
            .collect();
        let range = self.assignor == "range";
        for (name, &(topic_id, partitions)) in &self.metadata {
            let subscribers: Vec<&String> = self
                .members
                .values()
                .filter(|m| m.subscriptions.contains(name))
                .map(|m| &m.id)
                .collect();
            if subscribers.is_empty() || partitions <= 0 {
                continue;
            }
            let owners = if range {
                range_owners(subscribers.len(), partitions)
            } else {
                let held: Vec<Vec<i32>> = subscribers
                    .iter()
                    .map(|id| {
                        previous.get(*id).map_or_else(Vec::new, |set| {
                            set.iter()
                                .filter(|(t, p)| *t == topic_id && *p < partitions)
                                .map(|(_, p)| *p)
                                .collect()
                        })
                    })
                    .collect();
                let so_far: Vec<usize> = subscribers.iter().map(|id| target[*id].len()).collect();
                sticky_owners(&held, &so_far, partitions)
            };
            for (p, owner) in owners.into_iter().enumerate() {
                if let Some(set) = target.get_mut(subscribers[owner]) {
                    set.insert((topic_id, p as i32));
                }
            }
        }
        self.target = target;
        self.assignment_epoch = self.epoch;
    }

    /// Moves a member's assignment toward its target without double ownership.
    fn reconcile(&mut self, member_id: &str) -> HeartbeatReply {
        let target = self.target.get(member_id).cloned().unwrap_or_default();
        let taken: BTreeSet<TopicPartition> = self
            .members
            .values()
            .filter(|m| m.id != member_id)
            .flat_map(|m| m.assigned.iter().chain(m.owned.iter().flatten()).copied())
            .collect();
        let epoch = self.epoch;
        let Some(m) = self.members.get_mut(member_id) else {
            return HeartbeatReply {
                member_id: member_id.to_string(),
                member_epoch: -1,
                assignment: None,
            };
        };
        let mut next: BTreeSet<TopicPartition> =
            m.assigned.intersection(&target).copied().collect();
        next.extend(target.iter().filter(|tp| !taken.contains(tp)).copied());
        m.assigned = next;
        m.epoch = epoch;
        let send = m.last_sent.as_ref() != Some(&m.assigned);
        if send {
            // Until the member reports again, it may still hold whatever it was told before.
            let mut may_own = m.owned.take().unwrap_or_default();
            may_own.extend(m.last_sent.take().unwrap_or_default());
            m.owned = Some(may_own);
            m.last_sent = Some(m.assigned.clone());
        }
        HeartbeatReply {
            member_id: member_id.to_string(),
            member_epoch: epoch,
            assignment: send.then(|| m.assigned.clone()),
        }
    }

    /// Removes members silent for longer than `session_timeout`; true if any went.
    pub fn expire(&mut self, now: Instant, session_timeout: Duration) -> bool {
        let gone: Vec<String> = self
            .members
            .values()
            .filter(|m| now.duration_since(m.last_seen) > session_timeout)
            .map(|m| m.id.clone())
            .collect();
        for id in &gone {
            self.members.remove(id);
            self.target.remove(id);
        }
        if !gone.is_empty() {
            tracing::info!(group = %self.id, members = ?gone, "consumer group session timeout: removing members");
            self.epoch += 1;
            self.assign();
        }
        !gone.is_empty()
    }
}

/// The owner (index into the subscribers) of each of `partitions` partitions under the range
/// assignor: contiguous ranges, the first `partitions % n` subscribers get one more.
fn range_owners(n: usize, partitions: i32) -> Vec<usize> {
    let partitions = partitions as usize;
    let (per, extra) = (partitions / n, partitions % n);
    let cut = extra * (per + 1);
    (0..partitions)
        .map(|p| {
            if p < cut {
                p / (per + 1)
            } else {
                extra + (p - cut) / per.max(1)
            }
        })
        .map(|o| o.min(n - 1))
        .collect()
}

/// The owner (index into the subscribers) of each of `partitions` partitions under the
/// sticky uniform assignor. `held[i]` are the partitions subscriber `i` had in its previous
/// target, `so_far[i]` how many partitions of other topics it got in this round.
fn sticky_owners(held: &[Vec<i32>], so_far: &[usize], partitions: i32) -> Vec<usize> {
    let n = held.len();
    let count = partitions as usize;
    let (per, extra) = (count / n, count % n);
    // The remainder goes to those holding the most already, then to the least loaded.
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(held[i].len()), so_far[i], i));
    let mut quota = vec![per; n];
    for &i in order.iter().take(extra) {
        quota[i] += 1;
    }
    let mut owner: Vec<Option<usize>> = vec![None; count];
    for (i, partitions) in held.iter().enumerate() {
        for &p in partitions {
            let slot = &mut owner[p as usize];
            if quota[i] > 0 && slot.is_none() {
                *slot = Some(i);
                quota[i] -= 1;
            }
        }
    }
    let mut takers = order
        .into_iter()
        .flat_map(|i| std::iter::repeat_n(i, quota[i]));
    owner
        .into_iter()
        .map(|o| o.or_else(|| takers.next()).unwrap_or(0))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hb(
        id: &str,
        epoch: i32,
        subs: Option<&[&str]>,
        owned: Option<&[TopicPartition]>,
    ) -> Heartbeat {
        Heartbeat {
            member_id: id.into(),
            member_epoch: epoch,
            instance_id: None,
            rack_id: None,
            subscriptions: subs.map(|s| s.iter().map(|x| x.to_string()).collect()),
            assignor: None,
            owned: owned.map(|o| o.iter().copied().collect()),
            client_id: "c".into(),
            client_host: "h".into(),
        }
    }

    #[test]
    fn partitions_move_only_after_the_old_owner_lets_go() {
        let t = Uuid::new_v4();
        let md = move |name: &str| (name == "t").then_some((t, 4));
        let mut g = ConsumerGroup::new("g");
        let now = Instant::now();
        let a = g
            .heartbeat(hb("a", 0, Some(&["t"]), None), &md, now)
            .unwrap();
        assert_eq!(a.assignment.unwrap().len(), 4);
        let b = g
            .heartbeat(hb("b", 0, Some(&["t"]), None), &md, now)
            .unwrap();
        assert_eq!(
            b.assignment.map(|s| s.len()).unwrap_or(0),
            0,
            "b waits: a still owns everything"
        );
        // a heartbeats: told to keep only its half.
        let a2 = g
            .heartbeat(hb("a", a.member_epoch, None, None), &md, now)
            .unwrap();
        let kept = a2.assignment.unwrap();
        assert_eq!(kept.len(), 2);
        // b still waits until a reports that it revoked.
        let b2 = g
            .heartbeat(hb("b", b.member_epoch, None, None), &md, now)
            .unwrap();
        assert!(b2.assignment.is_none_or(|s| s.is_empty()));
        let owned: Vec<TopicPartition> = kept.iter().copied().collect();
        g.heartbeat(hb("a", a2.member_epoch, None, Some(&owned)), &md, now)
            .unwrap();
        let b3 = g
            .heartbeat(hb("b", b2.member_epoch, None, None), &md, now)
            .unwrap();
        let got = b3.assignment.unwrap();
        assert_eq!(got.len(), 2);
        assert!(got.is_disjoint(&kept));
        assert_eq!(g.state(), "Stable");
    }

    #[test]
    fn leaving_and_expiry_free_partitions() {
        let t = Uuid::new_v4();
        let md = move |name: &str| (name == "t").then_some((t, 2));
        let mut g = ConsumerGroup::new("g");
        let now = Instant::now();
        g.heartbeat(hb("a", 0, Some(&["t"]), None), &md, now)
            .unwrap();
        let b = g
            .heartbeat(hb("b", 0, Some(&["t"]), None), &md, now)
            .unwrap();
        g.heartbeat(hb("a", 1, None, Some(&[])), &md, now).unwrap();
        g.heartbeat(hb("a", -1, None, None), &md, now).unwrap();
        let b2 = g
            .heartbeat(hb("b", b.member_epoch, None, None), &md, now)
            .unwrap();
        assert_eq!(b2.assignment.unwrap().len(), 2);
        assert!(g.expire(now + Duration::from_secs(100), Duration::from_secs(45)));
        assert_eq!(g.state(), "Empty");
    }

    #[test]
    fn uniform_assignor_is_sticky() {
        let t = Uuid::new_v4();
        let md = move |name: &str| (name == "t").then_some((t, 7));
        let mut g = ConsumerGroup::new("g");
        let now = Instant::now();
        for id in ["a", "b", "c"] {
            g.heartbeat(hb(id, 0, Some(&["t"]), None), &md, now)
                .unwrap();
        }
        let sizes =
            |g: &ConsumerGroup| -> Vec<usize> { g.target.values().map(BTreeSet::len).collect() };
        assert_eq!(sizes(&g), vec![3, 2, 2]);
        let before = g.target.clone();
        let all: BTreeSet<TopicPartition> = before.values().flatten().copied().collect();
        assert_eq!(all.len(), 7, "every partition has exactly one owner");

        // c leaves: a and b keep all they had and share c's partitions.
        g.heartbeat(hb("c", -1, None, None), &md, now).unwrap();
        for id in ["a", "b"] {
            assert!(
                before[id].is_subset(&g.target[id]),
                "{id} keeps its partitions"
            );
        }
        let mut counts = sizes(&g);
        counts.sort_unstable();
        assert_eq!(counts, vec![3, 4]);
        let left = g.target.clone();

        // d joins: it takes only its share, each of the others gives up at most what it must.
        g.heartbeat(hb("d", 0, Some(&["t"]), None), &md, now)
            .unwrap();
        let mut counts = sizes(&g);
        counts.sort_unstable();
        assert_eq!(counts, vec![2, 2, 3]);
        for id in ["a", "b"] {
            assert!(
                g.target[id].is_subset(&left[id]),
                "{id} only loses partitions"
            );
        }
        let all: BTreeSet<TopicPartition> = g.target.values().flatten().copied().collect();
        assert_eq!(all.len(), 7);
    }

    #[test]
    fn a_leavers_partitions_reach_the_others_on_their_next_heartbeat() {
        let t = Uuid::new_v4();
        let md = move |name: &str| (name == "t").then_some((t, 6));
        let mut g = ConsumerGroup::new("g");
        let now = Instant::now();
        let mut epochs = BTreeMap::new();
        // Three members settle: each heartbeats until it owns its target.
        for _ in 0..3 {
            for id in ["a", "b", "c"] {
                let epoch = epochs.get(id).copied().unwrap_or(0);
                let owned: Vec<TopicPartition> = g
                    .members
                    .get(id)
                    .map(|m| m.assigned.iter().copied().collect())
                    .unwrap_or_default();
                let subs = (epoch == 0).then_some(&["t"][..]);
                let r = g
                    .heartbeat(hb(id, epoch, subs, Some(&owned)), &md, now)
                    .unwrap();
                epochs.insert(id, r.member_epoch);
            }
        }
        assert_eq!(g.state(), "Stable");
        g.heartbeat(hb("c", -1, None, None), &md, now).unwrap();
        let mut total = 0;
        for id in ["a", "b"] {
            let owned: Vec<TopicPartition> = g.members[id].assigned.iter().copied().collect();
            let r = g
                .heartbeat(hb(id, epochs[id], None, Some(&owned)), &md, now)
                .unwrap();
            total += r.assignment.map_or(0, |a| a.len());
        }
        assert_eq!(
            total, 6,
            "one heartbeat each hands out all of c's partitions"
        );
        assert_eq!(g.state(), "Stable");
    }

    #[test]
    fn range_assignor_gives_contiguous_ranges() {
        let t = Uuid::new_v4();
        let md = move |name: &str| (name == "t").then_some((t, 5));
        let mut g = ConsumerGroup::new("g");
        let now = Instant::now();
        let mut join = hb("a", 0, Some(&["t"]), None);
        join.assignor = Some("range".into());
        g.heartbeat(join, &md, now).unwrap();
        g.heartbeat(hb("b", 0, Some(&["t"]), None), &md, now)
            .unwrap();
        let a: Vec<i32> = g.target["a"].iter().map(|tp| tp.1).collect();
        let b: Vec<i32> = g.target["b"].iter().map(|tp| tp.1).collect();
        assert_eq!((a, b), (vec![0, 1, 2], vec![3, 4]));
        assert!(g
            .heartbeat(
                Heartbeat {
                    assignor: Some("magic".into()),
                    ..hb("a", 1, None, None)
                },
                &md,
                now
            )
            .is_err());
    }
}
