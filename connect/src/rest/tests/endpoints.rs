//! Every endpoint's status, headers and body shape.

use reqwest::header::LOCATION;
use reqwest::{Method, StatusCode};
use serde_json::json;

use super::herder::Mode;
use super::{assert_error, create, sink_config, Server};

#[tokio::test]
async fn root_answers_server_info() {
    let server = Server::start(Mode::Serve).await;
    let (status, _, body) = server.call(Method::GET, "/", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({"version": "3.9.0", "commit": "fjord", "kafka_cluster_id": "cluster-1"})
    );
    server.stop().await;
}

#[tokio::test]
async fn create_answers_201_with_location_and_409_when_it_exists() {
    let server = Server::start(Mode::Serve).await;
    let (status, headers, body) = server
        .call(
            Method::POST,
            "/connectors",
            Some(json!({"name": " local sink ", "config": {"connector.class": "FileStreamSink", "file": "/tmp/x", "tasks.max": 2}})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        headers[LOCATION],
        format!("http://{}/connectors/local%20sink", server.addr).as_str()
    );
    // The name is trimmed, put into the config, and numbers become strings.
    assert_eq!(body["name"], "local sink");
    assert_eq!(body["config"]["name"], "local sink");
    assert_eq!(body["config"]["tasks.max"], "2");
    assert_eq!(body["type"], "sink");
    assert_eq!(
        body["tasks"],
        json!([{"connector": "local sink", "task": 0}])
    );

    let (status, _, body) = server
        .call(
            Method::POST,
            "/connectors",
            Some(json!({"name": "local sink", "config": sink_config()})),
        )
        .await;
    assert_error(
        status,
        &body,
        StatusCode::CONFLICT,
        "Connector local sink already exists",
    );
    server.stop().await;
}

#[tokio::test]
async fn create_refuses_a_missing_or_mismatched_name_and_a_bad_state() {
    let server = Server::start(Mode::Serve).await;
    let mut config = sink_config();
    config["name"] = json!("other");
    let (status, _, body) = server
        .call(
            Method::POST,
            "/connectors",
            Some(json!({"name": "a", "config": config})),
        )
        .await;
    assert_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "Connector name configuration (other) doesn't match connector name in the URL (a)",
    );
    let (status, _, body) = server
        .call(
            Method::POST,
            "/connectors",
            Some(json!({"config": sink_config()})),
        )
        .await;
    assert_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "Invalid value  for configuration name: String must be non-empty",
    );
    let (status, _, body) = server
        .call(Method::POST, "/connectors", Some(json!({"name": "a"})))
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "config");
    let (status, _, body) = server
        .call(
            Method::POST,
            "/connectors",
            Some(json!({"name": "a", "config": sink_config(), "initial_state": "ASLEEP"})),
        )
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "initial_state");
    // The herder's validation errors come through as 400.
    let (status, _, body) = server
        .call(
            Method::POST,
            "/connectors",
            Some(json!({"name": "a", "config": {"connector.class": "FileStreamSink"}})),
        )
        .await;
    assert_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "Missing required configuration \"file\"",
    );
    assert_eq!(
        server.call(Method::GET, "/connectors", None).await.2,
        json!([])
    );
    server.stop().await;
}

#[tokio::test]
async fn create_in_an_initial_state() {
    let server = Server::start(Mode::Serve).await;
    let (status, _, _) = server
        .call(
            Method::POST,
            "/connectors",
            Some(json!({"name": "p", "config": sink_config(), "initial_state": "PAUSED"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, _, body) = server.call(Method::GET, "/connectors/p/status", None).await;
    assert_eq!(body["connector"]["state"], "PAUSED");
    server.stop().await;
}

#[tokio::test]
async fn list_expands_status_and_info() {
    let server = Server::start(Mode::Serve).await;
    create(&server, "b").await;
    create(&server, "a").await;
    let (status, _, body) = server.call(Method::GET, "/connectors", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!(["a", "b"]));

    let (_, _, body) = server
        .call(Method::GET, "/connectors?expand=status", None)
        .await;
    assert_eq!(body["a"]["status"]["connector"]["state"], "RUNNING");
    assert_eq!(body["a"]["status"]["name"], "a");
    assert!(body["a"].get("info").is_none());

    let (_, _, body) = server
        .call(Method::GET, "/connectors?expand=info", None)
        .await;
    assert_eq!(body["b"]["info"]["config"]["file"], "/tmp/out.txt");
    assert!(body["b"].get("status").is_none());

    let (_, _, body) = server
        .call(
            Method::GET,
            "/connectors?expand=status&expand=info&expand=x",
            None,
        )
        .await;
    for name in ["a", "b"] {
        assert_eq!(body[name]["status"]["tasks"][0]["state"], "RUNNING");
        assert_eq!(body[name]["info"]["name"], name);
        assert_eq!(body[name].as_object().unwrap().len(), 2);
    }
    server.stop().await;
}

#[tokio::test]
async fn config_is_read_replaced_and_patched() {
    let server = Server::start(Mode::Serve).await;
    create(&server, "c").await;
    let (status, _, body) = server.call(Method::GET, "/connectors/c", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["name"], "c");
    let (status, _, body) = server.call(Method::GET, "/connectors/c/config", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["name"], "c");
    assert_eq!(body["file"], "/tmp/out.txt");

    // Replacing an existing one: 200, no Location.
    let mut config = sink_config();
    config["file"] = json!("/tmp/second.txt");
    config["extra"] = json!("1");
    let (status, headers, body) = server
        .call(Method::PUT, "/connectors/c/config", Some(config))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(headers.get(LOCATION).is_none());
    assert_eq!(body["config"]["file"], "/tmp/second.txt");

    // Creating with PUT: 201 and a Location.
    let (status, headers, body) = server
        .call(Method::PUT, "/connectors/d/config", Some(sink_config()))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        headers[LOCATION],
        format!("http://{}/connectors/d", server.addr).as_str()
    );
    assert_eq!(body["config"]["name"], "d");

    let mut mismatched = sink_config();
    mismatched["name"] = json!("e");
    let (status, _, body) = server
        .call(Method::PUT, "/connectors/d/config", Some(mismatched))
        .await;
    assert_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "Connector name configuration (e) doesn't match connector name in the URL (d)",
    );

    // PATCH merges; null removes.
    let (status, _, body) = server
        .call(
            Method::PATCH,
            "/connectors/c/config",
            Some(json!({"file": "/tmp/third.txt", "extra": null, "added": 5})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["config"]["file"], "/tmp/third.txt");
    assert_eq!(body["config"]["added"], "5");
    assert!(body["config"].get("extra").is_none());
    let (_, _, body) = server.call(Method::GET, "/connectors/c/config", None).await;
    assert_eq!(body["file"], "/tmp/third.txt");
    assert!(body.get("extra").is_none());

    let (status, _, body) = server
        .call(
            Method::PATCH,
            "/connectors/none/config",
            Some(json!({"a": "b"})),
        )
        .await;
    assert_error(
        status,
        &body,
        StatusCode::NOT_FOUND,
        "Connector none not found",
    );
    let (status, _, body) = server
        .call(
            Method::PATCH,
            "/connectors/c/config",
            Some(json!({"name": "z"})),
        )
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "doesn't match");
    server.stop().await;
}

#[tokio::test]
async fn status_tasks_and_lifecycle_codes() {
    let server = Server::start(Mode::Serve).await;
    create(&server, "l").await;
    let (status, _, body) = server.call(Method::GET, "/connectors/l/status", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({"name": "l", "connector": {"state": "RUNNING", "worker_id": "127.0.0.1:8083"},
               "tasks": [{"id": 0, "state": "RUNNING", "worker_id": "127.0.0.1:8083"}],
               "type": "sink"})
    );
    let (status, _, body) = server.call(Method::GET, "/connectors/l/tasks", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body[0]["id"], json!({"connector": "l", "task": 0}));
    assert_eq!(body[0]["config"]["file"], "/tmp/out.txt");
    let (status, _, body) = server
        .call(Method::GET, "/connectors/l/tasks/0/status", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({"id": 0, "state": "RUNNING", "worker_id": "127.0.0.1:8083"})
    );
    let (status, _, body) = server
        .call(Method::GET, "/connectors/l/tasks/7/status", None)
        .await;
    assert_error(
        status,
        &body,
        StatusCode::NOT_FOUND,
        "No status found for task l-7",
    );
    let (status, _, body) = server
        .call(Method::GET, "/connectors/l/tasks/x/status", None)
        .await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "HTTP 404 Not Found");

    let (status, _, body) = server
        .call(Method::POST, "/connectors/l/restart", None)
        .await;
    assert_eq!((status, body), (StatusCode::NO_CONTENT, json!(null)));
    let (status, _, _) = server
        .call(
            Method::POST,
            "/connectors/l/restart?includeTasks=false&onlyFailed=false",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, body) = server
        .call(
            Method::POST,
            "/connectors/l/restart?includeTasks=true",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(body["name"], "l");
    let (status, _, body) = server
        .call(Method::POST, "/connectors/l/restart?onlyFailed=true", None)
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(body["connector"]["state"], "RUNNING");
    assert_eq!(server.herder.restarts("l"), 4);
    let (status, _, _) = server
        .call(Method::POST, "/connectors/l/tasks/0/restart", None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let (status, _, _) = server.call(Method::PUT, "/connectors/l/pause", None).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (_, _, body) = server.call(Method::GET, "/connectors/l/status", None).await;
    assert_eq!(body["connector"]["state"], "PAUSED");
    let (status, _, _) = server.call(Method::PUT, "/connectors/l/resume", None).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (_, _, body) = server.call(Method::GET, "/connectors/l/status", None).await;
    assert_eq!(body["connector"]["state"], "RUNNING");
    let (status, _, _) = server.call(Method::PUT, "/connectors/l/stop", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, _, body) = server.call(Method::GET, "/connectors/l/status", None).await;
    assert_eq!(body["connector"]["state"], "STOPPED");

    let (status, _, _) = server.call(Method::DELETE, "/connectors/l", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, body) = server.call(Method::GET, "/connectors/l", None).await;
    assert_error(
        status,
        &body,
        StatusCode::NOT_FOUND,
        "Connector l not found",
    );
    server.stop().await;
}

#[tokio::test]
async fn plugins_and_validation() {
    let server = Server::start(Mode::Serve).await;
    let (status, _, body) = server.call(Method::GET, "/connector-plugins", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!([{"class": "org.apache.kafka.connect.file.FileStreamSinkConnector",
                "type": "sink", "version": "0.1.0"}])
    );
    let (_, _, body) = server
        .call(Method::GET, "/connector-plugins?connectorsOnly=false", None)
        .await;
    assert_eq!(body.as_array().unwrap().len(), 2);
    assert_eq!(body[1]["type"], "converter");

    let (status, _, body) = server
        .call(
            Method::PUT,
            "/connector-plugins/FileStreamSink/config/validate",
            Some(
                json!({"connector.class": "org.apache.kafka.connect.file.FileStreamSinkConnector",
                        "tasks.max": "0"}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["name"], "FileStreamSink");
    assert_eq!(body["error_count"], 2);
    let errors = |key: &str| {
        body["configs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["definition"]["name"] == key)
            .unwrap()["value"]["errors"]
            .clone()
    };
    assert_eq!(
        errors("file"),
        json!(["Missing required configuration \"file\" which has no default value."])
    );
    assert_eq!(
        errors("tasks.max"),
        json!(["Invalid value 0 for configuration tasks.max: Value must be at least 1"])
    );

    let (status, _, body) = server
        .call(
            Method::PUT,
            "/connector-plugins/FileStreamSink/config/validate",
            Some(json!({"connector.class": "FileStreamSourceConnector"})),
        )
        .await;
    assert_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "Included connector type FileStreamSourceConnector does not match request type FileStreamSink",
    );
    let (status, _, body) = server
        .call(
            Method::PUT,
            "/connector-plugins/Nope/config/validate",
            Some(json!({})),
        )
        .await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "Nope");
    server.stop().await;
}

#[tokio::test]
async fn offsets_and_topics() {
    let server = Server::start(Mode::Serve).await;
    create(&server, "o").await;
    let (status, _, body) = server
        .call(Method::GET, "/connectors/o/offsets", None)
        .await;
    assert_eq!((status, body), (StatusCode::OK, json!({"offsets": []})));
    let offsets = json!({"offsets": [{"partition": {"kafka_topic": "t", "kafka_partition": 0},
                                      "offset": {"kafka_offset": 5}}]});
    // Running: the herder refuses.
    let (status, _, body) = server
        .call(
            Method::PATCH,
            "/connectors/o/offsets",
            Some(offsets.clone()),
        )
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "STOPPED");
    server.call(Method::PUT, "/connectors/o/stop", None).await;
    let (status, _, body) = server
        .call(
            Method::PATCH,
            "/connectors/o/offsets",
            Some(offsets.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({"message": "The offsets for this connector have been altered successfully"})
    );
    assert_eq!(
        server
            .call(Method::GET, "/connectors/o/offsets", None)
            .await
            .2,
        offsets
    );
    for empty in [json!({"offsets": []}), json!({})] {
        let (status, _, body) = server
            .call(Method::PATCH, "/connectors/o/offsets", Some(empty))
            .await;
        assert_error(
            status,
            &body,
            StatusCode::BAD_REQUEST,
            "Partitions / offsets need to be provided for an alter offsets request",
        );
    }
    let (status, _, body) = server
        .call(Method::DELETE, "/connectors/o/offsets", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({"message": "The offsets for this connector have been reset successfully"})
    );
    assert_eq!(
        server
            .call(Method::GET, "/connectors/o/offsets", None)
            .await
            .2,
        json!({"offsets": []})
    );

    server.herder.use_topic("o", "orders");
    let (status, _, body) = server.call(Method::GET, "/connectors/o/topics", None).await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, json!({"o": {"topics": ["orders"]}}))
    );
    let (status, _, _) = server
        .call(Method::PUT, "/connectors/o/topics/reset", None)
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(
        server
            .call(Method::GET, "/connectors/o/topics", None)
            .await
            .2,
        json!({"o": {"topics": []}})
    );
    let (status, _, body) = server
        .call(Method::GET, "/connectors/none/topics", None)
        .await;
    assert_error(
        status,
        &body,
        StatusCode::NOT_FOUND,
        "Connector none not found",
    );
    server.stop().await;
}

#[tokio::test]
async fn trailing_slashes_and_health() {
    let server = Server::start(Mode::Serve).await;
    let (status, _, body) = server.call(Method::GET, "/health", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "healthy");
    let (status, _, _) = server
        .call(
            Method::POST,
            "/connectors/",
            Some(json!({"name": "s", "config": sink_config()})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _, body) = server.call(Method::GET, "/connectors/", None).await;
    assert_eq!((status, body), (StatusCode::OK, json!(["s"])));
    let (status, _, body) = server
        .call(Method::GET, "/connectors/s/status/", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["name"], "s");
    let (status, _, _) = server.call(Method::PUT, "/connectors/s/pause/", None).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    server.stop().await;
}
