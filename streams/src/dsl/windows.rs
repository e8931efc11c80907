//! Time windows: tumbling and hopping, with a grace period.

use std::time::Duration;

/// A window of time: `[start, end)` in ms since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Window {
    /// Inclusive start.
    pub start: i64,
    /// Exclusive end.
    pub end: i64,
}

/// A key within a window: the key of windowed aggregates.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Windowed<K> {
    /// The record key.
    pub key: K,
    /// The window.
    pub window: Window,
}

/// Fixed-size windows: tumbling (advance = size) or hopping (advance < size).
///
/// A record at time `t` belongs to every window with `start <= t < start +
/// size`, window starts being multiples of the advance. A window accepts
/// records until stream time reaches `end + grace`; later ones are dropped
/// and counted in `dropped_records`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeWindows {
    pub(crate) size: i64,
    pub(crate) advance: i64,
    pub(crate) grace: i64,
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl TimeWindows {
    /// Tumbling windows of `size` that accept no late records.
    pub fn of_size_with_no_grace(size: Duration) -> Self {
        Self::of_size_and_grace(size, Duration::ZERO)
    }

    /// Tumbling windows of `size` that accept records up to `grace` after
    /// they end.
    pub fn of_size_and_grace(size: Duration, grace: Duration) -> Self {
        let size = ms(size).max(1);
        TimeWindows {
            size,
            advance: size,
            grace: ms(grace),
        }
    }

    /// Hopping windows: a new window every `advance` (at most the size).
    pub fn advance_by(mut self, advance: Duration) -> Self {
        self.advance = ms(advance).clamp(1, self.size);
        self
    }

    /// The window size in ms.
    pub fn size_ms(&self) -> i64 {
        self.size
    }

    /// The grace period in ms.
    pub fn grace_ms(&self) -> i64 {
        self.grace
    }

    /// The starts of the windows `timestamp` falls in, earliest first.
    pub fn starts_for(&self, timestamp: i64) -> Vec<i64> {
        let mut start = (timestamp - self.size + self.advance).max(0) / self.advance * self.advance;
        let mut out = Vec::new();
        while start <= timestamp {
            out.push(start);
            start += self.advance;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tumbling_windows_hold_each_time_once() {
        let w = TimeWindows::of_size_with_no_grace(Duration::from_secs(60));
        assert_eq!(w.starts_for(0), vec![0]);
        assert_eq!(w.starts_for(59_999), vec![0]);
        assert_eq!(w.starts_for(60_000), vec![60_000]);
    }

    #[test]
    fn hopping_windows_overlap() {
        let w = TimeWindows::of_size_with_no_grace(Duration::from_secs(10))
            .advance_by(Duration::from_secs(5));
        assert_eq!(w.starts_for(12_000), vec![5_000, 10_000]);
        assert_eq!(w.starts_for(3_000), vec![0]);
    }
}
