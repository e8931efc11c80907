//! A feed simulator: an HTTP server of tweet-like posts that behaves like a social feed,
//! faults included, for tests, demos and benchmarks (`fjord feed serve`).
//!
//! Endpoints (every one behind `Authorization: Bearer <token>` when a token is set):
//! - `GET /2/stream`: newline-delimited JSON over one chunked response, one post per line,
//!   `\r\n` keep-alives when idle; `since_id` resumes after a post, `track` filters.
//! - `GET /2/stream/sse`: the same as Server-Sent Events (`id:`, `event: post`, `data:`),
//!   `: keep-alive` comments; `Last-Event-ID` (or `since_id`) resumes.
//! - `GET /2/posts`: polling: `since_id`, `max_results` (1 to 500, default 100),
//!   `pagination_token`, `track`; answers `{"data": [...], "meta": {"result_count",
//!   "newest_id", "oldest_id", "next_token"}}`, oldest first.
//! - `GET /stats`: the requests served (number, time, path, resume point, status) and the
//!   posts sent, what tests check the client's behaviour against.
//!
//! The feed is post 0, 1, 2, ... of [`PostGenerator`] for the seed, published at `rate`
//! posts a second from the simulator's start (all at once when unthrottled), up to `posts`
//! (endless when not set). A connection without a resume point starts at post 0: the
//! simulator keeps its whole history, so a client that connects late still gets every post.
//! [`Faults`] make it misbehave.

mod faults;
mod posts;
mod routes;

pub use faults::{malformed_line, Faults};
pub use posts::{
    created_at, Entities, Hashtag, Mention, Post, PostGenerator, Retweeted, User, FIRST_ID,
    HASHTAGS, SPACING_MS, START_MS,
};

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::Serialize;
use tokio::net::TcpListener;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How the simulator behaves.
#[derive(Debug, Clone)]
pub struct SimulatorConfig {
    /// The seed of the posts.
    pub seed: u64,
    /// Posts published per second; `None`: all at once (unthrottled).
    pub rate: Option<f64>,
    /// How many posts the feed has; `None`: endless.
    pub posts: Option<u64>,
    /// The bearer token clients must send; `None`: no auth.
    pub token: Option<String>,
    /// The faults.
    pub faults: Faults,
    /// How often an idle stream sends a keep-alive.
    pub keepalive: Duration,
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        Self {
            seed: 1,
            rate: None,
            posts: None,
            token: None,
            faults: Faults::default(),
            keepalive: Duration::from_secs(1),
        }
    }
}

/// One request the simulator answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestRecord {
    /// Its number, from 1.
    pub number: u64,
    /// When it arrived, ms after the simulator started.
    pub at_ms: u64,
    /// The path.
    pub path: String,
    /// The `since_id` asked for.
    pub since_id: Option<String>,
    /// The `Last-Event-ID` header.
    pub last_event_id: Option<String>,
    /// The `pagination_token` asked for.
    pub pagination_token: Option<String>,
    /// The status answered.
    pub status: u16,
}

/// The most requests the log keeps (the oldest are dropped first).
const LOG_CAPACITY: usize = 100_000;

/// What every handler shares.
struct Shared {
    config: SimulatorConfig,
    generator: PostGenerator,
    started: Instant,
    requests: AtomicU64,
    posts_sent: AtomicU64,
    // A std mutex: held for a push or a copy, never across an await.
    log: Mutex<Vec<RequestRecord>>,
    cancel: CancellationToken,
}

impl Shared {
    /// How many posts are published by now.
    fn published(&self) -> u64 {
        let total = self.config.posts.unwrap_or(u64::MAX);
        match self.config.rate {
            None => total,
            Some(rate) => {
                let due = (self.started.elapsed().as_secs_f64() * rate).floor() as u64;
                due.min(total)
            }
        }
    }

    /// When post `index` is published; `None` when the feed has no such post.
    fn publish_time(&self, index: u64) -> Option<Instant> {
        if self.config.posts.is_some_and(|n| index >= n) {
            return None;
        }
        match self.config.rate {
            None => Some(self.started),
            Some(rate) => {
                Some(self.started + Duration::from_secs_f64(index as f64 / rate.max(1e-9)))
            }
        }
    }

    fn record(&self, record: RequestRecord) {
        let mut log = self.log.lock().unwrap_or_else(PoisonError::into_inner);
        if log.len() >= LOG_CAPACITY {
            log.remove(0);
        }
        log.push(record);
    }

    fn ms_since_start(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

/// A running simulator.
pub struct FeedSimulator {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl FeedSimulator {
    /// Binds `listen` (`127.0.0.1:0` for an ephemeral port) and serves.
    ///
    /// # Errors
    /// The address cannot be bound.
    pub async fn start(listen: &str, config: SimulatorConfig) -> std::io::Result<Self> {
        let listener = TcpListener::bind(listen).await?;
        Self::serve(listener, config)
    }

    /// Serves on a bound listener.
    ///
    /// # Errors
    /// The listener has no local address.
    pub fn serve(listener: TcpListener, config: SimulatorConfig) -> std::io::Result<Self> {
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            generator: PostGenerator::new(config.seed),
            config,
            started: Instant::now(),
            requests: AtomicU64::new(0),
            posts_sent: AtomicU64::new(0),
            log: Mutex::new(Vec::new()),
            cancel: CancellationToken::new(),
        });
        let router = routes::router(Arc::clone(&shared));
        let stop = shared.cancel.clone();
        let server = tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(stop.cancelled_owned())
                .await
        });
        Ok(Self {
            addr,
            shared,
            server,
        })
    }

    /// The address served.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<addr><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The generator of the served posts.
    pub fn generator(&self) -> PostGenerator {
        self.shared.generator
    }

    /// The requests answered so far, oldest first.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared
            .log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Posts written to streams so far (duplicates included).
    pub fn posts_sent(&self) -> u64 {
        self.shared.posts_sent.load(Ordering::Relaxed)
    }

    /// Ends every stream and stops serving.
    pub async fn shutdown(self) {
        self.shared.cancel.cancel();
        match tokio::time::timeout(Duration::from_secs(10), self.server).await {
            Ok(Ok(Err(e))) => tracing::warn!("feed simulator: {e}"),
            Ok(Err(e)) => tracing::warn!("feed simulator task: {e}"),
            Err(_) => tracing::warn!("feed simulator: connections still open after 10 s"),
            Ok(Ok(Ok(()))) => {}
        }
    }

    /// Serves until `stop` is cancelled.
    pub async fn run_until(self, stop: CancellationToken) {
        stop.cancelled().await;
        self.shutdown().await;
    }
}
