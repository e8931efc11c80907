//! One classic consumer group: members, generations, and the rebalance state machine of
//! Kafka's group coordinator (Empty → PreparingRebalance → CompletingRebalance → Stable, and
//! Dead once deleted).
//!
//! Pure state, no I/O: the coordinator holds each group under its own lock and calls these
//! methods; a member waiting for a JoinGroup or SyncGroup answer is represented by a oneshot
//! sender that the state machine completes when the rebalance reaches that point. The one
//! answer that must wait for a write is the leader's SyncGroup that makes the group stable:
//! [`Group::sync`] hands its waiters back as [`Stabilized`], and the coordinator completes them
//! once the new generation is in `__consumer_offsets`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::oneshot;

use super::error::CoordinatorError;
use super::subscription::decode_subscription_topics;

/// The group's rebalance state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupState {
    /// No members (offsets may exist).
    Empty,
    /// Waiting for members to (re)join.
    PreparingRebalance,
    /// Joined; waiting for the leader's assignment.
    CompletingRebalance,
    /// Assignment handed out.
    Stable,
    /// Deleted: whoever still holds the group must look it up again.
    Dead,
}

impl GroupState {
    /// The name Kafka's admin APIs use.
    pub fn name(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
            GroupState::Dead => "Dead",
        }
    }
}

/// What a JoinGroup caller gets back.
#[derive(Debug, Clone)]
pub struct JoinResult {
    /// Error, if any.
    pub error: Option<CoordinatorError>,
    /// The new generation.
    pub generation: i32,
    /// The group's protocol type (e.g. "consumer").
    pub protocol_type: Option<String>,
    /// The protocol (assignor) chosen for this generation.
    pub protocol: Option<String>,
    /// The leader's member id.
    pub leader: String,
    /// This member's id.
    pub member_id: String,
    /// For the leader only: every member with its metadata for the chosen protocol.
    pub members: Vec<JoinedMember>,
}

/// A member as the leader's JoinGroup answer lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct JoinedMember {
    /// Member id.
    pub id: String,
    /// Static membership id.
    pub instance_id: Option<String>,
    /// Its metadata for the chosen protocol.
    pub metadata: Bytes,
}

impl JoinResult {
    /// An error answer.
    pub fn error(error: CoordinatorError, member_id: &str) -> Self {
        JoinResult {
            error: Some(error),
            generation: -1,
            protocol_type: None,
            protocol: None,
            leader: String::new(),
            member_id: member_id.to_string(),
            members: Vec::new(),
        }
    }
}

/// What a SyncGroup caller gets back: its assignment, or an error.
pub type SyncResult = Result<Bytes, CoordinatorError>;

/// What [`Group::sync`] answers: the caller's reply, and when the leader's assignment made the
/// group stable, the answers that wait for the new generation to be stored.
#[derive(Debug)]
pub struct SyncOutcome {
    /// The caller's answer.
    pub reply: Pending<SyncResult>,
    /// Set when this SyncGroup made the group stable.
    pub stabilized: Option<Stabilized>,
}

/// A group that just became stable: its generation must be stored before its members are
/// told their assignments.
#[derive(Debug)]
pub struct Stabilized {
    /// The stable generation.
    pub generation: i32,
    /// The group's protocol type.
    pub protocol_type: String,
    notify: Vec<(oneshot::Sender<SyncResult>, Bytes)>,
}

impl Stabilized {
    /// Answers every waiting SyncGroup: its assignment once the generation is stored, or the
    /// storage error (the coordinator then rebalances the group, as Kafka does).
    pub fn complete(self, stored: &Result<(), CoordinatorError>) {
        for (tx, assignment) in self.notify {
            let _ = tx.send(stored.clone().map(|()| assignment));
        }
    }
}

/// One member of a group.
#[derive(Debug)]
pub struct Member {
    /// Member id handed out by the coordinator.
    pub id: String,
    /// Static membership id (`group.instance.id`).
    pub instance_id: Option<String>,
    /// Client id from the request header.
    pub client_id: String,
    /// Client address.
    pub client_host: String,
    /// Session timeout the member asked for.
    pub session_timeout: Duration,
    /// Rebalance timeout the member asked for.
    pub rebalance_timeout: Duration,
    /// Supported protocols, in preference order, with their metadata.
    pub protocols: Vec<(String, Bytes)>,
    /// This generation's assignment.
    pub assignment: Bytes,
    /// Last sign of life.
    pub last_seen: Instant,
    /// Order of joining; the oldest member becomes leader.
    joined_seq: u64,
    join_waiter: Option<oneshot::Sender<JoinResult>>,
    sync_waiter: Option<oneshot::Sender<SyncResult>>,
}

/// A JoinGroup request as the state machine needs it.
#[derive(Debug, Clone)]
pub struct JoinRequest {
    /// Member id, empty for a new member.
    pub member_id: String,
    /// Static membership id.
    pub instance_id: Option<String>,
    /// Client id.
    pub client_id: String,
    /// Client host.
    pub client_host: String,
    /// Session timeout.
    pub session_timeout: Duration,
    /// Rebalance timeout.
    pub rebalance_timeout: Duration,
    /// Protocol type.
    pub protocol_type: String,
    /// Protocols with metadata.
    pub protocols: Vec<(String, Bytes)>,
    /// JoinGroup v4+: a new member must first learn its id (MEMBER_ID_REQUIRED).
    pub require_known_member_id: bool,
}

/// Outcome of a join: an answer now, or later through the receiver.
#[derive(Debug)]
pub enum Pending<T> {
    /// Answer at once.
    Now(T),
    /// Answer when the rebalance gets there.
    Later(oneshot::Receiver<T>),
}

/// A consumer group.
#[derive(Debug)]
pub struct Group {
    /// Group id.
    pub id: String,
    /// Current state.
    pub state: GroupState,
    /// Current generation.
    pub generation: i32,
    /// Protocol type of the members ("consumer", "connect", ...).
    pub protocol_type: Option<String>,
    /// Chosen protocol (assignor) of this generation.
    pub protocol: Option<String>,
    /// Leader's member id.
    pub leader: Option<String>,
    /// Members by id.
    pub members: BTreeMap<String, Member>,
    /// Ids handed out with MEMBER_ID_REQUIRED, not yet joined.
    pending_ids: BTreeMap<String, Instant>,
    /// When the current PreparingRebalance gives up on members that have not rejoined.
    rebalance_deadline: Option<Instant>,
    next_seq: u64,
}

impl Group {
    /// A new, empty group.
    pub fn new(id: &str) -> Self {
        Group {
            id: id.to_string(),
            state: GroupState::Empty,
            generation: 0,
            protocol_type: None,
            protocol: None,
            leader: None,
            members: BTreeMap::new(),
            pending_ids: BTreeMap::new(),
            rebalance_deadline: None,
            next_seq: 0,
        }
    }

    fn new_member_id(&self, client_id: &str) -> String {
        format!("{client_id}-{}", uuid::Uuid::new_v4())
    }

    /// Handles a JoinGroup.
    pub fn join(
        &mut self,
        req: JoinRequest,
        now: Instant,
        initial_delay: Duration,
    ) -> Pending<JoinResult> {
        if self.state == GroupState::Dead {
            return Pending::Now(JoinResult::error(GROUP_DELETED, &req.member_id));
        }
        if !self.members.is_empty()
            || self.protocol_type.is_some() && self.state != GroupState::Empty
        {
            let same_type = self.protocol_type.as_deref() == Some(req.protocol_type.as_str());
            let common = req.protocols.iter().any(|(name, _)| {
                self.members
                    .values()
                    .filter(|m| m.id != req.member_id)
                    .all(|m| m.protocols.iter().any(|(n, _)| n == name))
            });
            if !self.members.is_empty() && (!same_type || !common) {
                return Pending::Now(JoinResult::error(
                    CoordinatorError::InconsistentGroupProtocol,
                    &req.member_id,
                ));
            }
        }
        // The leader id a static member replacing its old identity is told (see below).
        let mut replaced_static: Option<Option<String>> = None;
        let member_id = if req.member_id.is_empty() {
            if let Some(instance) = &req.instance_id {
                // A static member coming back: it takes over its old identity.
                let old = self
                    .members
                    .values()
                    .find(|m| m.instance_id.as_ref() == Some(instance))
                    .map(|m| m.id.clone());
                let id = self.new_member_id(&req.client_id);
                if let Some(old_id) = old {
                    if let Some(mut m) = self.members.remove(&old_id) {
                        if let Some(w) = m.join_waiter.take() {
                            let _ = w.send(JoinResult::error(
                                CoordinatorError::FencedInstanceId,
                                &old_id,
                            ));
                        }
                        if let Some(w) = m.sync_waiter.take() {
                            let _ = w.send(Err(CoordinatorError::FencedInstanceId));
                        }
                        m.id = id.clone();
                        replaced_static = Some(self.leader.clone());
                        if self.leader.as_deref() == Some(old_id.as_str()) {
                            self.leader = Some(id.clone());
                        }
                        self.members.insert(id.clone(), m);
                    }
                }
                id
            } else if req.require_known_member_id {
                let id = self.new_member_id(&req.client_id);
                self.pending_ids.insert(id.clone(), now);
                return Pending::Now(JoinResult::error(CoordinatorError::MemberIdRequired, &id));
            } else {
                self.new_member_id(&req.client_id)
            }
        } else {
            if let Some(instance) = &req.instance_id {
                let holder = self
                    .members
                    .values()
                    .find(|m| m.instance_id.as_ref() == Some(instance));
                if holder.is_some_and(|m| m.id != req.member_id) {
                    return Pending::Now(JoinResult::error(
                        CoordinatorError::FencedInstanceId,
                        &req.member_id,
                    ));
                }
            }
            if !self.members.contains_key(&req.member_id)
                && self.pending_ids.remove(&req.member_id).is_none()
            {
                return Pending::Now(JoinResult::error(
                    CoordinatorError::UnknownMemberId,
                    &req.member_id,
                ));
            }
            req.member_id.clone()
        };

        let (tx, rx) = oneshot::channel();
        let changed = match self.members.get_mut(&member_id) {
            Some(m) => {
                let changed = m.protocols != req.protocols;
                m.protocols = req.protocols;
                m.session_timeout = req.session_timeout;
                m.rebalance_timeout = req.rebalance_timeout;
                m.client_id = req.client_id;
                m.client_host = req.client_host;
                m.last_seen = now;
                m.join_waiter = Some(tx);
                changed
            }
            None => {
                self.next_seq += 1;
                self.members.insert(
                    member_id.clone(),
                    Member {
                        id: member_id.clone(),
                        instance_id: req.instance_id,
                        client_id: req.client_id,
                        client_host: req.client_host,
                        session_timeout: req.session_timeout,
                        rebalance_timeout: req.rebalance_timeout,
                        protocols: req.protocols,
                        assignment: Bytes::new(),
                        last_seen: now,
                        joined_seq: self.next_seq,
                        join_waiter: Some(tx),
                        sync_waiter: None,
                    },
                );
                true
            }
        };
        if self.protocol_type.is_none() || self.state == GroupState::Empty {
            self.protocol_type = Some(req.protocol_type);
        }
        match self.state {
            GroupState::PreparingRebalance | GroupState::Dead => {}
            GroupState::Empty => self.prepare_rebalance(now, Some(initial_delay)),
            // KIP-345, as Kafka: a static member coming back to a stable group takes its old
            // place without a rebalance, as long as the group would keep its protocol. It is
            // told the current generation and the leader id from before the replacement, so
            // even a returning leader acts as a follower and its SyncGroup hands back the
            // assignment it had (a leader computing a new one would have nobody to send it to).
            GroupState::Stable
                if replaced_static.is_some() && self.select_protocol() == self.protocol =>
            {
                let told_leader = replaced_static.flatten();
                if let Some(w) = self
                    .members
                    .get_mut(&member_id)
                    .and_then(|m| m.join_waiter.take())
                {
                    let _ = w.send(self_result(
                        self.generation,
                        &self.protocol_type,
                        &self.protocol,
                        &told_leader,
                        &member_id,
                        Vec::new(),
                    ));
                }
            }
            // Its old id may already be in the assignment the leader is computing: rebalance.
            GroupState::CompletingRebalance if replaced_static.is_some() => {
                self.prepare_rebalance(now, None);
            }
            GroupState::CompletingRebalance | GroupState::Stable => {
                let is_leader = self.leader.as_deref() == Some(member_id.as_str());
                if changed || (is_leader && self.state == GroupState::Stable) {
                    self.prepare_rebalance(now, None);
                } else {
                    // A follower rejoining with nothing new: tell it the current generation.
                    if let Some(m) = self.members.get_mut(&member_id) {
                        if let Some(w) = m.join_waiter.take() {
                            let _ = w.send(self_result(
                                self.generation,
                                &self.protocol_type,
                                &self.protocol,
                                &self.leader,
                                &member_id,
                                Vec::new(),
                            ));
                        }
                    }
                }
            }
        }
        self.maybe_complete_join(now);
        Pending::Later(rx)
    }

    /// Starts a rebalance: everyone must rejoin before the deadline.
    fn prepare_rebalance(&mut self, now: Instant, initial_delay: Option<Duration>) {
        let timeout = match initial_delay {
            Some(d) => d,
            None => self
                .members
                .values()
                .map(|m| m.rebalance_timeout)
                .max()
                .unwrap_or_default(),
        };
        for m in self.members.values_mut() {
            if let Some(w) = m.sync_waiter.take() {
                let _ = w.send(Err(CoordinatorError::RebalanceInProgress));
            }
        }
        self.state = GroupState::PreparingRebalance;
        self.rebalance_deadline = Some(now + timeout);
    }

    /// Completes the join phase once every member has rejoined, or the deadline has passed
    /// (members that did not rejoin are dropped).
    pub fn maybe_complete_join(&mut self, now: Instant) {
        if self.state != GroupState::PreparingRebalance {
            return;
        }
        let all_joined = self.members.values().all(|m| m.join_waiter.is_some());
        let expired = self.rebalance_deadline.is_some_and(|d| now >= d);
        // An initial delay lets a crowd of new members join one generation together.
        let delay_running =
            self.generation == 0 && !expired && self.rebalance_deadline.is_some_and(|d| d > now);
        if !expired && (!all_joined || delay_running) {
            return;
        }
        self.members.retain(|_, m| m.join_waiter.is_some());
        self.rebalance_deadline = None;
        self.generation += 1;
        if self.members.is_empty() {
            self.state = GroupState::Empty;
            self.protocol = None;
            self.leader = None;
            return;
        }
        self.protocol = self.select_protocol();
        if !self
            .leader
            .as_ref()
            .is_some_and(|l| self.members.contains_key(l))
        {
            self.leader = self
                .members
                .values()
                .min_by_key(|m| m.joined_seq)
                .map(|m| m.id.clone());
        }
        let protocol = self.protocol.clone().unwrap_or_default();
        let roster: Vec<JoinedMember> = self
            .members
            .values()
            .map(|m| {
                let meta = m
                    .protocols
                    .iter()
                    .find(|(n, _)| *n == protocol)
                    .map(|(_, b)| b.clone())
                    .unwrap_or_default();
                JoinedMember {
                    id: m.id.clone(),
                    instance_id: m.instance_id.clone(),
                    metadata: meta,
                }
            })
            .collect();
        self.state = GroupState::CompletingRebalance;
        let (generation, ptype, proto, leader) = (
            self.generation,
            self.protocol_type.clone(),
            self.protocol.clone(),
            self.leader.clone(),
        );
        for m in self.members.values_mut() {
            m.assignment = Bytes::new();
            m.last_seen = now;
            if let Some(w) = m.join_waiter.take() {
                let members = if leader.as_deref() == Some(m.id.as_str()) {
                    roster.clone()
                } else {
                    Vec::new()
                };
                let _ = w.send(self_result(
                    generation, &ptype, &proto, &leader, &m.id, members,
                ));
            }
        }
    }

    /// The protocol every member supports that most members prefer (Kafka's vote).
    fn select_protocol(&self) -> Option<String> {
        let first = self.members.values().next()?;
        let candidates: Vec<&String> = first
            .protocols
            .iter()
            .map(|(n, _)| n)
            .filter(|n| {
                self.members
                    .values()
                    .all(|m| m.protocols.iter().any(|(p, _)| p == *n))
            })
            .collect();
        let mut votes: BTreeMap<&String, usize> = BTreeMap::new();
        for m in self.members.values() {
            if let Some((n, _)) = m.protocols.iter().find(|(n, _)| candidates.contains(&n)) {
                *votes.entry(n).or_default() += 1;
            }
        }
        candidates
            .into_iter()
            .max_by_key(|c| (votes.get(c).copied().unwrap_or(0), std::cmp::Reverse(0)))
            .cloned()
    }

    /// Checks member, instance and generation of a SyncGroup/Heartbeat/OffsetCommit.
    pub fn check_member(
        &self,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
    ) -> Result<(), CoordinatorError> {
        let Some(m) = self.members.get(member_id) else {
            if instance_id.is_some_and(|i| {
                self.members
                    .values()
                    .any(|m| m.instance_id.as_deref() == Some(i))
            }) {
                return Err(CoordinatorError::FencedInstanceId);
            }
            return Err(CoordinatorError::UnknownMemberId);
        };
        if instance_id.is_some() && m.instance_id.as_deref() != instance_id {
            return Err(CoordinatorError::FencedInstanceId);
        }
        if generation != self.generation {
            return Err(CoordinatorError::IllegalGeneration);
        }
        Ok(())
    }

    /// Handles a SyncGroup. The leader's assignment makes the group stable; the answers to
    /// every member then wait in [`SyncOutcome::stabilized`] for the caller to store the
    /// generation.
    pub fn sync(
        &mut self,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
        assignments: Vec<(String, Bytes)>,
        now: Instant,
    ) -> SyncOutcome {
        let now_answer = |r: SyncResult| SyncOutcome {
            reply: Pending::Now(r),
            stabilized: None,
        };
        if self.state == GroupState::Dead {
            return now_answer(Err(GROUP_DELETED));
        }
        if let Err(e) = self.check_member(member_id, instance_id, generation) {
            return now_answer(Err(e));
        }
        match self.state {
            GroupState::Empty | GroupState::Dead => {
                now_answer(Err(CoordinatorError::UnknownMemberId))
            }
            GroupState::PreparingRebalance => {
                now_answer(Err(CoordinatorError::RebalanceInProgress))
            }
            GroupState::Stable => {
                let m = self.members.get_mut(member_id);
                now_answer(Ok(m
                    .map(|m| {
                        m.last_seen = now;
                        m.assignment.clone()
                    })
                    .unwrap_or_default()))
            }
            GroupState::CompletingRebalance => {
                let (tx, rx) = oneshot::channel();
                if let Some(m) = self.members.get_mut(member_id) {
                    m.last_seen = now;
                    m.sync_waiter = Some(tx);
                }
                let mut stabilized = None;
                if self.leader.as_deref() == Some(member_id) {
                    for (id, assignment) in assignments {
                        if let Some(m) = self.members.get_mut(&id) {
                            m.assignment = assignment;
                        }
                    }
                    self.state = GroupState::Stable;
                    let notify = self
                        .members
                        .values_mut()
                        .filter_map(|m| Some((m.sync_waiter.take()?, m.assignment.clone())))
                        .collect();
                    stabilized = Some(Stabilized {
                        generation: self.generation,
                        protocol_type: self.protocol_type.clone().unwrap_or_default(),
                        notify,
                    });
                }
                SyncOutcome {
                    reply: Pending::Later(rx),
                    stabilized,
                }
            }
        }
    }

    /// The stable generation could not be stored, so its members were told an error: they
    /// must rejoin, and the group rebalances (unless it moved on meanwhile).
    pub fn store_failed(&mut self, generation: i32, now: Instant) {
        if self.state == GroupState::Stable && self.generation == generation {
            self.prepare_rebalance(now, None);
        }
    }

    /// DeleteGroups: an empty group becomes Dead; callers holding it must look it up again.
    ///
    /// # Errors
    /// NON_EMPTY_GROUP while it has members.
    pub fn delete(&mut self) -> Result<(), CoordinatorError> {
        if !self.members.is_empty() {
            return Err(CoordinatorError::NonEmptyGroup);
        }
        self.state = GroupState::Dead;
        self.pending_ids.clear();
        self.rebalance_deadline = None;
        Ok(())
    }

    /// Handles a Heartbeat.
    pub fn heartbeat(
        &mut self,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
        now: Instant,
    ) -> Result<(), CoordinatorError> {
        match self.state {
            GroupState::Empty => return Err(CoordinatorError::UnknownMemberId),
            GroupState::Dead => return Err(GROUP_DELETED),
            _ => {}
        }
        self.check_member(member_id, instance_id, generation)?;
        if let Some(m) = self.members.get_mut(member_id) {
            m.last_seen = now;
        }
        match self.state {
            GroupState::PreparingRebalance => Err(CoordinatorError::RebalanceInProgress),
            _ => Ok(()),
        }
    }

    /// Removes members (LeaveGroup, session expiry) and rebalances the rest.
    pub fn remove_members(&mut self, ids: &[String], now: Instant) {
        let mut removed = false;
        for id in ids {
            if let Some(mut m) = self.members.remove(id) {
                removed = true;
                if let Some(w) = m.join_waiter.take() {
                    let _ = w.send(JoinResult::error(CoordinatorError::UnknownMemberId, id));
                }
                if let Some(w) = m.sync_waiter.take() {
                    let _ = w.send(Err(CoordinatorError::UnknownMemberId));
                }
            }
        }
        if !removed {
            return;
        }
        match self.state {
            GroupState::Stable | GroupState::CompletingRebalance => {
                if self.members.is_empty() {
                    self.generation += 1;
                    self.state = GroupState::Empty;
                    self.protocol = None;
                    self.leader = None;
                } else {
                    self.prepare_rebalance(now, None);
                }
            }
            GroupState::PreparingRebalance => self.maybe_complete_join(now),
            GroupState::Empty | GroupState::Dead => {}
        }
    }

    /// Members whose session has run out (not counting those parked in a JoinGroup).
    pub fn expired_members(&self, now: Instant) -> Vec<String> {
        self.members
            .values()
            .filter(|m| {
                m.join_waiter.is_none() && now.duration_since(m.last_seen) > m.session_timeout
            })
            .map(|m| m.id.clone())
            .collect()
    }

    /// Forgets member ids handed out with MEMBER_ID_REQUIRED that never came back.
    pub fn expire_pending_ids(&mut self, now: Instant, after: Duration) {
        self.pending_ids
            .retain(|_, t| now.duration_since(*t) < after);
    }

    /// The member ids of members whose instance id matches, or the id itself.
    pub fn resolve_leaving(
        &self,
        member_id: &str,
        instance_id: Option<&str>,
    ) -> Result<String, CoordinatorError> {
        match instance_id {
            Some(i) => match self
                .members
                .values()
                .find(|m| m.instance_id.as_deref() == Some(i))
            {
                Some(m) if member_id.is_empty() || m.id == member_id => Ok(m.id.clone()),
                Some(_) => Err(CoordinatorError::FencedInstanceId),
                None => Err(CoordinatorError::UnknownMemberId),
            },
            None if self.members.contains_key(member_id) => Ok(member_id.to_string()),
            None => Err(CoordinatorError::UnknownMemberId),
        }
    }

    /// Topics the members subscribe to, if the group uses the consumer protocol (decoded from
    /// each member's subscription metadata).
    pub fn subscribed_topics(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.protocol_type.as_deref() != Some("consumer") {
            return out;
        }
        for m in self.members.values() {
            if let Some((_, meta)) = m.protocols.first() {
                out.extend(decode_subscription_topics(meta));
            }
        }
        out.sort();
        out.dedup();
        out
    }
}

/// What a member of a deleted group is told: it finds the coordinator again and rejoins a new
/// group of that id.
const GROUP_DELETED: CoordinatorError = CoordinatorError::NotAvailable("the group was deleted");

fn self_result(
    generation: i32,
    protocol_type: &Option<String>,
    protocol: &Option<String>,
    leader: &Option<String>,
    member_id: &str,
    members: Vec<JoinedMember>,
) -> JoinResult {
    JoinResult {
        error: None,
        generation,
        protocol_type: protocol_type.clone(),
        protocol: protocol.clone(),
        leader: leader.clone().unwrap_or_default(),
        member_id: member_id.to_string(),
        members,
    }
}

#[cfg(test)]
mod tests;
