//! Health: the `/health` endpoint `fjord dev` serves, and `fjord health`, which asks it and
//! exits 0 when every part is up (the container image's HEALTHCHECK).
//!
//! `/health` checks each part the way a client would, every time it is asked: a TCP connect
//! to the broker, `GET /subjects` on the registry, `GET /` on the Connect REST API, each under
//! a short deadline. It answers 200 with `{"status":"UP","parts":{...}}` when all are up, 503
//! with the failing part's reason otherwise.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Map, Value};
use tokio_util::sync::CancellationToken;

/// How long one part may take to answer a health check.
const PART_DEADLINE: Duration = Duration::from_secs(2);

/// The default address of `fjord dev`'s health endpoint.
pub const DEFAULT_HEALTH_LISTEN: &str = "127.0.0.1:8090";

/// Arguments of `fjord health`.
#[derive(clap::Args, Debug)]
pub struct HealthArgs {
    /// The health endpoint to ask.
    #[arg(
        long,
        env = "FJORD_HEALTH_URL",
        default_value = "http://127.0.0.1:8090/health"
    )]
    pub url: String,
}

/// Asks the endpoint; exit 0 when it answers 200, 1 otherwise (the answer goes to stdout).
///
/// # Errors
/// The endpoint does not answer (the caller exits 1 and prints why).
pub async fn run(args: HealthArgs) -> anyhow::Result<ExitCode> {
    let client = reqwest::Client::builder()
        .timeout(PART_DEADLINE * 3)
        .build()?;
    let response = client
        .get(&args.url)
        .send()
        .await
        .with_context(|| format!("no answer from {}", args.url))?;
    let status = response.status();
    println!("{}", response.text().await.unwrap_or_default());
    Ok(if status.is_success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// What `/health` checks.
#[derive(Debug, Clone)]
pub struct HealthTargets {
    /// The broker's listener (an unspecified IP is checked on loopback).
    pub broker: SocketAddr,
    /// The registry's base URL, when it runs.
    pub registry: Option<String>,
    /// The Connect REST API's base URL, when it runs.
    pub connect: Option<String>,
}

/// Checks every part; `true` when all are up, with each part's state.
pub async fn check(targets: &HealthTargets, http: &reqwest::Client) -> (bool, Value) {
    let mut parts = Map::new();
    let mut healthy = true;
    let mut record = |name: &str, outcome: Result<(), String>| {
        let state = match outcome {
            Ok(()) => json!("UP"),
            Err(why) => {
                healthy = false;
                json!({"status": "DOWN", "error": why})
            }
        };
        parts.insert(name.to_owned(), state);
    };
    let mut broker = targets.broker;
    if broker.ip().is_unspecified() {
        broker.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let connected = tokio::time::timeout(PART_DEADLINE, tokio::net::TcpStream::connect(broker))
        .await
        .map_err(|_| format!("no connection to {broker} in {PART_DEADLINE:?}"))
        .and_then(|r| r.map(drop).map_err(|e| format!("{broker}: {e}")));
    record("broker", connected);
    if let Some(url) = &targets.registry {
        record(
            "schema-registry",
            get_ok(http, &format!("{url}/subjects")).await,
        );
    }
    if let Some(url) = &targets.connect {
        record("connect", get_ok(http, &format!("{url}/")).await);
    }
    let status = if healthy { "UP" } else { "DOWN" };
    (healthy, json!({"status": status, "parts": parts}))
}

async fn get_ok(http: &reqwest::Client, url: &str) -> Result<(), String> {
    let response = http
        .get(url)
        .timeout(PART_DEADLINE)
        .send()
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!("GET {url}: {}", response.status()))
    }
}

/// Serves `GET /health` on `listener` until `shutdown`.
///
/// # Cancel safety
/// Cancel `shutdown` rather than dropping the future, so open requests finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    targets: HealthTargets,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let state = Arc::new((targets, reqwest::Client::new()));
    let router = Router::new()
        .route("/health", get(health))
        .with_state(state);
    axum::serve(listener, router)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
}

async fn health(
    State(state): State<Arc<(HealthTargets, reqwest::Client)>>,
) -> (StatusCode, Json<Value>) {
    let (healthy, body) = check(&state.0, &state.1).await;
    let code = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(body))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A loopback address no one listens on.
    fn closed_port() -> SocketAddr {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    }

    #[tokio::test]
    async fn a_part_that_does_not_answer_makes_the_whole_down() {
        let http = reqwest::Client::new();
        let broker = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let up = HealthTargets {
            broker: broker.local_addr().unwrap(),
            registry: None,
            connect: None,
        };
        let (healthy, body) = check(&up, &http).await;
        assert!(healthy, "{body}");
        assert_eq!(body["parts"]["broker"], "UP");

        let down = HealthTargets {
            connect: Some(format!("http://{}", closed_port())),
            ..up
        };
        let (healthy, body) = check(&down, &http).await;
        assert!(!healthy, "{body}");
        assert_eq!(body["status"], "DOWN");
        assert_eq!(body["parts"]["connect"]["status"], "DOWN");
        assert_eq!(body["parts"]["broker"], "UP");
    }
}
