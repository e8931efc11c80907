//! Leader forwarding between real servers: a follower (NotLeader for everything) in front
//! of the standalone worker, and followers naming each other.

use async_trait::async_trait;
use fjord_connect::config::{ConfigInfos, ConfigMap};
use fjord_connect::herder::{
    ConnectorInfo, ConnectorOffsets, ConnectorStateInfo, Created, Herder, HerderError, PluginInfo,
    ServerInfo, TargetState, TaskInfo, TaskStateInfo,
};
use reqwest::header::LOCATION;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::*;

/// A distributed follower, as far as the REST API can tell: every request it may not answer
/// itself is refused with the leader's URL.
struct Follower {
    leader_url: String,
}

impl Follower {
    fn refuse<T>(&self) -> Result<T, HerderError> {
        Err(HerderError::NotLeader {
            leader_url: self.leader_url.clone(),
        })
    }
}

#[async_trait]
impl Herder for Follower {
    async fn server_info(&self) -> ServerInfo {
        ServerInfo {
            version: "3.9.0".to_owned(),
            commit: "follower".to_owned(),
            kafka_cluster_id: None,
        }
    }
    async fn connectors(&self) -> Vec<String> {
        Vec::new()
    }
    async fn connector_info(&self, _: &str) -> Result<ConnectorInfo, HerderError> {
        self.refuse()
    }
    async fn connector_config(&self, _: &str) -> Result<ConfigMap, HerderError> {
        self.refuse()
    }
    async fn put_connector_config(
        &self,
        _: &str,
        _: ConfigMap,
        _: bool,
        _: Option<TargetState>,
    ) -> Result<Created, HerderError> {
        self.refuse()
    }
    async fn delete_connector(&self, _: &str) -> Result<(), HerderError> {
        self.refuse()
    }
    async fn connector_status(&self, _: &str) -> Result<ConnectorStateInfo, HerderError> {
        self.refuse()
    }
    async fn task_configs(&self, _: &str) -> Result<Vec<TaskInfo>, HerderError> {
        self.refuse()
    }
    async fn task_status(&self, _: &str, _: u32) -> Result<TaskStateInfo, HerderError> {
        self.refuse()
    }
    async fn restart_connector(
        &self,
        _: &str,
        _: bool,
        _: bool,
    ) -> Result<ConnectorStateInfo, HerderError> {
        self.refuse()
    }
    async fn restart_task(&self, _: &str, _: u32) -> Result<(), HerderError> {
        self.refuse()
    }
    async fn set_target_state(&self, _: &str, _: TargetState) -> Result<(), HerderError> {
        self.refuse()
    }
    async fn validate(&self, _: &str, _: ConfigMap) -> Result<ConfigInfos, HerderError> {
        self.refuse()
    }
    async fn plugins(&self, _: bool) -> Vec<PluginInfo> {
        Vec::new()
    }
    async fn offsets(&self, _: &str) -> Result<ConnectorOffsets, HerderError> {
        self.refuse()
    }
    async fn alter_offsets(&self, _: &str, _: Option<ConnectorOffsets>) -> Result<(), HerderError> {
        self.refuse()
    }
    async fn topics(&self, _: &str) -> Result<Vec<String>, HerderError> {
        self.refuse()
    }
    async fn reset_topics(&self, _: &str) -> Result<(), HerderError> {
        self.refuse()
    }
}

/// Serves a follower naming `leader_url`; returns its base URL and its stopper.
async fn follower(
    leader_url: String,
) -> (String, CancellationToken, JoinHandle<std::io::Result<()>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(fjord_connect::rest::serve(
        listener,
        Arc::new(Follower { leader_url }),
        shutdown.clone(),
    ));
    (base, shutdown, server)
}

#[tokio::test]
async fn a_follower_forwards_to_the_leader_and_relays_its_answers() {
    let leader = Connect::start().await;
    let (base, shutdown, server) = follower(format!("{}/", leader.base)).await;
    let client = reqwest::Client::new();
    let (input, output) = (leader.path("in.txt"), leader.path("out.txt"));
    append(&input, &["via", "follower"]);

    // Create through the follower: the leader runs it; Location names the follower.
    let created = call(
        &client,
        &format!("{base}/connectors"),
        Method::POST,
        Some(json!({"name": "fwd", "config": source_config(&input, "fwd")})),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(
        created.headers[LOCATION],
        format!("{base}/connectors/fwd").as_str()
    );
    assert_eq!(created.body["name"], "fwd");
    let created = call(
        &client,
        &format!("{base}/connectors/fwd-out/config"),
        Method::PUT,
        Some(sink_config(&output, "fwd")),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    wait_lines(&output, &["via", "follower"]).await;
    let list = leader.call(Method::GET, "/connectors", None).await;
    assert_eq!(list.body, json!(["fwd", "fwd-out"]));

    // Reads, queries and empty answers come back as the leader gave them.
    let status = wait_for("fwd running, through the follower", || async {
        let reply = call(
            &client,
            &format!("{base}/connectors/fwd/status"),
            Method::GET,
            None,
        )
        .await;
        (reply.status == StatusCode::OK && reply.body["connector"]["state"] == "RUNNING")
            .then_some(reply.body)
    })
    .await;
    assert_eq!(status["name"], "fwd");
    let restart = call(
        &client,
        &format!("{base}/connectors/fwd/restart?includeTasks=true"),
        Method::POST,
        None,
    )
    .await;
    assert_eq!(restart.status, StatusCode::ACCEPTED, "{}", restart.body);
    assert_eq!(restart.body["tasks"][0]["state"], "RESTARTING");
    let paused = call(
        &client,
        &format!("{base}/connectors/fwd/pause"),
        Method::PUT,
        None,
    )
    .await;
    assert_eq!(
        (paused.status, paused.body),
        (StatusCode::ACCEPTED, Value::Null)
    );
    leader.wait_state("fwd", "PAUSED", 1).await;
    let patched = call(
        &client,
        &format!("{base}/connectors/fwd/config"),
        Method::PATCH,
        Some(json!({"batch.size": "10"})),
    )
    .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    assert_eq!(patched.body["config"]["batch.size"], "10");
    let validated = call(
        &client,
        &format!("{base}/connector-plugins/FileStreamSource/config/validate"),
        Method::PUT,
        Some(json!({"connector.class": SOURCE_CLASS})),
    )
    .await;
    assert_eq!(validated.status, StatusCode::OK, "{}", validated.body);
    assert!(validated.body["error_count"].as_u64().unwrap() > 0);

    // The leader's errors too.
    call(
        &client,
        &format!("{base}/connectors"),
        Method::POST,
        Some(json!({"name": "fwd", "config": source_config(&input, "fwd")})),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "Connector fwd already exists");
    call(
        &client,
        &format!("{base}/connectors/gone"),
        Method::GET,
        None,
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "Connector gone not found");

    let deleted = call(
        &client,
        &format!("{base}/connectors/fwd"),
        Method::DELETE,
        None,
    )
    .await;
    assert_eq!(
        (deleted.status, deleted.body),
        (StatusCode::NO_CONTENT, Value::Null)
    );
    assert_eq!(
        leader.call(Method::GET, "/connectors", None).await.body,
        json!(["fwd-out"])
    );
    shutdown.cancel();
    server.await.unwrap().unwrap();
    leader.stop().await;
}

#[tokio::test]
async fn forwarding_gives_up_after_two_hops() {
    // Two followers naming each other, as in the middle of a rebalance.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let first = format!("http://{}", listener.local_addr().unwrap());
    let (second, second_stop, second_server) = follower(first.clone()).await;
    let first_stop = CancellationToken::new();
    let first_server = tokio::spawn(fjord_connect::rest::serve(
        listener,
        Arc::new(Follower {
            leader_url: second.clone(),
        }),
        first_stop.clone(),
    ));
    let client = reqwest::Client::new();
    call(
        &client,
        &format!("{first}/connectors/x/status"),
        Method::GET,
        None,
    )
    .await
    .assert_error(
        StatusCode::CONFLICT,
        "Cannot complete request because of a conflicting operation (e.g. worker rebalance)",
    );
    call(
        &client,
        &format!("{second}/connectors/x/config?forward=false"),
        Method::PUT,
        Some(json!({"a": "b"})),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "conflicting operation");
    let (lost, lost_stop, lost_server) = follower(String::new()).await;
    call(
        &client,
        &format!("{lost}/connectors/x"),
        Method::DELETE,
        None,
    )
    .await
    .assert_error(StatusCode::CONFLICT, "no known leader URL");
    for (stop, server) in [
        (first_stop, first_server),
        (second_stop, second_server),
        (lost_stop, lost_server),
    ] {
        stop.cancel();
        server.await.unwrap().unwrap();
    }
}
