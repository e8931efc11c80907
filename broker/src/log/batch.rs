//! Kafka RecordBatch v2 headers: parse, validate, iterate, and patch the base offset.
//!
//! A produce request carries, per partition, a byte buffer of one or more v2 batches. The log
//! never re-encodes them: it reads each 61-byte header, checks the CRC-32C over the rest of the
//! batch, writes the base offset it assigns into bytes 0..8 (outside the CRC, so the checksum
//! stays valid) and stores the bytes as they are. The records inside a batch are only decoded
//! when a look-up needs them (see [`super::record`]).
//!
//! Layout (all big-endian):
//!
//! | offset | field                | type |
//! |-------:|----------------------|------|
//! |      0 | baseOffset           | i64  |
//! |      8 | batchLength          | i32  (bytes after this field) |
//! |     12 | partitionLeaderEpoch | i32  |
//! |     16 | magic                | i8 (2) |
//! |     17 | crc                  | u32 (CRC-32C of bytes 21..end) |
//! |     21 | attributes           | i16  |
//! |     23 | lastOffsetDelta      | i32  |
//! |     27 | baseTimestamp        | i64  |
//! |     35 | maxTimestamp         | i64  |
//! |     43 | producerId           | i64  |
//! |     51 | producerEpoch        | i16  |
//! |     53 | baseSequence         | i32  |
//! |     57 | recordsCount         | i32  |
//! |     61 | records …            |      |

use super::compression::Compression;
pub use super::compression::COMPRESSION_MASK;
use super::error::LogError;

/// Size of the v2 batch header in bytes; the records start here.
pub const HEADER_SIZE: usize = 61;
/// Bytes before `batchLength` counts: baseOffset (8) + batchLength (4).
pub const LOG_OVERHEAD: usize = 12;
/// Byte offset of the CRC field.
const CRC_OFFSET: usize = 17;
/// Byte offset where the CRC-covered bytes start (the attributes field).
const ATTRIBUTES_OFFSET: usize = 21;
/// The only batch format this log stores.
pub const MAGIC_V2: i8 = 2;

const TIMESTAMP_TYPE_BIT: i16 = 0x08;
const TRANSACTIONAL_BIT: i16 = 0x10;
const CONTROL_BIT: i16 = 0x20;

/// The parsed 61-byte header of a v2 record batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    /// Offset of the first record.
    pub base_offset: i64,
    /// Bytes after the `batchLength` field (total size minus 12).
    pub batch_length: i32,
    /// Leader epoch stamped by the broker (producers send -1).
    pub partition_leader_epoch: i32,
    /// Format version; always 2 once parsed.
    pub magic: i8,
    /// CRC-32C of the bytes from the attributes field to the end of the batch.
    pub crc: u32,
    /// Compression (bits 0-2), timestamp type (bit 3), transactional (bit 4), control (bit 5).
    pub attributes: i16,
    /// Offset of the last record relative to `base_offset`.
    pub last_offset_delta: i32,
    /// Timestamp of the first record.
    pub base_timestamp: i64,
    /// Largest record timestamp in the batch.
    pub max_timestamp: i64,
    /// Idempotent producer id, or -1.
    pub producer_id: i64,
    /// Producer epoch, or -1.
    pub producer_epoch: i16,
    /// Sequence number of the first record, or -1.
    pub base_sequence: i32,
    /// Number of records in the batch.
    pub records_count: i32,
}

fn be_i16(b: &[u8], at: usize) -> i16 {
    i16::from_be_bytes([b[at], b[at + 1]])
}
fn be_i32(b: &[u8], at: usize) -> i32 {
    i32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
fn be_i64(b: &[u8], at: usize) -> i64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[at..at + 8]);
    i64::from_be_bytes(x)
}

impl BatchHeader {
    /// Parses the header at the start of `buf` and checks what the header alone can show:
    /// at least 61 bytes, magic 2, and a `batchLength` that covers the header.
    ///
    /// # Errors
    /// [`LogError::CorruptRecord`] if `buf` is shorter than a header, the magic byte is not 2,
    /// or the length is impossible.
    pub fn parse(buf: &[u8]) -> Result<BatchHeader, LogError> {
        if buf.len() < HEADER_SIZE {
            return Err(LogError::CorruptRecord(format!(
                "{} bytes is too short for a record batch header ({HEADER_SIZE} bytes)",
                buf.len()
            )));
        }
        let magic = buf[16] as i8;
        if magic != MAGIC_V2 {
            return Err(LogError::CorruptRecord(format!(
                "record batch magic is {magic}, only format v2 (magic 2) is supported; \
                 upgrade the client or set its api.version to a Kafka 0.11+ protocol"
            )));
        }
        let batch_length = be_i32(buf, 8);
        if batch_length < (HEADER_SIZE - LOG_OVERHEAD) as i32 {
            return Err(LogError::CorruptRecord(format!(
                "record batch length {batch_length} is smaller than the batch header"
            )));
        }
        Ok(BatchHeader {
            base_offset: be_i64(buf, 0),
            batch_length,
            partition_leader_epoch: be_i32(buf, 12),
            magic,
            crc: u32::from_be_bytes([buf[17], buf[18], buf[19], buf[20]]),
            attributes: be_i16(buf, 21),
            last_offset_delta: be_i32(buf, 23),
            base_timestamp: be_i64(buf, 27),
            max_timestamp: be_i64(buf, 35),
            producer_id: be_i64(buf, 43),
            producer_epoch: be_i16(buf, 51),
            base_sequence: be_i32(buf, 53),
            records_count: be_i32(buf, 57),
        })
    }

    /// The 61-byte wire encoding of this header, fields as they are (the CRC is not
    /// recomputed; see [`write_crc`] once the records follow).
    pub fn encode(&self) -> [u8; HEADER_SIZE] {
        let mut b = [0u8; HEADER_SIZE];
        b[0..8].copy_from_slice(&self.base_offset.to_be_bytes());
        b[8..12].copy_from_slice(&self.batch_length.to_be_bytes());
        b[12..16].copy_from_slice(&self.partition_leader_epoch.to_be_bytes());
        b[16] = self.magic as u8;
        b[CRC_OFFSET..ATTRIBUTES_OFFSET].copy_from_slice(&self.crc.to_be_bytes());
        b[21..23].copy_from_slice(&self.attributes.to_be_bytes());
        b[23..27].copy_from_slice(&self.last_offset_delta.to_be_bytes());
        b[27..35].copy_from_slice(&self.base_timestamp.to_be_bytes());
        b[35..43].copy_from_slice(&self.max_timestamp.to_be_bytes());
        b[43..51].copy_from_slice(&self.producer_id.to_be_bytes());
        b[51..53].copy_from_slice(&self.producer_epoch.to_be_bytes());
        b[53..57].copy_from_slice(&self.base_sequence.to_be_bytes());
        b[57..61].copy_from_slice(&self.records_count.to_be_bytes());
        b
    }

    /// Total size of the batch in bytes, header included.
    pub fn total_size(&self) -> usize {
        // batch_length >= 49 was checked in `parse`, so the cast cannot wrap.
        self.batch_length as usize + LOG_OVERHEAD
    }

    /// Offset of the last record in the batch. Wraps rather than panics on hostile input;
    /// the log only trusts it for batches whose offsets it assigned or checked.
    pub fn last_offset(&self) -> i64 {
        self.base_offset
            .wrapping_add(i64::from(self.last_offset_delta))
    }

    /// Offset the batch after this one would start at.
    pub fn next_offset(&self) -> i64 {
        self.last_offset().wrapping_add(1)
    }

    /// Compression codec of the records section.
    ///
    /// # Errors
    /// [`LogError::InvalidRecord`] for codec ids 5-7, which Kafka does not define.
    pub fn compression(&self) -> Result<Compression, LogError> {
        Compression::from_attributes(self.attributes)
    }

    /// True when record timestamps are the broker's append time (`LogAppendTime`); every
    /// record then has `max_timestamp` as its timestamp.
    pub fn is_log_append_time(&self) -> bool {
        self.attributes & TIMESTAMP_TYPE_BIT != 0
    }

    /// True for batches written inside a transaction.
    pub fn is_transactional(&self) -> bool {
        self.attributes & TRANSACTIONAL_BIT != 0
    }

    /// True for control batches (transaction markers).
    pub fn is_control(&self) -> bool {
        self.attributes & CONTROL_BIT != 0
    }

    /// True when the batch comes from an idempotent or transactional producer.
    pub fn has_producer_id(&self) -> bool {
        self.producer_id >= 0
    }

    /// Sequence number of the last record, wrapping from `i32::MAX` to 0 as Kafka does.
    pub fn last_sequence(&self) -> i32 {
        increment_sequence(self.base_sequence, self.last_offset_delta)
    }
}

/// `seq + delta` in Kafka's sequence space, which wraps from `i32::MAX` to 0.
pub fn increment_sequence(seq: i32, delta: i32) -> i32 {
    if delta >= 0 && seq > i32::MAX - delta {
        // Here 0 <= i32::MAX - seq < delta, so this cannot overflow.
        delta - (i32::MAX - seq) - 1
    } else {
        seq.wrapping_add(delta)
    }
}

/// Checks the CRC-32C of a whole batch (`batch` is exactly one batch, header included).
///
/// # Errors
/// [`LogError::CorruptRecord`] on a mismatch.
pub fn verify_crc(header: &BatchHeader, batch: &[u8]) -> Result<(), LogError> {
    let actual = crc32c::crc32c(&batch[ATTRIBUTES_OFFSET..]);
    if actual != header.crc {
        return Err(LogError::CorruptRecord(format!(
            "CRC mismatch in batch at offset {}: stored {:#010x}, computed {actual:#010x}",
            header.base_offset, header.crc
        )));
    }
    Ok(())
}

/// Computes and writes the CRC of a batch whose other fields are final.
pub fn write_crc(batch: &mut [u8]) {
    let crc = crc32c::crc32c(&batch[ATTRIBUTES_OFFSET..]);
    batch[CRC_OFFSET..ATTRIBUTES_OFFSET].copy_from_slice(&crc.to_be_bytes());
}

/// Writes `base_offset` into the batch at the start of `batch`. The field is outside the CRC,
/// so the batch stays valid.
pub fn set_base_offset(batch: &mut [u8], base_offset: i64) {
    batch[0..8].copy_from_slice(&base_offset.to_be_bytes());
}

/// Checks a batch as a producer sent it: CRC, a non-negative `lastOffsetDelta`, a record count
/// equal to `lastOffsetDelta + 1`, a known codec and a size within `max_batch_bytes`.
///
/// `batch` is exactly one batch (header included), as yielded by [`BatchIter`].
///
/// # Errors
/// [`LogError::RecordTooLarge`], [`LogError::CorruptRecord`] or [`LogError::InvalidRecord`].
pub fn validate_produced(
    header: &BatchHeader,
    batch: &[u8],
    max_batch_bytes: usize,
) -> Result<(), LogError> {
    if batch.len() > max_batch_bytes {
        return Err(LogError::RecordTooLarge {
            size: batch.len(),
            max: max_batch_bytes,
        });
    }
    verify_crc(header, batch)?;
    if header.last_offset_delta < 0 {
        return Err(LogError::InvalidRecord(format!(
            "lastOffsetDelta is {}, it must not be negative",
            header.last_offset_delta
        )));
    }
    if i64::from(header.records_count) != i64::from(header.last_offset_delta) + 1 {
        return Err(LogError::InvalidRecord(format!(
            "batch holds {} records but lastOffsetDelta is {}; a new batch must number its \
             records 0..count",
            header.records_count, header.last_offset_delta
        )));
    }
    header.compression()?;
    Ok(())
}

/// One batch found in a buffer by [`BatchIter`].
#[derive(Debug, Clone, Copy)]
pub struct Batch<'a> {
    /// Byte position of the batch in the buffer.
    pub position: usize,
    /// Its parsed header.
    pub header: BatchHeader,
    /// The whole batch, header included.
    pub bytes: &'a [u8],
}

impl<'a> Batch<'a> {
    /// The records section (after the 61-byte header), compressed if the batch is.
    pub fn records_section(&self) -> &'a [u8] {
        &self.bytes[HEADER_SIZE..]
    }
}

/// Iterates over the v2 batches laid end to end in a buffer.
///
/// Each item checks the header and that the whole batch fits in the buffer; it does not check
/// the CRC (use [`verify_crc`] or [`validate_produced`]). After the first error the iterator
/// ends.
#[derive(Debug, Clone)]
pub struct BatchIter<'a> {
    buf: &'a [u8],
    pos: usize,
    failed: bool,
}

impl<'a> BatchIter<'a> {
    /// Iterates over the batches in `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        BatchIter {
            buf,
            pos: 0,
            failed: false,
        }
    }
}

impl<'a> Iterator for BatchIter<'a> {
    type Item = Result<Batch<'a>, LogError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos >= self.buf.len() {
            return None;
        }
        let rest = &self.buf[self.pos..];
        let result = BatchHeader::parse(rest).and_then(|header| {
            let size = header.total_size();
            if size > rest.len() {
                return Err(LogError::CorruptRecord(format!(
                    "batch at byte {} claims {size} bytes but only {} remain",
                    self.pos,
                    rest.len()
                )));
            }
            Ok(Batch {
                position: self.pos,
                header,
                bytes: &rest[..size],
            })
        });
        match &result {
            Ok(batch) => self.pos += batch.bytes.len(),
            Err(_) => self.failed = true,
        }
        Some(result)
    }
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)] // Tests may panic on failure.
mod tests {
    use super::*;
    use crate::log::testutil::{batch, BatchSpec};
    use proptest::prelude::*;

    #[test]
    fn parses_a_built_batch() {
        let b = batch(&BatchSpec::values(&[b"a", b"bb", b"ccc"]));
        let h = BatchHeader::parse(&b).unwrap();
        assert_eq!(h.total_size(), b.len());
        assert_eq!(h.records_count, 3);
        assert_eq!(h.last_offset_delta, 2);
        assert_eq!(h.magic, 2);
        verify_crc(&h, &b).unwrap();
        validate_produced(&h, &b, 1 << 20).unwrap();
    }

    #[test]
    fn rejects_bad_magic_short_and_crc() {
        let mut b = batch(&BatchSpec::values(&[b"a"]));
        assert!(matches!(
            BatchHeader::parse(&b[..60]),
            Err(LogError::CorruptRecord(_))
        ));
        let last = b.len() - 1;
        b[last] ^= 0xff;
        let h = BatchHeader::parse(&b).unwrap();
        assert!(matches!(
            verify_crc(&h, &b),
            Err(LogError::CorruptRecord(m)) if m.contains("CRC")
        ));
        b[16] = 1;
        assert!(matches!(
            BatchHeader::parse(&b),
            Err(LogError::CorruptRecord(m)) if m.contains("magic")
        ));
    }

    #[test]
    fn rejects_count_mismatch_and_oversize() {
        let mut b = batch(&BatchSpec::values(&[b"a", b"b"]));
        b[57..61].copy_from_slice(&5i32.to_be_bytes());
        write_crc(&mut b);
        let h = BatchHeader::parse(&b).unwrap();
        assert!(matches!(
            validate_produced(&h, &b, 1 << 20),
            Err(LogError::InvalidRecord(_))
        ));
        assert!(matches!(
            validate_produced(&h, &b, 10),
            Err(LogError::RecordTooLarge { max: 10, .. })
        ));
    }

    #[test]
    fn iterates_and_stops_at_truncation() {
        let mut buf = batch(&BatchSpec::values(&[b"a"]));
        buf.extend(batch(&BatchSpec::values(&[b"b", b"c"])));
        let all: Vec<_> = BatchIter::new(&buf).collect::<Result<_, _>>().unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[1].position, all[0].bytes.len());
        let cut = &buf[..buf.len() - 3];
        let items: Vec<_> = BatchIter::new(cut).collect();
        assert_eq!(items.len(), 2);
        assert!(items[1].is_err());
    }

    #[test]
    fn sequence_wraps() {
        assert_eq!(increment_sequence(5, 3), 8);
        assert_eq!(increment_sequence(i32::MAX, 1), 0);
        assert_eq!(increment_sequence(i32::MAX - 1, 3), 1);
    }

    proptest! {
        #[test]
        fn patch_round_trips(
            offset in any::<i64>(),
            values in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..20), 1..8),
            ts in 0i64..1 << 50,
        ) {
            let refs: Vec<&[u8]> = values.iter().map(|v| v.as_slice()).collect();
            let mut spec = BatchSpec::values(&refs);
            spec.base_timestamp = ts;
            let mut b = batch(&spec);
            set_base_offset(&mut b, offset);
            let h = BatchHeader::parse(&b).unwrap();
            prop_assert_eq!(&h.encode()[..], &b[..HEADER_SIZE]);
            prop_assert_eq!(h.base_offset, offset);
            prop_assert_eq!(h.base_timestamp, ts);
            prop_assert_eq!(h.records_count as usize, values.len());
            prop_assert!(verify_crc(&h, &b).is_ok());
        }
    }
}
