//! `fjord perf`: benchmarks of a Kafka-protocol cluster through librdkafka (so they run
//! against Apache Kafka as well as Fjord), plus same-run baselines of the machine.
//!
//! Modes, one file each: `produce` (max-throughput producer, send→ack latency), `consume`
//! (librdkafka default consumer from the beginning), `e2e` (fixed-rate produce with
//! `linger.ms=0` while a consumer reads, produce→consume latency) and `baseline` (loopback TCP
//! and sequential disk write), `rebalance` (time for a new consumer group to split a topic's
//! partitions, and to settle after a member leaves) and `commits` (offset commits per second
//! and their latency). Each mode runs on a blocking thread of its own, shows a live
//! progress line on stderr (`progress`), and ends with a [`report::Summary`] on stdout, as
//! text or with `--json` as one JSON object. Latencies go into an `hdrhistogram`
//! ([`histogram::latency`]). Ctrl-C stops a run early; the summary then covers what ran.
//!
//! These are benchmarks, never tests: `scripts/perf.sh` runs them against a fresh broker and
//! prints a table with ratios to the baselines (see BENCHMARKS.md).

mod baseline;
mod commits;
mod connect;
mod consume;
mod e2e;
mod histogram;
mod produce;
mod progress;
mod rebalance;
mod report;
mod streams;

use std::process::ExitCode;

use anyhow::Context as _;
use tokio_util::sync::CancellationToken;

/// `fjord perf`.
#[derive(clap::Args, Debug)]
pub struct PerfArgs {
    /// Print the summary as one JSON object instead of text
    #[arg(long, global = true)]
    pub json: bool,
    /// Print no progress line on stderr
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,
    /// Which benchmark to run.
    #[command(subcommand)]
    pub mode: PerfMode,
}

/// The benchmarks.
#[derive(clap::Subcommand, Debug)]
pub enum PerfMode {
    /// Produce records as fast as acknowledged; throughput and send->ack latency
    Produce(produce::PerfProduceArgs),
    /// Read a topic from the beginning with librdkafka's default consumer settings
    Consume(consume::PerfConsumeArgs),
    /// Produce at a fixed rate with linger.ms=0 while consuming; end-to-end latency
    E2e(e2e::PerfE2eArgs),
    /// Time for a new consumer group to assign every partition once, and to settle after a leave
    Rebalance(rebalance::PerfRebalanceArgs),
    /// Commit offsets in a loop, sync then async; commits/s and sync commit latency
    Commits(commits::PerfCommitsArgs),
    /// The sales -> prices transform: a hand-written rdkafka loop vs Fjord Streams (vs Quix Streams)
    Streams(streams::PerfStreamsArgs),
    /// File source and sink vs raw rdkafka loops; distributed add and failover times
    Connect(connect::PerfConnectArgs),
    /// Measure loopback TCP and sequential disk write throughput of this machine
    Baseline(baseline::BaselineArgs),
}

/// Runs a benchmark on a blocking thread and prints its summary.
///
/// # Errors
/// Client creation or a benchmark's I/O failing; a run stopped by `shutdown` still prints
/// the summary of what it did.
pub async fn run(args: PerfArgs, shutdown: CancellationToken) -> anyhow::Result<ExitCode> {
    let PerfArgs { json, quiet, mode } = args;
    let summary = tokio::task::spawn_blocking(move || match &mode {
        PerfMode::Produce(a) => produce::run(a, quiet, &shutdown),
        PerfMode::Consume(a) => consume::run(a, quiet, &shutdown),
        PerfMode::E2e(a) => e2e::run(a, quiet, &shutdown),
        PerfMode::Rebalance(a) => rebalance::run(a, quiet, &shutdown),
        PerfMode::Commits(a) => commits::run(a, quiet, &shutdown),
        PerfMode::Baseline(a) => baseline::run(a, &shutdown),
        PerfMode::Streams(a) => streams::run(a, quiet, &shutdown),
        PerfMode::Connect(a) => connect::run(a, quiet, &shutdown),
    })
    .await
    .context("the benchmark thread panicked")??;
    summary.print(json);
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)] // Tests may panic on failure.
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct Wrapper {
        #[command(flatten)]
        perf: PerfArgs,
    }

    #[test]
    fn parses_every_mode() {
        let w = Wrapper::try_parse_from([
            "perf",
            "produce",
            "--topic",
            "t",
            "--records",
            "10",
            "--record-size",
            "1024",
            "--acks",
            "1",
            "--linger-ms",
            "5",
            "--batch-size",
            "65536",
            "--compression",
            "lz4",
            "-X",
            "queue.buffering.max.messages=1000",
            "--json",
        ])
        .unwrap();
        assert!(w.perf.json);
        let PerfMode::Produce(p) = w.perf.mode else {
            panic!("not produce")
        };
        assert_eq!((p.records, p.record_size, p.linger_ms), (10, 1024, Some(5)));
        assert_eq!(p.connection.overrides.len(), 1);

        let w =
            Wrapper::try_parse_from(["perf", "e2e", "--topic", "t", "--rate", "20000"]).unwrap();
        let PerfMode::E2e(e) = w.perf.mode else {
            panic!("not e2e")
        };
        assert_eq!((e.rate, e.duration_s, e.record_size), (20_000, 10, 100));
        assert!(Wrapper::try_parse_from(["perf", "e2e", "-t", "t", "--record-size", "8"]).is_err());
        assert!(Wrapper::try_parse_from(["perf", "consume", "-t", "t", "--records", "0"]).is_err());
        assert!(Wrapper::try_parse_from(["perf", "baseline", "--dir", "/tmp", "-q"]).is_ok());

        let w = Wrapper::try_parse_from(["perf", "rebalance", "--protocol", "consumer"]).unwrap();
        let PerfMode::Rebalance(r) = w.perf.mode else {
            panic!("not rebalance")
        };
        assert_eq!((r.members, r.partitions, r.rounds), (10, 100, 3));
        assert_eq!(r.protocol, rebalance::GroupProtocol::Consumer);
        assert!(Wrapper::try_parse_from(["perf", "rebalance", "--members", "0"]).is_err());
        assert!(Wrapper::try_parse_from(["perf", "rebalance", "--protocol", "eager"]).is_err());

        let w = Wrapper::try_parse_from(["perf", "commits", "--seconds", "3", "--partitions", "1"])
            .unwrap();
        let PerfMode::Commits(c) = w.perf.mode else {
            panic!("not commits")
        };
        assert_eq!((c.seconds, c.partitions, c.window), (3, 1, 1000));
        assert!(Wrapper::try_parse_from(["perf", "commits", "--partitions", "0"]).is_err());
    }
}
