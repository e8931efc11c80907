//! How long the connector waits before reconnecting: exponential backoff with "equal
//! jitter" (half the delay fixed, half random, so reconnecting clients spread out but never
//! retry at once), reset after a connection that delivered; and a server's `Retry-After`
//! (seconds, or an HTTP date), which sets a floor under the wait.

use std::time::Duration;

use super::rng::SplitMix64;

/// Exponential backoff with jitter between reconnects.
#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    attempt: u32,
    rng: SplitMix64,
}

impl Backoff {
    /// Delays from `initial`, doubling per failed attempt, capped at `max`.
    pub fn new(initial: Duration, max: Duration) -> Self {
        Self {
            initial,
            max: max.max(initial),
            attempt: 0,
            rng: SplitMix64::from_entropy(),
        }
    }

    /// The wait before the next attempt: the capped exponential delay `d`, jittered within
    /// `[d/2, d]`.
    pub fn next_delay(&mut self) -> Duration {
        let factor = 2u32.saturating_pow(self.attempt.min(30));
        let capped = self.initial.saturating_mul(factor).min(self.max);
        self.attempt = self.attempt.saturating_add(1);
        capped / 2 + capped.mul_f64(self.rng.unit() / 2.0)
    }

    /// A connection worked: the next failure starts from `initial` again.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    /// Failed attempts since the last reset.
    pub fn attempts(&self) -> u32 {
        self.attempt
    }
}

/// A `Retry-After` value: delay-seconds, or an HTTP date (`Wed, 21 Oct 2026 07:28:00 GMT`)
/// measured from `now_ms`.
pub fn retry_after(value: &str, now_ms: i64) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let numeric = value.strip_suffix("GMT")?.trim_end().to_owned() + " +0000";
    let at = jiff::fmt::strtime::parse("%a, %d %b %Y %H:%M:%S %z", numeric)
        .ok()?
        .to_timestamp()
        .ok()?
        .as_millisecond();
    Some(Duration::from_millis(
        u64::try_from(at - now_ms).unwrap_or(0),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_within_jitter_up_to_the_cap_and_reset() {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_millis(1000));
        for expected in [100u64, 200, 400, 800, 1000, 1000] {
            let d = backoff.next_delay().as_millis() as u64;
            assert!(d >= expected / 2 && d <= expected, "{d} for {expected}");
        }
        backoff.reset();
        assert!(backoff.next_delay() <= Duration::from_millis(100));
    }

    #[test]
    fn retry_after_takes_seconds_and_http_dates() {
        assert_eq!(retry_after("3", 0), Some(Duration::from_secs(3)));
        let now = "2026-10-21T07:27:58Z"
            .parse::<jiff::Timestamp>()
            .unwrap()
            .as_millisecond();
        assert_eq!(
            retry_after("Wed, 21 Oct 2026 07:28:00 GMT", now),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            retry_after("Wed, 21 Oct 2026 07:28:00 GMT", now + 5000),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after("soon", 0), None);
    }
}
