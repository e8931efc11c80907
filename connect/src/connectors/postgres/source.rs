//! `PostgresCdcSource` (also `io.debezium.connector.postgresql.PostgresConnector`): the
//! connector and its one task. `start` checks the server (login, `wal_level`, tables,
//! publication, slot), creates the slot when needed and opens the snapshot or the stream;
//! `poll` returns a snapshot chunk or the changes streamed since the last poll; `commit`
//! advances the slot's confirmed flush LSN to the committed offset's position, never beyond.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use pgwire_replication::{Lsn, ReplicationClient, ReplicationConfig};
use serde_json::Value as Json;
use sqlx::PgPool;

use super::catalog;
use super::config::{config_def, LagPolicy, SnapshotMode, SourceConfig};
use super::events::{heartbeat_record, Position};
use super::snapshot::{SnapshotProgress, SnapshotReader};
use super::stream::StreamDecoder;
use crate::config::{ConfigDef, ConfigMap};
use crate::connector::{Connector, ConnectorType, OffsetReader, SourceTask, SourceTaskContext};
use crate::error::{ConnectError, Result};
use crate::record::{JsonMap, SourceRecord};

/// How long `poll` waits for changes when there are none.
const POLL_WAIT: Duration = Duration::from_millis(500);
/// How long `poll` waits for a half-read transaction's next message before returning.
const TX_WAIT: Duration = Duration::from_millis(50);
/// How often the slot's lag is measured.
const LAG_CHECK: Duration = Duration::from_secs(5);

/// The CDC source connector.
#[derive(Debug, Clone, Copy, Default)]
pub struct PostgresCdcSourceConnector;

impl Connector for PostgresCdcSourceConnector {
    fn connector_type(&self) -> ConnectorType {
        ConnectorType::Source
    }

    fn config_def(&self) -> ConfigDef {
        config_def()
    }

    fn task_configs(&self, config: &ConfigMap, _max_tasks: usize) -> Result<Vec<ConfigMap>> {
        // One slot is read by one session: always a single task, as Debezium's.
        Ok(vec![config.clone()])
    }

    fn source_task(&self) -> Option<Box<dyn SourceTask>> {
        Some(Box::new(PostgresCdcSourceTask::default()))
    }
}

/// The CDC source task.
#[derive(Default)]
pub struct PostgresCdcSourceTask {
    running: Option<Running>,
}

struct Running {
    config: Arc<SourceConfig>,
    pool: PgPool,
    offsets: Arc<dyn OffsetReader>,
    snapshot: Option<SnapshotReader>,
    /// The gated replication session held while the snapshot reads (it keeps the exported
    /// snapshot and the slot), or the streaming one.
    client: Option<ReplicationClient>,
    decoder: StreamDecoder,
    /// Records read but not yet returned (kept here so a cancelled `poll` loses none).
    batch: Vec<SourceRecord>,
    /// `snapshot.mode=initial_only` after its snapshot: nothing more to read.
    done: bool,
    last_heartbeat: Instant,
    last_lag_check: Instant,
    paused_for_lag: bool,
    /// The last LSN given to the slot.
    acked: u64,
}

fn replication_config(config: &SourceConfig) -> ReplicationConfig {
    ReplicationConfig::new(
        config.host.clone(),
        config.user.clone(),
        config.password.clone(),
        config.dbname.clone(),
        config.slot_name.clone(),
        config.publication_name.as_str(),
    )
    .with_port(config.port)
    .with_options("-c TimeZone=UTC -c DateStyle=ISO -c extra_float_digits=3")
    .with_application_name("fjord-postgres-cdc")
    .with_status_interval(Duration::from_secs(1))
    .with_wakeup_interval(Duration::from_secs(1))
}

fn replication_error(config: &SourceConfig, e: &pgwire_replication::PgWireError) -> ConnectError {
    let text = e.to_string();
    if text.contains("is active for PID") {
        return catalog::slot_in_use(&config.slot_name, None);
    }
    ConnectError::Other(format!(
        "replication connection to {}:{} (slot '{}'): {text}",
        config.host, config.port, config.slot_name
    ))
}

async fn start_streaming(
    config: &SourceConfig,
    client: &mut ReplicationClient,
    gated: bool,
) -> Result<()> {
    if gated {
        client
            .start()
            .await
            .map_err(|e| replication_error(config, &e))?;
    }
    match tokio::time::timeout(Duration::from_secs(30), client.wait_started()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(replication_error(config, &e)),
        Err(_) => Err(ConnectError::Retriable(format!(
            "the server did not start replication from slot '{}' within 30 s",
            config.slot_name
        ))),
    }
}

/// Creates the slot on a gated session; returns its consistent point and, with `export`, the
/// exported snapshot's name.
async fn create_slot(
    config: &SourceConfig,
    client: &mut ReplicationClient,
    export: bool,
) -> Result<(u64, Option<String>)> {
    let sql = format!(
        "CREATE_REPLICATION_SLOT {} LOGICAL pgoutput (SNAPSHOT '{}')",
        catalog::quote_ident(&config.slot_name),
        if export { "export" } else { "nothing" }
    );
    let rows = client
        .simple_query(&sql)
        .await
        .map_err(|e| replication_error(config, &e))?;
    let text = |i: usize| {
        rows.first()
            .and_then(|r| r.get(i))
            .and_then(Option::as_ref)
            .map(|b| String::from_utf8_lossy(b).into_owned())
    };
    let lsn = text(1).and_then(|t| Lsn::parse(&t).ok()).ok_or_else(|| {
        ConnectError::Other("CREATE_REPLICATION_SLOT returned no consistent point".to_owned())
    })?;
    Ok((lsn.as_u64(), text(2).filter(|_| export)))
}

impl Running {
    async fn open(config: SourceConfig, context: SourceTaskContext) -> Result<Running> {
        let config = Arc::new(config);
        let pool = catalog::pool(&config).await?;
        catalog::check_wal_level(&pool).await?;
        let tables: Vec<_> = catalog::captured_tables(&pool, &config)
            .await?
            .into_iter()
            .map(Arc::new)
            .collect();
        catalog::ensure_publication(&pool, &config, &tables).await?;
        let committed = context.offsets.offset(&config.source_partition());
        let mut slot = catalog::slot(&pool, &config.slot_name).await?;
        if let Some(s) = &slot {
            if s.active {
                return Err(catalog::slot_in_use(&config.slot_name, s.active_pid));
            }
        }
        let progress = committed.as_ref().and_then(SnapshotProgress::read);
        let fresh_snapshot = match config.snapshot_mode {
            SnapshotMode::NoData => false,
            SnapshotMode::Always => true,
            SnapshotMode::Initial | SnapshotMode::InitialOnly => committed.is_none(),
            SnapshotMode::WhenNeeded => committed.is_none() || slot.is_none(),
        } || (progress.is_some() && slot.is_none());
        let resume_snapshot = !fresh_snapshot && progress.is_some();
        if config.snapshot_mode == SnapshotMode::InitialOnly
            && committed.is_some()
            && progress.is_none()
        {
            // Its snapshot is done and it does not stream.
            let decoder = StreamDecoder::new(
                Arc::clone(&config),
                pool.clone(),
                tables,
                Position::default(),
            );
            return Ok(Running::new(
                config, pool, context, None, None, decoder, true,
            ));
        }
        let mut client = ReplicationClient::connect_gated(replication_config(&config))
            .await
            .map_err(|e| replication_error(&config, &e))?;
        let mut resume = committed
            .as_ref()
            .and_then(Position::read)
            .unwrap_or_default();
        let mut snapshot = None;
        if fresh_snapshot {
            if slot.is_some() {
                // A new snapshot needs a slot created at its instant.
                catalog::drop_slot(&pool, &config.slot_name).await?;
                slot = None;
            }
            let (lsn, name) = create_slot(&config, &mut client, true).await?;
            resume = Position { lsn, event: 0 };
            let conn = catalog::connection(&config).await?;
            snapshot = Some(
                SnapshotReader::open(
                    conn,
                    tables.clone(),
                    name.as_deref(),
                    None,
                    lsn,
                    config.snapshot_chunk,
                )
                .await?,
            );
        } else if resume_snapshot {
            let lsn = resume.lsn;
            let conn = catalog::connection(&config).await?;
            snapshot = Some(
                SnapshotReader::open(
                    conn,
                    tables.clone(),
                    None,
                    progress,
                    lsn,
                    config.snapshot_chunk,
                )
                .await?,
            );
        } else if slot.is_none() {
            let (lsn, _) = create_slot(&config, &mut client, false).await?;
            if committed.is_some() {
                tracing::warn!(
                    "slot '{}' did not exist: created it at {}; changes between the committed offset and now are not captured (snapshot.mode=when_needed snapshots again)",
                    config.slot_name,
                    Lsn(lsn)
                );
            }
            resume = resume.max(Position { lsn, event: 0 });
        }
        let _ = slot;
        if snapshot.is_none() {
            start_streaming(&config, &mut client, true).await?;
        }
        let decoder = StreamDecoder::new(Arc::clone(&config), pool.clone(), tables, resume);
        Ok(Running::new(
            config,
            pool,
            context,
            snapshot,
            Some(client),
            decoder,
            false,
        ))
    }

    fn new(
        config: Arc<SourceConfig>,
        pool: PgPool,
        context: SourceTaskContext,
        snapshot: Option<SnapshotReader>,
        client: Option<ReplicationClient>,
        decoder: StreamDecoder,
        done: bool,
    ) -> Running {
        Running {
            config,
            pool,
            offsets: context.offsets,
            snapshot,
            client,
            decoder,
            batch: Vec::new(),
            done,
            last_heartbeat: Instant::now(),
            last_lag_check: Instant::now(),
            paused_for_lag: false,
            acked: 0,
        }
    }

    fn position_offset(position: Position) -> JsonMap {
        let mut offset = JsonMap::new();
        position.write(&mut offset);
        offset
    }

    async fn poll_snapshot(&mut self) -> Result<Option<Vec<SourceRecord>>> {
        let Some(snapshot) = self.snapshot.as_mut() else {
            return Ok(None);
        };
        if let Some(records) = snapshot.next_chunk(&self.config).await? {
            return Ok(Some(records));
        }
        let lsn = snapshot.consistent_lsn;
        tracing::info!(
            "postgres source '{}': snapshot done ({} records); streaming from {}",
            self.config.topic_prefix,
            snapshot.rows(),
            Lsn(lsn)
        );
        self.snapshot = None;
        // The record that says the snapshot is complete: a restart streams, not snapshots.
        let done = heartbeat_record(
            &self.config,
            &Self::position_offset(Position { lsn, event: 0 }),
        )?;
        if self.config.snapshot_mode == SnapshotMode::InitialOnly {
            self.done = true;
            if let Some(mut client) = self.client.take() {
                client.abort();
            }
        } else if let Some(client) = self.client.as_mut() {
            start_streaming(&self.config, client, true).await?;
        }
        Ok(Some(vec![done]))
    }

    async fn reconnect(&mut self) -> Result<()> {
        let mut client = ReplicationClient::connect(
            replication_config(&self.config).with_ack_lsn(Lsn(self.acked)),
        )
        .await
        .map_err(|e| ConnectError::Retriable(replication_error(&self.config, &e).to_string()))?;
        start_streaming(&self.config, &mut client, false)
            .await
            .map_err(|e| ConnectError::Retriable(e.to_string()))?;
        tracing::info!(
            "postgres source '{}': replication reconnected",
            self.config.topic_prefix
        );
        self.client = Some(client);
        Ok(())
    }

    async fn check_lag(&mut self) -> Result<()> {
        if self.last_lag_check.elapsed() < LAG_CHECK {
            return Ok(());
        }
        self.last_lag_check = Instant::now();
        let Ok(Some(slot)) = catalog::slot(&self.pool, &self.config.slot_name).await else {
            return Ok(());
        };
        let lag = u64::try_from(slot.lag_bytes).unwrap_or(0);
        tracing::debug!(
            "postgres source '{}': slot lag {lag} bytes",
            self.config.topic_prefix
        );
        let limit = self.config.slot_max_lag_bytes;
        if limit == 0 {
            return Ok(());
        }
        self.paused_for_lag = false;
        if lag > limit {
            let message = format!(
                "replication slot '{}' holds {lag} bytes of WAL, more than slot.max.lag.bytes={limit}",
                self.config.slot_name
            );
            match self.config.lag_policy {
                LagPolicy::Warn => tracing::warn!("{message}"),
                LagPolicy::Pause => {
                    tracing::warn!("{message}; reading paused until it catches up");
                    self.paused_for_lag = true;
                }
                LagPolicy::Fail => return Err(ConnectError::Other(message)),
            }
        }
        Ok(())
    }

    async fn poll_stream(&mut self) -> Result<Vec<SourceRecord>> {
        self.check_lag().await?;
        if self.paused_for_lag {
            tokio::time::sleep(POLL_WAIT).await;
            return Ok(std::mem::take(&mut self.batch));
        }
        if self.client.is_none() {
            self.reconnect().await?;
        }
        let deadline = Instant::now() + POLL_WAIT;
        while self.batch.len() < self.config.max_batch_size {
            let Some(client) = self.client.as_mut() else {
                break;
            };
            let wait = if self.batch.is_empty() {
                deadline.saturating_duration_since(Instant::now())
            } else if self.decoder.in_transaction() {
                TX_WAIT
            } else {
                Duration::ZERO
            };
            let event = match tokio::time::timeout(wait, client.recv()).await {
                Err(_) => break,
                Ok(Ok(Some(event))) => event,
                Ok(Ok(None)) => {
                    self.client = None;
                    self.decoder.reset();
                    break;
                }
                Ok(Err(e)) => {
                    self.client = None;
                    self.decoder.reset();
                    let error = replication_error(&self.config, &e);
                    tracing::warn!(
                        "postgres source '{}': {error}; reconnecting",
                        self.config.topic_prefix
                    );
                    if self.batch.is_empty() {
                        return Err(ConnectError::Retriable(error.to_string()));
                    }
                    break;
                }
            };
            self.decoder.handle(event, &mut self.batch).await?;
            if Instant::now() >= deadline && !self.decoder.in_transaction() {
                break;
            }
        }
        let heartbeat = self.config.heartbeat_interval;
        if !heartbeat.is_zero()
            && self.last_heartbeat.elapsed() >= heartbeat
            && !self.decoder.in_transaction()
        {
            self.last_heartbeat = Instant::now();
            let position = self.decoder.idle_position();
            self.batch.push(heartbeat_record(
                &self.config,
                &Self::position_offset(position),
            )?);
        }
        Ok(std::mem::take(&mut self.batch))
    }

    /// Gives the slot the committed position.
    fn acknowledge(&mut self) {
        let Some(offset) = self.offsets.offset(&self.config.source_partition()) else {
            return;
        };
        if offset.get("snapshot").and_then(Json::as_bool) == Some(true) {
            return;
        }
        let Some(position) = Position::read(&offset) else {
            return;
        };
        if position.lsn > self.acked {
            self.acked = position.lsn;
            if let Some(client) = &self.client {
                client.update_applied_lsn(Lsn(position.lsn));
            }
        }
    }
}

#[async_trait]
impl SourceTask for PostgresCdcSourceTask {
    async fn start(&mut self, config: ConfigMap, context: SourceTaskContext) -> Result<()> {
        let config = SourceConfig::parse(&config)?;
        self.running = Some(Running::open(config, context).await?);
        Ok(())
    }

    async fn poll(&mut self) -> Result<Vec<SourceRecord>> {
        let Some(running) = self.running.as_mut() else {
            return Err(ConnectError::Other("the task was not started".to_owned()));
        };
        if running.done {
            tokio::time::sleep(POLL_WAIT).await;
            return Ok(Vec::new());
        }
        if let Some(records) = running.poll_snapshot().await? {
            return Ok(records);
        }
        running.poll_stream().await
    }

    async fn commit(&mut self) -> Result<()> {
        if let Some(running) = self.running.as_mut() {
            running.acknowledge();
        }
        Ok(())
    }

    async fn stop(&mut self) -> Result<()> {
        let Some(mut running) = self.running.take() else {
            return Ok(());
        };
        if let Some(mut client) = running.client.take() {
            // The last acknowledged position goes out with the stop's status update.
            if tokio::time::timeout(Duration::from_secs(5), client.shutdown())
                .await
                .is_err()
            {
                client.abort();
            }
        }
        if running.config.slot_drop_on_stop {
            // The session just ended; the server may need a moment to release the slot.
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                match catalog::slot(&running.pool, &running.config.slot_name).await? {
                    Some(s) if s.active && Instant::now() < deadline => {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    Some(_) => {
                        catalog::drop_slot(&running.pool, &running.config.slot_name).await?;
                        break;
                    }
                    None => break,
                }
            }
        }
        running.pool.close().await;
        Ok(())
    }
}
