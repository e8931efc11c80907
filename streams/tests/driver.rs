//! The DSL's operators, windows, tables and error handling, run by the
//! TopologyTestDriver (no broker).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use fjord_core::format::{Int64, Json, Nullable, Utf8};
use fjord_streams::{
    Consumed, Grouped, Materialized, Named, Processor, ProcessorContext, Produced, PunctuationId,
    PunctuationType, Record, Repartitioned, StreamsBuilder, StreamsConfig, StreamsError,
    TimeWindows, TopologyTestDriver,
};

fn config() -> StreamsConfig {
    StreamsConfig::new("app", "unused:9092")
}

fn s(v: &str) -> String {
    v.to_string()
}

fn strings() -> Consumed<String, String> {
    Consumed::with(Utf8, Utf8)
}

#[test]
fn stateless_operators_transform_and_route_records() {
    let b = StreamsBuilder::new();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let peeked = seen.clone();
    let words = b
        .stream("in", strings())
        .filter(|_, v| !v.is_empty())
        .filter_not(|k, _| k == "skip")
        .peek(move |k, _| peeked.lock().unwrap().push(k.clone()))
        .flat_map_values(|v: String| v.split(' ').map(str::to_string).collect::<Vec<_>>());
    words
        .clone()
        .map_values(|w| w.to_uppercase())
        .to("upper", Produced::default());
    words
        .map(|k, w| (w.clone(), format!("{k}:{}", w.len())))
        .to("by-word", Produced::with(Utf8, Utf8));
    let driver = TopologyTestDriver::new(b.build().unwrap(), config()).unwrap();
    let input = driver.input_topic("in", Utf8, Utf8);
    input.pipe_input(s("a"), s("x yy"), 1).unwrap();
    input.pipe_input(s("skip"), s("zzz"), 2).unwrap();
    input.pipe_input(s("b"), s(""), 3).unwrap();
    input.pipe_input(s("c"), s("q"), 4).unwrap();
    let upper = driver.output_topic("upper", Utf8, Utf8);
    assert_eq!(
        upper.read_key_values(),
        vec![(s("a"), s("X")), (s("a"), s("YY")), (s("c"), s("Q"))]
    );
    let by_word = driver.output_topic("by-word", Utf8, Utf8);
    let records = by_word.read_records();
    assert_eq!(
        records
            .iter()
            .map(|r| (r.key.clone(), r.value.clone()))
            .collect::<Vec<_>>(),
        vec![(s("x"), s("a:1")), (s("yy"), s("a:2")), (s("q"), s("c:1"))]
    );
    // Output records keep the input record's timestamp.
    assert_eq!(
        records.iter().map(|r| r.timestamp).collect::<Vec<_>>(),
        vec![1, 1, 4]
    );
    assert_eq!(*seen.lock().unwrap(), vec![s("a"), s("c")]);
}

#[test]
fn split_sends_each_record_to_the_first_matching_branch_and_merge_joins_them() {
    let b = StreamsBuilder::new();
    let branches = b
        .stream("in", Consumed::with(Utf8, Int64))
        .split(Named::as_("n-"))
        .branch("small", |_, v| *v < 10)
        .branch("medium", |_, v| *v < 100)
        .default_branch("large");
    assert_eq!(
        branches.keys().cloned().collect::<Vec<_>>(),
        vec![s("n-large"), s("n-medium"), s("n-small")]
    );
    let small = branches["n-small"].clone();
    let large = branches["n-large"].clone();
    branches["n-medium"]
        .clone()
        .to("medium", Produced::default());
    small.merge(large).to("edges", Produced::default());
    let topology = b.build().unwrap();
    assert!(topology
        .describe()
        .contains("Processor: n-small (stores: [])"));
    let driver = TopologyTestDriver::new(topology, config()).unwrap();
    let input = driver.input_topic("in", Utf8, Int64);
    for (i, v) in [5, 50, 500, 9, 99].into_iter().enumerate() {
        input.pipe_input(format!("k{i}"), v, i as i64).unwrap();
    }
    let medium = driver.output_topic("medium", Utf8, Int64);
    assert_eq!(medium.read_key_values(), vec![(s("k1"), 50), (s("k4"), 99)]);
    let edges = driver.output_topic("edges", Utf8, Int64);
    assert_eq!(
        edges.read_key_values(),
        vec![(s("k0"), 5), (s("k2"), 500), (s("k3"), 9)]
    );
}

#[test]
fn a_topic_chooser_picks_the_sink_topic_per_record() {
    let b = StreamsBuilder::new();
    b.stream("in", strings())
        .to_dynamic(|k, _| format!("out-{k}"), Produced::default());
    let driver = TopologyTestDriver::new(b.build().unwrap(), config()).unwrap();
    let input = driver.input_topic("in", Utf8, Utf8);
    input.pipe_input(s("a"), s("1"), 0).unwrap();
    input.pipe_input(s("b"), s("2"), 0).unwrap();
    assert_eq!(
        driver.output_topic("out-a", Utf8, Utf8).read_key_values(),
        vec![(s("a"), s("1"))]
    );
    assert_eq!(
        driver.output_topic("out-b", Utf8, Utf8).read_key_values(),
        vec![(s("b"), s("2"))]
    );
}

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

#[test]
fn tumbling_windows_count_within_grace_and_drop_later_records() {
    let b = StreamsBuilder::new();
    b.stream("in", strings())
        .group_by_key(Grouped::default())
        .windowed_by(TimeWindows::of_size_and_grace(
            Duration::from_millis(100),
            Duration::from_millis(20),
        ))
        .count(Materialized::as_("counts"))
        .to_stream()
        .map(|wk, c| (format!("{}@{}", wk.key, wk.window.start), c.unwrap_or(0)))
        .to("out", Produced::with(Utf8, Int64));
    let driver = TopologyTestDriver::new(b.build().unwrap(), config()).unwrap();
    let input = driver.input_topic("in", Utf8, Utf8);
    input.pipe_input(s("k"), s("v"), 10).unwrap();
    input.pipe_input(s("k"), s("v"), 99).unwrap();
    input.pipe_input(s("k"), s("v"), 110).unwrap(); // stream time 110: window 0 still open (end 100 + grace 20)
    input.pipe_input(s("k"), s("v"), 50).unwrap(); // late but inside grace: counted
    input.pipe_input(s("k"), s("v"), 120).unwrap(); // stream time 120: window 0 closes
    input.pipe_input(s("k"), s("v"), 60).unwrap(); // after grace: dropped
    let out = driver.output_topic("out", Utf8, Int64).read_key_values();
    assert_eq!(
        out,
        vec![
            (s("k@0"), 1),
            (s("k@0"), 2),
            (s("k@100"), 1),
            (s("k@0"), 3),
            (s("k@100"), 2),
        ]
    );
    assert_eq!(driver.metrics().dropped_records, 1);
}

#[test]
fn hopping_windows_put_a_record_in_every_window_that_covers_it() {
    let b = StreamsBuilder::new();
    b.stream("in", strings())
        .group_by_key(Grouped::default())
        .windowed_by(
            TimeWindows::of_size_with_no_grace(Duration::from_millis(100))
                .advance_by(Duration::from_millis(50)),
        )
        .count(Materialized::as_("hops"))
        .to_stream()
        .map(|wk, c| {
            (
                format!("{}-{}", wk.window.start, wk.window.end),
                c.unwrap_or(0),
            )
        })
        .to("out", Produced::with(Utf8, Int64));
    let driver = TopologyTestDriver::new(b.build().unwrap(), config()).unwrap();
    let input = driver.input_topic("in", Utf8, Utf8);
    input.pipe_input(s("k"), s("v"), 75).unwrap();
    assert_eq!(
        driver.output_topic("out", Utf8, Int64).read_key_values(),
        vec![(s("0-100"), 1), (s("50-150"), 1)]
    );
}

#[test]
fn emit_final_emits_each_window_once_after_it_closes() {
    let b = StreamsBuilder::new();
    b.stream("in", strings())
        .group_by_key(Grouped::default())
        .windowed_by(TimeWindows::of_size_and_grace(
            Duration::from_millis(100),
            Duration::from_millis(10),
        ))
        .emit_final()
        .count(Materialized::as_("final"))
        .to_stream()
        .map(|wk, c| (format!("{}@{}", wk.key, wk.window.start), c.unwrap_or(0)))
        .to("out", Produced::with(Utf8, Int64));
    let driver = TopologyTestDriver::new(b.build().unwrap(), config()).unwrap();
    let input = driver.input_topic("in", Utf8, Utf8);
    let out = driver.output_topic("out", Utf8, Int64);
    input.pipe_input(s("a"), s("v"), 10).unwrap();
    input.pipe_input(s("b"), s("v"), 20).unwrap();
    input.pipe_input(s("a"), s("v"), 90).unwrap();
    input.pipe_input(s("a"), s("v"), 105).unwrap(); // window 0 ends at 100, grace to 110: still open
    input.pipe_input(s("b"), s("v"), 95).unwrap(); // inside grace, counted
    assert!(out.is_empty(), "nothing emitted before the window closes");
    input.pipe_input(s("a"), s("v"), 110).unwrap(); // closes window 0
    assert_eq!(out.read_key_values(), vec![(s("a@0"), 2), (s("b@0"), 2)]);
    input.pipe_input(s("b"), s("v"), 111).unwrap();
    input.pipe_input(s("a"), s("v"), 50).unwrap(); // late: dropped, not re-emitted
    assert!(out.is_empty());
    input.pipe_input(s("a"), s("v"), 250).unwrap(); // closes window 100
    assert_eq!(
        out.read_key_values(),
        vec![(s("a@100"), 2), (s("b@100"), 1)]
    );
    assert_eq!(driver.metrics().dropped_records, 1);
    // Emitted windows leave the store; only the open one is left.
    let left = driver.window_store("final", Utf8, Int64).unwrap();
    assert_eq!(left, vec![(s("a"), 200, 1)]);
}

#[test]
fn tables_keep_the_latest_value_and_filter_and_map_their_updates() {
    let b = StreamsBuilder::new();
    let table = b.table(
        "prices",
        Consumed::with(Utf8, Int64),
        Materialized::as_("prices-store"),
    );
    table
        .clone()
        .filter(|_, p| *p >= 10)
        .map_values(|p| p * 2)
        .to_stream()
        .to("doubled-expensive", Produced::with(Utf8, Nullable(Int64)));
    let driver = TopologyTestDriver::new(b.build().unwrap(), config()).unwrap();
    let input = driver.input_topic("prices", Utf8, Nullable(Int64));
    input.pipe_input(s("a"), Some(5), 0).unwrap();
    input.pipe_input(s("b"), Some(20), 1).unwrap();
    input.pipe_input(s("a"), Some(15), 2).unwrap();
    input.pipe_input(s("b"), Some(3), 3).unwrap(); // b stops matching: deleted downstream
    input.pipe_input(s("a"), None, 4).unwrap(); // tombstone
    assert_eq!(
        driver
            .output_topic("doubled-expensive", Utf8, Nullable(Int64))
            .read_key_values(),
        vec![
            (s("b"), Some(40)),
            (s("a"), Some(30)),
            (s("b"), None),
            (s("a"), None),
        ]
    );
    assert_eq!(
        driver.key_value_store("prices-store", Utf8, Int64).unwrap(),
        vec![(s("b"), 3)]
    );
}

#[test]
fn a_regrouped_table_aggregates_with_adder_and_subtractor() {
    // users -> region; count users per region, moving when a user moves.
    let b = StreamsBuilder::new();
    b.table(
        "users",
        Consumed::with(Utf8, Utf8),
        Materialized::as_("users"),
    )
    .group_by(
        |_, region| (region.clone(), region.clone()),
        Grouped::with(Utf8, Utf8),
    )
    .count(Materialized::as_("per-region"))
    .to_stream()
    .to("regions", Produced::with(Utf8, Nullable(Int64)));
    let driver =
        TopologyTestDriver::with_partitions(b.build().unwrap(), config(), &[("users", 2)]).unwrap();
    let input = driver.input_topic("users", Utf8, Nullable(Utf8));
    input.pipe_input(s("ann"), Some(s("eu")), 0).unwrap();
    input.pipe_input(s("bob"), Some(s("eu")), 1).unwrap();
    input.pipe_input(s("ann"), Some(s("us")), 2).unwrap();
    input.pipe_input(s("bob"), None, 3).unwrap();
    let latest = driver
        .output_topic("regions", Utf8, Nullable(Int64))
        .read_key_values_to_map();
    assert_eq!(
        latest.into_iter().collect::<Vec<_>>(),
        vec![(s("eu"), Some(0)), (s("us"), Some(1))]
    );
}

#[test]
fn an_explicit_repartition_names_its_topic_and_partition_count() {
    let b = StreamsBuilder::new();
    b.stream("in", strings())
        .select_key(|_, v| v.clone())
        .repartition(Repartitioned::as_("by-value").with_partitions(3))
        .map_values(|v| v)
        .to("out", Produced::default());
    let topology = b.build().unwrap();
    let description = topology.describe();
    assert!(
        description.contains("(topic: by-value-repartition)"),
        "{description}"
    );
    assert!(
        description.contains("(topics: [by-value-repartition])"),
        "{description}"
    );
    let driver = TopologyTestDriver::new(topology, config()).unwrap();
    assert_eq!(
        driver.internal_topics().get("app-by-value-repartition"),
        Some(&3)
    );
    assert_eq!(driver.tasks().len(), 1 + 3);
    driver
        .input_topic("in", Utf8, Utf8)
        .pipe_input(s("k"), s("v"), 0)
        .unwrap();
    assert_eq!(
        driver.output_topic("out", Utf8, Utf8).read_key_values(),
        vec![(s("v"), s("v"))]
    );
}

#[test]
fn describe_prints_kafkas_topology_description() {
    let b = StreamsBuilder::new();
    b.stream("input", strings())
        .map_values(|v| v.len() as i64)
        .to("output", Produced::with(Utf8, Int64));
    let expected = "Topologies:\n   Sub-topology: 0\n    Source: KSTREAM-SOURCE-0000000000 (topics: [input])\n      --> KSTREAM-MAPVALUES-0000000001\n    Processor: KSTREAM-MAPVALUES-0000000001 (stores: [])\n      --> KSTREAM-SINK-0000000002\n      <-- KSTREAM-SOURCE-0000000000\n    Sink: KSTREAM-SINK-0000000002 (topic: output)\n      <-- KSTREAM-MAPVALUES-0000000001\n\n";
    assert_eq!(b.build().unwrap().describe(), expected);
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Reading {
    sensor: String,
    value: f64,
}

fn json_pipeline(config: StreamsConfig) -> TopologyTestDriver {
    let b = StreamsBuilder::new();
    b.stream("readings", Consumed::with(Utf8, Json::<Reading>::new()))
        .map_values(|r| r.value)
        .to("values", Produced::with(Utf8, fjord_core::format::Float64));
    TopologyTestDriver::new(b.build().unwrap(), config).unwrap()
}

#[test]
fn malformed_json_fails_the_task_by_default() {
    let driver = json_pipeline(config());
    let err = driver
        .pipe_raw(
            "readings",
            None,
            Some(b"k".to_vec()),
            Some(b"{oops".to_vec()),
            0,
        )
        .unwrap_err();
    assert!(matches!(err, StreamsError::Serde(_)), "{err}");
    assert!(err.to_string().contains("readings"), "{err}");
}

#[test]
fn malformed_json_is_skipped_and_counted_with_log_and_continue() {
    let driver = json_pipeline(
        config()
            .set(
                "default.deserialization.exception.handler",
                "org.apache.kafka.streams.errors.LogAndContinueExceptionHandler",
            )
            .unwrap(),
    );
    driver
        .pipe_raw(
            "readings",
            None,
            Some(b"k".to_vec()),
            Some(b"{oops".to_vec()),
            0,
        )
        .unwrap();
    let good = serde_json::to_vec(&Reading {
        sensor: s("t"),
        value: 2.5,
    })
    .unwrap();
    driver
        .pipe_raw("readings", None, Some(b"k".to_vec()), Some(good), 1)
        .unwrap();
    let out = driver.output_topic("values", Utf8, fjord_core::format::Float64);
    assert_eq!(out.read_key_values(), vec![(s("k"), 2.5)]);
    let m = driver.metrics();
    assert_eq!((m.deserialization_errors, m.dropped_records), (1, 1));
}

#[test]
fn malformed_json_goes_to_the_dead_letter_topic_with_headers() {
    let driver = json_pipeline(
        config()
            .set("errors.dead.letter.queue.topic.name", "readings-dlq")
            .unwrap(),
    );
    driver
        .pipe_raw(
            "readings",
            None,
            Some(b"k".to_vec()),
            Some(b"{oops".to_vec()),
            7,
        )
        .unwrap();
    let dlq = driver.output_topic("readings-dlq", Utf8, fjord_core::format::Bytes);
    let record = dlq.read_record().unwrap();
    assert_eq!(record.value, b"{oops".to_vec());
    assert_eq!(record.timestamp, 7);
    let header = |name: &str| {
        record
            .headers
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.clone())
            .map(|v| String::from_utf8(v).unwrap())
    };
    assert_eq!(
        header("__streams.errors.topic").as_deref(),
        Some("readings")
    );
    assert_eq!(header("__streams.errors.partition").as_deref(), Some("0"));
    assert_eq!(header("__streams.errors.offset").as_deref(), Some("0"));
    assert!(header("__streams.errors.message").unwrap().contains("json"));
}

#[test]
fn a_duplicate_store_name_is_an_error_at_build() {
    let b = StreamsBuilder::new();
    let grouped = b.stream("in", strings()).group_by_key(Grouped::default());
    grouped.clone().count(Materialized::as_("same"));
    grouped.count(Materialized::as_("same"));
    let err = b.build().unwrap_err();
    assert!(
        err.to_string()
            .contains("two state stores are named 'same'"),
        "{err}"
    );
}

#[test]
fn a_sink_without_serdes_after_a_type_change_is_an_error_at_build() {
    let b = StreamsBuilder::new();
    b.stream("in", strings())
        .map(|k, v| (k.len() as i64, v))
        .to("out", Produced::default());
    let err = b.build().unwrap_err();
    assert!(err.to_string().contains("has no key serde"), "{err}");
}

/// Counts records and emits the count on every punctuation.
struct Counter {
    seen: i64,
    stream_tick: Option<PunctuationId>,
}

impl Processor<String, String, String, i64> for Counter {
    fn init(
        &mut self,
        ctx: &mut ProcessorContext<'_, '_, '_, String, i64>,
    ) -> fjord_streams::Result<()> {
        self.stream_tick =
            Some(ctx.schedule(Duration::from_millis(100), PunctuationType::StreamTime));
        ctx.schedule(Duration::from_secs(1), PunctuationType::WallClockTime);
        Ok(())
    }

    fn process(
        &mut self,
        ctx: &mut ProcessorContext<'_, '_, '_, String, i64>,
        record: Record<String, String>,
    ) -> fjord_streams::Result<()> {
        self.seen += 1;
        let store = ctx.kv_store("seen")?;
        store.put(record.key.as_bytes(), record.value.as_bytes())?;
        Ok(())
    }

    fn punctuate(
        &mut self,
        ctx: &mut ProcessorContext<'_, '_, '_, String, i64>,
        id: PunctuationId,
        time: i64,
    ) -> fjord_streams::Result<()> {
        let which = if Some(id) == self.stream_tick {
            "stream"
        } else {
            "wall"
        };
        ctx.forward(Record::new(format!("{which}@{time}"), self.seen, time));
        Ok(())
    }
}

#[test]
fn the_processor_api_punctuates_on_stream_time_and_wall_clock_and_uses_stores() {
    let b = StreamsBuilder::new();
    b.add_key_value_store("seen");
    b.stream("in", strings())
        .process(
            || Counter {
                seen: 0,
                stream_tick: None,
            },
            &["seen"],
        )
        .to("ticks", Produced::with(Utf8, Int64));
    let driver = TopologyTestDriver::new(b.build().unwrap(), config()).unwrap();
    let input = driver.input_topic("in", Utf8, Utf8);
    input.pipe_input(s("a"), s("1"), 50).unwrap();
    input.pipe_input(s("b"), s("2"), 100).unwrap(); // stream time reaches 100: one punctuation
    input.pipe_input(s("c"), s("3"), 350).unwrap(); // jumps to 350: one more (Kafka fires once per advance)
    driver
        .advance_wall_clock_time(Duration::from_secs(1))
        .unwrap();
    let ticks = driver.output_topic("ticks", Utf8, Int64).read_key_values();
    assert_eq!(
        ticks,
        vec![
            (s("stream@100"), 2),
            (s("stream@350"), 3),
            (s("wall@1000"), 3)
        ]
    );
    assert_eq!(driver.key_value_store("seen", Utf8, Utf8).unwrap().len(), 3);
    assert_eq!(driver.changelog("app-seen-changelog").len(), 3);
}

#[test]
fn stream_table_joins_look_up_the_current_row() {
    let b = StreamsBuilder::new();
    let prices = b.table(
        "prices",
        Consumed::with(Utf8, Int64),
        Materialized::as_("prices"),
    );
    let orders = b.stream("orders", Consumed::with(Utf8, Int64));
    orders
        .clone()
        .join(&prices, |qty, price| qty * price)
        .to("totals", Produced::with(Utf8, Int64));
    orders
        .left_join(&prices, |qty, price| {
            format!("{qty}x{}", price.map_or(-1, |p| *p))
        })
        .to("all", Produced::with(Utf8, Utf8));
    let driver = TopologyTestDriver::with_partitions(
        b.build().unwrap(),
        config(),
        &[("prices", 2), ("orders", 2)],
    )
    .unwrap();
    let p = driver.input_topic("prices", Utf8, Nullable(Int64));
    let o = driver.input_topic("orders", Utf8, Int64);
    p.pipe_input(s("apple"), Some(3), 0).unwrap();
    o.pipe_input(s("apple"), 2, 1).unwrap();
    o.pipe_input(s("pear"), 5, 2).unwrap();
    p.pipe_input(s("apple"), Some(4), 3).unwrap();
    o.pipe_input(s("apple"), 1, 4).unwrap();
    assert_eq!(
        driver.output_topic("totals", Utf8, Int64).read_key_values(),
        vec![(s("apple"), 6), (s("apple"), 4)]
    );
    assert_eq!(
        driver.output_topic("all", Utf8, Utf8).read_key_values(),
        vec![
            (s("apple"), s("2x3")),
            (s("pear"), s("5x-1")),
            (s("apple"), s("1x4"))
        ]
    );
}

#[test]
fn a_join_of_topics_that_are_not_co_partitioned_fails_naming_both() {
    let b = StreamsBuilder::new();
    let prices = b.table(
        "prices",
        Consumed::with(Utf8, Int64),
        Materialized::as_("prices"),
    );
    b.stream("orders", Consumed::with(Utf8, Int64))
        .join(&prices, |q, p| q * p)
        .to("totals", Produced::with(Utf8, Int64));
    let err = TopologyTestDriver::with_partitions(
        b.build().unwrap(),
        config(),
        &[("prices", 2), ("orders", 3)],
    )
    .err()
    .unwrap();
    let text = err.to_string();
    assert!(
        text.contains("orders (3 partitions)") && text.contains("prices (2 partitions)"),
        "{text}"
    );
}

#[test]
fn a_rekeyed_stream_is_repartitioned_to_the_tables_partition_count_before_a_join() {
    let b = StreamsBuilder::new();
    let prices = b.table(
        "prices",
        Consumed::with(Utf8, Int64),
        Materialized::as_("prices"),
    );
    b.stream("orders", Consumed::with(Utf8, Utf8))
        .select_key(|_, product| product.clone())
        .join(&prices, |product, p| product.len() as i64 * p)
        .to("totals", Produced::with(Utf8, Int64));
    let driver = TopologyTestDriver::with_partitions(
        b.build().unwrap(),
        config(),
        &[("prices", 3), ("orders", 1)],
    )
    .unwrap();
    let repartition: Vec<(String, i32)> = driver
        .internal_topics()
        .into_iter()
        .filter(|(t, _)| t.ends_with("-repartition"))
        .collect();
    assert_eq!(repartition.len(), 1);
    assert_eq!(repartition[0].1, 3);
    driver
        .input_topic("prices", Utf8, Nullable(Int64))
        .pipe_input(s("kiwi"), Some(7), 0)
        .unwrap();
    driver
        .input_topic("orders", Utf8, Utf8)
        .pipe_input(s("order-1"), s("kiwi"), 1)
        .unwrap();
    assert_eq!(
        driver.output_topic("totals", Utf8, Int64).read_key_values(),
        vec![(s("kiwi"), 28)]
    );
}

fn session_counts(emit_final: bool) -> TopologyTestDriver {
    let b = StreamsBuilder::new();
    let windowed = b
        .stream("clicks", strings())
        .group_by_key(Grouped::default())
        .windowed_by_session(fjord_streams::SessionWindows::of_inactivity_gap_and_grace(
            Duration::from_millis(10),
            Duration::from_millis(5),
        ));
    let windowed = if emit_final {
        windowed.emit_final()
    } else {
        windowed
    };
    windowed
        .count(Materialized::as_("sessions"))
        .to_stream()
        .map(|wk, c| {
            (
                format!("{}[{},{}]", wk.key, wk.window.start, wk.window.end),
                c.map_or(-1, |c| c),
            )
        })
        .to("out", Produced::with(Utf8, Int64));
    TopologyTestDriver::new(b.build().unwrap(), config()).unwrap()
}

#[test]
fn session_windows_grow_merge_and_retract_the_sessions_they_replace() {
    let driver = session_counts(false);
    let input = driver.input_topic("clicks", Utf8, Utf8);
    let out = driver.output_topic("out", Utf8, Int64);
    input.pipe_input(s("u"), s("x"), 0).unwrap();
    input.pipe_input(s("u"), s("x"), 5).unwrap(); // within the gap: same session
    input.pipe_input(s("u"), s("x"), 20).unwrap(); // 15 after: a new session
    assert_eq!(
        out.read_key_values(),
        vec![
            (s("u[0,0]"), 1),
            (s("u[0,0]"), -1),
            (s("u[0,5]"), 2),
            (s("u[20,20]"), 1),
        ]
    );
    input.pipe_input(s("u"), s("x"), 12).unwrap(); // within the gap of both: merges them
    assert_eq!(
        out.read_key_values(),
        vec![(s("u[0,5]"), -1), (s("u[20,20]"), -1), (s("u[0,20]"), 4)]
    );
    input.pipe_input(s("u"), s("x"), 40).unwrap(); // stream time 40: a record at 10 is late
    input.pipe_input(s("u"), s("x"), 10).unwrap();
    assert_eq!(out.read_key_values(), vec![(s("u[40,40]"), 1)]);
    assert_eq!(driver.metrics().dropped_records, 1);
}

#[test]
fn session_windows_with_emit_final_emit_each_session_once_it_is_final() {
    let driver = session_counts(true);
    let input = driver.input_topic("clicks", Utf8, Utf8);
    let out = driver.output_topic("out", Utf8, Int64);
    input.pipe_input(s("a"), s("x"), 0).unwrap();
    input.pipe_input(s("a"), s("x"), 8).unwrap();
    input.pipe_input(s("b"), s("x"), 20).unwrap(); // a's session [0,8] final at 8+10+5=23
    assert!(out.is_empty());
    input.pipe_input(s("b"), s("x"), 24).unwrap();
    assert_eq!(out.read_key_values(), vec![(s("a[0,8]"), 2)]);
    input.pipe_input(s("a"), s("x"), 3).unwrap(); // too late for a final session: dropped
    input.pipe_input(s("b"), s("x"), 100).unwrap();
    assert_eq!(out.read_key_values(), vec![(s("b[20,24]"), 2)]);
    assert_eq!(driver.metrics().dropped_records, 1);
}

#[test]
fn table_table_joins_keep_rows_by_kind_and_follow_both_sides() {
    let b = StreamsBuilder::new();
    let left = b.table(
        "l",
        Consumed::with(Utf8, Utf8),
        Materialized::as_("l-store"),
    );
    let right = b.table(
        "r",
        Consumed::with(Utf8, Utf8),
        Materialized::as_("r-store"),
    );
    left.clone()
        .join(&right, |l, r| format!("{l}+{r}"))
        .to_stream()
        .to("inner", Produced::with(Utf8, Nullable(Utf8)));
    left.clone()
        .left_join(&right, |l, r| {
            format!("{l}+{}", r.map_or("-", |r| r.as_str()))
        })
        .to_stream()
        .to("left", Produced::with(Utf8, Nullable(Utf8)));
    left.outer_join(&right, |l, r| {
        format!(
            "{}+{}",
            l.map_or("-", |l| l.as_str()),
            r.map_or("-", |r| r.as_str())
        )
    })
    .to_stream()
    .to("outer", Produced::with(Utf8, Nullable(Utf8)));
    let driver = TopologyTestDriver::new(b.build().unwrap(), config()).unwrap();
    let l = driver.input_topic("l", Utf8, Nullable(Utf8));
    let r = driver.input_topic("r", Utf8, Nullable(Utf8));
    l.pipe_input(s("k"), Some(s("a")), 0).unwrap();
    r.pipe_input(s("k"), Some(s("x")), 1).unwrap();
    l.pipe_input(s("k"), Some(s("b")), 2).unwrap();
    r.pipe_input(s("k"), None, 3).unwrap();
    l.pipe_input(s("k"), None, 4).unwrap();
    let read = |t: &str| {
        driver
            .output_topic(t, Utf8, Nullable(Utf8))
            .read_key_values()
    };
    let v = |x: Option<&str>| (s("k"), x.map(str::to_string));
    assert_eq!(read("inner"), vec![v(Some("a+x")), v(Some("b+x")), v(None)]);
    assert_eq!(
        read("left"),
        vec![
            v(Some("a+-")),
            v(Some("a+x")),
            v(Some("b+x")),
            v(Some("b+-")),
            v(None)
        ]
    );
    assert_eq!(
        read("outer"),
        vec![
            v(Some("a+-")),
            v(Some("a+x")),
            v(Some("b+x")),
            v(Some("b+-")),
            v(None)
        ]
    );
    // A key only the right table has: only the outer join shows it.
    r.pipe_input(s("j"), Some(s("y")), 5).unwrap();
    assert!(read("inner").is_empty() && read("left").is_empty());
    assert_eq!(read("outer"), vec![(s("j"), Some(s("-+y")))]);
}

fn stream_joins() -> TopologyTestDriver {
    use fjord_streams::{JoinWindows, StreamJoined};
    let b = StreamsBuilder::new();
    let left = b.stream("clicks", strings());
    let right = b.stream("views", strings());
    let w = JoinWindows::of_time_difference_and_grace(
        Duration::from_millis(10),
        Duration::from_millis(0),
    );
    left.clone()
        .join_windowed(
            right.clone(),
            |l, r| format!("{l}+{r}"),
            w,
            StreamJoined::with(Utf8, Utf8, Utf8).with_store_name("inner"),
        )
        .to("inner", Produced::with(Utf8, Utf8));
    left.clone()
        .left_join_windowed(
            right.clone(),
            |l, r| format!("{l}+{}", r.map_or("-", |r| r.as_str())),
            w,
            StreamJoined::with(Utf8, Utf8, Utf8).with_store_name("left"),
        )
        .to("left", Produced::with(Utf8, Utf8));
    left.outer_join_windowed(
        right,
        |l, r| {
            format!(
                "{}+{}",
                l.map_or("-", |l| l.as_str()),
                r.map_or("-", |r| r.as_str())
            )
        },
        w,
        StreamJoined::with(Utf8, Utf8, Utf8).with_store_name("outer"),
    )
    .to("outer", Produced::with(Utf8, Utf8));
    TopologyTestDriver::new(b.build().unwrap(), config()).unwrap()
}

#[test]
fn stream_stream_joins_match_within_the_window_and_emit_unmatched_records_when_it_closes() {
    let driver = stream_joins();
    let clicks = driver.input_topic("clicks", Utf8, Utf8);
    let views = driver.input_topic("views", Utf8, Utf8);
    let read = |t: &str| driver.output_topic(t, Utf8, Utf8).read_key_values();
    clicks.pipe_input(s("k"), s("c1"), 100).unwrap();
    views.pipe_input(s("k"), s("v1"), 105).unwrap(); // within 10 ms: joins
    views.pipe_input(s("k"), s("v2"), 130).unwrap(); // no click near it
    clicks.pipe_input(s("k"), s("c2"), 131).unwrap(); // joins v2
    clicks.pipe_input(s("k"), s("c3"), 150).unwrap(); // alone so far
    assert_eq!(
        read("inner"),
        vec![(s("k"), s("c1+v1")), (s("k"), s("c2+v2"))]
    );
    assert_eq!(
        read("left"),
        vec![(s("k"), s("c1+v1")), (s("k"), s("c2+v2"))]
    );
    assert_eq!(
        read("outer"),
        vec![(s("k"), s("c1+v1")), (s("k"), s("c2+v2"))]
    );
    // Stream time 200: c3's window (to 160) has closed with no view.
    views.pipe_input(s("k"), s("v3"), 200).unwrap();
    assert!(read("inner").is_empty());
    assert_eq!(read("left"), vec![(s("k"), s("c3+-"))]);
    assert_eq!(read("outer"), vec![(s("k"), s("c3+-"))]);
    clicks.pipe_input(s("k"), s("c4"), 300).unwrap(); // closes v3's window
    assert_eq!(read("outer"), vec![(s("k"), s("-+v3"))]);
    assert!(
        read("left").is_empty(),
        "a left join never emits right-only records"
    );
}

#[test]
fn a_pattern_source_reads_every_matching_topic() {
    let b = StreamsBuilder::new();
    b.stream_pattern("orders-[a-z]+", strings())
        .to("all-orders", Produced::default());
    let driver = TopologyTestDriver::with_partitions(
        b.build().unwrap(),
        config(),
        &[("orders-eu", 1), ("orders-us", 2), ("returns", 1)],
    )
    .unwrap();
    driver
        .input_topic("orders-eu", Utf8, Utf8)
        .pipe_input(s("a"), s("1"), 0)
        .unwrap();
    driver
        .input_topic("orders-us", Utf8, Utf8)
        .pipe_input(s("b"), s("2"), 1)
        .unwrap();
    assert!(driver
        .input_topic("returns", Utf8, Utf8)
        .pipe_input(s("c"), s("3"), 2)
        .is_err());
    assert_eq!(
        driver
            .output_topic("all-orders", Utf8, Utf8)
            .read_key_values(),
        vec![(s("a"), s("1")), (s("b"), s("2"))]
    );
}

#[test]
fn stream_global_table_joins_look_up_any_key_without_co_partitioning() {
    let b = StreamsBuilder::new();
    let products = b.global_table(
        "products",
        Consumed::with(Utf8, Utf8),
        Materialized::as_("products-store"),
    );
    let orders = b.stream("orders", Consumed::with(Utf8, Utf8)); // key: order id, value: product id
    orders
        .clone()
        .join_global(
            &products,
            |_, product| product.clone(),
            |p, name| format!("{p}={name}"),
        )
        .to("named", Produced::with(Utf8, Utf8));
    orders
        .left_join_global(
            &products,
            |_, product| product.clone(),
            |p, name| format!("{p}={}", name.map_or("?", |n| n.as_str())),
        )
        .to("all", Produced::with(Utf8, Utf8));
    // 3 order partitions, 1 product partition: a global table needs no co-partitioning.
    let driver = TopologyTestDriver::with_partitions(
        b.build().unwrap(),
        config(),
        &[("orders", 3), ("products", 1)],
    )
    .unwrap();
    let products = driver.input_topic("products", Utf8, Nullable(Utf8));
    let orders = driver.input_topic("orders", Utf8, Utf8);
    products.pipe_input(s("p1"), Some(s("apple")), 0).unwrap();
    for (i, p) in ["p1", "p2", "p1"].into_iter().enumerate() {
        orders.pipe_input(format!("o{i}"), s(p), 1).unwrap();
    }
    products.pipe_input(s("p1"), None, 2).unwrap();
    orders.pipe_input(s("o3"), s("p1"), 3).unwrap();
    let named = driver.output_topic("named", Utf8, Utf8).read_key_values();
    assert_eq!(
        named,
        vec![(s("o0"), s("p1=apple")), (s("o2"), s("p1=apple"))]
    );
    let mut all = driver.output_topic("all", Utf8, Utf8).read_key_values();
    all.sort();
    assert_eq!(
        all,
        vec![
            (s("o0"), s("p1=apple")),
            (s("o1"), s("p2=?")),
            (s("o2"), s("p1=apple")),
            (s("o3"), s("p1=?"))
        ]
    );
}

#[test]
fn a_failing_processor_fails_by_default_and_is_skipped_with_the_continue_handler() {
    let build = || {
        let b = StreamsBuilder::new();
        b.stream("in", Consumed::with(Utf8, Int64))
            .process(|| Divider, &[])
            .to("out", Produced::with(Utf8, Int64));
        b.build().unwrap()
    };
    let failing = TopologyTestDriver::new(build(), config()).unwrap();
    let err = failing
        .input_topic("in", Utf8, Int64)
        .pipe_input(s("k"), 0, 0)
        .unwrap_err();
    assert!(err.to_string().contains("division by zero"), "{err}");
    assert!(
        err.to_string().contains("in-0@0"),
        "the error names the record: {err}"
    );

    let lenient = TopologyTestDriver::new(
        build(),
        config()
            .set(
                "processing.exception.handler",
                "org.apache.kafka.streams.errors.LogAndContinueProcessingExceptionHandler",
            )
            .unwrap(),
    )
    .unwrap();
    let input = lenient.input_topic("in", Utf8, Int64);
    input.pipe_input(s("a"), 0, 0).unwrap();
    input.pipe_input(s("b"), 4, 1).unwrap();
    assert_eq!(
        lenient.output_topic("out", Utf8, Int64).read_key_values(),
        vec![(s("b"), 25)]
    );
    assert_eq!(lenient.metrics().dropped_records, 1);
}

/// 100 / value; fails on zero.
struct Divider;

impl Processor<String, i64, String, i64> for Divider {
    fn process(
        &mut self,
        ctx: &mut ProcessorContext<'_, '_, '_, String, i64>,
        record: Record<String, i64>,
    ) -> fjord_streams::Result<()> {
        if record.value == 0 {
            return Err(ctx.error("division by zero"));
        }
        let v = 100 / record.value;
        ctx.forward(record.with_value(v));
        Ok(())
    }
}
