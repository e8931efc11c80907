//! Metadata: this broker as the whole cluster, and the topics asked for (all when null;
//! created on the fly when auto-creation is on and the client allows it).

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{BrokerId, MetadataRequest, MetadataResponse, TopicName};
use kafka_protocol::protocol::StrBytes;

use super::RequestContext;
use crate::state::BrokerState;
use crate::topics::{Topic, TopicConfig, TopicError};

/// Handles a Metadata request.
pub async fn handle(ctx: &RequestContext<'_>, req: MetadataRequest) -> MetadataResponse {
    let state = ctx.state;
    let include_topic_ops = req.include_topic_authorized_operations;
    let node = BrokerId(state.config.node_id);
    // v0 asks for every topic with an empty list; v1+ with null.
    let all = match &req.topics {
        None => true,
        Some(list) => list.is_empty() && ctx.version == 0,
    };
    let auto_create =
        state.config.auto_create_topics && (req.allow_auto_topic_creation || ctx.version < 4);
    let topics = if all {
        state
            .topics
            .list()
            .iter()
            .map(|t| describe(t, node))
            .collect()
    } else {
        let asked = req.topics.unwrap_or_default();
        let mut out = Vec::with_capacity(asked.len());
        for t in asked {
            let by_name = t.name.as_ref().and_then(|n| state.topics.get(n));
            let found = by_name.or_else(|| {
                if t.topic_id.is_nil() {
                    None
                } else {
                    state.topics.get_by_id(t.topic_id)
                }
            });
            out.push(match (found, t.name) {
                (Some(topic), _) => describe(&topic, node),
                (None, Some(name)) if auto_create => match auto_create_topic(state, &name).await {
                    Ok(topic) => describe(&topic, node),
                    // Lost a race with another creator: describe what is there now.
                    Err(_) if state.topics.get(&name).is_some() => state
                        .topics
                        .get(&name)
                        .map(|t| describe(&t, node))
                        .unwrap_or_default(),
                    Err(e) => error_topic(Some(name), t.topic_id, e.code),
                },
                (None, name) => {
                    error_topic(name, t.topic_id, ResponseError::UnknownTopicOrPartition)
                }
            });
        }
        out
    };
    let mut topics: Vec<MetadataResponseTopic> = topics;
    let topic_ops = super::operations::if_requested(include_topic_ops, super::operations::TOPIC);
    for t in &mut topics {
        t.topic_authorized_operations = topic_ops;
    }
    let broker = MetadataResponseBroker::default()
        .with_node_id(node)
        .with_host(StrBytes::from_string(state.advertised_host.clone()))
        .with_port(state.advertised_port);
    MetadataResponse::default()
        .with_brokers(vec![broker])
        .with_cluster_id(Some(StrBytes::from_string(state.cluster_id.clone())))
        .with_controller_id(node)
        .with_topics(topics)
        .with_cluster_authorized_operations(super::operations::if_requested(
            req.include_cluster_authorized_operations,
            super::operations::CLUSTER,
        ))
}

/// Creates a topic with the broker defaults, on the blocking pool (it creates and fsyncs
/// files). A panicked task answers UNKNOWN_SERVER_ERROR.
async fn auto_create_topic(
    state: &Arc<BrokerState>,
    name: &TopicName,
) -> Result<Arc<Topic>, TopicError> {
    let st = state.clone();
    let owned = name.to_string();
    let created = state
        .topics
        .io()
        .run(move || {
            st.topics
                .create(&owned, st.config.num_partitions, TopicConfig::default())
        })
        .await;
    created.unwrap_or_else(|e| {
        tracing::error!(api = "Metadata", topic = %&**name, error = %e, "auto-creating a topic failed");
        Err(TopicError::new(ResponseError::UnknownServerError, e.to_string()))
    })
}

fn describe(topic: &Topic, node: BrokerId) -> MetadataResponseTopic {
    let partitions = topic
        .partitions()
        .iter()
        .map(|p| {
            MetadataResponsePartition::default()
                .with_partition_index(p.index)
                .with_leader_id(node)
                .with_leader_epoch(0)
                .with_replica_nodes(vec![node])
                .with_isr_nodes(vec![node])
        })
        .collect();
    MetadataResponseTopic::default()
        .with_name(Some(TopicName(StrBytes::from_string(topic.name.clone()))))
        .with_topic_id(topic.id)
        .with_is_internal(topic.is_internal())
        .with_partitions(partitions)
}

fn error_topic(
    name: Option<TopicName>,
    id: uuid::Uuid,
    code: ResponseError,
) -> MetadataResponseTopic {
    let code = if name.is_some() && code == ResponseError::UnknownTopicOrPartition {
        code
    } else if name.is_none() {
        ResponseError::UnknownTopicId
    } else {
        code
    };
    MetadataResponseTopic::default()
        .with_error_code(code.code())
        .with_name(name)
        .with_topic_id(id)
}
