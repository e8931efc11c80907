//! `fjord groups`: list, describe, reset the offsets of, and delete
//! consumer groups, like Kafka's `kafka-consumer-groups.sh`, through
//! [`fjord_core::GroupAdmin`].
//!
//! Tables go to stdout with a header line and space-aligned columns in
//! which a missing value is `-`, so `awk 'NR > 1 { print $6 }'` picks a
//! column. Notes, confirmations and errors go to stderr.
//!
//! Exit codes: 0 success (including a dry run); 1 failure, e.g. the group
//! does not exist, has active members when resetting or deleting, or the
//! cluster cannot be reached; 2 invalid command-line usage.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use fjord_core::groups::{
    GroupDescription, GroupListing, OffsetReset, PartitionLag, ResetTarget, TopicSelection,
};
use fjord_core::GroupAdmin;

use super::args::ConnectionArgs;

/// The `groups` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum GroupsCommand {
    /// List groups with their state and protocol type
    List(ListArgs),
    /// Show a group's members and, per partition, committed offset, log end offset and lag
    Describe(DescribeArgs),
    /// Move a group's committed offsets (prints the plan; commits only with --execute)
    ResetOffsets(ResetOffsetsArgs),
    /// Delete groups and their committed offsets
    Delete(DeleteArgs),
}

/// `fjord groups list`.
#[derive(clap::Args, Debug)]
pub struct ListArgs {
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// `fjord groups describe`.
#[derive(clap::Args, Debug)]
pub struct DescribeArgs {
    /// The group id
    pub group: String,
    /// Show one line per member with its assigned partitions instead of one per partition
    #[arg(long, conflicts_with = "state")]
    pub members: bool,
    /// Show only the group's state, protocol and member count
    #[arg(long)]
    pub state: bool,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// `fjord groups reset-offsets`.
///
/// Exactly one target and either `--topic` or `--all-topics` are required.
#[derive(clap::Args, Debug)]
#[command(group = clap::ArgGroup::new("target").required(true).multiple(false))]
#[command(group = clap::ArgGroup::new("scope").required(true).multiple(false))]
pub struct ResetOffsetsArgs {
    /// The group id; it must have no active members
    pub group: String,
    /// Reset this topic's partitions, or only those listed (repeatable)
    #[arg(long = "topic", value_name = "TOPIC[:P,P...]", group = "scope", value_parser = parse_topic_selection)]
    pub topics: Vec<TopicSelection>,
    /// Reset every partition the group has a committed offset for
    #[arg(long, group = "scope")]
    pub all_topics: bool,
    /// To the first offset still in the log
    #[arg(long, group = "target")]
    pub to_earliest: bool,
    /// To the log end: skip every record produced so far
    #[arg(long, group = "target")]
    pub to_latest: bool,
    /// To this offset (clamped to the log)
    #[arg(long, group = "target", value_name = "OFFSET", value_parser = clap::value_parser!(i64).range(0..))]
    pub to_offset: Option<i64>,
    /// To the first record at or after this RFC 3339 time, e.g. 2024-05-01T12:00:00Z
    #[arg(long, group = "target", value_name = "DATETIME", value_parser = parse_datetime)]
    pub to_datetime: Option<i64>,
    /// Move the committed offset by N records, back if negative (clamped to the log)
    #[arg(
        long,
        group = "target",
        value_name = "N",
        allow_negative_numbers = true
    )]
    pub shift_by: Option<i64>,
    /// Commit the new offsets; without it only the plan is printed
    #[arg(long)]
    pub execute: bool,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

impl ResetOffsetsArgs {
    /// The target flag given (clap guarantees exactly one).
    fn target(&self) -> ResetTarget {
        if let Some(offset) = self.to_offset {
            ResetTarget::Offset(offset)
        } else if let Some(ms) = self.to_datetime {
            ResetTarget::Timestamp(ms)
        } else if let Some(delta) = self.shift_by {
            ResetTarget::ShiftBy(delta)
        } else if self.to_latest {
            ResetTarget::Latest
        } else {
            ResetTarget::Earliest
        }
    }
}

/// `fjord groups delete`.
#[derive(clap::Args, Debug)]
pub struct DeleteArgs {
    /// The group ids; each must have no active members
    #[arg(required = true)]
    pub groups: Vec<String>,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// Parses `--topic TOPIC[:P,P...]`.
fn parse_topic_selection(input: &str) -> Result<TopicSelection, String> {
    input.parse().map_err(|e: fjord_core::Error| e.to_string())
}

/// Parses `--to-datetime` into milliseconds since the epoch.
fn parse_datetime(input: &str) -> Result<i64, String> {
    fjord_core::datetime::parse_rfc3339_millis(input).map_err(|e| e.to_string())
}

/// Runs a `groups` subcommand.
///
/// # Errors
/// Connection failures and the broker's rejections, with advice.
pub async fn run(command: GroupsCommand) -> anyhow::Result<ExitCode> {
    match command {
        GroupsCommand::List(args) => list(args).await,
        GroupsCommand::Describe(args) => describe(args).await,
        GroupsCommand::ResetOffsets(args) => reset_offsets(args).await,
        GroupsCommand::Delete(args) => delete(args).await,
    }
}

fn admin(connection: &ConnectionArgs) -> anyhow::Result<GroupAdmin> {
    let settings = connection.settings(&[])?;
    Ok(GroupAdmin::new(&settings)?.with_timeout(connection.request_timeout()))
}

fn print(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .context("writing to stdout")
}

async fn list(args: ListArgs) -> anyhow::Result<ExitCode> {
    let groups = admin(&args.connection)?.list().await?;
    print(&list_text(&groups))?;
    Ok(ExitCode::SUCCESS)
}

async fn describe(args: DescribeArgs) -> anyhow::Result<ExitCode> {
    let admin = admin(&args.connection)?;
    let description = admin.describe(&args.group).await?;
    if args.state {
        print(&state_text(&description))?;
        return Ok(ExitCode::SUCCESS);
    }
    if description.members.is_empty() {
        if description.protocol_type.is_empty() {
            // DescribeGroups shows no members for KIP-848 (group.protocol=consumer) groups.
            eprintln!(
                "Group '{}' has no active members, or uses the KIP-848 consumer protocol, \
                 whose members DescribeGroups does not show.",
                description.group
            );
        } else {
            eprintln!("Group '{}' has no active members.", description.group);
        }
    }
    if args.members {
        print(&members_text(&description))?;
    } else {
        let lag = admin.lag(&description).await?;
        print(&offsets_text(&description, &lag))?;
    }
    Ok(ExitCode::SUCCESS)
}

async fn reset_offsets(args: ResetOffsetsArgs) -> anyhow::Result<ExitCode> {
    let admin = admin(&args.connection)?;
    let plan = admin
        .plan_reset(&args.group, &args.topics, args.target())
        .await?;
    if plan.is_empty() {
        eprintln!(
            "Nothing to reset: group '{}' has no committed offsets.",
            args.group
        );
        return Ok(ExitCode::SUCCESS);
    }
    if args.execute {
        admin.reset(&args.group, &plan).await?;
    }
    print(&plan_text(&args.group, &plan))?;
    if args.execute {
        eprintln!(
            "Committed new offsets for {} partition(s) of group '{}'.",
            plan.len(),
            args.group
        );
    } else {
        eprintln!("Dry run: nothing was committed; add --execute to commit these offsets.");
    }
    Ok(ExitCode::SUCCESS)
}

async fn delete(args: DeleteArgs) -> anyhow::Result<ExitCode> {
    let admin = admin(&args.connection)?;
    let mut code = ExitCode::SUCCESS;
    for group in &args.groups {
        match admin.delete(group).await {
            Ok(()) => eprintln!("Deleted group '{group}'."),
            Err(e) if args.groups.len() > 1 => {
                eprintln!("error: {e}");
                code = ExitCode::FAILURE;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(code)
}

/// `-` for a missing value.
fn or_dash(value: Option<impl ToString>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

/// Lays out a header and rows in columns separated by at least two spaces;
/// empty cells become `-` so every row splits into the same fields.
fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let cell = |s: &str| {
        if s.is_empty() {
            "-".to_owned()
        } else {
            s.to_owned()
        }
    };
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, value) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell(value).chars().count());
        }
    }
    let mut text = String::new();
    let header: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let last = row.len().saturating_sub(1);
        for (i, (value, width)) in row.iter().zip(&widths).enumerate() {
            let value = cell(value);
            if i == last {
                text.push_str(&value);
            } else {
                let pad = width - value.chars().count() + 2;
                text.push_str(&value);
                text.push_str(&" ".repeat(pad));
            }
        }
        text.push('\n');
    }
    text
}

/// `groups list`: GROUP STATE TYPE.
fn list_text(groups: &[GroupListing]) -> String {
    let rows: Vec<Vec<String>> = groups
        .iter()
        .map(|g| vec![g.group.clone(), g.state.clone(), g.protocol_type.clone()])
        .collect();
    table(&["GROUP", "STATE", "TYPE"], &rows)
}

/// `groups describe --state`.
fn state_text(d: &GroupDescription) -> String {
    table(
        &["GROUP", "STATE", "TYPE", "ASSIGNMENT-STRATEGY", "#MEMBERS"],
        &[vec![
            d.group.clone(),
            d.state.clone(),
            d.protocol_type.clone(),
            d.protocol.clone(),
            d.members.len().to_string(),
        ]],
    )
}

/// `groups describe --members`: one line per member, its partitions as
/// `topic:0,1;other:2`.
fn members_text(d: &GroupDescription) -> String {
    let rows: Vec<Vec<String>> = d
        .members
        .iter()
        .map(|m| {
            let (count, assignment) = match &m.assignment {
                Some(partitions) => (partitions.len().to_string(), assignment_text(partitions)),
                None => ("-".to_owned(), "-".to_owned()),
            };
            vec![
                d.group.clone(),
                m.member_id.clone(),
                m.host.clone(),
                m.client_id.clone(),
                count,
                assignment,
            ]
        })
        .collect();
    table(
        &[
            "GROUP",
            "CONSUMER-ID",
            "HOST",
            "CLIENT-ID",
            "#PARTITIONS",
            "ASSIGNMENT",
        ],
        &rows,
    )
}

fn assignment_text(partitions: &[fjord_core::groups::TopicPartitionId]) -> String {
    let mut text = String::new();
    let mut current: Option<&str> = None;
    for tp in partitions {
        if current == Some(tp.topic.as_str()) {
            text.push(',');
        } else {
            if current.is_some() {
                text.push(';');
            }
            text.push_str(&tp.topic);
            text.push(':');
            current = Some(&tp.topic);
        }
        text.push_str(&tp.partition.to_string());
    }
    text
}

/// `groups describe`: one line per partition, like `kafka-consumer-groups.sh
/// --describe`, then one line per member that has no partition.
fn offsets_text(d: &GroupDescription, lag: &[PartitionLag]) -> String {
    let mut rows: Vec<Vec<String>> = lag
        .iter()
        .map(|p| {
            let owner = d.owner(&p.partition);
            vec![
                d.group.clone(),
                p.partition.topic.clone(),
                p.partition.partition.to_string(),
                or_dash(p.committed),
                or_dash(p.log_end),
                or_dash(p.lag()),
                or_dash(owner.map(|m| &m.member_id)),
                or_dash(owner.map(|m| &m.host)),
                or_dash(owner.map(|m| &m.client_id)),
            ]
        })
        .collect();
    for member in &d.members {
        let owns_a_listed_partition = lag.iter().any(|p| {
            d.owner(&p.partition)
                .is_some_and(|o| o.member_id == member.member_id)
        });
        if !owns_a_listed_partition {
            let mut row = vec![d.group.clone()];
            row.extend(vec!["-".to_owned(); 5]);
            row.extend([
                member.member_id.clone(),
                member.host.clone(),
                member.client_id.clone(),
            ]);
            rows.push(row);
        }
    }
    table(
        &[
            "GROUP",
            "TOPIC",
            "PARTITION",
            "CURRENT-OFFSET",
            "LOG-END-OFFSET",
            "LAG",
            "CONSUMER-ID",
            "HOST",
            "CLIENT-ID",
        ],
        &rows,
    )
}

/// `groups reset-offsets`: the plan, dry run or executed.
fn plan_text(group: &str, plan: &[OffsetReset]) -> String {
    let rows: Vec<Vec<String>> = plan
        .iter()
        .map(|r| {
            vec![
                group.to_owned(),
                r.topic.clone(),
                r.partition.to_string(),
                or_dash(r.current),
                r.new.to_string(),
            ]
        })
        .collect();
    table(
        &[
            "GROUP",
            "TOPIC",
            "PARTITION",
            "CURRENT-OFFSET",
            "NEW-OFFSET",
        ],
        &rows,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;
    use fjord_core::groups::{GroupMember, TopicPartitionId};

    fn tp(topic: &str, partition: i32) -> TopicPartitionId {
        TopicPartitionId {
            topic: topic.to_owned(),
            partition,
        }
    }

    fn reset_args(argv: &[&str]) -> Result<ResetOffsetsArgs, clap::Error> {
        let mut full = vec!["fjord", "groups", "reset-offsets"];
        full.extend(argv);
        match Cli::try_parse_from(full)?.command {
            Command::Groups(GroupsCommand::ResetOffsets(args)) => Ok(args),
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn reset_needs_exactly_one_target_and_a_scope() {
        let args = reset_args(&["g", "--topic", "t", "--to-earliest"]).unwrap();
        assert_eq!(args.target(), ResetTarget::Earliest);
        assert!(!args.execute);
        let args = reset_args(&["g", "--topic", "t:0,2", "--to-latest", "--execute"]).unwrap();
        assert_eq!(args.target(), ResetTarget::Latest);
        assert_eq!(args.topics[0].partitions, Some(vec![0, 2]));
        assert!(args.execute);
        for shift in [
            &["g", "--all-topics", "--shift-by", "-2"][..],
            &["g", "--all-topics", "--shift-by=-2"],
        ] {
            assert_eq!(
                reset_args(shift).unwrap().target(),
                ResetTarget::ShiftBy(-2)
            );
        }
        let args =
            reset_args(&["g", "--topic", "t", "--to-datetime", "1970-01-01T00:00:01Z"]).unwrap();
        assert_eq!(args.target(), ResetTarget::Timestamp(1000));
        let args = reset_args(&["g", "--topic", "a", "--topic", "b", "--to-offset", "5"]).unwrap();
        assert_eq!(args.target(), ResetTarget::Offset(5));
        assert_eq!(args.topics.len(), 2);

        for bad in [
            &["g", "--topic", "t"][..],
            &["g", "--to-earliest"],
            &["g", "--topic", "t", "--to-earliest", "--to-latest"],
            &["g", "--topic", "t", "--all-topics", "--to-earliest"],
            &["g", "--topic", "t", "--to-offset", "-1"],
            &["g", "--topic", "t:x", "--to-earliest"],
        ] {
            let err = reset_args(bad).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{bad:?}");
        }
        let err = reset_args(&["g", "--topic", "t", "--to-datetime", "yesterday"]).unwrap_err();
        assert!(err.to_string().contains("RFC 3339"), "{err}");
    }

    #[test]
    fn tables_align_columns_and_dash_empty_cells() {
        let text = table(
            &["A", "LONGER"],
            &[
                vec!["wide-value".to_owned(), "x".to_owned()],
                vec![String::new(), "y".to_owned()],
            ],
        );
        assert_eq!(text, "A           LONGER\nwide-value  x\n-           y\n");
    }

    fn description() -> GroupDescription {
        GroupDescription {
            group: "g".to_owned(),
            state: "Stable".to_owned(),
            protocol_type: "consumer".to_owned(),
            protocol: "range".to_owned(),
            members: vec![
                GroupMember {
                    member_id: "m1".to_owned(),
                    client_id: "c1".to_owned(),
                    host: "/127.0.0.1".to_owned(),
                    assignment: Some(vec![tp("a", 0), tp("a", 1), tp("b", 0)]),
                },
                GroupMember {
                    member_id: "m2".to_owned(),
                    client_id: "c2".to_owned(),
                    host: "/127.0.0.2".to_owned(),
                    assignment: Some(vec![]),
                },
            ],
        }
    }

    #[test]
    fn describe_rows_per_partition_then_idle_members() {
        let lag = vec![
            PartitionLag {
                partition: tp("a", 0),
                committed: Some(3),
                log_end: Some(10),
            },
            PartitionLag {
                partition: tp("a", 1),
                committed: None,
                log_end: Some(4),
            },
            PartitionLag {
                partition: tp("old", 0),
                committed: Some(2),
                log_end: None,
            },
        ];
        let text = offsets_text(&description(), &lag);
        let rows: Vec<Vec<&str>> = text
            .lines()
            .map(|l| l.split_whitespace().collect())
            .collect();
        assert_eq!(
            rows,
            vec![
                vec![
                    "GROUP",
                    "TOPIC",
                    "PARTITION",
                    "CURRENT-OFFSET",
                    "LOG-END-OFFSET",
                    "LAG",
                    "CONSUMER-ID",
                    "HOST",
                    "CLIENT-ID"
                ],
                vec!["g", "a", "0", "3", "10", "7", "m1", "/127.0.0.1", "c1"],
                vec!["g", "a", "1", "-", "4", "-", "m1", "/127.0.0.1", "c1"],
                vec!["g", "old", "0", "2", "-", "-", "-", "-", "-"],
                vec!["g", "-", "-", "-", "-", "-", "m2", "/127.0.0.2", "c2"],
            ]
        );
    }

    #[test]
    fn members_and_state_views() {
        let text = members_text(&description());
        let rows: Vec<Vec<&str>> = text
            .lines()
            .skip(1)
            .map(|l| l.split_whitespace().collect())
            .collect();
        assert_eq!(
            rows,
            vec![
                vec!["g", "m1", "/127.0.0.1", "c1", "3", "a:0,1;b:0"],
                vec!["g", "m2", "/127.0.0.2", "c2", "0", "-"],
            ]
        );
        let text = state_text(&description());
        assert_eq!(
            text.lines()
                .nth(1)
                .unwrap()
                .split_whitespace()
                .collect::<Vec<_>>(),
            vec!["g", "Stable", "consumer", "range", "2"]
        );
    }

    #[test]
    fn plan_and_list_tables() {
        let plan = [
            OffsetReset {
                topic: "t".to_owned(),
                partition: 0,
                current: Some(5),
                new: 0,
            },
            OffsetReset {
                topic: "t".to_owned(),
                partition: 1,
                current: None,
                new: 0,
            },
        ];
        assert_eq!(
            plan_text("g", &plan),
            "GROUP  TOPIC  PARTITION  CURRENT-OFFSET  NEW-OFFSET\n\
             g      t      0          5               0\n\
             g      t      1          -               0\n"
        );
        let groups = [GroupListing {
            group: "offsets-only".to_owned(),
            state: "Empty".to_owned(),
            protocol_type: String::new(),
        }];
        assert_eq!(
            list_text(&groups),
            "GROUP         STATE  TYPE\noffsets-only  Empty  -\n"
        );
    }
}
