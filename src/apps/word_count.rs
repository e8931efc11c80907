//! Kafka Streams' WordCount: lines in, a running count per word out.
//!
//! Reads lines from `streams-plaintext-input`, splits them into lower-case
//! words, groups by word (through the repartition topic
//! `<application.id>-words-repartition`) and counts them in the store
//! `word-counts`; every update goes to `streams-wordcount-output` as
//! (word, count as Kafka's big-endian long).

use fjord_core::format::{Int64, Nullable, Unit, Utf8};
use fjord_streams::{Consumed, Grouped, Materialized, Produced, StreamsBuilder, Topology};

/// The input topic.
pub const INPUT: &str = "streams-plaintext-input";
/// The output topic.
pub const OUTPUT: &str = "streams-wordcount-output";
/// The default application id.
pub const APPLICATION_ID: &str = "streams-wordcount";

/// The words of a line, lower-cased.
pub fn words(line: &str) -> Vec<String> {
    line.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// The topology.
///
/// # Errors
/// None in practice: the topology is fixed.
pub fn topology() -> fjord_streams::Result<Topology> {
    let b = StreamsBuilder::new();
    b.stream(INPUT, Consumed::with(Unit, Utf8))
        .flat_map_values(|line: String| words(&line))
        .group_by(
            |_, word| word.clone(),
            Grouped::with(Utf8, Utf8).with_name("words"),
        )
        .count(Materialized::as_("word-counts"))
        .to_stream()
        .to(OUTPUT, Produced::with(Utf8, Nullable(Int64)));
    b.build()
}
