//! Follows one file as it grows, `tail -F` style, with blocking std I/O (the source task
//! runs it on the blocking pool): complete lines are queued with the byte offset after each;
//! a last line without its newline waits for it.
//!
//! - Truncation (the file is now shorter than what was read, e.g. `copytruncate`): start over
//!   at byte 0.
//! - Rotation (another file now sits at the path, e.g. `mv app.log app.log.1` and a new
//!   `app.log`; detected by device and inode on Unix): the old file is read to its end first
//!   (its unterminated last line is emitted, as nothing will complete it), then the new one
//!   from byte 0. While nothing is at the path, the old file keeps being read.
//! - On the first open, reading resumes at the committed position; a file shorter than that
//!   position was truncated meanwhile and is read from 0.

use std::collections::VecDeque;
use std::fs::{File, Metadata};
use std::io::{ErrorKind, Read, Seek, SeekFrom};
use std::path::PathBuf;

use crate::error::ConnectError;

/// How much one read takes from the file.
const CHUNK: usize = 64 * 1024;

/// Why no lines could be read.
#[derive(Debug)]
pub(super) enum FollowError {
    /// Nothing at the path yet (the task waits for it, as Kafka's does).
    Missing,
    /// The file cannot be read (permission denied, a directory, an I/O error).
    Failed(ConnectError),
}

/// A complete line and the byte offset just after its newline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Line {
    /// The text, without `\n` or `\r\n` (invalid UTF-8 replaced by U+FFFD).
    pub text: String,
    /// The offset after the line's terminator: where reading resumes.
    pub position: u64,
}

/// The file being read.
#[derive(Debug)]
struct OpenFile {
    file: File,
    identity: Option<(u64, u64)>,
    /// How far the file has been read into `pending`.
    read_pos: u64,
}

/// Follows the file at one path.
#[derive(Debug)]
pub(super) struct FileFollower {
    path: PathBuf,
    open: Option<OpenFile>,
    /// Where the first open starts (the committed offset), taken on use.
    resume_from: Option<u64>,
    /// The offset of `pending[0]`: just after the last queued line.
    position: u64,
    /// Bytes read that do not yet end in a newline.
    pending: Vec<u8>,
    /// Complete lines not yet taken.
    ready: VecDeque<Line>,
    /// The read buffer, kept across calls (an idle task reads ten times a second).
    buf: Vec<u8>,
}

#[cfg(unix)]
fn identity(meta: &Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    Some((meta.dev(), meta.ino()))
}

#[cfg(not(unix))]
fn identity(_meta: &Metadata) -> Option<(u64, u64)> {
    // Without inodes only truncation (a shrinking file) is detected.
    None
}

impl FileFollower {
    /// A follower of `path` that starts at `resume_from` (or byte 0).
    pub(super) fn new(path: impl Into<PathBuf>, resume_from: Option<u64>) -> Self {
        Self {
            path: path.into(),
            open: None,
            resume_from,
            position: 0,
            pending: Vec::new(),
            ready: VecDeque::new(),
            buf: Vec::new(),
        }
    }

    /// Takes up to `max` queued lines.
    pub(super) fn take(&mut self, max: usize) -> Vec<Line> {
        let n = max.min(self.ready.len());
        self.ready.drain(..n).collect()
    }

    /// Whether lines are queued.
    pub(super) fn has_ready(&self) -> bool {
        !self.ready.is_empty()
    }

    fn display(&self) -> String {
        self.path.display().to_string()
    }

    fn failed(&self, what: &str, err: std::io::Error) -> FollowError {
        let hint = if err.kind() == ErrorKind::PermissionDenied {
            "; give the worker's user read access to it"
        } else {
            ""
        };
        FollowError::Failed(ConnectError::io(
            format!("cannot {what} '{}'{hint}", self.display()),
            err,
        ))
    }

    fn open_at(&mut self, start: Option<u64>) -> Result<(), FollowError> {
        let mut file = match File::open(&self.path) {
            Ok(file) => file,
            Err(err) if err.kind() == ErrorKind::NotFound => return Err(FollowError::Missing),
            Err(err) => return Err(self.failed("open", err)),
        };
        let meta = file.metadata().map_err(|e| self.failed("inspect", e))?;
        if meta.is_dir() {
            return Err(FollowError::Failed(ConnectError::Config(format!(
                "'{}' is a directory; set 'file' to a file",
                self.display()
            ))));
        }
        let mut start = start.unwrap_or(0);
        if start > meta.len() {
            tracing::warn!(
                file = %self.display(),
                position = start,
                length = meta.len(),
                "the file is shorter than the committed position (truncated); reading it from the start"
            );
            start = 0;
        }
        file.seek(SeekFrom::Start(start))
            .map_err(|e| self.failed("seek in", e))?;
        self.position = start;
        self.pending.clear();
        self.open = Some(OpenFile {
            file,
            identity: identity(&meta),
            read_pos: start,
        });
        Ok(())
    }

    /// Reads what is new until `max` lines are queued or the file has nothing more.
    ///
    /// # Errors
    /// [`FollowError::Missing`] while nothing is at the path; [`FollowError::Failed`] when
    /// the file cannot be read.
    pub(super) fn fill(&mut self, max: usize) -> Result<(), FollowError> {
        if self.open.is_none() {
            // The committed position applies to the first file opened, even when the file
            // only appears after a few polls.
            self.open_at(self.resume_from)?;
            self.resume_from = None;
        }
        self.check_truncated()?;
        self.buf.resize(CHUNK, 0);
        while self.ready.len() < max {
            let Some(open) = self.open.as_mut() else {
                return Ok(());
            };
            let n = match open.file.read(&mut self.buf) {
                Ok(n) => n,
                Err(err) if err.kind() == ErrorKind::Interrupted => continue,
                Err(err) => return Err(self.failed("read", err)),
            };
            if n > 0 {
                open.read_pos += n as u64;
                self.pending.extend_from_slice(&self.buf[..n]);
                self.split_lines();
                continue;
            }
            // At the end: has the file been truncated or replaced?
            if self.check_truncated()? {
                continue;
            }
            if !self.check_rotated()? {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Starts over at 0 when the open file is shorter than what was read.
    fn check_truncated(&mut self) -> Result<bool, FollowError> {
        let Some(open) = self.open.as_mut() else {
            return Ok(false);
        };
        let len = match open.file.metadata() {
            Ok(meta) => meta.len(),
            Err(err) => return Err(self.failed("inspect", err)),
        };
        if len >= open.read_pos {
            return Ok(false);
        }
        tracing::info!(file = %self.path.display(), length = len, "the file was truncated; reading it from the start");
        open.file
            .seek(SeekFrom::Start(0))
            .map_err(|e| FollowError::Failed(ConnectError::io("seek to the start", e)))?;
        open.read_pos = 0;
        self.position = 0;
        self.pending.clear();
        Ok(true)
    }

    /// Switches to a new file at the path once the old one is read to its end.
    fn check_rotated(&mut self) -> Result<bool, FollowError> {
        let Some(open) = self.open.as_ref() else {
            return Ok(false);
        };
        let at_path = match std::fs::metadata(&self.path) {
            Ok(meta) => identity(&meta),
            // Moved away and not yet replaced: keep the old file.
            Err(err) if err.kind() == ErrorKind::NotFound => return Ok(false),
            Err(err) => return Err(self.failed("inspect", err)),
        };
        if at_path.is_none() || at_path == open.identity {
            return Ok(false);
        }
        tracing::info!(file = %self.display(), "the file was rotated; reading the new one from the start");
        if !self.pending.is_empty() {
            // The old file's last line will never get its newline.
            let bytes = std::mem::take(&mut self.pending);
            let position = self.position + bytes.len() as u64;
            let text = decode(&bytes);
            self.ready.push_back(Line { text, position });
            self.position = position;
        }
        match self.open_at(Some(0)) {
            Ok(()) => Ok(true),
            Err(FollowError::Missing) => Ok(false),
            Err(err) => Err(err),
        }
    }

    fn split_lines(&mut self) {
        let mut start = 0;
        while let Some(i) = self.pending[start..].iter().position(|b| *b == b'\n') {
            let end = start + i;
            let mut line = &self.pending[start..end];
            if line.last() == Some(&b'\r') {
                line = &line[..line.len() - 1];
            }
            let position = self.position + (end + 1) as u64;
            self.ready.push_back(Line {
                text: decode(line),
                position,
            });
            start = end + 1;
        }
        if start > 0 {
            self.pending.drain(..start);
            self.position += start as u64;
        }
    }
}

fn decode(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
