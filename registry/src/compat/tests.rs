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

mod properties {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{json, Value};

    /// The shape of a generated Avro schema; names are given on rendering.
    #[derive(Debug, Clone)]
    enum Shape {
        Primitive(&'static str),
        Array(Box<Shape>),
        Map(Box<Shape>),
        Record(Vec<Shape>),
        NullableUnion(&'static str),
    }

    const PRIMITIVES: [&str; 7] = [
        "int", "long", "float", "double", "string", "bytes", "boolean",
    ];

    fn shape() -> impl Strategy<Value = Shape> {
        let leaf = prop_oneof![
            proptest::sample::select(&PRIMITIVES[..]).prop_map(Shape::Primitive),
            proptest::sample::select(&PRIMITIVES[..]).prop_map(Shape::NullableUnion),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                inner.clone().prop_map(|s| Shape::Array(Box::new(s))),
                inner.clone().prop_map(|s| Shape::Map(Box::new(s))),
                proptest::collection::vec(inner, 1..4).prop_map(Shape::Record),
            ]
        })
    }

    fn render(shape: &Shape, names: &mut usize) -> Value {
        match shape {
            Shape::Primitive(p) => json!(p),
            Shape::NullableUnion(p) => json!(["null", p]),
            Shape::Array(items) => json!({"type": "array", "items": render(items, names)}),
            Shape::Map(values) => json!({"type": "map", "values": render(values, names)}),
            Shape::Record(fields) => {
                *names += 1;
                let name = format!("r{names}");
                let fields: Vec<Value> = fields
                    .iter()
                    .enumerate()
                    .map(|(i, f)| json!({"name": format!("f{i}"), "type": render(f, names)}))
                    .collect();
                json!({"type": "record", "name": name, "fields": fields})
            }
        }
    }

    /// A top-level record with the generated fields.
    fn record(fields: &[Shape]) -> Value {
        render(&Shape::Record(fields.to_vec()), &mut 0)
    }

    fn parsed(value: &Value) -> ParsedSchema {
        avro(&value.to_string())
    }

    proptest! {
        #[test]
        fn every_schema_is_fully_compatible_with_itself(fields in proptest::collection::vec(shape(), 1..4)) {
            let schema = parsed(&record(&fields));
            prop_assert!(check(Level::FullTransitive, &schema, &[(1, schema.clone())]).is_empty());
        }

        #[test]
        fn a_field_added_with_a_default_is_fully_compatible(fields in proptest::collection::vec(shape(), 1..4)) {
            let old = record(&fields);
            let mut new = old.clone();
            new["fields"].as_array_mut().unwrap().push(json!({"name": "added", "type": "int", "default": 0}));
            prop_assert!(check(Level::Full, &parsed(&new), &[(1, parsed(&old))]).is_empty());
        }

        #[test]
        fn a_field_removed_without_default_breaks_forward_only(fields in proptest::collection::vec(shape(), 2..5)) {
            let old = record(&fields);
            let mut new = old.clone();
            let removed = new["fields"].as_array_mut().unwrap().remove(0);
            let (old, new) = (parsed(&old), parsed(&new));
            prop_assert!(check(Level::Backward, &new, &[(1, old.clone())]).is_empty());
            let forward = check(Level::Forward, &new, &[(1, old)]);
            prop_assert_eq!(forward.len(), 1);
            let expected = format!("r1.{}: field removed", removed["name"].as_str().unwrap());
            prop_assert!(forward[0].starts_with(&expected), "{}", forward[0]);
        }
    }
}
