//! One test suite, every store implementation: the in-memory stores and the
//! persistent ones (before and after a flush, and reopened from disk).

use std::path::Path;

use super::*;

type Open = fn(&str, &Path) -> Box<dyn StateStore>;

fn memory_kv(name: &str, _: &Path) -> Box<dyn StateStore> {
    Box::new(InMemoryKeyValueStore::new(name))
}
fn persistent_kv(name: &str, dir: &Path) -> Box<dyn StateStore> {
    Box::new(PersistentKeyValueStore::open(name, &dir.join(name), 1 << 20).unwrap())
}
fn memory_window(name: &str, _: &Path) -> Box<dyn StateStore> {
    Box::new(InMemoryWindowStore::new(name))
}
fn persistent_window(name: &str, dir: &Path) -> Box<dyn StateStore> {
    Box::new(PersistentWindowStore::open(name, &dir.join(name), 1 << 20).unwrap())
}

const KV: [(&str, Open); 2] = [("memory", memory_kv), ("persistent", persistent_kv)];
const WINDOW: [(&str, Open); 2] = [("memory", memory_window), ("persistent", persistent_window)];

/// Runs `check` on a fresh store of every kind, flushing (a commit) where
/// `flush_between` says, so reads hit the buffer and the file alike.
fn each(kinds: [(&str, Open); 2], check: impl Fn(&str, &mut dyn StateStore, bool)) {
    for (kind, open) in kinds {
        for flush in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let mut store = open("s", dir.path());
            check(&format!("{kind}, flush={flush}"), store.as_mut(), flush);
        }
    }
}

fn commit(store: &mut dyn StateStore, really: bool) {
    if really {
        store.take_changes();
        store.flush().unwrap();
    }
}

#[test]
fn key_value_stores_get_put_delete_and_list_in_key_order() {
    each(KV, |kind, store, flush| {
        let kv = store.as_kv().unwrap();
        kv.put(b"b", b"2").unwrap();
        kv.put(b"a", b"1").unwrap();
        kv.put(b"c", b"3").unwrap();
        commit(store, flush);
        let kv = store.as_kv().unwrap();
        assert_eq!(kv.get(b"a").unwrap(), Some(b"1".to_vec()), "{kind}");
        assert_eq!(kv.delete(b"b").unwrap(), Some(b"2".to_vec()), "{kind}");
        assert_eq!(kv.get(b"b").unwrap(), None, "{kind}");
        kv.put(b"a", b"11").unwrap();
        kv.put(b"d", b"4").unwrap();
        let all = kv.all().unwrap();
        assert_eq!(
            all,
            vec![
                (b"a".to_vec(), b"11".to_vec()),
                (b"c".to_vec(), b"3".to_vec()),
                (b"d".to_vec(), b"4".to_vec())
            ],
            "{kind}"
        );
        commit(store, flush);
        assert_eq!(store.as_kv().unwrap().all().unwrap(), all, "{kind}");
        assert_eq!(store.approximate_num_entries(), 3, "{kind}");
    });
}

#[test]
fn changes_are_folded_by_key_and_taken_once() {
    each(KV, |kind, store, flush| {
        commit(store, flush);
        let kv = store.as_kv().unwrap();
        for v in [b"1", b"2", b"3"] {
            kv.put(b"k1", v).unwrap();
        }
        kv.put(b"k0", b"x").unwrap();
        kv.delete(b"k2").unwrap();
        assert!(store.pending_bytes() > 0, "{kind}");
        let changes = store.take_changes();
        assert_eq!(
            changes,
            vec![
                (b"k0".to_vec(), Some(b"x".to_vec())),
                (b"k1".to_vec(), Some(b"3".to_vec())),
                (b"k2".to_vec(), None)
            ],
            "{kind}"
        );
        assert_eq!(store.pending_bytes(), 0, "{kind}");
        assert!(store.take_changes().is_empty(), "{kind}");
        store.flush().unwrap();
        assert!(
            store.take_changes().is_empty(),
            "{kind}: a flush makes no changes"
        );
        // A restored record is state, not a change to log.
        store.restore(b"k5", Some(b"r")).unwrap();
        assert!(store.take_changes().is_empty(), "{kind}");
        assert_eq!(
            store.as_kv().unwrap().get(b"k5").unwrap(),
            Some(b"r".to_vec()),
            "{kind}"
        );
    });
}

#[test]
fn window_stores_order_by_start_then_key_and_fetch_ranges() {
    each(WINDOW, |kind, store, flush| {
        let w = store.as_window().unwrap();
        w.put(b"b", 60_000, Some(b"b1")).unwrap();
        w.put(b"a", 60_000, Some(b"a1")).unwrap();
        w.put(b"a", -60_000, Some(b"a-")).unwrap();
        w.put(b"a", 0, Some(b"a0")).unwrap();
        commit(store, flush);
        let w = store.as_window().unwrap();
        w.put(b"a", 120_000, Some(b"a2")).unwrap();
        assert_eq!(w.fetch(b"a", 0).unwrap(), Some(b"a0".to_vec()), "{kind}");
        assert_eq!(w.fetch(b"b", 0).unwrap(), None, "{kind}");
        assert_eq!(
            w.fetch_range(b"a", -60_000, 60_000).unwrap(),
            vec![
                (-60_000, b"a-".to_vec()),
                (0, b"a0".to_vec()),
                (60_000, b"a1".to_vec())
            ],
            "{kind}"
        );
        assert_eq!(
            w.fetch_range(b"a", i64::MIN, i64::MAX).unwrap().len(),
            4,
            "{kind}"
        );
        let starts: Vec<(i64, Vec<u8>)> = w
            .all()
            .unwrap()
            .into_iter()
            .map(|(s, k, _)| (s, k))
            .collect();
        assert_eq!(
            starts,
            vec![
                (-60_000, b"a".to_vec()),
                (0, b"a".to_vec()),
                (60_000, b"a".to_vec()),
                (60_000, b"b".to_vec()),
                (120_000, b"a".to_vec())
            ],
            "{kind}"
        );
        let before: Vec<i64> = w
            .starting_before(60_000)
            .unwrap()
            .into_iter()
            .map(|(s, _, _)| s)
            .collect();
        assert_eq!(before, vec![-60_000, 0], "{kind}");
        w.put(b"a", 0, None).unwrap();
        assert_eq!(w.fetch(b"a", 0).unwrap(), None, "{kind}");
    });
}

#[test]
fn expired_windows_are_gone_and_their_unsent_changes_become_tombstones() {
    each(WINDOW, |kind, store, flush| {
        let w = store.as_window().unwrap();
        w.put(b"k", 0, Some(b"old")).unwrap();
        commit(store, flush);
        let w = store.as_window().unwrap();
        w.put(b"k", 1_000, Some(b"unsent")).unwrap();
        w.put(b"k", 5_000, Some(b"kept")).unwrap();
        w.expire_before(5_000);
        assert_eq!(w.fetch(b"k", 0).unwrap(), None, "{kind}");
        assert_eq!(w.fetch(b"k", 1_000).unwrap(), None, "{kind}");
        assert_eq!(w.all().unwrap().len(), 1, "{kind}");
        assert!(w.starting_before(5_000).unwrap().is_empty(), "{kind}");
        let changes = store.take_changes();
        let tombstone = (window_changelog_key(b"k", 1_000), None);
        assert!(changes.contains(&tombstone), "{kind}: {changes:?}");
        store.flush().unwrap();
        let w = store.as_window().unwrap();
        assert_eq!(
            w.all().unwrap(),
            vec![(5_000, b"k".to_vec(), b"kept".to_vec())],
            "{kind}"
        );
        // Restoring (changelog keys) puts windows back.
        store
            .restore(&window_changelog_key(b"r", 7_000), Some(b"r"))
            .unwrap();
        assert_eq!(
            store.as_window().unwrap().fetch(b"r", 7_000).unwrap(),
            Some(b"r".to_vec()),
            "{kind}"
        );
    });
}

#[test]
fn a_reopened_persistent_store_has_what_was_flushed_and_not_what_was_not() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut store = persistent_kv("counts", dir.path());
        let kv = store.as_kv().unwrap();
        kv.put(b"a", b"1").unwrap();
        kv.put(b"b", b"2").unwrap();
        store.take_changes();
        store.flush().unwrap();
        store.restore(b"c", Some(b"3")).unwrap();
        store.flush().unwrap();
        // Neither taken nor flushed: the changelog never had it either.
        store.as_kv().unwrap().put(b"z", b"lost").unwrap();
    }
    let mut store = persistent_kv("counts", dir.path());
    let kv = store.as_kv().unwrap();
    assert_eq!(
        kv.all().unwrap(),
        vec![
            (b"a".to_vec(), b"1".to_vec()),
            (b"b".to_vec(), b"2".to_vec()),
            (b"c".to_vec(), b"3".to_vec())
        ]
    );
    assert!(store.is_persistent());
    assert!(store.take_changes().is_empty());
}

#[test]
fn a_reopened_window_store_keeps_its_windows_and_its_expiry() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut store = persistent_window("w", dir.path());
        let w = store.as_window().unwrap();
        for start in [0, 1_000, 2_000] {
            w.put(b"k", start, Some(&start.to_be_bytes())).unwrap();
        }
        store.take_changes();
        store.flush().unwrap();
        store.as_window().unwrap().expire_before(1_000);
        store.flush().unwrap();
    }
    let mut store = persistent_window("w", dir.path());
    let starts: Vec<i64> = store
        .as_window()
        .unwrap()
        .all()
        .unwrap()
        .into_iter()
        .map(|(s, _, _)| s)
        .collect();
    assert_eq!(starts, vec![1_000, 2_000]);
}

#[test]
fn a_large_restore_is_flushed_in_batches_and_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = persistent_kv("big", dir.path());
    for i in 0u32..50_000 {
        store.restore(&i.to_be_bytes(), Some(&[7u8; 40])).unwrap();
    }
    store.flush().unwrap();
    assert_eq!(store.approximate_num_entries(), 50_000);
    let kv = store.as_kv().unwrap();
    assert_eq!(
        kv.get(&49_999u32.to_be_bytes()).unwrap(),
        Some(vec![7u8; 40])
    );
    assert_eq!(kv.all().unwrap().len(), 50_000);
}
