//! Source and sink nodes: where bytes become typed records and back.

use std::sync::Arc;

use fjord_core::format::SerdeError;

use super::options::{SerdeRef, TimestampExtractor};
use crate::config::DeserializationHandler;
use crate::error::Result;
use crate::processor::{Data, ErasedRecord, Node, NodeContext, ProcessorContext};
use crate::record::{OutputRecord, RawRecord, Record};
use crate::topology::TopicName;

/// Unboxes the raw record a source node receives.
pub(crate) fn raw_record(ctx: &NodeContext<'_, '_>, record: ErasedRecord) -> Result<RawRecord> {
    record
        .downcast::<RawRecord>()
        .map(|r| *r)
        .map_err(|_| ctx.error("internal: a source node got a typed record"))
}

/// Applies the deserialization handler to a record that failed to decode:
/// an error (fail), or `Ok` when it was skipped or dead-lettered.
pub(crate) fn on_bad_record(
    ctx: &mut NodeContext<'_, '_>,
    raw: &RawRecord,
    error: SerdeError,
) -> Result<()> {
    ctx.env.metrics.deserialization_errors += 1;
    match ctx.env.handlers.deserialization.clone() {
        DeserializationHandler::LogAndFail => Err(error.into()),
        DeserializationHandler::LogAndContinue => {
            tracing::warn!(
                topic = %raw.topic, partition = raw.partition, offset = raw.offset, error = %error,
                "skipped a record that cannot be deserialized"
            );
            ctx.env.metrics.dropped_records += 1;
            Ok(())
        }
        DeserializationHandler::DeadLetter(topic) => {
            let mut headers = raw.headers.clone();
            let text = |s: String| Some(s.into_bytes());
            headers.push((
                "__streams.errors.exception".into(),
                text("org.apache.kafka.common.errors.SerializationException".into()),
            ));
            headers.push(("__streams.errors.message".into(), text(error.to_string())));
            headers.push(("__streams.errors.topic".into(), text(raw.topic.clone())));
            headers.push((
                "__streams.errors.partition".into(),
                text(raw.partition.to_string()),
            ));
            headers.push((
                "__streams.errors.offset".into(),
                text(raw.offset.to_string()),
            ));
            ctx.env.collector.send(OutputRecord {
                topic,
                partition: None,
                key: raw.key.clone(),
                value: raw.value.clone(),
                timestamp: raw.timestamp,
                headers,
            })?;
            tracing::warn!(
                topic = %raw.topic, partition = raw.partition, offset = raw.offset, error = %error,
                "sent a record that cannot be deserialized to the dead-letter topic"
            );
            Ok(())
        }
    }
}

/// Advances stream time to `ts`, or drops a record without a valid time.
pub(crate) fn observe_time(ctx: &mut NodeContext<'_, '_>, raw: &RawRecord, ts: i64) -> bool {
    if ts < 0 {
        tracing::warn!(topic = %raw.topic, offset = raw.offset, ts, "dropped a record with a negative timestamp");
        ctx.env.metrics.dropped_records += 1;
        return false;
    }
    if ts > *ctx.env.stream_time {
        *ctx.env.stream_time = ts;
    }
    true
}

/// Reads a stream's records.
pub(crate) struct SourceNode<K, V> {
    pub key: SerdeRef<K>,
    pub value: SerdeRef<V>,
    pub extractor: Option<TimestampExtractor<K, V>>,
}

impl<K: Data, V: Data> Node for SourceNode<K, V> {
    fn process(&mut self, ctx: &mut NodeContext<'_, '_>, record: ErasedRecord) -> Result<()> {
        let raw = raw_record(ctx, record)?;
        let decoded = self
            .key
            .deserialize(&raw.topic, raw.key.as_deref())
            .and_then(|k| Ok((k, self.value.deserialize(&raw.topic, raw.value.as_deref())?)));
        let (key, value) = match decoded {
            Ok(kv) => kv,
            Err(e) => return on_bad_record(ctx, &raw, e),
        };
        let ts = match &self.extractor {
            Some(f) => f(&key, &value, raw.timestamp),
            None => raw.timestamp,
        };
        if !observe_time(ctx, &raw, ts) {
            return Ok(());
        }
        ProcessorContext::new(ctx).forward(Record {
            key,
            value,
            timestamp: ts,
            headers: raw.headers,
        });
        Ok(())
    }
}

/// Picks the topic of each record of a dynamic sink.
pub(crate) type TopicChooser<K, V> = Arc<dyn Fn(&K, &V) -> String + Send + Sync>;

/// Where a sink writes.
pub(crate) enum SinkTarget<K, V> {
    Fixed(TopicName),
    Chooser(TopicChooser<K, V>),
}

impl<K, V> Clone for SinkTarget<K, V> {
    fn clone(&self) -> Self {
        match self {
            SinkTarget::Fixed(t) => SinkTarget::Fixed(t.clone()),
            SinkTarget::Chooser(f) => SinkTarget::Chooser(f.clone()),
        }
    }
}

/// Writes records to a topic.
pub(crate) struct SinkNode<K, V> {
    pub target: SinkTarget<K, V>,
    pub key: SerdeRef<K>,
    pub value: SerdeRef<V>,
    pub resolved: Option<String>,
}

impl<K: Data, V: Data> Node for SinkNode<K, V> {
    fn process(&mut self, ctx: &mut NodeContext<'_, '_>, record: ErasedRecord) -> Result<()> {
        let record = crate::processor::downcast::<K, V>(ctx, record)?;
        let topic = match &self.target {
            SinkTarget::Fixed(name) => self
                .resolved
                .get_or_insert_with(|| name.resolve(ctx.env.application_id))
                .clone(),
            SinkTarget::Chooser(f) => f(&record.key, &record.value),
        };
        let key = self.key.serialize(&topic, &record.key)?;
        let value = self.value.serialize(&topic, &record.value)?;
        ctx.env.collector.send(OutputRecord {
            topic,
            partition: None,
            key,
            value,
            timestamp: record.timestamp,
            headers: record.headers,
        })
    }
}
