//! `fjord broker`: run a broker in the foreground until Ctrl-C or SIGTERM.
//!
//! Settings start from Kafka's defaults ([`BrokerConfig::standalone`]: e.g. a new group waits
//! `group.initial.rebalance.delay.ms` = 3000 for members, where the embedded broker waits 0),
//! then come from Kafka's own `server.properties` keys (`--config`), then from flags, which
//! win. The file and the flags are applied in one pass, so the keys ignored (those that do not
//! apply to one node, and unknown ones) are listed in one line at start-up. One line is logged
//! when the broker is ready, with the address it listens on.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use fjord_broker::{Broker, BrokerConfig};

/// Arguments of `fjord broker`.
#[derive(clap::Args, Debug)]
pub struct BrokerArgs {
    /// Address to listen on (port 0 picks a free one). Default: 127.0.0.1:9092.
    #[arg(long, value_name = "HOST:PORT")]
    listen: Option<SocketAddr>,
    /// Directory for topic data and broker metadata. Default: ./fjord-data.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// A Kafka `server.properties` file (listeners, log.dirs, num.partitions, ...).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Address clients are told to connect to, when it differs from --listen.
    #[arg(long, value_name = "HOST:PORT")]
    advertised_listener: Option<String>,
    /// Any further broker setting as a `server.properties` key, e.g. `-o num.partitions=4`.
    #[arg(short = 'o', long = "override", value_name = "KEY=VALUE")]
    overrides: Vec<String>,
    /// Also serve a schema registry here (or set `schema.registry.listeners`), storing its state in this broker.
    #[arg(long, value_name = "HOST:PORT")]
    schema_registry_listen: Option<SocketAddr>,
}

/// Runs the broker until Ctrl-C or SIGTERM, then shuts down gracefully.
pub async fn run(args: BrokerArgs) -> anyhow::Result<()> {
    let mut config = BrokerConfig::standalone();
    let mut settings: Vec<(String, String)> = Vec::new();
    if let Some(path) = &args.config {
        let props = fjord_core::config::Properties::from_path(path)
            .with_context(|| format!("reading broker config {}", path.display()))?;
        settings.extend(props.iter().map(|(k, v)| (k.to_owned(), v.to_owned())));
    }
    let from_file = settings.len();
    let mut flags: Vec<(String, String)> = Vec::new();
    for o in &args.overrides {
        let (k, v) = o
            .split_once('=')
            .with_context(|| format!("--override '{o}' is not KEY=VALUE"))?;
        flags.push((k.trim().to_string(), v.to_string()));
    }
    if let Some(a) = &args.advertised_listener {
        flags.push(("advertised.listeners".into(), a.clone()));
    }
    settings.extend(flags);
    let registry_listen =
        super::schema_registry::listen_address(args.schema_registry_listen, &mut settings)?;
    config
        .apply_properties(settings.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .with_context(|| match &args.config {
            Some(path) if from_file > 0 => format!("in {} or the -o flags", path.display()),
            _ => "in the -o flags".to_owned(),
        })?;
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    if let Some(dir) = args.data_dir {
        config.data_dir = dir;
    }
    let broker = Broker::start(config).await?;
    let registry = match registry_listen {
        Some(listen) => Some(
            super::schema_registry::start_beside_broker(broker.bootstrap_servers(), listen).await?,
        ),
        None => None,
    };
    wait_for_signal().await;
    tracing::info!("shutting down");
    if let Some(registry) = registry {
        registry.shutdown().await;
    }
    broker.shutdown().await;
    Ok(())
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
