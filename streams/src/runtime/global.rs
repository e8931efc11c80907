//! The global stores' consumer: loads every global table from its topic's
//! start before the stream threads run, then follows the topics until
//! shutdown.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Message, Offset, TopicPartitionList};

use super::Shared;
use crate::config::StreamsConfig;
use crate::error::{Result, StreamsError};
use crate::global::GlobalStores;

/// How long loading a global table may take before start() gives up.
const LOAD_TIMEOUT: Duration = Duration::from_secs(300);

/// Loads the global stores and starts the thread that keeps them current;
/// `None` when the topology has no global table.
///
/// # Errors
/// A topic that cannot be read to its end in time.
pub(crate) fn start(
    config: &StreamsConfig,
    globals: GlobalStores,
    shared: Arc<Shared>,
) -> Result<Option<JoinHandle<()>>> {
    if globals.is_empty() {
        return Ok(None);
    }
    let consumer: BaseConsumer = super::setup::restore_consumer_config(config, 0)
        .set(
            "client.id",
            format!("{}-GlobalStreamThread-consumer", config.application_id),
        )
        .create()
        .map_err(|e| StreamsError::kafka("creating the global consumer", e))?;
    let mut tpl = TopicPartitionList::new();
    let mut ends: Vec<(String, i32, i64)> = Vec::new();
    for store in globals.iter() {
        let metadata = consumer
            .fetch_metadata(Some(&store.topic), Duration::from_secs(30))
            .map_err(|e| {
                StreamsError::kafka(format!("reading the partitions of {}", store.topic), e)
            })?;
        for t in metadata.topics() {
            for p in t.partitions() {
                let (low, high) = consumer
                    .fetch_watermarks(&store.topic, p.id(), Duration::from_secs(30))
                    .map_err(|e| {
                        StreamsError::kafka(format!("reading the end of {}", store.topic), e)
                    })?;
                tpl.add_partition_offset(&store.topic, p.id(), Offset::Beginning)
                    .map_err(|e| StreamsError::kafka("global assignment", e))?;
                if high > low {
                    ends.push((store.topic.clone(), p.id(), high));
                }
            }
        }
    }
    consumer
        .assign(&tpl)
        .map_err(|e| StreamsError::kafka("assigning the global topics", e))?;
    drop(tpl);
    let deadline = Instant::now() + LOAD_TIMEOUT;
    let mut loaded = 0u64;
    while !ends.is_empty() {
        if Instant::now() > deadline {
            return Err(StreamsError::kafka(
                "loading global tables",
                format!("not at the end of {:?} after {LOAD_TIMEOUT:?}", ends),
            ));
        }
        let Some(m) = consumer.poll(Duration::from_millis(100)) else {
            continue;
        };
        let m = m.map_err(|e| StreamsError::kafka("loading global tables", e))?;
        if let Some(store) = globals.for_topic(m.topic()) {
            store.apply(m.key(), m.payload());
            loaded += 1;
        }
        let (topic, partition, offset) = (m.topic().to_string(), m.partition(), m.offset());
        ends.retain(|(t, p, high)| !(t == &topic && *p == partition && offset + 1 >= *high));
    }
    tracing::info!(records = loaded, "global tables loaded");
    let handle = std::thread::Builder::new()
        .name(format!("{}-GlobalStreamThread", config.application_id))
        .spawn(move || {
            while !shared.shutdown.load(Ordering::SeqCst) {
                match consumer.poll(Duration::from_millis(100)) {
                    Some(Ok(m)) => {
                        if let Some(store) = globals.for_topic(m.topic()) {
                            store.apply(m.key(), m.payload());
                        }
                    }
                    Some(Err(e)) => tracing::warn!(error = %e, "global consumer"),
                    None => {}
                }
            }
            if let Err(e) =
                fjord_core::close_consumer(consumer, "global consumer", Duration::from_secs(10))
            {
                tracing::warn!(error = %e, "closing the global consumer");
            }
        })
        .map_err(|e| StreamsError::IllegalState(format!("cannot start the global thread: {e}")))?;
    Ok(Some(handle))
}
