//! Connector and worker configuration: string maps (what REST bodies, JSON files and
//! `.properties` files all become), declared keys with types, defaults and validators
//! ([`ConfigDef`], Kafka's `ConfigDef`), and Kafka's validation answer ([`ConfigInfos`]).

mod def;

pub use def::{
    ConfigDef, ConfigInfo, ConfigInfos, ConfigKey, ConfigKeyInfo, ConfigType, ConfigValue,
    ConfigValueInfo, Importance, ParsedConfig, Validator,
};

use std::collections::BTreeMap;

use fjord_core::config::Properties;

/// A config as Kafka Connect passes it around: string keys to string values.
pub type ConfigMap = BTreeMap<String, String>;

/// A [`Properties`] file's entries as a config map.
pub fn from_properties(properties: &Properties) -> ConfigMap {
    properties
        .iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// The entries under `prefix`, with the prefix removed (`transforms.route.` -> `regex`, ...).
pub fn with_prefix(config: &ConfigMap, prefix: &str) -> ConfigMap {
    config
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix(prefix)
                .map(|rest| (rest.to_owned(), v.clone()))
        })
        .collect()
}

/// Splits a Kafka list value (`a, b ,c`) into its non-empty items.
pub fn split_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}
