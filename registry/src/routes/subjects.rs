//! `/subjects`: subject and version listings, single versions, lookups by
//! schema, `referencedby`, and soft and permanent deletes.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Serialize;
use serde_json::Value;

use super::register::{check_writable, submission_of, SchemaRequest};
use super::{flag, json, parse_version, Body, Shared};
use crate::error::ApiError;
use crate::store::records::{DeleteSubjectValue, RecordKey, SchemaValue};
use crate::store::state::{Reference, SchemaType, State as RegistryState};

/// Query parameters of these routes.
pub type Params = Query<HashMap<String, String>>;

/// One version as the API answers it (Confluent's `Schema` JSON).
#[derive(Debug, Serialize)]
pub struct VersionAnswer<'a> {
    subject: &'a str,
    version: i32,
    id: i32,
    #[serde(rename = "schemaType", skip_serializing_if = "SchemaType::is_avro")]
    schema_type: SchemaType,
    #[serde(skip_serializing_if = "<[Reference]>::is_empty")]
    references: &'a [Reference],
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<&'a Value>,
    #[serde(rename = "ruleSet", skip_serializing_if = "Option::is_none")]
    rule_set: Option<&'a Value>,
    schema: &'a str,
}

impl<'a> From<&'a SchemaValue> for VersionAnswer<'a> {
    fn from(v: &'a SchemaValue) -> Self {
        VersionAnswer {
            subject: &v.subject,
            version: v.version,
            id: v.id,
            schema_type: v.schema_type,
            references: &v.references,
            metadata: v.metadata.as_ref(),
            rule_set: v.rule_set.as_ref(),
            schema: &v.schema,
        }
    }
}

/// `GET /subjects?deleted=&deletedOnly=&subjectPrefix=`
pub async fn list(State(app): State<Shared>, Query(q): Params) -> Response {
    let deleted_only = flag(q.get("deletedOnly"));
    let deleted = flag(q.get("deleted")) || deleted_only;
    let prefix = q
        .get("subjectPrefix")
        .map(String::as_str)
        .filter(|p| *p != ":*:");
    let state = app.store.read();
    let live = state.subjects(false);
    let subjects: Vec<String> = state
        .subjects(deleted)
        .into_iter()
        .filter(|s| prefix.is_none_or(|p| s.starts_with(p)))
        .filter(|s| !deleted_only || !live.contains(s))
        .collect();
    json(subjects)
}

/// Finds one version of a subject as the GET routes do: `None` is latest;
/// soft-deleted versions only with `deleted`.
///
/// # Errors
/// 40401 if the subject has no (visible) version, 40402 if this one is missing.
pub fn find_version<'s>(
    state: &'s RegistryState,
    subject: &str,
    version: Option<i32>,
    deleted: bool,
) -> Result<&'s SchemaValue, ApiError> {
    let versions = state.versions(subject, deleted);
    if versions.is_empty() {
        return Err(ApiError::subject_not_found(subject));
    }
    match version {
        None => versions
            .last()
            .copied()
            .ok_or_else(|| ApiError::subject_not_found(subject)),
        Some(v) => versions
            .into_iter()
            .find(|s| s.version == v)
            .ok_or_else(|| ApiError::version_not_found(subject, v)),
    }
}

/// `GET /subjects/{subject}/versions`
pub async fn versions(
    State(app): State<Shared>,
    Path(subject): Path<String>,
    Query(q): Params,
) -> Result<Response, ApiError> {
    let state = app.store.read();
    let versions: Vec<i32> = state
        .versions(&subject, flag(q.get("deleted")))
        .iter()
        .map(|v| v.version)
        .collect();
    if versions.is_empty() {
        return Err(ApiError::subject_not_found(&subject));
    }
    Ok(json(versions))
}

/// `GET /subjects/{subject}/versions/{version}`
pub async fn version(
    State(app): State<Shared>,
    Path((subject, version)): Path<(String, String)>,
    Query(q): Params,
) -> Result<Response, ApiError> {
    let version = parse_version(&version)?;
    let state = app.store.read();
    let found = find_version(&state, &subject, version, flag(q.get("deleted")))?;
    Ok(json(VersionAnswer::from(found)))
}

/// `GET /subjects/{subject}/versions/{version}/schema`: the schema itself.
pub async fn version_schema(
    State(app): State<Shared>,
    Path((subject, version)): Path<(String, String)>,
    Query(q): Params,
) -> Result<Response, ApiError> {
    let version = parse_version(&version)?;
    let state = app.store.read();
    let found = find_version(&state, &subject, version, flag(q.get("deleted")))?;
    Ok(raw_schema(&found.schema))
}

/// The schema text as a JSON answer (it is JSON for Avro and JSON Schema).
pub fn raw_schema(text: &str) -> Response {
    match serde_json::from_str::<Value>(text) {
        Ok(value) => json(value),
        Err(_) => json(text),
    }
}

/// `GET /subjects/{subject}/versions/{version}/referencedby`
pub async fn referenced_by(
    State(app): State<Shared>,
    Path((subject, version)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let version = parse_version(&version)?;
    let state = app.store.read();
    let found = find_version(&state, &subject, version, false)?;
    Ok(json(state.referenced_by(&subject, found.version)))
}

/// `POST /subjects/{subject}?normalize=&deleted=`: is this schema
/// registered under the subject, and as which version?
pub async fn lookup(
    State(app): State<Shared>,
    Path(subject): Path<String>,
    Query(q): Params,
    Body(request): Body<SchemaRequest>,
) -> Result<Response, ApiError> {
    let state = app.store.read();
    let submission = submission_of(&state, &request, flag(q.get("normalize")))?;
    let versions = state.versions(&subject, flag(q.get("deleted")));
    if versions.is_empty() {
        return Err(ApiError::subject_not_found(&subject));
    }
    versions
        .into_iter()
        .rev()
        .find(|v| {
            v.schema_type == submission.schema_type
                && v.schema == submission.text
                && v.references == request.references
        })
        .map(|v| json(VersionAnswer::from(v)))
        .ok_or_else(ApiError::schema_not_found)
}

fn referenced_error(subject: &str, version: i32, ids: &[i32]) -> ApiError {
    ApiError::new(
        42206,
        format!(
            "One or more references exist to the schema {{subject={subject},version={version}}}: schema ids {ids:?}; delete those first"
        ),
    )
}

fn tombstone_value(v: &SchemaValue) -> Option<Vec<u8>> {
    let mut deleted = v.clone();
    deleted.deleted = true;
    serde_json::to_vec(&deleted).ok()
}

/// `DELETE /subjects/{subject}?permanent=`: the versions deleted.
pub async fn delete_subject(
    State(app): State<Shared>,
    Path(subject): Path<String>,
    Query(q): Params,
) -> Result<Response, ApiError> {
    let permanent = flag(q.get("permanent"));
    let _writer = app.store.lock_writes().await;
    let (records, versions) = {
        let state = app.store.read();
        check_writable(&state, &subject)?;
        let live = state.versions(&subject, false);
        let all = state.versions(&subject, true);
        if all.is_empty() {
            return Err(ApiError::subject_not_found(&subject));
        }
        let mut records = Vec::new();
        if permanent {
            if !live.is_empty() {
                return Err(ApiError::new(
                    40405,
                    format!("Subject '{subject}' was not deleted first before being permanently deleted"),
                ));
            }
            for v in &all {
                let key = RecordKey::Schema {
                    subject: subject.clone(),
                    version: v.version,
                };
                records.push((key, None));
            }
            if state.config(Some(&subject)).is_some() {
                records.push((
                    RecordKey::Config {
                        subject: Some(subject.clone()),
                    },
                    None,
                ));
            }
            if state.mode(Some(&subject)).is_some() {
                records.push((
                    RecordKey::Mode {
                        subject: Some(subject.clone()),
                    },
                    None,
                ));
            }
            (records, all.iter().map(|v| v.version).collect::<Vec<_>>())
        } else {
            let Some(latest) = live.last() else {
                return Err(ApiError::new(
                    40404,
                    format!("Subject '{subject}' was soft deleted. Set permanent=true to delete permanently"),
                ));
            };
            for v in &live {
                let ids = state.referenced_by(&subject, v.version);
                if !ids.is_empty() {
                    return Err(referenced_error(&subject, v.version, &ids));
                }
                let key = RecordKey::Schema {
                    subject: subject.clone(),
                    version: v.version,
                };
                records.push((key, tombstone_value(v)));
            }
            let value = DeleteSubjectValue {
                subject: subject.clone(),
                version: latest.version,
            };
            records.push((
                RecordKey::DeleteSubject {
                    subject: subject.clone(),
                },
                serde_json::to_vec(&value).ok(),
            ));
            (records, live.iter().map(|v| v.version).collect())
        }
    };
    app.store.write(records).await?;
    Ok(json(versions))
}

/// `DELETE /subjects/{subject}/versions/{version}?permanent=`: the version deleted.
pub async fn delete_version(
    State(app): State<Shared>,
    Path((subject, version)): Path<(String, String)>,
    Query(q): Params,
) -> Result<Response, ApiError> {
    let permanent = flag(q.get("permanent"));
    let version = parse_version(&version)?;
    let _writer = app.store.lock_writes().await;
    let (record, number) = {
        let state = app.store.read();
        check_writable(&state, &subject)?;
        // Soft-deleted versions are found too, to tell "already soft-deleted" (40406) from missing.
        let found = find_version(&state, &subject, version, permanent || version.is_some())?;
        if !permanent && found.deleted {
            return Err(ApiError::new(
                40406,
                format!(
                    "Subject '{subject}' Version {} was soft deleted. Set permanent=true to delete permanently",
                    found.version
                ),
            ));
        }
        let key = RecordKey::Schema {
            subject: subject.clone(),
            version: found.version,
        };
        if permanent {
            if !found.deleted {
                return Err(ApiError::new(
                    40407,
                    format!(
                        "Subject '{subject}' Version {} was not deleted first before being permanently deleted",
                        found.version
                    ),
                ));
            }
            ((key, None), found.version)
        } else {
            let ids = state.referenced_by(&subject, found.version);
            if !ids.is_empty() {
                return Err(referenced_error(&subject, found.version, &ids));
            }
            ((key, tombstone_value(found)), found.version)
        }
    };
    app.store.write(vec![record]).await?;
    Ok(json(number))
}
