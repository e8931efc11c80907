//! Confluent's `io.confluent.connect.avro.AvroConverter`: Connect data as Avro in the
//! Confluent wire format (magic byte 0, the 4-byte schema id, the Avro binary), with schemas in
//! a schema registry, so connectors' records interoperate with Confluent's serializers and
//! Fjord's Avro serdes.
//!
//! Keys: `schema.registry.url` (required), `auto.register.schemas` (default true: register the
//! record's schema under its subject; false: it must be registered already),
//! `use.latest.version`, `key.subject.name.strategy` / `value.subject.name.strategy`
//! (TopicNameStrategy by default). Registry calls happen once per new schema (writing) or id
//! (reading), never per record: both directions cache.

mod schema;
mod value;

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use fjord_core::format::avro::apache_avro::{self, Schema as Avro};
use fjord_core::format::avro::{wire, RegisteredSchema, RegistryClient, SubjectNameStrategy};

use super::Converter;
use crate::config::ConfigMap;
use crate::data::{SchemaAndValue, SchemaRef, SchemaType, Value};
use crate::error::{ConnectError, Result};

pub use schema::{from_avro as avro_to_connect_schema, to_avro_json as connect_to_avro_schema};

struct Writer {
    id: i32,
    avro: Avro,
}

struct Reader {
    registered: Arc<RegisteredSchema>,
    connect: SchemaRef,
}

/// The AvroConverter.
pub struct AvroConverter {
    client: RegistryClient,
    is_key: bool,
    auto_register: bool,
    use_latest: bool,
    strategy: SubjectNameStrategy,
    // std RwLocks: read per record, written once per new schema or id, never held across a
    // registry call.
    writers: RwLock<HashMap<(String, String), Arc<Writer>>>,
    readers: RwLock<HashMap<i32, Arc<Reader>>>,
}

fn flag(config: &ConfigMap, key: &str, default: bool) -> Result<bool> {
    match config.get(key).map(|v| v.trim().to_ascii_lowercase()) {
        None => Ok(default),
        Some(v) if v == "true" => Ok(true),
        Some(v) if v == "false" => Ok(false),
        Some(v) => Err(ConnectError::Config(format!(
            "{key}={v}: expected true or false"
        ))),
    }
}

impl AvroConverter {
    /// A converter from its settings (prefix removed).
    ///
    /// # Errors
    /// A missing `schema.registry.url` or a bad setting.
    pub fn new(config: &ConfigMap, is_key: bool) -> Result<Self> {
        let url = config
            .get("schema.registry.url")
            .map(|u| u.split(',').next().unwrap_or_default().trim().to_owned())
            .filter(|u| !u.is_empty())
            .ok_or_else(|| {
                ConnectError::Config(
                    "AvroConverter needs schema.registry.url (e.g. value.converter.schema.registry.url=http://localhost:8081)"
                        .into(),
                )
            })?;
        let strategy_key = if is_key {
            "key.subject.name.strategy"
        } else {
            "value.subject.name.strategy"
        };
        let strategy = match config.get(strategy_key) {
            None => SubjectNameStrategy::TopicName,
            Some(name) => SubjectNameStrategy::parse(name.trim()).ok_or_else(|| {
                ConnectError::Config(format!(
                    "{strategy_key}={name}: unknown subject name strategy"
                ))
            })?,
        };
        let client = RegistryClient::new(url).map_err(|e| ConnectError::Config(e.to_string()))?;
        Ok(Self {
            client,
            is_key,
            auto_register: flag(config, "auto.register.schemas", true)?,
            use_latest: flag(config, "use.latest.version", false)?,
            strategy,
            writers: RwLock::new(HashMap::new()),
            readers: RwLock::new(HashMap::new()),
        })
    }

    /// HTTP calls to the registry so far.
    pub fn registry_calls(&self) -> u64 {
        self.client.http_calls()
    }

    fn writer(&self, topic: &str, schema: &crate::data::Schema) -> Result<Arc<Writer>> {
        let json = schema::to_avro_json(schema)?;
        let text = json.to_string();
        let record = (schema.schema_type == SchemaType::Struct).then(|| {
            let name = json
                .get("name")
                .and_then(|n| n.as_str())
                .unwrap_or_default();
            match json.get("namespace").and_then(|n| n.as_str()) {
                Some(ns) => format!("{ns}.{name}"),
                None => name.to_owned(),
            }
        });
        let subject = self.strategy.subject(topic, self.is_key, record.as_deref());
        let key = (subject, text);
        if let Some(found) = self
            .writers
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
        {
            return Ok(Arc::clone(found));
        }
        let (subject, text) = (&key.0, &key.1);
        let registry = |e: fjord_core::format::avro::RegistryClientError| {
            ConnectError::Data(format!("schema registry, subject '{subject}': {e}"))
        };
        let (id, avro) = if self.use_latest {
            let latest = self
                .client
                .blocking(|c| {
                    let subject = subject.clone();
                    async move { c.latest(&subject).await }
                })
                .map_err(registry)?;
            (latest.id, latest.schema.clone())
        } else {
            let avro = Avro::parse_str(text)
                .map_err(|e| ConnectError::Data(format!("the Avro schema of a record: {e}")))?;
            let register = self.auto_register;
            let id = self
                .client
                .blocking(|c| {
                    let (subject, text) = (subject.clone(), text.clone());
                    async move {
                        if register {
                            c.register(&subject, &text).await
                        } else {
                            c.lookup(&subject, &text).await
                        }
                    }
                })
                .map_err(registry)?;
            (id, avro)
        };
        let writer = Arc::new(Writer { id, avro });
        self.writers
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, Arc::clone(&writer));
        Ok(writer)
    }

    fn reader(&self, id: i32) -> Result<Arc<Reader>> {
        if let Some(found) = self
            .readers
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&id)
        {
            return Ok(Arc::clone(found));
        }
        let registered = self
            .client
            .blocking(|c| async move { c.schema_by_id(id).await })
            .map_err(|e| ConnectError::Data(format!("schema registry, schema id {id}: {e}")))?;
        let connect = schema::from_avro(&registered.schema)?;
        let reader = Arc::new(Reader {
            registered,
            connect,
        });
        self.readers
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, Arc::clone(&reader));
        Ok(reader)
    }
}

impl Converter for AvroConverter {
    fn to_bytes(
        &self,
        topic: &str,
        schema: Option<&crate::data::Schema>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>> {
        if value.is_null() && schema.is_none_or(|s| s.optional || s.default.is_none()) {
            return Ok(None);
        }
        let inferred;
        let schema = match schema {
            Some(schema) => schema,
            None => {
                // Schemaless primitives get their natural schema, as Confluent's AvroData does.
                let kind = value.schema_type().filter(|t| t.is_primitive()).ok_or_else(|| {
                    ConnectError::Data(format!(
                        "AvroConverter needs a schema for a {} value (use a converter with schemas, or JsonConverter for schemaless data)",
                        value.type_name()
                    ))
                })?;
                inferred = crate::data::Schema::primitive(kind);
                &inferred
            }
        };
        let writer = self.writer(topic, schema)?;
        let avro_value = value::to_avro(schema, value)?;
        let datum = apache_avro::to_avro_datum(&writer.avro, avro_value)
            .map_err(|e| ConnectError::Data(format!("Avro encoding for topic '{topic}': {e}")))?;
        Ok(Some(wire::frame(writer.id, &datum)))
    }

    fn to_connect(&self, topic: &str, data: Option<&[u8]>) -> Result<SchemaAndValue> {
        let Some(bytes) = data else {
            return Ok(SchemaAndValue::null());
        };
        let (id, mut datum) = wire::unframe(bytes).map_err(|e| {
            ConnectError::Data(format!(
                "topic '{topic}': not Confluent's Avro wire format: {e}"
            ))
        })?;
        let reader = self.reader(id)?;
        let registered = &reader.registered;
        let decoded = if registered.schemata.len() > 1 {
            apache_avro::from_avro_datum_schemata(
                &registered.schema,
                registered.schemata.iter().collect(),
                &mut datum,
                None,
            )
        } else {
            apache_avro::from_avro_datum(&registered.schema, &mut datum, None)
        }
        .map_err(|e| {
            ConnectError::Data(format!(
                "topic '{topic}': Avro datum of schema id {id}: {e}"
            ))
        })?;
        let value = value::from_avro(&registered.schema, &reader.connect, decoded)?;
        Ok(SchemaAndValue::new(
            Some(Arc::clone(&reader.connect)),
            value,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{logical, Schema, Struct};

    fn sale_schema() -> SchemaRef {
        Schema::struct_builder()
            .name("shop.Sale")
            .field("product", Schema::string())
            .field("quantity", Schema::primitive(SchemaType::Int32))
            .field("small", Schema::primitive(SchemaType::Int8))
            .field("price", logical::decimal(2).build_ref())
            .field("at", logical::timestamp().build_ref())
            .field("note", Schema::optional_string())
            .field("tags", Schema::array(Schema::string()).build_ref())
            .field(
                "attrs",
                Schema::map(Schema::string(), Schema::primitive(SchemaType::Int64)).build_ref(),
            )
            .build_ref()
    }

    #[test]
    fn connect_schemas_map_to_avro_as_confluent_does_and_back() {
        let avro = schema::to_avro_json(&sale_schema()).unwrap();
        assert_eq!(avro["type"], "record");
        assert_eq!(avro["name"], "Sale");
        assert_eq!(avro["namespace"], "shop");
        let fields = avro["fields"].as_array().unwrap();
        assert_eq!(fields[2]["type"]["connect.type"], "int8");
        assert_eq!(fields[3]["type"]["logicalType"], "decimal");
        assert_eq!(fields[3]["type"]["scale"], 2);
        assert_eq!(fields[4]["type"]["logicalType"], "timestamp-millis");
        assert_eq!(
            fields[5]["type"],
            serde_json::json!(["null", {"type": "string"}])
        );
        assert_eq!(fields[5]["default"], serde_json::Value::Null);
        let parsed = Avro::parse_str(&avro.to_string()).unwrap();
        let back = schema::from_avro(&parsed).unwrap();
        assert!(back.field("note").unwrap().schema.optional);
        assert_eq!(
            back.field("price").unwrap().schema.name.as_deref(),
            Some(logical::DECIMAL)
        );
        assert_eq!(
            back.field("at").unwrap().schema.name.as_deref(),
            Some(logical::TIMESTAMP)
        );
    }

    #[test]
    fn values_round_trip_through_avro_binary() {
        let schema = sale_schema();
        let value = Value::Struct(
            Struct::new(Arc::clone(&schema))
                .unwrap()
                .with("product", "apples")
                .unwrap()
                .with("quantity", 12)
                .unwrap()
                .with("small", Value::Int8(-3))
                .unwrap()
                .with("price", Value::Bytes(logical::encode_decimal(1999)))
                .unwrap()
                .with("at", Value::Int64(1_700_000_000_000))
                .unwrap()
                .with("tags", Value::Array(vec!["fruit".into()]))
                .unwrap()
                .with("attrs", Value::Map(vec![("a".into(), Value::Int64(1))]))
                .unwrap(),
        );
        let avro_text = schema::to_avro_json(&schema).unwrap().to_string();
        let avro = Avro::parse_str(&avro_text).unwrap();
        let datum =
            apache_avro::to_avro_datum(&avro, value::to_avro(&schema, &value).unwrap()).unwrap();
        let decoded = apache_avro::from_avro_datum(&avro, &mut datum.as_slice(), None).unwrap();
        let connect = schema::from_avro(&avro).unwrap();
        let back = value::from_avro(&avro, &connect, decoded).unwrap();
        let Value::Struct(back) = back else {
            panic!("a struct")
        };
        assert_eq!(back.get("product"), Some(&Value::from("apples")));
        assert_eq!(back.get("small"), Some(&Value::Int8(-3)));
        assert_eq!(
            back.get("price"),
            Some(&Value::Bytes(logical::encode_decimal(1999)))
        );
        assert_eq!(back.get("note"), Some(&Value::Null));
        assert_eq!(
            back.get("attrs"),
            Some(&Value::Map(vec![("a".into(), Value::Int64(1))]))
        );
    }

    #[test]
    fn a_missing_registry_url_is_a_config_error() {
        let err = AvroConverter::new(&ConfigMap::new(), false).err().unwrap();
        assert!(err.to_string().contains("schema.registry.url"), "{err}");
    }
}
