//! Background upkeep of the logs and groups: time-based flushes, retention, compaction and
//! the group coordinator's deadlines, each a loop on the runtime that stops on shutdown.
//!
//! The loops only schedule: every disk operation is a [`Partition`](crate::topics::Partition)
//! method that runs on the bounded blocking pool, and none fsyncs while holding the lock that
//! produce and fetch need. Partitions are visited one at a time, so upkeep takes at most one
//! blocking slot per loop and never crowds out client requests.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::task::TaskTracker;

use crate::clock::now_ms;
use crate::log::InstallOutcome;
use crate::state::BrokerState;
use crate::topics::CompactionPass;

/// How often time-based flushes (`log.flush.interval.ms`) are checked.
const FLUSH_CHECK_INTERVAL: Duration = Duration::from_millis(250);
/// How often group sessions and rebalance deadlines are checked.
const GROUP_TICK_INTERVAL: Duration = Duration::from_millis(100);

/// Starts every maintenance loop on `tracker`; they end when `state.shutdown` is cancelled.
pub fn spawn(state: &Arc<BrokerState>, tracker: &TaskTracker) {
    tracker.spawn(flush_and_retention_loop(state.clone()));
    tracker.spawn(compaction_loop(state.clone()));
    tracker.spawn(coordinator_loop(state.clone()));
}

/// Time-based flushes every [`FLUSH_CHECK_INTERVAL`], and retention every
/// `log.retention.check.interval.ms`.
async fn flush_and_retention_loop(state: Arc<BrokerState>) {
    let retention_every = Duration::from_millis(state.config.retention_check_interval_ms);
    let mut last_retention = tokio::time::Instant::now();
    let mut tick = tokio::time::interval(FLUSH_CHECK_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = state.shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let run_retention = last_retention.elapsed() >= retention_every;
        if run_retention {
            last_retention = tokio::time::Instant::now();
        }
        maintain(&state, run_retention).await;
    }
}

async fn maintain(state: &BrokerState, run_retention: bool) {
    for topic in state.topics.list() {
        for p in topic.partitions() {
            if state.shutdown.is_cancelled() {
                return;
            }
            let now = now_ms();
            if let Err(e) = p.flush_if_due(now).await {
                tracing::error!(topic = %topic.name, partition = p.index, error = %e, "flush failed");
            }
            if !run_retention {
                continue;
            }
            match p.enforce_retention(now).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(
                    topic = %topic.name,
                    partition = p.index,
                    segments = n,
                    log_start = p.log_start_offset(),
                    "retention deleted segments"
                ),
                Err(e) => {
                    tracing::error!(topic = %topic.name, partition = p.index, error = %e, "retention failed")
                }
            }
        }
    }
}

/// The log cleaner: compacts `cleanup.policy=compact` partitions every
/// `log.cleaner.backoff.ms`. Each job's heavy work runs without the partition lock; only the
/// cheap prepare and install steps take it, so produce and fetch keep going meanwhile.
async fn compaction_loop(state: Arc<BrokerState>) {
    let mut tick =
        tokio::time::interval(Duration::from_millis(state.config.log_cleaner_backoff_ms));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = state.shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        for topic in state.topics.list() {
            for p in topic.partitions() {
                if state.shutdown.is_cancelled() {
                    return;
                }
                let token = state.shutdown.clone();
                match p.compact(now_ms(), move || token.is_cancelled()).await {
                    Ok(CompactionPass::Done(InstallOutcome::Installed(stats))) => {
                        tracing::info!(topic = %topic.name, partition = p.index, ?stats, "compacted");
                    }
                    Ok(CompactionPass::Done(InstallOutcome::Discarded { reason })) => {
                        tracing::debug!(topic = %topic.name, partition = p.index, reason, "compaction discarded");
                    }
                    Ok(CompactionPass::NotDue | CompactionPass::Cancelled) => {}
                    Err(e) => {
                        tracing::error!(topic = %topic.name, partition = p.index, error = %e, "compaction failed");
                    }
                }
            }
        }
    }
}

/// Session expiry and rebalance deadlines of consumer groups.
async fn coordinator_loop(state: Arc<BrokerState>) {
    let mut tick = tokio::time::interval(GROUP_TICK_INTERVAL);
    loop {
        tokio::select! {
            _ = state.shutdown.cancelled() => return,
            _ = tick.tick() => state.groups.tick(),
        }
    }
}
