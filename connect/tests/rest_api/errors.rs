//! Every failure answers Kafka's `{"error_code", "message"}` with the right status.

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::*;

#[tokio::test]
async fn errors_are_kafkas_json_bodies() {
    let connect = Connect::start().await;
    let input = connect.path("in.txt");
    append(&input, &["e"]);
    connect.create("e", source_config(&input, "errs")).await;

    let health = connect.call(Method::GET, "/health", None).await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(health.body["status"], "healthy");
    let listed = connect.call(Method::GET, "/connectors/", None).await;
    assert_eq!((listed.status, listed.body), (StatusCode::OK, json!(["e"])));

    let reply = connect.call(Method::GET, "/no/such/path", None).await;
    assert_eq!(
        reply.body,
        json!({"error_code": 404, "message": "HTTP 404 Not Found"})
    );
    connect
        .call(Method::GET, "/connectors/e/tasks/zero/status", None)
        .await
        .assert_error(StatusCode::NOT_FOUND, "HTTP 404 Not Found");
    let reply = connect.call(Method::POST, "/connectors/e", None).await;
    assert_eq!(
        reply.body,
        json!({"error_code": 405, "message": "HTTP 405 Method Not Allowed"})
    );
    for (method, path) in [
        (Method::GET, "/connectors/none"),
        (Method::GET, "/connectors/none/config"),
        (Method::GET, "/connectors/none/status"),
        (Method::GET, "/connectors/none/tasks"),
        (Method::GET, "/connectors/none/tasks/0/status"),
        (Method::GET, "/connectors/none/offsets"),
        (Method::GET, "/connectors/none/topics"),
        (Method::PUT, "/connectors/none/topics/reset"),
        (Method::POST, "/connectors/none/restart"),
        (Method::POST, "/connectors/none/tasks/0/restart"),
        (Method::PUT, "/connectors/none/pause"),
        (Method::PUT, "/connectors/none/resume"),
        (Method::PUT, "/connectors/none/stop"),
        (Method::DELETE, "/connectors/none"),
        (Method::DELETE, "/connectors/none/offsets"),
    ] {
        connect
            .call(method.clone(), path, None)
            .await
            .assert_error(StatusCode::NOT_FOUND, "Connector none not found");
    }

    // Malformed JSON, JSON of the wrong shape, a wrong content type: Kafka's error body.
    let json_type = "application/json";
    for (method, path) in [
        (Method::POST, "/connectors"),
        (Method::PUT, "/connectors/e/config"),
        (Method::PATCH, "/connectors/e/config"),
        (Method::PATCH, "/connectors/e/offsets"),
        (
            Method::PUT,
            "/connector-plugins/FileStreamSource/config/validate",
        ),
    ] {
        let reply = connect
            .raw(method.clone(), path, json_type, "{\"name\": \"e\",")
            .await;
        reply.assert_error(StatusCode::BAD_REQUEST, "");
        let reply = connect
            .raw(method.clone(), path, json_type, "[\"e\"]")
            .await;
        reply.assert_error(StatusCode::BAD_REQUEST, "");
        let reply = connect.raw(method, path, "text/plain", "{}").await;
        reply.assert_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "Content-Type");
    }
    connect
        .call(
            Method::PUT,
            "/connectors/e/config",
            Some(json!({"connector.class": SOURCE_CLASS, "file": ["not", "a", "string"]})),
        )
        .await
        .assert_error(StatusCode::BAD_REQUEST, "file");
    // The connector is untouched by all of it.
    let config = connect
        .call(Method::GET, "/connectors/e/config", None)
        .await;
    assert_eq!(config.body["topic"], "errs");
    connect.wait_state("e", "RUNNING", 1).await;
    connect.stop().await;
}
