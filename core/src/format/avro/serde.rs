//! The Avro serdes: [`AvroSerde<T>`] for Rust types with serde derives,
//! [`GenericAvroSerde`] for `apache_avro::types::Value` (schema-less use).
//!
//! Serializing: the writer schema is `T`'s schema, registered under the
//! subject the strategy names (`auto.register.schemas`, the default) or
//! looked up there; with `use.latest.version` the subject's latest schema is
//! used instead and the value is resolved against it. Deserializing: the id
//! in the framing names the writer's schema (fetched once per id); the datum
//! is decoded with it and resolved to the serde's own schema (Avro schema
//! resolution: defaults, promotions, reordered fields), then turned into `T`.
//!
//! Per record, the work is a read-locked map lookup by topic (or id) plus
//! the Avro encoding itself; registry calls happen once per topic and id
//! (see [`super::client`]).

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::{Arc, RwLock};

use apache_avro::schema_compatibility::SchemaCompatibility;
use apache_avro::types::Value;
use apache_avro::Schema;

use super::client::{RegisteredSchema, RegistryClient};
use super::strategy::SubjectNameStrategy;
use super::wire;
use crate::format::{Serde, SerdeError};

const FORMAT: &str = "avro";

/// How an Avro serde uses the registry (Confluent's serializer settings).
#[derive(Clone, Debug)]
pub struct AvroConfig {
    /// Register the schema when missing (`auto.register.schemas`, default true).
    pub auto_register_schemas: bool,
    /// Write with the subject's latest schema (`use.latest.version`, default false).
    pub use_latest_version: bool,
    /// With `use_latest_version`, first check (once per topic, locally, with
    /// apache-avro's resolution rules) that the latest schema can read data
    /// written with the serde's own schema, and refuse to write otherwise
    /// (`latest.compatibility.strict`, default true).
    pub latest_compatibility_strict: bool,
    /// Which subject (`value.subject.name.strategy`).
    pub subject_name_strategy: SubjectNameStrategy,
    /// Whether this serde is for record keys (subjects `<topic>-key`).
    pub is_key: bool,
}

impl Default for AvroConfig {
    fn default() -> Self {
        AvroConfig {
            auto_register_schemas: true,
            use_latest_version: false,
            latest_compatibility_strict: true,
            subject_name_strategy: SubjectNameStrategy::TopicName,
            is_key: false,
        }
    }
}

/// The parts both serdes share: the registry, the own schema and the caches.
struct AvroCodec {
    client: RegistryClient,
    config: AvroConfig,
    /// The serde's own schema and its compact JSON text (`None`: generic
    /// without a schema, only `use.latest.version` can serialize).
    schema: Option<(Schema, String)>,
    /// Writer schema and id per topic. std RwLock: read per record,
    /// written once per topic; never held across a registry call.
    writers: RwLock<HashMap<String, Arc<RegisteredSchema>>>,
    /// Writer schemas by id, for deserializing.
    readers: RwLock<HashMap<i32, Arc<RegisteredSchema>>>,
}

fn schema_name(schema: &Schema) -> Option<String> {
    match schema {
        Schema::Record(r) => Some(r.name.fullname(None)),
        Schema::Enum(e) => Some(e.name.fullname(None)),
        Schema::Fixed(f) => Some(f.name.fullname(None)),
        _ => None,
    }
}

impl AvroCodec {
    fn new(
        client: RegistryClient,
        schema: Option<&str>,
        config: AvroConfig,
    ) -> Result<Self, SerdeError> {
        let schema = match schema {
            Some(text) => {
                let parsed = Schema::parse_str(text).map_err(|e| {
                    SerdeError::serialize(FORMAT, "", format!("the schema does not parse: {e}"))
                })?;
                let compact = serde_json::from_str::<serde_json::Value>(text)
                    .map(|v| v.to_string())
                    .unwrap_or_else(|_| text.to_owned());
                Some((parsed, compact))
            }
            None => None,
        };
        Ok(AvroCodec {
            client,
            config,
            schema,
            writers: RwLock::new(HashMap::new()),
            readers: RwLock::new(HashMap::new()),
        })
    }

    fn subject(&self, topic: &str) -> String {
        let name = self.schema.as_ref().and_then(|(s, _)| schema_name(s));
        self.config
            .subject_name_strategy
            .subject(topic, self.config.is_key, name.as_deref())
    }

    /// The schema and id to write `topic`'s records with.
    fn writer(&self, topic: &str) -> Result<Arc<RegisteredSchema>, SerdeError> {
        if let Some(found) = self
            .writers
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(topic)
        {
            return Ok(Arc::clone(found));
        }
        let subject = self.subject(topic);
        let fail = |e: super::client::RegistryClientError| {
            SerdeError::serialize(FORMAT, topic, e.to_string())
        };
        let found = if self.config.use_latest_version {
            let latest = self
                .client
                .blocking(|c| async move { c.latest(&subject).await })
                .map_err(fail)?;
            let own = self
                .schema
                .as_ref()
                .filter(|_| self.config.latest_compatibility_strict);
            if let Some((own, _)) = own {
                if let Err(e) = SchemaCompatibility::can_read(own, &latest.schema) {
                    return Err(SerdeError::serialize(
                        FORMAT,
                        topic,
                        format!(
                            "latest.compatibility.strict: the latest schema of subject '{}' (id {}) cannot read data written with this serde's schema ({e}); register a compatible version, or set latest_compatibility_strict to false",
                            self.subject(topic),
                            latest.id
                        ),
                    ));
                }
            }
            latest
        } else {
            let Some((schema, text)) = &self.schema else {
                return Err(SerdeError::serialize(
                    FORMAT,
                    topic,
                    "a generic Avro serde without a schema can only write with use.latest.version",
                ));
            };
            let register = self.config.auto_register_schemas;
            let id = self
                .client
                .blocking(|c| async move {
                    if register {
                        c.register(&subject, text).await
                    } else {
                        c.lookup(&subject, text).await
                    }
                })
                .map_err(fail)?;
            Arc::new(RegisteredSchema {
                id,
                schema: schema.clone(),
                schemata: vec![schema.clone()],
            })
        };
        self.writers
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(topic.to_owned(), Arc::clone(&found));
        Ok(found)
    }

    fn encode(&self, topic: &str, value: Value) -> Result<Vec<u8>, SerdeError> {
        let writer = self.writer(topic)?;
        let fail = |e: apache_avro::Error| {
            SerdeError::serialize(FORMAT, topic, format!("{e} (schema id {})", writer.id))
        };
        // The *_schemata functions index every named type per call; only
        // schemas with references need them.
        let datum = if writer.schemata.len() <= 1 {
            let resolved = value.resolve(&writer.schema).map_err(fail)?;
            apache_avro::to_avro_datum(&writer.schema, resolved).map_err(fail)?
        } else {
            let refs: Vec<&Schema> = writer.schemata.iter().collect();
            let resolved = value
                .resolve_schemata(&writer.schema, refs.clone())
                .map_err(fail)?;
            apache_avro::to_avro_datum_schemata(&writer.schema, refs, resolved).map_err(fail)?
        };
        Ok(wire::frame(writer.id, &datum))
    }

    fn decode(&self, topic: &str, data: Option<&[u8]>) -> Result<Value, SerdeError> {
        let bytes = data.ok_or_else(|| SerdeError::null(FORMAT, topic))?;
        let (id, mut datum) =
            wire::unframe(bytes).map_err(|m| SerdeError::deserialize(FORMAT, topic, m))?;
        let cached = self
            .readers
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
            .cloned();
        let writer = match cached {
            Some(w) => w,
            None => {
                let w = self
                    .client
                    .blocking(|c| async move { c.schema_by_id(id).await })
                    .map_err(|e| SerdeError::deserialize(FORMAT, topic, e.to_string()))?;
                self.readers
                    .write()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(id, Arc::clone(&w));
                w
            }
        };
        let reader = self.schema.as_ref().map(|(s, _)| s);
        let decoded = if writer.schemata.len() <= 1 {
            apache_avro::from_avro_datum(&writer.schema, &mut datum, reader)
        } else {
            let refs: Vec<&Schema> = writer.schemata.iter().collect();
            apache_avro::from_avro_datum_reader_schemata(
                &writer.schema,
                refs,
                &mut datum,
                reader,
                Vec::new(),
            )
        };
        decoded.map_err(|e| {
            SerdeError::deserialize(FORMAT, topic, format!("{e} (writer schema id {id})"))
        })
    }
}

/// Avro in Confluent's wire format for a Rust type `T` with serde derives
/// and an Avro schema (its `.avsc` text).
///
/// ```no_run
/// use fjord_core::format::avro::{AvroConfig, AvroSerde, RegistryClient};
/// use fjord_core::format::Serde;
///
/// #[derive(serde::Serialize, serde::Deserialize)]
/// struct Sale { item: String, quantity: i32 }
///
/// let client = RegistryClient::new("http://127.0.0.1:8081").unwrap();
/// let schema = r#"{"type":"record","name":"sale","fields":[
///     {"name":"item","type":"string"},{"name":"quantity","type":"int"}]}"#;
/// let serde = AvroSerde::<Sale>::new(client, schema, AvroConfig::default()).unwrap();
/// let bytes = serde.serialize("sales", &Sale { item: "apple".into(), quantity: 3 }).unwrap();
/// ```
pub struct AvroSerde<T> {
    codec: AvroCodec,
    _type: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for AvroSerde<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AvroSerde")
            .field("registry", &self.codec.client.url())
            .field("config", &self.codec.config)
            .finish_non_exhaustive()
    }
}

impl<T> AvroSerde<T> {
    /// A serde writing and reading `T` with `schema` (Avro JSON).
    ///
    /// # Errors
    /// The schema does not parse.
    pub fn new(
        client: RegistryClient,
        schema: &str,
        config: AvroConfig,
    ) -> Result<Self, SerdeError> {
        Ok(AvroSerde {
            codec: AvroCodec::new(client, Some(schema), config)?,
            _type: PhantomData,
        })
    }

    /// The registry client (e.g. to read [`RegistryClient::http_calls`]).
    pub fn client(&self) -> &RegistryClient {
        &self.codec.client
    }
}

impl<T> Serde<T> for AvroSerde<T>
where
    T: serde::Serialize + serde::de::DeserializeOwned + 'static,
{
    /// Registers or looks up the schema on first use per topic (one
    /// blocking HTTP call), then encodes.
    fn serialize(&self, topic: &str, value: &T) -> Result<Option<Vec<u8>>, SerdeError> {
        let value = apache_avro::to_value(value)
            .map_err(|e| SerdeError::serialize(FORMAT, topic, e.to_string()))?;
        self.codec.encode(topic, value).map(Some)
    }

    /// Fetches the writer's schema on first use per id (one blocking HTTP
    /// call), then decodes and resolves to `T`'s schema.
    fn deserialize(&self, topic: &str, data: Option<&[u8]>) -> Result<T, SerdeError> {
        let value = self.codec.decode(topic, data)?;
        apache_avro::from_value(&value)
            .map_err(|e| SerdeError::deserialize(FORMAT, topic, e.to_string()))
    }

    fn format(&self) -> &'static str {
        FORMAT
    }
}

/// Avro in Confluent's wire format for generic values
/// (`apache_avro::types::Value`): deserializing needs no schema of its own
/// (values come out in the writer's schema); serializing needs one, or
/// `use_latest_version`.
pub struct GenericAvroSerde {
    codec: AvroCodec,
}

impl std::fmt::Debug for GenericAvroSerde {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GenericAvroSerde")
            .field("registry", &self.codec.client.url())
            .finish_non_exhaustive()
    }
}

impl GenericAvroSerde {
    /// A generic serde; `schema` is the one to write (and to resolve read
    /// values to), `None` to read values as written.
    ///
    /// # Errors
    /// The schema does not parse.
    pub fn new(
        client: RegistryClient,
        schema: Option<&str>,
        config: AvroConfig,
    ) -> Result<Self, SerdeError> {
        Ok(GenericAvroSerde {
            codec: AvroCodec::new(client, schema, config)?,
        })
    }
}

impl Serde<Value> for GenericAvroSerde {
    fn serialize(&self, topic: &str, value: &Value) -> Result<Option<Vec<u8>>, SerdeError> {
        self.codec.encode(topic, value.clone()).map(Some)
    }

    fn deserialize(&self, topic: &str, data: Option<&[u8]>) -> Result<Value, SerdeError> {
        self.codec.decode(topic, data)
    }

    fn format(&self) -> &'static str {
        FORMAT
    }
}
