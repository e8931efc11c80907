//! A structural subset of JSON Schema compatibility: can data valid under
//! `writer` be accepted by `reader`? Checked, recursively through
//! `properties` and `items`:
//! - a `type` the reader does not accept (`integer` widens to `number`);
//! - a property the reader requires that the writer does not require;
//! - a writer property a closed reader (`additionalProperties: false`) lacks.
//!
//! Keywords beyond these (`enum`, `pattern`, numeric bounds, `oneOf`,
//! `$ref`, ...) are not compared: such changes are accepted.

use serde_json::Value;

use super::avro::{Direction, Incompatibility};

/// Every reason `reader` may reject data valid under `writer`.
pub fn incompatibilities(
    reader: &Value,
    writer: &Value,
    direction: Direction,
) -> Vec<Incompatibility> {
    let mut found = Vec::new();
    check("#", reader, writer, direction, &mut found);
    found
}

fn types(schema: &Value) -> Option<Vec<&str>> {
    match schema.get("type")? {
        Value::String(t) => Some(vec![t.as_str()]),
        Value::Array(ts) => Some(ts.iter().filter_map(Value::as_str).collect()),
        _ => None,
    }
}

fn required(schema: &Value) -> Vec<&str> {
    schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn who(direction: Direction) -> &'static str {
    match direction {
        Direction::NewReadsOld => "the new schema rejects data valid under the old one",
        Direction::OldReadsNew => "the old schema rejects data valid under the new one",
    }
}

fn check(
    path: &str,
    reader: &Value,
    writer: &Value,
    direction: Direction,
    found: &mut Vec<Incompatibility>,
) {
    if let (Some(rt), Some(wt)) = (types(reader), types(writer)) {
        for t in &wt {
            let accepted = rt.contains(t) || (*t == "integer" && rt.contains(&"number"));
            if !accepted {
                found.push(Incompatibility {
                    path: path.to_owned(),
                    rule: format!("type '{t}' is not accepted by {rt:?}; {}", who(direction)),
                    fix:
                        "keep the type (integer may widen to number), or add a new property instead"
                            .into(),
                });
            }
        }
    }
    let writer_required = required(writer);
    for name in required(reader) {
        if !writer_required.contains(&name) {
            found.push(Incompatibility {
                path: format!("{path}/properties/{name}"),
                rule: format!("property '{name}' became required; {}", who(direction)),
                fix: "add it as an optional property".into(),
            });
        }
    }
    let reader_props = reader.get("properties").and_then(Value::as_object);
    let writer_props = writer.get("properties").and_then(Value::as_object);
    if let Some(wp) = writer_props {
        let closed = reader.get("additionalProperties") == Some(&Value::Bool(false));
        for (name, ws) in wp {
            match reader_props.and_then(|rp| rp.get(name)) {
                Some(rs) => check(
                    &format!("{path}/properties/{name}"),
                    rs,
                    ws,
                    direction,
                    found,
                ),
                None if closed => found.push(Incompatibility {
                    path: format!("{path}/properties/{name}"),
                    rule: format!(
                        "property '{name}' is not allowed by a closed content model; {}",
                        who(direction)
                    ),
                    fix: "keep the property, or allow additionalProperties".into(),
                }),
                None => {}
            }
        }
    }
    if let (Some(ri), Some(wi)) = (reader.get("items"), writer.get("items")) {
        check(&format!("{path}/items"), ri, wi, direction, found);
    }
}
