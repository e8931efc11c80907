//! The one error type of `fjord-core`.
//!
//! Every fallible function in this crate returns [`Result`]. Variants carry
//! what a user needs to fix the problem (the file and line of a bad
//! properties entry, the topic that does not exist and how to create it,
//! the flag to check when no broker answers) rather than a bare client code.
//! Each message is self-contained: it already includes the underlying
//! cause, which is kept in a `cause` field for callers that want to match
//! on it (and deliberately not exposed as `Error::source`, so error-chain
//! printers such as anyhow's `{:#}` do not repeat it).

use std::path::PathBuf;
use std::time::Duration;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};

/// Shorthand for results whose error is [`enum@Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in `fjord-core`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A properties file could not be read from disk.
    #[error("cannot read properties file {}: {cause}", path.display())]
    ReadProperties {
        /// The file that was being read.
        path: PathBuf,
        /// Why reading failed.
        cause: std::io::Error,
    },

    /// Properties text is malformed (a bad `\uXXXX` escape, invalid UTF-8).
    #[error("{origin}:{line}: {message}")]
    PropertiesSyntax {
        /// The file name, or `<string>` for text parsed from memory.
        origin: String,
        /// 1-based line where the offending (logical) line starts.
        line: usize,
        /// What is wrong and how to fix it.
        message: String,
    },

    /// A `KEY=VALUE` argument (`-X`, `--config`, `--header`) is malformed.
    #[error("invalid {what} '{input}': expected KEY=VALUE with a non-empty KEY, e.g. {example}")]
    InvalidKeyValue {
        /// What kind of argument this was, e.g. "client override".
        what: &'static str,
        /// The argument as given.
        input: String,
        /// A well-formed example to copy.
        example: &'static str,
    },

    /// librdkafka refused to create a client, usually because of an unknown
    /// or invalid configuration property.
    #[error(
        "cannot create Kafka {role}: {}; check the -X and --client-config settings",
        client_config_detail(cause)
    )]
    ClientCreation {
        /// "producer", "consumer" or "admin client".
        role: &'static str,
        /// The librdkafka error, which names the offending property.
        cause: KafkaError,
    },

    /// A consumer did not finish closing (leaving its group, destroying its
    /// threads) within the deadline; it was left to finish in the background.
    #[error(
        "the {role} did not close within {timeout:?}; it was left to finish in the \
         background (its group sees it leave once its session times out at the latest)"
    )]
    CloseTimedOut {
        /// Which consumer, for the message ("consumer", "group member", ...).
        role: &'static str,
        /// How long closing was given.
        timeout: Duration,
    },

    /// No broker answered in time.
    #[error(
        "no broker answered within {timeout:?} ({detail}); check that the broker is running \
         and that --bootstrap-server (bootstrap.servers) points at it"
    )]
    BrokerUnreachable {
        /// How long we waited.
        timeout: Duration,
        /// The client's own description of the failure.
        detail: String,
    },

    /// The topic does not exist.
    #[error("topic '{topic}' does not exist; create it with `fjord topics create {topic}`")]
    UnknownTopic {
        /// The missing topic.
        topic: String,
    },

    /// The topic already exists.
    #[error("topic '{topic}' already exists; inspect it with `fjord topics describe {topic}`")]
    TopicAlreadyExists {
        /// The existing topic.
        topic: String,
    },

    /// A partition number outside the topic's partitions.
    #[error(
        "topic '{topic}' has {count} partition(s) (0..{count}), so partition {partition} does not exist"
    )]
    UnknownPartition {
        /// The topic.
        topic: String,
        /// The requested partition.
        partition: i32,
        /// How many partitions the topic has.
        count: usize,
    },

    /// The broker rejected an admin operation.
    #[error("cannot {operation} {resource}: {code}{hint}")]
    AdminRejected {
        /// The operation as a verb phrase, e.g. "create" or "add partitions to".
        operation: &'static str,
        /// The resource, e.g. "topic 'sales'".
        resource: String,
        /// The Kafka error code returned.
        code: RDKafkaErrorCode,
        /// Extra advice for well-known codes; empty or starting with "; ".
        hint: String,
    },

    /// A topic config cannot be carried over by a non-incremental
    /// AlterConfigs request because the broker hides its value.
    #[error(
        "topic '{topic}' has sensitive config '{key}' whose value the broker does not reveal; \
         altering configs would reset it, so set it again with --config {key}=VALUE or remove it \
         with --delete-config {key}"
    )]
    HiddenConfig {
        /// The topic.
        topic: String,
        /// The config key whose value is hidden.
        key: String,
    },

    /// No broker knows the consumer group.
    #[error("consumer group '{group}' does not exist; list groups with `fjord groups list`")]
    UnknownGroup {
        /// The missing group.
        group: String,
    },

    /// An operation that needs a group without members found it active.
    #[error(
        "cannot {operation} group '{group}' while it has active members ({detail}); stop its \
         consumers, or wait for their sessions to expire, and retry"
    )]
    GroupActive {
        /// The operation as a verb phrase, e.g. "delete" or "reset the offsets of".
        operation: &'static str,
        /// The group.
        group: String,
        /// What showed it is active, e.g. "state Stable, 2 member(s)".
        detail: String,
    },

    /// Shifting an offset of a partition the group has not committed to.
    #[error(
        "cannot shift the offset of partition {partition}: group '{group}' has no committed \
         offset there; name only partitions that have one (--topic TOPIC:P,P) or use \
         --to-earliest, --to-latest, --to-offset or --to-datetime"
    )]
    NoCommittedOffset {
        /// The group.
        group: String,
        /// The partition, as `topic-N`.
        partition: String,
    },

    /// A date-time that is not RFC 3339.
    #[error(
        "'{input}' is not an RFC 3339 date-time; use e.g. 2024-05-01T12:00:00Z or \
         2024-05-01T14:00:00.000+02:00"
    )]
    InvalidDateTime {
        /// The text as given.
        input: String,
    },

    /// A topic selection that is neither `TOPIC` nor `TOPIC:P[,P...]`.
    #[error("invalid topic '{input}': expected TOPIC or TOPIC:PARTITION[,PARTITION...], e.g. orders or orders:0,2")]
    InvalidTopicSelection {
        /// The text as given.
        input: String,
    },

    /// Any other client failure, with what we were doing at the time.
    #[error("{action}: {cause}")]
    Kafka {
        /// What was being attempted, e.g. "fetching metadata".
        action: String,
        /// The client error.
        cause: KafkaError,
    },
}

impl Error {
    /// Builds the error for an admin operation that the cluster rejected with
    /// `code`, turning the codes users hit most into dedicated variants.
    pub(crate) fn admin(
        operation: &'static str,
        topic: &str,
        code: RDKafkaErrorCode,
        timeout: Duration,
    ) -> Self {
        let hint = match code {
            RDKafkaErrorCode::TopicAlreadyExists => {
                return Error::TopicAlreadyExists {
                    topic: topic.to_owned(),
                }
            }
            RDKafkaErrorCode::UnknownTopicOrPartition | RDKafkaErrorCode::UnknownTopic => {
                return Error::UnknownTopic {
                    topic: topic.to_owned(),
                }
            }
            code if is_unreachable(code) => {
                return Error::BrokerUnreachable {
                    timeout,
                    detail: code.to_string(),
                }
            }
            RDKafkaErrorCode::InvalidPartitions => {
                "; the new partition count must be greater than the current one"
            }
            RDKafkaErrorCode::InvalidReplicationFactor => {
                "; the replication factor cannot exceed the number of brokers"
            }
            RDKafkaErrorCode::InvalidConfig => {
                "; check the config names and values (see `fjord topics describe`)"
            }
            RDKafkaErrorCode::InvalidTopic => {
                "; topic names use only ASCII letters, digits, '.', '_' and '-' (max 249)"
            }
            RDKafkaErrorCode::UnsupportedVersion | RDKafkaErrorCode::UnsupportedFeature => {
                "; the broker does not support this request"
            }
            _ => "",
        };
        Error::AdminRejected {
            operation,
            resource: format!("topic '{topic}'"),
            code,
            hint: hint.to_owned(),
        }
    }

    /// Wraps a client error, recognising "no broker reachable" failures.
    pub(crate) fn kafka(action: impl Into<String>, cause: KafkaError, timeout: Duration) -> Self {
        let code = match &cause {
            KafkaError::AdminOp(code) => Some(*code),
            other => other.rdkafka_error_code(),
        };
        match code {
            Some(code) if is_unreachable(code) => Error::BrokerUnreachable {
                timeout,
                detail: cause.to_string(),
            },
            _ => Error::Kafka {
                action: action.into(),
                cause,
            },
        }
    }
}

/// The useful part of a client-creation error: librdkafka's own sentence
/// for configuration errors, which names the property.
fn client_config_detail(error: &KafkaError) -> String {
    match error {
        KafkaError::ClientConfig(_, description, _, _) => description.clone(),
        other => other.to_string(),
    }
}

/// Whether `code` means the cluster could not be reached at all.
fn is_unreachable(code: RDKafkaErrorCode) -> bool {
    matches!(
        code,
        RDKafkaErrorCode::OperationTimedOut
            | RDKafkaErrorCode::BrokerTransportFailure
            | RDKafkaErrorCode::AllBrokersDown
            | RDKafkaErrorCode::RequestTimedOut
            | RDKafkaErrorCode::Resolve
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_maps_common_codes_to_actionable_variants() {
        let t = Duration::from_secs(1);
        let e = Error::admin("create", "sales", RDKafkaErrorCode::TopicAlreadyExists, t);
        assert!(matches!(e, Error::TopicAlreadyExists { .. }));
        let e = Error::admin(
            "delete",
            "sales",
            RDKafkaErrorCode::UnknownTopicOrPartition,
            t,
        );
        assert_eq!(
            e.to_string(),
            "topic 'sales' does not exist; create it with `fjord topics create sales`"
        );
        let e = Error::admin("create", "x", RDKafkaErrorCode::OperationTimedOut, t);
        assert!(matches!(e, Error::BrokerUnreachable { .. }));
        let e = Error::admin(
            "add partitions to",
            "x",
            RDKafkaErrorCode::InvalidPartitions,
            t,
        );
        assert!(
            e.to_string().contains("greater than the current one"),
            "{e}"
        );
    }
}
