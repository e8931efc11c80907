//! OffsetCommit, OffsetFetch and OffsetDelete: the member checks under the group's lock, the
//! write through the journal with no lock held, and the reads from the offset store.

use std::sync::Arc;
use std::time::Instant;

use super::error::CoordinatorError;
use super::group::GroupState;
use super::journal::Written;
use super::offsets::OffsetStore;
use super::store::{CommittedOffset, Stored};
use super::GroupCoordinator;
use crate::topics::now_ms;

/// The committed offset a handler builds from a request partition.
pub fn committed(offset: i64, leader_epoch: i32, metadata: Option<&str>) -> CommittedOffset {
    CommittedOffset {
        offset,
        leader_epoch,
        commit_timestamp: now_ms(),
        metadata: metadata.unwrap_or_default().to_string(),
    }
}

/// A journal completion that applies the written offset records at their log offsets.
pub(super) fn apply_offsets(store: Arc<OffsetStore>) -> impl FnOnce(&Written, Vec<Stored>) + Send {
    move |written, records| {
        let Ok(base) = written else { return };
        for (i, r) in records.into_iter().enumerate() {
            if let Stored::Offset {
                group,
                topic,
                partition,
                value,
            } = r
            {
                let version = base + i64::try_from(i).unwrap_or(i64::MAX);
                store.apply(version, &group, &topic, partition, value);
            }
        }
    }
}

impl GroupCoordinator {
    /// OffsetCommit: checks the member (unless it is a standalone commit, generation -1 and
    /// no member id, on a group without members), then stores and persists the offsets.
    ///
    /// # Errors
    /// Group-level: UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS,
    /// STALE_MEMBER_EPOCH, or a storage error. OFFSET_METADATA_TOO_LARGE is per partition and
    /// checked by the caller.
    ///
    /// # Cancel safety
    /// Cancel safe: once the write started, it is applied without the caller.
    pub async fn commit(
        &self,
        group_id: &str,
        generation: i32,
        member_id: &str,
        instance_id: Option<&str>,
        offsets: Vec<(String, i32, CommittedOffset)>,
    ) -> Result<(), CoordinatorError> {
        let standalone = generation < 0 && member_id.is_empty();
        let checked = self.groups.with(group_id, false, |slot| {
            if let Some(cg) = slot.consumer.as_ref().filter(|cg| !cg.members.is_empty()) {
                return match cg.members.get(member_id) {
                    Some(m) if generation <= m.epoch => Ok(()),
                    Some(_) => Err(CoordinatorError::StaleMemberEpoch),
                    None => Err(CoordinatorError::UnknownMemberId),
                };
            }
            let Some(group) = slot.classic.as_mut() else {
                return if standalone {
                    Ok(())
                } else {
                    Err(CoordinatorError::UnknownMemberId)
                };
            };
            if standalone {
                return if group.members.is_empty() {
                    Ok(())
                } else {
                    Err(CoordinatorError::UnknownMemberId)
                };
            }
            group.check_member(member_id, instance_id, generation)?;
            // As Kafka: while the group waits for rejoins the member's generation is still
            // current and its commit is taken; once the join is complete and the assignment
            // pending, the member must sync first.
            if group.state == GroupState::CompletingRebalance {
                return Err(CoordinatorError::RebalanceInProgress);
            }
            if let Some(m) = group.members.get_mut(member_id) {
                m.last_seen = Instant::now();
            }
            Ok(())
        });
        match checked {
            Some(result) => result?,
            None if standalone => {}
            None => return Err(CoordinatorError::UnknownMemberId),
        }
        let records = offsets
            .into_iter()
            .map(|(topic, partition, value)| Stored::Offset {
                group: group_id.to_string(),
                topic,
                partition,
                value: Some(value),
            })
            .collect();
        self.journal
            .write(records, apply_offsets(self.offsets.clone()))
            .await
    }

    /// Committed offsets of a group: for the given topics and partitions, or all when `None`.
    pub fn fetch_offsets(
        &self,
        group_id: &str,
        wanted: Option<Vec<(String, Vec<i32>)>>,
    ) -> Vec<(String, i32, Option<CommittedOffset>)> {
        match wanted {
            Some(list) => list
                .into_iter()
                .flat_map(|(topic, parts)| {
                    parts
                        .into_iter()
                        .map(|p| {
                            let o = self.offsets.get(group_id, &topic, p);
                            (topic.clone(), p, o)
                        })
                        .collect::<Vec<_>>()
                })
                .collect(),
            None => self
                .offsets
                .all(group_id)
                .into_iter()
                .map(|(t, p, o)| (t, p, Some(o)))
                .collect(),
        }
    }

    /// OffsetDelete: removes committed offsets of partitions the group is not subscribed to.
    ///
    /// # Errors
    /// GROUP_ID_NOT_FOUND for an unknown group, or a storage error. Per partition:
    /// GROUP_SUBSCRIBED_TO_TOPIC.
    ///
    /// # Cancel safety
    /// As [`GroupCoordinator::commit`].
    pub async fn delete_offsets(
        &self,
        group_id: &str,
        partitions: Vec<(String, i32)>,
    ) -> Result<Vec<(String, i32, Option<CoordinatorError>)>, CoordinatorError> {
        let subscribed = self.groups.with(group_id, false, |slot| {
            slot.classic
                .as_ref()
                .filter(|g| !g.members.is_empty())
                .map(|g| g.subscribed_topics())
                .unwrap_or_default()
        });
        let subscribed = match subscribed {
            Some(s) => s,
            None if self.offsets.has_group(group_id) => Vec::new(),
            None => return Err(CoordinatorError::GroupIdNotFound),
        };
        let mut records = Vec::new();
        let results = partitions
            .into_iter()
            .map(|(topic, partition)| {
                if subscribed.contains(&topic) {
                    let refused = Some(CoordinatorError::GroupSubscribedToTopic);
                    return (topic, partition, refused);
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
        self.journal
            .write(records, apply_offsets(self.offsets.clone()))
            .await?;
        Ok(results)
    }
}
