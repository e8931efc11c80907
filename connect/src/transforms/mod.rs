//! Single message transforms (Kafka's SMTs) and their predicates, configured with Kafka's
//! keys: `transforms=a,b`, `transforms.a.type=...`, `transforms.a.predicate=p`,
//! `transforms.a.negate=true`, `predicates=p`, `predicates.p.type=...`.

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
