//! `fjord consume`: a console consumer printing one record per line.
//!
//! Without `--group` the consumer has no `group.id`: it looks the topic up,
//! assigns the partitions itself (all of them, or `--partition`) at the
//! requested start offset, and never talks to a group coordinator or commits
//! offsets. With `--group` it subscribes and lets the group assign
//! partitions; consumed offsets are committed before exit.
//!
//! Records flow from librdkafka's prefetch queue through `recv()` to stdout,
//! one `write` per record; stdout is line-buffered, so each record is visible
//! as soon as it is printed. The loop stops after `--max-messages`, after
//! `--timeout-ms` without a record, on Ctrl-C/SIGTERM, or when stdout is
//! closed (e.g. piped into `head`).
//!
//! Exit codes: 0 when stopped by `--max-messages`, by a signal, by a closed
//! stdout, or by `--timeout-ms` when no `--max-messages` was asked for;
//! 1 when `--timeout-ms` ends the run before `--max-messages` records
//! arrived, or on an error.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Headers, Message};
use rdkafka::{Offset, Timestamp, TopicPartitionList};
use tokio_util::sync::CancellationToken;

use super::args::{parse_start_offset, ConnectionArgs, StartOffset};

/// `fjord consume`.
#[derive(clap::Args, Debug)]
pub struct ConsumeArgs {
    /// Topic to read
    #[arg(long, short = 't')]
    pub topic: String,
    /// Start at the earliest offset (without a group), or when the group has no
    /// committed offset (with --group) [default: latest]
    #[arg(long, conflicts_with = "offset")]
    pub from_beginning: bool,
    /// Join this consumer group (subscribe, commit offsets) instead of
    /// assigning partitions directly
    #[arg(long, value_name = "GROUP", conflicts_with_all = ["partition", "offset"])]
    pub group: Option<String>,
    /// Read only this partition [default: all partitions]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(i32).range(0..))]
    pub partition: Option<i32>,
    /// Start offset for every assigned partition: earliest, latest or a number
    #[arg(long, value_name = "O|earliest|latest", value_parser = parse_start_offset)]
    pub offset: Option<StartOffset>,
    /// Exit after printing N records
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_messages: Option<u64>,
    /// Prefix each record with its key
    #[arg(long)]
    pub print_key: bool,
    /// Prefix each record with "Partition:P<TAB>Offset:O"
    #[arg(long)]
    pub print_offset: bool,
    /// Prefix each record with its timestamp, e.g. "CreateTime:1700000000000"
    #[arg(long)]
    pub print_timestamp: bool,
    /// Prefix each record with its headers as "k1:v1,k2:v2" (or "NO_HEADERS")
    #[arg(long)]
    pub print_headers: bool,
    /// Exit when no record arrives for MS milliseconds [default: run until Ctrl-C]
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout_ms: Option<u64>,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// Which prefixes to print before each value.
#[derive(Clone, Copy, Debug, Default)]
struct PrintOptions {
    timestamp: bool,
    offset: bool,
    headers: bool,
    key: bool,
}

/// Why the consume loop ended.
#[derive(Debug, PartialEq, Eq)]
enum Stop {
    MaxMessages,
    IdleTimeout,
    Signal,
    StdoutClosed,
}

/// Runs the console consumer.
///
/// # Errors
/// If the client cannot be created, the topic or partition does not exist,
/// or the broker reports a fatal error (e.g. authorization).
pub async fn run(args: ConsumeArgs, shutdown: CancellationToken) -> anyhow::Result<ExitCode> {
    let reset = if args.from_beginning || args.offset == Some(StartOffset::Earliest) {
        "earliest"
    } else {
        "latest"
    };
    let settings = args
        .connection
        .settings(&[("auto.offset.reset", reset.to_owned())])?;
    let consumer: Arc<StreamConsumer> = Arc::new(
        settings
            .consumer_config(args.group.as_deref())
            .create()
            .map_err(|cause| fjord_core::Error::ClientCreation {
                role: "consumer",
                cause,
            })?,
    );

    let timeout = args.connection.request_timeout();
    let (client, topic) = (Arc::clone(&consumer), args.topic.clone());
    let metadata = tokio::task::spawn_blocking(move || {
        fjord_core::metadata::fetch_topic(client.client(), &topic, timeout)
    })
    .await
    .context("topic lookup task failed")??;

    if args.group.is_some() {
        consumer
            .subscribe(&[&args.topic])
            .with_context(|| format!("subscribing to topic '{}'", args.topic))?;
    } else {
        let start = match (args.offset, args.from_beginning) {
            (Some(StartOffset::At(offset)), _) => Offset::Offset(offset),
            (Some(StartOffset::Earliest), _) | (None, true) => Offset::Beginning,
            (Some(StartOffset::Latest), _) | (None, false) => Offset::End,
        };
        let partitions: Vec<i32> = match args.partition {
            Some(partition) => {
                metadata.check_partition(partition)?;
                vec![partition]
            }
            None => metadata.partitions.iter().map(|p| p.id).collect(),
        };
        let mut assignment = TopicPartitionList::with_capacity(partitions.len());
        for partition in partitions {
            assignment
                .add_partition_offset(&args.topic, partition, start)
                .context("building the partition assignment")?;
        }
        consumer
            .assign(&assignment)
            .with_context(|| format!("assigning partitions of topic '{}'", args.topic))?;
    }

    let print = PrintOptions {
        timestamp: args.print_timestamp,
        offset: args.print_offset,
        headers: args.print_headers,
        key: args.print_key,
    };
    let idle = args.timeout_ms.map(Duration::from_millis);
    let loop_result = consume_loop(&consumer, print, args.max_messages, idle, &shutdown).await;

    let closer = Arc::clone(&consumer);
    let grouped = args.group.is_some();
    // Committing and leaving the group block; keep them off the runtime threads.
    let consumed = loop_result.as_ref().map_or(0, |(count, _)| *count);
    tokio::task::spawn_blocking(move || {
        if grouped && consumed > 0 {
            if let Err(e) = closer.commit_consumer_state(CommitMode::Sync) {
                tracing::warn!("committing consumed offsets failed: {e}");
            }
        }
        drop(closer);
    })
    .await
    .context("consumer shutdown task failed")?;
    drop(consumer);

    let (count, stop) = loop_result?;
    tracing::info!("processed a total of {count} messages");
    if stop == Stop::IdleTimeout {
        if let Some(wanted) = args.max_messages {
            eprintln!(
                "error: timed out after {} ms without a record; got {count} of {wanted} messages",
                args.timeout_ms.unwrap_or_default()
            );
            return Ok(ExitCode::FAILURE);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints records until a stop condition; returns how many were printed and why it stopped.
async fn consume_loop(
    consumer: &StreamConsumer,
    print: PrintOptions,
    max_messages: Option<u64>,
    idle: Option<Duration>,
    shutdown: &CancellationToken,
) -> anyhow::Result<(u64, Stop)> {
    let mut count = 0u64;
    let mut line = Vec::new();
    loop {
        if max_messages.is_some_and(|max| count >= max) {
            return Ok((count, Stop::MaxMessages));
        }
        let next = async {
            match idle {
                Some(idle) => tokio::time::timeout(idle, consumer.recv()).await.ok(),
                None => Some(consumer.recv().await),
            }
        };
        // `recv` is cancel safe: a message not yet returned stays queued.
        let received = tokio::select! {
            received = next => received,
            () = shutdown.cancelled() => return Ok((count, Stop::Signal)),
        };
        let message = match received {
            None => return Ok((count, Stop::IdleTimeout)),
            Some(Ok(message)) => message,
            Some(Err(error)) => {
                check_consume_error(error)?;
                continue;
            }
        };
        line.clear();
        format_record(&message, print, &mut line);
        let mut stdout = std::io::stdout().lock();
        match stdout.write_all(&line).and_then(|()| stdout.flush()) {
            Ok(()) => count += 1,
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                return Ok((count, Stop::StdoutClosed))
            }
            Err(e) => return Err(e).context("writing to stdout"),
        }
    }
}

/// Decides whether a consume error is fatal; transient ones are logged and
/// the consumer keeps going (librdkafka retries on its own).
fn check_consume_error(error: KafkaError) -> anyhow::Result<()> {
    let fatal = matches!(error, KafkaError::MessageConsumptionFatal(_))
        || matches!(
            error.rdkafka_error_code(),
            Some(
                RDKafkaErrorCode::UnknownTopicOrPartition
                    | RDKafkaErrorCode::UnknownTopic
                    | RDKafkaErrorCode::TopicAuthorizationFailed
                    | RDKafkaErrorCode::GroupAuthorizationFailed
                    | RDKafkaErrorCode::Fatal
            )
        );
    if fatal {
        Err(error).context("consuming failed")
    } else {
        tracing::warn!("consumer error (retrying): {error}");
        Ok(())
    }
}

/// Appends one output line: the selected prefixes, each followed by a tab,
/// then the value (`null` for a null key or value) and a newline.
fn format_record(message: &impl Message, print: PrintOptions, out: &mut Vec<u8>) {
    if print.timestamp {
        match message.timestamp() {
            Timestamp::CreateTime(ms) => {
                out.extend_from_slice(format!("CreateTime:{ms}").as_bytes())
            }
            Timestamp::LogAppendTime(ms) => {
                out.extend_from_slice(format!("LogAppendTime:{ms}").as_bytes());
            }
            Timestamp::NotAvailable => out.extend_from_slice(b"NoTimestamp"),
        }
        out.push(b'\t');
    }
    if print.offset {
        out.extend_from_slice(
            format!(
                "Partition:{}\tOffset:{}\t",
                message.partition(),
                message.offset()
            )
            .as_bytes(),
        );
    }
    if print.headers {
        match message.headers().filter(|h| h.count() > 0) {
            None => out.extend_from_slice(b"NO_HEADERS"),
            Some(headers) => {
                for (i, header) in headers.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    out.extend_from_slice(header.key.as_bytes());
                    out.push(b':');
                    out.extend_from_slice(header.value.unwrap_or(b"null"));
                }
            }
        }
        out.push(b'\t');
    }
    if print.key {
        out.extend_from_slice(message.key().unwrap_or(b"null"));
        out.push(b'\t');
    }
    out.extend_from_slice(message.payload().unwrap_or(b"null"));
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdkafka::message::{Header, OwnedHeaders, OwnedMessage};

    fn message(
        key: Option<&str>,
        value: Option<&str>,
        headers: Option<OwnedHeaders>,
    ) -> OwnedMessage {
        OwnedMessage::new(
            value.map(|v| v.as_bytes().to_vec()),
            key.map(|k| k.as_bytes().to_vec()),
            "t".to_owned(),
            Timestamp::CreateTime(1_700_000_000_000),
            2,
            42,
            headers,
        )
    }

    fn render(message: &OwnedMessage, print: PrintOptions) -> String {
        let mut out = Vec::new();
        format_record(message, print, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn value_only_by_default() {
        assert_eq!(
            render(
                &message(Some("k"), Some("v"), None),
                PrintOptions::default()
            ),
            "v\n"
        );
        assert_eq!(
            render(&message(None, None, None), PrintOptions::default()),
            "null\n"
        );
    }

    #[test]
    fn all_prefixes_are_tab_separated_in_order() {
        let headers = OwnedHeaders::new()
            .insert(Header {
                key: "a",
                value: Some("1"),
            })
            .insert(Header {
                key: "b",
                value: None::<&[u8]>,
            });
        let all = PrintOptions {
            timestamp: true,
            offset: true,
            headers: true,
            key: true,
        };
        assert_eq!(
            render(&message(Some("k"), Some("v"), Some(headers)), all),
            "CreateTime:1700000000000\tPartition:2\tOffset:42\ta:1,b:null\tk\tv\n"
        );
        assert_eq!(
            render(&message(None, Some("v"), None), all),
            "CreateTime:1700000000000\tPartition:2\tOffset:42\tNO_HEADERS\tnull\tv\n"
        );
    }

    #[test]
    fn key_only_prefix() {
        let print = PrintOptions {
            key: true,
            ..PrintOptions::default()
        };
        assert_eq!(
            render(&message(Some("user-1"), Some("42"), None), print),
            "user-1\t42\n"
        );
    }

    #[test]
    fn transient_errors_are_not_fatal() {
        assert!(check_consume_error(KafkaError::MessageConsumption(
            RDKafkaErrorCode::BrokerTransportFailure
        ))
        .is_ok());
        assert!(check_consume_error(KafkaError::MessageConsumption(
            RDKafkaErrorCode::UnknownTopicOrPartition
        ))
        .is_err());
    }
}
