//! The classic group protocol: JoinGroup, SyncGroup, Heartbeat and LeaveGroup over the
//! per-group state machine in [`super::group`].
//!
//! Each call locks only its own group, for the transition. The one write, the stable
//! generation after the leader's SyncGroup, goes through the journal after the lock is
//! released, and the members' SyncGroup answers wait for it.

use std::time::Instant;

use bytes::Bytes;

use super::error::CoordinatorError;
use super::group::{JoinRequest, JoinResult, Pending, SyncResult};
use super::store::Stored;
use super::GroupCoordinator;

impl GroupCoordinator {
    /// JoinGroup.
    pub fn join(&self, group_id: &str, req: JoinRequest) -> Pending<JoinResult> {
        let delay = self.config.initial_rebalance_delay;
        self.groups
            .with(group_id, true, |slot| {
                slot.classic_mut(group_id).join(req, Instant::now(), delay)
            })
            .unwrap_or_else(|| {
                // `with` creates the group when asked to; this is a fallback, not a path.
                Pending::Now(JoinResult::error(
                    CoordinatorError::NotAvailable("the group could not be created"),
                    "",
                ))
            })
    }

    /// SyncGroup. When the leader's assignment makes the group stable, its generation is
    /// persisted before any member gets its assignment; if that fails, every member is told
    /// so and the group rebalances.
    ///
    /// # Cancel safety
    /// Cancel safe: the write and the answers to the other members go on without the caller.
    pub async fn sync(
        &self,
        group_id: &str,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
        assignments: Vec<(String, Bytes)>,
    ) -> Pending<SyncResult> {
        let outcome = self
            .groups
            .with(group_id, false, |slot| {
                slot.classic.as_mut().map(|g| {
                    g.sync(
                        member_id,
                        instance_id,
                        generation,
                        assignments,
                        Instant::now(),
                    )
                })
            })
            .flatten();
        let Some(outcome) = outcome else {
            return Pending::Now(Err(CoordinatorError::UnknownMemberId));
        };
        if let Some(stable) = outcome.stabilized {
            let record = Stored::Group {
                group: group_id.to_string(),
                value: Some((stable.generation, stable.protocol_type.clone())),
            };
            let groups = self.groups.clone();
            let id = group_id.to_string();
            // The outcome reaches the leader through its reply channel, completed in here.
            let _ = self
                .journal
                .write(vec![record], move |written, _| {
                    let stored = written.as_ref().map(|_| ()).map_err(Clone::clone);
                    let generation = stable.generation;
                    stable.complete(&stored);
                    if stored.is_err() {
                        groups.with(&id, false, |slot| {
                            if let Some(g) = slot.classic.as_mut() {
                                g.store_failed(generation, Instant::now());
                            }
                        });
                    }
                })
                .await;
        }
        outcome.reply
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
    ) -> Result<(), CoordinatorError> {
        self.groups
            .with(group_id, false, |slot| {
                slot.classic
                    .as_mut()
                    .map(|g| g.heartbeat(member_id, instance_id, generation, Instant::now()))
            })
            .flatten()
            .unwrap_or(Err(CoordinatorError::UnknownMemberId))
    }

    /// LeaveGroup for each (member id, instance id); one result per member.
    pub fn leave(
        &self,
        group_id: &str,
        members: &[(String, Option<String>)],
    ) -> Vec<Result<(), CoordinatorError>> {
        let results = self
            .groups
            .with(group_id, false, |slot| {
                let group = slot.classic.as_mut()?;
                let now = Instant::now();
                Some(
                    members
                        .iter()
                        .map(|(id, instance)| {
                            let resolved = group.resolve_leaving(id, instance.as_deref())?;
                            group.remove_members(&[resolved], now);
                            Ok(())
                        })
                        .collect(),
                )
            })
            .flatten();
        results.unwrap_or_else(|| {
            members
                .iter()
                .map(|_| Err(CoordinatorError::UnknownMemberId))
                .collect()
        })
    }
}
