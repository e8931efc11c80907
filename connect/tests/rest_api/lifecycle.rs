//! A source and a sink driven through every lifecycle endpoint, with the data moving:
//! create, status, tasks, topics, pause, resume, restarts, stop, offsets, delete.

use reqwest::header::LOCATION;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::*;

#[tokio::test]
async fn a_pipeline_through_every_lifecycle_endpoint() {
    let connect = Connect::start().await;
    let (input, output) = (connect.path("in.txt"), connect.path("out.txt"));
    append(&input, &["one", "two"]);

    let root = connect.call(Method::GET, "/", None).await;
    assert_eq!(root.status, StatusCode::OK);
    assert!(root.body["version"].as_str().unwrap().starts_with('3'));
    assert_eq!(root.body["kafka_cluster_id"], "fjord-test");
    assert!(root.body["commit"].is_string());

    // Create: 201, the Location, Kafka's ConnectorInfo.
    let reply = connect.create("src", source_config(&input, "lines")).await;
    assert_eq!(
        reply.headers[LOCATION],
        format!("{}/connectors/src", connect.base).as_str()
    );
    assert_eq!(reply.body["name"], "src");
    assert_eq!(reply.body["config"]["name"], "src");
    assert_eq!(reply.body["type"], "source");
    assert_eq!(
        reply.body["tasks"],
        json!([{"connector": "src", "task": 0}])
    );
    connect.create("sink", sink_config(&output, "lines")).await;
    wait_lines(&output, &["one", "two"]).await;

    let list = connect.call(Method::GET, "/connectors", None).await;
    assert_eq!(
        (list.status, list.body),
        (StatusCode::OK, json!(["sink", "src"]))
    );
    let status = connect.wait_state("src", "RUNNING", 1).await;
    assert_eq!(status["name"], "src");
    assert_eq!(status["type"], "source");
    assert_eq!(
        status["connector"]["worker_id"],
        connect.base.trim_start_matches("http://")
    );
    let expanded = connect
        .call(Method::GET, "/connectors?expand=status&expand=info", None)
        .await;
    assert_eq!(expanded.body["sink"]["status"]["type"], "sink");
    assert_eq!(expanded.body["src"]["info"]["config"]["topic"], "lines");
    let only_info = connect
        .call(Method::GET, "/connectors?expand=info", None)
        .await;
    assert!(only_info.body["src"].get("status").is_none());

    let info = connect.call(Method::GET, "/connectors/src", None).await;
    assert_eq!(info.body["config"]["file"], input.display().to_string());
    let tasks = connect
        .call(Method::GET, "/connectors/src/tasks", None)
        .await;
    assert_eq!(tasks.status, StatusCode::OK);
    assert_eq!(tasks.body[0]["id"], json!({"connector": "src", "task": 0}));
    assert!(tasks.body[0]["config"].is_object());
    let task = connect
        .call(Method::GET, "/connectors/src/tasks/0/status", None)
        .await;
    assert_eq!(task.status, StatusCode::OK);
    assert_eq!(task.body["id"], 0);
    assert_eq!(task.body["state"], "RUNNING");
    connect
        .call(Method::GET, "/connectors/src/tasks/5/status", None)
        .await
        .assert_error(StatusCode::NOT_FOUND, "src-5");

    // Topics the connectors used (KIP-558), and their reset.
    let topics = connect
        .call(Method::GET, "/connectors/src/topics", None)
        .await;
    assert_eq!(topics.body, json!({"src": {"topics": ["lines"]}}));
    let reset = connect
        .call(Method::PUT, "/connectors/src/topics/reset", None)
        .await;
    assert_eq!(
        (reset.status, reset.body),
        (StatusCode::ACCEPTED, Value::Null)
    );
    let topics = connect
        .call(Method::GET, "/connectors/src/topics", None)
        .await;
    assert_eq!(topics.body, json!({"src": {"topics": []}}));

    // Pause (202) and resume (202): paused, nothing is lost; resumed, the lines come.
    let pause = connect
        .call(Method::PUT, "/connectors/src/pause", None)
        .await;
    assert_eq!(
        (pause.status, pause.body),
        (StatusCode::ACCEPTED, Value::Null)
    );
    connect.wait_state("src", "PAUSED", 1).await;
    append(&input, &["three"]);
    let resume = connect
        .call(Method::PUT, "/connectors/src/resume", None)
        .await;
    assert_eq!(resume.status, StatusCode::ACCEPTED);
    connect.wait_state("src", "RUNNING", 1).await;
    wait_lines(&output, &["one", "two", "three"]).await;

    // Restarts: the connector alone is 204; with includeTasks or onlyFailed, 202 and the
    // status; a task restart is 204. The pipeline still runs after each.
    let restart = connect
        .call(Method::POST, "/connectors/src/restart", None)
        .await;
    assert_eq!(
        (restart.status, restart.body),
        (StatusCode::NO_CONTENT, Value::Null)
    );
    let restart = connect
        .call(
            Method::POST,
            "/connectors/src/restart?includeTasks=true",
            None,
        )
        .await;
    assert_eq!(restart.status, StatusCode::ACCEPTED, "{}", restart.body);
    assert_eq!(restart.body["name"], "src");
    assert_eq!(restart.body["connector"]["state"], "RESTARTING");
    assert_eq!(restart.body["tasks"][0]["state"], "RESTARTING");
    let restart = connect
        .call(
            Method::POST,
            "/connectors/src/restart?includeTasks=true&onlyFailed=true",
            None,
        )
        .await;
    assert_eq!(restart.status, StatusCode::ACCEPTED);
    // Nothing failed: nothing restarts.
    assert_eq!(restart.body["tasks"][0]["state"], "RUNNING");
    let restart = connect
        .call(Method::POST, "/connectors/src/tasks/0/restart", None)
        .await;
    assert_eq!(
        (restart.status, restart.body),
        (StatusCode::NO_CONTENT, Value::Null)
    );
    connect
        .call(Method::POST, "/connectors/src/tasks/9/restart", None)
        .await
        .assert_error(StatusCode::NOT_FOUND, "src-9");
    connect.wait_state("src", "RUNNING", 1).await;
    append(&input, &["four"]);
    wait_lines(&output, &["one", "two", "three", "four"]).await;

    // Stop (204): no tasks; then the offsets can be read, altered and reset (KIP-875).
    let stop = connect
        .call(Method::PUT, "/connectors/src/stop", None)
        .await;
    assert_eq!(
        (stop.status, stop.body),
        (StatusCode::NO_CONTENT, Value::Null)
    );
    connect.wait_state("src", "STOPPED", 0).await;
    let info = connect.call(Method::GET, "/connectors/src", None).await;
    assert_eq!(info.body["tasks"], json!([]));
    let offsets = connect
        .call(Method::GET, "/connectors/src/offsets", None)
        .await;
    assert_eq!(offsets.status, StatusCode::OK);
    let entries = offsets.body["offsets"].as_array().unwrap().clone();
    assert_eq!(entries.len(), 1, "{}", offsets.body);
    let partition = entries[0]["partition"].clone();
    let position = std::fs::metadata(&input).unwrap().len();
    assert_eq!(entries[0]["offset"]["position"], json!(position));

    // Back to the start of line three: resumed, lines three and four come again.
    let line_three = "one\ntwo\n".len();
    let altered = connect
        .call(
            Method::PATCH,
            "/connectors/src/offsets",
            Some(
                json!({"offsets": [{"partition": partition, "offset": {"position": line_three}}]}),
            ),
        )
        .await;
    assert_eq!(altered.status, StatusCode::OK, "{}", altered.body);
    assert_eq!(
        altered.body,
        json!({"message": "The offsets for this connector have been altered successfully"})
    );
    let offsets = connect
        .call(Method::GET, "/connectors/src/offsets", None)
        .await;
    assert_eq!(
        offsets.body["offsets"][0]["offset"]["position"],
        json!(line_three)
    );
    connect
        .call(
            Method::PATCH,
            "/connectors/src/offsets",
            Some(json!({"offsets": []})),
        )
        .await
        .assert_error(
            StatusCode::BAD_REQUEST,
            "Partitions / offsets need to be provided for an alter offsets request",
        );
    let resume = connect
        .call(Method::PUT, "/connectors/src/resume", None)
        .await;
    assert_eq!(resume.status, StatusCode::ACCEPTED);
    connect.wait_state("src", "RUNNING", 1).await;
    wait_lines(&output, &["one", "two", "three", "four", "three", "four"]).await;

    // A running connector's offsets cannot change.
    connect
        .call(Method::DELETE, "/connectors/src/offsets", None)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "STOPPED");
    connect
        .call(Method::PUT, "/connectors/src/stop", None)
        .await;
    connect.wait_state("src", "STOPPED", 0).await;
    let reset = connect
        .call(Method::DELETE, "/connectors/src/offsets", None)
        .await;
    assert_eq!(reset.status, StatusCode::OK, "{}", reset.body);
    assert_eq!(
        reset.body,
        json!({"message": "The offsets for this connector have been reset successfully"})
    );
    let offsets = connect
        .call(Method::GET, "/connectors/src/offsets", None)
        .await;
    assert_eq!(offsets.body, json!({"offsets": []}));

    // Delete (204): gone from the list, 404 afterwards.
    for name in ["src", "sink"] {
        let delete = connect
            .call(Method::DELETE, &format!("/connectors/{name}"), None)
            .await;
        assert_eq!(
            (delete.status, delete.body),
            (StatusCode::NO_CONTENT, Value::Null)
        );
        connect
            .call(Method::GET, &format!("/connectors/{name}/status"), None)
            .await
            .assert_error(
                StatusCode::NOT_FOUND,
                &format!("Connector {name} not found"),
            );
    }
    let list = connect.call(Method::GET, "/connectors", None).await;
    assert_eq!(list.body, json!([]));
    connect.stop().await;
}

#[tokio::test]
async fn a_sinks_offsets_are_its_consumer_groups() {
    let connect = Connect::start().await;
    let (input, output) = (connect.path("in.txt"), connect.path("out.txt"));
    append(&input, &["r1", "r2", "r3"]);
    connect.create("feed", source_config(&input, "sunk")).await;
    connect.create("drain", sink_config(&output, "sunk")).await;
    wait_lines(&output, &["r1", "r2", "r3"]).await;

    let stop = connect
        .call(Method::PUT, "/connectors/drain/stop", None)
        .await;
    assert_eq!(stop.status, StatusCode::NO_CONTENT);
    connect.wait_state("drain", "STOPPED", 0).await;
    let offsets = wait_for("the sink's committed offsets", || async {
        let reply = connect
            .call(Method::GET, "/connectors/drain/offsets", None)
            .await;
        (reply.body["offsets"][0]["offset"]["kafka_offset"] == 3).then_some(reply.body)
    })
    .await;
    assert_eq!(
        offsets,
        json!({"offsets": [{"partition": {"kafka_topic": "sunk", "kafka_partition": 0},
                            "offset": {"kafka_offset": 3}}]})
    );

    // Back to offset 1: resumed, r2 and r3 are written again.
    let altered = connect
        .call(
            Method::PATCH,
            "/connectors/drain/offsets",
            Some(
                json!({"offsets": [{"partition": {"kafka_topic": "sunk", "kafka_partition": 0},
                                     "offset": {"kafka_offset": 1}}]}),
            ),
        )
        .await;
    assert_eq!(altered.status, StatusCode::OK, "{}", altered.body);
    assert_eq!(
        altered.body["message"],
        "The offsets for this connector have been altered successfully"
    );
    let offsets = connect
        .call(Method::GET, "/connectors/drain/offsets", None)
        .await;
    assert_eq!(offsets.body["offsets"][0]["offset"]["kafka_offset"], 1);
    connect
        .call(
            Method::PATCH,
            "/connectors/drain/offsets",
            Some(json!({"offsets": [{"partition": {"topic": "sunk"}, "offset": {"kafka_offset": 1}}]})),
        )
        .await
        .assert_error(StatusCode::BAD_REQUEST, "kafka_topic");
    connect
        .call(Method::PUT, "/connectors/drain/resume", None)
        .await;
    connect.wait_state("drain", "RUNNING", 1).await;
    wait_lines(&output, &["r1", "r2", "r3", "r2", "r3"]).await;

    connect
        .call(Method::PUT, "/connectors/drain/stop", None)
        .await;
    connect.wait_state("drain", "STOPPED", 0).await;
    let reset = connect
        .call(Method::DELETE, "/connectors/drain/offsets", None)
        .await;
    assert_eq!(reset.status, StatusCode::OK, "{}", reset.body);
    assert_eq!(
        reset.body["message"],
        "The offsets for this connector have been reset successfully"
    );
    let offsets = connect
        .call(Method::GET, "/connectors/drain/offsets", None)
        .await;
    assert_eq!(offsets.body, json!({"offsets": []}));
    let topics = connect
        .call(Method::GET, "/connectors/drain/topics", None)
        .await;
    assert_eq!(topics.body, json!({"drain": {"topics": ["sunk"]}}));
    connect.stop().await;
}
