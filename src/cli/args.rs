//! Argument types and parsers shared by the client subcommands: the
//! connection flags every command takes, and the small parsers clap calls
//! for `KEY=VALUE` flags, offsets, acks and compression.
//!
//! Parsers return plain `String` errors so clap prints them as usage errors
//! (exit code 2) next to the offending flag.

use std::path::PathBuf;
use std::time::Duration;

use fjord_core::{ClientSettings, Properties, DEFAULT_BOOTSTRAP_SERVERS};

/// How to reach the cluster; flattened into every client subcommand.
///
/// Settings are applied in this order, later ones winning:
/// `--client-config` file, the command's own flags (e.g. `--acks`), `-X`.
/// The bootstrap address is `--bootstrap-server` (or its environment
/// variable) if given, else the file's `bootstrap.servers`, else
/// 127.0.0.1:9092.
#[derive(clap::Args, Debug, Clone)]
pub struct ConnectionArgs {
    /// Broker(s) to connect to, HOST:PORT[,HOST:PORT...] [default: 127.0.0.1:9092]
    #[arg(long, env = "FJORD_BOOTSTRAP_SERVER", value_name = "HOST:PORT")]
    pub bootstrap_server: Option<String>,

    /// A .properties file of librdkafka client settings (e.g. security settings)
    #[arg(long, visible_alias = "command-config", value_name = "FILE")]
    pub client_config: Option<PathBuf>,

    /// Set a librdkafka client property (repeatable; applied last)
    #[arg(short = 'X', value_name = "KEY=VALUE", value_parser = parse_override)]
    pub overrides: Vec<(String, String)>,

    /// How long to wait for the cluster to answer a request, in milliseconds
    #[arg(long, value_name = "MS", default_value_t = 30_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub request_timeout_ms: u64,
}

impl ConnectionArgs {
    /// The bootstrap address these settings resolve to (flag, file, or the default).
    ///
    /// # Errors
    /// If the `--client-config` file cannot be read or parsed.
    pub fn bootstrap(&self) -> fjord_core::Result<String> {
        Ok(self
            .settings(&[])?
            .base_config()
            .get("bootstrap.servers")
            .unwrap_or(DEFAULT_BOOTSTRAP_SERVERS)
            .to_string())
    }

    /// The request timeout as a duration.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }

    /// Builds client settings: the file's entries, then `role_settings`,
    /// then the `-X` overrides.
    ///
    /// # Errors
    /// If the `--client-config` file cannot be read or parsed.
    pub fn settings(&self, role_settings: &[(&str, String)]) -> fjord_core::Result<ClientSettings> {
        let file = match &self.client_config {
            Some(path) => Properties::from_path(path)?,
            None => Properties::new(),
        };
        let bootstrap = self
            .bootstrap_server
            .as_deref()
            .or_else(|| file.get("bootstrap.servers"))
            .unwrap_or(DEFAULT_BOOTSTRAP_SERVERS)
            .to_owned();
        Ok(ClientSettings::new(bootstrap)
            .with_overrides(file.iter().filter(|(k, _)| *k != "bootstrap.servers"))
            .with_overrides(role_settings.iter().map(|(k, v)| (*k, v.as_str())))
            .with_overrides(self.overrides.iter().cloned()))
    }
}

/// Parses `-X KEY=VALUE`.
pub fn parse_override(input: &str) -> Result<(String, String), String> {
    fjord_core::parse_override(input).map_err(|e| e.to_string())
}

/// Parses a topic `--config KEY=VALUE`.
pub fn parse_topic_config(input: &str) -> Result<(String, String), String> {
    fjord_core::parse_key_value(input, "topic config", "--config retention.ms=86400000")
        .map_err(|e| e.to_string())
}

/// Parses a record `--header KEY=VALUE` (the value may be empty).
pub fn parse_header(input: &str) -> Result<(String, String), String> {
    fjord_core::parse_key_value(input, "header", "--header trace-id=abc123")
        .map_err(|e| e.to_string())
}

/// Parses `--key-separator`: any non-empty string, taken literally.
pub fn parse_key_separator(input: &str) -> Result<String, String> {
    if input.is_empty() {
        Err(
            "the key separator must not be empty; e.g. --key-separator ':' \
             or --key-separator $'\\t' for a tab"
                .to_owned(),
        )
    } else {
        Ok(input.to_owned())
    }
}

/// Splits an input line into key and value at the first occurrence of
/// `separator`; `None` if the separator does not occur.
pub fn split_key_value<'a>(line: &'a [u8], separator: &[u8]) -> Option<(&'a [u8], &'a [u8])> {
    if separator.is_empty() || line.len() < separator.len() {
        return None;
    }
    line.windows(separator.len())
        .position(|w| w == separator)
        .map(|at| (&line[..at], &line[at + separator.len()..]))
}

/// Strips a trailing `\n` or `\r\n` from a line read from stdin.
pub fn trim_line_ending(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Where a consumer without a group starts reading.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartOffset {
    /// The first offset still in the log.
    Earliest,
    /// Only records produced from now on.
    Latest,
    /// This exact offset.
    At(i64),
}

/// Parses `--offset`: `earliest`, `latest` or a non-negative offset.
pub fn parse_start_offset(input: &str) -> Result<StartOffset, String> {
    match input.trim().to_ascii_lowercase().as_str() {
        "earliest" | "beginning" => Ok(StartOffset::Earliest),
        "latest" | "end" => Ok(StartOffset::Latest),
        other => match other.parse::<i64>() {
            Ok(offset) if offset >= 0 => Ok(StartOffset::At(offset)),
            _ => Err(format!(
                "'{input}' is not an offset: use earliest, latest or a number >= 0"
            )),
        },
    }
}

/// Producer acknowledgement level (`acks`).
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Acks {
    /// Wait for all in-sync replicas.
    #[value(name = "all", alias = "-1")]
    All,
    /// Wait for the partition leader only.
    #[value(name = "1")]
    Leader,
    /// Do not wait for any acknowledgement.
    #[value(name = "0")]
    None,
}

impl Acks {
    /// The librdkafka `acks` value.
    pub fn as_config(self) -> &'static str {
        match self {
            Acks::All => "all",
            Acks::Leader => "1",
            Acks::None => "0",
        }
    }
}

/// Producer batch compression (`compression.type`).
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    /// No compression.
    None,
    /// gzip.
    Gzip,
    /// Snappy.
    Snappy,
    /// LZ4.
    Lz4,
    /// Zstandard.
    Zstd,
}

impl Compression {
    /// The librdkafka `compression.type` value.
    pub fn as_config(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(k: &str, v: &str) -> (String, String) {
        (k.to_owned(), v.to_owned())
    }

    #[test]
    fn key_value_flags() {
        assert_eq!(parse_override("acks=all"), Ok(kv("acks", "all")));
        assert_eq!(parse_override("a=b=c"), Ok(kv("a", "b=c")));
        assert!(parse_override("acks")
            .unwrap_err()
            .contains("-X linger.ms=5"));
        assert_eq!(parse_header("trace=").unwrap(), kv("trace", ""));
        assert_eq!(parse_header("k=v=w").unwrap(), kv("k", "v=w"));
        assert!(parse_header("=v").unwrap_err().contains("invalid header"));
        assert_eq!(
            parse_topic_config("cleanup.policy=compact").unwrap(),
            kv("cleanup.policy", "compact")
        );
        assert!(parse_topic_config("retention.ms")
            .unwrap_err()
            .contains("invalid topic config 'retention.ms'"));
    }

    #[test]
    fn key_separator_splits_at_first_occurrence() {
        assert_eq!(
            split_key_value(b"k:v:w", b":"),
            Some((&b"k"[..], &b"v:w"[..]))
        );
        assert_eq!(
            split_key_value(b"user-1::42", b"::"),
            Some((&b"user-1"[..], &b"42"[..]))
        );
        assert_eq!(split_key_value(b":v", b":"), Some((&b""[..], &b"v"[..])));
        assert_eq!(split_key_value(b"k:", b":"), Some((&b"k"[..], &b""[..])));
        assert_eq!(split_key_value(b"no separator", b":"), None);
        assert_eq!(split_key_value(b"", b":"), None);
        assert_eq!(
            split_key_value(b"a\tb", b"\t"),
            Some((&b"a"[..], &b"b"[..]))
        );
        assert!(parse_key_separator("").is_err());
        assert_eq!(parse_key_separator("\t"), Ok("\t".to_owned()));
    }

    #[test]
    fn line_endings_are_trimmed() {
        assert_eq!(trim_line_ending(b"abc\n"), b"abc");
        assert_eq!(trim_line_ending(b"abc\r\n"), b"abc");
        assert_eq!(trim_line_ending(b"abc"), b"abc");
        assert_eq!(trim_line_ending(b"\n"), b"");
        assert_eq!(trim_line_ending(b"a\rb\n"), b"a\rb");
    }

    #[test]
    fn start_offsets() {
        assert_eq!(parse_start_offset("earliest"), Ok(StartOffset::Earliest));
        assert_eq!(parse_start_offset("LATEST"), Ok(StartOffset::Latest));
        assert_eq!(parse_start_offset("42"), Ok(StartOffset::At(42)));
        assert_eq!(parse_start_offset("0"), Ok(StartOffset::At(0)));
        assert!(parse_start_offset("-1").is_err());
        assert!(parse_start_offset("soon").is_err());
    }

    #[test]
    fn settings_precedence() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("client.properties");
        std::fs::write(&file, "bootstrap.servers=file:9092\nacks=1\nlinger.ms=9\n").unwrap();
        let mut conn = ConnectionArgs {
            bootstrap_server: None,
            client_config: Some(file),
            overrides: vec![kv("linger.ms", "1")],
            request_timeout_ms: 1000,
        };
        let settings = conn.settings(&[("acks", "0".to_owned())]).unwrap();
        assert_eq!(settings.bootstrap_servers, "file:9092");
        let config = settings.producer_config();
        assert_eq!(config.get("bootstrap.servers"), Some("file:9092"));
        assert_eq!(config.get("acks"), Some("0"));
        assert_eq!(config.get("linger.ms"), Some("1"));

        conn.bootstrap_server = Some("flag:9092".to_owned());
        let settings = conn.settings(&[]).unwrap();
        assert_eq!(
            settings.producer_config().get("bootstrap.servers"),
            Some("flag:9092")
        );

        conn.client_config = None;
        conn.bootstrap_server = None;
        assert_eq!(
            conn.settings(&[]).unwrap().bootstrap_servers,
            DEFAULT_BOOTSTRAP_SERVERS
        );
    }
}
