//! Filtering the records of one batch, and re-encoding what is left.
//!
//! A batch is rewritten only when records go. The surviving records are copied byte for
//! byte (their offset and timestamp deltas stay valid because the base offset and base
//! timestamp stay), the section is re-compressed with the batch's codec, and the header keeps
//! every field except `batchLength`, `recordsCount`, the max timestamp (recomputed from the
//! survivors under `CreateTime`) and the CRC. A batch with no survivors is dropped, or kept
//! as a header with no records (uncompressed) when the caller needs its offset range or
//! producer sequence.

use std::path::Path;

use crate::log::batch::{
    write_crc, Batch, BatchHeader, COMPRESSION_MASK, HEADER_SIZE, LOG_OVERHEAD,
};
use crate::log::compression::MAX_DECOMPRESSED_BATCH_BYTES;
use crate::log::compression::{compress, is_xerial, Compression};
use crate::log::error::LogError;
use crate::log::record::{decode_records, Record, RecordIter};

/// Kafka's "no timestamp".
const NO_TIMESTAMP: i64 = -1;

/// What becomes of one batch.
#[derive(Debug, PartialEq, Eq)]
pub enum Filtered {
    /// Every record stays: copy the batch as it is.
    Unchanged,
    /// Some records go: store these bytes (a whole batch, CRC set) instead.
    Rewritten(Vec<u8>),
    /// Every record goes and nothing needs the batch: leave it out.
    Dropped,
}

/// Applies `keep(record, offset)` to every record of `batch`. With `keep_empty`, a batch
/// left without records becomes a header-only batch instead of being dropped. A header-only
/// batch from an earlier compaction is dropped once nothing needs it any more. `path` names
/// the segment in errors.
///
/// # Errors
/// Decoding errors of the stored batch ([`LogError::CorruptRecord`],
/// [`LogError::Decompression`]); [`LogError::Io`] if re-compression fails.
pub fn filter_batch(
    batch: &Batch<'_>,
    keep_empty: bool,
    path: &Path,
    mut keep: impl FnMut(&Record<'_>, i64) -> bool,
) -> Result<Filtered, LogError> {
    let header = &batch.header;
    if header.records_count == 0 {
        return Ok(if keep_empty {
            Filtered::Unchanged
        } else {
            Filtered::Dropped
        });
    }
    let records = decode_records(batch, MAX_DECOMPRESSED_BATCH_BYTES)?;
    let mut iter = RecordIter::new(&records, header.records_count);
    let mut kept = Vec::new();
    let mut kept_count = 0i32;
    let mut removed = false;
    let mut max_timestamp = i64::MIN;
    let mut start = 0;
    while let Some(record) = iter.next() {
        let record = record?;
        let end = iter.position();
        if keep(&record, record.offset(header)) {
            kept.extend_from_slice(&records[start..end]);
            kept_count += 1;
            max_timestamp = max_timestamp.max(record.timestamp(header));
        } else {
            removed = true;
        }
        start = end;
    }
    if !removed {
        return Ok(Filtered::Unchanged);
    }
    if kept_count == 0 {
        return Ok(if keep_empty {
            Filtered::Rewritten(empty_batch(header))
        } else {
            Filtered::Dropped
        });
    }
    let codec = header.compression()?;
    let payload = match codec {
        Compression::None => kept,
        codec => {
            let xerial = codec == Compression::Snappy && is_xerial(batch.records_section());
            compress(codec, &kept, xerial).map_err(|e| LogError::io(path, e))?
        }
    };
    let mut rewritten = *header;
    rewritten.records_count = kept_count;
    if !header.is_log_append_time() {
        rewritten.max_timestamp = max_timestamp;
    }
    Ok(Filtered::Rewritten(encode(rewritten, &payload)?))
}

/// A batch with the offsets and producer fields of `header` but no records (uncompressed,
/// since there is nothing to compress), as Kafka's cleaner writes them. Unlike Kafka's, its
/// timestamps are -1 (none), so the time index and ListOffsets `MAX_TIMESTAMP` never point
/// at a record that is gone.
pub fn empty_batch(header: &BatchHeader) -> Vec<u8> {
    let mut empty = *header;
    empty.records_count = 0;
    empty.attributes &= !COMPRESSION_MASK;
    empty.base_timestamp = NO_TIMESTAMP;
    empty.max_timestamp = NO_TIMESTAMP;
    // An empty records section always fits: the header alone is 61 bytes.
    encode(empty, &[]).unwrap_or_default()
}

/// Encodes `header` (with its batch length set from `payload`) followed by `payload`, and
/// sets the CRC.
fn encode(mut header: BatchHeader, payload: &[u8]) -> Result<Vec<u8>, LogError> {
    header.batch_length =
        i32::try_from(HEADER_SIZE - LOG_OVERHEAD + payload.len()).map_err(|_| {
            LogError::InvalidRecord(format!(
                "rewritten batch at offset {} would be larger than 2 GiB",
                header.base_offset
            ))
        })?;
    let mut out = Vec::with_capacity(HEADER_SIZE + payload.len());
    out.extend_from_slice(&header.encode());
    out.extend_from_slice(payload);
    write_crc(&mut out);
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)] // Tests may panic on failure.
mod tests {
    use super::*;
    use crate::log::batch::{set_base_offset, verify_crc, BatchIter};
    use crate::log::testutil::{batch, BatchSpec};

    fn parse(bytes: &[u8]) -> Batch<'_> {
        let b = BatchIter::new(bytes).next().unwrap().unwrap();
        verify_crc(&b.header, b.bytes).unwrap();
        b
    }

    /// (offset, key, value, timestamp) of every record.
    #[allow(clippy::type_complexity)]
    fn records(bytes: &[u8]) -> Vec<(i64, Vec<u8>, Option<Vec<u8>>, i64)> {
        let b = parse(bytes);
        let data = decode_records(&b, 1 << 20).unwrap();
        RecordIter::new(&data, b.header.records_count)
            .map(|r| {
                let r = r.unwrap();
                (
                    r.offset(&b.header),
                    r.key.unwrap().to_vec(),
                    r.value.map(<[u8]>::to_vec),
                    r.timestamp(&b.header),
                )
            })
            .collect()
    }

    fn keyed(codec: Compression, xerial: bool) -> Vec<u8> {
        let mut spec = BatchSpec::keyed(&[("a", Some("1")), ("b", None), ("c", Some("3"))])
            .compressed(codec, xerial)
            .producer(7, 2, 40);
        spec.base_timestamp = 5_000;
        for (r, d) in spec.records.iter_mut().zip([0, 90, 30]) {
            r.timestamp_delta = d;
        }
        spec.records[1].headers = vec![(b"h".to_vec(), Some(b"x".to_vec()))];
        let mut b = batch(&spec);
        set_base_offset(&mut b, 100);
        b
    }

    #[test]
    fn keeps_offsets_producer_fields_and_codec() {
        let codecs = [
            (Compression::None, false),
            (Compression::Gzip, false),
            (Compression::Snappy, false),
            (Compression::Snappy, true),
            (Compression::Lz4, false),
            (Compression::Zstd, false),
        ];
        for (codec, xerial) in codecs {
            let bytes = keyed(codec, xerial);
            let original = parse(&bytes);
            let path = Path::new("x.log");
            assert_eq!(
                filter_batch(&original, false, path, |_, _| true).unwrap(),
                Filtered::Unchanged
            );
            let Filtered::Rewritten(out) =
                filter_batch(&original, false, path, |r, _| r.key != Some(b"b")).unwrap()
            else {
                panic!("{codec:?}: expected a rewrite");
            };
            let b = parse(&out);
            let (h, o) = (b.header, original.header);
            assert_eq!(
                (h.base_offset, h.last_offset_delta, h.records_count),
                (100, 2, 2),
                "{codec:?}"
            );
            assert_eq!(
                (h.producer_id, h.producer_epoch, h.base_sequence),
                (7, 2, 40)
            );
            assert_eq!(h.attributes, o.attributes);
            assert_eq!(h.base_timestamp, 5_000);
            assert_eq!(
                h.max_timestamp, 5_030,
                "recomputed without the removed record"
            );
            assert_eq!(
                is_xerial(b.records_section()),
                xerial && codec == Compression::Snappy
            );
            let got = records(&out);
            assert_eq!(
                got,
                vec![
                    (100, b"a".to_vec(), Some(b"1".to_vec()), 5_000),
                    (102, b"c".to_vec(), Some(b"3".to_vec()), 5_030),
                ],
                "{codec:?}"
            );
        }
    }

    #[test]
    fn empty_batches_are_dropped_or_kept_as_headers() {
        let bytes = keyed(Compression::Gzip, false);
        let original = parse(&bytes);
        let path = Path::new("x.log");
        assert_eq!(
            filter_batch(&original, false, path, |_, _| false).unwrap(),
            Filtered::Dropped
        );
        let Filtered::Rewritten(empty) = filter_batch(&original, true, path, |_, _| false).unwrap()
        else {
            panic!("expected a header-only batch");
        };
        assert_eq!(empty.len(), HEADER_SIZE);
        let b = parse(&empty);
        assert_eq!(b.header.records_count, 0);
        assert_eq!(b.header.compression().unwrap(), Compression::None);
        assert_eq!((b.header.base_timestamp, b.header.max_timestamp), (-1, -1));
        assert_eq!(b.header.last_sequence(), original.header.last_sequence());
        assert_eq!(b.header.next_offset(), 103);
        assert!(records(&empty).is_empty());
        // A header-only batch is kept while needed, dropped after.
        assert_eq!(
            filter_batch(&b, true, path, |_, _| false).unwrap(),
            Filtered::Unchanged
        );
        assert_eq!(
            filter_batch(&b, false, path, |_, _| true).unwrap(),
            Filtered::Dropped
        );
    }
}
