//! Fjord: a Kafka-compatible streaming platform in one binary.
//!
//! This facade crate re-exports the layers so programs and tests can depend
//! on `fjord` alone: [`core`] (client settings, `.properties` files, topic
//! administration, errors, serdes), [`broker`] (the Kafka-wire-compatible broker),
//! [`streams`] (Fjord Streams), [`connect`] (Fjord Connect) and [`registry`] (the schema
//! registry); [`apps`] holds the stream processing
//! applications the examples and `fjord streams example` run.
//! The `fjord` binary built from this package is the command line on top of
//! them (`fjord broker`, `fjord topics`, `fjord produce`, `fjord consume`, `fjord groups`).

pub mod apps;
pub mod testing;

pub use fjord_broker as broker;
pub use fjord_connect as connect;
pub use fjord_core as core;
pub use fjord_registry as registry;
pub use fjord_streams as streams;
