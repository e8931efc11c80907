//! Kafka's file connectors, the ones its quickstart uses: [`FileStreamSourceConnector`]
//! (a file's lines -> a topic) and [`FileStreamSinkConnector`] (topics -> a file's lines),
//! with Kafka's keys, source partition and offset, so Kafka's
//! `connect-file-source.properties` and `connect-file-sink.properties` run unchanged.

mod follower;
pub mod sink;
pub mod source;
#[cfg(test)]
mod tests_quickstart;
#[cfg(test)]
mod tests_sink;
#[cfg(test)]
mod tests_source;

pub use sink::{FileStreamSinkConnector, FileStreamSinkTask};
pub use source::{FileStreamSourceConnector, FileStreamSourceTask};

use crate::connector::{Connector, ConnectorType};
use crate::plugins::Plugin;

/// `org.apache.kafka.connect.file.FileStreamSourceConnector`.
pub const SOURCE_PLUGIN: Plugin = Plugin {
    class: "org.apache.kafka.connect.file.FileStreamSourceConnector",
    aliases: &["FileStreamSource"],
    connector_type: ConnectorType::Source,
    create: create_source,
};

/// `org.apache.kafka.connect.file.FileStreamSinkConnector`.
pub const SINK_PLUGIN: Plugin = Plugin {
    class: "org.apache.kafka.connect.file.FileStreamSinkConnector",
    aliases: &["FileStreamSink"],
    connector_type: ConnectorType::Sink,
    create: create_sink,
};

fn create_source() -> Box<dyn Connector> {
    Box::new(FileStreamSourceConnector)
}

fn create_sink() -> Box<dyn Connector> {
    Box::new(FileStreamSinkConnector)
}
