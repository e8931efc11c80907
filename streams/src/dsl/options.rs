//! The option objects of DSL operators, after Kafka Streams' `Consumed`,
//! `Produced`, `Grouped`, `Materialized`, `Repartitioned` and `Named`.

use std::sync::Arc;
use std::time::Duration;

use fjord_core::format::Serde;

/// A shared serde of `T`.
pub type SerdeRef<T> = Arc<dyn Serde<T>>;

/// `serde` as a serde of `B`, when `B` is the same type as `A`: an operator
/// that keeps a type (a `map_values` from `String` to `String`) keeps its
/// serde, as Kafka's default serdes would cover it.
pub(crate) fn same_type<A: 'static, B: 'static>(
    serde: &Option<SerdeRef<A>>,
) -> Option<SerdeRef<B>> {
    let boxed: Box<dyn std::any::Any> = Box::new(serde.clone());
    boxed
        .downcast::<Option<SerdeRef<B>>>()
        .ok()
        .and_then(|s| *s)
}

/// Computes a record's event time from its key, value and own timestamp.
pub type TimestampExtractor<K, V> = Arc<dyn Fn(&K, &V, i64) -> i64 + Send + Sync>;

/// How a source reads its topics: the serdes, an optional name and an
/// optional timestamp extractor.
pub struct Consumed<K, V> {
    pub(crate) key_serde: SerdeRef<K>,
    pub(crate) value_serde: SerdeRef<V>,
    pub(crate) name: Option<String>,
    pub(crate) extractor: Option<TimestampExtractor<K, V>>,
}

impl<K, V> Consumed<K, V> {
    /// Reads keys with `key` and values with `value`.
    pub fn with(key: impl Serde<K>, value: impl Serde<V>) -> Self {
        Consumed {
            key_serde: Arc::new(key),
            value_serde: Arc::new(value),
            name: None,
            extractor: None,
        }
    }

    /// Names the source node.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Takes event time from the record instead of its own timestamp:
    /// `f(key, value, record_timestamp)` (a JSON field, for example). A
    /// negative result drops the record (counted in `dropped_records`).
    pub fn with_timestamp_extractor(
        mut self,
        f: impl Fn(&K, &V, i64) -> i64 + Send + Sync + 'static,
    ) -> Self {
        self.extractor = Some(Arc::new(f));
        self
    }
}

/// How a sink writes its topic: the serdes (the stream's own when it knows
/// them) and an optional name.
pub struct Produced<K, V> {
    pub(crate) key_serde: Option<SerdeRef<K>>,
    pub(crate) value_serde: Option<SerdeRef<V>>,
    pub(crate) name: Option<String>,
}

impl<K, V> Default for Produced<K, V> {
    fn default() -> Self {
        Produced {
            key_serde: None,
            value_serde: None,
            name: None,
        }
    }
}

impl<K, V> Produced<K, V> {
    /// Writes keys with `key` and values with `value`.
    pub fn with(key: impl Serde<K>, value: impl Serde<V>) -> Self {
        Produced {
            key_serde: Some(Arc::new(key)),
            value_serde: Some(Arc::new(value)),
            name: None,
        }
    }

    /// Uses the stream's serdes and names the sink node.
    pub fn as_(name: impl Into<String>) -> Self {
        Produced {
            name: Some(name.into()),
            ..Self::default()
        }
    }

    /// Names the sink node.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }
}

/// How a grouping repartitions: serdes for the repartition topic and a name
/// (which names that topic: `<application.id>-<name>-repartition`).
pub struct Grouped<K, V> {
    pub(crate) key_serde: Option<SerdeRef<K>>,
    pub(crate) value_serde: Option<SerdeRef<V>>,
    pub(crate) name: Option<String>,
}

impl<K, V> Default for Grouped<K, V> {
    fn default() -> Self {
        Grouped {
            key_serde: None,
            value_serde: None,
            name: None,
        }
    }
}

impl<K, V> Grouped<K, V> {
    /// Groups with these serdes.
    pub fn with(key: impl Serde<K>, value: impl Serde<V>) -> Self {
        Grouped {
            key_serde: Some(Arc::new(key)),
            value_serde: Some(Arc::new(value)),
            name: None,
        }
    }

    /// Names the grouping (and its repartition topic).
    pub fn as_(name: impl Into<String>) -> Self {
        Grouped {
            name: Some(name.into()),
            ..Self::default()
        }
    }

    /// Sets the name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }
}

/// How a table or aggregate is stored: the store's name (which names its
/// changelog: `<application.id>-<name>-changelog`), serdes, logging and
/// retention (window stores).
pub struct Materialized<K, V> {
    pub(crate) name: Option<String>,
    pub(crate) key_serde: Option<SerdeRef<K>>,
    pub(crate) value_serde: Option<SerdeRef<V>>,
    pub(crate) logged: bool,
    pub(crate) retention: Option<Duration>,
    pub(crate) in_memory: bool,
}

impl<K, V> Default for Materialized<K, V> {
    fn default() -> Self {
        Materialized {
            name: None,
            key_serde: None,
            value_serde: None,
            logged: true,
            retention: None,
            in_memory: false,
        }
    }
}

impl<K, V> Materialized<K, V> {
    /// A store named `name`.
    pub fn as_(name: impl Into<String>) -> Self {
        Materialized {
            name: Some(name.into()),
            ..Self::default()
        }
    }

    /// An unnamed store with these serdes.
    pub fn with(key: impl Serde<K>, value: impl Serde<V>) -> Self {
        Materialized {
            key_serde: Some(Arc::new(key)),
            value_serde: Some(Arc::new(value)),
            ..Self::default()
        }
    }

    /// Sets the key serde.
    pub fn with_key_serde(mut self, key: impl Serde<K>) -> Self {
        self.key_serde = Some(Arc::new(key));
        self
    }

    /// Sets the value serde.
    pub fn with_value_serde(mut self, value: impl Serde<V>) -> Self {
        self.value_serde = Some(Arc::new(value));
        self
    }

    /// Keeps the store local only: no changelog (nothing to restore from
    /// after a move or a crash).
    pub fn with_logging_disabled(mut self) -> Self {
        self.logged = false;
        self
    }

    /// Keeps the store in memory instead of on disk under `state.dir` (as
    /// Kafka's `Stores.inMemoryKeyValueStore`): no local files, and a
    /// restart restores it from its whole changelog.
    pub fn in_memory(mut self) -> Self {
        self.in_memory = true;
        self
    }

    /// How long a window store keeps windows (at least window size + grace).
    pub fn with_retention(mut self, retention: Duration) -> Self {
        self.retention = Some(retention);
        self
    }
}

/// How `repartition` writes its topic: serdes, name, partition count.
pub struct Repartitioned<K, V> {
    pub(crate) key_serde: Option<SerdeRef<K>>,
    pub(crate) value_serde: Option<SerdeRef<V>>,
    pub(crate) name: Option<String>,
    pub(crate) partitions: Option<i32>,
}

impl<K, V> Default for Repartitioned<K, V> {
    fn default() -> Self {
        Repartitioned {
            key_serde: None,
            value_serde: None,
            name: None,
            partitions: None,
        }
    }
}

impl<K, V> Repartitioned<K, V> {
    /// A repartition topic named `<application.id>-<name>-repartition`.
    pub fn as_(name: impl Into<String>) -> Self {
        Repartitioned {
            name: Some(name.into()),
            ..Self::default()
        }
    }

    /// Repartitions with these serdes.
    pub fn with(key: impl Serde<K>, value: impl Serde<V>) -> Self {
        Repartitioned {
            key_serde: Some(Arc::new(key)),
            value_serde: Some(Arc::new(value)),
            ..Self::default()
        }
    }

    /// Sets the serdes.
    pub fn with_serdes(mut self, key: impl Serde<K>, value: impl Serde<V>) -> Self {
        self.key_serde = Some(Arc::new(key));
        self.value_serde = Some(Arc::new(value));
        self
    }

    /// Sets the partition count of the topic.
    pub fn with_partitions(mut self, partitions: i32) -> Self {
        self.partitions = Some(partitions);
        self
    }
}

/// A name for an operator's node.
#[derive(Debug, Clone, Default)]
pub struct Named(pub(crate) Option<String>);

impl Named {
    /// The name `name`.
    pub fn as_(name: impl Into<String>) -> Self {
        Named(Some(name.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fjord_core::format::Utf8;

    #[test]
    fn same_type_keeps_a_serde_only_for_the_same_type() {
        let s: Option<SerdeRef<String>> = Some(Arc::new(Utf8));
        assert!(same_type::<String, String>(&s).is_some());
        assert!(same_type::<String, i64>(&s).is_none());
    }
}
