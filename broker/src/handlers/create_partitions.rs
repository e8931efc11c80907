//! CreatePartitions: grow a topic's partition count (never shrink it).

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::{CreatePartitionsRequest, CreatePartitionsResponse};
use kafka_protocol::protocol::StrBytes;

use super::RequestContext;
use crate::topics::{task_failed, unknown_topic, TopicError};

/// Handles a CreatePartitions request.
pub async fn handle(
    ctx: &RequestContext<'_>,
    req: CreatePartitionsRequest,
) -> CreatePartitionsResponse {
    let state = ctx.state.clone();
    let asked: Vec<_> = req.topics.iter().map(|t| t.name.clone()).collect();
    let work = move || {
        let results = req
            .topics
            .into_iter()
            .map(|t| {
                let outcome = match state.topics.get(&t.name) {
                    None => Err(unknown_topic(&t.name)),
                    Some(topic) if t.count <= topic.partition_count() => Err(TopicError::new(
                        ResponseError::InvalidPartitions,
                        format!(
                            "topic '{}' already has {} partitions; ask for more than that",
                            topic.name,
                            topic.partition_count()
                        ),
                    )),
                    Some(_) if req.validate_only => Ok(()),
                    Some(topic) => topic.add_partitions(t.count, state.topics.log_defaults()),
                };
                let mut r = CreatePartitionsTopicResult::default().with_name(t.name);
                if let Err(e) = outcome {
                    r.error_code = e.code.code();
                    r.error_message = Some(StrBytes::from_string(e.message));
                }
                r
            })
            .collect();
        CreatePartitionsResponse::default().with_results(results)
    };
    match ctx.state.topics.io().run(work).await {
        Ok(response) => response,
        Err(e) => {
            let (code, message) = task_failed("CreatePartitions", &e);
            let results = asked
                .into_iter()
                .map(|name| {
                    CreatePartitionsTopicResult::default()
                        .with_name(name)
                        .with_error_code(code.code())
                        .with_error_message(Some(StrBytes::from_string(message.clone())))
                })
                .collect();
            CreatePartitionsResponse::default().with_results(results)
        }
    }
}
