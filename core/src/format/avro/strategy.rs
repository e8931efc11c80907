//! Subject name strategies: which registry subject a topic's key or value
//! schemas live under, as Confluent's serializers name them.

/// How a subject is named (Confluent's `key.subject.name.strategy` /
/// `value.subject.name.strategy`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SubjectNameStrategy {
    /// `<topic>-key` / `<topic>-value` (the default): one schema lineage per topic.
    #[default]
    TopicName,
    /// The record's full name (`shop.sale`): one lineage per type, across topics.
    RecordName,
    /// `<topic>-<record full name>`: several types in one topic.
    TopicRecordName,
}

impl SubjectNameStrategy {
    /// The subject for `topic`'s key (`is_key`) or value whose schema's full
    /// name is `record` (`None` for unnamed schemas such as `"string"`, which
    /// the record strategies then name after the topic, like TopicName).
    pub fn subject(self, topic: &str, is_key: bool, record: Option<&str>) -> String {
        let suffix = if is_key { "key" } else { "value" };
        match (self, record) {
            (SubjectNameStrategy::RecordName, Some(name)) => name.to_owned(),
            (SubjectNameStrategy::TopicRecordName, Some(name)) => format!("{topic}-{name}"),
            _ => format!("{topic}-{suffix}"),
        }
    }

    /// Parses Confluent's class names (`io.confluent.kafka.serializers.subject.TopicNameStrategy`)
    /// or the short names.
    pub fn parse(name: &str) -> Option<SubjectNameStrategy> {
        match name.rsplit('.').next()? {
            "TopicNameStrategy" | "TopicName" => Some(SubjectNameStrategy::TopicName),
            "RecordNameStrategy" | "RecordName" => Some(SubjectNameStrategy::RecordName),
            "TopicRecordNameStrategy" | "TopicRecordName" => {
                Some(SubjectNameStrategy::TopicRecordName)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_as_confluent_names_them() {
        let s = SubjectNameStrategy::TopicName;
        assert_eq!(s.subject("sales", false, Some("shop.sale")), "sales-value");
        assert_eq!(s.subject("sales", true, None), "sales-key");
        let r = SubjectNameStrategy::RecordName;
        assert_eq!(r.subject("sales", false, Some("shop.sale")), "shop.sale");
        let tr = SubjectNameStrategy::TopicRecordName;
        assert_eq!(
            tr.subject("sales", false, Some("shop.sale")),
            "sales-shop.sale"
        );
        assert_eq!(
            SubjectNameStrategy::parse("io.confluent.kafka.serializers.subject.RecordNameStrategy"),
            Some(r)
        );
        assert_eq!(SubjectNameStrategy::parse("Other"), None);
    }
}
