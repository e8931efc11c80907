//! `fjord perf rebalance`: how long a new consumer group takes to split a topic's partitions
//! among its members, and to settle again after one member leaves.
//!
//! The benchmark creates a topic of `--partitions` partitions, then runs `--rounds` rounds,
//! each with a group of its own. A round creates `--members` rdkafka `BaseConsumer`s (client
//! creation is not timed), starts one thread per member, and releases them together: each
//! subscribes, then polls in a loop (serving the rebalance callbacks librdkafka applies with
//! its default handler) and after every poll publishes `assignment()` to a shared slot. The
//! calling thread watches the slots and stops the clock when the group is *settled*: every
//! partition is assigned to exactly one member and `min(members, partitions)` members hold
//! partitions (so a state where an early subset of members shares everything does not count).
//! It then stops one member, whose thread closes its consumer (leaving the group), and times
//! how long the remaining members take to settle again, from the moment the member was told to
//! stop (and, beside it, how long the leaver's `close()` took). Finally every member is closed and the next round starts with a fresh group.
//!
//! Both times are dominated by how quickly members learn that the group changed: with the
//! classic protocol, librdkafka's `heartbeat.interval.ms` (3 s by default); with the KIP-848
//! `consumer` protocol, the broker's `group.consumer.heartbeat.interval.ms` (5 s by default).
//! `-X` overrides the client side, the broker's flags the other.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Barrier, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use fjord_core::{NewTopicSpec, TopicAdmin};
use rdkafka::consumer::{BaseConsumer, Consumer};
use tokio_util::sync::CancellationToken;

use super::report::Summary;
use crate::cli::args::ConnectionArgs;

/// How long one member's poll waits; it bounds how late a member publishes its assignment.
const POLL_TIMEOUT: Duration = Duration::from_millis(10);
/// How often the calling thread checks whether the group has settled.
const CHECK_EVERY: Duration = Duration::from_millis(5);

/// Which group protocol the members speak.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupProtocol {
    /// JoinGroup/SyncGroup with client-side assignment (librdkafka's default: range,roundrobin)
    Classic,
    /// KIP-848 ConsumerGroupHeartbeat with broker-side assignment
    Consumer,
}

impl GroupProtocol {
    /// The value of librdkafka's `group.protocol`.
    pub fn as_config(self) -> &'static str {
        match self {
            GroupProtocol::Classic => "classic",
            GroupProtocol::Consumer => "consumer",
        }
    }
}

/// `fjord perf rebalance`.
#[derive(clap::Args, Debug)]
pub struct PerfRebalanceArgs {
    /// Members of each group (one consumer and thread each)
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub members: u32,
    /// Partitions of the topic the benchmark creates
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(i32).range(1..))]
    pub partitions: i32,
    /// Group protocol
    #[arg(long, value_enum, default_value = "classic")]
    pub protocol: GroupProtocol,
    /// How many rounds (each a new group) to run
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    pub rounds: u32,
    /// Give up on a round when the group has not settled after this long
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    pub settle_timeout_s: u64,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// Minimum, median and maximum of a set of durations, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spread {
    pub min_ms: f64,
    pub median_ms: f64,
    pub max_ms: f64,
}

impl Spread {
    /// The spread of `samples`; `None` when there are none. The median of an even number of
    /// samples is the mean of the middle two.
    pub fn of(samples: &[Duration]) -> Option<Spread> {
        let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
        ms.sort_by(f64::total_cmp);
        let (first, last) = (*ms.first()?, *ms.last()?);
        let mid = ms.len() / 2;
        let median_ms = if ms.len() % 2 == 1 {
            ms[mid]
        } else {
            (ms[mid - 1] + ms[mid]) / 2.0
        };
        Some(Spread {
            min_ms: first,
            median_ms,
            max_ms: last,
        })
    }

    /// Adds `{prefix}_min_ms`, `_median_ms` and `_max_ms` to `summary`.
    pub fn report(&self, summary: &mut Summary, prefix: &str, what: &str) {
        for (name, value) in [
            ("min", self.min_ms),
            ("median", self.median_ms),
            ("max", self.max_ms),
        ] {
            summary.real(
                &format!("{prefix}_{name}_ms"),
                &format!("{what} {name}"),
                "ms",
                value,
                1,
            );
        }
    }
}

/// How the partitions are spread over the members, from their published assignments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Coverage {
    /// Partitions held by exactly one member.
    pub once: usize,
    /// Partitions held by more than one member.
    pub shared: usize,
    /// Members holding at least one partition.
    pub holders: usize,
    /// Most and fewest partitions held by a holder.
    pub most: usize,
    pub fewest: usize,
}

impl Coverage {
    /// Counts the assignments of the members (each a list of partition ids).
    pub fn of<'a>(assignments: impl IntoIterator<Item = &'a [i32]>) -> Coverage {
        let mut holders_of: BTreeMap<i32, usize> = BTreeMap::new();
        let (mut holders, mut most, mut fewest) = (0, 0, usize::MAX);
        for partitions in assignments {
            if partitions.is_empty() {
                continue;
            }
            holders += 1;
            most = most.max(partitions.len());
            fewest = fewest.min(partitions.len());
            for &p in partitions {
                *holders_of.entry(p).or_default() += 1;
            }
        }
        Coverage {
            once: holders_of.values().filter(|&&n| n == 1).count(),
            shared: holders_of.values().filter(|&&n| n > 1).count(),
            holders,
            most,
            fewest: if holders == 0 { 0 } else { fewest },
        }
    }

    /// Whether `members` members of a group on `partitions` partitions are settled: every
    /// partition held exactly once, by as many members as can hold one.
    pub fn settled(&self, partitions: usize, members: usize) -> bool {
        self.once == partitions && self.shared == 0 && self.holders == members.min(partitions)
    }
}

/// One member's thread and what it shares with the calling thread.
struct MemberSlot {
    /// The partitions this member held after its last poll; `None` once it has closed.
    assignment: Mutex<Option<Vec<i32>>>,
    /// Tells this member to close its consumer and end.
    stop: AtomicBool,
    /// Failures of `subscribe` or `poll`, kept for the error message.
    error: Mutex<Option<String>>,
    /// When this member's consumer finished closing.
    closed_at: Mutex<Option<Instant>>,
}

/// What one round measured.
struct RoundTimes {
    join: Duration,
    leave: Duration,
    /// From telling the leaving member to stop until its consumer had closed.
    close: Duration,
    /// Most minus fewest partitions per member once the group first settled.
    imbalance: usize,
}

/// Runs the rebalance benchmark and returns its summary.
///
/// # Errors
/// The topic cannot be created, a client cannot be created, or a group does not settle
/// within `--settle-timeout-s`.
pub fn run(
    args: &PerfRebalanceArgs,
    quiet: bool,
    shutdown: &CancellationToken,
) -> anyhow::Result<Summary> {
    let topic = format!("perf-rebalance-{}", unique_suffix());
    create_topic(&args.connection, &topic, args.partitions)?;
    let (mut joins, mut leaves, mut closes) = (Vec::new(), Vec::new(), Vec::new());
    let mut imbalance = 0;
    for round in 0..args.rounds {
        if shutdown.is_cancelled() {
            break;
        }
        let group = format!("{topic}-group-{round}");
        let times = run_round(args, &topic, &group, shutdown)
            .with_context(|| format!("round {} (group '{group}')", round + 1))?;
        if !quiet {
            eprintln!(
            "rebalance round {}: settled after {:.1} ms; after a leave {:.1} ms (close {:.1} ms)",
            round + 1,
            times.join.as_secs_f64() * 1000.0,
            times.leave.as_secs_f64() * 1000.0,
            times.close.as_secs_f64() * 1000.0
        );
        }
        closes.push(times.close);
        joins.push(times.join);
        leaves.push(times.leave);
        imbalance = imbalance.max(times.imbalance);
    }

    let mut summary = Summary::new("rebalance");
    summary
        .text("topic", "topic", topic.as_str())
        .text("protocol", "group protocol", args.protocol.as_config())
        .count("members", "members", "", u64::from(args.members))
        .count("partitions", "partitions", "", args.partitions as u64)
        .count("rounds", "rounds", "", joins.len() as u64)
        .count(
            "max_imbalance",
            "most - fewest partitions/member",
            "",
            imbalance as u64,
        );
    if let Some(s) = Spread::of(&joins) {
        s.report(&mut summary, "join", "all joined, settled");
    }
    if let Some(s) = Spread::of(&leaves) {
        s.report(&mut summary, "leave", "one left, settled");
    }
    if let Some(s) = Spread::of(&closes) {
        s.report(&mut summary, "close", "leaver's close()");
    }
    Ok(summary)
}

fn run_round(
    args: &PerfRebalanceArgs,
    topic: &str,
    group: &str,
    shutdown: &CancellationToken,
) -> anyhow::Result<RoundTimes> {
    let members = args.members as usize;
    let partitions = args.partitions as usize;
    let timeout = Duration::from_secs(args.settle_timeout_s);
    // librdkafka's session and heartbeat timing stay at their defaults, so the figures are
    // what an application sees; nothing is consumed, so nothing needs committing.
    let role = [
        ("group.protocol", args.protocol.as_config().to_owned()),
        ("enable.auto.commit", "false".to_owned()),
    ];
    let config = args
        .connection
        .settings(&role)?
        .consumer_config(Some(group));
    let consumers = (0..members)
        .map(|_| config.create::<BaseConsumer>())
        .collect::<Result<Vec<_>, _>>()
        .context("cannot create the consumers")?;
    let slots: Vec<MemberSlot> = (0..members)
        .map(|_| MemberSlot {
            assignment: Mutex::new(Some(Vec::new())),
            stop: AtomicBool::new(false),
            error: Mutex::new(None),
            closed_at: Mutex::new(None),
        })
        .collect();
    let start = Barrier::new(members + 1);
    let subscribed_at = AtomicU64::new(u64::MAX);
    let origin = Instant::now();

    std::thread::scope(|scope| {
        for (consumer, slot) in consumers.into_iter().zip(&slots) {
            let (start, subscribed_at) = (&start, &subscribed_at);
            scope.spawn(move || {
                start.wait();
                subscribed_at.fetch_min(origin.elapsed().as_nanos() as u64, Ordering::Relaxed);
                member_loop(&consumer, topic, slot);
                drop(consumer); // close(): leaves the group
                *lock(&slot.closed_at) = Some(Instant::now());
                *lock(&slot.assignment) = None;
            });
        }
        start.wait();
        let result = measure(&slots, partitions, members, timeout, shutdown, || {
            origin + Duration::from_nanos(subscribed_at.load(Ordering::Relaxed))
        });
        for slot in &slots {
            slot.stop.store(true, Ordering::Relaxed);
        }
        result
    })
}

/// Times the join and the leave of one round, given the members' slots.
fn measure(
    slots: &[MemberSlot],
    partitions: usize,
    members: usize,
    timeout: Duration,
    shutdown: &CancellationToken,
    first_subscribe: impl Fn() -> Instant,
) -> anyhow::Result<RoundTimes> {
    let joined = wait_settled(slots, partitions, members, timeout, shutdown)?;
    let join = joined.0.saturating_duration_since(first_subscribe());
    let imbalance = joined.1.most - joined.1.fewest;

    let Some((leaver, stayers)) = slots.split_last() else {
        anyhow::bail!("a round needs at least one member");
    };
    let left_at = Instant::now();
    leaver.stop.store(true, Ordering::Relaxed);
    let leave = if stayers.is_empty() {
        Duration::ZERO
    } else {
        let settled = wait_settled(stayers, partitions, members - 1, timeout, shutdown)?;
        settled.0.saturating_duration_since(left_at)
    };
    let deadline = Instant::now() + timeout;
    let close = loop {
        if let Some(at) = *lock(&leaver.closed_at) {
            break at.saturating_duration_since(left_at);
        }
        if Instant::now() >= deadline || shutdown.is_cancelled() {
            anyhow::bail!("the leaving member did not close within {timeout:?}");
        }
        std::thread::sleep(CHECK_EVERY);
    };
    Ok(RoundTimes {
        join,
        leave,
        close,
        imbalance,
    })
}

/// Polls the slots until the members settle; returns when, and the coverage then.
fn wait_settled(
    slots: &[MemberSlot],
    partitions: usize,
    members: usize,
    timeout: Duration,
    shutdown: &CancellationToken,
) -> anyhow::Result<(Instant, Coverage)> {
    let deadline = Instant::now() + timeout;
    loop {
        let now = Instant::now();
        let assignments: Vec<Vec<i32>> = slots
            .iter()
            .map(|s| lock(&s.assignment).clone().unwrap_or_default())
            .collect();
        let coverage = Coverage::of(assignments.iter().map(Vec::as_slice));
        if coverage.settled(partitions, members) {
            return Ok((now, coverage));
        }
        if let Some(e) = slots.iter().find_map(|s| lock(&s.error).clone()) {
            anyhow::bail!("a member failed: {e}");
        }
        if shutdown.is_cancelled() {
            anyhow::bail!("stopped before the group settled");
        }
        if now >= deadline {
            anyhow::bail!(
                "the group did not settle within {timeout:?}: {} of {partitions} partitions \
                 held once, {} held more than once, {} of {members} members hold partitions",
                coverage.once,
                coverage.shared,
                coverage.holders
            );
        }
        std::thread::sleep(CHECK_EVERY);
    }
}

/// Subscribes and polls until told to stop, publishing the assignment after every poll.
fn member_loop(consumer: &BaseConsumer, topic: &str, slot: &MemberSlot) {
    if let Err(e) = consumer.subscribe(&[topic]) {
        *lock(&slot.error) = Some(format!("cannot subscribe: {e}"));
        return;
    }
    let mut last: Vec<i32> = Vec::new();
    while !slot.stop.load(Ordering::Relaxed) {
        if let Some(Err(e)) = consumer.poll(POLL_TIMEOUT) {
            // Transient errors (e.g. a coordinator not yet known) are normal while joining;
            // the settle timeout catches a member that never recovers.
            tracing::debug!("member poll: {e}");
        }
        match consumer.assignment() {
            Ok(tpl) => {
                let mut now: Vec<i32> = tpl.elements().iter().map(|e| e.partition()).collect();
                now.sort_unstable();
                if now != last {
                    lock(&slot.assignment).clone_from(&Some(now.clone()));
                    last = now;
                }
            }
            Err(e) => *lock(&slot.error) = Some(format!("cannot read the assignment: {e}")),
        }
    }
}

/// Locks a mutex whose data stays valid even if a holder panicked (plain values, replaced
/// whole).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// Creates `topic` with `partitions` partitions through the admin API.
///
/// # Errors
/// The admin client cannot be created or the broker refuses the topic.
pub(super) fn create_topic(
    connection: &ConnectionArgs,
    topic: &str,
    partitions: i32,
) -> anyhow::Result<()> {
    let admin =
        TopicAdmin::new(&connection.settings(&[])?)?.with_timeout(connection.request_timeout());
    let mut spec = NewTopicSpec::new(topic);
    spec.partitions = Some(partitions);
    // `fjord perf` modes run on a blocking thread of the CLI's runtime (see `perf::run`).
    tokio::runtime::Handle::current()
        .block_on(admin.create(&spec))
        .with_context(|| format!("cannot create topic '{topic}'"))
}

/// A suffix that makes a topic or group name unique to this run: process id and clock.
pub(super) fn unique_suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{}-{:x}", std::process::id(), nanos & 0xffff_ffff_ffff)
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)] // Tests may panic on failure.
mod tests {
    use super::*;

    #[test]
    fn spread_of_odd_and_even_counts() {
        let ms = |v: &[u64]| {
            v.iter()
                .map(|&m| Duration::from_millis(m))
                .collect::<Vec<_>>()
        };
        assert_eq!(Spread::of(&[]), None);
        let s = Spread::of(&ms(&[300, 100, 200])).unwrap();
        assert_eq!((s.min_ms, s.median_ms, s.max_ms), (100.0, 200.0, 300.0));
        let s = Spread::of(&ms(&[400, 100, 200, 300])).unwrap();
        assert_eq!((s.min_ms, s.median_ms, s.max_ms), (100.0, 250.0, 400.0));
        let mut summary = Summary::new("rebalance");
        s.report(&mut summary, "join", "joined");
        assert_eq!(summary.to_json()["join_median_ms"].as_f64(), Some(250.0));
    }

    #[test]
    fn settled_means_every_partition_once_by_every_member_that_can() {
        let a: Vec<Vec<i32>> = vec![vec![0, 1], vec![2, 3], vec![]];
        let c = Coverage::of(a.iter().map(Vec::as_slice));
        assert_eq!(
            (c.once, c.shared, c.holders, c.most, c.fewest),
            (4, 0, 2, 2, 2)
        );
        // Two of three members share everything: covered, but not settled.
        assert!(!c.settled(4, 3));
        assert!(c.settled(4, 2));
        // More members than partitions: two can hold one each.
        let a: Vec<Vec<i32>> = vec![vec![0], vec![1], vec![]];
        assert!(Coverage::of(a.iter().map(Vec::as_slice)).settled(2, 3));
        // A partition held twice (a revocation not yet applied) is not settled.
        let a: Vec<Vec<i32>> = vec![vec![0, 1], vec![1, 2, 3]];
        let c = Coverage::of(a.iter().map(Vec::as_slice));
        assert_eq!((c.once, c.shared, c.most, c.fewest), (3, 1, 3, 2));
        assert!(!c.settled(4, 2));
        assert_eq!(Coverage::of(std::iter::empty()).fewest, 0);
    }
}
