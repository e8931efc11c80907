//! CreateTopics: validate names, partition counts, replication and configs; honour
//! `validate_only`; -1 partitions or replication factor means the broker default (KIP-464).

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::create_topics_response::{
    CreatableTopicConfigs, CreatableTopicResult,
};
use kafka_protocol::messages::{CreateTopicsRequest, CreateTopicsResponse};
use kafka_protocol::protocol::StrBytes;

use super::RequestContext;
use crate::state::BrokerState;
use crate::topics::{task_failed, validate_topic_name, TopicConfig, TopicError};

/// Handles a CreateTopics request.
pub async fn handle(ctx: &RequestContext<'_>, req: CreateTopicsRequest) -> CreateTopicsResponse {
    let state = ctx.state.clone();
    let asked: Vec<_> = req.topics.iter().map(|t| t.name.clone()).collect();
    let work = move || {
        let mut seen = std::collections::HashSet::new();
        let results = req
            .topics
            .into_iter()
            .map(|t| {
                let duplicate = !seen.insert(t.name.to_string());
                create_one(&state, t, req.validate_only, duplicate)
            })
            .collect();
        CreateTopicsResponse::default().with_topics(results)
    };
    match ctx.state.topics.io().run(work).await {
        Ok(response) => response,
        Err(e) => {
            let (code, message) = task_failed("CreateTopics", &e);
            let results = asked
                .into_iter()
                .map(|name| {
                    CreatableTopicResult::default()
                        .with_name(name)
                        .with_error_code(code.code())
                        .with_error_message(Some(StrBytes::from_string(message.clone())))
                        .with_num_partitions(-1)
                        .with_replication_factor(-1)
                })
                .collect();
            CreateTopicsResponse::default().with_topics(results)
        }
    }
}

fn create_one(
    state: &BrokerState,
    t: CreatableTopic,
    validate_only: bool,
    duplicate: bool,
) -> CreatableTopicResult {
    let mut result = CreatableTopicResult::default()
        .with_name(t.name.clone())
        .with_num_partitions(-1)
        .with_replication_factor(-1);
    let outcome = (|| -> Result<(), TopicError> {
        if duplicate {
            return Err(TopicError::new(
                ResponseError::InvalidRequest,
                format!("topic '{}' appears twice in the request", &*t.name),
            ));
        }
        validate_topic_name(&t.name)
            .map_err(|m| TopicError::new(ResponseError::InvalidTopicException, m))?;
        let partitions = if !t.assignments.is_empty() {
            if t.assignments
                .iter()
                .any(|a| a.broker_ids.iter().any(|b| b.0 != state.config.node_id))
            {
                return Err(TopicError::new(
                    ResponseError::InvalidReplicaAssignment,
                    "replica assignment names a broker that does not exist",
                ));
            }
            t.assignments.len() as i32
        } else if t.num_partitions == -1 {
            state.config.num_partitions
        } else {
            t.num_partitions
        };
        if partitions < 1 {
            return Err(TopicError::new(
                ResponseError::InvalidPartitions,
                format!("number of partitions must be at least 1, not {partitions}"),
            ));
        }
        if t.assignments.is_empty() && !(t.replication_factor == -1 || t.replication_factor == 1) {
            return Err(TopicError::new(
                ResponseError::InvalidReplicationFactor,
                format!(
                    "replication factor {} is larger than the 1 broker available",
                    t.replication_factor
                ),
            ));
        }
        let pairs: Vec<(String, String)> = t
            .configs
            .iter()
            .filter_map(|c| {
                c.value
                    .as_ref()
                    .map(|v| (c.name.to_string(), v.to_string()))
            })
            .collect();
        let config = TopicConfig::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .map_err(|m| TopicError::new(ResponseError::InvalidConfig, m))?;
        if state.topics.get(&t.name).is_some() {
            return Err(TopicError::new(
                ResponseError::TopicAlreadyExists,
                format!("topic '{}' already exists", &*t.name),
            ));
        }
        result.num_partitions = partitions;
        result.replication_factor = 1;
        result.configs = Some(
            config
                .describe(state.topics.log_defaults())
                .into_iter()
                .map(|e| {
                    CreatableTopicConfigs::default()
                        .with_name(StrBytes::from_static_str(e.name))
                        .with_value(Some(StrBytes::from_string(e.value)))
                        .with_config_source(if e.is_default { 5 } else { 1 })
                })
                .collect(),
        );
        if !validate_only {
            let topic = state.topics.create(&t.name, partitions, config)?;
            result.topic_id = topic.id;
        }
        Ok(())
    })();
    if let Err(e) = outcome {
        result.error_code = e.code.code();
        result.error_message = Some(StrBytes::from_string(e.message));
        result.num_partitions = -1;
        result.replication_factor = -1;
        result.configs = None;
    }
    result
}
