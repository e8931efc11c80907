//! Kafka Connect's REST API over a [`Herder`]: the same paths, status codes and JSON bodies
//! as Kafka's (`ConnectorsResource`, `ConnectorPluginsResource`, `RootResource`), so Kafka's
//! tools and docs work against a Fjord worker.
//!
//! A request passes, outermost first: [`error::json_errors`] (runs the rest in its own task
//! and turns any error answer that is not JSON yet, or a panic, into Kafka's
//! `{"error_code", "message"}`), then [`forward::forward_to_leader`] (buffers the body; when
//! the herder answers NotLeader, sends the same request to the leader and relays its answer),
//! then the route's handler, which reads the request, asks the herder and shapes the answer.
//! Handlers never know about forwarding: a herder error converts into an answer, and the
//! NotLeader one carries a marker the forwarding layer acts on.
//!
//! ```no_run
//! # async fn demo(herder: std::sync::Arc<dyn fjord_connect::herder::Herder>) -> std::io::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8083").await?;
//! let shutdown = tokio_util::sync::CancellationToken::new();
//! fjord_connect::rest::serve(listener, herder, shutdown.clone()).await
//! # }
//! ```

mod connectors;
mod error;
mod extract;
mod forward;
mod lifecycle;
mod offsets;
mod plugins;

pub use error::ErrorMessage;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put, MethodRouter};
use axum::{middleware, Json, Router};
use serde_json::json;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::herder::{Herder, ServerInfo};

/// What every handler reads: the worker's herder.
#[derive(Clone)]
pub(crate) struct AppState {
    herder: Arc<dyn Herder>,
}

/// The API's routes over `herder`, with Kafka's error bodies and leader forwarding. Every
/// path also answers with a trailing slash (`/connectors/`), as Jersey's do.
pub fn router(herder: Arc<dyn Herder>) -> Router {
    let state = AppState { herder };
    let routes: Vec<(&str, MethodRouter<AppState>)> = vec![
        ("/health", get(health)),
        (
            "/connectors",
            get(connectors::list).post(connectors::create),
        ),
        (
            "/connectors/{name}",
            get(connectors::info).delete(connectors::delete),
        ),
        (
            "/connectors/{name}/config",
            get(connectors::get_config)
                .put(connectors::put_config)
                .patch(connectors::patch_config),
        ),
        ("/connectors/{name}/status", get(lifecycle::status)),
        ("/connectors/{name}/restart", post(lifecycle::restart)),
        ("/connectors/{name}/pause", put(lifecycle::pause)),
        ("/connectors/{name}/resume", put(lifecycle::resume)),
        ("/connectors/{name}/stop", put(lifecycle::stop)),
        ("/connectors/{name}/tasks", get(lifecycle::tasks)),
        (
            "/connectors/{name}/tasks/{task}/status",
            get(lifecycle::task_status),
        ),
        (
            "/connectors/{name}/tasks/{task}/restart",
            post(lifecycle::restart_task),
        ),
        (
            "/connectors/{name}/offsets",
            get(offsets::get)
                .patch(offsets::alter)
                .delete(offsets::reset),
        ),
        ("/connectors/{name}/topics", get(offsets::topics)),
        (
            "/connectors/{name}/topics/reset",
            put(offsets::reset_topics),
        ),
        ("/connector-plugins", get(plugins::list)),
        (
            "/connector-plugins/{plugin}/config/validate",
            put(plugins::validate),
        ),
    ];
    let mut router = Router::new().route("/", get(server_info));
    for (path, methods) in routes {
        router = router
            .route(path, methods.clone())
            .route(&format!("{path}/"), methods);
    }
    router
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .with_state(state)
        .layer(DefaultBodyLimit::max(forward::BODY_LIMIT))
        .layer(middleware::from_fn_with_state(
            forward::Forwarder::new(),
            forward::forward_to_leader,
        ))
        .layer(middleware::from_fn(error::json_errors))
}

/// How long `GET /health` waits for the herder before calling the worker unhealthy.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(10);

/// `GET /health` (KIP-1017): 200 when the herder answers, 500 when it does not in time
/// (a herder stuck on a lock cannot serve anything else either).
async fn health(State(state): State<AppState>) -> Response {
    match tokio::time::timeout(HEALTH_TIMEOUT, state.herder.connectors()).await {
        Ok(_) => Json(json!({
            "status": "healthy",
            "message": "Worker has completed startup and is ready to handle requests."
        }))
        .into_response(),
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({
                "status": "unhealthy",
                "message": format!(
                    "Worker was unable to handle this request within {} seconds and may be unable to handle other requests",
                    HEALTH_TIMEOUT.as_secs()
                )
            })),
        )
            .into_response(),
    }
}

/// `GET /`: the worker's version, commit and Kafka cluster id.
async fn server_info(State(state): State<AppState>) -> Json<ServerInfo> {
    Json(state.herder.server_info().await)
}

/// Serves [`router`] on `listener` until `shutdown` is cancelled, then stops accepting and
/// waits for the requests in flight to finish (graceful).
///
/// # Errors
/// The listener fails.
///
/// # Cancel safety
/// Dropping the future closes the listener and every connection at once; cancel `shutdown`
/// for a graceful stop.
pub async fn serve(
    listener: TcpListener,
    herder: Arc<dyn Herder>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    axum::serve(listener, router(herder))
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
}

#[cfg(test)]
mod tests;
