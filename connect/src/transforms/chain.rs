//! A connector's transform chain, built from Kafka's keys: `transforms=a,b`,
//! `transforms.a.type=<class>`, `transforms.a.<key>=...`, `transforms.a.predicate=p`,
//! `transforms.a.negate=true`, `predicates=p`, `predicates.p.type=<class>`. A record runs
//! through the transforms in order; a transform with a predicate applies only to the
//! records the predicate matches (or, negated, to the ones it does not).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use crate::config::{split_list, with_prefix, ConfigDef, ConfigMap, ConfigValue};
use crate::error::{ConnectError, Result};
use crate::record::ConnectRecord;

use super::registry::{self, find_predicate, find_transform};
use super::{Predicate, Transform};

/// One transform of a chain with the predicate gating it.
struct Stage {
    alias: String,
    class: &'static str,
    transform: Box<dyn Transform>,
    predicate: Option<Gate>,
}

/// A predicate as a transform uses it.
struct Gate {
    predicate: Arc<dyn Predicate>,
    negate: bool,
}

/// The transforms of one connector, in order. `Send + Sync`: tasks share one chain.
pub struct TransformChain {
    stages: Vec<Stage>,
}

impl fmt::Debug for TransformChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(
                self.stages
                    .iter()
                    .map(|s| format!("{}={}", s.alias, s.class)),
            )
            .finish()
    }
}

impl TransformChain {
    /// Builds the chain from a connector config (`transforms`, `transforms.<alias>.*`,
    /// `predicates`, `predicates.<alias>.*`).
    ///
    /// # Errors
    /// [`ConnectError::Config`] naming the alias and the key: an unknown class, a missing
    /// required key, a bad value, an undefined predicate, a repeated alias.
    ///
    /// # Example
    /// ```
    /// use fjord_connect::config::ConfigMap;
    /// use fjord_connect::data::Value;
    /// use fjord_connect::record::ConnectRecord;
    /// use fjord_connect::transforms::TransformChain;
    ///
    /// let config: ConfigMap = [
    ///     ("transforms", "route,dropTombstones"),
    ///     ("transforms.route.type", "org.apache.kafka.connect.transforms.RegexRouter"),
    ///     ("transforms.route.regex", "(.*)-raw"),
    ///     ("transforms.route.replacement", "$1"),
    ///     ("transforms.dropTombstones.type", "Filter"),
    ///     ("transforms.dropTombstones.predicate", "isTombstone"),
    ///     ("predicates", "isTombstone"),
    ///     ("predicates.isTombstone.type", "RecordIsTombstone"),
    /// ]
    /// .into_iter()
    /// .map(|(k, v)| (k.to_owned(), v.to_owned()))
    /// .collect();
    /// let chain = TransformChain::from_connector_config(&config)?;
    ///
    /// let routed = chain.apply(ConnectRecord::new("orders-raw", Value::from("x")))?;
    /// assert_eq!(routed.map(|r| r.topic), Some("orders".to_owned()));
    /// assert_eq!(chain.apply(ConnectRecord::new("orders-raw", Value::Null))?, None);
    /// # Ok::<(), fjord_connect::ConnectError>(())
    /// ```
    pub fn from_connector_config(config: &ConfigMap) -> Result<TransformChain> {
        let errors: Vec<String> = validate(config)
            .into_iter()
            .flat_map(|value| {
                let name = value.name;
                value
                    .errors
                    .into_iter()
                    .map(move |error| format!("{name}: {error}"))
            })
            .collect();
        if !errors.is_empty() {
            return Err(ConnectError::Config(errors.join("; ")));
        }
        let mut predicates: BTreeMap<String, Arc<dyn Predicate>> = BTreeMap::new();
        for alias in list(config, "predicates") {
            let prefix = format!("predicates.{alias}.");
            let sub = with_prefix(config, &prefix);
            let class = sub.get("type").map(String::as_str).unwrap_or_default();
            let plugin = find_predicate(class).ok_or_else(|| unknown_class(&prefix, class))?;
            let predicate = (plugin.create)(&sub).map_err(|e| in_alias(&prefix, e))?;
            predicates.insert(alias, Arc::from(predicate));
        }
        let mut stages = Vec::new();
        for alias in list(config, "transforms") {
            let prefix = format!("transforms.{alias}.");
            let sub = with_prefix(config, &prefix);
            let class = sub.get("type").map(String::as_str).unwrap_or_default();
            let plugin = find_transform(class).ok_or_else(|| unknown_class(&prefix, class))?;
            let transform = (plugin.create)(&sub).map_err(|e| in_alias(&prefix, e))?;
            let predicate = match non_empty(&sub, "predicate") {
                Some(name) => Some(Gate {
                    predicate: predicates.get(name.trim()).cloned().ok_or_else(|| {
                        ConnectError::Config(format!(
                            "{prefix}predicate: no predicate '{name}' in 'predicates'"
                        ))
                    })?,
                    negate: non_empty(&sub, "negate")
                        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true")),
                }),
                None => None,
            };
            stages.push(Stage {
                alias,
                class: plugin.class,
                transform,
                predicate,
            });
        }
        Ok(TransformChain { stages })
    }

    /// A chain without transforms.
    pub fn empty() -> TransformChain {
        TransformChain { stages: Vec::new() }
    }

    /// Whether the chain has no transforms.
    pub fn is_empty(&self) -> bool {
        self.stages.is_empty()
    }

    /// Runs `record` through the transforms in order.
    ///
    /// Returns `Ok(None)` when a transform dropped the record.
    ///
    /// # Errors
    /// [`ConnectError::Data`] naming the alias and class of the transform that failed.
    pub fn apply(&self, record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        self.apply_naming_class(record).map_err(|(_, err)| err)
    }

    /// [`apply`](Self::apply), with the class of the transform that failed beside the error
    /// (Kafka's `__connect.errors.class.name` of a dead-letter record).
    ///
    /// # Errors
    /// The failed transform's class and the error [`apply`](Self::apply) returns.
    pub fn apply_naming_class(
        &self,
        record: ConnectRecord,
    ) -> std::result::Result<Option<ConnectRecord>, (&'static str, ConnectError)> {
        let mut record = record;
        for stage in &self.stages {
            if let Some(gate) = &stage.predicate {
                if gate.predicate.test(&record) == gate.negate {
                    continue;
                }
            }
            match stage.transform.apply(record) {
                Ok(Some(next)) => record = next,
                Ok(None) => return Ok(None),
                Err(err) => {
                    return Err((
                        stage.class,
                        ConnectError::Data(format!(
                            "transform '{}' ({}) failed: {err}",
                            stage.alias, stage.class
                        )),
                    ))
                }
            }
        }
        Ok(Some(record))
    }
}

/// Validates every `transforms.*` and `predicates.*` key of a connector config, collecting
/// every error (never stopping at the first): one [`ConfigValue`] for `transforms` and
/// `predicates`, and for each alias its `type`, each key its class declares, and (for
/// transforms) `predicate` and `negate`.
pub fn validate(config: &ConfigMap) -> Vec<ConfigValue> {
    let mut values = Vec::new();
    let predicate_aliases = list(config, "predicates");
    let transform_aliases = list(config, "transforms");
    values.push(list_value(config, "transforms", &transform_aliases));
    for alias in &transform_aliases {
        let prefix = format!("transforms.{alias}.");
        let sub = with_prefix(config, &prefix);
        let class = sub.get("type").map(String::as_str).unwrap_or_default();
        let checked = find_transform(class)
            .map(|p| check_plugin(&sub, (p.config_def)(), |c| (p.create)(c).map(drop)));
        let kind = Kind {
            name: "Transformation",
            other_kind: find_predicate(class).is_some(),
        };
        values.extend(alias_values(&prefix, &sub, checked, kind));
        values.push(predicate_value(&prefix, &sub, &predicate_aliases));
        values.push(negate_value(&prefix, &sub));
    }
    values.push(list_value(config, "predicates", &predicate_aliases));
    for alias in &predicate_aliases {
        let prefix = format!("predicates.{alias}.");
        let sub = with_prefix(config, &prefix);
        let class = sub.get("type").map(String::as_str).unwrap_or_default();
        let checked = find_predicate(class)
            .map(|p| check_plugin(&sub, (p.config_def)(), |c| (p.create)(c).map(drop)));
        let kind = Kind {
            name: "Predicate",
            other_kind: find_transform(class).is_some(),
        };
        values.extend(alias_values(&prefix, &sub, checked, kind));
    }
    values
}

/// A plugin's keys checked against one alias's config.
struct Checked {
    /// Each declared key's value and errors (names without the prefix).
    keys: Vec<ConfigValue>,
    /// What creating the plugin said, when every key was valid (checks across keys).
    create_error: Option<ConnectError>,
}

/// What an alias's `type` should name.
struct Kind {
    /// Kafka's interface name: "Transformation" or "Predicate".
    name: &'static str,
    /// Whether the class is a plugin of the other kind.
    other_kind: bool,
}

fn check_plugin(
    sub: &ConfigMap,
    def: ConfigDef,
    create: impl FnOnce(&ConfigMap) -> Result<()>,
) -> Checked {
    let keys = def.validate(sub);
    let create_error = if keys.iter().all(|v| v.errors.is_empty()) {
        create(sub).err()
    } else {
        None
    };
    Checked { keys, create_error }
}

/// The `type` value of an alias and, for a known class, its declared keys.
fn alias_values(
    prefix: &str,
    sub: &ConfigMap,
    checked: Option<Checked>,
    kind: Kind,
) -> Vec<ConfigValue> {
    let (found, create_error, keys) = match checked {
        Some(c) => (true, c.create_error, c.keys),
        None => (false, None, Vec::new()),
    };
    let mut values = vec![type_value(
        prefix,
        sub,
        found,
        kind.other_kind,
        kind.name,
        create_error,
    )];
    values.extend(prefixed(keys, prefix));
    values
}

/// Every built-in transform and predicate class, with Kafka's plugin type
/// (`"transformation"` or `"predicate"`), for `GET /connector-plugins?connectorsOnly=false`.
pub fn plugin_classes() -> Vec<(&'static str, &'static str)> {
    registry::transforms()
        .into_iter()
        .map(|p| (p.class, "transformation"))
        .chain(
            registry::predicates()
                .into_iter()
                .map(|p| (p.class, "predicate")),
        )
        .collect()
}

fn list(config: &ConfigMap, key: &str) -> Vec<String> {
    config.get(key).map(|v| split_list(v)).unwrap_or_default()
}

fn non_empty<'a>(sub: &'a ConfigMap, key: &str) -> Option<&'a str> {
    sub.get(key)
        .map(String::as_str)
        .filter(|v| !v.trim().is_empty())
}

fn unknown_class(prefix: &str, class: &str) -> ConnectError {
    ConnectError::Config(format!(
        "Invalid value {class} for configuration {prefix}type: Class {class} could not be found."
    ))
}

fn in_alias(prefix: &str, err: ConnectError) -> ConnectError {
    let message = match err {
        ConnectError::Config(message) | ConnectError::Data(message) => message,
        other => other.to_string(),
    };
    ConnectError::Config(format!("{prefix}*: {message}"))
}

fn list_value(config: &ConfigMap, key: &str, aliases: &[String]) -> ConfigValue {
    let mut errors = Vec::new();
    for (i, alias) in aliases.iter().enumerate() {
        if aliases[..i].contains(alias) {
            errors.push(format!("Duplicate alias provided: {alias}"));
        }
    }
    ConfigValue {
        name: key.to_owned(),
        value: Some(config.get(key).cloned().unwrap_or_default()),
        recommended_values: Vec::new(),
        errors,
        visible: true,
    }
}

fn type_value(
    prefix: &str,
    sub: &ConfigMap,
    found: bool,
    other_kind: bool,
    kind: &str,
    create_error: Option<ConnectError>,
) -> ConfigValue {
    let name = format!("{prefix}type");
    let class = non_empty(sub, "type");
    let mut errors = Vec::new();
    match class {
        None => errors.push(format!(
            "Missing required configuration \"{name}\" which has no default value."
        )),
        Some(class) if !found && other_kind => errors.push(format!(
            "Invalid value {class} for configuration {name}: Class {class} does not implement {kind}"
        )),
        Some(class) if !found => errors.push(format!(
            "Invalid value {class} for configuration {name}: Class {class} could not be found."
        )),
        Some(_) => {}
    }
    if let Some(err) = create_error {
        errors.push(match err {
            ConnectError::Config(message) | ConnectError::Data(message) => message,
            other => other.to_string(),
        });
    }
    ConfigValue {
        name,
        value: class.map(str::to_owned),
        recommended_values: Vec::new(),
        errors,
        visible: true,
    }
}

fn predicate_value(prefix: &str, sub: &ConfigMap, defined: &[String]) -> ConfigValue {
    let name = format!("{prefix}predicate");
    let value = non_empty(sub, "predicate");
    let mut errors = Vec::new();
    if let Some(alias) = value {
        if !defined.iter().any(|d| d == alias.trim()) {
            errors.push(format!(
                "Invalid value {alias} for configuration {name}: no predicate '{alias}' is listed in 'predicates'"
            ));
        }
    }
    ConfigValue {
        name,
        value: Some(value.unwrap_or_default().to_owned()),
        recommended_values: defined.to_vec(),
        errors,
        visible: true,
    }
}

fn negate_value(prefix: &str, sub: &ConfigMap) -> ConfigValue {
    let name = format!("{prefix}negate");
    let value = non_empty(sub, "negate");
    let mut errors = Vec::new();
    if let Some(v) = value {
        if !(v.trim().eq_ignore_ascii_case("true") || v.trim().eq_ignore_ascii_case("false")) {
            errors.push(format!(
                "Invalid value {v} for configuration {name}: Expected value to be either true or false"
            ));
        } else if non_empty(sub, "predicate").is_none() {
            errors.push(format!(
                "{name} is set but {prefix}predicate is not: negate only applies to a predicate"
            ));
        }
    }
    ConfigValue {
        name,
        value: Some(value.unwrap_or("false").to_owned()),
        recommended_values: vec!["true".to_owned(), "false".to_owned()],
        errors,
        visible: true,
    }
}

/// Puts `prefix` before each key name, in the names and in the messages.
fn prefixed(values: Vec<ConfigValue>, prefix: &str) -> Vec<ConfigValue> {
    values
        .into_iter()
        .map(|mut value| {
            let full = format!("{prefix}{}", value.name);
            value.errors = value
                .errors
                .iter()
                .map(|e| {
                    e.replace(&format!("\"{}\"", value.name), &format!("\"{full}\""))
                        .replace(
                            &format!("configuration {} ", value.name),
                            &format!("configuration {full} "),
                        )
                        .replace(
                            &format!("configuration {}:", value.name),
                            &format!("configuration {full}:"),
                        )
                })
                .collect();
            value.name = full;
            value
        })
        .collect()
}
