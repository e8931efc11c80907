//! The built-in connectors, one folder each.

use crate::plugins::Plugin;

/// Every built-in connector plugin.
pub fn plugins() -> Vec<Plugin> {
    Vec::new()
}
