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

use axum::extract::{DefaultBodyLimit, State};
use axum::routing::{get, post, put};
use axum::{middleware, Json, Router};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::herder::{Herder, ServerInfo};

/// What every handler reads: the worker's herder.
#[derive(Clone)]
pub(crate) struct AppState {
    herder: Arc<dyn Herder>,
}

/// The API's routes over `herder`, with Kafka's error bodies and leader forwarding.
pub fn router(herder: Arc<dyn Herder>) -> Router {
    let state = AppState { herder };
    Router::new()
        .route("/", get(server_info))
        .route(
            "/connectors",
            get(connectors::list).post(connectors::create),
        )
        .route(
            "/connectors/{name}",
            get(connectors::info).delete(connectors::delete),
        )
        .route(
            "/connectors/{name}/config",
            get(connectors::get_config)
                .put(connectors::put_config)
                .patch(connectors::patch_config),
        )
        .route("/connectors/{name}/status", get(lifecycle::status))
        .route("/connectors/{name}/restart", post(lifecycle::restart))
        .route("/connectors/{name}/pause", put(lifecycle::pause))
        .route("/connectors/{name}/resume", put(lifecycle::resume))
        .route("/connectors/{name}/stop", put(lifecycle::stop))
        .route("/connectors/{name}/tasks", get(lifecycle::tasks))
        .route(
            "/connectors/{name}/tasks/{task}/status",
            get(lifecycle::task_status),
        )
        .route(
            "/connectors/{name}/tasks/{task}/restart",
            post(lifecycle::restart_task),
        )
        .route(
            "/connectors/{name}/offsets",
            get(offsets::get)
                .patch(offsets::alter)
                .delete(offsets::reset),
        )
        .route("/connectors/{name}/topics", get(offsets::topics))
        .route(
            "/connectors/{name}/topics/reset",
            put(offsets::reset_topics),
        )
        .route("/connector-plugins", get(plugins::list))
        .route(
            "/connector-plugins/{plugin}/config/validate",
            put(plugins::validate),
        )
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
