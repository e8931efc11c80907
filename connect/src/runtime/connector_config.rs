//! The keys every connector config has, whatever its class (Kafka's `ConnectorConfig`,
//! `SinkConnectorConfig`): name, class, tasks, converter overrides, transforms, the error
//! handling keys, and a sink's topics.

use std::time::Duration;

use crate::config::{
    split_list, with_prefix, ConfigDef, ConfigMap, ConfigType, Importance, Validator,
};
use crate::connector::ConnectorType;
use crate::error::{ConnectError, Result};

/// Kafka's error-handling keys (`errors.*`).
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorSettings {
    /// `errors.tolerance=all`: skip records that fail conversion or a transform.
    pub tolerate_all: bool,
    /// `errors.retry.timeout` (0: no retries; -1: forever).
    pub retry_timeout: Option<Duration>,
    /// `errors.retry.delay.max.ms` (default 60 s).
    pub retry_delay_max: Duration,
    /// `errors.log.enable`.
    pub log: bool,
    /// `errors.log.include.messages`.
    pub log_messages: bool,
    /// `errors.deadletterqueue.topic.name` (empty: none).
    pub dlq_topic: Option<String>,
    /// `errors.deadletterqueue.context.headers.enable`.
    pub dlq_context_headers: bool,
    /// `errors.deadletterqueue.topic.replication.factor`.
    pub dlq_replication_factor: i32,
}

/// A converter chosen in a connector config, overriding the worker's.
#[derive(Debug, Clone, PartialEq)]
pub struct ConverterChoice {
    /// The class.
    pub class: String,
    /// Its settings, prefix removed.
    pub config: ConfigMap,
}

/// The common keys of one connector's config.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectorSettings {
    /// `name`.
    pub name: String,
    /// `connector.class`.
    pub class: String,
    /// `tasks.max` (default 1).
    pub tasks_max: usize,
    /// `key.converter` override.
    pub key_converter: Option<ConverterChoice>,
    /// `value.converter` override.
    pub value_converter: Option<ConverterChoice>,
    /// `header.converter` override.
    pub header_converter: Option<ConverterChoice>,
    /// `errors.*`.
    pub errors: ErrorSettings,
    /// A sink's `topics`.
    pub topics: Vec<String>,
    /// A sink's `topics.regex`.
    pub topics_regex: Option<String>,
    /// `producer.override.*` (sources) for the connector's producer.
    pub producer_overrides: ConfigMap,
    /// `consumer.override.*` (sinks) for the connector's consumer.
    pub consumer_overrides: ConfigMap,
}

/// The common keys' declarations (shown and checked by `config/validate`).
pub fn common_def(connector_type: ConnectorType) -> ConfigDef {
    let tolerance = Validator::OneOf(vec!["none", "all"]);
    let def = ConfigDef::new()
        .required("name", ConfigType::String, Importance::High, "Globally unique name to use for this connector.")
        .validator(Validator::NonEmptyString)
        .group("Common")
        .required("connector.class", ConfigType::String, Importance::High, "Name or alias of the class for this connector.")
        .group("Common")
        .optional("tasks.max", ConfigType::Int, "1", Importance::High, "Maximum number of tasks to use for this connector.")
        .validator(Validator::Range { min: Some(1), max: None })
        .group("Common")
        .optional("key.converter", ConfigType::Class, "", Importance::Low, "Converter class used to convert between Kafka Connect format and the serialized form that is written to Kafka.")
        .group("Common")
        .optional("value.converter", ConfigType::Class, "", Importance::Low, "Converter class used to convert between Kafka Connect format and the serialized form that is written to Kafka.")
        .group("Common")
        .optional("header.converter", ConfigType::Class, "", Importance::Low, "HeaderConverter class used to convert between Kafka Connect format and the serialized form that is written to Kafka.")
        .group("Common")
        .optional("transforms", ConfigType::List, "", Importance::Low, "Aliases for the transformations to be applied to records.")
        .group("Transforms")
        .optional("predicates", ConfigType::List, "", Importance::Low, "Aliases for the predicates used by transformations.")
        .group("Predicates")
        .optional("errors.retry.timeout", ConfigType::Long, "0", Importance::Medium, "The maximum duration in milliseconds that a failed operation will be reattempted. The default is 0, which means no retries will be attempted. Use -1 for infinite retries.")
        .validator(Validator::Range { min: Some(-1), max: None })
        .group("Error Handling")
        .optional("errors.retry.delay.max.ms", ConfigType::Long, "60000", Importance::Medium, "The maximum duration in milliseconds between consecutive retry attempts.")
        .validator(Validator::Range { min: Some(1), max: None })
        .group("Error Handling")
        .optional("errors.tolerance", ConfigType::String, "none", Importance::Medium, "Behavior for tolerating errors during connector operation. 'none' is the default value and signals that any error will result in an immediate connector task failure; 'all' changes the behavior to skip over problematic records.")
        .validator(tolerance)
        .group("Error Handling")
        .optional("errors.log.enable", ConfigType::Boolean, "false", Importance::Medium, "If true, write each error and the details of the failed operation and problematic record to the Connect application log.")
        .group("Error Handling")
        .optional("errors.log.include.messages", ConfigType::Boolean, "false", Importance::Medium, "Whether to include in the log the Connect record that resulted in a failure.")
        .group("Error Handling")
        .optional("errors.deadletterqueue.topic.name", ConfigType::String, "", Importance::Medium, "The name of the topic to be used as the dead letter queue (DLQ) for messages that result in an error when processed by this connector, its transformations or converters.")
        .group("Error Handling")
        .optional("errors.deadletterqueue.topic.replication.factor", ConfigType::Int, "-1", Importance::Medium, "Replication factor used to create the dead letter queue topic when it doesn't already exist (-1: the broker's default).")
        .group("Error Handling")
        .optional("errors.deadletterqueue.context.headers.enable", ConfigType::Boolean, "false", Importance::Medium, "If true, add headers containing error context to the messages written to the dead letter queue.")
        .group("Error Handling");
    match connector_type {
        ConnectorType::Source => def,
        ConnectorType::Sink => def
            .optional(
                "topics",
                ConfigType::List,
                "",
                Importance::High,
                "List of topics to consume, separated by commas.",
            )
            .group("Common")
            .optional(
                "topics.regex",
                ConfigType::String,
                "",
                Importance::High,
                "Regular expression giving topics to consume.",
            )
            .validator(Validator::Custom(|v| {
                regex::Regex::new(v)
                    .map(|_| ())
                    .map_err(|e| format!("not a valid regular expression: {e}"))
            }))
            .group("Common"),
    }
}

/// Cross-key checks of the common keys: a sink's topics, the DLQ topic; each error as
/// `(key, message)`.
pub fn cross_checks(connector_type: ConnectorType, config: &ConfigMap) -> Vec<(String, String)> {
    let mut errors = Vec::new();
    if connector_type == ConnectorType::Sink {
        let topics = config
            .get("topics")
            .map(|t| split_list(t))
            .unwrap_or_default();
        let regex = config.get("topics.regex").filter(|r| !r.trim().is_empty());
        match (topics.is_empty(), regex.is_some()) {
            (true, false) => errors.push((
                "topics".to_owned(),
                "Must configure one of topics or topics.regex".to_owned(),
            )),
            (false, true) => errors.push((
                "topics".to_owned(),
                "topics and topics.regex are mutually exclusive options, but both are set."
                    .to_owned(),
            )),
            _ => {}
        }
        if let Some(dlq) = config.get("errors.deadletterqueue.topic.name") {
            if topics.iter().any(|t| t == dlq.trim()) {
                errors.push((
                    "errors.deadletterqueue.topic.name".to_owned(),
                    format!("The DLQ topic '{dlq}' may not be included in the list of topics ('topics') to consume"),
                ));
            }
        }
    }
    errors
}

fn converter(config: &ConfigMap, key: &str) -> Option<ConverterChoice> {
    config
        .get(key)
        .filter(|c| !c.trim().is_empty())
        .map(|class| ConverterChoice {
            class: class.trim().to_owned(),
            config: with_prefix(config, &format!("{key}.")),
        })
}

impl ConnectorSettings {
    /// Reads the common keys (after validation; errors here name the key).
    ///
    /// # Errors
    /// [`ConnectError::Config`] for a missing or malformed key.
    pub fn parse(connector_type: ConnectorType, config: &ConfigMap) -> Result<Self> {
        let parsed = common_def(connector_type).parse(config)?;
        if let Some((key, message)) = cross_checks(connector_type, config).into_iter().next() {
            return Err(ConnectError::Config(format!("{key}: {message}")));
        }
        let retry_ms = parsed.long("errors.retry.timeout");
        Ok(Self {
            name: parsed.string("name").unwrap_or_default(),
            class: parsed.string("connector.class").unwrap_or_default(),
            tasks_max: usize::try_from(parsed.long("tasks.max"))
                .unwrap_or(1)
                .max(1),
            key_converter: converter(config, "key.converter"),
            value_converter: converter(config, "value.converter"),
            header_converter: converter(config, "header.converter"),
            errors: ErrorSettings {
                tolerate_all: parsed
                    .get("errors.tolerance")
                    .is_some_and(|t| t.trim().eq_ignore_ascii_case("all")),
                retry_timeout: match retry_ms {
                    -1 => None,
                    ms => Some(Duration::from_millis(u64::try_from(ms).unwrap_or(0))),
                },
                retry_delay_max: Duration::from_millis(
                    u64::try_from(parsed.long("errors.retry.delay.max.ms")).unwrap_or(60_000),
                ),
                log: parsed.boolean("errors.log.enable"),
                log_messages: parsed.boolean("errors.log.include.messages"),
                dlq_topic: parsed
                    .string("errors.deadletterqueue.topic.name")
                    .map(|t| t.trim().to_owned()),
                dlq_context_headers: parsed
                    .boolean("errors.deadletterqueue.context.headers.enable"),
                dlq_replication_factor: i32::try_from(
                    parsed.long("errors.deadletterqueue.topic.replication.factor"),
                )
                .unwrap_or(-1),
            },
            topics: parsed.list("topics"),
            topics_regex: parsed.string("topics.regex"),
            producer_overrides: with_prefix(config, "producer.override."),
            consumer_overrides: with_prefix(config, "consumer.override."),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> ConfigMap {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn every_error_of_the_common_keys_is_reported() {
        let config = map(&[("tasks.max", "0"), ("errors.tolerance", "some")]);
        let values = common_def(ConnectorType::Sink).validate(&config);
        let errors: Vec<_> = values
            .iter()
            .filter(|v| !v.errors.is_empty())
            .map(|v| v.name.as_str())
            .collect();
        assert_eq!(
            errors,
            ["name", "connector.class", "tasks.max", "errors.tolerance"]
        );
        let cross = cross_checks(ConnectorType::Sink, &config);
        assert_eq!(cross[0].1, "Must configure one of topics or topics.regex");
    }

    #[test]
    fn settings_read_kafka_keys() {
        let settings = ConnectorSettings::parse(
            ConnectorType::Sink,
            &map(&[
                ("name", "local-file-sink"),
                ("connector.class", "FileStreamSink"),
                ("tasks.max", "2"),
                ("topics", "connect-test, other"),
                ("errors.tolerance", "all"),
                ("errors.deadletterqueue.topic.name", "dlq"),
                (
                    "value.converter",
                    "org.apache.kafka.connect.storage.StringConverter",
                ),
                ("value.converter.encoding", "UTF-8"),
                ("errors.retry.timeout", "-1"),
            ]),
        )
        .unwrap();
        assert_eq!(settings.tasks_max, 2);
        assert_eq!(settings.topics, ["connect-test", "other"]);
        assert!(settings.errors.tolerate_all);
        assert_eq!(settings.errors.retry_timeout, None);
        assert_eq!(settings.errors.dlq_topic.as_deref(), Some("dlq"));
        assert_eq!(
            settings
                .value_converter
                .unwrap()
                .config
                .get("encoding")
                .unwrap(),
            "UTF-8"
        );
    }
}
