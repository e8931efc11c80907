//! Distributed Connect: two `fjord connect distributed` processes in one Connect cluster,
//! managed through the REST API (requests to a follower are forwarded to the leader): the
//! connectors' tasks spread over both; adding a connector leaves the running tasks running;
//! a SIGKILLed worker's tasks run on the survivor after the session timeout with no line
//! lost; a restarted worker rebuilds every connector from the three topics.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use common::connect::{worker_file, ConnectProcess};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Message, Offset};
use serde_json::{json, Value};

fn append(path: &Path, from: usize, to: usize) {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    for i in from..to {
        writeln!(file, "line {i}").unwrap();
    }
    file.sync_all().unwrap();
}

async fn call(method: reqwest::Method, url: &str, body: Option<Value>) -> (u16, Value) {
    let client = reqwest::Client::new();
    let mut request = client.request(method, url);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Each connector's task 0 worker, when every task of every connector is RUNNING.
async fn task_owners(url: &str, names: &[String]) -> Option<BTreeMap<String, String>> {
    let mut owners = BTreeMap::new();
    for name in names {
        let (code, status) = call(
            reqwest::Method::GET,
            &format!("{url}/connectors/{name}/status"),
            None,
        )
        .await;
        if code != 200 {
            return None;
        }
        let tasks = status["tasks"].as_array()?;
        if tasks.is_empty() || tasks.iter().any(|t| t["state"] != "RUNNING") {
            return None;
        }
        owners.insert(name.clone(), tasks[0]["worker_id"].as_str()?.to_owned());
    }
    Some(owners)
}

/// Waits until every task is RUNNING and every owner passes `check`.
async fn running_tasks_where(
    url: &str,
    names: &[String],
    check: impl Fn(&str) -> bool,
) -> BTreeMap<String, String> {
    common::poll_until(Duration::from_secs(60), || async {
        task_owners(url, names)
            .await
            .filter(|owners| owners.values().all(|w| check(w)))
    })
    .await
    .unwrap_or_else(|_| panic!("tasks of {names:?} not all RUNNING as expected within 60 s"))
}

async fn running_tasks(url: &str, names: &[String]) -> BTreeMap<String, String> {
    running_tasks_where(url, names, |_| true).await
}

/// How many status records each key of the status topic has.
fn status_records(bs: &str, topic: &str) -> BTreeMap<String, usize> {
    let consumer: BaseConsumer = common::client_config(bs).create().unwrap();
    let (_, high) = consumer
        .fetch_watermarks(topic, 0, Duration::from_secs(10))
        .unwrap();
    common::close(consumer);
    let mut counts = BTreeMap::new();
    for message in common::consume(
        bs,
        topic,
        &[0],
        Offset::Beginning,
        usize::try_from(high).unwrap(),
    ) {
        let key = String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned();
        *counts.entry(key).or_insert(0) += 1;
    }
    counts
}

fn topic_lines(bs: &str, topic: &str) -> Vec<String> {
    let consumer: BaseConsumer = common::client_config(bs).create().unwrap();
    let (_, high) = consumer
        .fetch_watermarks(topic, 0, Duration::from_secs(10))
        .unwrap();
    common::close(consumer);
    common::values(&common::consume(
        bs,
        topic,
        &[0],
        Offset::Beginning,
        usize::try_from(high).unwrap(),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_share_connectors_survive_a_kill_and_rebuild_from_the_topics() {
    let broker = common::broker().await;
    let bs = broker.bootstrap_servers();
    let dir = tempfile::tempdir().unwrap();
    let group = common::unique("connect-cluster");
    let status_topic = format!("{group}-status");
    let worker = worker_file(
        dir.path(),
        "connect-distributed.properties",
        &bs,
        &[
            ("group.id", &group),
            ("config.storage.topic", &format!("{group}-configs")),
            ("offset.storage.topic", &format!("{group}-offsets")),
            ("status.storage.topic", &status_topic),
            ("status.storage.partitions", "1"),
            ("offset.storage.partitions", "3"),
            ("session.timeout.ms", "6000"),
            ("heartbeat.interval.ms", "1000"),
            ("rebalance.timeout.ms", "10000"),
            ("scheduled.rebalance.max.delay.ms", "0"),
            ("offset.flush.interval.ms", "500"),
            (
                "key.converter",
                "org.apache.kafka.connect.storage.StringConverter",
            ),
            (
                "value.converter",
                "org.apache.kafka.connect.storage.StringConverter",
            ),
        ],
    );
    let worker = worker.to_str().unwrap().to_owned();
    let mut a = ConnectProcess::start(dir.path(), &["distributed", &worker]);
    let b = ConnectProcess::start(dir.path(), &["distributed", &worker]);

    let create = |i: usize| {
        let name = format!("source-{i}");
        let file = dir.path().join(format!("in-{i}.txt"));
        append(&file, 0, 200);
        let body = json!({"name": name, "config": {
            "connector.class": "FileStreamSource",
            "file": file.to_str().unwrap(),
            "topic": format!("{group}-lines-{i}"),
        }});
        (name, body)
    };
    let mut names = Vec::new();
    for i in 0..4 {
        let (name, body) = create(i);
        // Alternate the worker asked: one of them is a follower and forwards to the leader.
        let url = if i % 2 == 0 { &a.rest_url } else { &b.rest_url };
        let (code, answer) = call(
            reqwest::Method::POST,
            &format!("{url}/connectors"),
            Some(body),
        )
        .await;
        assert_eq!(code, 201, "{answer}");
        names.push(name);
    }
    let owners = running_tasks(&b.rest_url, &names).await;
    let workers: std::collections::BTreeSet<&String> = owners.values().collect();
    assert_eq!(workers.len(), 2, "tasks on both workers: {owners:?}");

    // Adding a connector moves nothing that runs: no task of the first four is restarted
    // (a restart writes new status records for the task).
    let before = status_records(&bs, &status_topic);
    let (name, body) = create(4);
    let (code, answer) = call(
        reqwest::Method::POST,
        &format!("{}/connectors", a.rest_url),
        Some(body),
    )
    .await;
    assert_eq!(code, 201, "{answer}");
    names.push(name);
    let owners = running_tasks(&a.rest_url, &names).await;
    let after = status_records(&bs, &status_topic);
    for i in 0..4 {
        let key = format!("status-task-source-{i}-0");
        assert_eq!(
            before.get(&key),
            after.get(&key),
            "{key} was restarted by adding a connector"
        );
    }

    // SIGKILL worker a: its tasks run on b after the session timeout.
    let a_id = a.rest_url.trim_start_matches("http://").to_owned();
    assert!(
        owners.values().any(|w| *w == a_id),
        "a runs something: {owners:?}"
    );
    a.kill();
    for i in 0..5 {
        append(&dir.path().join(format!("in-{i}.txt")), 200, 300);
    }
    let b_id = b.rest_url.trim_start_matches("http://").to_owned();
    running_tasks_where(&b.rest_url, &names, |w| w == b_id).await;
    for i in 0..5 {
        let topic = format!("{group}-lines-{i}");
        common::eventually_blocking(
            &format!("every line in {topic}"),
            Duration::from_secs(60),
            || {
                let lines = topic_lines(&bs, &topic);
                (0..300).all(|n| lines.contains(&format!("line {n}")))
            },
        );
    }

    // A restarted worker rebuilds every connector from the topics.
    let a2 = ConnectProcess::start(dir.path(), &["distributed", &worker]);
    let (code, listed) = call(
        reqwest::Method::GET,
        &format!("{}/connectors", a2.rest_url),
        None,
    )
    .await;
    assert_eq!(code, 200);
    let mut listed: Vec<String> = serde_json::from_value(listed).unwrap();
    listed.sort();
    assert_eq!(listed, names);
    let (code, config) = call(
        reqwest::Method::GET,
        &format!("{}/connectors/source-3/config", a2.rest_url),
        None,
    )
    .await;
    assert_eq!(code, 200);
    assert_eq!(config["topic"], format!("{group}-lines-3"));
    running_tasks(&a2.rest_url, &names).await;
}
