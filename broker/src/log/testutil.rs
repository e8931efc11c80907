//! Test helpers: build valid v2 batches (plain or compressed) the way producers do.

use super::batch::{write_crc, HEADER_SIZE, LOG_OVERHEAD, MAGIC_V2};
use super::compression::Compression;

/// One record to put in a test batch.
#[derive(Debug, Clone)]
pub struct RecordSpec {
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub timestamp_delta: i64,
    pub headers: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

/// A test batch: records plus the header fields tests care about.
#[derive(Debug, Clone)]
pub struct BatchSpec {
    pub base_timestamp: i64,
    pub records: Vec<RecordSpec>,
    pub compression: Compression,
    /// Snappy only: use the Java client's xerial framing.
    pub xerial: bool,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
}

impl BatchSpec {
    /// Uncompressed records with these values, no keys, all at timestamp 1000.
    pub fn values(values: &[&[u8]]) -> BatchSpec {
        BatchSpec {
            base_timestamp: 1_000,
            records: values
                .iter()
                .map(|v| RecordSpec {
                    key: None,
                    value: Some(v.to_vec()),
                    timestamp_delta: 0,
                    headers: Vec::new(),
                })
                .collect(),
            compression: Compression::None,
            xerial: false,
            producer_id: -1,
            producer_epoch: -1,
            base_sequence: -1,
        }
    }

    /// Uncompressed records with these keys and values (`None`: a tombstone), all at
    /// timestamp 1000.
    pub fn keyed(records: &[(&str, Option<&str>)]) -> BatchSpec {
        let mut spec = BatchSpec::values(&vec![&b""[..]; records.len()]);
        for (r, (k, v)) in spec.records.iter_mut().zip(records) {
            r.key = Some(k.as_bytes().to_vec());
            r.value = v.map(|v| v.as_bytes().to_vec());
        }
        spec
    }

    /// `n` records of `size` bytes each with timestamps `base_ts + i * step`.
    pub fn sized(n: usize, size: usize, base_ts: i64, step: i64) -> BatchSpec {
        let value = vec![b'x'; size];
        let mut spec = BatchSpec::values(&vec![value.as_slice(); n]);
        spec.base_timestamp = base_ts;
        for (i, r) in spec.records.iter_mut().enumerate() {
            r.timestamp_delta = i as i64 * step;
        }
        spec
    }

    /// The same batch from an idempotent producer.
    pub fn producer(mut self, id: i64, epoch: i16, seq: i32) -> BatchSpec {
        self.producer_id = id;
        self.producer_epoch = epoch;
        self.base_sequence = seq;
        self
    }

    /// The same batch compressed with `codec`.
    pub fn compressed(mut self, codec: Compression, xerial: bool) -> BatchSpec {
        self.compression = codec;
        self.xerial = xerial;
        self
    }
}

pub fn put_varlong(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        out.push((z as u8) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

pub fn put_varint(out: &mut Vec<u8>, v: i32) {
    put_varlong(out, i64::from(v));
}

fn put_bytes(out: &mut Vec<u8>, b: Option<&[u8]>) {
    match b {
        None => put_varint(out, -1),
        Some(b) => {
            put_varint(out, b.len() as i32);
            out.extend_from_slice(b);
        }
    }
}

/// Compresses with `codec`, as a producer would.
pub fn compress(codec: Compression, data: &[u8], xerial: bool) -> Vec<u8> {
    super::compression::compress(codec, data, xerial).unwrap()
}

/// Encodes a valid v2 batch with base offset 0.
pub fn batch(spec: &BatchSpec) -> Vec<u8> {
    let mut records = Vec::new();
    for (i, r) in spec.records.iter().enumerate() {
        let mut body = vec![0u8];
        put_varlong(&mut body, r.timestamp_delta);
        put_varint(&mut body, i as i32);
        put_bytes(&mut body, r.key.as_deref());
        put_bytes(&mut body, r.value.as_deref());
        put_varint(&mut body, r.headers.len() as i32);
        for (k, v) in &r.headers {
            put_bytes(&mut body, Some(k));
            put_bytes(&mut body, v.as_deref());
        }
        put_varint(&mut records, body.len() as i32);
        records.extend(body);
    }
    let payload = compress(spec.compression, &records, spec.xerial);
    let max_delta = spec
        .records
        .iter()
        .map(|r| r.timestamp_delta)
        .max()
        .unwrap_or(0);
    let mut b = Vec::with_capacity(HEADER_SIZE + payload.len());
    b.extend(0i64.to_be_bytes());
    b.extend(((HEADER_SIZE - LOG_OVERHEAD + payload.len()) as i32).to_be_bytes());
    b.extend((-1i32).to_be_bytes());
    b.push(MAGIC_V2 as u8);
    b.extend(0u32.to_be_bytes());
    b.extend(spec.compression.id().to_be_bytes());
    b.extend((spec.records.len() as i32 - 1).to_be_bytes());
    b.extend(spec.base_timestamp.to_be_bytes());
    b.extend((spec.base_timestamp + max_delta).to_be_bytes());
    b.extend(spec.producer_id.to_be_bytes());
    b.extend(spec.producer_epoch.to_be_bytes());
    b.extend(spec.base_sequence.to_be_bytes());
    b.extend((spec.records.len() as i32).to_be_bytes());
    b.extend(payload);
    write_crc(&mut b);
    b
}

/// A fixed "now" for tests (Nov 2023), so timestamps and clocks are deterministic.
pub const NOW: i64 = 1_700_000_000_000;

/// Appends one batch built from `spec` at time `now`.
pub fn append_spec(
    log: &mut super::PartitionLog,
    spec: &BatchSpec,
    now: i64,
) -> Result<super::AppendOutcome, super::LogError> {
    let b = batch(spec);
    log.append(&b, now)
}

/// Appends one uncompressed batch of these values at [`NOW`].
pub fn append_values(log: &mut super::PartitionLog, values: &[&[u8]]) -> super::AppendOutcome {
    append_spec(log, &BatchSpec::values(values), NOW).unwrap()
}

/// Every record from the log start to the log end as (offset, value), read the way a
/// consumer does: fetch from an offset, decode, skip records below it, continue after.
pub fn consume_all(log: &super::PartitionLog, max_bytes: usize) -> Vec<(i64, Vec<u8>)> {
    use super::batch::BatchIter;
    use super::record::{decode_records, RecordIter};
    let mut out = Vec::new();
    let mut offset = log.log_start_offset();
    while offset < log.log_end_offset() {
        let bytes = log.read(offset, max_bytes).unwrap();
        assert!(!bytes.is_empty(), "empty read at {offset}");
        for b in BatchIter::new(&bytes) {
            let b = b.unwrap();
            let data = decode_records(&b, 1 << 26).unwrap();
            for r in RecordIter::new(&data, b.header.records_count) {
                let r = r.unwrap();
                let o = r.offset(&b.header);
                if o >= offset {
                    out.push((o, r.value.unwrap_or_default().to_vec()));
                }
            }
            offset = offset.max(b.header.next_offset());
        }
    }
    out
}
