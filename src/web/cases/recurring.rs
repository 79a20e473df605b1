//! `/cases/recurring` and its JSON twin: the faults that keep coming back; and the "Recurs on"
//! lines of a guide page.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequestParts, Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::{AppError, AppState};
use crate::cases::recurring::{self, Group, Window, DAYS_RANGE, MIN_RANGE};
use crate::cases::{assets, Outcome};
use crate::time::Timestamp;
use crate::web::{page, query_string};

/// The parameters as sent; every value is text so a bad one is reported by name.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RecurringQuery {
    pub min: String,
    pub days: String,
    pub guide: String,
}

/// `Query<RecurringQuery>` whose rejection is a readable 400.
pub struct RecurringParams(pub RecurringQuery);

impl<S: Send + Sync> FromRequestParts<S> for RecurringParams {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, AppError> {
        Query::<RecurringQuery>::from_request_parts(parts, state)
            .await
            .map(|Query(q)| RecurringParams(q))
            .map_err(|e: QueryRejection| {
                AppError::BadRequest(format!(
                    "The parameters could not be read: {}",
                    e.body_text()
                ))
            })
    }
}

/// A whole number parameter: empty is the default, out of range is pulled into the range,
/// anything else is a 400 that says what is allowed.
fn number(name: &str, value: &str, default: u32, (lo, hi): (u32, u32)) -> Result<u32, AppError> {
    let v = value.trim();
    if v.is_empty() {
        return Ok(default);
    }
    if let Ok(n) = v.parse::<i64>() {
        return Ok(n.clamp(i64::from(lo), i64::from(hi)) as u32);
    }
    // Too many digits for an i64 is still a number, just far out of range.
    let (sign, digits) = v.strip_prefix('-').map_or(("", v), |d| ("-", d));
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(if sign.is_empty() { hi } else { lo });
    }
    Err(AppError::BadRequest(format!(
        "`{name}` must be a whole number from {lo} to {hi}, not `{}`.",
        v.chars().take(40).collect::<String>()
    )))
}

impl RecurringQuery {
    /// The window these parameters ask for, the guide given by its current slug.
    pub fn window(&self, state: &AppState) -> Result<Window, AppError> {
        let min = number("min", &self.min, recurring::MIN_DEFAULT, MIN_RANGE)?;
        let days = number("days", &self.days, recurring::DAYS_DEFAULT, DAYS_RANGE)?;
        let guide = match self.guide.trim() {
            "" => None,
            g => Some(
                state
                    .library()
                    .find(g)
                    .map(|g| g.slug.clone())
                    .ok_or_else(|| AppError::BadRequest(format!("There is no guide `{g}`.")))?,
            ),
        };
        Ok(Window::clamped(min, days, guide))
    }
}

/// The list's address for a window, with only the parameters that differ from the defaults.
pub fn href(w: &Window) -> String {
    let (min, days) = (w.min.to_string(), w.days.to_string());
    let mut pairs: Vec<(&str, &str)> = Vec::new();
    if let Some(g) = &w.guide {
        pairs.push(("guide", g));
    }
    if w.min != recurring::MIN_DEFAULT {
        pairs.push(("min", &min));
    }
    if w.days != recurring::DAYS_DEFAULT {
        pairs.push(("days", &days));
    }
    format!("/cases/recurring{}", query_string(pairs))
}

/// A group as the page shows it.
pub struct GroupView {
    pub group: Group,
    pub place: String,
    pub asset_href: Option<String>,
    pub guide_title: Option<String>,
    pub guide_url: Option<String>,
    /// Each fix with its outcomes in words ("Fixed 1 · Not fixed 2").
    pub fixes: Vec<(String, usize, String, bool)>,
}

fn view(state: &AppState, g: Group) -> GroupView {
    let library = state.library();
    let guide = g.guide.as_deref().and_then(|s| library.find(s));
    GroupView {
        place: g.place(),
        asset_href: (!g.asset.is_empty()).then(|| assets::url(&g.asset)),
        guide_title: guide.map(|g| g.front.title.clone()),
        guide_url: guide.map(|g| g.url()),
        fixes: g
            .fixes
            .iter()
            .map(|f| {
                let outcomes = f
                    .outcomes
                    .iter()
                    .map(|(o, n)| format!("{} {n}", o.label()))
                    .collect::<Vec<_>>()
                    .join(" · ");
                (f.fix.clone(), f.count, outcomes, f.held)
            })
            .collect(),
        group: g,
    }
}

#[derive(Template)]
#[template(path = "cases/recurring.html")]
struct RecurringPage {
    groups: Vec<GroupView>,
    window: Window,
    guide_title: Option<String>,
    min_range: (u32, u32),
    days_range: (u32, u32),
}

pub async fn page_of_groups(
    State(state): State<AppState>,
    RecurringParams(q): RecurringParams,
) -> Result<Response, AppError> {
    let library = state.library();
    let window = q.window(&state)?;
    let groups = recurring::find(&state.db, &window, Timestamp::now()).await?;
    page(&RecurringPage {
        guide_title: window
            .guide
            .as_deref()
            .and_then(|s| library.find(s))
            .map(|g| g.front.title.clone()),
        groups: groups.into_iter().map(|g| view(&state, g)).collect(),
        window,
        min_range: MIN_RANGE,
        days_range: DAYS_RANGE,
    })
}

#[derive(Serialize)]
struct GuideJson {
    slug: String,
    title: String,
    url: String,
}

#[derive(Serialize)]
struct FixJson<'a> {
    fix: &'a str,
    count: usize,
    held: bool,
    outcomes: BTreeMap<&'static str, usize>,
}

#[derive(Serialize)]
struct CaseJson<'a> {
    id: String,
    url: String,
    created_at: Timestamp,
    outcome: Outcome,
    fix_applied: &'a str,
}

#[derive(Serialize)]
struct GroupJson<'a> {
    alarm: &'a str,
    site: &'a str,
    line: &'a str,
    cell: &'a str,
    asset: &'a str,
    asset_url: Option<String>,
    count: usize,
    first_at: Timestamp,
    last_at: Timestamp,
    guide: Option<GuideJson>,
    held: bool,
    fixes: Vec<FixJson<'a>>,
    cases: Vec<CaseJson<'a>>,
    /// Cases of the group not listed in `cases`.
    more_cases: usize,
}

fn group_json<'a>(state: &AppState, g: &'a Group) -> GroupJson<'a> {
    let library = state.library();
    GroupJson {
        alarm: &g.alarm,
        site: &g.site,
        line: &g.line,
        cell: &g.cell,
        asset: &g.asset,
        asset_url: (!g.asset.is_empty()).then(|| assets::url(&g.asset)),
        count: g.count,
        first_at: g.first_at,
        last_at: g.last_at,
        guide: g
            .guide
            .as_deref()
            .and_then(|s| library.find(s))
            .map(|guide| GuideJson {
                slug: guide.slug.clone(),
                title: guide.front.title.clone(),
                url: guide.url(),
            }),
        held: g.held,
        fixes: g
            .fixes
            .iter()
            .map(|f| FixJson {
                fix: &f.fix,
                count: f.count,
                held: f.held,
                outcomes: f.outcomes.iter().map(|(o, n)| (o.as_str(), *n)).collect(),
            })
            .collect(),
        cases: g
            .cases
            .iter()
            .map(|c| CaseJson {
                id: c.id.to_string(),
                url: c.url(),
                created_at: c.created_at,
                outcome: c.outcome,
                fix_applied: &c.fix_applied,
            })
            .collect(),
        more_cases: g.more(),
    }
}

pub async fn api_groups(
    State(state): State<AppState>,
    RecurringParams(q): RecurringParams,
) -> Result<Response, AppError> {
    let window = q.window(&state)?;
    let now = Timestamp::now();
    let groups = recurring::find(&state.db, &window, now).await?;
    let shown: Vec<GroupJson> = groups.iter().map(|g| group_json(&state, g)).collect();
    Ok(Json(serde_json::json!({
        "min": window.min,
        "days": window.days,
        "guide": window.guide,
        "since": window.since(now),
        "groups": shown,
    }))
    .into_response())
}

/// One place where a guide's fault recurs: "Line 2 / Cell 4", 5 times in 30 days.
pub struct RecursOn {
    pub place: String,
    pub count: usize,
    pub days: u32,
    pub href: String,
}

/// Where this guide's cases recur, by default window, most first. Only for callers who may
/// read cases: the guide page asks for it after checking.
pub async fn recurs_on(state: &AppState, slug: &str) -> Result<Vec<RecursOn>, AppError> {
    let window = Window {
        guide: Some(slug.to_string()),
        ..Window::default()
    };
    let groups = recurring::find(&state.db, &window, Timestamp::now()).await?;
    let mut places: Vec<RecursOn> = Vec::new();
    for g in &groups {
        let place = [g.cell_place(), g.place()]
            .into_iter()
            .find(|p| !p.is_empty())
            .unwrap_or_else(|| "a place not given".to_string());
        match places.iter_mut().find(|p| p.place == place) {
            Some(p) => p.count += g.count,
            None => places.push(RecursOn {
                place,
                count: g.count,
                days: window.days,
                href: href(&window),
            }),
        }
    }
    places.sort_by_key(|p| std::cmp::Reverse(p.count));
    Ok(places)
}
