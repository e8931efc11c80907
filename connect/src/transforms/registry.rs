//! The built-in transforms and predicates, by Kafka's class names: each with its declared
//! keys (for `config/validate`) and a constructor from its own config (the connector's
//! `transforms.<alias>.*` keys with the prefix removed).

use crate::config::{ConfigDef, ConfigMap};
use crate::error::Result;

use super::cast::Cast;
use super::extract_field::ExtractField;
use super::filter::Filter;
use super::flatten::Flatten;
use super::headers::{DropHeaders, HeaderFrom, InsertHeader};
use super::hoist_field::HoistField;
use super::insert_field::InsertField;
use super::mask_field::MaskField;
use super::part::Part;
use super::predicates::{HasHeaderKey, RecordIsTombstone, TopicNameMatches};
use super::replace_field::ReplaceField;
use super::routers::{RegexRouter, TimestampRouter};
use super::set_schema_metadata::SetSchemaMetadata;
use super::timestamp_converter::TimestampConverter;
use super::value_to_key::ValueToKey;
use super::{Predicate, Transform};

/// Kafka's package of the built-in transforms.
const PACKAGE: &str = "org.apache.kafka.connect.transforms.";
/// Kafka's package of the built-in predicates.
const PREDICATES: &str = "org.apache.kafka.connect.transforms.predicates.";

/// A transform plugin.
pub(crate) struct TransformPlugin {
    /// Kafka's class name.
    pub(crate) class: &'static str,
    /// The declared keys.
    pub(crate) config_def: fn() -> ConfigDef,
    /// Creates the transform from its config.
    pub(crate) create: fn(&ConfigMap) -> Result<Box<dyn Transform>>,
}

/// A predicate plugin.
pub(crate) struct PredicatePlugin {
    /// Kafka's class name.
    pub(crate) class: &'static str,
    /// The declared keys.
    pub(crate) config_def: fn() -> ConfigDef,
    /// Creates the predicate from its config.
    pub(crate) create: fn(&ConfigMap) -> Result<Box<dyn Predicate>>,
}

fn boxed<T: Transform + 'static>(transform: Result<T>) -> Result<Box<dyn Transform>> {
    Ok(Box::new(transform?))
}

fn boxed_predicate<T: Predicate + 'static>(predicate: Result<T>) -> Result<Box<dyn Predicate>> {
    Ok(Box::new(predicate?))
}

/// Every built-in transform.
pub(crate) fn transforms() -> Vec<TransformPlugin> {
    macro_rules! keyed {
        ($name:literal, $ty:ident) => {
            [
                TransformPlugin {
                    class: concat!("org.apache.kafka.connect.transforms.", $name, "$Key"),
                    config_def: $ty::config_def,
                    create: |c| boxed($ty::new(c, Part::Key)),
                },
                TransformPlugin {
                    class: concat!("org.apache.kafka.connect.transforms.", $name, "$Value"),
                    config_def: $ty::config_def,
                    create: |c| boxed($ty::new(c, Part::Value)),
                },
            ]
        };
    }
    macro_rules! plain {
        ($name:literal, $ty:ident) => {
            TransformPlugin {
                class: concat!("org.apache.kafka.connect.transforms.", $name),
                config_def: $ty::config_def,
                create: |c| boxed($ty::new(c)),
            }
        };
    }
    let mut plugins = Vec::new();
    plugins.extend(keyed!("Cast", Cast));
    plugins.push(plain!("DropHeaders", DropHeaders));
    plugins.extend(keyed!("ExtractField", ExtractField));
    plugins.push(plain!("Filter", Filter));
    plugins.extend(keyed!("Flatten", Flatten));
    plugins.extend(keyed!("HeaderFrom", HeaderFrom));
    plugins.extend(keyed!("HoistField", HoistField));
    plugins.extend(keyed!("InsertField", InsertField));
    plugins.push(plain!("InsertHeader", InsertHeader));
    plugins.extend(keyed!("MaskField", MaskField));
    plugins.push(plain!("RegexRouter", RegexRouter));
    plugins.extend(keyed!("ReplaceField", ReplaceField));
    plugins.extend(keyed!("SetSchemaMetadata", SetSchemaMetadata));
    plugins.extend(keyed!("TimestampConverter", TimestampConverter));
    plugins.push(plain!("TimestampRouter", TimestampRouter));
    plugins.push(plain!("ValueToKey", ValueToKey));
    plugins
}

/// Every built-in predicate.
pub(crate) fn predicates() -> Vec<PredicatePlugin> {
    vec![
        PredicatePlugin {
            class: "org.apache.kafka.connect.transforms.predicates.HasHeaderKey",
            config_def: HasHeaderKey::config_def,
            create: |c| boxed_predicate(HasHeaderKey::new(c)),
        },
        PredicatePlugin {
            class: "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone",
            config_def: RecordIsTombstone::config_def,
            create: |c| boxed_predicate(RecordIsTombstone::new(c)),
        },
        PredicatePlugin {
            class: "org.apache.kafka.connect.transforms.predicates.TopicNameMatches",
            config_def: TopicNameMatches::config_def,
            create: |c| boxed_predicate(TopicNameMatches::new(c)),
        },
    ]
}

/// Whether `name` names `class`: the class name or its simple name (`InsertField$Value`).
fn answers_to(class: &str, package: &str, name: &str) -> bool {
    name == class || class.strip_prefix(package) == Some(name)
}

/// The transform `name` refers to.
pub(crate) fn find_transform(name: &str) -> Option<TransformPlugin> {
    let name = name.trim();
    transforms()
        .into_iter()
        .find(|p| answers_to(p.class, PACKAGE, name))
}

/// The predicate `name` refers to.
pub(crate) fn find_predicate(name: &str) -> Option<PredicatePlugin> {
    let name = name.trim();
    predicates()
        .into_iter()
        .find(|p| answers_to(p.class, PREDICATES, name))
}
