use super::*;
use crate::schema::parse;
use crate::store::state::SchemaType;

fn avro(text: &str) -> ParsedSchema {
    parse(SchemaType::Avro, text, &[], false).unwrap().parsed
}

fn record(fields: &str) -> String {
    format!(r#"{{"type":"record","name":"sale","fields":[{fields}]}}"#)
}

#[test]
fn type_change_names_path_rule_and_fix() {
    let old = avro(&record(r#"{"name":"quantity","type":"int"}"#));
    let new = avro(&record(r#"{"name":"quantity","type":"string"}"#));
    let messages = check(Level::Backward, &new, &[(1, old)]);
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(
        messages[0].starts_with(
            "sale.quantity: type changed int -> string; a reader on the new schema cannot read"
        ),
        "{}",
        messages[0]
    );
    assert!(messages[0].contains("add a new field with a default instead"));
    assert!(messages[0].contains("version 1, BACKWARD"));
}

#[test]
fn transitive_checks_every_version() {
    let v1 = avro(&record(r#"{"name":"a","type":"int"}"#));
    let v2 = avro(&record(
        r#"{"name":"a","type":"int"},{"name":"b","type":"int","default":0}"#,
    ));
    // Drops the default of b: fine against v2 (which has b), not against v1.
    let new = avro(&record(
        r#"{"name":"a","type":"int"},{"name":"b","type":"int"}"#,
    ));
    let existing = [(1, v1), (2, v2)];
    assert!(check(Level::Backward, &new, &existing).is_empty());
    let transitive = check(Level::BackwardTransitive, &new, &existing);
    assert_eq!(transitive.len(), 1, "{transitive:?}");
    assert!(transitive[0].starts_with("sale.b: field added without a default"));
}

#[test]
fn recursive_records_terminate() {
    let list =
        r#"{"type":"record","name":"node","fields":[{"name":"next","type":["null","node"]}]}"#;
    assert!(check(Level::Full, &avro(list), &[(1, avro(list))]).is_empty());
}

#[test]
fn json_schema_subset() {
    let json = |t: &str| parse(SchemaType::Json, t, &[], false).unwrap().parsed;
    let old = json(r#"{"type":"object","properties":{"n":{"type":"integer"}}}"#);
    let widened = json(r#"{"type":"object","properties":{"n":{"type":"number"}}}"#);
    let required =
        json(r#"{"type":"object","properties":{"n":{"type":"integer"}},"required":["n"]}"#);
    assert!(check(Level::Backward, &widened, &[(1, old.clone())]).is_empty());
    assert_eq!(
        check(Level::Forward, &widened, &[(1, old.clone())]).len(),
        1
    );
    assert_eq!(check(Level::Backward, &required, &[(1, old)]).len(), 1);
}
