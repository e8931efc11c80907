//! Fjord core: what every Fjord client shares, and nothing that runs a server.
//!
//! - [`Properties`]: Java `.properties` files, the format of Kafka, Connect
//!   and Streams configs.
//! - [`ClientSettings`]: rdkafka producer, consumer and admin configurations
//!   for any Kafka-protocol broker, with `-X key=value` style overrides.
//! - [`TopicAdmin`] and [`metadata`]: topic administration and owned
//!   metadata snapshots on top of rdkafka.
//! - [`GroupAdmin`] ([`groups`]): list and describe consumer groups, their
//!   lag, offset resets and deletion; [`datetime`] parses the RFC 3339
//!   times resets accept.
//! - [`format`]: serdes, typed keys and values to record bytes and back
//!   (strings, Kafka's big-endian numbers, JSON); the trait every Fjord
//!   serde implements.
//! - [`enum@Error`]: the crate's one error type, with messages a user can act on.
//!
//! Data flows one way: settings (flags, properties files) become an rdkafka
//! `ClientConfig`, which becomes a client; results and failures come back as
//! owned values and [`enum@Error`]s.
//!
//! ```
//! use fjord_core::{ClientSettings, Properties};
//!
//! let props = Properties::parse_str("compression.type = lz4\n")?;
//! let config = ClientSettings::new("127.0.0.1:9092")
//!     .with_properties(&props)
//!     .producer_config();
//! assert_eq!(config.get("compression.type"), Some("lz4"));
//! # Ok::<(), fjord_core::Error>(())
//! ```

pub mod admin;
pub mod client;
pub mod config;
pub mod datetime;
pub mod error;
pub mod format;
pub mod groups;
pub mod metadata;

pub use admin::{NewTopicSpec, TopicAdmin, TopicConfig};
pub use client::{
    close_consumer, parse_key_value, parse_override, ClientSettings, DEFAULT_BOOTSTRAP_SERVERS,
    DEFAULT_CLOSE_TIMEOUT, DEFAULT_REQUEST_TIMEOUT,
};
pub use config::Properties;
pub use error::{Error, Result};
pub use groups::GroupAdmin;
pub use metadata::{PartitionMetadata, TopicMetadata};
