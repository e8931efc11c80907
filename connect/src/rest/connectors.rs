//! `/connectors` and `/connectors/{name}[/config]`: listing, creating, reading, configuring
//! (replace and KIP-477 patch) and deleting connectors, as Kafka's `ConnectorsResource`.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::error::ApiError;
use super::extract::{config_map, config_patch, KafkaJson, KafkaPath, QueryParams};
use super::AppState;
use crate::config::ConfigMap;
use crate::herder::{ConnectorInfo, Created, HerderError, TargetState};

/// `GET /connectors`: the names, or with `?expand=status` / `?expand=info` (repeatable)
/// `{name: {"status": ..., "info": ...}}`. A connector deleted while the answer is built is
/// left out; an unknown expansion is ignored, as Kafka does.
pub(crate) async fn list(
    State(state): State<AppState>,
    params: QueryParams,
) -> Result<Response, ApiError> {
    let names = state.herder.connectors().await;
    if !params.contains("expand") {
        return Ok(Json(names).into_response());
    }
    let expansions = params.all("expand");
    let mut out: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    'connectors: for name in names {
        let mut entry = Map::new();
        for expansion in &expansions {
            let value = match *expansion {
                "status" => state.herder.connector_status(&name).await.map(to_json),
                "info" => state.herder.connector_info(&name).await.map(to_json),
                other => {
                    tracing::debug!(expansion = other, "ignoring unknown expansion type");
                    continue;
                }
            };
            match value {
                Ok(v) => {
                    entry.insert((*expansion).to_owned(), v);
                }
                Err(HerderError::NotFound(_)) => continue 'connectors,
                Err(e) => return Err(e.into()),
            }
        }
        out.insert(name, entry);
    }
    Ok(Json(out).into_response())
}

fn to_json<T: serde::Serialize>(value: T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// `POST /connectors`'s body. Fields are loose so that every mistake is a 400 with a
/// message, not a serde error about a missing field.
#[derive(Debug, Deserialize)]
pub(crate) struct CreateBody {
    name: Option<String>,
    config: Option<Map<String, Value>>,
    initial_state: Option<String>,
}

/// KIP-980's `initial_state`: `RUNNING`, `PAUSED` or `STOPPED`, in any case.
fn initial_state(raw: &str) -> Result<TargetState, ApiError> {
    match raw.to_ascii_uppercase().as_str() {
        "RUNNING" => Ok(TargetState::Started),
        "PAUSED" => Ok(TargetState::Paused),
        "STOPPED" => Ok(TargetState::Stopped),
        _ => Err(ApiError::bad_request(format!(
            "Invalid initial_state {raw}: must be one of RUNNING, PAUSED, STOPPED"
        ))),
    }
}

/// `POST /connectors`: 201 with the connector and a `Location`, 409 when it exists.
pub(crate) async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    KafkaJson(body): KafkaJson<CreateBody>,
) -> Result<Response, ApiError> {
    // Kafka trims the name and takes a missing one as empty.
    let name = body.name.as_deref().unwrap_or_default().trim().to_owned();
    let Some(config) = body.config else {
        return Err(ApiError::bad_request("Connector config must be specified"));
    };
    let mut config = config_map(config)?;
    check_and_put_name(&name, &mut config)?;
    require_name(&name)?;
    let initial = body
        .initial_state
        .as_deref()
        .map(initial_state)
        .transpose()?;
    let created = state
        .herder
        .put_connector_config(&name, config, false, initial)
        .await?;
    Ok(created_response(&headers, &name, created.info))
}

/// Kafka's `checkAndPutConnectorConfigName`: a `name` key must match; a missing one is set.
fn check_and_put_name(name: &str, config: &mut ConfigMap) -> Result<(), ApiError> {
    match config.get("name") {
        Some(included) if included != name => Err(ApiError::bad_request(format!(
            "Connector name configuration ({included}) doesn't match connector name in the URL ({name})"
        ))),
        Some(_) => Ok(()),
        None => {
            config.insert("name".to_owned(), name.to_owned());
            Ok(())
        }
    }
}

/// Kafka's herder answer for an empty name (its `name` validator fails).
fn require_name(name: &str) -> Result<(), ApiError> {
    if name.is_empty() {
        return Err(ApiError::bad_request(
            "Connector configuration is invalid and contains the following 1 error(s):\n\
             Invalid value  for configuration name: String must be non-empty\n\
             You can also find the above list of errors at the endpoint \
             `/connector-plugins/{connectorType}/config/validate`",
        ));
    }
    Ok(())
}

/// 201 with `Location: http://<host>/connectors/<name>` (JAX-RS makes it absolute).
fn created_response(headers: &HeaderMap, name: &str, info: ConnectorInfo) -> Response {
    let mut response = (StatusCode::CREATED, Json(info)).into_response();
    let location = location(headers, &format!("/connectors/{}", encode_segment(name)));
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// `path` made absolute against the request's `Host`, or left relative without one.
pub(crate) fn location(headers: &HeaderMap, path: &str) -> String {
    match headers.get(header::HOST).and_then(|h| h.to_str().ok()) {
        Some(host) => format!("http://{host}{path}"),
        None => path.to_owned(),
    }
}

/// Percent-encodes a path segment (everything but RFC 3986's unreserved characters).
fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `GET /connectors/{name}`.
pub(crate) async fn info(
    State(state): State<AppState>,
    KafkaPath(name): KafkaPath<String>,
) -> Result<Json<ConnectorInfo>, ApiError> {
    Ok(Json(state.herder.connector_info(&name).await?))
}

/// `DELETE /connectors/{name}`: 204.
pub(crate) async fn delete(
    State(state): State<AppState>,
    KafkaPath(name): KafkaPath<String>,
) -> Result<StatusCode, ApiError> {
    state.herder.delete_connector(&name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /connectors/{name}/config`.
pub(crate) async fn get_config(
    State(state): State<AppState>,
    KafkaPath(name): KafkaPath<String>,
) -> Result<Json<ConfigMap>, ApiError> {
    Ok(Json(state.herder.connector_config(&name).await?))
}

/// `PUT /connectors/{name}/config`: 201 (with `Location`) when created, 200 when updated.
pub(crate) async fn put_config(
    State(state): State<AppState>,
    headers: HeaderMap,
    KafkaPath(name): KafkaPath<String>,
    KafkaJson(body): KafkaJson<Map<String, Value>>,
) -> Result<Response, ApiError> {
    let mut config = config_map(body)?;
    check_and_put_name(&name, &mut config)?;
    let created = state
        .herder
        .put_connector_config(&name, config, true, None)
        .await?;
    Ok(updated_response(&headers, &name, created))
}

fn updated_response(headers: &HeaderMap, name: &str, created: Created) -> Response {
    if created.created {
        created_response(headers, name, created.info)
    } else {
        Json(created.info).into_response()
    }
}

/// `PATCH /connectors/{name}/config` (KIP-477): the patch merged into the current config,
/// `null` values removing keys; 404 when the connector does not exist, 200 with the result.
///
/// The read and the write are two herder calls: a connector deleted between them is created
/// again with the patched config.
pub(crate) async fn patch_config(
    State(state): State<AppState>,
    KafkaPath(name): KafkaPath<String>,
    KafkaJson(body): KafkaJson<Map<String, Value>>,
) -> Result<Json<ConnectorInfo>, ApiError> {
    let patch = config_patch(body)?;
    let mut config = state.herder.connector_config(&name).await?;
    for (key, value) in patch {
        match value {
            Some(v) => config.insert(key, v),
            None => config.remove(&key),
        };
    }
    check_and_put_name(&name, &mut config)?;
    let created = state
        .herder
        .put_connector_config(&name, config, true, None)
        .await?;
    Ok(Json(created.info))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_percent_encoded() {
        assert_eq!(encode_segment("local-file.sink_1~"), "local-file.sink_1~");
        assert_eq!(encode_segment("a b/c"), "a%20b%2Fc");
    }

    #[test]
    fn a_name_key_must_match_and_is_added_when_missing() {
        let mut config = ConfigMap::new();
        check_and_put_name("a", &mut config).unwrap();
        assert_eq!(config["name"], "a");
        config.insert("name".to_owned(), "b".to_owned());
        let error = check_and_put_name("a", &mut config).unwrap_err();
        assert_eq!(
            error,
            ApiError::bad_request(
                "Connector name configuration (b) doesn't match connector name in the URL (a)"
            )
        );
    }

    #[test]
    fn initial_states_are_kafkas_names() {
        assert_eq!(initial_state("running").unwrap(), TargetState::Started);
        assert_eq!(initial_state("PAUSED").unwrap(), TargetState::Paused);
        assert_eq!(initial_state("STOPPED").unwrap(), TargetState::Stopped);
        assert!(initial_state("STARTED").is_err());
    }
}
