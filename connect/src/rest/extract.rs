//! Request parts as Kafka Connect reads them: JSON bodies (rejections become Kafka's error
//! body), config maps whose scalar values may be numbers or booleans (Jackson coerces them
//! to strings, so `"tasks.max": 1` works against Kafka and here), query flags with JAX-RS's
//! `Boolean.valueOf` meaning, and path parameters.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::Json;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::error::ApiError;
use crate::config::ConfigMap;

/// A JSON body; a wrong content type is 415, malformed JSON or a wrong shape 400 (axum's
/// statuses), each with Kafka's error body.
pub(crate) struct KafkaJson<T>(pub(crate) T);

impl<S, T> FromRequest<S> for KafkaJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(KafkaJson(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    let status = match rejection {
        // Kafka (Jackson) answers 400 for a body that is JSON of the wrong shape too.
        JsonRejection::JsonDataError(_) => StatusCode::BAD_REQUEST,
        ref other => other.status(),
    };
    ApiError::Status(status, rejection.body_text())
}

/// Path parameters; a bad one (invalid percent-encoding) keeps axum's status.
pub(crate) struct KafkaPath<T>(pub(crate) T);

impl<S, T> FromRequestParts<S> for KafkaPath<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(KafkaPath(value)),
            Err(rejection) => Err(path_rejection(rejection)),
        }
    }
}

fn path_rejection(rejection: PathRejection) -> ApiError {
    ApiError::Status(rejection.status(), rejection.body_text())
}

/// A task number from the path. Jersey answers a `{task}` that is not an integer with its
/// bare 404, so this does too.
pub(crate) fn task_number(raw: &str) -> Result<u32, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::bare(StatusCode::NOT_FOUND))
}

/// The query string's pairs, in order, repeated keys kept (`?expand=status&expand=info`).
pub(crate) struct QueryParams(Vec<(String, String)>);

impl<S> FromRequestParts<S> for QueryParams
where
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Query::<Vec<(String, String)>>::from_request_parts(parts, state).await {
            Ok(Query(pairs)) => Ok(QueryParams(pairs)),
            Err(rejection) => Err(query_rejection(rejection)),
        }
    }
}

fn query_rejection(rejection: QueryRejection) -> ApiError {
    ApiError::Status(rejection.status(), rejection.body_text())
}

impl QueryParams {
    /// Every value of `name`, in order.
    pub(crate) fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Whether `name` is present at all.
    pub(crate) fn contains(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }

    /// A boolean flag as JAX-RS reads `@QueryParam Boolean`: the first value, `true` when it
    /// is "true" in any case and `false` for anything else; `default` when absent.
    pub(crate) fn flag(&self, name: &str, default: bool) -> bool {
        self.all(name)
            .first()
            .map_or(default, |v| v.eq_ignore_ascii_case("true"))
    }
}

/// A config map body (`PUT .../config`, `config/validate`): string values, with numbers and
/// booleans taken as their text as Jackson does.
pub(crate) fn config_map(object: Map<String, Value>) -> Result<ConfigMap, ApiError> {
    object
        .into_iter()
        .map(|(key, value)| match scalar_text(&value) {
            Some(text) => Ok((key, text)),
            None => Err(ApiError::bad_request(format!(
                "Invalid value for configuration {key}: expected a string, got {value}"
            ))),
        })
        .collect()
}

/// A KIP-477 patch body: a `null` value removes the key.
pub(crate) fn config_patch(
    object: Map<String, Value>,
) -> Result<Vec<(String, Option<String>)>, ApiError> {
    object
        .into_iter()
        .map(|(key, value)| {
            if value.is_null() {
                return Ok((key, None));
            }
            match scalar_text(&value) {
                Some(text) => Ok((key, Some(text))),
                None => Err(ApiError::bad_request(format!(
                    "Invalid value for configuration {key}: expected a string or null, got {value}"
                ))),
            }
        })
        .collect()
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    #[test]
    fn config_values_coerce_scalars_and_refuse_the_rest() {
        let map = config_map(object(json!({"a": "x", "tasks.max": 2, "b": true}))).unwrap();
        assert_eq!(map["a"], "x");
        assert_eq!(map["tasks.max"], "2");
        assert_eq!(map["b"], "true");
        assert!(config_map(object(json!({"a": null}))).is_err());
        assert!(config_map(object(json!({"a": [1]}))).is_err());
    }

    #[test]
    fn a_patch_keeps_nulls_as_removals() {
        let patch = config_patch(object(json!({"a": null, "b": 1}))).unwrap();
        assert_eq!(
            patch,
            vec![
                ("a".to_owned(), None),
                ("b".to_owned(), Some("1".to_owned()))
            ]
        );
        assert!(config_patch(object(json!({"a": {}}))).is_err());
    }

    #[test]
    fn flags_read_as_jax_rs_booleans() {
        let params = QueryParams(vec![
            ("includeTasks".to_owned(), "TRUE".to_owned()),
            ("onlyFailed".to_owned(), "yes".to_owned()),
        ]);
        assert!(params.flag("includeTasks", false));
        assert!(!params.flag("onlyFailed", true));
        assert!(params.flag("absent", true));
    }

    #[test]
    fn a_task_that_is_not_a_number_is_not_found() {
        assert_eq!(task_number("3").unwrap(), 3);
        assert_eq!(
            task_number("x").unwrap_err(),
            ApiError::Status(StatusCode::NOT_FOUND, "HTTP 404 Not Found".to_owned())
        );
    }
}
