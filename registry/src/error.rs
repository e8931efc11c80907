//! The crate's errors: [`RegistryError`] for starting and running the
//! registry, [`ApiError`] for HTTP answers in Confluent's shape
//! (`{"error_code": 40401, "message": "..."}`), with the HTTP status derived
//! from the code in one place ([`ApiError::status`]).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Failures starting or running the registry.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// A Kafka client could not be created or the cluster refused a request.
    #[error("schema registry: {0}")]
    Kafka(#[from] fjord_core::Error),
    /// rdkafka failed directly.
    #[error("schema registry: {context}: {cause}")]
    Client {
        /// What the registry was doing.
        context: &'static str,
        /// rdkafka's error.
        cause: rdkafka::error::KafkaError,
    },
    /// The `_schemas` topic exists but has more than one partition, which
    /// would break the order the registry relies on.
    #[error("topic '{topic}' has {partitions} partitions; the schema registry needs exactly one (delete it or point `kafkastore.topic` elsewhere)")]
    TopicPartitions {
        /// The topic.
        topic: String,
        /// Its partition count.
        partitions: usize,
    },
    /// Replaying `_schemas` did not finish in time.
    #[error("replaying topic '{topic}' did not reach offset {target} within {seconds} s; is the cluster reachable?")]
    ReplayTimedOut {
        /// The topic.
        topic: String,
        /// The end offset to reach.
        target: i64,
        /// The time allowed.
        seconds: u64,
    },
    /// The HTTP server failed.
    #[error("schema registry HTTP server: {0}")]
    Http(#[from] std::io::Error),
}

/// An error answer of the REST API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// Confluent's error code, e.g. 40401.
    pub code: u32,
    /// The message.
    pub message: String,
}

impl ApiError {
    /// An error with `code` and `message`.
    pub fn new(code: u32, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
        }
    }

    /// The HTTP status for the code: its first three digits (40401 -> 404,
    /// 409 -> 409, 42201 -> 422, 50001 -> 500).
    pub fn status(&self) -> StatusCode {
        let status = if self.code >= 10_000 {
            self.code / 100
        } else {
            self.code
        };
        u16::try_from(status)
            .ok()
            .and_then(|s| StatusCode::from_u16(s).ok())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// 40401.
    pub fn subject_not_found(subject: &str) -> Self {
        ApiError::new(40401, format!("Subject '{subject}' not found."))
    }

    /// 40402.
    pub fn version_not_found(subject: &str, version: i32) -> Self {
        ApiError::new(
            40402,
            format!("Version {version} not found for subject '{subject}'."),
        )
    }

    /// 40403.
    pub fn schema_not_found() -> Self {
        ApiError::new(40403, "Schema not found")
    }

    /// 422xx for a schema that does not parse.
    pub fn invalid_schema(reason: impl std::fmt::Display) -> Self {
        ApiError::new(42201, format!("Invalid schema: {reason}"))
    }

    /// 42202.
    pub fn invalid_version(version: &str) -> Self {
        ApiError::new(
            42202,
            format!(
                "The specified version '{version}' is not a valid version id. Allowed values are \
                 between [1, 2^31-1] and the string \"latest\""
            ),
        )
    }

    /// 42205: the operation is not allowed in the current mode or state.
    pub fn not_permitted(message: impl Into<String>) -> Self {
        ApiError::new(42205, message)
    }

    /// 50001: the `_schemas` topic could not be written or read.
    pub fn store(message: impl std::fmt::Display) -> Self {
        ApiError::new(50001, format!("Error in the backend data store: {message}"))
    }

    /// 50002.
    pub fn timeout(message: impl std::fmt::Display) -> Self {
        ApiError::new(50002, format!("Operation timed out: {message}"))
    }

    /// 50003.
    pub fn forwarding(message: impl std::fmt::Display) -> Self {
        ApiError::new(
            50003,
            format!("Error while forwarding the request to the leader: {message}"),
        )
    }

    /// 50004: no instance is the writer right now.
    pub fn unknown_leader() -> Self {
        ApiError::new(
            50004,
            "Unknown leader: no registry instance is the writer yet; retry in a few seconds",
        )
    }

    /// 400-level error for a request body that is not the expected JSON.
    pub fn bad_request(message: impl std::fmt::Display) -> Self {
        ApiError::new(400, format!("Unrecognized request: {message}"))
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (error {})", self.message, self.code)
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error_code": self.code, "message": self.message});
        (self.status(), axum::Json(body)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_is_the_code_prefix() {
        assert_eq!(
            ApiError::subject_not_found("s").status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(ApiError::new(409, "x").status(), StatusCode::CONFLICT);
        assert_eq!(
            ApiError::invalid_schema("x").status(),
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert_eq!(
            ApiError::store("x").status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
}
