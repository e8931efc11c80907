//! `fjord produce`: a console producer, one record per line of stdin.
//!
//! A dedicated reader thread reads stdin (blocking reads never touch the
//! Tokio runtime), turns each line into a record and hands it to a
//! librdkafka `ThreadedProducer`. librdkafka's own queue is the only buffer:
//! when it is full the reader waits (back-pressure reaches stdin) rather
//! than dropping lines. Delivery reports arrive on the producer's polling
//! thread and are counted in [`ProduceStats`]; failures are printed to
//! stderr with their input line number.
//!
//! On end of input, or on Ctrl-C/SIGTERM, the producer is flushed, so every
//! record read is either delivered or reported before exit. The exit code is
//! 0 only if every line was delivered.

use std::io::BufRead;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use rdkafka::client::ClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::util::Timeout;
use tokio_util::sync::CancellationToken;

use super::args::{
    parse_header, parse_key_separator, split_key_value, trim_line_ending, Acks, Compression,
    ConnectionArgs,
};

/// How many individual failures are printed before only counting them.
const MAX_REPORTED_FAILURES: u64 = 20;

/// How long the reader waits before retrying when librdkafka's queue is full.
const QUEUE_FULL_BACKOFF: Duration = Duration::from_millis(10);

/// `fjord produce`.
#[derive(clap::Args, Debug)]
pub struct ProduceArgs {
    /// Topic to produce to
    #[arg(long, short = 't')]
    pub topic: String,
    /// Split each line into key and value at the first SEP (e.g. ':' or $'\t');
    /// without it every line is a value with no key
    #[arg(long, value_name = "SEP", value_parser = parse_key_separator)]
    pub key_separator: Option<String>,
    /// Header added to every record (repeatable)
    #[arg(long = "header", value_name = "KEY=VALUE", value_parser = parse_header)]
    pub headers: Vec<(String, String)>,
    /// Send every record to this partition instead of letting the partitioner choose
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(i32).range(0..))]
    pub partition: Option<i32>,
    /// Acknowledgements to wait for [default: all]
    #[arg(long, value_enum)]
    pub acks: Option<Acks>,
    /// Compression of record batches [default: none]
    #[arg(long, value_enum)]
    pub compression: Option<Compression>,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// Counters shared by the reader thread and the delivery callback.
#[derive(Debug, Default)]
pub struct ProduceStats {
    /// Records handed to librdkafka.
    queued: AtomicU64,
    /// Records acknowledged by the broker.
    delivered: AtomicU64,
    /// Queued records that librdkafka reported as not delivered.
    undelivered: AtomicU64,
    /// Lines never queued: no key separator, or rejected by the client.
    rejected: AtomicU64,
    /// Failures printed so far (printing stops at [`MAX_REPORTED_FAILURES`]).
    reported: AtomicU64,
}

impl ProduceStats {
    /// Prints a failure unless too many were printed already.
    fn report(&self, line: usize, what: &str) {
        let previous = self.reported.fetch_add(1, Ordering::Relaxed);
        if previous < MAX_REPORTED_FAILURES {
            eprintln!("error: line {line}: {what}");
        } else if previous == MAX_REPORTED_FAILURES {
            eprintln!("error: more failures; only their number is reported below");
        }
    }

    /// Counts and reports a line that was never queued.
    fn reject(&self, line: usize, what: &str) {
        self.rejected.fetch_add(1, Ordering::Relaxed);
        self.report(line, what);
    }
}

/// Receives delivery reports on the producer's polling thread.
struct DeliveryReporter {
    stats: Arc<ProduceStats>,
}

impl ClientContext for DeliveryReporter {}

impl ProducerContext for DeliveryReporter {
    /// The 1-based input line number of the record.
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, line: usize) {
        match result {
            Ok(_) => {
                self.stats.delivered.fetch_add(1, Ordering::Relaxed);
            }
            Err((error, _)) => {
                self.stats.undelivered.fetch_add(1, Ordering::Relaxed);
                self.stats
                    .report(line, &format!("not delivered: {}", describe(error)));
            }
        }
    }
}

/// A short description of a client error: the code's text when there is one.
fn describe(error: &KafkaError) -> String {
    match error.rdkafka_error_code() {
        Some(code) => code.to_string(),
        None => error.to_string(),
    }
}

/// What the reader needs to turn lines into records.
struct RecordTemplate {
    topic: String,
    key_separator: Option<Vec<u8>>,
    headers: Vec<(String, String)>,
    partition: Option<i32>,
}

impl RecordTemplate {
    fn headers(&self) -> Option<OwnedHeaders> {
        if self.headers.is_empty() {
            return None;
        }
        let headers = self.headers.iter().fold(
            OwnedHeaders::new_with_capacity(self.headers.len()),
            |headers, (key, value)| {
                headers.insert(Header {
                    key,
                    value: Some(value.as_bytes()),
                })
            },
        );
        Some(headers)
    }
}

/// Runs the console producer until end of input or `shutdown`.
///
/// # Errors
/// If the client cannot be created or the topic does not exist; individual
/// record failures are reported on stderr and give exit code 1 instead.
pub async fn run(args: ProduceArgs, shutdown: CancellationToken) -> anyhow::Result<ExitCode> {
    let stdin = std::io::BufReader::with_capacity(64 * 1024, std::io::stdin());
    run_with_input(args, shutdown, stdin).await
}

/// [`run`] reading lines from `input` instead of stdin.
pub(super) async fn run_with_input(
    args: ProduceArgs,
    shutdown: CancellationToken,
    input: impl BufRead + Send + 'static,
) -> anyhow::Result<ExitCode> {
    let mut role_settings = Vec::new();
    if let Some(acks) = args.acks {
        role_settings.push(("acks", acks.as_config().to_owned()));
    }
    if let Some(compression) = args.compression {
        role_settings.push(("compression.type", compression.as_config().to_owned()));
    }
    let settings = args.connection.settings(&role_settings)?;
    let stats = Arc::new(ProduceStats::default());
    let producer: Arc<ThreadedProducer<DeliveryReporter>> = Arc::new(
        settings
            .producer_config()
            .create_with_context(DeliveryReporter {
                stats: Arc::clone(&stats),
            })
            .map_err(|cause| fjord_core::Error::ClientCreation {
                role: "producer",
                cause,
            })?,
    );

    // Fail fast, with advice, if the topic or partition does not exist, rather
    // than after librdkafka's message timeout. On brokers that auto-create
    // topics this lookup creates it, as Kafka's console producer would.
    let timeout = args.connection.request_timeout();
    let (client, topic) = (Arc::clone(&producer), args.topic.clone());
    let metadata = tokio::task::spawn_blocking(move || {
        fjord_core::metadata::fetch_topic(client.client(), &topic, timeout)
    })
    .await
    .context("topic lookup task failed")??;
    if let Some(partition) = args.partition {
        metadata.check_partition(partition)?;
    }

    let template = RecordTemplate {
        topic: args.topic,
        key_separator: args.key_separator.map(String::into_bytes),
        headers: args.headers,
        partition: args.partition,
    };
    let stop = Arc::new(AtomicBool::new(false));
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    let reader = {
        let (producer, stats, stop) =
            (Arc::clone(&producer), Arc::clone(&stats), Arc::clone(&stop));
        move || {
            let result = read_and_send(input, &template, &producer, &stats, &stop);
            // The receiver is gone only if `run` already returned; nothing to tell.
            let _ = done_tx.send(result);
        }
    };
    // A plain thread, not spawn_blocking: a read blocked on an idle terminal
    // must not keep the runtime from shutting down after Ctrl-C.
    std::thread::Builder::new()
        .name("stdin-reader".to_owned())
        .spawn(reader)
        .context("cannot start the stdin reader thread")?;

    let read_result = tokio::select! {
        result = done_rx => result.context("the stdin reader thread stopped unexpectedly")?,
        () = shutdown.cancelled() => {
            stop.store(true, Ordering::Relaxed);
            tracing::info!("interrupted; delivering the records read so far");
            Ok(())
        }
    };

    let flusher = Arc::clone(&producer);
    let flushed = tokio::task::spawn_blocking(move || flusher.flush(Timeout::Never))
        .await
        .context("flush task failed")?;
    if let Err(e) = flushed {
        tracing::warn!("flushing the producer failed: {}", describe(&e));
    }
    read_result.context("reading standard input")?;
    Ok(summarize(&stats))
}

/// Reports the outcome and picks the exit code.
fn summarize(stats: &ProduceStats) -> ExitCode {
    let queued = stats.queued.load(Ordering::Relaxed);
    let delivered = stats.delivered.load(Ordering::Relaxed);
    let undelivered = stats.undelivered.load(Ordering::Relaxed);
    let rejected = stats.rejected.load(Ordering::Relaxed);
    let unconfirmed = queued.saturating_sub(delivered + undelivered);
    tracing::debug!(queued, delivered, undelivered, rejected, "produce finished");
    if undelivered + rejected + unconfirmed == 0 {
        return ExitCode::SUCCESS;
    }
    let failed = undelivered + rejected;
    let total = queued + rejected;
    let mut message = format!("error: {failed} of {total} records failed");
    if unconfirmed > 0 {
        message.push_str(&format!(
            ", {unconfirmed} more were not confirmed before exit"
        ));
    }
    eprintln!("{message}");
    ExitCode::FAILURE
}

/// Reads `input` line by line and queues one record per line, until end of
/// input or `stop`. Returns an error only if reading itself fails.
fn read_and_send(
    mut input: impl BufRead,
    template: &RecordTemplate,
    producer: &ThreadedProducer<DeliveryReporter>,
    stats: &ProduceStats,
    stop: &AtomicBool,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut line_number = 0usize;
    while !stop.load(Ordering::Relaxed) {
        buf.clear();
        if input.read_until(b'\n', &mut buf)? == 0 {
            break;
        }
        line_number += 1;
        let line = trim_line_ending(&buf);
        let (key, value) = match &template.key_separator {
            None => (None, line),
            Some(separator) => match split_key_value(line, separator) {
                Some((key, value)) => (Some(key), value),
                None => {
                    stats.reject(
                        line_number,
                        "no key separator found; write KEY<SEP>VALUE or drop --key-separator",
                    );
                    continue;
                }
            },
        };
        send(producer, template, key, value, line_number, stats, stop);
    }
    Ok(())
}

/// Queues one record, waiting while librdkafka's queue is full.
fn send(
    producer: &ThreadedProducer<DeliveryReporter>,
    template: &RecordTemplate,
    key: Option<&[u8]>,
    value: &[u8],
    line: usize,
    stats: &ProduceStats,
    stop: &AtomicBool,
) {
    let mut record = BaseRecord::with_opaque_to(&template.topic, line).payload(value);
    if let Some(key) = key {
        record = record.key(key);
    }
    if let Some(partition) = template.partition {
        record = record.partition(partition);
    }
    if let Some(headers) = template.headers() {
        record = record.headers(headers);
    }
    loop {
        match producer.send(record) {
            Ok(()) => {
                stats.queued.fetch_add(1, Ordering::Relaxed);
                return;
            }
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned))
                if !stop.load(Ordering::Relaxed) =>
            {
                // Back-pressure: the polling thread frees space as deliveries complete.
                record = returned;
                std::thread::sleep(QUEUE_FULL_BACKOFF);
            }
            Err((error, _)) => {
                stats.reject(line, &format!("not sent: {}", describe(&error)));
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdkafka::message::Headers;

    #[test]
    fn headers_are_built_in_order() {
        let template = RecordTemplate {
            topic: "t".to_owned(),
            key_separator: None,
            headers: vec![
                ("a".to_owned(), "1".to_owned()),
                ("b".to_owned(), String::new()),
            ],
            partition: None,
        };
        let headers = template.headers().unwrap();
        assert_eq!(headers.count(), 2);
        assert_eq!(headers.get(0).key, "a");
        assert_eq!(headers.get(0).value, Some(&b"1"[..]));
        assert_eq!(headers.get(1).value, Some(&b""[..]));
        let none = RecordTemplate {
            headers: vec![],
            ..template
        };
        assert!(none.headers().is_none());
    }

    #[test]
    fn summary_exit_codes() {
        let stats = ProduceStats::default();
        stats.queued.store(3, Ordering::Relaxed);
        stats.delivered.store(3, Ordering::Relaxed);
        assert_eq!(summarize(&stats), ExitCode::SUCCESS);
        stats.rejected.store(1, Ordering::Relaxed);
        assert_eq!(summarize(&stats), ExitCode::FAILURE);
        let undelivered = ProduceStats::default();
        undelivered.queued.store(2, Ordering::Relaxed);
        undelivered.delivered.store(1, Ordering::Relaxed);
        undelivered.undelivered.store(1, Ordering::Relaxed);
        assert_eq!(summarize(&undelivered), ExitCode::FAILURE);
        let unconfirmed = ProduceStats::default();
        unconfirmed.queued.store(2, Ordering::Relaxed);
        unconfirmed.delivered.store(1, Ordering::Relaxed);
        assert_eq!(summarize(&unconfirmed), ExitCode::FAILURE);
    }
}
