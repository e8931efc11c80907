//! The runtime: [`KafkaStreams`] runs a topology against a cluster.

/// The state of an application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Built, not started.
    Created,
    /// Joining the group, or moving tasks after a rebalance.
    Rebalancing,
    /// Processing.
    Running,
    /// Closing.
    PendingShutdown,
    /// Closed.
    NotRunning,
    /// Stopped by an error; see [`KafkaStreams::error`].
    Error,
}

/// Runs a topology (placeholder until the runtime lands).
pub struct KafkaStreams;
