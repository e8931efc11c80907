//! DescribeConfigs, AlterConfigs and IncrementalAlterConfigs for topics (and, read-only, for
//! this broker).
//!
//! IncrementalAlterConfigs applies SET (0), DELETE (1), APPEND (2) and SUBTRACT (3); APPEND and
//! SUBTRACT only apply to list-valued keys such as `cleanup.policy`. AlterConfigs replaces the
//! topic's whole set of overrides. Every change is validated before anything is applied, and
//! `validate_only` applies nothing.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym,
};
use kafka_protocol::messages::{
    alter_configs_response, incremental_alter_configs_response, AlterConfigsRequest,
    AlterConfigsResponse, DescribeConfigsRequest, DescribeConfigsResponse,
    IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse,
};
use kafka_protocol::protocol::StrBytes;

use super::RequestContext;
use crate::state::BrokerState;
use crate::topics::{config as topic_config, task_failed, unknown_topic, TopicConfig, TopicError};

const TOPIC: i8 = 2;
const BROKER: i8 = 4;
const SOURCE_TOPIC: i8 = 1;
const SOURCE_STATIC_BROKER: i8 = 4;
const SOURCE_DEFAULT: i8 = 5;

/// Handles a DescribeConfigs request.
pub fn describe(ctx: &RequestContext<'_>, req: DescribeConfigsRequest) -> DescribeConfigsResponse {
    let state = ctx.state;
    let results = req
        .resources
        .into_iter()
        .map(|res| {
            let mut out = DescribeConfigsResult::default()
                .with_resource_type(res.resource_type)
                .with_resource_name(res.resource_name.clone());
            let rows = match res.resource_type {
                TOPIC => match state.topics.get(&res.resource_name) {
                    Some(topic) => Ok(topic
                        .config()
                        .describe(state.topics.log_defaults())
                        .into_iter()
                        .map(|e| {
                            let source = if e.is_default {
                                SOURCE_DEFAULT
                            } else {
                                SOURCE_TOPIC
                            };
                            (e.name.to_string(), e.value, source, false, e.kind_code)
                        })
                        .collect::<Vec<_>>()),
                    None => Err(unknown_topic(&res.resource_name)),
                },
                BROKER => broker_rows(state, &res.resource_name),
                other => Err(TopicError::new(
                    ResponseError::InvalidRequest,
                    format!("resource type {other} is not supported"),
                )),
            };
            match rows {
                Ok(rows) => {
                    out.configs = rows
                        .into_iter()
                        .filter(|(name, ..)| {
                            res.configuration_keys
                                .as_ref()
                                .is_none_or(|keys| keys.iter().any(|k| k.as_str() == name))
                        })
                        .map(|(name, value, source, read_only, kind)| {
                            let name = StrBytes::from_string(name);
                            let value = Some(StrBytes::from_string(value));
                            let synonyms = if req.include_synonyms {
                                vec![DescribeConfigsSynonym::default()
                                    .with_name(name.clone())
                                    .with_value(value.clone())
                                    .with_source(source)]
                            } else {
                                Vec::new()
                            };
                            DescribeConfigsResourceResult::default()
                                .with_name(name)
                                .with_value(value)
                                .with_read_only(read_only)
                                .with_config_source(source)
                                .with_synonyms(synonyms)
                                .with_config_type(kind)
                        })
                        .collect();
                }
                Err(e) => {
                    out.error_code = e.code.code();
                    out.error_message = Some(StrBytes::from_string(e.message));
                }
            }
            out
        })
        .collect();
    DescribeConfigsResponse::default().with_results(results)
}

type Row = (String, String, i8, bool, i8);

fn broker_rows(state: &BrokerState, name: &str) -> Result<Vec<Row>, TopicError> {
    if !(name.is_empty() || name == state.config.node_id.to_string()) {
        return Err(TopicError::new(
            ResponseError::InvalidRequest,
            format!(
                "broker '{name}' does not exist; this is broker {}",
                state.config.node_id
            ),
        ));
    }
    let c = &state.config;
    let d = &c.log_defaults;
    let rows = [
        ("broker.id", c.node_id.to_string(), 3),
        ("node.id", c.node_id.to_string(), 3),
        ("log.dirs", c.data_dir.display().to_string(), 2),
        ("num.partitions", c.num_partitions.to_string(), 3),
        (
            "auto.create.topics.enable",
            c.auto_create_topics.to_string(),
            1,
        ),
        ("default.replication.factor", "1".to_string(), 4),
        ("log.retention.ms", d.retention_ms.to_string(), 5),
        ("log.retention.bytes", d.retention_bytes.to_string(), 5),
        ("log.segment.bytes", d.segment_bytes.to_string(), 3),
        ("log.roll.ms", d.segment_ms.to_string(), 5),
        ("message.max.bytes", d.max_message_bytes.to_string(), 3),
        (
            "socket.request.max.bytes",
            c.max_request_bytes.to_string(),
            3,
        ),
        ("max.connections", c.max_connections.to_string(), 3),
        (
            "transaction.max.timeout.ms",
            c.transaction_max_timeout_ms.to_string(),
            3,
        ),
    ];
    Ok(rows
        .into_iter()
        .map(|(k, v, kind)| (k.to_string(), v, SOURCE_STATIC_BROKER, true, kind))
        .collect())
}

/// One requested change: (key, operation, value).
type Change = (String, i8, Option<String>);

const SET: i8 = 0;
const DELETE: i8 = 1;
const APPEND: i8 = 2;
const SUBTRACT: i8 = 3;

/// Applies changes to a copy of a topic's config.
fn apply(mut config: TopicConfig, changes: &[Change]) -> Result<TopicConfig, TopicError> {
    let invalid = |m: String| TopicError::new(ResponseError::InvalidConfig, m);
    for (key, op, value) in changes {
        match *op {
            SET => {
                let v = value
                    .as_deref()
                    .ok_or_else(|| invalid(format!("SET of '{key}' needs a value")))?;
                topic_config::validate(key, v).map_err(invalid)?;
                config.overrides.insert(key.clone(), v.trim().to_string());
            }
            DELETE => {
                topic_config::validate(key, "0")
                    .or_else(|e| {
                        if e.starts_with("unknown") {
                            Err(e)
                        } else {
                            Ok(())
                        }
                    })
                    .map_err(invalid)?;
                config.overrides.remove(key);
            }
            APPEND | SUBTRACT => {
                if !topic_config::is_list(key) {
                    return Err(invalid(format!(
                        "'{key}' is not a list config; APPEND and SUBTRACT need one"
                    )));
                }
                let v = value.as_deref().unwrap_or_default();
                let current = config.overrides.get(key).cloned().unwrap_or_default();
                let mut items: Vec<String> = current
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect();
                for item in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    if *op == APPEND {
                        if !items.iter().any(|i| i == item) {
                            items.push(item.to_string());
                        }
                    } else {
                        items.retain(|i| i != item);
                    }
                }
                let joined = items.join(",");
                if joined.is_empty() {
                    config.overrides.remove(key);
                } else {
                    topic_config::validate(key, &joined).map_err(invalid)?;
                    config.overrides.insert(key.clone(), joined);
                }
            }
            other => return Err(invalid(format!("unknown config operation {other}"))),
        }
    }
    Ok(config)
}

/// Validates and (unless `validate_only`) applies changes to one resource.
fn alter_resource(
    state: &BrokerState,
    resource_type: i8,
    name: &str,
    changes: &[Change],
    replace: bool,
    validate_only: bool,
) -> Result<(), TopicError> {
    match resource_type {
        TOPIC => {}
        BROKER => {
            return Err(TopicError::new(
                ResponseError::InvalidRequest,
                "broker configs are static; set them in server.properties and restart",
            ))
        }
        other => {
            return Err(TopicError::new(
                ResponseError::InvalidRequest,
                format!("resource type {other} is not supported"),
            ))
        }
    }
    let topic = state.topics.get(name).ok_or_else(|| unknown_topic(name))?;
    let base = if replace {
        TopicConfig::default()
    } else {
        topic.config()
    };
    let new = apply(base, changes)?;
    if !validate_only {
        topic.set_config(new, state.topics.log_defaults())?;
    }
    Ok(())
}

fn error_parts(r: Result<(), TopicError>) -> (i16, Option<StrBytes>) {
    match r {
        Ok(()) => (0, None),
        Err(e) => (e.code.code(), Some(StrBytes::from_string(e.message))),
    }
}

/// Handles an AlterConfigs request (replaces the topic's overrides).
pub async fn alter(ctx: &RequestContext<'_>, req: AlterConfigsRequest) -> AlterConfigsResponse {
    let state = ctx.state.clone();
    let asked: Vec<_> = req
        .resources
        .iter()
        .map(|r| (r.resource_type, r.resource_name.clone()))
        .collect();
    let work = move || {
        let responses = req
            .resources
            .into_iter()
            .map(|res| {
                let changes: Vec<Change> = res
                    .configs
                    .iter()
                    .filter_map(|c| {
                        c.value
                            .as_ref()
                            .map(|v| (c.name.to_string(), SET, Some(v.to_string())))
                    })
                    .collect();
                let (code, msg) = error_parts(alter_resource(
                    &state,
                    res.resource_type,
                    &res.resource_name,
                    &changes,
                    true,
                    req.validate_only,
                ));
                tracing::debug!(resource = %res.resource_name, ?changes, code, "AlterConfigs");
                alter_configs_response::AlterConfigsResourceResponse::default()
                    .with_error_code(code)
                    .with_error_message(msg)
                    .with_resource_type(res.resource_type)
                    .with_resource_name(res.resource_name)
            })
            .collect();
        AlterConfigsResponse::default().with_responses(responses)
    };
    match ctx.state.topics.io().run(work).await {
        Ok(response) => response,
        Err(e) => {
            let (code, message) = task_failed("AlterConfigs", &e);
            let responses = asked
                .into_iter()
                .map(|(kind, name)| {
                    alter_configs_response::AlterConfigsResourceResponse::default()
                        .with_error_code(code.code())
                        .with_error_message(Some(StrBytes::from_string(message.clone())))
                        .with_resource_type(kind)
                        .with_resource_name(name)
                })
                .collect();
            AlterConfigsResponse::default().with_responses(responses)
        }
    }
}

/// Handles an IncrementalAlterConfigs request.
pub async fn incremental_alter(
    ctx: &RequestContext<'_>,
    req: IncrementalAlterConfigsRequest,
) -> IncrementalAlterConfigsResponse {
    let state = ctx.state.clone();
    let asked: Vec<_> = req
        .resources
        .iter()
        .map(|r| (r.resource_type, r.resource_name.clone()))
        .collect();
    let work = move || {
        let responses = req
            .resources
            .into_iter()
            .map(|res| {
                let changes: Vec<Change> = res
                    .configs
                    .iter()
                    .map(|c| {
                        (
                            c.name.to_string(),
                            c.config_operation,
                            c.value.as_ref().map(|v| v.to_string()),
                        )
                    })
                    .collect();
                let (code, msg) = error_parts(alter_resource(
                    &state,
                    res.resource_type,
                    &res.resource_name,
                    &changes,
                    false,
                    req.validate_only,
                ));
                incremental_alter_configs_response::AlterConfigsResourceResponse::default()
                    .with_error_code(code)
                    .with_error_message(msg)
                    .with_resource_type(res.resource_type)
                    .with_resource_name(res.resource_name)
            })
            .collect();
        IncrementalAlterConfigsResponse::default().with_responses(responses)
    };
    match ctx.state.topics.io().run(work).await {
        Ok(response) => response,
        Err(e) => {
            let (code, message) = task_failed("IncrementalAlterConfigs", &e);
            let responses = asked
                .into_iter()
                .map(|(kind, name)| {
                    incremental_alter_configs_response::AlterConfigsResourceResponse::default()
                        .with_error_code(code.code())
                        .with_error_message(Some(StrBytes::from_string(message.clone())))
                        .with_resource_type(kind)
                        .with_resource_name(name)
                })
                .collect();
            IncrementalAlterConfigsResponse::default().with_responses(responses)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(k: &str, op: i8, v: Option<&str>) -> Change {
        (k.to_string(), op, v.map(String::from))
    }

    #[test]
    fn incremental_operations() {
        let c = apply(
            TopicConfig::default(),
            &[change("retention.ms", SET, Some("1000"))],
        )
        .unwrap();
        assert_eq!(c.overrides["retention.ms"], "1000");
        let c = apply(c, &[change("cleanup.policy", APPEND, Some("compact"))]).unwrap();
        assert_eq!(c.overrides["cleanup.policy"], "compact");
        let c = apply(c, &[change("cleanup.policy", APPEND, Some("delete"))]).unwrap();
        assert_eq!(c.overrides["cleanup.policy"], "compact,delete");
        let c = apply(c, &[change("cleanup.policy", SUBTRACT, Some("compact"))]).unwrap();
        assert_eq!(c.overrides["cleanup.policy"], "delete");
        let c = apply(c, &[change("retention.ms", DELETE, None)]).unwrap();
        assert!(!c.overrides.contains_key("retention.ms"));
        assert!(apply(c.clone(), &[change("retention.ms", APPEND, Some("1"))]).is_err());
        assert!(apply(c.clone(), &[change("nope", SET, Some("1"))]).is_err());
        assert!(apply(c.clone(), &[change("retention.ms", SET, None)]).is_err());
        assert!(apply(c, &[change("retention.ms", 9, Some("1"))]).is_err());
    }
}
