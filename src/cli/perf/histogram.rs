//! Latency histograms for `fjord perf`: `hdrhistogram`'s, made one way for every mode so their
//! figures compare.
//!
//! Values are microseconds. The range (1 µs to 1 hour) is fixed up front so recording never
//! allocates while a benchmark runs (an auto-resizing histogram grows mid-run), and a value
//! outside it is clamped rather than lost (`saturating_record`). Three significant figures
//! give 0.1% precision: finer than any latency difference worth reporting.

/// A histogram of microseconds.
pub type Histogram = hdrhistogram::Histogram<u64>;

/// Longest latency recorded as itself, in microseconds (one hour); longer ones count as this.
const MAX_MICROS: u64 = 3_600_000_000;

/// An empty latency histogram (about 200 KiB of counters, allocated here).
pub fn latency() -> Histogram {
    // Bounds 1..=MAX_MICROS with 3 significant figures are valid for hdrhistogram (low >= 1,
    // high >= 2 * low, sigfig <= 5), so creation cannot fail.
    #[allow(clippy::expect_used)]
    Histogram::new_with_bounds(1, MAX_MICROS, 3).expect("valid histogram bounds")
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)] // Tests may panic on failure.
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_within_a_tenth_of_a_percent() {
        let mut h = latency();
        for v in 1..=100_000u64 {
            h.saturating_record(v);
        }
        assert_eq!(h.len(), 100_000);
        assert_eq!(h.max(), h.highest_equivalent(100_000));
        for (q, want) in [(0.5, 50_000.0), (0.99, 99_000.0), (0.999, 99_900.0)] {
            let got = h.value_at_quantile(q) as f64;
            assert!((got - want).abs() / want < 0.001, "q{q}: {got} vs {want}");
        }
        assert!((h.mean() - 50_000.5).abs() / 50_000.5 < 0.001);
    }

    #[test]
    fn out_of_range_values_are_clamped_not_lost() {
        let mut h = latency();
        h.saturating_record(0);
        h.saturating_record(u64::MAX);
        assert_eq!(h.len(), 2);
        assert!(h.max() >= MAX_MICROS);
    }
}
