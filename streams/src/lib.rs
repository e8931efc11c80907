//! Fjord Streams: stream processing on any Kafka cluster.
//!
//! Build a topology with the DSL ([`StreamsBuilder`], [`KStream`],
//! [`KTable`]) or the Processor API ([`Processor`]), test it without a broker
//! in a [`TopologyTestDriver`], and run it with [`KafkaStreams`] against any
//! Kafka-protocol cluster (Fjord, Apache Kafka, Redpanda) through librdkafka
//! and the ordinary consumer group protocol (classic with cooperative-sticky
//! assignment by default, or KIP-848 with `group.protocol=consumer`).
//!
//! A topology splits into sub-topologies at repartition topics; each runs as
//! one task per partition of its input topics, spread over the application's
//! instances and threads by the group assignment. State lives in stores
//! backed by compacted changelog topics, restored before a task processes
//! anything.
//!
//! ```
//! use fjord_core::format::{Int64, Utf8};
//! use fjord_streams::{Consumed, Materialized, Produced, StreamsBuilder, StreamsConfig, TopologyTestDriver};
//!
//! let builder = StreamsBuilder::new();
//! builder
//!     .stream("lines", Consumed::with(Utf8, Utf8))
//!     .flat_map_values(|line: String| line.split_whitespace().map(str::to_string).collect::<Vec<_>>())
//!     .group_by(|_, word| word.clone(), Default::default())
//!     .count(Materialized::as_("counts").with_key_serde(Utf8))
//!     .to_stream()
//!     .to("word-counts", Produced::with(Utf8, fjord_core::format::Nullable(Int64)));
//! let driver = TopologyTestDriver::new(builder.build()?, StreamsConfig::new("wc", ""))?;
//! let lines = driver.input_topic("lines", Utf8, Utf8);
//! lines.pipe_input("k".to_string(), "a b a".to_string(), 0)?;
//! let out = driver.output_topic("word-counts", Utf8, fjord_core::format::Nullable(Int64));
//! assert_eq!(out.read_key_values(), vec![
//!     ("a".to_string(), Some(1)), ("b".to_string(), Some(1)), ("a".to_string(), Some(2)),
//! ]);
//! # Ok::<(), fjord_streams::StreamsError>(())
//! ```

pub mod config;
pub mod dsl;
pub mod error;
pub mod partitioner;
pub mod processor;
pub mod record;
pub mod state;
pub mod topology;

mod driver;
mod global;
mod runtime;
mod task;

pub use config::{
    DeserializationHandler, DslStore, ErrorPolicy, ProcessingGuarantee, StreamsConfig,
};
pub use driver::{TestInputTopic, TestOutputTopic, TopologyTestDriver};
pub use dsl::{
    BranchedKStream, Change, Consumed, GlobalKTable, Grouped, JoinWindows, KGroupedStream,
    KGroupedTable, KStream, KTable, Materialized, Named, Produced, Repartitioned,
    SessionWindowedKStream, SessionWindows, StreamJoined, StreamsBuilder, TimeWindowedKStream,
    TimeWindows, Window, Windowed,
};
pub use error::{Result, StreamsError};
pub use processor::{
    Data, Processor, ProcessorContext, PunctuationId, PunctuationType, TaskMetrics,
};
pub use record::{Headers, Record, RecordMetadata};
pub use runtime::{KafkaStreams, State, StreamsMetrics};
pub use task::TaskId;
pub use topology::Topology;
