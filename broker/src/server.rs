//! The broker process: listener, one task per connection, and a graceful shutdown. The
//! background upkeep of logs and groups is in [`maintenance`](crate::maintenance).
//!
//! Each connection reads a frame, runs its handler and writes the response before reading the
//! next one, as Kafka does: responses leave in request order, and a pipelining client keeps
//! several requests queued in the socket. Responses are buffered and flushed whenever no
//! further request is already waiting, so a burst of pipelined requests costs one write.
//! Connections are bounded by a semaphore (`max.connections`); past it, new connections wait
//! in the listen backlog.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncWriteExt, BufReader, BufWriter};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::BrokerConfig;
use crate::coordinator::GroupCoordinator;
use crate::error::BrokerError;
use crate::handlers;
use crate::protocol::read_frame;
use crate::state::{load_cluster_id, BrokerState, ProducerIds};
use crate::topics::TopicRegistry;

/// How long shutdown waits for connections to finish their current request.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A running broker.
#[derive(Debug)]
pub struct Broker {
    state: Arc<BrokerState>,
    local_addr: SocketAddr,
    tracker: TaskTracker,
}

impl Broker {
    /// Opens the data dir (recovering every log), binds the listener and starts serving.
    ///
    /// # Errors
    /// The data dir cannot be used, a log cannot be recovered, or the address cannot be bound.
    pub async fn start(config: BrokerConfig) -> Result<Broker, BrokerError> {
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| BrokerError::Bind {
                    addr: config.listen,
                    source,
                })?;
        let local_addr = listener
            .local_addr()
            .map_err(|e| BrokerError::storage(&config.data_dir, e))?;
        let opened = {
            let config = config.clone();
            tokio::task::spawn_blocking(move || open_storage(&config))
                .await
                .map_err(|e| BrokerError::InvalidConfig(format!("storage open panicked: {e}")))??
        };
        let (topics, cluster_id, producer_ids, groups) = opened;
        let (advertised_host, advertised_port) = match &config.advertised {
            Some((h, p)) => (h.clone(), i32::from(*p)),
            None => (local_addr.ip().to_string(), i32::from(local_addr.port())),
        };
        let state = Arc::new(BrokerState {
            config,
            topics,
            cluster_id,
            advertised_host,
            advertised_port,
            producer_ids,
            groups,
            shutdown: CancellationToken::new(),
        });
        let tracker = TaskTracker::new();
        tracker.spawn(accept_loop(listener, state.clone(), tracker.clone()));
        crate::maintenance::spawn(&state, &tracker);
        tracing::info!(address = %local_addr, data_dir = %state.config.data_dir.display(), "fjord broker ready");
        Ok(Broker {
            state,
            local_addr,
            tracker,
        })
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `host:port` for a client's `bootstrap.servers`.
    pub fn bootstrap_servers(&self) -> String {
        self.local_addr.to_string()
    }

    /// The shared state (topics, config); for tools and tests in this process.
    pub fn state(&self) -> &Arc<BrokerState> {
        &self.state
    }

    /// Stops accepting, lets connections finish their current request (up to a deadline),
    /// then flushes every log to disk.
    pub async fn shutdown(self) {
        self.state.shutdown.cancel();
        self.tracker.close();
        if tokio::time::timeout(SHUTDOWN_GRACE, self.tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                "connections still busy after the shutdown grace period; closing anyway"
            );
        }
        let state = self.state.clone();
        let flushed = state
            .topics
            .io()
            .run({
                let state = state.clone();
                move || state.topics.shutdown_all()
            })
            .await;
        if let Err(e) = flushed {
            tracing::error!(error = %e, "flushing the logs at shutdown failed; the next start recovers them");
        }
        tracing::info!("fjord broker stopped");
    }
}

type Storage = (TopicRegistry, String, ProducerIds, GroupCoordinator);

fn open_storage(config: &BrokerConfig) -> Result<Storage, BrokerError> {
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| BrokerError::storage(&config.data_dir, e))?;
    let cluster_id = load_cluster_id(&config.data_dir, config.node_id)?;
    let producer_ids = ProducerIds::open(&config.data_dir)?;
    let topics = TopicRegistry::open(&config.data_dir, config.log_defaults.clone())?;
    let groups = GroupCoordinator::open(&topics, config.coordinator.clone())?;
    Ok((topics, cluster_id, producer_ids, groups))
}

async fn accept_loop(listener: TcpListener, state: Arc<BrokerState>, tracker: TaskTracker) {
    let permits = Arc::new(Semaphore::new(state.config.max_connections));
    loop {
        let permit = tokio::select! {
            _ = state.shutdown.cancelled() => return,
            p = permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => return,
            },
        };
        let (stream, peer) = tokio::select! {
            _ = state.shutdown.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let state = state.clone();
        tracker.spawn(async move {
            if let Err(e) = serve_connection(stream, &state).await {
                tracing::debug!(%peer, error = %e, "connection closed");
            }
            drop(permit);
        });
    }
}

/// Why a connection is closed by the broker.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    /// Framing failed (oversized, negative, truncated) or the socket broke.
    #[error(transparent)]
    Frame(#[from] crate::protocol::FrameError),
    /// The request could not be understood or served; Kafka closes the connection then too.
    #[error(transparent)]
    Protocol(#[from] crate::protocol::ProtocolError),
    /// Writing the response failed.
    #[error("write failed: {0}")]
    Write(#[from] std::io::Error),
}

async fn serve_connection(
    stream: TcpStream,
    state: &Arc<BrokerState>,
) -> Result<(), ConnectionError> {
    let peer = stream.peer_addr()?;
    stream.set_nodelay(true)?;
    let (read, write) = stream.into_split();
    let mut reader = BufReader::with_capacity(64 * 1024, read);
    let mut writer = BufWriter::with_capacity(64 * 1024, write);
    loop {
        if reader.buffer().is_empty() {
            writer.flush().await?;
        }
        let frame = tokio::select! {
            _ = state.shutdown.cancelled() => break,
            f = read_frame(&mut reader, state.config.max_request_bytes) => f?,
        };
        let Some(frame) = frame else { break };
        match handlers::handle_request(state, frame.freeze(), peer).await {
            Ok(Some(response)) => writer.write_all(&response).await?,
            Ok(None) => {}
            Err(e) => {
                writer.flush().await?;
                return Err(e.into());
            }
        }
    }
    writer.flush().await?;
    Ok(())
}
