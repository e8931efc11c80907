//! Serdes: how typed keys and values become record bytes and back.
//!
//! A [`Serde<T>`] turns a `T` into the bytes of a record key or value and
//! back, like Kafka's `Serde<T>` (a serializer and a deserializer in one).
//! Every Fjord client that reads or writes typed records (Streams, Connect's
//! converters, the registry's Avro serde) goes through this trait, so a serde
//! written once works everywhere.
//!
//! Null is part of the contract: a record's key or value may be absent (an
//! unkeyed record, a tombstone). [`Serde::deserialize`] receives `None` for
//! it, and [`Serde::serialize`] may return `None` to write one. The serdes
//! here refuse null unless wrapped in [`Nullable`], which maps it to
//! `Option<T>`.
//!
//! Kafka's built-in formats are matched byte for byte: strings are UTF-8,
//! integers and doubles big-endian (`IntegerSerializer`, `LongSerializer`,
//! `DoubleSerializer`), so data written by a Java client reads back here.
//!
//! ```
//! use fjord_core::format::{Json, Serde, Utf8};
//!
//! let bytes = Utf8.serialize("sales", &"apples".to_string())?;
//! assert_eq!(bytes.as_deref(), Some(&b"apples"[..]));
//! let json = Json::<Vec<u32>>::new();
//! assert_eq!(json.deserialize("sales", Some(b"[1,2]"))?, vec![1, 2]);
//! # Ok::<(), fjord_core::format::SerdeError>(())
//! ```

use std::marker::PhantomData;
use std::sync::Arc;

pub mod avro;
mod primitive;

pub use primitive::{Bytes, Float64, Int32, Int64, Unit, Utf8};

/// Why a value could not be serialized or deserialized. The message names
/// the topic and what was wrong with the bytes, so a log line is enough to
/// find the bad record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{format} {direction} failed for topic '{topic}': {message}")]
pub struct SerdeError {
    /// The serde's format (`string`, `json`, `int64`...).
    pub format: &'static str,
    /// `serialize` or `deserialize`.
    pub direction: &'static str,
    /// The topic the bytes were written to or read from.
    pub topic: String,
    /// What was wrong.
    pub message: String,
}

impl SerdeError {
    /// A deserialization failure of `format` on `topic`.
    pub fn deserialize(format: &'static str, topic: &str, message: impl Into<String>) -> Self {
        SerdeError {
            format,
            direction: "deserialize",
            topic: topic.to_string(),
            message: message.into(),
        }
    }

    /// A serialization failure of `format` on `topic`.
    pub fn serialize(format: &'static str, topic: &str, message: impl Into<String>) -> Self {
        SerdeError {
            format,
            direction: "serialize",
            topic: topic.to_string(),
            message: message.into(),
        }
    }

    /// The error for a null key or value where `format` needs bytes.
    pub fn null(format: &'static str, topic: &str) -> Self {
        Self::deserialize(
            format,
            topic,
            "the record has no bytes here (null); wrap the serde in Nullable to accept null",
        )
    }
}

/// Converts values of `T` to record bytes and back.
///
/// `topic` is the topic the bytes go to or come from; formats that depend on
/// it (a schema registry subject) use it, the others ignore it.
pub trait Serde<T>: Send + Sync + 'static {
    /// The bytes of `value`, or `None` for a null key or value.
    ///
    /// # Errors
    /// When `value` cannot be represented in this format.
    fn serialize(&self, topic: &str, value: &T) -> Result<Option<Vec<u8>>, SerdeError>;

    /// The value of `data`; `None` is a null key or value.
    ///
    /// # Errors
    /// When the bytes are not in this format, or are null and the format has
    /// no null value.
    fn deserialize(&self, topic: &str, data: Option<&[u8]>) -> Result<T, SerdeError>;

    /// A short name of the format, for logs and `describe()` output.
    fn format(&self) -> &'static str;
}

impl<T, S: Serde<T> + ?Sized> Serde<T> for Arc<S> {
    fn serialize(&self, topic: &str, value: &T) -> Result<Option<Vec<u8>>, SerdeError> {
        (**self).serialize(topic, value)
    }
    fn deserialize(&self, topic: &str, data: Option<&[u8]>) -> Result<T, SerdeError> {
        (**self).deserialize(topic, data)
    }
    fn format(&self) -> &'static str {
        (**self).format()
    }
}

impl<T, S: Serde<T> + ?Sized> Serde<T> for Box<S> {
    fn serialize(&self, topic: &str, value: &T) -> Result<Option<Vec<u8>>, SerdeError> {
        (**self).serialize(topic, value)
    }
    fn deserialize(&self, topic: &str, data: Option<&[u8]>) -> Result<T, SerdeError> {
        (**self).deserialize(topic, data)
    }
    fn format(&self) -> &'static str {
        (**self).format()
    }
}

/// Wraps a serde so that null bytes are `None` and `None` writes null; the
/// serde for keys of unkeyed topics, or values that may be tombstones.
#[derive(Debug, Clone, Copy, Default)]
pub struct Nullable<S>(pub S);

impl<T, S: Serde<T>> Serde<Option<T>> for Nullable<S> {
    fn serialize(&self, topic: &str, value: &Option<T>) -> Result<Option<Vec<u8>>, SerdeError> {
        match value {
            Some(v) => self.0.serialize(topic, v),
            None => Ok(None),
        }
    }
    fn deserialize(&self, topic: &str, data: Option<&[u8]>) -> Result<Option<T>, SerdeError> {
        match data {
            Some(bytes) => self.0.deserialize(topic, Some(bytes)).map(Some),
            None => Ok(None),
        }
    }
    fn format(&self) -> &'static str {
        self.0.format()
    }
}

/// JSON through serde: any `T` that implements `Serialize` and
/// `DeserializeOwned`. Null bytes are an error (wrap in [`Nullable`]).
pub struct Json<T>(PhantomData<fn() -> T>);

impl<T> Json<T> {
    /// The JSON serde of `T`.
    pub fn new() -> Self {
        Json(PhantomData)
    }
}

impl<T> Default for Json<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Clone for Json<T> {
    fn clone(&self) -> Self {
        Self::new()
    }
}

impl<T> std::fmt::Debug for Json<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Json")
    }
}

impl<T> Serde<T> for Json<T>
where
    T: serde::Serialize + serde::de::DeserializeOwned + 'static,
{
    fn serialize(&self, topic: &str, value: &T) -> Result<Option<Vec<u8>>, SerdeError> {
        serde_json::to_vec(value)
            .map(Some)
            .map_err(|e| SerdeError::serialize("json", topic, e.to_string()))
    }
    fn deserialize(&self, topic: &str, data: Option<&[u8]>) -> Result<T, SerdeError> {
        let bytes = data.ok_or_else(|| SerdeError::null("json", topic))?;
        serde_json::from_slice(bytes).map_err(|e| {
            SerdeError::deserialize("json", topic, format!("{e} in {}", preview(bytes)))
        })
    }
    fn format(&self) -> &'static str {
        "json"
    }
}

/// The first bytes of a bad record, printable, for error messages.
pub fn preview(bytes: &[u8]) -> String {
    const MAX: usize = 64;
    let shown = &bytes[..bytes.len().min(MAX)];
    let text = String::from_utf8_lossy(shown);
    let more = if bytes.len() > MAX { "..." } else { "" };
    format!("{:?}{more} ({} bytes)", text, bytes.len())
}

#[cfg(test)]
mod tests;
