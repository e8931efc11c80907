//! The single-writer rule for several registry instances on one cluster.
//!
//! Every instance joins one Kafka consumer group (`group_id`, default
//! `fjord-schema-registry`) subscribed to the one-partition `_schemas`
//! topic. The group protocol hands partition 0 to exactly one member at a
//! time: that member is the **writer** (Confluent calls it the leader). On
//! each assignment of partition 0 the writer announces its URL in a `NOOP`
//! record of `_schemas`; every instance learns the writer's URL from the
//! topic like any other state. Followers forward write requests (register,
//! delete, config and mode changes) to that URL over HTTP, as Confluent's
//! followers do, then wait until their own replay has reached the end of
//! the topic before answering, so a client sees its write on the instance it
//! asked. Reads are answered by every instance from its own state.
//!
//! The group consumer reads nothing it keeps (`auto.offset.reset=latest`, no
//! commits); it only polls so librdkafka serves the rebalance callbacks and
//! heartbeats. When the writer stops it leaves the group, and another
//! member is assigned partition 0 within a rebalance; when it dies, within
//! `session.timeout.ms` (6 s here).

use std::sync::Arc;
use std::time::Duration;

use fjord_core::ClientSettings;
use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance, StreamConsumer};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::error::RegistryError;
use crate::store::records::{NoopValue, RecordKey};
use crate::store::Store;

/// This instance's role in the single-writer rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The group has not assigned partitions to this instance yet.
    Joining,
    /// This instance writes `_schemas`.
    Writer,
    /// Another instance writes; this one forwards writes to it.
    Follower,
}

struct ElectionContext {
    topic: String,
    role: watch::Sender<Role>,
}

impl ClientContext for ElectionContext {}

impl ConsumerContext for ElectionContext {
    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let role = match rebalance {
            Rebalance::Assign(assigned) => {
                let writer = assigned
                    .elements_for_topic(&self.topic)
                    .iter()
                    .any(|p| p.partition() == 0);
                if writer {
                    Role::Writer
                } else {
                    Role::Follower
                }
            }
            Rebalance::Revoke(_) => Role::Joining,
            Rebalance::Error(e) => {
                tracing::warn!("schema registry writer election: {e}");
                return;
            }
        };
        tracing::debug!(?role, "schema registry writer election");
        self.role.send_replace(role);
    }
}

/// Joins the election group and keeps this instance's [`Role`] current;
/// while it is the writer, announces `url` in `_schemas` after each
/// assignment. Both tasks run on `tracker` until `shutdown`; the group is
/// left on shutdown so another instance takes over at once.
///
/// # Errors
/// The consumer cannot be created or subscribed.
pub fn start(
    settings: &ClientSettings,
    topic: &str,
    group_id: &str,
    url: String,
    store: Arc<Store>,
    tracker: &TaskTracker,
    shutdown: CancellationToken,
) -> Result<watch::Receiver<Role>, RegistryError> {
    let (role_tx, role) = watch::channel(Role::Joining);
    let context = ElectionContext {
        topic: topic.to_owned(),
        role: role_tx,
    };
    let consumer: StreamConsumer<ElectionContext> = settings
        .consumer_config(Some(group_id))
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "latest")
        .set("session.timeout.ms", "6000")
        .set("heartbeat.interval.ms", "1000")
        .set("client.id", "fjord-schema-registry")
        .create_with_context(context)
        .map_err(|cause| RegistryError::Client {
            context: "creating the writer-election consumer",
            cause,
        })?;
    consumer
        .subscribe(&[topic])
        .map_err(|cause| RegistryError::Client {
            context: "joining the writer-election group",
            cause,
        })?;

    let poll_shutdown = shutdown.clone();
    tracker.spawn(async move {
        loop {
            tokio::select! {
                () = poll_shutdown.cancelled() => break,
                // Messages are not used: polling serves rebalances and heartbeats.
                m = consumer.recv() => if let Err(e) = m {
                    tracing::debug!("writer-election consumer: {e}");
                },
            }
        }
        // Leaving the group blocks on a broker round trip.
        let closed = tokio::task::spawn_blocking(move || {
            fjord_core::close_consumer(consumer, "writer-election consumer", Duration::from_secs(5))
        })
        .await;
        if let Ok(Err(e)) = closed {
            tracing::warn!("{e}");
        }
    });

    let mut watch_role = role.clone();
    tracker.spawn(async move {
        loop {
            if *watch_role.borrow_and_update() == Role::Writer {
                announce(&store, &url, &shutdown).await;
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                changed = watch_role.changed() => if changed.is_err() { break },
            }
        }
    });
    Ok(role)
}

/// Writes the `NOOP` record naming this instance the writer, retrying
/// until it is written or the registry stops.
async fn announce(store: &Store, url: &str, shutdown: &CancellationToken) {
    let value = serde_json::to_vec(&NoopValue {
        leader: url.to_owned(),
    })
    .unwrap_or_default();
    loop {
        match store
            .write(vec![(RecordKey::Noop, Some(value.clone()))])
            .await
        {
            Ok(()) => {
                tracing::info!(url, "this schema registry instance is the writer");
                return;
            }
            Err(e) => tracing::warn!("announcing the schema registry writer: {e}"),
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
    }
}
