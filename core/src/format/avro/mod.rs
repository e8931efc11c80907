//! Avro with a schema registry, in Confluent's wire format, so records
//! interoperate with Confluent's serializers in every language.
//!
//! - [`wire`]: the framing (magic byte 0, 4-byte big-endian schema id, Avro binary).
//! - [`SubjectNameStrategy`]: TopicName, RecordName, TopicRecordName.
//! - [`RegistryClient`]: an async, caching registry client (one HTTP call
//!   per new schema or id, never per record), usable from sync code.
//! - [`AvroSerde<T>`] (serde-derived types) and [`GenericAvroSerde`]
//!   (`apache_avro::types::Value`): [`crate::format::Serde`]s, so Streams and
//!   the producers use them like any other format.
//!
//! Not yet: schema ids in record headers (Confluent's newer header form),
//! `latest.compatibility.strict`, a TTL for cached latest versions.

mod client;
mod serde;
mod strategy;
pub mod wire;

/// The Avro library the serdes use, for its `types::Value` and `Schema`.
pub use apache_avro;
pub use client::{RegisteredSchema, RegistryClient, RegistryClientError};
pub use serde::{AvroConfig, AvroSerde, GenericAvroSerde};
pub use strategy::SubjectNameStrategy;
