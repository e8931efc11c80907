//! Source offsets in the offsets topic (`offset.storage.topic`): key `["<connector>", {partition}]`,
//! value the offset object (a tombstone removes it), the bytes Kafka Connect writes.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use serde_json::Value as Json;

use super::topic_log::{Apply, TopicLog};
use crate::error::Result;
use crate::record::JsonMap;
use crate::runtime::offsets::{connector_entries, offset_key, parse_offset_key, OffsetStore};

type Offsets = Arc<Mutex<BTreeMap<String, JsonMap>>>;

/// The applier for the offsets topic's log.
pub fn applier(offsets: &Offsets) -> Apply {
    let offsets = Arc::clone(offsets);
    Box::new(move |key, value, _, _| {
        let Ok(key) = std::str::from_utf8(key) else {
            return;
        };
        if parse_offset_key(key).is_none() {
            tracing::debug!("offsets topic: a key not in Kafka Connect's format, skipped");
            return;
        }
        let mut map = offsets.lock().unwrap_or_else(PoisonError::into_inner);
        match value.and_then(|v| serde_json::from_slice::<Json>(v).ok()) {
            Some(Json::Object(offset)) => {
                map.insert(key.to_owned(), offset);
            }
            _ => {
                map.remove(key);
            }
        }
    })
}

/// Offsets kept in the offsets topic.
pub struct TopicOffsetStore {
    offsets: Offsets,
    log: tokio::sync::OnceCell<Arc<TopicLog>>,
}

impl TopicOffsetStore {
    /// A store whose map the log (set with [`TopicOffsetStore::set_log`]) fills.
    pub fn new() -> (Self, Offsets) {
        let offsets: Offsets = Arc::default();
        (
            Self {
                offsets: Arc::clone(&offsets),
                log: tokio::sync::OnceCell::new(),
            },
            offsets,
        )
    }

    /// The log writes go to.
    pub fn set_log(&self, log: Arc<TopicLog>) {
        let _ = self.log.set(log);
    }

    fn map(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, JsonMap>> {
        self.offsets.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl OffsetStore for TopicOffsetStore {
    fn get(&self, connector: &str, partition: &JsonMap) -> Option<JsonMap> {
        self.map().get(&offset_key(connector, partition)).cloned()
    }

    fn all(&self, connector: &str) -> Vec<(JsonMap, JsonMap)> {
        connector_entries(&self.map(), connector)
    }

    async fn put(&self, connector: &str, offsets: Vec<(JsonMap, Option<JsonMap>)>) -> Result<()> {
        let Some(log) = self.log.get() else {
            return Err(crate::ConnectError::Other(
                "the offsets topic is not open yet".into(),
            ));
        };
        for (partition, offset) in offsets {
            let key = offset_key(connector, &partition);
            let value = offset.as_ref().map(|o| Json::Object(o.clone()).to_string());
            log.send(key.as_bytes(), value.as_deref().map(str::as_bytes))
                .await?;
            let mut map = self.map();
            match offset {
                Some(offset) => map.insert(key, offset),
                None => map.remove(&key),
            };
        }
        Ok(())
    }
}
