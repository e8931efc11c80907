//! Kafka Connect's group protocol payloads in Kafka's binary layout
//! (`IncrementalCooperativeConnectProtocol`): the member metadata a worker sends in
//! JoinGroup and the assignment the leader hands out in SyncGroup.
//!
//! Kafka's primitive types: `STRING` is an i16 length and UTF-8 bytes, `NULLABLE_BYTES` an i32
//! length (-1 for null) and the bytes, `ARRAY` an i32 count (-1 for null) and the items, all
//! big-endian.
//!
//! ```text
//! Metadata   => Version:i16 Url:STRING ConfigOffset:i64 Allocation:NULLABLE_BYTES (an Assignment)
//! Assignment => Version:i16 Error:i16 Leader:STRING LeaderUrl:STRING ConfigOffset:i64
//!               Assigned:[ConnectorAssignment] Revoked:[ConnectorAssignment] Delay:i32
//! ConnectorAssignment => Connector:STRING Tasks:[i32]   (task -1 is the connector itself)
//! ```
//! Version 0 (Kafka's eager protocol) ends after `Assigned` and has no allocation; the decoder
//! takes missing trailing fields as their defaults, as Kafka does.

use std::collections::BTreeMap;

use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::work::Work;
use crate::herder::ConnectorTaskId;
use crate::{ConnectError, Result};

/// The protocol name of Connect's protocol version 2 (incremental cooperative with session keys).
pub const SESSIONED: &str = "sessioned";
/// The protocol name of Connect's protocol version 1 (incremental cooperative).
pub const COMPATIBLE: &str = "compatible";
/// The group protocol type of Kafka Connect workers.
pub const PROTOCOL_TYPE: &str = "connect";

/// The version number each protocol name carries in its payloads.
pub fn protocol_version(name: &str) -> i16 {
    if name == SESSIONED {
        2
    } else {
        1
    }
}

/// Assignment error: none.
pub const ERROR_NONE: i16 = 0;
/// Assignment error: the leader's config offset is behind a member's; read the config topic
/// further and rejoin.
pub const ERROR_CONFIG_MISMATCH: i16 = 1;

/// Task number that stands for the connector itself in a connector assignment.
const CONNECTOR_TASK: i32 = -1;

/// What a worker tells the group when it joins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerMetadata {
    /// Protocol version (1 = compatible, 2 = sessioned).
    pub version: i16,
    /// The worker's REST URL.
    pub url: String,
    /// The config topic offset the worker has read up to.
    pub config_offset: i64,
    /// The connectors and tasks the worker runs now (after stopping revoked ones).
    pub allocation: Vec<Work>,
}

/// The leader's answer for one member.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnectAssignment {
    /// Protocol version (1 = compatible, 2 = sessioned).
    pub version: i16,
    /// [`ERROR_NONE`] or [`ERROR_CONFIG_MISMATCH`].
    pub error: i16,
    /// The leader's member id.
    pub leader: String,
    /// The leader's REST URL.
    pub leader_url: String,
    /// The config topic offset the assignment was computed from.
    pub config_offset: i64,
    /// Newly assigned work (incremental: the member keeps what it ran before).
    pub assigned: Vec<Work>,
    /// Work the member must stop.
    pub revoked: Vec<Work>,
    /// How long until the leader expects a rebalance (work of departed members is held).
    pub delay_ms: i32,
}

/// Encodes a worker's JoinGroup metadata.
///
/// # Errors
/// A string longer than Kafka's `STRING` allows (32767 bytes).
pub fn encode_metadata(m: &WorkerMetadata) -> Result<Bytes> {
    let mut buf = BytesMut::new();
    buf.put_i16(m.version);
    put_string(&mut buf, &m.url)?;
    buf.put_i64(m.config_offset);
    if m.allocation.is_empty() {
        buf.put_i32(-1);
    } else {
        let allocation = encode_assignment(&ConnectAssignment {
            version: m.version,
            assigned: m.allocation.clone(),
            config_offset: m.config_offset,
            ..ConnectAssignment::default()
        })?;
        buf.put_i32(len_i32(allocation.len())?);
        buf.put_slice(&allocation);
    }
    Ok(buf.freeze())
}

/// Decodes a worker's JoinGroup metadata.
///
/// # Errors
/// Truncated or malformed bytes, or a negative version.
pub fn decode_metadata(mut buf: &[u8]) -> Result<WorkerMetadata> {
    let version = get_i16(&mut buf)?;
    check_version(version)?;
    let url = get_string(&mut buf)?;
    let config_offset = get_i64(&mut buf)?;
    let mut allocation = Vec::new();
    if buf.has_remaining() {
        let len = get_i32(&mut buf)?;
        if len >= 0 {
            let len = usize::try_from(len).map_err(|_| malformed("allocation length"))?;
            if buf.remaining() < len {
                return Err(malformed("allocation"));
            }
            allocation = decode_assignment(&buf[..len])?.assigned;
        }
    }
    Ok(WorkerMetadata {
        version,
        url,
        config_offset,
        allocation,
    })
}

/// Encodes an assignment for SyncGroup.
///
/// # Errors
/// A string longer than Kafka's `STRING` allows, or a task number beyond i32.
pub fn encode_assignment(a: &ConnectAssignment) -> Result<Bytes> {
    let mut buf = BytesMut::new();
    buf.put_i16(a.version);
    buf.put_i16(a.error);
    put_string(&mut buf, &a.leader)?;
    put_string(&mut buf, &a.leader_url)?;
    buf.put_i64(a.config_offset);
    put_connector_assignments(&mut buf, &a.assigned)?;
    if a.version >= 1 {
        put_connector_assignments(&mut buf, &a.revoked)?;
        buf.put_i32(a.delay_ms);
    }
    Ok(buf.freeze())
}

/// Decodes an assignment from SyncGroup.
///
/// # Errors
/// Truncated or malformed bytes, or a negative version.
pub fn decode_assignment(mut buf: &[u8]) -> Result<ConnectAssignment> {
    let version = get_i16(&mut buf)?;
    check_version(version)?;
    let error = get_i16(&mut buf)?;
    let leader = get_string(&mut buf)?;
    let leader_url = get_string(&mut buf)?;
    let config_offset = get_i64(&mut buf)?;
    let assigned = get_connector_assignments(&mut buf)?;
    let revoked = if buf.has_remaining() {
        get_connector_assignments(&mut buf)?
    } else {
        Vec::new()
    };
    let delay_ms = if buf.has_remaining() {
        get_i32(&mut buf)?
    } else {
        0
    };
    Ok(ConnectAssignment {
        version,
        error,
        leader,
        leader_url,
        config_offset,
        assigned,
        revoked,
        delay_ms,
    })
}

fn check_version(version: i16) -> Result<()> {
    if version < 0 {
        return Err(malformed(&format!("unsupported version {version}")));
    }
    Ok(())
}

fn malformed(what: &str) -> ConnectError {
    ConnectError::Kafka(format!("malformed Connect group protocol payload: {what}"))
}

fn len_i32(len: usize) -> Result<i32> {
    i32::try_from(len).map_err(|_| malformed("too long"))
}

fn put_string(buf: &mut BytesMut, s: &str) -> Result<()> {
    let len = i16::try_from(s.len())
        .map_err(|_| malformed(&format!("string of {} bytes is too long", s.len())))?;
    buf.put_i16(len);
    buf.put_slice(s.as_bytes());
    Ok(())
}

/// Groups work by connector, as Kafka does: one entry per connector with -1 for the connector
/// itself and its task numbers.
fn put_connector_assignments(buf: &mut BytesMut, work: &[Work]) -> Result<()> {
    let mut by_connector: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for w in work {
        match w {
            Work::Connector(c) => by_connector.entry(c).or_default().push(CONNECTOR_TASK),
            Work::Task(t) => {
                let n = i32::try_from(t.task).map_err(|_| malformed("task number"))?;
                by_connector.entry(&t.connector).or_default().push(n);
            }
        }
    }
    buf.put_i32(len_i32(by_connector.len())?);
    for (connector, tasks) in by_connector {
        put_string(buf, connector)?;
        buf.put_i32(len_i32(tasks.len())?);
        for t in tasks {
            buf.put_i32(t);
        }
    }
    Ok(())
}

fn get_connector_assignments(buf: &mut &[u8]) -> Result<Vec<Work>> {
    let count = get_i32(buf)?;
    let mut out = Vec::new();
    for _ in 0..count.max(0) {
        let connector = get_string(buf)?;
        let tasks = get_i32(buf)?;
        for _ in 0..tasks.max(0) {
            let n = get_i32(buf)?;
            if n == CONNECTOR_TASK {
                out.push(Work::Connector(connector.clone()));
            } else {
                let task = u32::try_from(n).map_err(|_| malformed("negative task number"))?;
                out.push(Work::Task(ConnectorTaskId {
                    connector: connector.clone(),
                    task,
                }));
            }
        }
    }
    Ok(out)
}

fn need(buf: &&[u8], n: usize) -> Result<()> {
    if buf.remaining() < n {
        return Err(malformed("truncated"));
    }
    Ok(())
}

fn get_i16(buf: &mut &[u8]) -> Result<i16> {
    need(buf, 2)?;
    Ok(buf.get_i16())
}

fn get_i32(buf: &mut &[u8]) -> Result<i32> {
    need(buf, 4)?;
    Ok(buf.get_i32())
}

fn get_i64(buf: &mut &[u8]) -> Result<i64> {
    need(buf, 8)?;
    Ok(buf.get_i64())
}

fn get_string(buf: &mut &[u8]) -> Result<String> {
    let len = get_i16(buf)?;
    let len = usize::try_from(len).map_err(|_| malformed("null string"))?;
    need(buf, len)?;
    let s = std::str::from_utf8(&buf[..len])
        .map_err(|_| malformed("string is not UTF-8"))?
        .to_string();
    buf.advance(len);
    Ok(s)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn task(c: &str, n: u32) -> Work {
        Work::Task(ConnectorTaskId {
            connector: c.into(),
            task: n,
        })
    }

    #[test]
    fn assignment_bytes_are_kafkas_layout() {
        let a = ConnectAssignment {
            version: 1,
            error: 0,
            leader: "L".into(),
            leader_url: "u".into(),
            config_offset: 7,
            assigned: vec![Work::Connector("c".into()), task("c", 0)],
            revoked: vec![],
            delay_ms: 5,
        };
        let bytes = encode_assignment(&a).unwrap();
        let expected: Vec<u8> = [
            &[0, 1, 0, 0][..],                 // version 1, error 0
            &[0, 1, b'L', 0, 1, b'u'],         // leader, leader url
            &[0, 0, 0, 0, 0, 0, 0, 7],         // config offset
            &[0, 0, 0, 1, 0, 1, b'c'],         // one connector assignment: "c"
            &[0, 0, 0, 2, 255, 255, 255, 255], // two tasks: -1 (the connector)
            &[0, 0, 0, 0],                     // and task 0
            &[0, 0, 0, 0],                     // no revocations
            &[0, 0, 0, 5],                     // delay
        ]
        .concat();
        assert_eq!(bytes.as_ref(), expected.as_slice());
        assert_eq!(decode_assignment(&bytes).unwrap(), a);
    }

    #[test]
    fn metadata_without_allocation_is_null_bytes() {
        let m = WorkerMetadata {
            version: 2,
            url: "http://w:8083/".into(),
            config_offset: -1,
            allocation: vec![],
        };
        let bytes = encode_metadata(&m).unwrap();
        assert_eq!(&bytes[bytes.len() - 4..], &[255, 255, 255, 255]);
        assert_eq!(decode_metadata(&bytes).unwrap(), m);
    }

    #[test]
    fn eager_version_0_assignment_decodes_with_defaults() {
        let mut a = ConnectAssignment {
            version: 0,
            leader: "L".into(),
            assigned: vec![task("x", 3)],
            ..ConnectAssignment::default()
        };
        let bytes = encode_assignment(&a).unwrap();
        a.revoked.clear();
        assert_eq!(decode_assignment(&bytes).unwrap(), a);
    }

    #[test]
    fn truncated_and_negative_inputs_are_errors() {
        assert!(decode_assignment(&[0, 1, 0]).is_err());
        assert!(decode_metadata(&[255, 255]).is_err());
        let bytes = encode_assignment(&ConnectAssignment {
            version: 1,
            assigned: vec![task("c", 1)],
            ..ConnectAssignment::default()
        })
        .unwrap();
        for cut in 0..bytes.len() {
            assert!(decode_assignment(&bytes[..cut]).is_err() || cut >= bytes.len() - 8);
        }
    }

    fn work() -> impl Strategy<Value = Work> {
        prop_oneof![
            "[a-z]{1,4}".prop_map(Work::Connector),
            ("[a-z]{1,4}", 0u32..50).prop_map(|(c, n)| task(&c, n)),
        ]
    }

    fn canonical(mut w: Vec<Work>) -> Vec<Work> {
        w.sort();
        w.dedup();
        w
    }

    proptest! {
        #[test]
        fn assignment_round_trips(
            assigned in prop::collection::vec(work(), 0..20),
            revoked in prop::collection::vec(work(), 0..5),
            leader in "[a-z0-9-]{0,20}",
            offset in any::<i64>(),
            delay in any::<i32>(),
        ) {
            let a = ConnectAssignment {
                version: 1, error: 0, leader, leader_url: "http://x".into(),
                config_offset: offset, assigned: canonical(assigned),
                revoked: canonical(revoked), delay_ms: delay,
            };
            let mut back = decode_assignment(&encode_assignment(&a).unwrap()).unwrap();
            back.assigned = canonical(back.assigned);
            back.revoked = canonical(back.revoked);
            prop_assert_eq!(back, a);
        }

        #[test]
        fn metadata_round_trips(allocation in prop::collection::vec(work(), 0..20), url in "[a-z:/]{0,30}") {
            let m = WorkerMetadata { version: 2, url, config_offset: 3, allocation: canonical(allocation) };
            let mut back = decode_metadata(&encode_metadata(&m).unwrap()).unwrap();
            back.allocation = canonical(back.allocation);
            prop_assert_eq!(back, m);
        }

        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode_assignment(&bytes);
            let _ = decode_metadata(&bytes);
        }
    }
}
