//! Consumer group administration on top of rdkafka: list and describe
//! groups, compute their lag, reset their committed offsets, delete them.
//!
//! rdkafka has no admin calls for listing or describing groups, so this
//! module uses what librdkafka offers to any client:
//!
//! - groups and their members come from `fetch_group_list` (ListGroups,
//!   then DescribeGroups, to every broker); a member's assignment is decoded
//!   by [`assignment::decode_assignment`];
//! - committed offsets come from a consumer whose `group.id` is the group,
//!   which never subscribes and so never joins it (OffsetFetch);
//! - log start and end offsets come from ListOffsets (earliest / latest,
//!   read-uncommitted, like Kafka's tools) through `offsets_for_times`, one
//!   request per leader rather than two per partition;
//! - a reset commits from that same non-member consumer (generation -1),
//!   which brokers accept only while the group has no members;
//! - deletion is the DeleteGroups admin request.
//!
//! Every librdkafka call here blocks, so each method runs its calls on
//! Tokio's blocking pool: call them within a Tokio runtime.
//!
//! Groups using the KIP-848 protocol (`group.protocol=consumer`) are listed,
//! but DescribeGroups does not describe them (Kafka answers `Dead` or
//! `Empty` with no members), so their members are not shown. Their
//! committed offsets and lag are, and resetting them is still refused while
//! they have members, because the broker rejects the commit.
//!
//! # Cancel safety
//! Dropping a future stops waiting, but a request already sent (a commit, a
//! delete) may still take effect.

pub mod assignment;
pub mod reset;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::groups::GroupInfo;
use rdkafka::{Offset, TopicPartitionList};

use crate::client::{ClientSettings, DEFAULT_REQUEST_TIMEOUT};
use crate::error::{Error, Result};
use crate::metadata;
pub use reset::{
    new_offset, OffsetReset, PartitionPosition, PlanError, ResetTarget, TopicSelection,
};

/// A partition of a topic.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TopicPartitionId {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
}

impl std::fmt::Display for TopicPartitionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}

/// A group as the cluster lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupListing {
    /// The group id.
    pub group: String,
    /// `Stable`, `Empty`, `PreparingRebalance`, `CompletingRebalance` or `Dead`.
    pub state: String,
    /// `consumer` for consumer groups, `connect` for Kafka Connect workers;
    /// empty for a group that only has committed offsets.
    pub protocol_type: String,
}

/// A member of a classic group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupMember {
    /// The member id the coordinator gave it.
    pub member_id: String,
    /// The client's `client.id`.
    pub client_id: String,
    /// The client's address as the broker sees it, e.g. `/127.0.0.1`.
    pub host: String,
    /// The partitions assigned to it, sorted; `None` if the group's protocol
    /// type is not `consumer` or the assignment does not decode.
    pub assignment: Option<Vec<TopicPartitionId>>,
}

/// A group's state and members.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupDescription {
    /// The group id.
    pub group: String,
    /// See [`GroupListing::state`].
    pub state: String,
    /// See [`GroupListing::protocol_type`].
    pub protocol_type: String,
    /// The assignor in use (e.g. `range`), empty while rebalancing.
    pub protocol: String,
    /// The members, sorted by member id.
    pub members: Vec<GroupMember>,
}

impl GroupDescription {
    /// Whether the group has no members, so its offsets may be reset.
    pub fn is_inactive(&self) -> bool {
        self.members.is_empty() && matches!(self.state.as_str(), "Empty" | "Dead")
    }

    /// The member a partition is assigned to.
    pub fn owner(&self, partition: &TopicPartitionId) -> Option<&GroupMember> {
        self.members.iter().find(|m| {
            m.assignment
                .as_ref()
                .is_some_and(|a| a.binary_search(partition).is_ok())
        })
    }
}

/// A group's position in one partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionLag {
    /// The partition.
    pub partition: TopicPartitionId,
    /// The group's committed offset, if any.
    pub committed: Option<i64>,
    /// The log end offset, if it could be looked up.
    pub log_end: Option<i64>,
}

impl PartitionLag {
    /// Records not yet consumed: log end minus committed offset.
    pub fn lag(&self) -> Option<i64> {
        Some(self.log_end? - self.committed?)
    }
}

/// Consumer group administration.
///
/// ```no_run
/// use fjord_core::groups::GroupAdmin;
/// use fjord_core::ClientSettings;
///
/// # async fn example() -> fjord_core::Result<()> {
/// let admin = GroupAdmin::new(&ClientSettings::new("127.0.0.1:9092"))?;
/// for group in admin.list().await? {
///     println!("{} {}", group.group, group.state);
/// }
/// let description = admin.describe("sales-report").await?;
/// for partition in admin.lag(&description).await? {
///     println!("{} lag {:?}", partition.partition, partition.lag());
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct GroupAdmin {
    settings: ClientSettings,
    admin: Arc<AdminClient<DefaultClientContext>>,
    timeout: Duration,
}

impl std::fmt::Debug for GroupAdmin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupAdmin")
            .field("bootstrap_servers", &self.settings.bootstrap_servers)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl GroupAdmin {
    /// Creates the admin client; requests wait up to
    /// [`DEFAULT_REQUEST_TIMEOUT`]. No connection is made until the first call.
    ///
    /// # Errors
    /// [`Error::ClientCreation`] if a property is rejected.
    pub fn new(settings: &ClientSettings) -> Result<Self> {
        Ok(Self {
            settings: settings.clone(),
            admin: Arc::new(settings.admin_client()?),
            timeout: DEFAULT_REQUEST_TIMEOUT,
        })
    }

    /// Sets how long each request waits for the cluster.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Every group the brokers know, sorted by group id.
    ///
    /// # Errors
    /// [`Error::BrokerUnreachable`] if no broker answers in time.
    pub async fn list(&self) -> Result<Vec<GroupListing>> {
        let (admin, timeout) = (Arc::clone(&self.admin), self.timeout);
        blocking(move || {
            let list = admin
                .inner()
                .fetch_group_list(None, timeout)
                .map_err(|e| Error::kafka("listing consumer groups", e, timeout))?;
            let mut groups: Vec<GroupListing> = list
                .groups()
                .iter()
                .map(|g| GroupListing {
                    group: g.name().to_owned(),
                    state: g.state().to_owned(),
                    protocol_type: g.protocol_type().to_owned(),
                })
                .collect();
            groups.sort_by(|a, b| a.group.cmp(&b.group));
            Ok(groups)
        })
        .await
    }

    /// A group's state and members.
    ///
    /// # Errors
    /// [`Error::UnknownGroup`] if no broker lists it.
    pub async fn describe(&self, group: &str) -> Result<GroupDescription> {
        let (admin, timeout, group) = (Arc::clone(&self.admin), self.timeout, group.to_owned());
        blocking(move || {
            let list = admin
                .inner()
                .fetch_group_list(Some(&group), timeout)
                .map_err(|e| Error::kafka(format!("describing group '{group}'"), e, timeout))?;
            match list.groups().iter().find(|g| g.name() == group) {
                Some(info) => Ok(description(info)),
                None => Err(Error::UnknownGroup { group }),
            }
        })
        .await
    }

    /// The group's committed offset, log end offset and lag in every
    /// partition it has committed offsets for or is assigned, sorted.
    ///
    /// Committed offsets are looked up for the partitions of the topics that
    /// exist now: offsets left for deleted topics are not shown.
    ///
    /// # Errors
    /// [`Error::BrokerUnreachable`], or [`Error::Kafka`] if the group
    /// coordinator does not answer.
    pub async fn lag(&self, description: &GroupDescription) -> Result<Vec<PartitionLag>> {
        let assigned: BTreeSet<TopicPartitionId> = description
            .members
            .iter()
            .flat_map(|m| m.assignment.iter().flatten().cloned())
            .collect();
        let group = description.group.clone();
        let all = self.all_partitions().await?;
        let (settings, timeout) = (self.settings.clone(), self.timeout);
        blocking(move || {
            let consumer = group_consumer(&settings, &group)?;
            let committed = committed_offsets(&consumer, &group, &all, timeout)?;
            let mut partitions: BTreeSet<TopicPartitionId> = assigned;
            partitions.extend(committed.keys().cloned());
            let partitions: Vec<TopicPartitionId> = partitions.into_iter().collect();
            let log_end = list_offsets(&consumer, &partitions, Offset::End, timeout)?;
            Ok(partitions
                .into_iter()
                .map(|partition| PartitionLag {
                    committed: committed.get(&partition).copied(),
                    log_end: log_end.get(&partition).copied().flatten(),
                    partition,
                })
                .collect())
        })
        .await
    }

    /// Works out new committed offsets for a reset, without committing.
    ///
    /// `selections` names the partitions; when empty, every partition the
    /// group has a committed offset for. The group must have no members (it
    /// may not exist yet: a reset then creates its offsets).
    ///
    /// # Errors
    /// [`Error::GroupActive`] if the group has members; [`Error::UnknownTopic`]
    /// or [`Error::UnknownPartition`] for a bad selection;
    /// [`Error::NoCommittedOffset`] when shifting a partition without one.
    pub async fn plan_reset(
        &self,
        group: &str,
        selections: &[TopicSelection],
        target: ResetTarget,
    ) -> Result<Vec<OffsetReset>> {
        self.check_inactive(group, "reset the offsets of").await?;
        let every_committed = selections.is_empty();
        let candidates = if every_committed {
            self.all_partitions().await?
        } else {
            self.selected_partitions(selections).await?
        };
        let (settings, timeout, group) = (self.settings.clone(), self.timeout, group.to_owned());
        blocking(move || {
            let consumer = group_consumer(&settings, &group)?;
            let committed = committed_offsets(&consumer, &group, &candidates, timeout)?;
            let partitions: Vec<TopicPartitionId> = if every_committed {
                committed.keys().cloned().collect()
            } else {
                candidates
            };
            let start = list_offsets(&consumer, &partitions, Offset::Beginning, timeout)?;
            let end = list_offsets(&consumer, &partitions, Offset::End, timeout)?;
            let by_time = match target {
                // ListOffsets reads negative timestamps as "earliest"/"latest";
                // no record is older than the epoch anyway.
                ResetTarget::Timestamp(ms) => Some(list_offsets(
                    &consumer,
                    &partitions,
                    Offset::Offset(ms.max(0)),
                    timeout,
                )?),
                _ => None,
            };
            partitions
                .into_iter()
                .map(|tp| {
                    let known = |offsets: &BTreeMap<TopicPartitionId, Option<i64>>| {
                        offsets
                            .get(&tp)
                            .copied()
                            .flatten()
                            .ok_or_else(|| Error::Kafka {
                                action: format!("looking up the offsets of partition {tp}"),
                                cause: KafkaError::MetadataFetch(
                                    RDKafkaErrorCode::LeaderNotAvailable,
                                ),
                            })
                    };
                    let position = PartitionPosition {
                        committed: committed.get(&tp).copied(),
                        log_start: known(&start)?,
                        log_end: known(&end)?,
                        by_timestamp: by_time.as_ref().and_then(|o| o.get(&tp).copied().flatten()),
                    };
                    let new =
                        new_offset(target, position).map_err(|PlanError::NothingToShift| {
                            Error::NoCommittedOffset {
                                group: group.clone(),
                                partition: tp.to_string(),
                            }
                        })?;
                    Ok(OffsetReset {
                        topic: tp.topic,
                        partition: tp.partition,
                        current: position.committed,
                        new,
                    })
                })
                .collect()
        })
        .await
    }

    /// Commits a plan made by [`GroupAdmin::plan_reset`], after checking
    /// again that the group has no members, then reads the offsets back to
    /// confirm them.
    ///
    /// # Errors
    /// [`Error::GroupActive`] if the group has members (or a member joined
    /// and the broker refused the commit); [`Error::Kafka`] if the commit
    /// fails or the offsets read back differ.
    pub async fn reset(&self, group: &str, plan: &[OffsetReset]) -> Result<()> {
        self.check_inactive(group, "reset the offsets of").await?;
        let (settings, timeout, group) = (self.settings.clone(), self.timeout, group.to_owned());
        let plan = plan.to_vec();
        blocking(move || {
            let consumer = group_consumer(&settings, &group)?;
            let mut offsets = TopicPartitionList::with_capacity(plan.len());
            for reset in &plan {
                offsets
                    .add_partition_offset(&reset.topic, reset.partition, Offset::Offset(reset.new))
                    .map_err(|e| Error::kafka("building the offsets to commit", e, timeout))?;
            }
            consumer.commit(&offsets, CommitMode::Sync).map_err(|e| {
                match e.rdkafka_error_code() {
                    Some(
                        code @ (RDKafkaErrorCode::UnknownMemberId
                        | RDKafkaErrorCode::IllegalGeneration
                        | RDKafkaErrorCode::RebalanceInProgress),
                    ) => Error::GroupActive {
                        group: group.clone(),
                        operation: "reset the offsets of",
                        detail: format!("the broker refused the commit: {code}"),
                    },
                    _ => Error::kafka(format!("committing offsets of group '{group}'"), e, timeout),
                }
            })?;
            let wanted: Vec<TopicPartitionId> = plan
                .iter()
                .map(|r| TopicPartitionId {
                    topic: r.topic.clone(),
                    partition: r.partition,
                })
                .collect();
            let committed = committed_offsets(&consumer, &group, &wanted, timeout)?;
            for (tp, reset) in wanted.iter().zip(&plan) {
                let found = committed.get(tp).copied();
                if found != Some(reset.new) {
                    return Err(Error::Kafka {
                        action: format!(
                            "checking the commit of group '{group}': partition {tp} has \
                             offset {found:?} instead of {}",
                            reset.new
                        ),
                        cause: KafkaError::ConsumerCommit(RDKafkaErrorCode::Fail),
                    });
                }
            }
            Ok(())
        })
        .await
    }

    /// Deletes a group and its committed offsets (DeleteGroups).
    ///
    /// # Errors
    /// [`Error::UnknownGroup`] if it does not exist; [`Error::GroupActive`]
    /// if it still has members.
    pub async fn delete(&self, group: &str) -> Result<()> {
        let options = AdminOptions::new()
            .request_timeout(Some(self.timeout))
            .operation_timeout(Some(self.timeout));
        let results = self
            .admin
            .delete_groups(&[group], &options)
            .await
            .map_err(|e| Error::kafka(format!("deleting group '{group}'"), e, self.timeout))?;
        match results.into_iter().next() {
            Some(Ok(_)) => Ok(()),
            Some(Err((_, RDKafkaErrorCode::GroupIdNotFound))) => Err(Error::UnknownGroup {
                group: group.to_owned(),
            }),
            Some(Err((_, RDKafkaErrorCode::NonEmptyGroup))) => Err(Error::GroupActive {
                group: group.to_owned(),
                operation: "delete",
                detail: "the broker reports it is not empty".to_owned(),
            }),
            Some(Err((_, code))) => Err(Error::AdminRejected {
                operation: "delete",
                resource: format!("group '{group}'"),
                code,
                hint: String::new(),
            }),
            None => Err(Error::AdminRejected {
                operation: "delete",
                resource: format!("group '{group}'"),
                code: RDKafkaErrorCode::BadMessage,
                hint: "; the broker's response contained no result for it".to_owned(),
            }),
        }
    }

    /// Fails with [`Error::GroupActive`] unless the group is absent or has
    /// no members.
    async fn check_inactive(&self, group: &str, operation: &'static str) -> Result<()> {
        match self.describe(group).await {
            Ok(d) if !d.is_inactive() => Err(Error::GroupActive {
                group: group.to_owned(),
                operation,
                detail: format!("state {}, {} member(s)", d.state, d.members.len()),
            }),
            Ok(_) | Err(Error::UnknownGroup { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Every partition of every topic in the cluster.
    async fn all_partitions(&self) -> Result<Vec<TopicPartitionId>> {
        let (admin, timeout) = (Arc::clone(&self.admin), self.timeout);
        let topics = blocking(move || metadata::fetch_topics(admin.inner(), timeout)).await?;
        Ok(topics
            .iter()
            .flat_map(|t| {
                t.partitions.iter().map(|p| TopicPartitionId {
                    topic: t.name.clone(),
                    partition: p.id,
                })
            })
            .collect())
    }

    /// The partitions named by `selections`, checked against metadata.
    async fn selected_partitions(
        &self,
        selections: &[TopicSelection],
    ) -> Result<Vec<TopicPartitionId>> {
        let mut out = BTreeSet::new();
        for selection in selections {
            let (admin, timeout, topic) = (
                Arc::clone(&self.admin),
                self.timeout,
                selection.topic.clone(),
            );
            let topic =
                blocking(move || metadata::fetch_topic(admin.inner(), &topic, timeout)).await?;
            let ids: Vec<i32> = match &selection.partitions {
                Some(ids) => {
                    for id in ids {
                        topic.check_partition(*id)?;
                    }
                    ids.clone()
                }
                None => topic.partitions.iter().map(|p| p.id).collect(),
            };
            out.extend(ids.into_iter().map(|partition| TopicPartitionId {
                topic: topic.name.clone(),
                partition,
            }));
        }
        Ok(out.into_iter().collect())
    }
}

/// Turns librdkafka's group info into a [`GroupDescription`].
fn description(info: &GroupInfo) -> GroupDescription {
    let consumer_protocol = info.protocol_type() == "consumer";
    let mut members: Vec<GroupMember> = info
        .members()
        .iter()
        .map(|m| GroupMember {
            member_id: m.id().to_owned(),
            client_id: m.client_id().to_owned(),
            host: m.client_host().to_owned(),
            assignment: consumer_protocol
                .then(|| assignment::decode_assignment(m.assignment().unwrap_or_default()).ok())
                .flatten()
                .map(|mut partitions| {
                    partitions.sort();
                    partitions.dedup();
                    partitions
                }),
        })
        .collect();
    members.sort_by(|a, b| a.member_id.cmp(&b.member_id));
    GroupDescription {
        group: info.name().to_owned(),
        state: info.state().to_owned(),
        protocol_type: info.protocol_type().to_owned(),
        protocol: info.protocol().to_owned(),
        members,
    }
}

/// A consumer whose `group.id` is `group`, for OffsetFetch, ListOffsets and
/// commits. It never subscribes, so it never joins the group; commits it
/// makes carry generation -1 and no member id. The settings after the
/// user's are forced: no automatic commits, the classic protocol (KIP-848
/// consumers cannot commit without membership) and read-uncommitted log
/// ends, as Kafka's tools report.
fn group_consumer(settings: &ClientSettings, group: &str) -> Result<BaseConsumer> {
    let mut config = settings.consumer_config(Some(group));
    config
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("group.protocol", "classic")
        .set("isolation.level", "read_uncommitted");
    config.create().map_err(|cause| Error::ClientCreation {
        role: "consumer",
        cause,
    })
}

/// The group's committed offsets among `partitions` (OffsetFetch); those
/// without one are left out.
fn committed_offsets(
    consumer: &BaseConsumer,
    group: &str,
    partitions: &[TopicPartitionId],
    timeout: Duration,
) -> Result<BTreeMap<TopicPartitionId, i64>> {
    if partitions.is_empty() {
        return Ok(BTreeMap::new());
    }
    let list = partition_list(partitions, Offset::Invalid, timeout)?;
    let list = consumer.committed_offsets(list, timeout).map_err(|e| {
        Error::kafka(
            format!("fetching committed offsets of group '{group}'"),
            e,
            timeout,
        )
    })?;
    Ok(list
        .elements()
        .iter()
        .filter(|e| e.error().is_ok())
        .filter_map(|e| match e.offset() {
            Offset::Offset(offset) => Some((
                TopicPartitionId {
                    topic: e.topic().to_owned(),
                    partition: e.partition(),
                },
                offset,
            )),
            _ => None,
        })
        .collect())
}

/// ListOffsets for `partitions`: `Offset::Beginning` for log starts,
/// `Offset::End` for log ends, `Offset::Offset(ms)` for the first offset at
/// or after a timestamp. `None` where the broker has no answer (an error,
/// or no record at or after the timestamp).
fn list_offsets(
    consumer: &BaseConsumer,
    partitions: &[TopicPartitionId],
    spec: Offset,
    timeout: Duration,
) -> Result<BTreeMap<TopicPartitionId, Option<i64>>> {
    if partitions.is_empty() {
        return Ok(BTreeMap::new());
    }
    let list = partition_list(partitions, spec, timeout)?;
    let list = consumer
        .offsets_for_times(list, timeout)
        .map_err(|e| Error::kafka("listing partition offsets", e, timeout))?;
    Ok(list
        .elements()
        .iter()
        .map(|e| {
            let offset = match (e.error(), e.offset()) {
                (Ok(()), Offset::Offset(offset)) => Some(offset),
                _ => None,
            };
            (
                TopicPartitionId {
                    topic: e.topic().to_owned(),
                    partition: e.partition(),
                },
                offset,
            )
        })
        .collect())
}

fn partition_list(
    partitions: &[TopicPartitionId],
    offset: Offset,
    timeout: Duration,
) -> Result<TopicPartitionList> {
    let mut list = TopicPartitionList::with_capacity(partitions.len());
    for tp in partitions {
        list.add_partition_offset(&tp.topic, tp.partition, offset)
            .map_err(|e| Error::kafka("building a partition list", e, timeout))?;
    }
    Ok(list)
}

/// Runs blocking librdkafka calls on Tokio's blocking pool.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result,
        Err(join) if join.is_panic() => std::panic::resume_unwind(join.into_panic()),
        // Only cancelled when the runtime shuts down, tearing the caller down too.
        Err(_) => Err(Error::Kafka {
            action: "waiting for a group request".to_owned(),
            cause: KafkaError::Canceled,
        }),
    }
}
