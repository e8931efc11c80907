//! A follower forwards what its herder refuses with NotLeader to the leader, relays the
//! answer, and gives up after Kafka's two hops.

use reqwest::header::LOCATION;
use reqwest::{Method, StatusCode};
use serde_json::json;

use super::herder::Mode;
use super::{assert_error, sink_config, Server};

#[tokio::test]
async fn a_follower_relays_the_leaders_answers() {
    let leader = Server::start(Mode::Serve).await;
    // A trailing slash, as Kafka's advertised URLs have.
    let follower = Server::start(Mode::Follower(format!("http://{}/", leader.addr))).await;

    // Method, body and status go through; Location names the worker the client asked.
    let (status, headers, body) = follower
        .call(
            Method::POST,
            "/connectors",
            Some(json!({"name": "f", "config": sink_config()})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["config"]["name"], "f");
    assert_eq!(
        headers[LOCATION],
        format!("http://{}/connectors/f", follower.addr).as_str()
    );
    assert_eq!(
        leader.call(Method::GET, "/connectors", None).await.2,
        json!(["f"])
    );

    let (status, _, body) = follower.call(Method::GET, "/connectors/f", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["name"], "f");

    // The query goes through: 202 with a status body means includeTasks reached the leader.
    let (status, _, body) = follower
        .call(
            Method::POST,
            "/connectors/f/restart?includeTasks=true",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(body["name"], "f");
    assert_eq!(leader.herder.restarts("f"), 1);

    // The leader's errors come back as they are.
    let (status, _, body) = follower
        .call(
            Method::POST,
            "/connectors",
            Some(json!({"name": "f", "config": sink_config()})),
        )
        .await;
    assert_error(
        status,
        &body,
        StatusCode::CONFLICT,
        "Connector f already exists",
    );
    let (status, _, body) = follower.call(Method::GET, "/connectors/g", None).await;
    assert_error(
        status,
        &body,
        StatusCode::NOT_FOUND,
        "Connector g not found",
    );

    let (status, _, body) = follower.call(Method::DELETE, "/connectors/f", None).await;
    assert_eq!((status, body), (StatusCode::NO_CONTENT, json!(null)));
    assert_eq!(
        leader.call(Method::GET, "/connectors", None).await.2,
        json!([])
    );
    follower.stop().await;
    leader.stop().await;
}

#[tokio::test]
async fn forwarding_stops_after_two_hops() {
    // Two followers that name each other as the leader, as during a rebalance.
    let first = Server::start_with(|_| Mode::Serve).await;
    let first_url = format!("http://{}", first.addr);
    first.stop().await;
    let listener_a = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let a = listener_a.local_addr().unwrap();
    let b = Server::start(Mode::Follower(format!("http://{a}"))).await;
    let herder = std::sync::Arc::new(super::herder::MemoryHerder::new(Mode::Follower(format!(
        "http://{}",
        b.addr
    ))));
    let shutdown = tokio_util::sync::CancellationToken::new();
    let served = tokio::spawn(crate::rest::serve(listener_a, herder, shutdown.clone()));

    let client = reqwest::Client::new();
    let answer = client
        .get(format!("http://{a}/connectors/x/status"))
        .send()
        .await
        .unwrap();
    let status = answer.status();
    let body = answer.json().await.unwrap();
    assert_error(
        status,
        &body,
        StatusCode::CONFLICT,
        "Cannot complete request because of a conflicting operation (e.g. worker rebalance)",
    );
    // A request that was already forwarded twice is not forwarded again.
    let (status, _, body) = b
        .call(Method::GET, "/connectors/x/status?forward=false", None)
        .await;
    assert_error(status, &body, StatusCode::CONFLICT, "conflicting operation");
    shutdown.cancel();
    served.await.unwrap().unwrap();
    b.stop().await;

    // A leader that cannot be reached is a 500 naming the failure.
    let lost = Server::start(Mode::Follower(first_url)).await;
    let (status, _, body) = lost.call(Method::GET, "/connectors/x", None).await;
    assert_error(
        status,
        &body,
        StatusCode::INTERNAL_SERVER_ERROR,
        "IO Error trying to forward REST request",
    );
    lost.stop().await;
}

#[tokio::test]
async fn no_known_leader_is_a_409() {
    let server = Server::start(Mode::Follower(String::new())).await;
    let (status, _, body) = server
        .call(Method::PUT, "/connectors/x/config", Some(sink_config()))
        .await;
    assert_error(
        status,
        &body,
        StatusCode::CONFLICT,
        "Cannot complete request momentarily due to no known leader URL",
    );
    server.stop().await;
}
