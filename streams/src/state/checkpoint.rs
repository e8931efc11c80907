//! Local checkpoints: which changelog offsets a task's persistent stores
//! reflect, so a restart on the same state dir replays only the tail.
//!
//! The file is `<state.dir>/<application.id>/<task id>/.checkpoint`, in
//! Kafka's `OffsetCheckpoint` text format: a version line (`0`), a count
//! line, then one `<topic> <partition> <offset>` line per logged persistent
//! store. The offset is the next changelog offset to restore from: the
//! local store holds every change before it. A task writes the file after a
//! commit (its changelog records acknowledged, its stores flushed, its input
//! offsets committed) and when it closes; it writes a temporary file,
//! fsyncs it, renames it over the old one and fsyncs the directory, so a
//! crash leaves the old checkpoint or the new one, never a torn file.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::error::{Result, StreamsError};

/// The checkpoint file's name inside a task directory.
pub const FILE: &str = ".checkpoint";

const VERSION: &str = "0";

/// Changelog (topic, partition) -> the next offset to restore from.
pub type Offsets = BTreeMap<(String, i32), i64>;

fn error(path: &Path, e: impl std::fmt::Display) -> StreamsError {
    StreamsError::store(".checkpoint", format!("{}: {e}", path.display()))
}

/// The checkpoint in `task_dir`, or `None` when there is none.
///
/// # Errors
/// When the file exists but cannot be read or is not a checkpoint; the
/// caller treats that as no checkpoint after logging it.
pub fn read(task_dir: &Path) -> Result<Option<Offsets>> {
    let path = task_dir.join(FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(error(&path, e)),
    };
    let mut lines = text.lines();
    if lines.next() != Some(VERSION) {
        return Err(error(&path, "not a version 0 checkpoint"));
    }
    let count: usize = lines
        .next()
        .and_then(|l| l.trim().parse().ok())
        .ok_or_else(|| error(&path, "no entry count"))?;
    let mut offsets = Offsets::new();
    for line in lines.by_ref().take(count) {
        let mut parts = line.split(' ');
        let (Some(topic), Some(partition), Some(offset), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(error(&path, format!("bad line '{line}'")));
        };
        let partition = partition
            .parse()
            .map_err(|_| error(&path, format!("bad partition in '{line}'")))?;
        let offset = offset
            .parse()
            .map_err(|_| error(&path, format!("bad offset in '{line}'")))?;
        offsets.insert((topic.to_string(), partition), offset);
    }
    if offsets.len() != count {
        return Err(error(
            &path,
            format!("{count} entries announced, {} found", offsets.len()),
        ));
    }
    Ok(Some(offsets))
}

/// Writes `offsets` as the checkpoint of `task_dir`, atomically and durably.
///
/// # Errors
/// When the file cannot be written, synced or renamed.
pub fn write(task_dir: &Path, offsets: &Offsets) -> Result<()> {
    let path = task_dir.join(FILE);
    let tmp: PathBuf = task_dir.join(format!("{FILE}.tmp"));
    let mut text = format!("{VERSION}\n{}\n", offsets.len());
    for ((topic, partition), offset) in offsets {
        text.push_str(&format!("{topic} {partition} {offset}\n"));
    }
    let mut file = std::fs::File::create(&tmp).map_err(|e| error(&tmp, e))?;
    file.write_all(text.as_bytes())
        .map_err(|e| error(&tmp, e))?;
    file.sync_all().map_err(|e| error(&tmp, e))?;
    drop(file);
    std::fs::rename(&tmp, &path).map_err(|e| error(&path, e))?;
    // The rename is durable once the directory is.
    std::fs::File::open(task_dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| error(task_dir, e))
}

/// Removes the checkpoint of `task_dir`, if any.
///
/// # Errors
/// When it exists and cannot be removed.
pub fn remove(task_dir: &Path) -> Result<()> {
    let path = task_dir.join(FILE);
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(error(&path, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_checkpoint_reads_back_and_replaces_the_old_one() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read(dir.path()).unwrap(), None);
        let mut offsets = Offsets::new();
        offsets.insert(("app-counts-changelog".into(), 2), 41);
        offsets.insert(("app-windows-changelog".into(), 2), 7);
        write(dir.path(), &offsets).unwrap();
        assert_eq!(read(dir.path()).unwrap(), Some(offsets.clone()));
        offsets.insert(("app-counts-changelog".into(), 2), 99);
        write(dir.path(), &offsets).unwrap();
        assert_eq!(read(dir.path()).unwrap(), Some(offsets));
        assert!(!dir.path().join(".checkpoint.tmp").exists());
        remove(dir.path()).unwrap();
        assert_eq!(read(dir.path()).unwrap(), None);
    }

    #[test]
    fn a_torn_checkpoint_is_an_error_not_offsets() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE), "0\n2\napp-c-changelog 0 5\n").unwrap();
        assert!(read(dir.path()).is_err());
        std::fs::write(dir.path().join(FILE), "0\n1\napp-c-changelog zero 5\n").unwrap();
        assert!(read(dir.path()).is_err());
    }
}
