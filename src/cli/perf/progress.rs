//! The live progress line a benchmark prints on stderr while it runs.
//!
//! The benchmark loop only bumps an atomic counter; a separate thread samples it and
//! prints `label: done/total records, rate/s (current rate/s)`. On a terminal the line is
//! rewritten in place every 250 ms with `\r`; otherwise (a log file) a full line is written
//! every 2 seconds, so logs stay readable. Nothing is printed with `quiet`. The line is
//! cleared when the [`Progress`] is finished or dropped, before the summary goes to stdout.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A running progress printer.
#[derive(Debug)]
pub struct Progress {
    counter: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Progress {
    /// Starts printing progress towards `total` records (if known) of a new counter.
    pub fn start(label: &str, total: Option<u64>, quiet: bool) -> Progress {
        Progress::with_counter(label, total, Arc::new(AtomicU64::new(0)), quiet)
    }

    /// Starts printing progress of `counter`, which callbacks may already hold.
    pub fn with_counter(
        label: &str,
        total: Option<u64>,
        counter: Arc<AtomicU64>,
        quiet: bool,
    ) -> Progress {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = (!quiet).then(|| {
            let (counter, stop, label) = (counter.clone(), stop.clone(), label.to_owned());
            std::thread::Builder::new()
                .name("perf-progress".into())
                .spawn(move || print_loop(&label, total, &counter, &stop))
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

    /// Stops printing and clears the line.
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

fn print_loop(label: &str, total: Option<u64>, counter: &AtomicU64, stop: &AtomicBool) {
    let terminal = std::io::stderr().is_terminal();
    let every = if terminal {
        Duration::from_millis(250)
    } else {
        Duration::from_secs(2)
    };
    let started = Instant::now();
    let (mut last_count, mut last_at) = (0u64, started);
    let mut printed = false;
    loop {
        std::thread::park_timeout(every);
        if stop.load(Ordering::Relaxed) {
            break;
        }
        if last_at.elapsed() < every {
            continue;
        }
        let now = Instant::now();
        let done = counter.load(Ordering::Relaxed);
        let overall = done as f64 / now.duration_since(started).as_secs_f64().max(1e-9);
        let current =
            (done - last_count.min(done)) as f64 / now.duration_since(last_at).as_secs_f64();
        (last_count, last_at) = (done, now);
        let of = total.map(|t| format!("/{t}")).unwrap_or_default();
        let line = format!(
            "{label}: {done}{of} records, {} rec/s average, {} rec/s now",
            human(overall),
            human(current)
        );
        let mut err = std::io::stderr().lock();
        let _ = if terminal {
            write!(err, "\r\x1b[2K{line}")
        } else {
            writeln!(err, "{line}")
        };
        let _ = err.flush();
        printed = true;
    }
    if terminal && printed {
        let _ = write!(std::io::stderr(), "\r\x1b[2K");
    }
}

/// `1234567.0` as `1.23M`, for a line that must stay short.
pub fn human(value: f64) -> String {
    match value {
        v if v >= 1e9 => format!("{:.2}G", v / 1e9),
        v if v >= 1e6 => format!("{:.2}M", v / 1e6),
        v if v >= 1e3 => format!("{:.1}k", v / 1e3),
        v => format!("{v:.0}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_numbers() {
        assert_eq!(human(12.0), "12");
        assert_eq!(human(12_345.0), "12.3k");
        assert_eq!(human(2_500_000.0), "2.50M");
        assert_eq!(human(3.2e9), "3.20G");
    }

    #[test]
    fn quiet_progress_counts_without_a_thread() {
        let p = Progress::start("x", Some(10), true);
        p.counter().fetch_add(3, Ordering::Relaxed);
        assert!(p.thread.is_none());
        assert_eq!(p.counter.load(Ordering::Relaxed), 3);
        p.finish();
    }
}
