//! Producer ids for idempotent and transactional producers, never handed out twice, not even
//! across a crash.
//!
//! Ids are reserved in blocks of [`ID_BLOCK`], as Kafka does: before the first id of a block is
//! given out, the block's end is written to `producer-id-block` in the data dir (temp file,
//! fsync, rename, fsync dir; see `log::write_atomic`). On start the broker continues at the
//! persisted end, so whatever it handed out before a crash lies below it. The ids of a block
//! that were reserved but not used when the broker stopped are skipped, never reused.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::Mutex;

use crate::error::BrokerError;
use crate::log::write_atomic;

/// How many ids one reservation covers: one durable file write per this many producers.
pub const ID_BLOCK: i64 = 1000;

/// The file holding the end (exclusive) of the last reserved block.
const BLOCK_FILE: &str = "producer-id-block";

/// Hands out producer ids; see the module docs.
#[derive(Debug)]
pub struct ProducerIds {
    path: Arc<PathBuf>,
    // A tokio mutex, because a caller whose block ran out holds it across the reservation
    // write (on the blocking pool): the others must wait for the new block anyway, and waiting
    // asynchronously never parks a runtime thread. Outside a reservation it is held for a few
    // instructions.
    inner: Mutex<IdState>,
}

#[derive(Debug)]
struct IdState {
    next: i64,
    /// End (exclusive) of the reserved block; invariant: the file holds at least this value.
    block_end: i64,
    /// Transactional id -> (producer id, epoch).
    transactional: HashMap<String, (i64, i16)>,
}

impl ProducerIds {
    /// Reads the reservation file of `data_dir` (none yet: ids start at 0). Blocking: call it
    /// at start-up or from the blocking pool.
    ///
    /// # Errors
    /// The file cannot be read, or does not hold a number.
    pub fn open(data_dir: &Path) -> Result<Self, BrokerError> {
        let path = data_dir.join(BLOCK_FILE);
        let next = match std::fs::read_to_string(&path) {
            Ok(text) => text
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| BrokerError::CorruptMetadata {
                    path: path.clone(),
                    why: format!(
                        "expected the end of the last reserved producer-id block, found {:?}; \
                         restore the file or set it above every producer id in use",
                        text.trim()
                    ),
                })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
            Err(e) => return Err(BrokerError::storage(&path, e)),
        };
        Ok(ProducerIds {
            path: Arc::new(path),
            inner: Mutex::new(IdState {
                next,
                // Nothing is reserved yet in this run: the first allocation reserves a block.
                block_end: next,
                transactional: HashMap::new(),
            }),
        })
    }

    /// A fresh producer id.
    ///
    /// # Errors
    /// The reservation file cannot be written (no id is handed out then).
    ///
    /// # Cancel safety
    /// Cancel safe: dropped during a reservation, the block may be persisted but not taken,
    /// and the next caller reserves past it; no id is lost twice or handed out twice.
    pub async fn allocate(&self) -> Result<i64, BrokerError> {
        let mut s = self.inner.lock().await;
        self.take(&mut s).await
    }

    /// The producer id of a transactional id with its epoch bumped (a new session fences the
    /// old one); a fresh id when the transactional id is new or its epoch is exhausted.
    ///
    /// # Errors
    /// The reservation file cannot be written.
    ///
    /// # Cancel safety
    /// As [`ProducerIds::allocate`].
    pub async fn for_transactional_id(&self, txn_id: &str) -> Result<(i64, i16), BrokerError> {
        let mut s = self.inner.lock().await;
        let next = match s.transactional.get(txn_id).copied() {
            Some((pid, epoch)) if epoch < i16::MAX - 1 => (pid, epoch + 1),
            _ => (self.take(&mut s).await?, 0),
        };
        s.transactional.insert(txn_id.to_string(), next);
        Ok(next)
    }

    async fn take(&self, s: &mut IdState) -> Result<i64, BrokerError> {
        if s.next >= s.block_end {
            let end = s
                .next
                .checked_add(ID_BLOCK)
                .ok_or_else(|| BrokerError::CorruptMetadata {
                    path: self.path.to_path_buf(),
                    why: "producer ids are exhausted".into(),
                })?;
            self.reserve(end).await?;
            // Only now, with `end` durable, may ids below it be handed out.
            s.block_end = end;
        }
        let id = s.next;
        s.next += 1;
        Ok(id)
    }

    /// Persists `end` as the reserved block's end, on the blocking pool (fsyncs).
    async fn reserve(&self, end: i64) -> Result<(), BrokerError> {
        let path = self.path.clone();
        let write = tokio::task::spawn_blocking(move || {
            write_atomic(&path, end.to_string().as_bytes()).map_err(BrokerError::from)
        });
        match write.await {
            Ok(result) => result,
            Err(join) => Err(BrokerError::storage(
                &*self.path,
                std::io::Error::other(format!("the reservation write did not finish: {join}")),
            )),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may panic on failure.
mod tests {
    use super::*;

    #[tokio::test]
    async fn ids_are_not_reused_after_restart() {
        let dir = tempfile::tempdir().unwrap();
        let ids = ProducerIds::open(dir.path()).unwrap();
        let a = ids.allocate().await.unwrap();
        let b = ids.allocate().await.unwrap();
        assert_eq!((a, b), (0, 1));
        let reopened = ProducerIds::open(dir.path()).unwrap();
        let c = reopened.allocate().await.unwrap();
        assert_eq!(c, ID_BLOCK, "a restart continues after the reserved block");
    }

    #[tokio::test]
    async fn a_block_is_persisted_before_its_first_id_is_used() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(BLOCK_FILE);
        let ids = ProducerIds::open(dir.path()).unwrap();
        for expected in 0..ID_BLOCK {
            assert_eq!(ids.allocate().await.unwrap(), expected);
            assert_eq!(
                std::fs::read_to_string(&file).unwrap(),
                ID_BLOCK.to_string()
            );
        }
        assert_eq!(ids.allocate().await.unwrap(), ID_BLOCK);
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            (2 * ID_BLOCK).to_string()
        );
    }

    #[tokio::test]
    async fn a_failed_reservation_hands_out_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let ids = ProducerIds::open(dir.path()).unwrap();
        // A directory in the temp file's place makes the reservation write fail.
        let blocker = dir.path().join(BLOCK_FILE).with_extension("tmp");
        std::fs::create_dir(&blocker).unwrap();
        assert!(ids.allocate().await.is_err());
        std::fs::remove_dir(&blocker).unwrap();
        assert_eq!(ids.allocate().await.unwrap(), 0);
    }

    #[tokio::test]
    async fn a_transactional_id_keeps_its_producer_id_and_bumps_the_epoch() {
        let dir = tempfile::tempdir().unwrap();
        let ids = ProducerIds::open(dir.path()).unwrap();
        let (pid, e0) = ids.for_transactional_id("t").await.unwrap();
        assert_eq!(ids.for_transactional_id("t").await.unwrap(), (pid, e0 + 1));
        assert_ne!(ids.for_transactional_id("u").await.unwrap().0, pid);
    }

    #[test]
    fn a_corrupt_reservation_file_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(BLOCK_FILE), "garbage").unwrap();
        let err = ProducerIds::open(dir.path()).unwrap_err().to_string();
        assert!(err.contains("producer-id block"), "{err}");
    }
}
