//! State survives restarts of the registry and the broker; several
//! instances on one cluster answer the same, one writes and the others
//! forward; the writer's departure hands writing to another instance.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{broker, eventually, registry, sale, Client};
use fjord_broker::embedded::{EmbeddedBroker, EmbeddedConfig};
use fjord_registry::leader::Role;
use serde_json::{json, Value};

/// What a client can see, as a list of (path, answer) pairs.
async fn snapshot(c: &Client) -> Vec<(String, Value)> {
    let mut paths = vec![
        "/subjects".to_owned(),
        "/subjects?deleted=true".to_owned(),
        "/config".to_owned(),
        "/mode".to_owned(),
    ];
    let subjects = c.get("/subjects?deleted=true").await.body;
    for s in subjects.as_array().unwrap() {
        let s = s.as_str().unwrap();
        paths.push(format!("/subjects/{s}/versions?deleted=true"));
        paths.push(format!("/config/{s}"));
        let versions = c
            .get(&format!("/subjects/{s}/versions?deleted=true"))
            .await
            .body;
        for v in versions.as_array().unwrap() {
            paths.push(format!("/subjects/{s}/versions/{v}?deleted=true"));
        }
    }
    for id in 1..=5 {
        paths.push(format!("/schemas/ids/{id}"));
    }
    let mut out = Vec::new();
    for path in paths {
        let answer = c.get(&path).await;
        out.push((path, json!({"status": answer.status, "body": answer.body})));
    }
    out
}

async fn fill(c: &Client) {
    c.register("sales-value", &sale(r#"{"name":"item","type":"string"}"#))
        .await;
    c.register(
        "sales-value",
        &sale(r#"{"name":"item","type":"string"},{"name":"qty","type":"int","default":1}"#),
    )
    .await;
    c.register("prices-value", "\"double\"").await;
    c.register("old-value", "\"string\"").await;
    c.put("/config", json!({"compatibility": "FULL"})).await;
    c.put("/config/prices-value", json!({"compatibility": "NONE"}))
        .await;
    assert_eq!(
        c.delete("/subjects/sales-value/versions/1").await.status,
        200
    );
    assert_eq!(c.delete("/subjects/old-value").await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_keeps_subjects_versions_ids_configs_and_soft_deletes() {
    let data = tempfile::tempdir().unwrap();
    let config = || EmbeddedConfig {
        data_dir: Some(data.path().to_path_buf()),
        ..EmbeddedConfig::default()
    };
    let broker = EmbeddedBroker::start(config()).await.unwrap();
    let registry = registry(&broker.bootstrap_servers()).await;
    let c = Client::new(registry.url());
    fill(&c).await;
    let before = snapshot(&c).await;
    assert_eq!(
        before[1].1["body"],
        json!(["old-value", "prices-value", "sales-value"])
    );
    registry.shutdown().await;
    broker.shutdown().await;

    let broker = EmbeddedBroker::start(config()).await.unwrap();
    let restarted = common::registry(&broker.bootstrap_servers()).await;
    let c = Client::new(restarted.url());
    let after = snapshot(&c).await;
    assert_eq!(before, after);
    // New ids continue after the replayed ones.
    let id = c.register("new-value", "\"bytes\"").await;
    assert_eq!(id, 5);
    restarted.shutdown().await;
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_instance_answers_the_same_and_forwards_writes() {
    let broker = broker().await;
    let first = registry(&broker.bootstrap_servers()).await;
    let second = registry(&broker.bootstrap_servers()).await;
    let roles = || async { [first.role(), second.role()] };
    assert!(
        eventually(Duration::from_secs(30), || async {
            let r = roles().await;
            r.contains(&Role::Writer) && r.contains(&Role::Follower)
        })
        .await,
        "one writer and one follower: {:?}",
        roles().await
    );
    let (writer, follower) = if first.role() == Role::Writer {
        (first, second)
    } else {
        (second, first)
    };
    let w = Client::new(writer.url());
    let f = Client::new(follower.url());

    // Writes through the follower are forwarded, and visible on it at once.
    fill(&f).await;
    assert_eq!(
        f.get("/subjects/sales-value/versions").await.body,
        json!([2])
    );
    let refused = f
        .post(
            "/subjects/sales-value/versions",
            json!({"schema": sale(r#"{"name":"item","type":"int"}"#)}),
        )
        .await;
    assert_eq!(
        refused.code(),
        409,
        "errors come back from the writer: {}",
        refused.body
    );
    assert!(
        eventually(Duration::from_secs(10), || async {
            snapshot(&w).await == snapshot(&f).await
        })
        .await,
        "both instances answer the same"
    );
    // Ids agree whichever instance registered: the writer allocates them all.
    let a = w.register("a", "\"int\"").await;
    let b = f.register("b", "\"long\"").await;
    assert_eq!(b, a + 1);
    // Concurrent registrations on both instances never share an id (two
    // writers would allocate the same next id).
    let mut tasks = Vec::new();
    for i in 0..10 {
        for (n, client) in [(0, w.clone()), (1, f.clone())] {
            let schema = format!(r#"{{"type":"fixed","name":"f{n}x{i}","size":{}}}"#, i + 1);
            tasks.push(tokio::spawn(async move {
                client
                    .register(&format!("concurrent-{n}-{i}"), &schema)
                    .await
            }));
        }
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.unwrap());
    }
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 20, "{ids:?}");
    let b = *ids.last().unwrap();

    // The writer leaves: the follower becomes the writer and takes writes.
    writer.shutdown().await;
    assert!(
        eventually(Duration::from_secs(30), || async {
            follower.role() == Role::Writer
        })
        .await,
        "the remaining instance becomes the writer"
    );
    let c = f.register("c", "\"float\"").await;
    assert_eq!(c, b + 1);
    follower.shutdown().await;
    broker.shutdown().await;
}
