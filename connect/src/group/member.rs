//! The member loop: join, sync, heartbeat, rejoin; one spawned task per worker.
//!
//! The task owns the coordinator connection and all membership state; the [`GroupMember`]
//! handle only signals it (rejoin requests through a `watch` counter, leave through a
//! oneshot) and aborts it on drop.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::{
    GroupId, HeartbeatRequest, JoinGroupRequest, JoinGroupResponse, LeaveGroupRequest,
    SyncGroupRequest,
};
use kafka_protocol::protocol::StrBytes;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::assignor::{assign, AssignorState, MemberWork};
use super::client::{self, Connection};
use super::protocol::{self, ConnectAssignment, WorkerMetadata};
use super::work::{self, Work};
use super::{AssignmentInput, MemberConfig, WorkerAssignment};
use crate::{ConnectError, Result};

/// Assignments queued for the herder. Policy when full: the member loop blocks (and stops
/// heartbeating), so a herder that does not drain it loses its membership after the session
/// timeout; a rebalance produces one or two events, so 16 is far more than a live herder needs.
const EVENT_CAPACITY: usize = 16;
/// Added to a request's own timeout (JoinGroup and SyncGroup wait for the whole rebalance).
const REQUEST_SLACK: Duration = Duration::from_secs(5);
/// First and largest pause before retrying after a retriable failure (Kafka's
/// `retry.backoff.ms` and `retry.backoff.max.ms`).
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(1);

const COORDINATOR_LOAD_IN_PROGRESS: i16 = 14;
const COORDINATOR_NOT_AVAILABLE: i16 = 15;
const NOT_COORDINATOR: i16 = 16;
const ILLEGAL_GENERATION: i16 = 22;
const INCONSISTENT_GROUP_PROTOCOL: i16 = 23;
const INVALID_GROUP_ID: i16 = 24;
const UNKNOWN_MEMBER_ID: i16 = 25;
const INVALID_SESSION_TIMEOUT: i16 = 26;
const REBALANCE_IN_PROGRESS: i16 = 27;
const GROUP_AUTHORIZATION_FAILED: i16 = 30;
const MEMBER_ID_REQUIRED: i16 = 79;
const GROUP_MAX_SIZE_REACHED: i16 = 81;

/// A worker's membership in its Connect group. Dropping it stops the member without leaving
/// the group, as a crashed worker would: its work is held for it (`max_delay`) once its
/// session times out. Call [`GroupMember::leave`] for a clean exit.
#[derive(Debug)]
pub struct GroupMember {
    rejoin: watch::Sender<u64>,
    leave: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl GroupMember {
    /// Finds the group coordinator and starts the member loop, which joins the group and sends
    /// a [`WorkerAssignment`] on the returned channel after every rebalance (see the module
    /// docs for what the herder must do with each). The channel closes when the member stops:
    /// after [`GroupMember::leave`] or `shutdown`, or when the group refuses the worker for
    /// good (an invalid session timeout, a consumer group of the same id; logged as an error). `leader_input` is asked for the connectors
    /// and tasks whenever this worker joins and whenever it leads a rebalance. Cancelling
    /// `shutdown` makes the member leave the group and stop.
    ///
    /// # Errors
    /// An invalid config, or no coordinator found within the rebalance timeout.
    pub async fn start(
        config: MemberConfig,
        leader_input: Arc<dyn AssignmentInput>,
        shutdown: CancellationToken,
    ) -> Result<(GroupMember, mpsc::Receiver<WorkerAssignment>)> {
        validate(&config)?;
        let deadline = Instant::now() + config.rebalance_timeout;
        let mut backoff = BACKOFF_MIN;
        let coordinator = loop {
            match client::find_coordinator(
                &config.bootstrap_servers,
                &config.group_id,
                config.session_timeout,
            )
            .await
            {
                Ok(addr) => break addr,
                Err(e) if e.is_retriable() && Instant::now() + backoff < deadline => {
                    tracing::debug!(error = %e, "group coordinator not found yet");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                }
                Err(e) => return Err(e),
            }
        };
        let conn = Connection::connect(&coordinator, config.session_timeout).await?;
        let (events_tx, events_rx) = mpsc::channel(EVENT_CAPACITY);
        let (rejoin_tx, rejoin_rx) = watch::channel(0u64);
        let (leave_tx, leave_rx) = oneshot::channel();
        let member = Member {
            config,
            input: leader_input,
            events: events_tx,
            conn: Some(conn),
            member_id: String::new(),
            generation: -1,
            running: BTreeSet::new(),
            assignor: AssignorState::default(),
            led_last_round: false,
        };
        let signals = Signals {
            shutdown,
            leave: leave_rx,
            rejoin: rejoin_rx,
        };
        let task = tokio::spawn(run(member, signals));
        Ok((
            GroupMember {
                rejoin: rejoin_tx,
                leave: Some(leave_tx),
                task: Some(task),
            },
            events_rx,
        ))
    }

    /// Asks the member to rejoin the group: after the config topic changed the connectors or
    /// tasks, or once revoked work has stopped (the member waits for this call before it
    /// rejoins after an assignment with revocations).
    pub fn request_rejoin(&self) {
        self.rejoin.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Leaves the group (LeaveGroup, so the others rebalance at once) and waits for the member
    /// loop to stop.
    ///
    /// # Cancel safety
    /// Cancelling the returned future still leaves the group: the loop finishes on its own.
    pub async fn leave(mut self) {
        if let Some(tx) = self.leave.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for GroupMember {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

fn validate(c: &MemberConfig) -> Result<()> {
    let bad = |msg: &str| Err(ConnectError::Config(msg.to_string()));
    if c.group_id.is_empty() {
        return bad("group.id must not be empty");
    }
    if c.heartbeat_interval.is_zero() || c.heartbeat_interval >= c.session_timeout {
        return bad("heartbeat.interval.ms must be above 0 and below session.timeout.ms");
    }
    if i32::try_from(c.max_delay.as_millis()).is_err() {
        return bad("scheduled.rebalance.max.delay.ms must fit in an int (ms)");
    }
    Ok(())
}

fn millis(d: Duration) -> i32 {
    i32::try_from(d.as_millis()).unwrap_or(i32::MAX)
}

fn error_name(code: i16) -> String {
    ResponseError::try_from_code(code).map_or_else(|| format!("error {code}"), |e| format!("{e:?}"))
}

/// Why the loop ends.
enum Stop {
    /// `leave()` or the shutdown token: leave the group first.
    Leave,
    /// The handle is gone: stop without leaving.
    Dropped,
}

/// What the handle can tell the loop.
struct Signals {
    shutdown: CancellationToken,
    leave: oneshot::Receiver<()>,
    rejoin: watch::Receiver<u64>,
}

/// Waits for leave, shutdown or the handle's drop. Cancel safe; not to be called again once
/// it has returned (the loop ends then).
async fn stopped(shutdown: &CancellationToken, leave: &mut oneshot::Receiver<()>) -> Stop {
    tokio::select! {
        _ = shutdown.cancelled() => Stop::Leave,
        r = leave => if r.is_ok() { Stop::Leave } else { Stop::Dropped },
    }
}

/// The membership state the loop owns.
struct Member {
    config: MemberConfig,
    input: Arc<dyn AssignmentInput>,
    events: mpsc::Sender<WorkerAssignment>,
    conn: Option<Connection>,
    member_id: String,
    generation: i32,
    /// What this worker runs per its assignments (revoked work removed).
    running: BTreeSet<Work>,
    /// The assignor's memory; only meaningful while this member keeps leading.
    assignor: AssignorState,
    led_last_round: bool,
}

/// What the heartbeat phase ends in.
enum Next {
    Rejoin,
    Stop(Stop),
}

async fn run(mut m: Member, mut sig: Signals) {
    let mut backoff = BACKOFF_MIN;
    let mut awaiting_revocation = false;
    let stop = loop {
        if m.member_id.is_empty() && !m.running.is_empty() {
            // The session expired with work running (UNKNOWN_MEMBER_ID).
            sig.rejoin.borrow_and_update();
            let lost = m.membership_lost();
            if let Some(s) = emit(&m.events, lost, &mut sig).await {
                break s;
            }
            awaiting_revocation = true;
        }
        if awaiting_revocation {
            if let Some(s) = await_revocation(&mut m, &mut sig).await {
                break s;
            }
            awaiting_revocation = false;
        }
        let outcome = tokio::select! {
            r = m.join_and_sync() => r,
            s = stopped(&sig.shutdown, &mut sig.leave) => {
                // The connection may hold half a response: start afresh for LeaveGroup.
                m.conn = None;
                break s;
            }
        };
        let assignment = match outcome {
            Ok(Some(a)) => a,
            Ok(None) => continue,
            Err(e @ ConnectError::Config(_)) => {
                // Retrying cannot help; the closed channel tells the herder.
                tracing::error!(group = %m.config.group_id, error = %e, "cannot join the group; the member stops");
                break Stop::Dropped;
            }
            Err(e) => {
                tracing::warn!(group = %m.config.group_id, error = %e, "joining the group failed; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    s = stopped(&sig.shutdown, &mut sig.leave) => break s,
                }
                backoff = (backoff * 2).min(BACKOFF_MAX);
                continue;
            }
        };
        backoff = BACKOFF_MIN;
        let delay = assignment.delay;
        if assignment.has_revocations() {
            // Only a request made after the herder has seen this event confirms the stop.
            sig.rejoin.borrow_and_update();
            awaiting_revocation = true;
        }
        if let Some(s) = emit(&m.events, assignment, &mut sig).await {
            break s;
        }
        if awaiting_revocation {
            continue;
        }
        let rejoin_at = (!delay.is_zero()).then(|| tokio::time::Instant::now() + delay);
        match heartbeat_until_rejoin(&mut m, &mut sig, rejoin_at).await {
            Next::Rejoin => {}
            Next::Stop(s) => break s,
        }
    };
    if matches!(stop, Stop::Leave) {
        m.leave().await;
    }
}

/// Hands an assignment to the herder, unless the member must stop first. A closed channel
/// (the herder stopped listening) is not an error: the member keeps its membership.
async fn emit(
    events: &mpsc::Sender<WorkerAssignment>,
    a: WorkerAssignment,
    sig: &mut Signals,
) -> Option<Stop> {
    tokio::select! {
        _ = events.send(a) => None,
        s = stopped(&sig.shutdown, &mut sig.leave) => Some(s),
    }
}

/// Waits for the herder to confirm (with a rejoin request) that revoked work has stopped, up to
/// the rebalance timeout, heartbeating meanwhile so the session stays alive however long the
/// stop takes. A rebalance the heartbeats report waits too: rejoining before the stop would let
/// the leader hand the revoked work to another worker while it still runs here.
async fn await_revocation(m: &mut Member, sig: &mut Signals) -> Option<Stop> {
    let every = m.config.heartbeat_interval;
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let give_up = tokio::time::sleep(m.config.rebalance_timeout);
    tokio::pin!(give_up);
    loop {
        tokio::select! {
            r = sig.rejoin.changed() => return r.is_err().then_some(Stop::Dropped),
            () = &mut give_up => {
                tracing::warn!(group = %m.config.group_id, "revoked work not confirmed stopped within the rebalance timeout; rejoining anyway");
                return None;
            }
            _ = tick.tick(), if !m.member_id.is_empty() => {
                // Whatever it answers, the member rejoins once the stop is confirmed.
                m.heartbeat().await;
            }
            s = stopped(&sig.shutdown, &mut sig.leave) => return Some(s),
        }
    }
}

/// Heartbeats until a rebalance is needed or the member must stop.
async fn heartbeat_until_rejoin(
    m: &mut Member,
    sig: &mut Signals,
    rejoin_at: Option<tokio::time::Instant>,
) -> Next {
    let every = m.config.heartbeat_interval;
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let scheduled = tokio::time::sleep_until(
        rejoin_at.unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(86_400)),
    );
    tokio::pin!(scheduled);
    loop {
        tokio::select! {
            _ = tick.tick() => if m.heartbeat().await { return Next::Rejoin },
            r = sig.rejoin.changed() => return match r {
                Ok(()) => Next::Rejoin,
                Err(_) => Next::Stop(Stop::Dropped),
            },
            _ = &mut scheduled, if rejoin_at.is_some() => return Next::Rejoin,
            s = stopped(&sig.shutdown, &mut sig.leave) => return Next::Stop(s),
        }
    }
}

impl Member {
    fn group_id(&self) -> GroupId {
        GroupId(StrBytes::from_string(self.config.group_id.clone()))
    }

    /// The coordinator connection, found and opened if there is none.
    async fn connection(&mut self) -> Result<&mut Connection> {
        if self.conn.is_none() {
            let addr = client::find_coordinator(
                &self.config.bootstrap_servers,
                &self.config.group_id,
                self.config.session_timeout,
            )
            .await?;
            self.conn = Some(Connection::connect(&addr, self.config.session_timeout).await?);
        }
        self.conn
            .as_mut()
            .ok_or_else(|| ConnectError::Retriable("no coordinator connection".into()))
    }

    /// One request to the coordinator; any failure drops the connection (it may be broken
    /// mid-frame, or the coordinator moved).
    async fn call<R: kafka_protocol::protocol::Request>(
        &mut self,
        req: &R,
        version: i16,
        timeout: Duration,
    ) -> Result<R::Response> {
        let conn = self.connection().await?;
        let result = conn.call(req, version, timeout).await;
        if result.is_err() {
            self.conn = None;
        }
        result
    }

    /// Handles an error code every group API may answer. `Ok(())` means: rejoin now.
    fn common_error(&mut self, api: &str, code: i16) -> Result<()> {
        match code {
            NOT_COORDINATOR | COORDINATOR_NOT_AVAILABLE | COORDINATOR_LOAD_IN_PROGRESS => {
                self.conn = None;
                Err(ConnectError::Retriable(format!(
                    "{api}: {}; finding the coordinator again",
                    error_name(code)
                )))
            }
            REBALANCE_IN_PROGRESS | ILLEGAL_GENERATION => Ok(()),
            UNKNOWN_MEMBER_ID => {
                self.member_id.clear();
                self.generation = -1;
                Ok(())
            }
            INCONSISTENT_GROUP_PROTOCOL
            | INVALID_GROUP_ID
            | INVALID_SESSION_TIMEOUT
            | GROUP_AUTHORIZATION_FAILED
            | GROUP_MAX_SIZE_REACHED => Err(ConnectError::Config(format!(
                "{api} for group '{}' failed: {} (check group.id, session.timeout.ms and that no \
                 consumer group uses the same id)",
                self.config.group_id,
                error_name(code)
            ))),
            _ => Err(ConnectError::Kafka(format!(
                "{api} for group '{}' failed: {}",
                self.config.group_id,
                error_name(code)
            ))),
        }
    }

    /// JoinGroup then SyncGroup. `Ok(None)`: rejoin at once (a new member id, a rebalance
    /// started meanwhile).
    async fn join_and_sync(&mut self) -> Result<Option<WorkerAssignment>> {
        let (offset, _, _) = self.input.snapshot();
        let allocation: Vec<Work> = self.running.iter().cloned().collect();
        let metadata = |version: i16| {
            protocol::encode_metadata(&WorkerMetadata {
                version,
                url: self.config.worker_url.clone(),
                config_offset: offset,
                allocation: allocation.clone(),
            })
        };
        let protocols = [protocol::SESSIONED, protocol::COMPATIBLE]
            .into_iter()
            .map(|name| {
                Ok(JoinGroupRequestProtocol::default()
                    .with_name(StrBytes::from_static_str(name))
                    .with_metadata(metadata(protocol::protocol_version(name))?))
            })
            .collect::<Result<Vec<_>>>()?;
        let join = JoinGroupRequest::default()
            .with_group_id(self.group_id())
            .with_session_timeout_ms(millis(self.config.session_timeout))
            .with_rebalance_timeout_ms(millis(self.config.rebalance_timeout))
            .with_member_id(StrBytes::from_string(self.member_id.clone()))
            .with_protocol_type(StrBytes::from_static_str(protocol::PROTOCOL_TYPE))
            .with_protocols(protocols);
        let timeout = self.config.rebalance_timeout + REQUEST_SLACK;
        let resp = self
            .call(&join, client::JOIN_GROUP_VERSION, timeout)
            .await?;
        match resp.error_code {
            0 => {}
            MEMBER_ID_REQUIRED => {
                self.member_id = resp.member_id.to_string();
                return Ok(None);
            }
            code => {
                self.common_error("JoinGroup", code)?;
                return Ok(None);
            }
        }
        self.member_id = resp.member_id.to_string();
        self.generation = resp.generation_id;
        let protocol_name = resp
            .protocol_name
            .as_ref()
            .map_or_else(|| protocol::COMPATIBLE.to_string(), |p| p.to_string());
        let leading = resp.leader == resp.member_id;
        let (assignments, next_state) = if leading {
            let (a, s) = self.lead(&resp, protocol::protocol_version(&protocol_name))?;
            (a, Some(s))
        } else {
            (Vec::new(), None)
        };
        let sync = SyncGroupRequest::default()
            .with_group_id(self.group_id())
            .with_generation_id(self.generation)
            .with_member_id(StrBytes::from_string(self.member_id.clone()))
            .with_protocol_type(Some(StrBytes::from_static_str(protocol::PROTOCOL_TYPE)))
            .with_protocol_name(Some(StrBytes::from_string(protocol_name)))
            .with_assignments(assignments);
        let resp = self
            .call(&sync, client::SYNC_GROUP_VERSION, timeout)
            .await?;
        if resp.error_code != 0 {
            self.common_error("SyncGroup", resp.error_code)?;
            return Ok(None);
        }
        // The round completed: the assignor's memory is this leader's, or nobody's.
        self.led_last_round = leading;
        self.assignor = next_state.unwrap_or_default();
        let a = protocol::decode_assignment(&resp.assignment)?;
        if a.error == protocol::ERROR_CONFIG_MISMATCH {
            return Err(ConnectError::Retriable(format!(
                "the leader has read the config topic only up to offset {}, behind a member; rejoining once it catches up",
                a.config_offset
            )));
        }
        for w in &a.revoked {
            self.running.remove(w);
        }
        self.running.extend(a.assigned.iter().cloned());
        let (connectors, tasks) = work::split(self.running.iter().cloned());
        let (revoked_connectors, revoked_tasks) = work::split(a.revoked);
        Ok(Some(WorkerAssignment {
            generation: self.generation,
            member_id: self.member_id.clone(),
            leader_id: a.leader,
            leader_url: a.leader_url,
            config_offset: a.config_offset,
            connectors,
            tasks,
            revoked_connectors,
            revoked_tasks,
            delay: Duration::from_millis(u64::try_from(a.delay_ms).unwrap_or(0)),
        }))
    }

    /// The leader's part: every member's assignment, and the assignor memory to keep if the
    /// round completes.
    fn lead(
        &self,
        resp: &JoinGroupResponse,
        version: i16,
    ) -> Result<(Vec<SyncGroupRequestAssignment>, AssignorState)> {
        let mut state = if self.led_last_round {
            self.assignor.clone()
        } else {
            AssignorState::default()
        };
        let (offset, connectors, tasks) = self.input.snapshot();
        let mut members = Vec::new();
        let mut max_offset = offset;
        for m in &resp.members {
            let running = match protocol::decode_metadata(&m.metadata) {
                Ok(meta) => {
                    max_offset = max_offset.max(meta.config_offset);
                    meta.allocation
                }
                Err(e) => {
                    tracing::warn!(member = %m.member_id, error = %e, "unreadable member metadata; taking it as running nothing");
                    Vec::new()
                }
            };
            members.push(MemberWork {
                id: m.member_id.to_string(),
                running,
            });
        }
        let base = ConnectAssignment {
            version,
            leader: self.member_id.clone(),
            leader_url: self.config.worker_url.clone(),
            config_offset: offset,
            ..ConnectAssignment::default()
        };
        let per_member: Vec<(String, ConnectAssignment)> = if max_offset > offset {
            tracing::info!(
                leader_offset = offset,
                max_offset,
                "a member has read further in the config topic than the leader"
            );
            members
                .iter()
                .map(|m| {
                    let a = ConnectAssignment {
                        error: protocol::ERROR_CONFIG_MISMATCH,
                        ..base.clone()
                    };
                    (m.id.clone(), a)
                })
                .collect()
        } else {
            let configured = work::join(&connectors, &tasks).into_iter().collect();
            let plan = assign(
                &mut state,
                &members,
                &configured,
                self.config.max_delay,
                Instant::now(),
            );
            plan.members
                .into_iter()
                .map(|(id, p)| {
                    let a = ConnectAssignment {
                        assigned: p.assigned,
                        revoked: p.revoked,
                        delay_ms: millis(plan.delay),
                        ..base.clone()
                    };
                    (id, a)
                })
                .collect()
        };
        let assignments = per_member
            .into_iter()
            .map(|(id, a)| {
                Ok(SyncGroupRequestAssignment::default()
                    .with_member_id(StrBytes::from_string(id))
                    .with_assignment(protocol::encode_assignment(&a)?))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((assignments, state))
    }

    /// One heartbeat. `true`: rejoin now.
    async fn heartbeat(&mut self) -> bool {
        let req = HeartbeatRequest::default()
            .with_group_id(self.group_id())
            .with_generation_id(self.generation)
            .with_member_id(StrBytes::from_string(self.member_id.clone()));
        let resp = self
            .call(&req, client::HEARTBEAT_VERSION, self.config.session_timeout)
            .await;
        match resp {
            Ok(r) if r.error_code == 0 => false,
            Ok(r) => match self.common_error("Heartbeat", r.error_code) {
                Ok(()) => true,
                Err(e) => {
                    tracing::warn!(group = %self.config.group_id, error = %e, "heartbeat failed");
                    false
                }
            },
            Err(e) => {
                tracing::warn!(group = %self.config.group_id, error = %e, "heartbeat failed");
                false
            }
        }
    }

    /// The session expired (UNKNOWN_MEMBER_ID): the group may have given this worker's work
    /// to others, so everything is revoked. Returns the event that tells the herder.
    fn membership_lost(&mut self) -> WorkerAssignment {
        let (revoked_connectors, revoked_tasks) = work::split(std::mem::take(&mut self.running));
        tracing::warn!(group = %self.config.group_id, "membership lost; stopping all work and rejoining");
        WorkerAssignment {
            generation: -1,
            member_id: String::new(),
            leader_id: String::new(),
            leader_url: String::new(),
            config_offset: -1,
            connectors: Vec::new(),
            tasks: Vec::new(),
            revoked_connectors,
            revoked_tasks,
            delay: Duration::ZERO,
        }
    }

    /// LeaveGroup, best effort (the session timeout removes the member anyway).
    async fn leave(&mut self) {
        if self.member_id.is_empty() {
            return;
        }
        let req = LeaveGroupRequest::default()
            .with_group_id(self.group_id())
            .with_members(vec![MemberIdentity::default()
                .with_member_id(StrBytes::from_string(self.member_id.clone()))]);
        let timeout = self.config.session_timeout.min(REQUEST_SLACK);
        let mut answer = self.call(&req, client::LEAVE_GROUP_VERSION, timeout).await;
        if answer.is_err() {
            // Once more on a fresh connection (the old one may have been cut mid-request).
            answer = self.call(&req, client::LEAVE_GROUP_VERSION, timeout).await;
        }
        match answer {
            Ok(r) if r.error_code == 0 => {
                tracing::info!(group = %self.config.group_id, member = %self.member_id, "left the group")
            }
            Ok(r) => {
                tracing::warn!(group = %self.config.group_id, error = %error_name(r.error_code), "LeaveGroup failed")
            }
            Err(e) => {
                tracing::warn!(group = %self.config.group_id, error = %e, "LeaveGroup failed")
            }
        }
        self.member_id.clear();
    }
}
