//! Stateless operators, routing, naming and topology description.

use super::*;

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
