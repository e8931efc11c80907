//! Persistence of the coordinator in `__consumer_offsets`: the replay at start-up and every
//! write after it, all on the blocking pool, never under a group or offset lock.
//!
//! A write is one record batch. [`Journal::write`] runs the append and then the caller's
//! completion (which applies the records to memory or answers waiting members) together on a
//! blocking thread, so the completion runs even if the request that asked for the write is
//! cancelled midway: memory never misses a record the log has, which is what a replay would
//! rebuild. A client is answered only after its records were appended.
//!
//! Writes are not serialised among themselves: two commits of one partition may be applied in
//! the other order than they were appended. [`super::offsets::OffsetStore`] keeps each entry's
//! log offset, so the newer record wins either way. The journal counts the writes in flight,
//! so the store can tell when no older write can still arrive ([`Journal::quiet`]).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use super::error::CoordinatorError;
use super::partition_log;
use super::store::{self, Stored, OFFSETS_TOPIC};
use crate::error::BrokerError;
use crate::log::LogError;
use crate::topics::{now_ms, Partition, TopicConfig, TopicRegistry};

/// Replay reads this much of the log at a time.
const REPLAY_CHUNK: usize = 1 << 20;

/// What a write's completion is told: the log offset of its first record, or why it failed.
pub type Written = Result<i64, CoordinatorError>;

/// The coordinator's handle on `__consumer_offsets`; see the module docs.
#[derive(Debug)]
pub struct Journal {
    partition: Arc<Partition>,
    in_flight: Arc<AtomicUsize>,
}

/// Counts a write as in flight until dropped (also when its blocking task panics).
struct InFlight(Arc<AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Journal {
    /// Opens (creating if needed) the internal topic. Blocking: call it at start-up.
    ///
    /// # Errors
    /// The internal topic cannot be created.
    pub fn open(topics: &TopicRegistry) -> Result<Self, BrokerError> {
        let topic = match topics.get(OFFSETS_TOPIC) {
            Some(t) => t,
            None => {
                let cfg = TopicConfig::from_pairs([("cleanup.policy", "compact")])
                    .map_err(BrokerError::InvalidConfig)?;
                topics.create(OFFSETS_TOPIC, 1, cfg).map_err(|e| {
                    BrokerError::InvalidConfig(format!(
                        "cannot create {OFFSETS_TOPIC}: {}",
                        e.message
                    ))
                })?
            }
        };
        let partition = topic.partition(0).ok_or_else(|| {
            BrokerError::InvalidConfig(format!("{OFFSETS_TOPIC} has no partition 0"))
        })?;
        Ok(Journal {
            partition,
            in_flight: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// Every record of the log with its offset, oldest first. Blocking (reads the whole log):
    /// called once by `GroupCoordinator::open`, which the server runs on the blocking pool.
    ///
    /// # Errors
    /// A read or decode failure of the log.
    pub fn replay(&self) -> Result<Vec<(i64, Stored)>, LogError> {
        let mut out = Vec::new();
        let mut offset = partition_log::start_offset(&self.partition);
        loop {
            let (bytes, end) = partition_log::read(&self.partition, offset, REPLAY_CHUNK)?;
            if bytes.is_empty() {
                break;
            }
            let (records, next) = store::decode_stored(&bytes, offset)?;
            out.extend(records);
            if next <= offset || next >= end {
                break;
            }
            offset = next;
        }
        Ok(out)
    }

    /// Appends `records` as one batch on the blocking pool, then calls `done` there with the
    /// outcome and the records (also when nothing needed writing: `records` empty). Returns
    /// the outcome once `done` has run.
    ///
    /// The blocking pool is bounded (tokio's limit of blocking threads, then a queue); the
    /// writes waiting are bounded by the connections (each runs one request at a time and
    /// waits for its write) plus those whose connection went away, which finish on their own.
    ///
    /// # Errors
    /// The append failed or its task panicked; nothing was acknowledged.
    ///
    /// # Cancel safety
    /// Cancel safe: once called, the append and `done` run to completion without the caller.
    pub async fn write<F>(&self, records: Vec<Stored>, done: F) -> Result<(), CoordinatorError>
    where
        F: FnOnce(&Written, Vec<Stored>) + Send + 'static,
    {
        if records.is_empty() {
            done(&Ok(-1), records);
            return Ok(());
        }
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        let guard = InFlight(self.in_flight.clone());
        let partition = self.partition.clone();
        let task = tokio::task::spawn_blocking(move || {
            let _guard = guard;
            let encoded: Vec<_> = records.iter().map(Stored::encode).collect();
            let batch = store::encode_batch(&encoded, now_ms());
            let written = partition_log::append(&partition, &batch).map_err(|e| {
                tracing::error!(error = %e, "cannot write to {OFFSETS_TOPIC}; the request is refused");
                CoordinatorError::Storage(e.to_string())
            });
            done(&written, records);
            written.map(|_| ())
        });
        match task.await {
            Ok(result) => result,
            Err(e) => {
                tracing::error!(error = %e, "a write to {OFFSETS_TOPIC} panicked");
                Err(CoordinatorError::Storage(format!(
                    "the write did not finish: {e}"
                )))
            }
        }
    }

    /// True when no write is in flight: every write started so far has been applied.
    pub fn quiet(&self) -> bool {
        self.in_flight.load(Ordering::SeqCst) == 0
    }
}
