//! `fjord connect`: Kafka Connect workers, with Kafka's config files.
//!
//! `fjord connect standalone connect-standalone.properties connect-file-source.properties ...`
//! runs one worker with connectors from files (`.properties`, or `.json` as the REST API
//! takes them) and offsets in `offset.storage.file.filename`; `fjord connect distributed
//! connect-distributed.properties` joins the Connect cluster of `group.id`, where connectors
//! are managed through the REST API. Both serve Kafka Connect's REST API (default port
//! 8083) and stop cleanly on SIGTERM or Ctrl-C: tasks commit their offsets first.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use fjord_connect::config::from_properties;
use fjord_connect::runtime::distributed::DistributedWorker;
use fjord_connect::runtime::launch::{load_connector_file, StandaloneWorker};
use fjord_core::config::Properties;
use tokio_util::sync::CancellationToken;

/// The `connect` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum ConnectCommand {
    /// Run a standalone worker with connectors from config files
    Standalone(StandaloneArgs),
    /// Run a distributed worker: joins the Connect cluster of its group.id; manage connectors through the REST API
    Distributed(DistributedArgs),
}

/// `fjord connect distributed`.
#[derive(clap::Args, Debug)]
pub struct DistributedArgs {
    /// The worker's config (Kafka's connect-distributed.properties keys)
    pub worker: PathBuf,
}

/// `fjord connect standalone`.
#[derive(clap::Args, Debug)]
pub struct StandaloneArgs {
    /// The worker's config (Kafka's connect-standalone.properties keys)
    pub worker: PathBuf,
    /// Connector configs (.properties, or .json as `{"name", "config"}` or a flat object)
    pub connectors: Vec<PathBuf>,
}

/// Runs a `connect` subcommand until `shutdown`.
///
/// # Errors
/// A bad config file, a port in use, an invalid connector config.
pub async fn run(command: ConnectCommand, shutdown: CancellationToken) -> anyhow::Result<ExitCode> {
    match command {
        ConnectCommand::Standalone(args) => standalone(args, shutdown).await,
        ConnectCommand::Distributed(args) => distributed(args, shutdown).await,
    }
}

fn worker_properties(path: &std::path::Path) -> anyhow::Result<fjord_connect::config::ConfigMap> {
    let properties =
        Properties::from_path(path).with_context(|| format!("worker config {}", path.display()))?;
    Ok(from_properties(&properties))
}

async fn distributed(
    args: DistributedArgs,
    shutdown: CancellationToken,
) -> anyhow::Result<ExitCode> {
    let worker = DistributedWorker::start(worker_properties(&args.worker)?).await?;
    eprintln!(
        "connect distributed worker running; REST API on {}",
        worker.rest_url()
    );
    shutdown.cancelled().await;
    eprintln!("stopping: leaving the group, tasks commit their offsets");
    worker.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

async fn standalone(args: StandaloneArgs, shutdown: CancellationToken) -> anyhow::Result<ExitCode> {
    let worker = worker_properties(&args.worker)?;
    let mut connectors = Vec::new();
    for path in &args.connectors {
        connectors.push(load_connector_file(path)?);
    }
    let worker = StandaloneWorker::start(worker, connectors).await?;
    eprintln!(
        "connect standalone worker running; REST API on {} ({} connector(s))",
        worker.rest_url(),
        args.connectors.len()
    );
    shutdown.cancelled().await;
    eprintln!("stopping: tasks commit their offsets");
    worker.shutdown().await;
    Ok(ExitCode::SUCCESS)
}
