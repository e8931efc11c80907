//! The CDC source's config: Debezium's PostgreSQL connector keys where they make sense, parsed
//! once into [`SourceConfig`].

use std::time::Duration;

use regex::Regex;

use super::types::{DecimalMode, TimeMode, TypeMapping};
use crate::config::{ConfigDef, ConfigMap, ConfigType, Importance, Validator};
use crate::error::{ConnectError, Result};

/// `snapshot.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotMode {
    /// Snapshot when the connector has no committed offset (or its snapshot did not finish),
    /// then stream.
    Initial,
    /// Never snapshot; stream from the slot (Debezium's `no_data`, formerly `never`).
    NoData,
    /// Snapshot, then do not stream.
    InitialOnly,
    /// Snapshot on every start, then stream.
    Always,
    /// As `initial`, and snapshot again when the slot of the committed offset is gone.
    WhenNeeded,
}

/// `publication.autocreate.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublicationMode {
    /// `CREATE PUBLICATION ... FOR ALL TABLES` when it does not exist.
    AllTables,
    /// `CREATE PUBLICATION ... FOR TABLE` the included tables.
    Filtered,
    /// The publication must exist.
    Disabled,
}

/// What happens when the slot lags more than `slot.max.lag.bytes` behind the server's WAL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LagPolicy {
    /// Log a warning and go on.
    Warn,
    /// Stop reading (the task stays RUNNING, polls return nothing) until the lag is back below
    /// the limit: the records already read get acknowledged and the slot catches up.
    Pause,
    /// Fail the task with the lag in its status.
    Fail,
}

/// `toast.fill`: what an update's unchanged TOASTed column becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToastFill {
    /// Left out (null) and named in the `unchanged_toasted_columns` header. Under REPLICA
    /// IDENTITY FULL the before image fills it in every mode.
    Omit,
    /// Filled from the connector's own last-seen value of that row (a bounded cache).
    Cache,
}

/// The parsed source config.
#[derive(Debug, Clone)]
pub struct SourceConfig {
    /// Host.
    pub host: String,
    /// Port.
    pub port: u16,
    /// User.
    pub user: String,
    /// Password.
    pub password: String,
    /// Database.
    pub dbname: String,
    /// `topic.prefix` (Debezium's logical server name).
    pub topic_prefix: String,
    /// The replication slot.
    pub slot_name: String,
    /// The publication.
    pub publication_name: String,
    /// How the publication is created.
    pub publication_mode: PublicationMode,
    /// `table.include.list` patterns (`schema.table`, anchored).
    pub include: Vec<Regex>,
    /// `table.exclude.list` patterns.
    pub exclude: Vec<Regex>,
    /// `column.exclude.list` patterns (`schema.table.column`).
    pub column_exclude: Vec<Regex>,
    /// `snapshot.mode`.
    pub snapshot_mode: SnapshotMode,
    /// Rows per snapshot chunk (`snapshot.fetch.size`).
    pub snapshot_chunk: usize,
    /// `heartbeat.interval.ms` (zero: none).
    pub heartbeat_interval: Duration,
    /// `tombstones.on.delete`.
    pub tombstones_on_delete: bool,
    /// Types.
    pub mapping: TypeMapping,
    /// `skipped.operations` (`c`, `u`, `d`, `t`).
    pub skipped_operations: Vec<String>,
    /// `slot.max.lag.bytes` (zero: no limit).
    pub slot_max_lag_bytes: u64,
    /// `slot.lag.policy`.
    pub lag_policy: LagPolicy,
    /// `slot.drop.on.stop`.
    pub slot_drop_on_stop: bool,
    /// `toast.fill`.
    pub toast_fill: ToastFill,
    /// Rows kept by `toast.fill=cache`.
    pub toast_cache_rows: usize,
    /// `max.batch.size`.
    pub max_batch_size: usize,
    /// `signal.data.collection` (`schema.table` of the signal table), if any.
    pub signal_table: Option<String>,
}

/// The source's keys.
pub fn config_def() -> ConfigDef {
    ConfigDef::new()
        .required("database.hostname", ConfigType::String, Importance::High, "Resolvable hostname or IP address of the database server.")
        .optional("database.port", ConfigType::Int, "5432", Importance::High, "Port of the database server.")
        .required("database.user", ConfigType::String, Importance::High, "Name of the database user (needs REPLICATION and SELECT on the captured tables).")
        .optional("database.password", ConfigType::Password, "", Importance::High, "Password of the database user.")
        .required("database.dbname", ConfigType::String, Importance::High, "The database to capture.")
        .optional("database.sslmode", ConfigType::String, "disable", Importance::Low, "Only 'disable' is supported: connect without TLS.")
        .validator(Validator::OneOf(vec!["disable", "prefer", "allow"]))
        .required("topic.prefix", ConfigType::String, Importance::High, "Prefix of every topic: <prefix>.<schema>.<table>.")
        .validator(Validator::NonEmptyString)
        .optional("plugin.name", ConfigType::String, "pgoutput", Importance::Medium, "The logical decoding plugin; only pgoutput.")
        .validator(Validator::OneOf(vec!["pgoutput"]))
        .optional("slot.name", ConfigType::String, "debezium", Importance::Medium, "The logical replication slot.")
        .optional("publication.name", ConfigType::String, "dbz_publication", Importance::Medium, "The publication of the captured tables.")
        .optional("publication.autocreate.mode", ConfigType::String, "all_tables", Importance::Low, "all_tables, filtered or disabled.")
        .validator(Validator::OneOf(vec!["all_tables", "filtered", "disabled"]))
        .optional("table.include.list", ConfigType::List, "", Importance::Medium, "Regular expressions of schema.table to capture (all when empty).")
        .optional("table.exclude.list", ConfigType::List, "", Importance::Medium, "Regular expressions of schema.table not to capture.")
        .optional("column.exclude.list", ConfigType::List, "", Importance::Low, "Regular expressions of schema.table.column to leave out of events.")
        .optional("snapshot.mode", ConfigType::String, "initial", Importance::Medium, "initial, no_data (never), initial_only, always or when_needed.")
        .validator(Validator::OneOf(vec!["initial", "no_data", "never", "initial_only", "always", "when_needed"]))
        .optional("snapshot.fetch.size", ConfigType::Int, "10240", Importance::Low, "Rows per snapshot chunk (read by primary key; a restart resumes after the last committed chunk).")
        .validator(Validator::Range { min: Some(1), max: None })
        .optional("heartbeat.interval.ms", ConfigType::Long, "10000", Importance::Medium, "How often a heartbeat record carries the stream's position, so an idle captured table or busy uncaptured ones do not pin WAL; 0 disables.")
        .validator(Validator::Range { min: Some(0), max: None })
        .optional("tombstones.on.delete", ConfigType::Boolean, "true", Importance::Low, "A null-valued record after each delete.")
        .optional("decimal.handling.mode", ConfigType::String, "precise", Importance::Low, "precise, double or string.")
        .validator(Validator::OneOf(vec!["precise", "double", "string"]))
        .optional("time.precision.mode", ConfigType::String, "adaptive", Importance::Low, "adaptive (io.debezium.time.*) or connect (Connect's logical types).")
        .validator(Validator::OneOf(vec!["adaptive", "adaptive_time_microseconds", "connect"]))
        .optional("skipped.operations", ConfigType::List, "none", Importance::Low, "Operations not to emit: c, u, d, t, or none.")
        .optional("slot.max.lag.bytes", ConfigType::Long, "0", Importance::Medium, "The most WAL the slot may hold back (0: no limit); see slot.lag.policy.")
        .validator(Validator::Range { min: Some(0), max: None })
        .optional("slot.lag.policy", ConfigType::String, "warn", Importance::Medium, "Past slot.max.lag.bytes: warn, pause (stop reading until the slot caught up) or fail.")
        .validator(Validator::OneOf(vec!["warn", "pause", "fail"]))
        .optional("slot.drop.on.stop", ConfigType::Boolean, "false", Importance::Low, "Drop the slot when the task stops (for connectors that will not come back).")
        .optional("toast.fill", ConfigType::String, "omit", Importance::Low, "Unchanged TOASTed columns: omit (null, named in the unchanged_toasted_columns header) or cache (the last value seen for that row).")
        .validator(Validator::OneOf(vec!["omit", "cache"]))
        .optional("toast.cache.rows", ConfigType::Int, "100000", Importance::Low, "Rows toast.fill=cache remembers.")
        .optional("max.batch.size", ConfigType::Int, "2048", Importance::Low, "The most records one poll returns.")
        .validator(Validator::Range { min: Some(1), max: None })
        .optional("signal.data.collection", ConfigType::String, "", Importance::Low, "schema.table of the signal table (Debezium's execute-snapshot signals).")
        .optional("provide.transaction.metadata", ConfigType::Boolean, "false", Importance::Low, "Not supported yet: must be false.")
        .validator(Validator::OneOf(vec!["false"]))
}

fn patterns(config: &ConfigMap, key: &str) -> Result<Vec<Regex>> {
    config
        .get(key)
        .map(|v| crate::config::split_list(v))
        .unwrap_or_default()
        .into_iter()
        .filter(|p| !p.is_empty())
        .map(|p| {
            Regex::new(&format!("^(?:{p})$")).map_err(|e| {
                ConnectError::Config(format!("{key}: bad regular expression {p:?}: {e}"))
            })
        })
        .collect()
}

impl SourceConfig {
    /// Parses a (validated) task config.
    ///
    /// # Errors
    /// [`ConnectError::Config`] naming the bad key.
    pub fn parse(config: &ConfigMap) -> Result<SourceConfig> {
        let parsed = config_def().parse(config)?;
        let text = |k: &str| parsed.get(k).unwrap_or_default().trim().to_owned();
        let port = u16::try_from(parsed.long("database.port"))
            .map_err(|_| ConnectError::Config("database.port must be a TCP port".to_owned()))?;
        let snapshot_mode = match text("snapshot.mode").to_ascii_lowercase().as_str() {
            "no_data" | "never" => SnapshotMode::NoData,
            "initial_only" => SnapshotMode::InitialOnly,
            "always" => SnapshotMode::Always,
            "when_needed" => SnapshotMode::WhenNeeded,
            _ => SnapshotMode::Initial,
        };
        let publication_mode = match text("publication.autocreate.mode")
            .to_ascii_lowercase()
            .as_str()
        {
            "filtered" => PublicationMode::Filtered,
            "disabled" => PublicationMode::Disabled,
            _ => PublicationMode::AllTables,
        };
        let mapping = TypeMapping {
            decimal: match text("decimal.handling.mode").to_ascii_lowercase().as_str() {
                "double" => DecimalMode::Double,
                "string" => DecimalMode::String,
                _ => DecimalMode::Precise,
            },
            time: if text("time.precision.mode").eq_ignore_ascii_case("connect") {
                TimeMode::Connect
            } else {
                TimeMode::Adaptive
            },
        };
        let lag_policy = match text("slot.lag.policy").to_ascii_lowercase().as_str() {
            "pause" => LagPolicy::Pause,
            "fail" => LagPolicy::Fail,
            _ => LagPolicy::Warn,
        };
        let slot_name = text("slot.name");
        if !slot_name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            return Err(ConnectError::Config(format!(
                "slot.name {slot_name:?}: a replication slot name has only lower-case letters, digits and underscores"
            )));
        }
        let signal = text("signal.data.collection");
        Ok(SourceConfig {
            host: text("database.hostname"),
            port,
            user: text("database.user"),
            password: parsed
                .get("database.password")
                .unwrap_or_default()
                .to_owned(),
            dbname: text("database.dbname"),
            topic_prefix: text("topic.prefix"),
            slot_name,
            publication_name: text("publication.name"),
            publication_mode,
            include: patterns(config, "table.include.list")?,
            exclude: patterns(config, "table.exclude.list")?,
            column_exclude: patterns(config, "column.exclude.list")?,
            snapshot_mode,
            snapshot_chunk: usize::try_from(parsed.long("snapshot.fetch.size")).unwrap_or(10_240),
            heartbeat_interval: Duration::from_millis(
                u64::try_from(parsed.long("heartbeat.interval.ms")).unwrap_or(0),
            ),
            tombstones_on_delete: parsed.boolean("tombstones.on.delete"),
            mapping,
            skipped_operations: parsed
                .list("skipped.operations")
                .into_iter()
                .map(|s| s.to_ascii_lowercase())
                .filter(|s| s != "none")
                .collect(),
            slot_max_lag_bytes: u64::try_from(parsed.long("slot.max.lag.bytes")).unwrap_or(0),
            lag_policy,
            slot_drop_on_stop: parsed.boolean("slot.drop.on.stop"),
            toast_fill: if text("toast.fill").eq_ignore_ascii_case("cache") {
                ToastFill::Cache
            } else {
                ToastFill::Omit
            },
            toast_cache_rows: usize::try_from(parsed.long("toast.cache.rows")).unwrap_or(100_000),
            max_batch_size: usize::try_from(parsed.long("max.batch.size")).unwrap_or(2048),
            signal_table: (!signal.is_empty()).then_some(signal),
        })
    }

    /// Whether `schema.table` is captured.
    pub fn captures(&self, schema: &str, table: &str) -> bool {
        let name = format!("{schema}.{table}");
        if self.signal_table.as_deref() == Some(name.as_str()) {
            return false;
        }
        (self.include.is_empty() || self.include.iter().any(|r| r.is_match(&name)))
            && !self.exclude.iter().any(|r| r.is_match(&name))
    }

    /// Whether `schema.table.column` is left out of events.
    pub fn excludes_column(&self, schema: &str, table: &str, column: &str) -> bool {
        let name = format!("{schema}.{table}.{column}");
        self.column_exclude.iter().any(|r| r.is_match(&name))
    }

    /// Whether an operation (`c`, `u`, `d`, `t`) is emitted.
    pub fn emits(&self, op: &str) -> bool {
        !self.skipped_operations.iter().any(|s| s == op)
    }

    /// The source partition (Debezium's: `{"server": <topic.prefix>}`).
    pub fn source_partition(&self) -> crate::record::JsonMap {
        let mut map = crate::record::JsonMap::new();
        map.insert("server".to_owned(), self.topic_prefix.clone().into());
        map
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(extra: &[(&str, &str)]) -> ConfigMap {
        let mut c: ConfigMap = [
            ("database.hostname", "h"),
            ("database.user", "u"),
            ("database.dbname", "d"),
            ("topic.prefix", "p"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        for (k, v) in extra {
            c.insert((*k).to_owned(), (*v).to_owned());
        }
        c
    }

    #[test]
    fn include_and_exclude_lists_are_anchored_regexes() {
        let c = SourceConfig::parse(&config(&[
            ("table.include.list", "public\\.orders.*,inv\\.items"),
            ("table.exclude.list", "public\\.orders_archive"),
            ("signal.data.collection", "public.orders_signal"),
        ]))
        .unwrap();
        assert!(c.captures("public", "orders"));
        assert!(c.captures("public", "orders_2024"));
        assert!(!c.captures("public", "orders_archive"));
        assert!(
            !c.captures("public", "orders_signal"),
            "the signal table is not captured"
        );
        assert!(c.captures("inv", "items"));
        assert!(!c.captures("xinv", "items"));
        assert_eq!(c.snapshot_mode, SnapshotMode::Initial);
        assert_eq!(c.heartbeat_interval, Duration::from_secs(10));
    }

    #[test]
    fn bad_values_are_named() {
        let e = SourceConfig::parse(&config(&[("slot.name", "Bad-Slot")])).unwrap_err();
        assert!(e.to_string().contains("slot.name"), "{e}");
        let e = SourceConfig::parse(&config(&[("snapshot.mode", "sometimes")])).unwrap_err();
        assert!(e.to_string().contains("snapshot.mode"), "{e}");
    }
}
