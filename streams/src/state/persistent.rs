//! Persistent stores: a redb file per store, under a write buffer.
//!
//! Each store is one redb database (`<store dir>/store.redb`, a
//! copy-on-write B+tree) with one table of bytes. Puts and deletes go to a
//! write buffer folded by key; reads look there first, then in the file.
//! The buffer does two jobs: it is the record cache that folds repeated
//! updates of a key before they reach the changelog (`take_changes` hands
//! out one change per key), and it turns the many small writes between two
//! commits into one redb transaction (`flush`, after the changelog records
//! are acknowledged). So memory is bounded by configuration, not by the
//! data: the buffer by `statestore.cache.max.bytes` (the thread commits when
//! it is full), redb's page cache by `statestore.engine.cache.max.bytes`.
//!
//! redb was chosen by measurement (streams/store-bench, BENCHMARKS.md): on
//! our workload it matches fjall, keeps a quarter of fjall's peak RSS and
//! brings no dependency but libc.
//!
//! Calls block on file I/O (a flush fsyncs). They run on stream threads,
//! which are plain OS threads, never on an async runtime.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::Path;

use redb::{ReadableDatabase, ReadableTableMetadata, TableDefinition};

use super::{
    split_window_changelog_key, window_changelog_key, Change, KeyValueStore, StateStore,
    WindowEntry, WindowStore,
};
use crate::error::{Result, StreamsError};

const TABLE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("entries");

/// The file of a store inside its directory.
pub const STORE_FILE: &str = "store.redb";

/// Restoring writes batches of at least this many buffered bytes.
const RESTORE_BATCH_MIN: usize = 16 << 20;

type Reader = redb::ReadOnlyTable<&'static [u8], &'static [u8]>;

/// A buffered write.
struct Pending {
    /// The new value; `None` deletes.
    value: Option<Vec<u8>>,
    /// Whether the changelog has not been given this change yet.
    unsent: bool,
}

/// One redb table with a write buffer: what both persistent stores share.
struct BufferedTable {
    store: String,
    db: redb::Database,
    /// A read snapshot of the file, renewed after each flush. Holding it
    /// costs nothing but keeping pages of that snapshot from reuse until the
    /// next flush, which drops it before writing.
    reader: Option<Reader>,
    buffer: BTreeMap<Vec<u8>, Pending>,
    buffer_bytes: usize,
    unsent_bytes: usize,
    /// Keys below this are expired: hidden now, deleted at the next flush.
    floor: Option<Vec<u8>>,
    /// Restoring flushes when the buffer holds this many bytes.
    restore_batch_bytes: usize,
}

impl BufferedTable {
    fn open(store: &str, dir: &Path, cache_bytes: usize) -> Result<Self> {
        let err = |what: &str, e: &dyn std::fmt::Display| {
            StreamsError::store(store, format!("{what} {}: {e}", dir.display()))
        };
        std::fs::create_dir_all(dir).map_err(|e| err("cannot create the store directory", &e))?;
        // A task that just moved between two threads of this instance may
        // still be closing on the old one, which holds the file: wait a little.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let db = loop {
            match redb::Builder::new()
                .set_cache_size(cache_bytes)
                .create(dir.join(STORE_FILE))
            {
                Ok(db) => break db,
                Err(redb::DatabaseError::DatabaseAlreadyOpen)
                    if std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                Err(e) => return Err(err("cannot open the store file in", &e)),
            }
        };
        let tx = db
            .begin_write()
            .map_err(|e| err("cannot write the store in", &e))?;
        tx.open_table(TABLE)
            .map_err(|e| err("cannot create the table in", &e))?;
        tx.commit()
            .map_err(|e| err("cannot write the store in", &e))?;
        let mut table = BufferedTable {
            store: store.to_string(),
            db,
            reader: None,
            buffer: BTreeMap::new(),
            buffer_bytes: 0,
            unsent_bytes: 0,
            floor: None,
            restore_batch_bytes: cache_bytes.clamp(1 << 20, 64 << 20).max(RESTORE_BATCH_MIN),
        };
        table.renew_reader()?;
        Ok(table)
    }

    fn error(&self, what: &str, e: impl std::fmt::Display) -> StreamsError {
        StreamsError::store(&self.store, format!("{what}: {e}"))
    }

    fn renew_reader(&mut self) -> Result<()> {
        self.reader = None;
        let tx = self
            .db
            .begin_read()
            .map_err(|e| self.error("reading the store file", e))?;
        let table = tx
            .open_table(TABLE)
            .map_err(|e| self.error("reading the store file", e))?;
        self.reader = Some(table);
        Ok(())
    }

    fn reader(&self) -> Result<&Reader> {
        self.reader
            .as_ref()
            .ok_or_else(|| self.error("reading the store file", "a flush failed; no snapshot"))
    }

    fn expired(&self, key: &[u8]) -> bool {
        self.floor.as_deref().is_some_and(|f| key < f)
    }

    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        if let Some(p) = self.buffer.get(key) {
            return Ok(p.value.clone());
        }
        if self.expired(key) {
            return Ok(None);
        }
        let found = self
            .reader()?
            .get(key)
            .map_err(|e| self.error("reading the store file", e))?;
        Ok(found.map(|v| v.value().to_vec()))
    }

    /// Buffers a write; `unsent` when the changelog needs it (not a restore).
    fn put(&mut self, key: &[u8], value: Option<&[u8]>, unsent: bool) {
        let value_len = value.map_or(0, <[u8]>::len);
        match self.buffer.get_mut(key) {
            Some(p) => {
                let old_len = p.value.as_ref().map_or(0, Vec::len);
                self.buffer_bytes = (self.buffer_bytes + value_len).saturating_sub(old_len);
                if unsent && !p.unsent {
                    p.unsent = true;
                    self.unsent_bytes += key.len() * 2 + value_len;
                }
                p.value = value.map(<[u8]>::to_vec);
            }
            None => {
                self.buffer_bytes += key.len() + value_len + 48;
                if unsent {
                    self.unsent_bytes += key.len() * 2 + value_len;
                }
                self.buffer.insert(
                    key.to_vec(),
                    Pending {
                        value: value.map(<[u8]>::to_vec),
                        unsent,
                    },
                );
            }
        }
    }

    fn take_changes(&mut self) -> Vec<Change> {
        self.unsent_bytes = 0;
        self.buffer
            .iter_mut()
            .filter(|(_, p)| p.unsent)
            .map(|(k, p)| {
                p.unsent = false;
                (k.clone(), p.value.clone())
            })
            .collect()
    }

    /// Writes the buffered changes already given to the changelog (and the
    /// expiry) to the file in one durable transaction.
    fn flush(&mut self) -> Result<()> {
        self.write(redb::Durability::Immediate)
    }

    /// As `flush`; a non-durable write is made durable by the next durable
    /// one (restoring writes its batches so and flushes once at the end).
    fn write(&mut self, durability: redb::Durability) -> Result<()> {
        if self.floor.is_none() && self.buffer.values().all(|p| p.unsent) {
            return Ok(());
        }
        self.reader = None;
        let mut tx = self
            .db
            .begin_write()
            .map_err(|e| self.error("writing the store file", e))?;
        tx.set_durability(durability)
            .map_err(|e| self.error("writing the store file", e))?;
        {
            let mut table = tx
                .open_table(TABLE)
                .map_err(|e| self.error("writing the store file", e))?;
            if let Some(floor) = self.floor.as_deref() {
                table
                    .retain_in::<&[u8], _>(..floor, |_, _| false)
                    .map_err(|e| StreamsError::store(&self.store, format!("expiring: {e}")))?;
            }
            for (k, p) in self.buffer.iter().filter(|(_, p)| !p.unsent) {
                let done = match &p.value {
                    Some(v) => table.insert(k.as_slice(), v.as_slice()).map(|_| ()),
                    None => table.remove(k.as_slice()).map(|_| ()),
                };
                done.map_err(|e| StreamsError::store(&self.store, format!("writing: {e}")))?;
            }
        }
        tx.commit()
            .map_err(|e| self.error("committing the store file", e))?;
        self.floor = None;
        self.buffer.retain(|_, p| p.unsent);
        self.buffer_bytes = self
            .buffer
            .iter()
            .map(|(k, p)| k.len() + p.value.as_ref().map_or(0, Vec::len) + 48)
            .sum();
        self.renew_reader()
    }

    /// Entries with keys in `(lower, upper)`, in key order: the file's,
    /// with the buffer's writes over them.
    fn range(&self, lower: Bound<&[u8]>, upper: Bound<&[u8]>) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let mut file = Vec::new();
        for entry in self
            .reader()?
            .range::<&[u8]>((lower, upper))
            .map_err(|e| self.error("reading the store file", e))?
        {
            let (k, v) = entry.map_err(|e| self.error("reading the store file", e))?;
            if !self.expired(k.value()) {
                file.push((k.value().to_vec(), v.value().to_vec()));
            }
        }
        let mut out = Vec::with_capacity(file.len());
        let mut buffered = self.buffer.range::<[u8], _>((lower, upper)).peekable();
        for (k, v) in file {
            while let Some((bk, p)) = buffered.next_if(|(bk, _)| bk.as_slice() < k.as_slice()) {
                if let Some(bv) = &p.value {
                    out.push((bk.clone(), bv.clone()));
                }
            }
            match buffered.next_if(|(bk, _)| bk.as_slice() == k.as_slice()) {
                Some((_, p)) => {
                    if let Some(bv) = &p.value {
                        out.push((k, bv.clone()));
                    }
                }
                None => out.push((k, v)),
            }
        }
        for (bk, p) in buffered {
            if let Some(bv) = &p.value {
                out.push((bk.clone(), bv.clone()));
            }
        }
        Ok(out)
    }

    /// Hides keys below `bound` now; the next flush deletes them from the file.
    fn expire_below(&mut self, bound: Vec<u8>) {
        if self.floor.as_ref().is_some_and(|f| *f >= bound) {
            return;
        }
        let below: Vec<Vec<u8>> = self
            .buffer
            .range::<[u8], _>((Bound::Unbounded, Bound::Excluded(bound.as_slice())))
            .map(|(k, _)| k.clone())
            .collect();
        for k in below {
            if let Some(p) = self.buffer.get_mut(&k) {
                if p.unsent {
                    // The in-memory store sends a tombstone for these too.
                    p.value = None;
                } else {
                    self.buffer.remove(&k);
                }
            }
        }
        self.floor = Some(bound);
    }

    fn approximate_len(&self) -> u64 {
        let file = self.reader.as_ref().and_then(|r| r.len().ok()).unwrap_or(0);
        let added = self.buffer.values().filter(|p| p.value.is_some()).count() as u64;
        file + added
    }

    /// A restored record: buffered, flushed once the restore batch is full.
    fn restore(&mut self, key: &[u8], value: Option<&[u8]>) -> Result<()> {
        self.put(key, value, false);
        if self.buffer_bytes >= self.restore_batch_bytes {
            // The task flushes durably once the restore is done.
            self.write(redb::Durability::None)?;
        }
        Ok(())
    }
}

/// A key-value store in a redb file.
pub struct PersistentKeyValueStore {
    name: String,
    table: BufferedTable,
}

impl PersistentKeyValueStore {
    /// Opens (or creates) the store `name` in `dir`, with a page cache of
    /// `cache_bytes`.
    ///
    /// # Errors
    /// When the directory or file cannot be created or opened (another
    /// process has it open, say).
    pub fn open(name: &str, dir: &Path, cache_bytes: usize) -> Result<Self> {
        Ok(PersistentKeyValueStore {
            name: name.to_string(),
            table: BufferedTable::open(name, dir, cache_bytes)?,
        })
    }
}

impl StateStore for PersistentKeyValueStore {
    fn name(&self) -> &str {
        &self.name
    }

    fn restore(&mut self, key: &[u8], value: Option<&[u8]>) -> Result<()> {
        self.table.restore(key, value)
    }

    fn take_changes(&mut self) -> Vec<Change> {
        self.table.take_changes()
    }

    fn pending_bytes(&self) -> usize {
        self.table.unsent_bytes
    }

    fn approximate_num_entries(&self) -> u64 {
        self.table.approximate_len()
    }

    fn flush(&mut self) -> Result<()> {
        self.table.flush()
    }

    fn is_persistent(&self) -> bool {
        true
    }

    fn as_kv(&mut self) -> Option<&mut dyn KeyValueStore> {
        Some(self)
    }
}

impl KeyValueStore for PersistentKeyValueStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.table.get(key)
    }

    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        self.table.put(key, Some(value), true);
        Ok(())
    }

    fn delete(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let old = self.table.get(key)?;
        self.table.put(key, None, true);
        Ok(old)
    }

    fn all(&self) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.table.range(Bound::Unbounded, Bound::Unbounded)
    }
}

/// The file key of a window entry: the start with its sign bit flipped (so
/// byte order is numeric order), then the key: entries sort by start, then
/// key, and closing or expiring windows reads the front of the table.
fn window_key(key: &[u8], start: i64) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + key.len());
    out.extend_from_slice(&((start as u64) ^ (1 << 63)).to_be_bytes());
    out.extend_from_slice(key);
    out
}

fn split_window_key(raw: &[u8]) -> (i64, &[u8]) {
    let mut start = [0u8; 8];
    let n = raw.len().min(8);
    start[..n].copy_from_slice(&raw[..n]);
    ((u64::from_be_bytes(start) ^ (1 << 63)) as i64, &raw[n..])
}

/// A window store in a redb file: one value per key and window start.
pub struct PersistentWindowStore {
    name: String,
    table: BufferedTable,
}

impl PersistentWindowStore {
    /// Opens (or creates) the window store `name` in `dir`, with a page
    /// cache of `cache_bytes`.
    ///
    /// # Errors
    /// As [`PersistentKeyValueStore::open`].
    pub fn open(name: &str, dir: &Path, cache_bytes: usize) -> Result<Self> {
        Ok(PersistentWindowStore {
            name: name.to_string(),
            table: BufferedTable::open(name, dir, cache_bytes)?,
        })
    }

    fn windows(&self, lower: Bound<&[u8]>, upper: Bound<&[u8]>) -> Result<Vec<WindowEntry>> {
        Ok(self
            .table
            .range(lower, upper)?
            .into_iter()
            .map(|(raw, v)| {
                let (start, key) = split_window_key(&raw);
                (start, key.to_vec(), v)
            })
            .collect())
    }
}

impl StateStore for PersistentWindowStore {
    fn name(&self) -> &str {
        &self.name
    }

    fn restore(&mut self, key: &[u8], value: Option<&[u8]>) -> Result<()> {
        let (key, start) = split_window_changelog_key(&self.name, key)?;
        self.table.restore(&window_key(&key, start), value)
    }

    fn take_changes(&mut self) -> Vec<Change> {
        self.table
            .take_changes()
            .into_iter()
            .map(|(raw, v)| {
                let (start, key) = split_window_key(&raw);
                (window_changelog_key(key, start), v)
            })
            .collect()
    }

    fn pending_bytes(&self) -> usize {
        self.table.unsent_bytes
    }

    fn approximate_num_entries(&self) -> u64 {
        self.table.approximate_len()
    }

    fn flush(&mut self) -> Result<()> {
        self.table.flush()
    }

    fn is_persistent(&self) -> bool {
        true
    }

    fn as_window(&mut self) -> Option<&mut dyn WindowStore> {
        Some(self)
    }
}

impl WindowStore for PersistentWindowStore {
    fn fetch(&self, key: &[u8], start: i64) -> Result<Option<Vec<u8>>> {
        self.table.get(&window_key(key, start))
    }

    fn put(&mut self, key: &[u8], start: i64, value: Option<&[u8]>) -> Result<()> {
        self.table.put(&window_key(key, start), value, true);
        Ok(())
    }

    fn fetch_range(&self, key: &[u8], from: i64, to: i64) -> Result<Vec<(i64, Vec<u8>)>> {
        if from > to {
            return Ok(Vec::new());
        }
        let lower = window_key(&[], from);
        let upper = to.checked_add(1).map(|next| window_key(&[], next));
        let upper = match &upper {
            Some(u) => Bound::Excluded(u.as_slice()),
            None => Bound::Unbounded,
        };
        Ok(self
            .windows(Bound::Included(lower.as_slice()), upper)?
            .into_iter()
            .filter(|(_, k, _)| k == key)
            .map(|(start, _, v)| (start, v))
            .collect())
    }

    fn all(&self) -> Result<Vec<WindowEntry>> {
        self.windows(Bound::Unbounded, Bound::Unbounded)
    }

    fn starting_before(&self, start: i64) -> Result<Vec<WindowEntry>> {
        let upper = window_key(&[], start);
        self.windows(Bound::Unbounded, Bound::Excluded(upper.as_slice()))
    }

    fn expire_before(&mut self, start: i64) {
        self.table.expire_below(window_key(&[], start));
    }
}
