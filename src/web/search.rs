//! `/search` (HTML) and `/api/search` (JSON). Any input answers 200.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde::Serialize;

use super::{page, AppError, AppState};
use crate::auth::{Caller, Permission};
use crate::content::{Guide, Platform};
use crate::search::status::StatusCode;
use crate::search::{guides_listing, DocKind, Hit, SearchOutcome, SearchRequest};

pub fn router() -> Router<AppState> {
    Router::new().route("/search", get(search_page))
}

pub fn api_router() -> Router<AppState> {
    Router::new().route("/api/search", get(search_api))
}

const DEFAULT_LIMIT: usize = 20;

/// The query string, parsed leniently: invalid UTF-8 or a bad limit never fails the request.
struct SearchParams {
    q: String,
    platform: Option<String>,
    limit: usize,
}

impl SearchParams {
    fn parse(raw: Option<&str>) -> SearchParams {
        let mut p = SearchParams {
            q: String::new(),
            platform: None,
            limit: DEFAULT_LIMIT,
        };
        for (k, v) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
            match k.as_ref() {
                "q" => p.q = v.into_owned(),
                "platform" if !v.is_empty() => p.platform = Some(v.into_owned()),
                "limit" => {
                    if let Ok(n) = v.trim().parse::<usize>() {
                        p.limit = n.clamp(1, crate::search::MAX_LIMIT);
                    }
                }
                _ => {}
            }
        }
        p
    }
}

async fn run(
    state: &AppState,
    caller: &Caller,
    params: &SearchParams,
    platform: Option<Platform>,
    with_counts: bool,
) -> Result<SearchOutcome, AppError> {
    if params.q.trim().is_empty() {
        return Ok(SearchOutcome::default());
    }
    state
        .search
        .search(SearchRequest {
            text: params.q.clone(),
            platform,
            limit: params.limit,
            with_counts,
            include_cases: state.auth.allows(caller, Permission::ReadCases),
        })
        .await
        .map_err(AppError::from)
}

/// Where a hit links to; the same paths as `Guide::url` and `Case::url`.
fn hit_url(hit: &Hit) -> String {
    match hit.kind {
        DocKind::Guide => format!("/guides/{}", hit.id),
        DocKind::Case => format!("/cases/{}", hit.id),
    }
}

/// A hit with the link the results page shows for it.
pub struct LinkedHit {
    pub hit: Hit,
    pub url: String,
}

impl From<Hit> for LinkedHit {
    fn from(hit: Hit) -> Self {
        LinkedHit {
            url: hit_url(&hit),
            hit,
        }
    }
}

pub struct CaseGroup {
    pub guide: LinkedHit,
    pub cases: Vec<LinkedHit>,
}

/// Case hits go under their guide when that guide is among the hits; the rest stand alone.
fn group_hits(hits: Vec<Hit>) -> (Vec<CaseGroup>, Vec<LinkedHit>) {
    let mut groups: Vec<CaseGroup> = Vec::new();
    let mut cases = Vec::new();
    for h in hits {
        match h.kind {
            DocKind::Guide => groups.push(CaseGroup {
                guide: h.into(),
                cases: Vec::new(),
            }),
            DocKind::Case => cases.push(LinkedHit::from(h)),
        }
    }
    let mut loose = Vec::new();
    for c in cases {
        match groups
            .iter_mut()
            .find(|g| c.hit.guide.as_deref() == Some(g.guide.hit.id.as_str()))
        {
            Some(g) => g.cases.push(c),
            None => loose.push(c),
        }
    }
    (groups, loose)
}

pub struct StatusCard<'a> {
    pub code: &'static StatusCode,
    pub guides: Vec<&'a Guide>,
}

pub struct PlatformLink {
    pub label: &'static str,
    pub count: usize,
    pub href: String,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "search/results.html")]
struct ResultsPage<'a> {
    q: String,
    searched: bool,
    platform: Option<&'static str>,
    unknown_platform: Option<String>,
    card: Option<StatusCard<'a>>,
    groups: Vec<CaseGroup>,
    loose_cases: Vec<LinkedHit>,
    platforms: Vec<PlatformLink>,
    all_href: String,
    fuzzy_words: Vec<String>,
    nothing_searchable: bool,
    file_anyway: String,
}

fn href(q: &str, platform: Option<Platform>) -> String {
    let pairs = std::iter::once(("q", q)).chain(platform.map(|p| ("platform", p.as_str())));
    format!("/search{}", super::query_string(pairs))
}

async fn search_page(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> Result<Response, AppError> {
    let params = SearchParams::parse(raw.as_deref());
    let platform = params.platform.as_deref().and_then(Platform::parse);
    let unknown_platform = params.platform.clone().filter(|_| platform.is_none());
    let outcome = run(&state, &caller, &params, platform, true).await?;
    let card = outcome.status_code.map(|code| StatusCard {
        code,
        guides: guides_listing(&state.library, code),
    });
    let platforms = outcome
        .platform_counts
        .iter()
        .map(|(p, n)| PlatformLink {
            label: p.label(),
            count: *n,
            href: href(&params.q, Some(*p)),
            current: platform == Some(*p),
        })
        .collect();
    let searched = !params.q.trim().is_empty();
    let (groups, loose_cases) = group_hits(outcome.hits);
    let file_anyway = format!("/cases/new{}", super::query_string([("alarm", &params.q)]));
    page(&ResultsPage {
        file_anyway,
        all_href: href(&params.q, None),
        q: params.q,
        searched,
        platform: platform.map(Platform::as_str),
        unknown_platform,
        card,
        groups,
        loose_cases,
        platforms,
        fuzzy_words: outcome.fuzzy_words,
        nothing_searchable: searched && outcome.terms_used == 0,
    })
}

#[derive(Serialize)]
struct StatusJson {
    name: String,
    hex: String,
    decimal: u32,
    signed: i32,
    severity: &'static str,
    description: String,
    guides: Vec<GuideRef>,
}

#[derive(Serialize)]
struct GuideRef {
    slug: String,
    title: String,
    url: String,
}

#[derive(Serialize)]
struct HitJson {
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    slug: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    guide: Option<String>,
    title: String,
    platform: Option<Platform>,
    url: String,
    snippet: String,
    score: f32,
}

#[derive(Serialize)]
struct SearchJson {
    query: String,
    status_code: Option<StatusJson>,
    hits: Vec<HitJson>,
}

async fn search_api(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> Result<Response, AppError> {
    let params = SearchParams::parse(raw.as_deref());
    let platform = super::parse_platform(params.platform.as_deref())?;
    let outcome = run(&state, &caller, &params, platform, false).await?;
    let status_code = outcome.status_code.map(|c| StatusJson {
        name: c.name(),
        hex: c.hex(),
        decimal: c.value,
        signed: c.signed(),
        severity: c.severity.as_str(),
        description: c.description(),
        guides: guides_listing(&state.library, c)
            .into_iter()
            .map(|g| GuideRef {
                slug: g.slug.clone(),
                title: g.front.title.clone(),
                url: g.url(),
            })
            .collect(),
    });
    let hits = outcome
        .hits
        .into_iter()
        .map(|h| {
            let url = hit_url(&h);
            let (slug, id) = match h.kind {
                DocKind::Guide => (Some(h.id), None),
                DocKind::Case => (None, Some(h.id)),
            };
            HitJson {
                kind: h.kind.as_str(),
                slug,
                id,
                guide: h.guide,
                title: h.title,
                platform: h.platform,
                url,
                snippet: h.snippet,
                score: h.score,
            }
        })
        .collect();
    Ok(Json(SearchJson {
        query: params.q,
        status_code,
        hits,
    })
    .into_response())
}
