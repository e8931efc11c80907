//! Converters: between the Connect data model and the bytes of a Kafka record's key, value
//! and headers. Configured per worker (`key.converter`, `value.converter`, with
//! `key.converter.*` settings) and overridable per connector.

use crate::data::{Schema, SchemaAndValue, Value};
use crate::error::Result;

/// Turns Connect data into record bytes and back.
pub trait Converter: Send + Sync {
    /// Serialises a key or value, Kafka's `fromConnectData` (`None` for a null value: a
    /// tombstone or a null key).
    ///
    /// # Errors
    /// [`crate::ConnectError::Data`] when the value cannot be written in this format.
    fn to_bytes(
        &self,
        topic: &str,
        schema: Option<&Schema>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>>;

    /// Deserialises a key or value , Kafka's `toConnectData` (`None` for a null one).
    ///
    /// # Errors
    /// [`crate::ConnectError::Data`] for bytes that are not in this format.
    fn to_connect(&self, topic: &str, data: Option<&[u8]>) -> Result<SchemaAndValue>;
}
