//! Decoding a classic consumer group member's assignment: the opaque bytes
//! a DescribeGroups response carries for each member of a group whose
//! protocol type is `consumer`.
//!
//! The bytes are Kafka's `ConsumerProtocolAssignment` (versions 0-3 share
//! one non-flexible layout: an `i16` version, an array of (topic, array of
//! `i32` partitions), then user data). The decoder is written out here
//! rather than taken from the kafka-protocol crate because that crate
//! pre-allocates arrays from their declared length, so one corrupt length
//! could abort the process; this one only ever holds what the bytes contain.
//! Newer versions are read with the same layout, as Kafka's own clients do
//! (later versions may only append fields).

use super::TopicPartitionId;

/// Why assignment bytes do not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssignmentError {
    /// The bytes end before the structure does.
    #[error("assignment truncated after {0} bytes")]
    Truncated(usize),
    /// A negative version or array length, or a null topic name.
    #[error("invalid {what} {value} in assignment")]
    Invalid {
        /// Which field.
        what: &'static str,
        /// The value found.
        value: i64,
    },
    /// A topic name that is not UTF-8.
    #[error("topic name in assignment is not UTF-8")]
    NotUtf8,
}

/// Decodes a member assignment into topic partitions, in the order the
/// bytes list them. Empty bytes (a member not yet assigned) decode to no
/// partitions; trailing user data is ignored.
///
/// # Errors
/// [`AssignmentError`] if the bytes are not a `ConsumerProtocolAssignment`.
pub fn decode_assignment(bytes: &[u8]) -> Result<Vec<TopicPartitionId>, AssignmentError> {
    let mut reader = Reader { bytes, at: 0 };
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    let version = reader.i16()?;
    if version < 0 {
        return Err(AssignmentError::Invalid {
            what: "version",
            value: version.into(),
        });
    }
    let topics = reader.count("topic count")?;
    let mut partitions = Vec::new();
    for _ in 0..topics {
        let len = reader.i16()?;
        let len = usize::try_from(len).map_err(|_| AssignmentError::Invalid {
            what: "topic name length",
            value: len.into(),
        })?;
        let topic = std::str::from_utf8(reader.take(len)?)
            .map_err(|_| AssignmentError::NotUtf8)?
            .to_owned();
        let count = reader.count("partition count")?;
        for _ in 0..count {
            let partition = reader.i32()?;
            partitions.push(TopicPartitionId {
                topic: topic.clone(),
                partition,
            });
        }
    }
    Ok(partitions)
}

/// A cursor over big-endian fields; every read checks the remaining length.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, len: usize) -> Result<&'a [u8], AssignmentError> {
        let end = self
            .at
            .checked_add(len)
            .filter(|end| *end <= self.bytes.len())
            .ok_or(AssignmentError::Truncated(self.bytes.len()))?;
        let field = &self.bytes[self.at..end];
        self.at = end;
        Ok(field)
    }

    fn i16(&mut self) -> Result<i16, AssignmentError> {
        let mut raw = [0; 2];
        raw.copy_from_slice(self.take(2)?);
        Ok(i16::from_be_bytes(raw))
    }

    fn i32(&mut self) -> Result<i32, AssignmentError> {
        let mut raw = [0; 4];
        raw.copy_from_slice(self.take(4)?);
        Ok(i32::from_be_bytes(raw))
    }

    /// An array length; a declared length is never trusted for allocation.
    fn count(&mut self, what: &'static str) -> Result<u32, AssignmentError> {
        let n = self.i32()?;
        u32::try_from(n).map_err(|_| AssignmentError::Invalid {
            what,
            value: n.into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Encodes an assignment the way Kafka clients do.
    fn encode(version: i16, topics: &[(&str, &[i32])], user_data: Option<&[u8]>) -> Vec<u8> {
        let mut out = version.to_be_bytes().to_vec();
        out.extend((topics.len() as i32).to_be_bytes());
        for (topic, partitions) in topics {
            out.extend((topic.len() as i16).to_be_bytes());
            out.extend(topic.as_bytes());
            out.extend((partitions.len() as i32).to_be_bytes());
            for p in *partitions {
                out.extend(p.to_be_bytes());
            }
        }
        match user_data {
            Some(data) => {
                out.extend((data.len() as i32).to_be_bytes());
                out.extend(data);
            }
            None => out.extend((-1i32).to_be_bytes()),
        }
        out
    }

    fn tp(topic: &str, partition: i32) -> TopicPartitionId {
        TopicPartitionId {
            topic: topic.to_owned(),
            partition,
        }
    }

    #[test]
    fn decodes_topics_and_partitions_of_every_version() {
        for version in [0, 1, 2, 3, 4] {
            let bytes = encode(
                version,
                &[("orders", &[2, 0]), ("sales", &[1])],
                Some(b"user"),
            );
            assert_eq!(
                decode_assignment(&bytes),
                Ok(vec![tp("orders", 2), tp("orders", 0), tp("sales", 1)]),
                "version {version}"
            );
        }
        assert_eq!(decode_assignment(&encode(0, &[], None)), Ok(vec![]));
        assert_eq!(decode_assignment(&[]), Ok(vec![]));
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let bytes = encode(1, &[("orders", &[0, 1, 2]), ("s", &[7])], None);
        // The user data (last 4 bytes) is not read, so only shorter prefixes fail.
        let needed = bytes.len() - 4;
        for len in 1..needed {
            assert!(
                matches!(
                    decode_assignment(&bytes[..len]),
                    Err(AssignmentError::Truncated(_))
                ),
                "prefix of {len} bytes"
            );
        }
        assert!(decode_assignment(&bytes[..needed]).is_ok());
    }

    #[test]
    fn huge_or_negative_lengths_fail_without_allocating() {
        let mut bytes = 0i16.to_be_bytes().to_vec();
        bytes.extend(i32::MAX.to_be_bytes());
        assert!(matches!(
            decode_assignment(&bytes),
            Err(AssignmentError::Truncated(_))
        ));
        let mut bytes = 0i16.to_be_bytes().to_vec();
        bytes.extend((-1i32).to_be_bytes());
        assert!(matches!(
            decode_assignment(&bytes),
            Err(AssignmentError::Invalid { .. })
        ));
        assert!(matches!(
            decode_assignment(&(-1i16).to_be_bytes()),
            Err(AssignmentError::Invalid { .. })
        ));
        let mut bytes = encode(0, &[("t", &[0])], None);
        bytes[6] = 0xff; // topic name length -> negative
        assert!(matches!(
            decode_assignment(&bytes),
            Err(AssignmentError::Invalid { .. })
        ));
        let mut bytes = encode(0, &[("t", &[0])], None);
        bytes[8] = 0xff; // topic name byte -> not UTF-8
        assert_eq!(decode_assignment(&bytes), Err(AssignmentError::NotUtf8));
    }
}
