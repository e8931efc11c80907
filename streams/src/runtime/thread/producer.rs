//! The thread's producer side: what delivery reports tell, and the collector
//! through which tasks send their records.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, ProducerContext};
use rdkafka::{ClientContext, Message};

use super::FLUSH_TIMEOUT;
use crate::error::{Result, StreamsError};
use crate::processor::RecordCollector;
use crate::record::OutputRecord;

/// What delivery reports tell: failures, kept until the next commit looks
/// at them, and the highest acknowledged offset per changelog partition,
/// which checkpoints record.
///
/// The reports run inside this thread's producer `poll`/`flush`, so the
/// mutexes are never contended; they are there because the context must be
/// `Sync`.
#[derive(Default)]
pub(crate) struct ProducerState {
    pub(super) failures: Mutex<Vec<String>>,
    /// Changelog topic -> partition -> highest acknowledged offset. Only the
    /// topics given at creation are tracked, so an output record costs one
    /// map lookup by `&str` and no allocation.
    acked: Mutex<HashMap<String, HashMap<i32, i64>>>,
}

impl ProducerState {
    pub(super) fn tracking(changelogs: impl IntoIterator<Item = String>) -> Self {
        ProducerState {
            failures: Mutex::default(),
            acked: Mutex::new(
                changelogs
                    .into_iter()
                    .map(|t| (t, HashMap::new()))
                    .collect(),
            ),
        }
    }

    /// The highest acknowledged offset of `topic`-`partition`, if any.
    pub(super) fn acked(&self, topic: &str, partition: i32) -> Option<i64> {
        self.acked
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(topic)
            .and_then(|parts| parts.get(&partition).copied())
    }
}

impl ClientContext for ProducerState {}

impl ProducerContext for ProducerState {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(m) => {
                let mut acked = self.acked.lock().unwrap_or_else(|p| p.into_inner());
                if let Some(parts) = acked.get_mut(m.topic()) {
                    let at = parts.entry(m.partition()).or_insert(m.offset());
                    *at = (*at).max(m.offset());
                }
            }
            Err((e, m)) => {
                let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
                failures.push(format!("producing to {}: {e}", m.topic()));
            }
        }
    }
}

pub(super) struct Collector<'a> {
    pub producer: &'a BaseProducer<ProducerState>,
}

impl RecordCollector for Collector<'_> {
    fn send(&mut self, record: OutputRecord) -> Result<()> {
        let mut base = BaseRecord::<[u8], [u8]>::to(&record.topic).timestamp(record.timestamp);
        // librdkafka allocates a header list even when empty: only attach one with headers.
        if !record.headers.is_empty() {
            let mut headers = OwnedHeaders::new_with_capacity(record.headers.len());
            for (k, v) in &record.headers {
                headers = headers.insert(Header {
                    key: k,
                    value: v.as_deref(),
                });
            }
            base = base.headers(headers);
        }
        if let Some(k) = record.key.as_deref() {
            base = base.key(k);
        }
        if let Some(v) = record.value.as_deref() {
            base = base.payload(v);
        }
        if let Some(p) = record.partition {
            base = base.partition(p);
        }
        let deadline = Instant::now() + FLUSH_TIMEOUT;
        loop {
            match self.producer.send(base) {
                Ok(()) => return Ok(()),
                Err((
                    rdkafka::error::KafkaError::MessageProduction(
                        rdkafka::types::RDKafkaErrorCode::QueueFull,
                    ),
                    back,
                )) if Instant::now() < deadline => {
                    // Back-pressure: serve delivery reports until there is room.
                    self.producer.poll(Duration::from_millis(10));
                    base = back;
                }
                Err((e, _)) => {
                    return Err(StreamsError::kafka(
                        format!("producing to {}", record.topic),
                        e,
                    ))
                }
            }
        }
    }
}
