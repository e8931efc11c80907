//! Kafka Connect's error answers: every failure, whether a herder's refusal, a malformed
//! request rejected by an extractor, an unknown path or a panicking handler, leaves as
//! `{"error_code": <http status>, "message": "..."}` with that status, as Kafka's
//! `ConnectExceptionMapper` writes it.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use crate::herder::HerderError;

/// The body of every error answer (Kafka's `ErrorMessage`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorMessage {
    /// The HTTP status.
    pub error_code: u16,
    /// What went wrong.
    pub message: String,
}

/// A request the API refuses, or one the leader must answer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ApiError {
    /// Answer with this status and message.
    Status(StatusCode, String),
    /// Forward the request to the leader at this REST URL (see [`super::forward`]).
    NotLeader(String),
}

impl ApiError {
    /// 400 with this message.
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        ApiError::Status(StatusCode::BAD_REQUEST, message.into())
    }

    /// Jersey's bare answer for a status: `HTTP 404 Not Found`.
    pub(crate) fn bare(status: StatusCode) -> Self {
        ApiError::Status(status, bare_message(status))
    }
}

/// Jersey's message for an error with no more to say: `HTTP 404 Not Found`.
pub(crate) fn bare_message(status: StatusCode) -> String {
    format!(
        "HTTP {} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("Error")
    )
}

impl From<HerderError> for ApiError {
    fn from(error: HerderError) -> Self {
        match error {
            HerderError::NotFound(m) => ApiError::Status(StatusCode::NOT_FOUND, m),
            HerderError::Conflict(m) => ApiError::Status(StatusCode::CONFLICT, m),
            HerderError::BadRequest(m) => ApiError::Status(StatusCode::BAD_REQUEST, m),
            HerderError::Internal(m) => ApiError::Status(StatusCode::INTERNAL_SERVER_ERROR, m),
            HerderError::NotLeader { leader_url } => ApiError::NotLeader(leader_url),
        }
    }
}

/// Marks a response the forwarding layer must replace with the leader's answer.
#[derive(Debug, Clone)]
pub(crate) struct ForwardTo {
    /// The leader's REST base URL (may be empty: no leader known).
    pub(crate) leader_url: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Status(status, message) => error_response(status, message),
            ApiError::NotLeader(leader_url) => {
                // Only seen without the forwarding layer in front (never, in `router`): the
                // layer swaps this for the leader's answer or Kafka's 409.
                let mut response = error_response(
                    StatusCode::CONFLICT,
                    "Cannot complete request because of a conflicting operation (e.g. worker rebalance)"
                        .to_owned(),
                );
                response.extensions_mut().insert(ForwardTo { leader_url });
                response
            }
        }
    }
}

/// Kafka's error answer.
pub(crate) fn error_response(status: StatusCode, message: String) -> Response {
    let body = ErrorMessage {
        error_code: status.as_u16(),
        message,
    };
    (status, Json(body)).into_response()
}

/// The most of a non-JSON error body (axum's plain-text rejections) kept as the message.
const PLAIN_ERROR_LIMIT: usize = 64 * 1024;

/// The outermost layer: runs the rest of the stack in its own task, so a panicking handler
/// becomes a 500 instead of a dropped connection (and a client hanging up does not cancel a
/// herder call half-way), and rewrites every error answer that is not JSON already (axum's
/// rejections, 405s) into Kafka's body, keeping the status.
pub(crate) async fn json_errors(request: Request, next: Next) -> Response {
    let response = match tokio::spawn(next.run(request)).await {
        Ok(response) => response,
        Err(join_error) => {
            let message = if join_error.is_panic() {
                "The request handler panicked; see the worker's log".to_owned()
            } else {
                "The request was cancelled".to_owned()
            };
            tracing::error!(error = %join_error, "REST request handler failed");
            return error_response(StatusCode::INTERNAL_SERVER_ERROR, message);
        }
    };
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_json(&response) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = match axum::body::to_bytes(body, PLAIN_ERROR_LIMIT).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_owned(),
        Err(_) => String::new(),
    };
    let message = if text.is_empty() {
        bare_message(status)
    } else {
        text
    };
    let mut rewritten = error_response(status, message);
    // Keep what else the inner answer said (an `Allow` header on a 405, say).
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            rewritten.headers_mut().append(name, value.clone());
        }
    }
    rewritten
}

fn is_json(response: &Response<Body>) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v: &HeaderValue| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// The fallback for unknown paths: Jersey's 404.
pub(crate) async fn not_found() -> ApiError {
    ApiError::bare(StatusCode::NOT_FOUND)
}

/// A known path with another method: Jersey's 405.
pub(crate) async fn method_not_allowed() -> ApiError {
    ApiError::bare(StatusCode::METHOD_NOT_ALLOWED)
}
