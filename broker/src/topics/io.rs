//! [`BlockingIo`]: where partition I/O runs, so it never runs on a tokio worker thread.
//!
//! Every disk operation of a partition (append, read, timestamp look-up, fsync, retention,
//! compaction, topic creation and deletion) is a blocking call: `pwritev`, `pread`, `fsync`,
//! decompression. They run on tokio's blocking pool through [`BlockingIo::run`], at most
//! [`IO_CONCURRENCY`] at a time.
//!
//! # When it is full
//! A caller past the limit waits (asynchronously, in FIFO order) for a slot: the request
//! that needs the disk is held, and because a connection serves one request at a time, the
//! client's further requests wait in its socket, which pushes back on the client over TCP.
//! Nothing is dropped or failed for being busy. The limit keeps a burst of slow operations
//! (fsyncs of many partitions, a large fetch) from growing the blocking pool to hundreds of
//! threads on a two-core machine, and leaves room in the pool for other blocking work.
//!
//! # Cancel safety
//! Dropping the future of [`BlockingIo::run`] before it has a slot does nothing. Once the
//! closure runs it always finishes (a blocking thread cannot be interrupted); only its result
//! is lost. So an append whose request is dropped may still be written, exactly as when a
//! client disconnects after sending.

use std::sync::Arc;

use tokio::sync::Semaphore;

/// Most partition I/O operations running at once on the blocking pool.
pub const IO_CONCURRENCY: usize = 64;

/// A blocking I/O job did not produce a result.
#[derive(Debug, thiserror::Error)]
pub enum IoTaskError {
    /// The job panicked; the panic message is logged where this is handled.
    #[error("a storage task panicked: {0}")]
    Panicked(String),
    /// The runtime is shutting down and did not run the job.
    #[error("the broker is shutting down")]
    ShuttingDown,
}

impl From<tokio::task::JoinError> for IoTaskError {
    fn from(e: tokio::task::JoinError) -> Self {
        if e.is_panic() {
            let panic = e.into_panic();
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            IoTaskError::Panicked(message)
        } else {
            IoTaskError::ShuttingDown
        }
    }
}

/// What a request handler answers when its storage task did not produce a result: logs it
/// (with the API's name) and returns UNKNOWN_SERVER_ERROR with a message, never an empty
/// answer that a client would take for success.
pub fn task_failed(api: &str, e: &IoTaskError) -> (kafka_protocol::error::ResponseError, String) {
    tracing::error!(api, error = %e, "request failed in a storage task");
    (
        kafka_protocol::error::ResponseError::UnknownServerError,
        format!("{api} failed inside the broker ({e}); see the broker log"),
    )
}

/// The bounded gate to the blocking pool that all partition I/O goes through. Cheap to clone.
#[derive(Debug, Clone)]
pub struct BlockingIo {
    slots: Arc<Semaphore>,
}

impl Default for BlockingIo {
    fn default() -> Self {
        BlockingIo::new(IO_CONCURRENCY)
    }
}

impl BlockingIo {
    /// A gate letting `limit` jobs run at once.
    pub fn new(limit: usize) -> Self {
        BlockingIo {
            slots: Arc::new(Semaphore::new(limit.max(1))),
        }
    }

    /// Runs `job` on the blocking pool once a slot is free and returns its result.
    ///
    /// # Errors
    /// [`IoTaskError::Panicked`] if `job` panicked, [`IoTaskError::ShuttingDown`] if the
    /// runtime would not run it.
    ///
    /// # Cancel safety
    /// See the [module docs](self): cancelling before the job starts does nothing; once it
    /// started it finishes and its result is dropped.
    pub async fn run<T, F>(&self, job: F) -> Result<T, IoTaskError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let slot = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| IoTaskError::ShuttingDown)?;
        let out = tokio::task::spawn_blocking(move || {
            let _slot = slot;
            job()
        })
        .await?;
        Ok(out)
    }
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)] // Tests may panic on failure.
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn at_most_limit_jobs_run_at_once() {
        let io = BlockingIo::new(2);
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let jobs = (0..8).map(|_| {
            let (io, running, peak) = (io.clone(), running.clone(), peak.clone());
            tokio::spawn(async move {
                io.run(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    running.fetch_sub(1, Ordering::SeqCst);
                })
                .await
                .unwrap()
            })
        });
        for j in jobs.collect::<Vec<_>>() {
            j.await.unwrap();
        }
        assert!(peak.load(Ordering::SeqCst) <= 2);
    }

    #[tokio::test]
    async fn a_panic_is_an_error_not_a_default() {
        let io = BlockingIo::default();
        let err = io
            .run(|| -> u32 { panic!("disk on fire") })
            .await
            .unwrap_err();
        assert!(
            matches!(&err, IoTaskError::Panicked(m) if m.contains("disk on fire")),
            "{err}"
        );
    }
}
