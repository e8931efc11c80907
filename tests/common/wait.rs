//! Waiting for an event in a test: every test that waits polls a check with a deadline
//! through these helpers, never a fixed sleep. A fixed sleep is either too short on a slow
//! machine (a flaky test) or longer than needed (a slow one), and it asserts nothing: the
//! event it stands for may never have happened.
//!
//! [`poll_until`] is the primitive (an async check that yields `Some(value)` once the event
//! happened, `Err` after the deadline, so the caller can add its own report); [`eventually`],
//! [`eventually_async`] and [`eventually_some`] panic with `what` on a timeout;
//! [`eventually_blocking`] is the same for synchronous tests and client threads.

use std::future::Future;
use std::time::{Duration, Instant};

/// How often a check is retried. Short enough that a test does not wait noticeably longer
/// than the event takes; the checks are cheap (a lock, a DescribeGroups, a try_wait).
pub const POLL_EVERY: Duration = Duration::from_millis(50);

/// The deadline passed before the check held.
#[derive(Debug)]
pub struct TimedOut {
    /// How long the check was retried.
    pub waited: Duration,
}

/// Polls the async `check` every [`POLL_EVERY`] until it returns `Some`, and returns that value;
/// `Err(TimedOut)` once `timeout` has passed without it. The check runs at least once, even
/// with a zero timeout.
pub async fn poll_until<T, F, Fut>(timeout: Duration, mut check: F) -> Result<T, TimedOut>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(value) = check().await {
            return Ok(value);
        }
        if start.elapsed() >= timeout {
            return Err(TimedOut {
                waited: start.elapsed(),
            });
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}

/// Polls `check` until it returns true; panics naming `what` after `timeout`.
pub async fn eventually(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    eventually_some(what, timeout, || check().then_some(())).await;
}

/// Polls `check` until it returns `Some`, and returns the value; panics naming `what` after
/// `timeout`.
pub async fn eventually_some<T>(
    what: &str,
    timeout: Duration,
    mut check: impl FnMut() -> Option<T>,
) -> T {
    poll_until(timeout, || std::future::ready(check()))
        .await
        .unwrap_or_else(|t| panic!("timed out after {:?} waiting for: {what}", t.waited))
}

/// Polls the async `check` (a request to the broker, a client call) until it returns true;
/// panics naming `what` after `timeout`.
pub async fn eventually_async<F, Fut>(what: &str, timeout: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    poll_until(timeout, || {
        let fut = check();
        async move { fut.await.then_some(()) }
    })
    .await
    .unwrap_or_else(|t| panic!("timed out after {:?} waiting for: {what}", t.waited));
}

/// [`eventually`] for synchronous code (`#[test]` functions, client threads): blocks the
/// calling thread between checks.
pub fn eventually_blocking(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(
            start.elapsed() < timeout,
            "timed out after {:?} waiting for: {what}",
            start.elapsed()
        );
        std::thread::sleep(POLL_EVERY);
    }
}
