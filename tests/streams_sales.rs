//! Fjord Streams end to end: the sales example on an embedded broker through
//! rdkafka, with several instances, a killed instance, a graceful restart,
//! and bad input.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use fjord::apps::sales_prices::{self as app, Sale};
use fjord::streams::{KafkaStreams, State, StreamsConfig, StreamsError};
use rdkafka::producer::FutureRecord;

const PARTITIONS: i32 = 3;
const START: i64 = 1_796_115_600_000;

/// Quick group reactions, so a killed member is noticed in seconds.
const GROUP: [(&str, &str); 3] = [
    ("session.timeout.ms", "2000"),
    ("heartbeat.interval.ms", "300"),
    ("commit.interval.ms", "200"),
];

fn config(bootstrap: &str, app_id: &str, state: &std::path::Path) -> StreamsConfig {
    let mut c = app::streams_config(bootstrap, app_id, state);
    for (k, v) in GROUP {
        c = c.set(k, v).unwrap();
    }
    c
}

fn start(config: StreamsConfig) -> KafkaStreams {
    let streams = KafkaStreams::new(app::topology().unwrap(), config).unwrap();
    streams.start().unwrap();
    streams
}

async fn produce(bootstrap: &str, sales: &[Sale], keyed: bool) {
    let producer = common::producer(bootstrap, &[]);
    for sale in sales {
        let value = serde_json::to_vec(sale).unwrap();
        let mut record = FutureRecord::<str, _>::to(app::SALES).payload(&value);
        if keyed {
            record = record.key(&sale.product);
        }
        producer
            .send(record, Duration::from_secs(10))
            .await
            .map_err(|(e, _)| e)
            .unwrap();
    }
}

async fn read(
    bootstrap: &str,
    done: impl Fn(&app::Outputs) -> bool + Send + 'static,
) -> app::Outputs {
    let bs = bootstrap.to_string();
    tokio::task::spawn_blocking(move || {
        app::read_outputs(&bs, PARTITIONS, Duration::from_secs(60), done)
    })
    .await
    .unwrap()
    .unwrap()
}

/// A broker with quick group reactions and these (topic, partitions).
async fn broker_with_topics(topics: &[(&str, i32)]) -> (fjord::broker::EmbeddedBroker, String) {
    let broker = common::broker_with(common::group_broker_config()).await;
    let bs = broker.bootstrap_servers();
    for (t, p) in topics {
        common::create_topic(&bs, t, *p, &[]).await;
    }
    (broker, bs)
}

/// Produces one keyed record and waits for its acknowledgement.
async fn send(bs: &str, topic: &str, key: &str, value: &str) {
    common::producer(bs, &[])
        .send(
            FutureRecord::to(topic).key(key).payload(value),
            Duration::from_secs(10),
        )
        .await
        .map_err(|(e, _)| e)
        .unwrap();
}

async fn setup() -> (fjord::broker::EmbeddedBroker, String) {
    let broker = common::broker_with(common::group_broker_config()).await;
    let bs = broker.bootstrap_servers();
    app::create_topics(&bs, PARTITIONS).await.unwrap();
    (broker, bs)
}

fn wait_running(streams: &KafkaStreams) {
    assert!(
        streams.wait_for_state(State::Running, Duration::from_secs(30)),
        "not RUNNING: {:?} {:?}",
        streams.state(),
        streams.error()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_sales_pipeline_writes_exactly_the_expected_outputs() {
    let (_broker, bs) = setup().await;
    let state = tempfile::tempdir().unwrap();
    let streams = start(config(&bs, "sales-exact", state.path()));
    wait_running(&streams);
    assert_eq!(streams.tasks().len(), 6, "3 partitions x 2 sub-topologies");
    let sales = app::generate(60, START);
    produce(&bs, &sales, true).await;
    let want = app::expected(&sales, PARTITIONS);
    let w = want.clone();
    let got = read(&bs, move |o| o.holds(&w)).await;
    assert_eq!(got.difference(&want), None);
    assert!(streams.close(Duration::from_secs(20)));
    assert_eq!(streams.state(), State::NotRunning);
    let m = streams.metrics();
    assert!(m.tasks.processed >= 2 * sales.len() as u64, "{m:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unkeyed_sales_are_rekeyed_through_the_repartition_topic() {
    let (_broker, bs) = setup().await;
    let state = tempfile::tempdir().unwrap();
    let streams = start(config(&bs, "sales-unkeyed", state.path()));
    wait_running(&streams);
    let sales = app::generate(30, START);
    produce(&bs, &sales, false).await;
    let want = app::expected(&sales, PARTITIONS);
    // Unkeyed sales reach the repartition topic in an order that depends on
    // timing, so only the order-independent outputs are exact.
    let w = want.clone();
    let got = read(&bs, move |o| {
        o.prices.len() >= w.prices.len()
            && w.revenue_cents.iter().all(|(p, c)| {
                o.revenue
                    .get(p)
                    .is_some_and(|r| (r.revenue * 100.0).round() as i64 == *c)
            })
    })
    .await;
    let mut prices = got.prices.clone();
    prices.sort_by_key(|p| p.ts);
    assert_eq!(prices, want.prices);
    assert!(streams.close(Duration::from_secs(20)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_split_the_tasks_and_together_write_the_expected_outputs() {
    let (_broker, bs) = setup().await;
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = start(config(&bs, "sales-two", d1.path()));
    let b = start(config(&bs, "sales-two", d2.path()));
    common::eventually(
        "both instances to run tasks",
        Duration::from_secs(30),
        || {
            let (ta, tb) = (a.tasks(), b.tasks());
            !ta.is_empty() && !tb.is_empty() && ta.len() + tb.len() == 6
        },
    )
    .await;
    let mut all: Vec<_> = a.tasks().into_iter().chain(b.tasks()).collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 6, "each task runs on exactly one instance");
    let sales = app::generate(40, START);
    produce(&bs, &sales, true).await;
    let want = app::expected(&sales, PARTITIONS);
    let w = want.clone();
    let got = read(&bs, move |o| o.holds(&w)).await;
    assert_eq!(got.difference(&want), None);
    assert!(a.close(Duration::from_secs(20)));
    assert!(b.close(Duration::from_secs(20)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_instances_tasks_move_to_the_other_which_restores_them_and_loses_nothing() {
    let (_broker, bs) = setup().await;
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut child = common::process::StreamsInstance::spawn(
        "sales-prices",
        &bs,
        "sales-kill",
        d1.path(),
        &GROUP,
    );
    let survivor = start(config(&bs, "sales-kill", d2.path()));
    common::eventually("the tasks to be split", Duration::from_secs(30), || {
        let n = survivor.tasks().len();
        n > 0 && n < 6
    })
    .await;
    let before_kill = survivor.tasks();
    let sales = app::generate(80, START);
    let (first, second) = sales.split_at(40);
    produce(&bs, first, true).await;
    let half = app::expected(first, PARTITIONS);
    read(&bs, move |o| o.prices.len() >= half.prices.len()).await;
    // Let at least one commit happen, then kill the child without a goodbye.
    std::thread::sleep(Duration::from_millis(500));
    let _ = child.0.kill();
    let _ = child.0.wait();
    common::eventually(
        "the survivor to take every task",
        Duration::from_secs(30),
        || survivor.tasks().len() == 6 && survivor.state() == State::Running,
    )
    .await;
    produce(&bs, second, true).await;
    let want = app::expected(&sales, PARTITIONS);
    let w = want.clone();
    // At least once: every sale priced, and revenue at least the exact one.
    let got = read(&bs, move |o| {
        o.prices.len() >= w.prices.len()
            && w.revenue_cents.iter().all(|(p, c)| {
                o.revenue
                    .get(p)
                    .is_some_and(|r| (r.revenue * 100.0).round() as i64 >= *c)
            })
    })
    .await;
    for p in &want.prices {
        assert!(got.prices.contains(p), "lost a sale: {p:?}");
    }
    // Sub-topology 1 holds the stores; a task of it that moved, and whose
    // partition holds a product (4 products over 3 partitions: one may be
    // empty, its changelog too), was restored.
    let busy: std::collections::BTreeSet<i32> = sales
        .iter()
        .map(|s| fjord::streams::partitioner::partition_for(s.product.as_bytes(), PARTITIONS))
        .collect();
    let moved_stateful = busy.iter().any(|&p| {
        !before_kill.contains(&fjord::streams::TaskId {
            subtopology: 1,
            partition: p,
        })
    });
    assert!(
        !moved_stateful || survivor.metrics().restored_records > 0,
        "the moved tasks' stores came from their changelogs: {:?}",
        survivor.metrics()
    );
    assert!(survivor.close(Duration::from_secs(20)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_graceful_restart_gives_exactly_the_outputs_of_an_uninterrupted_run() {
    let (_broker, bs) = setup().await;
    let state = tempfile::tempdir().unwrap();
    let sales = app::generate(60, START);
    let (first, second) = sales.split_at(30);
    let a = start(config(&bs, "sales-restart", state.path()));
    wait_running(&a);
    produce(&bs, first, true).await;
    let half = app::expected(first, PARTITIONS);
    read(&bs, move |o| o.holds(&half)).await;
    assert!(a.close(Duration::from_secs(20)));
    drop(a);
    let b = start(config(&bs, "sales-restart", state.path()));
    wait_running(&b);
    // Persistent stores, checkpointed at the clean close: nothing to replay.
    assert_eq!(b.metrics().restored_records, 0, "{:?}", b.metrics());
    produce(&bs, second, true).await;
    let want = app::expected(&sales, PARTITIONS);
    let w = want.clone();
    let got = read(&bs, move |o| o.holds(&w)).await;
    assert_eq!(
        got.difference(&want),
        None,
        "each price once, each closed window once"
    );
    assert!(b.close(Duration::from_secs(20)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_kip848_consumer_group_protocol_runs_the_same_pipeline() {
    let (_broker, bs) = setup().await;
    let state = tempfile::tempdir().unwrap();
    let mut c = app::streams_config(&bs, "sales-848", state.path());
    c = c
        .set("group.protocol", "consumer")
        .unwrap()
        .set("commit.interval.ms", "200")
        .unwrap();
    let streams = start(c);
    wait_running(&streams);
    common::eventually("tasks assigned", Duration::from_secs(30), || {
        streams.tasks().len() == 6
    })
    .await;
    let sales = app::generate(30, START);
    produce(&bs, &sales, true).await;
    let want = app::expected(&sales, PARTITIONS);
    let w = want.clone();
    let got = read(&bs, move |o| o.holds(&w)).await;
    assert_eq!(got.difference(&want), None);
    assert!(streams.close(Duration::from_secs(20)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_missing_input_topic_is_a_clear_error_at_start() {
    let broker = common::broker_with(fjord::broker::EmbeddedConfig {
        auto_create_topics: false,
        ..common::group_broker_config()
    })
    .await;
    let state = tempfile::tempdir().unwrap();
    let streams = KafkaStreams::new(
        app::topology().unwrap(),
        config(&broker.bootstrap_servers(), "no-input", state.path()),
    )
    .unwrap();
    let err = streams.start().unwrap_err();
    assert!(
        matches!(&err, StreamsError::MissingSourceTopics(t) if t == &vec!["sales".to_string()]),
        "{err}"
    );
    assert!(err.to_string().contains("sales"), "{err}");
    assert_eq!(streams.state(), State::Error);
    assert!(streams.close(Duration::from_secs(5)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn malformed_sales_go_to_the_dead_letter_topic_and_the_app_goes_on() {
    let (_broker, bs) = setup().await;
    common::create_topic(&bs, "sales-dlq", 1, &[]).await;
    let state = tempfile::tempdir().unwrap();
    let c = config(&bs, "sales-bad", state.path())
        .set("errors.dead.letter.queue.topic.name", "sales-dlq")
        .unwrap();
    let streams = start(c);
    wait_running(&streams);
    let producer = common::producer(&bs, &[]);
    producer
        .send(
            FutureRecord::to(app::SALES)
                .key("apples")
                .payload("{not json"),
            Duration::from_secs(10),
        )
        .await
        .map_err(|(e, _)| e)
        .unwrap();
    let sales = app::generate(5, START);
    produce(&bs, &sales, true).await;
    let want = app::expected(&sales, PARTITIONS);
    let w = want.clone();
    let got = read(&bs, move |o| o.prices.len() >= w.prices.len()).await;
    assert_eq!(got.prices.len(), sales.len());
    let dlq = common::consume(&bs, "sales-dlq", &[0], rdkafka::Offset::Beginning, 1);
    use rdkafka::message::Headers;
    use rdkafka::Message;
    assert_eq!(dlq[0].payload(), Some(&b"{not json"[..]));
    let headers = dlq[0].headers().unwrap();
    let topic = headers
        .iter()
        .find(|h| h.key == "__streams.errors.topic")
        .unwrap();
    assert_eq!(topic.value, Some(&b"sales"[..]));
    assert_eq!(streams.state(), State::Running);
    assert_eq!(streams.metrics().tasks.deserialization_errors, 1);
    assert!(streams.close(Duration::from_secs(20)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_instance_beyond_the_partition_count_idles_and_takes_over_when_the_busy_one_leaves() {
    use fjord_core::format::Utf8;
    use fjord_streams::{Consumed, Produced, StreamsBuilder};
    let (_broker, bs) = broker_with_topics(&[("words-in", 1), ("words-out", 1)]).await;
    let topology = || {
        let b = StreamsBuilder::new();
        b.stream("words-in", Consumed::with(Utf8, Utf8))
            .map_values(|w: String| w.to_uppercase())
            .to("words-out", Produced::default());
        b.build().unwrap()
    };
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let make = |d: &std::path::Path| {
        let s = KafkaStreams::new(topology(), config(&bs, "idle-spare", d)).unwrap();
        s.start().unwrap();
        s
    };
    let a = make(d1.path());
    let b = make(d2.path());
    common::eventually(
        "one instance to own the only task",
        Duration::from_secs(30),
        || {
            a.tasks().len() + b.tasks().len() == 1
                && a.state() == State::Running
                && b.state() == State::Running
        },
    )
    .await;
    let (busy, idle) = if a.tasks().is_empty() { (b, a) } else { (a, b) };
    assert!(idle.tasks().is_empty(), "the spare instance runs no task");
    assert!(busy.close(Duration::from_secs(20)));
    common::eventually(
        "the spare to take the task over",
        Duration::from_secs(30),
        || idle.tasks().len() == 1,
    )
    .await;
    send(&bs, "words-in", "k", "hello").await;
    let out = common::consume(&bs, "words-out", &[0], rdkafka::Offset::Beginning, 1);
    use rdkafka::Message;
    assert_eq!(out[0].payload(), Some(&b"HELLO"[..]));
    assert!(idle.close(Duration::from_secs(20)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_global_table_is_loaded_before_the_app_runs_and_followed_after() {
    use fjord_core::format::Utf8;
    use fjord_streams::{Consumed, Materialized, Produced, StreamsBuilder};
    let (broker, bs) =
        broker_with_topics(&[("products", 2), ("orders", 3), ("named-orders", 1)]).await;
    send(&bs, "products", "p1", "apple").await;
    send(&bs, "products", "p2", "bread").await;
    let b = StreamsBuilder::new();
    let products = b.global_table(
        "products",
        Consumed::with(Utf8, Utf8),
        Materialized::as_("products"),
    );
    b.stream("orders", Consumed::with(Utf8, Utf8))
        .join_global(&products, |_, p| p.clone(), |p, name| format!("{p}={name}"))
        .to("named-orders", Produced::with(Utf8, Utf8));
    let state = tempfile::tempdir().unwrap();
    let streams =
        KafkaStreams::new(b.build().unwrap(), config(&bs, "global-join", state.path())).unwrap();
    streams.start().unwrap();
    wait_running(&streams);
    // Loaded before start() returned: the first order already finds its product.
    send(&bs, "orders", "o1", "p2").await;
    let out = common::consume(&bs, "named-orders", &[0], rdkafka::Offset::Beginning, 1);
    use rdkafka::Message;
    assert_eq!(out[0].payload(), Some(&b"p2=bread"[..]));
    // Followed after start: orders for a product added later join once the
    // update has arrived (the inner join drops them before), so resend until
    // a second output appears.
    send(&bs, "products", "p3", "cheese").await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut joined = false;
    while !joined && std::time::Instant::now() < deadline {
        send(&bs, "orders", "o2", "p3").await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        joined = common::partition(&broker, "named-orders", 0).log_end_offset() >= 2;
    }
    let out = common::consume(&bs, "named-orders", &[0], rdkafka::Offset::Beginning, 2);
    assert_eq!(out[1].payload(), Some(&b"p3=cheese"[..]));
    assert!(joined, "the global table followed its topic after start");
    assert!(streams.close(Duration::from_secs(20)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stream_threads_of_one_instance_split_its_tasks() {
    let (_broker, bs) = setup().await;
    let state = tempfile::tempdir().unwrap();
    let c = config(&bs, "sales-threads", state.path())
        .set("num.stream.threads", "2")
        .unwrap();
    let streams = start(c);
    common::eventually("both threads to run tasks", Duration::from_secs(30), || {
        let per = streams.tasks_per_thread();
        per.len() == 2 && per.iter().all(|t| !t.is_empty()) && streams.tasks().len() == 6
    })
    .await;
    let sales = app::generate(30, START);
    produce(&bs, &sales, true).await;
    let want = app::expected(&sales, PARTITIONS);
    let w = want.clone();
    let got = read(&bs, move |o| o.holds(&w)).await;
    assert_eq!(got.difference(&want), None);
    assert!(streams.close(Duration::from_secs(20)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_panicking_processor_moves_the_app_to_error_with_the_cause() {
    use fjord_core::format::Utf8;
    use fjord_streams::{Consumed, Produced, StreamsBuilder};
    let (_broker, bs) = broker_with_topics(&[("panic-in", 1)]).await;
    let b = StreamsBuilder::new();
    b.stream("panic-in", Consumed::with(Utf8, Utf8))
        .map_values(|v: String| {
            assert!(v != "boom", "a user bug on {v}");
            v
        })
        .to("panic-out", Produced::default());
    let state = tempfile::tempdir().unwrap();
    let streams =
        KafkaStreams::new(b.build().unwrap(), config(&bs, "panicky", state.path())).unwrap();
    streams.start().unwrap();
    wait_running(&streams);
    send(&bs, "panic-in", "k", "boom").await;
    common::eventually("the app to reach ERROR", Duration::from_secs(30), || {
        streams.state() == State::Error
    })
    .await;
    let cause = streams.error().unwrap().to_string();
    assert!(cause.contains("a user bug on boom"), "{cause}");
    assert!(
        streams.close(Duration::from_secs(10)),
        "closing after a panic does not hang"
    );
}
