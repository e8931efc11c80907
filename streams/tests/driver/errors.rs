//! Deserialization handlers and build-time errors.

use super::*;

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
