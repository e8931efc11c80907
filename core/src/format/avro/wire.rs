//! Confluent's wire format for a record key or value: magic byte `0`, the
//! schema id as 4 big-endian bytes, then the Avro binary encoding of the
//! datum (no container file header, no schema).

/// The magic byte of Confluent's framing.
pub const MAGIC: u8 = 0;

/// Bytes before the Avro datum.
pub const HEADER_LEN: usize = 5;

/// Prepends the framing for schema `id` to the Avro datum `avro`.
pub fn frame(id: i32, avro: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + avro.len());
    out.push(MAGIC);
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(avro);
    out
}

/// Splits framed bytes into the schema id and the Avro datum.
///
/// # Errors
/// A message saying what is wrong: too short, or a magic byte other than 0
/// (the bytes were not written by a Confluent-compatible Avro serializer).
pub fn unframe(bytes: &[u8]) -> Result<(i32, &[u8]), String> {
    if bytes.len() < HEADER_LEN {
        return Err(format!(
            "{} bytes are too short for Confluent's framing (magic byte and a 4-byte schema id)",
            bytes.len()
        ));
    }
    if bytes[0] != MAGIC {
        return Err(format!(
            "unknown magic byte {}; expected 0 (Confluent's wire format); was this written by an Avro serializer with a schema registry?",
            bytes[0]
        ));
    }
    let id = i32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]);
    Ok((id, &bytes[HEADER_LEN..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        let framed = frame(258, b"\x02ab");
        assert_eq!(framed, b"\x00\x00\x00\x01\x02\x02ab");
        assert_eq!(unframe(&framed).unwrap(), (258, &b"\x02ab"[..]));
        assert!(unframe(b"\x00\x00").unwrap_err().contains("too short"));
        assert!(unframe(b"\x01\x00\x00\x00\x01")
            .unwrap_err()
            .contains("magic byte 1"));
    }
}
