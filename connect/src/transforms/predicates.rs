//! Kafka's built-in predicates: TopicNameMatches (`pattern`, a Java regex that must match
//! the whole topic name), HasHeaderKey (`name`) and RecordIsTombstone.

use regex::Regex;

use crate::config::{ConfigDef, ConfigMap, ConfigType, Importance, Validator};
use crate::error::{ConnectError, Result};
use crate::record::ConnectRecord;

use super::Predicate;

/// Compiles a Java regex for Java's `Matcher.matches`: the whole input must match.
pub(crate) fn whole_match_regex(pattern: &str) -> Result<Regex> {
    Regex::new(&format!("^(?:{pattern})$"))
        .map_err(|e| ConnectError::Config(format!("Invalid regex '{pattern}': {e}")))
}

/// A validator for regex keys.
pub(crate) fn check_regex(pattern: &str) -> std::result::Result<(), String> {
    if pattern.is_empty() {
        return Err("String must be non-empty".to_owned());
    }
    Regex::new(pattern)
        .map(|_| ())
        .map_err(|e| format!("Invalid regex: {e}"))
}

/// Kafka's `TopicNameMatches`.
#[derive(Debug)]
pub(crate) struct TopicNameMatches {
    pattern: Regex,
}

impl TopicNameMatches {
    /// The declared keys.
    pub(crate) fn config_def() -> ConfigDef {
        ConfigDef::new()
            .required(
                "pattern",
                ConfigType::String,
                Importance::Medium,
                "A Java regular expression for matching against the name of a record's topic.",
            )
            .validator(Validator::Custom(check_regex))
    }

    /// From its config.
    pub(crate) fn new(config: &ConfigMap) -> Result<Self> {
        let parsed = Self::config_def().parse(config)?;
        Ok(Self {
            pattern: whole_match_regex(&parsed.string("pattern").unwrap_or_default())?,
        })
    }
}

impl Predicate for TopicNameMatches {
    fn test(&self, record: &ConnectRecord) -> bool {
        self.pattern.is_match(&record.topic)
    }
}

/// Kafka's `HasHeaderKey`.
#[derive(Debug)]
pub(crate) struct HasHeaderKey {
    name: String,
}

impl HasHeaderKey {
    /// The declared keys.
    pub(crate) fn config_def() -> ConfigDef {
        ConfigDef::new()
            .required(
                "name",
                ConfigType::String,
                Importance::Medium,
                "The header name.",
            )
            .validator(Validator::NonEmptyString)
    }

    /// From its config.
    pub(crate) fn new(config: &ConfigMap) -> Result<Self> {
        let parsed = Self::config_def().parse(config)?;
        Ok(Self {
            name: parsed.get("name").unwrap_or_default().to_owned(),
        })
    }
}

impl Predicate for HasHeaderKey {
    fn test(&self, record: &ConnectRecord) -> bool {
        record.headers.iter().any(|h| h.key == self.name)
    }
}

/// Kafka's `RecordIsTombstone`: the value is null.
#[derive(Debug)]
pub(crate) struct RecordIsTombstone;

impl RecordIsTombstone {
    /// The declared keys: none.
    pub(crate) fn config_def() -> ConfigDef {
        ConfigDef::new()
    }

    /// From its config.
    pub(crate) fn new(_config: &ConfigMap) -> Result<Self> {
        Ok(Self)
    }
}

impl Predicate for RecordIsTombstone {
    fn test(&self, record: &ConnectRecord) -> bool {
        record.is_tombstone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Value;
    use crate::record::Header;
    use crate::transforms::part::testkit::config;

    #[test]
    fn topic_name_matches_the_whole_name() {
        let p = TopicNameMatches::new(&config(&[("pattern", "orders|sales-.*")])).unwrap();
        assert!(p.test(&ConnectRecord::new("orders", Value::Null)));
        assert!(p.test(&ConnectRecord::new("sales-eu", Value::Null)));
        assert!(!p.test(&ConnectRecord::new("orders-archive", Value::Null)));
        assert!(!p.test(&ConnectRecord::new("old-sales-eu", Value::Null)));
        assert!(TopicNameMatches::new(&config(&[("pattern", "(")])).is_err());
        assert!(TopicNameMatches::new(&config(&[])).is_err());
    }

    #[test]
    fn header_key_and_tombstone() {
        let p = HasHeaderKey::new(&config(&[("name", "trace")])).unwrap();
        let mut r = ConnectRecord::new("t", Value::from("v"));
        assert!(!p.test(&r));
        r.headers.push(Header {
            key: "trace".into(),
            schema: None,
            value: Value::Null,
        });
        assert!(p.test(&r));
        let t = RecordIsTombstone::new(&ConfigMap::new()).unwrap();
        assert!(!t.test(&r));
        assert!(t.test(&ConnectRecord::new("t", Value::Null)));
    }
}
