//! `/search` (HTML) and `/api/search` (JSON). Any input answers 200.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde::Serialize;

use std::collections::HashMap;

use uuid::Uuid;

use super::{page, AppError, AppState};
use crate::auth::{Caller, Permission};
use crate::cases::{self, Outcome};
use crate::content::{Guide, Platform};
use crate::search::classic::{self, ClassicCode};
use crate::search::ocr::{CodeReading, KnownCode};
use crate::search::status::StatusCode;
use crate::search::{guides_listing, DocKind, Hit, SearchOutcome, SearchRequest};
use crate::time::Timestamp;

pub fn router() -> Router<AppState> {
    Router::new().route("/search", get(search_page))
}

pub fn api_router() -> Router<AppState> {
    Router::new()
        .route("/api/search", get(search_api))
        .route("/api/status-codes", get(status_codes_api))
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

/// What a past case in the results says about itself: how it ended and when it was filed.
#[derive(Clone)]
pub struct CaseFacts {
    pub outcome: Outcome,
    pub filed: Timestamp,
}

impl CaseFacts {
    pub fn outcome_label(&self) -> &'static str {
        self.outcome.label()
    }
    pub fn outcome_class(&self) -> &'static str {
        self.outcome.as_str()
    }
    pub fn filed_iso(&self) -> String {
        self.filed.seconds()
    }
    pub fn filed_human(&self) -> String {
        self.filed.human()
    }
}

/// Outcome and filing date of every case among `hits`, read from the database. A case the
/// index holds but the database no longer does is simply shown without them.
async fn case_facts(
    state: &AppState,
    hits: &[Hit],
) -> Result<HashMap<String, CaseFacts>, AppError> {
    let mut facts = HashMap::new();
    for h in hits.iter().filter(|h| h.kind == DocKind::Case) {
        let Ok(id) = Uuid::parse_str(&h.id) else {
            continue;
        };
        if let Some(case) = cases::store::get(&state.db, &id).await? {
            facts.insert(
                h.id.clone(),
                CaseFacts {
                    outcome: case.fields.outcome,
                    filed: case.created_at,
                },
            );
        }
    }
    Ok(facts)
}

/// A hit with the link the results page shows for it, and for a case its outcome and date.
pub struct LinkedHit {
    pub hit: Hit,
    pub url: String,
    pub case: Option<CaseFacts>,
}

impl LinkedHit {
    pub fn is_case(&self) -> bool {
        self.hit.kind == DocKind::Case
    }

    fn new(hit: Hit, facts: &HashMap<String, CaseFacts>) -> LinkedHit {
        LinkedHit {
            url: hit_url(&hit),
            case: facts.get(&hit.id).cloned(),
            hit,
        }
    }
}

pub struct CaseGroup {
    pub guide: LinkedHit,
    pub cases: Vec<LinkedHit>,
}

/// The results as the page shows them: the best match, the other answers with their cases
/// beneath, past cases that answer on their own, and what merely mentions some of the words.
#[derive(Default)]
pub struct Sorted {
    pub best: Option<CaseGroup>,
    pub answers: Vec<CaseGroup>,
    pub loose_cases: Vec<LinkedHit>,
    pub mentions: Vec<LinkedHit>,
}

/// Case hits go under their guide when that guide is an answer; a case that holds most of the
/// query stands alone; everything below the floor is folded under "also mentions".
fn sort_hits(outcome: SearchOutcome, facts: &HashMap<String, CaseFacts>) -> Sorted {
    let best_id = outcome
        .best_match
        .and_then(|i| outcome.hits.get(i))
        .map(|h| h.id.clone());
    let mut sorted = Sorted::default();
    let mut cases = Vec::new();
    for h in outcome.hits {
        let answer = h.answer;
        let linked = LinkedHit::new(h, facts);
        match linked.hit.kind {
            DocKind::Guide if best_id.as_deref() == Some(linked.hit.id.as_str()) => {
                sorted.best = Some(CaseGroup {
                    guide: linked,
                    cases: Vec::new(),
                })
            }
            DocKind::Guide if answer => sorted.answers.push(CaseGroup {
                guide: linked,
                cases: Vec::new(),
            }),
            DocKind::Guide => sorted.mentions.push(linked),
            DocKind::Case => cases.push(linked),
        }
    }
    for c in cases {
        let home = sorted
            .best
            .iter_mut()
            .chain(sorted.answers.iter_mut())
            .find(|g| c.hit.guide.as_deref() == Some(g.guide.hit.id.as_str()));
        match home {
            Some(g) => g.cases.push(c),
            None if c.hit.answer => sorted.loose_cases.push(c),
            None => sorted.mentions.push(c),
        }
    }
    sorted
}

pub struct StatusCard<'a> {
    pub code: &'static StatusCode,
    pub guides: Vec<&'a Guide>,
}

/// An OPC Classic or Windows code the input names, with the guides that list it.
pub struct ClassicCard<'a> {
    pub code: &'static ClassicCode,
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
    classic_cards: Vec<ClassicCard<'a>>,
    /// How misread codes and names in the input were read (or why no code was used).
    code_readings: Vec<CodeReading>,
    results: Sorted,
    /// No guide is an answer: the page says "no guide yet".
    no_guide: bool,
    platforms: Vec<PlatformLink>,
    all_href: String,
    showing_results_for: Option<String>,
    nothing_searchable: bool,
    file_case: String,
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
    let library = state.library();
    let params = SearchParams::parse(raw.as_deref());
    let platform = params.platform.as_deref().and_then(Platform::parse);
    let unknown_platform = params.platform.clone().filter(|_| platform.is_none());
    let mut outcome = run(&state, &caller, &params, platform, true).await?;
    let card = outcome.status_code.map(|code| StatusCard {
        code,
        guides: guides_listing(&library, code),
    });
    let classic_cards = outcome
        .classic_codes
        .iter()
        .map(|&code| ClassicCard {
            code,
            guides: classic::guides_listing(&library, code.value),
        })
        .collect();
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
    let facts = case_facts(&state, &outcome.hits).await?;
    let showing_results_for = outcome.showing_results_for.take();
    let code_readings = std::mem::take(&mut outcome.code_readings);
    let nothing_searchable = searched && outcome.terms_used == 0;
    let results = sort_hits(outcome, &facts);
    let no_guide = results.best.is_none() && results.answers.is_empty();
    let file_case = format!("/cases/new{}", super::query_string([("alarm", &params.q)]));
    page(&ResultsPage {
        file_case,
        all_href: href(&params.q, None),
        q: params.q,
        searched,
        platform: platform.map(Platform::as_str),
        unknown_platform,
        card,
        classic_cards,
        code_readings,
        // A spelling note belongs to results that answer, never above "no guide yet".
        showing_results_for: showing_results_for.filter(|_| !no_guide),
        no_guide,
        results,
        platforms,
        nothing_searchable,
    })
}

#[derive(Serialize)]
struct StatusCodesJson {
    codes: Vec<StatusJson>,
}

fn status_json(c: &StatusCode, guides: Vec<&Guide>) -> StatusJson {
    StatusJson {
        name: c.name(),
        hex: c.hex(),
        decimal: c.value,
        signed: c.signed(),
        severity: c.severity.as_str(),
        description: c.description(),
        guides: guide_refs(guides),
    }
}

/// The whole OPC UA status-code table, built from the same table the server searches with, for
/// the service worker to keep: offline, the phone explains codes from it.
async fn status_codes_api(State(state): State<AppState>) -> Json<StatusCodesJson> {
    Json(StatusCodesJson {
        codes: crate::search::codes_with_guides(&state.library())
            .into_iter()
            .map(|(c, guides)| status_json(c, guides))
            .collect(),
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
struct ClassicJson {
    name: String,
    family: String,
    hex: String,
    decimal: u32,
    signed: i32,
    description: String,
    guides: Vec<GuideRef>,
}

fn guide_refs(guides: Vec<&Guide>) -> Vec<GuideRef> {
    guides
        .into_iter()
        .map(|g| GuideRef {
            slug: g.slug.clone(),
            title: g.front.title.clone(),
            url: g.url(),
        })
        .collect()
}

fn classic_json(c: &ClassicCode, guides: Vec<&Guide>) -> ClassicJson {
    ClassicJson {
        name: c.name.clone(),
        family: c.family.clone(),
        hex: c.hex(),
        decimal: c.value,
        signed: c.signed(),
        description: c.meaning.clone(),
        guides: guide_refs(guides),
    }
}

/// How one misread code or name was read: `read_as` is what the search used (null: no code),
/// `ambiguous` the known codes it could equally be, `nearest` the known codes closest to a
/// value no table holds, `note` the sentence the results page shows.
#[derive(Serialize)]
struct CodeReadingJson {
    from: String,
    read_as: Option<String>,
    ambiguous: Vec<KnownCodeJson>,
    nearest: Vec<KnownCodeJson>,
    note: String,
}

#[derive(Serialize)]
struct KnownCodeJson {
    name: String,
    hex: String,
}

fn known_json(codes: Vec<KnownCode>) -> Vec<KnownCodeJson> {
    codes
        .into_iter()
        .map(|k| KnownCodeJson {
            name: k.name,
            hex: k.hex,
        })
        .collect()
}

impl From<CodeReading> for CodeReadingJson {
    fn from(r: CodeReading) -> CodeReadingJson {
        CodeReadingJson {
            from: r.from,
            read_as: r.read_as,
            ambiguous: known_json(r.ambiguous),
            nearest: known_json(r.nearest),
            note: r.note,
        }
    }
}

#[derive(Serialize)]
struct GuideRef {
    slug: String,
    title: String,
    url: String,
}

#[derive(Serialize, Clone)]
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
    /// False for a hit that merely mentions some of the words (below the relevance floor).
    answer: bool,
    /// For a case: how it ended and when it was filed.
    #[serde(skip_serializing_if = "Option::is_none")]
    outcome: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_at: Option<String>,
}

impl HitJson {
    fn new(h: Hit, facts: &HashMap<String, CaseFacts>) -> HitJson {
        let url = hit_url(&h);
        let fact = facts.get(&h.id);
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
            answer: h.answer,
            outcome: fact.map(|f| f.outcome.as_str()),
            created_at: fact.map(|f| f.filed.to_db()),
        }
    }
}

#[derive(Serialize)]
struct SearchJson {
    query: String,
    status_code: Option<StatusJson>,
    /// OPC Classic or Windows codes the input names, each with its meaning and guides.
    classic_codes: Vec<ClassicJson>,
    /// Codes and names written other than as they are (OCR misreads), and how each was read.
    code_readings: Vec<CodeReadingJson>,
    hits: Vec<HitJson>,
    /// The hit that clearly leads (the same as its entry in `hits`), or null.
    best_match: Option<HitJson>,
    /// The input with the words matched by spelling corrected, or null.
    showing_results_for: Option<String>,
}

async fn search_api(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> Result<Response, AppError> {
    let params = SearchParams::parse(raw.as_deref());
    let platform = super::parse_platform(params.platform.as_deref())?;
    let outcome = run(&state, &caller, &params, platform, false).await?;
    let status_code = outcome
        .status_code
        .map(|c| status_json(c, guides_listing(&state.library(), c)));
    let classic_codes = outcome
        .classic_codes
        .iter()
        .map(|c| classic_json(c, classic::guides_listing(&state.library(), c.value)))
        .collect();
    let facts = case_facts(&state, &outcome.hits).await?;
    let code_readings = outcome
        .code_readings
        .into_iter()
        .map(CodeReadingJson::from)
        .collect();
    let hits: Vec<HitJson> = outcome
        .hits
        .into_iter()
        .map(|h| HitJson::new(h, &facts))
        .collect();
    let best_match = outcome.best_match.and_then(|i| hits.get(i)).cloned();
    Ok(Json(SearchJson {
        query: params.q,
        status_code,
        classic_codes,
        code_readings,
        hits,
        best_match,
        showing_results_for: outcome.showing_results_for,
    })
    .into_response())
}
