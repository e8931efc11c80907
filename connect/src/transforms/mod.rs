//! Single message transforms (Kafka's SMTs) and their predicates, configured with Kafka's
//! keys: `transforms=a,b`, `transforms.a.type=...`, `transforms.a.predicate=p`,
//! `transforms.a.negate=true`, `predicates=p`, `predicates.p.type=...`.
//!
//! A connector's [`TransformChain`] is built once from its config and applied to every
//! record between the task and the converter (source) or the converter and the task (sink).
//! Each transform answers to Kafka's class name (`org.apache.kafka.connect.transforms.
//! InsertField$Value`) and its simple name (`InsertField$Value`), takes Kafka's keys, and
//! works on schema-ful structs and on schemaless string-keyed maps, as Kafka's do.
//!
//! | Class (`$Key`/`$Value` where marked) | Keys |
//! |---|---|
//! | `Cast`\* | `spec` (`field:type,...` or one type) |
//! | `DropHeaders` | `headers` |
//! | `ExtractField`\* | `field`, `field.syntax.version` (V1, V2) |
//! | `Filter` | none (use with a predicate) |
//! | `Flatten`\* | `delimiter` |
//! | `HeaderFrom`\* | `fields`, `headers`, `operation` (copy, move) |
//! | `HoistField`\* | `field` |
//! | `InsertField`\* | `topic.field`, `partition.field`, `offset.field`, `timestamp.field`, `static.field`, `static.value` |
//! | `InsertHeader` | `header`, `value.literal` |
//! | `MaskField`\* | `fields`, `replacement` |
//! | `RegexRouter` | `regex`, `replacement` |
//! | `ReplaceField`\* | `include`, `exclude`, `renames` (and `whitelist`, `blacklist`) |
//! | `SetSchemaMetadata`\* | `schema.name`, `schema.version` |
//! | `TimestampConverter`\* | `field`, `target.type`, `format`, `unix.precision`, `replace.null.with.default` |
//! | `TimestampRouter` | `topic.format`, `timestamp.format` |
//! | `ValueToKey` | `fields` |
//! | `predicates.TopicNameMatches` | `pattern` |
//! | `predicates.HasHeaderKey` | `name` |
//! | `predicates.RecordIsTombstone` | none |
//!
//! Regexes are Java's as far as the `regex` crate reads them (no look-around or
//! back-references) and must match the whole topic, as Java's `Matcher.matches`. Date
//! formats are `SimpleDateFormat` patterns (see `date_format`), always in UTC.

mod cast;
mod chain;
#[cfg(test)]
mod chain_tests;
mod date_format;
mod extract_field;
mod filter;
mod flatten;
mod headers;
mod hoist_field;
mod insert_field;
mod mask_field;
mod part;
mod predicates;
mod registry;
mod replace_field;
mod routers;
mod set_schema_metadata;
mod timestamp_converter;
mod value_to_key;

pub use chain::{plugin_classes, validate, TransformChain};

use crate::error::Result;
use crate::record::ConnectRecord;

/// Rewrites one record; `None` drops it.
pub trait Transform: Send + Sync {
    /// Applies the transform.
    ///
    /// # Errors
    /// [`crate::ConnectError::Data`] for a record the transform cannot handle (the
    /// worker's `errors.tolerance` decides what happens to it).
    fn apply(&self, record: ConnectRecord) -> Result<Option<ConnectRecord>>;
}

/// Decides whether a transform applies to a record.
pub trait Predicate: Send + Sync {
    /// Whether the record matches.
    fn test(&self, record: &ConnectRecord) -> bool;
}
