//! `/connector-plugins`: the installed plugins and config validation, as Kafka's
//! `ConnectorPluginsResource`.

use axum::extract::State;
use axum::Json;
use serde_json::{Map, Value};

use super::error::ApiError;
use super::extract::{config_map, KafkaJson, KafkaPath, QueryParams};
use super::AppState;
use crate::config::ConfigInfos;
use crate::herder::PluginInfo;

/// `GET /connector-plugins`: connectors only unless `?connectorsOnly=false`.
pub(crate) async fn list(
    State(state): State<AppState>,
    params: QueryParams,
) -> Json<Vec<PluginInfo>> {
    let connectors_only = params.flag("connectorsOnly", true);
    Json(state.herder.plugins(connectors_only).await)
}

/// `PUT /connector-plugins/{plugin}/config/validate`: 200 with every key's errors, even
/// when there are some; 400 when the body's `connector.class` names another plugin.
pub(crate) async fn validate(
    State(state): State<AppState>,
    KafkaPath(plugin): KafkaPath<String>,
    KafkaJson(body): KafkaJson<Map<String, Value>>,
) -> Result<Json<ConfigInfos>, ApiError> {
    let config = config_map(body)?;
    if let Some(included) = config.get("connector.class") {
        if !normalized(included).ends_with(normalized(&plugin)) {
            return Err(ApiError::bad_request(format!(
                "Included connector type {included} does not match request type {plugin}"
            )));
        }
    }
    Ok(Json(state.herder.validate(&plugin, config).await?))
}

/// Kafka's `normalizedPluginName`: the name without a `Connector` suffix, so that full and
/// simple class names compare.
fn normalized(name: &str) -> &str {
    name.strip_suffix("Connector").unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::normalized;

    #[test]
    fn full_and_simple_names_compare_as_kafka_does() {
        let full = "org.apache.kafka.connect.file.FileStreamSinkConnector";
        assert!(normalized(full).ends_with(normalized("FileStreamSinkConnector")));
        assert!(normalized(full).ends_with(normalized("FileStreamSink")));
        assert!(!normalized(full).ends_with(normalized("FileStreamSource")));
    }
}
