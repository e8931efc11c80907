//! The single-writer middleware (see [`crate::leader`]): a write request
//! reaching a follower is sent on to the writer and the writer's answer is
//! returned; reads pass through everywhere.
//!
//! Writes are `PUT` and `DELETE` requests and `POST /subjects/{s}/versions`;
//! the other `POST`s (schema lookup, compatibility checks) only read. A
//! forwarded request carries [`FORWARDED_HEADER`]; an instance that gets one
//! while not the writer answers 50004 instead of forwarding again, so a stale
//! writer URL can never make requests loop.

use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{read_body, Shared};
use crate::error::ApiError;
use crate::leader::Role;

/// Marks a request forwarded by a follower.
pub const FORWARDED_HEADER: &str = "x-fjord-forwarded";

fn is_write(method: &Method, path: &str) -> bool {
    match *method {
        Method::PUT | Method::DELETE => true,
        Method::POST => path.starts_with("/subjects/") && path.ends_with("/versions"),
        _ => false,
    }
}

/// Runs writes on the writer: here when this instance is it, else forwarded.
pub async fn single_writer(State(app): State<Shared>, req: Request, next: Next) -> Response {
    if !is_write(req.method(), req.uri().path()) {
        return next.run(req).await;
    }
    let forwarded = req.headers().contains_key(FORWARDED_HEADER);
    let deadline = Instant::now() + app.timeout;
    let mut role = app.role.clone();
    let settled = async move { role.wait_for(|r| *r != Role::Joining).await.map(|r| *r) };
    let current = match tokio::time::timeout_at(deadline.into(), settled).await {
        Ok(Ok(r)) => r,
        _ => return ApiError::unknown_leader().into_response(),
    };
    match current {
        Role::Writer => next.run(req).await,
        _ if forwarded => ApiError::unknown_leader().into_response(),
        _ => match forward(&app, req, deadline).await {
            Ok(response) => response,
            Err(e) => e.into_response(),
        },
    }
}

async fn forward(app: &Shared, req: Request, deadline: Instant) -> Result<Response, ApiError> {
    let method = req.method().clone();
    let path = req
        .uri()
        .path_and_query()
        .map_or_else(|| req.uri().path().to_owned(), |p| p.as_str().to_owned());
    let content_type = req.headers().get(axum::http::header::CONTENT_TYPE).cloned();
    let body = read_body(req).await?;
    loop {
        // The writer's URL comes from `_schemas`; right after an election it
        // may still name an instance that is gone, so retry until the new
        // writer's announcement arrives or time is up.
        let leader = app.store.read().leader().map(str::to_owned);
        let attempt = match leader {
            Some(url) if url != app.url => Some(
                send(
                    app,
                    &url,
                    &method,
                    &path,
                    content_type.clone(),
                    body.clone(),
                )
                .await,
            ),
            _ => None,
        };
        match attempt {
            Some(Ok(response)) => {
                if response.status().is_success() {
                    app.store.catch_up().await?;
                }
                return Ok(response);
            }
            Some(Err(e)) if Instant::now() >= deadline => return Err(ApiError::forwarding(e)),
            None if Instant::now() >= deadline => return Err(ApiError::unknown_leader()),
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
        if *app.role.borrow() == Role::Writer {
            return Err(ApiError::unknown_leader());
        }
    }
}

async fn send(
    app: &Shared,
    leader: &str,
    method: &Method,
    path: &str,
    content_type: Option<HeaderValue>,
    body: axum::body::Bytes,
) -> Result<Response, reqwest::Error> {
    let url = format!("{}{path}", leader.trim_end_matches('/'));
    let method =
        reqwest::Method::from_bytes(method.as_str().as_bytes()).unwrap_or(reqwest::Method::POST);
    let mut request = app
        .http
        .request(method, url)
        .header(FORWARDED_HEADER, "1")
        .timeout(app.timeout)
        .body(body);
    if let Some(ct) = content_type.and_then(|c| c.to_str().ok().map(str::to_owned)) {
        request = request.header(reqwest::header::CONTENT_TYPE, ct);
    }
    let answer = request.send().await?;
    let status = StatusCode::from_u16(answer.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let content_type = answer.headers().get(reqwest::header::CONTENT_TYPE).cloned();
    let bytes = answer.bytes().await?;
    let mut response = (status, bytes).into_response();
    if let Some(ct) = content_type.and_then(|c| HeaderValue::from_bytes(c.as_bytes()).ok()) {
        response
            .headers_mut()
            .insert(axum::http::header::CONTENT_TYPE, ct);
    }
    Ok(response)
}
