//! Bad requests get Kafka's JSON error body, never axum's plain text, and never a dropped
//! connection.

use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::herder::Mode;
use super::{assert_error, create, Server};

/// Sends a raw body with a content type; returns the status and the body as JSON.
async fn raw(
    server: &Server,
    method: Method,
    path: &str,
    content_type: Option<&str>,
    body: &'static str,
) -> (StatusCode, Value) {
    let mut request = server.client.request(method, server.url(path)).body(body);
    if let Some(content_type) = content_type {
        request = request.header(CONTENT_TYPE, content_type);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let content = response.headers()[CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(content.starts_with("application/json"), "{content}");
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn unknown_paths_and_methods_answer_jersey_errors() {
    let server = Server::start(Mode::Serve).await;
    let (status, body) = raw(&server, Method::GET, "/nope", None, "").await;
    assert_eq!(
        (status, body),
        (
            StatusCode::NOT_FOUND,
            json!({"error_code": 404, "message": "HTTP 404 Not Found"})
        )
    );
    let (status, body) = raw(&server, Method::GET, "/connectors/a/b/c/d", None, "").await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "HTTP 404 Not Found");
    let (status, body) = raw(&server, Method::DELETE, "/connectors", None, "").await;
    assert_eq!(
        (status, body),
        (
            StatusCode::METHOD_NOT_ALLOWED,
            json!({"error_code": 405, "message": "HTTP 405 Method Not Allowed"})
        )
    );
    let (status, body) = raw(&server, Method::GET, "/connectors/missing", None, "").await;
    assert_error(
        status,
        &body,
        StatusCode::NOT_FOUND,
        "Connector missing not found",
    );
    let (status, body) = raw(&server, Method::DELETE, "/connectors/missing", None, "").await;
    assert_error(
        status,
        &body,
        StatusCode::NOT_FOUND,
        "Connector missing not found",
    );
    server.stop().await;
}

#[tokio::test]
async fn malformed_bodies_are_400_and_wrong_content_types_415() {
    let server = Server::start(Mode::Serve).await;
    create(&server, "m").await;
    let json_type = Some("application/json");
    for (method, path) in [
        (Method::POST, "/connectors"),
        (Method::PUT, "/connectors/m/config"),
        (Method::PATCH, "/connectors/m/config"),
        (Method::PATCH, "/connectors/m/offsets"),
        (
            Method::PUT,
            "/connector-plugins/FileStreamSink/config/validate",
        ),
    ] {
        let (status, body) = raw(&server, method.clone(), path, json_type, "{\"name\": ").await;
        assert_error(status, &body, StatusCode::BAD_REQUEST, "JSON");
        // JSON of the wrong shape.
        let (status, body) = raw(&server, method.clone(), path, json_type, "[1, 2]").await;
        assert_error(status, &body, StatusCode::BAD_REQUEST, "");
        let (status, body) = raw(&server, method.clone(), path, json_type, "").await;
        assert_error(status, &body, StatusCode::BAD_REQUEST, "");
        let (status, body) = raw(&server, method.clone(), path, Some("text/plain"), "{}").await;
        assert_error(
            status,
            &body,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type",
        );
        let (status, body) = raw(&server, method, path, None, "{}").await;
        assert_error(
            status,
            &body,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type",
        );
    }
    // A config value that is an object is not a config.
    let (status, body) = raw(
        &server,
        Method::PUT,
        "/connectors/m/config",
        json_type,
        "{\"file\": {\"a\": 1}}",
    )
    .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "file");
    // The connector is untouched.
    let (status, _, config) = server.call(Method::GET, "/connectors/m/config", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(config["file"], "/tmp/out.txt");
    server.stop().await;
}

#[tokio::test]
async fn a_panicking_herder_is_a_500_and_the_server_lives_on() {
    let server = Server::start(Mode::Panic).await;
    for _ in 0..2 {
        let (status, body) = raw(&server, Method::GET, "/connectors/x", None, "").await;
        assert_error(status, &body, StatusCode::INTERNAL_SERVER_ERROR, "panicked");
    }
    let (status, _, _) = server.call(Method::GET, "/", None).await;
    assert_eq!(status, StatusCode::OK);
    server.stop().await;
}

#[tokio::test]
async fn serve_stops_when_cancelled() {
    let server = Server::start(Mode::Serve).await;
    let addr = server.addr;
    server.stop().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}
