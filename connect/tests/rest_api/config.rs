//! Connector configs (create, replace, KIP-477 patch, KIP-980 initial states), plugins and
//! Kafka's validation answer.

use reqwest::header::LOCATION;
use reqwest::{Method, StatusCode};
use serde_json::json;

use super::*;

#[tokio::test]
async fn config_is_read_replaced_and_patched() {
    let connect = Connect::start().await;
    let (input, first, second) = (
        connect.path("in.txt"),
        connect.path("first.txt"),
        connect.path("second.txt"),
    );
    append(&input, &["a"]);
    connect.create("feed", source_config(&input, "cfg")).await;

    // PUT on a new name creates it: 201 and a Location.
    let created = connect
        .call(
            Method::PUT,
            "/connectors/out/config",
            Some(sink_config(&first, "cfg")),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(
        created.headers[LOCATION],
        format!("{}/connectors/out", connect.base).as_str()
    );
    assert_eq!(created.body["config"]["name"], "out");
    wait_lines(&first, &["a"]).await;

    let config = connect
        .call(Method::GET, "/connectors/out/config", None)
        .await;
    assert_eq!(config.status, StatusCode::OK);
    assert_eq!(config.body["connector.class"], SINK_CLASS);
    assert_eq!(config.body["name"], "out");

    // PUT on an existing one replaces it: 200, no Location, and the tasks follow.
    let mut replaced = sink_config(&second, "cfg");
    replaced["name"] = json!("out");
    replaced["consumer.override.client.id"] = json!("kept-then-removed");
    let updated = connect
        .call(Method::PUT, "/connectors/out/config", Some(replaced))
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.body);
    assert!(updated.headers.get(LOCATION).is_none());
    assert_eq!(updated.body["config"]["file"], second.display().to_string());
    append(&input, &["b"]);
    wait_lines(&first, &["a"]).await;
    wait_for("the replaced sink to write b", || async {
        let text = std::fs::read_to_string(&second).unwrap_or_default();
        text.lines().any(|l| l == "b").then_some(())
    })
    .await;

    // A name in the body must be the URL's.
    let mut mismatched = sink_config(&second, "cfg");
    mismatched["name"] = json!("other");
    connect
        .call(Method::PUT, "/connectors/out/config", Some(mismatched))
        .await
        .assert_error(
            StatusCode::BAD_REQUEST,
            "Connector name configuration (other) doesn't match connector name in the URL (out)",
        );

    // PATCH (KIP-477): merged, nulls remove, numbers are strings; the answer is the result.
    let patched = connect
        .call(
            Method::PATCH,
            "/connectors/out/config",
            Some(json!({"consumer.override.client.id": null, "tasks.max": 2})),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    assert_eq!(patched.body["config"]["tasks.max"], "2");
    assert!(patched.body["config"]
        .get("consumer.override.client.id")
        .is_none());
    assert_eq!(patched.body["config"]["file"], second.display().to_string());
    let config = connect
        .call(Method::GET, "/connectors/out/config", None)
        .await;
    assert_eq!(config.body, patched.body["config"]);
    connect
        .call(
            Method::PATCH,
            "/connectors/nothing/config",
            Some(json!({"a": "b"})),
        )
        .await
        .assert_error(StatusCode::NOT_FOUND, "Connector nothing not found");
    // A patch that makes the config invalid changes nothing.
    connect
        .call(
            Method::PATCH,
            "/connectors/out/config",
            Some(json!({"tasks.max": "zero"})),
        )
        .await
        .assert_error(StatusCode::BAD_REQUEST, "tasks.max");
    let config = connect
        .call(Method::GET, "/connectors/out/config", None)
        .await;
    assert_eq!(config.body["tasks.max"], "2");

    // POST again with the same name: 409.
    connect
        .call(
            Method::POST,
            "/connectors",
            Some(json!({"name": "out", "config": sink_config(&first, "cfg")})),
        )
        .await
        .assert_error(StatusCode::CONFLICT, "Connector out already exists");
    connect.stop().await;
}

#[tokio::test]
async fn create_refuses_bad_requests_and_takes_an_initial_state() {
    let connect = Connect::start().await;
    let input = connect.path("in.txt");
    append(&input, &["x"]);
    let mut named = source_config(&input, "init");
    named["name"] = json!("b");
    connect
        .call(
            Method::POST,
            "/connectors",
            Some(json!({"name": "a", "config": named})),
        )
        .await
        .assert_error(
            StatusCode::BAD_REQUEST,
            "Connector name configuration (b) doesn't match connector name in the URL (a)",
        );
    connect
        .call(
            Method::POST,
            "/connectors",
            Some(json!({"config": source_config(&input, "init")})),
        )
        .await
        .assert_error(StatusCode::BAD_REQUEST, "configuration name");
    connect
        .call(Method::POST, "/connectors", Some(json!({"name": "a"})))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "config");
    connect
        .call(
            Method::POST,
            "/connectors",
            Some(json!({"name": "a", "config": {"connector.class": "NoSuchConnector"}})),
        )
        .await
        .assert_error(StatusCode::BAD_REQUEST, "NoSuchConnector");
    assert_eq!(
        connect.call(Method::GET, "/connectors", None).await.body,
        json!([])
    );

    // KIP-980: created paused or stopped.
    let reply = connect
        .call(
            Method::POST,
            "/connectors",
            Some(
                json!({"name": "paused", "config": source_config(&input, "init"),
                        "initial_state": "PAUSED"}),
            ),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    connect.wait_state("paused", "PAUSED", 1).await;
    let reply = connect
        .call(
            Method::POST,
            "/connectors",
            Some(
                json!({"name": "stopped", "config": source_config(&input, "init"),
                        "initial_state": "STOPPED"}),
            ),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    assert_eq!(reply.body["tasks"], json!([]));
    connect.wait_state("stopped", "STOPPED", 0).await;
    connect
        .call(
            Method::POST,
            "/connectors",
            Some(
                json!({"name": "odd", "config": source_config(&input, "init"),
                        "initial_state": "SLEEPING"}),
            ),
        )
        .await
        .assert_error(StatusCode::BAD_REQUEST, "initial_state");
    connect.stop().await;
}

#[tokio::test]
async fn plugins_and_validation_list_every_error() {
    let connect = Connect::start().await;
    let plugins = connect.call(Method::GET, "/connector-plugins", None).await;
    assert_eq!(plugins.status, StatusCode::OK);
    let classes: Vec<&str> = plugins
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["class"].as_str().unwrap())
        .collect();
    assert!(classes.contains(&SOURCE_CLASS), "{classes:?}");
    assert!(classes.contains(&SINK_CLASS), "{classes:?}");
    for plugin in plugins.body.as_array().unwrap() {
        assert!(["source", "sink"].contains(&plugin["type"].as_str().unwrap()));
        assert!(plugin["version"].is_string());
    }
    let all = connect
        .call(Method::GET, "/connector-plugins?connectorsOnly=false", None)
        .await;
    let types: Vec<&str> = all
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["type"].as_str().unwrap())
        .collect();
    assert!(types.contains(&"converter"), "{types:?}");
    assert!(types.contains(&"transformation"), "{types:?}");
    assert!(all.body.as_array().unwrap().len() > plugins.body.as_array().unwrap().len());

    // A valid config: 200, no errors (Kafka wants the name here too).
    let mut config = sink_config(&connect.path("x"), "t");
    config["name"] = json!("x");
    let good = connect
        .call(
            Method::PUT,
            "/connector-plugins/FileStreamSinkConnector/config/validate",
            Some(config),
        )
        .await;
    assert_eq!(good.status, StatusCode::OK, "{}", good.body);
    assert_eq!(good.body["error_count"], 0, "{}", good.body);

    // A bad one: still 200, each error on its key, and error_count their sum.
    let bad = connect
        .call(
            Method::PUT,
            "/connector-plugins/FileStreamSource/config/validate",
            Some(json!({"connector.class": SOURCE_CLASS, "tasks.max": "none",
                        "transforms": "route", "transforms.route.type": "NoSuchTransform"})),
        )
        .await;
    assert_eq!(bad.status, StatusCode::OK, "{}", bad.body);
    let configs = bad.body["configs"].as_array().unwrap();
    let errors = |key: &str| -> Vec<String> {
        configs
            .iter()
            .filter(|c| c["value"]["name"] == key)
            .flat_map(|c| c["value"]["errors"].as_array().unwrap().clone())
            .map(|e| e.as_str().unwrap().to_owned())
            .collect()
    };
    assert!(!errors("tasks.max").is_empty(), "{}", bad.body);
    assert!(
        errors("tasks.max")[0].contains("Invalid value none for configuration tasks.max"),
        "{:?}",
        errors("tasks.max")
    );
    assert!(!errors("topic").is_empty(), "{}", bad.body);
    assert!(!errors("transforms.route.type").is_empty(), "{}", bad.body);
    let total: usize = configs
        .iter()
        .map(|c| c["value"]["errors"].as_array().unwrap().len())
        .sum();
    assert!(total >= 3);
    assert_eq!(bad.body["error_count"], json!(total));
    // Each entry has Kafka's definition fields.
    let definition = &configs[0]["definition"];
    for field in [
        "name",
        "type",
        "required",
        "default_value",
        "importance",
        "documentation",
        "group",
        "width",
        "display_name",
        "dependents",
        "order",
    ] {
        assert!(
            definition.get(field).is_some(),
            "{field} missing in {definition}"
        );
    }
    assert!(bad.body["groups"].is_array());

    // The body's class must be the path's plugin.
    connect
        .call(
            Method::PUT,
            "/connector-plugins/FileStreamSink/config/validate",
            Some(json!({"connector.class": SOURCE_CLASS})),
        )
        .await
        .assert_error(
            StatusCode::BAD_REQUEST,
            "does not match request type FileStreamSink",
        );
    let unknown = connect
        .call(
            Method::PUT,
            "/connector-plugins/NoSuchThing/config/validate",
            Some(json!({})),
        )
        .await;
    assert!(unknown.status.is_client_error(), "{}", unknown.body);
    assert!(unknown.body["message"]
        .as_str()
        .unwrap()
        .contains("NoSuchThing"));
    connect.stop().await;
}
