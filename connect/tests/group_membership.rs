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
}

struct Worker {
    member: Arc<Mutex<Option<GroupMember>>>,
    running: Arc<Mutex<Running>>,
    herder: tokio::task::JoinHandle<()>,
}

impl Worker {
    async fn start(
        broker: &EmbeddedBroker,
        group: &str,
        name: &str,
        input: &Arc<ConfigView>,
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
            GroupMember::start(config, input.clone(), CancellationToken::new())
                .await
                .expect("start member");
        let member = Arc::new(Mutex::new(Some(member)));
        let running = Arc::new(Mutex::new(Running::default()));
        let herder = tokio::spawn({
            let member = member.clone();
            let running = running.clone();
            async move {
                while let Some(a) = events.recv().await {
                    apply(&running, &a);
                    if a.has_revocations() {
                        if let Some(m) = member.lock().unwrap().as_ref() {
                            m.request_rejoin();
                        }
                    }
                }
            }
        });
        Worker {
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

    async fn leave(self) {
        let member = self.member.lock().unwrap().take().unwrap();
        member.leave().await;
        self.herder.abort();
    }

    /// A crash: the member stops without LeaveGroup.
    fn kill(self) {
        drop(self.member.lock().unwrap().take());
        self.herder.abort();
    }
}

/// The herder's part: revoked work must be running here; what the event lists is run.
fn apply(running: &Mutex<Running>, a: &WorkerAssignment) {
    let mut r = running.lock().unwrap();
    for c in &a.revoked_connectors {
        assert!(
            r.connectors.remove(c),
            "revoked connector {c} was not running"
        );
        r.revoked_connectors.insert(c.clone());
    }
    for t in &a.revoked_tasks {
        assert!(r.tasks.remove(t), "revoked task {t:?} was not running");
        r.revoked_tasks.insert(t.clone());
    }
    let connectors: BTreeSet<String> = a.connectors.iter().cloned().collect();
    let tasks: BTreeSet<ConnectorTaskId> = a.tasks.iter().cloned().collect();
    assert!(
        r.connectors.is_subset(&connectors) && r.tasks.is_subset(&tasks),
        "an assignment dropped work without revoking it: had {:?} {:?}, got {a:?}",
        r.connectors,
        r.tasks
    );
    r.connectors = connectors;
    r.tasks = tasks;
    r.generation = a.generation;
    r.member_id = a.member_id.clone();
    r.leader_id = a.leader_id.clone();
    r.max_delay_seen = r.max_delay_seen.max(a.delay);
}

/// Every configured connector and task runs on exactly one worker, all workers are on the same
/// generation, and connectors and tasks are each spread within one of even.
fn settled(workers: &[&Worker], input: &ConfigView) -> Option<Vec<Running>> {
    let views: Vec<Running> = workers.iter().map(|w| w.view()).collect();
    let generations: BTreeSet<i32> = views.iter().map(|v| v.generation).collect();
    if generations.len() != 1 || generations.contains(&0) {
        return None;
    }
    let (connectors, tasks) = input.all();
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

async fn wait_settled(workers: &[&Worker], input: &ConfigView, what: &str) -> Vec<Running> {
    let start = Instant::now();
    loop {
        if let Some(views) = settled(workers, input) {
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
    let input = ConfigView::with(&[("a", 4), ("b", 4), ("c", 4)]);
    let w1 = Worker::start(&broker, "g-three", "w1", &input, Duration::ZERO).await;
    let w2 = Worker::start(&broker, "g-three", "w2", &input, Duration::ZERO).await;
    let before = wait_settled(&[&w1, &w2], &input, "two workers").await;

    let w3 = Worker::start(&broker, "g-three", "w3", &input, Duration::ZERO).await;
    let after = wait_settled(&[&w1, &w2, &w3], &input, "three workers").await;
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
    broker.shutdown().await;
}

/// Three workers settle; a follower leaves (or dies); the other two take its work, keeping
/// their own. With a delay, the work is held at least that long after the departure.
async fn departure(group: &str, graceful: bool, max_delay: Duration) {
    let broker = broker().await;
    let input = ConfigView::with(&[("a", 3), ("b", 3), ("c", 3)]);
    let mut workers = Vec::new();
    for name in ["w1", "w2", "w3"] {
        workers.push(Worker::start(&broker, group, name, &input, max_delay).await);
    }
    let views = wait_settled(&workers.iter().collect::<Vec<_>>(), &input, "three workers").await;
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
        &input,
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
    let input = ConfigView::with(&[("a", 2)]);
    let w1 = Worker::start(&broker, "g-rejoin", "w1", &input, Duration::ZERO).await;
    let w2 = Worker::start(&broker, "g-rejoin", "w2", &input, Duration::ZERO).await;
    let views = wait_settled(&[&w1, &w2], &input, "start").await;
    let generation = views[0].generation;

    // A connector added: a follower notices first and asks for a rebalance.
    input.set(1, &[("a", 2), ("b", 3)]);
    let follower = if views[0].member_id == views[0].leader_id {
        &w2
    } else {
        &w1
    };
    follower.request_rejoin();
    let views = wait_settled(&[&w1, &w2], &input, "connector added").await;
    assert!(views[0].generation > generation);
    let by_worker: BTreeMap<usize, usize> =
        views.iter().map(|v| v.tasks.len()).enumerate().collect();
    assert_eq!(by_worker.values().sum::<usize>(), 5);

    // A connector removed: whoever ran it stops it.
    input.set(2, &[("b", 3)]);
    w1.request_rejoin();
    let views = wait_settled(&[&w1, &w2], &input, "connector removed").await;
    assert!(views
        .iter()
        .all(|v| v.tasks.iter().all(|t| t.connector == "b")));
    let revoked: BTreeSet<String> = views
        .iter()
        .flat_map(|v| v.revoked_connectors.clone())
        .collect();
    assert!(revoked.contains("a"));
    broker.shutdown().await;
}
