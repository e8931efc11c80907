//! The keys of `HttpFeedSource` and their typed view ([`FeedSettings`]).

use std::time::Duration;

use crate::config::{split_list, ConfigDef, ConfigMap, ConfigType, Importance, Validator};
use crate::error::{ConnectError, Result};

use super::track::Track;

/// The feed's URL.
pub const URL: &str = "url";
/// `stream` (newline-delimited JSON), `sse` (Server-Sent Events) or `poll` (JSON pages).
pub const MODE: &str = "mode";
/// The wait between polls once a poll found nothing more.
pub const POLL_INTERVAL_MS: &str = "poll.interval.ms";
/// A bearer token, sent as `Authorization: Bearer <token>`.
pub const AUTH_BEARER_TOKEN: &str = "auth.bearer.token";
/// More request headers: `Name: value` items, comma separated.
pub const HEADERS: &str = "headers";
/// Keywords, hashtags and phrases a post must match (see [`Track`]).
pub const TRACK: &str = "track";
/// The field `track` is matched against.
pub const TRACK_FIELD: &str = "track.field";
/// The query parameter that sends `track` to the server too (empty: filter here only).
pub const TRACK_PARAM: &str = "track.param";
/// The topic.
pub const TOPIC: &str = "topic";
/// The field that becomes the record key (empty: no key).
pub const KEY_FIELD: &str = "key.field";
/// The field holding the post's id.
pub const ID_FIELD: &str = "id.field";
/// The field holding the post's time.
pub const TIMESTAMP_FIELD: &str = "timestamp.field";
/// Where the posts are in a polling response.
pub const RECORDS_PATH: &str = "records.path";
/// Where a polling response's next-page token is.
pub const NEXT_TOKEN_PATH: &str = "next.token.path";
/// The query parameter that asks for the next page.
pub const NEXT_TOKEN_PARAM: &str = "next.token.param";
/// The query parameter that asks for posts after an id (resume).
pub const SINCE_PARAM: &str = "since.param";
/// Stop after this long (ms; 0: never).
pub const TIME_LIMIT_MS: &str = "time.limit.ms";
/// Stop after this many records (0: never).
pub const MAX_RECORDS: &str = "max.records";
/// Reconnect when a stream sends no byte for this long (keep-alives count).
pub const STALL_TIMEOUT_MS: &str = "stall.timeout.ms";
/// The first reconnect delay.
pub const RECONNECT_BACKOFF_MS: &str = "reconnect.backoff.ms";
/// The longest reconnect delay.
pub const RECONNECT_BACKOFF_MAX_MS: &str = "reconnect.backoff.max.ms";
/// How many recent ids de-duplication remembers.
pub const DEDUPE_CAPACITY: &str = "dedupe.capacity";
/// The most records one `poll` returns.
pub const BATCH_SIZE: &str = "batch.size";
/// `json` (the post as schemaless data) or `string` (the post's JSON text as a STRING).
pub const VALUE_FORMAT: &str = "value.format";

/// How the feed is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedMode {
    /// One long response of newline-delimited JSON posts.
    Stream,
    /// One long `text/event-stream` response, a post in each event's data.
    Sse,
    /// Repeated requests, each answering a JSON page of posts.
    Poll,
}

impl FeedMode {
    fn parse(value: &str) -> Result<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "stream" | "ndjson" => Ok(FeedMode::Stream),
            "sse" => Ok(FeedMode::Sse),
            "poll" => Ok(FeedMode::Poll),
            other => Err(ConnectError::Config(format!(
                "mode '{other}' is not one of stream, sse, poll"
            ))),
        }
    }
}

/// A task's parsed settings.
#[derive(Debug, Clone)]
pub struct FeedSettings {
    /// The URL.
    pub url: reqwest::Url,
    /// The mode.
    pub mode: FeedMode,
    /// The poll interval.
    pub poll_interval: Duration,
    /// Extra request headers, the bearer token's among them.
    pub headers: Vec<(String, String)>,
    /// The filter.
    pub track: Track,
    /// The raw `track` value (sent with `track.param`).
    pub track_raw: String,
    /// The field the filter reads.
    pub track_field: String,
    /// The query parameter for `track`, if any.
    pub track_param: Option<String>,
    /// The topic.
    pub topic: String,
    /// The key's field.
    pub key_field: Option<String>,
    /// The id's field.
    pub id_field: String,
    /// The time's field.
    pub timestamp_field: Option<String>,
    /// The posts' path in a page.
    pub records_path: String,
    /// The next token's path in a page.
    pub next_token_path: Option<String>,
    /// The next token's query parameter.
    pub next_token_param: String,
    /// The resume query parameter, if any.
    pub since_param: Option<String>,
    /// The time limit.
    pub time_limit: Option<Duration>,
    /// The record limit.
    pub max_records: Option<u64>,
    /// The stall timeout.
    pub stall_timeout: Duration,
    /// The first reconnect delay.
    pub backoff: Duration,
    /// The longest reconnect delay.
    pub backoff_max: Duration,
    /// The de-duplication window.
    pub dedupe_capacity: usize,
    /// Records per poll.
    pub batch_size: usize,
    /// Whether the value is the post's text (`value.format=string`).
    pub value_as_text: bool,
}

/// The connector's keys.
pub fn config_def() -> ConfigDef {
    let ms = |min| Validator::Range {
        min: Some(min),
        max: None,
    };
    ConfigDef::new()
        .required(URL, ConfigType::String, Importance::High, "The feed's URL (http://...)")
        .validator(Validator::Custom(|v| {
            reqwest::Url::parse(v.trim())
                .map_err(|e| format!("not a URL: {e}"))
                .and_then(|u| {
                    if u.scheme() == "http" {
                        Ok(())
                    } else {
                        Err("only http:// URLs are supported (no TLS in this build)".into())
                    }
                })
        }))
        .optional(MODE, ConfigType::String, "stream", Importance::High, "stream (newline-delimited JSON over one chunked response), sse (Server-Sent Events) or poll (JSON pages)")
        .validator(Validator::OneOf(vec!["stream", "sse", "poll"]))
        .required(TOPIC, ConfigType::String, Importance::High, "The topic the posts go to")
        .validator(Validator::NonEmptyString)
        .optional(POLL_INTERVAL_MS, ConfigType::Long, "5000", Importance::Medium, "In poll mode, the wait before asking again once a poll reached the newest post")
        .validator(ms(1))
        .optional(AUTH_BEARER_TOKEN, ConfigType::Password, "", Importance::High, "A bearer token, sent as 'Authorization: Bearer <token>'")
        .optional(HEADERS, ConfigType::List, "", Importance::Low, "More request headers, as 'Name: value' items separated by commas")
        .validator(Validator::Custom(|v| {
            for item in split_list(v) {
                if !item.contains(':') {
                    return Err(format!("header '{item}' is not 'Name: value'"));
                }
            }
            Ok(())
        }))
        .optional(TRACK, ConfigType::List, "", Importance::High, "Keywords, #hashtags, @mentions or phrases (terms separated by spaces), comma separated: a post is kept when it matches any (empty: every post)")
        .optional(TRACK_FIELD, ConfigType::String, "text", Importance::Low, "The field 'track' is matched against")
        .optional(TRACK_PARAM, ConfigType::String, "", Importance::Low, "A query parameter that also sends 'track' to the server (e.g. 'track'); empty filters here only")
        .optional(KEY_FIELD, ConfigType::String, "", Importance::Medium, "The field that becomes the record key, as a dotted path (e.g. user.id); empty: no key")
        .optional(ID_FIELD, ConfigType::String, "id", Importance::Medium, "The field holding a post's id: de-duplication and resuming use it")
        .validator(Validator::NonEmptyString)
        .optional(TIMESTAMP_FIELD, ConfigType::String, "created_at", Importance::Medium, "The field holding a post's time (epoch ms, RFC 3339 or Twitter's created_at); the record's timestamp. Empty: the time it was read")
        .optional(RECORDS_PATH, ConfigType::String, "data", Importance::Medium, "In poll mode, the dotted path of the array of posts in a response (empty: the response is the array)")
        .optional(NEXT_TOKEN_PATH, ConfigType::String, "meta.next_token", Importance::Low, "In poll mode, the dotted path of the next page's token (empty: no pagination)")
        .optional(NEXT_TOKEN_PARAM, ConfigType::String, "pagination_token", Importance::Low, "In poll mode, the query parameter that carries the next page's token")
        .optional(SINCE_PARAM, ConfigType::String, "since_id", Importance::Medium, "The query parameter that asks for posts after the last id read, on every poll and reconnect and after a restart (empty: not sent; SSE also sends Last-Event-ID)")
        .optional(TIME_LIMIT_MS, ConfigType::Long, "0", Importance::Medium, "Stop reading after this many ms from the task's start (0: never)")
        .validator(ms(0))
        .optional(MAX_RECORDS, ConfigType::Long, "0", Importance::Medium, "Stop after this many records in total, across restarts (0: never)")
        .validator(ms(0))
        .optional(STALL_TIMEOUT_MS, ConfigType::Long, "90000", Importance::Medium, "Reconnect when a stream sends no byte (keep-alives included) for this long")
        .validator(ms(1))
        .optional(RECONNECT_BACKOFF_MS, ConfigType::Long, "1000", Importance::Low, "The first wait before reconnecting; it doubles per failed attempt (with jitter)")
        .validator(ms(1))
        .optional(RECONNECT_BACKOFF_MAX_MS, ConfigType::Long, "60000", Importance::Low, "The longest wait before reconnecting (Retry-After can ask for longer)")
        .validator(ms(1))
        .optional(DEDUPE_CAPACITY, ConfigType::Long, "100000", Importance::Low, "How many recent ids are remembered to drop posts sent again")
        .validator(ms(1))
        .optional(BATCH_SIZE, ConfigType::Int, "2000", Importance::Low, "The most records one poll of the task returns")
        .validator(ms(1))
        .optional(VALUE_FORMAT, ConfigType::String, "json", Importance::Medium, "json: the value is the post as schemaless data (JsonConverter with schemas.enable=false writes it back as JSON; transforms can reach its fields); string: the value is the post's JSON text as a STRING (StringConverter writes it byte for byte; the fastest)")
        .validator(Validator::OneOf(vec!["json", "string"]))
}

fn millis(value: i64) -> Duration {
    Duration::from_millis(u64::try_from(value).unwrap_or(0))
}

impl FeedSettings {
    /// Parses and validates a task config.
    ///
    /// # Errors
    /// [`ConnectError::Config`] naming every bad key.
    pub fn parse(config: &ConfigMap) -> Result<Self> {
        let parsed = config_def().parse(config)?;
        let text = |key: &str| parsed.string(key).map(|s| s.trim().to_owned());
        let url_text = text(URL).unwrap_or_default();
        let url = reqwest::Url::parse(&url_text)
            .map_err(|e| ConnectError::Config(format!("url '{url_text}': {e}")))?;
        let mut headers = Vec::new();
        if let Some(token) = text(AUTH_BEARER_TOKEN) {
            headers.push(("Authorization".to_owned(), format!("Bearer {token}")));
        }
        for item in parsed.list(HEADERS) {
            if let Some((name, value)) = item.split_once(':') {
                headers.push((name.trim().to_owned(), value.trim().to_owned()));
            }
        }
        let track_raw = parsed.list(TRACK).join(",");
        let positive = |key| u64::try_from(parsed.long(key)).ok().filter(|&n| n > 0);
        Ok(Self {
            url,
            mode: FeedMode::parse(parsed.get(MODE).unwrap_or("stream"))?,
            poll_interval: millis(parsed.long(POLL_INTERVAL_MS)),
            headers,
            track: Track::parse(&track_raw),
            track_raw,
            track_field: text(TRACK_FIELD).unwrap_or_else(|| "text".into()),
            track_param: text(TRACK_PARAM),
            topic: text(TOPIC).unwrap_or_default(),
            key_field: text(KEY_FIELD),
            id_field: text(ID_FIELD).unwrap_or_else(|| "id".into()),
            timestamp_field: text(TIMESTAMP_FIELD),
            records_path: text(RECORDS_PATH).unwrap_or_default(),
            next_token_path: text(NEXT_TOKEN_PATH),
            next_token_param: text(NEXT_TOKEN_PARAM).unwrap_or_else(|| "pagination_token".into()),
            since_param: text(SINCE_PARAM),
            time_limit: positive(TIME_LIMIT_MS).map(Duration::from_millis),
            max_records: positive(MAX_RECORDS),
            stall_timeout: millis(parsed.long(STALL_TIMEOUT_MS)),
            backoff: millis(parsed.long(RECONNECT_BACKOFF_MS)),
            backoff_max: millis(parsed.long(RECONNECT_BACKOFF_MAX_MS)),
            dedupe_capacity: usize::try_from(parsed.long(DEDUPE_CAPACITY)).unwrap_or(1),
            batch_size: usize::try_from(parsed.long(BATCH_SIZE)).unwrap_or(1).max(1),
            value_as_text: parsed
                .get(VALUE_FORMAT)
                .is_some_and(|f| f.trim().eq_ignore_ascii_case("string")),
        })
    }
}
