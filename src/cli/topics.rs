//! `fjord topics`: create, list, describe, alter and delete topics through
//! the Kafka admin APIs ([`fjord_core::TopicAdmin`], rdkafka's AdminClient).
//!
//! `list` and `describe` print to stdout; the other subcommands print a
//! one-line confirmation to stderr, so scripts can rely on stdout being data.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use fjord_core::{Error, NewTopicSpec, TopicAdmin, TopicConfig, TopicMetadata};

use super::args::{parse_topic_config, ConnectionArgs};

/// The `topics` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum TopicsCommand {
    /// Create a topic
    Create(CreateArgs),
    /// List topic names, one per line
    List(ListArgs),
    /// Show partitions, leaders, replicas and config overrides
    Describe(DescribeArgs),
    /// Delete a topic and all its records
    Delete(DeleteArgs),
    /// Add partitions or change config overrides of a topic
    Alter(AlterArgs),
}

/// `fjord topics create`.
#[derive(clap::Args, Debug)]
pub struct CreateArgs {
    /// Topic name
    pub name: String,
    /// Number of partitions [default: the broker's num.partitions]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(i32).range(1..))]
    pub partitions: Option<i32>,
    /// Replicas per partition [default: the broker's default.replication.factor]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(i32).range(1..=i16::MAX as i64))]
    pub replication_factor: Option<i32>,
    /// Topic config override, e.g. cleanup.policy=compact (repeatable)
    #[arg(long = "config", value_name = "KEY=VALUE", value_parser = parse_topic_config)]
    pub configs: Vec<(String, String)>,
    /// Succeed without changes if the topic already exists
    #[arg(long)]
    pub if_not_exists: bool,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// `fjord topics list`.
#[derive(clap::Args, Debug)]
pub struct ListArgs {
    /// Leave out internal topics (names starting with "__")
    #[arg(long)]
    pub exclude_internal: bool,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// `fjord topics describe`.
#[derive(clap::Args, Debug)]
pub struct DescribeArgs {
    /// Topic to describe [default: every topic]
    pub name: Option<String>,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// `fjord topics delete`.
#[derive(clap::Args, Debug)]
pub struct DeleteArgs {
    /// Topic name
    pub name: String,
    /// Succeed without changes if the topic does not exist
    #[arg(long)]
    pub if_exists: bool,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// `fjord topics alter`.
///
/// Partitions are added with CreatePartitions. Config changes are
/// incremental from the user's point of view, but rdkafka only offers the
/// non-incremental AlterConfigs request, so they are applied as a
/// read-modify-write of the topic's overrides (see
/// [`TopicAdmin::alter_configs`]).
#[derive(clap::Args, Debug)]
#[command(group = clap::ArgGroup::new("change").required(true).multiple(true))]
pub struct AlterArgs {
    /// Topic name
    pub name: String,
    /// Grow the topic to N partitions (partitions cannot be removed)
    #[arg(long, value_name = "N", group = "change", value_parser = clap::value_parser!(u32).range(1..))]
    pub partitions: Option<u32>,
    /// Set a config override, e.g. retention.ms=3600000 (repeatable)
    #[arg(long = "config", value_name = "KEY=VALUE", group = "change", value_parser = parse_topic_config)]
    pub configs: Vec<(String, String)>,
    /// Remove a config override, reverting to the broker default (repeatable)
    #[arg(long = "delete-config", value_name = "KEY", group = "change")]
    pub delete_configs: Vec<String>,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// Runs a `topics` subcommand.
///
/// # Errors
/// Connection failures and the broker's rejections, with advice.
pub async fn run(command: TopicsCommand) -> anyhow::Result<ExitCode> {
    match command {
        TopicsCommand::Create(args) => create(args).await,
        TopicsCommand::List(args) => list(args).await,
        TopicsCommand::Describe(args) => describe(args).await,
        TopicsCommand::Delete(args) => delete(args).await,
        TopicsCommand::Alter(args) => alter(args).await,
    }
    .map(|()| ExitCode::SUCCESS)
}

fn admin(connection: &ConnectionArgs) -> anyhow::Result<TopicAdmin> {
    let settings = connection.settings(&[])?;
    Ok(TopicAdmin::new(&settings)?.with_timeout(connection.request_timeout()))
}

async fn create(args: CreateArgs) -> anyhow::Result<()> {
    let admin = admin(&args.connection)?;
    let spec = NewTopicSpec {
        name: args.name.clone(),
        partitions: args.partitions,
        replication_factor: args.replication_factor,
        configs: args.configs,
    };
    match admin.create(&spec).await {
        Ok(()) => eprintln!("Created topic '{}'.", args.name),
        Err(Error::TopicAlreadyExists { .. }) if args.if_not_exists => {
            eprintln!("Topic '{}' already exists.", args.name);
        }
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

async fn list(args: ListArgs) -> anyhow::Result<()> {
    let topics = admin(&args.connection)?.list().await?;
    let mut out = std::io::stdout().lock();
    for topic in topics
        .iter()
        .filter(|t| !(args.exclude_internal && t.name.starts_with("__")))
    {
        writeln!(out, "{}", topic.name).context("writing to stdout")?;
    }
    Ok(())
}

async fn describe(args: DescribeArgs) -> anyhow::Result<()> {
    let admin = admin(&args.connection)?;
    let topics = match &args.name {
        Some(name) => vec![admin.describe(name).await?],
        None => admin.list().await?,
    };
    for topic in &topics {
        let configs = match admin.configs(&topic.name).await {
            Ok(configs) => Some(configs),
            Err(e) => {
                tracing::warn!("cannot read configs of topic '{}': {e}", topic.name);
                None
            }
        };
        let text = describe_text(topic, configs.as_deref());
        std::io::stdout()
            .lock()
            .write_all(text.as_bytes())
            .context("writing to stdout")?;
    }
    Ok(())
}

/// Formats a topic like `kafka-topics.sh --describe`: a summary line with
/// the config overrides, then one tab-indented line per partition.
fn describe_text(topic: &TopicMetadata, configs: Option<&[TopicConfig]>) -> String {
    let configs = match configs {
        Some(configs) => configs
            .iter()
            .filter(|c| c.is_override)
            .map(|c| format!("{}={}", c.name, c.value.as_deref().unwrap_or("(hidden)")))
            .collect::<Vec<_>>()
            .join(","),
        None => "(unavailable)".to_owned(),
    };
    let mut text = format!(
        "Topic: {}\tPartitionCount: {}\tReplicationFactor: {}\tConfigs: {}\n",
        topic.name,
        topic.partitions.len(),
        topic.replication_factor(),
        configs
    );
    for p in &topic.partitions {
        let leader = if p.leader < 0 {
            "none".to_owned()
        } else {
            p.leader.to_string()
        };
        text.push_str(&format!(
            "\tTopic: {}\tPartition: {}\tLeader: {}\tReplicas: {}\tIsr: {}",
            topic.name,
            p.id,
            leader,
            join_ids(&p.replicas),
            join_ids(&p.isr)
        ));
        if let Some(error) = &p.error {
            text.push_str(&format!("\tError: {error}"));
        }
        text.push('\n');
    }
    text
}

fn join_ids(ids: &[i32]) -> String {
    ids.iter().map(i32::to_string).collect::<Vec<_>>().join(",")
}

async fn delete(args: DeleteArgs) -> anyhow::Result<()> {
    match admin(&args.connection)?.delete(&args.name).await {
        Ok(()) => eprintln!("Deleted topic '{}'.", args.name),
        Err(Error::UnknownTopic { .. }) if args.if_exists => {
            eprintln!("Topic '{}' does not exist.", args.name);
        }
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

async fn alter(args: AlterArgs) -> anyhow::Result<()> {
    if let Some(key) = args
        .delete_configs
        .iter()
        .find(|key| args.configs.iter().any(|(k, _)| k == *key))
    {
        anyhow::bail!("config '{key}' is both set with --config and removed with --delete-config");
    }
    let admin = admin(&args.connection)?;
    if let Some(partitions) = args.partitions {
        let total = usize::try_from(partitions).context("partition count too large")?;
        admin.add_partitions(&args.name, total).await?;
        eprintln!("Topic '{}' now has {partitions} partitions.", args.name);
    }
    if !args.configs.is_empty() || !args.delete_configs.is_empty() {
        admin
            .alter_configs(&args.name, &args.configs, &args.delete_configs)
            .await?;
        eprintln!("Updated configs of topic '{}'.", args.name);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use fjord_broker::{EmbeddedBroker, EmbeddedConfig};
    use fjord_core::{ClientSettings, PartitionMetadata};
    use std::time::Duration;

    fn overrides(configs: &[TopicConfig]) -> Vec<(String, String)> {
        configs
            .iter()
            .filter(|c| c.is_override)
            .map(|c| (c.name.clone(), c.value.clone().unwrap_or_default()))
            .collect()
    }

    fn kv(k: &str, v: &str) -> (String, String) {
        (k.to_owned(), v.to_owned())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn admin_round_trip_against_an_embedded_broker() {
        let broker = EmbeddedBroker::start(EmbeddedConfig {
            auto_create_topics: false,
            ..EmbeddedConfig::default()
        })
        .await
        .unwrap();
        let admin = TopicAdmin::new(&ClientSettings::new(broker.bootstrap_servers()))
            .unwrap()
            .with_timeout(Duration::from_secs(10));

        let mut spec = NewTopicSpec::new("admin-round-trip");
        spec.partitions = Some(2);
        spec.configs = vec![kv("cleanup.policy", "compact"), kv("retention.ms", "1000")];
        admin.create(&spec).await.unwrap();
        let err = admin.create(&spec).await.unwrap_err();
        assert!(matches!(err, Error::TopicAlreadyExists { .. }), "{err}");

        let topic = admin.describe("admin-round-trip").await.unwrap();
        assert_eq!(topic.partitions.len(), 2);
        assert_eq!(topic.replication_factor(), 1);
        let names: Vec<String> = admin
            .list()
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.name)
            .collect();
        assert!(names.contains(&"admin-round-trip".to_owned()), "{names:?}");

        admin.add_partitions("admin-round-trip", 3).await.unwrap();
        assert_eq!(
            admin
                .describe("admin-round-trip")
                .await
                .unwrap()
                .partitions
                .len(),
            3
        );
        let err = admin
            .add_partitions("admin-round-trip", 2)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("InvalidPartitions"), "{err}");

        admin
            .alter_configs(
                "admin-round-trip",
                &[kv("retention.ms", "5000"), kv("max.message.bytes", "2048")],
                &["cleanup.policy".to_owned()],
            )
            .await
            .unwrap();
        let mut after = overrides(&admin.configs("admin-round-trip").await.unwrap());
        after.sort();
        assert_eq!(
            after,
            vec![kv("max.message.bytes", "2048"), kv("retention.ms", "5000")]
        );

        admin.delete("admin-round-trip").await.unwrap();
        let err = admin.describe("admin-round-trip").await.unwrap_err();
        assert!(matches!(err, Error::UnknownTopic { .. }), "{err}");
        let err = admin.delete("admin-round-trip").await.unwrap_err();
        assert!(matches!(err, Error::UnknownTopic { .. }), "{err}");
        broker.shutdown().await;
    }

    #[test]
    fn describe_lists_overrides_and_partitions() {
        let topic = TopicMetadata {
            name: "sales".to_owned(),
            partitions: vec![
                PartitionMetadata {
                    id: 0,
                    leader: 1,
                    replicas: vec![1, 2],
                    isr: vec![1, 2],
                    error: None,
                },
                PartitionMetadata {
                    id: 1,
                    leader: -1,
                    replicas: vec![2, 1],
                    isr: vec![],
                    error: Some("Broker: Leader not available".to_owned()),
                },
            ],
        };
        let configs = [
            TopicConfig {
                name: "cleanup.policy".to_owned(),
                value: Some("compact".to_owned()),
                is_override: true,
                is_sensitive: false,
                is_read_only: false,
            },
            TopicConfig {
                name: "segment.bytes".to_owned(),
                value: Some("1024".to_owned()),
                is_override: false,
                is_sensitive: false,
                is_read_only: false,
            },
        ];
        assert_eq!(
            describe_text(&topic, Some(&configs)),
            "Topic: sales\tPartitionCount: 2\tReplicationFactor: 2\tConfigs: cleanup.policy=compact\n\
             \tTopic: sales\tPartition: 0\tLeader: 1\tReplicas: 1,2\tIsr: 1,2\n\
             \tTopic: sales\tPartition: 1\tLeader: none\tReplicas: 2,1\tIsr: \tError: Broker: Leader not available\n"
        );
        assert!(describe_text(&topic, None).contains("Configs: (unavailable)\n"));
    }
}
