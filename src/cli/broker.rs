//! `fjord broker`: placeholder until the broker command lands.

/// Arguments of `fjord broker`.
#[derive(clap::Args, Debug)]
pub struct BrokerArgs {}

/// Runs the broker.
///
/// # Errors
/// Always, for now.
pub async fn run(_args: BrokerArgs) -> anyhow::Result<()> {
    anyhow::bail!("not yet")
}
