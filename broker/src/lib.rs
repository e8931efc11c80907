//! Fjord broker: a durable, Kafka-wire-compatible broker.
//!
//! Clients connect over TCP and speak the Kafka protocol; [`server`] accepts connections and
//! runs each request through [`handlers`], which work on [`topics`] and their partition
//! [`log`]s on disk. [`EmbeddedBroker`] runs one inside a test or demo process.
//!
//! Data flow of a produce: frame read ([`protocol`]) → `handlers::produce` →
//! `topics::Partition::append`, which runs `PartitionLog::append` (validate batches, assign
//! offsets, write) on the blocking pool → response. A fetch is the mirror:
//! `PartitionLog::read` returns stored batch bytes, never re-encoded. [`maintenance`] runs
//! flushes, retention and compaction in the background; [`clock`] is the time they use.

pub mod alloc;
pub mod clock;
pub mod config;
pub mod coordinator;
pub mod embedded;
pub mod error;
pub mod handlers;
pub mod log;
pub mod maintenance;
pub mod protocol;
pub mod server;
pub mod state;
pub mod topics;

pub use config::BrokerConfig;
pub use embedded::{EmbeddedBroker, EmbeddedConfig};
pub use error::BrokerError;
pub use server::Broker;
