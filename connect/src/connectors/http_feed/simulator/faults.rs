//! The simulator's fault modes: what real feeds do to a client, on demand and reproducibly.
//!
//! `--faults` takes comma-separated items:
//!
//! | item | effect |
//! |---|---|
//! | `disconnect:N` | a stream connection is cut (no clean end) after every N posts it sent |
//! | `stall:N:SECS` | after N posts a stream connection sends nothing, not even keep-alives, for SECS, then is cut |
//! | `429:N:SECS` | every N-th request is answered `429 Too Many Requests` with `Retry-After: SECS` |
//! | `5xx:N` | every N-th request is answered `503 Service Unavailable` (a 429 wins when both apply) |
//! | `malformed:N` | after every N-th post of the feed a line that is not JSON (streams only) |
//! | `duplicate:N` | every N-th post of the feed is sent twice |
//! | `slow:MS` | each line is written in three pieces, MS apart (a slow server; lines span reads) |
//!
//! Counting is by request number (from 1, over the feed endpoints) and by the post's index
//! in the feed, so a run with the same seed and faults misbehaves the same way.

use std::time::Duration;

/// A set of faults; the default has none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Faults {
    /// Cut a stream after every this many posts.
    pub disconnect_every: Option<u64>,
    /// After this many posts, stall for this long, then cut.
    pub stall: Option<(u64, Duration)>,
    /// Every this many requests a 429 with this `Retry-After` (seconds).
    pub throttle: Option<(u64, u64)>,
    /// Every this many requests a 503.
    pub unavailable_every: Option<u64>,
    /// A malformed line after every this many posts.
    pub malformed_every: Option<u64>,
    /// Every this many posts is sent twice.
    pub duplicate_every: Option<u64>,
    /// Lines in pieces this far apart.
    pub slow: Option<Duration>,
}

fn every(n: Option<u64>, count: u64) -> bool {
    n.is_some_and(|n| n > 0 && count > 0 && count.is_multiple_of(n))
}

impl Faults {
    /// Parses `--faults` (see the module docs).
    ///
    /// # Errors
    /// An unknown item or a bad number, with the item.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut faults = Faults::default();
        for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let parts: Vec<&str> = item.split(':').collect();
            let num = |i: usize| -> Result<u64, String> {
                parts
                    .get(i)
                    .and_then(|p| p.trim().parse::<u64>().ok())
                    .filter(|&n| n > 0)
                    .ok_or_else(|| {
                        format!("fault '{item}': expected a positive number in place {i}")
                    })
            };
            match (parts[0], parts.len()) {
                ("disconnect", 2) => faults.disconnect_every = Some(num(1)?),
                ("stall", 3) => faults.stall = Some((num(1)?, Duration::from_secs(num(2)?))),
                ("429", 3) => faults.throttle = Some((num(1)?, num(2)?)),
                ("5xx", 2) => faults.unavailable_every = Some(num(1)?),
                ("malformed", 2) => faults.malformed_every = Some(num(1)?),
                ("duplicate", 2) => faults.duplicate_every = Some(num(1)?),
                ("slow", 2) => faults.slow = Some(Duration::from_millis(num(1)?)),
                _ => {
                    return Err(format!(
                        "unknown fault '{item}'; use disconnect:N, stall:N:SECS, 429:N:SECS, 5xx:N, malformed:N, duplicate:N or slow:MS"
                    ))
                }
            }
        }
        Ok(faults)
    }

    /// The status to answer request number `n` (from 1) with instead of serving it, and its
    /// `Retry-After` seconds.
    pub fn refuse(&self, n: u64) -> Option<(u16, Option<u64>)> {
        if let Some((every_n, after)) = self.throttle {
            if every(Some(every_n), n) {
                return Some((429, Some(after)));
            }
        }
        every(self.unavailable_every, n).then_some((503, None))
    }

    /// Whether a malformed line follows post `index`.
    pub fn malformed_after(&self, index: u64) -> bool {
        every(self.malformed_every, index + 1)
    }

    /// Whether post `index` is sent twice.
    pub fn duplicated(&self, index: u64) -> bool {
        every(self.duplicate_every, index + 1)
    }

    /// Whether a connection is cut once it sent `sent` posts.
    pub fn disconnect_after(&self, sent: u64) -> bool {
        every(self.disconnect_every, sent)
    }
}

/// The line that follows a post when it is malformed: the post's first half.
pub fn malformed_line(post_json: &[u8]) -> Vec<u8> {
    let mut line = post_json[..post_json.len() / 2].to_vec();
    line.retain(|&b| b != b'\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_parse_and_count_from_one() {
        let f = Faults::parse(
            "disconnect:100, stall:5:30,429:3:2,5xx:4,malformed:50,duplicate:7,slow:5",
        )
        .unwrap();
        assert_eq!(f.disconnect_every, Some(100));
        assert_eq!(f.stall, Some((5, Duration::from_secs(30))));
        assert_eq!(f.refuse(1), None);
        assert_eq!(f.refuse(3), Some((429, Some(2))));
        assert_eq!(f.refuse(4), Some((503, None)));
        assert_eq!(f.refuse(12), Some((429, Some(2))));
        assert!(f.malformed_after(49) && !f.malformed_after(50));
        assert!(f.duplicated(6));
        assert!(f.disconnect_after(200) && !f.disconnect_after(0));
        assert_eq!(f.slow, Some(Duration::from_millis(5)));
        assert_eq!(Faults::parse("").unwrap(), Faults::default());
        assert!(Faults::parse("explode:1")
            .unwrap_err()
            .contains("unknown fault"));
        assert!(Faults::parse("5xx:zero").is_err());
        assert!(serde_json::from_slice::<serde_json::Value>(&malformed_line(
            br#"{"id":1,"text":"hello"}"#
        ))
        .is_err());
    }
}
