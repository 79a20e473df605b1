//! `/assets/{asset}` (an asset's cases over time) and `/assets/{asset}/diff` (what changed
//! between two of them), with their JSON twins.

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::{AppError, AppState};
use crate::cases::assets::{self, Basis, Diff, FieldDiff, History, COMPARED};
use crate::cases::{Case, NewCase};
use crate::time::Timestamp;
use crate::web::page;

/// `from` and `to` as sent; empty is "choose for me".
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DiffQuery {
    pub from: String,
    pub to: String,
}

/// `Query<DiffQuery>` whose rejection is a readable 400.
pub struct DiffParams(pub DiffQuery);

impl<S: Send + Sync> FromRequestParts<S> for DiffParams {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, AppError> {
        Query::<DiffQuery>::from_request_parts(parts, state)
            .await
            .map(|Query(q)| DiffParams(q))
            .map_err(|e: QueryRejection| {
                AppError::BadRequest(format!(
                    "The parameters could not be read: {}",
                    e.body_text()
                ))
            })
    }
}

/// The `{asset}` path segment, percent-decoded; one that does not decode to text is a 400.
pub struct AssetName(pub String);

impl<S: Send + Sync> FromRequestParts<S> for AssetName {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, AppError> {
        Path::<String>::from_request_parts(parts, state)
            .await
            .map(|Path(a)| AssetName(a))
            .map_err(|e| {
                AppError::BadRequest(format!(
                    "The asset name could not be read: {}",
                    e.body_text()
                ))
            })
    }
}

fn given(v: &str) -> Option<&str> {
    Some(v.trim()).filter(|v| !v.is_empty())
}

/// The compared fields that differ between an older and a newer case, by label.
fn changed_labels(older: &NewCase, newer: &NewCase) -> Vec<&'static str> {
    COMPARED
        .iter()
        .filter(|(f, _, _)| older.text(f) != newer.text(f))
        .map(|(_, label, _)| *label)
        .collect()
}

/// The first line of a multi-line field, and how many lines it has.
fn summary(text: &str) -> String {
    let n = text.lines().count();
    let first: String = text.lines().next().unwrap_or("").chars().take(60).collect();
    match n {
        0 => String::new(),
        1 => first,
        n => format!("{first} … ({n} lines)"),
    }
}

/// One row of the history table.
pub struct HistoryRow {
    pub url: String,
    pub created_at: Timestamp,
    pub outcome: &'static str,
    pub outcome_id: &'static str,
    pub alarm: String,
    pub place: String,
    pub firmware: String,
    pub software: String,
    pub parameters: String,
    /// What differs from the case before it.
    pub changed: Vec<&'static str>,
    /// The diff against the case before it.
    pub diff_href: Option<String>,
}

fn rows(h: &History) -> Vec<HistoryRow> {
    h.cases
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let older = h.cases.get(i + 1);
            HistoryRow {
                url: c.url(),
                created_at: c.created_at,
                outcome: c.fields.outcome.label(),
                outcome_id: c.fields.outcome.as_str(),
                alarm: c.alarm_line(),
                place: [&c.fields.line, &c.fields.cell]
                    .into_iter()
                    .filter(|s| !s.is_empty())
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join(" / "),
                firmware: c.fields.firmware_revision.clone(),
                software: c.fields.software_version.clone(),
                parameters: summary(&c.fields.parameter_set),
                changed: older.map_or_else(Vec::new, |o| changed_labels(&o.fields, &c.fields)),
                diff_href: older.map(|o| assets::diff_url(&h.asset, &o.id, &c.id)),
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "cases/asset.html")]
struct HistoryPage {
    asset: String,
    total: i64,
    rows: Vec<HistoryRow>,
    diff_href: String,
}

pub async fn history_page(
    State(state): State<AppState>,
    AssetName(asset): AssetName,
) -> Result<Response, AppError> {
    let h = assets::history(&state.db, &asset).await?;
    page(&HistoryPage {
        diff_href: format!("{}/diff", assets::url(&h.asset)),
        rows: rows(&h),
        total: h.total,
        asset: h.asset,
    })
}

#[derive(Serialize)]
struct HistoryCaseJson<'a> {
    id: String,
    url: String,
    created_at: Timestamp,
    outcome: crate::cases::Outcome,
    verbatim_alarm: &'a str,
    site: &'a str,
    line: &'a str,
    cell: &'a str,
    firmware_revision: &'a str,
    software_version: &'a str,
    parameter_set: &'a str,
    io_mapping: &'a str,
    fix_applied: &'a str,
    /// Compared fields that differ from the case before this one.
    changed_since_previous: Vec<&'static str>,
    diff_previous_url: Option<String>,
}

pub async fn api_history(
    State(state): State<AppState>,
    AssetName(asset): AssetName,
) -> Result<Response, AppError> {
    let h = assets::history(&state.db, &asset).await?;
    let cases: Vec<HistoryCaseJson> = h
        .cases
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let older = h.cases.get(i + 1);
            let f = &c.fields;
            HistoryCaseJson {
                id: c.id.to_string(),
                url: c.url(),
                created_at: c.created_at,
                outcome: f.outcome,
                verbatim_alarm: &f.verbatim_alarm,
                site: &f.site,
                line: &f.line,
                cell: &f.cell,
                firmware_revision: &f.firmware_revision,
                software_version: &f.software_version,
                parameter_set: &f.parameter_set,
                io_mapping: &f.io_mapping,
                fix_applied: &f.fix_applied,
                changed_since_previous: older.map_or_else(Vec::new, |o| {
                    COMPARED
                        .iter()
                        .filter(|(name, _, _)| o.fields.text(name) != f.text(name))
                        .map(|(name, _, _)| *name)
                        .collect()
                }),
                diff_previous_url: older.map(|o| assets::diff_url(&h.asset, &o.id, &c.id)),
            }
        })
        .collect();
    Ok(Json(serde_json::json!({
        "asset": h.asset,
        "url": assets::url(&h.asset),
        "total": h.total,
        "diff_url": format!("{}/diff", assets::url(&h.asset)),
        "cases": cases,
    }))
    .into_response())
}

/// A compared case as the diff page heads it.
pub struct Side {
    pub url: String,
    pub id: String,
    pub created_at: Timestamp,
    pub outcome: &'static str,
    pub outcome_id: &'static str,
    pub alarm: String,
}

fn side(c: &Case) -> Side {
    Side {
        url: c.url(),
        id: c.id.to_string(),
        created_at: c.created_at,
        outcome: c.fields.outcome.label(),
        outcome_id: c.fields.outcome.as_str(),
        alarm: c.alarm_line(),
    }
}

#[derive(Template)]
#[template(path = "cases/asset_diff.html")]
struct DiffPage {
    asset: String,
    history_href: String,
    from: Option<Side>,
    to: Side,
    basis: Basis,
    changed: Vec<&'static str>,
    fields: Vec<FieldDiff>,
    /// Every case of the asset for the pickers: (id, label).
    choices: Vec<(String, String)>,
    action: String,
}

pub async fn diff_page(
    State(state): State<AppState>,
    AssetName(asset): AssetName,
    DiffParams(q): DiffParams,
) -> Result<Response, AppError> {
    let d = assets::diff(&state.db, &asset, given(&q.from), given(&q.to)).await?;
    let h = assets::history(&state.db, &d.asset).await?;
    page(&DiffPage {
        history_href: assets::url(&d.asset),
        action: format!("{}/diff", assets::url(&d.asset)),
        from: d.from.as_ref().map(side),
        to: side(&d.to),
        basis: d.basis,
        changed: d.changed().map(|f| f.label).collect(),
        choices: h
            .cases
            .iter()
            .map(|c| {
                (
                    c.id.to_string(),
                    format!("{} · {}", c.created_at.human(), c.fields.outcome.label()),
                )
            })
            .collect(),
        fields: d.fields,
        asset: d.asset,
    })
}

#[derive(Serialize)]
struct SideJson<'a> {
    id: String,
    url: String,
    created_at: Timestamp,
    outcome: crate::cases::Outcome,
    verbatim_alarm: &'a str,
}

fn side_json(c: &Case) -> SideJson<'_> {
    SideJson {
        id: c.id.to_string(),
        url: c.url(),
        created_at: c.created_at,
        outcome: c.fields.outcome,
        verbatim_alarm: &c.fields.verbatim_alarm,
    }
}

fn diff_json(d: &Diff) -> serde_json::Value {
    serde_json::json!({
        "asset": d.asset,
        "history_url": assets::url(&d.asset),
        "basis": d.basis,
        "from": d.from.as_ref().map(side_json),
        "to": side_json(&d.to),
        "changed": d.changed().map(|f| f.field).collect::<Vec<_>>(),
        "fields": d.fields,
    })
}

pub async fn api_diff(
    State(state): State<AppState>,
    AssetName(asset): AssetName,
    DiffParams(q): DiffParams,
) -> Result<Response, AppError> {
    let d = assets::diff(&state.db, &asset, given(&q.from), given(&q.to)).await?;
    Ok(Json(diff_json(&d)).into_response())
}
