//! The topic routers: RegexRouter (a Java regex that must match the whole topic, and a
//! Java replacement with `$1` groups) and TimestampRouter (`topic.format` with `${topic}`
//! and `${timestamp}`, the record timestamp in `timestamp.format`, UTC).

use regex::Regex;

use crate::config::{ConfigDef, ConfigMap, ConfigType, Importance, Validator};
use crate::error::{ConnectError, Result};
use crate::record::ConnectRecord;

use super::date_format::{check_pattern, JavaDateFormat};
use super::predicates::{check_regex, whole_match_regex};
use super::Transform;

/// Kafka's `RegexRouter`.
#[derive(Debug)]
pub(crate) struct RegexRouter {
    regex: Regex,
    /// The replacement in the regex crate's syntax.
    replacement: String,
}

/// Translates a Java replacement (`$1`, `${name}`, `\$` for a literal) into the regex
/// crate's syntax (`${1}`, `${name}`, `$$`). As in Java, `$12` means group 12 only when the
/// regex has 12 groups, else group 1 followed by `2`.
pub(crate) fn java_replacement(replacement: &str, groups: usize) -> Result<String> {
    let bad = |m: &str| ConnectError::Config(format!("Invalid replacement '{replacement}': {m}"));
    let chars: Vec<char> = replacement.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' => {
                let c = *chars
                    .get(i + 1)
                    .ok_or_else(|| bad("character to be escaped is missing"))?;
                if c == '$' {
                    out.push_str("$$");
                } else {
                    out.push(c);
                }
                i += 2;
            }
            '$' => {
                i += 1;
                match chars.get(i) {
                    Some('{') => {
                        let end = chars[i..]
                            .iter()
                            .position(|&c| c == '}')
                            .ok_or_else(|| bad("named capturing group is missing trailing '}'"))?;
                        let name: String = chars[i + 1..i + end].iter().collect();
                        out.push_str(&format!("${{{name}}}"));
                        i += end + 1;
                    }
                    Some(d) if d.is_ascii_digit() => {
                        let mut group = d.to_digit(10).unwrap_or_default() as usize;
                        i += 1;
                        while let Some(next) = chars.get(i).and_then(|c| c.to_digit(10)) {
                            let longer = group * 10 + next as usize;
                            if longer > groups {
                                break;
                            }
                            group = longer;
                            i += 1;
                        }
                        if group > groups {
                            return Err(bad(&format!("No group {group}")));
                        }
                        out.push_str(&format!("${{{group}}}"));
                    }
                    _ => return Err(bad("Illegal group reference")),
                }
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(out)
}

impl RegexRouter {
    /// The declared keys.
    pub(crate) fn config_def() -> ConfigDef {
        ConfigDef::new()
            .required(
                "regex",
                ConfigType::String,
                Importance::High,
                "Regular expression to use for matching.",
            )
            .validator(Validator::Custom(check_regex))
            .required(
                "replacement",
                ConfigType::String,
                Importance::High,
                "Replacement string.",
            )
    }

    /// From its config.
    pub(crate) fn new(config: &ConfigMap) -> Result<Self> {
        let parsed = Self::config_def().parse(config)?;
        let regex = whole_match_regex(parsed.get("regex").unwrap_or_default())?;
        let replacement = java_replacement(
            parsed.get("replacement").unwrap_or_default(),
            regex.captures_len() - 1,
        )?;
        Ok(Self { regex, replacement })
    }
}

impl Transform for RegexRouter {
    fn apply(&self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        if let Some(captures) = self.regex.captures(&record.topic) {
            let mut topic = String::new();
            captures.expand(&self.replacement, &mut topic);
            record.topic = topic;
        }
        Ok(Some(record))
    }
}

/// Kafka's `TimestampRouter`.
#[derive(Debug)]
pub(crate) struct TimestampRouter {
    topic_format: String,
    timestamp_format: JavaDateFormat,
}

impl TimestampRouter {
    /// The declared keys.
    pub(crate) fn config_def() -> ConfigDef {
        ConfigDef::new()
            .optional("topic.format", ConfigType::String, "${topic}-${timestamp}", Importance::High, "Format string which can contain <code>${topic}</code> and <code>${timestamp}</code> as placeholders for the topic and timestamp, respectively.")
            .validator(Validator::NonEmptyString)
            .optional("timestamp.format", ConfigType::String, "yyyyMMdd", Importance::High, "Format string for the timestamp that is compatible with <code>java.text.SimpleDateFormat</code>.")
            .validator(Validator::Custom(check_pattern))
    }

    /// From its config.
    pub(crate) fn new(config: &ConfigMap) -> Result<Self> {
        let parsed = Self::config_def().parse(config)?;
        Ok(Self {
            topic_format: parsed.get("topic.format").unwrap_or_default().to_owned(),
            timestamp_format: JavaDateFormat::new(
                parsed.get("timestamp.format").unwrap_or_default(),
            )?,
        })
    }
}

impl Transform for TimestampRouter {
    fn apply(&self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        let timestamp = record.timestamp.ok_or_else(|| {
            ConnectError::Data(format!(
                "Timestamp missing on record of topic '{}'",
                record.topic
            ))
        })?;
        let formatted = self.timestamp_format.format(timestamp)?;
        record.topic = self
            .topic_format
            .replace("${topic}", &record.topic)
            .replace("${timestamp}", &formatted);
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Value;
    use crate::transforms::part::testkit::config;

    fn route(t: &dyn Transform, topic: &str) -> String {
        t.apply(ConnectRecord::new(topic, Value::Null))
            .unwrap()
            .unwrap()
            .topic
    }

    #[test]
    fn regex_router_needs_a_whole_match() {
        let t = RegexRouter::new(&config(&[
            ("regex", "(.*)-(\\d+)"),
            ("replacement", "$1_v$2"),
        ]))
        .unwrap();
        assert_eq!(route(&t, "orders-12"), "orders_v12");
        assert_eq!(route(&t, "orders"), "orders");
        let prefix = RegexRouter::new(&config(&[("regex", "ord"), ("replacement", "x")])).unwrap();
        assert_eq!(
            route(&prefix, "orders"),
            "orders",
            "a partial match leaves the topic"
        );
        let literal =
            RegexRouter::new(&config(&[("regex", "(a)"), ("replacement", "\\$1$10")])).unwrap();
        assert_eq!(
            route(&literal, "a"),
            "$1a0",
            "$10 is group 1 then 0 with one group"
        );
        assert!(RegexRouter::new(&config(&[("regex", "(a"), ("replacement", "x")])).is_err());
        assert!(RegexRouter::new(&config(&[("regex", "a"), ("replacement", "$2")])).is_err());
        assert!(RegexRouter::new(&config(&[("regex", "a")])).is_err());
    }

    #[test]
    fn timestamp_router_formats_in_utc() {
        let t = TimestampRouter::new(&config(&[])).unwrap();
        let mut r = ConnectRecord::new("logs", Value::Null);
        r.timestamp = Some(1_700_000_123_456);
        assert_eq!(t.apply(r.clone()).unwrap().unwrap().topic, "logs-20231114");
        let custom = TimestampRouter::new(&config(&[
            ("topic.format", "${timestamp}.${topic}"),
            ("timestamp.format", "yyyy-MM"),
        ]))
        .unwrap();
        assert_eq!(custom.apply(r).unwrap().unwrap().topic, "2023-11.logs");
        assert!(t.apply(ConnectRecord::new("logs", Value::Null)).is_err());
        assert!(TimestampRouter::new(&config(&[("timestamp.format", "yyyy Q")])).is_err());
    }

    proptest::proptest! {
        #[test]
        fn any_replacement_is_translated_or_refused_without_panic(replacement in ".{0,16}", groups in 0usize..12) {
            let _ = java_replacement(&replacement, groups);
        }
    }
}
