//! The distributed herder's loop: applies each group assignment (stop what was revoked,
//! start what was assigned) and each config topic change (task reconfiguration, target
//! states, restarts) to the tasks running on this worker. One task owns this state, so
//! assignments and config changes are applied one at a time, in arrival order.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::config_store::ConfigEvent;
use super::DistributedHerder;
use crate::config::ConfigMap;
use crate::group::{GroupMember, WorkerAssignment};
use crate::herder::{ConnectorTaskId, State, TargetState};
use crate::runtime::task::StatusReporter;

/// How long the loop waits for the config and offsets topics to be read after an assignment.
const READ_TIMEOUT: Duration = Duration::from_secs(30);

struct Running {
    connectors: BTreeSet<String>,
    tasks: BTreeMap<ConnectorTaskId, ConfigMap>,
}

/// Runs until `shutdown`; then leaves the group and stops every task.
pub async fn run(
    herder: Arc<DistributedHerder>,
    member: GroupMember,
    mut assignments: mpsc::Receiver<WorkerAssignment>,
    mut events: mpsc::Receiver<ConfigEvent>,
    shutdown: CancellationToken,
) {
    let mut running = Running {
        connectors: BTreeSet::new(),
        tasks: BTreeMap::new(),
    };
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            assignment = assignments.recv() => match assignment {
                Some(assignment) => apply_assignment(&herder, &member, &mut running, assignment).await,
                None => break,
            },
            event = events.recv() => match event {
                Some(event) => apply_event(&herder, &member, &mut running, event).await,
                None => break,
            },
            () = herder.rejoin.notified() => member.request_rejoin(),
        }
    }
    member.leave().await;
    herder.worker.shutdown().await;
}

async fn apply_assignment(
    herder: &DistributedHerder,
    member: &GroupMember,
    running: &mut Running,
    assignment: WorkerAssignment,
) {
    let worker = &herder.worker;
    if assignment.generation < 0 {
        tracing::warn!("lost the group membership; stopping every task until the next assignment");
        herder.set_leader(None);
        let all: Vec<ConnectorTaskId> = running.tasks.keys().cloned().collect();
        worker.stop_tasks(&all).await;
        running.tasks.clear();
        running.connectors.clear();
        // Everything has stopped: the member may rejoin now rather than after the rebalance
        // timeout.
        member.request_rejoin();
        return;
    }
    tracing::info!(
        generation = assignment.generation,
        leader = %assignment.leader_url,
        connectors = assignment.connectors.len(),
        tasks = assignment.tasks.len(),
        revoked = assignment.revoked_tasks.len() + assignment.revoked_connectors.len(),
        "assignment"
    );
    herder.set_leader(Some(assignment.leader_url.clone()));
    worker.status().set_generation(assignment.generation);
    if !assignment.revoked_tasks.is_empty() {
        worker.stop_tasks(&assignment.revoked_tasks).await;
        for id in &assignment.revoked_tasks {
            running.tasks.remove(id);
        }
    }
    for name in &assignment.revoked_connectors {
        running.connectors.remove(name);
    }
    if assignment.has_revocations() {
        member.request_rejoin();
    }
    if let Err(e) = herder.configs.read_to_end(READ_TIMEOUT).await {
        tracing::warn!("config topic: {e}");
    }
    if let Err(e) = herder.offsets_log.read_to_end(READ_TIMEOUT).await {
        tracing::warn!("offsets topic: {e}");
    }
    let snapshot = herder.snapshot.lock().clone();
    for name in &assignment.connectors {
        if running.connectors.insert(name.clone()) {
            let state = match snapshot.target(name) {
                TargetState::Started => State::Running,
                TargetState::Paused => State::Paused,
                TargetState::Stopped => State::Stopped,
            };
            worker.status().set_connector(name, state, None);
        }
    }
    let wanted: BTreeSet<ConnectorTaskId> = assignment.tasks.iter().cloned().collect();
    let gone: Vec<ConnectorTaskId> = running
        .tasks
        .keys()
        .filter(|id| !wanted.contains(*id))
        .cloned()
        .collect();
    if !gone.is_empty() {
        worker.stop_tasks(&gone).await;
        for id in &gone {
            running.tasks.remove(id);
        }
    }
    for id in assignment.tasks {
        if running.tasks.contains_key(&id) {
            continue;
        }
        start(herder, running, &snapshot, id).await;
    }
}

async fn start(
    herder: &DistributedHerder,
    running: &mut Running,
    snapshot: &super::config_store::ConfigSnapshot,
    id: ConnectorTaskId,
) {
    let (Some(connector), Some(task)) = (
        snapshot.connectors.get(&id.connector),
        snapshot.task_config(&id),
    ) else {
        tracing::warn!(
            "task {}-{} is assigned but has no config (yet)",
            id.connector,
            id.task
        );
        return;
    };
    let target = snapshot.target(&id.connector);
    herder
        .worker
        .start_task(id.clone(), connector, task.clone(), target)
        .await;
    running.tasks.insert(id, task.clone());
}

async fn apply_event(
    herder: &DistributedHerder,
    member: &GroupMember,
    running: &mut Running,
    event: ConfigEvent,
) {
    let worker = &herder.worker;
    match event {
        ConfigEvent::ConnectorConfig(_) => {}
        ConfigEvent::ConnectorRemoved(name) => {
            let mine: Vec<ConnectorTaskId> = running
                .tasks
                .keys()
                .filter(|id| id.connector == name)
                .cloned()
                .collect();
            worker.stop_tasks(&mine).await;
            for id in &mine {
                running.tasks.remove(id);
            }
            running.connectors.remove(&name);
            worker.status().remove_connector(&name);
            // Every worker rejoins as soon as it reads the change, rather than waiting for
            // a heartbeat to tell it the leader started a rebalance: the new tasks run one
            // heartbeat interval sooner.
            member.request_rejoin();
        }
        ConfigEvent::TasksCommitted(name) => {
            let snapshot = herder.snapshot.lock().clone();
            let mine: Vec<(ConnectorTaskId, ConfigMap)> = running
                .tasks
                .iter()
                .filter(|(id, _)| id.connector == name)
                .map(|(id, c)| (id.clone(), c.clone()))
                .collect();
            for (id, config) in mine {
                match snapshot.task_config(&id) {
                    Some(new) if *new == config => {}
                    Some(_) => {
                        tracing::info!(
                            "task {}-{}: its config changed; restarting it",
                            id.connector,
                            id.task
                        );
                        start(herder, running, &snapshot, id).await;
                    }
                    None => {
                        worker.stop_task(&id).await;
                        running.tasks.remove(&id);
                    }
                }
            }
            // Every worker rejoins as soon as it reads the change, rather than waiting for
            // a heartbeat to tell it the leader started a rebalance: the new tasks run one
            // heartbeat interval sooner.
            member.request_rejoin();
        }
        ConfigEvent::TargetState(name, target) => {
            if running.connectors.contains(&name) {
                let state = match target {
                    TargetState::Started => State::Running,
                    TargetState::Paused => State::Paused,
                    TargetState::Stopped => State::Stopped,
                };
                worker.status().set_connector(&name, state, None);
            }
            if target != TargetState::Stopped {
                worker.set_target(&name, target).await;
            }
        }
        ConfigEvent::RestartConnector {
            name,
            include_tasks,
            only_failed,
        } => {
            if running.connectors.contains(&name) {
                let failed = worker
                    .status()
                    .connector(&name)
                    .is_some_and(|s| s.state == State::Failed);
                if !only_failed || failed {
                    let target = herder.snapshot.lock().target(&name);
                    let state = if target == TargetState::Paused {
                        State::Paused
                    } else {
                        State::Running
                    };
                    worker.status().set_connector(&name, state, None);
                }
            }
            if include_tasks {
                let snapshot = herder.snapshot.lock().clone();
                let mine: Vec<ConnectorTaskId> = running
                    .tasks
                    .keys()
                    .filter(|id| id.connector == name)
                    .cloned()
                    .collect();
                for id in mine {
                    let failed = worker
                        .status()
                        .task(&id)
                        .is_some_and(|s| s.state == State::Failed);
                    if !only_failed || failed {
                        worker.status().task_state(&id, State::Restarting, None);
                        start(herder, running, &snapshot, id).await;
                    }
                }
            }
        }
        ConfigEvent::RestartTask(id) => {
            if running.tasks.contains_key(&id) {
                let snapshot = herder.snapshot.lock().clone();
                worker.status().task_state(&id, State::Restarting, None);
                start(herder, running, &snapshot, id).await;
            }
        }
    }
}
