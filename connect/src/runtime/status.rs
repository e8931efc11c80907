//! The statuses of connectors and tasks as this worker knows them, and the topics each
//! connector used. A standalone worker's herder answers from it directly; a distributed
//! worker also publishes every change to the status topic ([`StatusPublisher`]) and merges
//! what the other workers publish.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, PoisonError};

use super::task::StatusReporter;
use crate::herder::{ConnectorTaskId, State};

/// One connector's or task's status.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    /// The state.
    pub state: State,
    /// The worker that reported it (`host:port`).
    pub worker_id: String,
    /// The error trace of a failure.
    pub trace: Option<String>,
    /// The generation (distributed) it was reported in.
    pub generation: i32,
}

/// Receives every status change of this worker (the distributed status topic writer).
pub trait StatusPublisher: Send + Sync {
    /// A connector's status changed.
    fn connector(&self, name: &str, status: &Status);
    /// A task's status changed.
    fn task(&self, id: &ConnectorTaskId, status: &Status);
    /// A connector used a topic.
    fn topic(&self, connector: &str, topic: &str);
}

#[derive(Default)]
struct Board {
    connectors: BTreeMap<String, Status>,
    tasks: BTreeMap<ConnectorTaskId, Status>,
    topics: BTreeMap<String, BTreeSet<String>>,
}

/// Statuses and topics, shared by the herder and the running tasks.
pub struct StatusBoard {
    worker_id: String,
    // A std mutex: every operation is a map update or copy, never held across an await.
    board: Mutex<Board>,
    publisher: Mutex<Option<Arc<dyn StatusPublisher>>>,
    generation: std::sync::atomic::AtomicI32,
}

impl StatusBoard {
    /// An empty board for this worker.
    pub fn new(worker_id: impl Into<String>) -> Self {
        Self {
            worker_id: worker_id.into(),
            board: Mutex::new(Board::default()),
            publisher: Mutex::new(None),
            generation: std::sync::atomic::AtomicI32::new(0),
        }
    }

    /// This worker's id.
    pub fn worker_id(&self) -> &str {
        &self.worker_id
    }

    /// Publishes every later change of this worker's statuses.
    pub fn set_publisher(&self, publisher: Arc<dyn StatusPublisher>) {
        *self
            .publisher
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(publisher);
    }

    /// Sets the generation later statuses are reported in.
    pub fn set_generation(&self, generation: i32) {
        self.generation
            .store(generation, std::sync::atomic::Ordering::Relaxed);
    }

    fn board(&self) -> std::sync::MutexGuard<'_, Board> {
        self.board.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn publisher(&self) -> Option<Arc<dyn StatusPublisher>> {
        self.publisher
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn status(&self, state: State, trace: Option<String>) -> Status {
        Status {
            state,
            worker_id: self.worker_id.clone(),
            trace,
            generation: self.generation.load(std::sync::atomic::Ordering::Relaxed),
        }
    }

    /// This worker sets a connector's state.
    pub fn set_connector(&self, name: &str, state: State, trace: Option<String>) {
        let status = self.status(state, trace);
        self.board()
            .connectors
            .insert(name.to_owned(), status.clone());
        if let Some(publisher) = self.publisher() {
            publisher.connector(name, &status);
        }
    }

    /// A status another worker published (distributed).
    pub fn apply_connector(&self, name: &str, status: Option<Status>) {
        let mut board = self.board();
        match status {
            Some(status) => board.connectors.insert(name.to_owned(), status),
            None => board.connectors.remove(name),
        };
    }

    /// A task status another worker published (distributed).
    pub fn apply_task(&self, id: &ConnectorTaskId, status: Option<Status>) {
        let mut board = self.board();
        match status {
            Some(status) => board.tasks.insert(id.clone(), status),
            None => board.tasks.remove(id),
        };
    }

    /// A topic use another worker published.
    pub fn apply_topic(&self, connector: &str, topic: &str) {
        self.board()
            .topics
            .entry(connector.to_owned())
            .or_default()
            .insert(topic.to_owned());
    }

    /// A connector's status.
    pub fn connector(&self, name: &str) -> Option<Status> {
        self.board().connectors.get(name).cloned()
    }

    /// A task's status.
    pub fn task(&self, id: &ConnectorTaskId) -> Option<Status> {
        self.board().tasks.get(id).cloned()
    }

    /// The topics a connector used.
    pub fn topics(&self, connector: &str) -> Vec<String> {
        self.board()
            .topics
            .get(connector)
            .map(|t| t.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Forgets a connector's topics.
    pub fn reset_topics(&self, connector: &str) {
        self.board().topics.remove(connector);
    }

    /// Forgets a connector and its tasks (deleted).
    pub fn remove_connector(&self, name: &str) {
        let mut board = self.board();
        board.connectors.remove(name);
        board.tasks.retain(|id, _| id.connector != name);
    }

    /// Forgets the tasks of a connector numbered `count` and above (its task count shrank).
    pub fn remove_tasks_from(&self, name: &str, count: u32) {
        self.board()
            .tasks
            .retain(|id, _| id.connector != name || id.task < count);
    }
}

impl StatusReporter for StatusBoard {
    fn task_state(&self, id: &ConnectorTaskId, state: State, trace: Option<String>) {
        let status = self.status(state, trace);
        self.board().tasks.insert(id.clone(), status.clone());
        if let Some(publisher) = self.publisher() {
            publisher.task(id, &status);
        }
    }

    fn topic_used(&self, connector: &str, topic: &str) {
        let new = self
            .board()
            .topics
            .entry(connector.to_owned())
            .or_default()
            .insert(topic.to_owned());
        if new {
            if let Some(publisher) = self.publisher() {
                publisher.topic(connector, topic);
            }
        }
    }
}
