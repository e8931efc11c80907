//! The chain as a worker builds it from a connector config: order, predicates with negate,
//! config errors naming alias and key, and validation collecting every error.

use super::{plugin_classes, validate, TransformChain};
use crate::config::ConfigMap;
use crate::data::Value;
use crate::error::ConnectError;
use crate::record::{ConnectRecord, Header};
use crate::transforms::part::testkit::{config, map};

fn chain(pairs: &[(&str, &str)]) -> TransformChain {
    TransformChain::from_connector_config(&config(pairs)).unwrap()
}

fn config_error(pairs: &[(&str, &str)]) -> String {
    match TransformChain::from_connector_config(&config(pairs)) {
        Err(ConnectError::Config(message)) => message,
        other => panic!("expected a config error, got {other:?}"),
    }
}

fn record(topic: &str, value: Value) -> ConnectRecord {
    ConnectRecord::new(topic, value)
}

#[test]
fn the_chain_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<TransformChain>();
}

#[test]
fn applies_transforms_in_order_by_class_and_alias() {
    let c = chain(&[
        ("connector.class", "FileStreamSource"),
        ("transforms", "hoist, insert ,route"),
        (
            "transforms.hoist.type",
            "org.apache.kafka.connect.transforms.HoistField$Value",
        ),
        ("transforms.hoist.field", "line"),
        ("transforms.insert.type", "InsertField$Value"),
        ("transforms.insert.static.field", "source"),
        ("transforms.insert.static.value", "file"),
        (
            "transforms.route.type",
            "org.apache.kafka.connect.transforms.RegexRouter",
        ),
        ("transforms.route.regex", "(.*)-raw"),
        ("transforms.route.replacement", "$1-clean"),
    ]);
    assert!(!c.is_empty());
    let out = c
        .apply(record("logs-raw", Value::from("hello")))
        .unwrap()
        .unwrap();
    assert_eq!(out.topic, "logs-clean");
    assert_eq!(
        out.value,
        map(vec![
            ("line", Value::from("hello")),
            ("source", Value::from("file"))
        ])
    );
}

#[test]
fn an_empty_chain_passes_records() {
    let c = TransformChain::empty();
    assert!(c.is_empty());
    assert!(TransformChain::from_connector_config(&ConfigMap::new())
        .unwrap()
        .is_empty());
    let r = record("t", Value::from("v"));
    assert_eq!(c.apply(r.clone()).unwrap(), Some(r));
}

#[test]
fn filter_with_a_predicate_and_negate() {
    let base = [
        ("transforms", "drop"),
        ("transforms.drop.type", "Filter"),
        ("transforms.drop.predicate", "isOrders"),
        ("predicates", "isOrders"),
        (
            "predicates.isOrders.type",
            "org.apache.kafka.connect.transforms.predicates.TopicNameMatches",
        ),
        ("predicates.isOrders.pattern", "orders.*"),
    ];
    let c = chain(&base);
    assert_eq!(
        c.apply(record("orders-eu", Value::from("x"))).unwrap(),
        None
    );
    assert!(c
        .apply(record("payments", Value::from("x")))
        .unwrap()
        .is_some());

    let mut negated = base.to_vec();
    negated.push(("transforms.drop.negate", "true"));
    let c = chain(&negated);
    assert!(c
        .apply(record("orders-eu", Value::from("x")))
        .unwrap()
        .is_some());
    assert_eq!(c.apply(record("payments", Value::from("x"))).unwrap(), None);

    let mut not_negated = base.to_vec();
    not_negated.push(("transforms.drop.negate", "false"));
    let c = chain(&not_negated);
    assert_eq!(c.apply(record("orders", Value::from("x"))).unwrap(), None);
}

#[test]
fn a_predicate_gates_only_its_transform_and_sees_earlier_changes() {
    let c = chain(&[
        ("transforms", "mark,dropTombstones,tag"),
        ("transforms.mark.type", "InsertHeader"),
        ("transforms.mark.header", "seen"),
        ("transforms.mark.value.literal", "yes"),
        ("transforms.dropTombstones.type", "Filter"),
        ("transforms.dropTombstones.predicate", "tombstone"),
        ("transforms.tag.type", "InsertHeader"),
        ("transforms.tag.header", "tagged"),
        ("transforms.tag.value.literal", "1"),
        ("transforms.tag.predicate", "seen"),
        ("transforms.tag.negate", "true"),
        ("predicates", "tombstone,seen"),
        ("predicates.tombstone.type", "RecordIsTombstone"),
        ("predicates.seen.type", "HasHeaderKey"),
        ("predicates.seen.name", "seen"),
    ]);
    assert_eq!(c.apply(record("t", Value::Null)).unwrap(), None);
    let out = c.apply(record("t", Value::from("v"))).unwrap().unwrap();
    assert_eq!(
        out.headers
            .iter()
            .map(|h: &Header| h.key.as_str())
            .collect::<Vec<_>>(),
        vec!["seen"],
        "tag is skipped: its negated predicate matches the header mark added"
    );
}

#[test]
fn a_failing_transform_names_its_alias() {
    let c = chain(&[
        ("transforms", "extract"),
        ("transforms.extract.type", "ExtractField$Value"),
        ("transforms.extract.field", "id"),
    ]);
    let err = c.apply(record("t", Value::from("not a map"))).unwrap_err();
    assert!(matches!(err, ConnectError::Data(_)));
    let message = err.to_string();
    assert!(message.contains("'extract'"), "{message}");
    assert!(message.contains("ExtractField$Value"), "{message}");
}

#[test]
fn config_errors_name_the_alias_and_the_key() {
    let unknown = config_error(&[
        ("transforms", "a"),
        ("transforms.a.type", "com.example.Nope"),
    ]);
    assert!(unknown.contains("transforms.a.type"), "{unknown}");
    assert!(
        unknown.contains("com.example.Nope could not be found"),
        "{unknown}"
    );

    let missing_type = config_error(&[("transforms", "a")]);
    assert!(
        missing_type.contains("\"transforms.a.type\""),
        "{missing_type}"
    );

    let missing_key = config_error(&[
        ("transforms", "x"),
        ("transforms.x.type", "ExtractField$Key"),
    ]);
    assert!(
        missing_key.contains("\"transforms.x.field\""),
        "{missing_key}"
    );

    let bad_value = config_error(&[
        ("transforms", "c"),
        ("transforms.c.type", "Cast$Value"),
        ("transforms.c.spec", "a:uuid"),
    ]);
    assert!(bad_value.contains("transforms.c.spec"), "{bad_value}");

    let undefined = config_error(&[
        ("transforms", "f"),
        ("transforms.f.type", "Filter"),
        ("transforms.f.predicate", "p"),
    ]);
    assert!(undefined.contains("transforms.f.predicate"), "{undefined}");

    let negate_alone = config_error(&[
        ("transforms", "f"),
        ("transforms.f.type", "Filter"),
        ("transforms.f.negate", "true"),
    ]);
    assert!(
        negate_alone.contains("transforms.f.negate"),
        "{negate_alone}"
    );

    let duplicate = config_error(&[("transforms", "f,f"), ("transforms.f.type", "Filter")]);
    assert!(duplicate.contains("Duplicate alias"), "{duplicate}");

    let predicate_as_transform = config_error(&[
        ("transforms", "f"),
        ("transforms.f.type", "RecordIsTombstone"),
    ]);
    assert!(
        predicate_as_transform.contains("does not implement Transformation"),
        "{predicate_as_transform}"
    );

    let cross_key = config_error(&[
        ("transforms", "h"),
        ("transforms.h.type", "HeaderFrom$Value"),
        ("transforms.h.fields", "a,b"),
        ("transforms.h.headers", "a"),
        ("transforms.h.operation", "copy"),
    ]);
    assert!(cross_key.contains("transforms.h"), "{cross_key}");
    assert!(cross_key.contains("same number of elements"), "{cross_key}");

    let bad_predicate = config_error(&[
        ("predicates", "p"),
        ("predicates.p.type", "TopicNameMatches"),
    ]);
    assert!(
        bad_predicate.contains("\"predicates.p.pattern\""),
        "{bad_predicate}"
    );
}

#[test]
fn validate_reports_every_error_of_every_key() {
    let values = validate(&config(&[
        ("transforms", "a,b,c"),
        ("transforms.a.type", "com.example.Nope"),
        ("transforms.b.type", "MaskField$Value"),
        ("transforms.b.predicate", "missing"),
        ("transforms.c.type", "TimestampConverter$Value"),
        ("transforms.c.target.type", "Week"),
        ("transforms.c.unix.precision", "minutes"),
        ("predicates", "p"),
        ("predicates.p.type", "HasHeaderKey"),
    ]));
    let errors = |name: &str| -> Vec<String> {
        values
            .iter()
            .find(|v| v.name == name)
            .unwrap_or_else(|| panic!("no ConfigValue for {name}"))
            .errors
            .clone()
    };
    assert_eq!(errors("transforms.a.type").len(), 1);
    assert_eq!(errors("transforms.b.fields").len(), 1);
    assert_eq!(errors("transforms.b.predicate").len(), 1);
    assert_eq!(errors("transforms.c.target.type").len(), 1);
    assert_eq!(errors("transforms.c.unix.precision").len(), 1);
    assert!(errors("transforms.c.format").is_empty());
    assert_eq!(errors("predicates.p.name").len(), 1);
    assert!(errors("transforms").is_empty());
    assert!(errors("transforms.a.negate").is_empty());
    let total: usize = values.iter().map(|v| v.errors.len()).sum();
    assert_eq!(total, 6, "{values:#?}");
    assert!(values
        .iter()
        .all(|v| v.name.starts_with("transforms") || v.name.starts_with("predicates")));

    let clean = validate(&config(&[
        ("transforms", "r"),
        ("transforms.r.type", "TimestampRouter"),
    ]));
    assert!(clean.iter().all(|v| v.errors.is_empty()), "{clean:#?}");
    let format = clean
        .iter()
        .find(|v| v.name == "transforms.r.timestamp.format")
        .unwrap();
    assert_eq!(
        format.value.as_deref(),
        Some("yyyyMMdd"),
        "defaults are reported"
    );
}

#[test]
fn plugin_classes_lists_transforms_and_predicates() {
    let classes = plugin_classes();
    let transformations = classes
        .iter()
        .filter(|(_, t)| *t == "transformation")
        .count();
    let predicates = classes.iter().filter(|(_, t)| *t == "predicate").count();
    assert_eq!(transformations, 26);
    assert_eq!(predicates, 3);
    assert!(classes.contains(&(
        "org.apache.kafka.connect.transforms.InsertField$Value",
        "transformation"
    )));
    assert!(classes.contains(&(
        "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone",
        "predicate"
    )));
    for (class, _) in &classes {
        let kind_key = if class.contains(".predicates.") {
            "predicates"
        } else {
            "transforms"
        };
        let alias_key = format!("{kind_key}.x.type");
        let values = validate(&config(&[(kind_key, "x"), (alias_key.as_str(), class)]));
        let type_value = values.iter().find(|v| v.name == alias_key).unwrap();
        assert!(
            !type_value
                .errors
                .iter()
                .any(|e| e.contains("could not be found")),
            "{class} is not found by its own name"
        );
    }
}

#[test]
fn kafkas_documented_examples_work_unchanged() {
    // From Kafka's Connect docs ("Transformations" and "Predicates").
    let c = chain(&[
        ("transforms", "MakeMap, InsertSource"),
        (
            "transforms.MakeMap.type",
            "org.apache.kafka.connect.transforms.HoistField$Value",
        ),
        ("transforms.MakeMap.field", "line"),
        (
            "transforms.InsertSource.type",
            "org.apache.kafka.connect.transforms.InsertField$Value",
        ),
        ("transforms.InsertSource.static.field", "data_source"),
        ("transforms.InsertSource.static.value", "test-file-source"),
    ]);
    let out = c
        .apply(record("connect-test", Value::from("foo")))
        .unwrap()
        .unwrap();
    assert_eq!(
        out.value,
        map(vec![
            ("line", Value::from("foo")),
            ("data_source", Value::from("test-file-source"))
        ])
    );

    let c = chain(&[
        ("transforms", "Filter"),
        (
            "transforms.Filter.type",
            "org.apache.kafka.connect.transforms.Filter",
        ),
        ("transforms.Filter.predicate", "IsFoo"),
        ("predicates", "IsFoo"),
        (
            "predicates.IsFoo.type",
            "org.apache.kafka.connect.transforms.predicates.TopicNameMatches",
        ),
        ("predicates.IsFoo.pattern", "foo"),
    ]);
    assert_eq!(c.apply(record("foo", Value::from("x"))).unwrap(), None);
    assert!(c
        .apply(record("foobar", Value::from("x")))
        .unwrap()
        .is_some());
}
