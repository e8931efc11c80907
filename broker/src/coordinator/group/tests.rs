//! Transitions of the classic group state machine, driven with an explicit clock.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic on failure.

use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::oneshot;

use super::*;

const SESSION: Duration = Duration::from_secs(10);
const REBALANCE: Duration = Duration::from_secs(30);

fn join_req(member_id: &str, instance: Option<&str>) -> JoinRequest {
    JoinRequest {
        member_id: member_id.to_string(),
        instance_id: instance.map(str::to_string),
        client_id: "client".into(),
        client_host: "/127.0.0.1".into(),
        session_timeout: SESSION,
        rebalance_timeout: REBALANCE,
        protocol_type: "consumer".into(),
        protocols: vec![("range".into(), Bytes::from_static(b"meta"))],
        require_known_member_id: false,
    }
}

/// The answer a pending join or sync has been given by now.
fn ready<T>(p: &mut Pending<T>) -> Option<T>
where
    T: Clone,
{
    match p {
        Pending::Now(v) => Some(v.clone()),
        Pending::Later(rx) => rx.try_recv().ok(),
    }
}

fn later<T>(p: Pending<T>) -> oneshot::Receiver<T> {
    match p {
        Pending::Later(rx) => rx,
        Pending::Now(_) => panic!("expected a pending answer"),
    }
}

fn joined(p: Pending<JoinResult>) -> JoinResult {
    let mut p = p;
    let r = ready(&mut p).expect("join answered");
    assert_eq!(r.error, None, "join failed: {r:?}");
    r
}

/// A group with one member, through its first generation up to Stable.
fn stable_group_of_one(now: Instant) -> (Group, String) {
    let mut g = Group::new("g");
    let r = joined(g.join(join_req("", None), now, Duration::ZERO));
    let id = r.member_id.clone();
    let out = g.sync(
        &id,
        None,
        r.generation,
        vec![(id.clone(), Bytes::from_static(b"a"))],
        now,
    );
    out.stabilized
        .expect("leader sync stabilizes")
        .complete(&Ok(()));
    assert_eq!(g.state, GroupState::Stable);
    (g, id)
}

#[test]
fn first_join_goes_empty_preparing_completing_then_stable_on_leader_sync() {
    let t0 = Instant::now();
    let mut g = Group::new("g");
    assert_eq!(g.state, GroupState::Empty);
    // An initial delay keeps the group in PreparingRebalance so more members can join.
    let mut first = g.join(join_req("", None), t0, Duration::from_secs(3));
    assert_eq!(g.state, GroupState::PreparingRebalance);
    assert!(
        ready(&mut first).is_none(),
        "answered before the delay ran out"
    );
    let mut second = g.join(join_req("", None), t0, Duration::from_secs(3));
    g.maybe_complete_join(t0 + Duration::from_secs(1));
    assert_eq!(g.state, GroupState::PreparingRebalance);
    g.maybe_complete_join(t0 + Duration::from_secs(3));
    assert_eq!(g.state, GroupState::CompletingRebalance);
    assert_eq!(g.generation, 1);
    let a = ready(&mut first).unwrap();
    let b = ready(&mut second).unwrap();
    assert_eq!((a.generation, b.generation), (1, 1));
    assert_eq!(a.leader, a.member_id, "the first member leads");
    assert_eq!(b.leader, a.member_id);
    assert_eq!(a.members.len(), 2, "the leader sees every member");
    assert!(b.members.is_empty(), "a follower sees none");
    assert_eq!(a.protocol.as_deref(), Some("range"));

    // The follower's SyncGroup waits for the leader's.
    let follower = g.sync(&b.member_id, None, 1, Vec::new(), t0);
    assert!(follower.stabilized.is_none());
    let mut follower_rx = later(follower.reply);
    assert!(follower_rx.try_recv().is_err());
    let assignments = vec![
        (a.member_id.clone(), Bytes::from_static(b"A")),
        (b.member_id.clone(), Bytes::from_static(b"B")),
    ];
    let leader = g.sync(&a.member_id, None, 1, assignments, t0);
    assert_eq!(g.state, GroupState::Stable);
    let stable = leader.stabilized.expect("the leader's sync stabilizes");
    assert_eq!(
        (stable.generation, stable.protocol_type.as_str()),
        (1, "consumer")
    );
    let mut leader_rx = later(leader.reply);
    // Nobody is told an assignment before the generation is stored.
    assert!(leader_rx.try_recv().is_err());
    assert!(follower_rx.try_recv().is_err());
    stable.complete(&Ok(()));
    assert_eq!(
        leader_rx.try_recv().unwrap().unwrap(),
        Bytes::from_static(b"A")
    );
    assert_eq!(
        follower_rx.try_recv().unwrap().unwrap(),
        Bytes::from_static(b"B")
    );
    // A heartbeat of the current generation is fine in Stable.
    assert_eq!(g.heartbeat(&b.member_id, None, 1, t0), Ok(()));
}

#[test]
fn a_failed_generation_store_fails_every_sync_and_rebalances() {
    let t0 = Instant::now();
    let mut g = Group::new("g");
    let r = joined(g.join(join_req("", None), t0, Duration::ZERO));
    let out = g.sync(&r.member_id, None, 1, Vec::new(), t0);
    let mut rx = later(out.reply);
    let err = CoordinatorError::Storage("disk full".into());
    out.stabilized.unwrap().complete(&Err(err.clone()));
    assert_eq!(rx.try_recv().unwrap(), Err(err));
    g.store_failed(1, t0);
    assert_eq!(g.state, GroupState::PreparingRebalance);
    assert_eq!(
        g.heartbeat(&r.member_id, None, 1, t0),
        Err(CoordinatorError::RebalanceInProgress)
    );
    // A newer generation is not touched by an old failure.
    let mut g2 = stable_group_of_one(t0).0;
    g2.store_failed(0, t0);
    assert_eq!(g2.state, GroupState::Stable);
}

#[test]
fn new_members_must_learn_their_id_first_from_v4() {
    let t0 = Instant::now();
    let mut g = Group::new("g");
    let mut req = join_req("", None);
    req.require_known_member_id = true;
    let Pending::Now(r) = g.join(req.clone(), t0, Duration::ZERO) else {
        panic!("MEMBER_ID_REQUIRED is answered at once");
    };
    assert_eq!(r.error, Some(CoordinatorError::MemberIdRequired));
    assert_eq!(g.state, GroupState::Empty);
    // An id the coordinator never handed out is refused.
    let mut bogus = req.clone();
    bogus.member_id = "made-up".into();
    let mut refused = g.join(bogus, t0, Duration::ZERO);
    assert_eq!(
        ready(&mut refused).unwrap().error,
        Some(CoordinatorError::UnknownMemberId)
    );
    req.member_id = r.member_id.clone();
    let r2 = joined(g.join(req, t0, Duration::ZERO));
    assert_eq!(r2.member_id, r.member_id);
    assert_eq!(g.state, GroupState::CompletingRebalance);
}

#[test]
fn a_new_member_rebalances_a_stable_group_and_the_old_one_must_rejoin() {
    let t0 = Instant::now();
    let (mut g, a) = stable_group_of_one(t0);
    let mut b = g.join(join_req("", None), t0, Duration::ZERO);
    assert_eq!(g.state, GroupState::PreparingRebalance);
    assert!(
        ready(&mut b).is_none(),
        "waits for the existing member to rejoin"
    );
    assert_eq!(
        g.heartbeat(&a, None, 1, t0),
        Err(CoordinatorError::RebalanceInProgress)
    );
    // Commits and syncs of the old generation see the rebalance too.
    let out = g.sync(&a, None, 1, Vec::new(), t0);
    assert!(matches!(
        out.reply,
        Pending::Now(Err(CoordinatorError::RebalanceInProgress))
    ));
    let ra = joined(g.join(join_req(&a, None), t0, Duration::ZERO));
    let rb = ready(&mut b).unwrap();
    assert_eq!(g.state, GroupState::CompletingRebalance);
    assert_eq!((ra.generation, rb.generation), (2, 2));
    assert_eq!(ra.leader, a, "the leader keeps leading");
    assert_eq!(
        g.heartbeat(&a, None, 1, t0),
        Err(CoordinatorError::IllegalGeneration)
    );
}

#[test]
fn a_member_leaving_rebalances_the_rest_and_the_last_one_empties_the_group() {
    let t0 = Instant::now();
    let mut g = Group::new("g");
    let mut a = g.join(join_req("", None), t0, Duration::ZERO);
    let a = ready(&mut a).unwrap().member_id;
    // Second member: the group goes back to PreparingRebalance until `a` rejoins.
    let mut b = g.join(join_req("", None), t0, Duration::ZERO);
    joined(g.join(join_req(&a, None), t0, Duration::ZERO));
    let b = ready(&mut b).unwrap().member_id;
    let generation = g.generation;
    assert_eq!(g.state, GroupState::CompletingRebalance);
    let leader = g.sync(&a, None, generation, Vec::new(), t0);
    leader.stabilized.unwrap().complete(&Ok(()));

    let leaving = g.resolve_leaving(&b, None).unwrap();
    g.remove_members(&[leaving], t0);
    assert_eq!(g.state, GroupState::PreparingRebalance);
    joined(g.join(join_req(&a, None), t0, Duration::ZERO));
    assert_eq!(g.state, GroupState::CompletingRebalance);
    assert_eq!(g.generation, generation + 1);

    g.remove_members(std::slice::from_ref(&a), t0);
    assert_eq!(g.state, GroupState::Empty);
    assert_eq!(
        g.generation,
        generation + 2,
        "emptying a group is a new generation"
    );
    assert!(g.members.is_empty());
    assert_eq!(g.leader, None);
    assert_eq!(
        g.heartbeat(&a, None, generation + 1, t0),
        Err(CoordinatorError::UnknownMemberId)
    );
}

#[test]
fn an_expired_session_removes_the_member() {
    let t0 = Instant::now();
    let (mut g, a) = stable_group_of_one(t0);
    assert!(g.expired_members(t0 + SESSION).is_empty());
    let later = t0 + SESSION + Duration::from_millis(1);
    // A heartbeat keeps the session alive.
    let mut g2 = stable_group_of_one(t0).0;
    let id2 = g2.members.keys().next().cloned().unwrap();
    g2.heartbeat(&id2, None, 1, t0 + SESSION / 2).unwrap();
    assert!(g2.expired_members(later).is_empty());

    let expired = g.expired_members(later);
    assert_eq!(expired, vec![a]);
    g.remove_members(&expired, later);
    assert_eq!(g.state, GroupState::Empty);
}

#[test]
fn a_member_that_does_not_rejoin_in_time_is_dropped() {
    let t0 = Instant::now();
    let mut g = Group::new("g");
    let mut a = g.join(join_req("", None), t0, Duration::ZERO);
    let a = ready(&mut a).unwrap().member_id;
    g.sync(&a, None, 1, Vec::new(), t0)
        .stabilized
        .unwrap()
        .complete(&Ok(()));
    let mut b = g.join(join_req("", None), t0, Duration::ZERO);
    assert_eq!(g.state, GroupState::PreparingRebalance);
    g.maybe_complete_join(t0 + REBALANCE - Duration::from_millis(1));
    assert_eq!(g.state, GroupState::PreparingRebalance);
    g.maybe_complete_join(t0 + REBALANCE);
    assert_eq!(g.state, GroupState::CompletingRebalance);
    let rb = ready(&mut b).unwrap();
    assert_eq!(rb.leader, rb.member_id, "the member that rejoined leads");
    assert!(!g.members.contains_key(&a));
}

#[test]
fn a_static_member_rejoining_a_stable_group_takes_its_place_without_a_rebalance() {
    let t0 = Instant::now();
    let mut g = Group::new("g");
    let first = joined(g.join(join_req("", Some("i-1")), t0, Duration::ZERO));
    let old = first.member_id.clone();
    g.sync(
        &old,
        Some("i-1"),
        1,
        vec![(old.clone(), Bytes::from_static(b"mine"))],
        t0,
    )
    .stabilized
    .unwrap()
    .complete(&Ok(()));

    // Restarted with the same instance id and no member id.
    let back = joined(g.join(join_req("", Some("i-1")), t0, Duration::ZERO));
    assert_eq!(g.state, GroupState::Stable, "no rebalance");
    assert_eq!(back.generation, 1);
    assert_ne!(back.member_id, old);
    assert_eq!(
        back.leader, old,
        "told the leader from before, so it acts as a follower"
    );
    // Its SyncGroup hands back the assignment it had.
    let out = g.sync(&back.member_id, Some("i-1"), 1, Vec::new(), t0);
    assert!(matches!(out.reply, Pending::Now(Ok(ref a)) if a == &Bytes::from_static(b"mine")));
    // The old incarnation is fenced.
    assert_eq!(
        g.heartbeat(&old, Some("i-1"), 1, t0),
        Err(CoordinatorError::FencedInstanceId)
    );
    // Another member id claiming the instance is fenced too.
    let mut thief = g.join(join_req(&old, Some("i-1")), t0, Duration::ZERO);
    assert_eq!(
        ready(&mut thief).unwrap().error,
        Some(CoordinatorError::FencedInstanceId)
    );
}

#[test]
fn a_different_protocol_is_refused_while_the_group_has_members() {
    let t0 = Instant::now();
    let (mut g, _) = stable_group_of_one(t0);
    let mut other = join_req("", None);
    other.protocol_type = "connect".into();
    let mut r = g.join(other, t0, Duration::ZERO);
    assert_eq!(
        ready(&mut r).unwrap().error,
        Some(CoordinatorError::InconsistentGroupProtocol)
    );
    let mut no_common = join_req("", None);
    no_common.protocols = vec![("roundrobin".into(), Bytes::new())];
    let mut r = g.join(no_common, t0, Duration::ZERO);
    assert_eq!(
        ready(&mut r).unwrap().error,
        Some(CoordinatorError::InconsistentGroupProtocol)
    );
    assert_eq!(g.state, GroupState::Stable);
}

#[test]
fn only_an_empty_group_can_be_deleted_and_a_dead_group_refuses_everything() {
    let t0 = Instant::now();
    let (mut g, a) = stable_group_of_one(t0);
    assert_eq!(g.delete(), Err(CoordinatorError::NonEmptyGroup));
    assert_eq!(g.state, GroupState::Stable);
    g.remove_members(std::slice::from_ref(&a), t0);
    assert_eq!(g.state, GroupState::Empty);
    assert_eq!(g.delete(), Ok(()));
    assert_eq!(g.state, GroupState::Dead);
    assert_eq!(g.state.name(), "Dead");
    let mut r = g.join(join_req("", None), t0, Duration::ZERO);
    assert!(matches!(
        ready(&mut r).unwrap().error,
        Some(CoordinatorError::NotAvailable(_))
    ));
    assert!(g.members.is_empty(), "a dead group takes no member");
    assert!(matches!(
        g.heartbeat(&a, None, 1, t0),
        Err(CoordinatorError::NotAvailable(_))
    ));
    assert!(matches!(
        g.sync(&a, None, 1, Vec::new(), t0).reply,
        Pending::Now(Err(CoordinatorError::NotAvailable(_)))
    ));
}
