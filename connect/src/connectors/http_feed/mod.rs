//! `HttpFeedSource`: posts from any HTTP feed into a topic, and a feed simulator to point it
//! at.
//!
//! The connector reads newline-delimited JSON from one long response (`mode=stream`, as
//! Twitter's streaming API), Server-Sent Events (`mode=sse`) or pages of a JSON polling API
//! (`mode=poll`, with `since_id` and pagination tokens). Each post is filtered (`track`),
//! de-duplicated by id (a bounded window), and becomes a record with the post as a
//! schemaless value (the JsonConverter with `schemas.enable=false` writes it back as JSON),
//! the key from `key.field` and the timestamp from the post's time. The source offset is the
//! last id read, so a restarted task asks the feed for what came after it. Disconnects,
//! stalls, 429s and 5xx are ridden out with exponential backoff, jitter and `Retry-After`; a
//! refused token fails the task with the status; lines that are not posts go to the task's
//! errant record reporter (the dead-letter topic under `errors.tolerance=all`).
//!
//! [`simulator`] serves tweet-like posts reproducibly from a seed, with the faults real
//! feeds have; `fjord feed serve` runs it.

mod backoff;
pub mod config;
mod dedupe;
pub mod extract;
mod framing;
mod reader;
pub mod rng;
pub mod simulator;
pub mod source;
#[cfg(test)]
mod tests_task;
pub mod track;

pub use source::{HttpFeedSourceConnector, HttpFeedSourceTask};

use crate::connector::{Connector, ConnectorType};
use crate::plugins::Plugin;

/// `HttpFeedSource` (also `HttpFeedSourceConnector`).
pub const SOURCE_PLUGIN: Plugin = Plugin {
    class: "io.fjord.connect.http.HttpFeedSourceConnector",
    aliases: &["HttpFeedSource"],
    connector_type: ConnectorType::Source,
    create: create_source,
};

fn create_source() -> Box<dyn Connector> {
    Box::new(HttpFeedSourceConnector)
}
