//! Idempotent-producer de-duplication, following Kafka's rules.
//!
//! For each producer id the log keeps the current epoch and the metadata of the last
//! [`MAX_CACHED_BATCHES`] batches (first/last sequence, first/last offset). Before an append,
//! [`ProducerStateManager::plan`] checks every batch that carries a producer id:
//!
//! - an epoch lower than the current one is fenced ([`LogError::InvalidProducerEpoch`]);
//! - a higher epoch must start at sequence 0, and resets the producer's cached batches;
//! - a batch whose (first, last) sequence matches a cached batch is a retry: the append is
//!   skipped and the original offsets are returned;
//! - otherwise the first sequence must follow the last cached one (wrapping at `i32::MAX`);
//! - an unknown producer id is accepted with any sequence.
//!
//! Only headers are involved, so the check costs nothing per record. The state is rebuilt on
//! open from a snapshot written at clean shutdown, or else from the stored batch headers.

use std::collections::{HashMap, VecDeque};
use std::path::Path;

use super::batch::{increment_sequence, BatchHeader};
use super::error::LogError;
use super::fsio::write_file_atomically;

/// How many recent batches per producer are remembered for duplicate detection (Kafka's
/// `max.in.flight.requests.per.connection` limit for idempotence).
pub const MAX_CACHED_BATCHES: usize = 5;

const SNAPSHOT_MAGIC: &[u8; 4] = b"FJPS";
const SNAPSHOT_VERSION: u16 = 1;

/// Sequence and offset range of one appended batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchMetadata {
    /// Sequence number of the first record.
    pub first_seq: i32,
    /// Sequence number of the last record.
    pub last_seq: i32,
    /// Offset of the first record.
    pub first_offset: i64,
    /// Offset of the last record.
    pub last_offset: i64,
}

impl BatchMetadata {
    /// The metadata of a batch whose header carries its final base offset.
    pub fn of(header: &BatchHeader) -> Self {
        BatchMetadata {
            first_seq: header.base_sequence,
            last_seq: header.last_sequence(),
            first_offset: header.base_offset,
            last_offset: header.last_offset(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct ProducerEntry {
    epoch: i16,
    batches: VecDeque<BatchMetadata>,
}

impl ProducerEntry {
    fn apply(&mut self, epoch: i16, batch: Option<BatchMetadata>) {
        if epoch != self.epoch {
            self.epoch = epoch;
            self.batches.clear();
        }
        if let Some(b) = batch {
            if self.batches.len() == MAX_CACHED_BATCHES {
                self.batches.pop_front();
            }
            self.batches.push_back(b);
        }
    }
}

/// One accepted producer update, applied with [`ProducerStateManager::commit`] once the
/// batches are written.
#[derive(Debug, Clone, Copy)]
pub struct ProducerUpdate {
    producer_id: i64,
    epoch: i16,
    batch: Option<BatchMetadata>,
}

/// The outcome of checking the batches of one append.
#[derive(Debug)]
pub enum AppendPlan {
    /// Append; then commit these updates.
    Append(Vec<ProducerUpdate>),
    /// The batch was appended before: skip the append and answer with these offsets.
    Duplicate(BatchMetadata),
}

/// Per-producer epochs and recent batches of one partition.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ProducerStateManager {
    producers: HashMap<i64, ProducerEntry>,
}

impl ProducerStateManager {
    /// An empty state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks the batches of one append, in order. Each header carries the base offset the
    /// log is about to assign. Later batches of the same request are checked against the
    /// state the earlier ones would leave.
    ///
    /// # Errors
    /// [`LogError::InvalidProducerEpoch`] or [`LogError::OutOfOrderSequence`].
    pub fn plan<'a, I>(&self, batches: I) -> Result<AppendPlan, LogError>
    where
        I: IntoIterator<Item = &'a BatchHeader>,
        I::IntoIter: ExactSizeIterator,
    {
        let batches = batches.into_iter();
        let count = batches.len();
        // Only a request with several batches needs the state its earlier batches leave.
        let mut staged: HashMap<i64, ProducerEntry> = HashMap::new();
        let mut updates = Vec::new();
        for (i, header) in batches.enumerate() {
            if !header.has_producer_id() {
                continue;
            }
            let pid = header.producer_id;
            let epoch = header.producer_epoch;
            let entry = staged.get(&pid).or_else(|| self.producers.get(&pid));
            if let Some(e) = entry {
                if epoch < e.epoch {
                    return Err(LogError::InvalidProducerEpoch {
                        producer_id: pid,
                        current: e.epoch,
                        got: epoch,
                    });
                }
            }
            let batch = if header.is_control() {
                // Transaction markers carry no sequence; they only move the epoch.
                None
            } else {
                let meta = BatchMetadata::of(header);
                if let Some(dup) = check_sequence(pid, epoch, entry, &meta)? {
                    return Ok(AppendPlan::Duplicate(dup));
                }
                Some(meta)
            };
            if i + 1 < count {
                let mut next = entry.cloned().unwrap_or_else(|| ProducerEntry {
                    epoch,
                    batches: VecDeque::new(),
                });
                next.apply(epoch, batch);
                staged.insert(pid, next);
            }
            updates.push(ProducerUpdate {
                producer_id: pid,
                epoch,
                batch,
            });
        }
        Ok(AppendPlan::Append(updates))
    }

    /// Applies the updates of a planned append after it was written.
    pub fn commit(&mut self, updates: Vec<ProducerUpdate>) {
        for u in updates {
            self.apply(u.producer_id, u.epoch, u.batch);
        }
    }

    /// Replays a stored batch header (recovery); no checks.
    pub fn replay(&mut self, header: &BatchHeader) {
        if header.has_producer_id() {
            let batch = (!header.is_control()).then(|| BatchMetadata::of(header));
            self.apply(header.producer_id, header.producer_epoch, batch);
        }
    }

    /// Base offset of the last data batch of every producer, which compaction must keep (at
    /// least as an empty batch) so that the state can be rebuilt from the headers.
    pub fn last_batch_offsets(&self) -> impl Iterator<Item = i64> + '_ {
        self.producers
            .values()
            .filter_map(|e| e.batches.back().map(|b| b.first_offset))
    }

    fn apply(&mut self, pid: i64, epoch: i16, batch: Option<BatchMetadata>) {
        match self.producers.get_mut(&pid) {
            Some(e) => e.apply(epoch, batch),
            None => {
                let mut e = ProducerEntry {
                    epoch,
                    batches: VecDeque::with_capacity(MAX_CACHED_BATCHES),
                };
                e.apply(epoch, batch);
                self.producers.insert(pid, e);
            }
        }
    }

    /// Writes the state to `path` (via a temporary file and a rename), tagged with the log
    /// end offset it corresponds to, and fsyncs it.
    ///
    /// # Errors
    /// [`LogError::Io`] if the file cannot be written.
    pub fn write_snapshot(&self, path: &Path, end_offset: i64) -> Result<(), LogError> {
        let mut buf = Vec::with_capacity(18 + self.producers.len() * 64);
        buf.extend_from_slice(SNAPSHOT_MAGIC);
        buf.extend_from_slice(&SNAPSHOT_VERSION.to_be_bytes());
        buf.extend_from_slice(&end_offset.to_be_bytes());
        buf.extend_from_slice(&(self.producers.len() as u32).to_be_bytes());
        for (pid, e) in &self.producers {
            buf.extend_from_slice(&pid.to_be_bytes());
            buf.extend_from_slice(&e.epoch.to_be_bytes());
            // At most MAX_CACHED_BATCHES (5) entries, so the cast is exact.
            buf.push(e.batches.len() as u8);
            for b in &e.batches {
                buf.extend_from_slice(&b.first_seq.to_be_bytes());
                buf.extend_from_slice(&b.last_seq.to_be_bytes());
                buf.extend_from_slice(&b.first_offset.to_be_bytes());
                buf.extend_from_slice(&b.last_offset.to_be_bytes());
            }
        }
        let crc = crc32c::crc32c(&buf);
        buf.extend_from_slice(&crc.to_be_bytes());
        write_file_atomically(path, &buf)
    }

    /// Reads a snapshot written by [`write_snapshot`](Self::write_snapshot): the state and the
    /// log end offset it was taken at. `Ok(None)` if absent or damaged.
    ///
    /// # Errors
    /// [`LogError::Io`] if the file exists but cannot be read.
    pub fn read_snapshot(path: &Path) -> Result<Option<(i64, ProducerStateManager)>, LogError> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(LogError::io(path, e)),
        };
        Ok(decode_snapshot(&bytes))
    }
}

/// Kafka's sequence rules for a batch of a known or unknown producer (epoch already checked
/// not to be older). `Some` is the cached duplicate.
fn check_sequence(
    pid: i64,
    epoch: i16,
    entry: Option<&ProducerEntry>,
    meta: &BatchMetadata,
) -> Result<Option<BatchMetadata>, LogError> {
    let Some(entry) = entry else {
        return Ok(None);
    };
    if epoch > entry.epoch {
        if meta.first_seq != 0 {
            return Err(LogError::OutOfOrderSequence {
                producer_id: pid,
                expected: 0,
                got: meta.first_seq,
            });
        }
        return Ok(None);
    }
    if let Some(dup) = entry
        .batches
        .iter()
        .find(|b| b.first_seq == meta.first_seq && b.last_seq == meta.last_seq)
    {
        return Ok(Some(*dup));
    }
    if let Some(last) = entry.batches.back() {
        let expected = increment_sequence(last.last_seq, 1);
        if meta.first_seq != expected {
            return Err(LogError::OutOfOrderSequence {
                producer_id: pid,
                expected,
                got: meta.first_seq,
            });
        }
    }
    Ok(None)
}

fn decode_snapshot(bytes: &[u8]) -> Option<(i64, ProducerStateManager)> {
    let (body, crc) = bytes.split_at(bytes.len().checked_sub(4)?);
    if crc32c::crc32c(body).to_be_bytes() != crc {
        return None;
    }
    let mut r = Reader(body);
    if r.take(4)? != SNAPSHOT_MAGIC || u16::from_be_bytes(r.array()?) != SNAPSHOT_VERSION {
        return None;
    }
    let end_offset = i64::from_be_bytes(r.array()?);
    let count = u32::from_be_bytes(r.array()?);
    let mut state = ProducerStateManager::new();
    for _ in 0..count {
        let pid = i64::from_be_bytes(r.array()?);
        let epoch = i16::from_be_bytes(r.array()?);
        let n = r.take(1)?[0] as usize;
        if n > MAX_CACHED_BATCHES {
            return None;
        }
        let mut batches = VecDeque::with_capacity(MAX_CACHED_BATCHES);
        for _ in 0..n {
            batches.push_back(BatchMetadata {
                first_seq: i32::from_be_bytes(r.array()?),
                last_seq: i32::from_be_bytes(r.array()?),
                first_offset: i64::from_be_bytes(r.array()?),
                last_offset: i64::from_be_bytes(r.array()?),
            });
        }
        state
            .producers
            .insert(pid, ProducerEntry { epoch, batches });
    }
    r.0.is_empty().then_some((end_offset, state))
}

struct Reader<'a>(&'a [u8]);
impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }
    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)] // Tests may panic on failure.
mod tests {
    use super::*;
    use crate::log::batch::BatchHeader;
    use crate::log::testutil::{batch, BatchSpec};

    fn header(pid: i64, epoch: i16, seq: i32, n: usize) -> BatchHeader {
        let values = vec![&b"v"[..]; n];
        BatchHeader::parse(&batch(
            &BatchSpec::values(&values).producer(pid, epoch, seq),
        ))
        .unwrap()
    }

    fn plan(s: &ProducerStateManager, hs: &[(BatchHeader, i64)]) -> Result<AppendPlan, LogError> {
        let headers: Vec<BatchHeader> = hs
            .iter()
            .map(|(h, o)| BatchHeader {
                base_offset: *o,
                ..*h
            })
            .collect();
        s.plan(&headers)
    }

    fn append(s: &mut ProducerStateManager, h: BatchHeader, offset: i64) {
        match plan(s, &[(h, offset)]).unwrap() {
            AppendPlan::Append(u) => s.commit(u),
            AppendPlan::Duplicate(d) => panic!("unexpected duplicate {d:?}"),
        }
    }

    #[test]
    fn sequences_epochs_and_duplicates() {
        let mut s = ProducerStateManager::new();
        append(&mut s, header(7, 0, 0, 3), 0);
        append(&mut s, header(7, 0, 3, 2), 3);
        match plan(&s, &[(header(7, 0, 0, 3), 99)]).unwrap() {
            AppendPlan::Duplicate(d) => assert_eq!((d.first_offset, d.last_offset), (0, 2)),
            p => panic!("{p:?}"),
        }
        assert!(matches!(
            plan(&s, &[(header(7, 0, 6, 1), 5)]),
            Err(LogError::OutOfOrderSequence {
                expected: 5,
                got: 6,
                ..
            })
        ));
        assert!(matches!(
            plan(&s, &[(header(7, 1, 4, 1), 5)]),
            Err(LogError::OutOfOrderSequence { expected: 0, .. })
        ));
        append(&mut s, header(7, 1, 0, 1), 5);
        assert!(matches!(
            plan(&s, &[(header(7, 0, 5, 1), 6)]),
            Err(LogError::InvalidProducerEpoch {
                current: 1,
                got: 0,
                ..
            })
        ));
        // Unknown producers and producer id -1 are accepted with any sequence.
        append(&mut s, header(8, 3, 42, 1), 6);
        append(&mut s, header(-1, -1, -1, 1), 7);
        assert_eq!(s.producers.len(), 2);
        let mut last: Vec<i64> = s.last_batch_offsets().collect();
        last.sort_unstable();
        assert_eq!(last, vec![5, 6]);
    }

    #[test]
    fn only_the_last_five_batches_are_duplicates() {
        let mut s = ProducerStateManager::new();
        for i in 0..7 {
            append(&mut s, header(1, 0, i, 1), i64::from(i));
        }
        assert!(matches!(
            plan(&s, &[(header(1, 0, 2, 1), 9)]).unwrap(),
            AppendPlan::Duplicate(_)
        ));
        assert!(plan(&s, &[(header(1, 0, 1, 1), 9)]).is_err());
    }

    #[test]
    fn batches_of_one_request_are_checked_in_order() {
        let s = ProducerStateManager::new();
        let ok = [(header(1, 0, 0, 2), 0), (header(1, 0, 2, 1), 2)];
        assert!(matches!(plan(&s, &ok).unwrap(), AppendPlan::Append(u) if u.len() == 2));
        let gap = [(header(1, 0, 0, 2), 0), (header(1, 0, 3, 1), 2)];
        assert!(plan(&s, &gap).is_err());
    }

    #[test]
    fn sequence_wraps_at_i32_max() {
        let mut s = ProducerStateManager::new();
        append(&mut s, header(1, 0, i32::MAX - 1, 2), 0);
        append(&mut s, header(1, 0, 0, 1), 2);
    }

    #[test]
    fn snapshot_round_trips_and_rejects_damage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.snapshot");
        let mut s = ProducerStateManager::new();
        append(&mut s, header(1, 2, 0, 3), 10);
        append(&mut s, header(9, 0, 0, 1), 13);
        s.write_snapshot(&path, 14).unwrap();
        let (end, back) = ProducerStateManager::read_snapshot(&path).unwrap().unwrap();
        assert_eq!(end, 14);
        assert_eq!(back, s);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[10] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        assert!(ProducerStateManager::read_snapshot(&path)
            .unwrap()
            .is_none());
        assert!(
            ProducerStateManager::read_snapshot(&dir.path().join("none"))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn replay_rebuilds_state() {
        let mut a = ProducerStateManager::new();
        append(&mut a, header(4, 1, 0, 2), 0);
        let mut h = header(4, 1, 0, 2);
        h.base_offset = 0;
        let mut b = ProducerStateManager::new();
        b.replay(&h);
        assert_eq!(a, b);
    }
}
