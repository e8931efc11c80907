//! `POST /subjects/{subject}/versions`: registering a schema, and the
//! pieces other routes share (the request body, resolving references,
//! modes).
//!
//! A registration, on the writer, under the write lock: check the mode;
//! resolve references; parse; answer the existing id if the subject
//! already has this schema; check compatibility against the subject's live
//! versions; reuse the id of the same schema in another subject or take the
//! next one; write the version to `_schemas` and answer once it is applied.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{json as json_value, Value};

use super::subjects::Params;
use super::{flag, json, Body, Shared};
use crate::compat::{self, Level};
use crate::error::ApiError;
use crate::schema::{self, ParsedSchema};
use crate::store::records::{RecordKey, SchemaValue};
use crate::store::state::{Reference, SchemaType, State as RegistryState};

/// The body of a registration, lookup or compatibility check.
#[derive(Debug, Deserialize)]
pub struct SchemaRequest {
    /// The schema text.
    pub schema: String,
    /// `AVRO` (default), `JSON` or `PROTOBUF`.
    #[serde(rename = "schemaType", default)]
    pub schema_type: Option<String>,
    /// References to other subjects' versions.
    #[serde(default)]
    pub references: Vec<Reference>,
    /// Data-contract metadata, stored as given.
    #[serde(default)]
    pub metadata: Option<Value>,
    /// Data-contract rules, stored as given.
    #[serde(rename = "ruleSet", default)]
    pub rule_set: Option<Value>,
    /// An explicit id (IMPORT mode only).
    #[serde(default)]
    pub id: Option<i32>,
    /// An explicit version (IMPORT mode only).
    #[serde(default)]
    pub version: Option<i32>,
}

/// A parsed request schema.
#[derive(Debug)]
pub struct RequestSchema {
    /// Its type.
    pub schema_type: SchemaType,
    /// The text to store and compare.
    pub text: String,
    /// The parsed form.
    pub parsed: ParsedSchema,
}

fn schema_type(name: Option<&str>) -> Result<SchemaType, ApiError> {
    match name.map(str::to_ascii_uppercase).as_deref() {
        None | Some("AVRO") => Ok(SchemaType::Avro),
        Some("JSON") => Ok(SchemaType::Json),
        Some("PROTOBUF") => Ok(SchemaType::Protobuf),
        Some(other) => Err(ApiError::new(
            42201,
            format!("Invalid schema: unknown schemaType '{other}'; use AVRO, JSON or PROTOBUF"),
        )),
    }
}

/// The texts of the schemas `refs` point to, transitively, dependencies
/// first.
///
/// # Errors
/// 42201 naming the missing reference.
pub fn reference_texts(state: &RegistryState, refs: &[Reference]) -> Result<Vec<String>, ApiError> {
    fn visit(
        state: &RegistryState,
        refs: &[Reference],
        out: &mut Vec<String>,
        depth: usize,
    ) -> Result<(), ApiError> {
        if depth > 32 {
            return Err(ApiError::invalid_schema(
                "references nest deeper than 32 levels",
            ));
        }
        for r in refs {
            let found = if r.version == -1 {
                state.versions(&r.subject, false).last().copied()
            } else {
                state.version(&r.subject, r.version).filter(|v| !v.deleted)
            };
            let Some(found) = found else {
                return Err(ApiError::invalid_schema(format!(
                    "reference '{}' points to subject '{}' version {}, which does not exist; register it first",
                    r.name, r.subject, r.version
                )));
            };
            visit(state, &found.references, out, depth + 1)?;
            if !out.contains(&found.schema) {
                out.push(found.schema.clone());
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    visit(state, refs, &mut out, 0)?;
    Ok(out)
}

/// Parses the schema of a request, with its references.
///
/// # Errors
/// 42201 for an invalid or unsupported schema or a missing reference.
pub fn submission_of(
    state: &RegistryState,
    request: &SchemaRequest,
    normalize: bool,
) -> Result<RequestSchema, ApiError> {
    let schema_type = schema_type(request.schema_type.as_deref())?;
    let refs = reference_texts(state, &request.references)?;
    let submission = schema::parse(schema_type, &request.schema, &refs, normalize)?;
    Ok(RequestSchema {
        schema_type,
        text: submission.text,
        parsed: submission.parsed,
    })
}

/// Parses a stored version, for compatibility checks.
///
/// # Errors
/// 50001 if a stored schema no longer parses (the store is damaged).
pub fn parsed_version(state: &RegistryState, v: &SchemaValue) -> Result<ParsedSchema, ApiError> {
    let refs = reference_texts(state, &v.references)?;
    schema::parse(v.schema_type, &v.schema, &refs, false)
        .map(|s| s.parsed)
        .map_err(|e| {
            ApiError::store(format!(
                "stored schema id {} does not parse: {}",
                v.id, e.message
            ))
        })
}

/// The subject's mode, else the global one, else `READWRITE`.
pub fn effective_mode<'s>(state: &'s RegistryState, subject: &str) -> &'s str {
    state
        .mode(Some(subject))
        .or_else(|| state.mode(None))
        .unwrap_or("READWRITE")
}

/// The subject's level, else the global one, else `default`.
pub fn effective_level(state: &RegistryState, subject: Option<&str>, default: Level) -> Level {
    subject
        .and_then(|s| state.config(Some(s)))
        .or_else(|| state.config(None))
        .and_then(|l| l.parse().ok())
        .unwrap_or(default)
}

/// Refuses changes to a subject in a read-only mode.
///
/// # Errors
/// 42205.
pub fn check_writable(state: &RegistryState, subject: &str) -> Result<(), ApiError> {
    match effective_mode(state, subject) {
        "READONLY" | "READONLY_OVERRIDE" => Err(ApiError::not_permitted(format!(
            "Subject {subject} is in read-only mode"
        ))),
        _ => Ok(()),
    }
}

/// `POST /subjects/{subject}/versions?normalize=`: `{"id": N}`.
pub async fn register(
    State(app): State<Shared>,
    Path(subject): Path<String>,
    Query(q): Params,
    Body(request): Body<SchemaRequest>,
) -> Result<Response, ApiError> {
    let _writer = app.store.lock_writes().await;
    let value = {
        let state = app.store.read();
        check_writable(&state, &subject)?;
        let import = effective_mode(&state, &subject) == "IMPORT";
        if request.id.is_some() && !import {
            return Err(ApiError::not_permitted(format!(
                "an explicit schema id can only be given in IMPORT mode; subject {subject} is in {} mode",
                effective_mode(&state, &subject)
            )));
        }
        let submission = submission_of(&state, &request, flag(q.get("normalize")))?;
        let live = state.versions(&subject, false);
        let same = |v: &&&SchemaValue| {
            v.schema_type == submission.schema_type
                && v.schema == submission.text
                && v.references == request.references
        };
        if let Some(existing) = live.iter().find(same) {
            if request.id.is_none_or(|id| id == existing.id) {
                return Ok(json(
                    json_value!({"id": existing.id, "version": existing.version}),
                ));
            }
        }
        if !import {
            let level = effective_level(&state, Some(&subject), app.default_level);
            let existing = live
                .iter()
                .map(|v| parsed_version(&state, v).map(|p| (v.version, p)))
                .collect::<Result<Vec<_>, _>>()?;
            let messages = compat::check(level, &submission.parsed, &existing);
            if !messages.is_empty() {
                return Err(ApiError::new(
                    409,
                    format!(
                        "Schema being registered is incompatible with an earlier schema for subject \"{subject}\", details: [{}]",
                        messages.join(", ")
                    ),
                ));
            }
        }
        let known = state.id_of(
            submission.schema_type,
            &submission.text,
            &request.references,
        );
        let id = match request.id {
            Some(id) => {
                if let Some(other) = state.by_id(id) {
                    if Some(id) != known || other.schema != submission.text {
                        return Err(ApiError::not_permitted(format!(
                            "Overwrite new schema with id {id} is not permitted: id {id} is another schema"
                        )));
                    }
                }
                id
            }
            None => known.unwrap_or_else(|| state.next_id()),
        };
        let version = match request.version.filter(|_| import) {
            Some(v) if state.version(&subject, v).is_some() => {
                return Err(ApiError::not_permitted(format!(
                    "version {v} of subject {subject} already exists"
                )))
            }
            Some(v) => v,
            None => state.next_version(&subject),
        };
        SchemaValue {
            subject: subject.clone(),
            version,
            id,
            schema_type: submission.schema_type,
            references: request.references,
            metadata: request.metadata,
            rule_set: request.rule_set,
            schema: submission.text,
            deleted: false,
        }
    };
    let key = RecordKey::Schema {
        subject: subject.clone(),
        version: value.version,
    };
    let bytes = serde_json::to_vec(&value).map_err(ApiError::store)?;
    app.store.write(vec![(key, Some(bytes))]).await?;
    Ok(json(
        json_value!({"id": value.id, "version": value.version}),
    ))
}
