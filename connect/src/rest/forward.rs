//! Leader forwarding. A distributed worker's herder answers a request only the leader may
//! serve with [`HerderError::NotLeader`](crate::herder::HerderError::NotLeader); this layer
//! then sends the same request (method, path, query, body) to the leader and relays its
//! status and body, as Kafka's `HerderRequestHandler.completeOrForwardRequest` does.
//!
//! Kafka's `forward` query parameter bounds the hops: a user's request (no `forward`) goes
//! on with `forward=true`; a request with `forward=true` that meets NotLeader again may go
//! one more hop, with `forward=false`; one with `forward=false` is answered with 409. Two
//! hops resolve a request unless the group is rebalancing, and forwarding never loops.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::Response;

use super::connectors::location;
use super::error::{error_response, ForwardTo};

/// The largest request body the API reads (connector configs are a few kB; Jersey has no
/// limit, this keeps one client from holding a worker's memory).
pub(crate) const BODY_LIMIT: usize = 8 * 1024 * 1024;

/// How long a forwarded request may take: 90 s, the timeout of Kafka's REST client.
const FORWARD_TIMEOUT: Duration = Duration::from_secs(90);

/// The headers a forwarded request carries on (Kafka forwards `Authorization` too).
const FORWARDED_HEADERS: [header::HeaderName; 3] =
    [header::CONTENT_TYPE, header::ACCEPT, header::AUTHORIZATION];

/// The client the forwarding layer sends with: one per router, so connections to the leader
/// are pooled.
#[derive(Clone)]
pub(crate) struct Forwarder {
    client: reqwest::Client,
}

impl Forwarder {
    /// A client with Kafka's forwarding timeout.
    pub(crate) fn new() -> Self {
        let client = reqwest::Client::builder()
            .timeout(FORWARD_TIMEOUT)
            .build()
            // Building fails only when the TLS backend or system resolver cannot load; this
            // client has neither (no TLS feature), so the default client is the same client.
            .unwrap_or_else(|_| reqwest::Client::new());
        Forwarder { client }
    }
}

/// The forwarding layer: buffers the body (so it can be sent again), runs the handler, and
/// when the handler's answer carries [`ForwardTo`], answers with the leader's instead.
pub(crate) async fn forward_to_leader(
    State(forwarder): State<Forwarder>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|length| length > BODY_LIMIT) {
        return too_large();
    }
    let body = match axum::body::to_bytes(body, BODY_LIMIT).await {
        Ok(bytes) => bytes,
        Err(e) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                format!("Could not read the request body: {e}"),
            )
        }
    };
    let method = parts.method.clone();
    let uri = parts.uri.clone();
    let headers = parts.headers.clone();
    let response = next
        .run(Request::from_parts(parts, Body::from(body.clone())))
        .await;
    let Some(target) = response.extensions().get::<ForwardTo>().cloned() else {
        return response;
    };
    forwarder
        .forward(&target.leader_url, method, &uri, &headers, body)
        .await
}

fn too_large() -> Response {
    error_response(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("The request body is larger than {BODY_LIMIT} bytes"),
    )
}

/// What to do with a request the leader must answer, from its `forward` parameter.
#[derive(Debug, PartialEq, Eq)]
enum Hop {
    /// Send it on with `forward=<this>`.
    Next(bool),
    /// Two hops were not enough: answer 409.
    Refuse,
}

/// Kafka's rule: no `forward` goes on as `forward=true`, `true` as `forward=false`, and
/// anything else (JAX-RS reads a `Boolean` that is not "true" as false) stops here.
fn hop(query: Option<&str>) -> Hop {
    let forward = query.unwrap_or_default().split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (key == "forward").then_some(value)
    });
    match forward {
        None => Hop::Next(true),
        Some(v) if v.eq_ignore_ascii_case("true") => Hop::Next(false),
        Some(_) => Hop::Refuse,
    }
}

/// The leader's URL for this request: its base, the same path, the same query with
/// `forward` replaced.
fn forward_url(leader_url: &str, uri: &Uri, forward: bool) -> String {
    let mut pairs: Vec<&str> = uri
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|pair| !pair.is_empty())
        .filter(|pair| pair.split_once('=').map_or(*pair, |(k, _)| k) != "forward")
        .collect();
    let flag = format!("forward={forward}");
    pairs.push(&flag);
    format!(
        "{}{}?{}",
        leader_url.trim_end_matches('/'),
        uri.path(),
        pairs.join("&")
    )
}

impl Forwarder {
    async fn forward(
        &self,
        leader_url: &str,
        method: Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: Bytes,
    ) -> Response {
        if leader_url.is_empty() {
            return error_response(
                StatusCode::CONFLICT,
                "Cannot complete request momentarily due to no known leader URL, likely because a rebalance was underway."
                    .to_owned(),
            );
        }
        let forward = match hop(uri.query()) {
            Hop::Next(forward) => forward,
            Hop::Refuse => {
                return error_response(
                    StatusCode::CONFLICT,
                    "Cannot complete request because of a conflicting operation (e.g. worker rebalance)"
                        .to_owned(),
                )
            }
        };
        let url = forward_url(leader_url, uri, forward);
        tracing::debug!(%method, %url, "forwarding REST request to the leader");
        let mut request = self.client.request(method, &url).body(body);
        for name in FORWARDED_HEADERS {
            for value in headers.get_all(&name) {
                request = request.header(&name, value);
            }
        }
        let answer = match request.send().await {
            Ok(answer) => answer,
            Err(e) => return forward_failed(&e),
        };
        let status = answer.status();
        let content_type = answer.headers().get(header::CONTENT_TYPE).cloned();
        let leader_location = answer.headers().get(header::LOCATION).cloned();
        let bytes = match answer.bytes().await {
            Ok(bytes) => bytes,
            Err(e) => return forward_failed(&e),
        };
        let mut response = Response::new(Body::from(bytes));
        *response.status_mut() = status;
        if let Some(value) = content_type {
            response.headers_mut().insert(header::CONTENT_TYPE, value);
        }
        // Kafka builds `Location` on the worker the user asked, not the leader.
        if let Some(local) = leader_location.and_then(|l| local_location(headers, &l)) {
            response.headers_mut().insert(header::LOCATION, local);
        }
        response
    }
}

fn local_location(headers: &HeaderMap, leader_location: &HeaderValue) -> Option<HeaderValue> {
    let uri: Uri = leader_location.to_str().ok()?.parse().ok()?;
    HeaderValue::from_str(&location(headers, uri.path())).ok()
}

fn forward_failed(error: &reqwest::Error) -> Response {
    tracing::warn!(%error, "forwarding a REST request to the leader failed");
    error_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        format!("IO Error trying to forward REST request: {error}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarding_takes_at_most_two_hops() {
        assert_eq!(hop(None), Hop::Next(true));
        assert_eq!(hop(Some("expand=status")), Hop::Next(true));
        assert_eq!(hop(Some("a=1&forward=TRUE")), Hop::Next(false));
        assert_eq!(hop(Some("forward=false")), Hop::Refuse);
        assert_eq!(hop(Some("forward")), Hop::Refuse);
    }

    #[test]
    fn the_leader_url_keeps_path_and_query_and_replaces_forward() {
        let uri: Uri = "/connectors/a/restart?includeTasks=true&forward=true"
            .parse()
            .unwrap();
        assert_eq!(
            forward_url("http://leader:8083/", &uri, false),
            "http://leader:8083/connectors/a/restart?includeTasks=true&forward=false"
        );
        let bare: Uri = "/connectors".parse().unwrap();
        assert_eq!(
            forward_url("http://leader:8083", &bare, true),
            "http://leader:8083/connectors?forward=true"
        );
    }
}
