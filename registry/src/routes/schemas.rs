//! `/schemas`: schemas by global id, the supported types; `/contexts`.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Serialize;
use serde_json::Value;

use super::subjects::{raw_schema, Params};
use super::{flag, json, Shared};
use crate::error::ApiError;
use crate::store::records::SchemaValue;
use crate::store::state::{Reference, SchemaType, State as RegistryState};

fn parse_id(text: &str) -> Result<i32, ApiError> {
    text.parse::<i32>()
        .map_err(|_| ApiError::new(40403, format!("Schema {text} not found")))
}

/// The schema with `id`: preferring `subject`'s version when one is given,
/// live versions before soft-deleted ones.
fn find<'s>(
    state: &'s RegistryState,
    id: i32,
    q: &HashMap<String, String>,
) -> Result<&'s SchemaValue, ApiError> {
    let wanted = q.get("subject");
    let mut all: Vec<&SchemaValue> = state
        .all()
        .filter(|v| v.id == id)
        .filter(|v| wanted.is_none_or(|s| &v.subject == s))
        .collect();
    all.sort_by_key(|v| v.deleted);
    all.first()
        .copied()
        .ok_or_else(|| ApiError::new(40403, format!("Schema {id} not found")))
}

#[derive(Serialize)]
struct IdAnswer<'a> {
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

/// `GET /schemas/ids/{id}?subject=`
pub async fn by_id(
    State(app): State<Shared>,
    Path(id): Path<String>,
    Query(q): Params,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let state = app.store.read();
    let v = find(&state, id, &q)?;
    Ok(json(IdAnswer {
        schema_type: v.schema_type,
        references: &v.references,
        metadata: v.metadata.as_ref(),
        rule_set: v.rule_set.as_ref(),
        schema: &v.schema,
    }))
}

/// `GET /schemas/ids/{id}/schema`: the schema itself.
pub async fn schema_text(
    State(app): State<Shared>,
    Path(id): Path<String>,
    Query(q): Params,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let state = app.store.read();
    Ok(raw_schema(&find(&state, id, &q)?.schema))
}

/// `GET /schemas/ids/{id}/versions?deleted=`: `[{"subject": s, "version": v}]`.
pub async fn versions(
    State(app): State<Shared>,
    Path(id): Path<String>,
    Query(q): Params,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let deleted = flag(q.get("deleted"));
    let state = app.store.read();
    find(&state, id, &HashMap::new())?;
    let pairs: Vec<Value> = state
        .all()
        .filter(|v| v.id == id && (deleted || !v.deleted))
        .map(|v| serde_json::json!({"subject": v.subject, "version": v.version}))
        .collect();
    Ok(json(pairs))
}

/// `GET /schemas/ids/{id}/subjects?deleted=`
pub async fn subjects(
    State(app): State<Shared>,
    Path(id): Path<String>,
    Query(q): Params,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let deleted = flag(q.get("deleted"));
    let state = app.store.read();
    find(&state, id, &HashMap::new())?;
    let mut subjects: Vec<&str> = state
        .all()
        .filter(|v| v.id == id && (deleted || !v.deleted))
        .map(|v| v.subject.as_str())
        .collect();
    subjects.dedup();
    Ok(json(subjects))
}

/// `GET /schemas/types`: the types this registry accepts.
pub async fn types() -> Response {
    json(["AVRO", "JSON"])
}

/// `GET /contexts`: only the default context.
pub async fn contexts() -> Response {
    json(["."])
}
