//! The compatibility matrix: each schema change under BACKWARD, FORWARD and
//! FULL (and the transitive levels), with the expected answer beside each
//! case, asked over HTTP (`POST /compatibility/...?verbose=true`); 409 when
//! registering an incompatible schema.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{broker, registry, sale, Client};
use serde_json::json;

const Y: bool = true;
const N: bool = false;

/// (case, old fields, new fields, BACKWARD, FORWARD, FULL, the path (or `|`-separated paths)
/// every message names when incompatible)
const MATRIX: &[(&str, &str, &str, bool, bool, bool, &str)] = &[
    (
        "field added with default",
        r#"{"name":"item","type":"string"}"#,
        r#"{"name":"item","type":"string"},{"name":"qty","type":"int","default":1}"#,
        Y,
        Y,
        Y,
        "",
    ),
    (
        "field added without default",
        r#"{"name":"item","type":"string"}"#,
        r#"{"name":"item","type":"string"},{"name":"qty","type":"int"}"#,
        N,
        Y,
        N,
        "sale.qty",
    ),
    (
        "field removed, it had a default",
        r#"{"name":"item","type":"string"},{"name":"qty","type":"int","default":1}"#,
        r#"{"name":"item","type":"string"}"#,
        Y,
        Y,
        Y,
        "",
    ),
    (
        "field removed, it had no default",
        r#"{"name":"item","type":"string"},{"name":"qty","type":"int"}"#,
        r#"{"name":"item","type":"string"}"#,
        Y,
        N,
        N,
        "sale.qty",
    ),
    (
        "int -> long",
        r#"{"name":"qty","type":"int"}"#,
        r#"{"name":"qty","type":"long"}"#,
        Y,
        N,
        N,
        "sale.qty",
    ),
    (
        "long -> float",
        r#"{"name":"qty","type":"long"}"#,
        r#"{"name":"qty","type":"float"}"#,
        Y,
        N,
        N,
        "sale.qty",
    ),
    (
        "float -> double",
        r#"{"name":"qty","type":"float"}"#,
        r#"{"name":"qty","type":"double"}"#,
        Y,
        N,
        N,
        "sale.qty",
    ),
    (
        "int -> double",
        r#"{"name":"qty","type":"int"}"#,
        r#"{"name":"qty","type":"double"}"#,
        Y,
        N,
        N,
        "sale.qty",
    ),
    (
        "long -> int (narrowing)",
        r#"{"name":"qty","type":"long"}"#,
        r#"{"name":"qty","type":"int"}"#,
        N,
        Y,
        N,
        "sale.qty",
    ),
    (
        "int -> string",
        r#"{"name":"qty","type":"int"}"#,
        r#"{"name":"qty","type":"string"}"#,
        N,
        N,
        N,
        "sale.qty",
    ),
    (
        "string -> bytes",
        r#"{"name":"id","type":"string"}"#,
        r#"{"name":"id","type":"bytes"}"#,
        Y,
        Y,
        Y,
        "",
    ),
    (
        "bytes -> string",
        r#"{"name":"id","type":"bytes"}"#,
        r#"{"name":"id","type":"string"}"#,
        Y,
        Y,
        Y,
        "",
    ),
    (
        "union widened",
        r#"{"name":"note","type":["null","string"]}"#,
        r#"{"name":"note","type":["null","string","int"]}"#,
        Y,
        N,
        N,
        "sale.note",
    ),
    (
        "union narrowed",
        r#"{"name":"note","type":["null","string","int"]}"#,
        r#"{"name":"note","type":["null","string"]}"#,
        N,
        Y,
        N,
        "sale.note",
    ),
    (
        "plain type -> union containing it",
        r#"{"name":"note","type":"string"}"#,
        r#"{"name":"note","type":["null","string"]}"#,
        Y,
        N,
        N,
        "sale.note",
    ),
    (
        "enum symbol added, no default",
        r#"{"name":"shop","type":{"type":"enum","name":"Shop","symbols":["OSLO","BERGEN"]}}"#,
        r#"{"name":"shop","type":{"type":"enum","name":"Shop","symbols":["OSLO","BERGEN","TROMSO"]}}"#,
        Y,
        N,
        N,
        "sale.shop",
    ),
    (
        "enum symbol added, enums have a default",
        r#"{"name":"shop","type":{"type":"enum","name":"Shop","symbols":["OSLO","BERGEN"],"default":"OSLO"}}"#,
        r#"{"name":"shop","type":{"type":"enum","name":"Shop","symbols":["OSLO","BERGEN","TROMSO"],"default":"OSLO"}}"#,
        Y,
        Y,
        Y,
        "",
    ),
    (
        "enum symbol removed, no default",
        r#"{"name":"shop","type":{"type":"enum","name":"Shop","symbols":["OSLO","BERGEN"]}}"#,
        r#"{"name":"shop","type":{"type":"enum","name":"Shop","symbols":["OSLO"]}}"#,
        N,
        Y,
        N,
        "sale.shop",
    ),
    (
        "field renamed with an alias",
        r#"{"name":"qty","type":"int"}"#,
        r#"{"name":"quantity","type":"int","aliases":["qty"]}"#,
        Y,
        N,
        N,
        "sale.qty",
    ),
    (
        "field renamed, no alias or default",
        r#"{"name":"qty","type":"int"}"#,
        r#"{"name":"quantity","type":"int"}"#,
        N,
        N,
        N,
        "sale.quantity|sale.qty",
    ),
    (
        "array items promoted",
        r#"{"name":"qtys","type":{"type":"array","items":"int"}}"#,
        r#"{"name":"qtys","type":{"type":"array","items":"long"}}"#,
        Y,
        N,
        N,
        "sale.qtys[]",
    ),
    (
        "map values changed",
        r#"{"name":"tags","type":{"type":"map","values":"string"}}"#,
        r#"{"name":"tags","type":{"type":"map","values":"int"}}"#,
        N,
        N,
        N,
        "sale.tags{}",
    ),
];

async fn is_compatible(c: &Client, subject: &str, schema: &str) -> (bool, Vec<String>) {
    let answer = c
        .post(
            &format!("/compatibility/subjects/{subject}/versions/latest?verbose=true"),
            json!({"schema": schema}),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let messages = answer.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap().to_owned())
        .collect();
    (answer.body["is_compatible"].as_bool().unwrap(), messages)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matrix_under_backward_forward_full() {
    let broker = broker().await;
    let registry = registry(&broker.bootstrap_servers()).await;
    let c = Client::new(registry.url());
    let mut failures = Vec::new();
    for (i, (case, old, new, backward, forward, full, path)) in MATRIX.iter().enumerate() {
        let subject = format!("case-{i}");
        c.register(&subject, &sale(old)).await;
        for (level, expected) in [
            ("BACKWARD", backward),
            ("FORWARD", forward),
            ("FULL", full),
            ("NONE", &true),
        ] {
            c.put(
                &format!("/config/{subject}"),
                json!({"compatibility": level}),
            )
            .await;
            let (compatible, messages) = is_compatible(&c, &subject, &sale(new)).await;
            if compatible != *expected {
                failures.push(format!(
                    "{case} under {level}: expected {expected}, got {compatible} {messages:?}"
                ));
            }
            if !compatible {
                let named = messages.iter().all(|m| {
                    path.split('|').any(|p| m.starts_with(&format!("{p}: "))) && m.contains(level)
                });
                if !named || messages.is_empty() {
                    failures.push(format!(
                        "{case} under {level}: messages should name {path}: {messages:?}"
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    registry.shutdown().await;
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transitive_levels_and_409() {
    let broker = broker().await;
    let registry = registry(&broker.bootstrap_servers()).await;
    let c = Client::new(registry.url());

    // BACKWARD vs BACKWARD_TRANSITIVE: b's default exists only in v2.
    c.put("/config/bt", json!({"compatibility": "NONE"})).await;
    c.register("bt", &sale(r#"{"name":"a","type":"int"}"#))
        .await;
    c.register(
        "bt",
        &sale(r#"{"name":"a","type":"int"},{"name":"b","type":"int","default":0}"#),
    )
    .await;
    let new = sale(r#"{"name":"a","type":"int"},{"name":"b","type":"int"}"#);
    for (level, expected) in [
        ("BACKWARD", Y),
        ("BACKWARD_TRANSITIVE", N),
        ("FULL", Y),
        ("FULL_TRANSITIVE", N),
    ] {
        c.put("/config/bt", json!({"compatibility": level})).await;
        let answer = c
            .post(
                "/compatibility/subjects/bt/versions?verbose=true",
                json!({"schema": new}),
            )
            .await;
        assert_eq!(
            answer.body["is_compatible"], expected,
            "{level}: {}",
            answer.body
        );
    }

    // FORWARD vs FORWARD_TRANSITIVE: v1 needs b (no default), v2 defaults it.
    c.put("/config/ft", json!({"compatibility": "NONE"})).await;
    c.register(
        "ft",
        &sale(r#"{"name":"a","type":"int"},{"name":"b","type":"int"}"#),
    )
    .await;
    c.register(
        "ft",
        &sale(r#"{"name":"a","type":"int"},{"name":"b","type":"int","default":0}"#),
    )
    .await;
    let new = sale(r#"{"name":"a","type":"int"}"#);
    for (level, expected) in [("FORWARD", Y), ("FORWARD_TRANSITIVE", N)] {
        c.put("/config/ft", json!({"compatibility": level})).await;
        let answer = c
            .post(
                "/compatibility/subjects/ft/versions",
                json!({"schema": new}),
            )
            .await;
        assert_eq!(
            answer.body["is_compatible"], expected,
            "{level}: {}",
            answer.body
        );
        assert!(
            answer.body.get("messages").is_none(),
            "messages only with verbose"
        );
    }
    // Registering under FORWARD_TRANSITIVE: 409 naming the path and the fix; nothing stored.
    let refused = c
        .post("/subjects/ft/versions", json!({"schema": new}))
        .await;
    assert_eq!(
        (refused.status, refused.code()),
        (409, 409),
        "{}",
        refused.body
    );
    let message = refused.body["message"].as_str().unwrap();
    assert!(message.contains("sale.b: field removed"), "{message}");
    assert!(
        message.contains("version 1, FORWARD_TRANSITIVE"),
        "{message}"
    );
    assert_eq!(c.get("/subjects/ft/versions").await.body, json!([1, 2]));

    // The issue's example message, under the default level.
    c.register("sale-value", &sale(r#"{"name":"quantity","type":"int"}"#))
        .await;
    let refused = c
        .post(
            "/subjects/sale-value/versions",
            json!({"schema": sale(r#"{"name":"quantity","type":"string"}"#)}),
        )
        .await;
    assert_eq!(refused.code(), 409);
    assert!(
        refused.body["message"].as_str().unwrap().contains(
            "sale.quantity: type changed int -> string; a reader on the new schema cannot read data written with the old one"
        ),
        "{}",
        refused.body
    );
    // A subject with no versions: anything is compatible with "latest"; a given version is 40401.
    assert_eq!(
        c.post(
            "/compatibility/subjects/none/versions/latest",
            json!({"schema": "\"int\""})
        )
        .await
        .body["is_compatible"],
        true
    );
    assert_eq!(
        c.post(
            "/compatibility/subjects/none/versions/1",
            json!({"schema": "\"int\""})
        )
        .await
        .code(),
        40401
    );
    registry.shutdown().await;
    broker.shutdown().await;
}
