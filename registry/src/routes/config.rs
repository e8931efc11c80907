//! `/config` (compatibility levels) and `/mode` (READWRITE, READONLY,
//! READONLY_OVERRIDE, IMPORT), global and per subject.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde_json::{json as json_value, Value};

use super::register::{effective_level, effective_mode};
use super::subjects::Params;
use super::{flag, json, Body, Shared};
use crate::compat::Level;
use crate::error::ApiError;
use crate::store::records::{ConfigValue, ModeValue, RecordKey};

const MODES: [&str; 4] = ["READWRITE", "READONLY", "READONLY_OVERRIDE", "IMPORT"];

fn level_of(body: &Value) -> Result<Level, ApiError> {
    let text = body
        .get("compatibility")
        .or_else(|| body.get("compatibilityLevel"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    text.parse().map_err(|()| {
        ApiError::new(
            42203,
            format!(
                "Invalid compatibility level '{text}'. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive"
            ),
        )
    })
}

fn mode_of(body: &Value) -> Result<&'static str, ApiError> {
    let text = body
        .get("mode")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_ascii_uppercase();
    MODES.into_iter().find(|m| *m == text).ok_or_else(|| {
        ApiError::new(
            42204,
            format!("Invalid mode '{text}'. Valid values are READWRITE, READONLY, READONLY_OVERRIDE, IMPORT"),
        )
    })
}

async fn write(app: &Shared, key: RecordKey, value: Option<Vec<u8>>) -> Result<(), ApiError> {
    app.store.write(vec![(key, value)]).await
}

fn config_bytes(level: Level) -> Option<Vec<u8>> {
    serde_json::to_vec(&ConfigValue {
        compatibility_level: level.to_string(),
    })
    .ok()
}

/// `GET /config`
pub async fn get_global(State(app): State<Shared>) -> Response {
    let level = effective_level(&app.store.read(), None, app.default_level);
    json(json_value!({"compatibilityLevel": level.to_string()}))
}

/// `PUT /config`: `{"compatibility": "FULL"}`.
pub async fn put_global(
    State(app): State<Shared>,
    Body(body): Body<Value>,
) -> Result<Response, ApiError> {
    let level = level_of(&body)?;
    write(
        &app,
        RecordKey::Config { subject: None },
        config_bytes(level),
    )
    .await?;
    Ok(json(json_value!({"compatibility": level.to_string()})))
}

/// `DELETE /config`: back to the default; answers the level it had.
pub async fn delete_global(State(app): State<Shared>) -> Result<Response, ApiError> {
    let before = effective_level(&app.store.read(), None, app.default_level);
    write(&app, RecordKey::Config { subject: None }, None).await?;
    Ok(json(
        json_value!({"compatibilityLevel": before.to_string()}),
    ))
}

/// `GET /config/{subject}?defaultToGlobal=`
pub async fn get_subject(
    State(app): State<Shared>,
    Path(subject): Path<String>,
    Query(q): Params,
) -> Result<Response, ApiError> {
    let state = app.store.read();
    let level = match state
        .config(Some(&subject))
        .and_then(|l| l.parse::<Level>().ok())
    {
        Some(level) => level,
        None if flag(q.get("defaultToGlobal")) => effective_level(&state, None, app.default_level),
        None => {
            return Err(ApiError::new(
                40408,
                format!("Subject '{subject}' does not have subject-level compatibility configured"),
            ))
        }
    };
    Ok(json(json_value!({"compatibilityLevel": level.to_string()})))
}

/// `PUT /config/{subject}`
pub async fn put_subject(
    State(app): State<Shared>,
    Path(subject): Path<String>,
    Body(body): Body<Value>,
) -> Result<Response, ApiError> {
    let level = level_of(&body)?;
    write(
        &app,
        RecordKey::Config {
            subject: Some(subject),
        },
        config_bytes(level),
    )
    .await?;
    Ok(json(json_value!({"compatibility": level.to_string()})))
}

/// `DELETE /config/{subject}`: the subject follows the global level again.
pub async fn delete_subject(
    State(app): State<Shared>,
    Path(subject): Path<String>,
) -> Result<Response, ApiError> {
    let before = {
        let state = app.store.read();
        if !state.subject_exists(&subject) && state.config(Some(&subject)).is_none() {
            return Err(ApiError::subject_not_found(&subject));
        }
        effective_level(&state, Some(&subject), app.default_level)
    };
    write(
        &app,
        RecordKey::Config {
            subject: Some(subject),
        },
        None,
    )
    .await?;
    Ok(json(
        json_value!({"compatibilityLevel": before.to_string()}),
    ))
}

fn mode_bytes(mode: &str) -> Option<Vec<u8>> {
    serde_json::to_vec(&ModeValue {
        mode: mode.to_owned(),
    })
    .ok()
}

/// `GET /mode`
pub async fn get_global_mode(State(app): State<Shared>) -> Response {
    let mode = app
        .store
        .read()
        .mode(None)
        .unwrap_or("READWRITE")
        .to_owned();
    json(json_value!({"mode": mode}))
}

/// `PUT /mode?force=`: IMPORT needs an empty registry unless forced.
pub async fn put_global_mode(
    State(app): State<Shared>,
    Query(q): Params,
    Body(body): Body<Value>,
) -> Result<Response, ApiError> {
    let mode = mode_of(&body)?;
    if mode == "IMPORT" && !flag(q.get("force")) && !app.store.read().subjects(true).is_empty() {
        return Err(ApiError::not_permitted(
            "Cannot import since found existing subjects; use force=true to import anyway",
        ));
    }
    write(&app, RecordKey::Mode { subject: None }, mode_bytes(mode)).await?;
    Ok(json(json_value!({"mode": mode})))
}

/// `GET /mode/{subject}?defaultToGlobal=`
pub async fn get_subject_mode(
    State(app): State<Shared>,
    Path(subject): Path<String>,
    Query(q): Params,
) -> Result<Response, ApiError> {
    let state = app.store.read();
    let mode = match state.mode(Some(&subject)) {
        Some(mode) => mode,
        None if flag(q.get("defaultToGlobal")) => effective_mode(&state, &subject),
        None => {
            return Err(ApiError::new(
                40409,
                format!("Subject '{subject}' does not have subject-level mode configured"),
            ))
        }
    };
    Ok(json(json_value!({"mode": mode})))
}

/// `PUT /mode/{subject}?force=`
pub async fn put_subject_mode(
    State(app): State<Shared>,
    Path(subject): Path<String>,
    Query(q): Params,
    Body(body): Body<Value>,
) -> Result<Response, ApiError> {
    let mode = mode_of(&body)?;
    if mode == "IMPORT" && !flag(q.get("force")) && app.store.read().subject_exists(&subject) {
        return Err(ApiError::not_permitted(format!(
            "Cannot import since subject {subject} has versions; use force=true to import anyway"
        )));
    }
    write(
        &app,
        RecordKey::Mode {
            subject: Some(subject),
        },
        mode_bytes(mode),
    )
    .await?;
    Ok(json(json_value!({"mode": mode})))
}

/// `DELETE /mode/{subject}`: the subject follows the global mode again.
pub async fn delete_subject_mode(
    State(app): State<Shared>,
    Path(subject): Path<String>,
) -> Result<Response, ApiError> {
    let before = {
        let state = app.store.read();
        match state.mode(Some(&subject)) {
            Some(mode) => mode.to_owned(),
            None => return Err(ApiError::subject_not_found(&subject)),
        }
    };
    write(
        &app,
        RecordKey::Mode {
            subject: Some(subject),
        },
        None,
    )
    .await?;
    Ok(json(json_value!({"mode": before})))
}
