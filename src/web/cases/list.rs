//! The case list, its filters, and the rows other pages (a guide's recent cases) show.

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequestParts, Query, State};
use axum::response::Response;
use serde::Deserialize;

use super::{AppError, AppState};
use crate::cases::{store, Case, CaseFilter, GuideFilter, Outcome};
use crate::content::{Library, Platform};
use crate::time::Timestamp;
use crate::web::{page, parse_platform, query_string};

pub const PAGE_SIZE: usize = 50;

/// The filters of `/cases`, `/api/cases` and `/cases.csv`, as the filter form sends them.
/// Every value is text here, so a bad one is reported by name instead of failing the request.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    /// Words to find in the alarm, the fix and the notes (and asset, serial, filer).
    pub q: String,
    pub guide: String,
    pub platform: String,
    pub site: String,
    pub line: String,
    pub cell: String,
    pub outcome: String,
    pub from: String,
    pub to: String,
    pub since: String,
    pub cursor: String,
    pub limit: String,
}

/// `Query<ListQuery>` whose rejection is a readable 400.
pub struct ListParams(pub ListQuery);

impl<S: Send + Sync> FromRequestParts<S> for ListParams {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, AppError> {
        Query::<ListQuery>::from_request_parts(parts, state)
            .await
            .map(|Query(q)| ListParams(q))
            .map_err(|e: QueryRejection| {
                AppError::BadRequest(format!("The filters could not be read: {}", e.body_text()))
            })
    }
}

/// At most this many words of a text search are used.
const MAX_WORDS: usize = 8;

/// The words of a text search, each cut to 100 characters.
fn words(q: &str) -> Vec<String> {
    q.split_whitespace()
        .take(MAX_WORDS)
        .map(|w| w.chars().take(100).collect())
        .collect()
}

fn nonempty(v: &str) -> Option<String> {
    Some(v.trim().to_string()).filter(|v| !v.is_empty())
}

/// A date (`2026-11-20`, the start of that day, or of the next for an end) or an RFC 3339 time.
fn bound(name: &str, value: &str, end: bool) -> Result<Option<Timestamp>, AppError> {
    let Some(v) = nonempty(value) else {
        return Ok(None);
    };
    if let Ok(d) = chrono::NaiveDate::parse_from_str(&v, "%Y-%m-%d") {
        let d = if end { d.succ_opt().unwrap_or(d) } else { d };
        return Ok(Some(Timestamp::from_datetime(
            d.and_time(chrono::NaiveTime::MIN).and_utc(),
        )));
    }
    Timestamp::parse(&v).map(Some).ok_or_else(|| {
        AppError::BadRequest(format!(
            "`{name}` must be a date like 2026-11-20 or an RFC 3339 time."
        ))
    })
}

impl ListQuery {
    /// The filter these parameters ask for; a bad value is an error the user can read.
    pub fn filter(&self, library: &Library) -> Result<CaseFilter, AppError> {
        let mut f = CaseFilter {
            guide: GuideFilter::from_param(Some(&self.guide)),
            site: nonempty(&self.site),
            line: nonempty(&self.line),
            cell: nonempty(&self.cell),
            words: words(&self.q),
            ..CaseFilter::default()
        };
        if let Some(o) = nonempty(&self.outcome) {
            f.outcome = Some(Outcome::parse(&o).ok_or_else(|| {
                AppError::BadRequest(format!(
                    "Unknown outcome `{o}`: use fixed, workaround, not_fixed or escalated."
                ))
            })?);
        }
        if let Some(platform) = parse_platform(Some(&self.platform))? {
            f.platform_guides = Some(
                library
                    .all()
                    .iter()
                    .filter(|g| g.front.platform == platform)
                    .map(|g| g.slug.clone())
                    .collect(),
            );
        }
        f.since = bound("since", &self.since, false)?.or(bound("from", &self.from, false)?);
        f.until = bound("to", &self.to, true)?;
        if let Some(c) = nonempty(&self.cursor) {
            let invalid = || AppError::BadRequest("Invalid cursor.".into());
            let (at, id) = c.split_once('~').ok_or_else(invalid)?;
            f.before = Some((Timestamp::parse(at).ok_or_else(invalid)?, id.to_string()));
        }
        Ok(f)
    }

    /// How many cases a page of the API holds: the `limit` asked for, within 1 to 500.
    pub fn limit(&self) -> usize {
        self.limit
            .trim()
            .parse::<usize>()
            .unwrap_or(PAGE_SIZE)
            .clamp(1, 500)
    }

    /// The filters that are set, by name, to carry into the next page's and the CSV's links.
    fn kept(&self) -> Vec<(&'static str, &str)> {
        let mut pairs = vec![
            ("cell", self.cell.as_str()),
            ("from", self.from.as_str()),
            ("guide", self.guide.as_str()),
            ("limit", self.limit.as_str()),
            ("line", self.line.as_str()),
            ("outcome", self.outcome.as_str()),
            ("platform", self.platform.as_str()),
            ("q", self.q.as_str()),
            ("since", self.since.as_str()),
            ("site", self.site.as_str()),
            ("to", self.to.as_str()),
        ];
        pairs.retain(|(_, v)| !v.is_empty());
        pairs
    }
}

/// Where the next page of a list starts.
pub fn cursor_of(c: &Case) -> String {
    format!("{}~{}", c.created_at, c.id)
}

pub struct CaseRow {
    pub url: String,
    /// The first line of the alarm, shortened.
    pub alarm: String,
    /// Where it happened (asset, cell, line or site), if known.
    pub place: Option<String>,
    pub created: String,
    pub outcome: &'static str,
    /// The outcome's name in URLs and CSS (`not_fixed`).
    pub outcome_id: &'static str,
    /// When it was filed, RFC 3339 (for `<time datetime>`).
    pub created_at: String,
    pub guide_title: Option<String>,
    pub guide_url: Option<String>,
    pub closed: bool,
}

pub fn case_row(state: &AppState, c: &Case) -> CaseRow {
    let library = state.library();
    let guide = c.fields.guide.as_deref().and_then(|g| library.find(g));
    CaseRow {
        url: c.url(),
        alarm: c.alarm_line(),
        place: c.place().map(str::to_owned),
        created: c.created_at.human(),
        outcome: c.fields.outcome.label(),
        outcome_id: c.fields.outcome.as_str(),
        created_at: c.created_at.to_db(),
        guide_title: guide.map(|g| g.front.title.clone()),
        guide_url: guide.map(|g| g.url()),
        closed: c.record.closed_at.is_some(),
    }
}

#[derive(Template)]
#[template(path = "cases/list.html")]
struct ListPage<'a> {
    rows: Vec<CaseRow>,
    total: i64,
    next_href: Option<String>,
    q: &'a ListQuery,
    outcomes: Vec<(&'static str, &'static str)>,
    platforms: Vec<(&'static str, &'static str)>,
    /// `(slug, title)` of every guide, for the guide picker.
    guides: Vec<(String, String)>,
    unsorted: bool,
    csv_href: String,
}

pub async fn list_page(
    State(state): State<AppState>,
    ListParams(q): ListParams,
) -> Result<Response, AppError> {
    let state = &state;
    let q = &q;
    let filter = q.filter(&state.library())?;
    let cases = store::list(&state.db, &filter, PAGE_SIZE + 1).await?;
    let total = store::count(
        &state.db,
        &CaseFilter {
            before: None,
            ..filter.clone()
        },
    )
    .await?;
    let kept = q.kept();
    let next_href = (cases.len() > PAGE_SIZE).then(|| {
        let cursor = cursor_of(&cases[PAGE_SIZE - 1]);
        let mut pairs = kept.clone();
        pairs.push(("cursor", cursor.as_str()));
        format!("/cases{}", query_string(pairs))
    });
    page(&ListPage {
        rows: cases
            .iter()
            .take(PAGE_SIZE)
            .map(|c| case_row(state, c))
            .collect(),
        total,
        next_href,
        unsorted: filter.guide == GuideFilter::Unsorted,
        q,
        outcomes: Outcome::ALL
            .iter()
            .map(|o| (o.as_str(), o.label()))
            .collect(),
        platforms: Platform::ALL.map(|p| (p.as_str(), p.label())).to_vec(),
        guides: state.library().choices(),
        csv_href: format!("/cases.csv{}", query_string(kept)),
    })
}
