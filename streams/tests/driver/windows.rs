//! Tumbling, hopping and session windows, grace and emit-final.

use super::*;

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
