//! Decoding of the records inside a v2 batch.
//!
//! The append path looks at records only for compacted topics (every record needs a key);
//! otherwise this module is for the look-ups that must (`offset_for_timestamp`,
//! `max_timestamp`) and for compaction. [`decode_records`] turns a
//! batch into its (decompressed, bounded) records section, and [`RecordIter`] walks it,
//! borrowing keys, values and headers from that buffer.
//!
//! Record layout (varints are zig-zag encoded, as in Kafka):
//! `length varint, attributes i8, timestampDelta varlong, offsetDelta varint,
//! keyLength varint, key, valueLength varint, value, headerCount varint,
//! [headerKeyLength varint, headerKey, headerValueLength varint, headerValue]*`.
//! A length of -1 means null.

use std::borrow::Cow;

use super::batch::{Batch, BatchHeader};
use super::compression::{decompress, Compression, MAX_DECOMPRESSED_BATCH_BYTES};
use super::error::LogError;

/// One record header (key and optional value), borrowed from the records buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHeader<'a> {
    /// Header key (a UTF-8 string on the wire; kept as bytes).
    pub key: &'a [u8],
    /// Header value, `None` when null.
    pub value: Option<&'a [u8]>,
}

/// One decoded record, borrowing from the records buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record<'a> {
    /// Record attributes (unused by Kafka today).
    pub attributes: i8,
    /// Timestamp relative to the batch's base timestamp.
    pub timestamp_delta: i64,
    /// Offset relative to the batch's base offset.
    pub offset_delta: i32,
    /// Key, `None` when null.
    pub key: Option<&'a [u8]>,
    /// Value, `None` when null (a tombstone).
    pub value: Option<&'a [u8]>,
    /// Headers in wire order.
    pub headers: Vec<RecordHeader<'a>>,
}

impl Record<'_> {
    /// Absolute offset of the record in a batch with this header.
    pub fn offset(&self, header: &BatchHeader) -> i64 {
        header
            .base_offset
            .wrapping_add(i64::from(self.offset_delta))
    }

    /// Timestamp of the record: the batch's max timestamp under `LogAppendTime`, else the base
    /// timestamp plus the delta.
    pub fn timestamp(&self, header: &BatchHeader) -> i64 {
        if header.is_log_append_time() {
            header.max_timestamp
        } else {
            header.base_timestamp.wrapping_add(self.timestamp_delta)
        }
    }
}

/// The records section of `batch`, decompressed if needed, never larger than `max_output`.
///
/// # Errors
/// [`LogError::Decompression`] past the bound or on bad compressed data;
/// [`LogError::InvalidRecord`] for an unknown codec.
pub fn decode_records<'a>(batch: &Batch<'a>, max_output: usize) -> Result<Cow<'a, [u8]>, LogError> {
    match batch.header.compression()? {
        Compression::None => Ok(Cow::Borrowed(batch.records_section())),
        codec => Ok(Cow::Owned(decompress(
            codec,
            batch.records_section(),
            max_output,
        )?)),
    }
}

/// Iterates over the records of a (decompressed) records section.
///
/// Yields exactly `recordsCount` records; a record that does not fit or does not add up ends
/// the iteration with [`LogError::CorruptRecord`].
#[derive(Debug, Clone)]
pub struct RecordIter<'a> {
    buf: &'a [u8],
    pos: usize,
    remaining: usize,
}

impl<'a> RecordIter<'a> {
    /// Iterates over `count` records at the start of `buf`. A negative count yields nothing.
    pub fn new(buf: &'a [u8], count: i32) -> Self {
        RecordIter {
            buf,
            pos: 0,
            remaining: usize::try_from(count).unwrap_or(0),
        }
    }

    /// Byte position in the buffer after the last record yielded: a record's raw bytes are
    /// the buffer between the positions before and after it (compaction copies them as they
    /// are).
    pub fn position(&self) -> usize {
        self.pos
    }

    fn decode_one(&mut self) -> Result<Record<'a>, LogError> {
        let len = read_varint(self.buf, &mut self.pos)?;
        let len =
            usize::try_from(len).map_err(|_| corrupt(format!("negative record length {len}")))?;
        let end = self
            .pos
            .checked_add(len)
            .filter(|&end| end <= self.buf.len())
            .ok_or_else(|| corrupt(format!("record of {len} bytes runs past the batch")))?;
        let body = &self.buf[..end];
        let mut p = self.pos;
        let attributes = *body
            .get(p)
            .ok_or_else(|| corrupt("record too short".into()))? as i8;
        p += 1;
        let timestamp_delta = read_varlong(body, &mut p)?;
        let offset_delta = read_varint(body, &mut p)?;
        let key = read_bytes(body, &mut p)?;
        let value = read_bytes(body, &mut p)?;
        let header_count = read_varint(body, &mut p)?;
        let header_count = usize::try_from(header_count)
            .map_err(|_| corrupt(format!("negative header count {header_count}")))?;
        let mut headers = Vec::new();
        for _ in 0..header_count {
            let key = read_bytes(body, &mut p)?
                .ok_or_else(|| corrupt("record header with a null key".into()))?;
            let value = read_bytes(body, &mut p)?;
            headers.push(RecordHeader { key, value });
        }
        if p != end {
            return Err(corrupt(format!(
                "record length says {len} bytes but its fields take {}",
                p - self.pos
            )));
        }
        self.pos = end;
        Ok(Record {
            attributes,
            timestamp_delta,
            offset_delta,
            key,
            value,
            headers,
        })
    }
}

impl<'a> Iterator for RecordIter<'a> {
    type Item = Result<Record<'a>, LogError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        let result = self.decode_one();
        self.remaining = if result.is_ok() {
            self.remaining - 1
        } else {
            0
        };
        Some(result)
    }
}

fn corrupt(msg: String) -> LogError {
    LogError::CorruptRecord(msg)
}

/// Reads an unsigned LEB128 value of at most `max_bytes` bytes.
fn read_unsigned(buf: &[u8], pos: &mut usize, max_bytes: u32) -> Result<u64, LogError> {
    let mut value = 0u64;
    for i in 0..max_bytes {
        let byte = *buf
            .get(*pos)
            .ok_or_else(|| corrupt("varint runs past the end of the record".into()))?;
        *pos += 1;
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(corrupt(format!("varint longer than {max_bytes} bytes")))
}

/// Reads a zig-zag varint (i32).
pub fn read_varint(buf: &[u8], pos: &mut usize) -> Result<i32, LogError> {
    let raw = read_unsigned(buf, pos, 5)?;
    let raw = u32::try_from(raw).map_err(|_| corrupt("varint overflows 32 bits".into()))?;
    Ok(((raw >> 1) as i32) ^ -((raw & 1) as i32))
}

/// Reads a zig-zag varlong (i64).
pub fn read_varlong(buf: &[u8], pos: &mut usize) -> Result<i64, LogError> {
    let raw = read_unsigned(buf, pos, 10)?;
    Ok(((raw >> 1) as i64) ^ -((raw & 1) as i64))
}

/// Reads a varint length and that many bytes; -1 is null.
fn read_bytes<'a>(buf: &'a [u8], pos: &mut usize) -> Result<Option<&'a [u8]>, LogError> {
    let len = read_varint(buf, pos)?;
    if len == -1 {
        return Ok(None);
    }
    let len = usize::try_from(len).map_err(|_| corrupt(format!("invalid length {len}")))?;
    let end = pos
        .checked_add(len)
        .filter(|&end| end <= buf.len())
        .ok_or_else(|| corrupt(format!("field of {len} bytes runs past the record")))?;
    let bytes = &buf[*pos..end];
    *pos = end;
    Ok(Some(bytes))
}

/// Rejects a batch holding a record with a null key: a compacted log can only keep the
/// latest record of a key (Kafka rejects these too).
///
/// # Errors
/// [`LogError::InvalidRecord`] for a null key; decoding errors of the batch.
pub(crate) fn require_keys(batch: &Batch<'_>) -> Result<(), LogError> {
    let records = decode_records(batch, MAX_DECOMPRESSED_BATCH_BYTES)?;
    let mut indexes = Vec::new();
    for (index, record) in RecordIter::new(&records, batch.header.records_count).enumerate() {
        if record?.key.is_none() {
            indexes.push(index as i32);
        }
    }
    if indexes.is_empty() {
        return Ok(());
    }
    Err(LogError::InvalidRecords {
        message: format!(
            "{} record(s) of the batch have a null key, but the topic is compacted \
             (cleanup.policy=compact) and keeps only the latest record per key; give every \
             record a key",
            indexes.len()
        ),
        indexes,
    })
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)] // Tests may panic on failure.
mod tests {
    use super::*;
    use crate::log::batch::BatchIter;
    use crate::log::testutil::{batch, put_varint, put_varlong, BatchSpec};

    #[test]
    fn varints_round_trip() {
        for v in [
            0i64,
            1,
            -1,
            63,
            -64,
            64,
            300,
            i64::from(i32::MAX),
            i64::MIN,
            i64::MAX,
        ] {
            let mut buf = Vec::new();
            put_varlong(&mut buf, v);
            let mut p = 0;
            assert_eq!(read_varlong(&buf, &mut p).unwrap(), v);
            assert_eq!(p, buf.len());
        }
        for v in [0i32, -1, 1, i32::MIN, i32::MAX] {
            let mut buf = Vec::new();
            put_varint(&mut buf, v);
            let mut p = 0;
            assert_eq!(read_varint(&buf, &mut p).unwrap(), v);
        }
        let mut p = 0;
        assert!(read_varint(&[0xff; 6], &mut p).is_err());
    }

    #[test]
    fn decodes_keys_values_headers_and_timestamps() {
        let mut spec = BatchSpec::values(&[b"v0", b"v1"]);
        spec.base_timestamp = 1_000;
        spec.records[0].key = Some(b"k0".to_vec());
        spec.records[1].value = None;
        spec.records[1].timestamp_delta = 7;
        spec.records[1].headers = vec![(b"h".to_vec(), Some(b"x".to_vec())), (b"n".to_vec(), None)];
        let bytes = batch(&spec);
        let b = BatchIter::new(&bytes).next().unwrap().unwrap();
        let data = decode_records(&b, 1 << 20).unwrap();
        let recs: Vec<_> = RecordIter::new(&data, b.header.records_count)
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[0].key, Some(&b"k0"[..]));
        assert_eq!(recs[0].value, Some(&b"v0"[..]));
        assert_eq!(recs[1].value, None);
        assert_eq!(recs[1].timestamp(&b.header), 1_007);
        assert_eq!(recs[1].offset(&b.header), 1);
        assert_eq!(recs[1].headers.len(), 2);
        assert_eq!(recs[1].headers[1].value, None);
    }

    #[test]
    fn truncated_records_are_corrupt() {
        let bytes = batch(&BatchSpec::values(&[b"hello", b"world"]));
        let b = BatchIter::new(&bytes).next().unwrap().unwrap();
        let section = &b.records_section()[..b.records_section().len() - 2];
        let items: Vec<_> = RecordIter::new(section, 2).collect();
        assert!(items[0].is_ok());
        assert!(matches!(items[1], Err(LogError::CorruptRecord(_))));
    }

    /// Decodes whatever it is given; errors are fine, panics are not.
    fn decode_everything(bytes: &[u8]) {
        for b in BatchIter::new(bytes) {
            let Ok(b) = b else { break };
            let _ = crate::log::batch::validate_produced(&b.header, b.bytes, 1 << 20);
            let _ = (
                b.header.last_offset(),
                b.header.next_offset(),
                b.header.last_sequence(),
            );
            if let Ok(data) = decode_records(&b, 1 << 20) {
                for r in RecordIter::new(&data, b.header.records_count).take(10_000) {
                    match r {
                        Ok(r) => {
                            let _ = (r.offset(&b.header), r.timestamp(&b.header));
                        }
                        Err(_) => break,
                    }
                }
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)) {
            decode_everything(&bytes);
        }

        #[test]
        fn mutated_batches_never_panic(
            codec in 0usize..6,
            flips in proptest::collection::vec((proptest::prelude::any::<usize>(), proptest::prelude::any::<u8>()), 1..6),
        ) {
            use crate::log::compression::Compression;
            let (c, xerial) = [
                (Compression::None, false),
                (Compression::Gzip, false),
                (Compression::Snappy, false),
                (Compression::Snappy, true),
                (Compression::Lz4, false),
                (Compression::Zstd, false),
            ][codec];
            let mut spec = BatchSpec::values(&[b"alpha", b"beta", b"gamma"]).compressed(c, xerial);
            spec.records[1].headers = vec![(b"k".to_vec(), Some(b"v".to_vec()))];
            let mut bytes = batch(&spec);
            for (at, x) in flips {
                let i = at % bytes.len();
                bytes[i] ^= x;
            }
            decode_everything(&bytes);
        }
    }
}
