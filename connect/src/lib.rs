//! Fjord Connect: Kafka Connect's runtime in Rust.
//!
//! Connectors ([`connector`]) link topics to external systems: source tasks poll records
//! out of a system, sink tasks write records into one. A worker ([`runtime`]) runs them:
//! standalone (configs from files, offsets in a local file) or distributed (a group of
//! workers sharing configs, offsets and statuses in compacted topics). Between a task and
//! Kafka sit transforms ([`transforms`]) and converters ([`converters`]) over the Connect
//! data model ([`data`]); the REST API ([`rest`]) is Kafka Connect's. Every contact with the
//! brokers goes through Kafka clients, so a worker runs against any Kafka cluster.

pub mod config;
pub mod connector;
pub mod connectors;
pub mod converters;
pub mod data;
pub mod error;
pub mod group;
pub mod herder;
pub mod plugins;
pub mod record;
pub mod rest;
pub mod runtime;
pub mod transforms;

pub use error::{ConnectError, Result};
