//! Stream-table, stream-stream, table-table and global-table joins.

use super::*;

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
