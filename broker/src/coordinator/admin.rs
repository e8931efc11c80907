//! Group administration: ListGroups, DescribeGroups and DeleteGroups, a thin layer over the
//! registry and the offset store.

use std::time::Instant;

use bytes::Bytes;

use super::commits::apply_offsets;
use super::error::CoordinatorError;
use super::group::{Group, GroupState};
use super::store::Stored;
use super::GroupCoordinator;

/// What DescribeGroups shows of a group.
#[derive(Debug, Clone)]
pub struct GroupDescription {
    /// State name.
    pub state: &'static str,
    /// Protocol type.
    pub protocol_type: String,
    /// Chosen protocol.
    pub protocol: String,
    /// Members.
    pub members: Vec<DescribedMember>,
}

/// One member as DescribeGroups shows it.
#[derive(Debug, Clone)]
pub struct DescribedMember {
    /// Member id.
    pub id: String,
    /// Static membership id.
    pub instance_id: Option<String>,
    /// Client id.
    pub client_id: String,
    /// Client host.
    pub client_host: String,
    /// Its metadata for the chosen protocol.
    pub metadata: Bytes,
    /// Its assignment, once the group is stable.
    pub assignment: Bytes,
}

/// One group as ListGroups shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ListedGroup {
    /// Group id.
    pub id: String,
    /// Protocol type ("consumer" for KIP-848 groups).
    pub protocol_type: String,
    /// State name.
    pub state: &'static str,
    /// "classic" or "consumer".
    pub kind: &'static str,
}

fn describe_classic(group: &Group) -> GroupDescription {
    let protocol = group.protocol.clone().unwrap_or_default();
    let stable = group.state == GroupState::Stable;
    GroupDescription {
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
            .map(|m| DescribedMember {
                id: m.id.clone(),
                instance_id: m.instance_id.clone(),
                client_id: m.client_id.clone(),
                client_host: m.client_host.clone(),
                metadata: m
                    .protocols
                    .iter()
                    .find(|(n, _)| *n == protocol)
                    .map(|(_, b)| b.clone())
                    .unwrap_or_default(),
                assignment: if stable {
                    m.assignment.clone()
                } else {
                    Bytes::new()
                },
            })
            .collect(),
    }
}

fn empty_description() -> GroupDescription {
    GroupDescription {
        state: GroupState::Empty.name(),
        protocol_type: String::new(),
        protocol: String::new(),
        members: Vec::new(),
    }
}

impl GroupCoordinator {
    /// Whether a group has members, state or offsets.
    pub fn exists(&self, group_id: &str) -> bool {
        self.groups.with(group_id, false, |_| ()).is_some() || self.offsets.has_group(group_id)
    }

    /// Every group, sorted by id.
    pub fn list(&self) -> Vec<ListedGroup> {
        let mut out = Vec::new();
        self.groups.for_each(|id, slot| {
            let listed = match (&slot.consumer, &slot.classic) {
                (Some(cg), _) => ListedGroup {
                    id: id.to_string(),
                    protocol_type: "consumer".to_string(),
                    state: cg.state(),
                    kind: "consumer",
                },
                (None, Some(group)) => ListedGroup {
                    id: id.to_string(),
                    protocol_type: group.protocol_type.clone().unwrap_or_default(),
                    state: group.state.name(),
                    kind: "classic",
                },
                (None, None) => return,
            };
            out.push(listed);
        });
        for id in self.offsets.groups() {
            if !out.iter().any(|g| g.id == id) {
                out.push(ListedGroup {
                    id,
                    protocol_type: String::new(),
                    state: GroupState::Empty.name(),
                    kind: "classic",
                });
            }
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        out
    }

    /// DescribeGroups for one group; `None` when it does not exist ("Dead" to clients).
    pub fn describe(&self, group_id: &str) -> Option<GroupDescription> {
        let described = self.groups.with(group_id, false, |slot| {
            if slot.consumer_active() {
                // A KIP-848 group is described by ConsumerGroupDescribe; the classic API sees
                // it as Dead, as Kafka answers.
                return Some(None);
            }
            slot.classic.as_ref().map(|g| Some(describe_classic(g)))
        });
        match described.flatten() {
            Some(d) => d,
            None => self.offsets.has_group(group_id).then(empty_description),
        }
    }

    /// DeleteGroups for one group: only an empty group can go; its offsets go with it.
    ///
    /// # Errors
    /// NON_EMPTY_GROUP, GROUP_ID_NOT_FOUND, or a storage error (the group's state is then gone
    /// from memory, but its offsets stay, in memory and on disk).
    ///
    /// # Cancel safety
    /// Cancel safe: once the write started, it is applied without the caller.
    pub async fn delete(&self, group_id: &str) -> Result<(), CoordinatorError> {
        // Members whose session ran out are gone already, even if the periodic tick has not
        // noticed yet (a client deleting a group right after its session timeout expects that).
        let now = Instant::now();
        let timeout = self.config.consumer_session_timeout;
        let removed = self.groups.remove_if(group_id, |slot| {
            if let Some(group) = slot.classic.as_mut() {
                let expired = group.expired_members(now);
                group.remove_members(&expired, now);
            }
            if let Some(cg) = slot.consumer.as_mut() {
                cg.expire(now, timeout);
            }
            if slot.consumer_active() {
                return Err(CoordinatorError::NonEmptyGroup);
            }
            match slot.classic.as_mut() {
                Some(group) => group.delete(),
                None => Ok(()),
            }
        });
        match removed {
            Some(result) => result?,
            None if self.offsets.has_group(group_id) => {}
            None => return Err(CoordinatorError::GroupIdNotFound),
        }
        let mut records: Vec<Stored> = self
            .offsets
            .partitions(group_id)
            .into_iter()
            .map(|(topic, partition)| Stored::Offset {
                group: group_id.to_string(),
                topic,
                partition,
                value: None,
            })
            .collect();
        records.push(Stored::Group {
            group: group_id.to_string(),
            value: None,
        });
        self.journal
            .write(records, apply_offsets(self.offsets.clone()))
            .await
    }
}
