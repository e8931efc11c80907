//! The group coordinator: classic consumer groups (JoinGroup/SyncGroup/Heartbeat/LeaveGroup),
//! KIP-848 consumer groups, committed offsets and producer ids, with groups and offsets
//! persisted in the compacted internal topic `__consumer_offsets`.
//!
//! [`GroupCoordinator`] is a thin facade over parts split by concern:
//! - `registry`: every group id behind its own lock (classic and KIP-848 state of that id);
//! - [`group`] and `classic`: the classic protocol's state machine and the operations on it;
//! - [`consumer_group`] and `consumer`: the KIP-848 protocol;
//! - [`offsets`] and `commits`: the committed offsets and OffsetCommit/Fetch/Delete;
//! - `journal` (over `partition_log`): the append and replay of `__consumer_offsets`, on
//!   the blocking pool; [`store`] its record layout;
//! - `admin`: ListGroups, DescribeGroups, DeleteGroups;
//! - [`producer_ids`]: ids for idempotent producers, reserved durably in blocks.
//!
//! No lock is held across an append. A write that must survive a restart (offset commits and
//! deletions, a group's stable generation, group deletion) is appended before the client is
//! answered, and applied to memory by the log order, so a replay rebuilds the same state.
//! Outcomes are [`CoordinatorError`]s, mapped to Kafka codes in one place. A periodic
//! [`GroupCoordinator::tick`] expires members whose session ran out and ends rebalances whose
//! deadline passed.

mod admin;
mod classic;
mod commits;
mod consumer;
pub mod consumer_group;
pub mod error;
pub mod group;
mod journal;
pub mod offsets;
mod partition_log;
pub mod producer_ids;
mod registry;
pub mod store;
mod subscription;

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::BrokerError;
use crate::topics::TopicRegistry;
pub use admin::{DescribedMember, GroupDescription, ListedGroup};
pub use commits::committed;
pub use consumer::ConsumerGroupSnapshot;
pub use consumer_group::{ConsumerGroup, ConsumerMember, Heartbeat, HeartbeatReply};
pub use error::CoordinatorError;
pub use group::{Group, GroupState, JoinRequest, JoinResult, JoinedMember, Pending, SyncResult};
pub use store::{CommittedOffset, Stored, OFFSETS_TOPIC};

use journal::Journal;
use offsets::OffsetStore;
use registry::GroupRegistry;

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

/// MEMBER_ID_REQUIRED ids not used within this long are forgotten.
const PENDING_MEMBER_ID_TTL: Duration = Duration::from_secs(300);

/// The coordinator of every group on this broker; see the module docs.
#[derive(Debug)]
pub struct GroupCoordinator {
    /// Shared with write completions, which run on the blocking pool.
    groups: Arc<GroupRegistry>,
    offsets: Arc<OffsetStore>,
    journal: Journal,
    config: CoordinatorConfig,
}

impl GroupCoordinator {
    /// Opens (creating if needed) `__consumer_offsets` and replays it. Blocking (reads the
    /// whole topic): the server calls it on the blocking pool while it starts.
    ///
    /// # Errors
    /// The internal topic cannot be created or read.
    pub fn open(topics: &TopicRegistry, config: CoordinatorConfig) -> Result<Self, BrokerError> {
        let journal = Journal::open(topics)?;
        let coordinator = GroupCoordinator {
            groups: Arc::default(),
            offsets: Arc::default(),
            journal,
            config,
        };
        let records = coordinator.journal.replay()?;
        let replayed = records.len();
        for (offset, record) in records {
            coordinator.apply_replayed(offset, record);
        }
        tracing::debug!(records = replayed, "group coordinator loaded");
        Ok(coordinator)
    }

    /// Applies one replayed record, in log order.
    fn apply_replayed(&self, offset: i64, record: Stored) {
        match record {
            Stored::Offset {
                group,
                topic,
                partition,
                value,
            } => self.offsets.apply(offset, &group, &topic, partition, value),
            Stored::Group {
                group,
                value: Some((generation, protocol_type)),
            } => {
                self.groups.with(&group, true, |slot| {
                    let g = slot.classic_mut(&group);
                    g.generation = g.generation.max(generation);
                    g.protocol_type = Some(protocol_type);
                });
            }
            Stored::Group { group, value: None } => {
                // Nobody has joined during a replay: the group is empty, so it goes.
                self.groups.remove_if(&group, |_| Ok::<(), ()>(()));
            }
        }
    }

    /// Checks a session timeout against the broker's bounds.
    pub fn session_timeout_ok(&self, t: Duration) -> bool {
        t >= self.config.min_session_timeout && t <= self.config.max_session_timeout
    }

    /// The heartbeat interval KIP-848 members are told to use.
    pub fn consumer_heartbeat_interval(&self) -> Duration {
        self.config.consumer_heartbeat_interval
    }

    /// Longest commit metadata accepted.
    pub fn max_metadata_bytes(&self) -> usize {
        self.config.max_metadata_bytes
    }

    /// Expires members whose session ran out, completes rebalances past their deadline and
    /// forgets deleted offsets no older write can revive. In memory only, no I/O.
    pub fn tick(&self) {
        // Read before checking for writes in flight; see `OffsetStore::prune`.
        let prunable = self.offsets.newest_tombstone();
        let now = Instant::now();
        let timeout = self.config.consumer_session_timeout;
        self.groups.for_each(|_, slot| {
            if let Some(group) = slot.classic.as_mut() {
                let expired = group.expired_members(now);
                if !expired.is_empty() {
                    tracing::info!(group = %group.id, members = ?expired, "session timeout: removing members");
                    group.remove_members(&expired, now);
                }
                group.maybe_complete_join(now);
                group.expire_pending_ids(now, PENDING_MEMBER_ID_TTL);
            }
            if let Some(cg) = slot.consumer.as_mut() {
                cg.expire(now, timeout);
            }
        });
        if let Some(version) = prunable {
            if self.journal.quiet() {
                self.offsets.prune(version);
            }
        }
    }
}

#[cfg(test)]
mod tests;
