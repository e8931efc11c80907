//! The state directory of one application instance:
//! `<state.dir>/<application.id>/`, a folder per task (`<sub-topology>_<partition>`)
//! holding a folder per persistent store and the task's `.checkpoint`.
//!
//! An instance holds an exclusive lock on `<application.id>/.lock` while it
//! runs, so two instances (in one process or two) cannot share a state dir:
//! the second fails at start with an error naming the directory. The lock is
//! an OS file lock (flock), so a killed instance leaves nothing that blocks
//! its restart.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::error::{Result, StreamsError};
use crate::task::TaskId;

const LOCK_FILE: &str = ".lock";

/// A locked application state directory.
pub(crate) struct StateDirectory {
    app_dir: PathBuf,
    /// Held for the instance's lifetime; closing the file releases the lock.
    _lock: File,
}

impl StateDirectory {
    /// Creates and locks `<state_dir>/<application_id>/`.
    ///
    /// # Errors
    /// When the directory cannot be created, or another instance holds it.
    // redb already needs Rust 1.90, so File::try_lock (1.89) adds no new
    // requirement; the workspace's rust-version (1.88) predates that.
    #[allow(clippy::incompatible_msrv)]
    pub fn lock(state_dir: &Path, application_id: &str) -> Result<Self> {
        let app_dir = state_dir.join(application_id);
        let bad = |reason: String| StreamsError::Config {
            key: "state.dir".into(),
            value: state_dir.display().to_string(),
            reason,
        };
        std::fs::create_dir_all(&app_dir)
            .map_err(|e| bad(format!("cannot create {}: {e}", app_dir.display())))?;
        let path = app_dir.join(LOCK_FILE);
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| bad(format!("cannot open {}: {e}", path.display())))?;
        match file.try_lock() {
            Ok(()) => Ok(StateDirectory {
                app_dir,
                _lock: file,
            }),
            Err(std::fs::TryLockError::WouldBlock) => Err(bad(format!(
                "{} is in use by another running instance of application '{application_id}'; give each instance its own state.dir",
                app_dir.display()
            ))),
            Err(std::fs::TryLockError::Error(e)) => {
                Err(bad(format!("cannot lock {}: {e}", path.display())))
            }
        }
    }

    /// The directory of task `id`.
    pub fn task_dir(&self, id: TaskId) -> PathBuf {
        self.app_dir.join(id.to_string())
    }
}

/// The directory of store `store` in a task directory.
pub(crate) fn store_dir(task_dir: &Path, store: &str) -> PathBuf {
    task_dir.join(store)
}

/// Removes a store's directory (its local data), if it exists.
///
/// # Errors
/// When it exists and cannot be removed.
pub(crate) fn wipe(dir: &Path) -> Result<()> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(StreamsError::store(
            dir.file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
            format!("cannot remove the local store {}: {e}", dir.display()),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_instance_cannot_lock_the_same_state_dir() {
        let dir = tempfile::tempdir().unwrap();
        let first = StateDirectory::lock(dir.path(), "app").unwrap();
        let Err(e) = StateDirectory::lock(dir.path(), "app") else {
            panic!("two instances locked one state dir");
        };
        assert!(
            e.to_string().contains("in use by another running instance"),
            "{e}"
        );
        // Another application in the same state.dir is fine.
        StateDirectory::lock(dir.path(), "other").unwrap();
        drop(first);
        StateDirectory::lock(dir.path(), "app").unwrap();
    }
}
