//! Declared config keys and their validation, shaped like Kafka's `ConfigDef` so the REST
//! API's `config/validate` answer matches Kafka's field for field.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{split_list, ConfigMap};
use crate::error::ConnectError;

/// A config key's type, named as Kafka names them in validation answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigType {
    /// `true` or `false` (case-insensitive).
    Boolean,
    /// Any string.
    String,
    /// A 32-bit integer.
    Int,
    /// A 64-bit integer.
    Long,
    /// A floating-point number.
    Double,
    /// A comma-separated list.
    List,
    /// A class name (a plugin, converter, transform or predicate).
    Class,
    /// A secret: never echoed back in validation answers.
    Password,
}

impl ConfigType {
    /// Kafka's name (`"STRING"`, `"INT"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            ConfigType::Boolean => "BOOLEAN",
            ConfigType::String => "STRING",
            ConfigType::Int => "INT",
            ConfigType::Long => "LONG",
            ConfigType::Double => "DOUBLE",
            ConfigType::List => "LIST",
            ConfigType::Class => "CLASS",
            ConfigType::Password => "PASSWORD",
        }
    }

    fn check(self, value: &str) -> Result<(), String> {
        let ok = match self {
            ConfigType::Boolean => {
                value.eq_ignore_ascii_case("true") || value.eq_ignore_ascii_case("false")
            }
            ConfigType::Int => value.trim().parse::<i32>().is_ok(),
            ConfigType::Long => value.trim().parse::<i64>().is_ok(),
            ConfigType::Double => value.trim().parse::<f64>().is_ok(),
            ConfigType::String | ConfigType::List | ConfigType::Class | ConfigType::Password => {
                true
            }
        };
        if ok {
            Ok(())
        } else {
            Err(format!(
                "Invalid value {value} for configuration: Expected value to be a {}",
                match self {
                    ConfigType::Boolean => "boolean (true or false)",
                    ConfigType::Int => "32-bit integer",
                    ConfigType::Long => "64-bit integer",
                    _ => "number",
                }
            ))
        }
    }
}

/// How important a key is (Kafka's `Importance`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Importance {
    /// High.
    High,
    /// Medium.
    Medium,
    /// Low.
    Low,
}

impl Importance {
    fn name(self) -> &'static str {
        match self {
            Importance::High => "HIGH",
            Importance::Medium => "MEDIUM",
            Importance::Low => "LOW",
        }
    }
}

/// A check of a key's value beyond its type.
#[derive(Debug, Clone)]
pub enum Validator {
    /// Not empty after trimming.
    NonEmptyString,
    /// A number within `[min, max]` (either bound optional).
    Range {
        /// The lowest accepted value.
        min: Option<i64>,
        /// The highest accepted value.
        max: Option<i64>,
    },
    /// One of these values (case-insensitive).
    OneOf(Vec<&'static str>),
    /// Any check: returns the error message for a bad value.
    Custom(fn(&str) -> Result<(), String>),
}

impl Validator {
    fn check(&self, name: &str, value: &str) -> Result<(), String> {
        match self {
            Validator::NonEmptyString => {
                if value.trim().is_empty() {
                    Err(format!(
                        "Invalid value for configuration {name}: String must be non-empty"
                    ))
                } else {
                    Ok(())
                }
            }
            Validator::Range { min, max } => {
                let number: i64 = value.trim().parse().map_err(|_| {
                    format!("Invalid value {value} for configuration {name}: not a number")
                })?;
                if min.is_some_and(|m| number < m) {
                    return Err(format!(
                        "Invalid value {value} for configuration {name}: Value must be at least {}",
                        min.unwrap_or_default()
                    ));
                }
                if max.is_some_and(|m| number > m) {
                    return Err(format!(
                        "Invalid value {value} for configuration {name}: Value must be no more than {}",
                        max.unwrap_or_default()
                    ));
                }
                Ok(())
            }
            Validator::OneOf(options) => {
                if options.iter().any(|o| o.eq_ignore_ascii_case(value.trim())) {
                    Ok(())
                } else {
                    Err(format!(
                        "Invalid value {value} for configuration {name}: String must be one of: {}",
                        options.join(", ")
                    ))
                }
            }
            Validator::Custom(check) => check(value).map_err(|message| {
                format!("Invalid value {value} for configuration {name}: {message}")
            }),
        }
    }

    fn recommended(&self) -> Vec<String> {
        match self {
            Validator::OneOf(options) => options.iter().map(|o| (*o).to_owned()).collect(),
            _ => Vec::new(),
        }
    }
}

/// One declared key.
#[derive(Debug, Clone)]
pub struct ConfigKey {
    /// The key.
    pub name: String,
    /// Its type.
    pub config_type: ConfigType,
    /// The default; `None` makes the key required.
    pub default: Option<String>,
    /// How important it is.
    pub importance: Importance,
    /// What it does.
    pub documentation: String,
    /// The group it is shown in ("Common", "Transforms", ...).
    pub group: Option<String>,
    /// A check of the value beyond its type.
    pub validator: Option<Validator>,
}

/// Declared keys, in declaration order.
#[derive(Debug, Clone, Default)]
pub struct ConfigDef {
    keys: Vec<ConfigKey>,
}

impl ConfigDef {
    /// No keys.
    pub fn new() -> Self {
        Self::default()
    }

    /// Declares a required key.
    pub fn required(
        mut self,
        name: &str,
        config_type: ConfigType,
        importance: Importance,
        documentation: &str,
    ) -> Self {
        self.keys.push(ConfigKey {
            name: name.to_owned(),
            config_type,
            default: None,
            importance,
            documentation: documentation.to_owned(),
            group: None,
            validator: None,
        });
        self
    }

    /// Declares a key with a default (an empty default for an optional key without one).
    pub fn optional(
        mut self,
        name: &str,
        config_type: ConfigType,
        default: &str,
        importance: Importance,
        documentation: &str,
    ) -> Self {
        self.keys.push(ConfigKey {
            name: name.to_owned(),
            config_type,
            default: Some(default.to_owned()),
            importance,
            documentation: documentation.to_owned(),
            group: None,
            validator: None,
        });
        self
    }

    /// Sets the validator of the key declared last.
    pub fn validator(mut self, validator: Validator) -> Self {
        if let Some(key) = self.keys.last_mut() {
            key.validator = Some(validator);
        }
        self
    }

    /// Sets the group of the key declared last.
    pub fn group(mut self, group: &str) -> Self {
        if let Some(key) = self.keys.last_mut() {
            key.group = Some(group.to_owned());
        }
        self
    }

    /// Adds every key of `other` (keys already declared here win).
    pub fn merge(mut self, other: ConfigDef) -> Self {
        for key in other.keys {
            if !self.keys.iter().any(|k| k.name == key.name) {
                self.keys.push(key);
            }
        }
        self
    }

    /// The declared keys.
    pub fn keys(&self) -> &[ConfigKey] {
        &self.keys
    }

    /// The key of this name.
    pub fn key(&self, name: &str) -> Option<&ConfigKey> {
        self.keys.iter().find(|k| k.name == name)
    }

    /// Validates every declared key of `config`, collecting every error (never stopping at
    /// the first), as Kafka's `ConfigDef.validate` does.
    pub fn validate(&self, config: &ConfigMap) -> Vec<ConfigValue> {
        self.keys
            .iter()
            .map(|key| {
                let value = config.get(&key.name).cloned();
                let mut errors = Vec::new();
                match (&value, &key.default) {
                    (None, None) => errors.push(format!(
                        "Missing required configuration \"{}\" which has no default value.",
                        key.name
                    )),
                    (Some(v), _) => {
                        if let Err(e) = key.config_type.check(v) {
                            errors.push(
                                e.replace("configuration", &format!("configuration {}", key.name)),
                            );
                        } else if let Some(validator) = &key.validator {
                            if let Err(e) = validator.check(&key.name, v) {
                                errors.push(e);
                            }
                        }
                    }
                    (None, Some(_)) => {}
                }
                ConfigValue {
                    name: key.name.clone(),
                    value: value.or_else(|| key.default.clone()),
                    recommended_values: key
                        .validator
                        .as_ref()
                        .map(Validator::recommended)
                        .unwrap_or_default(),
                    errors,
                    visible: true,
                }
            })
            .collect()
    }

    /// Validates `config` and returns its typed view.
    ///
    /// # Errors
    /// [`ConnectError::Config`] listing every error.
    pub fn parse(&self, config: &ConfigMap) -> Result<ParsedConfig, ConnectError> {
        let values = self.validate(config);
        let errors: Vec<String> = values
            .iter()
            .flat_map(|v| v.errors.iter().cloned())
            .collect();
        if !errors.is_empty() {
            return Err(ConnectError::Config(errors.join("; ")));
        }
        Ok(ParsedConfig {
            values: values
                .into_iter()
                .map(|v| (v.name, v.value.unwrap_or_default()))
                .collect(),
            originals: config.clone(),
        })
    }

    /// Kafka's validation answer for a plugin: every key's definition, value and errors.
    pub fn infos(&self, plugin: &str, values: Vec<ConfigValue>) -> ConfigInfos {
        let mut groups: Vec<String> = Vec::new();
        let mut configs = Vec::new();
        for value in values {
            let key = self.key(&value.name);
            let group = key.and_then(|k| k.group.clone());
            if let Some(g) = &group {
                if !groups.contains(g) {
                    groups.push(g.clone());
                }
            }
            let masked = key.is_some_and(|k| k.config_type == ConfigType::Password);
            let definition = ConfigKeyInfo {
                name: value.name.clone(),
                config_type: key.map_or("STRING", |k| k.config_type.name()).to_owned(),
                required: key.is_some_and(|k| k.default.is_none()),
                default_value: key.and_then(|k| k.default.clone()),
                importance: key.map_or("LOW", |k| k.importance.name()).to_owned(),
                documentation: key.map(|k| k.documentation.clone()).unwrap_or_default(),
                group,
                width: "NONE".to_owned(),
                display_name: value.name.clone(),
                dependents: Vec::new(),
                order: configs.len() as i32 + 1,
            };
            configs.push(ConfigInfo {
                definition,
                value: ConfigValueInfo {
                    name: value.name,
                    value: if masked {
                        value.value.map(|_| "[hidden]".to_owned())
                    } else {
                        value.value
                    },
                    recommended_values: value.recommended_values,
                    errors: value.errors,
                    visible: value.visible,
                },
            });
        }
        ConfigInfos {
            name: plugin.to_owned(),
            error_count: configs.iter().map(|c| c.value.errors.len()).sum(),
            groups,
            configs,
        }
    }
}

/// One key's validation result.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigValue {
    /// The key.
    pub name: String,
    /// The value given, or the default.
    pub value: Option<String>,
    /// Values that would be accepted, where the set is known.
    pub recommended_values: Vec<String>,
    /// Every error of this key.
    pub errors: Vec<String>,
    /// Whether the key applies to this config.
    pub visible: bool,
}

impl ConfigValue {
    /// A value with one error (for checks a connector adds beyond its [`ConfigDef`]).
    pub fn error(name: &str, value: Option<String>, message: impl Into<String>) -> Self {
        Self {
            name: name.to_owned(),
            value,
            recommended_values: Vec::new(),
            errors: vec![message.into()],
            visible: true,
        }
    }
}

/// A config validated against its [`ConfigDef`], with typed getters (defaults applied).
#[derive(Debug, Clone)]
pub struct ParsedConfig {
    values: BTreeMap<String, String>,
    originals: ConfigMap,
}

impl ParsedConfig {
    /// The value (or default) of a declared key; `None` for an undeclared key.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// The string value, `None` when empty.
    pub fn string(&self, name: &str) -> Option<String> {
        self.get(name).filter(|v| !v.is_empty()).map(str::to_owned)
    }

    /// The integer value (0 when unset; validation already checked it parses).
    pub fn long(&self, name: &str) -> i64 {
        self.get(name)
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_default()
    }

    /// The boolean value.
    pub fn boolean(&self, name: &str) -> bool {
        self.get(name)
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
    }

    /// The list value.
    pub fn list(&self, name: &str) -> Vec<String> {
        self.get(name).map(split_list).unwrap_or_default()
    }

    /// The config as given (declared and undeclared keys).
    pub fn originals(&self) -> &ConfigMap {
        &self.originals
    }
}

/// Kafka's answer to `PUT /connector-plugins/{plugin}/config/validate`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigInfos {
    /// The plugin's name.
    pub name: String,
    /// The number of errors over every key.
    pub error_count: usize,
    /// The groups the keys are shown in.
    pub groups: Vec<String>,
    /// Each key.
    pub configs: Vec<ConfigInfo>,
}

/// One key in a validation answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigInfo {
    /// The key's declaration.
    pub definition: ConfigKeyInfo,
    /// Its value and errors.
    pub value: ConfigValueInfo,
}

/// A key's declaration, as Kafka serialises it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigKeyInfo {
    /// The key.
    pub name: String,
    /// Its type (`"STRING"`, ...).
    #[serde(rename = "type")]
    pub config_type: String,
    /// Whether it has no default.
    pub required: bool,
    /// The default.
    pub default_value: Option<String>,
    /// `"HIGH"`, `"MEDIUM"` or `"LOW"`.
    pub importance: String,
    /// What it does.
    pub documentation: String,
    /// Its group.
    pub group: Option<String>,
    /// Kafka's display width (always `"NONE"` here).
    pub width: String,
    /// The name to show.
    pub display_name: String,
    /// Keys that depend on it.
    pub dependents: Vec<String>,
    /// Its position.
    pub order: i32,
}

/// A key's value in a validation answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigValueInfo {
    /// The key.
    pub name: String,
    /// The value (passwords as `[hidden]`).
    pub value: Option<String>,
    /// Accepted values, where known.
    pub recommended_values: Vec<String>,
    /// The errors.
    pub errors: Vec<String>,
    /// Whether it applies.
    pub visible: bool,
}
