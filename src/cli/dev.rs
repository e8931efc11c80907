//! `fjord dev`: the whole platform in one process for development: a broker, a schema
//! registry and a standalone Connect worker (with optional connector config files), plus a
//! `/health` endpoint; prints the addresses and a ready line, runs until Ctrl-C or SIGTERM.
//!
//! The registry and the worker reach the broker through rdkafka over loopback, as they would
//! any cluster. They start together once the broker listens, so the process is ready in
//! about the time the registry needs to create and replay `_schemas`.
//!
//! Configuration, each flag also read from the environment (what the container image sets):
//! `--listeners` / `FJORD_LISTENERS`, `--advertised-listeners` / `FJORD_ADVERTISED_LISTENERS`,
//! `--registry-listeners` / `FJORD_REGISTRY_LISTENERS`, `--connect-listeners` /
//! `FJORD_CONNECT_LISTENERS`, `--health-listen` / `FJORD_HEALTH_LISTEN`, `--data-dir` /
//! `FJORD_DATA_DIR`. Any broker setting also comes from a `KAFKA_*` variable as the Kafka
//! images spell them (`KAFKA_NUM_PARTITIONS=3` is `num.partitions=3`, `KAFKA_LISTENERS`,
//! `KAFKA_ADVERTISED_LISTENERS`, `KAFKA_LOG_DIRS`); the `FJORD_*` ones and `-o` flags win.
//! Without a data dir (the flag, `FJORD_DATA_DIR`, `KAFKA_LOG_DIRS` or `-o log.dirs=`) the data
//! lives in a temporary directory removed at exit.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use fjord_broker::{Broker, BrokerConfig};
use fjord_connect::config::{from_properties, ConfigMap};
use fjord_connect::runtime::launch::{load_connector_file, StandaloneWorker};
use fjord_core::config::Properties;
use tokio_util::sync::CancellationToken;

use fjord::testing::container::READY_LINE;

use super::health::{self, HealthTargets};

/// Arguments of `fjord dev`.
#[derive(clap::Args, Debug)]
pub struct DevArgs {
    /// Connector configs for the Connect worker (.properties, or .json as the REST API takes them)
    pub connectors: Vec<PathBuf>,
    /// The broker's listener, HOST:PORT or PLAINTEXT://HOST:PORT (an empty host is 0.0.0.0)
    /// [default: KAFKA_LISTENERS, else 127.0.0.1:9092]
    #[arg(long, env = "FJORD_LISTENERS")]
    pub listeners: Option<String>,
    /// The address clients are told to connect to, when it differs from the listener
    #[arg(long, env = "FJORD_ADVERTISED_LISTENERS", value_name = "HOST:PORT")]
    pub advertised_listeners: Option<String>,
    /// The schema registry's listener ([http://]HOST:PORT)
    #[arg(
        long,
        env = "FJORD_REGISTRY_LISTENERS",
        default_value = "127.0.0.1:8081"
    )]
    pub registry_listeners: String,
    /// The Connect REST API's listener ([http://]HOST:PORT)
    #[arg(
        long,
        env = "FJORD_CONNECT_LISTENERS",
        default_value = "127.0.0.1:8083"
    )]
    pub connect_listeners: String,
    /// Where `GET /health` is served
    #[arg(long, env = "FJORD_HEALTH_LISTEN", default_value = health::DEFAULT_HEALTH_LISTEN)]
    pub health_listen: String,
    /// Data directory (topics, Connect offsets) [default: KAFKA_LOG_DIRS, else a temporary one, removed at exit]
    #[arg(long, env = "FJORD_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// More Connect worker settings (Kafka's connect-standalone.properties keys)
    #[arg(long, value_name = "FILE")]
    pub worker_config: Option<PathBuf>,
    /// Any further broker setting as a `server.properties` key, e.g. `-o num.partitions=4`
    #[arg(short = 'o', long = "override", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
}

/// Runs the platform until `shutdown`.
///
/// # Errors
/// A port in use, a bad setting or connector config, an unusable data dir.
pub async fn run(args: DevArgs, shutdown: CancellationToken) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let settings = broker_settings(&args, std::env::vars())?;
    let from_settings = settings
        .iter()
        .rev()
        .find(|(k, _)| k == "log.dirs" || k == "log.dir")
        .map(|(_, v)| PathBuf::from(v.split(',').next().unwrap_or_default().trim()));
    let (_temp, data_dir) = match args.data_dir.clone().or(from_settings) {
        Some(dir) => (None, dir),
        None => {
            let temp = tempfile::Builder::new()
                .prefix("fjord-dev-")
                .tempdir()
                .context("cannot make a temporary data dir")?;
            let dir = temp.path().to_path_buf();
            (Some(temp), dir)
        }
    };
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("cannot create the data dir {}", data_dir.display()))?;
    let mut config = BrokerConfig::default();
    config
        .apply_properties(settings.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .context("in the KAFKA_* variables, -o flags or listener settings")?;
    config.data_dir = data_dir.clone();
    let broker = Broker::start(config).await?;
    let broker_addr = broker.local_addr();
    let bootstrap = loopback(broker_addr).to_string();

    let registry_listen = listen_addr("registry listeners", &args.registry_listeners)?;
    let registry = super::schema_registry::start_beside_broker(bootstrap.clone(), registry_listen);
    let worker = async {
        let config = worker_config(&args, &bootstrap, &data_dir)?;
        let mut connectors = Vec::new();
        for path in &args.connectors {
            connectors.push(load_connector_file(path)?);
        }
        anyhow::Ok(StandaloneWorker::start(config, connectors).await?)
    };
    let (registry, worker) = tokio::join!(registry, worker);
    let (registry, worker) = match (registry, worker) {
        (Ok(r), Ok(w)) => (r, w),
        (registry, worker) => {
            let error = match (&registry, &worker) {
                (Err(e), _) | (_, Err(e)) => format!("{e:#}"),
                _ => String::new(),
            };
            if let Ok(r) = registry {
                r.shutdown().await;
            }
            if let Ok(w) = worker {
                w.shutdown().await;
            }
            broker.shutdown().await;
            anyhow::bail!("{error}");
        }
    };
    let health_listen = listen_addr("health listen", &args.health_listen)?;
    let health_listener = tokio::net::TcpListener::bind(health_listen)
        .await
        .with_context(|| format!("cannot listen on {health_listen} for /health"))?;
    let health_addr = health_listener.local_addr()?;
    let targets = HealthTargets {
        broker: broker_addr,
        registry: Some(registry.url().to_owned()),
        connect: Some(worker.rest_url()),
    };
    let stop_health = shutdown.child_token();
    let health_server = tokio::spawn(health::serve(health_listener, targets, stop_health.clone()));

    let advertised = settings
        .iter()
        .rev()
        .find(|(k, _)| k == "advertised.listeners")
        .map_or_else(|| bootstrap.clone(), |(_, v)| v.clone());
    eprintln!("kafka bootstrap servers: {advertised} (listening on {broker_addr})");
    eprintln!("schema registry:         {}", registry.url());
    eprintln!(
        "connect REST API:        http://{} ({} connector(s))",
        loopback(worker.rest_addr()),
        args.connectors.len()
    );
    eprintln!(
        "health:                  http://{}/health",
        loopback(health_addr)
    );
    eprintln!("data dir:                {}", data_dir.display());
    eprintln!("{READY_LINE} in {} ms", started.elapsed().as_millis());

    shutdown.cancelled().await;
    eprintln!("stopping: Connect tasks commit their offsets, the broker flushes its logs");
    stop_health.cancel();
    let _ = health_server.await;
    worker.shutdown().await;
    registry.shutdown().await;
    broker.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

/// The broker's settings over the embedded defaults (no rebalance delay: a dev cluster has
/// one member per group most of the time): the default listener, then `KAFKA_*` variables,
/// `-o` flags and the listener flags (or `FJORD_*` variables), later ones winning.
fn broker_settings(
    args: &DevArgs,
    env: impl Iterator<Item = (String, String)>,
) -> anyhow::Result<Vec<(String, String)>> {
    let mut settings = vec![("listeners".to_owned(), DEFAULT_LISTENER.to_owned())];
    settings.extend(kafka_env(env));
    for o in &args.overrides {
        let (k, v) = o
            .split_once('=')
            .with_context(|| format!("--override '{o}' is not KEY=VALUE"))?;
        settings.push((k.trim().to_owned(), v.to_owned()));
    }
    if let Some(listeners) = &args.listeners {
        settings.push(("listeners".into(), listeners.clone()));
    }
    if let Some(advertised) = &args.advertised_listeners {
        settings.push(("advertised.listeners".into(), advertised.clone()));
    }
    Ok(settings)
}

/// Where the broker listens when nothing says otherwise (Kafka's port, loopback only).
const DEFAULT_LISTENER: &str = "127.0.0.1:9092";

/// Broker settings from `KAFKA_*` variables, as the Kafka images read them: the rest of the
/// name lower-cased with `_` for `.` (`KAFKA_LOG_RETENTION_HOURS` is `log.retention.hours`).
/// `KAFKA_*_OPTS` (JVM options) are no settings and are left out.
fn kafka_env(vars: impl Iterator<Item = (String, String)>) -> Vec<(String, String)> {
    let mut settings: Vec<(String, String)> = vars
        .filter_map(|(name, value)| {
            let rest = name.strip_prefix("KAFKA_")?;
            if rest.is_empty() || rest.ends_with("_OPTS") {
                return None;
            }
            Some((rest.to_ascii_lowercase().replace('_', "."), value))
        })
        .collect();
    settings.sort();
    settings
}

/// The worker's settings: Kafka's standalone defaults, offsets in the data dir, then the
/// `--worker-config` file; the broker and the REST listener are always this process's.
fn worker_config(
    args: &DevArgs,
    bootstrap: &str,
    data_dir: &std::path::Path,
) -> anyhow::Result<ConfigMap> {
    let mut config = ConfigMap::new();
    let json = "org.apache.kafka.connect.json.JsonConverter";
    config.insert("key.converter".into(), json.into());
    config.insert("value.converter".into(), json.into());
    config.insert(
        "offset.storage.file.filename".into(),
        data_dir.join("connect.offsets").display().to_string(),
    );
    config.insert("offset.flush.interval.ms".into(), "5000".into());
    // A sink on a topic that does not exist yet (the usual order while developing) sees it
    // within a second, not after librdkafka's default 5-minute metadata refresh.
    config.insert(
        "consumer.topic.metadata.refresh.interval.ms".into(),
        "1000".into(),
    );
    if let Some(path) = &args.worker_config {
        let properties = Properties::from_path(path)
            .with_context(|| format!("worker config {}", path.display()))?;
        config.extend(from_properties(&properties));
    }
    let rest = listen_addr("connect listeners", &args.connect_listeners)?;
    config.insert("bootstrap.servers".into(), bootstrap.to_owned());
    config.insert("listeners".into(), format!("http://{rest}"));
    Ok(config)
}

/// `HOST:PORT` from `HOST:PORT`, `scheme://HOST:PORT` or `:PORT` (all interfaces);
/// `localhost` is 127.0.0.1.
fn listen_addr(what: &str, value: &str) -> anyhow::Result<SocketAddr> {
    let first = value.split(',').next().unwrap_or_default().trim();
    let address = first.split_once("://").map_or(first, |(_, a)| a);
    let (host, port) = address
        .rsplit_once(':')
        .with_context(|| format!("{what} '{value}' is not [scheme://]HOST:PORT"))?;
    let host = match host {
        "" => "0.0.0.0",
        "localhost" => "127.0.0.1",
        other => other.trim_start_matches('[').trim_end_matches(']'),
    };
    format!("{host}:{port}")
        .parse::<SocketAddr>()
        .or_else(|_| Ok((host.parse::<std::net::IpAddr>()?, port.parse::<u16>()?).into()))
        .map_err(|_: anyhow::Error| {
            anyhow::anyhow!("{what} '{value}': the host must be an IP address or localhost")
        })
}

/// Where a local client reaches a listener: loopback for an unspecified IP.
fn loopback(mut addr: SocketAddr) -> SocketAddr {
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    addr
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn listeners_take_kafka_and_plain_forms() {
        let parse = |v| listen_addr("x", v).unwrap().to_string();
        assert_eq!(parse("127.0.0.1:9092"), "127.0.0.1:9092");
        assert_eq!(parse("PLAINTEXT://:9092"), "0.0.0.0:9092");
        assert_eq!(parse("http://localhost:8083"), "127.0.0.1:8083");
        assert_eq!(parse("[::1]:8081"), "[::1]:8081");
        assert!(listen_addr("x", "nohost").is_err());
        assert!(listen_addr("x", "example.com:1").is_err());
    }

    #[test]
    fn flags_win_over_kafka_variables_which_win_over_defaults() {
        use clap::Parser;
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            dev: DevArgs,
        }
        let env = || {
            [
                ("KAFKA_LISTENERS", "PLAINTEXT://:9093"),
                ("KAFKA_LOG_DIRS", "/d"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .into_iter()
        };
        let last = |settings: &[(String, String)], key: &str| {
            settings
                .iter()
                .rev()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
        };
        let none = Cli::try_parse_from(["dev"]).unwrap().dev;
        let defaults = broker_settings(&none, std::iter::empty()).unwrap();
        assert_eq!(
            last(&defaults, "listeners").as_deref(),
            Some(DEFAULT_LISTENER)
        );
        let from_env = broker_settings(&none, env()).unwrap();
        assert_eq!(
            last(&from_env, "listeners").as_deref(),
            Some("PLAINTEXT://:9093")
        );
        assert_eq!(last(&from_env, "log.dirs").as_deref(), Some("/d"));
        let flags = Cli::try_parse_from(["dev", "--listeners", "0.0.0.0:1", "-o", "log.dirs=/e"])
            .unwrap()
            .dev;
        let both = broker_settings(&flags, env()).unwrap();
        assert_eq!(last(&both, "listeners").as_deref(), Some("0.0.0.0:1"));
        assert_eq!(last(&both, "log.dirs").as_deref(), Some("/e"));
    }

    #[test]
    fn kafka_variables_become_broker_settings() {
        let vars = [
            ("KAFKA_NUM_PARTITIONS", "3"),
            ("KAFKA_HEAP_OPTS", "-Xmx1G"),
            ("KAFKA_ADVERTISED_LISTENERS", "PLAINTEXT://h:1"),
            ("PATH", "/bin"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        assert_eq!(
            kafka_env(vars.into_iter()),
            vec![
                (
                    "advertised.listeners".to_owned(),
                    "PLAINTEXT://h:1".to_owned()
                ),
                ("num.partitions".to_owned(), "3".to_owned()),
            ]
        );
    }
}
