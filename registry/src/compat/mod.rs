//! Compatibility levels and the check a registration (or a
//! `POST /compatibility/...` request) runs against a subject's versions.
//!
//! BACKWARD: the new schema reads data of the latest version; FORWARD: the
//! latest version reads data of the new schema; FULL: both. The
//! `_TRANSITIVE` levels check against every live version instead of the
//! latest only; NONE checks nothing. Avro follows the specification's
//! resolution rules ([`avro`]); JSON Schema a structural subset ([`json`]).

pub mod avro;
pub mod json;

use std::fmt;
use std::str::FromStr;

use crate::schema::ParsedSchema;
use avro::{Direction, Incompatibility};

/// A subject's (or the global) compatibility level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// New reads latest.
    Backward,
    /// New reads every version.
    BackwardTransitive,
    /// Latest reads new.
    Forward,
    /// Every version reads new.
    ForwardTransitive,
    /// Backward and forward against the latest.
    Full,
    /// Backward and forward against every version.
    FullTransitive,
    /// No check.
    None,
}

impl Level {
    /// Confluent's default.
    pub const DEFAULT: Level = Level::Backward;

    /// The names, for error messages.
    pub const NAMES: [&'static str; 7] = [
        "BACKWARD",
        "BACKWARD_TRANSITIVE",
        "FORWARD",
        "FORWARD_TRANSITIVE",
        "FULL",
        "FULL_TRANSITIVE",
        "NONE",
    ];

    fn directions(self) -> &'static [Direction] {
        match self {
            Level::Backward | Level::BackwardTransitive => &[Direction::NewReadsOld],
            Level::Forward | Level::ForwardTransitive => &[Direction::OldReadsNew],
            Level::Full | Level::FullTransitive => {
                &[Direction::NewReadsOld, Direction::OldReadsNew]
            }
            Level::None => &[],
        }
    }

    fn transitive(self) -> bool {
        matches!(
            self,
            Level::BackwardTransitive | Level::ForwardTransitive | Level::FullTransitive
        )
    }
}

impl FromStr for Level {
    type Err = ();

    fn from_str(s: &str) -> Result<Level, ()> {
        Ok(match s.to_ascii_uppercase().as_str() {
            "BACKWARD" => Level::Backward,
            "BACKWARD_TRANSITIVE" => Level::BackwardTransitive,
            "FORWARD" => Level::Forward,
            "FORWARD_TRANSITIVE" => Level::ForwardTransitive,
            "FULL" => Level::Full,
            "FULL_TRANSITIVE" => Level::FullTransitive,
            "NONE" => Level::None,
            _ => return Err(()),
        })
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = match self {
            Level::Backward => 0,
            Level::BackwardTransitive => 1,
            Level::Forward => 2,
            Level::ForwardTransitive => 3,
            Level::Full => 4,
            Level::FullTransitive => 5,
            Level::None => 6,
        };
        f.write_str(Level::NAMES[i])
    }
}

/// The messages of every incompatibility of `new` under `level` against
/// `existing` (the subject's live versions, oldest first, with their
/// version numbers); empty when compatible.
pub fn check(level: Level, new: &ParsedSchema, existing: &[(i32, ParsedSchema)]) -> Vec<String> {
    let against: &[(i32, ParsedSchema)] = if level.transitive() {
        existing
    } else {
        existing.last().map_or(&[], std::slice::from_ref)
    };
    let mut messages = Vec::new();
    for (version, old) in against {
        for &direction in level.directions() {
            let (reader, writer) = match direction {
                Direction::NewReadsOld => (new, old),
                Direction::OldReadsNew => (old, new),
            };
            let found: Vec<Incompatibility> = match (reader, writer) {
                (ParsedSchema::Avro(r), ParsedSchema::Avro(w)) => {
                    avro::incompatibilities(r, w, direction)
                }
                (ParsedSchema::Json(r), ParsedSchema::Json(w)) => {
                    json::incompatibilities(r, w, direction)
                }
                _ => vec![Incompatibility {
                    path: "(root)".into(),
                    rule: "the schema type changed; a reader of one type cannot read the other"
                        .into(),
                    fix: "register the new type under a new subject".into(),
                }],
            };
            messages.extend(
                found
                    .into_iter()
                    .map(|i| format!("{i} (checked against version {version}, {level})")),
            );
        }
    }
    messages
}

#[cfg(test)]
mod tests;
