//! `/connectors/{name}/offsets` (KIP-875: read, alter and reset a stopped connector's
//! offsets) and `/connectors/{name}/topics` (KIP-558: the topics a connector has used).

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use super::extract::{KafkaJson, KafkaPath};
use super::AppState;
use crate::herder::{ConnectorOffset, ConnectorOffsets};

/// Kafka's `{"message": ...}` answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Message {
    message: String,
}

/// `GET /connectors/{name}/offsets`.
pub(crate) async fn get(
    State(state): State<AppState>,
    KafkaPath(name): KafkaPath<String>,
) -> Result<Json<ConnectorOffsets>, ApiError> {
    Ok(Json(state.herder.offsets(&name).await?))
}

/// The `PATCH` body, with `offsets` optional so that a missing list gets Kafka's message.
#[derive(Debug, Deserialize)]
pub(crate) struct AlterBody {
    offsets: Option<Vec<ConnectorOffset>>,
}

/// `PATCH /connectors/{name}/offsets`: 200 with Kafka's message.
pub(crate) async fn alter(
    State(state): State<AppState>,
    KafkaPath(name): KafkaPath<String>,
    KafkaJson(body): KafkaJson<AlterBody>,
) -> Result<Json<Message>, ApiError> {
    let offsets = body.offsets.unwrap_or_default();
    if offsets.is_empty() {
        return Err(ApiError::bad_request(
            "Partitions / offsets need to be provided for an alter offsets request",
        ));
    }
    state
        .herder
        .alter_offsets(&name, Some(ConnectorOffsets { offsets }))
        .await?;
    Ok(Json(Message {
        message: "The offsets for this connector have been altered successfully".to_owned(),
    }))
}

/// `DELETE /connectors/{name}/offsets`: 200 with Kafka's message.
pub(crate) async fn reset(
    State(state): State<AppState>,
    KafkaPath(name): KafkaPath<String>,
) -> Result<Json<Message>, ApiError> {
    state.herder.alter_offsets(&name, None).await?;
    Ok(Json(Message {
        message: "The offsets for this connector have been reset successfully".to_owned(),
    }))
}

/// One connector's entry in `GET /connectors/{name}/topics` (Kafka's `ActiveTopicsInfo`).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ActiveTopics {
    topics: Vec<String>,
}

/// `GET /connectors/{name}/topics`: `{"<name>": {"topics": [...]}}`.
pub(crate) async fn topics(
    State(state): State<AppState>,
    KafkaPath(name): KafkaPath<String>,
) -> Result<Json<BTreeMap<String, ActiveTopics>>, ApiError> {
    let topics = state.herder.topics(&name).await?;
    Ok(Json(BTreeMap::from([(name, ActiveTopics { topics })])))
}

/// `PUT /connectors/{name}/topics/reset`: 202.
pub(crate) async fn reset_topics(
    State(state): State<AppState>,
    KafkaPath(name): KafkaPath<String>,
) -> Result<StatusCode, ApiError> {
    state.herder.reset_topics(&name).await?;
    Ok(StatusCode::ACCEPTED)
}
