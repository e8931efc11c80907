//! Topic-level configuration: the keys Kafka knows, their validation and their defaults.
//!
//! A topic stores only the keys set for it (`overrides`); everything else falls back to the
//! broker's defaults. [`TopicConfig::log_config`] turns the pair into the [`LogConfig`] its
//! partition logs run with.

use std::collections::BTreeMap;

use crate::log::LogConfig;

/// How a key's value is checked.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Long {
        min: i64,
    },
    Double,
    Bool,
    /// One of these values.
    Choice(&'static [&'static str]),
    /// A comma-separated list, each item one of these values.
    List(&'static [&'static str]),
    /// Any string (replica lists and the like).
    Text,
}

/// A topic config key Kafka defines.
#[derive(Debug)]
struct Key {
    name: &'static str,
    kind: Kind,
    /// Default when the broker's log defaults do not decide it.
    fixed_default: &'static str,
}

const COMPRESSION: &[&str] = &["producer", "uncompressed", "gzip", "snappy", "lz4", "zstd"];

const KEYS: &[Key] = &[
    key(
        "cleanup.policy",
        Kind::List(&["delete", "compact"]),
        "delete",
    ),
    key("compression.type", Kind::Choice(COMPRESSION), "producer"),
    key("compression.gzip.level", Kind::Long { min: -1 }, "-1"),
    key("compression.lz4.level", Kind::Long { min: 1 }, "9"),
    key("compression.zstd.level", Kind::Long { min: -131072 }, "3"),
    key("delete.retention.ms", Kind::Long { min: 0 }, "86400000"),
    key("file.delete.delay.ms", Kind::Long { min: 0 }, "60000"),
    key("flush.messages", Kind::Long { min: 1 }, ""),
    key("flush.ms", Kind::Long { min: 0 }, ""),
    key("follower.replication.throttled.replicas", Kind::Text, ""),
    key("index.interval.bytes", Kind::Long { min: 0 }, ""),
    key("leader.replication.throttled.replicas", Kind::Text, ""),
    key("local.retention.bytes", Kind::Long { min: -2 }, "-2"),
    key("local.retention.ms", Kind::Long { min: -2 }, "-2"),
    key(
        "max.compaction.lag.ms",
        Kind::Long { min: 1 },
        "9223372036854775807",
    ),
    key("max.message.bytes", Kind::Long { min: 0 }, ""),
    key("message.downconversion.enable", Kind::Bool, "true"),
    key("message.format.version", Kind::Text, "3.0-IV1"),
    key(
        "message.timestamp.after.max.ms",
        Kind::Long { min: 0 },
        "9223372036854775807",
    ),
    key(
        "message.timestamp.before.max.ms",
        Kind::Long { min: 0 },
        "9223372036854775807",
    ),
    key(
        "message.timestamp.difference.max.ms",
        Kind::Long { min: 0 },
        "9223372036854775807",
    ),
    key(
        "message.timestamp.type",
        Kind::Choice(&["CreateTime", "LogAppendTime"]),
        "CreateTime",
    ),
    key("min.cleanable.dirty.ratio", Kind::Double, "0.5"),
    key("min.compaction.lag.ms", Kind::Long { min: 0 }, "0"),
    key("min.insync.replicas", Kind::Long { min: 1 }, "1"),
    key("preallocate", Kind::Bool, "false"),
    key("remote.storage.enable", Kind::Bool, "false"),
    key("retention.bytes", Kind::Long { min: -1 }, ""),
    key("retention.ms", Kind::Long { min: -1 }, ""),
    key("segment.bytes", Kind::Long { min: 14 }, ""),
    key("segment.index.bytes", Kind::Long { min: 8 }, "10485760"),
    key("segment.jitter.ms", Kind::Long { min: 0 }, "0"),
    key("segment.ms", Kind::Long { min: 1 }, ""),
    key("unclean.leader.election.enable", Kind::Bool, "false"),
];

const fn key(name: &'static str, kind: Kind, fixed_default: &'static str) -> Key {
    Key {
        name,
        kind,
        fixed_default,
    }
}

fn find(name: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.name == name)
}

/// Whether a key is a list-valued config (APPEND and SUBTRACT apply to it).
pub fn is_list(name: &str) -> bool {
    matches!(find(name).map(|k| k.kind), Some(Kind::List(_)))
}

/// Checks one key and value.
///
/// # Errors
/// A message naming the key when it is unknown or its value is invalid.
pub fn validate(name: &str, value: &str) -> Result<(), String> {
    let key = find(name).ok_or_else(|| format!("unknown topic config '{name}'"))?;
    let bad = |why: &str| Err(format!("invalid value '{value}' for '{name}': {why}"));
    match key.kind {
        Kind::Long { min } => match value.trim().parse::<i64>() {
            Ok(v) if v >= min => Ok(()),
            Ok(_) => bad(&format!("must be at least {min}")),
            Err(_) => bad("not an integer"),
        },
        Kind::Double => match value.trim().parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(()),
            _ => bad("not a number"),
        },
        Kind::Bool => match value.trim() {
            "true" | "false" => Ok(()),
            _ => bad("must be true or false"),
        },
        Kind::Choice(allowed) => {
            if allowed.contains(&value.trim()) {
                Ok(())
            } else {
                bad(&format!("must be one of {}", allowed.join(", ")))
            }
        }
        Kind::List(allowed) => {
            for item in value.split(',').map(str::trim) {
                if !allowed.contains(&item) {
                    return bad(&format!("items must be among {}", allowed.join(", ")));
                }
            }
            Ok(())
        }
        Kind::Text => Ok(()),
    }
}

/// The explicitly set configs of one topic.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TopicConfig {
    /// Keys set for this topic, validated.
    pub overrides: BTreeMap<String, String>,
}

/// One row of a DescribeConfigs answer.
#[derive(Debug, Clone)]
pub struct ConfigEntry {
    /// The key.
    pub name: &'static str,
    /// The value in force.
    pub value: String,
    /// True when the topic does not set it.
    pub is_default: bool,
    /// True for numeric-looking keys whose type the client may ask for.
    pub kind_code: i8,
}

impl TopicConfig {
    /// Builds a config from pairs, validating every one.
    ///
    /// # Errors
    /// The first invalid key or value.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, String> {
        let mut overrides = BTreeMap::new();
        for (k, v) in pairs {
            validate(k, v)?;
            overrides.insert(k.to_string(), v.trim().to_string());
        }
        Ok(TopicConfig { overrides })
    }

    /// The log settings this topic's partitions run with.
    pub fn log_config(&self, defaults: &LogConfig) -> LogConfig {
        let mut c = defaults.clone();
        let long = |k: &str| self.overrides.get(k).and_then(|v| v.parse::<i64>().ok());
        if let Some(v) = long("retention.ms") {
            c.retention_ms = v;
        }
        if let Some(v) = long("retention.bytes") {
            c.retention_bytes = v;
        }
        if let Some(v) = long("segment.bytes") {
            c.segment_bytes = v.max(14) as u64;
        }
        if let Some(v) = long("segment.ms") {
            c.segment_ms = v;
        }
        if let Some(v) = long("max.message.bytes") {
            c.max_message_bytes = usize::try_from(v).unwrap_or(usize::MAX);
        }
        if let Some(v) = long("flush.messages") {
            c.flush_messages = v.max(1) as u64;
        }
        if let Some(v) = long("flush.ms") {
            c.flush_ms = v;
        }
        if let Some(v) = long("index.interval.bytes") {
            c.index_interval_bytes = usize::try_from(v).unwrap_or(4096);
        }
        if let Some(policy) = self.overrides.get("cleanup.policy") {
            let items: Vec<&str> = policy.split(',').map(str::trim).collect();
            c.cleanup_compact = items.contains(&"compact");
            c.cleanup_delete = items.contains(&"delete");
        }
        if let Some(v) = long("delete.retention.ms") {
            c.delete_retention_ms = v;
        }
        if let Some(v) = long("min.compaction.lag.ms") {
            c.min_compaction_lag_ms = v;
        }
        if let Some(v) = self
            .overrides
            .get("min.cleanable.dirty.ratio")
            .and_then(|v| v.parse::<f64>().ok())
        {
            // Kafka accepts 0 to 1; validation only checked the value is a number.
            c.min_cleanable_dirty_ratio = v.clamp(0.0, 1.0);
        }
        c
    }

    /// Every key with the value in force, for DescribeConfigs.
    pub fn describe(&self, defaults: &LogConfig) -> Vec<ConfigEntry> {
        KEYS.iter()
            .map(|k| {
                let (value, is_default) = match self.overrides.get(k.name) {
                    Some(v) => (v.clone(), false),
                    None => (default_value(k, defaults), true),
                };
                ConfigEntry {
                    name: k.name,
                    value,
                    is_default,
                    kind_code: type_code(k.kind),
                }
            })
            .collect()
    }
}

fn default_value(k: &Key, d: &LogConfig) -> String {
    match k.name {
        "retention.ms" => d.retention_ms.to_string(),
        "retention.bytes" => d.retention_bytes.to_string(),
        "segment.bytes" => d.segment_bytes.to_string(),
        "segment.ms" => d.segment_ms.to_string(),
        "max.message.bytes" => d.max_message_bytes.to_string(),
        "flush.messages" => d.flush_messages.min(i64::MAX as u64).to_string(),
        "flush.ms" => d.flush_ms.to_string(),
        "index.interval.bytes" => d.index_interval_bytes.to_string(),
        "cleanup.policy" => match (d.cleanup_compact, d.cleanup_delete) {
            (true, true) => "compact,delete".to_string(),
            (true, false) => "compact".to_string(),
            _ => "delete".to_string(),
        },
        "delete.retention.ms" => d.delete_retention_ms.to_string(),
        "min.compaction.lag.ms" => d.min_compaction_lag_ms.to_string(),
        "min.cleanable.dirty.ratio" => d.min_cleanable_dirty_ratio.to_string(),
        _ => k.fixed_default.to_string(),
    }
}

/// DescribeConfigs v3 config types: 1 boolean, 2 string, 3 int, 4 short, 5 long, 6 double, 7 list.
fn type_code(kind: Kind) -> i8 {
    match kind {
        Kind::Long { .. } => 5,
        Kind::Double => 6,
        Kind::Bool => 1,
        Kind::Choice(_) | Kind::Text => 2,
        Kind::List(_) => 7,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_types_and_unknown_keys() {
        assert!(validate("retention.ms", "1000").is_ok());
        assert!(validate("retention.ms", "-1").is_ok());
        assert!(validate("retention.ms", "soon").is_err());
        assert!(validate("segment.bytes", "1").is_err());
        assert!(validate("cleanup.policy", "compact,delete").is_ok());
        assert!(validate("cleanup.policy", "shred").is_err());
        assert!(validate("no.such.key", "1")
            .unwrap_err()
            .contains("unknown"));
    }

    #[test]
    fn overrides_reach_the_log_config() {
        let c =
            TopicConfig::from_pairs([("retention.ms", "5000"), ("segment.bytes", "1024")]).unwrap();
        let log = c.log_config(&LogConfig::default());
        assert_eq!(log.retention_ms, 5000);
        assert_eq!(log.segment_bytes, 1024);
        let described = c.describe(&LogConfig::default());
        let seg = described
            .iter()
            .find(|e| e.name == "segment.bytes")
            .unwrap();
        assert_eq!((seg.value.as_str(), seg.is_default), ("1024", false));
        let pol = described
            .iter()
            .find(|e| e.name == "cleanup.policy")
            .unwrap();
        assert_eq!((pol.value.as_str(), pol.is_default), ("delete", true));
        assert!(log.cleanup_delete && !log.cleanup_compact);
    }

    #[test]
    fn compaction_keys_reach_the_log_config() {
        let defaults = LogConfig::default();
        let c = TopicConfig::from_pairs([
            ("cleanup.policy", "compact"),
            ("delete.retention.ms", "1000"),
            ("min.compaction.lag.ms", "2000"),
            ("min.cleanable.dirty.ratio", "0.25"),
        ])
        .unwrap();
        let log = c.log_config(&defaults);
        assert!(log.cleanup_compact && !log.cleanup_delete);
        assert_eq!(log.delete_retention_ms, 1000);
        assert_eq!(log.min_compaction_lag_ms, 2000);
        assert_eq!(log.min_cleanable_dirty_ratio, 0.25);
        for (policy, compact, delete) in [
            ("compact,delete", true, true),
            ("delete, compact", true, true),
            ("delete", false, true),
        ] {
            let c = TopicConfig::from_pairs([("cleanup.policy", policy)]).unwrap();
            let log = c.log_config(&defaults);
            assert_eq!(
                (log.cleanup_compact, log.cleanup_delete),
                (compact, delete),
                "{policy}"
            );
        }
        let c = TopicConfig::from_pairs([("min.cleanable.dirty.ratio", "7")]).unwrap();
        assert_eq!(c.log_config(&defaults).min_cleanable_dirty_ratio, 1.0);
        let unset = TopicConfig::default().log_config(&defaults);
        assert_eq!(unset, defaults);
    }
}
