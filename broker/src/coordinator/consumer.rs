//! The KIP-848 consumer group protocol: ConsumerGroupHeartbeat and ConsumerGroupDescribe over
//! the state machine in [`super::consumer_group`]. In memory only: a KIP-848 group is rebuilt
//! by its members' heartbeats after a restart (its committed offsets are persisted).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use super::consumer_group::{ConsumerMember, Heartbeat, HeartbeatReply, TopicPartition};
use super::error::CoordinatorError;
use super::GroupCoordinator;

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
    pub target: BTreeMap<String, BTreeSet<TopicPartition>>,
}

impl GroupCoordinator {
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
    ) -> Result<HeartbeatReply, CoordinatorError> {
        self.groups
            .with(group_id, true, |slot| {
                if slot.classic_active() {
                    return Err(CoordinatorError::InconsistentGroupProtocol);
                }
                slot.consumer_mut(group_id)
                    .heartbeat(hb, metadata, Instant::now())
            })
            .unwrap_or(Err(CoordinatorError::NotAvailable(
                "the group could not be created",
            )))
    }

    /// A snapshot of a KIP-848 group for ConsumerGroupDescribe.
    pub fn consumer_describe(&self, group_id: &str) -> Option<ConsumerGroupSnapshot> {
        self.groups
            .with(group_id, false, |slot| {
                let cg = slot.consumer.as_ref()?;
                Some(ConsumerGroupSnapshot {
                    state: cg.state(),
                    epoch: cg.epoch,
                    assignment_epoch: cg.assignment_epoch,
                    assignor: cg.assignor.clone(),
                    members: cg.members.values().cloned().collect(),
                    target: cg.target.clone(),
                })
            })
            .flatten()
    }
}
