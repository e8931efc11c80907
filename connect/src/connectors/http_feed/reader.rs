//! The feed reader: one background task per source task that owns the HTTP connection.
//!
//! ```text
//! connect (bearer token, headers, since_id / Last-Event-ID) ─> status check
//!   2xx: chunks ─> LineSplitter | SseParser | one JSON page ─> post ─> id seen? ─> track?
//!        ─> FeedEvent::Post into the bounded channel ─> the task's poll
//!   401/403/4xx: FeedEvent::Failed (the task fails with the status)
//!   429, 5xx, refused, reset, stalled, ended: wait (backoff with jitter, at least
//!        Retry-After) and reconnect after the last id read
//! ```
//!
//! The channel is bounded ([`CHANNEL_CAPACITY`] events); when it is full the reader waits
//! (block, not drop): it stops reading the socket, and TCP flow control slows the server.
//! The reader keeps the connection across the task's polls, so a poll the worker drops
//! (on stop) loses nothing: what was read stays in the channel.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value as Json;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::backoff::{retry_after, Backoff};
use super::config::{FeedMode, FeedSettings};
use super::dedupe::RecentIds;
use super::extract;
use super::framing::{LineSplitter, SseParser};
use crate::data::Value;
use crate::error::ConnectError;
use crate::record::{ConnectRecord, JsonMap, SourceRecord};

/// Events buffered between the reader and the task's poll.
pub const CHANNEL_CAPACITY: usize = 8192;
/// How long connecting may take before it counts as a failed attempt.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The most of an error response's body quoted in the task's error.
const BODY_QUOTE: usize = 300;

/// The source offset's key of the last id read.
pub const ID_OFFSET: &str = "id";
/// The source offset's key of the records delivered so far (for `max.records`).
pub const COUNT_OFFSET: &str = "count";
/// The source partition's key.
pub const URL_PARTITION: &str = "url";

/// What the reader hands the task.
#[derive(Debug)]
pub enum FeedEvent {
    /// A post that passed de-duplication and the filter.
    Post(SourceRecord),
    /// Input that is not a post: reported through the task's errant record reporter.
    Malformed {
        /// The raw line, event data or response body.
        raw: Vec<u8>,
        /// Why.
        error: ConnectError,
    },
    /// The feed refuses the task (a bad token, a wrong URL): the task fails with this.
    Failed(ConnectError),
}

/// Where a resumed reader starts.
#[derive(Debug, Clone, Default)]
pub struct Resume {
    /// The last id delivered.
    pub last_id: Option<Json>,
    /// Records delivered so far.
    pub delivered: u64,
}

/// Why one connection or poll ended.
enum Ended {
    /// Reconnect (after the backoff; at least `after`).
    Retry {
        why: String,
        after: Option<Duration>,
        delivered: bool,
    },
    /// In poll mode: nothing more for now; poll again after the interval.
    CaughtUp,
    /// The time or record limit was reached, or the task is stopping.
    Done,
    /// The feed refused us; the task fails.
    Fatal(ConnectError),
}

/// The reader task's state.
pub struct FeedReader {
    settings: Arc<FeedSettings>,
    client: reqwest::Client,
    tx: mpsc::Sender<FeedEvent>,
    cancel: CancellationToken,
    partition: JsonMap,
    last_id: Option<Json>,
    sse_last_event_id: Option<String>,
    delivered: u64,
    seen: RecentIds,
    backoff: Backoff,
    deadline: Option<Instant>,
    duplicates: u64,
}

impl FeedReader {
    /// A reader for these settings that resumes at `resume` and sends into `tx`.
    ///
    /// # Errors
    /// The HTTP client cannot be built.
    pub fn new(
        settings: Arc<FeedSettings>,
        partition: JsonMap,
        resume: Resume,
        tx: mpsc::Sender<FeedEvent>,
        cancel: CancellationToken,
    ) -> Result<Self, ConnectError> {
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .tcp_nodelay(true)
            .build()
            .map_err(|e| ConnectError::Other(format!("cannot build the HTTP client: {e}")))?;
        let mut seen = RecentIds::new(settings.dedupe_capacity);
        if let Some(id) = resume.last_id.as_ref().and_then(extract::id_text) {
            seen.insert(&id);
        }
        Ok(Self {
            backoff: Backoff::new(settings.backoff, settings.backoff_max),
            deadline: settings.time_limit.map(|limit| Instant::now() + limit),
            settings,
            client,
            tx,
            cancel,
            partition,
            sse_last_event_id: resume.last_id.as_ref().and_then(extract::id_text),
            last_id: resume.last_id,
            delivered: resume.delivered,
            seen,
            duplicates: 0,
        })
    }

    fn limit_reached(&self) -> bool {
        self.settings
            .max_records
            .is_some_and(|max| self.delivered >= max)
            || self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    /// Reads the feed until the task stops, a limit is reached or the feed refuses the
    /// task. Cancel safe in the sense that matters: cancelling the token ends it at the next
    /// await, and everything already sent stays in the channel.
    pub async fn run(mut self) {
        let url = self.settings.url.to_string();
        loop {
            if self.cancel.is_cancelled() {
                return;
            }
            if self.limit_reached() {
                tracing::info!(
                    "feed {url}: limit reached after {} records; the task stays idle",
                    self.delivered
                );
                return;
            }
            let cancel = self.cancel.clone();
            let ended = tokio::select! {
                () = cancel.cancelled() => return,
                ended = self.attempt() => ended,
            };
            let wait = match ended {
                Ended::Done if self.tx.is_closed() => return,
                Ended::Done => continue,
                Ended::Fatal(error) => {
                    tracing::error!("feed {url}: {error}");
                    let _ = self.tx.send(FeedEvent::Failed(error)).await;
                    return;
                }
                Ended::CaughtUp => {
                    self.backoff.reset();
                    self.settings.poll_interval
                }
                Ended::Retry {
                    why,
                    after,
                    delivered,
                } => {
                    if delivered {
                        self.backoff.reset();
                    }
                    let delay = self.backoff.next_delay();
                    let wait = after.map_or(delay, |a| a.max(delay));
                    tracing::warn!(
                        "feed {url}: {why}; reconnecting in {wait:?} (attempt {})",
                        self.backoff.attempts()
                    );
                    wait
                }
            };
            let until = self
                .deadline
                .map_or(Instant::now() + wait, |d| d.min(Instant::now() + wait));
            tokio::select! {
                () = self.cancel.cancelled() => return,
                () = tokio::time::sleep_until(until) => {}
            }
        }
    }

    async fn attempt(&mut self) -> Ended {
        match self.settings.mode {
            FeedMode::Stream | FeedMode::Sse => self.stream_once().await,
            FeedMode::Poll => self.poll_once().await,
        }
    }

    fn request(&self, extra: &[(&str, String)]) -> reqwest::RequestBuilder {
        let s = &self.settings;
        let mut params: Vec<(&str, String)> = Vec::new();
        if let (Some(param), Some(id)) = (&s.since_param, self.last_id.as_ref()) {
            if let Some(id) = extract::id_text(id) {
                params.push((param, id));
            }
        }
        if let Some(param) = &s.track_param {
            if !s.track_raw.is_empty() {
                params.push((param, s.track_raw.clone()));
            }
        }
        params.extend(extra.iter().cloned());
        let mut url = s.url.clone();
        if !params.is_empty() {
            let kept: Vec<(String, String)> = url
                .query_pairs()
                .filter(|(k, _)| !params.iter().any(|(p, _)| p == k))
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            {
                let mut query = url.query_pairs_mut();
                query.clear();
                for (k, v) in &kept {
                    query.append_pair(k, v);
                }
                for (k, v) in &params {
                    query.append_pair(k, v);
                }
            }
        }
        let mut request = self.client.get(url);
        for (name, value) in &s.headers {
            request = request.header(name.as_str(), value.as_str());
        }
        request
    }

    /// Sends a request and sorts its status: `Ok` for 2xx, otherwise how the attempt ends.
    async fn send(&self, request: reqwest::RequestBuilder) -> Result<reqwest::Response, Ended> {
        let response = request.send().await.map_err(|e| Ended::Retry {
            why: format!("cannot reach the feed: {}", error_chain(&e)),
            after: None,
            delivered: false,
        })?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| retry_after(v, jiff::Timestamp::now().as_millisecond()));
        let url = response.url().clone();
        let body = tokio::time::timeout(Duration::from_secs(5), response.text())
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        let quoted: String = body.chars().take(BODY_QUOTE).collect();
        let code = status.as_u16();
        let why = format!("HTTP {status} from {url}: {}", quoted.trim());
        if code == 408 || code == 420 || code == 429 || status.is_server_error() {
            Err(Ended::Retry {
                why,
                after,
                delivered: false,
            })
        } else {
            Err(Ended::Fatal(ConnectError::Other(format!(
                "the feed refused the request: {why}{}",
                if code == 401 || code == 403 {
                    " (check auth.bearer.token)"
                } else {
                    ""
                }
            ))))
        }
    }

    async fn stream_once(&mut self) -> Ended {
        let mut request = self.request(&[]);
        if self.settings.mode == FeedMode::Sse {
            request = request.header(reqwest::header::ACCEPT, "text/event-stream");
            if let Some(id) = &self.sse_last_event_id {
                request = request.header("Last-Event-ID", id.as_str());
            }
        }
        let stall = self.settings.stall_timeout;
        let mut response =
            match tokio::time::timeout(stall.max(CONNECT_TIMEOUT), self.send(request)).await {
                Ok(Ok(response)) => response,
                Ok(Err(ended)) => return ended,
                Err(_) => {
                    return Ended::Retry {
                        why: format!("no response within {stall:?}"),
                        after: None,
                        delivered: false,
                    }
                }
            };
        let mut lines = LineSplitter::new();
        let mut sse = SseParser::new();
        let before = self.delivered;
        let mut events = Vec::new();
        loop {
            let chunk = tokio::select! {
                chunk = tokio::time::timeout(stall, response.chunk()) => chunk,
                () = sleep_until_opt(self.deadline) => return Ended::Done,
            };
            let delivered = self.delivered > before;
            let chunk = match chunk {
                Err(_) => {
                    return Ended::Retry {
                        why: format!("the stream stalled: no byte for {stall:?}"),
                        after: None,
                        delivered,
                    }
                }
                Ok(Err(e)) => {
                    return Ended::Retry {
                        why: format!("the stream broke: {}", error_chain(&e)),
                        after: None,
                        delivered,
                    }
                }
                Ok(Ok(None)) => {
                    return Ended::Retry {
                        why: "the server ended the stream".to_owned(),
                        after: sse.retry_ms().map(Duration::from_millis),
                        delivered,
                    }
                }
                Ok(Ok(Some(chunk))) => chunk,
            };
            match self.settings.mode {
                FeedMode::Sse => {
                    sse.push(&chunk, |event| events.push(event));
                    for event in events.drain(..) {
                        if let Some(id) = event.id {
                            self.sse_last_event_id = Some(id);
                        }
                        if let Err(ended) = self.line(event.data.as_bytes()).await {
                            return ended;
                        }
                    }
                }
                _ => {
                    let mut raw_lines = Vec::new();
                    lines.push(&chunk, |line| raw_lines.push(line.to_vec()));
                    for line in raw_lines {
                        if let Err(ended) = self.line(&line).await {
                            return ended;
                        }
                    }
                }
            }
        }
    }

    /// One line (or event's data) of a stream.
    async fn line(&mut self, raw: &[u8]) -> Result<(), Ended> {
        if raw.iter().all(u8::is_ascii_whitespace) {
            return Ok(()); // a keep-alive
        }
        match serde_json::from_slice::<Json>(raw) {
            Ok(post) => self.post(post, raw).await,
            Err(e) => {
                self.emit(FeedEvent::Malformed {
                    raw: raw.to_vec(),
                    error: ConnectError::Data(format!("a malformed post (not JSON: {e})")),
                })
                .await
            }
        }
    }

    async fn poll_once(&mut self) -> Ended {
        let mut token: Option<String> = None;
        loop {
            let extra: Vec<(&str, String)> = token
                .iter()
                .map(|t| (self.settings.next_token_param.as_str(), t.clone()))
                .collect();
            let request = self.request(&extra).timeout(self.settings.stall_timeout);
            let response = match self.send(request).await {
                Ok(response) => response,
                Err(ended) => return ended,
            };
            let body = match response.bytes().await {
                Ok(body) => body,
                Err(e) => {
                    return Ended::Retry {
                        why: format!("reading a page failed: {}", error_chain(&e)),
                        after: None,
                        delivered: false,
                    }
                }
            };
            let page: Json = match serde_json::from_slice(&body) {
                Ok(page) => page,
                Err(e) => {
                    let event = FeedEvent::Malformed {
                        raw: body.to_vec(),
                        error: ConnectError::Data(format!("a malformed page (not JSON: {e})")),
                    };
                    if let Err(ended) = self.emit(event).await {
                        return ended;
                    }
                    return Ended::CaughtUp;
                }
            };
            let records = extract::field(&page, &self.settings.records_path).cloned();
            match records {
                None | Some(Json::Null) => {}
                Some(Json::Array(posts)) => {
                    for post in posts {
                        let raw = post.to_string().into_bytes();
                        if let Err(ended) = self.post(post, &raw).await {
                            return ended;
                        }
                    }
                }
                Some(other) => {
                    let event = FeedEvent::Malformed {
                        raw: body.to_vec(),
                        error: ConnectError::Data(format!(
                            "records.path '{}' is a {}, not an array of posts",
                            self.settings.records_path,
                            json_type(&other)
                        )),
                    };
                    if let Err(ended) = self.emit(event).await {
                        return ended;
                    }
                }
            }
            token = self
                .settings
                .next_token_path
                .as_deref()
                .and_then(|path| extract::field(&page, path))
                .and_then(extract::id_text);
            if token.is_none() {
                return Ended::CaughtUp;
            }
        }
    }

    /// A parsed post: dedupe, filter, record.
    async fn post(&mut self, post: Json, raw: &[u8]) -> Result<(), Ended> {
        let s = Arc::clone(&self.settings);
        if !post.is_object() {
            return self
                .emit(FeedEvent::Malformed {
                    raw: raw.to_vec(),
                    error: ConnectError::Data(format!(
                        "a malformed post: a JSON {}, not an object",
                        json_type(&post)
                    )),
                })
                .await;
        }
        let Some(id_json) = extract::field(&post, &s.id_field).cloned() else {
            return self
                .emit(FeedEvent::Malformed {
                    raw: raw.to_vec(),
                    error: ConnectError::Data(format!(
                        "a malformed post: no id at '{}' (id.field)",
                        s.id_field
                    )),
                })
                .await;
        };
        let Some(id) = extract::id_text(&id_json) else {
            return self
                .emit(FeedEvent::Malformed {
                    raw: raw.to_vec(),
                    error: ConnectError::Data(format!(
                        "a malformed post: the id at '{}' is not a string or number",
                        s.id_field
                    )),
                })
                .await;
        };
        if !self.seen.insert(&id) {
            self.duplicates += 1;
            tracing::debug!(
                "feed: dropped post {id} sent again ({} so far)",
                self.duplicates
            );
            return Ok(());
        }
        self.last_id = Some(id_json.clone());
        if !s.track.is_empty() {
            let text = extract::field(&post, &s.track_field)
                .and_then(Json::as_str)
                .unwrap_or_default();
            if !s.track.matches(text) {
                return Ok(());
            }
        }
        let key = s
            .key_field
            .as_deref()
            .and_then(|path| extract::field(&post, path))
            .map(extract::key_value)
            .unwrap_or_default();
        let timestamp = s
            .timestamp_field
            .as_deref()
            .and_then(|path| extract::field(&post, path))
            .and_then(extract::timestamp_ms)
            .unwrap_or_else(|| jiff::Timestamp::now().as_millisecond());
        self.delivered += 1;
        let mut offset = JsonMap::new();
        offset.insert(ID_OFFSET.to_owned(), id_json);
        offset.insert(COUNT_OFFSET.to_owned(), Json::from(self.delivered));
        let value = if s.value_as_text {
            Value::String(String::from_utf8_lossy(raw).into_owned())
        } else {
            extract::to_connect(post)
        };
        let record = ConnectRecord {
            topic: s.topic.clone(),
            key,
            value,
            timestamp: Some(timestamp),
            ..ConnectRecord::default()
        };
        self.emit(FeedEvent::Post(SourceRecord::new(
            self.partition.clone(),
            offset,
            record,
        )))
        .await?;
        if self.limit_reached() {
            return Err(Ended::Done);
        }
        Ok(())
    }

    /// Hands an event to the task, waiting while the channel is full.
    async fn emit(&self, event: FeedEvent) -> Result<(), Ended> {
        tokio::select! {
            sent = self.tx.send(event) => sent.map_err(|_| Ended::Done),
            () = self.cancel.cancelled() => Err(Ended::Done),
        }
    }
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

fn json_type(json: &Json) -> &'static str {
    match json {
        Json::Null => "null",
        Json::Bool(_) => "boolean",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
