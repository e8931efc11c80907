//! Bounded decompression of a batch's records section, and the compression compaction
//! needs to write a rewritten batch back with its original codec.
//!
//! The log stores compressed batches as the producer sent them; it only decompresses when it
//! must look inside (timestamp look-ups, null-key checks of compacted topics, compaction). The
//! input is untrusted, so every codec stops with [`LogError::Decompression`] as soon as the
//! output would pass the caller's `max_output` bytes, and never sizes an allocation from a
//! length the input claims without checking it against that bound first.
//!
//! Codecs: gzip (`flate2`), snappy (raw blocks as librdkafka sends them, and the xerial framing
//! the Java client sends), lz4 (the LZ4 frame format) and zstd.

use std::io::{Read, Write};

use super::error::LogError;

/// Prefix of the xerial snappy framing used by the Java client: magic, then version and
/// compatible-version as two big-endian u32.
const XERIAL_MAGIC: &[u8; 8] = b"\x82SNAPPY\x00";
const XERIAL_HEADER_SIZE: usize = 16;

/// Block size of the xerial snappy framing (the Java client's default).
const XERIAL_BLOCK_SIZE: usize = 32 * 1024;
/// zstd level Kafka uses by default (`compression.zstd.level`).
const ZSTD_LEVEL: i32 = 3;

/// Smallest window log zstd accepts as a decoder limit.
const ZSTD_MIN_WINDOW_LOG: u32 = 10;
/// Window log that covers streaming frames of compression levels 1-19 (8 MiB windows).
const ZSTD_DEFAULT_WINDOW_LOG: u32 = 23;
/// zstd's own default ceiling (128 MiB).
const ZSTD_MAX_WINDOW_LOG: u32 = 27;

/// Upper bound on the decompressed size of one batch when a look-up must decode it.
pub const MAX_DECOMPRESSED_BATCH_BYTES: usize = 64 * 1024 * 1024;

/// Mask of the compression codec bits in a batch's attributes.
pub const COMPRESSION_MASK: i16 = 0x07;

/// Compression codec of a batch (attribute bits 0-2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Records stored as they are.
    None,
    /// gzip (RFC 1952).
    Gzip,
    /// snappy, raw or xerial-framed.
    Snappy,
    /// LZ4 frame format.
    Lz4,
    /// Zstandard.
    Zstd,
}

impl Compression {
    /// The codec named by the low three bits of a batch's attributes.
    ///
    /// # Errors
    /// [`LogError::InvalidRecord`] for the undefined ids 5-7.
    pub fn from_attributes(attributes: i16) -> Result<Compression, LogError> {
        match attributes & COMPRESSION_MASK {
            0 => Ok(Compression::None),
            1 => Ok(Compression::Gzip),
            2 => Ok(Compression::Snappy),
            3 => Ok(Compression::Lz4),
            4 => Ok(Compression::Zstd),
            other => Err(LogError::InvalidRecord(format!(
                "unknown compression codec id {other}; Kafka defines 0 (none) to 4 (zstd)"
            ))),
        }
    }

    /// The codec id as stored in the attributes.
    pub fn id(self) -> i16 {
        match self {
            Compression::None => 0,
            Compression::Gzip => 1,
            Compression::Snappy => 2,
            Compression::Lz4 => 3,
            Compression::Zstd => 4,
        }
    }
}

/// Decompresses `input` (a batch's records section) with `codec`, producing at most
/// `max_output` bytes. `Compression::None` copies the input (still bounded).
///
/// # Errors
/// [`LogError::Decompression`] if the input is malformed or the output would exceed
/// `max_output`.
pub fn decompress(
    codec: Compression,
    input: &[u8],
    max_output: usize,
) -> Result<Vec<u8>, LogError> {
    match codec {
        Compression::None => {
            if input.len() > max_output {
                return Err(too_large(max_output));
            }
            Ok(input.to_vec())
        }
        Compression::Gzip => {
            read_bounded(flate2::read::MultiGzDecoder::new(input), max_output, "gzip")
        }
        Compression::Snappy => snappy(input, max_output),
        Compression::Lz4 => {
            read_bounded(lz4_flex::frame::FrameDecoder::new(input), max_output, "lz4")
        }
        Compression::Zstd => zstd(input, max_output),
    }
}

/// True if a snappy records section uses the xerial framing (the Java client's), so a
/// rewritten batch can keep the framing its producer chose.
pub fn is_xerial(input: &[u8]) -> bool {
    input.len() >= XERIAL_HEADER_SIZE && input.starts_with(XERIAL_MAGIC)
}

/// Compresses a records section with `codec` the way producers do (gzip at the default
/// level, raw or `xerial`-framed snappy, an LZ4 frame, zstd level 3). `Compression::None`
/// copies. Used by compaction to re-encode a batch with the codec it came with.
///
/// # Errors
/// The encoder's error; writing into memory does not fail in practice.
pub fn compress(codec: Compression, data: &[u8], xerial: bool) -> std::io::Result<Vec<u8>> {
    match codec {
        Compression::None => Ok(data.to_vec()),
        Compression::Gzip => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(data)?;
            e.finish()
        }
        Compression::Snappy if xerial => {
            let mut out = XERIAL_MAGIC.to_vec();
            out.extend(1u32.to_be_bytes());
            out.extend(1u32.to_be_bytes());
            for chunk in data.chunks(XERIAL_BLOCK_SIZE) {
                let block = snap::raw::Encoder::new()
                    .compress_vec(chunk)
                    .map_err(std::io::Error::other)?;
                let len = u32::try_from(block.len()).map_err(std::io::Error::other)?;
                out.extend(len.to_be_bytes());
                out.extend(block);
            }
            Ok(out)
        }
        Compression::Snappy => snap::raw::Encoder::new()
            .compress_vec(data)
            .map_err(std::io::Error::other),
        Compression::Lz4 => {
            let mut e = lz4_flex::frame::FrameEncoder::new(Vec::new());
            e.write_all(data)?;
            e.finish().map_err(std::io::Error::other)
        }
        Compression::Zstd => zstd::stream::encode_all(data, ZSTD_LEVEL),
    }
}

fn too_large(max_output: usize) -> LogError {
    LogError::Decompression(format!(
        "decompressed records exceed the limit of {max_output} bytes"
    ))
}

/// Reads a decoder to its end, failing once it yields more than `max_output` bytes.
fn read_bounded<R: Read>(reader: R, max_output: usize, codec: &str) -> Result<Vec<u8>, LogError> {
    let mut out = Vec::new();
    let limit = u64::try_from(max_output)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    reader
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|e| LogError::Decompression(format!("{codec}: {e}")))?;
    if out.len() > max_output {
        return Err(too_large(max_output));
    }
    Ok(out)
}

fn snappy(input: &[u8], max_output: usize) -> Result<Vec<u8>, LogError> {
    if is_xerial(input) {
        return snappy_xerial(&input[XERIAL_HEADER_SIZE..], max_output);
    }
    let mut out = Vec::new();
    snappy_block_into(input, max_output, &mut out)?;
    Ok(out)
}

/// Decompresses one raw snappy block, appending to `out` while keeping `out` within the bound.
fn snappy_block_into(block: &[u8], max_output: usize, out: &mut Vec<u8>) -> Result<(), LogError> {
    let len = snap::raw::decompress_len(block)
        .map_err(|e| LogError::Decompression(format!("snappy: {e}")))?;
    if len > max_output.saturating_sub(out.len()) {
        return Err(too_large(max_output));
    }
    let start = out.len();
    out.resize(start + len, 0);
    let written = snap::raw::Decoder::new()
        .decompress(block, &mut out[start..])
        .map_err(|e| LogError::Decompression(format!("snappy: {e}")))?;
    out.truncate(start + written);
    Ok(())
}

/// The xerial framing: after the 16-byte header, repeated `[u32 BE length][snappy block]`.
fn snappy_xerial(mut rest: &[u8], max_output: usize) -> Result<Vec<u8>, LogError> {
    let mut out = Vec::new();
    while !rest.is_empty() {
        if rest.len() < 4 {
            return Err(LogError::Decompression(
                "snappy (xerial): truncated block length".into(),
            ));
        }
        let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        rest = &rest[4..];
        if len > rest.len() {
            return Err(LogError::Decompression(format!(
                "snappy (xerial): block of {len} bytes but only {} remain",
                rest.len()
            )));
        }
        snappy_block_into(&rest[..len], max_output, &mut out)?;
        rest = &rest[len..];
    }
    Ok(out)
}

fn zstd(input: &[u8], max_output: usize) -> Result<Vec<u8>, LogError> {
    let mut decoder = zstd::stream::read::Decoder::with_buffer(input)
        .map_err(|e| LogError::Decompression(format!("zstd: {e}")))?;
    // The window is allocated from a size the frame header claims: cap it so a hostile frame
    // cannot make us reserve zstd's full 128 MiB, while accepting what real producers emit.
    let needed = usize::BITS - max_output.leading_zeros();
    let window_log = needed
        .max(ZSTD_DEFAULT_WINDOW_LOG)
        .clamp(ZSTD_MIN_WINDOW_LOG, ZSTD_MAX_WINDOW_LOG);
    decoder
        .window_log_max(window_log)
        .map_err(|e| LogError::Decompression(format!("zstd: {e}")))?;
    read_bounded(decoder, max_output, "zstd")
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)] // Tests may panic on failure.
mod tests {
    use super::*;
    use crate::log::testutil::compress;

    fn sample() -> Vec<u8> {
        (0..20_000u32)
            .flat_map(|i| (i % 251).to_be_bytes())
            .collect()
    }

    #[test]
    fn round_trips_every_codec() {
        let data = sample();
        for codec in [
            Compression::None,
            Compression::Gzip,
            Compression::Snappy,
            Compression::Lz4,
            Compression::Zstd,
        ] {
            let packed = compress(codec, &data, false);
            assert_eq!(
                decompress(codec, &packed, data.len()).unwrap(),
                data,
                "{codec:?}"
            );
        }
        let xerial = compress(Compression::Snappy, &data, true);
        assert!(xerial.starts_with(XERIAL_MAGIC));
        assert_eq!(
            decompress(Compression::Snappy, &xerial, 1 << 20).unwrap(),
            data
        );
    }

    #[test]
    fn stops_at_the_bound() {
        let data = vec![7u8; 100_000];
        for (codec, xerial) in [
            (Compression::None, false),
            (Compression::Gzip, false),
            (Compression::Snappy, false),
            (Compression::Snappy, true),
            (Compression::Lz4, false),
            (Compression::Zstd, false),
        ] {
            let packed = compress(codec, &data, xerial);
            let err = decompress(codec, &packed, data.len() - 1).unwrap_err();
            assert!(
                matches!(&err, LogError::Decompression(m) if m.contains("limit")),
                "{codec:?}: {err}"
            );
        }
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let junk = [0x82u8, 1, 2, 3, 0xff, 0xff, 0xff, 0xff, 9, 9];
        for codec in [
            Compression::Gzip,
            Compression::Snappy,
            Compression::Lz4,
            Compression::Zstd,
        ] {
            assert!(decompress(codec, &junk, 1 << 20).is_err(), "{codec:?}");
        }
        let mut xerial = XERIAL_MAGIC.to_vec();
        xerial.extend([0, 0, 0, 1, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff]);
        assert!(decompress(Compression::Snappy, &xerial, 1 << 20).is_err());
    }

    #[test]
    fn unknown_codec_ids_are_rejected() {
        assert_eq!(
            Compression::from_attributes(0x14).unwrap(),
            Compression::Zstd
        );
        assert!(matches!(
            Compression::from_attributes(5),
            Err(LogError::InvalidRecord(_))
        ));
    }
}
