//! A decoder of PostgreSQL's `pgoutput` logical replication messages (protocol version 1,
//! text tuples): Relation, Insert, Update, Delete and Truncate. The replication transport
//! (`pgwire-replication`) hands Begin, Commit and logical messages over already parsed, and
//! the change messages as raw bytes, which this module turns into [`Change`]s. No I/O here.
//!
//! Message layouts follow PostgreSQL's "Logical Replication Message Formats" chapter.

use crate::error::{ConnectError, Result};

/// A column of a relation, as a Relation message describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationColumn {
    /// Part of the replica identity (the key).
    pub key: bool,
    /// The column's name.
    pub name: String,
    /// The type's OID.
    pub type_oid: u32,
    /// The type modifier (a varchar's length + 4, a numeric's precision and scale).
    pub type_modifier: i32,
}

/// A Relation message: a table's shape, sent before its first change in a session and after
/// every change of its columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    /// The table's OID.
    pub oid: u32,
    /// Its schema.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// `d` (default: the primary key), `n` (nothing), `f` (full), `i` (an index).
    pub replica_identity: u8,
    /// The columns.
    pub columns: Vec<RelationColumn>,
}

/// One column's value in a tuple.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    /// SQL NULL.
    Null,
    /// An unchanged TOASTed value: the server did not send it.
    UnchangedToast,
    /// The value in Postgres's text output format.
    Text(String),
}

/// A change message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A relation's description.
    Relation(Relation),
    /// A new row.
    Insert {
        /// The table's OID.
        relation: u32,
        /// The new row.
        new: Vec<Cell>,
    },
    /// A changed row.
    Update {
        /// The table's OID.
        relation: u32,
        /// The old row: its key columns only (`K`, when the key changed under REPLICA IDENTITY
        /// DEFAULT) or all of it (`O`, REPLICA IDENTITY FULL); none otherwise.
        old: Option<Vec<Cell>>,
        /// The new row.
        new: Vec<Cell>,
    },
    /// A deleted row.
    Delete {
        /// The table's OID.
        relation: u32,
        /// The old row (key columns, or all under REPLICA IDENTITY FULL).
        old: Vec<Cell>,
    },
    /// Tables truncated together.
    Truncate {
        /// Their OIDs.
        relations: Vec<u32>,
    },
    /// Anything else (Origin, Type, stream messages): not needed for change events.
    Other(u8),
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or_else(|| {
            ConnectError::Data(format!(
                "pgoutput: message truncated at byte {} (needed {n} more)",
                self.at
            ))
        })?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    fn i16(&mut self) -> Result<i16> {
        let b = self.take(2)?;
        Ok(i16::from_be_bytes([b[0], b[1]]))
    }

    fn i32(&mut self) -> Result<i32> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u32(&mut self) -> Result<u32> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn cstring(&mut self) -> Result<String> {
        let rest = &self.bytes[self.at..];
        let len = rest
            .iter()
            .position(|&b| b == 0)
            .ok_or_else(|| ConnectError::Data("pgoutput: unterminated string".to_owned()))?;
        let text = String::from_utf8_lossy(&rest[..len]).into_owned();
        self.at += len + 1;
        Ok(text)
    }

    fn tuple(&mut self) -> Result<Vec<Cell>> {
        let count = self.i16()?;
        let mut cells = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
        for _ in 0..count {
            cells.push(match self.u8()? {
                b'n' => Cell::Null,
                b'u' => Cell::UnchangedToast,
                b't' | b'b' => {
                    let len = usize::try_from(self.i32()?).map_err(|_| {
                        ConnectError::Data("pgoutput: negative value length".to_owned())
                    })?;
                    Cell::Text(String::from_utf8_lossy(self.take(len)?).into_owned())
                }
                other => {
                    return Err(ConnectError::Data(format!(
                        "pgoutput: unknown tuple cell kind {:?}",
                        char::from(other)
                    )))
                }
            });
        }
        Ok(cells)
    }
}

/// Decodes one pgoutput message.
///
/// # Errors
/// [`ConnectError::Data`] for a truncated or malformed message.
pub fn decode(bytes: &[u8]) -> Result<Change> {
    let mut r = Reader { bytes, at: 0 };
    let tag = r.u8()?;
    Ok(match tag {
        b'R' => {
            let oid = r.u32()?;
            let namespace = r.cstring()?;
            let name = r.cstring()?;
            let replica_identity = r.u8()?;
            let count = r.i16()?;
            let mut columns = Vec::new();
            for _ in 0..count {
                let flags = r.u8()?;
                let name = r.cstring()?;
                let type_oid = r.u32()?;
                let type_modifier = r.i32()?;
                columns.push(RelationColumn {
                    key: flags & 1 == 1,
                    name,
                    type_oid,
                    type_modifier,
                });
            }
            Change::Relation(Relation {
                oid,
                namespace,
                name,
                replica_identity,
                columns,
            })
        }
        b'I' => {
            let relation = r.u32()?;
            expect(r.u8()?, b'N', "Insert")?;
            Change::Insert {
                relation,
                new: r.tuple()?,
            }
        }
        b'U' => {
            let relation = r.u32()?;
            let mut kind = r.u8()?;
            let mut old = None;
            if kind == b'K' || kind == b'O' {
                old = Some(r.tuple()?);
                kind = r.u8()?;
            }
            expect(kind, b'N', "Update")?;
            Change::Update {
                relation,
                old,
                new: r.tuple()?,
            }
        }
        b'D' => {
            let relation = r.u32()?;
            let kind = r.u8()?;
            if kind != b'K' && kind != b'O' {
                return Err(ConnectError::Data(format!(
                    "pgoutput: Delete with tuple kind {:?}",
                    char::from(kind)
                )));
            }
            Change::Delete {
                relation,
                old: r.tuple()?,
            }
        }
        b'T' => {
            let count = r.i32()?;
            let _options = r.u8()?;
            let mut relations = Vec::new();
            for _ in 0..count {
                relations.push(r.u32()?);
            }
            Change::Truncate { relations }
        }
        other => Change::Other(other),
    })
}

fn expect(got: u8, want: u8, message: &str) -> Result<()> {
    if got == want {
        Ok(())
    } else {
        Err(ConnectError::Data(format!(
            "pgoutput: {message} with tuple kind {:?}, expected {:?}",
            char::from(got),
            char::from(want)
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tuple(cells: &[Option<&str>]) -> Vec<u8> {
        let mut out = (cells.len() as i16).to_be_bytes().to_vec();
        for cell in cells {
            match cell {
                None => out.push(b'n'),
                Some("\u{0}toast") => out.push(b'u'),
                Some(text) => {
                    out.push(b't');
                    out.extend((text.len() as i32).to_be_bytes());
                    out.extend(text.as_bytes());
                }
            }
        }
        out
    }

    #[test]
    fn decodes_a_relation_and_changes() {
        let mut rel = vec![b'R'];
        rel.extend(16384u32.to_be_bytes());
        rel.extend(b"public\0orders\0");
        rel.push(b'd');
        rel.extend(2i16.to_be_bytes());
        rel.push(1);
        rel.extend(b"id\0");
        rel.extend(23u32.to_be_bytes());
        rel.extend((-1i32).to_be_bytes());
        rel.push(0);
        rel.extend(b"note\0");
        rel.extend(25u32.to_be_bytes());
        rel.extend((-1i32).to_be_bytes());
        let Change::Relation(r) = decode(&rel).unwrap() else {
            panic!("not a relation")
        };
        assert_eq!(r.name, "orders");
        assert!(r.columns[0].key && !r.columns[1].key);

        let mut update = vec![b'U'];
        update.extend(16384u32.to_be_bytes());
        update.push(b'O');
        update.extend(tuple(&[Some("1"), None]));
        update.push(b'N');
        update.extend(tuple(&[Some("1"), Some("\u{0}toast")]));
        assert_eq!(
            decode(&update).unwrap(),
            Change::Update {
                relation: 16384,
                old: Some(vec![Cell::Text("1".into()), Cell::Null]),
                new: vec![Cell::Text("1".into()), Cell::UnchangedToast],
            }
        );
        let mut trunc = vec![b'T'];
        trunc.extend(2i32.to_be_bytes());
        trunc.push(0);
        trunc.extend(1u32.to_be_bytes());
        trunc.extend(2u32.to_be_bytes());
        assert_eq!(
            decode(&trunc).unwrap(),
            Change::Truncate {
                relations: vec![1, 2]
            }
        );
    }

    #[test]
    fn truncated_messages_are_errors_not_panics() {
        let mut insert = vec![b'I'];
        insert.extend(1u32.to_be_bytes());
        insert.push(b'N');
        insert.extend(tuple(&[Some("hello")]));
        for len in 0..insert.len() {
            assert!(decode(&insert[..len]).is_err(), "prefix of {len} bytes");
        }
        assert!(decode(&insert).is_ok());
    }
}
