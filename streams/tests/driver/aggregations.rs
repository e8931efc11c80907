//! Grouping, repartitioning for a new key, count, reduce and aggregate.

use super::*;

#[test]
fn group_by_a_new_key_routes_every_record_through_the_repartition_topic_to_its_task() {
    let b = StreamsBuilder::new();
    b.stream("lines", strings())
        .flat_map_values(|l: String| l.split(' ').map(str::to_string).collect::<Vec<_>>())
        .group_by(
            |_, w| w.clone(),
            Grouped::with(Utf8, Utf8).with_name("words"),
        )
        .count(Materialized::as_("word-counts"))
        .to_stream()
        .to("counts", Produced::with(Utf8, Nullable(Int64)));
    let topology = b.build().unwrap();
    assert_eq!(topology.subtopology_count(), 2);
    let driver = TopologyTestDriver::with_partitions(topology, config(), &[("lines", 4)]).unwrap();
    let internal = driver.internal_topics();
    assert_eq!(internal.get("app-words-repartition"), Some(&4));
    assert_eq!(internal.get("app-word-counts-changelog"), Some(&4));
    let input = driver.input_topic("lines", Utf8, Utf8);
    let lines = ["a b c", "b c", "c", "d a", "c"];
    for (i, line) in lines.iter().enumerate() {
        input
            .pipe_input_to((i % 4) as i32, s("line"), s(line), i as i64)
            .unwrap();
    }
    let counts = driver
        .output_topic("counts", Utf8, Nullable(Int64))
        .read_key_values_to_map();
    let expected: Vec<(String, Option<i64>)> = vec![
        (s("a"), Some(2)),
        (s("b"), Some(2)),
        (s("c"), Some(4)),
        (s("d"), Some(1)),
    ];
    assert_eq!(counts.into_iter().collect::<Vec<_>>(), expected);
    // Each word was counted by the task of its key's partition, and only there.
    for (id, m) in driver.task_metrics() {
        if id.subtopology == 1 {
            let words_here: Vec<String> = ["a", "b", "c", "d"]
                .iter()
                .filter(|w| {
                    fjord_streams::partitioner::partition_for(w.as_bytes(), 4) == id.partition
                })
                .map(|w| w.to_string())
                .collect();
            let expected: u64 = words_here.iter().map(|w| counts_of(w)).sum();
            assert_eq!(m.processed, expected, "task {id} processed its words only");
        }
    }
    let store = driver.key_value_store("word-counts", Utf8, Int64).unwrap();
    assert_eq!(store.len(), 4);
}

fn counts_of(word: &str) -> u64 {
    match word {
        "a" | "b" => 2,
        "c" => 4,
        _ => 1,
    }
}

#[test]
fn aggregate_and_reduce_keep_a_value_per_key_and_log_it_folded_to_the_changelog() {
    let b = StreamsBuilder::new();
    let grouped = b
        .stream("in", Consumed::with(Utf8, Int64))
        .group_by_key(Grouped::default());
    grouped
        .clone()
        .reduce(|a, v| a.max(v), Materialized::as_("max"))
        .to_stream()
        .to("max", Produced::default());
    grouped
        .aggregate(
            || s(""),
            |_, v, agg: String| format!("{agg}{v}"),
            Materialized::as_("concat").with_value_serde(Utf8),
        )
        .to_stream()
        .to("concat", Produced::default());
    let driver = TopologyTestDriver::new(b.build().unwrap(), config()).unwrap();
    let input = driver.input_topic("in", Utf8, Int64);
    input
        .pipe_all([
            (s("a"), 3, 0),
            (s("a"), 1, 1),
            (s("b"), 7, 2),
            (s("a"), 5, 3),
        ])
        .unwrap();
    assert_eq!(
        driver
            .output_topic("max", Utf8, Nullable(Int64))
            .read_key_values(),
        vec![
            (s("a"), Some(3)),
            (s("a"), Some(3)),
            (s("b"), Some(7)),
            (s("a"), Some(5))
        ]
    );
    assert_eq!(
        driver
            .output_topic("concat", Utf8, Nullable(Utf8))
            .read_key_values_to_map()
            .into_iter()
            .collect::<Vec<_>>(),
        vec![(s("a"), Some(s("315"))), (s("b"), Some(s("7")))]
    );
    // The driver commits after every record: one changelog record per update here.
    let changelog = driver.changelog("app-max-changelog");
    assert_eq!(changelog.len(), 4);
    assert_eq!(changelog[3].key.as_deref(), Some(&b"a"[..]));
    assert_eq!(changelog[3].value.as_deref(), Some(&5i64.to_be_bytes()[..]));
}
