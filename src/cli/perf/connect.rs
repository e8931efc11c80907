//! `fjord perf connect`: Fjord Connect against hand-written rdkafka loops on the same broker
//! in the same run, plus the distributed worker's reaction times.
//!
//! - `source`: a file of `--lines` lines of `--line-size` bytes into a fresh one-partition
//!   topic, by a raw rdkafka producer reading the file (the baseline) and by a
//!   FileStreamSource connector in a standalone worker of this process (StringConverter,
//!   the same producer settings, since both get Fjord's client defaults);
//! - `sink`: that topic into a file, by a raw consumer writing each value and a newline
//!   through a `BufWriter` (the baseline) and by a FileStreamSink connector.
//!
//! Each side is timed the same way, by a watcher outside it: from the first poll that sees
//! output (a high watermark above 0, a file no longer empty) until all of it is there, so
//! client start-up, group joins and task start-up are not part of either rate. Rounds
//! alternate the order; the summary gives medians and the ratios connector / baseline.
//!
//! - `distributed` (unless `--skip-distributed`): two `fjord connect distributed` processes
//!   (this executable) in one Connect cluster with `--connectors` file sources running; the
//!   time from `POST /connectors` to the new connector's task RUNNING (once per round), and
//!   after a SIGKILL of one worker the time until every task runs on the survivor, beside
//!   the configured `session.timeout.ms` (`scheduled.rebalance.max.delay.ms=0`, so the
//!   survivor takes the tasks at once instead of waiting for the worker to come back).

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use fjord_connect::config::ConfigMap;
use fjord_connect::runtime::launch::StandaloneWorker;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Message, Offset, TopicPartitionList};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use super::report::Summary;
use crate::cli::args::ConnectionArgs;

/// `fjord perf connect`.
#[derive(clap::Args, Debug)]
pub struct PerfConnectArgs {
    /// Lines in the source file (and records in the topic the sinks read)
    #[arg(long, default_value_t = 500_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub lines: u64,
    /// Bytes per line, newline excluded
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(16..))]
    pub line_size: u64,
    /// Rounds (each runs every contender once, in alternating order)
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..))]
    pub rounds: u64,
    /// Connectors already running when the distributed benchmark adds one
    #[arg(long, default_value_t = 20)]
    pub connectors: usize,
    /// session.timeout.ms of the distributed workers
    #[arg(long, default_value_t = 10_000)]
    pub session_timeout_ms: u64,
    /// Run only the file source and sink benchmarks
    #[arg(long)]
    pub skip_distributed: bool,
    /// Give up on a contender after this many seconds
    #[arg(long, default_value_t = 300)]
    pub timeout_s: u64,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// What is benchmarked; the baseline of each pair comes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Contender {
    RawProducer,
    FileSource,
    RawConsumer,
    FileSink,
}

impl Contender {
    fn name(self) -> &'static str {
        match self {
            Contender::RawProducer => "raw_producer",
            Contender::FileSource => "file_source",
            Contender::RawConsumer => "raw_consumer",
            Contender::FileSink => "file_sink",
        }
    }
}

/// Runs the benchmark.
///
/// # Errors
/// A cluster that cannot be reached, a contender that fails or times out, a worker process
/// that does not start.
pub fn run(
    args: &PerfConnectArgs,
    quiet: bool,
    shutdown: &CancellationToken,
) -> anyhow::Result<Summary> {
    let bootstrap = args.connection.bootstrap()?;
    let run_id = super::rebalance::unique_suffix();
    let dir = std::env::temp_dir().join(format!("fjord-perf-connect-{run_id}"));
    std::fs::create_dir_all(&dir)?;
    let outcome = run_in(args, quiet, shutdown, &bootstrap, &run_id, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    outcome
}

fn run_in(
    args: &PerfConnectArgs,
    quiet: bool,
    shutdown: &CancellationToken,
    bootstrap: &str,
    run_id: &str,
    dir: &Path,
) -> anyhow::Result<Summary> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let input = dir.join("lines.txt");
    write_lines(&input, args.lines, args.line_size)?;
    let bench = Bench {
        args,
        bootstrap,
        dir,
        input,
        runtime: &runtime,
    };
    let mut rates: Vec<(Contender, Vec<f64>)> = [
        Contender::RawProducer,
        Contender::FileSource,
        Contender::RawConsumer,
        Contender::FileSink,
    ]
    .into_iter()
    .map(|c| (c, Vec::new()))
    .collect();
    for round in 0..args.rounds {
        // The topic the file source fills is the one both sinks read.
        let mut order = vec![
            (Contender::RawProducer, Contender::FileSource),
            (Contender::RawConsumer, Contender::FileSink),
        ];
        let mut filled = None;
        for (pair, (baseline, connector)) in order.drain(..).enumerate() {
            let mut sides = [baseline, connector];
            if round % 2 == 1 {
                sides.reverse();
            }
            for c in sides {
                if shutdown.is_cancelled() {
                    bail!("interrupted");
                }
                let id = format!("{}-{round}-{run_id}", c.name());
                let seconds = match c {
                    Contender::RawProducer | Contender::FileSource => {
                        let topic = format!("perf-connect-{id}");
                        create_topic(bootstrap, &topic)?;
                        let seconds = bench.source(c, &topic, &id)?;
                        if c == Contender::FileSource {
                            filled = Some(topic);
                        }
                        seconds
                    }
                    Contender::RawConsumer | Contender::FileSink => {
                        let topic = filled.clone().context("no filled topic")?;
                        bench.sink(c, &topic, &id)?
                    }
                };
                let rate = args.lines as f64 / seconds;
                if !quiet {
                    eprintln!(
                        "round {round}: {:13} {rate:>10.0} lines/s ({seconds:.2} s)",
                        c.name()
                    );
                }
                if let Some((_, v)) = rates.iter_mut().find(|(k, _)| *k == c) {
                    v.push(rate);
                }
            }
            let _ = pair;
        }
    }
    let mut summary = Summary::new("connect");
    summary
        .count("lines", "lines", "", args.lines)
        .count("line_size", "line size", "bytes", args.line_size)
        .count("rounds", "rounds", "", args.rounds);
    for (c, v) in &rates {
        summary.real(
            &format!("{}_lines_per_s", c.name()),
            &format!("{} median", c.name()),
            "lines/s",
            median(v),
            0,
        );
    }
    summary.real(
        "file_source_vs_raw_producer",
        "file source / raw producer",
        "x",
        median(&rates[1].1) / median(&rates[0].1).max(1e-9),
        2,
    );
    summary.real(
        "file_sink_vs_raw_consumer",
        "file sink / raw consumer",
        "x",
        median(&rates[3].1) / median(&rates[2].1).max(1e-9),
        2,
    );
    if !args.skip_distributed {
        let figures = runtime.block_on(distributed(args, quiet, bootstrap, run_id, dir))?;
        figures.add_to(&mut summary, args);
    }
    Ok(summary)
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s.get(s.len() / 2).copied().unwrap_or(0.0)
}

/// `lines` lines of `size` bytes: a sequence number padded with letters.
fn write_lines(path: &Path, lines: u64, size: u64) -> anyhow::Result<()> {
    let mut out = BufWriter::new(File::create(path)?);
    let pad = "abcdefghijklmnopqrstuvwxyz".repeat(usize::try_from(size / 26 + 1)?);
    for i in 0..lines {
        let head = format!("line-{i:010} ");
        let rest = usize::try_from(size)?.saturating_sub(head.len());
        writeln!(out, "{head}{}", &pad[..rest])?;
    }
    out.flush()?;
    Ok(())
}

fn create_topic(bootstrap: &str, topic: &str) -> anyhow::Result<()> {
    let admin = fjord_core::TopicAdmin::new(&fjord_core::ClientSettings::new(bootstrap))?;
    let mut spec = fjord_core::NewTopicSpec::new(topic);
    spec.partitions = Some(1);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(admin.create(&spec))?;
    Ok(())
}

struct Bench<'a> {
    args: &'a PerfConnectArgs,
    bootstrap: &'a str,
    dir: &'a Path,
    input: PathBuf,
    runtime: &'a tokio::runtime::Runtime,
}

impl Bench<'_> {
    fn deadline(&self) -> Instant {
        Instant::now() + Duration::from_secs(self.args.timeout_s)
    }

    /// Fills `topic` from the input file; the seconds from the first record in the topic to
    /// the last, scaled to every line.
    fn source(&self, c: Contender, topic: &str, id: &str) -> anyhow::Result<f64> {
        let watcher: BaseConsumer = fjord_core::ClientSettings::new(self.bootstrap)
            .consumer_config(None)
            .create()?;
        let lines = self.args.lines;
        let watch = |what: &str| -> anyhow::Result<u64> {
            let (_, high) = watcher.fetch_watermarks(topic, 0, Duration::from_secs(10))?;
            let _ = what;
            Ok(u64::try_from(high.max(0))?)
        };
        let deadline = self.deadline();
        let result = match c {
            Contender::RawProducer => {
                let (bs, file, t) = (
                    self.bootstrap.to_owned(),
                    self.input.clone(),
                    topic.to_owned(),
                );
                let producer = std::thread::spawn(move || raw_produce(&bs, &file, &t));
                let seconds = time_until(deadline, c, lines, || watch("raw"));
                producer
                    .join()
                    .map_err(|_| anyhow::anyhow!("the raw producer panicked"))??;
                seconds
            }
            _ => {
                let connector = config(&[
                    ("name", &format!("perf-source-{id}")),
                    ("connector.class", "FileStreamSource"),
                    ("file", &self.input.display().to_string()),
                    ("topic", topic),
                ]);
                let worker = self.start_worker(id, connector)?;
                let seconds = time_until(deadline, c, lines, || watch("connector"));
                self.runtime.block_on(worker.shutdown());
                seconds
            }
        };
        fjord_core::close_consumer(watcher, "watermark watcher", Duration::from_secs(5))?;
        result
    }

    /// Writes `topic` into a file; the seconds from the first byte in the file to the last,
    /// scaled to every line.
    fn sink(&self, c: Contender, topic: &str, id: &str) -> anyhow::Result<f64> {
        let out = self.dir.join(format!("{id}.txt"));
        let line_bytes = self.args.line_size + 1;
        let lines = self.args.lines;
        let watch = || -> anyhow::Result<u64> {
            Ok(std::fs::metadata(&out).map_or(0, |m| m.len()) / line_bytes)
        };
        let deadline = self.deadline();
        match c {
            Contender::RawConsumer => {
                let (bs, file, t) = (self.bootstrap.to_owned(), out.clone(), topic.to_owned());
                let consumer = std::thread::spawn(move || raw_consume(&bs, &t, &file, lines));
                let seconds = time_until(deadline, c, lines, watch);
                consumer
                    .join()
                    .map_err(|_| anyhow::anyhow!("the raw consumer panicked"))??;
                seconds
            }
            _ => {
                let connector = config(&[
                    ("name", &format!("perf-sink-{id}")),
                    ("connector.class", "FileStreamSink"),
                    ("file", &out.display().to_string()),
                    ("topics", topic),
                ]);
                let worker = self.start_worker(id, connector)?;
                let seconds = time_until(deadline, c, lines, watch);
                self.runtime.block_on(worker.shutdown());
                seconds
            }
        }
    }

    /// A standalone worker in this process with one connector, StringConverter both ways.
    fn start_worker(&self, id: &str, connector: ConfigMap) -> anyhow::Result<StandaloneWorker> {
        let worker = config(&[
            ("bootstrap.servers", self.bootstrap),
            (
                "offset.storage.file.filename",
                &self.dir.join(format!("{id}.offsets")).display().to_string(),
            ),
            (
                "key.converter",
                "org.apache.kafka.connect.storage.StringConverter",
            ),
            (
                "value.converter",
                "org.apache.kafka.connect.storage.StringConverter",
            ),
            ("listeners", "http://127.0.0.1:0"),
        ]);
        Ok(self
            .runtime
            .block_on(StandaloneWorker::start(worker, vec![connector]))?)
    }
}

fn config(pairs: &[(&str, &str)]) -> ConfigMap {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Polls `count` every 10 ms until it reaches `total`; the seconds from the first poll that
/// saw output, scaled from what was written after that poll to all of it.
fn time_until(
    deadline: Instant,
    c: Contender,
    total: u64,
    mut count: impl FnMut() -> anyhow::Result<u64>,
) -> anyhow::Result<f64> {
    let mut first: Option<(Instant, u64)> = None;
    loop {
        let n = count()?;
        if n > 0 && first.is_none() {
            first = Some((Instant::now(), n));
        }
        if n >= total {
            let (t0, n0) = first.unwrap_or((Instant::now(), 0));
            let seconds = t0.elapsed().as_secs_f64().max(1e-6);
            return Ok(seconds * total as f64 / (total - n0).max(1) as f64);
        }
        if Instant::now() > deadline {
            bail!("{} wrote {n} of {total} lines in time", c.name());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The source baseline: read the file line by line, send each line as the value.
fn raw_produce(bootstrap: &str, file: &Path, topic: &str) -> anyhow::Result<()> {
    let producer: BaseProducer = fjord_core::ClientSettings::new(bootstrap)
        .producer_config()
        .create()?;
    let mut reader = BufReader::new(File::open(file)?);
    let mut line = String::new();
    let mut sent = 0u64;
    while reader.read_line(&mut line)? > 0 {
        let value = line.trim_end_matches(['\n', '\r']);
        let mut record: BaseRecord<'_, [u8], [u8]> =
            BaseRecord::to(topic).payload(value.as_bytes());
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((_, back)) => {
                    producer.poll(Duration::from_millis(5));
                    record = back;
                }
            }
        }
        sent += 1;
        if sent.is_multiple_of(1024) {
            producer.poll(Duration::ZERO);
        }
        line.clear();
    }
    producer.flush(Duration::from_secs(120))?;
    Ok(())
}

/// The sink baseline: read the topic from the start, write each value and a newline.
fn raw_consume(bootstrap: &str, topic: &str, file: &Path, lines: u64) -> anyhow::Result<()> {
    let consumer: BaseConsumer = fjord_core::ClientSettings::new(bootstrap)
        .consumer_config(None)
        .create()?;
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning)?;
    consumer.assign(&tpl)?;
    let mut out = BufWriter::new(File::create(file)?);
    let mut written = 0;
    let deadline = Instant::now() + Duration::from_secs(300);
    while written < lines {
        if Instant::now() > deadline {
            bail!("the raw consumer read {written} of {lines} records");
        }
        let Some(message) = consumer.poll(Duration::from_millis(100)) else {
            continue;
        };
        let message = message?;
        out.write_all(message.payload().unwrap_or_default())?;
        out.write_all(b"\n")?;
        written += 1;
    }
    out.flush()?;
    drop(out);
    drop(tpl);
    fjord_core::close_consumer(consumer, "raw consumer", Duration::from_secs(10))?;
    Ok(())
}

/// The distributed figures.
struct Distributed {
    /// Seconds from `POST /connectors` to its task RUNNING, one per round.
    add: Vec<f64>,
    /// Tasks that ran on the killed worker.
    moved: usize,
    /// Seconds from the SIGKILL to every task RUNNING on the survivor.
    failover: f64,
}

impl Distributed {
    fn add_to(&self, summary: &mut Summary, args: &PerfConnectArgs) {
        let max = self.add.iter().copied().fold(0.0, f64::max);
        summary
            .count(
                "running_connectors",
                "connectors running",
                "",
                args.connectors as u64,
            )
            .real(
                "add_connector_to_running_ms",
                "add connector -> task RUNNING median",
                "ms",
                median(&self.add) * 1e3,
                0,
            )
            .real(
                "add_connector_to_running_max_ms",
                "add connector -> task RUNNING max",
                "ms",
                max * 1e3,
                0,
            )
            .count(
                "failover_tasks",
                "tasks on the killed worker",
                "",
                self.moved as u64,
            )
            .count(
                "session_timeout_ms",
                "session.timeout.ms",
                "ms",
                args.session_timeout_ms,
            )
            .real(
                "failover_ms",
                "SIGKILL -> tasks RUNNING elsewhere",
                "ms",
                self.failover * 1e3,
                0,
            )
            .real(
                "failover_vs_session_timeout",
                "failover / session timeout",
                "x",
                self.failover * 1e3 / args.session_timeout_ms.max(1) as f64,
                2,
            );
    }
}

/// A `fjord connect distributed` child process; SIGKILLed when dropped.
struct WorkerProcess {
    child: Child,
    url: String,
    id: String,
}

impl WorkerProcess {
    /// Starts a worker, its log in `log`, and waits for its ready line.
    fn start(properties: &Path, log: &Path) -> anyhow::Result<WorkerProcess> {
        let exe = std::env::current_exe().context("this executable's path")?;
        let child = Command::new(exe)
            .args(["connect", "distributed"])
            .arg(properties)
            .env("FJORD_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(File::create(log)?)
            .spawn()
            .context("starting fjord connect distributed")?;
        let mut worker = WorkerProcess {
            child,
            url: String::new(),
            id: String::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            if let Some(url) = text.split("REST API on ").nth(1) {
                worker.url = url.split_whitespace().next().unwrap_or_default().to_owned();
                worker.id = worker.url.trim_start_matches("http://").to_owned();
                return Ok(worker);
            }
            if let Some(status) = worker.child.try_wait()? {
                bail!("a Connect worker exited ({status}); its log:\n{text}");
            }
            if Instant::now() > deadline {
                bail!("a Connect worker did not get ready in 60 s; its log:\n{text}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn rest(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    body: Option<Value>,
) -> anyhow::Result<(u16, Value)> {
    let mut request = http.request(method, url);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await?;
    let code = response.status().as_u16();
    let text = response.text().await?;
    Ok((
        code,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    ))
}

/// `name -> worker_id of task 0` of every connector whose tasks all RUNNING, from
/// `GET /connectors?expand=status`.
async fn running(http: &reqwest::Client, url: &str) -> anyhow::Result<Vec<(String, String)>> {
    let (code, body) = rest(
        http,
        reqwest::Method::GET,
        &format!("{url}/connectors?expand=status"),
        None,
    )
    .await?;
    if code != 200 {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for (name, entry) in body.as_object().into_iter().flatten() {
        let tasks = entry["status"]["tasks"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if !tasks.is_empty() && tasks.iter().all(|t| t["state"] == "RUNNING") {
            let owner = tasks[0]["worker_id"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            out.push((name.clone(), owner));
        }
    }
    Ok(out)
}

/// Polls every 5 ms until `check` holds; the seconds it took.
async fn wait_for(
    what: &str,
    timeout: Duration,
    mut check: impl AsyncFnMut() -> anyhow::Result<bool>,
) -> anyhow::Result<f64> {
    let started = Instant::now();
    loop {
        if check().await? {
            return Ok(started.elapsed().as_secs_f64());
        }
        if started.elapsed() > timeout {
            bail!("{what}: not within {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn distributed(
    args: &PerfConnectArgs,
    quiet: bool,
    bootstrap: &str,
    run_id: &str,
    dir: &Path,
) -> anyhow::Result<Distributed> {
    let group = format!("perf-connect-{run_id}");
    let properties = dir.join("connect-distributed.properties");
    let session = args.session_timeout_ms;
    std::fs::write(
        &properties,
        format!(
            "bootstrap.servers={bootstrap}\ngroup.id={group}\n\
             config.storage.topic={group}-configs\noffset.storage.topic={group}-offsets\n\
             status.storage.topic={group}-status\nconfig.storage.replication.factor=1\n\
             offset.storage.replication.factor=1\nstatus.storage.replication.factor=1\n\
             key.converter=org.apache.kafka.connect.storage.StringConverter\n\
             value.converter=org.apache.kafka.connect.storage.StringConverter\n\
             session.timeout.ms={session}\nheartbeat.interval.ms={}\n\
             scheduled.rebalance.max.delay.ms=0\noffset.flush.interval.ms=1000\n\
             listeners=http://127.0.0.1:0\n",
            (session / 3).max(100)
        ),
    )?;
    let mut a = WorkerProcess::start(&properties, &dir.join("worker-a.log"))?;
    let b = WorkerProcess::start(&properties, &dir.join("worker-b.log"))?;
    let http = reqwest::Client::new();
    let topic = format!("{group}-lines");
    let source = |name: &str| -> anyhow::Result<Value> {
        let file = dir.join(format!("{name}.txt"));
        std::fs::write(&file, "one line\n")?;
        Ok(json!({"name": name, "config": {
            "connector.class": "FileStreamSource",
            "file": file.display().to_string(),
            "topic": topic,
        }}))
    };
    // 409 while the workers (re)join and elect a leader: asked again until the deadline.
    let create = async |name: &str| -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(args.timeout_s);
        loop {
            let (code, body) = rest(
                &http,
                reqwest::Method::POST,
                &format!("{}/connectors", a.url),
                Some(source(name)?),
            )
            .await?;
            match code {
                201 => return Ok(()),
                409 if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                _ => bail!("creating {name}: {code} {body}"),
            }
        }
    };
    for i in 0..args.connectors {
        create(&format!("base-{i}")).await?;
    }
    let base = args.connectors;
    let timeout = Duration::from_secs(args.timeout_s);
    wait_for("the base connectors RUNNING", timeout, async || {
        Ok(running(&http, &a.url).await?.len() >= base)
    })
    .await?;
    if !quiet {
        eprintln!("{base} connectors RUNNING on two workers");
    }
    let mut add = Vec::new();
    for round in 0..args.rounds {
        let name = format!("added-{round}");
        let started = Instant::now();
        create(&name).await?;
        let status_url = format!("{}/connectors/{name}/status", a.url);
        wait_for(&format!("{name} RUNNING"), timeout, async || {
            let (code, body) = rest(&http, reqwest::Method::GET, &status_url, None).await?;
            Ok(code == 200
                && body["tasks"]
                    .as_array()
                    .is_some_and(|t| !t.is_empty() && t.iter().all(|t| t["state"] == "RUNNING")))
        })
        .await?;
        let seconds = started.elapsed().as_secs_f64();
        if !quiet {
            eprintln!(
                "round {round}: add connector -> RUNNING {:.0} ms",
                seconds * 1e3
            );
        }
        add.push(seconds);
    }
    let total = base + usize::try_from(args.rounds)?;
    wait_for("every connector RUNNING", timeout, async || {
        Ok(running(&http, &b.url).await?.len() >= total)
    })
    .await?;
    // Kill a settled group: a member killed during a rebalance is waited for up to the
    // rebalance timeout (60 s by default), not the session timeout. Settled here means the
    // task placement did not change for half a session timeout.
    let settle = Duration::from_millis(session / 2).max(Duration::from_secs(2));
    let mut placement = running(&http, &b.url).await?;
    let mut since = Instant::now();
    while since.elapsed() < settle {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = running(&http, &b.url).await?;
        if now != placement {
            placement = now;
            since = Instant::now();
        }
    }
    let on_a = running(&http, &b.url)
        .await?
        .iter()
        .filter(|(_, owner)| *owner == a.id)
        .count();
    let started = Instant::now();
    let _ = a.child.kill();
    let _ = a.child.wait();
    let b_id = b.id.clone();
    wait_for(
        "the killed worker's tasks RUNNING on the survivor",
        timeout,
        async || {
            let now = running(&http, &b.url).await?;
            Ok(now.len() >= total && now.iter().all(|(_, owner)| *owner == b_id))
        },
    )
    .await?;
    let failover = started.elapsed().as_secs_f64();
    if !quiet {
        eprintln!(
            "SIGKILL -> {on_a} tasks RUNNING on the survivor: {:.0} ms (session.timeout.ms={session})",
            failover * 1e3
        );
    }
    drop(b);
    Ok(Distributed {
        add,
        moved: on_a,
        failover,
    })
}
