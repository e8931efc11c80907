//! File-system durability helpers shared by the log and the broker's metadata files: fsync a
//! directory, and replace a file atomically (write a temp file, fsync it, rename it over the
//! old one, fsync the directory).
//!
//! They sit below every other module of `log/`, so recovery, retention and compaction use them
//! without importing one another.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::error::{IoContext, LogError};

/// Fsyncs a directory so created, renamed and removed entries are durable.
///
/// # Errors
/// [`LogError::Io`] if the directory cannot be opened or synced.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), LogError> {
    File::open(dir).and_then(|d| d.sync_all()).at(dir)
}

/// Writes `bytes` to `path` through `path.tmp`, fsyncing the file before the rename so the
/// file is either the old or the new content after a crash. The directory is not synced:
/// callers that need the rename itself durable call [`sync_dir`] (or use [`write_atomic`]).
///
/// # Errors
/// [`LogError::Io`] naming the file that failed.
pub(crate) fn write_file_atomically(path: &Path, bytes: &[u8]) -> Result<(), LogError> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut f = File::create(&tmp).at(&tmp)?;
    f.write_all(bytes).and_then(|()| f.sync_all()).at(&tmp)?;
    std::fs::rename(&tmp, path).at(path)
}

/// Replaces `path` with `bytes` durably: write-fsync-rename, then fsync the directory, so
/// after a crash at any point the file holds either the old or the new content, and once this
/// returns the new content survives a power loss.
///
/// # Errors
/// [`LogError::Io`] naming the file or directory that failed.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), LogError> {
    write_file_atomically(path, bytes)?;
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => sync_dir(dir),
        _ => sync_dir(Path::new(".")),
    }
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)] // Tests may panic on failure.
mod tests {
    use super::*;

    #[test]
    fn write_atomic_replaces_the_file_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.properties");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("state.properties")]);
    }

    #[test]
    fn errors_name_the_path() {
        let e = write_atomic(Path::new("/nonexistent-dir/x"), b"x").unwrap_err();
        assert!(e.to_string().contains("/nonexistent-dir/x"), "{e}");
    }
}
