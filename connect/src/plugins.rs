//! The built-in plugins, addressable by Fjord's short names and by Kafka's class names
//! (`FileStreamSource`, `FileStreamSourceConnector` and
//! `org.apache.kafka.connect.file.FileStreamSourceConnector` are one plugin).

use crate::connector::{Connector, ConnectorType};
use crate::herder::PluginInfo;

/// A connector plugin.
#[derive(Debug, Clone, Copy)]
pub struct Plugin {
    /// The canonical class name (Kafka's where there is one).
    pub class: &'static str,
    /// Other names it answers to.
    pub aliases: &'static [&'static str],
    /// Source or sink.
    pub connector_type: ConnectorType,
    /// Creates a connector instance.
    pub create: fn() -> Box<dyn Connector>,
}

impl Plugin {
    /// Whether `name` names this plugin (class, alias, or the class's last segment, with or
    /// without a `Connector` suffix, as Kafka's plugin aliases work).
    pub fn answers_to(&self, name: &str) -> bool {
        if name == self.class || self.aliases.contains(&name) {
            return true;
        }
        let simple = self.class.rsplit('.').next().unwrap_or(self.class);
        name == simple || simple.strip_suffix("Connector") == Some(name)
    }

    /// The plugin's REST description.
    pub fn info(&self) -> PluginInfo {
        PluginInfo {
            class: self.class.to_owned(),
            plugin_type: self.connector_type.name().to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }
}

/// Every built-in connector plugin.
pub fn connectors() -> Vec<Plugin> {
    crate::connectors::plugins()
}

/// The connector plugin `name` refers to.
pub fn find_connector(name: &str) -> Option<Plugin> {
    connectors().into_iter().find(|p| p.answers_to(name.trim()))
}
