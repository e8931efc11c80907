//! The `fjord` command line: one file per subcommand.
//!
//! `main` parses a [`Cli`], sets up logging and a Tokio runtime, and calls
//! [`run`], which dispatches to the subcommand. Client subcommands write
//! only data to stdout (topic names, descriptions, consumed values) and
//! everything else (logs, confirmations, errors) to stderr.
//!
//! Exit codes: 0 success; 1 failure (the error is printed to stderr);
//! 2 invalid command-line usage.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

pub mod args;
pub mod broker;
pub mod connect;
pub mod consume;
pub mod dev;
pub mod feed;
pub mod groups;
pub mod health;
pub mod perf;
pub mod produce;
pub mod schema_registry;
pub mod schemas;
pub mod streams;
pub mod topics;

/// Fjord: a Kafka-compatible streaming platform in one binary.
#[derive(Parser, Debug)]
#[command(name = "fjord", version, about, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a Kafka-compatible broker
    Broker(broker::BrokerArgs),
    /// Create, list, describe, alter and delete topics
    #[command(subcommand)]
    Topics(topics::TopicsCommand),
    /// Produce one record per line of standard input
    Produce(produce::ProduceArgs),
    /// Print records of a topic to standard output, one value per line
    Consume(consume::ConsumeArgs),
    /// List, describe, reset the offsets of and delete consumer groups
    #[command(subcommand)]
    Groups(groups::GroupsCommand),
    /// Run the bundled Streams apps; reset a Streams application
    #[command(subcommand)]
    Streams(streams::StreamsCommand),
    /// Run Kafka Connect workers (standalone or distributed) with Kafka's config files
    #[command(subcommand)]
    Connect(connect::ConnectCommand),
    /// Run a broker, a schema registry and a Connect worker in one process, for development
    Dev(dev::DevArgs),
    /// Ask a running `fjord dev` whether every part is up (exit 0) or not (exit 1)
    Health(health::HealthArgs),
    /// Register, list, show, check and delete schemas on a schema registry
    Schemas(schemas::SchemasArgs),
    /// Run a Confluent-compatible schema registry against any Kafka cluster
    SchemaRegistry(schema_registry::SchemaRegistryArgs),
    /// Benchmark a cluster (produce, consume, end-to-end latency) and this machine
    Perf(perf::PerfArgs),
    /// Serve a simulated social feed over HTTP; benchmark the HTTP feed source
    #[command(subcommand)]
    Feed(feed::FeedCommand),
}

/// Runs the parsed command line to completion.
///
/// # Errors
/// Any failure of the subcommand; the caller prints it and exits with 1.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Broker(args) => broker::run(args).await.map(|()| ExitCode::SUCCESS),
        Command::Topics(command) => topics::run(command).await,
        Command::Produce(args) => produce::run(args, shutdown_on_signal()).await,
        Command::Consume(args) => consume::run(args, shutdown_on_signal()).await,
        Command::Groups(command) => groups::run(command).await,
        Command::Streams(command) => streams::run(command, shutdown_on_signal()).await,
        Command::Connect(command) => connect::run(command, shutdown_on_signal()).await,
        Command::Dev(args) => dev::run(args, shutdown_on_signal()).await,
        Command::Health(args) => health::run(args).await,
        Command::Schemas(args) => schemas::run(args).await,
        Command::SchemaRegistry(args) => schema_registry::run(args, shutdown_on_signal())
            .await
            .map(|()| ExitCode::SUCCESS),
        Command::Perf(args) => perf::run(args, shutdown_on_signal()).await,
        Command::Feed(command) => feed::run(command, shutdown_on_signal()).await,
    }
}

/// Sends `tracing` output (and the `log` records librdkafka emits) to
/// stderr, filtered by `FJORD_LOG` (default `info`).
pub fn init_logging() {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;

    let filter = EnvFilter::try_from_env("FJORD_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    // A second initialisation (only possible in tests) keeps the first subscriber.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

/// A token cancelled on the first Ctrl-C (SIGINT) or SIGTERM, so long-running
/// commands can stop reading, flush and exit cleanly. A second signal exits
/// at once with status 130, for when the clean stop itself hangs (e.g. a
/// flush to an unreachable broker).
fn shutdown_on_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::debug!("shutdown signal received");
        cancel.cancel();
        wait_for_signal().await;
        eprintln!("error: interrupted again; exiting without waiting");
        std::process::exit(130);
    });
    token
}

#[cfg(unix)]
async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(e) => {
            tracing::warn!("cannot listen for SIGTERM ({e}); only Ctrl-C stops gracefully");
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() {
    let _ = tokio::signal::ctrl_c().await;
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)] // Tests may panic on failure.
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parses_a_full_produce_command() {
        let cli = Cli::try_parse_from([
            "fjord",
            "produce",
            "--topic",
            "t",
            "--key-separator",
            ":",
            "--header",
            "a=1",
            "--header",
            "b=2",
            "--partition",
            "3",
            "--acks",
            "1",
            "--compression",
            "zstd",
            "-X",
            "linger.ms=5",
            "--bootstrap-server",
            "h:1",
        ])
        .unwrap();
        let Command::Produce(args) = cli.command else {
            panic!("not produce")
        };
        assert_eq!(args.topic, "t");
        assert_eq!(args.headers.len(), 2);
        assert_eq!(args.partition, Some(3));
        assert_eq!(args.acks, Some(args::Acks::Leader));
        assert_eq!(args.connection.bootstrap_server.as_deref(), Some("h:1"));
        assert_eq!(
            args.connection.overrides,
            vec![("linger.ms".to_owned(), "5".to_owned())]
        );
    }

    #[test]
    fn consume_rejects_group_with_partition_or_offset() {
        for extra in [["--partition", "0"], ["--offset", "5"]] {
            let mut argv = vec!["fjord", "consume", "--topic", "t", "--group", "g"];
            argv.extend(extra);
            assert!(Cli::try_parse_from(argv).is_err(), "{extra:?}");
        }
        assert!(Cli::try_parse_from([
            "fjord",
            "consume",
            "--topic",
            "t",
            "--from-beginning",
            "--offset",
            "3"
        ])
        .is_err());
    }

    #[test]
    fn bad_key_value_flags_are_usage_errors() {
        let err = Cli::try_parse_from(["fjord", "produce", "--topic", "t", "--header", "novalue"])
            .unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(
            err.to_string().contains("invalid header 'novalue'"),
            "{err}"
        );
    }

    #[test]
    fn topics_alter_needs_a_change() {
        assert!(Cli::try_parse_from(["fjord", "topics", "alter", "t"]).is_err());
        assert!(
            Cli::try_parse_from(["fjord", "topics", "alter", "t", "--partitions", "4"]).is_ok()
        );
        assert!(
            Cli::try_parse_from(["fjord", "topics", "alter", "t", "--delete-config", "a"]).is_ok()
        );
    }
}
