//! A unit of work the group hands out: a connector instance or one of its tasks.

use crate::herder::ConnectorTaskId;

/// A connector or a task: what the assignor moves between workers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Work {
    /// The connector instance itself (it generates the task configs).
    Connector(String),
    /// One task of a connector.
    Task(ConnectorTaskId),
}

impl Work {
    /// Whether this is a connector (connectors and tasks are balanced separately).
    pub fn is_connector(&self) -> bool {
        matches!(self, Work::Connector(_))
    }
}

/// Splits work into connectors and tasks.
pub fn split(work: impl IntoIterator<Item = Work>) -> (Vec<String>, Vec<ConnectorTaskId>) {
    let mut connectors = Vec::new();
    let mut tasks = Vec::new();
    for w in work {
        match w {
            Work::Connector(c) => connectors.push(c),
            Work::Task(t) => tasks.push(t),
        }
    }
    connectors.sort();
    tasks.sort();
    (connectors, tasks)
}

/// Joins connectors and tasks into work.
pub fn join(connectors: &[String], tasks: &[ConnectorTaskId]) -> Vec<Work> {
    connectors
        .iter()
        .cloned()
        .map(Work::Connector)
        .chain(tasks.iter().cloned().map(Work::Task))
        .collect()
}
