//! Reading one size-prefixed request frame.

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt};

/// Why a connection cannot go on.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The peer said a frame is larger than the broker accepts.
    #[error("request of {size} bytes is over the limit of {max} bytes (socket.request.max.bytes)")]
    TooLarge {
        /// Claimed size.
        size: i64,
        /// The limit.
        max: usize,
    },
    /// A negative or too-small length prefix.
    #[error("invalid frame length {0}")]
    BadLength(i32),
    /// The socket failed or closed mid-frame.
    #[error("connection error: {0}")]
    Io(#[from] std::io::Error),
}

/// Reads one frame; `Ok(None)` on a clean end of stream between frames.
///
/// The buffer is only allocated once the length has been checked against `max`.
///
/// # Cancel safety
/// Not cancel safe: a frame partly read when the future is dropped is lost, so callers only
/// cancel it when the connection is closing anyway.
///
/// # Errors
/// [`FrameError`] for an oversized or negative length, or an I/O error (including EOF mid-frame).
pub async fn read_frame<R: AsyncRead + Unpin>(
    reader: &mut R,
    max: usize,
) -> Result<Option<BytesMut>, FrameError> {
    let mut len = [0u8; 4];
    match reader.read_exact(&mut len).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    let size = i32::from_be_bytes(len);
    // The smallest header (api key, version, correlation id, null client id) is 10 bytes.
    if size < 10 {
        return Err(FrameError::BadLength(size));
    }
    if size as usize > max {
        return Err(FrameError::TooLarge {
            size: size.into(),
            max,
        });
    }
    // Read into spare capacity: zero-filling first costs a pass over every produced byte.
    let size = size as usize;
    let mut buf = BytesMut::with_capacity(size);
    while buf.len() < size {
        let mut limited = (&mut *reader).take((size - buf.len()) as u64);
        if limited.read_buf(&mut buf).await? == 0 {
            return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof).into());
        }
    }
    Ok(Some(buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_are_checked_before_allocation() {
        let mut ok: &[u8] = &[0, 0, 0, 10, 0, 18, 0, 0, 0, 0, 0, 1, 255, 255];
        assert_eq!(read_frame(&mut ok, 100).await.unwrap().unwrap().len(), 10);
        assert!(read_frame(&mut ok, 100).await.unwrap().is_none());

        let mut huge: &[u8] = &[0x7f, 0xff, 0xff, 0xff];
        assert!(matches!(
            read_frame(&mut huge, 100).await,
            Err(FrameError::TooLarge { .. })
        ));
        let mut negative: &[u8] = &[0xff, 0xff, 0xff, 0xff];
        assert!(matches!(
            read_frame(&mut negative, 100).await,
            Err(FrameError::BadLength(-1))
        ));
        let mut truncated: &[u8] = &[0, 0, 0, 20, 1, 2, 3];
        assert!(matches!(
            read_frame(&mut truncated, 100).await,
            Err(FrameError::Io(_))
        ));
    }
}
