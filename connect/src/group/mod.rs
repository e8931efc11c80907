//! Distributed workers' group membership over the Kafka group protocol (protocol type
//! `connect`) and the incremental cooperative assignor (KIP-415).
//!
//! librdkafka only speaks protocol type `consumer`, so this is a small group client of its
//! own over the Kafka wire protocol (kafka-protocol's codec over a tokio `TcpStream`):
//! FindCoordinator, JoinGroup (protocols `sessioned` and `compatible`, Connect's metadata in
//! Kafka's binary layout, see [`protocol`]), SyncGroup, Heartbeat and LeaveGroup. Kafka's eager
//! protocol (`default`, version 0) is not offered, so every worker of a group must speak the
//! incremental cooperative one (Kafka's default since 2.3).
//!
//! ```text
//! GroupMember::start ─ spawn ─> member loop (one task, one coordinator connection)
//!   FindCoordinator ─> JoinGroup(metadata: url, config offset, what this worker runs)
//!   leader: AssignmentInput::snapshot ─> assignor::assign ─> SyncGroup(assignments)
//!   others: SyncGroup(empty)
//!   ─> WorkerAssignment on the channel ─> heartbeats until a rebalance, a rejoin request,
//!      the scheduled delay, leave, shutdown or drop
//! ```
//!
//! # What the herder does with each [`WorkerAssignment`]
//! 1. Stop every connector and task in `revoked_connectors` / `revoked_tasks`.
//! 2. If anything was revoked, call [`GroupMember::request_rejoin`] once they have stopped:
//!    the member waits for that call (up to the rebalance timeout) before it rejoins, so the
//!    next round, which hands the revoked work to other workers, never finds it running twice.
//! 3. Read the config topic up to `config_offset`, then start whatever in `connectors` /
//!    `tasks` (the full set this worker should run) is not running yet.
//! 4. Call [`GroupMember::request_rejoin`] whenever the config topic changes the set of
//!    connectors or tasks (the leader then hands the change out).
//!
//! An event with `generation == -1` means the worker lost its membership (its session timed
//! out, or an admin removed it): everything it ran is revoked. Handle it like any revocation:
//! stop everything, then call [`GroupMember::request_rejoin`]; the member then rejoins with a
//! new member id.
//!
//! Besides, the member rejoins by itself when the group rebalances, when the coordinator moves,
//! and after an assignment's `delay` (departed workers' work is handed out then).
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use fjord_connect::group::{AssignmentInput, GroupMember, MemberConfig};
//! # use fjord_connect::herder::ConnectorTaskId;
//! struct Configs; // the herder's view of the config topic
//! impl AssignmentInput for Configs {
//!     fn snapshot(&self) -> (i64, Vec<String>, Vec<ConnectorTaskId>) {
//!         (0, vec![], vec![])
//!     }
//! }
//! # async fn demo() -> fjord_connect::Result<()> {
//! let config = MemberConfig::new("127.0.0.1:9092", "connect-cluster", "http://worker-1:8083/");
//! let shutdown = tokio_util::sync::CancellationToken::new();
//! let (member, mut assignments) = GroupMember::start(config, Arc::new(Configs), shutdown).await?;
//! while let Some(a) = assignments.recv().await {
//!     // Stop a.revoked_connectors and a.revoked_tasks, then let the group go on:
//!     if a.has_revocations() {
//!         member.request_rejoin();
//!     }
//!     // Read the config topic up to a.config_offset; start what a.connectors / a.tasks list.
//! }
//! member.leave().await;
//! # Ok(()) }
//! ```

mod assignor;
mod client;
mod member;
pub mod protocol;
mod work;

use std::time::Duration;

pub use assignor::{assign, AssignorState, MemberPlan, MemberWork, Plan};
pub use member::GroupMember;
pub use work::Work;

use crate::herder::ConnectorTaskId;

/// How a worker joins its group.
#[derive(Debug, Clone)]
pub struct MemberConfig {
    /// Comma-separated `host:port` list to find the group coordinator through.
    pub bootstrap_servers: String,
    /// `group.id`: the workers of one Connect cluster share it.
    pub group_id: String,
    /// This worker's REST URL (what other workers forward requests to).
    pub worker_url: String,
    /// `session.timeout.ms`: the coordinator drops a member that has not heartbeated this long.
    pub session_timeout: Duration,
    /// `rebalance.timeout.ms`: how long a rebalance waits for members to rejoin.
    pub rebalance_timeout: Duration,
    /// `heartbeat.interval.ms`.
    pub heartbeat_interval: Duration,
    /// `scheduled.rebalance.max.delay.ms`: how long a departed worker's work is held for it
    /// before it goes to the others (0: at once).
    pub max_delay: Duration,
}

impl MemberConfig {
    /// Kafka Connect's defaults (session 10 s, rebalance 60 s, heartbeat 3 s, max delay 300 s).
    pub fn new(
        bootstrap_servers: impl Into<String>,
        group_id: impl Into<String>,
        worker_url: impl Into<String>,
    ) -> MemberConfig {
        MemberConfig {
            bootstrap_servers: bootstrap_servers.into(),
            group_id: group_id.into(),
            worker_url: worker_url.into(),
            session_timeout: Duration::from_secs(10),
            rebalance_timeout: Duration::from_secs(60),
            heartbeat_interval: Duration::from_secs(3),
            max_delay: Duration::from_secs(300),
        }
    }
}

/// What this worker runs after a rebalance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerAssignment {
    /// The group generation (-1: membership lost, everything revoked).
    pub generation: i32,
    /// This worker's member id in that generation.
    pub member_id: String,
    /// The leader's member id.
    pub leader_id: String,
    /// The leader's REST URL (requests that only the leader serves go there).
    pub leader_url: String,
    /// The config topic offset the assignment was computed from: read up to it before
    /// starting work.
    pub config_offset: i64,
    /// Every connector this worker should run now (not only the new ones).
    pub connectors: Vec<String>,
    /// Every task this worker should run now.
    pub tasks: Vec<ConnectorTaskId>,
    /// Connectors to stop before the member rejoins.
    pub revoked_connectors: Vec<String>,
    /// Tasks to stop before the member rejoins.
    pub revoked_tasks: Vec<ConnectorTaskId>,
    /// Departed workers' work is held this long; the member rejoins by itself then.
    pub delay: Duration,
}

impl WorkerAssignment {
    /// Whether the worker must stop something (and then call
    /// [`GroupMember::request_rejoin`]).
    pub fn has_revocations(&self) -> bool {
        !self.revoked_connectors.is_empty() || !self.revoked_tasks.is_empty()
    }
}

/// What the leader needs to compute the assignment: the current connectors and their task ids,
/// and the config offset they came from. Every member provides one (a member's offset goes in
/// its JoinGroup metadata); the leader's is the one assignments are computed from.
pub trait AssignmentInput: Send + Sync {
    /// `(config offset, connectors, tasks)` as of the config topic read so far. Called on the
    /// member's task at every join; it must not block for long.
    fn snapshot(&self) -> (i64, Vec<String>, Vec<ConnectorTaskId>);
}
