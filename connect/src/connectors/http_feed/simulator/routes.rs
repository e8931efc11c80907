//! The simulator's HTTP handlers: the gate every feed request passes (log, auth, injected
//! 429 and 5xx), the two streaming endpoints (one writer task per connection, writing into
//! a bounded channel the response body reads, so a slow client slows the writer), and the
//! polling endpoint.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_stream::wrappers::ReceiverStream;

use super::faults::malformed_line;
use super::{PostGenerator, RequestRecord, Shared};
use crate::connectors::http_feed::track::Track;

/// Body chunks buffered per connection; the writer waits when the client reads slower.
const CONNECTION_BUFFER: usize = 16;
/// An unthrottled stream writes chunks of about this size.
const CHUNK_BYTES: usize = 32 * 1024;
/// The largest page a poll may ask for.
const MAX_RESULTS: usize = 500;

pub(super) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/2/stream", get(ndjson))
        .route("/2/stream/sse", get(sse))
        .route("/2/posts", get(poll))
        .route("/stats", get(stats))
        .route("/health", get(|| async { "ok" }))
        .with_state(shared)
}

#[derive(Debug, Default, Deserialize)]
struct FeedQuery {
    since_id: Option<String>,
    track: Option<String>,
    max_results: Option<usize>,
    pagination_token: Option<String>,
}

fn problem(status: StatusCode, detail: &str) -> Response {
    (
        status,
        Json(json!({
            "title": status.canonical_reason().unwrap_or("Error"),
            "type": "about:blank",
            "status": status.as_u16(),
            "detail": detail,
        })),
    )
        .into_response()
}

/// Logs the request; the answer instead of serving it when auth or a fault says so.
fn gate(shared: &Shared, path: &str, headers: &HeaderMap, query: &FeedQuery) -> Option<Response> {
    let number = shared.requests.fetch_add(1, Ordering::Relaxed) + 1;
    let last_event_id = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut record = RequestRecord {
        number,
        at_ms: shared.ms_since_start(),
        path: path.to_owned(),
        since_id: query.since_id.clone(),
        last_event_id,
        pagination_token: query.pagination_token.clone(),
        status: 200,
    };
    let refused = if let Some(token) = &shared.config.token {
        let sent = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        (sent != format!("Bearer {token}")).then(|| {
            problem(
                StatusCode::UNAUTHORIZED,
                "Unauthorized: send Authorization: Bearer <token>",
            )
        })
    } else {
        None
    };
    let refused = refused.or_else(|| {
        shared.config.faults.refuse(number).map(|(status, after)| {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            let mut response = problem(status, "injected by the feed simulator");
            if let Some(after) = after {
                if let Ok(value) = after.to_string().parse() {
                    response.headers_mut().insert(header::RETRY_AFTER, value);
                }
            }
            response
        })
    });
    if let Some(response) = &refused {
        record.status = response.status().as_u16();
    }
    shared.record(record);
    refused
}

/// The index after a resume id (0 without one).
fn start_after(id: Option<&str>) -> u64 {
    id.and_then(|id| id.trim().parse::<u64>().ok())
        .and_then(PostGenerator::index_of)
        .map_or(0, |i| i + 1)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    Ndjson,
    Sse,
}

async fn ndjson(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<FeedQuery>,
) -> Response {
    if let Some(refused) = gate(&shared, "/2/stream", &headers, &query) {
        return refused;
    }
    let start = start_after(query.since_id.as_deref());
    streaming(
        shared,
        start,
        &query,
        Framing::Ndjson,
        "application/x-ndjson",
    )
}

async fn sse(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<FeedQuery>,
) -> Response {
    if let Some(refused) = gate(&shared, "/2/stream/sse", &headers, &query) {
        return refused;
    }
    let last_event_id = headers.get("last-event-id").and_then(|v| v.to_str().ok());
    let start = start_after(last_event_id.or(query.since_id.as_deref()));
    streaming(shared, start, &query, Framing::Sse, "text/event-stream")
}

fn streaming(
    shared: Arc<Shared>,
    start: u64,
    query: &FeedQuery,
    framing: Framing,
    content_type: &'static str,
) -> Response {
    let (tx, rx) = mpsc::channel(CONNECTION_BUFFER);
    let track = Track::parse(query.track.as_deref().unwrap_or_default());
    // One writer per connection; it ends when the client goes (the channel closes), at a
    // fault, or at shutdown.
    tokio::spawn(write_stream(shared, start, track, framing, tx));
    Response::builder()
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Body::from_stream(ReceiverStream::new(rx)))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

type Chunk = Result<Bytes, std::io::Error>;

fn encode(framing: Framing, id: Option<u64>, line: &[u8], out: &mut Vec<u8>) {
    match framing {
        Framing::Ndjson => {
            out.extend_from_slice(line);
            out.extend_from_slice(b"\r\n");
        }
        Framing::Sse => {
            if let Some(id) = id {
                out.extend_from_slice(format!("id: {id}\n").as_bytes());
            }
            out.extend_from_slice(b"event: post\ndata: ");
            out.extend_from_slice(line);
            out.extend_from_slice(b"\n\n");
        }
    }
}

/// Sends what is buffered; false when the client is gone.
async fn flush(tx: &mpsc::Sender<Chunk>, buf: &mut Vec<u8>, slow: Option<Duration>) -> bool {
    if buf.is_empty() {
        return true;
    }
    let bytes = Bytes::from(std::mem::take(buf));
    match slow {
        None => tx.send(Ok(bytes)).await.is_ok(),
        Some(gap) => {
            let third = (bytes.len() / 3).max(1);
            let mut at = 0;
            while at < bytes.len() {
                let end = (at + third).min(bytes.len());
                if tx.send(Ok(bytes.slice(at..end))).await.is_err() {
                    return false;
                }
                at = end;
                if at < bytes.len() {
                    tokio::time::sleep(gap).await;
                }
            }
            true
        }
    }
}

/// Cuts the connection without a clean end of the body. First waits until the server took
/// every chunk queued (up to a second) and a moment more, because an error in the body
/// makes the server drop what it has not written to the socket yet: the posts before the
/// cut reach the client, as on a real connection that breaks.
async fn cut(tx: &mpsc::Sender<Chunk>, why: &str) {
    let drained_by = Instant::now() + Duration::from_secs(1);
    while tx.capacity() < tx.max_capacity() && Instant::now() < drained_by {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
    let _ = tx
        .send(Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            why.to_owned(),
        )))
        .await;
}

async fn write_stream(
    shared: Arc<Shared>,
    mut cursor: u64,
    track: Track,
    framing: Framing,
    tx: mpsc::Sender<Chunk>,
) {
    let faults = shared.config.faults.clone();
    let unthrottled = shared.config.rate.is_none() && faults.slow.is_none();
    let keepalive: &[u8] = match framing {
        Framing::Ndjson => b"\r\n",
        Framing::Sse => b": keep-alive\n\n",
    };
    let mut buf = Vec::with_capacity(CHUNK_BYTES + 4096);
    let mut sent = 0u64;
    let mut last_write = Instant::now();
    loop {
        if shared.cancel.is_cancelled() {
            return;
        }
        if cursor >= shared.published() {
            if !buf.is_empty() {
                if !flush(&tx, &mut buf, faults.slow).await {
                    return;
                }
                last_write = Instant::now();
            }
            let keepalive_at = last_write + shared.config.keepalive;
            let wake = shared
                .publish_time(cursor)
                .map_or(keepalive_at, |t| t.min(keepalive_at));
            tokio::select! {
                () = shared.cancel.cancelled() => return,
                () = tx.closed() => return,
                () = tokio::time::sleep_until(wake) => {}
            }
            if Instant::now() >= keepalive_at {
                buf.extend_from_slice(keepalive);
                if !flush(&tx, &mut buf, None).await {
                    return;
                }
                last_write = Instant::now();
            }
            continue;
        }
        let index = cursor;
        cursor += 1;
        let post = shared.generator.post(index);
        let matched = track.matches(&post.text);
        if matched {
            // Serialising a struct of strings and numbers cannot fail.
            let line = serde_json::to_vec(&post).unwrap_or_default();
            encode(framing, Some(post.id), &line, &mut buf);
            sent += 1;
            shared.posts_sent.fetch_add(1, Ordering::Relaxed);
            if faults.duplicated(index) {
                encode(framing, Some(post.id), &line, &mut buf);
                shared.posts_sent.fetch_add(1, Ordering::Relaxed);
            }
            if faults.malformed_after(index) {
                encode(framing, None, &malformed_line(&line), &mut buf);
            }
        }
        if matched {
            if let Some((after, stall_for)) = faults.stall {
                if sent == after {
                    if !flush(&tx, &mut buf, faults.slow).await {
                        return;
                    }
                    tokio::select! {
                        () = shared.cancel.cancelled() => return,
                        () = tx.closed() => return,
                        () = tokio::time::sleep(stall_for) => {}
                    }
                    cut(&tx, "stalled, then cut by the feed simulator").await;
                    return;
                }
            }
            if faults.disconnect_after(sent) {
                if flush(&tx, &mut buf, faults.slow).await {
                    cut(&tx, "cut by the feed simulator").await;
                }
                return;
            }
        }
        if !unthrottled || buf.len() >= CHUNK_BYTES {
            if !flush(&tx, &mut buf, faults.slow).await {
                return;
            }
            last_write = Instant::now();
        }
    }
}

async fn poll(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<FeedQuery>,
) -> Response {
    if let Some(refused) = gate(&shared, "/2/posts", &headers, &query) {
        return refused;
    }
    let start = match &query.pagination_token {
        Some(token) => match token
            .strip_prefix("next-")
            .and_then(|i| i.parse::<u64>().ok())
        {
            Some(index) => index,
            None => return problem(StatusCode::BAD_REQUEST, "invalid pagination_token"),
        },
        None => start_after(query.since_id.as_deref()),
    };
    let max = query.max_results.unwrap_or(100).clamp(1, MAX_RESULTS);
    let track = Track::parse(query.track.as_deref().unwrap_or_default());
    let published = shared.published();
    let faults = &shared.config.faults;
    let mut data = Vec::new();
    let mut cursor = start;
    let mut distinct = 0;
    while cursor < published && distinct < max {
        let post = shared.generator.post(cursor);
        cursor += 1;
        if !track.matches(&post.text) {
            continue;
        }
        distinct += 1;
        if faults.duplicated(cursor - 1) {
            data.push(post.clone());
        }
        data.push(post);
    }
    let mut meta = serde_json::Map::new();
    meta.insert("result_count".into(), json!(data.len()));
    if let (Some(first), Some(last)) = (data.first(), data.last()) {
        meta.insert("oldest_id".into(), json!(first.id_str));
        meta.insert("newest_id".into(), json!(last.id_str));
    }
    if cursor < published && distinct == max {
        meta.insert("next_token".into(), json!(format!("next-{cursor}")));
    }
    let body = if data.is_empty() {
        json!({ "meta": meta })
    } else {
        json!({ "data": data, "meta": meta })
    };
    Json(body).into_response()
}

async fn stats(State(shared): State<Arc<Shared>>) -> Response {
    let requests = shared
        .log
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    Json(json!({
        "posts_sent": shared.posts_sent.load(Ordering::Relaxed),
        "published": shared.published().min(i64::MAX as u64),
        "requests": requests,
    }))
    .into_response()
}
