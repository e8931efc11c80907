//! `POST /compatibility/subjects/{subject}/versions[/{version}]?verbose=`:
//! would this schema be accepted? `{"is_compatible": bool}`, plus
//! `"messages"` with `verbose=true`, each naming the field path, the rule
//! and the fix.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde_json::json as json_value;

use super::register::{effective_level, parsed_version, submission_of, SchemaRequest};
use super::subjects::{find_version, Params};
use super::{flag, json, parse_version, Body, Shared};
use crate::compat;
use crate::error::ApiError;

fn answer(messages: Vec<String>, verbose: bool) -> Response {
    if verbose {
        json(json_value!({"is_compatible": messages.is_empty(), "messages": messages}))
    } else {
        json(json_value!({"is_compatible": messages.is_empty()}))
    }
}

/// Against one version (`latest` included) under the subject's level;
/// against nothing (compatible) when `latest` of a subject with no versions.
pub async fn against_version(
    State(app): State<Shared>,
    Path((subject, version)): Path<(String, String)>,
    Query(q): Params,
    Body(request): Body<SchemaRequest>,
) -> Result<Response, ApiError> {
    let version = parse_version(&version)?;
    let state = app.store.read();
    let new = submission_of(&state, &request, flag(q.get("normalize")))?;
    let level = effective_level(&state, Some(&subject), app.default_level);
    if version.is_none() && state.versions(&subject, false).is_empty() {
        return Ok(answer(vec![], flag(q.get("verbose"))));
    }
    let old = find_version(&state, &subject, version, false)?;
    let existing = vec![(old.version, parsed_version(&state, old)?)];
    // One version given: the level's direction, not its transitivity.
    Ok(answer(
        compat::check(level, &new.parsed, &existing),
        flag(q.get("verbose")),
    ))
}

/// Against every live version, under the subject's level (transitive or not).
pub async fn against_all(
    State(app): State<Shared>,
    Path(subject): Path<String>,
    Query(q): Params,
    Body(request): Body<SchemaRequest>,
) -> Result<Response, ApiError> {
    let state = app.store.read();
    let new = submission_of(&state, &request, flag(q.get("normalize")))?;
    let level = effective_level(&state, Some(&subject), app.default_level);
    let existing = state
        .versions(&subject, false)
        .into_iter()
        .map(|v| parsed_version(&state, v).map(|p| (v.version, p)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(answer(
        compat::check(level, &new.parsed, &existing),
        flag(q.get("verbose")),
    ))
}
