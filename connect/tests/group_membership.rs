//! Distributed workers' group membership against a real embedded broker: workers join with
//! protocol type `connect`, the leader runs the incremental cooperative assignor, and each
//! worker's "herder" (a small loop here) applies the assignments as Kafka Connect's does:
//! stop revoked work, rejoin, start the rest.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fjord_broker::embedded::{EmbeddedBroker, EmbeddedConfig};
use fjord_connect::group::{AssignmentInput, GroupMember, MemberConfig, WorkerAssignment};
use fjord_connect::herder::ConnectorTaskId;
use tokio_util::sync::CancellationToken;

const DEADLINE: Duration = Duration::from_secs(40);
const SESSION: Duration = Duration::from_millis(2_000);
/// How long the test herder takes to stop revoked work: long enough that a member rejoining
/// before its herder confirmed the stop would let another worker start the work meanwhile.
const STOP_TIME: Duration = Duration::from_millis(1_000);

/// The config topic as every worker has read it (shared: they all agree).
#[derive(Default)]
struct ConfigView(Mutex<(i64, Vec<String>, Vec<ConnectorTaskId>)>);

impl ConfigView {
    fn with(connectors: &[(&str, u32)]) -> Arc<ConfigView> {
        let view = Arc::new(ConfigView::default());
        view.set(0, connectors);
        view
    }

    fn set(&self, offset: i64, connectors: &[(&str, u32)]) {
        let names = connectors.iter().map(|(c, _)| c.to_string()).collect();
        let tasks = connectors
            .iter()
            .flat_map(|(c, n)| {
                (0..*n).map(|task| ConnectorTaskId {
                    connector: c.to_string(),
                    task,
                })
            })
            .collect();
        *self.0.lock().unwrap() = (offset, names, tasks);
    }

    fn all(&self) -> (BTreeSet<String>, BTreeSet<ConnectorTaskId>) {
        let g = self.0.lock().unwrap();
        (g.1.iter().cloned().collect(), g.2.iter().cloned().collect())
    }
}

/// The cluster as a whole: the config all workers read, and which worker runs each connector and
/// task right now. Starting work another worker still runs is recorded as a violation.
struct Cluster {
    input: Arc<ConfigView>,
    owners: Mutex<BTreeMap<String, String>>,
    violations: Mutex<Vec<String>>,
}

impl Cluster {
    fn with(connectors: &[(&str, u32)]) -> Arc<Cluster> {
        Arc::new(Cluster {
            input: ConfigView::with(connectors),
            owners: Mutex::default(),
            violations: Mutex::default(),
        })
    }

    fn start(&self, worker: &str, work: String) {
        let mut owners = self.owners.lock().unwrap();
        if let Some(other) = owners.insert(work.clone(), worker.to_string()) {
            if other != worker {
                self.violations
                    .lock()
                    .unwrap()
                    .push(format!("{worker} started {work} while {other} ran it"));
            }
        }
    }

    fn stop(&self, worker: &str, work: &str) {
        let mut owners = self.owners.lock().unwrap();
        match owners.get(work) {
            Some(owner) if owner == worker => {
                owners.remove(work);
            }
            other => self.violations.lock().unwrap().push(format!(
                "{worker} stopped {work} it did not run (owner {other:?})"
            )),
        }
    }

    fn stop_all(&self, worker: &str) {
        self.owners.lock().unwrap().retain(|_, w| w != worker);
    }

    fn assert_no_violations(&self) {
        let v = self.violations.lock().unwrap();
        assert!(v.is_empty(), "{v:#?}");
    }
}

fn task_key(t: &ConnectorTaskId) -> String {
    format!("task {}-{}", t.connector, t.task)
}

fn connector_key(c: &str) -> String {
    format!("connector {c}")
}

impl AssignmentInput for ConfigView {
    fn snapshot(&self) -> (i64, Vec<String>, Vec<ConnectorTaskId>) {
        self.0.lock().unwrap().clone()
    }
}

/// What one worker runs, as its herder loop sees it.
#[derive(Debug, Default, Clone)]
struct Running {
    generation: i32,
    member_id: String,
    leader_id: String,
    connectors: BTreeSet<String>,
    tasks: BTreeSet<ConnectorTaskId>,
    revoked_connectors: BTreeSet<String>,
    revoked_tasks: BTreeSet<ConnectorTaskId>,
    max_delay_seen: Duration,
    /// Whether a membership-lost event (generation -1) came.
    lost_membership: bool,
}

struct Worker {
    name: String,
    cluster: Arc<Cluster>,
    member: Arc<Mutex<Option<GroupMember>>>,
    running: Arc<Mutex<Running>>,
    herder: tokio::task::JoinHandle<()>,
}

impl Worker {
    async fn start(
        broker: &EmbeddedBroker,
        group: &str,
        name: &str,
        cluster: &Arc<Cluster>,
        max_delay: Duration,
    ) -> Worker {
        let config = MemberConfig {
            session_timeout: SESSION,
            rebalance_timeout: Duration::from_secs(10),
            heartbeat_interval: Duration::from_millis(200),
            max_delay,
            ..MemberConfig::new(
                broker.bootstrap_servers(),
                group,
                format!("http://{name}:8083/"),
            )
        };
        let (member, mut events) =
            GroupMember::start(config, cluster.input.clone(), CancellationToken::new())
                .await
                .expect("start member");
        let member = Arc::new(Mutex::new(Some(member)));
        let running = Arc::new(Mutex::new(Running::default()));
        let herder = tokio::spawn({
            let member = member.clone();
            let running = running.clone();
            let cluster = cluster.clone();
            let name = name.to_string();
            async move {
                while let Some(a) = events.recv().await {
                    if a.has_revocations() {
                        tokio::time::sleep(STOP_TIME).await;
                    }
                    apply(&name, &cluster, &running, &a);
                    if a.has_revocations() {
                        if let Some(m) = member.lock().unwrap().as_ref() {
                            m.request_rejoin();
                        }
                    }
                }
            }
        });
        Worker {
            name: name.to_string(),
            cluster: cluster.clone(),
            member,
            running,
            herder,
        }
    }

    fn view(&self) -> Running {
        self.running.lock().unwrap().clone()
    }

    fn request_rejoin(&self) {
        self.member
            .lock()
            .unwrap()
            .as_ref()
            .unwrap()
            .request_rejoin();
    }

    /// A clean stop, as Kafka's herder does it: stop all work, then leave the group.
    async fn leave(self) {
        self.herder.abort();
        self.cluster.stop_all(&self.name);
        let member = self.member.lock().unwrap().take().unwrap();
        member.leave().await;
    }

    /// A crash: the member stops without LeaveGroup (and its work with it).
    fn kill(self) {
        drop(self.member.lock().unwrap().take());
        self.herder.abort();
        self.cluster.stop_all(&self.name);
    }
}

/// The herder's part: stop what is revoked (it must be running here), start what the event
/// lists and is not running yet.
fn apply(name: &str, cluster: &Cluster, running: &Mutex<Running>, a: &WorkerAssignment) {
    let mut r = running.lock().unwrap();
    for c in &a.revoked_connectors {
        cluster.stop(name, &connector_key(c));
        r.connectors.remove(c);
        r.revoked_connectors.insert(c.clone());
    }
    for t in &a.revoked_tasks {
        cluster.stop(name, &task_key(t));
        r.tasks.remove(t);
        r.revoked_tasks.insert(t.clone());
    }
    let connectors: BTreeSet<String> = a.connectors.iter().cloned().collect();
    let tasks: BTreeSet<ConnectorTaskId> = a.tasks.iter().cloned().collect();
    if !(r.connectors.is_subset(&connectors) && r.tasks.is_subset(&tasks)) {
        cluster.violations.lock().unwrap().push(format!(
            "{name}: an assignment dropped work without revoking it: had {:?} {:?}, got {a:?}",
            r.connectors, r.tasks
        ));
    }
    for c in connectors.difference(&r.connectors) {
        cluster.start(name, connector_key(c));
    }
    for t in tasks.difference(&r.tasks) {
        cluster.start(name, task_key(t));
    }
    r.connectors = connectors;
    r.tasks = tasks;
    r.generation = a.generation;
    r.member_id = a.member_id.clone();
    r.leader_id = a.leader_id.clone();
    r.max_delay_seen = r.max_delay_seen.max(a.delay);
    r.lost_membership |= a.generation == -1;
}

/// Every configured connector and task runs on exactly one worker, all workers are on the same
/// generation, and connectors and tasks are each spread within one of even.
fn settled(workers: &[&Worker], cluster: &Cluster) -> Option<Vec<Running>> {
    cluster.assert_no_violations();
    let views: Vec<Running> = workers.iter().map(|w| w.view()).collect();
    let generations: BTreeSet<i32> = views.iter().map(|v| v.generation).collect();
    if generations.len() != 1 || generations.contains(&0) || generations.contains(&-1) {
        return None;
    }
    let (connectors, tasks) = cluster.input.all();
    let mut seen_c = BTreeSet::new();
    let mut seen_t = BTreeSet::new();
    for v in &views {
        for c in &v.connectors {
            assert!(
                seen_c.insert(c.clone()),
                "connector {c} runs twice: {views:#?}"
            );
        }
        for t in &v.tasks {
            assert!(
                seen_t.insert(t.clone()),
                "task {t:?} runs twice: {views:#?}"
            );
        }
    }
    let spread = |counts: Vec<usize>| {
        counts.iter().max().unwrap_or(&0) - counts.iter().min().unwrap_or(&0) <= 1
    };
    (seen_c == connectors
        && seen_t == tasks
        && spread(views.iter().map(|v| v.connectors.len()).collect())
        && spread(views.iter().map(|v| v.tasks.len()).collect()))
    .then_some(views)
}

async fn wait_settled(workers: &[&Worker], cluster: &Cluster, what: &str) -> Vec<Running> {
    let start = Instant::now();
    loop {
        if let Some(views) = settled(workers, cluster) {
            return views;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "{what}: not settled within {DEADLINE:?}: {:#?}",
            workers.iter().map(|w| w.view()).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn broker() -> EmbeddedBroker {
    EmbeddedBroker::start(EmbeddedConfig {
        properties: vec![("group.min.session.timeout.ms".into(), "500".into())],
        ..EmbeddedConfig::default()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn two_then_three_workers_balance_and_a_joiner_takes_only_its_share() {
    let broker = broker().await;
    let cluster = Cluster::with(&[("a", 4), ("b", 4), ("c", 4)]);
    let w1 = Worker::start(&broker, "g-three", "w1", &cluster, Duration::ZERO).await;
    let w2 = Worker::start(&broker, "g-three", "w2", &cluster, Duration::ZERO).await;
    let before = wait_settled(&[&w1, &w2], &cluster, "two workers").await;

    let w3 = Worker::start(&broker, "g-three", "w3", &cluster, Duration::ZERO).await;
    let after = wait_settled(&[&w1, &w2, &w3], &cluster, "three workers").await;
    for v in &after {
        assert_eq!((v.connectors.len(), v.tasks.len()), (1, 4), "{after:#?}");
    }
    // w1 and w2 kept all they had except what w3 took, and stopped nothing else.
    let mut moved_c = BTreeSet::new();
    let mut moved_t = BTreeSet::new();
    for (b, a) in before.iter().zip(&after) {
        assert!(a.connectors.is_subset(&b.connectors) && a.tasks.is_subset(&b.tasks));
        let lost_c: BTreeSet<_> = b.connectors.difference(&a.connectors).cloned().collect();
        let lost_t: BTreeSet<_> = b.tasks.difference(&a.tasks).cloned().collect();
        let revoked_c: BTreeSet<_> = a
            .revoked_connectors
            .difference(&b.revoked_connectors)
            .cloned()
            .collect();
        let revoked_t: BTreeSet<_> = a
            .revoked_tasks
            .difference(&b.revoked_tasks)
            .cloned()
            .collect();
        assert_eq!(revoked_c, lost_c, "only what moved was revoked");
        assert_eq!(revoked_t, lost_t, "only what moved was revoked");
        moved_c.extend(lost_c);
        moved_t.extend(lost_t);
    }
    assert_eq!(moved_c, after[2].connectors);
    assert_eq!(moved_t, after[2].tasks);
    for w in [w1, w2, w3] {
        w.kill();
    }
    broker.shutdown().await;
}

/// Three workers settle; a follower leaves (or dies); the other two take its work, keeping
/// their own. With a delay, the work is held at least that long after the departure.
async fn departure(group: &str, graceful: bool, max_delay: Duration) {
    let broker = broker().await;
    let cluster = Cluster::with(&[("a", 3), ("b", 3), ("c", 3)]);
    let mut workers = Vec::new();
    for name in ["w1", "w2", "w3"] {
        workers.push(Worker::start(&broker, group, name, &cluster, max_delay).await);
    }
    let views = wait_settled(
        &workers.iter().collect::<Vec<_>>(),
        &cluster,
        "three workers",
    )
    .await;
    let follower = views
        .iter()
        .position(|v| v.member_id != v.leader_id)
        .unwrap();
    let gone = workers.remove(follower);
    let gone_view = gone.view();
    let stayed: Vec<Running> = workers.iter().map(|w| w.view()).collect();
    let departed_at = Instant::now();
    if graceful {
        gone.leave().await;
    } else {
        gone.kill();
    }

    let after = wait_settled(
        &workers.iter().collect::<Vec<_>>(),
        &cluster,
        "after departure",
    )
    .await;
    let took = departed_at.elapsed();
    for (b, a) in stayed.iter().zip(&after) {
        assert!(b.connectors.is_subset(&a.connectors) && b.tasks.is_subset(&a.tasks));
        assert_eq!(
            (&a.revoked_connectors, &a.revoked_tasks),
            (&b.revoked_connectors, &b.revoked_tasks),
            "nothing was revoked from the workers that stayed"
        );
    }
    let taken_c: BTreeSet<String> = after.iter().flat_map(|a| a.connectors.clone()).collect();
    assert!(gone_view.connectors.is_subset(&taken_c));
    if !max_delay.is_zero() {
        assert!(took >= max_delay, "held {took:?}, less than {max_delay:?}");
        assert!(after.iter().all(|a| a.max_delay_seen > Duration::ZERO));
    } else if graceful {
        assert!(took < SESSION, "a leave needs no session timeout: {took:?}");
    }
    for w in workers {
        w.kill();
    }
    broker.shutdown().await;
}

#[tokio::test]
async fn a_leaving_worker_hands_over_at_once_with_no_delay() {
    departure("g-leave-0", true, Duration::ZERO).await;
}

#[tokio::test]
async fn a_leaving_workers_work_is_held_for_the_delay() {
    departure("g-leave-delay", true, Duration::from_millis(1_500)).await;
}

#[tokio::test]
async fn a_dead_workers_work_moves_after_the_session_timeout() {
    departure("g-dead-0", false, Duration::ZERO).await;
}

#[tokio::test]
async fn a_dead_workers_work_is_held_for_the_delay() {
    departure("g-dead-delay", false, Duration::from_millis(1_500)).await;
}

#[tokio::test]
async fn request_rejoin_hands_out_added_work_and_revokes_removed_work() {
    let broker = broker().await;
    let cluster = Cluster::with(&[("a", 2)]);
    let w1 = Worker::start(&broker, "g-rejoin", "w1", &cluster, Duration::ZERO).await;
    let w2 = Worker::start(&broker, "g-rejoin", "w2", &cluster, Duration::ZERO).await;
    let views = wait_settled(&[&w1, &w2], &cluster, "start").await;
    let generation = views[0].generation;

    // A connector added: a follower notices first and asks for a rebalance.
    cluster.input.set(1, &[("a", 2), ("b", 3)]);
    let follower = if views[0].member_id == views[0].leader_id {
        &w2
    } else {
        &w1
    };
    follower.request_rejoin();
    let views = wait_settled(&[&w1, &w2], &cluster, "connector added").await;
    assert!(views[0].generation > generation);
    let by_worker: BTreeMap<usize, usize> =
        views.iter().map(|v| v.tasks.len()).enumerate().collect();
    assert_eq!(by_worker.values().sum::<usize>(), 5);

    // A connector removed: whoever ran it stops it.
    cluster.input.set(2, &[("b", 3)]);
    w1.request_rejoin();
    let views = wait_settled(&[&w1, &w2], &cluster, "connector removed").await;
    assert!(views
        .iter()
        .all(|v| v.tasks.iter().all(|t| t.connector == "b")));
    let revoked: BTreeSet<String> = views
        .iter()
        .flat_map(|v| v.revoked_connectors.clone())
        .collect();
    assert!(revoked.contains("a"));
    for w in [w1, w2] {
        w.kill();
    }
    broker.shutdown().await;
}

/// Removes a member from the group from another connection (LeaveGroup v4 naming the member),
/// as Kafka's admin `removeMembersFromConsumerGroup` does.
async fn remove_member(broker: &EmbeddedBroker, group: &str, member_id: &str) {
    use bytes::{BufMut, BytesMut};
    use kafka_protocol::messages::leave_group_request::MemberIdentity;
    use kafka_protocol::messages::{
        ApiKey, GroupId, LeaveGroupRequest, LeaveGroupResponse, RequestHeader, ResponseHeader,
    };
    use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Request, StrBytes};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let version = 4;
    let mut stream = tokio::net::TcpStream::connect(broker.bootstrap_servers())
        .await
        .unwrap();
    let header = RequestHeader::default()
        .with_request_api_key(LeaveGroupRequest::KEY)
        .with_request_api_version(version)
        .with_correlation_id(1)
        .with_client_id(Some(StrBytes::from_static_str("admin")));
    let req = LeaveGroupRequest::default()
        .with_group_id(GroupId(StrBytes::from_string(group.into())))
        .with_members(vec![
            MemberIdentity::default().with_member_id(StrBytes::from_string(member_id.into()))
        ]);
    let mut buf = BytesMut::new();
    buf.put_i32(0);
    header
        .encode(&mut buf, LeaveGroupRequest::header_version(version))
        .unwrap();
    req.encode(&mut buf, version).unwrap();
    let len = (buf.len() - 4) as i32;
    buf[..4].copy_from_slice(&len.to_be_bytes());
    stream.write_all(&buf).await.unwrap();
    let mut len = [0u8; 4];
    stream.read_exact(&mut len).await.unwrap();
    let mut frame = vec![0u8; i32::from_be_bytes(len) as usize];
    stream.read_exact(&mut frame).await.unwrap();
    let mut frame = bytes::Bytes::from(frame);
    ResponseHeader::decode(
        &mut frame,
        ApiKey::LeaveGroup.response_header_version(version),
    )
    .unwrap();
    let resp = LeaveGroupResponse::decode(&mut frame, version).unwrap();
    assert_eq!(resp.error_code, 0);
    assert_eq!(resp.members[0].error_code, 0, "{resp:?}");
}

#[tokio::test]
async fn a_member_removed_from_the_group_stops_everything_and_rejoins() {
    let broker = broker().await;
    let cluster = Cluster::with(&[("a", 2), ("b", 2)]);
    // The delay covers the time the removed worker needs to notice and stop its work, so
    // nobody starts that work while it still runs.
    let delay = Duration::from_secs(3);
    let w1 = Worker::start(&broker, "g-removed", "w1", &cluster, delay).await;
    let w2 = Worker::start(&broker, "g-removed", "w2", &cluster, delay).await;
    let views = wait_settled(&[&w1, &w2], &cluster, "start").await;
    let (follower, other) = if views[0].member_id == views[0].leader_id {
        (&w2, &w1)
    } else {
        (&w1, &w2)
    };
    let old_id = follower.view().member_id;
    remove_member(&broker, "g-removed", &old_id).await;
    let start = Instant::now();
    while !follower.view().lost_membership {
        assert!(
            start.elapsed() < DEADLINE,
            "the removed member never noticed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let views = wait_settled(&[follower, other], &cluster, "after removal").await;
    let v = follower.view();
    assert!(v.lost_membership, "{views:#?}");
    assert_ne!(v.member_id, old_id, "it rejoined as a new member");
    for w in [w1, w2] {
        w.kill();
    }
    broker.shutdown().await;
}

#[tokio::test]
async fn a_session_timeout_the_broker_refuses_closes_the_channel() {
    let broker = broker().await;
    let config = MemberConfig {
        session_timeout: Duration::from_millis(100), // below the broker's 500 ms minimum
        heartbeat_interval: Duration::from_millis(50),
        ..MemberConfig::new(broker.bootstrap_servers(), "g-refused", "http://w:8083/")
    };
    let input = ConfigView::with(&[("a", 1)]);
    let (member, mut events) = GroupMember::start(config, input, CancellationToken::new())
        .await
        .unwrap();
    let closed = tokio::time::timeout(DEADLINE, events.recv()).await;
    assert!(matches!(closed, Ok(None)), "{closed:?}");
    drop(member);
    broker.shutdown().await;
}
