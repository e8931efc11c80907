//! The flagship Fjord Streams example: sales in, new prices per quantity out
//! (the topology is `fjord::apps::sales_prices`).
//!
//! Without `--bootstrap-server`: starts an embedded broker, creates the
//! topics, starts the app, produces a known set of sales, prints the prices,
//! the revenue per product and the sales per minute the app wrote, checks
//! them against what they must be, and exits.
//!
//! With `--bootstrap-server HOST:PORT`: runs the app against that cluster
//! (no generator) until SIGTERM or Ctrl-C, then closes it gracefully. Several
//! instances with the same `--application-id` share the work.
//!
//! Run: `cargo run --release --example sales_prices`

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::bail;
use clap::Parser;
use fjord::apps::sales_prices::{self as app, Outputs};
use fjord::broker::{EmbeddedBroker, EmbeddedConfig};
use fjord::streams::{KafkaStreams, State};
use rdkafka::config::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};

#[derive(Parser)]
struct Args {
    /// Run against this cluster instead of an embedded broker, until SIGTERM.
    #[arg(long)]
    bootstrap_server: Option<String>,
    /// The application id (consumer group and internal topic prefix).
    #[arg(long, default_value = app::APPLICATION_ID)]
    application_id: String,
    /// Where the app keeps local state.
    #[arg(long)]
    state_dir: Option<PathBuf>,
    /// How many sales the embedded run produces.
    #[arg(long, default_value_t = 24)]
    sales: usize,
}

const PARTITIONS: i32 = 3;
/// 2026-12-01T09:00:00Z: the generated sales' event times start here.
const START: i64 = 1_796_115_600_000;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let state_dir = args.state_dir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("fjord-streams-{}", std::process::id()))
    });
    match args.bootstrap_server.clone() {
        Some(bootstrap) => run_until_signal(&bootstrap, &args.application_id, &state_dir).await,
        None => run_embedded(&args, &state_dir).await,
    }
}

async fn run_until_signal(
    bootstrap: &str,
    app_id: &str,
    state_dir: &std::path::Path,
) -> anyhow::Result<()> {
    app::create_topics(bootstrap, PARTITIONS).await?;
    let streams = start(bootstrap, app_id, state_dir).await?;
    println!("streams app '{app_id}' running on {bootstrap}; SIGTERM or Ctrl-C stops it");
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    let closed =
        tokio::task::spawn_blocking(move || streams.close(Duration::from_secs(30))).await?;
    println!("closed{}", if closed { "" } else { " (timed out)" });
    Ok(())
}

async fn start(
    bootstrap: &str,
    app_id: &str,
    state_dir: &std::path::Path,
) -> anyhow::Result<KafkaStreams> {
    let config = app::streams_config(bootstrap, app_id, state_dir);
    tokio::task::spawn_blocking(move || {
        let streams = KafkaStreams::new(app::topology()?, config)?;
        streams.start()?;
        if !streams.wait_for_state(State::Running, Duration::from_secs(30)) {
            bail!(
                "the app did not reach RUNNING in 30 s: {:?} {:?}",
                streams.state(),
                streams.error()
            );
        }
        Ok(streams)
    })
    .await?
}

async fn run_embedded(args: &Args, state_dir: &std::path::Path) -> anyhow::Result<()> {
    let started = Instant::now();
    let broker = EmbeddedBroker::start(EmbeddedConfig::default()).await?;
    let bootstrap = broker.bootstrap_servers();
    println!(
        "embedded broker ready on {bootstrap} in {:?}",
        started.elapsed()
    );
    app::create_topics(&bootstrap, PARTITIONS).await?;
    let t = Instant::now();
    let streams = start(&bootstrap, &args.application_id, state_dir).await?;
    println!(
        "streams app '{}' running with tasks {:?} in {:?}",
        args.application_id,
        streams
            .tasks()
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        t.elapsed()
    );

    let sales = app::generate(args.sales, START);
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("linger.ms", "5")
        .create()?;
    for sale in &sales {
        let value = serde_json::to_vec(sale)?;
        producer
            .send(
                FutureRecord::to(app::SALES)
                    .key(&sale.product)
                    .payload(&value),
                Duration::from_secs(10),
            )
            .await
            .map_err(|(e, _)| anyhow::anyhow!("producing a sale: {e}"))?;
    }
    println!("produced {} sales to '{}'", sales.len(), app::SALES);

    let expected = app::expected(&sales, PARTITIONS);
    let bootstrap_for_read = bootstrap.clone();
    let want = expected.clone();
    let outputs = tokio::task::spawn_blocking(move || {
        app::read_outputs(
            &bootstrap_for_read,
            PARTITIONS,
            Duration::from_secs(60),
            |o| o.holds(&want),
        )
    })
    .await??;

    let mut prices = outputs.prices.clone();
    prices.sort_by_key(|p| p.ts);
    for p in &prices {
        println!(
            "price: {} x{} at {:.2} -> {:.2}",
            p.product, p.quantity, p.price_per_quantity, p.new_price_per_quantity
        );
    }
    for (product, r) in &outputs.revenue {
        println!("revenue: {product} {:.2}", r.revenue);
    }
    let mut windows = outputs.windows.clone();
    windows.sort_by(|a, b| (a.window_start, &a.product).cmp(&(b.window_start, &b.product)));
    for w in &windows {
        println!(
            "sales per minute: {} [{}, {}) {}",
            w.product,
            clock(w.window_start),
            clock(w.window_end),
            w.count
        );
    }
    check(&outputs, &expected)?;
    println!("outputs match the expected prices, revenue and windows");

    let closed =
        tokio::task::spawn_blocking(move || streams.close(Duration::from_secs(10))).await?;
    if !closed {
        bail!("the streams app did not close within 10 s");
    }
    broker.shutdown().await;
    let _ = std::fs::remove_dir_all(state_dir);
    println!("done in {:?}", started.elapsed());
    Ok(())
}

fn clock(ms: i64) -> String {
    let secs = ms.div_euclid(1000) % 86_400;
    format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

fn check(got: &Outputs, want: &app::Expected) -> anyhow::Result<()> {
    if let Some(difference) = got.difference(want) {
        bail!("{difference}");
    }
    Ok(())
}
