//! Builders for rdkafka clients that talk to any Kafka-protocol broker
//! (Fjord's own, or an Apache Kafka cluster).
//!
//! A [`ClientSettings`] is the bootstrap address plus an ordered list of
//! librdkafka properties (from `-X key=value` flags or a `.properties`
//! file). Each builder starts from `bootstrap.servers`, adds the defaults
//! that role needs, then applies the extra properties in order, so a later
//! setting always wins and a user can override any default.
//!
//! [`close_consumer`] is the one way Fjord's programs close a consumer: with
//! a deadline, because dropping an rdkafka consumer can block for good.

use std::time::Duration;

use rdkafka::admin::AdminClient;
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{Consumer, ConsumerContext};
use rdkafka::ClientConfig;

use crate::config::Properties;
use crate::error::{Error, Result};

/// The bootstrap address used when none is given: a local broker on the
/// standard Kafka port.
pub const DEFAULT_BOOTSTRAP_SERVERS: &str = "127.0.0.1:9092";

/// How long admin operations and metadata lookups wait for the cluster by
/// default.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Where to connect and which librdkafka properties to apply.
///
/// ```
/// use fjord_core::ClientSettings;
///
/// let settings = ClientSettings::new("127.0.0.1:9092").set("linger.ms", "5");
/// let config = settings.producer_config();
/// assert_eq!(config.get("bootstrap.servers"), Some("127.0.0.1:9092"));
/// assert_eq!(config.get("linger.ms"), Some("5"));
///
/// let consumer = settings.consumer_config(Some("sales-report"));
/// assert_eq!(consumer.get("group.id"), Some("sales-report"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientSettings {
    /// Comma-separated `host:port` list of brokers to bootstrap from.
    pub bootstrap_servers: String,
    /// librdkafka properties applied after the role defaults, in order;
    /// later entries win.
    pub extra: Vec<(String, String)>,
}

impl Default for ClientSettings {
    fn default() -> Self {
        Self::new(DEFAULT_BOOTSTRAP_SERVERS)
    }
}

impl ClientSettings {
    /// Settings for `bootstrap_servers` with no extra properties.
    pub fn new(bootstrap_servers: impl Into<String>) -> Self {
        Self {
            bootstrap_servers: bootstrap_servers.into(),
            extra: Vec::new(),
        }
    }

    /// Appends one librdkafka property (it overrides earlier ones).
    #[must_use]
    pub fn set(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.extra.push((key.into(), value.into()));
        self
    }

    /// Appends librdkafka properties in order.
    #[must_use]
    pub fn with_overrides<I, K, V>(mut self, overrides: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        self.extra
            .extend(overrides.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// Appends every entry of a properties file (e.g. a Kafka tool's
    /// `--command-config` file holding security settings).
    #[must_use]
    pub fn with_properties(self, properties: &Properties) -> Self {
        self.with_overrides(properties.iter())
    }

    /// `bootstrap.servers` plus the extra properties, with no role defaults.
    pub fn base_config(&self) -> ClientConfig {
        self.config_with(&[], None)
    }

    /// Configuration for a producer. librdkafka's defaults apply (`acks=all`,
    /// no compression); override them through [`ClientSettings::set`].
    pub fn producer_config(&self) -> ClientConfig {
        self.config_with(&[("client.id", "fjord-producer")], None)
    }

    /// Configuration for a consumer.
    ///
    /// With `group`, the consumer joins that group (`subscribe`, committed
    /// offsets). Without it, the caller must `assign` partitions itself at
    /// explicit offsets; nothing is committed or stored, and no group
    /// coordinator is needed. librdkafka refuses `assign` without any
    /// `group.id`, so such consumers get a unique throwaway one (see
    /// [`unmanaged_group_id`]) that is never joined.
    pub fn consumer_config(&self, group: Option<&str>) -> ClientConfig {
        match group {
            Some(group) => self.config_with(&[("client.id", "fjord-consumer")], Some(group)),
            None => self.config_with(
                &[
                    ("client.id", "fjord-consumer"),
                    ("enable.auto.commit", "false"),
                    ("enable.auto.offset.store", "false"),
                ],
                Some(&unmanaged_group_id()),
            ),
        }
    }

    /// Configuration for an admin client. Metadata lookups made through it
    /// never auto-create topics.
    pub fn admin_config(&self) -> ClientConfig {
        self.config_with(
            &[
                ("client.id", "fjord-admin"),
                ("allow.auto.create.topics", "false"),
            ],
            None,
        )
    }

    /// Creates an admin client. No connection is made until the first request.
    ///
    /// # Errors
    /// [`Error::ClientCreation`] if librdkafka rejects a property.
    pub fn admin_client(&self) -> Result<AdminClient<DefaultClientContext>> {
        self.admin_config()
            .create()
            .map_err(|cause| Error::ClientCreation {
                role: "admin client",
                cause,
            })
    }

    fn config_with(&self, defaults: &[(&str, &str)], group: Option<&str>) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.bootstrap_servers);
        for (key, value) in defaults {
            config.set(*key, *value);
        }
        if let Some(group) = group {
            config.set("group.id", group);
        }
        for (key, value) in &self.extra {
            config.set(key, value);
        }
        config
    }
}

/// How long [`close_consumer`] gives a consumer by default: leaving a group
/// takes one LeaveGroup round trip and librdkafka's threads stop within a
/// second, so this only runs out when something is wrong.
pub const DEFAULT_CLOSE_TIMEOUT: Duration = Duration::from_secs(10);

/// Closes a consumer, leaving its group, and never blocks past `timeout`.
///
/// Dropping an rdkafka consumer closes it: it leaves the group, then
/// librdkafka destroys the client and joins its threads, with no deadline.
/// That wait has been seen to never end (`cargo run --example demo` hung
/// there 5 times out of 5 with a `StreamConsumer`; rust-rdkafka issue #509).
/// So the consumer is unsubscribed and dropped on a thread of its own, and
/// this waits for that thread at most `timeout`. When it is not done by then,
/// it goes on in the background (a process that exits takes it along) and
/// [`Error::CloseTimedOut`] says so; the group then sees the member leave when
/// its session times out at the latest.
///
/// Offsets are not committed here: commit what was processed first (a
/// synchronous commit has its own timeout).
///
/// Blocks the calling thread for up to `timeout`; from async code, call it
/// through `tokio::task::spawn_blocking`.
///
/// # Errors
/// [`Error::CloseTimedOut`] when closing took longer than `timeout`.
pub fn close_consumer<K, C>(consumer: K, role: &'static str, timeout: Duration) -> Result<()>
where
    K: Consumer<C> + Send + 'static,
    C: ConsumerContext + 'static,
{
    // A rendezvous-free channel of one: the closing thread sends once, and
    // its send never blocks even when nobody waits any more.
    let (done, closed) = std::sync::mpsc::sync_channel::<()>(1);
    let spawned = std::thread::Builder::new()
        .name("fjord-consumer-close".into())
        .spawn(move || {
            // Leaving the group first makes the drop below only tear down.
            if consumer.subscription().is_ok_and(|s| s.count() > 0) {
                consumer.unsubscribe();
            }
            drop(consumer);
            let _ = done.send(());
        });
    if spawned.is_err() {
        // The OS refused a thread: the closure, and the consumer with it, was
        // dropped in place by `spawn`, as a plain drop would have; so this is
        // the one case that can block past the deadline.
        return Ok(());
    }
    closed
        .recv_timeout(timeout)
        .map_err(|_| Error::CloseTimedOut { role, timeout })
}

/// A `group.id` for a consumer that only uses `assign`: unique per call
/// (process id and clock), prefixed `fjord-assign-` so it is recognisable in
/// broker logs. The group is never joined and no offsets are committed to it.
pub fn unmanaged_group_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("fjord-assign-{}-{nanos:x}", std::process::id())
}

/// Parses a `KEY=VALUE` argument, splitting at the first `=`; the key is
/// trimmed and must not be empty, the value is kept verbatim (it may contain
/// `=` or be empty). `what` and `example` go into the error message.
///
/// # Errors
/// [`Error::InvalidKeyValue`] if there is no `=` or the key is empty.
pub fn parse_key_value(
    input: &str,
    what: &'static str,
    example: &'static str,
) -> Result<(String, String)> {
    match input.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => {
            Ok((key.trim().to_owned(), value.to_owned()))
        }
        _ => Err(Error::InvalidKeyValue {
            what,
            input: input.to_owned(),
            example,
        }),
    }
}

/// Parses a `-X key=value` librdkafka override.
///
/// # Errors
/// [`Error::InvalidKeyValue`] if there is no `=` or the key is empty.
pub fn parse_override(input: &str) -> Result<(String, String)> {
    parse_key_value(input, "client override", "-X linger.ms=5")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_win_over_role_defaults_in_order() {
        let settings = ClientSettings::new("b:9092")
            .set("client.id", "mine")
            .with_overrides([("linger.ms", "1"), ("linger.ms", "7")]);
        let config = settings.producer_config();
        assert_eq!(config.get("bootstrap.servers"), Some("b:9092"));
        assert_eq!(config.get("client.id"), Some("mine"));
        assert_eq!(config.get("linger.ms"), Some("7"));
    }

    #[test]
    fn bootstrap_can_be_overridden_by_properties() {
        let props = Properties::parse_str("bootstrap.servers=other:9092\nacks=1").expect("parses");
        let config = ClientSettings::default()
            .with_properties(&props)
            .producer_config();
        assert_eq!(config.get("bootstrap.servers"), Some("other:9092"));
        assert_eq!(config.get("acks"), Some("1"));
    }

    #[test]
    fn consumer_without_group_needs_no_coordinator() {
        let config = ClientSettings::default().consumer_config(None);
        let group = config.get("group.id").expect("a throwaway group id");
        assert!(group.starts_with("fjord-assign-"), "{group}");
        assert_eq!(config.get("enable.auto.commit"), Some("false"));
        assert_eq!(
            config.get("bootstrap.servers"),
            Some(DEFAULT_BOOTSTRAP_SERVERS)
        );
    }

    #[test]
    fn consumer_with_group_sets_group_id() {
        let config = ClientSettings::default()
            .set("auto.offset.reset", "earliest")
            .consumer_config(Some("g1"));
        assert_eq!(config.get("group.id"), Some("g1"));
        assert_eq!(config.get("enable.auto.commit"), None);
        assert_eq!(config.get("auto.offset.reset"), Some("earliest"));
    }

    #[test]
    fn admin_config_never_auto_creates_topics() {
        let config = ClientSettings::default().admin_config();
        assert_eq!(config.get("allow.auto.create.topics"), Some("false"));
    }

    #[test]
    fn admin_client_reports_bad_properties() {
        let err = ClientSettings::default()
            .set("no.such.property", "1")
            .admin_client()
            .expect_err("unknown property must be rejected");
        let msg = err.to_string();
        assert!(msg.contains("admin client"), "{msg}");
        assert!(msg.contains("no.such.property"), "{msg}");
    }

    #[test]
    fn parse_override_splits_at_first_equals() {
        assert_eq!(
            parse_override("sasl.jaas.config=a=b").expect("valid"),
            ("sasl.jaas.config".to_owned(), "a=b".to_owned())
        );
        assert_eq!(
            parse_override(" linger.ms =5").expect("valid"),
            ("linger.ms".to_owned(), "5".to_owned())
        );
        assert_eq!(
            parse_override("client.id=").expect("valid"),
            ("client.id".to_owned(), String::new())
        );
    }

    #[test]
    fn parse_override_rejects_missing_key_or_equals() {
        for bad in ["linger.ms", "=5", "  =5", ""] {
            let err = parse_override(bad).expect_err(bad);
            assert!(err.to_string().contains("-X linger.ms=5"), "{err}");
        }
    }
}
