//! `fjord consume`: a console consumer printing one record per line.
//!
//! Without `--group` the consumer joins no group: it looks the topic up,
//! assigns the partitions itself (all of them, or `--partition`) at the
//! requested start offset, and needs no group coordinator and commits
//! nothing. (librdkafka refuses `assign` without any `group.id`, so
//! [`ClientSettings::consumer_config`] sets a unique throwaway one that is
//! never joined.) With `--group` it subscribes and lets the group assign
//! partitions; consumed offsets are committed before exit.
//!
//! [`ClientSettings::consumer_config`]: fjord_core::ClientSettings::consumer_config
//!
//! Records flow from librdkafka's prefetch queue through `recv()` to stdout,
//! one `write` per record; stdout is line-buffered, so each record is visible
//! as soon as it is printed. The loop stops after `--max-messages`, after
//! `--timeout-ms` without a record, on Ctrl-C/SIGTERM, or when the reader
//! of stdout goes away (e.g. piped into `head`), even while idle.
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
    run_with_output(args, shutdown, &mut std::io::stdout(), stdout_closed()).await
}

/// [`run`] writing records to `out` and also stopping when `out_closed`
/// completes (the reader of `out` went away).
async fn run_with_output(
    args: ConsumeArgs,
    shutdown: CancellationToken,
    out: &mut dyn Write,
    out_closed: impl std::future::Future<Output = ()>,
) -> anyhow::Result<ExitCode> {
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
    let limits = Limits {
        max_messages: args.max_messages,
        idle,
    };
    let loop_result = consume_loop(&consumer, print, limits, &shutdown, out, out_closed).await;

    let grouped = args.group.is_some();
    // Committing, leaving the group and destroying the client block; keep them off the
    // runtime threads, and under a deadline (close_consumer), so the command always exits.
    let consumed = loop_result.as_ref().map_or(0, |(count, _)| *count);
    tokio::task::spawn_blocking(move || {
        if grouped && consumed > 0 {
            if let Err(e) = consumer.commit_consumer_state(CommitMode::Sync) {
                tracing::warn!("committing consumed offsets failed: {e}");
            }
        }
        // The topic lookup's clone ended with its task, so this is the last reference.
        if let Ok(consumer) = Arc::try_unwrap(consumer) {
            if let Err(e) =
                fjord_core::close_consumer(consumer, "consumer", fjord_core::DEFAULT_CLOSE_TIMEOUT)
            {
                tracing::warn!("{e}");
            }
        }
    })
    .await
    .context("consumer shutdown task failed")?;

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

/// When the consume loop stops by itself.
#[derive(Clone, Copy, Debug)]
struct Limits {
    max_messages: Option<u64>,
    idle: Option<Duration>,
}

/// Writes records to `out` until a stop condition; returns how many were
/// written and why it stopped.
///
/// Writes are synchronous on purpose: this loop is the process's only task,
/// and a slow reader of stdout should slow consumption down (back-pressure)
/// rather than make records pile up in memory.
async fn consume_loop(
    consumer: &StreamConsumer,
    print: PrintOptions,
    limits: Limits,
    shutdown: &CancellationToken,
    out: &mut dyn Write,
    out_closed: impl std::future::Future<Output = ()>,
) -> anyhow::Result<(u64, Stop)> {
    let mut count = 0u64;
    let mut line = Vec::new();
    tokio::pin!(out_closed);
    loop {
        if limits.max_messages.is_some_and(|max| count >= max) {
            return Ok((count, Stop::MaxMessages));
        }
        let next = async {
            match limits.idle {
                Some(idle) => tokio::time::timeout(idle, consumer.recv()).await.ok(),
                None => Some(consumer.recv().await),
            }
        };
        // `recv` is cancel safe: a message not yet returned stays queued.
        let received = tokio::select! {
            received = next => received,
            () = shutdown.cancelled() => return Ok((count, Stop::Signal)),
            () = &mut out_closed => return Ok((count, Stop::StdoutClosed)),
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
        match out.write_all(&line).and_then(|()| out.flush()) {
            Ok(()) => count += 1,
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                return Ok((count, Stop::StdoutClosed))
            }
            Err(e) => return Err(e).context("writing to stdout"),
        }
    }
}

/// Completes when the reader of stdout goes away (e.g. `| head -3` exited),
/// so an idle consumer exits instead of waiting for a record to fail to
/// write. Only pipes report this; for files, terminals that stay open, or
/// platforms without it, the future never completes.
#[cfg(unix)]
async fn stdout_closed() {
    use tokio::io::unix::AsyncFd;
    use tokio::io::Interest;

    // epoll reports EPOLLERR on a pipe's write end once the read end is closed.
    // Registering fails for regular files and /dev/null, which never close.
    // `with_interest` is deprecated because an arbitrary `AsRawFd` may close
    // its descriptor while registered; `Stdout` always refers to fd 1, which
    // stays open for the life of the process, and the safe-code-only lint
    // rules out the `unsafe` replacement.
    #[allow(deprecated)]
    let registered = AsyncFd::with_interest(std::io::stdout(), Interest::ERROR);
    if let Ok(fd) = registered {
        if fd.ready(Interest::ERROR).await.is_ok() {
            return;
        }
    }
    std::future::pending::<()>().await;
}

#[cfg(not(unix))]
async fn stdout_closed() {
    std::future::pending::<()>().await;
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
    use crate::cli::{Cli, Command};
    use clap::Parser;
    use fjord_broker::{EmbeddedBroker, EmbeddedConfig};
    use fjord_core::{ClientSettings, NewTopicSpec, TopicAdmin};
    use rdkafka::message::{Header, OwnedHeaders, OwnedMessage};

    fn parse(argv: &[&str]) -> Command {
        Cli::try_parse_from(argv).unwrap().command
    }

    async fn produce(bootstrap: &str, extra: &[&str], input: &str) -> ExitCode {
        let mut argv = vec!["fjord", "produce", "--bootstrap-server", bootstrap];
        argv.extend(extra);
        let Command::Produce(args) = parse(&argv) else {
            panic!("not produce")
        };
        let input = std::io::Cursor::new(input.as_bytes().to_vec());
        crate::cli::produce::run_with_input(args, CancellationToken::new(), input)
            .await
            .unwrap()
    }

    async fn consume(bootstrap: &str, extra: &[&str]) -> (ExitCode, String) {
        let mut argv = vec!["fjord", "consume", "--bootstrap-server", bootstrap];
        argv.extend(extra);
        let Command::Consume(args) = parse(&argv) else {
            panic!("not consume")
        };
        let mut out = Vec::new();
        let code = run_with_output(
            args,
            CancellationToken::new(),
            &mut out,
            std::future::pending(),
        )
        .await
        .unwrap();
        (code, String::from_utf8(out).unwrap())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn produce_then_consume_against_an_embedded_broker() {
        let broker = EmbeddedBroker::start(EmbeddedConfig {
            auto_create_topics: false,
            ..EmbeddedConfig::default()
        })
        .await
        .unwrap();
        let bootstrap = broker.bootstrap_servers();
        let admin = TopicAdmin::new(&ClientSettings::new(&bootstrap)).unwrap();
        let mut spec = NewTopicSpec::new("console");
        spec.partitions = Some(2);
        admin.create(&spec).await.unwrap();

        let code = produce(
            &bootstrap,
            &[
                "--topic",
                "console",
                "--key-separator",
                ":",
                "--header",
                "h=1",
                "--partition",
                "1",
            ],
            "k1:v1\nk2:v:2\r\n:empty-key\n",
        )
        .await;
        assert_eq!(code, ExitCode::SUCCESS);

        let (code, out) = consume(
            &bootstrap,
            &[
                "--topic",
                "console",
                "--from-beginning",
                "--max-messages",
                "3",
                "--timeout-ms",
                "10000",
                "--print-key",
                "--print-offset",
                "--print-headers",
            ],
        )
        .await;
        assert_eq!(code, ExitCode::SUCCESS);
        assert_eq!(
            out,
            "Partition:1\tOffset:0\th:1\tk1\tv1\n\
             Partition:1\tOffset:1\th:1\tk2\tv:2\n\
             Partition:1\tOffset:2\th:1\t\tempty-key\n"
        );

        // A numeric start offset on one partition, stopped by the idle timeout.
        let (code, out) = consume(
            &bootstrap,
            &[
                "--topic",
                "console",
                "--partition",
                "1",
                "--offset",
                "2",
                "--timeout-ms",
                "1000",
            ],
        )
        .await;
        assert_eq!((code, out.as_str()), (ExitCode::SUCCESS, "empty-key\n"));

        // Fewer records than --max-messages before the timeout: exit code 1.
        let (code, out) = consume(
            &bootstrap,
            &[
                "--topic",
                "console",
                "--partition",
                "0",
                "--from-beginning",
                "--max-messages",
                "1",
                "--timeout-ms",
                "500",
            ],
        )
        .await;
        assert_eq!((code, out.as_str()), (ExitCode::FAILURE, ""));

        // A line without the separator fails (exit 1) but the others are sent.
        let code = produce(
            &bootstrap,
            &[
                "--topic",
                "console",
                "--key-separator",
                "=",
                "--partition",
                "0",
            ],
            "a=1\nno separator\nb=2\n",
        )
        .await;
        assert_eq!(code, ExitCode::FAILURE);
        let (_, out) = consume(
            &bootstrap,
            &[
                "--topic",
                "console",
                "--partition",
                "0",
                "--offset",
                "earliest",
                "--max-messages",
                "2",
                "--timeout-ms",
                "10000",
            ],
        )
        .await;
        assert_eq!(out, "1\n2\n");
        broker.shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn missing_topic_and_partition_are_errors() {
        let broker = EmbeddedBroker::start(EmbeddedConfig {
            auto_create_topics: false,
            ..EmbeddedConfig::default()
        })
        .await
        .unwrap();
        let bootstrap = broker.bootstrap_servers();
        let Command::Consume(args) = parse(&[
            "fjord",
            "consume",
            "--bootstrap-server",
            &bootstrap,
            "--topic",
            "absent",
        ]) else {
            panic!("not consume")
        };
        let err = run_with_output(
            args,
            CancellationToken::new(),
            &mut Vec::new(),
            std::future::pending(),
        )
        .await
        .unwrap_err();
        assert!(
            err.to_string().contains("fjord topics create absent"),
            "{err:#}"
        );

        let Command::Produce(args) = parse(&[
            "fjord",
            "produce",
            "--bootstrap-server",
            &bootstrap,
            "--topic",
            "absent",
        ]) else {
            panic!("not produce")
        };
        let input = std::io::Cursor::new(b"x\n".to_vec());
        let err = crate::cli::produce::run_with_input(args, CancellationToken::new(), input)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("does not exist"), "{err:#}");
        broker.shutdown().await;
    }

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
