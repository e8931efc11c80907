//! DeleteTopics: by name (all versions) or by topic id (v6).

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::{DeleteTopicsRequest, DeleteTopicsResponse, TopicName};
use kafka_protocol::protocol::StrBytes;

use super::RequestContext;
use crate::topics::task_failed;

/// Handles a DeleteTopics request.
pub async fn handle(ctx: &RequestContext<'_>, req: DeleteTopicsRequest) -> DeleteTopicsResponse {
    let state = ctx.state.clone();
    let mut targets: Vec<(Option<TopicName>, uuid::Uuid)> = req
        .topic_names
        .into_iter()
        .map(|n| (Some(n), uuid::Uuid::nil()))
        .collect();
    targets.extend(req.topics.into_iter().map(|t| (t.name, t.topic_id)));
    let asked = targets.clone();
    let work = move || {
        let results = targets
            .into_iter()
            .map(|(name, id)| {
                let mut r = DeletableTopicResult::default()
                    .with_name(name.clone())
                    .with_topic_id(id);
                let topic = match &name {
                    Some(n) => state.topics.get(n),
                    None => state.topics.get_by_id(id),
                };
                match topic {
                    None => {
                        r.error_code = if name.is_some() {
                            ResponseError::UnknownTopicOrPartition.code()
                        } else {
                            ResponseError::UnknownTopicId.code()
                        };
                    }
                    Some(topic) => {
                        r.name = Some(TopicName(StrBytes::from_string(topic.name.clone())));
                        r.topic_id = topic.id;
                        if let Err(e) = state.topics.delete(&topic.name) {
                            r.error_code = e.code.code();
                            r.error_message = Some(StrBytes::from_string(e.message));
                        }
                    }
                }
                r
            })
            .collect();
        DeleteTopicsResponse::default().with_responses(results)
    };
    match ctx.state.topics.io().run(work).await {
        Ok(response) => response,
        Err(e) => {
            let (code, message) = task_failed("DeleteTopics", &e);
            let results = asked
                .into_iter()
                .map(|(name, id)| {
                    DeletableTopicResult::default()
                        .with_name(name)
                        .with_topic_id(id)
                        .with_error_code(code.code())
                        .with_error_message(Some(StrBytes::from_string(message.clone())))
                })
                .collect();
            DeleteTopicsResponse::default().with_responses(results)
        }
    }
}
