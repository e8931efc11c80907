//! Avro schema resolution (the Avro specification's "Schema Resolution"),
//! written out so that every incompatibility names its field path, the rule
//! it breaks and the fix.
//!
//! [`incompatibilities`] answers: can a reader using `reader` read data
//! written with `writer`? The rules, as in the spec and Confluent:
//! - same primitive types match; the writer's `int` promotes to the
//!   reader's `long`, `float` or `double`, `long` to `float` or `double`,
//!   `float` to `double`; `string` and `bytes` read each other;
//!   logical types are compared by their underlying type;
//! - records match by name (or a reader alias); each reader field takes
//!   the writer field of the same name (or one of the reader field's
//!   aliases), or its default, and is an error without one; writer fields
//!   the reader lacks are skipped;
//! - enums match by name; a writer symbol the reader lacks needs the
//!   reader's enum `default`;
//! - arrays and maps by their item types; fixed by name and size;
//! - a writer union: every branch must be readable; a reader union: some
//!   branch must read the writer's type.

use std::collections::{HashMap, HashSet};

use apache_avro::schema::{Name, RecordSchema};
use apache_avro::Schema;

use crate::schema::AvroSchema;

/// Which schema is the new one, so messages speak of "old" and "new".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// The new schema reads old data (BACKWARD).
    NewReadsOld,
    /// The old schema reads new data (FORWARD).
    OldReadsNew,
}

/// One reason a reader cannot read a writer's data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Incompatibility {
    /// Where: `Sale.quantity`, `Sale.items[]`, `Sale.tags{}`.
    pub path: String,
    /// What changed and which rule that breaks.
    pub rule: String,
    /// How to evolve the schema instead.
    pub fix: String,
}

impl std::fmt::Display for Incompatibility {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}; {}", self.path, self.rule, self.fix)
    }
}

/// Every reason `reader` cannot read data written with `writer` (empty:
/// compatible).
pub fn incompatibilities(
    reader: &AvroSchema,
    writer: &AvroSchema,
    direction: Direction,
) -> Vec<Incompatibility> {
    let mut checker = Checker {
        reader_names: &reader.names,
        writer_names: &writer.names,
        direction,
        seen: HashSet::new(),
        found: Vec::new(),
    };
    let root = match checker.resolve_reader(&reader.schema) {
        Schema::Record(r) => r.name.name.clone(),
        _ => "(root)".to_owned(),
    };
    checker.check(&root, &reader.schema, &writer.schema);
    checker.found
}

struct Checker<'a> {
    reader_names: &'a HashMap<String, Schema>,
    writer_names: &'a HashMap<String, Schema>,
    direction: Direction,
    /// Named pairs (reader, writer) already being checked: recursive types.
    seen: HashSet<(String, String)>,
    found: Vec<Incompatibility>,
}

/// Underlying kinds; logical types compare as the type they annotate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Null,
    Boolean,
    Int,
    Long,
    Float,
    Double,
    Bytes,
    String,
    Fixed,
    Other,
}

fn kind(schema: &Schema) -> Kind {
    match schema {
        Schema::Null => Kind::Null,
        Schema::Boolean => Kind::Boolean,
        Schema::Int | Schema::Date | Schema::TimeMillis => Kind::Int,
        Schema::Long
        | Schema::TimeMicros
        | Schema::TimestampMillis
        | Schema::TimestampMicros
        | Schema::TimestampNanos
        | Schema::LocalTimestampMillis
        | Schema::LocalTimestampMicros
        | Schema::LocalTimestampNanos => Kind::Long,
        Schema::Float => Kind::Float,
        Schema::Double => Kind::Double,
        Schema::Bytes | Schema::BigDecimal => Kind::Bytes,
        Schema::String | Schema::Uuid => Kind::String,
        Schema::Decimal(d) => kind(&d.inner),
        Schema::Fixed(_) | Schema::Duration => Kind::Fixed,
        _ => Kind::Other,
    }
}

/// Whether a writer of `w` can be read as `r` without a named type.
fn promotes(w: Kind, r: Kind) -> bool {
    w == r
        || matches!(
            (w, r),
            (Kind::Int, Kind::Long | Kind::Float | Kind::Double)
                | (Kind::Long, Kind::Float | Kind::Double)
                | (Kind::Float, Kind::Double)
                | (Kind::String, Kind::Bytes)
                | (Kind::Bytes, Kind::String)
        )
}

/// A short name for a type in messages.
fn describe(schema: &Schema) -> String {
    match schema {
        Schema::Record(r) => format!("record {}", r.name.fullname(None)),
        Schema::Enum(e) => format!("enum {}", e.name.fullname(None)),
        Schema::Fixed(f) => format!("fixed {}", f.name.fullname(None)),
        Schema::Ref { name } => name.fullname(None),
        Schema::Array(a) => format!("array<{}>", describe(&a.items)),
        Schema::Map(m) => format!("map<{}>", describe(&m.types)),
        Schema::Union(u) => {
            let branches: Vec<String> = u.variants().iter().map(describe).collect();
            format!("[{}]", branches.join(", "))
        }
        other => format!("{:?}", apache_avro::schema::SchemaKind::from(other)).to_lowercase(),
    }
}

fn name_matches(
    reader: &Name,
    reader_aliases: Option<&Vec<apache_avro::schema::Alias>>,
    writer: &Name,
) -> bool {
    let writer_full = writer.fullname(None);
    reader.fullname(None) == writer_full
        || reader.name == writer.name
        || reader_aliases.is_some_and(|aliases| {
            aliases.iter().any(|a| {
                a.fullname(reader.namespace.clone()) == writer_full || a.name() == writer.name
            })
        })
}

impl<'a> Checker<'a> {
    fn resolve_reader(&self, schema: &'a Schema) -> &'a Schema {
        match schema {
            Schema::Ref { name } => self
                .reader_names
                .get(&name.fullname(None))
                .unwrap_or(schema),
            _ => schema,
        }
    }

    fn resolve_writer(&self, schema: &'a Schema) -> &'a Schema {
        match schema {
            Schema::Ref { name } => self
                .writer_names
                .get(&name.fullname(None))
                .unwrap_or(schema),
            _ => schema,
        }
    }

    /// Old and new types in the order a message shows them ("old -> new").
    fn old_new(&self, reader: &Schema, writer: &Schema) -> (String, String) {
        match self.direction {
            Direction::NewReadsOld => (describe(writer), describe(reader)),
            Direction::OldReadsNew => (describe(reader), describe(writer)),
        }
    }

    fn who_fails(&self) -> &'static str {
        match self.direction {
            Direction::NewReadsOld => {
                "a reader on the new schema cannot read data written with the old one"
            }
            Direction::OldReadsNew => {
                "a reader on the old schema cannot read data written with the new one"
            }
        }
    }

    fn push(&mut self, path: &str, rule: String, fix: &str) {
        self.found.push(Incompatibility {
            path: path.to_owned(),
            rule,
            fix: fix.to_owned(),
        });
    }

    /// Whether `reader` reads `writer`, without reporting.
    fn readable(&mut self, path: &str, reader: &'a Schema, writer: &'a Schema) -> bool {
        let before = self.found.len();
        self.check(path, reader, writer);
        let ok = self.found.len() == before;
        self.found.truncate(before);
        ok
    }

    fn check(&mut self, path: &str, reader: &'a Schema, writer: &'a Schema) {
        let reader = self.resolve_reader(reader);
        let writer = self.resolve_writer(writer);
        match (reader, writer) {
            (_, Schema::Union(w)) => {
                for branch in w.variants() {
                    let ok = match reader {
                        Schema::Union(r) => r
                            .variants()
                            .iter()
                            .any(|rb| self.readable(path, rb, branch)),
                        _ => self.readable(path, reader, branch),
                    };
                    if !ok {
                        let rule = match (self.direction, reader) {
                            (Direction::NewReadsOld, Schema::Union(_)) => format!(
                                "union narrowed: branch {} was removed; {}",
                                describe(branch),
                                self.who_fails()
                            ),
                            (Direction::OldReadsNew, Schema::Union(_)) => format!(
                                "union widened with branch {}; {}",
                                describe(branch),
                                self.who_fails()
                            ),
                            _ => {
                                let (old, new) = self.old_new(reader, writer);
                                format!(
                                    "type changed {old} -> {new}: branch {} has no match; {}",
                                    describe(branch),
                                    self.who_fails()
                                )
                            }
                        };
                        self.push(
                            path,
                            rule,
                            "keep every branch the other side may use, or add a new field with a default instead",
                        );
                    }
                }
            }
            (Schema::Union(r), _) => {
                if !r
                    .variants()
                    .iter()
                    .any(|rb| self.readable(path, rb, writer))
                {
                    let (old, new) = self.old_new(reader, writer);
                    let rule = format!("type changed {old} -> {new}; {}", self.who_fails());
                    self.push(path, rule, "add the other type as a union branch, or add a new field with a default instead");
                }
            }
            (Schema::Record(r), Schema::Record(w)) => self.check_record(path, r, w),
            (Schema::Enum(r), Schema::Enum(w)) => {
                if !name_matches(&r.name, r.aliases.as_ref(), &w.name) {
                    return self.name_changed(path, &r.name, &w.name);
                }
                for symbol in &w.symbols {
                    if !r.symbols.contains(symbol) && r.default.is_none() {
                        let rule = match self.direction {
                            Direction::NewReadsOld => {
                                format!("enum symbol '{symbol}' was removed; {}", self.who_fails())
                            }
                            Direction::OldReadsNew => {
                                format!("enum symbol '{symbol}' was added; {}", self.who_fails())
                            }
                        };
                        self.push(path, rule, "give the reading enum a \"default\" symbol first, or keep the symbol set unchanged");
                    }
                }
            }
            (Schema::Array(r), Schema::Array(w)) => {
                self.check(&format!("{path}[]"), &r.items, &w.items)
            }
            (Schema::Map(r), Schema::Map(w)) => {
                self.check(&format!("{path}{{}}"), &r.types, &w.types)
            }
            (Schema::Fixed(r), Schema::Fixed(w)) => {
                if !name_matches(&r.name, r.aliases.as_ref(), &w.name) {
                    self.name_changed(path, &r.name, &w.name);
                } else if r.size != w.size {
                    let rule = format!("fixed size changed; {}", self.who_fails());
                    self.push(
                        path,
                        rule,
                        "keep the size, or add a new field with a default instead",
                    );
                }
            }
            _ => {
                let (rk, wk) = (kind(reader), kind(writer));
                if rk == Kind::Other || wk == Kind::Other || !promotes(wk, rk) {
                    let (old, new) = self.old_new(reader, writer);
                    let rule = format!("type changed {old} -> {new}; {}", self.who_fails());
                    self.push(
                        path,
                        rule,
                        "only promotions int -> long -> float -> double and string <-> bytes are allowed; add a new field with a default instead",
                    );
                }
            }
        }
    }

    fn name_changed(&mut self, path: &str, reader: &Name, writer: &Name) {
        let (old, new) = match self.direction {
            Direction::NewReadsOld => (writer.fullname(None), reader.fullname(None)),
            Direction::OldReadsNew => (reader.fullname(None), writer.fullname(None)),
        };
        let rule = format!("name changed '{old}' -> '{new}'; {}", self.who_fails());
        self.push(path, rule, "add the old name to the new type's \"aliases\"");
    }

    fn check_record(&mut self, path: &str, r: &'a RecordSchema, w: &'a RecordSchema) {
        if !name_matches(&r.name, r.aliases.as_ref(), &w.name) {
            return self.name_changed(path, &r.name, &w.name);
        }
        let pair = (r.name.fullname(None), w.name.fullname(None));
        if !self.seen.insert(pair) {
            return;
        }
        for field in &r.fields {
            let field_path = format!("{path}.{}", field.name);
            let writer_field = w.fields.iter().find(|wf| {
                wf.name == field.name
                    || field
                        .aliases
                        .as_ref()
                        .is_some_and(|aliases| aliases.contains(&wf.name))
            });
            match writer_field {
                Some(wf) => self.check(&field_path, &field.schema, &wf.schema),
                None if field.default.is_some() => {}
                None => {
                    let (rule, fix) = match self.direction {
                        Direction::NewReadsOld => (
                            format!("field added without a default; {}", self.who_fails()),
                            "give the new field a \"default\" (or, for a rename, add the old name to its \"aliases\")",
                        ),
                        Direction::OldReadsNew => (
                            format!(
                                "field removed, and the old schema has no default for it; {}",
                                self.who_fails()
                            ),
                            "keep the field, or first give it a \"default\" in a version readers use",
                        ),
                    };
                    self.push(&field_path, rule, fix);
                }
            }
        }
    }
}
