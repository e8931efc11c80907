//! The final summary of a benchmark: one ordered list of named figures, printed either as
//! aligned `label  value unit` lines for a person or (with `--json`) as one flat JSON object
//! on a single line, whose keys carry the unit (`records_per_s`, `latency_p99_ms`) so a
//! script can pick a figure with `jq` or even `sed`.
//!
//! Throughput units: records/s, and MB/s with MB = 10^6 bytes of record payload (keys and
//! values, not protocol overhead).

use serde_json::{Map, Number, Value};

use super::histogram::Histogram;

/// Bytes in a megabyte, as every MB/s figure of `fjord perf` counts them.
pub const MB: f64 = 1_000_000.0;

/// A figure's value.
#[derive(Debug, Clone)]
enum Figure {
    Count(u64),
    Real { value: f64, decimals: usize },
    Text(String),
}

#[derive(Debug, Clone)]
struct Entry {
    key: String,
    label: String,
    unit: &'static str,
    figure: Figure,
}

/// A benchmark's results, in the order they are printed.
#[derive(Debug, Clone)]
pub struct Summary {
    entries: Vec<Entry>,
}

impl Summary {
    /// A summary for `mode` (`produce`, `consume`, `e2e`, `baseline`).
    pub fn new(mode: &str) -> Summary {
        let mut summary = Summary {
            entries: Vec::new(),
        };
        summary.text("mode", "mode", mode);
        summary
    }

    /// Adds a whole number.
    pub fn count(&mut self, key: &str, label: &str, unit: &'static str, value: u64) -> &mut Self {
        self.push(key, label, unit, Figure::Count(value))
    }

    /// Adds a real number, printed with `decimals` digits after the point.
    pub fn real(
        &mut self,
        key: &str,
        label: &str,
        unit: &'static str,
        value: f64,
        decimals: usize,
    ) -> &mut Self {
        self.push(key, label, unit, Figure::Real { value, decimals })
    }

    /// Adds a piece of text.
    pub fn text(&mut self, key: &str, label: &str, value: impl Into<String>) -> &mut Self {
        self.push(key, label, "", Figure::Text(value.into()))
    }

    /// Adds throughput: `records` and `bytes` over `seconds`, as records/s and MB/s.
    pub fn throughput(&mut self, records: u64, bytes: u64, seconds: f64) -> &mut Self {
        let seconds = seconds.max(1e-9);
        self.real("elapsed_s", "elapsed", "s", seconds, 3)
            .real(
                "records_per_s",
                "throughput",
                "records/s",
                records as f64 / seconds,
                0,
            )
            .real(
                "mb_per_s",
                "throughput",
                "MB/s",
                bytes as f64 / MB / seconds,
                1,
            )
    }

    /// Adds latency quantiles of a histogram of microseconds, in milliseconds, under keys
    /// `{prefix}_p50_ms` etc. and labels `{what} p50` etc.
    pub fn latency(&mut self, prefix: &str, what: &str, micros: &Histogram) -> &mut Self {
        let ms = |us: u64| us as f64 / 1000.0;
        self.count(
            &format!("{prefix}_samples"),
            &format!("{what} samples"),
            "",
            micros.len(),
        );
        for (name, q) in [("p50", 0.50), ("p95", 0.95), ("p99", 0.99), ("p999", 0.999)] {
            self.real(
                &format!("{prefix}_{name}_ms"),
                &format!("{what} {name}"),
                "ms",
                ms(micros.value_at_quantile(q)),
                3,
            );
        }
        self.real(
            &format!("{prefix}_max_ms"),
            &format!("{what} max"),
            "ms",
            ms(micros.max()),
            3,
        )
        .real(
            &format!("{prefix}_mean_ms"),
            &format!("{what} mean"),
            "ms",
            micros.mean() / 1000.0,
            3,
        )
    }

    fn push(&mut self, key: &str, label: &str, unit: &'static str, figure: Figure) -> &mut Self {
        self.entries.push(Entry {
            key: key.to_owned(),
            label: label.to_owned(),
            unit,
            figure,
        });
        self
    }

    /// The summary as one flat JSON object.
    pub fn to_json(&self) -> Value {
        let mut map = Map::new();
        for e in &self.entries {
            let value = match &e.figure {
                Figure::Count(n) => Value::Number((*n).into()),
                Figure::Real { value, decimals } => {
                    let scale = 10f64.powi(*decimals as i32 + 3);
                    Number::from_f64((value * scale).round() / scale)
                        .map_or(Value::Null, Value::Number)
                }
                Figure::Text(t) => Value::String(t.clone()),
            };
            map.insert(e.key.clone(), value);
        }
        Value::Object(map)
    }

    /// The summary as aligned lines for a person.
    pub fn to_text(&self) -> String {
        let width = self
            .entries
            .iter()
            .map(|e| e.label.len())
            .max()
            .unwrap_or(0);
        let mut out = String::new();
        for e in &self.entries {
            let value = match &e.figure {
                Figure::Count(n) => group_digits(&n.to_string()),
                Figure::Real { value, decimals } => {
                    let text = format!("{value:.decimals$}");
                    match text.split_once('.') {
                        Some((int, frac)) => format!("{}.{frac}", group_digits(int)),
                        None => group_digits(&text),
                    }
                }
                Figure::Text(t) => t.clone(),
            };
            let line = format!("{:<width$}  {value} {}", e.label, e.unit);
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }

    /// Prints the summary to stdout, as JSON or text.
    pub fn print(&self, json: bool) {
        if json {
            println!("{}", self.to_json());
        } else {
            print!("{}", self.to_text());
        }
    }
}

/// `1234567` as `1,234,567` (a leading `-` is kept).
fn group_digits(digits: &str) -> String {
    let (sign, digits) = match digits.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", digits),
    };
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    format!("{sign}{out}")
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)] // Tests may panic on failure.
mod tests {
    use super::*;

    #[test]
    fn text_and_json_carry_the_same_figures() {
        let mut h = super::super::histogram::latency();
        h.saturating_record(1500);
        let mut s = Summary::new("produce");
        s.count("records", "records", "", 1_234_567)
            .throughput(2_000_000, 200_000_000, 2.0)
            .latency("latency", "latency", &h);
        let json = s.to_json();
        assert_eq!(json["mode"], "produce");
        assert_eq!(json["records"], 1_234_567);
        assert_eq!(json["records_per_s"].as_f64(), Some(1_000_000.0));
        assert_eq!(json["mb_per_s"].as_f64(), Some(100.0));
        assert_eq!(json["latency_p99_ms"].as_f64(), Some(1.5));
        let text = s.to_text();
        let line = |label: &str| {
            text.lines()
                .find(|l| l.starts_with(label))
                .map(|l| l[label.len()..].trim().to_owned())
        };
        assert_eq!(line("records").as_deref(), Some("1,234,567"), "{text}");
        assert!(text.contains("1,000,000 records/s"), "{text}");
        assert_eq!(line("latency p99").as_deref(), Some("1.500 ms"), "{text}");
        assert!(!json.to_string().contains('\n'));
    }

    #[test]
    fn digits_are_grouped() {
        assert_eq!(group_digits("0"), "0");
        assert_eq!(group_digits("999"), "999");
        assert_eq!(group_digits("1000"), "1,000");
        assert_eq!(group_digits("-1234567"), "-1,234,567");
    }
}
