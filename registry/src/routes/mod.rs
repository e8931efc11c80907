//! The REST API: Confluent Schema Registry's paths, JSON shapes and error
//! codes. One file per resource; [`router`] wires them and the
//! single-writer middleware ([`forward`]) in front of every write.

pub mod compatibility;
pub mod config;
pub mod forward;
pub mod register;
pub mod schemas;
pub mod subjects;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::watch;

use crate::compat::Level;
use crate::error::ApiError;
use crate::leader::Role;
use crate::store::Store;

/// The largest request body accepted: a schema must fit in one `_schemas`
/// record, and Kafka's default record limit is 1 MiB.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// What every handler shares.
#[derive(Debug)]
pub struct App {
    /// The `_schemas` store.
    pub store: Arc<Store>,
    /// This instance's role in the single-writer rule.
    pub role: watch::Receiver<Role>,
    /// This instance's advertised URL.
    pub url: String,
    /// For forwarding writes to the writer.
    pub http: reqwest::Client,
    /// The level used when neither the subject nor the global config sets one.
    pub default_level: Level,
    /// How long a forwarded write or a wait for the writer may take.
    pub timeout: Duration,
}

/// Shared handler state.
pub type Shared = Arc<App>;

/// The API's routes.
pub fn router(app: Shared) -> Router {
    Router::new()
        .route("/", get(|| async { json(serde_json::json!({})) }))
        .route("/subjects", get(subjects::list))
        .route(
            "/subjects/{subject}",
            post(subjects::lookup).delete(subjects::delete_subject),
        )
        .route(
            "/subjects/{subject}/versions",
            get(subjects::versions).post(register::register),
        )
        .route(
            "/subjects/{subject}/versions/{version}",
            get(subjects::version).delete(subjects::delete_version),
        )
        .route(
            "/subjects/{subject}/versions/{version}/schema",
            get(subjects::version_schema),
        )
        .route(
            "/subjects/{subject}/versions/{version}/referencedby",
            get(subjects::referenced_by),
        )
        .route("/schemas/ids/{id}", get(schemas::by_id))
        .route("/schemas/ids/{id}/schema", get(schemas::schema_text))
        .route("/schemas/ids/{id}/versions", get(schemas::versions))
        .route("/schemas/ids/{id}/subjects", get(schemas::subjects))
        .route("/schemas/types", get(schemas::types))
        .route("/contexts", get(schemas::contexts))
        .route(
            "/config",
            get(config::get_global)
                .put(config::put_global)
                .delete(config::delete_global),
        )
        .route(
            "/config/{subject}",
            get(config::get_subject)
                .put(config::put_subject)
                .delete(config::delete_subject),
        )
        .route(
            "/mode",
            get(config::get_global_mode).put(config::put_global_mode),
        )
        .route(
            "/mode/{subject}",
            get(config::get_subject_mode)
                .put(config::put_subject_mode)
                .delete(config::delete_subject_mode),
        )
        .route(
            "/compatibility/subjects/{subject}/versions/{version}",
            post(compatibility::against_version),
        )
        .route(
            "/compatibility/subjects/{subject}/versions",
            post(compatibility::against_all),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            Arc::clone(&app),
            forward::single_writer,
        ))
        .fallback(|| async { ApiError::new(404, "HTTP 404 Not Found") })
        .method_not_allowed_fallback(|| async { ApiError::new(405, "HTTP 405 Method Not Allowed") })
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(app)
}

/// A JSON answer with Confluent's content type.
pub fn json(value: impl Serialize) -> Response {
    let mut response = axum::Json(value).into_response();
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/vnd.schemaregistry.v1+json"),
    );
    response
}

/// A JSON request body, whatever its content type (clients send
/// `application/vnd.schemaregistry.v1+json`, `application/json` or
/// nothing), at most [`MAX_BODY_BYTES`].
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, ApiError> {
        let bytes = read_body(req).await?;
        serde_json::from_slice(&bytes)
            .map(Body)
            .map_err(ApiError::bad_request)
    }
}

/// Reads a request body of at most [`MAX_BODY_BYTES`].
///
/// # Errors
/// 42201 when the body is larger: no schema that big fits in `_schemas`.
pub async fn read_body(req: Request) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(req.into_body(), MAX_BODY_BYTES)
        .await
        .map_err(|_| {
            ApiError::new(
                42201,
                format!(
                    "Invalid schema: the request body is over {MAX_BODY_BYTES} bytes; a schema must fit in one record of the `_schemas` topic"
                ),
            )
        })
}

/// A version in a path: a number in `[1, 2^31-1]`, or `latest` / `-1`
/// (`None`).
///
/// # Errors
/// 42202.
pub fn parse_version(text: &str) -> Result<Option<i32>, ApiError> {
    if text == "latest" || text == "-1" {
        return Ok(None);
    }
    match text.parse::<i32>() {
        Ok(v) if v >= 1 => Ok(Some(v)),
        _ => Err(ApiError::invalid_version(text)),
    }
}

/// A `?flag=true` query parameter.
pub fn flag(value: Option<&String>) -> bool {
    value.is_some_and(|v| v.eq_ignore_ascii_case("true"))
}
