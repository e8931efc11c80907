//! Topic administration over the Kafka admin APIs, through rdkafka's
//! `AdminClient`: create, list, describe, delete, add partitions, read and
//! change topic configs.
//!
//! Each method sends one request (two for config changes, see
//! [`TopicAdmin::alter_configs`]) and maps the per-topic result code to an
//! [`Error`] a user can act on. Metadata lookups are blocking librdkafka
//! calls, so they run on Tokio's blocking pool; every method must therefore
//! be called within a Tokio runtime.
//!
//! # Cancel safety
//! None of the methods are cancel safe in the sense that matters: dropping a
//! future stops waiting for the answer but does not withdraw a request the
//! cluster may already be executing.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use rdkafka::admin::{
    AdminClient, AdminOptions, AlterConfig, ConfigSource, NewPartitions, NewTopic,
    ResourceSpecifier, TopicReplication,
};
use rdkafka::client::DefaultClientContext;

use crate::client::{ClientSettings, DEFAULT_REQUEST_TIMEOUT};
use crate::error::{Error, Result};
use crate::metadata::{self, TopicMetadata};

/// What a new topic should look like.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewTopicSpec {
    /// Topic name.
    pub name: String,
    /// Partition count; `None` uses the broker's `num.partitions`.
    pub partitions: Option<i32>,
    /// Replication factor; `None` uses the broker's
    /// `default.replication.factor`.
    pub replication_factor: Option<i32>,
    /// Topic config overrides such as `cleanup.policy=compact`.
    pub configs: Vec<(String, String)>,
}

impl NewTopicSpec {
    /// A topic named `name` with broker defaults.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }
}

/// One config entry of a topic as the cluster reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicConfig {
    /// Config name, e.g. `retention.ms`.
    pub name: String,
    /// Current value; `None` when the broker hides it (sensitive) or it is unset.
    pub value: Option<String>,
    /// Whether the value is set on this topic (rather than inherited from the
    /// broker or a built-in default).
    pub is_override: bool,
    /// Whether the value is sensitive and therefore hidden.
    pub is_sensitive: bool,
    /// Whether the config cannot be changed.
    pub is_read_only: bool,
}

/// Admin operations on topics.
///
/// ```no_run
/// use fjord_core::{ClientSettings, NewTopicSpec, TopicAdmin};
///
/// # async fn example() -> fjord_core::Result<()> {
/// let admin = TopicAdmin::new(&ClientSettings::new("127.0.0.1:9092"))?;
/// let mut spec = NewTopicSpec::new("sales");
/// spec.partitions = Some(3);
/// admin.create(&spec).await?;
/// let topic = admin.describe("sales").await?;
/// assert_eq!(topic.partitions.len(), 3);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct TopicAdmin {
    client: Arc<AdminClient<DefaultClientContext>>,
    timeout: Duration,
}

impl std::fmt::Debug for TopicAdmin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TopicAdmin")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl TopicAdmin {
    /// Creates the admin client; requests wait up to
    /// [`DEFAULT_REQUEST_TIMEOUT`].
    ///
    /// # Errors
    /// [`Error::ClientCreation`] if a property is rejected.
    pub fn new(settings: &ClientSettings) -> Result<Self> {
        Ok(Self {
            client: Arc::new(settings.admin_client()?),
            timeout: DEFAULT_REQUEST_TIMEOUT,
        })
    }

    /// Sets how long each request waits for the cluster.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    fn options(&self) -> AdminOptions {
        AdminOptions::new()
            .request_timeout(Some(self.timeout))
            .operation_timeout(Some(self.timeout))
    }

    /// Every topic in the cluster, sorted by name (internal ones included).
    ///
    /// # Errors
    /// [`Error::BrokerUnreachable`] if no broker answers in time.
    pub async fn list(&self) -> Result<Vec<TopicMetadata>> {
        let (client, timeout) = (Arc::clone(&self.client), self.timeout);
        blocking(move || metadata::fetch_topics(client.inner(), timeout)).await
    }

    /// Partitions, leaders and replicas of one topic.
    ///
    /// # Errors
    /// [`Error::UnknownTopic`] if it does not exist.
    pub async fn describe(&self, topic: &str) -> Result<TopicMetadata> {
        let (client, timeout, topic) = (Arc::clone(&self.client), self.timeout, topic.to_owned());
        blocking(move || metadata::fetch_topic(client.inner(), &topic, timeout)).await
    }

    /// Creates a topic (CreateTopics). Unset partition count and replication
    /// factor are sent as -1, asking the broker for its defaults (KIP-464,
    /// brokers from Kafka 2.4 on).
    ///
    /// # Errors
    /// [`Error::TopicAlreadyExists`], or [`Error::AdminRejected`] with the
    /// broker's reason.
    pub async fn create(&self, spec: &NewTopicSpec) -> Result<()> {
        let mut topic = NewTopic::new(
            &spec.name,
            spec.partitions.unwrap_or(-1),
            TopicReplication::Fixed(spec.replication_factor.unwrap_or(-1)),
        );
        for (key, value) in &spec.configs {
            topic = topic.set(key, value);
        }
        let results = self
            .client
            .create_topics([&topic], &self.options())
            .await
            .map_err(|e| Error::kafka("creating a topic", e, self.timeout))?;
        self.single_topic_result("create", &spec.name, results)
    }

    /// Deletes a topic (DeleteTopics).
    ///
    /// # Errors
    /// [`Error::UnknownTopic`] if it does not exist.
    pub async fn delete(&self, topic: &str) -> Result<()> {
        let results = self
            .client
            .delete_topics(&[topic], &self.options())
            .await
            .map_err(|e| Error::kafka("deleting a topic", e, self.timeout))?;
        self.single_topic_result("delete", topic, results)
    }

    /// Grows a topic to `total` partitions (CreatePartitions). Partitions can
    /// only be added, never removed.
    ///
    /// # Errors
    /// [`Error::AdminRejected`] with `InvalidPartitions` if `total` is not
    /// larger than the current count.
    pub async fn add_partitions(&self, topic: &str, total: usize) -> Result<()> {
        let partitions = NewPartitions::new(topic, total);
        let results = self
            .client
            .create_partitions([&partitions], &self.options())
            .await
            .map_err(|e| Error::kafka("adding partitions", e, self.timeout))?;
        self.single_topic_result("add partitions to", topic, results)
    }

    /// Every config of a topic with its current value (DescribeConfigs).
    ///
    /// # Errors
    /// [`Error::UnknownTopic`] if it does not exist.
    pub async fn configs(&self, topic: &str) -> Result<Vec<TopicConfig>> {
        let results = self
            .client
            .describe_configs([&ResourceSpecifier::Topic(topic)], &self.options())
            .await
            .map_err(|e| Error::kafka("describing topic configs", e, self.timeout))?;
        let resource = results
            .into_iter()
            .next()
            .ok_or_else(|| self.missing_result("describe configs of", topic))?
            .map_err(|code| Error::admin("describe configs of", topic, code, self.timeout))?;
        let mut configs: Vec<TopicConfig> = resource
            .entries
            .into_iter()
            .map(|entry| TopicConfig {
                is_override: entry.source == ConfigSource::DynamicTopic,
                name: entry.name,
                value: entry.value,
                is_sensitive: entry.is_sensitive,
                is_read_only: entry.is_read_only,
            })
            .collect();
        configs.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(configs)
    }

    /// Sets and removes topic config overrides.
    ///
    /// rdkafka 0.39 exposes only the non-incremental AlterConfigs API, which
    /// replaces a topic's whole set of overrides. To give incremental
    /// semantics (like IncrementalAlterConfigs' SET and DELETE), this reads
    /// the current overrides with DescribeConfigs, applies `set` and
    /// `delete`, and writes the full result back. Two consequences: a change
    /// made by someone else between the two requests is lost, and a
    /// sensitive override whose value the broker hides cannot be carried
    /// over (that is reported as [`Error::HiddenConfig`] instead of silently
    /// dropping it). Removing a key that is not overridden is a no-op.
    ///
    /// # Errors
    /// [`Error::UnknownTopic`], [`Error::HiddenConfig`], or
    /// [`Error::AdminRejected`] (e.g. `InvalidConfig`) from the broker.
    pub async fn alter_configs(
        &self,
        topic: &str,
        set: &[(String, String)],
        delete: &[String],
    ) -> Result<()> {
        let current = self.configs(topic).await?;
        let merged = merge_overrides(topic, &current, set, delete)?;
        let mut alter = AlterConfig::new(ResourceSpecifier::Topic(topic));
        for (key, value) in &merged {
            alter = alter.set(key, value);
        }
        let results = self
            .client
            .alter_configs([&alter], &self.options())
            .await
            .map_err(|e| Error::kafka("altering topic configs", e, self.timeout))?;
        match results.into_iter().next() {
            Some(Ok(_)) => {}
            Some(Err((_, code))) => {
                return Err(Error::admin("alter configs of", topic, code, self.timeout))
            }
            None => return Err(self.missing_result("alter configs of", topic)),
        }
        // rdkafka 0.39 reports every AlterConfigs resource as a success, whatever error code
        // the broker sent, so read the configs back to find out whether they took.
        let after = self.configs(topic).await?;
        let value_of = |key: &str| after.iter().find(|c| c.name == key && c.is_override);
        let applied = set
            .iter()
            .all(|(k, v)| value_of(k).is_some_and(|c| c.value.as_deref() == Some(v.as_str())))
            && delete.iter().all(|k| value_of(k).is_none());
        if applied {
            Ok(())
        } else {
            Err(Error::AdminRejected {
                operation: "alter configs of",
                resource: format!("topic '{topic}'"),
                code: rdkafka::error::RDKafkaErrorCode::InvalidConfig,
                hint: "; the broker did not apply the change: check the config names and values (`fjord topics describe` lists them)".to_owned(),
            })
        }
    }

    fn single_topic_result(
        &self,
        operation: &'static str,
        topic: &str,
        results: Vec<rdkafka::admin::TopicResult>,
    ) -> Result<()> {
        match results.into_iter().next() {
            Some(Ok(_)) => Ok(()),
            Some(Err((_, code))) => Err(Error::admin(operation, topic, code, self.timeout)),
            None => Err(self.missing_result(operation, topic)),
        }
    }

    fn missing_result(&self, operation: &'static str, topic: &str) -> Error {
        Error::AdminRejected {
            operation,
            resource: format!("topic '{topic}'"),
            code: rdkafka::error::RDKafkaErrorCode::BadMessage,
            hint: "; the broker's response contained no result for it".to_owned(),
        }
    }
}

/// The full override set after applying `set` and `delete` to `current`.
fn merge_overrides(
    topic: &str,
    current: &[TopicConfig],
    set: &[(String, String)],
    delete: &[String],
) -> Result<Vec<(String, String)>> {
    let touched: HashSet<&str> = set
        .iter()
        .map(|(k, _)| k.as_str())
        .chain(delete.iter().map(String::as_str))
        .collect();
    let mut merged = Vec::new();
    for config in current.iter().filter(|c| c.is_override) {
        if touched.contains(config.name.as_str()) {
            continue;
        }
        match &config.value {
            Some(value) => merged.push((config.name.clone(), value.clone())),
            None => {
                return Err(Error::HiddenConfig {
                    topic: topic.to_owned(),
                    key: config.name.clone(),
                })
            }
        }
    }
    for (key, value) in set {
        match merged.iter_mut().find(|(k, _)| k == key) {
            Some(entry) => entry.1 = value.clone(),
            None => merged.push((key.clone(), value.clone())),
        }
    }
    Ok(merged)
}

/// Runs a blocking librdkafka call on Tokio's blocking pool.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result,
        Err(join) if join.is_panic() => std::panic::resume_unwind(join.into_panic()),
        // Only cancelled when the runtime shuts down, tearing the caller down too.
        Err(_) => Err(Error::Kafka {
            action: "waiting for a metadata lookup".to_owned(),
            cause: rdkafka::error::KafkaError::Canceled,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(name: &str, value: Option<&str>, is_override: bool) -> TopicConfig {
        TopicConfig {
            name: name.to_owned(),
            value: value.map(str::to_owned),
            is_override,
            is_sensitive: value.is_none(),
            is_read_only: false,
        }
    }

    fn s(k: &str, v: &str) -> (String, String) {
        (k.to_owned(), v.to_owned())
    }

    #[test]
    fn merge_keeps_untouched_overrides_and_applies_changes() {
        let current = [
            config("cleanup.policy", Some("compact"), true),
            config("retention.ms", Some("1000"), true),
            config("segment.bytes", Some("1073741824"), false),
        ];
        let merged = merge_overrides(
            "t",
            &current,
            &[s("retention.ms", "5000"), s("max.message.bytes", "2048")],
            &["cleanup.policy".to_owned(), "not.set".to_owned()],
        )
        .expect("merges");
        assert_eq!(
            merged,
            vec![s("retention.ms", "5000"), s("max.message.bytes", "2048")]
        );
    }

    #[test]
    fn merge_refuses_to_drop_hidden_sensitive_overrides() {
        let current = [config("secret.thing", None, true)];
        let err = merge_overrides("t", &current, &[s("a", "b")], &[]).expect_err("hidden");
        assert!(matches!(err, Error::HiddenConfig { .. }));
        // Setting or deleting it explicitly is fine.
        assert!(merge_overrides("t", &current, &[], &["secret.thing".to_owned()]).is_ok());
        assert!(merge_overrides("t", &current, &[s("secret.thing", "x")], &[]).is_ok());
    }

    #[test]
    fn merge_last_set_wins() {
        let merged = merge_overrides("t", &[], &[s("a", "1"), s("a", "2")], &[]).expect("merges");
        assert_eq!(merged, vec![s("a", "2")]);
    }
}
