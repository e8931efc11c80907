//! Postgres connectors: [`PostgresCdcSourceConnector`], change data capture over logical
//! replication (pgoutput) with Debezium's events, keys, topics and config keys, an initial
//! snapshot under the slot's exported snapshot (chunked by primary key, resumable), and WAL
//! guardrails (heartbeats, slot lag limits, dropping the slot on stop); and
//! [`PostgresSinkConnector`], records (Debezium envelopes unwrapped) -> upserts and deletes.
//!
//! Data flow of the source: `start` (catalog checks via sqlx, the slot via a replication
//! session of `pgwire-replication`) -> `poll` (snapshot chunks, then streamed changes decoded
//! by [`pgoutput`] and shaped by [`events`]) -> the worker produces and commits offsets ->
//! `commit` moves the slot's confirmed flush LSN to the committed position.

pub mod catalog;
pub mod config;
pub mod events;
pub mod pgoutput;
pub mod sink;
mod sink_values;
pub mod sink_writer;
pub mod snapshot;
pub mod source;
pub mod stream;
pub mod table;
pub mod types;

pub use sink::{PostgresSinkConnector, PostgresSinkTask};
pub use source::{PostgresCdcSourceConnector, PostgresCdcSourceTask};

use crate::connector::{Connector, ConnectorType};
use crate::plugins::Plugin;

/// `PostgresCdcSource` (Debezium's class name also answers).
pub const SOURCE_PLUGIN: Plugin = Plugin {
    class: "io.fjord.connect.postgres.PostgresCdcSourceConnector",
    aliases: &[
        "PostgresCdcSource",
        "io.debezium.connector.postgresql.PostgresConnector",
        "PostgresConnector",
    ],
    connector_type: ConnectorType::Source,
    create: create_source,
};

/// `PostgresSink` (Confluent's JDBC sink class name also answers).
pub const SINK_PLUGIN: Plugin = Plugin {
    class: "io.fjord.connect.postgres.PostgresSinkConnector",
    aliases: &[
        "PostgresSink",
        "io.confluent.connect.jdbc.JdbcSinkConnector",
        "JdbcSinkConnector",
    ],
    connector_type: ConnectorType::Sink,
    create: create_sink,
};

fn create_sink() -> Box<dyn Connector> {
    Box::new(PostgresSinkConnector)
}

fn create_source() -> Box<dyn Connector> {
    Box::new(PostgresCdcSourceConnector)
}
