//! Walking the batches of a segment file: the scan that recovery, `Segment::recover` and
//! the consistency check share. A batch that is incomplete, impossible or (when asked) fails
//! its CRC ends the walk, with the reason.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use super::batch::{verify_crc, BatchHeader, HEADER_SIZE};
use super::error::{IoContext, LogError};

/// Bytes read at a time when scanning only headers.
const HEADER_SCAN_CHUNK: usize = 64 * 1024;
/// Bytes read at a time when scanning whole batches (CRC checks).
const FULL_SCAN_CHUNK: usize = 1024 * 1024;

/// Why a scan stopped before the end of the file.
pub(super) type ScanStop = Option<String>;

/// Walks the batches of `file` from `from` to `len`, calling `visit(position, header)` for
/// each good one. Returns where the good data ends and, if that is before `len`, why.
///
/// A batch is bad if its header is incomplete or invalid, it runs past `len`, its offsets go
/// backwards (base offset below `next_offset`), its position would not fit the index, or
/// (with `verify`) its CRC does not match.
pub(super) fn scan(
    target: Target<'_>,
    from: u64,
    len: u64,
    mut next_offset: i64,
    verify: bool,
    mut visit: impl FnMut(u64, &BatchHeader),
) -> Result<(u64, ScanStop), LogError> {
    let Target { file, path, base } = target;
    let mut reader = ChunkReader {
        file,
        path,
        len,
        chunk: if verify {
            FULL_SCAN_CHUNK
        } else {
            HEADER_SCAN_CHUNK
        },
        buf: Vec::new(),
        buf_start: 0,
    };
    let mut pos = from;
    while pos < len {
        let remaining = len - pos;
        if remaining < HEADER_SIZE as u64 {
            return Ok((
                pos,
                Some(format!("incomplete batch header ({remaining} bytes)")),
            ));
        }
        let header = match BatchHeader::parse(reader.get(pos, HEADER_SIZE)?) {
            Ok(h) => h,
            Err(e) => return Ok((pos, Some(e.to_string()))),
        };
        let size = header.total_size() as u64;
        if size > remaining {
            return Ok((
                pos,
                Some(format!(
                    "incomplete batch: {size} bytes announced, {remaining} present"
                )),
            ));
        }
        if header.base_offset < next_offset || header.last_offset_delta < 0 {
            return Ok((
                pos,
                Some(format!(
                    "batch offsets {}..={} go backwards (expected at least {next_offset})",
                    header.base_offset,
                    header.last_offset()
                )),
            ));
        }
        if pos > u64::from(u32::MAX) {
            return Ok((pos, Some("segment larger than 4 GiB".into())));
        }
        let relative_last = i128::from(header.base_offset) + i128::from(header.last_offset_delta)
            - i128::from(base);
        if relative_last > i128::from(u32::MAX) {
            return Ok((
                pos,
                Some(format!(
                    "batch at offset {} is too far past the segment base {base}",
                    header.base_offset
                )),
            ));
        }
        if verify {
            if let Err(e) = verify_crc(&header, reader.get(pos, header.total_size())?) {
                return Ok((pos, Some(e.to_string())));
            }
        }
        visit(pos, &header);
        next_offset = header.next_offset();
        pos += size;
    }
    Ok((pos, None))
}

/// The segment file a [`scan`] walks, and its base offset.
pub(super) struct Target<'a> {
    file: &'a File,
    path: &'a Path,
    base: i64,
}

impl<'a> Target<'a> {
    pub(super) fn new(file: &'a File, path: &'a Path, base: i64) -> Self {
        Target { file, path, base }
    }
}

/// Positional reads through a chunk buffer, so scanning small batches costs few syscalls.
struct ChunkReader<'a> {
    file: &'a File,
    path: &'a Path,
    len: u64,
    chunk: usize,
    buf: Vec<u8>,
    buf_start: u64,
}

impl ChunkReader<'_> {
    /// `n` bytes at `pos`; the caller has checked that `pos + n <= len`.
    fn get(&mut self, pos: u64, n: usize) -> Result<&[u8], LogError> {
        let buf_end = self.buf_start + self.buf.len() as u64;
        if pos < self.buf_start || pos + n as u64 > buf_end {
            let remaining = usize::try_from(self.len - pos).unwrap_or(usize::MAX);
            let want = n.max(self.chunk).min(remaining);
            self.buf.resize(want, 0);
            self.file.read_exact_at(&mut self.buf, pos).at(self.path)?;
            self.buf_start = pos;
        }
        let at = (pos - self.buf_start) as usize;
        Ok(&self.buf[at..at + n])
    }
}
