//! Tables and regrouped tables with adder and subtractor.

use super::*;

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
