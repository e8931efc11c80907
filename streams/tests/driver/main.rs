//! The DSL's operators, windows, tables and error handling, run by the
//! TopologyTestDriver (no broker); one test binary, a module per area.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod aggregations;
mod errors;
mod joins;
mod processor;
mod stateless;
mod tables;
mod windows;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use fjord_core::format::{Int64, Json, Nullable, Utf8};
use fjord_streams::{
    Consumed, Grouped, Materialized, Named, Processor, ProcessorContext, Produced, PunctuationId,
    PunctuationType, Record, Repartitioned, StreamsBuilder, StreamsConfig, StreamsError,
    TimeWindows, TopologyTestDriver,
};

fn config() -> StreamsConfig {
    StreamsConfig::new("app", "unused:9092")
}

fn s(v: &str) -> String {
    v.to_string()
}

fn strings() -> Consumed<String, String> {
    Consumed::with(Utf8, Utf8)
}
