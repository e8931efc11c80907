//! Filter: drops every record it applies to. Used with a predicate
//! (`transforms.f.predicate=p`), it drops the records the predicate matches (or, with
//! `negate=true`, the ones it does not).

use crate::config::{ConfigDef, ConfigMap};
use crate::error::Result;
use crate::record::ConnectRecord;

use super::Transform;

/// Kafka's `Filter`.
#[derive(Debug)]
pub(crate) struct Filter;

impl Filter {
    /// The declared keys: none.
    pub(crate) fn config_def() -> ConfigDef {
        ConfigDef::new()
    }

    /// From its config.
    pub(crate) fn new(_config: &ConfigMap) -> Result<Self> {
        Ok(Self)
    }
}

impl Transform for Filter {
    fn apply(&self, _record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Value;

    #[test]
    fn drops_everything() {
        let f = Filter::new(&ConfigMap::new()).unwrap();
        assert!(f
            .apply(ConnectRecord::new("t", Value::from("x")))
            .unwrap()
            .is_none());
        assert!(f
            .apply(ConnectRecord::new("t", Value::Null))
            .unwrap()
            .is_none());
    }
}
