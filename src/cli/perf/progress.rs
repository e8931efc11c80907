//! The live progress line a benchmark shows on stderr while it runs, drawn by `indicatif`.
//!
//! The benchmark loop (and its delivery callbacks) only bump an atomic counter: that is the
//! cheapest thing a hot loop can do, and the counter is the figure the modes read back. A
//! sampling thread copies it into the bar every 250 ms; `indicatif` draws the line (count,
//! total when known, rate, elapsed time) and rewrites it in place. On a stderr that is not a
//! terminal (a log file) `indicatif` draws nothing, so logs hold only the summary. Nothing is
//! drawn with `quiet`. The line is cleared when the [`Progress`] is finished or dropped, before
//! the summary goes to stdout.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How often the counter is copied into the bar (and so how often the line can change).
const SAMPLE_EVERY: Duration = Duration::from_millis(250);

/// The line when the total is known: `produce: 1.23M/5M records, 456789/s, 3s`.
const WITH_TOTAL: &str = "{prefix}: {human_pos}/{human_len} records, {per_sec}, {elapsed}";
/// The line when it is not.
const OPEN_ENDED: &str = "{prefix}: {human_pos} records, {per_sec}, {elapsed}";

/// A running progress line.
#[derive(Debug)]
pub struct Progress {
    counter: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Progress {
    /// Starts showing progress towards `total` records (if known) of a new counter.
    pub fn start(label: &str, total: Option<u64>, quiet: bool) -> Progress {
        Progress::with_counter(label, total, Arc::new(AtomicU64::new(0)), quiet)
    }

    /// Starts showing progress of `counter`, which callbacks may already hold.
    pub fn with_counter(
        label: &str,
        total: Option<u64>,
        counter: Arc<AtomicU64>,
        quiet: bool,
    ) -> Progress {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = (!quiet).then(|| {
            let bar = bar(label, total);
            let (counter, stop) = (counter.clone(), stop.clone());
            std::thread::Builder::new()
                .name("perf-progress".into())
                .spawn(move || sample_loop(&bar, &counter, &stop))
                // Without a progress line the benchmark still runs; say so and go on.
                .map_err(|e| eprintln!("warning: no progress line: {e}"))
                .ok()
        });
        Progress {
            counter,
            stop,
            thread: thread.flatten(),
        }
    }

    /// The counter the benchmark loop adds to.
    pub fn counter(&self) -> Arc<AtomicU64> {
        self.counter.clone()
    }

    /// Stops showing progress and clears the line.
    pub fn finish(mut self) {
        self.stop_thread();
    }

    fn stop_thread(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop_thread();
    }
}

/// The bar, drawn on stderr.
fn bar(label: &str, total: Option<u64>) -> ProgressBar {
    let template = if total.is_some() {
        WITH_TOTAL
    } else {
        OPEN_ENDED
    };
    let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr());
    // The template is a constant using only indicatif's own keys; a failure would be a bug
    // caught by the unit test below, and the default style is a fine fallback.
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar.set_prefix(label.to_owned());
    bar
}

fn sample_loop(bar: &ProgressBar, counter: &AtomicU64, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        bar.set_position(counter.load(Ordering::Relaxed));
        std::thread::park_timeout(SAMPLE_EVERY);
    }
    bar.finish_and_clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_are_valid() {
        for template in [WITH_TOTAL, OPEN_ENDED] {
            assert!(ProgressStyle::with_template(template).is_ok(), "{template}");
        }
    }

    #[test]
    fn quiet_progress_counts_without_a_thread() {
        let p = Progress::start("x", Some(10), true);
        p.counter().fetch_add(3, Ordering::Relaxed);
        assert!(p.thread.is_none());
        assert_eq!(p.counter.load(Ordering::Relaxed), 3);
        p.finish();
    }

    #[test]
    fn a_shown_progress_stops_and_joins() {
        let p = Progress::start("x", None, false);
        p.counter().fetch_add(5, Ordering::Relaxed);
        assert!(p.thread.is_some());
        p.finish();
    }
}
