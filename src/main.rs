//! The `fjord` command line: parse arguments, set up logging and the Tokio
//! runtime, run the subcommand, turn its outcome into an exit code.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

mod cli;

/// Keeps a client's absurd array lengths from aborting the broker (see `fjord_broker::alloc`).
#[global_allocator]
static ALLOC: fjord_broker::alloc::GuardedAlloc = fjord_broker::alloc::GuardedAlloc;

fn main() -> ExitCode {
    // Usage errors exit here with status 2 (and --help / --version with 0).
    let args = cli::Cli::parse();
    cli::init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(cli::run(args));
    // Don't let a straggling blocking task (e.g. a slow metadata lookup) hold up exit.
    runtime.shutdown_timeout(Duration::from_secs(1));
    match outcome {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
