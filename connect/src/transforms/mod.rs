//! Single message transforms (Kafka's SMTs) and their predicates, configured with Kafka's
//! keys: `transforms=a,b`, `transforms.a.type=...`, `transforms.a.predicate=p`,
//! `transforms.a.negate=true`, `predicates=p`, `predicates.p.type=...`.
//!
//! A connector's [`TransformChain`] is built once from its config and applied to every
//! record between the task and the converter (source) or the converter and the task (sink).
//! Each transform answers to Kafka's class name (`org.apache.kafka.connect.transforms.
//! InsertField$Value`) and its simple name (`InsertField$Value`), takes Kafka's keys, and
//! works on schema-ful structs and on schemaless string-keyed maps, as Kafka's do.

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
