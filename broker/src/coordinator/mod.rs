//! The group coordinator: classic consumer groups (JoinGroup/SyncGroup/Heartbeat/LeaveGroup)
//! and committed offsets, persisted in the compacted internal topic `__consumer_offsets`.
//!
//! All groups live under one lock; every state change that must survive a restart (offset
//! commits and deletions, a group's generation, group deletion) is appended to
//! `__consumer_offsets` before the client is answered. A periodic [`GroupCoordinator::tick`]
//! expires members whose session ran out and ends rebalances whose deadline passed.

pub mod consumer_group;
pub mod group;
pub mod store;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::error::ResponseError;

use crate::error::BrokerError;
use crate::topics::{now_ms, Partition, TopicConfig, TopicRegistry};
pub use consumer_group::{ConsumerGroup, ConsumerMember, Heartbeat, HeartbeatReply};
pub use group::{Group, GroupState, JoinRequest, JoinResult, Pending, SyncResult};
pub use store::{CommittedOffset, Stored, OFFSETS_TOPIC};

/// Coordinator settings (Kafka's `group.*` broker keys).
#[derive(Debug, Clone)]
pub struct CoordinatorConfig {
    /// Smallest session timeout a member may ask for (`group.min.session.timeout.ms`).
    pub min_session_timeout: Duration,
    /// Largest session timeout (`group.max.session.timeout.ms`).
    pub max_session_timeout: Duration,
    /// How long a new group waits for more members before its first generation
    /// (`group.initial.rebalance.delay.ms`).
    pub initial_rebalance_delay: Duration,
    /// Longest commit metadata (`offset.metadata.max.bytes`).
    pub max_metadata_bytes: usize,
    /// KIP-848 member session timeout (`group.consumer.session.timeout.ms`).
    pub consumer_session_timeout: Duration,
    /// KIP-848 heartbeat interval told to members (`group.consumer.heartbeat.interval.ms`).
    pub consumer_heartbeat_interval: Duration,
}

impl Default for CoordinatorConfig {
    fn default() -> Self {
        CoordinatorConfig {
            min_session_timeout: Duration::from_millis(6_000),
            max_session_timeout: Duration::from_millis(1_800_000),
            initial_rebalance_delay: Duration::from_millis(0),
            max_metadata_bytes: 4096,
            consumer_session_timeout: Duration::from_millis(45_000),
            consumer_heartbeat_interval: Duration::from_millis(5_000),
        }
    }
}

/// What ConsumerGroupDescribe shows of a KIP-848 group.
#[derive(Debug, Clone)]
pub struct ConsumerGroupSnapshot {
    /// Empty, Reconciling or Stable.
    pub state: &'static str,
    /// Group epoch.
    pub epoch: i32,
    /// Target assignment epoch.
    pub assignment_epoch: i32,
    /// Assignor name.
    pub assignor: String,
    /// Members.
    pub members: Vec<ConsumerMember>,
    /// Target assignment per member id.
    pub target: BTreeMap<String, std::collections::BTreeSet<consumer_group::TopicPartition>>,
}

/// What DescribeGroups shows of a group.
#[derive(Debug, Clone)]
pub struct GroupDescription {
    /// State name.
    pub state: &'static str,
    /// Protocol type.
    pub protocol_type: String,
    /// Chosen protocol.
    pub protocol: String,
    /// (member id, instance id, client id, client host, metadata, assignment).
    pub members: Vec<(String, Option<String>, String, String, Bytes, Bytes)>,
}

#[derive(Debug, Default)]
struct Groups {
    groups: HashMap<String, Group>,
    consumer: HashMap<String, ConsumerGroup>,
    offsets: HashMap<String, BTreeMap<(String, i32), CommittedOffset>>,
}

/// The coordinator of every group on this broker.
#[derive(Debug)]
pub struct GroupCoordinator {
    inner: Mutex<Groups>,
    log: Arc<Partition>,
    config: CoordinatorConfig,
}

impl GroupCoordinator {
    /// Opens (creating if needed) `__consumer_offsets` and replays it.
    ///
    /// # Errors
    /// The internal topic cannot be created or read.
    pub fn open(topics: &TopicRegistry, config: CoordinatorConfig) -> Result<Self, BrokerError> {
        let topic = match topics.get(OFFSETS_TOPIC) {
            Some(t) => t,
            None => {
                let cfg = TopicConfig::from_pairs([("cleanup.policy", "compact")])
                    .map_err(BrokerError::InvalidConfig)?;
                topics.create(OFFSETS_TOPIC, 1, cfg).map_err(|e| {
                    BrokerError::InvalidConfig(format!(
                        "cannot create {OFFSETS_TOPIC}: {}",
                        e.message
                    ))
                })?
            }
        };
        let log = topic.partition(0).ok_or_else(|| {
            BrokerError::InvalidConfig(format!("{OFFSETS_TOPIC} has no partition 0"))
        })?;
        let mut inner = Groups::default();
        let records = store::replay(&log.log())?;
        let replayed = records.len();
        for r in records {
            inner.apply(r);
        }
        tracing::debug!(
            records = replayed,
            groups = inner.groups.len(),
            "group coordinator loaded"
        );
        Ok(GroupCoordinator {
            inner: Mutex::new(inner),
            log,
            config,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Groups> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn persist(&self, records: &[Stored]) -> Result<(), ResponseError> {
        if records.is_empty() {
            return Ok(());
        }
        let encoded: Vec<_> = records.iter().map(Stored::encode).collect();
        let now = now_ms();
        let batch = store::encode_batch(&encoded, now);
        let appended = self.log.log().append(&batch, now);
        match appended {
            Ok(_) => {
                // Whoever reads __consumer_offsets (offset tooling) sees commits at once.
                self.log.notify_appended();
                Ok(())
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot persist to {OFFSETS_TOPIC}");
                Err(ResponseError::CoordinatorNotAvailable)
            }
        }
    }

    /// Checks a session timeout against the broker's bounds.
    pub fn session_timeout_ok(&self, t: Duration) -> bool {
        t >= self.config.min_session_timeout && t <= self.config.max_session_timeout
    }

    /// JoinGroup.
    pub fn join(&self, group_id: &str, req: JoinRequest) -> Pending<JoinResult> {
        let mut g = self.lock();
        let group = g
            .groups
            .entry(group_id.to_string())
            .or_insert_with(|| Group::new(group_id));
        group.join(req, Instant::now(), self.config.initial_rebalance_delay)
    }

    /// SyncGroup. When the leader's assignment makes the group stable, its generation is
    /// persisted.
    pub fn sync(
        &self,
        group_id: &str,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
        assignments: Vec<(String, Bytes)>,
    ) -> Pending<SyncResult> {
        let mut g = self.lock();
        let Some(group) = g.groups.get_mut(group_id) else {
            return Pending::Now(Err(ResponseError::UnknownMemberId));
        };
        let was_stable = group.state == GroupState::Stable;
        let out = group.sync(
            member_id,
            instance_id,
            generation,
            assignments,
            Instant::now(),
        );
        if !was_stable && group.state == GroupState::Stable {
            let record = Stored::Group {
                group: group_id.to_string(),
                value: Some((
                    group.generation,
                    group.protocol_type.clone().unwrap_or_default(),
                )),
            };
            drop(g);
            if let Err(e) = self.persist(&[record]) {
                return Pending::Now(Err(e));
            }
        }
        out
    }

    /// Heartbeat.
    ///
    /// # Errors
    /// UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS, FENCED_INSTANCE_ID.
    pub fn heartbeat(
        &self,
        group_id: &str,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
    ) -> Result<(), ResponseError> {
        let mut g = self.lock();
        match g.groups.get_mut(group_id) {
            Some(group) => group.heartbeat(member_id, instance_id, generation, Instant::now()),
            None => Err(ResponseError::UnknownMemberId),
        }
    }

    /// LeaveGroup for each (member id, instance id); one result per member.
    pub fn leave(
        &self,
        group_id: &str,
        members: &[(String, Option<String>)],
    ) -> Vec<Result<(), ResponseError>> {
        let mut g = self.lock();
        let Some(group) = g.groups.get_mut(group_id) else {
            return members
                .iter()
                .map(|_| Err(ResponseError::UnknownMemberId))
                .collect();
        };
        let now = Instant::now();
        members
            .iter()
            .map(|(id, instance)| {
                let resolved = group.resolve_leaving(id, instance.as_deref())?;
                group.remove_members(&[resolved], now);
                Ok(())
            })
            .collect()
    }

    /// OffsetCommit: checks the member (unless it is a standalone commit, generation -1 and
    /// no member id, on a group without members), then stores and persists the offsets.
    ///
    /// # Errors
    /// Group-level: UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS,
    /// OFFSET_METADATA_TOO_LARGE is per partition and checked by the caller.
    pub fn commit(
        &self,
        group_id: &str,
        generation: i32,
        member_id: &str,
        instance_id: Option<&str>,
        offsets: Vec<(String, i32, CommittedOffset)>,
    ) -> Result<(), ResponseError> {
        let mut g = self.lock();
        let standalone = generation < 0 && member_id.is_empty();
        if let Some(cg) = g.consumer.get(group_id).filter(|cg| !cg.members.is_empty()) {
            match cg.members.get(member_id) {
                Some(m) if generation <= m.epoch => {}
                Some(_) => return Err(ResponseError::StaleMemberEpoch),
                None => return Err(ResponseError::UnknownMemberId),
            }
        } else if let Some(group) = g.groups.get(group_id) {
            if standalone {
                if !group.members.is_empty() {
                    return Err(ResponseError::UnknownMemberId);
                }
            } else {
                group.check_member(member_id, instance_id, generation)?;
                // As Kafka: while the group waits for rejoins the member's generation is
                // still current and its commit is taken; once the join is complete and the
                // assignment pending, the member must sync first.
                if group.state == GroupState::CompletingRebalance {
                    return Err(ResponseError::RebalanceInProgress);
                }
            }
        } else if !standalone {
            return Err(ResponseError::UnknownMemberId);
        }
        let records: Vec<Stored> = offsets
            .iter()
            .map(|(topic, partition, value)| Stored::Offset {
                group: group_id.to_string(),
                topic: topic.clone(),
                partition: *partition,
                value: Some(value.clone()),
            })
            .collect();
        self.persist(&records)?;
        for r in records {
            g.apply(r);
        }
        if let Some(group) = g.groups.get_mut(group_id) {
            if let Some(m) = group.members.get_mut(member_id) {
                m.last_seen = Instant::now();
            }
        }
        Ok(())
    }

    /// Committed offsets of a group: for the given topics and partitions, or all when `None`.
    pub fn fetch_offsets(
        &self,
        group_id: &str,
        wanted: Option<Vec<(String, Vec<i32>)>>,
    ) -> Vec<(String, i32, Option<CommittedOffset>)> {
        let g = self.lock();
        let committed = g.offsets.get(group_id);
        match wanted {
            Some(list) => list
                .into_iter()
                .flat_map(|(topic, parts)| {
                    parts
                        .into_iter()
                        .map(|p| {
                            (
                                topic.clone(),
                                p,
                                committed.and_then(|c| c.get(&(topic.clone(), p)).cloned()),
                            )
                        })
                        .collect::<Vec<_>>()
                })
                .collect(),
            None => committed
                .map(|c| {
                    c.iter()
                        .map(|((t, p), o)| (t.clone(), *p, Some(o.clone())))
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// Whether a group has members or offsets.
    pub fn exists(&self, group_id: &str) -> bool {
        let g = self.lock();
        g.groups.contains_key(group_id)
            || g.offsets.contains_key(group_id)
            || g.consumer.contains_key(group_id)
    }

    /// (group id, protocol type, state, group type "classic" or "consumer") of every group.
    pub fn list(&self) -> Vec<(String, String, &'static str, &'static str)> {
        let g = self.lock();
        let mut ids: Vec<&String> = g
            .groups
            .keys()
            .chain(g.offsets.keys())
            .chain(g.consumer.keys())
            .collect();
        ids.sort();
        ids.dedup();
        ids.into_iter()
            .map(|id| match (g.consumer.get(id), g.groups.get(id)) {
                (Some(cg), _) => (id.clone(), "consumer".to_string(), cg.state(), "consumer"),
                (None, Some(group)) => (
                    id.clone(),
                    group.protocol_type.clone().unwrap_or_default(),
                    group.state.name(),
                    "classic",
                ),
                (None, None) => (
                    id.clone(),
                    String::new(),
                    GroupState::Empty.name(),
                    "classic",
                ),
            })
            .collect()
    }

    /// ConsumerGroupHeartbeat (KIP-848).
    ///
    /// # Errors
    /// UNKNOWN_MEMBER_ID, FENCED_MEMBER_EPOCH, UNSUPPORTED_ASSIGNOR, or
    /// INCONSISTENT_GROUP_PROTOCOL when a classic group of that id has members.
    pub fn consumer_heartbeat(
        &self,
        group_id: &str,
        hb: Heartbeat,
        metadata: &dyn Fn(&str) -> Option<(uuid::Uuid, i32)>,
    ) -> Result<HeartbeatReply, ResponseError> {
        let mut g = self.lock();
        if g.groups
            .get(group_id)
            .is_some_and(|c| !c.members.is_empty())
        {
            return Err(ResponseError::InconsistentGroupProtocol);
        }
        let cg = g
            .consumer
            .entry(group_id.to_string())
            .or_insert_with(|| ConsumerGroup::new(group_id));
        cg.heartbeat(hb, metadata, Instant::now())
    }

    /// The heartbeat interval KIP-848 members are told to use.
    pub fn consumer_heartbeat_interval(&self) -> Duration {
        self.config.consumer_heartbeat_interval
    }

    /// A snapshot of a KIP-848 group for ConsumerGroupDescribe.
    pub fn consumer_describe(&self, group_id: &str) -> Option<ConsumerGroupSnapshot> {
        let g = self.lock();
        let cg = g.consumer.get(group_id)?;
        Some(ConsumerGroupSnapshot {
            state: cg.state(),
            epoch: cg.epoch,
            assignment_epoch: cg.assignment_epoch,
            assignor: cg.assignor.clone(),
            members: cg.members.values().cloned().collect(),
            target: cg.target.clone(),
        })
    }

    /// DescribeGroups for one group; `None` when it does not exist ("Dead" to clients).
    pub fn describe(&self, group_id: &str) -> Option<GroupDescription> {
        let g = self.lock();
        if g.consumer
            .get(group_id)
            .is_some_and(|cg| !cg.members.is_empty())
        {
            // A KIP-848 group is described by ConsumerGroupDescribe; the classic API sees it as
            // Dead, as Kafka answers.
            return None;
        }
        let Some(group) = g.groups.get(group_id) else {
            return g.offsets.contains_key(group_id).then(|| GroupDescription {
                state: GroupState::Empty.name(),
                protocol_type: String::new(),
                protocol: String::new(),
                members: Vec::new(),
            });
        };
        let protocol = group.protocol.clone().unwrap_or_default();
        let stable = group.state == GroupState::Stable;
        Some(GroupDescription {
            state: group.state.name(),
            protocol_type: group.protocol_type.clone().unwrap_or_default(),
            protocol: if stable || group.state == GroupState::CompletingRebalance {
                protocol.clone()
            } else {
                String::new()
            },
            members: group
                .members
                .values()
                .map(|m| {
                    let meta = m
                        .protocols
                        .iter()
                        .find(|(n, _)| *n == protocol)
                        .map(|(_, b)| b.clone())
                        .unwrap_or_default();
                    let assignment = if stable {
                        m.assignment.clone()
                    } else {
                        Bytes::new()
                    };
                    (
                        m.id.clone(),
                        m.instance_id.clone(),
                        m.client_id.clone(),
                        m.client_host.clone(),
                        meta,
                        assignment,
                    )
                })
                .collect(),
        })
    }

    /// DeleteGroups for one group: only an empty group can go; its offsets go with it.
    ///
    /// # Errors
    /// NON_EMPTY_GROUP, GROUP_ID_NOT_FOUND.
    pub fn delete(&self, group_id: &str) -> Result<(), ResponseError> {
        let mut g = self.lock();
        // Members whose session ran out are gone already, even if the periodic tick has not
        // noticed yet (a client deleting a group right after its session timeout expects that).
        let now = Instant::now();
        if let Some(group) = g.groups.get_mut(group_id) {
            let expired = group.expired_members(now);
            group.remove_members(&expired, now);
        }
        let timeout = self.config.consumer_session_timeout;
        if let Some(cg) = g.consumer.get_mut(group_id) {
            cg.expire(now, timeout);
        }
        if let Some(cg) = g.consumer.get(group_id) {
            if !cg.members.is_empty() {
                return Err(ResponseError::NonEmptyGroup);
            }
            g.consumer.remove(group_id);
        } else if let Some(group) = g.groups.get(group_id) {
            if !group.members.is_empty() {
                return Err(ResponseError::NonEmptyGroup);
            }
        } else if !g.offsets.contains_key(group_id) {
            return Err(ResponseError::GroupIdNotFound);
        }
        let mut records: Vec<Stored> = g
            .offsets
            .get(group_id)
            .map(|o| {
                o.keys()
                    .map(|(t, p)| Stored::Offset {
                        group: group_id.to_string(),
                        topic: t.clone(),
                        partition: *p,
                        value: None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        records.push(Stored::Group {
            group: group_id.to_string(),
            value: None,
        });
        self.persist(&records)?;
        for r in records {
            g.apply(r);
        }
        Ok(())
    }

    /// OffsetDelete: removes committed offsets of partitions the group is not subscribed to.
    ///
    /// # Errors
    /// GROUP_ID_NOT_FOUND for an unknown group. Per partition: GROUP_SUBSCRIBED_TO_TOPIC.
    pub fn delete_offsets(
        &self,
        group_id: &str,
        partitions: Vec<(String, i32)>,
    ) -> Result<Vec<(String, i32, Option<ResponseError>)>, ResponseError> {
        let mut g = self.lock();
        if !g.groups.contains_key(group_id) && !g.offsets.contains_key(group_id) {
            return Err(ResponseError::GroupIdNotFound);
        }
        let subscribed = g
            .groups
            .get(group_id)
            .filter(|gr| !gr.members.is_empty())
            .map(|gr| gr.subscribed_topics())
            .unwrap_or_default();
        let mut records = Vec::new();
        let results = partitions
            .into_iter()
            .map(|(topic, partition)| {
                if subscribed.contains(&topic) {
                    return (
                        topic,
                        partition,
                        Some(ResponseError::GroupSubscribedToTopic),
                    );
                }
                records.push(Stored::Offset {
                    group: group_id.to_string(),
                    topic: topic.clone(),
                    partition,
                    value: None,
                });
                (topic, partition, None)
            })
            .collect();
        self.persist(&records)?;
        for r in records {
            g.apply(r);
        }
        Ok(results)
    }

    /// Expires members whose session ran out and completes rebalances past their deadline.
    pub fn tick(&self) {
        let now = Instant::now();
        let mut g = self.lock();
        for group in g.groups.values_mut() {
            let expired = group.expired_members(now);
            if !expired.is_empty() {
                tracing::info!(group = %group.id, members = ?expired, "session timeout: removing members");
                group.remove_members(&expired, now);
            }
            group.maybe_complete_join(now);
            group.expire_pending_ids(now, Duration::from_secs(300));
        }
        let timeout = self.config.consumer_session_timeout;
        for cg in g.consumer.values_mut() {
            cg.expire(now, timeout);
        }
    }
}

impl Groups {
    fn apply(&mut self, r: Stored) {
        match r {
            Stored::Offset {
                group,
                topic,
                partition,
                value: Some(v),
            } => {
                self.offsets
                    .entry(group)
                    .or_default()
                    .insert((topic, partition), v);
            }
            Stored::Offset {
                group,
                topic,
                partition,
                value: None,
            } => {
                if let Some(o) = self.offsets.get_mut(&group) {
                    o.remove(&(topic, partition));
                    if o.is_empty() {
                        self.offsets.remove(&group);
                    }
                }
            }
            Stored::Group {
                group,
                value: Some((generation, ptype)),
            } => {
                let gr = self
                    .groups
                    .entry(group.clone())
                    .or_insert_with(|| Group::new(&group));
                if gr.members.is_empty() {
                    gr.generation = gr.generation.max(generation);
                    gr.protocol_type = Some(ptype);
                }
            }
            Stored::Group { group, value: None } => {
                if self
                    .groups
                    .get(&group)
                    .is_some_and(|g| g.members.is_empty())
                {
                    self.groups.remove(&group);
                }
            }
        }
    }
}

/// The committed offset a handler builds from a request partition.
pub fn committed(offset: i64, leader_epoch: i32, metadata: Option<&str>) -> CommittedOffset {
    CommittedOffset {
        offset,
        leader_epoch,
        commit_timestamp: now_ms(),
        metadata: metadata.unwrap_or_default().to_string(),
    }
}

impl GroupCoordinator {
    /// Longest commit metadata accepted.
    pub fn max_metadata_bytes(&self) -> usize {
        self.config.max_metadata_bytes
    }
}
