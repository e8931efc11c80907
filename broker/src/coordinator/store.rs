//! Persistence of groups and committed offsets in the internal compacted topic
//! `__consumer_offsets`: every commit and group change is a keyed record, the latest record
//! per key wins, and a null value (tombstone) deletes. On start the coordinator replays the
//! topic from its log start (see [`super::journal`]).
//!
//! This module is the codec only, no I/O: records to a batch, stored batch bytes to records.
//!
//! Keys and values are Fjord's own compact binary layout (strings are u16-length prefixed):
//! - offset: key `0x01 group topic partition:i32` → value `offset:i64 leader_epoch:i32
//!   commit_ts:i64 metadata`
//! - group: key `0x02 group` → value `generation:i32 protocol_type`

use bytes::{Buf, BufMut, BytesMut};

use crate::log::record::{decode_records, RecordIter};
use crate::log::{BatchIter, LogError};

/// The internal topic's name.
pub const OFFSETS_TOPIC: &str = "__consumer_offsets";

const OFFSET_KEY: u8 = 1;
const GROUP_KEY: u8 = 2;

/// A committed offset.
#[derive(Debug, Clone, PartialEq)]
pub struct CommittedOffset {
    /// The offset of the next record to consume.
    pub offset: i64,
    /// Leader epoch the client saw, or -1.
    pub leader_epoch: i32,
    /// When it was committed (ms).
    pub commit_timestamp: i64,
    /// Client-supplied metadata.
    pub metadata: String,
}

/// What one record of the topic says.
#[derive(Debug, Clone, PartialEq)]
pub enum Stored {
    /// An offset commit, or its deletion (None).
    Offset {
        /// Group id.
        group: String,
        /// Topic.
        topic: String,
        /// Partition.
        partition: i32,
        /// The commit, or None when deleted.
        value: Option<CommittedOffset>,
    },
    /// A group's generation, or its deletion (None).
    Group {
        /// Group id.
        group: String,
        /// (generation, protocol type), or None when deleted.
        value: Option<(i32, String)>,
    },
}

fn put_str(buf: &mut BytesMut, s: &str) {
    let bytes = &s.as_bytes()[..s.len().min(u16::MAX as usize)];
    buf.put_u16(bytes.len() as u16);
    buf.put_slice(bytes);
}

fn get_str(buf: &mut &[u8]) -> Option<String> {
    if buf.remaining() < 2 {
        return None;
    }
    let len = buf.get_u16() as usize;
    if buf.remaining() < len {
        return None;
    }
    let s = String::from_utf8_lossy(&buf[..len]).into_owned();
    buf.advance(len);
    Some(s)
}

impl Stored {
    /// The record key and value.
    pub fn encode(&self) -> (Vec<u8>, Option<Vec<u8>>) {
        let mut key = BytesMut::new();
        match self {
            Stored::Offset {
                group,
                topic,
                partition,
                value,
            } => {
                key.put_u8(OFFSET_KEY);
                put_str(&mut key, group);
                put_str(&mut key, topic);
                key.put_i32(*partition);
                let value = value.as_ref().map(|v| {
                    let mut b = BytesMut::new();
                    b.put_i64(v.offset);
                    b.put_i32(v.leader_epoch);
                    b.put_i64(v.commit_timestamp);
                    put_str(&mut b, &v.metadata);
                    b.to_vec()
                });
                (key.to_vec(), value)
            }
            Stored::Group { group, value } => {
                key.put_u8(GROUP_KEY);
                put_str(&mut key, group);
                let value = value.as_ref().map(|(generation, ptype)| {
                    let mut b = BytesMut::new();
                    b.put_i32(*generation);
                    put_str(&mut b, ptype);
                    b.to_vec()
                });
                (key.to_vec(), value)
            }
        }
    }

    /// Parses a record; `None` for records this version does not understand (skipped).
    pub fn decode(mut key: &[u8], value: Option<&[u8]>) -> Option<Stored> {
        if !key.has_remaining() {
            return None;
        }
        match key.get_u8() {
            OFFSET_KEY => {
                let group = get_str(&mut key)?;
                let topic = get_str(&mut key)?;
                if key.remaining() < 4 {
                    return None;
                }
                let partition = key.get_i32();
                let value = match value {
                    None => None,
                    Some(mut v) => {
                        if v.remaining() < 20 {
                            return None;
                        }
                        let offset = v.get_i64();
                        let leader_epoch = v.get_i32();
                        let commit_timestamp = v.get_i64();
                        let metadata = get_str(&mut v)?;
                        Some(CommittedOffset {
                            offset,
                            leader_epoch,
                            commit_timestamp,
                            metadata,
                        })
                    }
                };
                Some(Stored::Offset {
                    group,
                    topic,
                    partition,
                    value,
                })
            }
            GROUP_KEY => {
                let group = get_str(&mut key)?;
                let value = match value {
                    None => None,
                    Some(mut v) => {
                        if v.remaining() < 4 {
                            return None;
                        }
                        let generation = v.get_i32();
                        Some((generation, get_str(&mut v)?))
                    }
                };
                Some(Stored::Group { group, value })
            }
            _ => None,
        }
    }
}

fn put_varint(buf: &mut BytesMut, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        buf.put_u8((z as u8) | 0x80);
        z >>= 7;
    }
    buf.put_u8(z as u8);
}

/// An uncompressed RecordBatch v2 holding these key/value records, ready for `append`.
pub fn encode_batch(records: &[(Vec<u8>, Option<Vec<u8>>)], timestamp: i64) -> Vec<u8> {
    let mut body = BytesMut::new();
    for (i, (key, value)) in records.iter().enumerate() {
        let mut rec = BytesMut::new();
        rec.put_i8(0);
        put_varint(&mut rec, 0);
        put_varint(&mut rec, i as i64);
        put_varint(&mut rec, key.len() as i64);
        rec.put_slice(key);
        match value {
            Some(v) => {
                put_varint(&mut rec, v.len() as i64);
                rec.put_slice(v);
            }
            None => put_varint(&mut rec, -1),
        }
        put_varint(&mut rec, 0);
        put_varint(&mut body, rec.len() as i64);
        body.put_slice(&rec);
    }
    let n = records.len() as i32;
    let mut crc_part = BytesMut::with_capacity(40 + body.len());
    crc_part.put_i16(0); // attributes: uncompressed, create time
    crc_part.put_i32(n - 1);
    crc_part.put_i64(timestamp);
    crc_part.put_i64(timestamp);
    crc_part.put_i64(-1);
    crc_part.put_i16(-1);
    crc_part.put_i32(-1);
    crc_part.put_i32(n);
    crc_part.put_slice(&body);
    let mut batch = BytesMut::with_capacity(21 + crc_part.len());
    batch.put_i64(0);
    batch.put_i32((9 + crc_part.len()) as i32);
    batch.put_i32(0);
    batch.put_i8(2);
    batch.put_u32(crc32c::crc32c(&crc_part));
    batch.put_slice(&crc_part);
    batch.to_vec()
}

/// The records of a run of stored batches, each with its log offset, and the offset after the
/// last whole batch (`from` when `bytes` holds none). Records of unknown layout are skipped;
/// control batches hold none.
///
/// # Errors
/// A batch fails its checks or cannot be decompressed.
pub fn decode_stored(bytes: &[u8], from: i64) -> Result<(Vec<(i64, Stored)>, i64), LogError> {
    let mut out = Vec::new();
    let mut next = from;
    for batch in BatchIter::new(bytes) {
        let batch = batch?;
        next = batch.header.next_offset();
        if batch.header.is_control() {
            continue;
        }
        let records = decode_records(&batch, crate::log::MAX_DECOMPRESSED_BATCH_BYTES)?;
        for r in RecordIter::new(&records, batch.header.records_count) {
            let r = r?;
            let offset = r.offset(&batch.header);
            if let Some(s) = r.key.and_then(|k| Stored::decode(k, r.value)) {
                out.push((offset, s));
            }
        }
    }
    Ok((out, next))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may panic on failure.
mod tests {
    use super::*;
    use crate::log::PartitionLog;

    #[test]
    fn records_round_trip() {
        let all = [
            Stored::Offset {
                group: "g".into(),
                topic: "t".into(),
                partition: 3,
                value: Some(CommittedOffset {
                    offset: 42,
                    leader_epoch: -1,
                    commit_timestamp: 7,
                    metadata: "meta".into(),
                }),
            },
            Stored::Offset {
                group: "g".into(),
                topic: "t".into(),
                partition: 3,
                value: None,
            },
            Stored::Group {
                group: "g".into(),
                value: Some((5, "consumer".into())),
            },
            Stored::Group {
                group: "g".into(),
                value: None,
            },
        ];
        for s in all {
            let (k, v) = s.encode();
            assert_eq!(Stored::decode(&k, v.as_deref()), Some(s));
        }
        assert_eq!(Stored::decode(&[9, 9], None), None);
        assert_eq!(Stored::decode(&[1, 0, 5, b'a'], None), None);
    }

    #[test]
    fn batches_append_and_replay() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = PartitionLog::open(dir.path(), Default::default(), 0).unwrap();
        let s = Stored::Group {
            group: "g".into(),
            value: Some((1, "consumer".into())),
        };
        let batch = encode_batch(&[s.encode(), s.encode()], 1000);
        log.append(&batch, 1000).unwrap();
        log.append(&batch, 1000).unwrap();
        let bytes = log.read(0, 1 << 20).unwrap();
        let (records, next) = decode_stored(&bytes, 0).unwrap();
        assert_eq!(
            records,
            vec![(0, s.clone()), (1, s.clone()), (2, s.clone()), (3, s)]
        );
        assert_eq!(next, 4);
    }
}
