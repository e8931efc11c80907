//! InitProducerId: a producer id and epoch for idempotent (and, later, transactional) producers.
//!
//! A producer that already has an id and asks again with it (KIP-360) gets the same id with
//! the epoch bumped, which resets its sequence numbers. Allocation is async: when a block of
//! ids runs out, its successor is reserved durably on the blocking pool, never on this thread.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{InitProducerIdRequest, InitProducerIdResponse, ProducerId};

use super::RequestContext;

/// Handles an InitProducerId request.
pub async fn handle(
    ctx: &RequestContext<'_>,
    req: InitProducerIdRequest,
) -> InitProducerIdResponse {
    let state = ctx.state;
    let mut r = InitProducerIdResponse::default()
        .with_producer_id(ProducerId(-1))
        .with_producer_epoch(-1);
    if req.transactional_id.as_ref().is_some_and(|t| t.is_empty()) {
        // Kafka's rule: null means idempotent only; an empty transactional id is an error.
        r.error_code = ResponseError::InvalidRequest.code();
        return r;
    }
    if req.transactional_id.is_some()
        && (req.transaction_timeout_ms <= 0
            || req.transaction_timeout_ms > state.config.transaction_max_timeout_ms)
    {
        r.error_code = ResponseError::InvalidTransactionTimeout.code();
        return r;
    }
    let allocated = match (&req.transactional_id, req.producer_id.0) {
        (Some(txn), _) => state.producer_ids.for_transactional_id(txn).await,
        (None, pid) if pid >= 0 && req.producer_epoch >= 0 && req.producer_epoch < i16::MAX - 1 => {
            Ok((pid, req.producer_epoch + 1))
        }
        (None, _) => state.producer_ids.allocate().await.map(|id| (id, 0)),
    };
    match allocated {
        Ok((pid, epoch)) => {
            r.producer_id = ProducerId(pid);
            r.producer_epoch = epoch;
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot allocate a producer id");
            r.error_code = ResponseError::KafkaStorageError.code();
        }
    }
    r
}
