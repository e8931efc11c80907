//! Every endpoint and error code over real HTTP, against a registry on an
//! embedded broker.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{broker, registry, sale, Client};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subjects_versions_and_ids() {
    let broker = broker().await;
    let registry = registry(&broker.bootstrap_servers()).await;
    let c = Client::new(registry.url());

    assert_eq!(c.get("/subjects").await.body, json!([]));
    assert_eq!(c.get("/schemas/types").await.body, json!(["AVRO", "JSON"]));
    assert_eq!(c.get("/contexts").await.body, json!(["."]));

    let v1 = sale(r#"{"name":"item","type":"string"}"#);
    let id1 = c.register("sales-value", &v1).await;
    // The same schema again: same id, no new version.
    assert_eq!(c.register("sales-value", &v1).await, id1);
    // The same schema in another subject: the same id.
    assert_eq!(c.register("other-value", &v1).await, id1);
    let v2 = sale(r#"{"name":"item","type":"string"},{"name":"qty","type":"int","default":1}"#);
    let id2 = c.register("sales-value", &v2).await;
    assert_ne!(id1, id2);

    assert_eq!(
        c.get("/subjects").await.body,
        json!(["other-value", "sales-value"])
    );
    assert_eq!(
        c.get("/subjects?subjectPrefix=sales").await.body,
        json!(["sales-value"])
    );
    assert_eq!(
        c.get("/subjects/sales-value/versions").await.body,
        json!([1, 2])
    );

    let latest = c.get("/subjects/sales-value/versions/latest").await;
    assert_eq!(latest.status, 200);
    assert_eq!(latest.body["subject"], "sales-value");
    assert_eq!(latest.body["version"], 2);
    assert_eq!(latest.body["id"], id2);
    assert!(latest.body.get("schemaType").is_none(), "AVRO is left out");
    let text: serde_json::Value =
        serde_json::from_str(latest.body["schema"].as_str().unwrap()).unwrap();
    assert_eq!(text["fields"][1]["name"], "qty");
    assert_eq!(
        c.get("/subjects/sales-value/versions/-1").await.body["version"],
        2
    );
    let raw = c.get("/subjects/sales-value/versions/1/schema").await;
    assert_eq!(raw.body["name"], "sale");

    let by_id = c.get(&format!("/schemas/ids/{id1}")).await;
    assert_eq!(by_id.status, 200);
    assert_eq!(
        by_id.body["schema"].as_str().unwrap(),
        serde_json::from_str::<serde_json::Value>(&v1)
            .unwrap()
            .to_string()
    );
    assert_eq!(
        c.get(&format!("/schemas/ids/{id1}/schema")).await.body["name"],
        "sale"
    );
    assert_eq!(
        c.get(&format!("/schemas/ids/{id1}/versions")).await.body,
        json!([{"subject":"other-value","version":1},{"subject":"sales-value","version":1}])
    );
    assert_eq!(
        c.get(&format!("/schemas/ids/{id1}/subjects")).await.body,
        json!(["other-value", "sales-value"])
    );

    // Lookup by schema.
    let found = c.post("/subjects/sales-value", json!({"schema": v1})).await;
    assert_eq!(
        (found.status, found.body["version"].clone()),
        (200, json!(1))
    );
    let missing = c
        .post(
            "/subjects/sales-value",
            json!({"schema": sale(r#"{"name":"x","type":"long"}"#)}),
        )
        .await;
    assert_eq!((missing.status, missing.code()), (404, 40403));
    let spaced = c
        .post(
            "/subjects/sales-value",
            json!({"schema": v1.replace(",", " , ")}),
        )
        .await;
    assert_eq!(
        spaced.status, 200,
        "whitespace does not make a new schema: {}",
        spaced.body
    );

    // Error codes.
    let cases = [
        ("/subjects/nope/versions", 40401),
        ("/subjects/nope/versions/1", 40401),
        ("/subjects/sales-value/versions/9", 40402),
        ("/subjects/sales-value/versions/0", 42202),
        ("/subjects/sales-value/versions/abc", 42202),
        ("/schemas/ids/999", 40403),
        ("/config/sales-value", 40408),
        ("/mode/sales-value", 40409),
    ];
    for (path, code) in cases {
        let answer = c.get(path).await;
        assert_eq!(answer.code(), code, "{path}: {}", answer.body);
        assert_eq!(u64::from(answer.status), code / 100, "{path}");
        assert!(answer.body["message"].is_string(), "{path}");
    }
    assert_eq!(c.get("/no/such/path").await.status, 404);
    registry.shutdown().await;
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_changes_nothing() {
    let broker = broker().await;
    let registry = registry(&broker.bootstrap_servers()).await;
    let c = Client::new(registry.url());
    let ok = sale(r#"{"name":"item","type":"string"}"#);
    c.register("s", &ok).await;

    let invalid = [
        json!({"schema": "{not json"}),
        json!({"schema": r#"{"type":"record","name":"r"}"#}),
        json!({"schema": r#"{"type":"nosuchtype"}"#}),
        json!({"schema": "syntax = \"proto3\";", "schemaType": "PROTOBUF"}),
        json!({"schema": "{}", "schemaType": "XML"}),
        json!({"schema": r#"{"type":"record","name":"r","fields":[{"name":"a","type":"shop.Missing"}]}"#,
               "references": [{"name":"shop.Missing","subject":"missing-subject","version":1}]}),
    ];
    for body in invalid {
        let answer = c.post("/subjects/s/versions", body.clone()).await;
        assert_eq!(
            (answer.status, answer.code()),
            (422, 42201),
            "{body}: {}",
            answer.body
        );
    }
    let protobuf = c
        .post(
            "/subjects/s/versions",
            json!({"schema": "x", "schemaType": "PROTOBUF"}),
        )
        .await;
    assert!(protobuf.body["message"]
        .as_str()
        .unwrap()
        .contains("not supported"));
    let not_json = c.send("POST", "/subjects/s/versions", None).await;
    assert_eq!(not_json.code(), 400, "{}", not_json.body);

    let huge = "x".repeat(2 * 1024 * 1024);
    let answer = c
        .post("/subjects/s/versions", json!({"schema": huge}))
        .await;
    assert_eq!(
        (answer.status, answer.code()),
        (422, 42201),
        "{}",
        answer.body
    );
    assert!(answer.body["message"].as_str().unwrap().contains("over"));

    let level = c.put("/config", json!({"compatibility": "SIDEWAYS"})).await;
    assert_eq!((level.status, level.code()), (422, 42203));
    let mode = c.put("/mode", json!({"mode": "WRITEONLY"})).await;
    assert_eq!((mode.status, mode.code()), (422, 42204));

    assert_eq!(c.get("/subjects").await.body, json!(["s"]));
    assert_eq!(c.get("/subjects/s/versions").await.body, json!([1]));
    assert_eq!(
        c.get("/config").await.body,
        json!({"compatibilityLevel": "BACKWARD"})
    );
    assert_eq!(c.get("/mode").await.body, json!({"mode": "READWRITE"}));
    registry.shutdown().await;
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soft_and_permanent_deletes() {
    let broker = broker().await;
    let registry = registry(&broker.bootstrap_servers()).await;
    let c = Client::new(registry.url());
    let v1 = sale(r#"{"name":"a","type":"string"}"#);
    let v2 = sale(r#"{"name":"a","type":"string"},{"name":"b","type":"int","default":0}"#);
    let id1 = c.register("d", &v1).await;
    c.register("d", &v2).await;

    // A version: soft, then permanent (which needs the soft delete first).
    let hard_first = c.delete("/subjects/d/versions/1?permanent=true").await;
    assert_eq!(hard_first.code(), 40407, "{}", hard_first.body);
    assert_eq!(c.delete("/subjects/d/versions/1").await.body, json!(1));
    assert_eq!(c.get("/subjects/d/versions").await.body, json!([2]));
    assert_eq!(
        c.get("/subjects/d/versions?deleted=true").await.body,
        json!([1, 2])
    );
    assert_eq!(c.get("/subjects/d/versions/1").await.code(), 40402);
    assert_eq!(c.delete("/subjects/d/versions/1").await.code(), 40406);
    assert_eq!(
        c.get("/subjects/d/versions/1?deleted=true").await.body["id"],
        id1
    );
    assert_eq!(
        c.get(&format!("/schemas/ids/{id1}")).await.status,
        200,
        "a soft-deleted schema keeps its id"
    );
    assert_eq!(
        c.delete("/subjects/d/versions/1?permanent=true").await.body,
        json!(1)
    );
    assert_eq!(
        c.get("/subjects/d/versions?deleted=true").await.body,
        json!([2])
    );
    assert_eq!(c.get(&format!("/schemas/ids/{id1}")).await.code(), 40403);

    // The subject.
    let hard_first = c.delete("/subjects/d?permanent=true").await;
    assert_eq!(hard_first.code(), 40405, "{}", hard_first.body);
    assert_eq!(c.delete("/subjects/d").await.body, json!([2]));
    assert_eq!(c.get("/subjects").await.body, json!([]));
    assert_eq!(c.get("/subjects?deleted=true").await.body, json!(["d"]));
    assert_eq!(c.get("/subjects?deletedOnly=true").await.body, json!(["d"]));
    assert_eq!(c.delete("/subjects/d").await.code(), 40404);
    assert_eq!(
        c.delete("/subjects/d?permanent=true").await.body,
        json!([2])
    );
    assert_eq!(c.get("/subjects?deleted=true").await.body, json!([]));
    assert_eq!(c.delete("/subjects/d").await.code(), 40401);

    // Registering after a soft delete continues the version numbers.
    c.register("e", &v1).await;
    c.delete("/subjects/e").await;
    c.register("e", &v1).await;
    assert_eq!(c.get("/subjects/e/versions").await.body, json!([2]));
    registry.shutdown().await;
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn references_and_referencedby() {
    let broker = broker().await;
    let registry = registry(&broker.bootstrap_servers()).await;
    let c = Client::new(registry.url());
    let address = r#"{"type":"record","name":"Address","namespace":"shop","fields":[{"name":"city","type":"string"}]}"#;
    c.register("address", address).await;
    let order = r#"{"type":"record","name":"Order","namespace":"shop","fields":[{"name":"to","type":"shop.Address"}]}"#;
    let refs = json!([{"name":"shop.Address","subject":"address","version":1}]);
    let answer = c
        .post(
            "/subjects/order/versions",
            json!({"schema": order, "references": refs}),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let order_id = answer.body["id"].clone();
    let got = c.get("/subjects/order/versions/1").await;
    assert_eq!(got.body["references"], refs);
    assert_eq!(
        c.get(&format!("/schemas/ids/{order_id}")).await.body["references"],
        refs
    );
    assert_eq!(
        c.get("/subjects/address/versions/1/referencedby")
            .await
            .body,
        json!([order_id])
    );
    // A referenced schema cannot be deleted.
    assert_eq!(c.delete("/subjects/address/versions/1").await.code(), 42206);
    assert_eq!(c.delete("/subjects/address").await.code(), 42206);
    registry.shutdown().await;
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_mode_import_and_data_contracts() {
    let broker = broker().await;
    let registry = registry(&broker.bootstrap_servers()).await;
    let c = Client::new(registry.url());

    assert_eq!(
        c.get("/config").await.body,
        json!({"compatibilityLevel": "BACKWARD"})
    );
    assert_eq!(
        c.put("/config", json!({"compatibility": "full"}))
            .await
            .body,
        json!({"compatibility": "FULL"})
    );
    assert_eq!(
        c.get("/config").await.body,
        json!({"compatibilityLevel": "FULL"})
    );
    assert_eq!(
        c.put("/config/s", json!({"compatibility": "NONE"}))
            .await
            .body,
        json!({"compatibility": "NONE"})
    );
    assert_eq!(
        c.get("/config/s").await.body,
        json!({"compatibilityLevel": "NONE"})
    );
    assert_eq!(
        c.get("/config/t?defaultToGlobal=true").await.body,
        json!({"compatibilityLevel": "FULL"})
    );
    assert_eq!(
        c.delete("/config/s").await.body,
        json!({"compatibilityLevel": "NONE"})
    );
    assert_eq!(c.get("/config/s").await.code(), 40408);
    assert_eq!(
        c.delete("/config").await.body,
        json!({"compatibilityLevel": "FULL"})
    );
    assert_eq!(
        c.get("/config").await.body,
        json!({"compatibilityLevel": "BACKWARD"})
    );

    // READONLY refuses writes with 42205.
    assert_eq!(
        c.put("/mode/ro", json!({"mode": "READONLY"})).await.body,
        json!({"mode": "READONLY"})
    );
    assert_eq!(c.get("/mode/ro").await.body, json!({"mode": "READONLY"}));
    let refused = c
        .post("/subjects/ro/versions", json!({"schema": "\"string\""}))
        .await;
    assert_eq!(refused.code(), 42205, "{}", refused.body);
    assert_eq!(c.delete("/mode/ro").await.body, json!({"mode": "READONLY"}));
    assert_eq!(
        c.get("/mode/ro?defaultToGlobal=true").await.body,
        json!({"mode": "READWRITE"})
    );

    // An explicit id only in IMPORT mode.
    let explicit = json!({"schema": "\"string\"", "id": 100, "version": 5});
    assert_eq!(
        c.post("/subjects/imp/versions", explicit.clone())
            .await
            .code(),
        42205
    );
    assert_eq!(
        c.put("/mode", json!({"mode": "IMPORT"})).await.body,
        json!({"mode": "IMPORT"})
    );
    let imported = c.post("/subjects/imp/versions", explicit).await;
    assert_eq!(imported.body["id"], 100, "{}", imported.body);
    let got = c.get("/subjects/imp/versions/5").await;
    assert_eq!(
        (got.body["id"].clone(), got.body["version"].clone()),
        (json!(100), json!(5))
    );
    let clash = c
        .post(
            "/subjects/imp2/versions",
            json!({"schema": "\"long\"", "id": 100, "version": 1}),
        )
        .await;
    assert_eq!(clash.code(), 42205, "{}", clash.body);
    // With subjects present, IMPORT needs force.
    c.put("/mode", json!({"mode": "READWRITE"})).await;
    assert_eq!(
        c.put("/mode", json!({"mode": "IMPORT"})).await.code(),
        42205
    );
    assert_eq!(
        c.put("/mode?force=true", json!({"mode": "IMPORT"}))
            .await
            .status,
        200
    );
    c.put("/mode", json!({"mode": "READWRITE"})).await;
    // New ids continue after imported ones.
    assert_eq!(c.register("after", "\"int\"").await, 101);

    // Data-contract fields are stored and returned, not rejected.
    let metadata = json!({"properties": {"owner": "sales-team"}});
    let rule_set = json!({"domainRules": [{"name": "checkQty", "kind": "CONDITION", "type": "CEL", "mode": "WRITE", "expr": "message.qty > 0"}]});
    let answer = c
        .post(
            "/subjects/dc/versions",
            json!({"schema": "\"double\"", "metadata": metadata, "ruleSet": rule_set}),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let got = c.get("/subjects/dc/versions/latest").await;
    assert_eq!(got.body["metadata"], metadata);
    assert_eq!(got.body["ruleSet"], rule_set);

    // JSON Schema.
    let js = r#"{"type":"object","properties":{"n":{"type":"integer"}}}"#;
    let answer = c
        .post(
            "/subjects/js/versions",
            json!({"schema": js, "schemaType": "JSON"}),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(
        c.get("/subjects/js/versions/1").await.body["schemaType"],
        "JSON"
    );
    let narrowed = r#"{"type":"object","properties":{"n":{"type":"string"}}}"#;
    let refused = c
        .post(
            "/subjects/js/versions",
            json!({"schema": narrowed, "schemaType": "JSON"}),
        )
        .await;
    assert_eq!(refused.code(), 409, "{}", refused.body);
    registry.shutdown().await;
    broker.shutdown().await;
}
