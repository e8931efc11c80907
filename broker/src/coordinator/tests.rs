//! The coordinator over a real `__consumer_offsets` log: what is acknowledged is in the log,
//! and a reopen (the replay after a restart) rebuilds the same state.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic on failure.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use super::*;
use crate::log::LogConfig;

fn open(dir: &Path) -> GroupCoordinator {
    let topics = TopicRegistry::open(dir, LogConfig::default()).unwrap();
    GroupCoordinator::open(&topics, CoordinatorConfig::default()).unwrap()
}

fn at(offset: i64) -> CommittedOffset {
    committed(offset, -1, Some("m"))
}

fn offset_of(c: &GroupCoordinator, group: &str, topic: &str, p: i32) -> Option<i64> {
    c.fetch_offsets(group, Some(vec![(topic.to_string(), vec![p])]))[0]
        .2
        .as_ref()
        .map(|o| o.offset)
}

async fn standalone_commit(c: &GroupCoordinator, group: &str, p: i32, offset: i64) {
    c.commit(group, -1, "", None, vec![("t".into(), p, at(offset))])
        .await
        .unwrap();
}

#[tokio::test]
async fn commits_and_deletions_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let c = open(dir.path());
        standalone_commit(&c, "g", 0, 5).await;
        standalone_commit(&c, "g", 1, 7).await;
        standalone_commit(&c, "h", 0, 9).await;
        let deleted = c.delete_offsets("g", vec![("t".into(), 1)]).await.unwrap();
        assert_eq!(deleted, vec![("t".into(), 1, None)]);
        c.delete("h").await.unwrap();
        assert!(!c.exists("h"));
    }
    let c = open(dir.path());
    assert_eq!(offset_of(&c, "g", "t", 0), Some(5));
    let all = c.fetch_offsets("g", None);
    assert_eq!(all.len(), 1, "the deleted offset stays deleted: {all:?}");
    assert_eq!(all[0].2.as_ref().unwrap().metadata, "m");
    assert!(!c.exists("h"), "the deleted group stays deleted");
    assert_eq!(c.delete("h").await, Err(CoordinatorError::GroupIdNotFound));
    let listed: Vec<_> = c.list().into_iter().map(|g| g.id).collect();
    assert_eq!(listed, vec!["g".to_string()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_commits_of_one_partition_end_as_the_log_orders_them() {
    let dir = tempfile::tempdir().unwrap();
    let in_memory = {
        let c = Arc::new(open(dir.path()));
        let tasks: Vec<_> = (0..8)
            .map(|task| {
                let c = c.clone();
                tokio::spawn(async move {
                    for i in 0..50 {
                        standalone_commit(&c, "g", 0, task * 1000 + i).await;
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        offset_of(&c, "g", "t", 0)
    };
    // Whatever order the commits were applied in, memory holds the last one in the log.
    assert!(in_memory.is_some());
    assert_eq!(offset_of(&open(dir.path()), "g", "t", 0), in_memory);
}

fn join_req() -> JoinRequest {
    JoinRequest {
        member_id: String::new(),
        instance_id: None,
        client_id: "c".into(),
        client_host: "/127.0.0.1".into(),
        session_timeout: Duration::from_secs(10),
        rebalance_timeout: Duration::from_secs(10),
        protocol_type: "consumer".into(),
        protocols: vec![("range".into(), Bytes::new())],
        require_known_member_id: false,
    }
}

async fn answer<T>(p: Pending<T>) -> T {
    match p {
        Pending::Now(v) => v,
        Pending::Later(rx) => rx.await.unwrap(),
    }
}

#[tokio::test]
async fn a_stable_generation_is_stored_before_members_get_their_assignment() {
    let dir = tempfile::tempdir().unwrap();
    let member = {
        let c = open(dir.path());
        let joined = answer(c.join("g", join_req())).await;
        assert_eq!(joined.generation, 1);
        let id = joined.member_id.clone();
        let assignment = Bytes::from_static(b"all of it");
        let synced = c
            .sync("g", &id, None, 1, vec![(id.clone(), assignment.clone())])
            .await;
        assert_eq!(answer(synced).await.unwrap(), assignment);
        // A member commits with its generation; a stranger cannot.
        c.commit("g", 1, &id, None, vec![("t".into(), 0, at(3))])
            .await
            .unwrap();
        assert_eq!(
            c.commit("g", 1, "stranger", None, vec![("t".into(), 0, at(4))])
                .await,
            Err(CoordinatorError::UnknownMemberId)
        );
        assert_eq!(
            c.commit("g", -1, "", None, vec![("t".into(), 0, at(4))])
                .await,
            Err(CoordinatorError::UnknownMemberId),
            "no standalone commit into a group with members"
        );
        assert_eq!(c.delete("g").await, Err(CoordinatorError::NonEmptyGroup));
        id
    };
    let c = open(dir.path());
    assert_eq!(offset_of(&c, "g", "t", 0), Some(3));
    let d = c.describe("g").unwrap();
    assert_eq!((d.state, d.protocol_type.as_str()), ("Empty", "consumer"));
    assert_eq!(
        c.heartbeat("g", &member, None, 1),
        Err(CoordinatorError::UnknownMemberId)
    );
    // The next generation follows the stored one, so no old generation is valid again.
    let rejoined = answer(c.join("g", join_req())).await;
    assert_eq!(rejoined.generation, 2);
}

#[tokio::test]
async fn deleted_offsets_are_forgotten_once_no_older_write_can_arrive() {
    let dir = tempfile::tempdir().unwrap();
    let c = open(dir.path());
    standalone_commit(&c, "g", 0, 1).await;
    c.delete("g").await.unwrap();
    assert!(c.offsets.newest_tombstone().is_some());
    c.tick();
    assert_eq!(c.offsets.newest_tombstone(), None);
    assert!(c.list().is_empty());
    // A new group of the same id starts from scratch.
    standalone_commit(&c, "g", 0, 2).await;
    assert_eq!(offset_of(&c, "g", "t", 0), Some(2));
}

#[tokio::test]
async fn a_classic_group_with_members_refuses_the_consumer_protocol() {
    let dir = tempfile::tempdir().unwrap();
    let c = open(dir.path());
    answer(c.join("g", join_req())).await;
    let hb = Heartbeat {
        member_id: "m".into(),
        member_epoch: 0,
        instance_id: None,
        rack_id: None,
        subscriptions: Some(vec!["t".into()]),
        assignor: None,
        owned: None,
        client_id: "c".into(),
        client_host: "/127.0.0.1".into(),
    };
    let refused = c.consumer_heartbeat("g", hb.clone(), &|_| None);
    assert_eq!(
        refused.unwrap_err(),
        CoordinatorError::InconsistentGroupProtocol
    );
    let accepted = c.consumer_heartbeat("other", hb, &|_| None).unwrap();
    assert_eq!(accepted.member_epoch, 1);
    assert_eq!(c.consumer_describe("other").unwrap().members.len(), 1);
    assert!(
        c.describe("other").is_none(),
        "the classic API sees a KIP-848 group as Dead"
    );
}
