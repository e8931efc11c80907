//! ExtractField: replaces a struct or map with one of its fields. `field.syntax.version=V2`
//! reads `field` as a dotted path into nested structs and maps (`a.b.c`, with a name that
//! holds dots in backticks: `` `a.b`.c ``); V1 (the default) takes it as one name.

use crate::config::{ConfigDef, ConfigMap, ConfigType, Importance, Validator};
use crate::data::{SchemaRef, Value};
use crate::error::{ConnectError, Result};
use crate::record::ConnectRecord;

use super::part::{require_map, require_struct, Part};
use super::Transform;

const PURPOSE: &str = "field extraction";

/// Kafka's `ExtractField$Key` / `ExtractField$Value`.
#[derive(Debug)]
pub(crate) struct ExtractField {
    part: Part,
    path: Vec<String>,
}

/// Splits a V2 field path (KIP-821) into its steps: names separated by dots; a step that
/// starts with a backtick runs to a backtick followed by a dot or the end, and a backslash
/// before such a backtick keeps it in the name. A trailing dot adds an empty step.
pub(crate) fn v2_path(path: &str) -> Result<Vec<String>> {
    let chars: Vec<char> = path.chars().collect();
    let incomplete = |at: usize| {
        ConnectError::Config(format!(
            "Incomplete backtick pair in path: [{path}], consider adding a backslash before backtick at position {at} to escape it"
        ))
    };
    let mut steps = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '`' {
            let end = chars[i..].iter().position(|&c| c == '.').map(|p| i + p);
            let stop = end.unwrap_or(chars.len());
            steps.push(chars[i..stop].iter().collect());
            i = stop + 1;
            continue;
        }
        let opened = i;
        let mut name = String::new();
        let mut j = i + 1;
        loop {
            let close = chars[j.min(chars.len())..]
                .iter()
                .position(|&c| c == '`')
                .map(|p| j + p)
                .ok_or_else(|| incomplete(opened))?;
            let escaped = close > 0 && chars[close - 1] == '\\';
            if close + 1 >= chars.len() {
                if escaped {
                    return Err(incomplete(opened));
                }
                name.extend(&chars[j..close]);
                steps.push(name);
                i = close + 1;
                break;
            }
            if chars[close + 1] != '.' {
                name.extend(&chars[j..=close]);
                j = close + 1;
                continue;
            }
            if escaped {
                name.extend(&chars[j..close - 1]);
                name.push('`');
                j = close + 1;
                continue;
            }
            name.extend(&chars[j..close]);
            steps.push(name);
            i = close + 2;
            break;
        }
    }
    if path.ends_with('.') {
        steps.push(String::new());
    }
    Ok(steps)
}

impl ExtractField {
    /// The declared keys.
    pub(crate) fn config_def() -> ConfigDef {
        ConfigDef::new()
            .required("field", ConfigType::String, Importance::Medium, "Field name to extract.")
            .validator(Validator::NonEmptyString)
            .optional("field.syntax.version", ConfigType::String, "V1", Importance::High, "Defines the version of the syntax to access fields. If set to `V1`, then the field paths are limited to access the elements at the root level of the struct or map. If set to `V2`, the syntax will support accessing nested elements, using dots to separate the names.")
            .validator(Validator::OneOf(vec!["V1", "V2"]))
    }

    /// From its config.
    pub(crate) fn new(config: &ConfigMap, part: Part) -> Result<Self> {
        let parsed = Self::config_def().parse(config)?;
        let field = parsed.string("field").unwrap_or_default();
        let v2 = parsed
            .get("field.syntax.version")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("V2"));
        let path = if v2 { v2_path(&field)? } else { vec![field] };
        Ok(Self { part, path })
    }

    fn schemaless(&self, value: &Value) -> Result<Value> {
        let mut current = value;
        for (depth, name) in self.path.iter().enumerate() {
            if current.is_null() {
                return Ok(Value::Null);
            }
            if depth == 0 {
                require_map(current, PURPOSE)?;
            }
            current = match current.map_get(name) {
                Some(v) => v,
                None => return Ok(Value::Null),
            };
        }
        Ok(current.clone())
    }

    fn with_schema(&self, schema: &SchemaRef, value: &Value) -> Result<(SchemaRef, Value)> {
        if !value.is_null() {
            require_struct(value, PURPOSE)?;
        }
        let mut schema = schema.clone();
        let mut current = Some(value);
        for name in &self.path {
            let field = schema.field(name).ok_or_else(|| {
                ConnectError::Data(format!("Unknown field: {}", self.path.join(".")))
            })?;
            let next = field.schema.clone();
            current = current.and_then(|v| v.get_field(name));
            schema = next;
        }
        Ok((schema, current.cloned().unwrap_or_default()))
    }
}

impl Transform for ExtractField {
    fn apply(&self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        let value = self.part.value(&record);
        match self.part.schema(&record).cloned() {
            None => {
                let extracted = self.schemaless(value)?;
                self.part.set(&mut record, None, extracted);
            }
            Some(schema) => {
                let (schema, extracted) = self.with_schema(&schema, value)?;
                self.part.set(&mut record, Some(schema), extracted);
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
    fn schemaful_extracts_the_field_and_its_schema() {
        let schema = Schema::struct_builder()
            .field("id", Schema::primitive(SchemaType::Int64))
            .field("name", Schema::optional_string())
            .build_ref();
        let value = Struct::new(schema.clone())
            .unwrap()
            .with("id", 9i64)
            .unwrap();
        let mut r = ConnectRecord::new("t", Value::Null);
        r.key_schema = Some(schema.clone());
        r.key = Value::Struct(value);
        let t = ExtractField::new(&config(&[("field", "id")]), Part::Key).unwrap();
        let out = t.apply(r.clone()).unwrap().unwrap();
        assert_eq!(out.key, Value::Int64(9));
        assert_eq!(out.key_schema.unwrap().schema_type, SchemaType::Int64);
        let unknown = ExtractField::new(&config(&[("field", "nope")]), Part::Key).unwrap();
        assert!(unknown
            .apply(r)
            .unwrap_err()
            .to_string()
            .contains("Unknown field"));
    }

    #[test]
    fn v2_paths_split_on_dots_outside_backticks() {
        let steps = |p: &str| v2_path(p).unwrap();
        assert_eq!(steps("a.b.c"), vec!["a", "b", "c"]);
        assert_eq!(steps("`a.b`.c"), vec!["a.b", "c"]);
        assert_eq!(steps("a.`b.c`"), vec!["a", "b.c"]);
        assert_eq!(steps("`a`b`.c"), vec!["a`b", "c"]);
        assert_eq!(steps("`a\\`.b`.c"), vec!["a`.b", "c"]);
        assert_eq!(steps("a."), vec!["a", ""]);
        assert!(v2_path("`a.b").is_err());
    }

    #[test]
    fn schemaless_and_v2_paths() {
        let value = map(vec![("after", map(vec![("id", Value::Int32(3))]))]);
        let v1 = ExtractField::new(&config(&[("field", "after")]), Part::Value).unwrap();
        let out = v1
            .apply(ConnectRecord::new("t", value.clone()))
            .unwrap()
            .unwrap();
        assert_eq!(out.value, map(vec![("id", Value::Int32(3))]));
        let v2 = ExtractField::new(
            &config(&[("field", "after.id"), ("field.syntax.version", "V2")]),
            Part::Value,
        )
        .unwrap();
        let out = v2.apply(ConnectRecord::new("t", value)).unwrap().unwrap();
        assert_eq!(out.value, Value::Int32(3));
        let tomb = v1
            .apply(ConnectRecord::new("t", Value::Null))
            .unwrap()
            .unwrap();
        assert!(tomb.value.is_null());
        assert!(v1.apply(ConnectRecord::new("t", Value::Int32(1))).is_err());
        assert!(ExtractField::new(
            &config(&[("field", "a"), ("field.syntax.version", "V3")]),
            Part::Value
        )
        .is_err());
    }
}
