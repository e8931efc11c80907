//! ReplaceField: keeps (`include`), drops (`exclude`) and renames (`renames=old:new,...`)
//! fields of a struct or a map. `whitelist` and `blacklist`, the keys' names before Kafka
//! 2.7, still work. Tombstones pass unchanged.

use std::collections::BTreeMap;

use crate::config::{split_list, ConfigDef, ConfigMap, ConfigType, Importance, Validator};
use crate::data::Value;
use crate::error::Result;
use crate::record::ConnectRecord;

use super::part::{
    build_struct_schema, key_name, new_struct, require_map, require_struct, struct_like, Part,
    SchemaCache,
};
use super::Transform;

const PURPOSE: &str = "field replacement";

/// Kafka's `ReplaceField$Key` / `ReplaceField$Value`.
#[derive(Debug)]
pub(crate) struct ReplaceField {
    part: Part,
    exclude: Vec<String>,
    include: Vec<String>,
    renames: BTreeMap<String, String>,
    schemas: SchemaCache,
}

fn check_renames(value: &str) -> std::result::Result<(), String> {
    for item in split_list(value) {
        match item.split_once(':') {
            Some((from, to)) if !from.is_empty() && !to.is_empty() && !to.contains(':') => {}
            _ => return Err(format!("Invalid rename mapping: {item}")),
        }
    }
    Ok(())
}

impl ReplaceField {
    /// The declared keys.
    pub(crate) fn config_def() -> ConfigDef {
        ConfigDef::new()
            .optional(
                "exclude",
                ConfigType::List,
                "",
                Importance::Medium,
                "Fields to exclude. This takes precedence over the fields to include.",
            )
            .optional(
                "include",
                ConfigType::List,
                "",
                Importance::Medium,
                "Fields to include. If specified, only these fields will be used.",
            )
            .optional(
                "renames",
                ConfigType::List,
                "",
                Importance::Medium,
                "Field rename mappings, as a list of old:new pairs.",
            )
            .validator(Validator::Custom(check_renames))
    }

    /// From its config (`whitelist` and `blacklist` stand for `include` and `exclude` when
    /// those are not set).
    pub(crate) fn new(config: &ConfigMap, part: Part) -> Result<Self> {
        let mut config = config.clone();
        for (new, old) in [("include", "whitelist"), ("exclude", "blacklist")] {
            if !config.contains_key(new) {
                if let Some(value) = config.get(old).cloned() {
                    config.insert(new.to_owned(), value);
                }
            }
        }
        let parsed = Self::config_def().parse(&config)?;
        let renames = parsed
            .list("renames")
            .iter()
            .filter_map(|item| item.split_once(':'))
            .map(|(from, to)| (from.to_owned(), to.to_owned()))
            .collect();
        Ok(Self {
            part,
            exclude: parsed.list("exclude"),
            include: parsed.list("include"),
            renames,
            schemas: SchemaCache::default(),
        })
    }

    fn keeps(&self, name: &str) -> bool {
        !self.exclude.iter().any(|e| e == name)
            && (self.include.is_empty() || self.include.iter().any(|i| i == name))
    }

    fn renamed<'a>(&'a self, name: &'a str) -> &'a str {
        self.renames.get(name).map_or(name, String::as_str)
    }
}

impl Transform for ReplaceField {
    fn apply(&self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        let value = self.part.value(&record);
        if value.is_null() {
            return Ok(Some(record));
        }
        match self.part.schema(&record).cloned() {
            None => {
                let entries = require_map(value, PURPOSE)?
                    .iter()
                    .filter_map(|(k, v)| {
                        let name = key_name(k)?;
                        self.keeps(name)
                            .then(|| (Value::from(self.renamed(name)), v.clone()))
                    })
                    .collect();
                self.part.set(&mut record, None, Value::Map(entries));
            }
            Some(schema) => {
                let value = require_struct(value, PURPOSE)?;
                let updated = self.schemas.get_or_build(&schema, || {
                    let mut builder = struct_like(&schema);
                    for field in schema.fields.iter().filter(|f| self.keeps(&f.name)) {
                        builder = builder.field(self.renamed(&field.name), field.schema.clone());
                    }
                    build_struct_schema(builder)
                })?;
                let values = value
                    .iter()
                    .filter(|(field, _)| self.keeps(&field.name))
                    .map(|(_, v)| v.clone())
                    .collect();
                let result = new_struct(&updated, values)?;
                self.part
                    .set(&mut record, Some(updated), Value::Struct(result));
            }
        }
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Schema, SchemaType, Struct};
    use crate::transforms::part::testkit::{config, map};

    #[test]
    fn schemaless_include_exclude_rename() {
        let t = ReplaceField::new(
            &config(&[("include", "a,b,c"), ("exclude", "c"), ("renames", "a:x")]),
            Part::Value,
        )
        .unwrap();
        let value = map(vec![
            ("a", Value::Int32(1)),
            ("b", Value::Int32(2)),
            ("c", Value::Int32(3)),
            ("d", Value::Int32(4)),
        ]);
        let out = t.apply(ConnectRecord::new("t", value)).unwrap().unwrap();
        assert_eq!(
            out.value,
            map(vec![("x", Value::Int32(1)), ("b", Value::Int32(2))])
        );
    }

    #[test]
    fn schemaful_with_legacy_names() {
        let t = ReplaceField::new(
            &config(&[("blacklist", "secret"), ("renames", "id:order_id")]),
            Part::Value,
        )
        .unwrap();
        let schema = Schema::struct_builder()
            .name("Order")
            .field("id", Schema::primitive(SchemaType::Int64))
            .field("secret", Schema::string())
            .build_ref();
        let value = Struct::new(schema.clone())
            .unwrap()
            .with("id", 5i64)
            .unwrap()
            .with("secret", "pw")
            .unwrap();
        let mut r = ConnectRecord::new("t", Value::Struct(value));
        r.value_schema = Some(schema);
        let out = t.apply(r).unwrap().unwrap();
        let s = out.value_schema.unwrap();
        assert_eq!(s.name.as_deref(), Some("Order"));
        assert_eq!(
            s.fields.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(),
            vec!["order_id"]
        );
        assert_eq!(out.value.get_field("order_id"), Some(&Value::Int64(5)));
    }

    #[test]
    fn bad_renames_are_a_config_error_and_tombstones_pass() {
        assert!(ReplaceField::new(&config(&[("renames", "a")]), Part::Value).is_err());
        let t = ReplaceField::new(&config(&[("exclude", "a")]), Part::Key).unwrap();
        let out = t
            .apply(ConnectRecord::new("t", Value::Null))
            .unwrap()
            .unwrap();
        assert!(out.key.is_null());
    }
}
