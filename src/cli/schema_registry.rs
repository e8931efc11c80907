//! `fjord schema-registry`: a Confluent-compatible schema registry against
//! any Kafka cluster, in the foreground until Ctrl-C or SIGTERM; and the
//! pieces `fjord broker --schema-registry-listen` uses to run one beside
//! the broker (talking to it over loopback through rdkafka, like any client).
//!
//! Several instances may run against one cluster: one is elected writer and
//! the others forward writes to it (see `fjord_registry::leader`); give each
//! an `--advertised-url` the others can reach when they run on different hosts.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use fjord_registry::{Registry, RegistryConfig};
use tokio_util::sync::CancellationToken;

use super::args::ConnectionArgs;

/// Arguments of `fjord schema-registry`.
#[derive(clap::Args, Debug)]
pub struct SchemaRegistryArgs {
    /// The Kafka cluster that stores the registry's state.
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Address to serve the REST API on.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8081")]
    pub listen: SocketAddr,
    /// The URL other instances forward writes to [default: http://LISTEN-ADDRESS]
    #[arg(long, value_name = "URL")]
    pub advertised_url: Option<String>,
    /// The topic holding schemas, configs and modes (Confluent's `kafkastore.topic`).
    #[arg(long, default_value = fjord_registry::DEFAULT_TOPIC)]
    pub topic: String,
    /// The consumer group that elects the writer among instances.
    #[arg(long, default_value = fjord_registry::DEFAULT_GROUP)]
    pub group: String,
    /// Replication factor when the topic is created [default: the broker's]
    #[arg(long, value_name = "N")]
    pub replication_factor: Option<i32>,
}

/// Runs the registry until `shutdown`.
///
/// # Errors
/// The listener cannot be bound, or the registry cannot start (cluster
/// unreachable, bad topic).
pub async fn run(args: SchemaRegistryArgs, shutdown: CancellationToken) -> anyhow::Result<()> {
    let settings = args.connection.settings(&[])?;
    let mut config = RegistryConfig::new(args.connection.bootstrap()?);
    config.kafka = settings;
    config.topic = args.topic;
    config.group_id = args.group;
    config.replication_factor = args.replication_factor;
    config.advertised_url = args.advertised_url;
    config.timeout = Duration::from_millis(args.connection.request_timeout_ms);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let registry = Registry::start(config, listener).await?;
    eprintln!("schema registry listening on {}", registry.url());
    shutdown.cancelled().await;
    registry.shutdown().await;
    Ok(())
}

/// The registry address `fjord broker` should serve on: the
/// `--schema-registry-listen` flag, else the `schema.registry.listeners`
/// property (Confluent's `listeners` form, `http://HOST:PORT[,...]`; the
/// first is used), which is removed from `settings` so the broker does not
/// report it as an unknown key.
///
/// # Errors
/// The property is not `[http://]HOST:PORT`.
pub fn listen_address(
    flag: Option<SocketAddr>,
    settings: &mut Vec<(String, String)>,
) -> anyhow::Result<Option<SocketAddr>> {
    let mut from_property = None;
    settings.retain(|(k, v)| {
        if k == "schema.registry.listeners" {
            from_property = Some(v.clone());
            false
        } else {
            true
        }
    });
    if flag.is_some() {
        return Ok(flag);
    }
    let Some(value) = from_property else {
        return Ok(None);
    };
    let first = value.split(',').next().unwrap_or_default().trim();
    let address = first.strip_prefix("http://").unwrap_or(first);
    address
        .parse()
        .map(Some)
        .with_context(|| format!("schema.registry.listeners '{value}' is not http://HOST:PORT"))
}

/// Starts a registry on `listen` storing its state in the broker at
/// `bootstrap` (the broker `fjord broker` just started).
///
/// # Errors
/// As [`Registry::start`].
pub async fn start_beside_broker(
    bootstrap: String,
    listen: SocketAddr,
) -> anyhow::Result<Registry> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen} for the schema registry"))?;
    let registry = Registry::start(RegistryConfig::new(bootstrap), listener).await?;
    tracing::info!(
        url = registry.url(),
        "schema registry serving beside the broker"
    );
    Ok(registry)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_listeners_property_is_taken_out_of_the_broker_settings() {
        let mut settings = vec![
            ("num.partitions".to_owned(), "3".to_owned()),
            (
                "schema.registry.listeners".to_owned(),
                "http://127.0.0.1:8081,http://x:1".to_owned(),
            ),
        ];
        let addr = listen_address(None, &mut settings).unwrap();
        assert_eq!(addr, Some("127.0.0.1:8081".parse().unwrap()));
        assert_eq!(settings.len(), 1);
        let flag = Some("0.0.0.0:9000".parse().unwrap());
        assert_eq!(listen_address(flag, &mut vec![]).unwrap(), flag);
        let mut bad = vec![("schema.registry.listeners".to_owned(), "nope".to_owned())];
        assert!(listen_address(None, &mut bad).is_err());
    }
}
