//! Wall-clock time as the log and the protocol count it: milliseconds since the Unix epoch.
//!
//! One home for the broker's clock reads, so the code that needs a time (appends, retention,
//! compaction, group sessions) takes it from here and tests can pass their own instead.

/// Milliseconds since the Unix epoch; 0 if the system clock is before the epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_is_after_2024() {
        assert!(now_ms() > 1_704_067_200_000);
    }
}
