//! The case API: file a case, read one, list them.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};

use super::list::{cursor_of, ListParams};
use super::submission::ApiSubmission;
use super::{case_or_404, AppError, AppState};
use crate::auth::Caller;
use crate::cases::similar::{self, SimilarQuery};
use crate::cases::{store, Case, Filed, NewCase, VerifyCheck, ALARM_MAX, SHORT_MAX};
use crate::time::Timestamp;

#[derive(Serialize)]
struct PhotoJson {
    id: String,
    url: String,
    thumbnail_url: String,
    width: u32,
    height: u32,
}

/// A case as the API shows it: the fields under their table names, plus its links and state.
#[derive(Serialize)]
pub struct CaseJson<'a> {
    id: String,
    url: String,
    created_at: Timestamp,
    #[serde(flatten)]
    fields: &'a NewCase,
    photos: Vec<PhotoJson>,
    /// The guide's Verify steps as ticked when filed; empty when no checklist was offered.
    verify_checks: &'a [VerifyCheck],
    closed_at: Option<Timestamp>,
    updated_at: Option<Timestamp>,
}

pub fn case_json(c: &Case) -> CaseJson<'_> {
    CaseJson {
        id: c.id.to_string(),
        url: c.url(),
        created_at: c.created_at,
        fields: &c.fields,
        verify_checks: &c.checks,
        closed_at: c.record.closed_at,
        updated_at: c.record.updated_at,
        photos: c
            .photos
            .iter()
            .map(|p| PhotoJson {
                url: format!("/photos/{}.jpg", p.id),
                thumbnail_url: format!("/photos/{}.thumb.jpg", p.id),
                id: p.id.clone(),
                width: p.width,
                height: p.height,
            })
            .collect(),
    }
}

/// 201 with the new case and its `Location`; 200 with the same case for a repeated key.
fn filed_json(filed: &Filed) -> Response {
    let status = if filed.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut res = (status, Json(case_json(&filed.case))).into_response();
    if let Ok(v) = HeaderValue::from_str(&filed.case.url()) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}

pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiSubmission(sub): ApiSubmission,
) -> Result<Response, AppError> {
    let filed = state.cases.submit(sub, &caller).await?;
    Ok(filed_json(&filed))
}

pub async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let case = case_or_404(&state, &id).await?;
    Ok(Json(case_json(&case)).into_response())
}

pub async fn list(
    State(state): State<AppState>,
    ListParams(q): ListParams,
) -> Result<Response, AppError> {
    let filter = q.filter(&state.library())?;
    let limit = q.limit();
    let cases = store::list(&state.db, &filter, limit + 1).await?;
    let next = (cases.len() > limit).then(|| cursor_of(&cases[limit - 1]));
    let shown: Vec<CaseJson> = cases.iter().take(limit).map(case_json).collect();
    Ok(Json(serde_json::json!({ "cases": shown, "next_cursor": next })).into_response())
}

/// What the case form asks while the tech types the alarm.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SimilarParams {
    alarm: String,
    cell: String,
    exclude: Option<String>,
}

/// Up to three earlier cases with the same alarm, the given cell's first.
pub async fn similar(
    State(state): State<AppState>,
    Query(p): Query<SimilarParams>,
) -> Result<Response, AppError> {
    if p.alarm.chars().count() > ALARM_MAX || p.cell.chars().count() > SHORT_MAX {
        return Err(AppError::BadRequest(format!(
            "The alarm may be up to {ALARM_MAX} characters and the cell up to {SHORT_MAX}."
        )));
    }
    let query = SimilarQuery {
        alarm: &p.alarm,
        cell: &p.cell,
        exclude: p.exclude.as_deref(),
    };
    let cases = similar::find(&state.db, &query).await?;
    Ok(Json(serde_json::json!({
        "alarm_key": similar::alarm_key(&p.alarm),
        "cases": cases,
    }))
    .into_response())
}
