//! What the connector takes out of a post (a JSON object): a field by its dotted path
//! (`user.id`), the post as a Connect value (schemaless, as the JsonConverter with
//! `schemas.enable=false` reads JSON, so it writes the post back as the same JSON), an id as
//! text for de-duplication and offsets, and an event time from the formats feeds use.

use serde_json::Value as Json;

use crate::data::Value;

/// The field at a dotted path (`user.id`); `None` when any step is missing. An empty path
/// names the value itself.
pub fn field<'a>(json: &'a Json, path: &str) -> Option<&'a Json> {
    if path.is_empty() {
        return Some(json);
    }
    path.split('.').try_fold(json, |at, step| match at {
        Json::Object(map) => map.get(step),
        Json::Array(items) => step.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    })
}

/// A JSON value in the Connect data model without a schema: integers as INT64, other
/// numbers as FLOAT64, objects as maps with string keys (sorted: serde_json's map is
/// ordered by key), arrays as arrays.
pub fn to_connect(json: Json) -> Value {
    match json {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Boolean(b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Int64(i),
            None => Value::Float64(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => Value::String(s),
        Json::Array(items) => Value::Array(items.into_iter().map(to_connect).collect()),
        Json::Object(map) => Value::Map(
            map.into_iter()
                .map(|(k, v)| (Value::String(k), to_connect(v)))
                .collect(),
        ),
    }
}

/// An id as text: a string as it is, a number in its JSON form; `None` for anything else.
pub fn id_text(json: &Json) -> Option<String> {
    match json {
        Json::String(s) if !s.is_empty() => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A record key from a field: strings and integers keep their type, other values become
/// their JSON text.
pub fn key_value(json: &Json) -> Value {
    match json {
        Json::Null => Value::Null,
        Json::String(s) => Value::String(s.clone()),
        Json::Number(n) if n.is_i64() => Value::Int64(n.as_i64().unwrap_or_default()),
        other => Value::String(other.to_string()),
    }
}

/// An event time in ms since the epoch from: epoch milliseconds (a number, or digits in a
/// string, as Twitter's `timestamp_ms`), RFC 3339 (`2026-12-01T09:00:00.250Z`, the v2 API's),
/// or Twitter's v1.1 `created_at` (`Tue Dec 01 09:00:00 +0000 2026`).
pub fn timestamp_ms(json: &Json) -> Option<i64> {
    match json {
        Json::Number(n) => n.as_i64(),
        Json::String(s) => {
            let s = s.trim();
            if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
                return s.parse().ok();
            }
            if let Ok(ts) = s.parse::<jiff::Timestamp>() {
                return Some(ts.as_millisecond());
            }
            jiff::fmt::strtime::parse("%a %b %d %H:%M:%S %z %Y", s)
                .and_then(|t| t.to_timestamp())
                .ok()
                .map(|ts| ts.as_millisecond())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dotted_paths_reach_nested_fields_and_array_items() {
        let post = json!({"id": 5, "user": {"id": 42, "screen_name": "ada"}, "tags": ["a", "b"]});
        assert_eq!(field(&post, "user.id"), Some(&json!(42)));
        assert_eq!(field(&post, "tags.1"), Some(&json!("b")));
        assert_eq!(field(&post, "user.missing"), None);
        assert_eq!(field(&post, ""), Some(&post));
        assert_eq!(id_text(&json!(5)).as_deref(), Some("5"));
        assert_eq!(id_text(&json!("x9")).as_deref(), Some("x9"));
        assert_eq!(id_text(&json!(null)), None);
        assert_eq!(key_value(&json!(42)), Value::Int64(42));
        assert_eq!(key_value(&json!("ada")), Value::String("ada".into()));
    }

    #[test]
    fn json_becomes_schemaless_connect_data() {
        let value = to_connect(json!({"b": 1, "a": [true, 1.5, null, "s"]}));
        assert_eq!(
            value,
            Value::Map(vec![
                (
                    Value::String("a".into()),
                    Value::Array(vec![
                        Value::Boolean(true),
                        Value::Float64(1.5),
                        Value::Null,
                        Value::String("s".into())
                    ])
                ),
                (Value::String("b".into()), Value::Int64(1)),
            ])
        );
    }

    #[test]
    fn timestamps_in_every_format_feeds_use() {
        let ms = 1_796_115_600_250;
        assert_eq!(timestamp_ms(&json!(ms)), Some(ms));
        assert_eq!(timestamp_ms(&json!(ms.to_string())), Some(ms));
        assert_eq!(timestamp_ms(&json!("2026-12-01T09:00:00.250Z")), Some(ms));
        assert_eq!(
            timestamp_ms(&json!("Tue Dec 01 09:00:00 +0000 2026")),
            Some(ms - 250)
        );
        assert_eq!(timestamp_ms(&json!("yesterday")), None);
        assert_eq!(timestamp_ms(&json!(true)), None);
    }
}
