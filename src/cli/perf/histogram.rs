//! A fixed-size latency histogram with about 0.8% relative precision.
//!
//! Values (microseconds in `fjord perf`) below 256 are counted exactly; above that each power
//! of two is split into 128 buckets, as HdrHistogram does with two significant digits. The
//! whole `u64` range fits in 7,424 counters (58 KiB), so recording is one index computation
//! and one increment, with no allocation while a benchmark runs.

/// log2 of the number of buckets each power of two above the exact range is split into.
const SUB_BUCKET_BITS: u32 = 7;
/// Buckets per power of two above the exact range.
const SUB_BUCKETS: usize = 1 << SUB_BUCKET_BITS;
/// Values below this are counted exactly, one bucket each.
const EXACT_LIMIT: u64 = 1 << (SUB_BUCKET_BITS + 1);
/// Enough buckets for any `u64`: the exact range plus 56 halved powers of two.
const BUCKETS: usize = (64 - SUB_BUCKET_BITS as usize) * SUB_BUCKETS + SUB_BUCKETS;

/// Counts of recorded values, bucketed.
#[derive(Clone)]
pub struct Histogram {
    counts: Box<[u64]>,
    total: u64,
    min: u64,
    max: u64,
    sum: u128,
}

impl std::fmt::Debug for Histogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Histogram")
            .field("total", &self.total)
            .field("min", &self.min)
            .field("max", &self.max)
            .finish_non_exhaustive()
    }
}

impl Default for Histogram {
    fn default() -> Self {
        Self::new()
    }
}

impl Histogram {
    /// An empty histogram.
    pub fn new() -> Self {
        Histogram {
            counts: vec![0; BUCKETS].into_boxed_slice(),
            total: 0,
            min: u64::MAX,
            max: 0,
            sum: 0,
        }
    }

    /// Records one value.
    pub fn record(&mut self, value: u64) {
        self.counts[bucket_of(value)] += 1;
        self.total += 1;
        self.min = self.min.min(value);
        self.max = self.max.max(value);
        self.sum += u128::from(value);
    }

    /// How many values were recorded.
    pub fn count(&self) -> u64 {
        self.total
    }

    /// The largest value recorded, exactly; 0 if none.
    pub fn max(&self) -> u64 {
        self.max
    }

    /// The mean of the recorded values; 0 if none.
    pub fn mean(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.sum as f64 / self.total as f64
        }
    }

    /// The value at quantile `q` (0.0..=1.0): the middle of the bucket holding the
    /// `ceil(q * count)`-th smallest value, clamped to the exact minimum and maximum; 0 if
    /// nothing was recorded.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0u64;
        for (index, &count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                let (low, high) = bucket_range(index);
                let middle = low + (high - low) / 2;
                return middle.clamp(self.min, self.max);
            }
        }
        self.max
    }
}

/// The bucket that counts `value`.
fn bucket_of(value: u64) -> usize {
    if value < EXACT_LIMIT {
        return value as usize;
    }
    // value >= 256, so the highest set bit is at least SUB_BUCKET_BITS + 1.
    let msb = 63 - value.leading_zeros();
    let shift = msb - SUB_BUCKET_BITS;
    let sub = (value >> shift) as usize & (SUB_BUCKETS - 1);
    ((shift as usize + 1) << SUB_BUCKET_BITS) + sub
}

/// The lowest and highest value counted by bucket `index`.
fn bucket_range(index: usize) -> (u64, u64) {
    if (index as u64) < EXACT_LIMIT {
        return (index as u64, index as u64);
    }
    let shift = (index >> SUB_BUCKET_BITS) - 1;
    let sub = (index & (SUB_BUCKETS - 1)) as u64;
    let low = (SUB_BUCKETS as u64 + sub) << shift;
    (low, low + ((1u64 << shift) - 1))
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)] // Tests may panic on failure.
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_cover_u64() {
        let mut expected_low = 0u64;
        for index in 0..BUCKETS {
            let (low, high) = bucket_range(index);
            assert_eq!(low, expected_low, "bucket {index}");
            assert_eq!(bucket_of(low), index);
            assert_eq!(bucket_of(high), index);
            expected_low = high.wrapping_add(1);
        }
        assert_eq!(expected_low, 0, "the last bucket ends at u64::MAX");
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn quantiles_are_within_one_percent() {
        let mut h = Histogram::new();
        for v in 1..=100_000u64 {
            h.record(v);
        }
        assert_eq!(h.count(), 100_000);
        assert_eq!(h.max(), 100_000);
        for (q, want) in [(0.5, 50_000.0), (0.99, 99_000.0), (0.999, 99_900.0)] {
            let got = h.quantile(q) as f64;
            assert!((got - want).abs() / want < 0.01, "q{q}: {got} vs {want}");
        }
        assert_eq!(h.quantile(1.0), 100_000);
        assert_eq!(h.quantile(0.0), 1);
        assert!((h.mean() - 50_000.5).abs() < 1e-6);
    }

    #[test]
    fn small_values_are_exact() {
        let mut a = Histogram::new();
        assert_eq!(a.quantile(0.5), 0);
        a.record(3);
        a.record(7);
        a.record(7);
        assert_eq!(a.count(), 3);
        assert_eq!(a.quantile(0.5), 7);
        assert_eq!(a.quantile(0.1), 3);
        assert_eq!(a.max(), 7);
    }
}
