//! The assignor's tests: single rounds, and a simulated group that applies each round the way
//! workers do (stop revoked, start assigned, rejoin) until it is stable.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::*;
use crate::herder::ConnectorTaskId;

fn task(c: &str, n: u32) -> Work {
    Work::Task(ConnectorTaskId {
        connector: c.into(),
        task: n,
    })
}

fn conn(c: &str) -> Work {
    Work::Connector(c.into())
}

/// `connectors` connectors named c0.., each with `tasks` tasks.
fn configured(connectors: usize, tasks: u32) -> BTreeSet<Work> {
    let mut out = BTreeSet::new();
    for i in 0..connectors {
        let c = format!("c{i}");
        out.insert(conn(&c));
        for t in 0..tasks {
            out.insert(task(&c, t));
        }
    }
    out
}

/// A group of workers that do what the plan says.
struct Sim {
    state: AssignorState,
    running: BTreeMap<String, BTreeSet<Work>>,
    configured: BTreeSet<Work>,
    max_delay: Duration,
    now: Instant,
}

impl Sim {
    fn new(members: &[&str], configured: BTreeSet<Work>, max_delay: Duration) -> Sim {
        Sim {
            state: AssignorState::default(),
            running: members
                .iter()
                .map(|m| (m.to_string(), BTreeSet::new()))
                .collect(),
            configured,
            max_delay,
            now: Instant::now(),
        }
    }

    fn round(&mut self) -> Plan {
        let members: Vec<MemberWork> = self
            .running
            .iter()
            .map(|(id, set)| MemberWork {
                id: id.clone(),
                running: set.iter().cloned().collect(),
            })
            .collect();
        let plan = assign(
            &mut self.state,
            &members,
            &self.configured,
            self.max_delay,
            self.now,
        );
        let running_now: BTreeSet<Work> = self.running.values().flatten().cloned().collect();
        for (id, p) in &plan.members {
            for w in &p.assigned {
                assert!(
                    !running_now.contains(w),
                    "{w:?} assigned to {id} while it still runs somewhere"
                );
            }
            let set = self.running.get_mut(id).unwrap();
            for w in &p.revoked {
                assert!(set.remove(w), "{id} told to stop {w:?} it does not run");
            }
            set.extend(p.assigned.iter().cloned());
        }
        plan
    }

    /// Rounds until one revokes nothing; returns them all.
    fn converge(&mut self) -> Vec<Plan> {
        let mut plans = Vec::new();
        loop {
            let plan = self.round();
            let done = plan.members.values().all(|p| p.revoked.is_empty());
            plans.push(plan);
            if done {
                return plans;
            }
            assert!(plans.len() < 4, "no convergence: {plans:#?}");
        }
    }

    fn count(&self, id: &str, connectors: bool) -> usize {
        self.running[id]
            .iter()
            .filter(|w| w.is_connector() == connectors)
            .count()
    }

    fn assert_balanced_and_complete(&self) {
        let all: Vec<&Work> = self.running.values().flatten().collect();
        let unique: BTreeSet<&Work> = all.iter().copied().collect();
        assert_eq!(
            all.len(),
            unique.len(),
            "work runs twice: {:?}",
            self.running
        );
        assert_eq!(
            unique,
            self.configured.iter().collect(),
            "not all work runs: {:?}",
            self.running
        );
        for connectors in [true, false] {
            let loads: Vec<usize> = self
                .running
                .keys()
                .map(|id| self.count(id, connectors))
                .collect();
            let (min, max) = (loads.iter().min(), loads.iter().max());
            assert!(
                max.zip(min).is_none_or(|(a, b)| a - b <= 1),
                "unbalanced ({}): {loads:?}",
                if connectors { "connectors" } else { "tasks" }
            );
        }
    }

    fn join(&mut self, id: &str) {
        self.running.insert(id.into(), BTreeSet::new());
    }

    fn kill(&mut self, id: &str) -> BTreeSet<Work> {
        self.running.remove(id).unwrap()
    }
}

#[test]
fn no_members_no_plan() {
    let plan = assign(
        &mut AssignorState::default(),
        &[],
        &configured(2, 2),
        Duration::ZERO,
        Instant::now(),
    );
    assert!(plan.members.is_empty());
}

#[test]
fn a_single_member_gets_everything_at_once() {
    let mut sim = Sim::new(&["a"], configured(3, 4), Duration::ZERO);
    let plans = sim.converge();
    assert_eq!(plans.len(), 1);
    assert_eq!(plans[0].members["a"].assigned.len(), 15);
    sim.assert_balanced_and_complete();
}

#[test]
fn two_and_three_fresh_members_are_balanced_in_one_round() {
    for members in [&["a", "b"][..], &["a", "b", "c"]] {
        let mut sim = Sim::new(members, configured(4, 3), Duration::ZERO);
        assert_eq!(sim.converge().len(), 1);
        sim.assert_balanced_and_complete();
    }
}

#[test]
fn a_joining_member_takes_only_the_minimal_share_in_two_rounds() {
    let mut sim = Sim::new(&["a", "b"], configured(3, 4), Duration::ZERO);
    sim.converge();
    let before = sim.running.clone();
    sim.join("c");
    let plans = sim.converge();
    assert_eq!(plans.len(), 2, "{plans:#?}");
    // Round 1 revokes, gives nothing out; round 2 hands the revoked work to c.
    let revoked: BTreeSet<Work> = plans[0]
        .members
        .values()
        .flat_map(|p| p.revoked.iter().cloned())
        .collect();
    assert!(plans[0].members.values().all(|p| p.assigned.is_empty()));
    assert_eq!(
        plans[1].members["c"]
            .assigned
            .iter()
            .cloned()
            .collect::<BTreeSet<_>>(),
        revoked
    );
    // 3 connectors and 12 tasks over 3 members: c takes 1 connector and 4 tasks, no more.
    assert_eq!((sim.count("c", true), sim.count("c", false)), (1, 4));
    assert_eq!(revoked.len(), 5);
    // a and b kept everything else.
    for id in ["a", "b"] {
        assert!(sim.running[id].is_subset(&before[id]));
    }
    sim.assert_balanced_and_complete();
}

#[test]
fn a_departed_members_work_moves_at_once_with_no_delay() {
    let mut sim = Sim::new(&["a", "b", "c"], configured(3, 3), Duration::ZERO);
    sim.converge();
    let before = sim.running.clone();
    let lost = sim.kill("b");
    let plans = sim.converge();
    assert_eq!(plans.len(), 1, "no revocations needed: {plans:#?}");
    let handed: BTreeSet<Work> = plans[0]
        .members
        .values()
        .flat_map(|p| p.assigned.iter().cloned())
        .collect();
    assert_eq!(handed, lost);
    for id in ["a", "c"] {
        assert!(before[id].is_subset(&sim.running[id]));
    }
    sim.assert_balanced_and_complete();
}

#[test]
fn a_departed_members_work_is_held_for_the_delay() {
    let delay = Duration::from_secs(10);
    let mut sim = Sim::new(&["a", "b", "c"], configured(3, 3), delay);
    sim.converge();
    let lost = sim.kill("b");

    let plan = sim.round();
    assert_eq!(plan.delay, delay);
    assert!(plan.members.values().all(|p| p.assigned.is_empty()));

    sim.now += Duration::from_secs(4);
    let plan = sim.round();
    assert_eq!(plan.delay, Duration::from_secs(6), "the delay counts down");
    assert!(plan.members.values().all(|p| p.assigned.is_empty()));

    // A replacement joins while the work is held: it gets nothing yet, and nothing is revoked
    // for it.
    sim.join("d");
    let plan = sim.round();
    assert!(plan
        .members
        .values()
        .all(|p| p.assigned.is_empty() && p.revoked.is_empty()));

    sim.now += Duration::from_secs(6);
    let plans = sim.converge();
    assert_eq!(plans[0].delay, Duration::ZERO);
    assert_eq!(
        plans[0].members["d"]
            .assigned
            .iter()
            .cloned()
            .collect::<BTreeSet<_>>(),
        lost,
        "the replacement, least loaded, takes the held work"
    );
    sim.assert_balanced_and_complete();
}

#[test]
fn held_work_comes_back_in_full_after_the_delay_without_replacement() {
    let delay = Duration::from_millis(500);
    let mut sim = Sim::new(&["a", "b"], configured(2, 4), delay);
    sim.converge();
    sim.kill("b");
    assert_eq!(sim.round().delay, delay);
    sim.now += delay;
    sim.converge();
    assert_eq!(sim.running["a"].len(), 10);
    sim.assert_balanced_and_complete();
}

#[test]
fn deleted_work_is_revoked_and_new_work_assigned() {
    let mut sim = Sim::new(&["a", "b"], configured(2, 2), Duration::ZERO);
    sim.converge();
    sim.configured.retain(|w| match w {
        Work::Connector(c) => c != "c1",
        Work::Task(t) => t.connector != "c1",
    });
    sim.configured.insert(conn("n"));
    sim.configured.insert(task("n", 0));
    sim.configured.insert(task("n", 1));
    sim.converge();
    sim.assert_balanced_and_complete();
}

#[test]
fn duplicated_work_stays_with_one_member() {
    let mut state = AssignorState::default();
    let members = vec![
        MemberWork {
            id: "b".into(),
            running: vec![task("c0", 0)],
        },
        MemberWork {
            id: "a".into(),
            running: vec![task("c0", 0), task("c0", 0)],
        },
    ];
    let plan = assign(
        &mut state,
        &members,
        &[task("c0", 0)].into_iter().collect(),
        Duration::ZERO,
        Instant::now(),
    );
    assert!(plan.members["a"].revoked.is_empty());
    assert_eq!(plan.members["b"].revoked, vec![task("c0", 0)]);
}

#[test]
fn a_stable_group_is_left_alone() {
    let mut sim = Sim::new(&["a", "b", "c"], configured(5, 5), Duration::ZERO);
    sim.converge();
    let plan = sim.round();
    assert!(plan
        .members
        .values()
        .all(|p| p.assigned.is_empty() && p.revoked.is_empty()));
}

proptest! {
    /// From any starting point (work spread at random, some of it unknown or duplicated), the
    /// group is complete and balanced after at most two rounds with revocations and a quiet
    /// third, and a member never loses work it keeps running unless it has more than its share.
    #[test]
    fn any_start_converges(
        members in 1usize..6,
        connectors in 0usize..6,
        tasks in 0u32..6,
        spread in prop::collection::vec((0usize..6, 0usize..40), 0..40),
    ) {
        let ids: Vec<String> = (0..members).map(|i| format!("m{i}")).collect();
        let id_refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let mut sim = Sim::new(&id_refs, configured(connectors, tasks), Duration::ZERO);
        let pool: Vec<Work> = configured(connectors + 1, tasks + 1).into_iter().collect();
        for (m, w) in spread {
            if let Some(w) = pool.get(w % pool.len().max(1)) {
                sim.running.get_mut(&ids[m % members]).unwrap().insert(w.clone());
            }
        }
        let plans = sim.converge();
        prop_assert!(plans.len() <= 3, "{:#?}", plans);
        sim.assert_balanced_and_complete();
        // Joining and leaving from the balanced state moves the minimum.
        sim.join("new");
        let before = sim.running.clone();
        sim.converge();
        sim.assert_balanced_and_complete();
        for id in &ids {
            prop_assert!(sim.running[id].is_subset(&before[id]));
        }
        sim.kill("m0");
        let before = sim.running.clone();
        let plans = sim.converge();
        prop_assert_eq!(plans.len(), 1);
        for (id, set) in &before {
            prop_assert!(set.is_subset(&sim.running[id]));
        }
        sim.assert_balanced_and_complete();
    }
}

#[derive(Debug, Clone)]
enum Step {
    Join,
    Kill(usize),
    Configure(usize, u32),
    Advance(u64),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        Just(Step::Join),
        (0usize..8).prop_map(Step::Kill),
        (0usize..5, 0u32..5).prop_map(|(c, t)| Step::Configure(c, t)),
        (0u64..3_000).prop_map(Step::Advance),
    ]
}

proptest! {
    /// Any sequence of joins, deaths, config changes and passing time: no work is ever handed
    /// to a member while it runs elsewhere (the simulator asserts that each round), nothing
    /// unconfigured keeps running, the group is complete and balanced whenever no departed
    /// member's work is held, and once the delay has passed everything runs.
    #[test]
    fn any_history_stays_safe_and_ends_balanced(
        steps in prop::collection::vec(step(), 1..25),
        delay_ms in prop_oneof![Just(0u64), 1u64..2_000],
    ) {
        let delay = Duration::from_millis(delay_ms);
        let mut sim = Sim::new(&["m0", "m1"], configured(2, 2), delay);
        sim.converge();
        let mut next_id = 2;
        for s in steps {
            match s {
                Step::Join => {
                    sim.join(&format!("m{next_id}"));
                    next_id += 1;
                }
                Step::Kill(i) => {
                    let ids: Vec<String> = sim.running.keys().cloned().collect();
                    if !ids.is_empty() {
                        sim.kill(&ids[i % ids.len()]);
                    }
                }
                Step::Configure(c, t) => sim.configured = configured(c, t),
                Step::Advance(ms) => sim.now += Duration::from_millis(ms),
            }
            let plans = sim.converge();
            let running: Vec<&Work> = sim.running.values().flatten().collect();
            prop_assert!(running.iter().all(|w| sim.configured.contains(*w)));
            if plans.last().is_some_and(|p| p.delay.is_zero()) && !sim.running.is_empty() {
                sim.assert_balanced_and_complete();
            }
        }
        if !sim.running.is_empty() {
            sim.now += delay;
            sim.converge();
            sim.assert_balanced_and_complete();
        }
    }
}
