//! `fjord streams`: run the bundled Streams apps, and reset an application
//! like Kafka's `kafka-streams-application-reset.sh`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use fjord_core::groups::{ResetTarget, TopicSelection};
use fjord_core::{GroupAdmin, TopicAdmin};
use fjord_streams::{KafkaStreams, State};
use tokio_util::sync::CancellationToken;

use super::args::ConnectionArgs;
use fjord::apps::{sales_prices, word_count};

/// The `streams` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum StreamsCommand {
    /// Run a bundled Streams app against a cluster until SIGTERM or Ctrl-C
    Run(RunArgs),
    /// Reset an application: input offsets to the start, internal topics deleted (only while no instance runs)
    Reset(ResetArgs),
}

/// The bundled apps.
#[derive(clap::ValueEnum, Debug, Clone, Copy)]
pub enum App {
    /// Sales in, prices, revenue per product and sales per minute out (fjord::apps::sales_prices)
    SalesPrices,
    /// Lines in, a running count per word out (fjord::apps::word_count)
    WordCount,
}

/// `fjord streams run`.
#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// The app
    #[arg(value_enum)]
    pub app: App,
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// The application id (consumer group, prefix of internal topics) [default: the app's name]
    #[arg(long)]
    pub application_id: Option<String>,
    /// Where the app keeps local state [default: a directory under the system temp dir]
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
    /// Streams config (repeatable), e.g. `-c num.stream.threads=2 -c commit.interval.ms=100`
    #[arg(short = 'c', long = "config", value_name = "KEY=VALUE", value_parser = super::args::parse_override)]
    pub config: Vec<(String, String)>,
}

/// `fjord streams reset`.
#[derive(clap::Args, Debug)]
pub struct ResetArgs {
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// The application id
    #[arg(long)]
    pub application_id: String,
    /// Input topics whose committed offsets go back to the start (comma-separated)
    #[arg(long, value_delimiter = ',')]
    pub input_topics: Vec<String>,
    /// Print what would be done, change nothing
    #[arg(long)]
    pub dry_run: bool,
}

/// Runs a `streams` subcommand.
///
/// # Errors
/// A failing app or reset.
pub async fn run(command: StreamsCommand, shutdown: CancellationToken) -> anyhow::Result<ExitCode> {
    match command {
        StreamsCommand::Run(args) => run_app(args, shutdown).await,
        StreamsCommand::Reset(args) => reset(args).await,
    }
}

async fn run_app(args: RunArgs, shutdown: CancellationToken) -> anyhow::Result<ExitCode> {
    let bootstrap = args.connection.bootstrap()?;
    let (default_id, topology) = match args.app {
        App::SalesPrices => (sales_prices::APPLICATION_ID, sales_prices::topology()?),
        App::WordCount => (word_count::APPLICATION_ID, word_count::topology()?),
    };
    let app_id = args
        .application_id
        .unwrap_or_else(|| default_id.to_string());
    let state_dir = args
        .state_dir
        .unwrap_or_else(|| std::env::temp_dir().join("fjord-streams"));
    if let App::SalesPrices = args.app {
        sales_prices::create_topics(&bootstrap, 3).await?;
    }
    let mut config = sales_prices::streams_config(&bootstrap, &app_id, &state_dir);
    for (k, v) in &args.config {
        config = config.set(k, v)?;
    }
    let streams = tokio::task::spawn_blocking(move || -> anyhow::Result<KafkaStreams> {
        let streams = KafkaStreams::new(topology, config)?;
        streams.set_state_listener(|from, to| eprintln!("state {from:?} -> {to:?}"));
        streams.start()?;
        Ok(streams)
    })
    .await??;
    eprintln!("streams app '{app_id}' started on {bootstrap}");
    let streams = std::sync::Arc::new(streams);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(Duration::from_millis(200)) => {
                if streams.state() == State::Error {
                    let cause = streams.error().map(|e| e.to_string()).unwrap_or_default();
                    bail!("the app stopped with an error: {cause}");
                }
            }
        }
    }
    let s = streams.clone();
    let closed = tokio::task::spawn_blocking(move || s.close(Duration::from_secs(30))).await?;
    eprintln!("closed{}", if closed { "" } else { " (timed out)" });
    Ok(if closed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn reset(args: ResetArgs) -> anyhow::Result<ExitCode> {
    let settings = args.connection.settings(&[])?;
    let groups = GroupAdmin::new(&settings)?.with_timeout(args.connection.request_timeout());
    let topics = TopicAdmin::new(&settings)?.with_timeout(args.connection.request_timeout());
    let app = &args.application_id;
    // Refuse while any instance runs: its tasks would commit over the reset.
    if let Ok(description) = groups.describe(app).await {
        if !description.is_inactive() {
            bail!(
                "application '{app}' still has {} running member(s); close every instance first",
                description.members.len()
            );
        }
    }
    if !args.input_topics.is_empty() {
        let selections: Vec<TopicSelection> = args
            .input_topics
            .iter()
            .map(|t| TopicSelection {
                topic: t.clone(),
                partitions: None,
            })
            .collect();
        let plan = groups
            .plan_reset(app, &selections, ResetTarget::Earliest)
            .await
            .context("planning the reset of the input offsets")?;
        for r in &plan {
            println!(
                "input {}-{}: committed {} -> {}",
                r.topic,
                r.partition,
                r.current.map_or("-".to_string(), |c| c.to_string()),
                r.new
            );
        }
        if !args.dry_run {
            groups.reset(app, &plan).await?;
        }
    }
    let prefix = format!("{app}-");
    let internal: Vec<String> = topics
        .list()
        .await?
        .into_iter()
        .map(|t| t.name)
        .filter(|n| {
            n.starts_with(&prefix) && (n.ends_with("-changelog") || n.ends_with("-repartition"))
        })
        .collect();
    for topic in &internal {
        println!(
            "internal topic {topic}: {}",
            if args.dry_run {
                "would be deleted"
            } else {
                "deleted"
            }
        );
        if !args.dry_run {
            topics.delete(topic).await?;
        }
    }
    if args.dry_run {
        eprintln!("dry run: nothing changed");
    } else {
        eprintln!(
            "application '{app}' reset; remove its local state (its state.dir) before the next start"
        );
    }
    Ok(ExitCode::SUCCESS)
}
