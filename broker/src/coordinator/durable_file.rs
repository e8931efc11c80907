//! Small state files that must survive a crash whole: the producer-id reservation and
//! `meta.properties`.
//!
//! A file is replaced by writing a temporary sibling, fsyncing it, renaming it over the old
//! file and fsyncing the directory, so after a crash at any point the file holds either its
//! old or its new content, never a torn or empty one, and a rename that returned is durable.
//! Everything here blocks: call it from the blocking pool or at start-up.
//!
//! Merge note: `log/fsio.rs` may grow the same helper; this one can then be replaced by it.

use std::fs::File;
use std::io::Write;
use std::path::Path;

/// Replaces `path` with `bytes` atomically and durably (temp file, fsync, rename, fsync dir).
///
/// # Errors
/// Any I/O error of the write, the fsyncs or the rename; the old content is then untouched
/// (a stray `*.tmp` sibling may remain, and the next write replaces it).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)?;
    // The rename is only durable once the directory entry is on disk.
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir)?.sync_all()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may panic on failure.
mod tests {
    use super::*;

    #[test]
    fn replaces_content_and_ignores_a_stale_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state");
        // A crash between create and rename leaves a temp file behind; it must not matter.
        std::fs::write(path.with_extension("tmp"), b"torn").unwrap();
        write_atomic(&path, b"one").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"one");
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert!(!path.with_extension("tmp").exists());
    }

    #[test]
    fn a_failed_write_keeps_the_old_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state");
        write_atomic(&path, b"old").unwrap();
        // A directory where the temp file should go makes the write fail before the rename.
        std::fs::create_dir(path.with_extension("tmp")).unwrap();
        assert!(write_atomic(&path, b"new").is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
    }
}
