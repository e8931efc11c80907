//! Waiting for a condition under a deadline: the kit's only way to wait, so a test either
//! sees the event or fails saying what it waited for and how long, never a fixed sleep.

use std::future::Future;
use std::time::{Duration, Instant};

/// How often a condition is checked again. Short enough that a test does not wait much
/// longer than the event takes; the checks are meant to be cheap (a fetch, an HTTP call).
const POLL_EVERY: Duration = Duration::from_millis(50);

/// Polls `check` until it yields `Some`, and returns that value; an error naming `what` once
/// `deadline` has passed without it. The check runs at least once, even with a zero deadline.
///
/// # Errors
/// The deadline passed.
///
/// # Cancel safety
/// Cancel safe whenever `check`'s futures are.
pub async fn wait_for<T, F, Fut>(what: &str, deadline: Duration, mut check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(value) = check().await {
            return Ok(value);
        }
        if start.elapsed() >= deadline {
            anyhow::bail!("timed out after {:?} waiting for {what}", start.elapsed());
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}

/// Polls `check` until it returns true; an error naming `what` once `deadline` has passed.
///
/// # Errors
/// The deadline passed.
///
/// # Cancel safety
/// Cancel safe whenever `check`'s futures are.
pub async fn wait_until<F, Fut>(what: &str, deadline: Duration, mut check: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    wait_for(what, deadline, || {
        let fut = check();
        async move { fut.await.then_some(()) }
    })
    .await
}
