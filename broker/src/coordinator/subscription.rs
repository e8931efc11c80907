//! The consumer protocol's subscription metadata (ConsumerProtocolSubscription), as far as
//! the coordinator reads it: the topic names, to refuse OffsetDelete of a subscribed topic.

/// Topic names from a ConsumerProtocolSubscription (version i16, then an array of strings).
pub fn decode_subscription_topics(meta: &[u8]) -> Vec<String> {
    let mut topics = Vec::new();
    if meta.len() < 6 {
        return topics;
    }
    let count = i32::from_be_bytes([meta[2], meta[3], meta[4], meta[5]]);
    let mut pos = 6;
    for _ in 0..count.max(0) {
        let Some(len_bytes) = meta.get(pos..pos + 2) else {
            break;
        };
        let len = i16::from_be_bytes([len_bytes[0], len_bytes[1]]);
        pos += 2;
        let Ok(len) = usize::try_from(len) else { break };
        let Some(name) = meta.get(pos..pos + len) else {
            break;
        };
        topics.push(String::from_utf8_lossy(name).into_owned());
        pos += len;
    }
    topics
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_are_read_and_truncated_metadata_is_tolerated() {
        // version 1, two topics "ab" and "c", then user data the decoder ignores.
        let meta = [0, 1, 0, 0, 0, 2, 0, 2, b'a', b'b', 0, 1, b'c', 0xff];
        assert_eq!(decode_subscription_topics(&meta), vec!["ab", "c"]);
        assert_eq!(decode_subscription_topics(&meta[..10]), vec!["ab"]);
        assert!(decode_subscription_topics(&[0, 1]).is_empty());
    }
}
