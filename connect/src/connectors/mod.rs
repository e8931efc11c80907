//! The built-in connectors, one folder each.

pub mod file;
pub mod http_feed;
pub mod postgres;

use crate::plugins::Plugin;

/// Every built-in connector plugin.
pub fn plugins() -> Vec<Plugin> {
    vec![
        file::SOURCE_PLUGIN,
        file::SINK_PLUGIN,
        http_feed::SOURCE_PLUGIN,
        postgres::SOURCE_PLUGIN,
        postgres::SINK_PLUGIN,
    ]
}
