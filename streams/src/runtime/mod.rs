//! The runtime: [`KafkaStreams`] runs a topology against a cluster.
//!
//! `start()` reads the cluster's topics, plans partition counts, creates the
//! internal topics and starts `num.stream.threads` stream threads. Each
//! thread is one member of the consumer group named by `application.id`
//! (its own librdkafka consumer and producer); the group assignment decides
//! which partitions, and so which tasks, it runs. On a rebalance, revoked
//! tasks commit and close; new tasks restore their stores from their
//! changelogs before they process anything.
//!
//! At least once: a commit first writes store changes to changelogs, then
//! waits until the producer has every output and changelog record
//! acknowledged, flushes the persistent stores, commits the input offsets,
//! and writes each task's checkpoint of the changelog offsets its stores
//! reflect. A task created later on the same `state.dir` restores only the
//! changelog's tail past its checkpoint; without one (or for in-memory
//! stores) it restores the whole changelog into empty stores.
//!
//! Persistent stores live under `<state.dir>/<application.id>/`, which an
//! instance locks while it runs (see `state::directory`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::config::{DslStore, StreamsConfig};
use crate::error::{Result, StreamsError};
use crate::processor::TaskMetrics;
use crate::state::directory::StateDirectory;
use crate::task::TaskId;
use crate::topology::Topology;

mod global;
mod setup;
mod thread;

/// The state of an application, as Kafka Streams names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Built, not started.
    Created,
    /// Joining the group, or moving tasks after a rebalance.
    Rebalancing,
    /// Every thread is processing its tasks.
    Running,
    /// Closing.
    PendingShutdown,
    /// Closed.
    NotRunning,
    /// Stopped by an error; see [`KafkaStreams::error`].
    Error,
}

/// Where one stream thread is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ThreadState {
    Starting,
    Rebalancing,
    Running,
    Dead,
}

/// Counters over the whole application.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamsMetrics {
    /// Records processed, dropped and failing deserialization, over all
    /// tasks this instance ran.
    pub tasks: TaskMetrics,
    /// Changelog records applied to stores while restoring.
    pub restored_records: u64,
    /// Time spent restoring, in milliseconds.
    pub restore_ms: u64,
    /// Commits completed.
    pub commits: u64,
}

type Listener = Box<dyn Fn(State, State) + Send + Sync>;

#[derive(Default)]
pub(crate) struct Status {
    state: Option<State>,
    threads: Vec<ThreadState>,
    error: Option<StreamsError>,
    tasks: Vec<Vec<TaskId>>,
    metrics: Vec<StreamsMetrics>,
}

/// What the application and its threads share.
pub(crate) struct Shared {
    status: Mutex<Status>,
    changed: Condvar,
    listener: Mutex<Option<Listener>>,
    pub shutdown: AtomicBool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Status> {
        self.status.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Moves the application to `next`, telling the listener.
    fn transition(&self, status: &mut Status, next: State) {
        let previous = status.state.unwrap_or(State::Created);
        if previous == next {
            return;
        }
        status.state = Some(next);
        tracing::info!(from = ?previous, to = ?next, "streams state");
        if let Some(listener) = self
            .listener
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            listener(previous, next);
        }
        self.changed.notify_all();
    }

    /// Recomputes the application state from its threads'.
    fn derive(&self, status: &mut Status) {
        let current = status.state.unwrap_or(State::Created);
        if matches!(
            current,
            State::Error | State::PendingShutdown | State::NotRunning
        ) {
            return;
        }
        let next = if status.threads.iter().all(|t| *t == ThreadState::Running) {
            State::Running
        } else {
            State::Rebalancing
        };
        self.transition(status, next);
    }

    pub fn set_thread(&self, thread: usize, state: ThreadState) {
        let mut status = self.lock();
        if let Some(t) = status.threads.get_mut(thread) {
            *t = state;
        }
        self.derive(&mut status);
        self.changed.notify_all();
    }

    /// A thread failed: the application goes to ERROR and every thread stops.
    pub fn fail(&self, thread: usize, error: StreamsError) {
        tracing::error!(thread, error = %error, "stream thread failed; the application stops");
        let mut status = self.lock();
        if status.error.is_none() {
            status.error = Some(error);
        }
        if let Some(t) = status.threads.get_mut(thread) {
            *t = ThreadState::Dead;
        }
        self.shutdown.store(true, Ordering::SeqCst);
        self.transition(&mut status, State::Error);
    }

    pub fn report(&self, thread: usize, tasks: Vec<TaskId>, metrics: StreamsMetrics) {
        let mut status = self.lock();
        if let Some(t) = status.tasks.get_mut(thread) {
            *t = tasks;
        }
        if let Some(m) = status.metrics.get_mut(thread) {
            *m = metrics;
        }
        self.changed.notify_all();
    }
}

/// A running Streams application.
pub struct KafkaStreams {
    topology: Arc<Topology>,
    config: StreamsConfig,
    shared: Arc<Shared>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    /// The locked state directory while running (threads hold it too).
    state: Mutex<Option<Arc<StateDirectory>>>,
}

impl KafkaStreams {
    /// An application of `topology` with `config`, not started yet.
    ///
    /// # Errors
    /// A configuration that cannot run (no `application.id`).
    pub fn new(topology: Topology, config: StreamsConfig) -> Result<Self> {
        if config.application_id.is_empty() {
            return Err(StreamsError::Config {
                key: "application.id".into(),
                value: String::new(),
                reason: "required".into(),
            });
        }
        let threads = config.num_stream_threads;
        let status = Status {
            state: Some(State::Created),
            threads: vec![ThreadState::Starting; threads],
            error: None,
            tasks: vec![Vec::new(); threads],
            metrics: vec![StreamsMetrics::default(); threads],
        };
        Ok(KafkaStreams {
            topology: Arc::new(topology),
            config,
            shared: Arc::new(Shared {
                status: Mutex::new(status),
                changed: Condvar::new(),
                listener: Mutex::new(None),
                shutdown: AtomicBool::new(false),
            }),
            threads: Mutex::new(Vec::new()),
            state: Mutex::new(None),
        })
    }

    /// Calls `listener(old, new)` on every state change.
    pub fn set_state_listener(&self, listener: impl Fn(State, State) + Send + Sync + 'static) {
        *self
            .shared
            .listener
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(Box::new(listener));
    }

    /// Starts processing: checks the source topics, creates the internal
    /// topics, and starts the stream threads. Returns once they are started;
    /// the state goes to RUNNING when the group has assigned every thread
    /// its tasks and their stores are restored.
    ///
    /// # Errors
    /// Missing source topics, a join of topics that are not co-partitioned,
    /// an unreachable cluster, or a second start. The state is ERROR then.
    pub fn start(&self) -> Result<()> {
        {
            let mut status = self.shared.lock();
            if status.state != Some(State::Created) {
                return Err(StreamsError::IllegalState(format!(
                    "start() called in state {:?}; an application starts once",
                    status.state.unwrap_or(State::Created)
                )));
            }
            self.shared.transition(&mut status, State::Rebalancing);
        }
        let prepared = self.lock_state_dir().and_then(|state| {
            setup::prepare(&self.topology, &self.config).map(|plan| (plan, state))
        });
        let (plan, state) = match prepared {
            Ok(p) => p,
            Err(e) => {
                let mut status = self.shared.lock();
                status.error = Some(e.clone());
                self.shared.transition(&mut status, State::Error);
                return Err(e);
            }
        };
        *self.state.lock().unwrap_or_else(|p| p.into_inner()) = state.clone();
        let plan = Arc::new(plan);
        let mut handles = self.threads.lock().unwrap_or_else(|p| p.into_inner());
        // Global tables are complete before any task looks into them.
        match global::start(
            &self.config,
            self.topology.globals.clone(),
            self.shared.clone(),
        ) {
            Ok(Some(handle)) => handles.push(handle),
            Ok(None) => {}
            Err(e) => {
                let mut status = self.shared.lock();
                status.error = Some(e.clone());
                self.shared.transition(&mut status, State::Error);
                return Err(e);
            }
        }
        for index in 0..self.config.num_stream_threads {
            let t = thread::StreamThread::new(
                index,
                self.topology.clone(),
                self.config.clone(),
                plan.clone(),
                self.shared.clone(),
                state.clone(),
            );
            let t = match t {
                Ok(t) => t,
                Err(e) => {
                    self.shared.fail(index, e.clone());
                    return Err(e);
                }
            };
            let handle = std::thread::Builder::new()
                .name(format!(
                    "{}-StreamThread-{}",
                    self.config.application_id,
                    index + 1
                ))
                .spawn({
                    let shared = self.shared.clone();
                    move || {
                        // A panic in user code must not end the thread silently: the
                        // application goes to ERROR with the panic as its cause.
                        let outcome =
                            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| t.run()));
                        if let Err(panic) = outcome {
                            let message = panic
                                .downcast_ref::<&str>()
                                .map(|s| (*s).to_string())
                                .or_else(|| panic.downcast_ref::<String>().cloned())
                                .unwrap_or_else(|| "unknown panic".into());
                            shared.fail(
                                index,
                                StreamsError::IllegalState(format!(
                                    "stream thread {} panicked: {message}",
                                    index + 1
                                )),
                            );
                        }
                    }
                })
                .map_err(|e| {
                    StreamsError::IllegalState(format!("cannot start a stream thread: {e}"))
                })?;
            handles.push(handle);
        }
        Ok(())
    }

    /// Locks `<state.dir>/<application.id>/` when any store is persistent.
    fn lock_state_dir(&self) -> Result<Option<Arc<StateDirectory>>> {
        let persistent = self.config.default_dsl_store == DslStore::Persistent
            && self.topology.stores.iter().any(|s| !s.in_memory);
        if !persistent {
            return Ok(None);
        }
        StateDirectory::lock(&self.config.state_dir, &self.config.application_id)
            .map(|d| Some(Arc::new(d)))
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.shared.lock().state.unwrap_or(State::Created)
    }

    /// Why the application is in ERROR, if it is.
    pub fn error(&self) -> Option<StreamsError> {
        self.shared.lock().error.clone()
    }

    /// Waits until the state is `state` (true) or `timeout` passes (false).
    /// Returns false at once when the application reaches ERROR instead.
    pub fn wait_for_state(&self, state: State, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut status = self.shared.lock();
        loop {
            let now = status.state.unwrap_or(State::Created);
            if now == state {
                return true;
            }
            if now == State::Error {
                return false;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            status = self
                .shared
                .changed
                .wait_timeout(status, left)
                .map(|(g, _)| g)
                .unwrap_or_else(|p| p.into_inner().0);
        }
    }

    /// The tasks this instance runs now.
    pub fn tasks(&self) -> Vec<TaskId> {
        let mut all: Vec<TaskId> = self.shared.lock().tasks.iter().flatten().copied().collect();
        all.sort();
        all
    }

    /// The tasks of each stream thread, by thread.
    pub fn tasks_per_thread(&self) -> Vec<Vec<TaskId>> {
        self.shared.lock().tasks.clone()
    }

    /// Counters of this instance.
    pub fn metrics(&self) -> StreamsMetrics {
        let status = self.shared.lock();
        let mut sum = StreamsMetrics::default();
        for m in &status.metrics {
            sum.tasks.processed += m.tasks.processed;
            sum.tasks.dropped_records += m.tasks.dropped_records;
            sum.tasks.deserialization_errors += m.tasks.deserialization_errors;
            sum.restored_records += m.restored_records;
            sum.restore_ms += m.restore_ms;
            sum.commits += m.commits;
        }
        sum
    }

    /// Stops processing: every thread commits what it processed, closes its
    /// tasks and leaves the group; waits at most `timeout` for them (a
    /// thread still closing then is left to finish in the background).
    /// Returns whether every thread stopped in time. The state ends
    /// NOT_RUNNING, or stays ERROR after a failure.
    pub fn close(&self, timeout: Duration) -> bool {
        {
            let mut status = self.shared.lock();
            match status.state.unwrap_or(State::Created) {
                State::NotRunning => return true,
                State::Error => {}
                _ => self.shared.transition(&mut status, State::PendingShutdown),
            }
        }
        self.shared.shutdown.store(true, Ordering::SeqCst);
        let deadline = Instant::now() + timeout;
        let handles = std::mem::take(&mut *self.threads.lock().unwrap_or_else(|p| p.into_inner()));
        let mut all_stopped = true;
        for handle in handles {
            while !handle.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            if handle.is_finished() {
                let _ = handle.join();
            } else {
                all_stopped = false;
            }
        }
        // Threads that stopped dropped their share of the lock; one still
        // closing keeps it until it is done.
        self.state.lock().unwrap_or_else(|p| p.into_inner()).take();
        let mut status = self.shared.lock();
        if status.state != Some(State::Error) {
            self.shared.transition(&mut status, State::NotRunning);
        }
        all_stopped
    }
}

impl Drop for KafkaStreams {
    fn drop(&mut self) {
        let state = self.state();
        if !matches!(state, State::NotRunning | State::Created) {
            self.close(self.config.close_timeout);
        }
    }
}
