//! A running connector's life: status, tasks, restarts, pause, resume and stop, with Kafka's
//! status codes (202 for the asynchronous ones, 204 where Kafka answers no content).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::error::ApiError;
use super::extract::{task_number, KafkaPath, QueryParams};
use super::AppState;
use crate::herder::{ConnectorStateInfo, TargetState, TaskInfo, TaskStateInfo};

/// `GET /connectors/{name}/status`.
pub(crate) async fn status(
    State(state): State<AppState>,
    KafkaPath(name): KafkaPath<String>,
) -> Result<Json<ConnectorStateInfo>, ApiError> {
    Ok(Json(state.herder.connector_status(&name).await?))
}

/// `GET /connectors/{name}/tasks`: each task's id and config.
pub(crate) async fn tasks(
    State(state): State<AppState>,
    KafkaPath(name): KafkaPath<String>,
) -> Result<Json<Vec<TaskInfo>>, ApiError> {
    Ok(Json(state.herder.task_configs(&name).await?))
}

/// `GET /connectors/{name}/tasks/{task}/status`.
pub(crate) async fn task_status(
    State(state): State<AppState>,
    KafkaPath((name, task)): KafkaPath<(String, String)>,
) -> Result<Json<TaskStateInfo>, ApiError> {
    let task = task_number(&task)?;
    Ok(Json(state.herder.task_status(&name, task).await?))
}

/// `POST /connectors/{name}/restart`: without `includeTasks` or `onlyFailed` (both false by
/// default) the connector alone restarts and the answer is 204, as before KIP-745; with
/// either, 202 with the status once the restart is requested.
pub(crate) async fn restart(
    State(state): State<AppState>,
    KafkaPath(name): KafkaPath<String>,
    params: QueryParams,
) -> Result<Response, ApiError> {
    let include_tasks = params.flag("includeTasks", false);
    let only_failed = params.flag("onlyFailed", false);
    let status = state
        .herder
        .restart_connector(&name, include_tasks, only_failed)
        .await?;
    if !include_tasks && !only_failed {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    Ok((StatusCode::ACCEPTED, Json(status)).into_response())
}

/// `POST /connectors/{name}/tasks/{task}/restart`: 204.
pub(crate) async fn restart_task(
    State(state): State<AppState>,
    KafkaPath((name, task)): KafkaPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let task = task_number(&task)?;
    state.herder.restart_task(&name, task).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /connectors/{name}/pause`: 202.
pub(crate) async fn pause(
    State(state): State<AppState>,
    KafkaPath(name): KafkaPath<String>,
) -> Result<StatusCode, ApiError> {
    state
        .herder
        .set_target_state(&name, TargetState::Paused)
        .await?;
    Ok(StatusCode::ACCEPTED)
}

/// `PUT /connectors/{name}/resume`: 202.
pub(crate) async fn resume(
    State(state): State<AppState>,
    KafkaPath(name): KafkaPath<String>,
) -> Result<StatusCode, ApiError> {
    state
        .herder
        .set_target_state(&name, TargetState::Started)
        .await?;
    Ok(StatusCode::ACCEPTED)
}

/// `PUT /connectors/{name}/stop` (KIP-875): 204.
pub(crate) async fn stop(
    State(state): State<AppState>,
    KafkaPath(name): KafkaPath<String>,
) -> Result<StatusCode, ApiError> {
    state
        .herder
        .set_target_state(&name, TargetState::Stopped)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
