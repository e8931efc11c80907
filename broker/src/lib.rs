//! Fjord broker: a durable, Kafka-wire-compatible broker.
//!
//! Clients connect over TCP and speak the Kafka protocol; [`server`] accepts connections and
//! runs each request through [`handlers`], which work on [`topics`] and their partition
//! [`log`]s on disk. [`EmbeddedBroker`] runs one inside a test or demo process.
//!
//! Data flow of a produce: frame read ([`protocol`]) → `handlers::produce` → the partition's
//! `PartitionLog::append` (validate batches, assign offsets, write) → response. A fetch is the
//! mirror: `PartitionLog::read` returns stored batch bytes, never re-encoded.

pub mod alloc;
pub mod config;
pub mod coordinator;
pub mod embedded;
pub mod error;
pub mod handlers;
pub mod log;
pub mod protocol;
pub mod server;
pub mod state;
pub mod topics;

pub use config::BrokerConfig;
pub use embedded::{EmbeddedBroker, EmbeddedConfig};
pub use error::BrokerError;
pub use server::Broker;
